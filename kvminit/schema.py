"""JSON schemas of the machine file and the host profile, from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_FILES = ("machine.schema.json", "host.schema.json")


def schemas() -> dict[str, dict[str, Any]]:
    from .config import MachineConfig
    from .kvm.profile import HostProfile

    machine = MachineConfig.model_json_schema(by_alias=True, mode="validation")
    machine["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    machine["title"] = "kvminit machine description"
    # The model's default is in bytes; in a file a bare integer counts MiB.
    machine["properties"]["memory"]["default"] = "128M"
    host = HostProfile.model_json_schema(by_alias=True, mode="validation")
    host["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    host["title"] = "kvminit host profile"
    return {"machine.schema.json": machine, "host.schema.json": host}


def rendered() -> dict[str, str]:
    return {name: json.dumps(s, indent=2, sort_keys=True) + "\n" for name, s in schemas().items()}


def stale(directory: Path) -> list[str]:
    """Schema files in `directory` that differ from what the models say."""
    out = []
    for name, text in rendered().items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            out.append(str(path))
    return out


def reference(output: str, name: str) -> str | None:
    """The `#:schema` target for a file written to `output` ("-": the working directory):
    the nearest schemas/NAME in it or above it, relative to the file; None when there is
    none (an editor cannot load a schema that is not there)."""
    import os

    base = os.getcwd() if output == "-" else os.path.dirname(os.path.abspath(output))
    directory = base
    while True:
        candidate = os.path.join(directory, "schemas", name)
        if os.path.isfile(candidate):
            ref = os.path.relpath(candidate, base).replace(os.sep, "/")
            # A comment line cannot carry a path with control characters safely.
            return ref if ref.isprintable() else None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def write(directory: Path) -> list[str]:
    if directory.exists() and not directory.is_dir():
        from .common.errors import KvminitError

        raise KvminitError(f"{directory}: not a directory (schema writes its files into one)")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(str(directory / name))
    return written
