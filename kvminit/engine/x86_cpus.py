"""3.1–3.4 x86_cpus_init(): the board's CPUs, and what they ask of KVM (QEMU 7.2+).

From QEMU 7.2 the PC board creates its CPUs first. Before each vCPU the main
thread realizes the CPU model, asking KVM a fixed set of capabilities (the CPUID
and MSR reads that go with them are not modelled); after it, the in-kernel APIC's
realize asserts GSI routing. Each vCPU itself (KVM_CREATE_VCPU, on its own thread)
is outside the model: `boot` creates vCPUs, `run` only marks where they would be.
"""

from __future__ import annotations

from kvminit.kvm.caps import Cap

from . import messages as msg
from .context import RunContext, kvm_check_extension, kvm_vm_enable_cap
from .cpu import GuestCpu, guest_cpu
from .errors import QemuExit
from .smp import apic_id, apic_id_limit
from .state import KVMState

# KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK
KVM_X2APIC_API_FLAGS = 1 | 2
APIC_ID_MAX_XAPIC = 255  # APIC IDs from 255 up need x2APIC

# 10.0 under TCG: an APIC ID the model cannot hold aborts QEMU (error_abort).
APIC_ID_ABORT = (
    "Unexpected error in apic_common_set_id() at hw/intc/apic_common.c:447:\n"
    "APIC ID {id} requires x2APIC feature in CPU\n"
    "Try x2apic=on in -cpu."
)
HYPERTHREADING_7_2 = (
    "warning: This family of AMD CPU doesn't support hyperthreading({threads})\n"
    "Please configure -smp options properly or try enabling topoext feature."
)
HYPERTHREADING_10_0 = (
    "warning: This family of AMD CPU doesn't support hyperthreading({threads}). "
    "Please configure -smp options properly or try enabling topoext feature."
)


def x86_cpus_init(ctx: RunContext) -> GuestCpu:
    """Every CPU of the machine, in QEMU's order; the first one's realize settles the model."""
    topo = ctx.topology
    assert topo is not None, "x86_cpus_init before -smp is parsed"
    s = ctx.kvm_state
    kvm = ctx.accel == "kvm" and s is not None
    in_kernel = kvm and s is not None and s.kernel_irqchip

    # 3.1 more than 255 APIC IDs need the in-kernel irqchip and the X2APIC API
    limit = apic_id_limit(ctx.qemu, topo)
    ctx.step("3.1", "apic_id_limit", limit)
    if limit > APIC_ID_MAX_XAPIC:
        needs_x2apic = kvm and in_kernel if ctx.qemu.at_least(10, 0) else True
        if needs_x2apic and not (in_kernel and _enable_x2apic(ctx)):
            raise QemuExit("3.1", msg.X2APIC_REQUIRED, key="maxcpus")
    # 3.2 kvm_set_max_apic_id(): the answer is not looked at
    if s is not None and kvm:
        kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_MAX_VCPU_ID, "3.2", limit)
        s.max_apic_id = limit

    # The realize probes' and 3.4's answers are not used: only a trace or a hook sees them.
    probe = s is not None and kvm and not ctx.unobserved
    if not probe and not ctx.tracing:
        return _cpus_unobserved(ctx, topo.cpus, kvm=kvm, in_kernel=in_kernel)
    cpu: GuestCpu | None = None
    for index in range(topo.cpus):
        if cpu is None:
            # The first CPU object: the -cpu options and realize (every later CPU is alike).
            cpu = _first_cpu(ctx)
        if probe:
            assert s is not None
            _realize_probes(ctx, s, first=index == 0, in_kernel=in_kernel)
        _apic_create(ctx, cpu, index, kvm=kvm, in_kernel=in_kernel)
        if ctx.tracing:
            ctx.step("3.3", f"vCPU {index}: KVM_CREATE_VCPU (not modelled)")
        if not ctx.qemu.at_least(10, 0) and index == 0:
            _hyperthreading(ctx, cpu)
        if not _has_apic(cpu, topo.cpus):
            continue
        if s is not None and in_kernel:
            # kvm_apic_realize(): assert(kvm_has_gsi_routing())
            if probe:
                kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "3.4")
        elif kvm and not ctx.qemu.at_least(10, 0):
            # 7.2's userspace APIC under KVM: deprecated, per CPU.
            for line in msg.USERSPACE_APIC_DEPRECATED.splitlines():
                ctx.warn(line, "kernel-irqchip")
    assert cpu is not None, "-smp leaves at least one CPU"
    return cpu


def _first_cpu(ctx: RunContext) -> GuestCpu:
    """The -cpu options applied and realized, with what that printed."""
    machine = ctx.machine
    cpu, findings = guest_cpu(
        ctx.qemu,
        machine.cpu or ctx.mc.default_cpu,
        ctx.accel or "tcg",
        machine.vendor,
        machine.phys_bits,
        ctx.host.cpu_vendor(),
        ctx.host.phys_bits(),
    )
    ctx.add(findings)
    return cpu


def _cpus_unobserved(ctx: RunContext, cpus: int, *, kvm: bool, in_kernel: bool) -> GuestCpu:
    """The loop above when nothing records its calls (no trace, no probe asked): the same
    warnings and refusals in the same order, without walking every CPU for nothing.

    Per CPU only two things remain: 10.0's APIC-ID check under TCG, and 7.2's userspace
    APIC warning under KVM; everything else happens for the first CPU or not at all.
    """
    cpu = _first_cpu(ctx)
    _hyperthreading(ctx, cpu)  # the first CPU's (10.0: in its x86_cpu_apic_create())
    if not _has_apic(cpu, cpus):
        return cpu
    if ctx.qemu.at_least(10, 0):
        if kvm:
            if not in_kernel:
                raise QemuExit("3.3", msg.USERSPACE_APIC_REFUSED, key="kernel-irqchip")
            return cpu
        topo = ctx.topology
        assert topo is not None
        for index in range(cpus):
            aid = apic_id(ctx.qemu, topo, index)
            if aid >= APIC_ID_MAX_XAPIC and not cpu.x2apic:
                raise QemuExit("3.3", APIC_ID_ABORT.format(id=aid), key="smp")
        return cpu
    if kvm and not in_kernel:
        # 7.2's userspace APIC under KVM: deprecated, per CPU.
        lines = msg.USERSPACE_APIC_DEPRECATED.splitlines()
        for _ in range(cpus):
            for line in lines:
                ctx.warn(line, "kernel-irqchip")
    return cpu


def _enable_x2apic(ctx: RunContext) -> bool:
    s = ctx.kvm_state
    if s is None:
        return False
    ok = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_X2APIC_API, "3.1", KVM_X2APIC_API_FLAGS) == 0
    s.x2apic_api = ok
    return ok


def _realize_probes(ctx: RunContext, s: KVMState, *, first: bool, in_kernel: bool) -> None:
    """The capabilities x86_cpu_realizefn asks (default models; CPUID reads not modelled).

    The supported-CPUID table fix-ups ask KVM_CAP_TSC_DEADLINE_TIMER (only with the
    irqchip in the kernel), Hyper-V expansion KVM_CAP_HYPERV, and each XSAVE
    component word KVM_CAP_SYS_ATTRIBUTES; the first CPU also primes the caches.
    """
    step = "3.3"
    if ctx.qemu.at_least(10, 0):
        order = (
            ["sys", "sys", "hyperv", "tsc", "sys", "sys"]
            if first
            else ["hyperv", "tsc", "sys", "sys"]
        )
    else:
        order = ["tsc", "hyperv", "tsc", "sys", "sys"] if first else ["hyperv", "tsc", "sys", "sys"]
    caps = {
        "sys": Cap.KVM_CAP_SYS_ATTRIBUTES,
        "hyperv": Cap.KVM_CAP_HYPERV,
        "tsc": Cap.KVM_CAP_TSC_DEADLINE_TIMER,
    }
    for probe in order:
        if probe == "tsc" and not in_kernel:
            continue
        kvm_check_extension(ctx, s, caps[probe], step)


def _apic_create(ctx: RunContext, cpu: GuestCpu, index: int, *, kvm: bool, in_kernel: bool) -> None:
    """x86_cpu_apic_create(): 10.0 refuses a userspace APIC under KVM, and under TCG an
    APIC ID the model cannot hold."""
    if not ctx.qemu.at_least(10, 0):
        return
    if index == 0:
        _hyperthreading(ctx, cpu)
    topo = ctx.topology
    assert topo is not None
    if not _has_apic(cpu, topo.cpus):
        return
    if kvm:
        if not in_kernel:
            raise QemuExit("3.3", msg.USERSPACE_APIC_REFUSED, key="kernel-irqchip")
        return
    aid = apic_id(ctx.qemu, topo, index)
    if aid >= APIC_ID_MAX_XAPIC and not cpu.x2apic:
        raise QemuExit("3.3", APIC_ID_ABORT.format(id=aid), key="smp")


def _hyperthreading(ctx: RunContext, cpu: GuestCpu) -> None:
    topo = ctx.topology
    assert topo is not None
    if topo.threads > 1 and cpu.vendor == "AuthenticAMD" and not cpu.topoext:
        text = HYPERTHREADING_10_0 if ctx.qemu.at_least(10, 0) else HYPERTHREADING_7_2
        for line in text.format(threads=topo.threads).splitlines():
            ctx.warn(line, "threads")


def _has_apic(cpu: GuestCpu, cpus: int) -> bool:
    # x86_cpu_apic_create() runs for a CPU with CPUID_APIC, or for any CPU of an SMP machine.
    return cpu.apic or cpus > 1
