"""MachineConfig: the machine description, spelled as QEMU's options.

The model is the description's contract and its schemas' source: the JSON Schema
(`kvminit schema`) and the core schema the command line validates with
(machine_schema.py, generated from it by scripts/gen_machine_schema.py). The value
rules are rules.py's; they raise `PydanticCustomError` with the user-facing text so
the loader can show it as is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, WithJsonSchema

from .errors import Finding
from .rules import (
    ACCELS,
    COUNT_MAX,
    DEFAULT_MEMORY,
    MAX_RAM_BELOW_4G_TOO_BIG,
    MAXCPUS_LT_SMP,
    QEMU_WORDS,
    RAM_ALIGN,
    TOPOLOGY_KEYS,
    Accel,
    KernelIrqchip,
    OnOffAuto,
    _accel,
    _count,
    _cpu,
    _default_accel,
    _kernel_irqchip,
    _machine_type,
    _max_ram_below_4g,
    _memory,
    _on_off_auto,
    _phys_bits,
    _size_bytes,
    _text,
)
from .sizes import (
    POSITIVE_SIZE_PATTERN,
    U64_MAX,
    GiB,
    MiB,
    size_at_most_pattern,
)

__all__ = [
    "ACCELS",
    "COUNT_MAX",
    "DEFAULT_MEMORY",
    "KEYS",
    "MAXCPUS_LT_SMP",
    "MAX_RAM_BELOW_4G_TOO_BIG",
    "QEMU_WORDS",
    "RAM_ALIGN",
    "TOPOLOGY_KEYS",
    "Accel",
    "KernelIrqchip",
    "MachineConfig",
    "OnOffAuto",
]


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
        BeforeValidator(_size_bytes),
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
        BeforeValidator(_size_bytes),
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
