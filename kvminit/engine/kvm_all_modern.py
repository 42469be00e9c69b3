"""2. kvm_init() as QEMU 7.2 and 10.0 run it: accel/kvm/kvm-all.c of those versions.

One function per version, each readable against its version's source and the
walkthrough's numbering: the seed's number where the seed names the call, the
number of the step it follows plus a letter for a call the seed lacks. What
changed since the seed: the VM is created before the vCPU limits are read (on the
VM fd), more capabilities are required, more are read and some enabled, messages
carry QEMU's location prefix, and the split irqchip's routes go in one commit.
"""

from __future__ import annotations

import errno

from kvminit.kvm.abi import KVM_API_VERSION
from kvminit.kvm.caps import Cap
from kvminit.kvm.errors import KvmError

from . import messages as msg
from .context import (
    RunContext,
    kvm_check_extension,
    kvm_vm_check_extension,
    kvm_vm_enable_cap,
    kvm_vm_ioctl,
    strerror,
)
from .errors import KvmInitError, QemuExit, irqchip_exit
from .kvm_all import CREATE_VM_EINTR_LIMIT
from .kvm_x86_modern import (
    kvm_arch_init_7_2,
    kvm_arch_init_10_0,
    kvm_arch_init_irq_routing_modern,
    kvm_arch_irqchip_create,
)
from .state import KVMState

# kvm_required_capabilites[] and x86's kvm_arch_required_capabilities[], per version.
REQUIRED_7_2 = (
    Cap.KVM_CAP_USER_MEMORY,
    Cap.KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
    Cap.KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
)
ARCH_REQUIRED_7_2 = (Cap.KVM_CAP_SET_TSS_ADDR, Cap.KVM_CAP_EXT_CPUID, Cap.KVM_CAP_MP_STATE)
REQUIRED_10_0 = (
    *REQUIRED_7_2,
    Cap.KVM_CAP_INTERNAL_ERROR_DATA,
    Cap.KVM_CAP_IOEVENTFD,
    Cap.KVM_CAP_IOEVENTFD_ANY_LENGTH,
)
ARCH_REQUIRED_10_0 = (
    *ARCH_REQUIRED_7_2,
    Cap.KVM_CAP_SIGNAL_MSI,
    Cap.KVM_CAP_IRQ_ROUTING,
    Cap.KVM_CAP_DEBUGREGS,
    Cap.KVM_CAP_XSAVE,
    Cap.KVM_CAP_VCPU_EVENTS,
    Cap.KVM_CAP_X86_ROBUST_SINGLESTEP,
    Cap.KVM_CAP_MCE,
    Cap.KVM_CAP_ADJUST_CLOCK,
    Cap.KVM_CAP_SET_IDENTITY_MAP_ADDR,
)

# KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET
KVM_DIRTY_LOG_MANUAL_CAPS = 1 | 2
KVM_GUESTDBG_BLOCKIRQ = 1 << 20
SSTEP_ENABLE, SSTEP_NOIRQ = 1, 2
KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3


def kvm_init_modern(ctx: RunContext) -> KVMState:
    """Returns the live KVMState, or raises KvmInitError (err:) / QemuExit (exit(1)).

    Every fd opened here is closed before it raises, as err: and exit() would.
    """
    s = KVMState()
    try:
        if ctx.qemu.at_least(10, 0):
            _kvm_init_10_0(ctx, s)
        else:
            _kvm_init_7_2(ctx, s)
    except BaseException:
        s.close()
        raise
    return s


def _kvm_init_7_2(ctx: RunContext, s: KVMState) -> None:
    _open_and_version(ctx, s)
    # 2.2a, 2.3, 2.3a
    s.immediate_exit = kvm_check_extension(ctx, s, Cap.KVM_CAP_IMMEDIATE_EXIT, "2.2a")
    s.nr_slots = kvm_check_extension(ctx, s, Cap.KVM_CAP_NR_MEMSLOTS, "2.3") or 32
    s.nr_as = max(kvm_check_extension(ctx, s, Cap.KVM_CAP_MULTI_ADDRESS_SPACE, "2.3a"), 1)
    # 2.3b no x86 machine has a kvm_type hook: type 0
    _create_vm(ctx, s)
    _vcpu_limits(ctx, s)
    _required(ctx, s, (*REQUIRED_7_2, *ARCH_REQUIRED_7_2))

    # 2.8, 2.8a coalesced MMIO and PIO (PIO asked only when MMIO is there)
    s.coalesced_mmio = kvm_check_extension(ctx, s, Cap.KVM_CAP_COALESCED_MMIO, "2.8")
    if s.coalesced_mmio:
        s.coalesced_pio = kvm_check_extension(ctx, s, Cap.KVM_CAP_COALESCED_PIO, "2.8a")
    _manual_dirty_log(ctx, s, "2.8c")
    # 2.8d the vCPU-state caps
    s.vcpu_events = kvm_check_extension(ctx, s, Cap.KVM_CAP_VCPU_EVENTS, "2.8d")
    s.robust_singlestep = kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_ROBUST_SINGLESTEP, "2.8d")
    s.debugregs = kvm_check_extension(ctx, s, Cap.KVM_CAP_DEBUGREGS, "2.8d")
    s.max_nested_state_len = kvm_check_extension(ctx, s, Cap.KVM_CAP_NESTED_STATE, "2.8d")
    # 2.9 direct MSI, 2.9a the remaining flags
    s.direct_msi = kvm_check_extension(ctx, s, Cap.KVM_CAP_SIGNAL_MSI, "2.9") > 0
    s.intx_set_mask = kvm_check_extension(ctx, s, Cap.KVM_CAP_PCI_2_3, "2.9a")
    s.irq_set_ioctl = "KVM_IRQ_LINE"
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_INJECT_STATUS, "2.9a"):
        s.irq_set_ioctl = "KVM_IRQ_LINE_STATUS"
    s.readonly_mem = kvm_check_extension(ctx, s, Cap.KVM_CAP_READONLY_MEM, "2.9a") > 0
    s.eventfds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IOEVENTFD, "2.9a") > 0
    s.irqfds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD, "2.9a") > 0
    s.resamplefds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD_RESAMPLE, "2.9a") > 0
    s.vm_attributes = kvm_check_extension(ctx, s, Cap.KVM_CAP_VM_ATTRIBUTES, "2.9a") > 0
    s.ioeventfd_any_length = (
        kvm_check_extension(ctx, s, Cap.KVM_CAP_IOEVENTFD_ANY_LENGTH, "2.9a") > 0
    )
    _guest_debug(ctx, s, "2.9b")

    # 2.10 kvm_arch_init(): a negative return goes to err:, raised from inside.
    kvm_arch_init_7_2(ctx, s)
    s.unpoison_registered = True  # 2.10.4, moved here in 7.2
    ctx.step("2.10.4", "qemu_register_reset(kvm_unpoison_all)")

    _irqchip(ctx, s, irqfd_check=False)
    # 2.12b kvm_check_many_ioeventfds(): 7 KVM_IOEVENTFD assigns and deassigns (not modelled)
    ctx.step("2.12b", "kvm_check_many_ioeventfds() (KVM_IOEVENTFD, not modelled)")
    _tail(ctx, s)


def _kvm_init_10_0(ctx: RunContext, s: KVMState) -> None:
    _open_and_version(ctx, s)
    s.immediate_exit = kvm_check_extension(ctx, s, Cap.KVM_CAP_IMMEDIATE_EXIT, "2.2a")
    s.nr_slots = kvm_check_extension(ctx, s, Cap.KVM_CAP_NR_MEMSLOTS, "2.3") or 32
    # 2.3a find_kvm_machine_type(): x86_kvm_type() is 0 without a confidential guest
    _create_vm(ctx, s)
    s.nr_as = max(kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_MULTI_ADDRESS_SPACE, "2.6a"), 1)
    _vcpu_limits(ctx, s)
    _required(ctx, s, (*REQUIRED_10_0, *ARCH_REQUIRED_10_0))
    # Required now, so known to be there.
    s.broken_set_mem_region = 0
    s.eventfds = s.ioeventfd_any_length = True

    s.coalesced_mmio = kvm_check_extension(ctx, s, Cap.KVM_CAP_COALESCED_MMIO, "2.8")
    if s.coalesced_mmio:
        s.coalesced_pio = kvm_check_extension(ctx, s, Cap.KVM_CAP_COALESCED_PIO, "2.8a")
    _manual_dirty_log(ctx, s, "2.8b")
    # 2.8c–2.8j
    s.vcpu_events = kvm_check_extension(ctx, s, Cap.KVM_CAP_VCPU_EVENTS, "2.8c")
    s.max_nested_state_len = kvm_check_extension(ctx, s, Cap.KVM_CAP_NESTED_STATE, "2.8d")
    s.irq_set_ioctl = "KVM_IRQ_LINE"
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_INJECT_STATUS, "2.8e"):
        s.irq_set_ioctl = "KVM_IRQ_LINE_STATUS"
    s.readonly_mem = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_READONLY_MEM, "2.8f") > 0
    s.resamplefds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD_RESAMPLE, "2.8g") > 0
    s.vm_attributes = kvm_check_extension(ctx, s, Cap.KVM_CAP_VM_ATTRIBUTES, "2.8h") > 0
    _guest_debug(ctx, s, "2.8i")
    # Required by the arch list: these answered non-zero there.
    s.robust_singlestep = s.debugregs = 1
    s.direct_msi = True

    kvm_arch_init_10_0(ctx, s)

    # 2.10g–2.10i guest_memfd: memslots use KVM_SET_USER_MEMORY_REGION2 when all hold
    s.memory_attributes = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_MEMORY_ATTRIBUTES, "2.10g")
    memfd = kvm_check_extension(ctx, s, Cap.KVM_CAP_GUEST_MEMFD, "2.10h")
    memory2 = memfd and kvm_check_extension(ctx, s, Cap.KVM_CAP_USER_MEMORY2, "2.10i")
    s.guest_memfd = bool(memfd and memory2 and s.memory_attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE)
    s.unpoison_registered = True
    ctx.step("2.10.4", "qemu_register_reset(kvm_unpoison_all)")

    _irqchip(ctx, s, irqfd_check=True)
    _tail(ctx, s)


# --- the steps both versions share -----------------------------------------------------


def _open_and_version(ctx: RunContext, s: KVMState) -> None:
    """2.1 qemu_open("/dev/kvm"), 2.2 KVM_GET_API_VERSION."""
    q, loc = ctx.qemu, ctx.loc
    try:
        s.kvm = ctx.host.open()
    except KvmError as e:
        ctx.step("2.1", 'qemu_open("/dev/kvm")', -e.errno)
        raise KvmInitError(
            "2.1", -e.errno, [msg.KVM_OPEN_FAILED(q, loc=loc, strerror=e.strerror)]
        ) from None
    s.fd = s.kvm.fd
    ctx.step("2.1", 'qemu_open("/dev/kvm")', s.fd)
    try:
        ret = s.kvm.api_version()
    except KvmError as e:
        ret = -e.errno
    ctx.step("2.2", "kvm_ioctl(KVM_GET_API_VERSION)", ret)
    if ret < KVM_API_VERSION:
        if ret >= 0:
            ret = -errno.EINVAL
        raise KvmInitError("2.2", ret, [msg.KVM_VERSION_TOO_OLD(q, loc=loc)])
    if ret > KVM_API_VERSION:
        raise KvmInitError("2.2", -errno.EINVAL, [msg.KVM_VERSION_NOT_SUPPORTED(q, loc=loc)])


def _create_vm(ctx: RunContext, s: KVMState) -> None:
    """2.6 KVM_CREATE_VM, retried while it answers EINTR (now before the vCPU limits)."""
    assert s.kvm is not None, "KVM_CREATE_VM before 2.1"
    tries = 0
    while True:
        tries += 1
        try:
            s.vm = s.kvm.create_vm(s.vm_type)
            ret = s.vm.fd
        except KvmError as e:
            ret = -e.errno
        ctx.step("2.6", "kvm_ioctl(KVM_CREATE_VM)", ret)
        if ret != -errno.EINTR:
            break
        if tries >= CREATE_VM_EINTR_LIMIT:
            failed = msg.CREATE_VM_FAILED(ctx.qemu, loc=ctx.loc, errno=-ret, strerror=strerror(ret))
            raise KvmInitError(
                "2.6", ret, [failed, msg.CREATE_VM_EINTR_FOREVER.format(tries=tries)]
            )
    if ret < 0:
        raise KvmInitError(
            "2.6",
            ret,
            [msg.CREATE_VM_FAILED(ctx.qemu, loc=ctx.loc, errno=-ret, strerror=strerror(ret))],
        )
    s.vmfd = ret


def _vcpu_limits(ctx: RunContext, s: KVMState) -> None:
    """2.4 kvm_recommended_vcpus() on the VM fd, 2.5 kvm_max_vcpus(), then the limit loop."""
    s.soft_vcpus_limit = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_NR_VCPUS, "2.4") or 4
    hard = kvm_check_extension(ctx, s, Cap.KVM_CAP_MAX_VCPUS, "2.5")
    if not hard:
        # kvm_max_vcpus() falls back to kvm_recommended_vcpus(), which asks again.
        hard = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_NR_VCPUS, "2.5") or 4
    s.hard_vcpus_limit = hard
    topology = ctx.topology
    assert topology is not None, "the vCPU limits before -smp is parsed"
    for name, num, key in (
        ("SMP", topology.cpus, "smp"),
        ("hotpluggable", topology.max_cpus, "maxcpus"),
    ):
        if num > s.soft_vcpus_limit:
            ctx.warn(
                msg.SOFT_VCPUS_LIMIT(
                    ctx.qemu, loc=ctx.loc, name=name, num=num, limit=s.soft_vcpus_limit
                ),
                key,
            )
            if num > s.hard_vcpus_limit:
                raise QemuExit(
                    "2.5",
                    msg.HARD_VCPUS_LIMIT(
                        ctx.qemu, loc=ctx.loc, name=name, num=num, limit=s.hard_vcpus_limit
                    ),
                    key=key,
                )


def _required(ctx: RunContext, s: KVMState, caps: tuple[Cap, ...]) -> None:
    """2.7 kvm_check_extension_list(): the first cap answering 0 ends init with -EINVAL."""
    for cap in caps:
        if not kvm_check_extension(ctx, s, cap, "2.7"):
            raise KvmInitError(
                "2.7", -errno.EINVAL, [msg.MISSING_CAP(ctx.qemu, loc=ctx.loc, name=cap.name)]
            )
    s.broken_set_mem_region = 0  # KVM_CAP_JOIN_MEMORY_REGIONS_WORKS is required now


def _manual_dirty_log(ctx: RunContext, s: KVMState, step: str) -> None:
    """Manual dirty-log protection (no dirty ring is configured): enabled when offered."""
    caps = kvm_check_extension(ctx, s, Cap.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, step)
    caps &= KVM_DIRTY_LOG_MANUAL_CAPS
    if caps:
        ret = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, step, caps)
        if ret:
            ctx.warn(msg.MANUAL_DIRTY_LOG_FAILED.format(loc=ctx.loc, caps=caps))
            caps = 0
    s.manual_dirty_log_protect = caps


def _guest_debug(ctx: RunContext, s: KVMState, step: str) -> None:
    s.guest_debug = kvm_check_extension(ctx, s, Cap.KVM_CAP_SET_GUEST_DEBUG, step) > 0
    s.sstep_flags = SSTEP_ENABLE
    if s.guest_debug:
        debug2 = kvm_check_extension(ctx, s, Cap.KVM_CAP_SET_GUEST_DEBUG2, step)
        if debug2 & KVM_GUESTDBG_BLOCKIRQ:
            s.sstep_flags |= SSTEP_NOIRQ


def _irqchip(ctx: RunContext, s: KVMState, *, irqfd_check: bool) -> None:
    """2.11 kernel_irqchip_allowed, 2.12 kvm_irqchip_create()."""
    allowed = ctx.kernel_irqchip != "off"
    ctx.step("2.11", "s->kernel_irqchip_allowed", int(allowed))
    if allowed:
        kvm_irqchip_create(ctx, s, irqfd_check=irqfd_check)


def kvm_irqchip_create(ctx: RunContext, s: KVMState, *, irqfd_check: bool) -> None:
    vm = s.vm
    assert vm is not None, "kvm_irqchip_create before 2.6"
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQCHIP, "2.12"):
        pass
    elif kvm_check_extension(ctx, s, Cap.KVM_CAP_S390_IRQCHIP, "2.12"):
        cap = Cap.KVM_CAP_S390_IRQCHIP
        ret = kvm_vm_ioctl(
            ctx, "2.12", "kvm_vm_enable_cap(KVM_CAP_S390_IRQCHIP, 0)", lambda: vm.enable_cap(cap)
        )
        if ret < 0:
            raise irqchip_exit("2.12", msg.ENABLE_IRQCHIP_FAILED, ret)
    else:
        # No in-kernel irqchip at all: QEMU goes on without one, silently.
        return

    if irqfd_check:
        # 2.12a (10.0) an in-kernel irqchip needs irqfds
        s.irqfds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD, "2.12a") > 0
        if not s.irqfds:
            raise QemuExit("2.12a", msg.IRQFD_NOT_IMPLEMENTED, key="kernel-irqchip")

    ret = kvm_arch_irqchip_create(ctx, s)
    if ret == 0:
        ret = kvm_vm_ioctl(ctx, "2.12.2", "kvm_vm_ioctl(KVM_CREATE_IRQCHIP)", vm.create_irqchip)
    if ret < 0:
        raise irqchip_exit("2.12.2", msg.CREATE_IRQCHIP_FAILED, ret)

    s.kernel_irqchip = True
    s.async_interrupts_allowed = True
    s.halt_in_kernel_allowed = True

    # 2.12.3 kvm_init_irq_routing(): a bitmap of exactly gsi_count bits (no rounding up)
    gsi_count = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "2.12.3") - 1
    if gsi_count > 0:
        s.used_gsi_bitmap = [0] * (-(-gsi_count // 32))
        s.gsi_count = gsi_count
    s.irq_routes = []
    s.nr_allocated_irq_routes = 0
    kvm_arch_init_irq_routing_modern(ctx, s)


def _tail(ctx: RunContext, s: KVMState) -> None:
    """2.12c KVM_CAP_SYNC_MMU (VM fd), 2.12e KVM_CAP_BINARY_STATS_FD."""
    s.sync_mmu = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_SYNC_MMU, "2.12c")
    s.binary_stats = kvm_check_extension(ctx, s, Cap.KVM_CAP_BINARY_STATS_FD, "2.12e") > 0
