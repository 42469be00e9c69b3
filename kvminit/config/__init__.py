"""The machine description: TOML → MachineConfig. Imports nothing else of kvminit."""

from .errors import ConfigError, Problem
from .loader import load_machine, parse_machine
from .model import MachineConfig

__all__ = ["ConfigError", "MachineConfig", "Problem", "load_machine", "parse_machine"]
