"""The machine file's value rules: what each key takes, and the words for what it does not.

Plain functions of one value each, used by MachineConfig (model.py) as its validators
and referenced by name from the core schema generated from it (machine_schema.py), so
the command line validates with exactly these rules without building the model.
A refusal raises `PydanticCustomError` with the user-facing text, which the loader
shows as it is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import PydanticCustomError

from .sizes import GiB, MiB, SizeError, parse_size

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
    size: int = _size_mib(value)
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


def _switch(value: object, allowed: tuple[str, ...], words: str) -> str:
    # QEMU's OnOffSplit/OnOffAuto; TOML booleans stand for on/off.
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in allowed:
        return str(value)
    raise _fail(f"must be {words} (true/false also accepted)")


def _kernel_irqchip(value: object) -> str:
    return _switch(value, ("on", "off", "split"), '"on", "off" or "split"')


def _on_off_auto(value: object) -> str:
    return _switch(value, ("on", "off", "auto"), '"on", "off" or "auto"')


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


# The size rules as named values: the generated schema refers to validators by name.
_size_mib = _size(MiB)
_size_bytes = _size(1)
