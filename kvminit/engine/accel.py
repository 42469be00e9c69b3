"""1. main() and 1.1 configure_accelerator(s): machine options, accelerators, the board.

run() is the engine's one entry: it replays the steps into a RunContext and builds
the InitResult from it once, at the end, whichever way the run stopped.
"""

from __future__ import annotations

from typing import NamedTuple

from kvminit.config.errors import Finding
from kvminit.config.machine import Machine
from kvminit.kvm.device import KvmHost

from . import messages as msg
from .context import RunContext, strerror
from .cpu import find_cpu_model
from .e820 import E820Table
from .errors import KvmInitError, QemuExit
from .kvm_all import kvm_init
from .kvm_all_modern import kvm_init_modern
from .layout import machine_property_order, max_ram_below_4g_warning
from .machines import UnknownMachineType, machine_class
from .memory import set_memory
from .pc import pc_init
from .qemu import DEFAULT, Qemu, modelled
from .qemuline import memory_option, smp_request
from .result import InitResult
from .smp import parse_smp
from .state import InitError

# AccelClass->name, as QEMU prints it in "Back to"/"falling back to".
ACCEL_NAMES = {"kvm": "KVM", "tcg": "tcg"}


def which_qemu(qemu: Qemu | None, host: KvmHost) -> tuple[Qemu, str | None]:
    """--qemu, else the host profile's `qemu`, else the newest modelled version."""
    if qemu is not None:
        return qemu, None
    if host.qemu is not None:
        return modelled(host.qemu)
    return DEFAULT, None


def run(
    machine: Machine,
    host: KvmHost,
    *,
    qemu: Qemu | None = None,
    keep_open: bool = False,
    trace: bool = True,
    host_note: str | None = None,
) -> InitResult:
    """Replay QEMU's start-up up to the board's memory and interrupt set-up.

    With keep_open the returned KVMState still holds the VM (for `boot`); the
    caller must close it. Otherwise every fd is closed before returning.
    `host_note` (why this host answers, when `auto` fell back) goes into the result.
    """
    version, qemu_note = which_qemu(qemu, host)
    try:
        mc = machine_class(version, machine.type)
    except UnknownMachineType as e:
        return InitResult(
            machine=machine,
            machine_class=None,
            qemu=str(version),
            qemu_note=qemu_note,
            host_kind=host.kind,
            host_name=host.name,
            host_note=host_note,
            error=_unknown_machine(machine, version, e),
        )
    ctx = RunContext(machine, mc, host, E820Table(legacy=not version.at_least(7, 2)), version)
    ctx.tracing = trace
    error = _execute(ctx, keep_open)
    state = ctx.kvm_state
    return InitResult(
        machine=machine,
        machine_class=mc,
        qemu=str(version),
        qemu_note=qemu_note,
        host_kind=host.kind,
        host_name=host.name,
        host_note=host_note,
        accel=ctx.accel,
        error=error,
        warnings=tuple(ctx.warnings),
        kvm_state=state,
        e820=tuple(ctx.e820.entries),
        e820_legacy=tuple(ctx.e820.reserve) if ctx.e820.legacy else None,
        routing=tuple(state.irq_routes) if state is not None else (),
        trace=tuple(ctx.trace),
        cpu=ctx.cpu,
        topology=ctx.topology,
        reserved_memory_end=ctx.reserved_memory_end,
    )


class Findings(NamedTuple):
    """What a run said: QEMU's error (None: the machine starts) and its warnings."""

    error: InitError | None
    warnings: list[Finding]


def findings(machine: Machine, host: KvmHost, *, qemu: Qemu | None = None) -> Findings:
    """`run(machine, host, qemu=qemu, trace=False)`'s error and warnings, and nothing else
    of the result: what `validate` reports, for a batch that runs thousands."""
    version, _ = which_qemu(qemu, host)
    try:
        mc = machine_class(version, machine.type)
    except UnknownMachineType as e:
        return Findings(_unknown_machine(machine, version, e), [])
    ctx = RunContext(machine, mc, host, E820Table(legacy=not version.at_least(7, 2)), version)
    ctx.tracing = False
    return Findings(_execute(ctx, False), ctx.warnings)


def _execute(ctx: RunContext, keep_open: bool) -> InitError | None:
    """The run, and how it stopped: QEMU's exit as the error, None when it got through."""
    machine = ctx.machine
    error: InitError | None = None
    completed = False
    try:
        _run(ctx)
        completed = True
    except QemuExit as e:
        ctx.add(list(e.warnings))
        where = machine.line_of(e.key), e.hint, machine.option_of(e.key)
        error = InitError(e.step, e.message, e.errno, e.key, *where)
    finally:
        # Whatever stopped the run (QEMU's exit, Ctrl-C, a bug), no fd outlives it.
        state = ctx.kvm_state
        if state is not None and (not keep_open or not completed):
            state.close()
    return error


def _unknown_machine(machine: Machine, version: Qemu, e: UnknownMachineType) -> InitError:
    # vl.c select_machine(): before anything else runs.
    from .qemuline import machine_option

    loc = f"-machine {machine_option(machine, version)}: " if not version.at_least(7, 2) else ""
    text = msg.UNKNOWN_MACHINE(version, loc=loc, name=e.name)
    hint = f"did you mean '{e.close}'?" if e.close else None
    where = machine.line_of("type"), hint, machine.option_of("type")
    return InitError("1", text, None, "type", *where)


def _run(ctx: RunContext) -> None:
    machine, mc, q = ctx.machine, ctx.mc, ctx.qemu

    # 1. main(): -m, -smp and the machine properties, in the order QEMU applies them.
    if q.at_least(7, 2):
        for key in _PROPERTY_ORDER:
            _PROPERTIES[key](ctx)
    else:
        # 2.6: set_memory_options(), smp_parse(), then each -machine property in turn.
        _memory(ctx)
        _smp(ctx)
        _max_ram_below_4g(ctx)
    # kernel-irqchip: allowed and not split unless the machine says otherwise (7.2+).
    ctx.kernel_irqchip = machine.kernel_irqchip or (
        "split" if mc.default_kernel_irqchip_split else "on"
    )

    if ctx.unobserved:
        # A profile's answers are fixed and no trace shows fds: the init is remembered.
        from . import memo

        memo.configure_accelerator(ctx, configure_accelerator)
    else:
        configure_accelerator(ctx)
    assert ctx.accel is not None, "configure_accelerator ends with an accelerator or raises"

    if q.at_least(7, 2):
        if mc.deprecated:
            ctx.warn(msg.MACHINE_DEPRECATED.format(machine=mc.name, reason=mc.deprecated), "type")
        # parse_cpu_option(): the model name, before the board
        find_cpu_model(q, machine.cpu or mc.default_cpu)
    # 3. the board
    pc_init(ctx)


def _memory(ctx: RunContext) -> None:
    machine = ctx.machine
    # The -m option is the location of 2.6's messages only (7.2+ print none).
    location = "" if ctx.qemu.at_least(7, 2) else f"-m {memory_option(machine)}: "
    ctx.memory = set_memory(ctx.qemu, machine.memory, machine.slots, machine.maxmem, location)


def _smp(ctx: RunContext) -> None:
    topology, findings = parse_smp(ctx.qemu, ctx.mc.smp, smp_request(ctx.machine))
    ctx.add(findings)
    ctx.topology = topology
    if ctx.tracing:
        ctx.step("1", f"-smp: cpus {topology.cpus}, maxcpus {topology.max_cpus}", ctx.mc.max_cpus)


def _kvm_type(ctx: RunContext) -> None:
    # From 7.2 no x86 machine has a kvm-type property (2.6 reaches kvm_init's check).
    if ctx.machine.kvm_type is not None:
        raise QemuExit("1", msg.KVM_TYPE_NOT_FOUND.format(machine=ctx.mc.name), key="kvm-type")


def _max_ram_below_4g(ctx: RunContext) -> None:
    tiny = max_ram_below_4g_warning(ctx.qemu, ctx.machine.max_ram_below_4g)
    if tiny is not None:
        ctx.add([tiny])


# qemu_apply_machine_options() sets these from one QDict, walked bucket by bucket; in the
# order they go in: -machine's keys, then -smp (as it is read), then -m (after the options).
_PROPERTIES = {
    "kvm-type": _kvm_type,
    "max-ram-below-4g": _max_ram_below_4g,
    "smp": _smp,
    "memory": _memory,
}
# The keys are fixed, so is their order: worked out once, not per run.
_PROPERTY_ORDER = tuple(machine_property_order(_PROPERTIES))


def configure_accelerator(ctx: RunContext) -> None:
    """1.1: each accelerator in order until one initialises; the last failure is fatal."""
    machine, q = ctx.machine, ctx.qemu
    failed = False
    init = kvm_init_modern if q.at_least(7, 2) else kvm_init
    for accel in machine.accel:
        if accel == "tcg":
            ctx.step("1.1.1.1", "acc->init_machine(), tcg_init()", 0)
            ctx.accel = "tcg"
            break
        ctx.step("1.1.1.1", "acc->init_machine(), kvm_init()")
        try:
            ctx.kvm_state = init(ctx)
        except KvmInitError as e:
            failed = True
            lines = [
                *e.lines,
                msg.ACCEL_INIT_FAILED(
                    q, loc=ctx.loc, accel=ACCEL_NAMES[accel], strerror=strerror(e.ret)
                ),
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
        ctx.warn(msg.BACK_TO_ACCEL(q, accel=ACCEL_NAMES[ctx.accel or "tcg"]), "accel")
