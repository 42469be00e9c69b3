"""MachineConfig: the machine description, spelled as QEMU's options.

Validators raise `PydanticCustomError` with the user-facing text so the loader
can show it as is; a rule that involves two keys names the key it blames in
the error type (`key:maxcpus`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kvminit.common.hints import did_you_mean

from . import machine_types
from .errors import Finding
from .sizes import GiB, MiB, SizeError, parse_size

KernelIrqchip = Literal["on", "off", "split"]
Accel = Literal["kvm", "tcg"]
CpuModel = Literal["qemu64", "kvm64", "host", "486"]

CPU_MODELS: tuple[str, ...] = ("qemu64", "kvm64", "host", "486")
ACCELS: tuple[str, ...] = ("kvm", "tcg")
DEFAULT_MEMORY = 128 * MiB  # QEMU's default -m
RAM_ALIGN = 8192  # vl.c rounds ram_size up to 8 KiB
PHYS_BITS_MIN, PHYS_BITS_MAX = 32, 52  # TARGET_PHYS_ADDR_SPACE_BITS on x86_64

# QEMU's own wording where QEMU has one.
MAXCPUS_LT_SMP = "maxcpus must be equal to or greater than smp"
MAX_RAM_BELOW_4G_TOO_BIG = (
    "Machine option 'max-ram-below-4g={value}' expects size less than or equal to 4G"
)
PHYS_BITS_RANGE = "phys-bits should be between 32 and 52 (but is {value})"


def _fail(message: str, error_type: str = "kvminit") -> PydanticCustomError:
    # Braces in user text must not be taken for template fields.
    return PydanticCustomError(error_type, message.replace("{", "{{").replace("}", "}}"))


def _size(bare_unit: int) -> Any:
    def check(value: object) -> int:
        try:
            return parse_size(value, bare_unit=bare_unit)
        except SizeError as e:
            raise _fail(str(e)) from None

    return check


def _memory(value: object) -> int:
    size: int = _size(MiB)(value)
    # QEMU_ALIGN_UP(sz, 8192), as vl.c's set_memory_options does.
    return -(-size // RAM_ALIGN) * RAM_ALIGN


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("must be an integer")
    if value <= 0:
        raise _fail("must be at least 1 (a file that says 0 is a mistake; QEMU would use 1)")
    if value > 0x7FFFFFFF:
        raise _fail("is too large")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _fail("must be a string")
    return value


def _machine_type(value: object) -> str:
    if not isinstance(value, str):
        raise _fail("must be a string naming a machine type")
    if not machine_types.is_machine_type(value):
        hint = did_you_mean(value, machine_types.MACHINE_TYPES)
        raise _fail(
            f"unknown machine type; {hint}allowed: {machine_types.describe_allowed()} "
            "(`kvminit machines` lists them)"
        )
    return value


def _kernel_irqchip(value: object) -> str:
    # QEMU's OnOffSplit; TOML booleans stand for on/off.
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in ("on", "off", "split"):
        return str(value)
    raise _fail('must be "on", "off" or "split" (true/false also accepted)')


def _cpu(value: object) -> str:
    if value in CPU_MODELS:
        return str(value)
    raise _fail("unknown CPU model; allowed: " + ", ".join(CPU_MODELS))


def _phys_bits(value: object) -> int | str:
    if value == "host":
        return "host"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail('must be an integer number of bits or "host"')
    if not PHYS_BITS_MIN <= value <= PHYS_BITS_MAX:
        raise _fail(PHYS_BITS_RANGE.format(value=value))
    return value


def _accel(value: object) -> list[str]:
    # QEMU spells the list "kvm:tcg"; TOML users write an array. Take both.
    items = value.split(":") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _fail('must be a list of accelerators, such as ["kvm", "tcg"]')
    if not items:
        raise _fail('must name at least one accelerator: "kvm" or "tcg"')
    seen: list[str] = []
    for item in items:
        if item not in ACCELS:
            raise _fail(f"unknown accelerator {item!r}; allowed: kvm, tcg")
        if item in seen:
            raise _fail(f"lists {item!r} twice")
        seen.append(str(item))
    return seen


def _default_accel() -> list[Accel]:
    return ["kvm"]  # this tool exists for KVM (QEMU 2.6's own default was tcg)


def _max_ram_below_4g(value: object) -> int:
    size: int = _size(1)(value)
    if size > 4 * GiB:
        raise _fail(MAX_RAM_BELOW_4G_TOO_BIG.format(value=size))
    return size


# What a machine file may say, for editors (the model's own types are the normalised ones).
_SIZE_PATTERN = r"^\s*\d+(\.\d*)?\s*[BKMGTPEbkmgtpe]?\s*$"


def _size_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": _SIZE_PATTERN},
            ],
            "description": description,
        }
    )


def _schema(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(schema)


class MachineConfig(BaseModel):
    """One machine, as `-machine`/`-m`/`-smp`/`-cpu` would describe it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Annotated[str | None, BeforeValidator(_text)] = None
    description: Annotated[str | None, BeforeValidator(_text)] = None
    type: Annotated[
        str,
        BeforeValidator(_machine_type),
        _schema({"enum": list(machine_types.MACHINE_TYPES), "description": "QEMU machine type"}),
    ] = "pc"
    memory: Annotated[
        int,
        BeforeValidator(_memory),
        _size_schema("RAM, as -m: a bare integer counts MiB; strings take K/M/G/T suffixes"),
    ] = DEFAULT_MEMORY
    smp: Annotated[
        int,
        BeforeValidator(_count),
        _schema({"type": "integer", "minimum": 1, "description": "vCPUs at start"}),
    ] = 1
    maxcpus: Annotated[
        int | None,
        BeforeValidator(_count),
        _schema(
            {"type": "integer", "minimum": 1, "description": "hotpluggable maximum (default: smp)"}
        ),
    ] = None
    kernel_irqchip: Annotated[
        KernelIrqchip,
        BeforeValidator(_kernel_irqchip),
        Field(alias="kernel-irqchip"),
        _schema({"anyOf": [{"enum": ["on", "off", "split"]}, {"type": "boolean"}]}),
    ] = "on"
    kvm_shadow_mem: Annotated[
        int | None,
        BeforeValidator(_size(1)),
        Field(alias="kvm-shadow-mem"),
        _size_schema("KVM_SET_NR_MMU_PAGES = bytes / 4096"),
    ] = None
    kvm_type: Annotated[str | None, BeforeValidator(_text), Field(alias="kvm-type")] = None
    max_ram_below_4g: Annotated[
        int | None,
        BeforeValidator(_max_ram_below_4g),
        Field(alias="max-ram-below-4g"),
        _size_schema("highest RAM address below 4 GiB (at most 4G)"),
    ] = None
    cpu: Annotated[CpuModel | None, BeforeValidator(_cpu), _schema({"enum": list(CPU_MODELS)})] = (
        None
    )
    phys_bits: Annotated[
        int | Literal["host"] | None,
        BeforeValidator(_phys_bits),
        Field(alias="phys-bits"),
        _schema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": PHYS_BITS_MIN, "maximum": PHYS_BITS_MAX},
                    {"const": "host"},
                ]
            }
        ),
    ] = None
    accel: Annotated[
        list[Accel],
        BeforeValidator(_accel),
        _schema(
            {
                "anyOf": [
                    {
                        "type": "array",
                        "items": {"enum": list(ACCELS)},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                    {"type": "string", "pattern": "^(kvm|tcg)(:(kvm|tcg))?$"},
                ]
            }
        ),
    ] = Field(default_factory=_default_accel)

    @model_validator(mode="after")
    def _defaults_and_cross_checks(self) -> MachineConfig:
        if self.maxcpus is None:
            self.maxcpus = self.smp
        elif self.maxcpus < self.smp:
            raise _fail(MAXCPUS_LT_SMP, "key:maxcpus")
        if self.cpu is None:
            # isapc's default CPU is the 486; every other PC type's is qemu64.
            self.cpu = "486" if self.type == "isapc" else "qemu64"
        return self

    # Where each key was written (set by the loader): findings point at these lines.
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    def set_lines(self, lines: dict[str, int]) -> None:
        self._lines = dict(lines)

    def line_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        if key in self._lines:
            return self._lines[key]
        # maxcpus defaults to smp: blame smp's line when maxcpus is not written.
        if key == "maxcpus":
            return self._lines.get("smp")
        return None

    def finding(self, message: str, key: str | None = None) -> Finding:
        """`message` about `key`, at the line the key was written on."""
        return Finding(message, key, self.line_of(key))

    # The validators above guarantee these after construction.
    @property
    def max_cpus(self) -> int:
        assert self.maxcpus is not None
        return self.maxcpus

    @property
    def cpu_model(self) -> str:
        assert self.cpu is not None
        return self.cpu

    def normalised(self) -> dict[str, Any]:
        """The description with every default filled in, keyed as in the file."""
        return self.model_dump(by_alias=True, mode="json")


KEYS: tuple[str, ...] = tuple((f.alias or n) for n, f in MachineConfig.model_fields.items())
