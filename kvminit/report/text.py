"""Text for people: the `run` summary, the `--trace` outline, stderr lines, `boot`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvminit.config.sizes import format_size
from kvminit.engine import InitResult

from .tables import e820_table

if TYPE_CHECKING:
    from kvminit.fromqemu import Converted
    from kvminit.smoke.runner import BootReport


def stderr_lines(r: InitResult) -> list[str]:
    """What QEMU would print (and the host note), one message per entry, in order."""
    lines = [note for note in (r.host_note, r.qemu_note) if note]
    lines += [w.message for w in r.warnings]
    if r.error is not None:
        lines.append(r.error.message)
        if r.error.hint:
            lines.append(r.error.hint)
    return lines


def option_lines(r: InitResult) -> list[str]:
    """stderr_lines for a converted command line: each finding at the option it came from
    (unless QEMU's own words already name it)."""
    lines = [note for note in (r.host_note, r.qemu_note) if note]
    findings = [*r.warnings, *([r.error.finding] if r.error is not None else [])]
    for f in findings:
        located = f.option and not f.message.startswith("-")
        lines.append(f"{f.option}: {f.message}" if located else f.message)
        if f.hint:
            lines.append(f.hint)
    return lines


def from_qemu_lines(c: Converted, verbose: bool) -> list[str]:
    """What `from-qemu` says about a conversion: QEMU's notes, each option that may change
    the result, the -cpu features dropped, and one line for the rest (or, verbose, all)."""
    lines = [f"from-qemu: {note}" for note in c.notes]
    lines += [
        f"from-qemu: not modelled, may change the result: {left.option} ({left.why})"
        for left in c.may_affect
    ]
    if c.dropped_cpu_features:
        features = ",".join(c.dropped_cpu_features)
        lines.append(f"from-qemu: -cpu features dropped, they cannot change the result: {features}")
    summary = c.summary()
    if summary is not None:
        lines.append(f"from-qemu: {summary}" + ("" if verbose else "; --verbose lists them"))
    if verbose:
        lines += [f"from-qemu: left out: {left.option}" for left in c.no_effect]
    return lines


def answered_by(r: InitResult) -> str:
    """The comment line that names the machine class, accelerator and host of a table."""
    machine = r.machine_class.name if r.machine_class else r.machine.type
    return (
        f"# {machine}, QEMU {r.qemu}, {r.accel or 'no accelerator'}, "
        f"{r.host_kind} host {r.host_name}"
    )


def _flags(pairs: list[tuple[str, object]]) -> str:
    on = [name for name, value in pairs if value]
    off = [name for name, value in pairs if not value]
    return ", ".join(on) + (f"  (not: {', '.join(off)})" if off else "")


def summary(r: InitResult) -> str:
    m, mc = r.machine, r.machine_class
    name = f"{m.name}: " if m.name else ""
    type_ = m.type if mc is None or m.type == mc.name else f"{m.type} ({mc.name})"
    kind = f", {mc.kind}" if mc else ""
    t = r.topology
    cpus = f"smp {t.cpus} (maxcpus {t.max_cpus})" if t else f"smp {m.smp}"
    cpu = r.cpu.model if r.cpu else (m.cpu or (mc.default_cpu if mc else "?"))
    out = [
        f"machine   {name}{type_}{kind}; {format_size(m.memory)} RAM, {cpus}, "
        f"kernel-irqchip {m.kernel_irqchip or 'default'}, cpu {cpu}",
        f"qemu      {r.qemu}",
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
    if r.cpu is not None:
        out.append(f"vcpu      {r.cpu.vendor}, {r.cpu.phys_bits} physical address bits")
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


def boot_summary(report: BootReport, machine_path: str) -> str:
    from kvminit.engine.e820 import E820_RAM
    from kvminit.smoke import guest

    r = report.result
    ram = [e for e in r.e820 if e.type == E820_RAM]
    slots = ", ".join(f"{a:#x}+{n:#x}" for a, n in report.slots)
    verdict = "identical to" if report.identical else "DIFFERENT from"
    return "\n".join(
        [
            f"boot      {machine_path}: {r.machine_class.name if r.machine_class else '?'} "
            f"(QEMU {r.qemu}) on {r.host_name}",
            f"vcpus     {report.vcpus} created; vCPU 0 ran the guest",
            f"memory    {len(report.slots)} slot(s) for {len(ram)} RAM region(s): {slots}",
            f"exits     {report.exits} handled in {report.seconds * 1e3:.1f} ms",
            f"guest     {guest.done_reason(report.done_code)}; "
            f"{report.bytes_read} fw_cfg bytes read, {len(report.guest_output)} written",
            f"result    {verdict} `kvminit e820 --format blob` ({len(report.expected)} bytes)",
        ]
    )


def boot_failure(report: BootReport) -> str | None:
    """Why the guest did not read kvminit's etc/e820 bytes, or None when it did."""
    from kvminit.smoke import guest

    if report.identical:
        return None
    if report.done_code == 0:
        return "the guest did not read the etc/e820 bytes kvminit generated"
    return f"the guest stopped with code {report.done_code}: {guest.done_reason(report.done_code)}"


def qemu_option_lines(args: list[str]) -> str:
    """`kvminit qemu-args` output: one option and its shell-quoted value per line."""
    import shlex

    return "\n".join(f"{args[i]} {shlex.quote(args[i + 1])}" for i in range(0, len(args), 2))
