"""3. The PC machine's own init after the accelerator: memory (e820) and IRQ routes.

pc_init1() / pc_q35_init() → pc_memory_init(), then kvm_pc_setup_irq_routing()
when the IOAPIC is in the kernel. Layout rules are QEMU 7.2's per machine
class; thresholds per version come from MachineClass.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvminit.kvm.abi import KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE

from . import layout
from . import messages as msg
from .context import RunContext
from .e820 import E820_RAM, E820_RESERVED
from .errors import QemuExit
from .kvm_ioctl import kvm_check_extension
from .routing import kvm_irqchip_add_irq_route, kvm_irqchip_commit_routes
from .state import KVMState

# Each model's CPUID vendor (target/i386/cpu.c builtin_x86_defs).
CPU_VENDOR = {"qemu64": "AuthenticAMD", "kvm64": "GenuineIntel", "486": "GenuineIntel"}
# Models without long mode: phys-bits is fixed (36 with PSE36, else 32).
CPU_32BIT_PHYS_BITS = {"486": 32}


@dataclass(frozen=True)
class GuestCpu:
    model: str
    vendor: str
    phys_bits: int


@dataclass(frozen=True)
class RamSplit:
    below_4g: int
    above_4g: int
    above_4g_start: int = layout.FOUR_GIB


def guest_cpu(ctx: RunContext, accel: str) -> GuestCpu:
    """The vCPU's vendor and physical address bits, as x86_cpu_realizefn settles them."""
    model = ctx.machine.cpu_model
    if model == "host" and accel != "kvm":
        raise QemuExit("3", msg.CPU_HOST_REQUIRES_KVM, key="cpu")
    # Under KVM every model reports the host's vendor (accel_uses_host_cpuid).
    vendor = ctx.host.cpu_vendor() if accel == "kvm" else CPU_VENDOR[model]
    requested = ctx.machine.phys_bits
    if model in CPU_32BIT_PHYS_BITS:
        if requested is not None:
            raise QemuExit("3", msg.PHYS_BITS_32BIT, key="phys-bits")
        return GuestCpu(model, vendor, CPU_32BIT_PHYS_BITS[model])
    if requested == "host" or (requested is None and model == "host"):
        # host-phys-bits: the host's width (`-cpu host` turns it on by default).
        bits = ctx.host.phys_bits()
    elif isinstance(requested, int):
        bits = requested
    else:
        bits = layout.DEFAULT_PHYS_BITS
    return GuestCpu(model, vendor, bits)


def ram_split(ctx: RunContext) -> RamSplit:
    """Below/above-4G RAM sizes by the machine family's rules (and their warnings)."""
    ram = ctx.machine.memory
    mc = ctx.mc
    user_limit = ctx.machine.max_ram_below_4g
    if mc.family == "q35":
        lowmem = (
            layout.Q35_LOWMEM_SPLIT if ram >= layout.Q35_LOWMEM_SMALL else layout.Q35_LOWMEM_SMALL
        )
        max_below = user_limit or layout.Q35_MAX_RAM_BELOW_4G_DEFAULT
        if lowmem > max_below:
            lowmem = max_below
            if ram - lowmem > lowmem and lowmem & (layout.GiB - 1):
                ctx.warn(msg.Q35_POOR_PERFORMANCE.format(ram=ram, limit=max_below))
    else:
        max_below = user_limit or layout.I440FX_LOWMEM_DEFAULT
        lowmem = max_below
        if ram >= max_below and mc.gigabyte_align:
            lowmem = min(lowmem, layout.I440FX_LOWMEM_GIGABYTE_ALIGNED)
            if lowmem & (layout.GiB - 1):
                ctx.warn(msg.LARGE_MACHINE_NOT_1G.format(limit=max_below))
    if ram >= lowmem:
        return RamSplit(lowmem, ram - lowmem)
    return RamSplit(ram, 0)


def pci_hole64_size(ctx: RunContext) -> int:
    if not ctx.mc.pci_enabled:
        return 0
    if ctx.mc.family == "q35":
        return layout.Q35_PCI_HOST_HOLE64_SIZE_DEFAULT
    return layout.I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT


def pc_max_used_gpa(split: RamSplit, cpu: GuestCpu, hole64: int) -> int:
    if cpu.phys_bits <= 32:
        # 32-bit systems have no 64-bit hole: the CPU's own limit.
        return (1 << cpu.phys_bits) - 1
    above_4g_end = split.above_4g_start + split.above_4g
    hole64_start = layout.round_up(above_4g_end, layout.GiB)
    return hole64_start + hole64 - 1


def pc_memory_init(ctx: RunContext, accel: str) -> RamSplit:
    machine = ctx.machine
    if machine.max_ram_below_4g is not None and machine.max_ram_below_4g < layout.MiB:
        ctx.warn(msg.MAX_RAM_BELOW_4G_TINY.format(value=machine.max_ram_below_4g))
    split = ram_split(ctx)
    cpu = guest_cpu(ctx, accel)
    hole64 = pci_hole64_size(ctx)
    ctx.step("3", f"pc_memory_init(below_4g=0x{split.below_4g:x}, above_4g=0x{split.above_4g:x})")

    if cpu.vendor == "AuthenticAMD" and ctx.mc.enforce_amd_1tb_hole:
        # Relocate RAM above 4G past the HyperTransport range when it could reach it.
        if pc_max_used_gpa(split, cpu, hole64) >= layout.AMD_HT_START:
            split = RamSplit(split.below_4g, split.above_4g, layout.AMD_ABOVE_1TB_START)
        # Advertise the HT range when the address space covers it.
        if cpu.phys_bits >= 40:
            _add(ctx, layout.AMD_HT_START, layout.AMD_HT_SIZE, E820_RESERVED)

    max_used = pc_max_used_gpa(split, cpu, hole64)
    max_phys = (1 << cpu.phys_bits) - 1
    if max_phys < max_used:
        raise QemuExit(
            "3",
            msg.PHYS_BITS_TOO_LOW.format(limit=max_phys, used=max_used, bits=cpu.phys_bits),
            key="phys-bits" if machine.phys_bits is not None else "memory",
        )

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
    if not kvm_check_extension(ctx, s, "KVM_CAP_IRQ_ROUTING", "3"):
        return
    for i in range(8):
        if i != 2:
            kvm_irqchip_add_irq_route(s, i, KVM_IRQCHIP_PIC_MASTER, i)
    for i in range(8, 16):
        kvm_irqchip_add_irq_route(s, i, KVM_IRQCHIP_PIC_SLAVE, i - 8)
    if ctx.mc.pci_enabled:
        for i in range(24):
            if i == 0:
                kvm_irqchip_add_irq_route(s, i, KVM_IRQCHIP_IOAPIC, 2)
            elif i != 2:
                kvm_irqchip_add_irq_route(s, i, KVM_IRQCHIP_IOAPIC, i)
    kvm_irqchip_commit_routes(ctx, s, "3")
