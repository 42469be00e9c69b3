"""The machine description: TOML → MachineConfig.

Imports nothing of kvminit but `kvminit.common`.
"""

from .errors import ConfigError, Finding
from .loader import load_machine, parse_machine
from .model import MachineConfig

__all__ = ["ConfigError", "Finding", "MachineConfig", "load_machine", "parse_machine"]
