"""Machine file → MachineConfig, with errors that point at the file, line and key."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError, Problem
from .model import KEYS, MachineConfig

MAX_FILE_SIZE = 1 << 20  # machine files are small; anything larger is a mistake

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY_LINE = re.compile(rf"""^[ \t]*(?:"([^"\\]*)"|'([^']*)'|({_BARE_KEY}))[ \t]*(?:=|\.)""")
_TABLE_LINE = re.compile(r"^[ \t]*\[\[?[ \t]*(?:\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_.-]+))")


def key_lines(text: str) -> dict[str, int]:
    """Line of the first assignment of each top-level key (1-based).

    tomllib keeps no positions; machine files are flat, so scanning for
    `key =` at the start of a line is exact for them. A table header counts
    as its name's line, so `[foo]` can be reported as an unknown key.
    """
    lines: dict[str, int] = {}
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        match = _KEY_LINE.match(raw) or _TABLE_LINE.match(raw)
        if match is not None:
            key = next(g for g in match.groups() if g is not None).split(".")[0]
            lines.setdefault(key, number)
        for quote in ('"""', "'''"):
            if raw.count(quote) % 2 == 1:
                in_multiline = quote
    return lines


def _render(value: Any) -> str:
    """A value as it would be written in TOML, cut short when long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(value, list):
        text = "[" + ", ".join(_render(v) for v in value) + "]"
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k} = {_render(v)}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(key: str) -> str:
    close = _close_matches(key.replace("_", "-"), KEYS, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return "unknown key; allowed keys: " + ", ".join(KEYS)


_TYPE_WORDS = {
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "literal_error": "has a value that is not allowed",
}


def problems_from(
    error: ValidationError, data: Mapping[str, Any], lines: dict[str, int]
) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        kind = item["type"]
        key = str(loc[0]) if loc else None
        if kind.startswith("key:"):
            key = kind[4:]
        if kind == "extra_forbidden" and key is not None:
            message = _unknown_key(key)
        else:
            message = _TYPE_WORDS.get(kind, item["msg"])
        if kind == "key:maxcpus":
            given = f"maxcpus = {_render(data.get('maxcpus'))}, smp = {_render(data.get('smp', 1))}"
            message += f" (got {given})"
        elif key is not None and key in data and "(but is " not in message:
            message += f" (got {_render(data[key])})"
        problems.append(Problem(message, key, lines.get(key) if key else None))
    return problems


def parse_machine(text: str, path: str = "<string>") -> MachineConfig:
    """Validate a machine description given as TOML text."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        # tomllib recurses per nesting level; no machine file nests at all.
        problem = Problem("TOML syntax error: arrays or tables nested too deeply")
        raise ConfigError(path, [problem]) from None
    except tomllib.TOMLDecodeError as e:
        match = _TOML_LINE.search(str(e))
        # "at end of document" has no line number: the last line is where it ends.
        line = (
            int(match.group(1)) if match else max(1, text.count("\n") + (not text.endswith("\n")))
        )
        raise ConfigError(path, [Problem(f"TOML syntax error: {e}", None, line)]) from None
    if not data:
        raise ConfigError(
            path, [Problem("empty machine description: set at least `type` (see machines/pc.toml)")]
        )
    # In a file only QEMU's spellings count (the model also takes Python names).
    foreign = [k for k in data if k not in KEYS]
    problems: list[Problem] = []
    if foreign:
        lines = key_lines(text)
        problems = [
            Problem(f"{_unknown_key(k)} (got {_render(data[k])})", k, lines.get(k)) for k in foreign
        ]
    try:
        machine = MachineConfig.model_validate({k: v for k, v in data.items() if k in KEYS})
    except ValidationError as e:
        problems += problems_from(e, data, key_lines(text))
    if problems:
        raise ConfigError(path, problems)
    return machine


def read_text(path: str | os.PathLike[str]) -> str:
    """A machine file's text, or a ConfigError saying plainly why not."""
    name = os.fspath(path)
    p = Path(name)
    try:
        if p.is_dir():
            raise ConfigError(
                name,
                [
                    Problem(
                        "is a directory, not a machine file "
                        "(`kvminit validate DIR` checks every *.toml in it)"
                    )
                ],
            )
        with open(p, "rb") as f:
            # read(n) allocates n bytes up front: ask for the size, not the limit.
            size = os.fstat(f.fileno()).st_size
            raw = f.read(size + 1 if 0 < size <= MAX_FILE_SIZE else MAX_FILE_SIZE + 1)
    except FileNotFoundError:
        raise ConfigError(name, [Problem("no such file")]) from None
    except OSError as e:
        raise ConfigError(name, [Problem(f"cannot read: {e.strerror or e}")]) from None
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """A machine file's bytes as text: not too large, not empty, UTF-8."""
    if len(raw) > MAX_FILE_SIZE:
        raise ConfigError(
            name, [Problem("is larger than 1 MiB; a machine file is a few lines of TOML")]
        )
    if not raw.strip():
        raise ConfigError(name, [Problem("is empty: set at least `type` (see machines/pc.toml)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            name,
            [
                Problem(
                    f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})", None, line
                )
            ],
        ) from None


def load_machine(path: str | os.PathLike[str]) -> MachineConfig:
    """Read and validate one machine file; raises ConfigError."""
    return parse_machine(read_text(path), os.fspath(path))


def _close_matches(word: str, possibilities: Any, n: int = 1, cutoff: float = 0.6) -> list[str]:
    # difflib only when a hint is needed: a valid file never pays for its import.
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n, cutoff=cutoff)
