"""Host profiles: the model, the files, and the device's kernel semantics."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from kvminit.kvm import abi
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmHost, RoutingEntry
from kvminit.kvm.errors import KvmError, ProfileError
from kvminit.kvm.profiles import (
    DEFAULT_PROFILE,
    builtin_names,
    builtin_profile,
    dump_toml,
    load_profile,
    parse_profile,
)

from .conftest import open_fds


def test_builtin_profiles() -> None:
    names = builtin_names()
    assert DEFAULT_PROFILE in names
    assert {"intel-xeon-linux-6.18", "old-kernel", "no-irq-routing"} <= set(names)
    for name in names:
        p = builtin_profile(name)
        assert p.name == name
        if p.source == "synthetic":
            assert p.description.startswith("Synthetic:")
            assert p.recorded is None
        else:
            assert p.recorded is not None


def test_recorded_profile_matches_the_shared_recording() -> None:
    import json

    shared = Path(__file__).parents[2] / "shared/hosts/amd-epyc-linux-6.18-pvm.json"
    if not shared.exists():
        pytest.skip("shared/hosts is not beside this checkout")
    rec = json.loads(shared.read_text())
    p = builtin_profile(DEFAULT_PROFILE)
    system, vm = p.answers()
    assert p.msr_indices == [int(x, 16) for x in rec["msr_indices"]]
    for key, value in rec["system_fd_caps"].items():
        number = int(key.split()[1]) if key.startswith("cap ") else Cap[key]
        if number in Cap._value2member_map_:
            assert system.get(number, 0) == value, key
    assert vm[Cap.KVM_CAP_X2APIC_API] == 11


def test_profile_round_trips_through_toml() -> None:
    p = builtin_profile(DEFAULT_PROFILE)
    assert parse_profile(dump_toml(p)) == p


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t.replace("KVM_CAP_HLT", "KVM_CAP_HALT"), "unknown capability 'KVM_CAP_HALT'"),
        (lambda t: "foo = 1\n" + t, "foo: unknown key"),
        (lambda t: t.replace("format = 1", "format = 2"), "format"),
        (lambda t: t.replace('source = "recorded"', 'source = "guessed"'), "source"),
        (lambda t: t + '\n[[faults]]\nioctl = "KVM_RUN"\nerrno = "EINTR"\n', "unknown request"),
        (lambda t: t + '\n[[faults]]\nioctl = "KVM_CREATE_VM"\nerrno = "EWHAT"\n', "unknown errno"),
        (lambda t: t.replace("phys-bits = 48", "phys-bits = 64"), "phys-bits"),
        (lambda t: t.replace("api-version = 12", "api-version = [12"), "TOML syntax error"),
    ],
)
def test_bad_profiles(edit: Callable[[str], str], fragment: str) -> None:
    text = edit(dump_toml(builtin_profile(DEFAULT_PROFILE)))
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "bad.toml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("bad.toml")


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "none.toml")


def test_unknown_builtin() -> None:
    with pytest.raises(ProfileError, match="built-in: "):
        builtin_profile("nonesuch")


# --- the device --------------------------------------------------------------------


def test_unknown_caps_answer_zero(amd: KvmHost) -> None:
    kvm = amd.open()
    try:
        assert kvm.check_extension(Cap.KVM_CAP_S390_IRQCHIP) == 0
        assert kvm.check_extension(999) == 0
        assert kvm.check_extension(Cap.KVM_CAP_NR_VCPUS) == 2
        vm = kvm.create_vm()
        assert vm.check_extension(Cap.KVM_CAP_X2APIC_API) == 11
        assert kvm.check_extension(Cap.KVM_CAP_X2APIC_API) == 15
        vm.close()
    finally:
        kvm.close()


def test_fds_are_handed_out_like_the_kernels(amd: KvmHost, no_fd_leak: None) -> None:
    kvm = amd.open()
    vm1 = kvm.create_vm()
    vm2 = kvm.create_vm()
    assert kvm.fd < vm1.fd < vm2.fd
    vm1.close()
    vm3 = kvm.create_vm()
    assert vm3.fd < vm2.fd  # the lowest free number comes back
    for h in (vm2, vm3, kvm):
        h.close()
    kvm.close()  # closing twice is harmless


def errno_of(call: Callable[[], object]) -> int:
    with pytest.raises(KvmError) as info:
        call()
    return info.value.errno


def test_kernel_semantics(amd: KvmHost, no_fd_leak: None) -> None:
    kvm = amd.open()
    vm = kvm.create_vm()
    try:
        assert errno_of(lambda: kvm.create_vm(3)) == errno.EINVAL
        assert errno_of(lambda: vm.set_nr_mmu_pages(63)) == errno.EINVAL
        vm.set_nr_mmu_pages(64)
        assert errno_of(lambda: vm.set_gsi_routing([])) == errno.EINVAL  # no irqchip yet
        vm.create_irqchip()
        assert errno_of(vm.create_irqchip) == errno.EEXIST
        assert errno_of(lambda: vm.enable_cap(Cap.KVM_CAP_SPLIT_IRQCHIP, [24])) == errno.EEXIST
        vm.set_gsi_routing([RoutingEntry.for_irqchip(0, abi.KVM_IRQCHIP_IOAPIC, 2)])
        too_many = [RoutingEntry.for_msi(i, 0, 0, 0) for i in range(4097)]
        assert errno_of(lambda: vm.set_gsi_routing(too_many)) == errno.EINVAL
        bad_pin = [RoutingEntry.for_irqchip(0, abi.KVM_IRQCHIP_PIC_MASTER, 8)]
        assert errno_of(lambda: vm.set_gsi_routing(bad_pin)) == errno.EINVAL
        assert errno_of(lambda: vm.enable_cap(Cap.KVM_CAP_S390_IRQCHIP)) == errno.EINVAL
    finally:
        vm.close()
        kvm.close()


def test_split_irqchip_refuses_irqchip_routes(amd: KvmHost) -> None:
    kvm = amd.open()
    vm = kvm.create_vm()
    vm.enable_cap(Cap.KVM_CAP_SPLIT_IRQCHIP, [24])
    assert errno_of(vm.create_irqchip) == errno.EEXIST
    pic = [RoutingEntry.for_irqchip(0, abi.KVM_IRQCHIP_PIC_MASTER, 0)]
    assert errno_of(lambda: vm.set_gsi_routing(pic)) == errno.EINVAL
    vm.set_gsi_routing([RoutingEntry.for_msi(0, 0, 0, 0)])
    vm.close()
    kvm.close()


def test_faults_fire_then_stop(make_profile: Callable[..., KvmHost]) -> None:
    host = make_profile(faults=[{"ioctl": "KVM_CREATE_VM", "errno": "EINTR", "times": 2}])
    kvm = host.open()
    assert errno_of(kvm.create_vm) == errno.EINTR
    assert errno_of(kvm.create_vm) == errno.EINTR
    kvm.create_vm().close()
    kvm.close()
    # Each open starts afresh.
    kvm = host.open()
    assert errno_of(kvm.create_vm) == errno.EINTR
    kvm.close()


def test_a_fault_on_open(make_profile: Callable[..., KvmHost], no_fd_leak: None) -> None:
    host = make_profile(faults=[{"ioctl": "open", "errno": "EACCES"}])
    assert errno_of(host.open) == errno.EACCES


def test_open_fds_helper_sees_a_leak(amd: KvmHost) -> None:
    before = open_fds()
    kvm = amd.open()
    assert open_fds() - before == {str(kvm.fd)}
    kvm.close()


def test_an_unreadable_builtin_folder_is_a_profile_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import resources

    from kvminit.kvm import profiles

    def denied(package: str) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", package)

    profiles._builtin_names.cache_clear()
    monkeypatch.setattr(resources, "files", denied)
    try:
        with pytest.raises(ProfileError, match="cannot list the built-in profiles: Permission"):
            profiles.builtin_names()
    finally:
        monkeypatch.undo()
        profiles._builtin_names.cache_clear()
    assert "amd-epyc-linux-6.18" in profiles.builtin_names()
