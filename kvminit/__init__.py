"""kvminit: bring up KVM exactly as QEMU's accelerator does, from a machine description.

    import kvminit

    result = kvminit.run(kvminit.load_machine("machines/pc.toml"), "amd-epyc-linux-6.18")
    print(result.ok, result.accel, result.etc_e820().hex())

The API is `kvminit.api`'s (see its docstring; `kvminit.__all__` is its `__all__`).
It is loaded on first use, so `import kvminit` stays cheap for the command line.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import *  # noqa: F403


def __getattr__(name: str) -> Any:
    # `from . import submodule` asks here before importing it: leave those to the importer,
    # or a submodule that api imports would be asked for while api is half-loaded.
    if find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(name)
    # import_module, not `from . import api`: that would look up kvminit.api here first.
    api = import_module("kvminit.api")
    if name == "__all__":
        return [*api.__all__, "__version__"]
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'kvminit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *import_module("kvminit.api").__all__})
