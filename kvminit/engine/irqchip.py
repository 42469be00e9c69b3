"""2.12 kvm_irqchip_create() and 2.12.3 kvm_init_irq_routing()."""

from __future__ import annotations

from kvminit.kvm.abi import KVM_CAPS

from . import messages as msg
from .context import RunContext, strerror
from .errors import QemuExit
from .kvm_ioctl import kvm_check_extension, kvm_vm_ioctl
from .kvm_x86 import kvm_arch_init_irq_routing, kvm_arch_irqchip_create
from .routing import set_gsi
from .state import KVMState


def kvm_irqchip_create(ctx: RunContext, s: KVMState) -> None:
    vm = s.vm
    assert vm is not None
    if kvm_check_extension(ctx, s, "KVM_CAP_IRQCHIP", "2.12"):
        pass
    elif kvm_check_extension(ctx, s, "KVM_CAP_S390_IRQCHIP", "2.12"):
        cap = KVM_CAPS["KVM_CAP_S390_IRQCHIP"]
        ret = kvm_vm_ioctl(
            ctx, "2.12", "kvm_vm_enable_cap(KVM_CAP_S390_IRQCHIP, 0)", lambda: vm.enable_cap(cap)
        )
        if ret < 0:
            raise QemuExit(
                "2.12",
                msg.ENABLE_IRQCHIP_FAILED.format(strerror=strerror(ret)),
                -ret,
                key="kernel-irqchip",
            )
    else:
        return

    # First the arch-specific hook; x86 creates a split irqchip there.
    ret = kvm_arch_irqchip_create(ctx, s)
    if ret == 0:
        # (The split case cannot reach here on x86: the hook handled it.)
        ret = kvm_vm_ioctl(ctx, "2.12.2", "kvm_vm_ioctl(KVM_CREATE_IRQCHIP)", vm.create_irqchip)
    if ret < 0:
        raise QemuExit(
            "2.12.2",
            msg.CREATE_IRQCHIP_FAILED.format(strerror=strerror(ret)),
            -ret,
            key="kernel-irqchip",
        )

    s.kernel_irqchip = True
    # An in-kernel IRQ chip implies asynchronous interrupt delivery.
    s.async_interrupts_allowed = True
    s.halt_in_kernel_allowed = True

    kvm_init_irq_routing(ctx, s)


def kvm_init_irq_routing(ctx: RunContext, s: KVMState) -> None:
    gsi_count = kvm_check_extension(ctx, s, "KVM_CAP_IRQ_ROUTING", "2.12.3") - 1
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
