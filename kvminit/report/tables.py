"""Human-readable tables: e820 in the style of Linux's boot log, routes with names."""

from __future__ import annotations

from collections.abc import Sequence

from kvminit.engine.e820 import TYPE_NAMES, E820Entry
from kvminit.kvm.abi import KVM_IRQ_ROUTING_IRQCHIP
from kvminit.kvm.device import RoutingEntry

IRQCHIP_NAMES = {0: "PIC master", 1: "PIC slave", 2: "IOAPIC"}


def e820_table(entries: Sequence[E820Entry]) -> str:
    lines = []
    for e in entries:
        kind = TYPE_NAMES.get(e.type, f"type {e.type}")
        end = e.address + e.length - 1
        lines.append(f"[mem {e.address:#018x}-{end:#018x}] {kind}")
    return "\n".join(lines)


def routes_table(routes: Sequence[RoutingEntry]) -> str:
    lines = [f"{'gsi':>4}  {'type':<8} target"]
    for r in routes:
        if r.type == KVM_IRQ_ROUTING_IRQCHIP:
            target = f"{IRQCHIP_NAMES.get(r.irqchip, r.irqchip)} pin {r.pin}"
            lines.append(f"{r.gsi:>4}  {'irqchip':<8} {target}")
        else:
            address = (r.address_hi << 32) | r.address_lo
            lines.append(f"{r.gsi:>4}  {'msi':<8} address {address:#x} data {r.data:#x}")
    return "\n".join(lines)
