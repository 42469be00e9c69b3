"""The handles every host provides: one type per kind of fd, as rust-vmm's kvm-ioctls.

`Kvm` is the system fd (/dev/kvm); a `VmFd` comes only from `Kvm.create_vm`, a
`VcpuFd` only from `VmFd.create_vcpu`. Each method wraps one ioctl and raises
KvmError with the errno on failure; nothing here applies QEMU's policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .abi import KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQ_ROUTING_MSI, kvm_regs, kvm_run_io, kvm_sregs
from .errors import KvmError

__all__ = [
    "DEFAULT_DEVICE",
    "Kvm",
    "KvmError",
    "KvmHost",
    "MsrFilterRange",
    "RoutingEntry",
    "VcpuFd",
    "VmFd",
]

DEFAULT_DEVICE = "/dev/kvm"
HostKind = Literal["real", "profile"]


@dataclass(frozen=True)
class RoutingEntry:
    """struct kvm_irq_routing_entry, irqchip or msi variant."""

    gsi: int
    type: int
    flags: int = 0
    irqchip: int = 0
    pin: int = 0
    address_lo: int = 0
    address_hi: int = 0
    data: int = 0

    @classmethod
    def for_irqchip(cls, gsi: int, irqchip: int, pin: int) -> RoutingEntry:
        return cls(gsi=gsi, type=KVM_IRQ_ROUTING_IRQCHIP, irqchip=irqchip, pin=pin)

    @classmethod
    def for_msi(cls, gsi: int, address_lo: int, address_hi: int, data: int) -> RoutingEntry:
        return cls(
            gsi=gsi,
            type=KVM_IRQ_ROUTING_MSI,
            address_lo=address_lo,
            address_hi=address_hi,
            data=data,
        )

    def to_json(self) -> dict[str, int]:
        if self.type == KVM_IRQ_ROUTING_IRQCHIP:
            return {
                "gsi": self.gsi,
                "type": self.type,
                "flags": self.flags,
                "irqchip": self.irqchip,
                "pin": self.pin,
            }
        return {
            "gsi": self.gsi,
            "type": self.type,
            "flags": self.flags,
            "address_lo": self.address_lo,
            "address_hi": self.address_hi,
            "data": self.data,
        }


@dataclass(frozen=True)
class MsrFilterRange:
    """struct kvm_msr_filter_range: `nmsrs` MSRs from `base`, one bit each in `bitmap`."""

    flags: int
    nmsrs: int
    base: int
    bitmap: bytes


class VcpuFd(Protocol):
    @property
    def fd(self) -> int: ...

    def get_regs(self) -> kvm_regs: ...
    def set_regs(self, regs: kvm_regs) -> None: ...
    def get_sregs(self) -> kvm_sregs: ...
    def set_sregs(self, sregs: kvm_sregs) -> None: ...
    def run(self) -> kvm_run_io: ...
    def io_data(self, offset: int, size: int) -> bytes: ...
    def set_io_data(self, offset: int, data: bytes) -> None: ...
    def close(self) -> None: ...


class VmFd(Protocol):
    @property
    def fd(self) -> int: ...

    def check_extension(self, cap: int) -> int: ...
    def set_tss_addr(self, addr: int) -> None: ...
    def set_identity_map_addr(self, addr: int) -> None: ...
    def set_nr_mmu_pages(self, pages: int) -> None: ...
    def create_irqchip(self) -> None: ...
    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None: ...
    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None: ...
    def set_msr_filter(self, flags: int, ranges: Sequence[MsrFilterRange]) -> None: ...
    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None: ...
    def create_vcpu(self, vcpu_id: int) -> VcpuFd: ...
    def close(self) -> None: ...


class Kvm(Protocol):
    @property
    def fd(self) -> int: ...

    def api_version(self) -> int: ...
    def check_extension(self, cap: int) -> int: ...
    def create_vm(self, vm_type: int = 0) -> VmFd: ...
    # One ioctl each: a list longer than `capacity` is E2BIG, with KvmError.needed set.
    def msr_index_list(self, capacity: int) -> list[int]: ...
    def msr_feature_index_list(self, capacity: int) -> list[int]: ...
    def vcpu_mmap_size(self) -> int: ...
    def close(self) -> None: ...


class KvmHost(Protocol):
    """What answers: opens the system device and tells the facts QEMU reads elsewhere."""

    @property
    def kind(self) -> HostKind: ...
    @property
    def name(self) -> str: ...
    @property
    def qemu(self) -> str | None: ...  # the QEMU version a profile says is installed there

    def open(self) -> Kvm: ...
    def uname_machine(self) -> str: ...
    def cpu_vendor(self) -> str: ...
    def phys_bits(self) -> int: ...
