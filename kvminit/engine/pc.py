"""3. The PC machine's own init after the accelerator: memory (e820) and IRQ routes.

pc_init1() / pc_q35_init() → pc_memory_init(), then kvm_pc_setup_irq_routing()
when the IOAPIC is in the kernel. The rules are layout.py's pure functions; this
module applies them to a run and adds the e820 entries in QEMU's order.
"""

from __future__ import annotations

from kvminit.kvm.abi import KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE
from kvminit.kvm.caps import Cap

from . import layout
from . import messages as msg
from .context import RunContext, kvm_check_extension
from .cpu import GuestCpu
from .e820 import E820_RAM, E820_RESERVED
from .errors import QemuExit
from .routing import kvm_irqchip_add_irq_route, kvm_irqchip_commit_routes
from .state import KVMState


def pc_memory_init(ctx: RunContext, cpu: GuestCpu) -> layout.RamSplit:
    machine, mc = ctx.machine, ctx.mc
    split, findings = layout.ram_split(
        mc.family, machine.memory, mc.gigabyte_align, machine.max_ram_below_4g
    )
    ctx.add(findings)
    hole64 = layout.pci_hole64_size(mc.family, mc.pci_enabled)
    ctx.step("3", f"pc_memory_init(below_4g=0x{split.below_4g:x}, above_4g=0x{split.above_4g:x})")

    if cpu.vendor == "AuthenticAMD" and mc.enforce_amd_1tb_hole:
        split = layout.amd_ht_relocation(split, cpu.phys_bits, hole64)
        # Advertise the HT range when the address space covers it.
        if cpu.phys_bits >= layout.AMD_HT_MIN_PHYS_BITS:
            _add(ctx, layout.AMD_HT_START, layout.AMD_HT_SIZE, E820_RESERVED)

    refusal = layout.check_phys_bits(
        layout.max_used_gpa(split, cpu.phys_bits, hole64), cpu.phys_bits
    )
    if refusal is not None:
        raise QemuExit("3", refusal, key="phys-bits" if machine.phys_bits is not None else "memory")

    _add(ctx, 0, split.below_4g, E820_RAM)
    if split.above_4g > 0:
        _add(ctx, split.above_4g_start, split.above_4g, E820_RAM)
    return split


def _add(ctx: RunContext, address: int, length: int, type_: int) -> None:
    ret = ctx.e820.e820_add_entry(address, length, type_)
    ctx.step("3", f"e820_add_entry(0x{address:x}, 0x{length:x}, {type_})", ret)
    if ret < 0:
        raise QemuExit("3", msg.E820_TABLE_FULL, -ret)


def kvm_pc_setup_irq_routing(ctx: RunContext, s: KVMState) -> None:
    """The PC's GSI routes when the IOAPIC is in the kernel (kernel-irqchip=on)."""
    if not kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "3"):
        return
    for i in range(8):
        if i != 2:
            kvm_irqchip_add_irq_route(ctx, s, i, KVM_IRQCHIP_PIC_MASTER, i)
    for i in range(8, 16):
        kvm_irqchip_add_irq_route(ctx, s, i, KVM_IRQCHIP_PIC_SLAVE, i - 8)
    if ctx.mc.pci_enabled:
        for i in range(24):
            if i == 0:
                kvm_irqchip_add_irq_route(ctx, s, i, KVM_IRQCHIP_IOAPIC, 2)
            elif i != 2:
                kvm_irqchip_add_irq_route(ctx, s, i, KVM_IRQCHIP_IOAPIC, i)
    kvm_irqchip_commit_routes(ctx, s, "3")
