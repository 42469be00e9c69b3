"""kvminit: bring up KVM exactly as QEMU's accelerator does, from a machine description.

The public API is loaded on first use, so `import kvminit` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import ConfigError, InitResult, MachineConfig, load_machine, resolve_host, run

__all__ = [
    "ConfigError",
    "InitResult",
    "MachineConfig",
    "__version__",
    "load_machine",
    "resolve_host",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'kvminit' has no attribute {name!r}")
