"""The machine description: TOML → MachineConfig (or, for the command line, ParsedMachine).

Imports nothing of kvminit but `kvminit.common`. The pydantic model is built on first use
of MachineConfig, load_machine or parse_machine, not on import: the command line reads
machine files without it (machine.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, Finding
from .machine import Machine, ParsedMachine

if TYPE_CHECKING:
    from .loader import load_machine, parse_machine
    from .model import MachineConfig

__all__ = [
    "ConfigError",
    "Finding",
    "Machine",
    "MachineConfig",
    "ParsedMachine",
    "load_machine",
    "parse_machine",
]


def __getattr__(name: str) -> Any:
    if name == "MachineConfig":
        from .model import MachineConfig

        return MachineConfig
    if name in ("load_machine", "parse_machine"):
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
