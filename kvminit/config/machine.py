"""A machine description as the engine reads it, and the one the command line makes.

`Machine` is what the engine and the reports read of a description: the keys'
values, where each key was written, and the description as JSON. `MachineConfig`
(the pydantic model, model.py) is one; `ParsedMachine` is the other, made by the
loader for the command line and `validate`: the same values, validated by the same
pydantic schema through pydantic-core (machine_schema.py, generated from the model),
without building the model class, which costs a cold run more than all of its own
work. Where that schema cannot be used as it is (another pydantic, or model.py and
rules.py changed since it was generated), the model validates and its values are
taken over: slower, never different.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .errors import Finding

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator

    from .rules import Accel, KernelIrqchip, OnOffAuto


class Machine(Protocol):
    """What the engine reads of a machine description."""

    name: str | None
    description: str | None
    type: str
    memory: int
    maxmem: int | None
    slots: int | None
    smp: int | None
    maxcpus: int | None
    sockets: int | None
    dies: int | None
    clusters: int | None
    modules: int | None
    cores: int | None
    threads: int | None
    kernel_irqchip: KernelIrqchip | None
    smm: OnOffAuto | None
    kvm_shadow_mem: int | None
    kvm_type: str | None
    max_ram_below_4g: int | None
    cpu: str | None
    vendor: str | None
    phys_bits: int | Literal["host"] | None
    accel: list[Accel]

    def line_of(self, key: str | None) -> int | None: ...
    def option_of(self, key: str | None) -> str | None: ...
    def finding(self, message: str, key: str | None = None, hint: str | None = None) -> Finding: ...
    def normalised(self) -> dict[str, Any]: ...


class ParsedMachine(Machine):
    """A validated machine file: MachineConfig's values and lines, without the model.

    Its methods answer as MachineConfig's do (tests/test_cache.py compares them).
    """

    def __init__(self, values: dict[str, Any], lines: dict[str, int]) -> None:
        # One assignment a key: the model's fields, in its order (machine_schema.FIELDS).
        self.name = values["name"]
        self.description = values["description"]
        self.type = values["type"]
        self.memory = values["memory"]
        self.maxmem = values["maxmem"]
        self.slots = values["slots"]
        self.smp = values["smp"]
        self.maxcpus = values["maxcpus"]
        self.sockets = values["sockets"]
        self.dies = values["dies"]
        self.clusters = values["clusters"]
        self.modules = values["modules"]
        self.cores = values["cores"]
        self.threads = values["threads"]
        self.kernel_irqchip = values["kernel_irqchip"]
        self.smm = values["smm"]
        self.kvm_shadow_mem = values["kvm_shadow_mem"]
        self.kvm_type = values["kvm_type"]
        self.max_ram_below_4g = values["max_ram_below_4g"]
        self.cpu = values["cpu"]
        self.vendor = values["vendor"]
        self.phys_bits = values["phys_bits"]
        self.accel = values["accel"]
        self._lines = dict(lines)

    def option_of(self, key: str | None) -> str | None:
        return None  # a file's keys come from no QEMU option (from-qemu makes MachineConfigs)

    def line_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        line = self._lines.get(key)
        if line is None and key == "maxcpus":
            # maxcpus defaults to smp: blame smp's line when maxcpus is not written.
            return self._lines.get("smp")
        return line

    def finding(self, message: str, key: str | None = None, hint: str | None = None) -> Finding:
        """`message` about `key`, at the line the key was written on."""
        return Finding(message, key, self.line_of(key), hint, None)

    def normalised(self) -> dict[str, Any]:
        """The description keyed as in the file, sizes in bytes, a key left out null."""
        out = {}
        for name, key in fields():
            value = self.__dict__[name]
            out[key] = list(value) if isinstance(value, list) else value
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedMachine):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as a model is

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={self.__dict__[name]!r}" for name, _ in fields())
        return f"ParsedMachine({values})"


def fields() -> tuple[tuple[str, str], ...]:
    """(attribute, key in the file) of every key, in the model's order."""
    fast = _fast()
    if fast is not None:
        return fast[1]
    from .model import MachineConfig

    return tuple((n, f.alias or n) for n, f in MachineConfig.model_fields.items())


def keys() -> tuple[str, ...]:
    """The keys a machine file may have, in the model's order."""
    return tuple(key for _, key in fields())


def validate(data: dict[str, Any], lines: dict[str, int]) -> ParsedMachine:
    """The description `data` (keys as in the file) validated as MachineConfig validates
    it; pydantic's ValidationError when it is not valid."""
    fast = _fast()
    if fast is not None:
        values, _, _ = fast[0].validate_python(data)
        return ParsedMachine(values, lines)
    from .model import MachineConfig

    model = MachineConfig.model_validate(data)
    return ParsedMachine({name: getattr(model, name) for name, _ in fields()}, lines)


def pydantic_version() -> str | None:
    """The installed pydantic's version, without importing pydantic if it is not yet
    (its package init costs a cold run more than this whole check); None if unknown."""
    module = sys.modules.get("pydantic.version")
    if module is not None:
        return str(module.VERSION)
    spec = find_spec("pydantic")
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = next(iter(spec.submodule_search_locations))
    try:
        with open(os.path.join(directory, "version.py"), encoding="utf-8") as f:
            found = _VERSION_LINE.search(f.read())
    except OSError:
        return None
    return found.group(1) if found else None


_VERSION_LINE = re.compile(r"""^VERSION\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


@cache
def _fast() -> tuple[SchemaValidator, tuple[tuple[str, str], ...]] | None:
    """The generated schema's validator, when it was made for exactly what is here."""
    try:
        import pydantic_core

        from . import machine_schema as generated
        from .codegen import source_checksums
    except ImportError:
        return None
    versions = (pydantic_version(), pydantic_core.__version__)
    if versions != (generated.PYDANTIC, generated.PYDANTIC_CORE):
        return None
    try:
        if source_checksums() != generated.SOURCES:
            return None
    except OSError:  # sources not installed (a zip, a frozen build): cannot tell
        return None
    return pydantic_core.SchemaValidator(generated.SCHEMA, generated.CONFIG), generated.FIELDS
