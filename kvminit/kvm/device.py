"""The KvmDevice interface: one handle type per kind of fd, as rust-vmm's kvm-ioctls.

`Kvm` is the system fd (/dev/kvm), `VmFd` comes only from `Kvm.create_vm`.
Each method wraps one ioctl and raises KvmError with the errno on failure;
nothing here applies QEMU's policy.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .abi import KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQ_ROUTING_MSI

DEFAULT_DEVICE = "/dev/kvm"


class KvmError(Exception):
    """An ioctl (or the open of the device) that the kernel refused."""

    def __init__(self, ioctl: str, errno: int) -> None:
        self.ioctl = ioctl
        self.errno = errno
        super().__init__(f"{ioctl}: {os.strerror(errno)}")

    @property
    def strerror(self) -> str:
        return os.strerror(self.errno)

    @property
    def errno_name(self) -> str:
        return _errno.errorcode.get(self.errno, str(self.errno))


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
    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None: ...
    def close(self) -> None: ...


class Kvm(Protocol):
    @property
    def fd(self) -> int: ...

    def api_version(self) -> int: ...
    def check_extension(self, cap: int) -> int: ...
    def create_vm(self, vm_type: int = 0) -> VmFd: ...
    def msr_index_list(self) -> list[int]: ...
    def close(self) -> None: ...


class KvmHost(Protocol):
    """What answers: opens the system device and tells the facts QEMU reads elsewhere."""

    kind: Literal["real", "profile"]
    name: str

    def open(self) -> Kvm: ...
    def uname_machine(self) -> str: ...
    def cpu_vendor(self) -> str: ...
    def phys_bits(self) -> int: ...
