"""1.1 configure_accelerator() remembered, on a recorded host, for runs without a trace.

On a profile host (kvm.emulated.ProfileHost, no faults) every kernel answer is a fixed
function of the recording, and the accelerator's init reads the machine only through
`AccelKey`: the QEMU version, kernel-irqchip as the machine type settled it, the vCPU
counts the limits are compared with, kvm-shadow-mem, smm, kvm-type and the accelerator
list. So the first run with a key replays the init and keeps how it ended; every later
run with the same key on the same host starts from a copy of that: the accelerator
chosen, the KVMState and the emulated VM's kernel state (fresh fds, as the init's own
opens would give), the e820 entries it added, its warnings (placed at the new file's
lines) and QEMU's exit, if it exited.

Only where nothing can tell the difference: no trace (a trace shows fd numbers and
every call), and a host whose answers cannot change between opens. A host with
[[faults]] is a HookedHost, and the real device answers from the kernel: neither is
remembered. tests/test_cache.py checks that each part of the key, and the host, misses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from kvminit.config.errors import Finding
from kvminit.kvm.emulated import EmulatedVmFd, ProfileHost, VmSnapshot

from .context import RunContext
from .e820 import E820Entry
from .errors import QemuExit
from .qemu import Qemu
from .state import KVMState


class AccelKey(NamedTuple):
    """Everything of a run, besides the host, that configure_accelerator() reads."""

    qemu: Qemu
    kernel_irqchip: str  # ctx.kernel_irqchip: the machine's, or its type's default
    cpus: int  # the settled -smp, compared with the vCPU limits
    max_cpus: int
    kvm_shadow_mem: int | None
    smm: str | None
    kvm_type: str | None
    accel: tuple[str, ...]
    e820_legacy: bool  # the table the identity map's entry goes into


class Exit(NamedTuple):
    step: str
    message: str
    errno: int | None
    key: str | None
    hint: str | None
    warnings: tuple[Finding, ...]


class Outcome(NamedTuple):
    """How configure_accelerator() ended, without anything of the file it ran for."""

    accel: str | None
    warnings: tuple[tuple[str, str | None, str | None], ...]  # (message, key, hint)
    e820: tuple[E820Entry, ...]
    e820_reserve: tuple[E820Entry, ...]
    state: KVMState | None  # detached: copied again for every run that uses it
    vm: VmSnapshot | None
    exit: Exit | None


def accel_key(ctx: RunContext) -> AccelKey:
    machine, topology = ctx.machine, ctx.topology
    assert topology is not None, "configure_accelerator before -smp is parsed"
    return AccelKey(
        ctx.qemu,
        ctx.kernel_irqchip,
        topology.cpus,
        topology.max_cpus,
        machine.kvm_shadow_mem,
        machine.smm,
        machine.kvm_type,
        tuple(machine.accel),
        ctx.e820.legacy,
    )


def configure_accelerator(ctx: RunContext, configure: Callable[[RunContext], None]) -> None:
    """`configure(ctx)`, or what it did the last time with the same key on this host."""
    host = ctx.host
    assert type(host) is ProfileHost and ctx.unobserved, "only where nothing can tell"
    # The init only ever adds to an empty table; anything else is a run this key misses.
    if ctx.e820.entries or ctx.e820.reserve:
        configure(ctx)
        return
    key = accel_key(ctx)
    outcome = host.memo.get(key)
    if isinstance(outcome, Outcome):
        _replay(ctx, host, outcome)
        return
    if len(host.memo) >= ProfileHost.MEMO_LIMIT:
        host.memo.clear()
    first = len(ctx.warnings)
    try:
        configure(ctx)
    except QemuExit as e:
        if ctx.kvm_state is None:  # exit() closed everything: nothing live to copy
            exit_ = Exit(e.step, e.message, e.errno, e.key, e.hint, e.warnings)
            host.memo[key] = _outcome(ctx, first, None, exit_)
        raise
    host.memo[key] = _outcome(ctx, first, ctx.kvm_state, None)


def _outcome(ctx: RunContext, first: int, state: KVMState | None, exit_: Exit | None) -> Outcome:
    vm = None
    if state is not None:
        assert isinstance(state.vm, EmulatedVmFd), "a profile host's VM"
        vm = state.vm.snapshot()
    return Outcome(
        ctx.accel,
        tuple((w.message, w.key, w.hint) for w in ctx.warnings[first:]),
        tuple(ctx.e820.entries),
        tuple(ctx.e820.reserve),
        None if state is None else state.detached(),
        vm,
        exit_,
    )


def _replay(ctx: RunContext, host: ProfileHost, outcome: Outcome) -> None:
    machine = ctx.machine
    for message, key, hint in outcome.warnings:
        ctx.warnings.append(machine.finding(message, key, hint))
    ctx.e820.entries[:] = outcome.e820
    ctx.e820.reserve[:] = outcome.e820_reserve
    ctx.accel = outcome.accel
    if outcome.state is not None:
        assert outcome.vm is not None
        s = outcome.state.detached()
        try:
            # The init's own opens, in its order: the same fds a replay would get.
            s.kvm = host.open()
            s.fd = s.kvm.fd
            vm = s.kvm.create_vm(s.vm_type)
            s.vm = vm
            s.vmfd = vm.fd
            assert isinstance(vm, EmulatedVmFd)
            vm.restore(outcome.vm)
        except BaseException:
            s.close()
            raise
        ctx.kvm_state = s
    if outcome.exit is not None:
        e = outcome.exit
        raise QemuExit(e.step, e.message, e.errno, e.key, e.hint, e.warnings)
