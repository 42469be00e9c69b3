"""Every message QEMU prints that kvminit reproduces, next to its condition.

A message is QEMU's text after its "qemu-system-x86_64: " program-name prefix:
the location prefix (`{loc}`, "-accel kvm: " when KVM was asked for with -accel, as
`kvminit qemu-args` writes it) and "warning: " are part of it; lines QEMU prints
with a bare fprintf are as they are. Texts that changed between versions are a
`Text` with one variant per version that changed them; 2.6's are the seed's
verbatim (tests check them against the walkthrough). `{}` fields are str.format's.
"""

from __future__ import annotations

from typing import Final

from kvminit.config.rules import MAXCPUS_LT_SMP as _MAXCPUS_LT_SMP

from .qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu


class Text:
    """A message whose words depend on the QEMU version: the newest variant not newer."""

    def __init__(self, *variants: tuple[Qemu, str]) -> None:
        self.variants = sorted(variants)

    def variant(self, qemu: Qemu) -> str:
        chosen = [text for since, text in self.variants if since <= qemu]
        if not chosen:
            raise LookupError(f"no wording for QEMU {qemu}")
        return chosen[-1]

    def __call__(self, qemu: Qemu, **fields: object) -> str:
        return self.variant(qemu).format(**fields)


# glibc's assert(): "FILE:LINE: FUNCTION: Assertion `EXPR' failed." and SIGABRT.
_FEATURE_MSRS: Final = "kvm_get_supported_feature_msrs: Assertion `msr_list.nmsrs > 0' failed."
_COMMIT_ROUTES: Final = "kvm_irqchip_commit_routes: Assertion `ret == 0' failed."
_GSI_ROUTING: Final = "kvm_pc_setup_irq_routing: Assertion `kvm_has_gsi_routing()' failed."
_ADD_IRQ_ROUTE: Final = "kvm_irqchip_add_irq_route: Assertion `pin < s->gsi_count' failed."

# 1. main(): before the accelerator
MAXCPUS_LT_SMP: Final = _MAXCPUS_LT_SMP
MACHINE_MAX_CPUS: Final = (
    "Number of SMP CPUs requested ({num}) exceeds max CPUs supported by machine '{machine}' ({max})"
)
# qemu_apply_machine_options(): no x86 machine has a kvm-type property from QEMU 7.2
KVM_TYPE_NOT_FOUND: Final = "Property '{machine}-machine.kvm-type' not found"
# vl.c: a versioned type marked deprecated (QEMU 7.2 and later)
MACHINE_DEPRECATED: Final = "warning: Machine type '{machine}' is deprecated: {reason}"
UNKNOWN_MACHINE: Final = Text(
    (QEMU_2_6, "{loc}unsupported machine type\nUse -machine help to list supported machines"),
    (QEMU_7_2, "unsupported machine type\nUse -machine help to list supported machines"),
    (QEMU_10_0, 'unsupported machine type: "{name}"\nUse -machine help to list supported machines'),
)

# 1.1 configure_accelerator(s): 2.6 names the AccelClass ("KVM"), 7.2 the option ("kvm")
ACCEL_INIT_FAILED: Final = Text(
    (QEMU_2_6, "failed to initialize {accel}: {strerror}"),
    (QEMU_7_2, "{loc}failed to initialize kvm: {strerror}"),
)
BACK_TO_ACCEL: Final = Text(
    (QEMU_2_6, "Back to {accel} accelerator."),
    (QEMU_7_2, "falling back to {accel}"),
)
NO_ACCELERATOR: Final = "No accelerator found!"

# 2.1 qemu_open("/dev/kvm"); 10.0 reports through error_report (location prefix)
KVM_OPEN_FAILED: Final = Text(
    (QEMU_2_6, "Could not access KVM kernel module: {strerror}"),
    (QEMU_10_0, "{loc}Could not access KVM kernel module: {strerror}"),
)
# 2.2 KVM_GET_API_VERSION
KVM_VERSION_TOO_OLD: Final = Text(
    (QEMU_2_6, "kvm version too old"), (QEMU_10_0, "{loc}kvm version too old")
)
KVM_VERSION_NOT_SUPPORTED: Final = Text(
    (QEMU_2_6, "kvm version not supported"), (QEMU_10_0, "{loc}kvm version not supported")
)
# 2.4 / 2.5 the vcpu limits: "SMP" (smp) then "hotpluggable" (maxcpus)
SOFT_VCPUS_LIMIT: Final = Text(
    (
        QEMU_2_6,
        "Warning: Number of {name} cpus requested ({num}) exceeds "
        "the recommended cpus supported by KVM ({limit})",
    ),
    (
        QEMU_7_2,
        "{loc}warning: Number of {name} cpus requested ({num}) exceeds "
        "the recommended cpus supported by KVM ({limit})",
    ),
)
HARD_VCPUS_LIMIT: Final = Text(
    (
        QEMU_2_6,
        "Number of {name} cpus requested ({num}) exceeds the maximum cpus supported by KVM "
        "({limit})",
    ),
    (
        QEMU_10_0,
        "{loc}Number of {name} cpus requested ({num}) exceeds the maximum cpus supported by KVM "
        "({limit})",
    ),
)
# kvm-type on a machine class without a kvm_type hook (2.6)
INVALID_KVM_TYPE: Final = "Invalid argument kvm-type={kvm_type}"
# 2.6 KVM_CREATE_VM (10.0 dropped the errno number)
CREATE_VM_FAILED: Final = Text(
    (QEMU_2_6, "ioctl(KVM_CREATE_VM) failed: {errno} {strerror}"),
    (QEMU_10_0, "{loc}ioctl(KVM_CREATE_VM) failed: {strerror}"),
)
# 2.7 the required capability lists; the note is 2.6's text in every modelled version
UPGRADE_NOTE: Final = (
    "Please upgrade to at least kernel 2.6.29 or recent kvm-kmod\n"
    "(see http://sourceforge.net/projects/kvm)."
)
MISSING_CAP: Final = Text(
    (QEMU_2_6, "kvm does not support {name}\n" + UPGRADE_NOTE),
    (QEMU_10_0, "{loc}kvm does not support {name}\n" + UPGRADE_NOTE),
)
# 2.8c manual dirty-log protect (7.2+): note the trailing space, as QEMU prints it
MANUAL_DIRTY_LOG_FAILED: Final = (
    "{loc}warning: Trying to enable capability {caps} of KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 "
    "but failed. Falling back to the legacy mode. "
)
# 2.10 kvm_arch_init (7.2+)
NO_IRQ_ROUTING: Final = "{loc}kvm: KVM_CAP_IRQ_ROUTING not supported by KVM"  # 7.2 only
EXCEPTION_PAYLOAD_FAILED: Final = "{loc}kvm: Failed to enable exception payload cap: {strerror}"
TRIPLE_FAULT_FAILED: Final = "{loc}kvm: Failed to enable triple fault event cap: {strerror}"
FEATURE_MSRS_FAILED: Final = "{loc}Fetch KVM feature MSR list failed: {strerror}"
NOTIFY_VMEXIT_FAILED: Final = "{loc}kvm: Failed to enable notify vmexit cap: {strerror}"
USER_SPACE_MSR_FAILED: Final = "{loc}Could not enable user space MSRs: {strerror}"
MSR_FILTER_FAILED: Final = "{loc}Could not install MSR_CORE_THREAD_COUNT handler: {strerror}"
SMM_NOT_SUPPORTED: Final = "{loc}System Management Mode not supported by this hypervisor."
FEATURE_MSRS_ASSERT: Final = Text(
    (QEMU_7_2, "../../target/i386/kvm/kvm.c:2265: " + _FEATURE_MSRS),
    (QEMU_10_0, "target/i386/kvm/kvm.c:2462: " + _FEATURE_MSRS),
)
IRQFD_NOT_IMPLEMENTED: Final = "kvm: irqfd not implemented"  # 10.0, bare fprintf
# 2.10.3 e820_add_entry() (2.6; 7.2 cannot fail)
E820_TABLE_FULL: Final = "e820_add_entry() table is full"
# 2.12 kvm_irqchip_create()
ENABLE_IRQCHIP_FAILED: Final = "Enable kernel irqchip failed: {strerror}"
SPLIT_NOT_SUPPORTED: Final = "Split IRQ chip mode not supported.: {strerror}"  # perror()
CREATE_IRQCHIP_FAILED: Final = "Create kernel irqchip failed: {strerror}"
# 2.12.1 kvm_arch_irqchip_create() (x86)
SPLIT_IRQCHIP_FAILED: Final = Text(
    (QEMU_2_6, "Could not enable split irqchip mode: {strerror}"),
    (QEMU_7_2, "{loc}Could not enable split irqchip mode: {strerror}"),
)
# 2.12.3.1 kvm_arch_init_irq_routing() (x86)
SPLIT_IRQ_MODE_FAILED: Final = Text(
    (QEMU_2_6, "Could not enable split IRQ mode."),
    (QEMU_7_2, "{loc}Could not enable split IRQ mode."),
)

# kvminit's own, where QEMU would hang rather than say anything.
CREATE_VM_EINTR_FOREVER: Final = (
    "KVM_CREATE_VM kept answering EINTR ({tries} tries); QEMU would retry forever"
)
# kvm_irqchip_commit_routes() asserts the kernel took the table (abort()).
# 2.6's glibc line would carry a source path the seed does not give: kvminit names the
# failed ioctl instead. 7.2+ are the binaries' lines (Debian's __FILE__ spellings).
COMMIT_ROUTES_ASSERT: Final = Text(
    (QEMU_2_6, _COMMIT_ROUTES + " (KVM_SET_GSI_ROUTING: {strerror})"),
    (QEMU_7_2, "../../accel/kvm/kvm-all.c:1773: " + _COMMIT_ROUTES),
    (QEMU_10_0, "accel/kvm/kvm-all.c:2017: " + _COMMIT_ROUTES),
)
# kvm_pc_setup_irq_routing() (7.2+) asserts the kernel has GSI routing.
GSI_ROUTING_ASSERT: Final = Text(
    (QEMU_7_2, "../../hw/i386/kvm/ioapic.c:27: " + _GSI_ROUTING),
    (QEMU_10_0, "hw/i386/kvm/ioapic.c:27: " + _GSI_ROUTING),
)
# kvm_irqchip_add_irq_route() asserts the pin fits the kernel's GSI count (abort()).
ADD_IRQ_ROUTE_ASSERT: Final = Text(
    (QEMU_2_6, _ADD_IRQ_ROUTE),
    (QEMU_7_2, "../../accel/kvm/kvm-all.c:1828: " + _ADD_IRQ_ROUTE),
    (QEMU_10_0, "accel/kvm/kvm-all.c:2072: " + _ADD_IRQ_ROUTE),
)

# 3. The board (QEMU 7.2+ wording: warn_report prints "warning: ").
HYPERTHREADING_2_6: Final = (
    "AMD CPU doesn't support hyperthreading. Please configure -smp options properly."
)
X2APIC_REQUIRED: Final = (
    "current -smp configuration requires kernel irqchip and X2APIC API support."
)
USERSPACE_APIC_DEPRECATED: Final = (
    "warning: Userspace local APIC is deprecated for KVM.\n"
    "warning: Do not use kernel-irqchip except for the -M isapc machine type."
)
USERSPACE_APIC_REFUSED: Final = "KVM does not support userspace APIC"  # 10.0
# 2.6 error_report()s its own "Warning:" (no space before the parenthesis).
LARGE_MACHINE_NOT_1G_2_6: Final = (
    "Warning: Large machine and max_ram_below_4g({limit}) not a multiple of 1G; "
    "possible bad performance."
)
LARGE_MACHINE_NOT_1G: Final = (
    "warning: Large machine and max_ram_below_4g ({limit}) not a multiple of 1G; "
    "possible bad performance."
)
Q35_POOR_PERFORMANCE: Final = (
    "warning: There is possibly poor performance as the ram size  (0x{ram:x}) is more then "
    "twice the size of max-ram-below-4g ({limit}) and max-ram-below-4g is not a multiple of 1G."
)
MAX_RAM_BELOW_4G_TINY: Final = Text(
    (QEMU_2_6, "Warning: small max_ram_below_4g({value}) less than 1M.  BIOS may not work.."),
    (
        QEMU_7_2,
        "warning: Only {value} bytes of RAM below the 4GiB boundary,"
        "BIOS may not work with less than 1MiB",
    ),
)
# i440fx_init(): range_set_bounds() on the 32-bit PCI hole asserts (abort()).
RANGE_EMPTY_ASSERT: Final = (
    "./include/qemu/range.h:{line}: range_set_bounds: Assertion `!range_is_empty(range)' failed."
)
RANGE_INVARIANT_ASSERT: Final = (
    "./include/qemu/range.h:{line}: range_invariant: "
    "Assertion `range->lob <= range->upb || range->lob == range->upb + 1' failed."
)
PHYS_BITS_TOO_LOW: Final = "Address space limit 0x{limit:x} < 0x{used:x} phys-bits too low ({bits})"
LEGACY_E820_REMOVED: Final = (
    "QEMU {qemu} has no FW_CFG_E820_TABLE item (0x8003; QEMU 7.2 removed it): "
    "firmware reads the fw_cfg file etc/e820 instead (--format blob)"
)
PHYS_BITS_32BIT: Final = "phys-bits is not user-configurable in 32 bit"
CPU_HOST_REQUIRES_KVM: Final = "CPU model 'host' requires KVM or HVF"
