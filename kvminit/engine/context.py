"""What a run carries through the steps, and how a step talks to the kernel and stops.

RunContext holds the trace, the warnings (findings, each at its key's line) and the
pieces the result is built from. kvm_check_extension / kvm_vm_ioctl are QEMU's
helpers of the same names, traced as the seed writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kvminit.config import Finding, MachineConfig
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmHost
from kvminit.kvm.errors import KvmError
from kvminit.kvm.errors import strerror as _strerror

from .cpu import GuestCpu
from .e820 import E820Table
from .machines import MachineClass
from .state import KVMState, TraceStep


@dataclass
class RunContext:
    machine: MachineConfig
    mc: MachineClass
    host: KvmHost
    e820: E820Table
    tracing: bool = True  # a batch that reads no trace skips recording it
    trace: list[TraceStep] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # What the steps settle; run() builds the InitResult from these once.
    accel: str | None = None
    kvm_state: KVMState | None = None
    cpu: GuestCpu | None = None

    def step(self, number: str, call: str, result: int | str | None = None) -> None:
        if self.tracing:
            self.trace.append(TraceStep(number, call, result))

    def warn(self, message: str, key: str | None = None) -> None:
        self.warnings.append(self.machine.finding(message, key))

    def add(self, findings: list[Finding]) -> None:
        """Findings of a pure rule (no line yet), placed at their keys' lines."""
        for f in findings:
            self.warn(f.message, f.key)


def strerror(ret: int) -> str:
    """strerror(-ret), as the seed prints it."""
    return _strerror(-ret)


def kvm_check_extension(ctx: RunContext, s: KVMState, cap: Cap, step: str) -> int:
    """On the system fd, as QEMU 2.6 does; an ioctl error counts as 0."""
    assert s.kvm is not None, "kvm_check_extension before 2.1"
    try:
        ret = s.kvm.check_extension(cap)
    except KvmError:
        ret = 0
    if ctx.tracing:
        ctx.step(step, f"kvm_check_extension({cap.name})", ret)
    return max(ret, 0)


def kvm_vm_ioctl(ctx: RunContext, step: str, call: str, op: Callable[[], object]) -> int:
    """One VM ioctl, traced as the seed writes it; 0 or -errno, as QEMU's kvm_vm_ioctl."""
    try:
        op()
    except KvmError as e:
        ctx.step(step, call, -e.errno)
        return -e.errno
    ctx.step(step, call, 0)
    return 0
