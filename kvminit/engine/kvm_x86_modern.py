"""2.10 kvm_arch_init() and the x86 irqchip hooks as QEMU 7.2 and 10.0 run them.

target/i386/kvm/kvm.c of those versions. New since the seed: exception-payload and
triple-fault events enabled, the feature-MSR list, notify VM exits, user-space MSR
exits with a filter for MSR_CORE_THREAD_COUNT, SMM asked on the VM fd as well.
"""

from __future__ import annotations

import errno

from kvminit.kvm.abi import KVM_MSR_FILTER_DEFAULT_ALLOW, KVM_MSR_FILTER_READ
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import MsrFilterRange
from kvminit.kvm.errors import KvmError

from . import messages as msg
from .context import (
    RunContext,
    kvm_check_extension,
    kvm_get_msr_list,
    kvm_vm_check_extension,
    kvm_vm_enable_cap,
    kvm_vm_ioctl,
    strerror,
)
from .e820 import E820_RESERVED
from .errors import KvmInitError, QemuExit
from .kvm_x86 import IOAPIC_NUM_PINS, SUPPORTED_MSR_FLAGS
from .layout import IDENTITY_BASE_DEFAULT, IDENTITY_BASE_MOVED, IDENTITY_MAP_SIZE, TSS_OFFSET
from .routing import kvm_irqchip_add_msi_route_batched, kvm_irqchip_commit_routes
from .state import KVMState

KVM_MSR_EXIT_REASON_FILTER = 1 << 2
MSR_CORE_THREAD_COUNT = 0x35
# KVM_X86_NOTIFY_VMEXIT_ENABLED | KVM_X86_NOTIFY_VMEXIT_USER, notify-window 0
NOTIFY_VMEXIT_DEFAULT = 1 | 2


def kvm_arch_init_7_2(ctx: RunContext, s: KVMState) -> None:
    """Raises KvmInitError where kvm_arch_init returns ret < 0, QemuExit where it exits."""
    # 2.10a sev_kvm_init(): nothing without a confidential guest
    # 2.10b KVM_CAP_IRQ_ROUTING is required, with a message of its own
    if not kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "2.10b"):
        raise KvmInitError("2.10b", -errno.ENOTSUP, [msg.NO_IRQ_ROUTING.format(loc=ctx.loc)])
    # 2.10c
    s.xsave = kvm_check_extension(ctx, s, Cap.KVM_CAP_XSAVE, "2.10c")
    s.xcrs = kvm_check_extension(ctx, s, Cap.KVM_CAP_XCRS, "2.10c")
    s.pit_state2 = kvm_check_extension(ctx, s, Cap.KVM_CAP_PIT_STATE2, "2.10c")
    s.sregs2 = kvm_check_extension(ctx, s, Cap.KVM_CAP_SREGS2, "2.10c") > 0
    s.hv_vpindex_settable = kvm_check_extension(ctx, s, Cap.KVM_CAP_HYPERV_VP_INDEX, "2.10c")
    _exception_payload(ctx, s, "2.10d")
    _triple_fault_event(ctx, s, "2.10e")
    _supported_msrs(ctx, s)
    _feature_msrs(ctx, s, fatal=False)
    s.lm_capable_kernel = ctx.host.uname_machine() == "x86_64"
    ctx.step("2.10.1b", "uname()", ctx.host.uname_machine())
    # 2.10.1c the identity map moves up when the kernel lets it
    identity_base = IDENTITY_BASE_DEFAULT
    if kvm_check_extension(ctx, s, Cap.KVM_CAP_SET_IDENTITY_MAP_ADDR, "2.10.1c"):
        identity_base = IDENTITY_BASE_MOVED
        _set_identity_map(ctx, s, identity_base, "2.10.1c")
    _tss_and_e820(ctx, s, identity_base)
    _shadow_mem(ctx, s)
    _smm(ctx, s, "2.10.6")
    _notify_vmexit(ctx, s, "2.10.9")
    _user_space_msr(ctx, s, "2.10.10")


def kvm_arch_init_10_0(ctx: RunContext, s: KVMState) -> None:
    """10.0: XSAVE, IRQ_ROUTING and SET_IDENTITY_MAP_ADDR are required caps now."""
    s.xsave = 1
    s.xcrs = kvm_check_extension(ctx, s, Cap.KVM_CAP_XCRS, "2.10")
    s.sregs2 = kvm_check_extension(ctx, s, Cap.KVM_CAP_SREGS2, "2.10b") > 0
    s.hv_vpindex_settable = kvm_check_extension(ctx, s, Cap.KVM_CAP_HYPERV_VP_INDEX, "2.10c")
    _exception_payload(ctx, s, "2.10d")
    _triple_fault_event(ctx, s, "2.10e")
    # 2.10f Xen emulation: only with xen-version, which no machine file sets
    _supported_msrs(ctx, s)
    _feature_msrs(ctx, s, fatal=True)
    s.lm_capable_kernel = ctx.host.uname_machine() == "x86_64"
    ctx.step("2.10", "uname()", ctx.host.uname_machine())
    _set_identity_map(ctx, s, IDENTITY_BASE_MOVED, "2.10")
    _tss_and_e820(ctx, s, IDENTITY_BASE_MOVED)
    _shadow_mem(ctx, s)
    _smm(ctx, s, "2.10.5a")
    _notify_vmexit(ctx, s, "2.10.5d")
    _user_space_msr(ctx, s, "2.10.5e")


def _exception_payload(ctx: RunContext, s: KVMState, step: str) -> None:
    s.exception_payload = kvm_check_extension(ctx, s, Cap.KVM_CAP_EXCEPTION_PAYLOAD, step)
    if s.exception_payload:
        ret = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_EXCEPTION_PAYLOAD, step, 1)
        if ret < 0:
            line = msg.EXCEPTION_PAYLOAD_FAILED.format(loc=ctx.loc, strerror=strerror(ret))
            raise KvmInitError(step, ret, [line])


def _triple_fault_event(ctx: RunContext, s: KVMState, step: str) -> None:
    s.triple_fault_event = kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_TRIPLE_FAULT_EVENT, step)
    if s.triple_fault_event:
        ret = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_X86_TRIPLE_FAULT_EVENT, step, 1)
        if ret < 0:
            line = msg.TRIPLE_FAULT_FAILED.format(loc=ctx.loc, strerror=strerror(ret))
            raise KvmInitError(step, ret, [line])


def _supported_msrs(ctx: RunContext, s: KVMState) -> None:
    """2.10.1 kvm_get_supported_msrs(): a failure returns to err: without a message."""
    kvm = s.kvm
    assert kvm is not None, "kvm_get_supported_msrs before 2.1"
    try:
        indices = kvm_get_msr_list(ctx, "2.10.1", "KVM_GET_MSR_INDEX_LIST", kvm.msr_index_list)
    except KvmError as e:
        raise KvmInitError("2.10.1", -e.errno, []) from None
    s.msr_indices = indices
    present = set(indices)
    s.has_msr = {name: index in present for name, index in SUPPORTED_MSR_FLAGS}


def _feature_msrs(ctx: RunContext, s: KVMState, *, fatal: bool) -> None:
    """2.10.1a kvm_get_supported_feature_msrs(): 7.2 prints and goes on, 10.0 fails init."""
    kvm = s.kvm
    assert kvm is not None, "kvm_get_supported_feature_msrs before 2.1"
    if not kvm_check_extension(ctx, s, Cap.KVM_CAP_GET_MSR_FEATURES, "2.10.1a"):
        return
    name = "KVM_GET_MSR_FEATURE_INDEX_LIST"

    def failed(e: KvmError) -> None:
        line = msg.FEATURE_MSRS_FAILED.format(loc=ctx.loc, strerror=e.strerror)
        if fatal:
            raise KvmInitError("2.10.1a", -e.errno, [line]) from None
        ctx.warn(line)

    try:
        needed = len(kvm.msr_feature_index_list(0))
        ctx.step("2.10.1a", f"kvm_ioctl({name}, nmsrs=0)", 0)
    except KvmError as e:
        ctx.step("2.10.1a", f"kvm_ioctl({name}, nmsrs=0)", -e.errno)
        if e.errno != errno.E2BIG:
            return failed(e)
        needed = e.needed or 0
    if not needed:
        # QEMU asserts the kernel lists at least one (assert(msr_list.nmsrs > 0)).
        raise QemuExit("2.10.1a", msg.FEATURE_MSRS_ASSERT(ctx.qemu))
    try:
        indices = kvm.msr_feature_index_list(needed)
    except KvmError as e:
        ctx.step("2.10.1a", f"kvm_ioctl({name}, nmsrs={needed})", -e.errno)
        return failed(e)
    ctx.step("2.10.1a", f"kvm_ioctl({name}, nmsrs={needed})", len(indices))
    s.feature_msrs = indices


def _set_identity_map(ctx: RunContext, s: KVMState, base: int, step: str) -> None:
    vm = s.vm
    assert vm is not None, "KVM_SET_IDENTITY_MAP_ADDR before 2.6"
    call = f"kvm_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR, 0x{base:x})"
    ret = kvm_vm_ioctl(ctx, step, call, lambda: vm.set_identity_map_addr(base))
    if ret < 0:
        raise KvmInitError(step, ret, [])


def _tss_and_e820(ctx: RunContext, s: KVMState, identity_base: int) -> None:
    """2.10.2 the TSS one page after the identity map; 2.10.3 its e820 reservation."""
    vm = s.vm
    assert vm is not None, "KVM_SET_TSS_ADDR before 2.6"
    s.identity_base = identity_base
    s.tss_addr = tss = identity_base + TSS_OFFSET
    ret = kvm_vm_ioctl(
        ctx, "2.10.2", f"kvm_vm_ioctl(KVM_SET_TSS_ADDR, 0x{tss:x})", lambda: vm.set_tss_addr(tss)
    )
    if ret < 0:
        raise KvmInitError("2.10.2", ret, [])
    # QEMU 7.2 dropped the legacy table: this cannot fail, and it stays after an err: path.
    ret = ctx.e820.e820_add_entry(identity_base, IDENTITY_MAP_SIZE, E820_RESERVED)
    ctx.step(
        "2.10.3",
        f"e820_add_entry(0x{identity_base:x}, 0x{IDENTITY_MAP_SIZE:x}, E820_RESERVED)",
        ret,
    )


def _shadow_mem(ctx: RunContext, s: KVMState) -> None:
    """2.10.5 kvm-shadow-mem: KVM_SET_NR_MMU_PAGES; a refusal is err: without a message."""
    vm = s.vm
    assert vm is not None, "KVM_SET_NR_MMU_PAGES before 2.6"
    shadow_mem = ctx.machine.kvm_shadow_mem
    ctx.step("2.10.5", "kvm-shadow-mem", -1 if shadow_mem is None else shadow_mem)
    if shadow_mem is None:
        return
    pages = shadow_mem // 4096
    call = f"kvm_vm_ioctl(KVM_SET_NR_MMU_PAGES, {pages})"
    ret = kvm_vm_ioctl(ctx, "2.10.5", call, lambda: vm.set_nr_mmu_pages(pages))
    if ret < 0:
        raise KvmInitError("2.10.5", ret, [], key="kvm-shadow-mem")
    s.nr_mmu_pages = pages


def _smm(ctx: RunContext, s: KVMState, step: str) -> None:
    """SMM when the kernel has it and the machine wants it (x86_machine_is_smm_enabled)."""
    if not kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_SMM, step):
        return
    smm = ctx.machine.smm or "auto"
    if smm == "off":
        return
    if not kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_X86_SMM, step):
        if smm == "on":
            raise QemuExit(step, msg.SMM_NOT_SUPPORTED.format(loc=ctx.loc), key="smm")
        return
    s.smm = True  # the "kvm-smram" listener is registered at machine-init-done


def _notify_vmexit(ctx: RunContext, s: KVMState, step: str) -> None:
    # notify-vmexit is "run" (no machine file sets it): both versions ask, then enable.
    s.notify_vmexit = kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_NOTIFY_VMEXIT, step)
    if s.notify_vmexit:
        ret = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_X86_NOTIFY_VMEXIT, step, NOTIFY_VMEXIT_DEFAULT)
        if ret < 0:
            line = msg.NOTIFY_VMEXIT_FAILED.format(loc=ctx.loc, strerror=strerror(ret))
            raise KvmInitError(step, ret, [line])


def _user_space_msr(ctx: RunContext, s: KVMState, step: str) -> None:
    """User-space MSR exits, and the filter that sends MSR_CORE_THREAD_COUNT to QEMU."""
    vm = s.vm
    assert vm is not None, "KVM_X86_SET_MSR_FILTER before 2.6"
    if not kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_X86_USER_SPACE_MSR, step):
        return
    ret = kvm_vm_enable_cap(
        ctx, s, Cap.KVM_CAP_X86_USER_SPACE_MSR, step, KVM_MSR_EXIT_REASON_FILTER
    )
    if ret:
        raise QemuExit(
            step, msg.USER_SPACE_MSR_FAILED.format(loc=ctx.loc, strerror=strerror(ret)), -ret
        )
    ranges = [MsrFilterRange(KVM_MSR_FILTER_READ, 1, MSR_CORE_THREAD_COUNT, bytes(8))]
    call = "kvm_vm_ioctl(KVM_X86_SET_MSR_FILTER, MSR_CORE_THREAD_COUNT)"
    filtered = kvm_vm_ioctl(
        ctx, step, call, lambda: vm.set_msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, ranges)
    )
    if filtered:
        # 7.2 formats the enable's result (0: "Success"), 10.0 the filter's own error.
        shown = filtered if ctx.qemu.at_least(10, 0) else ret
        raise QemuExit(
            step, msg.MSR_FILTER_FAILED.format(loc=ctx.loc, strerror=strerror(shown)), -filtered
        )
    s.user_space_msr = True


def kvm_arch_irqchip_create(ctx: RunContext, s: KVMState) -> int:
    """2.12.1: split irqchip through KVM_ENABLE_CAP; 1 when done, 0 to fall back."""
    if ctx.kernel_irqchip != "split":
        ctx.step("2.12.1", "kvm_arch_irqchip_create()", 0)
        return 0
    ret = kvm_vm_enable_cap(ctx, s, Cap.KVM_CAP_SPLIT_IRQCHIP, "2.12.1", IOAPIC_NUM_PINS)
    if ret:
        message = msg.SPLIT_IRQCHIP_FAILED(ctx.qemu, loc=ctx.loc, strerror=strerror(ret))
        raise QemuExit("2.12.1", message, -ret, key="kernel-irqchip")
    s.split_irqchip = True
    return 1


def kvm_arch_init_irq_routing_modern(ctx: RunContext, s: KVMState) -> None:
    """2.12.3.1: the split irqchip's 24 MSI routes, committed once (7.2+)."""
    s.msi_via_irqfd_allowed = True
    s.gsi_routing_allowed = True
    if not s.split_irqchip:
        return
    for _ in range(IOAPIC_NUM_PINS):
        if kvm_irqchip_add_msi_route_batched(s, 0, 0) < 0:
            raise QemuExit(
                "2.12.3.1",
                msg.SPLIT_IRQ_MODE_FAILED(ctx.qemu, loc=ctx.loc),
                key="kernel-irqchip",
            )
    kvm_irqchip_commit_routes(ctx, s, "2.12.3.1")
