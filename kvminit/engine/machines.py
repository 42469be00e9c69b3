"""Machine classes: what each PC machine type (and version) does differently.

A version's behaviour is a few thresholds, not one class per version
(DESIGN.md). Every number here is QEMU's, from hw/i386/pc_piix.c / pc_q35.c.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from kvminit.config import machine_types
from kvminit.config.machine_types import Family

Version = tuple[int, int]


@dataclass(frozen=True)
class MachineClass:
    name: str  # MachineClass->name, what QEMU prints ("pc-i440fx-7.2" for `pc`)
    alias: str | None
    family: Family
    version: Version | None
    max_cpus: int
    pci_enabled: bool
    gigabyte_align: bool  # i440fx from 2.0: low RAM capped at 3 GiB when it splits
    enforce_amd_1tb_hole: bool  # from 7.1
    legacy_e820: bool  # FW_CFG_E820_TABLE, removed in 7.2
    has_kvm_type: bool = False  # no x86 PC class has a kvm_type hook (QEMU <= 7.2)

    @property
    def kind(self) -> str:
        return {"i440fx": "i440FX + PIIX", "q35": "Q35 + ICH9", "isapc": "ISA-only PC"}[self.family]


def _at_least(version: Version | None, wanted: Version) -> bool:
    return version is not None and version >= wanted


@cache
def machine_class(type_name: str) -> MachineClass:
    family, version = machine_types.split(type_name)
    alias = type_name if type_name in machine_types.ALIASES else None
    if family == "isapc":
        return MachineClass(
            name="isapc",
            alias=None,
            family="isapc",
            version=None,
            max_cpus=1,
            pci_enabled=False,
            gigabyte_align=True,
            enforce_amd_1tb_hole=True,
            legacy_e820=False,
        )
    # pc_q35_machine_options: 288 CPUs; pc_q35_2_7_machine_options and i440fx: 255.
    max_cpus = 288 if family == "q35" and _at_least(version, (2, 8)) else 255
    return MachineClass(
        name=machine_types.canonical(type_name),
        alias=alias,
        family=family,
        version=version,
        max_cpus=max_cpus,
        pci_enabled=True,
        gigabyte_align=family == "q35" or _at_least(version, (2, 0)),
        enforce_amd_1tb_hole=_at_least(version, (7, 1)),
        legacy_e820=not _at_least(version, (7, 2)),
    )


def all_classes() -> list[MachineClass]:
    return [machine_class(t) for t in machine_types.MACHINE_TYPES]
