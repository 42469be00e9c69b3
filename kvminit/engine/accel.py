"""1. main() and 1.1 configure_accelerator(): checks, accelerators in order, then the board."""

from __future__ import annotations

from kvminit.config import MachineConfig
from kvminit.kvm.device import KvmHost

from . import messages as msg
from .context import RunContext, strerror
from .e820 import E820Table
from .errors import KvmInitError, QemuExit
from .kvm_all import kvm_init
from .machines import machine_class
from .pc import guest_cpu, kvm_pc_setup_irq_routing, pc_memory_init
from .result import InitResult
from .state import InitError, KVMState

# AccelClass->name, as QEMU 2.6 prints it.
ACCEL_NAMES = {"kvm": "KVM", "tcg": "tcg"}


def run(
    machine: MachineConfig, host: KvmHost, *, keep_open: bool = False, trace: bool = True
) -> InitResult:
    """Replay QEMU's start-up up to the board's memory and interrupt set-up.

    With keep_open the returned KVMState still holds the VM (for `boot`); the
    caller must close it. Otherwise every fd is closed before returning.
    """
    mc = machine_class(machine.type)
    ctx = RunContext(machine, mc, host, E820Table(legacy=mc.legacy_e820), tracing=trace)
    result = InitResult(machine, mc, host.kind, host.name, warnings=ctx.warnings, trace=ctx.trace)
    state: KVMState | None = None
    try:
        state = _run(ctx, result)
    except QemuExit as e:
        result.error = InitError(e.step, e.message, e.errno, e.key)
    finally:
        result.e820 = list(ctx.e820.entries)
        result.e820_legacy = list(ctx.e820.reserve) if mc.legacy_e820 else None
        if state is not None:
            result.routing = list(state.irq_routes)
            if not keep_open or result.error is not None:
                state.close()
    return result


def _run(ctx: RunContext, result: InitResult) -> KVMState | None:
    machine, mc = ctx.machine, ctx.mc

    # 1. main(): the machine class's CPU limit, checked against maxcpus
    ctx.step("1", f"machine '{mc.name}' max_cpus", mc.max_cpus)
    if machine.max_cpus > mc.max_cpus:
        raise QemuExit(
            "1",
            msg.MACHINE_MAX_CPUS.format(num=machine.max_cpus, machine=mc.name, max=mc.max_cpus),
            key="maxcpus" if machine.maxcpus != machine.smp else "smp",
        )

    # 1.1 configure_accelerator(): each accelerator in order until one initialises
    state: KVMState | None = None
    failure: KvmInitError | None = None
    for accel in machine.accel:
        if accel == "tcg":
            ctx.step("1.1.1.1", "acc->init_machine(), tcg_init()", 0)
            result.accel = "tcg"
            break
        ctx.step("1.1.1.1", "acc->init_machine(), kvm_init()")
        try:
            state = kvm_init(ctx)
        except KvmInitError as e:
            failure = e
            lines = [
                *e.lines,
                msg.ACCEL_INIT_FAILED.format(accel=ACCEL_NAMES[accel], strerror=strerror(e.ret)),
            ]
            ctx.step("1.1.1.1", "kvm_init()", e.ret)
            if accel != machine.accel[-1]:
                ctx.warnings.extend(lines)
                continue
            raise QemuExit(e.step, "\n".join(lines), -e.ret, key=e.key) from None
        ctx.step("1.1.1.1", "kvm_init()", 0)
        result.accel = "kvm"
        break
    if failure is not None:
        ctx.warn(msg.BACK_TO_ACCEL.format(accel=ACCEL_NAMES[result.accel or "tcg"]))

    result.kvm_state = state
    try:
        assert result.accel is not None
        cpu = guest_cpu(ctx, result.accel)
        result.guest_cpu_vendor, result.guest_phys_bits = cpu.vendor, cpu.phys_bits
        # 3. the board: memory, then the IOAPIC's routes when it is in the kernel
        pc_memory_init(ctx, result.accel)
        if state is not None and state.kernel_irqchip and not state.split_irqchip:
            kvm_pc_setup_irq_routing(ctx, state)
    except BaseException:
        if state is not None:
            result.routing = list(state.irq_routes)
            state.close()
        raise
    return state
