"""The layout rules as pure functions: plain values in, no host, no run (as Firecracker's
arch_memory_regions tests)."""

from __future__ import annotations

import pytest

from kvminit.engine import layout
from kvminit.engine.cpu import guest_cpu
from kvminit.engine.errors import QemuExit
from kvminit.engine.layout import GiB, MiB, RamSplit
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu

DEFAULT_SPLITS = [
    ("i440fx", 1 * GiB, True, 1 * GiB, 0),
    ("i440fx", 3584 * MiB - 1, True, 3584 * MiB - 1, 0),  # just below 0xe0000000
    ("i440fx", 3584 * MiB, True, 3 * GiB, 512 * MiB),  # gigabyte_align splits at 3G
    ("i440fx", 3584 * MiB, False, 3584 * MiB, 0),  # before 2.0: the 3.5G split
    ("i440fx", 4 * GiB, False, 3584 * MiB, 512 * MiB),
    ("q35", 2815 * MiB, True, 2815 * MiB, 0),
    ("q35", 2816 * MiB, True, 2 * GiB, 768 * MiB),  # at 0xb0000000 the split is 2G
    ("q35", 6 * GiB, True, 2 * GiB, 4 * GiB),
    ("isapc", 64 * MiB, True, 64 * MiB, 0),
]


# Without max-ram-below-4g every version splits the same way (layout-rules.md §2).
@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0])
@pytest.mark.parametrize(("family", "ram", "align", "below", "above"), DEFAULT_SPLITS)
def test_ram_split(
    qemu: Qemu, family: layout.Family, ram: int, align: bool, below: int, above: int
) -> None:
    split, findings = layout.ram_split(qemu, family, ram, align, None)
    assert (split.below_4g, split.above_4g, split.above_4g_start) == (below, above, 4 * GiB)
    assert findings == []


LARGE = (
    "warning: Large machine and max_ram_below_4g (2684354560) not a multiple of 1G; "
    "possible bad performance."
)
LARGE_2_6 = (
    "Warning: Large machine and max_ram_below_4g(2684354560) not a multiple of 1G; "
    "possible bad performance."
)


def q35_poor(ram: int, limit: int) -> str:
    return (
        f"warning: There is possibly poor performance as the ram size  (0x{ram:x}) is more then "
        f"twice the size of max-ram-below-4g ({limit}) and max-ram-below-4g is not a multiple "
        "of 1G."
    )


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_ram_split_max_ram_below_4g_and_its_warnings(qemu: Qemu) -> None:
    split, findings = layout.ram_split(qemu, "i440fx", 4 * GiB, True, 2560 * MiB)
    assert (split.below_4g, split.above_4g) == (2560 * MiB, 1536 * MiB)
    assert [(f.message, f.key, f.line) for f in findings] == [(LARGE, "max-ram-below-4g", None)]
    # The i440fx warning compares RAM with the limit, not a difference: 2G < 2.5G is quiet.
    split, findings = layout.ram_split(qemu, "i440fx", 2 * GiB, True, 2560 * MiB)
    assert (split.below_4g, split.above_4g, findings) == (2 * GiB, 0, [])
    # 7.2 may raise the split up to 4G.
    split, findings = layout.ram_split(qemu, "i440fx", 3968 * MiB, True, 4 * GiB)
    assert (split.below_4g, split.above_4g, findings) == (3968 * MiB, 0, [])
    split, findings = layout.ram_split(qemu, "q35", 8 * GiB, True, 1536 * MiB)
    assert split.below_4g == 1536 * MiB
    assert [f.message for f in findings] == [q35_poor(8 * GiB, 1536 * MiB)]
    # q35's `ram - lowmem` is unsigned: with RAM below the limit it wraps, and QEMU warns.
    split, findings = layout.ram_split(qemu, "q35", 1 * GiB, True, 1536 * MiB)
    assert (split.below_4g, split.above_4g) == (1 * GiB, 0)
    assert [f.message for f in findings] == [q35_poor(1 * GiB, 1536 * MiB)]
    split, findings = layout.ram_split(qemu, "q35", 3 * GiB, True, 1536 * MiB)
    assert (split.below_4g, split.above_4g, findings) == (1536 * MiB, 1536 * MiB, [])
    split, findings = layout.ram_split(qemu, "i440fx", 1 * GiB, True, 512 * 1024)
    assert (split.below_4g, split.above_4g) == (512 * 1024, 1 * GiB - 512 * 1024)
    assert [f.message for f in findings] == [LARGE.replace("2684354560", "524288")]


def test_ram_split_2_6_only_lowers_and_wraps() -> None:
    # 2.6 (layout-rules.md §2.4): the property only lowers the split, and its i440fx
    # warning is q35's unsigned test, in 2.6's words.
    split, findings = layout.ram_split(QEMU_2_6, "i440fx", 3968 * MiB, True, 4 * GiB)
    assert (split.below_4g, split.above_4g, findings) == (3 * GiB, 896 * MiB, [])
    split, findings = layout.ram_split(QEMU_2_6, "i440fx", 4 * GiB, True, 2560 * MiB)
    assert (split.below_4g, split.above_4g) == (2560 * MiB, 1536 * MiB)
    assert findings == []  # 4G - 2.5G is not more than 2.5G
    split, findings = layout.ram_split(QEMU_2_6, "i440fx", 8 * GiB, True, 2560 * MiB)
    assert [(f.message, f.key) for f in findings] == [(LARGE_2_6, "max-ram-below-4g")]
    split, findings = layout.ram_split(QEMU_2_6, "i440fx", 2 * GiB, True, 2560 * MiB)
    assert (split.below_4g, split.above_4g) == (2 * GiB, 0)
    assert [f.message for f in findings] == [LARGE_2_6]  # 2G - 2.5G wraps
    split, _ = layout.ram_split(QEMU_2_6, "i440fx", 4 * GiB, False, 4 * GiB)
    assert (split.below_4g, split.above_4g) == (3584 * MiB, 512 * MiB)
    # 0 is a real value in 2.6: no RAM below 4G at all.
    split, _ = layout.ram_split(QEMU_2_6, "i440fx", 1 * GiB, True, 0)
    assert (split.below_4g, split.above_4g) == (0, 1 * GiB)


@pytest.mark.parametrize(
    ("qemu", "text"),
    [
        (QEMU_2_6, "Warning: small max_ram_below_4g(524288) less than 1M.  BIOS may not work.."),
        (
            QEMU_7_2,
            "warning: Only 524288 bytes of RAM below the 4GiB boundary,"
            "BIOS may not work with less than 1MiB",
        ),
        (
            QEMU_10_0,
            "warning: Only 524288 bytes of RAM below the 4GiB boundary,"
            "BIOS may not work with less than 1MiB",
        ),
    ],
)
def test_max_ram_below_4g_under_1m_warns(qemu: Qemu, text: str) -> None:
    finding = layout.max_ram_below_4g_warning(qemu, 512 * 1024)
    assert finding is not None and (finding.message, finding.key) == (text, "max-ram-below-4g")
    assert layout.max_ram_below_4g_warning(qemu, 1 * MiB) is None
    assert layout.max_ram_below_4g_warning(qemu, None) is None


def test_pci_hole64() -> None:
    assert layout.pci_hole64_size("i440fx", True) == 2 * GiB
    assert layout.pci_hole64_size("q35", True) == 32 * GiB
    assert layout.pci_hole64_size("isapc", False) == 0


def test_max_used_gpa_and_the_phys_bits_check() -> None:
    six = RamSplit(3 * GiB, 3 * GiB)
    # RAM ends at 7G; the 64-bit hole starts at the next GiB and is 2G on i440fx.
    for q in (QEMU_7_2, QEMU_10_0):
        assert layout.max_used_gpa(q, six, True, 40, 2 * GiB) == 9 * GiB - 1
    assert layout.check_phys_bits(9 * GiB - 1, 40) is None
    assert layout.check_phys_bits(9 * GiB - 1, 33) == (
        "Address space limit 0x1ffffffff < 0x23fffffff phys-bits too low (33)"
    )
    # 7.2: 32 bits or fewer have no 64-bit hole, whatever LM says: their own limit.
    assert layout.max_used_gpa(QEMU_7_2, six, True, 32, 2 * GiB) == (1 << 32) - 1
    assert layout.max_used_gpa(QEMU_7_2, six, False, 32, 2 * GiB) == (1 << 32) - 1
    # 10.0: an LM CPU always has the hole; a 32-bit one keeps the old value on types
    # up to 8.1 and otherwise ends with its RAM.
    assert layout.max_used_gpa(QEMU_10_0, six, True, 32, 2 * GiB) == 9 * GiB - 1
    assert layout.max_used_gpa(QEMU_10_0, six, False, 36, 2 * GiB) == (1 << 36) - 1
    assert (
        layout.max_used_gpa(QEMU_10_0, six, False, 32, 2 * GiB, broken_32bit_mem_addr_check=False)
        == 7 * GiB - 1
    )
    assert layout.check_phys_bits(7 * GiB - 1, 32) == (
        "Address space limit 0xffffffff < 0x1bfffffff phys-bits too low (32)"
    )


def test_amd_ht_relocation() -> None:
    def decide(ram_above: int) -> RamSplit:
        split = RamSplit(3 * GiB, ram_above)
        return layout.amd_ht_relocation(
            split, layout.max_used_gpa(QEMU_7_2, split, True, 48, 2 * GiB)
        )

    small = RamSplit(3 * GiB, 1 * GiB)
    assert decide(1 * GiB) == small
    # i440fx relocates from 1010G of RAM: with the 2G hole it would reach 0xfd00000000.
    assert decide(1009 * GiB - 3 * GiB).above_4g_start == 4 * GiB
    moved = decide(1010 * GiB - 3 * GiB)
    assert moved.above_4g_start == layout.AMD_ABOVE_1TB_START == 1 << 40
    assert (moved.below_4g, moved.above_4g) == (3 * GiB, 1007 * GiB)


def test_identity_map_and_tss_addresses() -> None:
    assert layout.IDENTITY_BASE_MOVED + layout.TSS_OFFSET == 0xFEFFD000
    # The four pages end where the 16M BIOS window starts.
    assert layout.IDENTITY_BASE_MOVED + layout.IDENTITY_MAP_SIZE == 0xFF000000
    assert layout.IDENTITY_MAP_SIZE == 0x4000


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
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
    qemu: Qemu, model: str, accel: str, requested: int | str | None, vendor: str, bits: int
) -> None:
    cpu, findings = guest_cpu(qemu, model, accel, None, requested, "GenuineIntel", 46)
    assert (cpu.vendor, cpu.phys_bits) == (vendor, bits)
    assert findings == []


@pytest.mark.parametrize(
    ("model", "accel", "vendor", "bits", "lm"),
    [
        ("qemu64", "tcg", "AuthenticAMD", 40, True),
        ("kvm64", "tcg", "GenuineIntel", 40, True),
        ("qemu64", "kvm", "GenuineIntel", 40, True),  # KVM: the host's vendor
        ("host", "kvm", "GenuineIntel", 40, True),  # no host-phys-bits in 2.6
        ("486", "tcg", "GenuineIntel", 32, False),
    ],
)
def test_guest_cpu_2_6(model: str, accel: str, vendor: str, bits: int, lm: bool) -> None:
    cpu, findings = guest_cpu(QEMU_2_6, model, accel, None, None, "GenuineIntel", 46)
    assert (cpu.vendor, cpu.phys_bits, cpu.lm, findings) == (vendor, bits, lm, [])


def test_guest_cpu_warns_when_phys_bits_differ_from_the_host() -> None:
    cpu, findings = guest_cpu(QEMU_10_0, "qemu64", "kvm", None, 39, "AuthenticAMD", 48)
    assert cpu.phys_bits == 39
    assert [(f.message, f.key) for f in findings] == [
        ("warning: Host physical bits (48) does not match phys-bits property (39)", "phys-bits")
    ]


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_guest_cpu_refusals(qemu: Qemu) -> None:
    with pytest.raises(QemuExit) as info:
        guest_cpu(qemu, "host", "tcg", None, None, "AuthenticAMD", 48)
    assert info.value.key == "cpu"
    assert info.value.message == "CPU model 'host' requires KVM or HVF"
    with pytest.raises(QemuExit) as info:
        guest_cpu(qemu, "486", "tcg", None, 36, "AuthenticAMD", 48)
    assert info.value.key == "phys-bits"
    assert info.value.message == "phys-bits is not user-configurable in 32 bit"
    with pytest.raises(QemuExit) as info:
        guest_cpu(qemu, "qemu64", "tcg", None, 60, "AuthenticAMD", 48)
    assert info.value.key == "phys-bits"
    assert info.value.message == "phys-bits should be between 32 and 52  (but is 60)"
    with pytest.raises(QemuExit) as info:
        guest_cpu(qemu, "pentium9", "tcg", None, None, "AuthenticAMD", 48)
    assert info.value.key == "cpu"
    assert info.value.message == "unable to find CPU model 'pentium9'"


def test_guest_cpu_refusals_2_6() -> None:
    with pytest.raises(QemuExit) as info:
        guest_cpu(QEMU_2_6, "host", "tcg", None, None, "AuthenticAMD", 48)
    assert (info.value.key, info.value.message) == ("cpu", "CPU model 'host' requires KVM")
    with pytest.raises(QemuExit) as info:
        guest_cpu(QEMU_2_6, "pentium9", "tcg", None, None, "AuthenticAMD", 48)
    assert info.value.message == "Unable to find CPU definition: pentium9"
