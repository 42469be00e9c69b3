"""What a run carries through the steps, and how a step talks to the kernel and stops.

RunContext holds the trace, the warnings (findings, each at its key's line) and the
pieces the result is built from. kvm_check_extension / kvm_vm_ioctl are QEMU's
helpers of the same names, traced as the seed writes them.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from kvminit.config.errors import Finding
from kvminit.config.machine import Machine
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmHost
from kvminit.kvm.errors import KvmError
from kvminit.kvm.errors import strerror as _strerror

from .cpu import GuestCpu
from .e820 import E820Table
from .machines import MachineClass
from .memory import Memory
from .qemu import Qemu
from .smp import Topology
from .state import KVMState, TraceStep

# Where QEMU 7.2+ says an error_report comes from while KVM initialises: the -accel
# option as `kvminit qemu-args` writes it. 2.6 printed no locations.
ACCEL_LOCATION = "-accel kvm: "


@dataclass
class RunContext:
    machine: Machine
    mc: MachineClass
    host: KvmHost
    e820: E820Table
    qemu: Qemu
    tracing: bool = True  # a batch that reads no trace skips recording it
    trace: list[TraceStep] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # What the steps settle; run() builds the InitResult from these once.
    accel: str | None = None
    kvm_state: KVMState | None = None
    cpu: GuestCpu | None = None
    topology: Topology | None = None  # -smp as QEMU settled it
    memory: Memory | None = None  # -m as QEMU settled it
    reserved_memory_end: int | None = None  # fw_cfg etc/reserved-memory-end, with hotplug
    kernel_irqchip: str = "on"  # on | off | split, the machine's default filled in

    @property
    def unobserved(self) -> bool:
        """A call whose answer the run does not use may be left out: no trace records
        it, and the host (a profile without faults) answers it without a side effect."""
        return not self.tracing and is_profile_host(self.host)

    @property
    def loc(self) -> str:
        """The location prefix of kvm_init's error_report lines (none in 2.6)."""
        return ACCEL_LOCATION if self.qemu.at_least(7, 2) else ""

    def step(self, number: str, call: str, result: int | str | None = None) -> None:
        if self.tracing:
            self.trace.append(TraceStep(number, call, result))

    def warn(self, message: str, key: str | None = None) -> None:
        self.warnings.append(self.machine.finding(message, key))

    def add(self, findings: list[Finding]) -> None:
        """Findings of a pure rule (no line yet), placed at their keys' lines."""
        for f in findings:
            self.warnings.append(self.machine.finding(f.message, f.key, f.hint))


def is_profile_host(host: KvmHost) -> bool:
    """`host` is exactly a profile without faults (kvm.emulated.ProfileHost): its answers
    are a fixed function of the recording. Not a subclass, not a hooked host."""
    # Without the module loaded no host can be one: a run on the real device never loads it.
    emulated = sys.modules.get("kvminit.kvm.emulated")
    return emulated is not None and type(host) is emulated.ProfileHost


def strerror(ret: int) -> str:
    """strerror(-ret), as the seed prints it."""
    return _strerror(-ret)


def kvm_check_extension(ctx: RunContext, s: KVMState, cap: Cap, step: str) -> int:
    """On the system fd; an ioctl error counts as 0."""
    assert s.kvm is not None, "kvm_check_extension before 2.1"
    try:
        ret = s.kvm.check_extension(cap)
    except KvmError:
        ret = 0
    if ctx.tracing:
        ctx.step(step, f"kvm_check_extension({cap.name})", ret)
    return max(ret, 0)


def kvm_vm_check_extension(ctx: RunContext, s: KVMState, cap: Cap, step: str) -> int:
    """On the VM fd; only when that ioctl fails, once more on the system fd (QEMU 7.2+)."""
    assert s.vm is not None, "kvm_vm_check_extension before 2.6"
    try:
        ret = s.vm.check_extension(cap)
    except KvmError as e:
        if ctx.tracing:
            ctx.step(step, f"kvm_vm_check_extension({cap.name})", -e.errno)
        return kvm_check_extension(ctx, s, cap, step)
    if ctx.tracing:
        ctx.step(step, f"kvm_vm_check_extension({cap.name})", ret)
    return ret


def kvm_vm_enable_cap(ctx: RunContext, s: KVMState, cap: Cap, step: str, *args: int) -> int:
    """KVM_ENABLE_CAP on the VM fd with `args` (the rest 0): 0 or -errno."""
    vm = s.vm
    assert vm is not None, "kvm_vm_enable_cap before 2.6"
    call = ""  # the trace's words: made only for a trace
    if ctx.tracing:
        shown = ", ".join(str(a) for a in args)
        call = f"kvm_vm_enable_cap({cap.name}, 0{', ' + shown if shown else ''})"
    return kvm_vm_ioctl(ctx, step, call, lambda: vm.enable_cap(cap, list(args)))


def kvm_get_msr_list(
    ctx: RunContext, step: str, name: str, ioctl: Callable[[int], list[int]]
) -> list[int]:
    """QEMU's two calls: nmsrs = 0 (E2BIG, with the count), then a list that holds them.

    Raises KvmError with the errno of the call that failed (E2BIG is expected of the first).
    """
    try:
        indices = ioctl(0)
    except KvmError as e:
        ctx.step(step, f"kvm_ioctl({name}, nmsrs=0)", -e.errno)
        if e.errno != errno.E2BIG:
            raise
        needed = e.needed or 0
    else:
        ctx.step(step, f"kvm_ioctl({name}, nmsrs=0)", 0)
        needed = len(indices)
    try:
        indices = ioctl(needed)
    except KvmError as e:
        ctx.step(step, f"kvm_ioctl({name}, nmsrs={needed})", -e.errno)
        raise
    ctx.step(step, f"kvm_ioctl({name}, nmsrs={needed})", len(indices))
    return indices


def kvm_vm_ioctl(ctx: RunContext, step: str, call: str, op: Callable[[], object]) -> int:
    """One VM ioctl, traced as the seed writes it; 0 or -errno, as QEMU's kvm_vm_ioctl."""
    try:
        op()
    except KvmError as e:
        ctx.step(step, call, -e.errno)
        return -e.errno
    ctx.step(step, call, 0)
    return 0
