"""Fault injection around any host, the real /dev/kvm included.

A profile can carry [[faults]]; this wrapper gives the same power over the real
device: each named request fails with the errno given, always or N times, and
otherwise goes to the device underneath. The fds stay the device's own, so a
test can check that every path closes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .device import Kvm, KvmError, KvmHost, RoutingEntry, VmFd


@dataclass
class Injected:
    ioctl: str
    errno: int
    times: int | None = None  # None: every time


class _Faults:
    def __init__(self, faults: Sequence[Injected]) -> None:
        self._faults = [Injected(f.ioctl, f.errno, f.times) for f in faults]

    def check(self, name: str) -> None:
        for f in self._faults:
            if f.ioctl == name and (f.times is None or f.times > 0):
                if f.times is not None:
                    f.times -= 1
                raise KvmError(name, f.errno)


class FaultyVmFd:
    def __init__(self, vm: VmFd, faults: _Faults) -> None:
        self._vm = vm
        self._f = faults

    @property
    def fd(self) -> int:
        return self._vm.fd

    def _call(self, name: str, op: Callable[[], Any]) -> Any:
        self._f.check(name)
        return op()

    def check_extension(self, cap: int) -> int:
        return int(self._call("KVM_CHECK_EXTENSION", lambda: self._vm.check_extension(cap)))

    def set_tss_addr(self, addr: int) -> None:
        self._call("KVM_SET_TSS_ADDR", lambda: self._vm.set_tss_addr(addr))

    def set_identity_map_addr(self, addr: int) -> None:
        self._call("KVM_SET_IDENTITY_MAP_ADDR", lambda: self._vm.set_identity_map_addr(addr))

    def set_nr_mmu_pages(self, pages: int) -> None:
        self._call("KVM_SET_NR_MMU_PAGES", lambda: self._vm.set_nr_mmu_pages(pages))

    def create_irqchip(self) -> None:
        self._call("KVM_CREATE_IRQCHIP", self._vm.create_irqchip)

    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None:
        self._call("KVM_ENABLE_CAP", lambda: self._vm.enable_cap(cap, args, flags))

    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None:
        self._call("KVM_SET_GSI_ROUTING", lambda: self._vm.set_gsi_routing(entries))

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        self._call(
            "KVM_SET_USER_MEMORY_REGION",
            lambda: self._vm.set_user_memory_region(
                slot, flags, guest_phys_addr, memory_size, userspace_addr
            ),
        )

    def close(self) -> None:
        self._vm.close()


class FaultyKvm:
    def __init__(self, kvm: Kvm, faults: _Faults) -> None:
        self._kvm = kvm
        self._f = faults

    @property
    def fd(self) -> int:
        return self._kvm.fd

    def api_version(self) -> int:
        self._f.check("KVM_GET_API_VERSION")
        return self._kvm.api_version()

    def check_extension(self, cap: int) -> int:
        self._f.check("KVM_CHECK_EXTENSION")
        return self._kvm.check_extension(cap)

    def create_vm(self, vm_type: int = 0) -> VmFd:
        self._f.check("KVM_CREATE_VM")
        return FaultyVmFd(self._kvm.create_vm(vm_type), self._f)

    def msr_index_list(self) -> list[int]:
        self._f.check("KVM_GET_MSR_INDEX_LIST")
        return self._kvm.msr_index_list()

    def close(self) -> None:
        self._kvm.close()


class FaultyHost:
    """`host`, with `faults` injected; each open starts with the counts afresh."""

    def __init__(self, host: KvmHost, faults: Sequence[Injected]) -> None:
        self._host = host
        self._faults = list(faults)
        self.kind: Literal["real", "profile"] = host.kind
        self.name = host.name

    def open(self) -> Kvm:
        faults = _Faults(self._faults)
        faults.check("open")
        return FaultyKvm(self._host.open(), faults)

    def uname_machine(self) -> str:
        return self._host.uname_machine()

    def cpu_vendor(self) -> str:
        return self._host.cpu_vendor()

    def phys_bits(self) -> int:
        return self._host.phys_bits()
