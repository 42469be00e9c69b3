"""Machine classes: which PC machine types a QEMU version has, and what each does.

A version's catalogue is the list `-machine help` prints (2.6: its pc_piix.c /
pc_q35.c, confirmed by a QEMU 2.6.0 query-machines capture); a type's behaviour is
a few thresholds on its own version, not one class per version (DESIGN.md). Every
number is QEMU's, from hw/i386/pc_piix.c, pc_q35.c and pc.c of the version named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Final

from kvminit.common.hints import close_matches

from .layout import Family
from .qemu import MODELLED, QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from .smp import SmpMachine

Version = tuple[int, ...]  # (major, minor) or (major, minor, bugfix): pc-q35-4.0.1


def _versions(*spans: tuple[Version, Version]) -> tuple[Version, ...]:
    """Every X.Y from each (first, last), as QEMU numbered its releases."""
    # The minor numbers QEMU used in each major release series.
    minors = {0: range(10, 16), 1: range(8), 2: range(13), 3: range(2), 10: range(1)}
    out: list[Version] = []
    for first, last in spans:
        for major in range(first[0], last[0] + 1):
            series = minors.get(major, range(3))  # x.0 to x.2 from 4.0 on
            out += [(major, m) for m in series if first <= (major, m) <= last]
    return tuple(out)


# The versioned types of each QEMU (besides isapc), oldest first.
I440FX_TYPES: Final[dict[Qemu, tuple[Version, ...]]] = {
    QEMU_2_6: _versions(((1, 4), (2, 6))),
    QEMU_7_2: _versions(((1, 4), (7, 2))),
    QEMU_10_0: _versions(((2, 4), (10, 0))),
}
Q35_TYPES: Final[dict[Qemu, tuple[Version, ...]]] = {
    QEMU_2_6: _versions(((2, 4), (2, 6))),
    QEMU_7_2: tuple(sorted((*_versions(((2, 4), (7, 2))), (4, 0, 1)))),
    QEMU_10_0: tuple(sorted((*_versions(((2, 4), (10, 0))), (4, 0, 1)))),
}
# QEMU 2.6 still had the pre-1.4 i440fx names, spelled pc-X.Y.
OLD_PC_TYPES_2_6: Final = _versions(((0, 10), (1, 3)))

# 7.2: pc_i440fx_1_7_machine_options() sets a reason the older ones inherit;
# 10.0: every versioned type more than 3 years older than 10.0 (include/hw/boards.h).
DEPRECATED_OLD: Final = "old and unattended - use a newer version instead"
DEPRECATED_AGE: Final = "machines more than 3 years old are subject to deletion after 6 years"

_TYPE_NAME = re.compile(r"^pc-(?:(i440fx|q35)-)?(\d+)\.(\d+)(?:\.(\d+))?$")


class UnknownMachineType(LookupError):
    """A name the QEMU version does not know; `close` holds a near name it does know."""

    def __init__(self, name: str, close: str | None) -> None:
        self.name = name
        self.close = close
        super().__init__(name)


@dataclass(frozen=True)
class MachineClass:
    name: str  # MachineClass->name, what QEMU prints ("pc-i440fx-10.0" for `pc`)
    alias: str | None
    family: Family
    version: Version | None  # None: isapc
    qemu: Qemu
    max_cpus: int
    pci_enabled: bool
    gigabyte_align: bool  # low RAM capped at 3 GiB when it splits (i440fx from 2.0)
    enforce_amd_1tb_hole: bool  # the HyperTransport reservation (from 7.1; QEMU 7.1+)
    broken_32bit_mem_addr_check: bool  # 10.0: types up to 8.1 keep the old 32-bit rule
    prefer_sockets: bool  # -smp fills sockets first (types up to 6.1, QEMU 7.2+)
    legacy_cpu_hotplug: bool  # ACPI CPU hotplug of types up to 2.6 (APIC IDs below 256)
    default_kernel_irqchip_split: bool  # pc-q35-4.0 only
    default_cpu: str
    has_reserved_memory: bool  # memory hotplug (not isapc, not i440fx 2.0 and older)
    enforce_aligned_dimm: bool  # 1 GiB per hotplug slot (not i440fx 2.1 and older; 10.0: all)
    broken_reserved_end: bool  # types up to 2.4 leave the hotplug region out of the hole64 start
    kvm_smm_off: bool  # pc_compat_2_3_fn(): types up to 2.3 turn SMM off under KVM
    deprecated: str | None = None  # the reason QEMU prints, if the type is deprecated

    @property
    def kind(self) -> str:
        return {"i440fx": "i440FX + PIIX", "q35": "Q35 + ICH9", "isapc": "ISA-only PC"}[self.family]

    @cached_property  # the class's facts never change: made once per class, not per run
    def smp(self) -> SmpMachine:
        return SmpMachine(
            name=self.name,
            max_cpus=self.max_cpus,
            prefer_sockets=self.prefer_sockets,
            dies_supported=self.qemu.at_least(7, 2),
            modules_supported=self.qemu.at_least(10, 0),
        )


def type_names(qemu: Qemu) -> list[str]:
    """Every PC machine type name `qemu` accepts: aliases, versioned types, isapc."""
    names = ["pc", "q35", "isapc"]
    if qemu == QEMU_2_6:
        names += [f"pc-{_dotted(v)}" for v in OLD_PC_TYPES_2_6]
    names += [f"pc-i440fx-{_dotted(v)}" for v in I440FX_TYPES[qemu]]
    names += [f"pc-q35-{_dotted(v)}" for v in Q35_TYPES[qemu]]
    return names


def all_type_names() -> list[str]:
    """The names any modelled QEMU accepts (the schema's vocabulary)."""
    seen: dict[str, None] = {}
    for q in MODELLED:
        seen.update(dict.fromkeys(type_names(q)))
    return list(seen)


def _dotted(v: Version) -> str:
    return ".".join(map(str, v))


@cache
def machine_class(qemu: Qemu, type_name: str) -> MachineClass:
    """The class `type_name` names under `qemu`; UnknownMachineType when it has none."""
    newest_i440fx, newest_q35 = I440FX_TYPES[qemu][-1], Q35_TYPES[qemu][-1]
    if type_name == "isapc":
        return _isapc(qemu)
    if type_name in ("pc", "q35"):
        family: Family = "i440fx" if type_name == "pc" else "q35"
        version = newest_i440fx if type_name == "pc" else newest_q35
        return _versioned(qemu, family, version, alias=type_name)
    match = _TYPE_NAME.match(type_name)
    if match is not None:
        kind, *numbers = match.groups()
        version = tuple(int(n) for n in numbers if n is not None)
        if kind is None and qemu == QEMU_2_6 and version in OLD_PC_TYPES_2_6:
            return _versioned(qemu, "i440fx", version, alias=None, name=type_name)
        if kind == "i440fx" and version in I440FX_TYPES[qemu]:
            return _versioned(qemu, "i440fx", version, alias=None)
        if kind == "q35" and version in Q35_TYPES[qemu]:
            return _versioned(qemu, "q35", version, alias=None)
    raise UnknownMachineType(type_name, closest_type(qemu, type_name))


def closest_type(qemu: Qemu, name: str) -> str | None:
    """The type of `qemu` nearest to `name`: same family, newest not newer, else by spelling."""
    match = _TYPE_NAME.match(name)
    if match is not None and match.group(1):
        family = match.group(1)
        wanted = tuple(int(n) for n in match.groups()[1:] if n is not None)
        versions = I440FX_TYPES[qemu] if family == "i440fx" else Q35_TYPES[qemu]
        older = [v for v in versions if v <= wanted]
        pick = older[-1] if older else versions[0]
        return f"pc-{family}-{_dotted(pick)}"
    close = close_matches(name, type_names(qemu))
    return close[0] if close else None


def _isapc(qemu: Qemu) -> MachineClass:
    # isapc_machine_options(): one CPU, no PCI, the 486; from 7.1 it gets the AMD
    # reservation rule like every class that does not turn it off.
    return MachineClass(
        name="isapc",
        alias=None,
        family="isapc",
        version=None,
        qemu=qemu,
        max_cpus=1,
        pci_enabled=False,
        gigabyte_align=False,
        enforce_amd_1tb_hole=qemu.at_least(7, 1),
        broken_32bit_mem_addr_check=False,
        prefer_sockets=False,
        legacy_cpu_hotplug=False,
        default_kernel_irqchip_split=False,
        default_cpu="486",
        has_reserved_memory=False,
        enforce_aligned_dimm=True,
        broken_reserved_end=False,
        kvm_smm_off=False,
    )


def _versioned(
    qemu: Qemu, family: Family, version: Version, alias: str | None, name: str | None = None
) -> MachineClass:
    def at_least(*v: int) -> bool:
        return version >= v

    if family == "q35" and qemu.at_least(7, 2):
        # pc_q35_machine_options: 288 from 2.8; QEMU 10.0's 8.1/8.2 types 1024, 9.0+ 4096.
        if at_least(9, 0):
            max_cpus = 4096
        elif at_least(8, 1):
            max_cpus = 1024
        elif at_least(2, 8):
            max_cpus = 288
        else:
            max_cpus = 255
    else:
        max_cpus = 255
    deprecated = None
    if qemu == QEMU_7_2 and family == "i440fx" and not at_least(2, 0):
        deprecated = DEPRECATED_OLD
    elif qemu.at_least(10, 0) and not at_least(7, 1):
        deprecated = DEPRECATED_AGE
    modern = qemu.at_least(7, 2)
    return MachineClass(
        name=name or f"pc-{family}-{_dotted(version)}",
        alias=alias,
        family=family,
        version=version,
        qemu=qemu,
        max_cpus=max_cpus,
        pci_enabled=True,
        gigabyte_align=family == "q35" or at_least(2, 0),
        enforce_amd_1tb_hole=qemu.at_least(7, 1) and at_least(7, 1),
        broken_32bit_mem_addr_check=not at_least(8, 2),
        prefer_sockets=modern and not at_least(6, 2),
        legacy_cpu_hotplug=not at_least(2, 7),
        default_kernel_irqchip_split=modern and family == "q35" and version == (4, 0),
        default_cpu="qemu64",
        has_reserved_memory=at_least(2, 1),
        enforce_aligned_dimm=qemu.at_least(10, 0) or at_least(2, 2),
        broken_reserved_end=not at_least(2, 5),
        kvm_smm_off=not at_least(2, 4),
        deprecated=deprecated,
    )


def all_classes(qemu: Qemu) -> list[MachineClass]:
    return [machine_class(qemu, t) for t in type_names(qemu)]
