"""3. The PC board after the accelerator: CPUs, memory (e820) and the IRQ routes.

pc_init1() / pc_q35_init(): the RAM split first, then the CPUs (7.2+:
x86_cpus_init; 2.6: pc_cpus_init, which asks KVM nothing kvminit models), then
kvmclock (7.2+), pc_memory_init() and, with the IOAPIC in the kernel,
kvm_pc_setup_irq_routing(). The rules are layout.py's pure functions.
"""

from __future__ import annotations

from kvminit.kvm.abi import KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE
from kvminit.kvm.caps import Cap

from . import layout
from . import messages as msg
from .context import RunContext, kvm_check_extension, kvm_vm_check_extension
from .cpu import GuestCpu, guest_cpu
from .e820 import E820_RAM, E820_RESERVED
from .errors import QemuExit
from .memory import check_hotplug, check_region, device_memory, reserved_memory_end
from .qemu import QEMU_7_2
from .routing import kvm_irqchip_add_irq_routes, kvm_irqchip_commit_routes
from .state import KVMState
from .x86_cpus import x86_cpus_init


def pc_init(ctx: RunContext) -> None:
    """The board, in QEMU's order, for the run's QEMU version."""
    machine, mc = ctx.machine, ctx.mc
    split, findings = layout.ram_split(
        ctx.qemu, mc.family, machine.memory, mc.gigabyte_align, machine.max_ram_below_4g
    )
    ctx.add(findings)
    if ctx.tracing:
        ctx.step("3", f"ram split (below_4g=0x{split.below_4g:x}, above_4g=0x{split.above_4g:x})")
    if ctx.qemu.at_least(7, 2):
        ctx.cpu = x86_cpus_init(ctx)
        if ctx.kvm_state is not None:
            kvmclock_create(ctx, ctx.kvm_state)
        if ctx.qemu.at_least(10, 0):
            # 10.0 realizes the i440fx host bridge before pc_memory_init.
            _pci_hole32(ctx, split)
    else:
        cpu, cpu_findings = guest_cpu(
            ctx.qemu,
            machine.cpu or mc.default_cpu,
            ctx.accel or "tcg",
            machine.vendor,
            machine.phys_bits,
            ctx.host.cpu_vendor(),
            ctx.host.phys_bits(),
        )
        ctx.add(cpu_findings)
        ctx.cpu = cpu
        topo = ctx.topology
        if topo is not None and topo.threads > 1 and cpu.vendor != "GenuineIntel":
            # x86_cpu_realizefn (2.6): any vendor but Intel, topoext or not.
            ctx.warn(msg.HYPERTHREADING_2_6, "threads")
    pc_memory_init(ctx, split, ctx.cpu)
    if ctx.qemu == QEMU_7_2:
        _pci_hole32(ctx, split)  # 7.2's i440fx_init comes after pc_memory_init
    s = ctx.kvm_state
    if ctx.qemu.at_least(10, 0) and mc.family == "q35":
        smm_enabled(ctx)  # 10.0's q35 host bridge asks before pc_gsi_create (pc_q35.c:224)
    if s is not None and s.kernel_irqchip and not s.split_irqchip:
        kvm_pc_setup_irq_routing(ctx, s)
    if mc.pci_enabled:
        smm_enabled(ctx)  # the i440fx PM device (ACPI is always on in kvminit) or ICH9 LPC


def smm_enabled(ctx: RunContext) -> bool:
    """x86_machine_is_smm_enabled() (2.6: pc_machine_is_smm_enabled()), as the board's
    power management asks it: TCG has SMM, KVM when the kernel says so; `on` without it
    ends the run."""
    smm = ctx.machine.smm or "auto"
    if ctx.accel == "kvm" and ctx.mc.kvm_smm_off:
        smm = "off"
    if smm == "off":
        return False
    s = ctx.kvm_state
    if ctx.accel != "kvm":
        available = True
    elif s is None:
        available = False
    elif ctx.qemu.at_least(7, 2):
        available = kvm_vm_check_extension(ctx, s, Cap.KVM_CAP_X86_SMM, "3.7") > 0
    else:
        available = kvm_check_extension(ctx, s, Cap.KVM_CAP_X86_SMM, "3.7") > 0
    if not available and smm == "on":
        raise QemuExit("3.7", msg.SMM_NOT_SUPPORTED.format(loc=""), key="smm")
    return available


def _pci_hole32(ctx: RunContext, split: layout.RamSplit) -> None:
    abort = layout.pci_hole32_assertion(ctx.qemu, ctx.mc.family, split.below_4g)
    if abort is not None:
        raise QemuExit("3", abort, key="max-ram-below-4g")


def kvmclock_create(ctx: RunContext, s: KVMState) -> None:
    """kvmclock's realize asks for KVM_CAP_ADJUST_CLOCK (7.2 twice, around KVM_GET_CLOCK)."""
    if ctx.unobserved:
        return  # nothing here uses the answers
    kvm_check_extension(ctx, s, Cap.KVM_CAP_ADJUST_CLOCK, "3.5")
    ctx.step("3.5", "kvm_vm_ioctl(KVM_GET_CLOCK) (not modelled)")
    if not ctx.qemu.at_least(10, 0):
        kvm_check_extension(ctx, s, Cap.KVM_CAP_ADJUST_CLOCK, "3.5")


def pc_memory_init(ctx: RunContext, split: layout.RamSplit, cpu: GuestCpu) -> layout.RamSplit:
    """RAM's e820 entries; from 7.1 the AMD relocation and reservation, and phys-bits."""
    machine, mc = ctx.machine, ctx.mc
    mem = ctx.memory
    assert mem is not None, "pc_memory_init before -m is read"
    if ctx.tracing:
        ctx.step(
            "3", f"pc_memory_init(below_4g=0x{split.below_4g:x}, above_4g=0x{split.above_4g:x})"
        )

    def devmem_at(at: layout.RamSplit) -> layout.DeviceMemory | None:
        return device_memory(mem, at, mc.has_reserved_memory, mc.enforce_aligned_dimm)

    if ctx.qemu.at_least(7, 2):
        hole64 = layout.pci_hole64_size(mc.family, mc.pci_enabled)

        def max_used(at: layout.RamSplit) -> int:
            return layout.max_used_gpa(
                ctx.qemu,
                at,
                cpu.lm,
                cpu.phys_bits,
                hole64,
                broken_32bit_mem_addr_check=mc.broken_32bit_mem_addr_check,
                devmem=devmem_at(at),
                broken_reserved_end=mc.broken_reserved_end,
            )

        if cpu.vendor == "AuthenticAMD" and mc.enforce_amd_1tb_hole:
            split = layout.amd_ht_relocation(split, max_used(split))
            # Advertise the HT range when the address space covers it.
            if cpu.phys_bits >= layout.AMD_HT_MIN_PHYS_BITS:
                _add(ctx, layout.AMD_HT_START, layout.AMD_HT_SIZE, E820_RESERVED)
        refusal = layout.check_phys_bits(max_used(split), cpu.phys_bits)
        if refusal is not None:
            if machine.phys_bits is not None:
                key = "phys-bits"
            else:
                key = "maxmem" if mem.hotplug and mc.has_reserved_memory else "memory"
            raise QemuExit("3", refusal, key=key)
    _add(ctx, 0, split.below_4g, E820_RAM)
    if split.above_4g > 0:
        _add(ctx, split.above_4g_start, split.above_4g, E820_RAM)
    check_hotplug(mc.name, mem, mc.has_reserved_memory)
    devmem = devmem_at(split)
    if devmem is not None:
        check_region(devmem, mem)
        ctx.reserved_memory_end = reserved_memory_end(devmem, mc.broken_reserved_end)
    return split


def _add(ctx: RunContext, address: int, length: int, type_: int) -> None:
    ret = ctx.e820.e820_add_entry(address, length, type_)
    if ctx.tracing:
        ctx.step("3", f"e820_add_entry(0x{address:x}, 0x{length:x}, {type_})", ret)
    if ret < 0:
        raise QemuExit("3", msg.E820_TABLE_FULL, -ret)


def kvm_pc_setup_irq_routing(ctx: RunContext, s: KVMState) -> None:
    """The PC's GSI routes when the IOAPIC is in the kernel (kernel-irqchip=on).

    2.6 skips them when the kernel has no routing; 7.2+ asserts it has (it is required).
    """
    if not kvm_check_extension(ctx, s, Cap.KVM_CAP_IRQ_ROUTING, "3.6"):
        if ctx.qemu.at_least(7, 2):
            raise QemuExit("3.6", msg.GSI_ROUTING_ASSERT(ctx.qemu))
        return
    routes, max_pin = _PC_ROUTES if ctx.mc.pci_enabled else _PIC_ROUTES
    kvm_irqchip_add_irq_routes(ctx, s, routes, max_pin)
    kvm_irqchip_commit_routes(ctx, s, "3.6")


# kvm_pc_setup_irq_routing()'s (irq, irqchip, pin) in its order: the PICs, then the IOAPIC;
# each with its largest pin, the one QEMU's assertion is about.
_PIC = (
    *((i, KVM_IRQCHIP_PIC_MASTER, i) for i in range(8) if i != 2),
    *((i, KVM_IRQCHIP_PIC_SLAVE, i - 8) for i in range(8, 16)),
)
_PC = (
    *_PIC,
    (0, KVM_IRQCHIP_IOAPIC, 2),
    *((i, KVM_IRQCHIP_IOAPIC, i) for i in range(1, 24) if i != 2),
)
_PIC_ROUTES = _PIC, max(pin for _, _, pin in _PIC)
_PC_ROUTES = _PC, max(pin for _, _, pin in _PC)
