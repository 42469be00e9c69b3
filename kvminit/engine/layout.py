"""Guest-physical addresses of the PC machines, each named and explained once."""

from __future__ import annotations

from typing import Final

KiB: Final = 1 << 10
MiB: Final = 1 << 20
GiB: Final = 1 << 30
TiB: Final = 1 << 40

FOUR_GIB: Final = 4 * GiB  # RAM above the 32-bit hole starts here by default

# i440fx (pc_piix.c): "Traditional split is 3.5G", gigabyte-aligned split at 3G.
I440FX_LOWMEM_DEFAULT: Final = 0xE0000000
I440FX_LOWMEM_GIGABYTE_ALIGNED: Final = 0xC0000000
# q35 (pc_q35.c): 1/2 GiB for I/O plus 256 MiB of MMCFG below 4 GiB.
Q35_LOWMEM_SMALL: Final = 0xB0000000
Q35_LOWMEM_SPLIT: Final = 0x80000000
Q35_MAX_RAM_BELOW_4G_DEFAULT: Final = FOUR_GIB

# Default sizes of the 64-bit PCI hole above RAM (hw/pci-host).
I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT: Final = 1 << 31  # "comply with older win32 guests"
Q35_PCI_HOST_HOLE64_SIZE_DEFAULT: Final = 1 << 35

# AMD HyperTransport reserved range below 1 TiB (pc.c, QEMU 7.1+).
AMD_HT_START: Final = 0xFD00000000
AMD_HT_END: Final = 0xFFFFFFFFFF
AMD_HT_SIZE: Final = AMD_HT_END - AMD_HT_START + 1
AMD_ABOVE_1TB_START: Final = AMD_HT_END + 1

# The default guest physical address width (TCG_PHYS_ADDR_BITS).
DEFAULT_PHYS_BITS: Final = 40


def round_up(value: int, align: int) -> int:
    return -(-value // align) * align
