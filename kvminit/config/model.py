"""MachineConfig: the machine description, spelled as QEMU's options.

Validators raise `PydanticCustomError` with the user-facing text so the loader
can show it as is; a rule that involves two keys names the key it blames in
the error type (`key:maxcpus`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, WithJsonSchema
from pydantic_core import PydanticCustomError

from .errors import Finding
from .sizes import (
    POSITIVE_SIZE_PATTERN,
    U64_MAX,
    GiB,
    MiB,
    SizeError,
    parse_size,
    size_at_most_pattern,
)

KernelIrqchip = Literal["on", "off", "split"]
OnOffAuto = Literal["on", "off", "auto"]
Accel = Literal["kvm", "tcg"]

ACCELS: tuple[str, ...] = ("kvm", "tcg")
DEFAULT_MEMORY = 128 * MiB  # QEMU's default -m
RAM_ALIGN = 8192  # vl.c rounds ram_size up to 8 KiB
COUNT_MAX = 0x7FFFFFFF  # QEMU keeps CPU counts in 32 bits; no machine comes near this

# QEMU's own wording where QEMU has one.
MAXCPUS_LT_SMP = "maxcpus must be equal to or greater than smp"
MAX_RAM_BELOW_4G_TOO_BIG = (
    "Machine option 'max-ram-below-4g={value}' expects size less than or equal to 4G"
)
# The -smp keys, as `-smp` spells them; `smp` is its cpus=.
TOPOLOGY_KEYS: tuple[str, ...] = ("sockets", "dies", "clusters", "modules", "cores", "threads")


QEMU_WORDS = "qemu"  # an error type: the message is QEMU's own, shown as it is


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
    # 0 is left to the engine: what QEMU does with it depends on the version.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("must be an integer")
    if value < 0:
        raise _fail("must not be negative")
    if value > COUNT_MAX:
        raise _fail(f"is too large (at most {COUNT_MAX})")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _fail("must be a string")
    return value


def _machine_type(value: object) -> str:
    # Which names exist depends on the QEMU version: the engine checks against it.
    if not isinstance(value, str) or not value:
        raise _fail("must be a string naming a machine type (`kvminit machines` lists them)")
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


def _on_off_auto(value: object) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in ("on", "off", "auto"):
        return str(value)
    raise _fail('must be "on", "off" or "auto" (true/false also accepted)')


def _cpu(value: object) -> str:
    # Which models exist depends on the QEMU version (`kvminit cpus`): the engine checks.
    if not isinstance(value, str) or not value:
        raise _fail("must be a string naming a CPU model (`kvminit cpus` lists them)")
    return value


def _phys_bits(value: object) -> int | str:
    # The range (and whether a model takes it at all) is QEMU's check, per version.
    if value == "host":
        return "host"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail('must be an integer number of bits or "host"')
    if not 0 <= value <= 0xFFFFFFFF:
        # A uint32 property: QEMU itself refuses what is outside 32 to 52, in its words.
        raise _fail("must be between 0 and 4294967295 (QEMU takes 32 to 52)")
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
    # 0 is a value QEMU takes (it warns, then per version splits or keeps the default).
    try:
        size = parse_size(value, bare_unit=1, allow_zero=True)
    except SizeError as e:
        raise _fail(str(e)) from None
    if size > 4 * GiB:
        raise _fail(MAX_RAM_BELOW_4G_TOO_BIG.format(value=size), QEMU_WORDS)
    return size


# What a machine file may say, for editors (the model's own types are the normalised ones):
# every rule JSON Schema can say, so an editor flags what kvminit would refuse.
def _size_schema(
    description: str, at_most: int | None = None, bare_unit: int = 1
) -> WithJsonSchema:
    if at_most is None:
        top = U64_MAX // bare_unit
        integer: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": top}
        string = {"type": "string", "pattern": POSITIVE_SIZE_PATTERN}
    else:
        integer = {"type": "integer", "minimum": 0, "maximum": at_most}
        string = {"type": "string", "pattern": size_at_most_pattern(at_most)}
    return WithJsonSchema({"anyOf": [integer, string], "description": description})


def _schema(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(schema)


def _count_schema(description: str) -> WithJsonSchema:
    return _schema(
        {"type": "integer", "minimum": 0, "maximum": COUNT_MAX, "description": description}
    )


class MachineConfig(BaseModel):
    """One machine, as `-machine`/`-m`/`-smp`/`-cpu` would describe it.

    A key left out means what QEMU does when the option is left out; some of those
    defaults depend on the QEMU version and the machine type, so they are the
    engine's to settle (None here).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Annotated[str | None, BeforeValidator(_text)] = None
    description: Annotated[str | None, BeforeValidator(_text)] = None
    type: Annotated[
        str,
        BeforeValidator(_machine_type),
        _schema({"type": "string", "description": "QEMU machine type (`kvminit machines`)"}),
    ] = "pc"
    memory: Annotated[
        int,
        BeforeValidator(_memory),
        _size_schema(
            "RAM, as -m: a bare integer counts MiB; strings take K/M/G/T suffixes",
            bare_unit=MiB,
        ),
    ] = DEFAULT_MEMORY
    maxmem: Annotated[
        int | None,
        BeforeValidator(_size(1)),
        _size_schema(
            "as -m ...,maxmem= (memory hotplug): RAM plus hotpluggable memory; "
            "a bare integer counts bytes, as QEMU's maxmem= does"
        ),
    ] = None
    slots: Annotated[
        int | None,
        BeforeValidator(_count),
        _count_schema("as -m ...,slots=: hotplug slots for memory devices"),
    ] = None
    smp: Annotated[
        int | None, BeforeValidator(_count), _count_schema("vCPUs at start (-smp cpus=)")
    ] = None
    maxcpus: Annotated[
        int | None,
        BeforeValidator(_count),
        _count_schema("hotpluggable maximum (-smp maxcpus=)"),
    ] = None
    sockets: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp sockets=")] = None
    dies: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp dies=")] = None
    clusters: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp clusters=")] = None
    modules: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp modules=")] = None
    cores: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp cores=")] = None
    threads: Annotated[int | None, BeforeValidator(_count), _count_schema("-smp threads=")] = None
    kernel_irqchip: Annotated[
        KernelIrqchip | None,
        BeforeValidator(_kernel_irqchip),
        Field(alias="kernel-irqchip"),
        _schema({"anyOf": [{"enum": ["on", "off", "split"]}, {"type": "boolean"}]}),
    ] = None
    smm: Annotated[
        OnOffAuto | None,
        BeforeValidator(_on_off_auto),
        _schema({"anyOf": [{"enum": ["on", "off", "auto"]}, {"type": "boolean"}]}),
    ] = None
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
        _size_schema("highest RAM address below 4 GiB (at most 4G; 0 allowed)", at_most=4 * GiB),
    ] = None
    cpu: Annotated[
        str | None,
        BeforeValidator(_cpu),
        _schema({"type": "string", "description": "CPU model (`kvminit cpus`)"}),
    ] = None
    vendor: Annotated[
        str | None,
        BeforeValidator(_text),
        _schema({"type": "string", "description": "CPUID vendor, as -cpu ...,vendor="}),
    ] = None
    phys_bits: Annotated[
        int | Literal["host"] | None,
        BeforeValidator(_phys_bits),
        Field(alias="phys-bits"),
        _schema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 32, "maximum": 52},
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

    # Where each key was written (set by the loader): findings point at these lines.
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    # For a converted command line (from-qemu): the option each key was read from.
    _options: dict[str, str] = PrivateAttr(default_factory=dict)

    def set_lines(self, lines: dict[str, int]) -> None:
        self._lines = dict(lines)

    def set_options(self, options: dict[str, str]) -> None:
        self._options = dict(options)

    def option_of(self, key: str | None) -> str | None:
        if key is None:
            return None
        if key in self._options:
            return self._options[key]
        if key == "maxcpus":
            return self._options.get("smp")
        return None

    def line_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        if key in self._lines:
            return self._lines[key]
        # maxcpus defaults to smp: blame smp's line when maxcpus is not written.
        if key == "maxcpus":
            return self._lines.get("smp")
        return None

    def finding(self, message: str, key: str | None = None, hint: str | None = None) -> Finding:
        """`message` about `key`, at the line the key was written on."""
        return Finding(message, key, self.line_of(key), hint, self.option_of(key))

    def normalised(self) -> dict[str, Any]:
        """The description keyed as in the file, sizes in bytes; a key left out is null
        (QEMU's default for the version and machine type)."""
        return self.model_dump(by_alias=True, mode="json")


KEYS: tuple[str, ...] = tuple((f.alias or n) for n, f in MachineConfig.model_fields.items())
