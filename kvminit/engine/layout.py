"""The PC machines' guest-physical map: every address and size, and the pure rules.

As Firecracker's arch/x86_64/layout.rs: each address is a named constant here,
and the rules that place RAM (the split around the 32-bit hole, the 64-bit PCI
hole, the highest guest address used, the AMD HyperTransport relocation) are pure
functions of plain values, tested without any host. A rule that QEMU would warn
about returns the warning as a Finding (key set, line unknown); one QEMU would
refuse raises QemuExit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from kvminit.config import Finding

from . import messages as msg

KiB: Final = 1 << 10
MiB: Final = 1 << 20
GiB: Final = 1 << 30
TiB: Final = 1 << 40
PAGE_SIZE: Final = 4 * KiB

FOUR_GIB: Final = 4 * GiB  # RAM above the 32-bit hole starts here by default

# kvm_arch_init (2.10): the EPT identity map page and the 3 TSS pages, "4 pages before the BIOS".
IDENTITY_BASE_DEFAULT: Final = 0xFFFBC000  # 256K max BIOS, when the kernel cannot move it
IDENTITY_BASE_MOVED: Final = 0xFEFFC000  # "Allows up to 16M BIOSes."
IDENTITY_MAP_SIZE: Final = 4 * PAGE_SIZE
TSS_OFFSET: Final = PAGE_SIZE  # "Set TSS base one page after EPT identity map."

# i440fx (pc_piix.c): "Traditional split is 3.5G", gigabyte-aligned split at 3G.
I440FX_LOWMEM_DEFAULT: Final = 0xE0000000
I440FX_LOWMEM_GIGABYTE_ALIGNED: Final = 0xC0000000
# q35 (pc_q35.c): 1/2 GiB for I/O plus 256 MiB of MMCFG below 4 GiB.
Q35_LOWMEM_SMALL: Final = 0xB0000000
Q35_LOWMEM_SPLIT: Final = 0x80000000
Q35_MAX_RAM_BELOW_4G_DEFAULT: Final = FOUR_GIB
MAX_RAM_BELOW_4G_MIN: Final = 1 * MiB  # below this "BIOS may not work"

# Default sizes of the 64-bit PCI hole above RAM (hw/pci-host).
I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT: Final = 1 << 31  # "comply with older win32 guests"
Q35_PCI_HOST_HOLE64_SIZE_DEFAULT: Final = 1 << 35

# AMD HyperTransport reserved range below 1 TiB (pc.c, QEMU 7.1+).
AMD_HT_START: Final = 0xFD00000000
AMD_HT_END: Final = 0xFFFFFFFFFF
AMD_HT_SIZE: Final = AMD_HT_END - AMD_HT_START + 1
AMD_ABOVE_1TB_START: Final = AMD_HT_END + 1
AMD_HT_MIN_PHYS_BITS: Final = 40  # the range is advertised only when it is addressable

# The default guest physical address width of 64-bit models (TCG_PHYS_ADDR_BITS).
DEFAULT_PHYS_BITS: Final = 40

Family = Literal["i440fx", "q35", "isapc"]


def round_up(value: int, align: int) -> int:
    return -(-value // align) * align


@dataclass(frozen=True)
class RamSplit:
    below_4g: int
    above_4g: int
    above_4g_start: int = FOUR_GIB

    @property
    def above_4g_end(self) -> int:
        return self.above_4g_start + self.above_4g


def ram_split(
    family: Family, ram: int, gigabyte_align: bool, max_ram_below_4g: int | None
) -> tuple[RamSplit, list[Finding]]:
    """Below/above-4G RAM sizes by the family's rules (pc_init1 / pc_q35_init)."""
    findings: list[Finding] = []
    if max_ram_below_4g is not None and max_ram_below_4g < MAX_RAM_BELOW_4G_MIN:
        findings.append(
            Finding(msg.MAX_RAM_BELOW_4G_TINY.format(value=max_ram_below_4g), "max-ram-below-4g")
        )
    if family == "q35":
        lowmem = Q35_LOWMEM_SPLIT if ram >= Q35_LOWMEM_SMALL else Q35_LOWMEM_SMALL
        max_below = max_ram_below_4g or Q35_MAX_RAM_BELOW_4G_DEFAULT
        if lowmem > max_below:
            lowmem = max_below
            if ram - lowmem > lowmem and lowmem & (GiB - 1):
                findings.append(
                    Finding(
                        msg.Q35_POOR_PERFORMANCE.format(ram=ram, limit=max_below),
                        "max-ram-below-4g",
                    )
                )
    else:
        max_below = max_ram_below_4g or I440FX_LOWMEM_DEFAULT
        lowmem = max_below
        if ram >= max_below and gigabyte_align:
            lowmem = min(lowmem, I440FX_LOWMEM_GIGABYTE_ALIGNED)
            if lowmem & (GiB - 1):
                findings.append(
                    Finding(msg.LARGE_MACHINE_NOT_1G.format(limit=max_below), "max-ram-below-4g")
                )
    if ram >= lowmem:
        return RamSplit(lowmem, ram - lowmem), findings
    return RamSplit(ram, 0), findings


def pci_hole64_size(family: Family, pci_enabled: bool) -> int:
    if not pci_enabled:
        return 0
    if family == "q35":
        return Q35_PCI_HOST_HOLE64_SIZE_DEFAULT
    return I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT


def max_used_gpa(split: RamSplit, phys_bits: int, hole64: int) -> int:
    """pc_max_used_gpa(): the highest guest-physical address the board may use."""
    if phys_bits <= 32:
        # 32-bit systems have no 64-bit hole: the CPU's own limit.
        return (1 << phys_bits) - 1
    hole64_start = round_up(split.above_4g_end, GiB)
    return hole64_start + hole64 - 1


def amd_ht_relocation(split: RamSplit, phys_bits: int, hole64: int) -> RamSplit:
    """RAM above 4G moves past the HyperTransport range when it could reach it."""
    if max_used_gpa(split, phys_bits, hole64) >= AMD_HT_START:
        return RamSplit(split.below_4g, split.above_4g, AMD_ABOVE_1TB_START)
    return split


def check_phys_bits(max_used: int, phys_bits: int) -> str | None:
    """QEMU's refusal when the board needs more address bits than the CPU has."""
    max_phys = (1 << phys_bits) - 1
    if max_phys < max_used:
        return msg.PHYS_BITS_TOO_LOW.format(limit=max_phys, used=max_used, bits=phys_bits)
    return None
