"""The real device: /dev/kvm through ioctl(2)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import queue
import re
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from . import abi
from .device import DEFAULT_DEVICE, HostKind, MsrFilterRange, RoutingEntry, VcpuFd, VmFd
from .errors import KvmError
from .ioctl import ioctl as _ioctl

T = TypeVar("T")


def routing_buffer(entries: Sequence[RoutingEntry]) -> bytearray:
    """struct kvm_irq_routing followed by its entries, as the kernel reads it."""
    table = (abi.kvm_irq_routing_entry * len(entries))()
    for slot, e in zip(table, entries, strict=True):
        slot.gsi, slot.type, slot.flags = e.gsi, e.type, e.flags
        if e.type == abi.KVM_IRQ_ROUTING_IRQCHIP:
            slot.u.irqchip.irqchip, slot.u.irqchip.pin = e.irqchip, e.pin
        else:
            slot.u.msi.address_lo, slot.u.msi.address_hi = e.address_lo, e.address_hi
            slot.u.msi.data = e.data
    header = abi.kvm_irq_routing(nr=len(entries), flags=0)
    return bytearray(bytes(header) + bytes(table))


class DeferredClose:
    """Closes VM fds on a background thread, with at most `max_pending` waiting.

    Destroying a VM costs the kernel ~15 ms of waiting (not CPU) right after it
    was created; a batch hands the close over and goes on with the next init.
    submit() blocks while the queue is full, so the fds held stay bounded: by default
    by what RLIMIT_NOFILE leaves (the tool's own fds must never fail a machine file).
    """

    def __init__(self, max_pending: int | None = None) -> None:
        pending = _fd_budget() if max_pending is None else max_pending
        self._queue: queue.Queue[int | None] = queue.Queue(maxsize=pending)
        self._thread = threading.Thread(target=self._work, name="kvminit-close", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            fd = self._queue.get()
            try:
                if fd is None:
                    return
                with contextlib.suppress(OSError):
                    os.close(fd)
            finally:
                self._queue.task_done()

    def submit(self, fd: int) -> None:
        self._queue.put(fd)

    def flush(self) -> None:
        """Wait until every fd submitted so far is closed (after EMFILE: room again)."""
        if self._thread.is_alive():
            self._queue.join()

    def drain(self) -> None:
        """Close everything submitted and stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def __enter__(self) -> DeferredClose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drain()


# An init holds /dev/kvm, the VM and its vCPUs' fds (QEMU 7.2+ makes them before the
# board), and Python keeps a few of its own: leave that much room below the limit.
_FDS_PER_INIT = 8
_FD_HEADROOM = 16
_MAX_PENDING = 32


def _fd_budget() -> int:
    """How many closes may wait: what RLIMIT_NOFILE leaves after the fds already open,
    the headroom and one init's worth; at least 1, at most 32."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_PENDING
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = _FD_HEADROOM
    return max(1, min(_MAX_PENDING, soft - used - _FD_HEADROOM - _FDS_PER_INIT))


def _retrying_emfile(closer: DeferredClose | None, make: Callable[[], T]) -> T:
    """`make()`, and once more after the pending closes are done if it ran out of fds."""
    try:
        return make()
    except KvmError as e:
        if e.errno != errno.EMFILE or closer is None:
            raise
    closer.flush()
    return make()


class RealVmFd:
    def __init__(self, fd: int, kvm: RealKvm, closer: DeferredClose | None = None) -> None:
        self.fd = fd
        self._kvm = kvm  # the parent, for the kvm_run size its vCPUs map
        self._closer = closer

    def check_extension(self, cap: int) -> int:
        return _ioctl(self.fd, abi.KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION", cap)

    def set_tss_addr(self, addr: int) -> None:
        _ioctl(self.fd, abi.KVM_SET_TSS_ADDR, "KVM_SET_TSS_ADDR", addr)

    def set_identity_map_addr(self, addr: int) -> None:
        _ioctl(
            self.fd,
            abi.KVM_SET_IDENTITY_MAP_ADDR,
            "KVM_SET_IDENTITY_MAP_ADDR",
            struct.pack("=Q", addr),
        )

    def set_nr_mmu_pages(self, pages: int) -> None:
        _ioctl(self.fd, abi.KVM_SET_NR_MMU_PAGES, "KVM_SET_NR_MMU_PAGES", pages)

    def create_irqchip(self) -> None:
        _ioctl(self.fd, abi.KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP")

    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None:
        request = abi.kvm_enable_cap(cap=cap, flags=flags)
        for i, value in enumerate(args):
            request.args[i] = value
        _ioctl(self.fd, abi.KVM_ENABLE_CAP, "KVM_ENABLE_CAP", bytes(request))

    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None:
        # A mutable buffer goes to the kernel as is (an immutable one is capped at 1024 bytes).
        _ioctl(self.fd, abi.KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING", routing_buffer(entries))

    def set_msr_filter(self, flags: int, ranges: Sequence[MsrFilterRange]) -> None:
        request = abi.kvm_msr_filter(flags=flags)
        # The bitmaps live in buffers of our own until the ioctl has read them.
        bitmaps = [ctypes.create_string_buffer(r.bitmap, len(r.bitmap)) for r in ranges]
        for slot, r, bitmap in zip(request.ranges, ranges, bitmaps, strict=False):
            slot.flags, slot.nmsrs, slot.base = r.flags, r.nmsrs, r.base
            slot.bitmap = ctypes.addressof(bitmap)
        _ioctl(self.fd, abi.KVM_X86_SET_MSR_FILTER, "KVM_X86_SET_MSR_FILTER", bytes(request))

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        region = abi.kvm_userspace_memory_region(
            slot, flags, guest_phys_addr, memory_size, userspace_addr
        )
        _ioctl(self.fd, abi.KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", bytes(region))

    def create_vcpu(self, vcpu_id: int) -> VcpuFd:
        from .vcpu import RealVcpuFd  # only `boot` runs vCPUs

        fd = _retrying_emfile(
            self._closer,
            lambda: _ioctl(self.fd, abi.KVM_CREATE_VCPU, "KVM_CREATE_VCPU", vcpu_id),
        )
        try:
            size = self._kvm.vcpu_mmap_size()
        except KvmError:
            os.close(fd)
            raise
        return RealVcpuFd(fd, size)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            if self._closer is not None:
                self._closer.submit(fd)
            else:
                os.close(fd)


class RealKvm:
    def __init__(self, fd: int, closer: DeferredClose | None = None) -> None:
        self.fd = fd
        self._closer = closer
        self._mmap_size: int | None = None

    def api_version(self) -> int:
        return _ioctl(self.fd, abi.KVM_GET_API_VERSION, "KVM_GET_API_VERSION")

    def check_extension(self, cap: int) -> int:
        return _ioctl(self.fd, abi.KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION", cap)

    def create_vm(self, vm_type: int = 0) -> VmFd:
        fd = _retrying_emfile(
            self._closer, lambda: _ioctl(self.fd, abi.KVM_CREATE_VM, "KVM_CREATE_VM", vm_type)
        )
        return RealVmFd(fd, self, self._closer)

    def msr_index_list(self, capacity: int) -> list[int]:
        return self._msr_list(abi.KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST", capacity)

    def msr_feature_index_list(self, capacity: int) -> list[int]:
        request, name = abi.KVM_GET_MSR_FEATURE_INDEX_LIST, "KVM_GET_MSR_FEATURE_INDEX_LIST"
        return self._msr_list(request, name, capacity)

    def _msr_list(self, request: int, name: str, capacity: int) -> list[int]:
        buf = bytearray(bytes(abi.kvm_msr_list(nmsrs=capacity)) + bytes(4 * capacity))
        try:
            _ioctl(self.fd, request, name, buf)
        except KvmError as e:
            if e.errno == errno.E2BIG:
                # The kernel writes back how many there are.
                raise KvmError(name, e.errno, abi.kvm_msr_list.from_buffer(buf).nmsrs) from None
            raise
        got = min(abi.kvm_msr_list.from_buffer(buf).nmsrs, capacity)
        return list((ctypes.c_uint32 * got).from_buffer(buf, 4))

    def vcpu_mmap_size(self) -> int:
        if self._mmap_size is None:
            self._mmap_size = _ioctl(self.fd, abi.KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE")
        return self._mmap_size

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


def _cpuinfo() -> tuple[str, int]:
    vendor, bits = "", 0
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not vendor and line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                elif not bits and line.startswith("address sizes"):
                    m = re.search(r"(\d+) bits physical", line)
                    bits = int(m.group(1)) if m else 0
                if vendor and bits:
                    break
    except OSError:
        pass
    return vendor or "unknown", bits or 36


class RealHost:
    """This machine's /dev/kvm (or another device node, for tests)."""

    kind: HostKind = "real"
    qemu: str | None = None  # the device says nothing of QEMU: --qemu or the default answers

    def __init__(self, path: str = DEFAULT_DEVICE, closer: DeferredClose | None = None) -> None:
        self.path = path
        self.name = path
        self.closer = closer
        self._cpu: tuple[str, int] | None = None

    def open(self) -> RealKvm:
        def open_device() -> int:
            try:
                return os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            except OSError as e:
                raise KvmError("open", e.errno or 0) from None

        return RealKvm(_retrying_emfile(self.closer, open_device), self.closer)

    def uname_machine(self) -> str:
        return os.uname().machine

    def cpu_vendor(self) -> str:
        self._cpu = self._cpu or _cpuinfo()
        return self._cpu[0]

    def phys_bits(self) -> int:
        self._cpu = self._cpu or _cpuinfo()
        return self._cpu[1]
