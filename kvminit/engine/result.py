"""InitResult: everything a run produced, built once at its end (DESIGN.md, JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kvminit.common.errors import KvminitError
from kvminit.config.errors import Finding
from kvminit.config.machine import Machine
from kvminit.kvm.device import RoutingEntry

from . import messages as msg
from .cpu import GuestCpu
from .e820 import E820Entry, encode_etc_e820, encode_legacy
from .machines import MachineClass
from .smp import Topology
from .state import InitError, KVMState, TraceStep

JSON_FORMAT = 1  # bumped when a change breaks a reader of the JSON documents


class NoLegacyE820(KvminitError):
    """The machine type has no FW_CFG_E820_TABLE item."""


@dataclass(frozen=True)
class InitResult:
    machine: Machine
    machine_class: MachineClass | None  # None: the QEMU version has no such machine type
    qemu: str
    host_kind: str
    host_name: str
    host_note: str | None = None  # why this host answered (`auto` fell back to a profile)
    qemu_note: str | None = None  # how an unmodelled QEMU version was mapped
    accel: str | None = None
    error: InitError | None = None
    warnings: Sequence[Finding] = ()
    kvm_state: KVMState | None = None
    e820: Sequence[E820Entry] = ()
    e820_legacy: Sequence[E820Entry] | None = None  # None: the type has no FW_CFG_E820_TABLE
    routing: Sequence[RoutingEntry] = ()
    trace: Sequence[TraceStep] = field(default=(), repr=False)
    cpu: GuestCpu | None = None
    topology: Topology | None = None
    reserved_memory_end: int | None = None  # fw_cfg etc/reserved-memory-end (memory hotplug)

    @property
    def ok(self) -> bool:
        return self.error is None

    def etc_e820(self) -> bytes:
        """The bytes of fw_cfg file `etc/e820`."""
        return encode_etc_e820(self.e820)

    def legacy_e820(self) -> bytes:
        """The bytes of fw_cfg item FW_CFG_E820_TABLE; NoLegacyE820 where the type lacks it."""
        if self.e820_legacy is None:
            raise NoLegacyE820(msg.LEGACY_E820_REMOVED.format(qemu=self.qemu))
        return encode_legacy(self.e820_legacy)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": JSON_FORMAT,
            "qemu": self.qemu,
            "machine": self.machine.normalised(),
            "machine_type": self.machine_class.name if self.machine_class else None,
            "host": {"kind": self.host_kind, "name": self.host_name, "note": self.host_note},
            "accel": self.accel,
            "ok": self.ok,
            "error": self.error.to_json() if self.error else None,
            "warnings": [w.to_json() for w in self.warnings],
            "kvm_state": self.kvm_state.to_json() if self.kvm_state and self.ok else None,
            "e820": [e.to_json() for e in self.e820],
            "fw_cfg": {"etc/reserved-memory-end": self.reserved_memory_end},
            "routing": [r.to_json() for r in self.routing],
            "trace": [t.to_json() for t in self.trace],
        }
