"""DESIGN.md's layer rule: arrows run one way, and nothing below imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "kvminit"

# What each layer may import of kvminit (besides itself).
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "kvm": {"common"},
    "engine": {"common", "config", "kvm"},
    "report": {"common", "config", "kvm", "engine", "smoke", "batch", "fromqemu"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    rel = path.relative_to(PACKAGE).parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[: len(rel) - node.level])
                module = ".".join([*base, node.module] if node.module else base)
            else:
                if not (node.module or "").startswith("kvminit"):
                    continue
                module = (node.module or "").removeprefix("kvminit").lstrip(".")
            found.add(module.split(".")[0] if module else "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kvminit."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_below(layer: str) -> None:
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        wrong = _imports(path) - ALLOWED[layer] - {layer, ""}
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"
