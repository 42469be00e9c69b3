"""2.10 kvm_arch_init() and the x86 irqchip hooks: target-i386/kvm.c (QEMU 2.6)."""

from __future__ import annotations

from kvminit.kvm.caps import Cap
from kvminit.kvm.errors import KvmError

from . import messages as msg
from .context import RunContext, kvm_check_extension, kvm_get_msr_list, kvm_vm_ioctl
from .e820 import E820_RESERVED
from .errors import KvmInitError, QemuExit, irqchip_exit
from .layout import IDENTITY_BASE_DEFAULT, IDENTITY_BASE_MOVED, IDENTITY_MAP_SIZE, TSS_OFFSET
from .routing import kvm_irqchip_add_msi_route
from .state import KVMState

IOAPIC_NUM_PINS = 24

# MSRs whose presence kvm_get_supported_msrs() records (target-i386/cpu.h, hyperv.h).
SUPPORTED_MSR_FLAGS: tuple[tuple[str, int], ...] = (
    ("star", 0xC0000081),  # MSR_STAR
    ("hsave_pa", 0xC0010117),  # MSR_VM_HSAVE_PA
    ("tsc_aux", 0xC0000103),  # MSR_TSC_AUX
    ("tsc_adjust", 0x3B),  # MSR_TSC_ADJUST
    ("tsc_deadline", 0x6E0),  # MSR_IA32_TSCDEADLINE
    ("smbase", 0x9E),  # MSR_IA32_SMBASE
    ("misc_enable", 0x1A0),  # MSR_IA32_MISC_ENABLE
    ("bndcfgs", 0xD90),  # MSR_IA32_BNDCFGS
    ("xss", 0xDA0),  # MSR_IA32_XSS
    ("hv_crash", 0x40000105),  # HV_X64_MSR_CRASH_CTL
    ("hv_reset", 0x40000003),  # HV_X64_MSR_RESET
    ("hv_vpindex", 0x40000002),  # HV_X64_MSR_VP_INDEX
    ("hv_runtime", 0x40000010),  # HV_X64_MSR_VP_RUNTIME
    ("hv_synic", 0x40000080),  # HV_X64_MSR_SCONTROL
    ("hv_stimer", 0x400000B0),  # HV_X64_MSR_STIMER0_CONFIG
)


_check = kvm_check_extension


def kvm_get_supported_msrs(ctx: RunContext, s: KVMState) -> None:
    """2.10.1: the MSR index list and the has_msr_* flags derived from it.

    QEMU's first KVM_GET_MSR_INDEX_LIST (nmsrs = 0) expects E2BIG with the count; an
    error of either call is returned through kvm_arch_init to err:, E2BIG included.
    """
    kvm = s.kvm
    assert kvm is not None, "kvm_get_supported_msrs before 2.1"
    try:
        indices = kvm_get_msr_list(ctx, "2.10.1", "KVM_GET_MSR_INDEX_LIST", kvm.msr_index_list)
    except KvmError as e:
        raise KvmInitError("2.10.1", -e.errno, []) from None
    s.msr_indices = indices
    present = set(indices)
    s.has_msr = {name: index in present for name, index in SUPPORTED_MSR_FLAGS}


def kvm_arch_init(ctx: RunContext, s: KVMState) -> None:
    """Raises KvmInitError where the seed's kvm_arch_init returns ret < 0."""
    vm = s.vm
    assert vm is not None, "kvm_arch_init before 2.6"
    identity_base = IDENTITY_BASE_DEFAULT

    s.xsave = _check(ctx, s, Cap.KVM_CAP_XSAVE, "2.10")
    s.xcrs = _check(ctx, s, Cap.KVM_CAP_XCRS, "2.10")
    s.pit_state2 = _check(ctx, s, Cap.KVM_CAP_PIT_STATE2, "2.10")

    kvm_get_supported_msrs(ctx, s)

    s.lm_capable_kernel = ctx.host.uname_machine() == "x86_64"
    ctx.step("2.10", "uname()", ctx.host.uname_machine())

    if _check(ctx, s, Cap.KVM_CAP_SET_IDENTITY_MAP_ADDR, "2.10"):
        identity_base = IDENTITY_BASE_MOVED
        call = f"kvm_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR, 0x{identity_base:x})"
        ret = kvm_vm_ioctl(ctx, "2.10", call, lambda: vm.set_identity_map_addr(IDENTITY_BASE_MOVED))
        if ret < 0:
            raise KvmInitError("2.10", ret, [])
    s.identity_base = identity_base

    # 2.10.2 TSS one page after the EPT identity map
    s.tss_addr = identity_base + TSS_OFFSET
    tss_addr = s.tss_addr
    call = f"kvm_vm_ioctl(KVM_SET_TSS_ADDR, 0x{tss_addr:x})"
    ret = kvm_vm_ioctl(ctx, "2.10.2", call, lambda: vm.set_tss_addr(tss_addr))
    if ret < 0:
        raise KvmInitError("2.10.2", ret, [])

    # 2.10.3 tell fw_cfg to notify the BIOS to reserve the range
    ret = ctx.e820.e820_add_entry(identity_base, IDENTITY_MAP_SIZE, E820_RESERVED)
    ctx.step(
        "2.10.3",
        f"e820_add_entry(0x{identity_base:x}, 0x{IDENTITY_MAP_SIZE:x}, E820_RESERVED)",
        ret,
    )
    if ret < 0:
        raise KvmInitError("2.10.3", ret, [msg.E820_TABLE_FULL])

    # 2.10.4
    s.unpoison_registered = True
    ctx.step("2.10.4", "qemu_register_reset(kvm_unpoison_all)")

    # 2.10.5 machine_kvm_shadow_mem(): -1 unless kvm-shadow-mem is set
    shadow_mem = ctx.machine.kvm_shadow_mem
    ctx.step("2.10.5", "machine_kvm_shadow_mem()", -1 if shadow_mem is None else shadow_mem)
    if shadow_mem is not None:
        pages = shadow_mem // 4096
        call = f"kvm_vm_ioctl(KVM_SET_NR_MMU_PAGES, {pages})"
        ret = kvm_vm_ioctl(ctx, "2.10.5", call, lambda: vm.set_nr_mmu_pages(pages))
        if ret < 0:
            raise KvmInitError("2.10.5", ret, [], key="kvm-shadow-mem")
        s.nr_mmu_pages = pages

    if _check(ctx, s, Cap.KVM_CAP_X86_SMM, "2.10"):
        s.smm = True  # smram_machine_done: register_smram_listener at machine-init-done


def kvm_arch_irqchip_create(ctx: RunContext, s: KVMState) -> int:
    """2.12.1: split irqchip through KVM_ENABLE_CAP; 1 when done, 0 to fall back."""
    vm = s.vm
    assert vm is not None, "kvm_arch_irqchip_create before 2.6"
    if ctx.kernel_irqchip != "split":
        ctx.step("2.12.1", "kvm_arch_irqchip_create()", 0)
        return 0
    cap = Cap.KVM_CAP_SPLIT_IRQCHIP
    call = "kvm_vm_enable_cap(KVM_CAP_SPLIT_IRQCHIP, 0, 24)"
    ret = kvm_vm_ioctl(ctx, "2.12.1", call, lambda: vm.enable_cap(cap, [IOAPIC_NUM_PINS]))
    if ret:
        raise irqchip_exit("2.12.1", msg.SPLIT_IRQCHIP_FAILED.variant(ctx.qemu), ret)
    s.split_irqchip = True
    return 1


def kvm_arch_init_irq_routing(ctx: RunContext, s: KVMState) -> None:
    """2.12.3.1: no_hpet without routing; the split irqchip's 24 MSI routes."""
    if not _check(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "2.12.3.1"):
        # The IOAPIC in the kernel cannot take the 0->2 interrupt source override.
        s.no_hpet = True
    # In-kernel irqchip: irqfds, MSI via irqfd and GSI routing can be used.
    s.msi_via_irqfd_allowed = True
    s.gsi_routing_allowed = True
    if s.split_irqchip:
        # The IOAPIC is in QEMU and the LAPICs in KVM: reserve MSI routes for its pins.
        for _ in range(IOAPIC_NUM_PINS):
            if kvm_irqchip_add_msi_route(ctx, s, 0, 0, "2.12.3.1") < 0:
                raise QemuExit(
                    "2.12.3.1", msg.SPLIT_IRQ_MODE_FAILED(ctx.qemu), key="kernel-irqchip"
                )
