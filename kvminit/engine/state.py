"""KVMState as the seed's diagram lays it out (0.1 KVMState), the trace, and InitError."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from kvminit.config import Finding
from kvminit.kvm.device import Kvm, RoutingEntry, VmFd


class TraceStep(NamedTuple):
    # A tuple: a run records ~60 of them, and a batch runs thousands.
    step: str
    call: str
    result: int | str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "call": self.call, "result": self.result}


@dataclass
class KVMState:
    """What kvm_init leaves in `kvm_state`, plus the x86 globals it sets."""

    fd: int = -1
    vmfd: int = -1
    vm_type: int = 0
    immediate_exit: int = 0  # kvm_immediate_exit (7.2+)
    nr_slots: int = 0
    nr_as: int = 0  # address spaces (7.2+: KVM_CAP_MULTI_ADDRESS_SPACE, at least 1)
    soft_vcpus_limit: int = 0
    hard_vcpus_limit: int = 0
    coalesced_mmio: int = 0
    coalesced_pio: int = 0  # 7.2+
    manual_dirty_log_protect: int = 0  # 7.2+: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled
    broken_set_mem_region: int = 1
    vcpu_events: int = 0
    robust_singlestep: int = 0
    debugregs: int = 0
    max_nested_state_len: int = 0  # 7.2+: KVM_CAP_NESTED_STATE
    direct_msi: bool = False  # kvm_direct_msi_allowed
    intx_set_mask: int = 0
    irq_set_ioctl: str = "KVM_IRQ_LINE"
    readonly_mem: bool = False  # kvm_readonly_mem_allowed
    eventfds: bool = False  # kvm_eventfds_allowed
    irqfds: bool = False  # kvm_irqfds_allowed
    resamplefds: bool = False  # kvm_resamplefds_allowed
    vm_attributes: bool = False  # kvm_vm_attributes_allowed
    ioeventfd_any_length: bool = False  # kvm_ioeventfd_any_length_allowed
    guest_debug: bool = False  # 7.2+: kvm_has_guest_debug
    sstep_flags: int = 0  # 7.2+: KVM_CAP_SET_GUEST_DEBUG2
    guest_memfd: bool = False  # 10.0: kvm_guest_memfd_supported
    memory_attributes: int = 0  # 10.0: KVM_CAP_MEMORY_ATTRIBUTES (VM fd)
    sync_mmu: int = 0  # 7.2+: KVM_CAP_SYNC_MMU (VM fd)
    binary_stats: bool = False  # 7.2+: KVM_CAP_BINARY_STATS_FD
    # 2.10 kvm_arch_init (target-i386/kvm.c globals)
    xsave: int = 0
    xcrs: int = 0
    pit_state2: int = 0
    sregs2: bool = False  # 7.2+: has_sregs2
    hv_vpindex_settable: int = 0  # 7.2+
    exception_payload: int = 0  # 7.2+: has_exception_payload (enabled when non-zero)
    triple_fault_event: int = 0  # 7.2+: enabled when non-zero
    msr_indices: list[int] = field(default_factory=list)
    feature_msrs: list[int] = field(default_factory=list)  # 7.2+: kvm_feature_msrs
    has_msr: dict[str, bool] = field(default_factory=dict)
    lm_capable_kernel: bool = False
    identity_base: int = 0
    tss_addr: int = 0
    unpoison_registered: bool = False
    nr_mmu_pages: int | None = None
    smm: bool = False
    notify_vmexit: int = 0  # 7.2+: KVM_CAP_X86_NOTIFY_VMEXIT (enabled when non-zero)
    user_space_msr: bool = False  # 7.2+: MSR filter for MSR_CORE_THREAD_COUNT installed
    max_apic_id: int = 0  # 7.2+: KVM_CAP_MAX_VCPU_ID enabled with the board's apic_id_limit
    x2apic_api: bool = False  # 7.2+: KVM_CAP_X2APIC_API enabled (more than 255 APIC IDs)
    # 2.11 / 2.12 irqchip and routing
    kernel_irqchip: bool = False
    split_irqchip: bool = False
    async_interrupts_allowed: bool = False
    halt_in_kernel_allowed: bool = False
    msi_via_irqfd_allowed: bool = False
    gsi_routing_allowed: bool = False
    no_hpet: bool = False
    gsi_count: int = 0
    used_gsi_bitmap: list[int] = field(default_factory=list)
    nr_allocated_irq_routes: int = 0
    irq_routes: list[RoutingEntry] = field(default_factory=list)
    # The live handles while the VM exists (not part of the report).
    kvm: Kvm | None = field(default=None, repr=False, compare=False)
    vm: VmFd | None = field(default=None, repr=False, compare=False)

    @property
    def used_gsi(self) -> list[int]:
        return [
            word_index * 32 + bit
            for word_index, word in enumerate(self.used_gsi_bitmap)
            for bit in range(32)
            if word >> bit & 1
        ]

    def detached(self) -> KVMState:
        """A copy without the live handles that shares nothing mutable with this one."""
        copy = KVMState.__new__(KVMState)
        copy.__dict__.update(self.__dict__)
        copy.msr_indices = list(self.msr_indices)
        copy.feature_msrs = list(self.feature_msrs)
        copy.has_msr = dict(self.has_msr)
        copy.used_gsi_bitmap = list(self.used_gsi_bitmap)
        copy.irq_routes = list(self.irq_routes)
        copy.kvm = copy.vm = None
        return copy

    def close(self) -> None:
        """The err: label's closes: the VM fd, then the system fd."""
        if self.vm is not None:
            self.vm.close()
            self.vm = None
        if self.kvm is not None:
            self.kvm.close()
            self.kvm = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for live in ("kvm", "vm", "irq_routes", "used_gsi_bitmap"):
            out.pop(live, None)
        out["used_gsi_bitmap"] = list(self.used_gsi_bitmap)
        out["used_gsi"] = self.used_gsi
        # struct kvm_irq_routing's header; its entries are the top-level "routing" list.
        out["irq_routes"] = {"nr": len(self.irq_routes), "flags": 0}
        return out


@dataclass(frozen=True)
class InitError:
    """Where and how the run stopped, in QEMU's words, at the key it comes from."""

    step: str
    message: str
    errno: int | None = None
    key: str | None = None  # the machine-file key the failure comes from, if any
    line: int | None = None  # that key's line
    hint: str | None = None  # kvminit's own advice ("did you mean ..."), never QEMU's words
    option: str | None = None  # the QEMU option the key came from (a converted command line)

    @property
    def finding(self) -> Finding:
        return Finding(self.message, self.key, self.line, self.hint, self.option)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "message": self.message,
            "errno": self.errno,
            "key": self.key,
            "line": self.line,
            "hint": self.hint,
            **({"option": self.option} if self.option is not None else {}),
        }
