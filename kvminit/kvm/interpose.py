"""A host seen through a hook: every request passes `before` and `after` it.

One mechanism serves two jobs. `Faults` fails named requests with an errno,
always or N times (a profile's [[faults]], or tests on the real device);
`CallLog` records each request with its fd kind, argument and result, the
kvminit side of a comparison with `strace` of QEMU. The fds stay the wrapped
host's own, so a test can check that every path closes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeVar

from . import abi
from .device import HostKind, Kvm, KvmHost, MsrFilterRange, RoutingEntry, VcpuFd, VmFd
from .errors import KvmError

FdKind = Literal["system", "vm", "vcpu", "device"]
T = TypeVar("T")


class Hook(Protocol):
    def before(self, fd: FdKind, request: str, arg: object) -> None: ...
    def after(self, fd: FdKind, request: str, arg: object, result: object) -> None: ...


@dataclass
class Injected:
    """Fail `ioctl` with `errno`, `times` times (None: every time)."""

    ioctl: str
    errno: int
    times: int | None = None


class Faults:
    """The faults of one open: counts start afresh with each open of the host."""

    def __init__(self, faults: Sequence[Injected]) -> None:
        # By request, in the given order: a request looks only at its own faults, so
        # the cost of a call does not grow with the length of the list.
        self._left: dict[str, list[Injected]] = {}
        for f in faults:
            self._left.setdefault(f.ioctl, []).append(Injected(f.ioctl, f.errno, f.times))

    def before(self, fd: FdKind, request: str, arg: object) -> None:
        for f in self._left.get(request, ()):
            if f.times is None:
                raise KvmError(request, f.errno)
            if f.times > 0:
                f.times -= 1
                raise KvmError(request, f.errno)

    def after(self, fd: FdKind, request: str, arg: object, result: object) -> None:
        pass


class Call(NamedTuple):
    fd: FdKind
    request: str
    arg: object
    result: object  # the return value, or -errno

    def __str__(self) -> str:
        return f"{self.fd} {self.request} {self.arg} = {self.result}"


class CallLog:
    """Every request that reached the host, in order."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def before(self, fd: FdKind, request: str, arg: object) -> None:
        pass

    def after(self, fd: FdKind, request: str, arg: object, result: object) -> None:
        if isinstance(result, KvmError):
            result = -result.errno
        elif not isinstance(result, int):
            result = 0
        self.calls.append(Call(fd, request, arg, result))


class _Hooked:
    KIND: FdKind

    def __init__(self, hook: Hook) -> None:
        self._hook = hook

    def _call(
        self,
        request: str,
        arg: object,
        op: Callable[[], T],
        result: Callable[[T], object] | None = None,
    ) -> T:
        self._hook.before(self.KIND, request, arg)
        try:
            value = op()
        except KvmError as e:
            self._hook.after(self.KIND, request, arg, e)
            raise
        self._hook.after(self.KIND, request, arg, result(value) if result else value)
        return value


class HookedVcpuFd(_Hooked):
    KIND: FdKind = "vcpu"

    def __init__(self, vcpu: VcpuFd, hook: Hook) -> None:
        super().__init__(hook)
        self._vcpu = vcpu

    @property
    def fd(self) -> int:
        return self._vcpu.fd

    def get_regs(self) -> abi.kvm_regs:
        return self._call("KVM_GET_REGS", None, self._vcpu.get_regs, lambda _: 0)

    def set_regs(self, regs: abi.kvm_regs) -> None:
        self._call("KVM_SET_REGS", None, lambda: self._vcpu.set_regs(regs))

    def get_sregs(self) -> abi.kvm_sregs:
        return self._call("KVM_GET_SREGS", None, self._vcpu.get_sregs, lambda _: 0)

    def set_sregs(self, sregs: abi.kvm_sregs) -> None:
        self._call("KVM_SET_SREGS", None, lambda: self._vcpu.set_sregs(sregs))

    def run(self) -> abi.kvm_run_io:
        return self._call("KVM_RUN", None, self._vcpu.run, lambda _: 0)

    def io_data(self, offset: int, size: int) -> bytes:
        return self._vcpu.io_data(offset, size)

    def set_io_data(self, offset: int, data: bytes) -> None:
        self._vcpu.set_io_data(offset, data)

    def close(self) -> None:
        self._vcpu.close()


class HookedVmFd(_Hooked):
    KIND: FdKind = "vm"

    def __init__(self, vm: VmFd, hook: Hook) -> None:
        super().__init__(hook)
        self._vm = vm

    @property
    def fd(self) -> int:
        return self._vm.fd

    def check_extension(self, cap: int) -> int:
        return self._call("KVM_CHECK_EXTENSION", cap, lambda: self._vm.check_extension(cap))

    def set_tss_addr(self, addr: int) -> None:
        self._call("KVM_SET_TSS_ADDR", addr, lambda: self._vm.set_tss_addr(addr))

    def set_identity_map_addr(self, addr: int) -> None:
        self._call("KVM_SET_IDENTITY_MAP_ADDR", addr, lambda: self._vm.set_identity_map_addr(addr))

    def set_nr_mmu_pages(self, pages: int) -> None:
        self._call("KVM_SET_NR_MMU_PAGES", pages, lambda: self._vm.set_nr_mmu_pages(pages))

    def create_irqchip(self) -> None:
        self._call("KVM_CREATE_IRQCHIP", None, self._vm.create_irqchip)

    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None:
        self._call(
            "KVM_ENABLE_CAP",
            (cap, flags, tuple(args)),
            lambda: self._vm.enable_cap(cap, args, flags),
        )

    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None:
        self._call("KVM_SET_GSI_ROUTING", len(entries), lambda: self._vm.set_gsi_routing(entries))

    def set_msr_filter(self, flags: int, ranges: Sequence[MsrFilterRange]) -> None:
        self._call(
            "KVM_X86_SET_MSR_FILTER",
            (flags, tuple((r.flags, r.nmsrs, r.base, r.bitmap) for r in ranges)),
            lambda: self._vm.set_msr_filter(flags, ranges),
        )

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        self._call(
            "KVM_SET_USER_MEMORY_REGION",
            (slot, flags, guest_phys_addr, memory_size),
            lambda: self._vm.set_user_memory_region(
                slot, flags, guest_phys_addr, memory_size, userspace_addr
            ),
        )

    def create_vcpu(self, vcpu_id: int) -> VcpuFd:
        vcpu = self._call(
            "KVM_CREATE_VCPU", vcpu_id, lambda: self._vm.create_vcpu(vcpu_id), lambda v: v.fd
        )
        return HookedVcpuFd(vcpu, self._hook)

    def close(self) -> None:
        self._vm.close()


class HookedKvm(_Hooked):
    KIND: FdKind = "system"

    def __init__(self, kvm: Kvm, hook: Hook) -> None:
        super().__init__(hook)
        self._kvm = kvm

    @property
    def fd(self) -> int:
        return self._kvm.fd

    def api_version(self) -> int:
        return self._call("KVM_GET_API_VERSION", None, self._kvm.api_version)

    def check_extension(self, cap: int) -> int:
        return self._call("KVM_CHECK_EXTENSION", cap, lambda: self._kvm.check_extension(cap))

    def create_vm(self, vm_type: int = 0) -> VmFd:
        vm = self._call(
            "KVM_CREATE_VM", vm_type, lambda: self._kvm.create_vm(vm_type), lambda v: v.fd
        )
        return HookedVmFd(vm, self._hook)

    def msr_index_list(self, capacity: int) -> list[int]:
        return self._call(
            "KVM_GET_MSR_INDEX_LIST", capacity, lambda: self._kvm.msr_index_list(capacity), len
        )

    def msr_feature_index_list(self, capacity: int) -> list[int]:
        return self._call(
            "KVM_GET_MSR_FEATURE_INDEX_LIST",
            capacity,
            lambda: self._kvm.msr_feature_index_list(capacity),
            len,
        )

    def vcpu_mmap_size(self) -> int:
        return self._call("KVM_GET_VCPU_MMAP_SIZE", None, self._kvm.vcpu_mmap_size)

    def close(self) -> None:
        self._kvm.close()


class HookedHost:
    """`host` seen through a fresh hook per open (`make_hook`), facts passed through."""

    def __init__(self, host: KvmHost, make_hook: Callable[[], Hook]) -> None:
        self.inner = host
        self._make_hook = make_hook

    @property
    def kind(self) -> HostKind:
        return self.inner.kind

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def qemu(self) -> str | None:
        return self.inner.qemu

    def open(self) -> Kvm:
        hook = self._make_hook()
        hook.before("device", "open", None)
        try:
            kvm = self.inner.open()
        except KvmError as e:
            hook.after("device", "open", None, e)
            raise
        hook.after("device", "open", None, kvm.fd)
        return HookedKvm(kvm, hook)

    def uname_machine(self) -> str:
        return self.inner.uname_machine()

    def cpu_vendor(self) -> str:
        return self.inner.cpu_vendor()

    def phys_bits(self) -> int:
        return self.inner.phys_bits()


def with_faults(host: KvmHost, faults: Sequence[Injected]) -> HookedHost:
    """`host`, with `faults` injected; each open starts with the counts afresh."""
    kept = list(faults)
    return HookedHost(host, lambda: Faults(kept))
