"""The PC memory map per machine type and version, and the fw_cfg blobs.

The AMD HyperTransport hole, the phys-bits check and the 1 TiB relocation are 7.1+
machine-type rules of QEMU 7.2 and later: these tests run under QEMU 7.2 unless they
name a version (2.6's board has none of them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kvminit import engine
from kvminit.config import MachineConfig
from kvminit.engine import InitResult
from kvminit.engine import e820 as blobs
from kvminit.engine.e820 import E820_RAM, E820_RESERVED, E820Entry
from kvminit.engine.layout import AMD_ABOVE_1TB_START, AMD_HT_SIZE, AMD_HT_START, GiB, MiB
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.kvm.device import KvmHost
from kvminit.kvm.profiles import builtin_profile, profile_host

from .conftest import machine, messages

IDMAP = E820Entry(0xFEFFC000, 0x4000, E820_RESERVED)
HT = E820Entry(AMD_HT_START, AMD_HT_SIZE, E820_RESERVED)


def ram(entries: list[E820Entry]) -> list[tuple[int, int]]:
    return [(e.address, e.length) for e in entries if e.type == E820_RAM]


def run(m: MachineConfig, host: KvmHost, qemu: Qemu = QEMU_7_2) -> InitResult:
    return engine.run(m, host, qemu=qemu)


def layout(host: KvmHost, qemu: Qemu = QEMU_7_2, /, **keys: Any) -> list[E820Entry]:
    r = run(machine(**keys), host, qemu)
    assert r.error is None, r.error
    return list(r.e820)


@pytest.fixture
def intel() -> KvmHost:
    return profile_host(builtin_profile("intel-xeon-linux-6.18"))


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_done_when_pc_1g_on_amd(amd: KvmHost, qemu: Qemu) -> None:
    assert layout(amd, qemu, type="pc", memory="1G") == [IDMAP, HT, E820Entry(0, GiB, E820_RAM)]


def test_done_when_pc_6g(amd: KvmHost) -> None:
    assert layout(amd, type="pc", memory="6G") == [
        IDMAP,
        HT,
        E820Entry(0, 3 * GiB, E820_RAM),
        E820Entry(4 * GiB, 3 * GiB, E820_RAM),
    ]


def test_done_when_q35_6g(amd: KvmHost) -> None:
    assert ram(layout(amd, type="q35", memory="6G")) == [(0, 2 * GiB), (4 * GiB, 4 * GiB)]


def test_done_when_seed_era_has_no_ht_hole(amd: KvmHost) -> None:
    # A type older than 7.1 on QEMU 7.2, and QEMU 2.6 itself (no such rule at all).
    assert layout(amd, type="pc-i440fx-2.6", memory="1G") == [IDMAP, E820Entry(0, GiB, E820_RAM)]
    assert layout(amd, QEMU_2_6, type="pc", memory="6G") == [
        IDMAP,
        E820Entry(0, 3 * GiB, E820_RAM),
        E820Entry(4 * GiB, 3 * GiB, E820_RAM),
    ]


def test_done_when_tcg_kvm64_is_ram_only(amd: KvmHost) -> None:
    assert layout(amd, memory="1G", accel=["tcg"], cpu="kvm64") == [E820Entry(0, GiB, E820_RAM)]


@pytest.mark.parametrize(
    ("qemu", "type_", "memory", "low"),
    [
        # i440fx with gigabyte_align: all low below 0xe0000000, else 3 GiB.
        (QEMU_7_2, "pc", 0xE0000000 - 8192, 0xE0000000 - 8192),
        (QEMU_7_2, "pc", 0xE0000000, 0xC0000000),
        (QEMU_7_2, "pc-i440fx-2.0", 0xE0000000, 0xC0000000),
        # pc-i440fx-1.7 and older split at 0xe0000000.
        (QEMU_7_2, "pc-i440fx-1.7", 0xE0000000 - 8192, 0xE0000000 - 8192),
        (QEMU_7_2, "pc-i440fx-1.7", 0xE0000000, 0xE0000000),
        (QEMU_7_2, "pc-i440fx-1.4", 4 * GiB, 0xE0000000),
        # q35: all low below 0xb0000000, else 2 GiB.
        (QEMU_7_2, "q35", 0xB0000000 - 8192, 0xB0000000 - 8192),
        (QEMU_7_2, "q35", 0xB0000000, 0x80000000),
        (QEMU_7_2, "pc-q35-2.4", 0xB0000000, 0x80000000),
        # isapc is not gigabyte-aligned: the old 3.5G split.
        (QEMU_7_2, "isapc", 0xE0000000, 0xE0000000),
        (QEMU_7_2, "isapc", 4 * GiB, 0xE0000000),
        # 10.0: every i440fx type it has (2.4 on) is gigabyte-aligned.
        (QEMU_10_0, "pc", 0xE0000000, 0xC0000000),
        (QEMU_10_0, "pc-i440fx-2.4", 0xE0000000, 0xC0000000),
        (QEMU_10_0, "q35", 0xB0000000, 0x80000000),
        (QEMU_10_0, "isapc", 0xE0000000, 0xE0000000),
        # 2.6, without max-ram-below-4g, splits the same way.
        (QEMU_2_6, "pc", 0xE0000000, 0xC0000000),
        (QEMU_2_6, "pc-i440fx-1.7", 0xE0000000, 0xE0000000),
        (QEMU_2_6, "pc-1.0", 4 * GiB, 0xE0000000),
        (QEMU_2_6, "q35", 0xB0000000, 0x80000000),
        (QEMU_2_6, "isapc", 0xE0000000, 0xE0000000),
    ],
)
def test_split_thresholds(intel: KvmHost, qemu: Qemu, type_: str, memory: int, low: int) -> None:
    entries = ram(layout(intel, qemu, type=type_, memory=f"{memory}B"))
    assert entries[0] == (0, low)
    assert entries[1:] == ([(4 * GiB, memory - low)] if memory > low else [])


def test_max_ram_below_4g_i440fx(intel: KvmHost) -> None:
    assert ram(layout(intel, memory="4G", max_ram_below_4g="2G")) == [
        (0, 2 * GiB),
        (4 * GiB, 2 * GiB),
    ]
    # Raising it keeps more RAM low, but a large machine still caps at 3 GiB.
    # QEMU's own example: "-M pc,max-ram-below-4g=4G -m 3968M -> 3968M low (=4G-128M)".
    assert ram(layout(intel, memory="3968M", max_ram_below_4g="4G")) == [(0, 3968 * MiB)]
    # At or above the limit a gigabyte_align machine still caps low RAM at 3 GiB.
    assert ram(layout(intel, memory="4G", max_ram_below_4g="4G")) == [(0, 3 * GiB), (4 * GiB, GiB)]
    # pc-i440fx-1.7 is not gigabyte-aligned: RAM up to the limit stays low (4075M: the most
    # that does not reach the IOAPIC's 32-bit hole).
    assert ram(layout(intel, type="pc-i440fx-1.7", memory="6G", max_ram_below_4g="4075M")) == [
        (0, 4075 * MiB),
        (4 * GiB, 6 * GiB - 4075 * MiB),
    ]


def test_max_ram_below_4g_only_lowers_the_split_in_2_6(intel: KvmHost) -> None:
    # The raise-to-4G feature came later: 2.6 keeps its 3G split (layout-rules.md §2.4).
    assert ram(layout(intel, QEMU_2_6, memory="3968M", max_ram_below_4g="4G")) == [
        (0, 3 * GiB),
        (4 * GiB, 896 * MiB),
    ]
    assert ram(layout(intel, QEMU_2_6, memory="4G", max_ram_below_4g="2G")) == [
        (0, 2 * GiB),
        (4 * GiB, 2 * GiB),
    ]


def test_large_machine_warning(intel: KvmHost) -> None:
    r = run(machine(memory="4G", max_ram_below_4g="2560M"), intel)
    assert messages(r) == [
        "warning: Large machine and max_ram_below_4g (2684354560) not a "
        "multiple of 1G; possible bad performance."
    ]
    # Not gigabyte-aligned: no warning, only 7.2's deprecation of the type.
    old = run(machine(type="pc-i440fx-1.7", memory="4G", max_ram_below_4g="2560M"), intel)
    assert messages(old) == [
        "warning: Machine type 'pc-i440fx-1.7' is deprecated: old and unattended - use a newer "
        "version instead"
    ]


def test_large_machine_warning_2_6(intel: KvmHost) -> None:
    # 2.6 error_report()s its own "Warning:" when the RAM above exceeds the RAM below.
    r = run(machine(memory="8G", max_ram_below_4g="2560M"), intel, QEMU_2_6)
    assert messages(r) == [
        "Warning: Large machine and max_ram_below_4g(2684354560) not a multiple of 1G; "
        "possible bad performance."
    ]
    assert messages(run(machine(memory="4G", max_ram_below_4g="2560M"), intel, QEMU_2_6)) == []


def test_q35_max_ram_below_4g(intel: KvmHost) -> None:
    assert ram(layout(intel, type="q35", memory="2G", max_ram_below_4g="1G")) == [
        (0, GiB),
        (4 * GiB, GiB),
    ]
    r = run(machine(type="q35", memory="4G", max_ram_below_4g="1536M"), intel)
    assert messages(r) == [
        "warning: There is possibly poor performance as the ram size  (0x100000000) is more "
        "then twice the size of max-ram-below-4g (1610612736) and max-ram-below-4g is not a "
        "multiple of 1G."
    ]


def test_tiny_max_ram_below_4g_warns(intel: KvmHost) -> None:
    r = run(machine(memory="2M", max_ram_below_4g="512K"), intel)
    assert messages(r) == [
        "warning: Only 524288 bytes of RAM below the 4GiB boundary,"
        "BIOS may not work with less than 1MiB",
        "warning: Large machine and max_ram_below_4g (524288) not a multiple of 1G; "
        "possible bad performance.",
    ]


def test_memory_rounds_to_8k(intel: KvmHost) -> None:
    assert ram(layout(intel, memory="1K")) == [(0, 0x2000)]


# --- the AMD HyperTransport hole -----------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "has_ht"),
    [
        ({"type": "pc"}, True),
        ({"type": "pc-i440fx-7.1"}, True),
        ({"type": "pc-i440fx-7.0"}, False),
        ({"type": "pc-q35-7.1"}, True),
        ({"type": "pc", "phys_bits": 39}, False),
        ({"type": "pc", "phys_bits": 40}, True),
    ],
)
def test_ht_hole_conditions_on_amd(amd: KvmHost, keys: dict[str, object], has_ht: bool) -> None:
    assert (HT in layout(amd, **keys)) is has_ht


def test_no_ht_hole_for_intel_vcpus(intel: KvmHost, amd: KvmHost) -> None:
    assert HT not in layout(intel)
    assert HT not in layout(amd, accel=["tcg"], cpu="kvm64")
    assert HT in layout(intel, accel=["tcg"], cpu="qemu64")  # qemu64 is AMD under TCG


def test_relocation_above_1tib(amd: KvmHost) -> None:
    # max used = roundup(4G + RAM - 3G, 1G) + 2 GiB hole - 1; HT starts at 1012 GiB.
    last_fit = 1009 * GiB
    entries = layout(amd, memory=f"{last_fit}B", phys_bits=48)
    assert ram(entries)[1] == (4 * GiB, last_fit - 3 * GiB)
    entries = layout(amd, memory=f"{last_fit + 8192}B", phys_bits=48)
    assert ram(entries)[1] == (AMD_ABOVE_1TB_START, last_fit + 8192 - 3 * GiB)
    assert entries.index(HT) < entries.index(E820Entry(0, 3 * GiB, E820_RAM))


def test_phys_bits_too_low(amd: KvmHost, intel: KvmHost) -> None:
    r = run(machine(memory="1T"), intel)
    assert r.error is not None
    # 1 TiB - 3 GiB above 4 GiB ends at 1 TiB + 1 GiB; the 2 GiB hole follows.
    assert r.error.message == (
        "Address space limit 0xffffffffff < 0x100bfffffff phys-bits too low (40)"
    )
    assert r.error.key == "memory"
    # The AMD relocation to 1 TiB needs more than 40 bits.
    r = run(machine(memory="1010G", phys_bits=40), amd)
    assert r.error is not None and "phys-bits too low (40)" in r.error.message
    assert r.error.key == "phys-bits"
    assert run(machine(memory="1010G", phys_bits="host"), amd).ok  # 48 bits


def test_isapc_486_has_32_phys_bits(amd: KvmHost) -> None:
    r = run(machine(type="isapc", memory="1G"), amd)
    assert r.ok and r.cpu is not None and r.cpu.phys_bits == 32 and HT not in r.e820
    r = run(machine(type="isapc", phys_bits=40), amd)
    assert r.error is not None and r.error.message == "phys-bits is not user-configurable in 32 bit"


def test_cpu_host_needs_kvm(amd: KvmHost) -> None:
    r = run(machine(cpu="host", accel=["tcg"]), amd)
    assert r.error is not None and r.error.message == "CPU model 'host' requires KVM or HVF"
    r = run(machine(cpu="host"), amd)
    assert r.ok and r.cpu is not None and r.cpu.phys_bits == 48


# --- blobs ------------------------------------------------------------------------------


def test_etc_e820_blob(amd: KvmHost) -> None:
    r = run(machine(memory="1G"), amd)
    blob = blobs.encode_etc_e820(r.e820)
    assert len(blob) == 60
    assert blob[:20] == bytes.fromhex("00c0fffe00000000004000000000000002000000")
    assert blobs.decode(blob) == ("etc/e820", list(r.e820))


def test_legacy_blob_holds_reservations_only(amd: KvmHost) -> None:
    # FW_CFG_E820_TABLE exists only under QEMU 2.6, for every type of it.
    r = run(machine(type="pc", memory="6G"), amd, QEMU_2_6)
    assert len(r.e820) == 3 and r.e820_legacy == (IDMAP,)
    blob = blobs.encode_legacy(r.e820_legacy)
    assert len(blob) == 324 and blob[:4] == b"\x01\x00\x00\x00" and blob[24:] == bytes(300)
    assert blobs.decode(blob) == ("legacy", [IDMAP])
    two = blobs.encode_legacy([IDMAP, HT])
    assert len(two) == 324 and two[:4] == b"\x02\x00\x00\x00" and two[44:] == bytes(280)
    assert blobs.decode(two) == ("legacy", [IDMAP, HT])


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
@pytest.mark.parametrize("type_", ["pc", "pc-i440fx-7.1", "pc-i440fx-2.4", "q35", "isapc"])
def test_no_legacy_item_from_7_2(amd: KvmHost, qemu: Qemu, type_: str) -> None:
    # 7.2 removed it for every machine type, whatever the type's version.
    r = run(machine(type=type_), amd, qemu)
    assert r.ok and r.e820_legacy is None


@pytest.mark.parametrize("size", [1, 19, 21, 323])
def test_decode_refuses_other_sizes(size: int) -> None:
    with pytest.raises(blobs.BlobError, match="neither"):
        blobs.decode(bytes(size))


def test_decode_refuses_a_bad_legacy_count() -> None:
    with pytest.raises(blobs.BlobError, match="claims 17"):
        blobs.decode(b"\x11\x00\x00\x00" + bytes(320))


Entries = Callable[[], list[E820Entry]]


def test_round_trip_many_entries() -> None:
    entries = [E820Entry(i << 32, (i + 1) << 12, 1 + i % 5) for i in range(40)]
    assert blobs.decode(blobs.encode_etc_e820(entries)) == ("etc/e820", entries)
