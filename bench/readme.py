"""README.md's "## Performance" section, regenerated from bench/results.json.

`python -m bench.readme` rewrites only that section (up to the next `## ` heading);
`python -m bench --readme` runs the bench first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results.json"
HEADING = "## Performance"


def shown(value: float | None, unit: str, micro: str = "us") -> str:
    """`value` in `unit` as a reader wants it; `micro` is "µs" where UTF-8 is safe."""
    if value is None:
        return "skipped"
    if unit == "s":
        return f"{value * 1e3:.1f} ms" if value >= 0.01 else f"{value * 1e6:.0f} {micro}"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    return f"{value:,.0f} {unit}"


def _target(t: dict[str, Any] | None) -> str:
    if t is None:
        return "(reported)"
    return f"{t['op']} {t['limit']:.3g}"


def section(data: dict[str, Any]) -> str:
    meta = data["meta"]
    memory = meta.get("memory_bytes")
    gib = f", {memory / 2**30:.0f} GiB" if memory else ""
    lines = [
        HEADING,
        "",
        "`python -m bench` measures each figure next to a floor measured in the same run and",
        "writes `bench/results.json`; `python -m bench --readme` also regenerates this table from",
        f"it. Last run on {meta['cpu']} ({meta['cpus']} cores{gib}), Linux {meta['kernel']},",
        f"Python {meta['python']}, pydantic {meta['pydantic']}:",
        "",
        "| figure | kvminit | floor | ratio | target | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in data["rows"]:
        what = r["what"].strip().replace("|", "\\|")
        if r["skipped"]:
            lines.append(f"| {what} | skipped: {r['skipped']} | | | {_target(r['target'])} | |")
            continue
        floor = f"{shown(r['floor'], r['floor_unit'], 'µs')}: {r['floor_what']}".replace("|", "\\|")
        mark = {True: "met", False: "**missed**", None: ""}[r["ok"]]
        lines.append(
            f"| {what} | {shown(r['value'], r['unit'], 'µs')} | {floor} "
            f"| {r['ratio']:.2f} | {_target(r['target'])} | {mark} |"
        )
    lines += [
        "",
        "The cold floor replays kvminit's own ioctl sequence for `machines/pc.toml` under QEMU",
        "10.0 (recorded from its call log into `bench/pc_sequence.py`), so both do the same",
        "kernel work. See [bench/](bench/) for each row's definition.",
        "",
    ]
    return "\n".join(lines)


def update(readme: Path = README, results: Path = RESULTS) -> None:
    text = readme.read_text()
    start = text.index(HEADING + "\n")
    end = text.find("\n## ", start + len(HEADING))
    end = len(text) if end < 0 else end + 1
    data = json.loads(results.read_text())
    readme.write_text(text[:start] + section(data) + "\n" + text[end:])


if __name__ == "__main__":
    update()
    sys.exit(0)
