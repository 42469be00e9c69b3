"""The real /dev/kvm: these run where it can be opened (marked kvm), else skip."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.kvm import abi
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmError, RoutingEntry
from kvminit.kvm.profiles import load_profile, profile_host
from kvminit.kvm.real import RealHost

pytestmark = pytest.mark.kvm


def msr_list(get: Callable[[int], list[int]]) -> list[int]:
    """QEMU's exchange: ask with no room, the kernel says how many (E2BIG), ask again."""
    with pytest.raises(KvmError) as info:
        get(0)
    assert info.value.errno == errno.E2BIG and info.value.needed
    listed = get(info.value.needed)
    assert len(listed) == info.value.needed
    return listed


def test_probe_then_replay_answers_as_the_device(tmp_path: Path, no_fd_leak: None) -> None:
    out = tmp_path / "h.toml"
    assert main(["probe", "-o", str(out)]) == 0
    replay = profile_host(load_profile(out))
    real = RealHost()
    rk, pk = real.open(), replay.open()
    rvm, pvm = rk.create_vm(), pk.create_vm()
    try:
        assert rk.api_version() == pk.api_version()
        assert msr_list(rk.msr_index_list) == msr_list(pk.msr_index_list)
        assert msr_list(rk.msr_feature_index_list) == msr_list(pk.msr_feature_index_list)
        for cap in Cap:
            assert pk.check_extension(cap) == rk.check_extension(cap), cap.name
            assert pvm.check_extension(cap) == rvm.check_extension(cap), cap.name
    finally:
        for h in (rvm, pvm, rk, pk):
            h.close()


def test_missing_device_is_enoent(no_fd_leak: None) -> None:
    with pytest.raises(KvmError) as info:
        RealHost("/nonexistent/kvm").open()
    assert info.value.errno == errno.ENOENT
    assert info.value.ioctl == "open"


def test_real_errors_carry_errno_and_name(no_fd_leak: None) -> None:
    kvm = RealHost().open()
    vm = kvm.create_vm()
    try:
        with pytest.raises(KvmError) as info:
            vm.set_nr_mmu_pages(1)
        assert (info.value.ioctl, info.value.errno) == ("KVM_SET_NR_MMU_PAGES", errno.EINVAL)
        with pytest.raises(KvmError) as info:
            kvm.create_vm(77)
        assert info.value.errno == errno.EINVAL
        vm.create_irqchip()
        with pytest.raises(KvmError) as info:
            vm.create_irqchip()
        assert info.value.errno == errno.EEXIST
        # A table larger than fcntl's 1024-byte copy buffer.
        routes = [RoutingEntry.for_irqchip(i, abi.KVM_IRQCHIP_IOAPIC, i) for i in range(24)]
        routes += [RoutingEntry.for_msi(100 + i, 0xFEE00000, 0, i) for i in range(40)]
        vm.set_gsi_routing(routes)
    finally:
        vm.close()
        kvm.close()


def test_unsigned_long_arguments(no_fd_leak: None) -> None:
    kvm = RealHost().open()
    vm = kvm.create_vm()
    try:
        vm.set_identity_map_addr(0xFEFFC000)
        vm.set_tss_addr(0xFEFFD000)  # > INT_MAX: goes through the unsigned long path
    finally:
        vm.close()
        kvm.close()
