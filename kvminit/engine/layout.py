"""The PC machines' guest-physical map: every address and size, and the pure rules.

As Firecracker's arch/x86_64/layout.rs: each address is a named constant here,
and the rules that place RAM (the split around the 32-bit hole, the 64-bit PCI
hole, the highest guest address used, the AMD HyperTransport relocation) are pure
functions of plain values, tested without any host. A rule that QEMU would warn
about returns the warning as a Finding (key set, line unknown); one QEMU would
refuse raises QemuExit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from kvminit.config import Finding

from . import messages as msg
from .qemu import Qemu

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
    qemu: Qemu, family: Family, ram: int, gigabyte_align: bool, max_ram_below_4g: int | None
) -> tuple[RamSplit, list[Finding]]:
    """Below/above-4G RAM sizes as pc_init1 / pc_q35_init split them, for that QEMU.

    `max_ram_below_4g` is the machine property (None: not given). The arithmetic is
    C's unsigned: `ram - lowmem` wraps when RAM is below the limit, and QEMU then warns.
    """
    findings: list[Finding] = []
    mrb = max_ram_below_4g
    if not qemu.at_least(7, 2):
        lowmem, warning = _split_2_6(family, ram, gigabyte_align, mrb)
    elif family == "q35":
        lowmem, warning = _split_q35(ram, mrb)
    else:
        lowmem, warning = _split_i440fx(ram, gigabyte_align, mrb)
    if warning is not None:
        findings.append(Finding(warning, "max-ram-below-4g"))
    if ram >= lowmem:
        return RamSplit(lowmem, ram - lowmem), findings
    return RamSplit(ram, 0), findings


def max_ram_below_4g_warning(qemu: Qemu, value: int | None) -> Finding | None:
    """The property's setter: under 1 MiB "BIOS may not work" (the value is kept)."""
    if value is None or value >= MAX_RAM_BELOW_4G_MIN:
        return None
    return Finding(msg.MAX_RAM_BELOW_4G_TINY(qemu, value=value), "max-ram-below-4g")


# The i440fx host's 32-bit PCI hole runs from the end of low RAM to the IOAPIC; QEMU
# asserts it is not empty (range_set_bounds), so low RAM must end below 0xfec00000.
IO_APIC_DEFAULT_ADDRESS: Final = 0xFEC00000


def pci_hole32_assertion(qemu: Qemu, family: Family, below_4g: int) -> str | None:
    """The abort QEMU 7.2+ hits when an i440fx's RAM below 4G reaches the IOAPIC."""
    if family != "i440fx" or not qemu.at_least(7, 2) or below_4g < IO_APIC_DEFAULT_ADDRESS:
        return None
    if below_4g == IO_APIC_DEFAULT_ADDRESS:
        line = 79 if qemu.at_least(10, 0) else 77
        return msg.RANGE_EMPTY_ASSERT.format(line=line)
    line = 43 if qemu.at_least(10, 0) else 41
    return msg.RANGE_INVARIANT_ASSERT.format(line=line)


def machine_property_order(keys: Iterable[str]) -> list[str]:
    """The order QEMU 7.2+ applies machine properties in: a QDict's, bucket by bucket.

    qdict_first()/qdict_next() walk tdb_hash(key) % 512 upwards (qobject/qdict.c); within a
    bucket the key inserted last comes first, and -smp goes in after -machine's keys.
    """

    def bucket(key: str) -> int:
        value = (0x238F13AF * len(key)) & 0xFFFFFFFF
        for i, c in enumerate(key.encode()):
            value = (value + (c << (i * 5 % 24))) & 0xFFFFFFFF
        return ((1103515243 * value + 12345) & 0xFFFFFFFF) % 512

    inserted = list(keys)
    return sorted(inserted, key=lambda k: (bucket(k), -inserted.index(k)))


def _wrapping_sub(a: int, b: int) -> int:
    return (a - b) % (1 << 64)  # ram_addr_t


def _split_2_6(
    family: Family, ram: int, gigabyte_align: bool, mrb: int | None
) -> tuple[int, str | None]:
    # 2.6: the property can only lower the split; it defaults to 3.5G at instance init
    # and 0 is a real value (no RAM below 4G at all).
    limit = I440FX_LOWMEM_DEFAULT if mrb is None else mrb
    if family == "q35":
        lowmem = Q35_LOWMEM_SPLIT if ram >= Q35_LOWMEM_SMALL else Q35_LOWMEM_SMALL
    elif ram >= I440FX_LOWMEM_DEFAULT:
        lowmem = I440FX_LOWMEM_GIGABYTE_ALIGNED if gigabyte_align else I440FX_LOWMEM_DEFAULT
    else:
        lowmem = I440FX_LOWMEM_DEFAULT
    warning = None
    if lowmem > limit:
        lowmem = limit
        if _wrapping_sub(ram, lowmem) > lowmem and lowmem & (GiB - 1):
            warning = msg.LARGE_MACHINE_NOT_1G_2_6.format(limit=limit)
    return lowmem, warning


def _split_i440fx(ram: int, gigabyte_align: bool, mrb: int | None) -> tuple[int, str | None]:
    # 7.2+ pc_init1 (and isapc): the property may raise the split up to 4G.
    limit = mrb or I440FX_LOWMEM_DEFAULT
    lowmem = limit
    warning = None
    if ram >= limit and gigabyte_align:
        lowmem = min(lowmem, I440FX_LOWMEM_GIGABYTE_ALIGNED)
        if lowmem & (GiB - 1):
            warning = msg.LARGE_MACHINE_NOT_1G.format(limit=limit)
    return lowmem, warning


def _split_q35(ram: int, mrb: int | None) -> tuple[int, str | None]:
    # 7.2+ pc_q35_init: 2 GiB below 4G once RAM reaches 2.75 GiB; the property only lowers it.
    lowmem = Q35_LOWMEM_SPLIT if ram >= Q35_LOWMEM_SMALL else Q35_LOWMEM_SMALL
    limit = mrb or Q35_MAX_RAM_BELOW_4G_DEFAULT
    warning = None
    if lowmem > limit:
        lowmem = limit
        if _wrapping_sub(ram, lowmem) > lowmem and lowmem & (GiB - 1):
            warning = msg.Q35_POOR_PERFORMANCE.format(ram=ram, limit=limit)
    return lowmem, warning


def pci_hole64_size(family: Family, pci_enabled: bool) -> int:
    if not pci_enabled:
        return 0
    if family == "q35":
        return Q35_PCI_HOST_HOLE64_SIZE_DEFAULT
    return I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT


@dataclass(frozen=True)
class DeviceMemory:
    """The region memory hotplug reserves above RAM (pc_get_device_memory_range)."""

    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


def pci_hole64_start(
    split: RamSplit, devmem: DeviceMemory | None, broken_reserved_end: bool = False
) -> int:
    """pc_pci_hole64_start(): above RAM, or above the hotplug region when there is one."""
    if devmem is not None:
        start = devmem.base if broken_reserved_end else devmem.end
    else:
        start = split.above_4g_end
    return round_up(start, GiB)


def max_used_gpa(
    qemu: Qemu,
    split: RamSplit,
    lm: bool,
    phys_bits: int,
    hole64: int,
    *,
    broken_32bit_mem_addr_check: bool = True,
    devmem: DeviceMemory | None = None,
    broken_reserved_end: bool = False,
) -> int:
    """pc_max_used_gpa(): the highest guest-physical address the board may use."""
    if not qemu.at_least(10, 0):
        # 7.2: "32-bit systems don't have hole64 thus return max CPU address"
        if phys_bits <= 32:
            return (1 << phys_bits) - 1
        return pci_hole64_start(split, devmem, broken_reserved_end) + hole64 - 1
    if lm:
        return pci_hole64_start(split, devmem, broken_reserved_end) + hole64 - 1
    if broken_32bit_mem_addr_check:
        return (1 << phys_bits) - 1  # "old value for compatibility reasons"
    if devmem is not None:
        return devmem.end - 1
    return split.above_4g_end - 1


def amd_ht_relocation(split: RamSplit, max_used: int) -> RamSplit:
    """RAM above 4G moves past the HyperTransport range when the board could reach it."""
    if max_used >= AMD_HT_START:
        return RamSplit(split.below_4g, split.above_4g, AMD_ABOVE_1TB_START)
    return split


def check_phys_bits(max_used: int, phys_bits: int) -> str | None:
    """QEMU's refusal when the board needs more address bits than the CPU has."""
    max_phys = (1 << phys_bits) - 1
    if max_phys < max_used:
        return msg.PHYS_BITS_TOO_LOW.format(limit=max_phys, used=max_used, bits=phys_bits)
    return None
