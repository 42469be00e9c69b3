"""2. kvm_init() and its kvm-all.c callees: steps 2.1–2.9, 2.11, 2.12, 2.12.2, 2.12.3, err:."""

from __future__ import annotations

import errno

from kvminit.kvm.abi import KVM_API_VERSION
from kvminit.kvm.caps import Cap
from kvminit.kvm.errors import KvmError

from . import messages as msg
from .context import RunContext, kvm_check_extension, kvm_vm_ioctl, strerror
from .errors import KvmInitError, QemuExit, irqchip_exit
from .kvm_x86 import kvm_arch_init, kvm_arch_init_irq_routing, kvm_arch_irqchip_create
from .routing import set_gsi
from .state import KVMState

# kvm_required_capabilites[] (sic) and x86's kvm_arch_required_capabilities[], QEMU 2.6.
KVM_REQUIRED_CAPABILITIES = (Cap.KVM_CAP_USER_MEMORY, Cap.KVM_CAP_DESTROY_MEMORY_REGION_WORKS)
KVM_ARCH_REQUIRED_CAPABILITIES = (
    Cap.KVM_CAP_SET_TSS_ADDR,
    Cap.KVM_CAP_EXT_CPUID,
    Cap.KVM_CAP_MP_STATE,
)

# QEMU retries KVM_CREATE_VM for as long as it answers EINTR; kvminit stops here.
CREATE_VM_EINTR_LIMIT = 1000


def kvm_init(ctx: RunContext) -> KVMState:
    """Returns the live KVMState, or raises KvmInitError (err:) / QemuExit (exit(1)).

    Whichever way it fails, every fd opened here is closed before it raises: the
    seed's err: label for KvmInitError, and what the process exit would do for
    QemuExit.
    """
    s = KVMState()
    try:
        _kvm_init(ctx, s)
    except BaseException:
        s.close()
        raise
    return s


def _kvm_init(ctx: RunContext, s: KVMState) -> None:
    machine, q = ctx.machine, ctx.qemu
    topology = ctx.topology
    assert topology is not None, "kvm_init before -smp is parsed"

    # 2.1 qemu_open("/dev/kvm")
    try:
        s.kvm = ctx.host.open()
    except KvmError as e:
        ctx.step("2.1", 'qemu_open("/dev/kvm")', -e.errno)
        raise KvmInitError("2.1", -e.errno, [msg.KVM_OPEN_FAILED(q, strerror=e.strerror)]) from None
    s.fd = s.kvm.fd
    ctx.step("2.1", 'qemu_open("/dev/kvm")', s.fd)

    # 2.2 kvm_ioctl(KVM_GET_API_VERSION)
    try:
        ret = s.kvm.api_version()
    except KvmError as e:
        ret = -e.errno
    ctx.step("2.2", "kvm_ioctl(KVM_GET_API_VERSION)", ret)
    if ret < KVM_API_VERSION:
        if ret >= 0:
            ret = -errno.EINVAL
        raise KvmInitError("2.2", ret, [msg.KVM_VERSION_TOO_OLD(q)])
    if ret > KVM_API_VERSION:
        raise KvmInitError("2.2", -errno.EINVAL, [msg.KVM_VERSION_NOT_SUPPORTED(q)])

    # 2.3 nr_slots; "If unspecified, use the default value"
    s.nr_slots = kvm_check_extension(ctx, s, Cap.KVM_CAP_NR_MEMSLOTS, "2.3") or 32

    # 2.4 kvm_recommended_vcpus(), 2.5 kvm_max_vcpus()
    s.soft_vcpus_limit = kvm_check_extension(ctx, s, Cap.KVM_CAP_NR_VCPUS, "2.4") or 4
    s.hard_vcpus_limit = (
        kvm_check_extension(ctx, s, Cap.KVM_CAP_MAX_VCPUS, "2.5") or s.soft_vcpus_limit
    )
    for name, num, key in (
        ("SMP", topology.cpus, "smp"),
        ("hotpluggable", topology.max_cpus, "maxcpus"),
    ):
        if num > s.soft_vcpus_limit:
            ctx.warn(msg.SOFT_VCPUS_LIMIT(q, name=name, num=num, limit=s.soft_vcpus_limit), key)
            if num > s.hard_vcpus_limit:
                raise QemuExit(
                    "2.5",
                    msg.HARD_VCPUS_LIMIT(q, name=name, num=num, limit=s.hard_vcpus_limit),
                    key=key,
                )

    # kvm-type: only machine classes with a kvm_type hook take it, and no x86 PC class has one.
    if machine.kvm_type is not None:
        raise KvmInitError(
            "2.6",
            -errno.EINVAL,
            [msg.INVALID_KVM_TYPE.format(kvm_type=machine.kvm_type)],
            key="kvm-type",
        )

    # 2.6 kvm_ioctl(KVM_CREATE_VM), retried while it answers EINTR
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
            raise KvmInitError(
                "2.6",
                ret,
                [
                    msg.CREATE_VM_FAILED(q, errno=-ret, strerror=strerror(ret)),
                    msg.CREATE_VM_EINTR_FOREVER.format(tries=tries),
                ],
            )
    if ret < 0:
        raise KvmInitError(
            "2.6", ret, [msg.CREATE_VM_FAILED(q, errno=-ret, strerror=strerror(ret))]
        )
    s.vmfd = ret

    # 2.7 kvm_check_extension_list(): generic, then the arch's list
    for cap in (*KVM_REQUIRED_CAPABILITIES, *KVM_ARCH_REQUIRED_CAPABILITIES):
        if not kvm_check_extension(ctx, s, cap, "2.7"):
            raise KvmInitError("2.7", -errno.EINVAL, [msg.MISSING_CAP(q, name=cap.name)])

    # 2.8 coalesced MMIO and the flags read alongside it
    s.coalesced_mmio = kvm_check_extension(ctx, s, Cap.KVM_CAP_COALESCED_MMIO, "2.8")
    s.broken_set_mem_region = 1
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, "2.8") > 0:
        s.broken_set_mem_region = 0
    s.vcpu_events = kvm_check_extension(ctx, s, Cap.KVM_CAP_VCPU_EVENTS, "2.8")
    s.robust_singlestep = kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_ROBUST_SINGLESTEP, "2.8")
    s.debugregs = kvm_check_extension(ctx, s, Cap.KVM_CAP_DEBUGREGS, "2.8")

    # 2.9 direct MSI, then the remaining flags
    s.direct_msi = kvm_check_extension(ctx, s, Cap.KVM_CAP_SIGNAL_MSI, "2.9") > 0
    s.intx_set_mask = kvm_check_extension(ctx, s, Cap.KVM_CAP_PCI_2_3, "2.9")
    s.irq_set_ioctl = "KVM_IRQ_LINE"
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_INJECT_STATUS, "2.9"):
        s.irq_set_ioctl = "KVM_IRQ_LINE_STATUS"
    s.readonly_mem = kvm_check_extension(ctx, s, Cap.KVM_CAP_READONLY_MEM, "2.9") > 0
    s.eventfds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IOEVENTFD, "2.9") > 0
    s.irqfds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD, "2.9") > 0
    s.resamplefds = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQFD_RESAMPLE, "2.9") > 0
    s.vm_attributes = kvm_check_extension(ctx, s, Cap.KVM_CAP_VM_ATTRIBUTES, "2.9") > 0
    s.ioeventfd_any_length = (
        kvm_check_extension(ctx, s, Cap.KVM_CAP_IOEVENTFD_ANY_LENGTH, "2.9") > 0
    )

    # 2.10 kvm_arch_init(): a negative return goes to err:, raised from inside.
    kvm_arch_init(ctx, s)

    # 2.11 machine_kernel_irqchip_allowed(), 2.12 kvm_irqchip_create()
    allowed = ctx.kernel_irqchip in ("on", "split")
    ctx.step("2.11", "machine_kernel_irqchip_allowed()", int(allowed))
    if allowed:
        kvm_irqchip_create(ctx, s)


def kvm_irqchip_create(ctx: RunContext, s: KVMState) -> None:
    """2.12: the in-kernel irqchip, through the arch hook or KVM_CREATE_IRQCHIP."""
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
        return

    # First the arch-specific hook; x86 creates a split irqchip there.
    ret = kvm_arch_irqchip_create(ctx, s)
    if ret == 0:
        # (The split case cannot reach here on x86: the hook handled it.)
        ret = kvm_vm_ioctl(ctx, "2.12.2", "kvm_vm_ioctl(KVM_CREATE_IRQCHIP)", vm.create_irqchip)
    if ret < 0:
        raise irqchip_exit("2.12.2", msg.CREATE_IRQCHIP_FAILED, ret)

    s.kernel_irqchip = True
    # An in-kernel IRQ chip implies asynchronous interrupt delivery.
    s.async_interrupts_allowed = True
    s.halt_in_kernel_allowed = True

    kvm_init_irq_routing(ctx, s)


def kvm_init_irq_routing(ctx: RunContext, s: KVMState) -> None:
    """2.12.3: the used-GSI bitmap sized by KVM_CAP_IRQ_ROUTING, then the arch's routes."""
    gsi_count = kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "2.12.3") - 1
    if gsi_count > 0:
        # Round up so we can search ints using ffs.
        gsi_bits = -(-gsi_count // 32) * 32
        s.used_gsi_bitmap = [0] * (gsi_bits // 32)
        s.gsi_count = gsi_count
        # Mark any over-allocated bits as already in use.
        for i in range(gsi_count, gsi_bits):
            set_gsi(s, i)
    s.irq_routes = []
    s.nr_allocated_irq_routes = 0
    kvm_arch_init_irq_routing(ctx, s)
