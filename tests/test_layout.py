"""The layout rules as pure functions: plain values in, no host, no run (as Firecracker's
arch_memory_regions tests)."""

from __future__ import annotations

import pytest

from kvminit.engine import layout
from kvminit.engine.cpu import guest_cpu
from kvminit.engine.errors import QemuExit
from kvminit.engine.layout import GiB, MiB, RamSplit


@pytest.mark.parametrize(
    ("family", "ram", "align", "below", "above"),
    [
        ("i440fx", 1 * GiB, True, 1 * GiB, 0),
        ("i440fx", 3584 * MiB - 1, True, 3584 * MiB - 1, 0),  # just below 0xe0000000
        ("i440fx", 3584 * MiB, True, 3 * GiB, 512 * MiB),  # gigabyte_align splits at 3G
        ("i440fx", 3584 * MiB, False, 3584 * MiB, 0),  # before 2.0: the 3.5G split
        ("i440fx", 4 * GiB, False, 3584 * MiB, 512 * MiB),
        ("q35", 2815 * MiB, True, 2815 * MiB, 0),
        ("q35", 2816 * MiB, True, 2 * GiB, 768 * MiB),  # at 0xb0000000 the split is 2G
        ("q35", 6 * GiB, True, 2 * GiB, 4 * GiB),
        ("isapc", 64 * MiB, True, 64 * MiB, 0),
    ],
)
def test_ram_split(family: layout.Family, ram: int, align: bool, below: int, above: int) -> None:
    split, findings = layout.ram_split(family, ram, align, None)
    assert (split.below_4g, split.above_4g, split.above_4g_start) == (below, above, 4 * GiB)
    assert findings == []


def test_ram_split_max_ram_below_4g_and_its_warnings() -> None:
    split, findings = layout.ram_split("i440fx", 4 * GiB, True, 2560 * MiB)
    assert (split.below_4g, split.above_4g) == (2560 * MiB, 1536 * MiB)
    assert [f.key for f in findings] == ["max-ram-below-4g"]
    assert "not a multiple of 1G" in findings[0].message and findings[0].line is None
    split, findings = layout.ram_split("q35", 8 * GiB, True, 1536 * MiB)
    assert split.below_4g == 1536 * MiB and "poor performance" in findings[0].message
    _, findings = layout.ram_split("i440fx", 1 * GiB, True, 512 * 1024)
    assert "BIOS may not work" in findings[0].message


def test_pci_hole64() -> None:
    assert layout.pci_hole64_size("i440fx", True) == 2 * GiB
    assert layout.pci_hole64_size("q35", True) == 32 * GiB
    assert layout.pci_hole64_size("isapc", False) == 0


def test_max_used_gpa_and_the_phys_bits_check() -> None:
    six = RamSplit(3 * GiB, 3 * GiB)
    # RAM ends at 7G; the 64-bit hole starts at the next GiB and is 2G on i440fx.
    assert layout.max_used_gpa(six, 40, 2 * GiB) == 9 * GiB - 1
    assert layout.check_phys_bits(9 * GiB - 1, 40) is None
    assert layout.check_phys_bits(9 * GiB - 1, 33) == (
        "Address space limit 0x1ffffffff < 0x23fffffff phys-bits too low (33)"
    )
    # 32-bit CPUs have no 64-bit hole: their own limit.
    assert layout.max_used_gpa(six, 32, 2 * GiB) == (1 << 32) - 1


def test_amd_ht_relocation() -> None:
    small = RamSplit(3 * GiB, 1 * GiB)
    assert layout.amd_ht_relocation(small, 40, 2 * GiB) == small
    big = RamSplit(3 * GiB, 1010 * GiB)  # with the hole it would reach 0xfd00000000
    moved = layout.amd_ht_relocation(big, 48, 2 * GiB)
    assert moved.above_4g_start == layout.AMD_ABOVE_1TB_START == 1 << 40


def test_identity_map_and_tss_addresses() -> None:
    assert layout.IDENTITY_BASE_MOVED + layout.TSS_OFFSET == 0xFEFFD000
    # The four pages end where the 16M BIOS window starts.
    assert layout.IDENTITY_BASE_MOVED + layout.IDENTITY_MAP_SIZE == 0xFF000000
    assert layout.IDENTITY_MAP_SIZE == 0x4000


@pytest.mark.parametrize(
    ("model", "accel", "requested", "vendor", "bits"),
    [
        ("qemu64", "tcg", None, "AuthenticAMD", 40),
        ("kvm64", "tcg", None, "GenuineIntel", 40),
        ("qemu64", "kvm", None, "GenuineIntel", 40),  # KVM: the host's vendor
        ("qemu64", "tcg", 39, "AuthenticAMD", 39),
        ("qemu64", "kvm", "host", "GenuineIntel", 46),
        ("host", "kvm", None, "GenuineIntel", 46),  # -cpu host: host-phys-bits by default
        ("486", "tcg", None, "GenuineIntel", 32),
    ],
)
def test_guest_cpu(
    model: str, accel: str, requested: int | str | None, vendor: str, bits: int
) -> None:
    cpu = guest_cpu(model, accel, requested, host_vendor="GenuineIntel", host_phys_bits=46)
    assert (cpu.vendor, cpu.phys_bits) == (vendor, bits)


def test_guest_cpu_refusals() -> None:
    with pytest.raises(QemuExit) as info:
        guest_cpu("host", "tcg", None, "AuthenticAMD", 48)
    assert info.value.key == "cpu" and "requires KVM" in info.value.message
    with pytest.raises(QemuExit) as info:
        guest_cpu("486", "tcg", 36, "AuthenticAMD", 48)
    assert info.value.key == "phys-bits"
