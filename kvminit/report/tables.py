"""Human-readable tables: e820 in the style of Linux's boot log, routes, hosts, machines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kvminit.engine.e820 import TYPE_NAMES, E820Entry
from kvminit.engine.result import JSON_FORMAT
from kvminit.kvm.abi import KVM_IRQ_ROUTING_IRQCHIP
from kvminit.kvm.device import RoutingEntry

if TYPE_CHECKING:
    from kvminit.engine.cpu_models import CpuModel
    from kvminit.engine.machines import MachineClass
    from kvminit.kvm.profile import HostProfile

IRQCHIP_NAMES = {0: "PIC master", 1: "PIC slave", 2: "IOAPIC"}


U64_MAX = (1 << 64) - 1


def e820_table(entries: Sequence[E820Entry]) -> str:
    """Linux's boot-log lines. A decoded blob can hold what QEMU never writes: an empty
    entry has no last byte, and one that runs past 2^64 is said to, not wrapped."""
    lines = []
    for e in entries:
        kind = TYPE_NAMES.get(e.type, f"type {e.type}")
        if e.length == 0:
            lines.append(f"[mem {e.address:#018x} empty] {kind}")
            continue
        end = e.address + e.length - 1
        if end > U64_MAX:
            lines.append(
                f"[mem {e.address:#018x}-{U64_MAX:#018x}] {kind} "
                f"(length {e.length:#x} runs past 2^64)"
            )
            continue
        lines.append(f"[mem {e.address:#018x}-{end:#018x}] {kind}")
    return "\n".join(lines)


def routes_table(routes: Sequence[RoutingEntry]) -> str:
    lines = [f"{'gsi':>4}  {'type':<8} target"]
    for r in routes:
        if r.type == KVM_IRQ_ROUTING_IRQCHIP:
            target = f"{IRQCHIP_NAMES.get(r.irqchip, r.irqchip)} pin {r.pin}"
            lines.append(f"{r.gsi:>4}  {'irqchip':<8} {target}")
        else:
            address = (r.address_hi << 32) | r.address_lo
            lines.append(f"{r.gsi:>4}  {'msi':<8} address {address:#x} data {r.data:#x}")
    return "\n".join(lines)


def hosts_table(hosts: Sequence[tuple[str, HostProfile, bool]]) -> str:
    lines = []
    for name, p, default in hosts:
        mark = " (default)" if default else ""
        lines.append(
            f"{name:<24} {p.source:<9} Linux {p.kernel_release:<8} {p.cpu_vendor:<12} "
            f"{p.phys_bits}-bit{mark}"
        )
    return "\n".join(lines)


def machines_table(classes: Sequence[MachineClass]) -> str:
    head = f"{'type':<16} {'class':<16} {'max_cpus':>8}  gigabyte_align  amd_1tb_hole  deprecated"
    lines = [head]
    for mc in classes:
        shown = mc.alias or mc.name
        lines.append(
            f"{shown:<16} {mc.name:<16} {mc.max_cpus:>8}  {mc.gigabyte_align!s:<14}  "
            f"{mc.enforce_amd_1tb_hole!s:<12}  {'yes' if mc.deprecated else ''}"
        )
    return "\n".join(lines)


def cpus_table(models: Sequence[tuple[str, CpuModel]]) -> str:
    lines = [f"{'name':<32} {'model':<24} {'vendor':<13} long-mode"]
    for name, m in models:
        vendor = "(host's)" if m.vendor is None else (m.vendor or "(none)")
        lines.append(f"{name:<32} {m.model:<24} {vendor:<13} {'yes' if m.lm else 'no'}")
    return "\n".join(lines)


# --- the same rows as JSON documents ({"format": 1, NAME: [...]}) --------------------------


def hosts_json(hosts: Sequence[tuple[str, HostProfile, bool]]) -> dict[str, object]:
    return {
        "format": JSON_FORMAT,
        "hosts": [
            {
                "name": name,
                "source": p.source,
                "kernel_release": p.kernel_release,
                "cpu_vendor": p.cpu_vendor,
                "phys_bits": p.phys_bits,
                "qemu": p.qemu,
                "default": default,
                "description": p.description,
            }
            for name, p, default in hosts
        ],
    }


def machines_json(qemu: str, classes: Sequence[MachineClass]) -> dict[str, object]:
    return {
        "format": JSON_FORMAT,
        "qemu": qemu,
        "machines": [
            {
                "type": mc.alias or mc.name,
                "class": mc.name,
                "kind": mc.kind,
                "max_cpus": mc.max_cpus,
                "gigabyte_align": mc.gigabyte_align,
                "enforce_amd_1tb_hole": mc.enforce_amd_1tb_hole,
                "deprecated": mc.deprecated,
            }
            for mc in classes
        ],
    }


def cpus_json(qemu: str, models: Sequence[tuple[str, CpuModel]]) -> dict[str, object]:
    return {
        "format": JSON_FORMAT,
        "qemu": qemu,
        "cpus": [
            {"name": name, "model": m.model, "vendor": m.vendor, "long_mode": m.lm}
            for name, m in models
        ],
    }
