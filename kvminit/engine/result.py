"""InitResult: everything a run produced, as DESIGN.md's JSON lays it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvminit.config import MachineConfig
from kvminit.kvm.abi import KVM_IRQ_ROUTING_IRQCHIP
from kvminit.kvm.device import RoutingEntry

from .e820 import E820Entry
from .machines import MachineClass
from .state import InitError, KVMState, TraceStep


def routing_json(e: RoutingEntry) -> dict[str, int]:
    if e.type == KVM_IRQ_ROUTING_IRQCHIP:
        return {"gsi": e.gsi, "type": e.type, "flags": e.flags, "irqchip": e.irqchip, "pin": e.pin}
    return {
        "gsi": e.gsi,
        "type": e.type,
        "flags": e.flags,
        "address_lo": e.address_lo,
        "address_hi": e.address_hi,
        "data": e.data,
    }


@dataclass
class InitResult:
    machine: MachineConfig
    machine_class: MachineClass
    host_kind: str
    host_name: str
    accel: str | None = None
    error: InitError | None = None
    warnings: list[str] = field(default_factory=list)
    kvm_state: KVMState | None = None
    e820: list[E820Entry] = field(default_factory=list)
    e820_legacy: list[E820Entry] | None = None  # None: the type has no FW_CFG_E820_TABLE
    routing: list[RoutingEntry] = field(default_factory=list)
    trace: list[TraceStep] = field(default_factory=list)
    guest_cpu_vendor: str | None = None
    guest_phys_bits: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine.normalised(),
            "host": {"kind": self.host_kind, "name": self.host_name},
            "accel": self.accel,
            "ok": self.ok,
            "error": self.error.to_json() if self.error else None,
            "warnings": list(self.warnings),
            "kvm_state": self.kvm_state.to_json() if self.kvm_state and self.ok else None,
            "e820": [e.to_json() for e in self.e820],
            "routing": [routing_json(r) for r in self.routing],
            "trace": [t.to_json() for t in self.trace],
        }
