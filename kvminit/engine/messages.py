"""Every message QEMU prints that kvminit reproduces, next to its condition.

Texts are the seed's (QEMU 2.6) verbatim, without the trailing newline; tests
check them against the walkthrough. `{}` fields are filled with str.format.
"""

from __future__ import annotations

from typing import Final

from kvminit.config.model import MAXCPUS_LT_SMP as _MAXCPUS_LT_SMP

# 1. main(): before the accelerator
MAXCPUS_LT_SMP: Final = _MAXCPUS_LT_SMP
MACHINE_MAX_CPUS: Final = (
    "Number of SMP CPUs requested ({num}) exceeds max CPUs supported by machine '{machine}' ({max})"
)

# 1.1 configure_accelerator(): the AccelClass names are "KVM" and "tcg"
ACCEL_INIT_FAILED: Final = "failed to initialize {accel}: {strerror}"
BACK_TO_ACCEL: Final = "Back to {accel} accelerator."
NO_ACCELERATOR: Final = "No accelerator found!"

# 2.1 qemu_open("/dev/kvm")
KVM_OPEN_FAILED: Final = "Could not access KVM kernel module: {strerror}"
# 2.2 KVM_GET_API_VERSION
KVM_VERSION_TOO_OLD: Final = "kvm version too old"
KVM_VERSION_NOT_SUPPORTED: Final = "kvm version not supported"
# 2.4 / 2.5 the vcpu limits
SOFT_VCPUS_LIMIT: Final = (
    "Warning: Number of {name} cpus requested ({num}) exceeds "
    "the recommended cpus supported by KVM ({limit})"
)
HARD_VCPUS_LIMIT: Final = (
    "Number of {name} cpus requested ({num}) exceeds the maximum cpus supported by KVM ({limit})"
)
# kvm-type on a machine class without a kvm_type hook
INVALID_KVM_TYPE: Final = "Invalid argument kvm-type={kvm_type}"
# 2.6 KVM_CREATE_VM
CREATE_VM_FAILED: Final = "ioctl(KVM_CREATE_VM) failed: {errno} {strerror}"
# 2.7 the required capability lists
UPGRADE_NOTE: Final = (
    "Please upgrade to at least kernel 2.6.29 or recent kvm-kmod\n"
    "(see http://sourceforge.net/projects/kvm)."
)
MISSING_CAP: Final = "kvm does not support {name}\n" + UPGRADE_NOTE
# 2.10.3 e820_add_entry()
E820_TABLE_FULL: Final = "e820_add_entry() table is full"
# 2.12 kvm_irqchip_create()
ENABLE_IRQCHIP_FAILED: Final = "Enable kernel irqchip failed: {strerror}"
SPLIT_NOT_SUPPORTED: Final = "Split IRQ chip mode not supported.: {strerror}"  # perror()
CREATE_IRQCHIP_FAILED: Final = "Create kernel irqchip failed: {strerror}"
# 2.12.1 kvm_arch_irqchip_create() (x86)
SPLIT_IRQCHIP_FAILED: Final = "Could not enable split irqchip mode: {strerror}"
# 2.12.3.1 kvm_arch_init_irq_routing() (x86)
SPLIT_IRQ_MODE_FAILED: Final = "Could not enable split IRQ mode."

# kvminit's own, where QEMU would hang rather than say anything.
CREATE_VM_EINTR_FOREVER: Final = (
    "KVM_CREATE_VM kept answering EINTR ({tries} tries); QEMU would retry forever"
)
# kvm_irqchip_commit_routes() asserts the kernel took the table (abort()).
COMMIT_ROUTES_ASSERT: Final = "kvm_irqchip_commit_routes: Assertion `ret == 0' failed."

# 3. The machine's init (QEMU 7.2's wording: warn_report prints "warning: ").
LARGE_MACHINE_NOT_1G: Final = (
    "warning: Large machine and max_ram_below_4g ({limit}) not a multiple of 1G; "
    "possible bad performance."
)
Q35_POOR_PERFORMANCE: Final = (
    "warning: There is possibly poor performance as the ram size  (0x{ram:x}) is more then "
    "twice the size of max-ram-below-4g ({limit}) and max-ram-below-4g is not a multiple of 1G."
)
MAX_RAM_BELOW_4G_TINY: Final = (
    "warning: Only {value} bytes of RAM below the 4GiB boundary,"
    "BIOS may not work with less than 1MiB"
)
PHYS_BITS_TOO_LOW: Final = "Address space limit 0x{limit:x} < 0x{used:x} phys-bits too low ({bits})"
PHYS_BITS_32BIT: Final = "phys-bits is not user-configurable in 32 bit"
CPU_HOST_REQUIRES_KVM: Final = "CPU model 'host' requires KVM or HVF"
LEGACY_E820_REMOVED: Final = (
    "QEMU 7.2 removed the FW_CFG_E820_TABLE item (0x8003) for machine type '{machine}'; "
    "firmware reads the fw_cfg file etc/e820 instead (--format blob)"
)
# kvm_irqchip_add_irq_route() asserts the pin fits the kernel's GSI count (abort()).
ADD_IRQ_ROUTE_ASSERT: Final = "kvm_irqchip_add_irq_route: Assertion `pin < s->gsi_count' failed."
