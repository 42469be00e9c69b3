"""Machine file → MachineConfig, with errors that point at the file, line and key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic_core import ValidationError

from kvminit.common import toml, toml_lines
from kvminit.common.files import InputError, read_regular
from kvminit.common.hints import close_matches

from . import machine as _machine
from .errors import ConfigError, Finding
from .machine import ParsedMachine
from .rules import QEMU_WORDS

if TYPE_CHECKING:
    from .model import MachineConfig

MAX_FILE_SIZE = 1 << 20  # machine files are small; anything larger is a mistake


def key_lines(text: str) -> dict[str, int]:
    """Line of the first assignment of each top-level key (1-based); a table header counts
    as its name's line, so `[foo]` can be reported as an unknown key. The locator steps
    over strings (multi-line ones too) and reads quoted and escaped keys as TOML does."""
    return {
        loc[0]: line
        for loc, line in toml_lines.key_lines(text).items()
        if len(loc) == 1 and isinstance(loc[0], str)
    }


def _render(value: Any) -> str:
    """A value as it would be written in TOML, cut short when long."""
    text = toml.value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(key: str) -> str:
    keys = _machine.keys()
    close = close_matches(key.replace("_", "-"), keys)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return "unknown key; allowed keys: " + ", ".join(keys)


_TYPE_WORDS = {
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "literal_error": "has a value that is not allowed",
}


def problems_from(
    error: ValidationError, data: Mapping[str, Any], lines: dict[str, int]
) -> list[Finding]:
    problems: list[Finding] = []
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
        elif key is not None and key in data and kind != QEMU_WORDS:
            message += f" (got {_render(data[key])})"
        problems.append(Finding(message, key, lines.get(key) if key else None))
    return problems


def parse_machine(text: str, path: str = "<string>") -> MachineConfig:
    """Validate a machine description given as TOML text."""
    from .model import MachineConfig

    data, lines, known = _known(text, path)
    try:
        machine = MachineConfig.model_validate(known)
    except ValidationError as e:
        raise ConfigError(path, _unknown(data, lines) + problems_from(e, data, lines)) from None
    _refuse_unknown(data, lines, path)
    machine.set_lines(lines)
    return machine


def read_machine(text: str, path: str = "<string>") -> ParsedMachine:
    """parse_machine() without building the pydantic model (machine.py): what the command
    line and `validate` use, since they need only the values and their lines."""
    data, lines, known = _known(text, path)
    try:
        machine = _machine.validate(known, lines)
    except ValidationError as e:
        raise ConfigError(path, _unknown(data, lines) + problems_from(e, data, lines)) from None
    _refuse_unknown(data, lines, path)
    return machine


def _known(text: str, path: str) -> tuple[dict[str, Any], dict[str, int], dict[str, Any]]:
    """The file's data, its keys' lines, and the data of the keys a machine file has."""
    try:
        data = toml.loads(text)
    except toml.TomlError as e:
        raise ConfigError(path, [Finding(e.message, None, e.line)]) from None
    if not data:
        raise ConfigError(
            path, [Finding("empty machine description: set at least `type` (see machines/pc.toml)")]
        )
    lines = key_lines(text)
    # In a file only QEMU's spellings count (the model also takes Python names).
    keys = _machine.keys()
    return data, lines, {k: v for k, v in data.items() if k in keys}


def _unknown(data: dict[str, Any], lines: dict[str, int]) -> list[Finding]:
    keys = _machine.keys()
    return [
        Finding(f"{_unknown_key(k)} (got {_render(data[k])})", k, lines.get(k))
        for k in data
        if k not in keys
    ]


def _refuse_unknown(data: dict[str, Any], lines: dict[str, int], path: str) -> None:
    problems = _unknown(data, lines)
    if problems:
        raise ConfigError(path, problems)


def read_text(path: str | os.PathLike[str]) -> str:
    """A machine file's text, or a ConfigError saying plainly why not."""
    name = os.fspath(path)
    try:
        raw = read_regular(name, MAX_FILE_SIZE, "a machine file")
    except InputError as e:
        message = str(e)
        if message.startswith("is a directory"):
            message += " (`kvminit validate DIR` checks every *.toml in it)"
        raise ConfigError(name, [Finding(message)]) from None
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """A machine file's bytes as text: not too large, not empty, UTF-8."""
    if len(raw) > MAX_FILE_SIZE:
        raise ConfigError(
            name, [Finding("is larger than 1 MiB; a machine file is a few lines of TOML")]
        )
    if not raw.strip():
        raise ConfigError(name, [Finding("is empty: set at least `type` (see machines/pc.toml)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            name,
            [
                Finding(
                    f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})", None, line
                )
            ],
        ) from None


def load_machine(path: str | os.PathLike[str]) -> MachineConfig:
    """Read and validate one machine file; raises ConfigError."""
    return parse_machine(read_text(path), os.fspath(path))


def read_machine_file(path: str | os.PathLike[str]) -> ParsedMachine:
    """load_machine() without building the model (read_machine)."""
    return read_machine(read_text(path), os.fspath(path))
