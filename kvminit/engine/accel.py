"""1. main() and 1.1 configure_accelerator(): checks, accelerators in order, then the board.

run() is the engine's one entry: it replays the steps into a RunContext and builds
the InitResult from it once, at the end, whichever way the run stopped.
"""

from __future__ import annotations

from kvminit.config import MachineConfig
from kvminit.kvm.device import KvmHost

from . import messages as msg
from .context import RunContext, strerror
from .cpu import guest_cpu
from .e820 import E820Table
from .errors import KvmInitError, QemuExit
from .kvm_all import kvm_init
from .machines import machine_class
from .pc import kvm_pc_setup_irq_routing, pc_memory_init
from .result import InitResult
from .state import InitError

# AccelClass->name, as QEMU 2.6 prints it.
ACCEL_NAMES = {"kvm": "KVM", "tcg": "tcg"}


def run(
    machine: MachineConfig,
    host: KvmHost,
    *,
    keep_open: bool = False,
    trace: bool = True,
    host_note: str | None = None,
) -> InitResult:
    """Replay QEMU's start-up up to the board's memory and interrupt set-up.

    With keep_open the returned KVMState still holds the VM (for `boot`); the
    caller must close it. Otherwise every fd is closed before returning.
    `host_note` (why this host answers, when `auto` fell back) goes into the result.
    """
    mc = machine_class(machine.type)
    ctx = RunContext(machine, mc, host, E820Table(legacy=mc.legacy_e820), tracing=trace)
    error: InitError | None = None
    completed = False
    try:
        _run(ctx)
        completed = True
    except QemuExit as e:
        error = InitError(e.step, e.message, e.errno, e.key, machine.line_of(e.key))
    finally:
        # Whatever stopped the run (QEMU's exit, Ctrl-C, a bug), no fd outlives it.
        state = ctx.kvm_state
        if state is not None and (not keep_open or not completed):
            state.close()
    state = ctx.kvm_state
    return InitResult(
        machine=machine,
        machine_class=mc,
        host_kind=host.kind,
        host_name=host.name,
        host_note=host_note,
        accel=ctx.accel,
        error=error,
        warnings=tuple(ctx.warnings),
        kvm_state=state,
        e820=tuple(ctx.e820.entries),
        e820_legacy=tuple(ctx.e820.reserve) if mc.legacy_e820 else None,
        routing=tuple(state.irq_routes) if state is not None else (),
        trace=tuple(ctx.trace),
        cpu=ctx.cpu,
    )


def _run(ctx: RunContext) -> None:
    machine, mc = ctx.machine, ctx.mc

    # 1. main(): the machine class's CPU limit, checked against maxcpus
    ctx.step("1", f"machine '{mc.name}' max_cpus", mc.max_cpus)
    if machine.max_cpus > mc.max_cpus:
        raise QemuExit(
            "1",
            msg.MACHINE_MAX_CPUS.format(num=machine.max_cpus, machine=mc.name, max=mc.max_cpus),
            key="maxcpus" if machine.maxcpus != machine.smp else "smp",
        )

    configure_accelerator(ctx)
    assert ctx.accel is not None, "configure_accelerator ends with an accelerator or raises"

    ctx.cpu = guest_cpu(
        machine.cpu_model,
        ctx.accel,
        machine.phys_bits,
        ctx.host.cpu_vendor(),
        ctx.host.phys_bits(),
    )
    # 3. the board: memory, then the IOAPIC's routes when it is in the kernel
    pc_memory_init(ctx, ctx.cpu)
    state = ctx.kvm_state
    if state is not None and state.kernel_irqchip and not state.split_irqchip:
        kvm_pc_setup_irq_routing(ctx, state)


def configure_accelerator(ctx: RunContext) -> None:
    """1.1: each accelerator in order until one initialises; the last failure is fatal."""
    machine = ctx.machine
    failed = False
    for accel in machine.accel:
        if accel == "tcg":
            ctx.step("1.1.1.1", "acc->init_machine(), tcg_init()", 0)
            ctx.accel = "tcg"
            break
        ctx.step("1.1.1.1", "acc->init_machine(), kvm_init()")
        try:
            ctx.kvm_state = kvm_init(ctx)
        except KvmInitError as e:
            failed = True
            lines = [
                *e.lines,
                msg.ACCEL_INIT_FAILED.format(accel=ACCEL_NAMES[accel], strerror=strerror(e.ret)),
            ]
            ctx.step("1.1.1.1", "kvm_init()", e.ret)
            if accel != machine.accel[-1]:
                for line in lines:
                    ctx.warn(line, e.key or "accel")
                continue
            raise QemuExit(e.step, "\n".join(lines), -e.ret, key=e.key) from None
        ctx.step("1.1.1.1", "kvm_init()", 0)
        ctx.accel = "kvm"
        break
    if failed:
        ctx.warn(msg.BACK_TO_ACCEL.format(accel=ACCEL_NAMES[ctx.accel or "tcg"]), "accel")
