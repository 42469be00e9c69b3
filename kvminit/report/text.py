"""The `run` summary and the `--trace` outline."""

from __future__ import annotations

from kvminit.config.sizes import format_size
from kvminit.engine import InitResult

from .tables import e820_table


def _flags(pairs: list[tuple[str, object]]) -> str:
    on = [name for name, value in pairs if value]
    off = [name for name, value in pairs if not value]
    return ", ".join(on) + (f"  (not: {', '.join(off)})" if off else "")


def summary(r: InitResult) -> str:
    m, mc = r.machine, r.machine_class
    name = f"{m.name}: " if m.name else ""
    type_ = m.type if m.type == mc.name else f"{m.type} ({mc.name})"
    out = [
        f"machine   {name}{type_}, {mc.kind}; {format_size(m.memory)} RAM, smp {m.smp} "
        f"(maxcpus {m.max_cpus}), kernel-irqchip {m.kernel_irqchip}, cpu {m.cpu}",
        f"host      {r.host_kind} {r.host_name}",
    ]
    if not r.ok:
        assert r.error is not None
        out.append(f"result    FAILED at step {r.error.step}")
        return "\n".join(out)
    if r.accel == "tcg":
        out.append("accel     tcg (no KVMState)")
    s = r.kvm_state
    if s is not None:
        out += [
            f"accel     KVM initialised (fd {s.fd}, vmfd {s.vmfd})",
            f"limits    nr_slots {s.nr_slots}, vCPUs recommended {s.soft_vcpus_limit}, "
            f"maximum {s.hard_vcpus_limit}",
            "caps      "
            + _flags(
                [
                    (f"coalesced_mmio={s.coalesced_mmio}", s.coalesced_mmio),
                    ("vcpu_events", s.vcpu_events),
                    ("robust_singlestep", s.robust_singlestep),
                    ("debugregs", s.debugregs),
                    ("direct_msi", s.direct_msi),
                    ("intx_set_mask", s.intx_set_mask),
                    ("readonly_mem", s.readonly_mem),
                    ("eventfds", s.eventfds),
                    ("irqfds", s.irqfds),
                    ("resamplefds", s.resamplefds),
                    ("vm_attributes", s.vm_attributes),
                    ("ioeventfd_any_length", s.ioeventfd_any_length),
                    ("working set_mem_region", not s.broken_set_mem_region),
                ]
            ),
            f"          irq_set_ioctl {s.irq_set_ioctl}",
            "x86       "
            + _flags(
                [
                    ("xsave", s.xsave),
                    ("xcrs", s.xcrs),
                    ("pit_state2", s.pit_state2),
                    ("smm", s.smm),
                    ("lm_capable_kernel", s.lm_capable_kernel),
                ]
            ),
            f"          identity map {s.identity_base:#x}, TSS {s.tss_addr:#x}, "
            f"{len(s.msr_indices)} MSRs"
            + (f", {s.nr_mmu_pages} MMU pages" if s.nr_mmu_pages is not None else ""),
        ]
        if s.kernel_irqchip:
            mode = "split (LAPICs in KVM, IOAPIC in QEMU)" if s.split_irqchip else "in kernel"
            out.append(
                f"irqchip   {mode}; gsi_count {s.gsi_count}, "
                f"{len(r.routing)} routes committed" + (", no_hpet" if s.no_hpet else "")
            )
        else:
            out.append("irqchip   in QEMU (kernel-irqchip off or unsupported)")
    if r.guest_cpu_vendor:
        out.append(f"vcpu      {r.guest_cpu_vendor}, {r.guest_phys_bits} physical address bits")
    out.append("e820      " + e820_table(r.e820).replace("\n", "\n          "))
    return "\n".join(out)


def trace_outline(r: InitResult) -> str:
    lines = []
    headings = {"2": "2 kvm_init()", "3": "3 machine init (pc_init1 / pc_q35_init)"}
    for t in r.trace:
        section = t.step.split(".")[0]
        if section in headings:
            heading = headings.pop(section)
            if t.step != section or section == "3":
                lines.append(heading)
        depth = t.step.count(".") + (section == "3")
        result = "" if t.result is None else f" → {t.result}"
        lines.append(f"{'  ' * depth}{t.step} {t.call}{result}")
    return "\n".join(lines)
