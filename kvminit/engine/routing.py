"""The GSI routing table as kvm-all.c keeps it: the bitmap, the routes, the commit."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from functools import cache

from kvminit.kvm.abi import KVM_IRQ_ROUTING_IRQCHIP
from kvminit.kvm.device import RoutingEntry

from . import messages as msg
from .context import RunContext, kvm_vm_ioctl, strerror
from .errors import QemuExit
from .state import KVMState


def set_gsi(s: KVMState, gsi: int) -> None:
    s.used_gsi_bitmap[gsi // 32] |= 1 << (gsi % 32)


def kvm_add_routing_entry(s: KVMState, entry: RoutingEntry) -> None:
    if len(s.irq_routes) == s.nr_allocated_irq_routes:
        # The table grows by doubling, from 64 entries.
        s.nr_allocated_irq_routes = max(64, s.nr_allocated_irq_routes * 2)
    s.irq_routes.append(entry)
    set_gsi(s, entry.gsi)


def kvm_irqchip_get_virq(s: KVMState) -> int:
    """The lowest unused GSI below gsi_count, or -ENOSPC."""
    for i, word in enumerate(s.used_gsi_bitmap):
        zeroes = ~word & 0xFFFFFFFF
        if zeroes:
            virq = (zeroes & -zeroes).bit_length() - 1 + i * 32
            return virq if virq < s.gsi_count else -errno.ENOSPC
    return -errno.ENOSPC


def kvm_irqchip_commit_routes(ctx: RunContext, s: KVMState, step: str) -> None:
    """KVM_SET_GSI_ROUTING with the table as built; QEMU asserts it succeeds."""
    vm = s.vm
    assert vm is not None, "kvm_irqchip_commit_routes before 2.6"
    routes = s.irq_routes
    call = f"kvm_vm_ioctl(KVM_SET_GSI_ROUTING, nr={len(routes)})" if ctx.tracing else ""
    ret = kvm_vm_ioctl(ctx, step, call, lambda: vm.set_gsi_routing(routes))
    if ret < 0:
        raise QemuExit(step, msg.COMMIT_ROUTES_ASSERT(ctx.qemu, strerror=strerror(ret)), -ret)


def kvm_irqchip_add_msi_route(
    ctx: RunContext, s: KVMState, address: int, data: int, step: str
) -> int:
    virq = kvm_irqchip_add_msi_route_batched(s, address, data)
    if virq >= 0:
        # QEMU 2.6 commits every MSI route as it adds it.
        kvm_irqchip_commit_routes(ctx, s, step)
    return virq


def kvm_irqchip_add_msi_route_batched(s: KVMState, address: int, data: int) -> int:
    """QEMU 7.2+: the route joins the table; the caller commits once for all of them."""
    if not s.gsi_routing_allowed:
        return -errno.ENOSYS
    virq = kvm_irqchip_get_virq(s)
    if virq < 0:
        return virq
    kvm_add_routing_entry(s, RoutingEntry.for_msi(virq, address & 0xFFFFFFFF, address >> 32, data))
    return virq


def kvm_irqchip_add_irq_routes(
    ctx: RunContext, s: KVMState, routes: Sequence[tuple[int, int, int]], max_pin: int
) -> None:
    """kvm_irqchip_add_irq_route() for each (irq, irqchip, pin), in order; `max_pin` is
    the largest of their pins."""
    if max_pin >= s.gsi_count:
        # One of them fails QEMU's assertion: add them one by one up to it, as QEMU does.
        for irq, irqchip, pin in routes:
            kvm_irqchip_add_irq_route(ctx, s, irq, irqchip, pin)
        return
    table, bitmap = s.irq_routes, s.used_gsi_bitmap
    for irq, irqchip, pin in routes:
        # kvm_add_routing_entry(), inline: a board adds a few dozen on every run.
        if len(table) == s.nr_allocated_irq_routes:
            s.nr_allocated_irq_routes = max(64, s.nr_allocated_irq_routes * 2)
        table.append(_irqchip_route(irq, irqchip, pin))
        bitmap[irq // 32] |= 1 << (irq % 32)


def kvm_irqchip_add_irq_route(
    ctx: RunContext, s: KVMState, irq: int, irqchip: int, pin: int
) -> int:
    if pin >= s.gsi_count:
        # QEMU asserts this and aborts: a kernel with fewer routes than IOAPIC pins.
        raise QemuExit("3", msg.ADD_IRQ_ROUTE_ASSERT(ctx.qemu))
    kvm_add_routing_entry(s, _irqchip_route(irq, irqchip, pin))
    return 0


@cache
def _irqchip_route(irq: int, irqchip: int, pin: int) -> RoutingEntry:
    # Entries are immutable values: the board's few dozen are made once, not per run.
    return RoutingEntry(gsi=irq, type=KVM_IRQ_ROUTING_IRQCHIP, irqchip=irqchip, pin=pin)
