"""A host profile as a device: the kernel's rules over a recording's answers.

The emulated kernel keeps the semantics the engine can observe: unknown caps
answer 0, a second irqchip is EEXIST, fewer than 64 MMU pages is EINVAL, routing
tables are checked as the kernel checks them, and every handle holds a real file
descriptor so fd numbers and leaks behave as with /dev/kvm. It runs no guest code:
KVM_RUN answers ENOSYS. Faults are not its business (`interpose.with_faults`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from . import abi
from .caps import Cap
from .device import HostKind, MsrFilterRange, RoutingEntry, VcpuFd, VmFd
from .errors import KvmError

if TYPE_CHECKING:
    from .profile import HostProfile

# Kernel limits the emulated device enforces (arch/x86/kvm, virt/kvm).
KVM_MIN_ALLOC_MMU_PAGES = 64
MAX_NR_RESERVED_IOAPIC_PINS = 48
PIC_NUM_PINS = 16
KVM_IOAPIC_NUM_PINS = 24
KVM_USER_MEM_SLOTS_DEFAULT = 32
PAGE_SIZE = 4096
VCPU_MMAP_SIZE = 3 * PAGE_SIZE  # kvm_run, the PIO page and the coalesced MMIO ring (x86)


# The routing checks' constants, as locals of the module (a commit checks dozens).
_IRQCHIP, _MSI = abi.KVM_IRQ_ROUTING_IRQCHIP, abi.KVM_IRQ_ROUTING_MSI
_PICS = (abi.KVM_IRQCHIP_PIC_MASTER, abi.KVM_IRQCHIP_PIC_SLAVE)
_IOAPIC = abi.KVM_IRQCHIP_IOAPIC


def _hold_fd(parent: int = -1) -> int:
    # A real descriptor, so numbers are handed out and leaks show as the kernel's would.
    # A VM's or vCPU's is a dup of its parent's: the same lowest free number an open
    # would get (dup is close-on-exec in Python too), for a third of an open's cost.
    if parent >= 0:
        return os.dup(parent)
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


class _Handle:
    def __init__(self, parent: int = -1) -> None:
        self.fd = _hold_fd(parent)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class EmulatedVcpuFd(_Handle):
    """A vCPU's registers as the kernel keeps them; no guest code runs on a profile."""

    def __init__(self, parent: int = -1) -> None:
        super().__init__(parent)
        self._regs = abi.kvm_regs()
        self._sregs = abi.kvm_sregs()

    def get_regs(self) -> abi.kvm_regs:
        return abi.kvm_regs.from_buffer_copy(self._regs)

    def set_regs(self, regs: abi.kvm_regs) -> None:
        self._regs = abi.kvm_regs.from_buffer_copy(regs)

    def get_sregs(self) -> abi.kvm_sregs:
        return abi.kvm_sregs.from_buffer_copy(self._sregs)

    def set_sregs(self, sregs: abi.kvm_sregs) -> None:
        self._sregs = abi.kvm_sregs.from_buffer_copy(sregs)

    def run(self) -> abi.kvm_run_io:
        raise KvmError("KVM_RUN", errno.ENOSYS)

    def io_data(self, offset: int, size: int) -> bytes:
        return bytes(size)

    def set_io_data(self, offset: int, data: bytes) -> None:
        pass


class EmulatedVmFd(_Handle):
    def __init__(self, caps: dict[int, int], vm_caps: dict[int, int], parent: int = -1) -> None:
        super().__init__(parent)
        self._caps = caps
        self._vm_caps = vm_caps
        self.irqchip = False
        self.split_irqchip = False
        self.vcpu_ids: set[int] = set()
        self.routes: list[RoutingEntry] = []
        self.mmu_pages: int | None = None
        self.msr_filter: tuple[int, list[MsrFilterRange]] | None = None

    def snapshot(self) -> VmSnapshot:
        """What the kernel keeps for this VM, as an immutable value (fd excluded)."""
        return VmSnapshot(
            self.irqchip,
            self.split_irqchip,
            frozenset(self.vcpu_ids),
            tuple(self.routes),
            self.mmu_pages,
            None if self.msr_filter is None else (self.msr_filter[0], tuple(self.msr_filter[1])),
        )

    def restore(self, snap: VmSnapshot) -> None:
        """This VM as `snap` left its own: the same answers from here on."""
        self.irqchip = snap.irqchip
        self.split_irqchip = snap.split_irqchip
        self.vcpu_ids = set(snap.vcpu_ids)
        self.routes = list(snap.routes)
        self.mmu_pages = snap.mmu_pages
        self.msr_filter = (
            None if snap.msr_filter is None else (snap.msr_filter[0], list(snap.msr_filter[1]))
        )

    def check_extension(self, cap: int) -> int:
        # Kernels before KVM_CAP_CHECK_EXTENSION_VM (3.17) have no such VM ioctl.
        if not self._caps.get(Cap.KVM_CAP_CHECK_EXTENSION_VM, 0):
            raise KvmError("KVM_CHECK_EXTENSION", errno.ENOTTY)
        return self._vm_caps.get(cap, 0)

    def set_tss_addr(self, addr: int) -> None:
        pass

    def set_identity_map_addr(self, addr: int) -> None:
        if not self._caps.get(Cap.KVM_CAP_SET_IDENTITY_MAP_ADDR, 0):
            raise KvmError("KVM_SET_IDENTITY_MAP_ADDR", errno.ENOTTY)

    def set_nr_mmu_pages(self, pages: int) -> None:
        if pages < KVM_MIN_ALLOC_MMU_PAGES:
            raise KvmError("KVM_SET_NR_MMU_PAGES", errno.EINVAL)
        self.mmu_pages = pages

    def create_irqchip(self) -> None:
        if self.irqchip or self.split_irqchip:
            raise KvmError("KVM_CREATE_IRQCHIP", errno.EEXIST)
        self.irqchip = True

    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None:
        if flags or not self._vm_caps.get(cap, 0):
            raise KvmError("KVM_ENABLE_CAP", errno.EINVAL)
        if cap == Cap.KVM_CAP_MAX_VCPU_ID and (args[0] if args else 0) > self._vm_caps[cap]:
            raise KvmError("KVM_ENABLE_CAP", errno.EINVAL)
        if cap == Cap.KVM_CAP_SPLIT_IRQCHIP:
            if (args[0] if args else 0) > MAX_NR_RESERVED_IOAPIC_PINS:
                raise KvmError("KVM_ENABLE_CAP", errno.EINVAL)
            if self.irqchip or self.split_irqchip:
                raise KvmError("KVM_ENABLE_CAP", errno.EEXIST)
            self.split_irqchip = True

    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None:
        max_routes = self._caps.get(Cap.KVM_CAP_IRQ_ROUTING, 0)
        if not max_routes:
            raise KvmError("KVM_SET_GSI_ROUTING", errno.ENOTTY)
        # kvm_vm_ioctl / kvm_set_irq_routing / kvm_set_routing_entry checks.
        if len(entries) > max_routes or not (self.irqchip or self.split_irqchip):
            raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
        # QEMU commits its table again after each append: the entries the kernel has
        # just accepted (the very same objects) need no second look.
        known = 0
        for old, new in zip(self.routes, entries, strict=False):
            if old is not new:
                break
            known += 1
        split = self.split_irqchip
        for e in entries[known:]:
            if e.gsi >= max_routes or e.flags:
                raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
            if e.type == _IRQCHIP:
                chip, pin = e.irqchip, e.pin
                if (
                    split
                    or (chip in _PICS and pin >= PIC_NUM_PINS // 2)
                    or (chip == _IOAPIC and pin >= KVM_IOAPIC_NUM_PINS)
                    or chip > _IOAPIC
                ):
                    raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
            elif e.type != _MSI:
                raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
        self.routes = list(entries)

    def set_msr_filter(self, flags: int, ranges: Sequence[MsrFilterRange]) -> None:
        # kvm_vm_ioctl_set_msr_filter: flags and each range's flags and bitmap size.
        if not self._caps.get(Cap.KVM_CAP_X86_MSR_FILTER, 0):
            raise KvmError("KVM_X86_SET_MSR_FILTER", errno.ENOTTY)
        allowed = abi.KVM_MSR_FILTER_READ | abi.KVM_MSR_FILTER_WRITE
        if flags & ~abi.KVM_MSR_FILTER_DEFAULT_DENY or len(ranges) > abi.KVM_MSR_FILTER_MAX_RANGES:
            raise KvmError("KVM_X86_SET_MSR_FILTER", errno.EINVAL)
        for r in ranges:
            if r.flags & ~allowed or not r.flags or not r.nmsrs or len(r.bitmap) * 8 < r.nmsrs:
                raise KvmError("KVM_X86_SET_MSR_FILTER", errno.EINVAL)
        self.msr_filter = (flags, list(ranges))

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        slots = self._caps.get(Cap.KVM_CAP_NR_MEMSLOTS, 0) or KVM_USER_MEM_SLOTS_DEFAULT
        if (
            slot >= slots
            or memory_size % PAGE_SIZE
            or guest_phys_addr % PAGE_SIZE
            or userspace_addr % PAGE_SIZE
        ):
            raise KvmError("KVM_SET_USER_MEMORY_REGION", errno.EINVAL)

    def create_vcpu(self, vcpu_id: int) -> VcpuFd:
        # kvm_vm_ioctl_create_vcpu: ids below KVM_MAX_VCPU_IDS, at most KVM_MAX_VCPUS of them.
        max_id = self._caps.get(Cap.KVM_CAP_MAX_VCPU_ID, 0) or self._caps.get(
            Cap.KVM_CAP_MAX_VCPUS, 0
        )
        max_vcpus = self._caps.get(Cap.KVM_CAP_MAX_VCPUS, 0) or self._caps.get(
            Cap.KVM_CAP_NR_VCPUS, 0
        )
        if vcpu_id < 0 or vcpu_id >= max_id or len(self.vcpu_ids) >= max_vcpus:
            raise KvmError("KVM_CREATE_VCPU", errno.EINVAL)
        if vcpu_id in self.vcpu_ids:
            raise KvmError("KVM_CREATE_VCPU", errno.EEXIST)
        self.vcpu_ids.add(vcpu_id)
        return EmulatedVcpuFd(self.fd)


class EmulatedKvm(_Handle):
    def __init__(self, host: ProfileHost) -> None:
        super().__init__()
        self._host = host
        self._caps = host._caps
        self._vm_caps = host._vm_caps

    def api_version(self) -> int:
        return self._host._api_version

    def check_extension(self, cap: int) -> int:
        return self._caps.get(cap, 0)

    def create_vm(self, vm_type: int = 0) -> VmFd:
        # KVM_CAP_VM_TYPES is a bitmask of accepted types; without it only 0.
        accepted = self._caps.get(Cap.KVM_CAP_VM_TYPES, 0) or 1
        if vm_type < 0 or vm_type >= 32 or not accepted & (1 << vm_type):
            raise KvmError("KVM_CREATE_VM", errno.EINVAL)
        return EmulatedVmFd(self._caps, self._vm_caps, self.fd)

    def msr_index_list(self, capacity: int) -> list[int]:
        return _listed("KVM_GET_MSR_INDEX_LIST", self._host._msr_indices, capacity)

    def msr_feature_index_list(self, capacity: int) -> list[int]:
        # KVM_GET_MSR_FEATURE_INDEX_LIST exists from Linux 4.17 (KVM_CAP_GET_MSR_FEATURES).
        if not self._caps.get(Cap.KVM_CAP_GET_MSR_FEATURES, 0):
            raise KvmError("KVM_GET_MSR_FEATURE_INDEX_LIST", errno.ENOTTY)
        return _listed("KVM_GET_MSR_FEATURE_INDEX_LIST", self._host._msr_feature_indices, capacity)

    def vcpu_mmap_size(self) -> int:
        return VCPU_MMAP_SIZE


def _listed(ioctl: str, indices: Sequence[int], capacity: int) -> list[int]:
    # kvm_get_msr_index_list(): the count goes back either way; too small a list is E2BIG.
    if capacity < len(indices):
        raise KvmError(ioctl, errno.E2BIG, len(indices))
    return list(indices)


class VmSnapshot(NamedTuple):
    """An emulated VM's kernel state (EmulatedVmFd.snapshot)."""

    irqchip: bool
    split_irqchip: bool
    vcpu_ids: frozenset[int]
    routes: tuple[RoutingEntry, ...]
    mmu_pages: int | None
    msr_filter: tuple[int, tuple[MsrFilterRange, ...]] | None


class ProfileHost:
    """A profile as a host (without its faults: `kvm.profiles.profile_host` adds them).

    The host answers from the profile as it was when the host was made: every answer
    is copied here, so nothing done to `profile` afterwards changes them. That makes
    the host's answers a fixed function of its identity, and `memo` a place where a
    caller may keep what it derived from them (the engine's accelerator init, keyed
    on the rest of what that depends on); it is bounded and belongs to this host only.
    """

    kind: HostKind = "profile"
    MEMO_LIMIT = 4096  # entries; past it the memo starts afresh

    def __init__(self, profile: HostProfile) -> None:
        self.profile = profile
        self.name = profile.name
        self.qemu = profile.qemu
        self._caps, self._vm_caps = profile.answers()
        self._api_version = profile.api_version
        self._msr_indices = tuple(profile.msr_indices)
        self._msr_feature_indices = tuple(profile.msr_feature_indices)
        self._uname_machine = profile.uname_machine
        self._cpu_vendor = profile.cpu_vendor
        self._phys_bits = profile.phys_bits
        self.memo: dict[Hashable, object] = {}

    def open(self) -> EmulatedKvm:
        return EmulatedKvm(self)

    def uname_machine(self) -> str:
        return self._uname_machine

    def cpu_vendor(self) -> str:
        return self._cpu_vendor

    def phys_bits(self) -> int:
        return self._phys_bits
