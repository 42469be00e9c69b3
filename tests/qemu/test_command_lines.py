"""`kvminit from-qemu` on hand-written command lines that probe QEMU's option reading.

Each line is compared with each real QEMU twice (lines.py):
* `converted`: as the libvirt corpus is, QEMU running `kvminit qemu-args` of the
  conversion (or, for a line kvminit refuses to read, the options as written);
* `as-written`: QEMU running the line's machine-level options exactly as written,
  so a value from-qemu misreads (a hex size, a repeated key, a spelling QEMU
  refuses) shows up as a different verdict, message or etc/e820.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from . import harness
from .binaries import FOUND
from .lines import Line, Plan, compare, plan

HOST_AND_PHYS_BITS = (
    "with host-phys-bits=on and phys-bits=39 under KVM, QEMU uses the host's 48 bits and "
    'still warns "Host physical bits (48) does not match phys-bits property (39)"; '
    'fromqemu.py cpu_option() keeps only phys-bits = "host", so kvminit does not warn'
)

BOTH = ("7.2", "10.0")
AS_WRITTEN = ("as-written",)


def known(reason: str, *versions: str, runs: tuple[str, ...] = ("converted", "as-written")) -> Any:
    return {(v, r): reason for v in versions or BOTH for r in runs}


# (id, command line, {(version, run): why kvminit disagrees}). Lines whose RAM this host
# cannot allocate (QEMU's "cannot set up guest memory") are left out: that is the host.
LINES: list[tuple[str, str, dict[tuple[str, str], str]]] = [
    ("irqchip-underscore", "-machine pc,kernel_irqchip=split -accel kvm", {}),
    ("M-enable-kvm", "-M q35 -enable-kvm -m 2G", {}),
    ("machine-accel-list", "-machine q35,accel=kvm:tcg -m 1G", {}),
    ("machine-accel-and-accel", "-machine pc,accel=kvm -accel tcg", {}),
    ("enable-kvm-and-accel", "-enable-kvm -accel tcg", {}),
    ("machine-accel-tcg-enable-kvm", "-machine q35,accel=tcg -enable-kvm", {}),
    ("machine-accel-tcg-kvm-6G", "-machine pc,accel=tcg:kvm -m 6G", {}),
    ("m-fraction", "-m 3.9G -accel tcg", {}),
    ("m-fraction-exact", "-m 1.5G -accel tcg", {}),
    ("m-hex", "-m 0x400 -accel tcg", {}),
    ("m-hex-4G", "-m 0x1000 -accel tcg", {}),
    ("m-bare", "-m 1024 -accel tcg", {}),
    ("m-bare-fraction", "-m 1.5 -accel tcg", {}),
    ("m-small-k", "-m 512k -accel tcg", {}),
    ("m-zero", "-m 0 -accel tcg", {}),
    ("m-twice", "-m 1G -m 2G -accel tcg", {}),
    ("m-size-keys", "-m size=1G,slots=2,maxmem=4G -accel tcg", {}),
    ("m-size-twice", "-m 1G,size=2G -accel tcg", {}),
    ("m-slots-only", "-m 1G,slots=2 -accel tcg", {}),
    ("m-maxmem-only", "-m 1G,maxmem=4G -accel tcg", {}),
    ("m-slots-300", "-m 1G,slots=300,maxmem=4G -accel tcg", {}),
    ("m-empty-size", "-m size= -accel tcg", {}),
    ("m-not-a-size", "-m foo -accel tcg", {}),
    ("m-hotplug-old-type", "-machine pc-i440fx-1.4 -m 1G,slots=2,maxmem=2G -accel tcg", {}),
    ("smp-zero-socket", "-smp 4,sockets=0 -accel tcg", {}),
    ("smp-keys", "-smp cpus=2,maxcpus=4,cores=2 -accel kvm", {}),
    ("smp-twice", "-smp 2 -smp 4 -accel tcg", {}),
    ("smp-hex", "-smp 0x4 -accel tcg", {}),
    ("smp-octal", "-smp 010 -accel tcg", {}),
    ("smp-books", "-smp 2,books=1 -accel tcg", {}),
    ("smp-drawers", "-smp 2,drawers=2 -accel tcg", {}),
    ("smp-modules", "-smp 4,modules=2 -accel tcg", {}),
    ("smp-clusters", "-smp 2,clusters=2 -accel tcg", {}),
    ("smp-not-a-number", "-smp two -accel tcg", {}),
    ("smp-bare-key", "-smp 2,cores -accel tcg", {}),
    ("smp-dies-7.2-type", "-smp 2,dies=2 -machine pc-i440fx-7.2 -accel tcg", {}),
    ("smp-full", "-smp 4,maxcpus=8,sockets=2,cores=2,threads=2 -accel kvm", {}),
    ("smp-q35-300-on", "-smp 1,maxcpus=300 -machine q35 -accel kvm", {}),
    ("smp-q35-300-split", "-smp 1,maxcpus=300 -machine q35,kernel-irqchip=split -accel kvm", {}),
    ("cpu-lm-physbits", "-cpu qemu64,phys-bits=39,+lm -accel tcg", {}),
    ("cpu-physbits-hex", "-cpu qemu64,phys-bits=0x27 -accel tcg", {}),
    ("cpu-host-physbits-kvm", "-cpu qemu64,host-phys-bits=on -accel kvm", {}),
    ("cpu-host-physbits-tcg", "-cpu qemu64,host-phys-bits=on -accel tcg", {}),
    ("cpu-vendor", "-cpu Haswell,vendor=AuthenticAMD -accel tcg -m 1G", {}),
    ("cpu-vendor-space", "-m 1G -cpu qemu64,vendor=Libvirt\\ QEMU -accel tcg", {}),
    ("cpu-twice", "-cpu qemu64 -cpu pentium,phys-bits=36 -accel tcg", {}),
    ("cpu-host-tcg", "-cpu host -accel tcg", {}),
    (
        "cpu-intel-1T",
        "-cpu qemu64,vendor=GenuineIntel,phys-bits=52 -accel tcg -m 1G,slots=1,maxmem=1T",
        {},
    ),
    ("mrb", "-machine pc,max-ram-below-4g=2G -m 4G -accel tcg", {}),
    ("mrb-underscore-q35", "-machine type=q35,max_ram_below_4g=1G -m 2G -accel tcg", {}),
    (
        "mrb-both-spellings",
        "-machine pc,max_ram_below_4g=1G,max-ram-below-4g=2G -accel tcg",
        {},
    ),
    ("mrb-zero", "-machine pc,max-ram-below-4g=0 -accel tcg", {}),
    ("mrb-not-a-size", "-machine pc,max-ram-below-4g=abc -accel tcg", {}),
    ("mrb-negative", "-machine pc,max-ram-below-4g=-1 -accel tcg", {}),
    ("mrb-too-big", "-machine pc,max-ram-below-4g=4097M -accel tcg", {}),
    ("smm-on-kvm", "-machine pc,smm=on -accel kvm", {}),
    ("smm-on-kvm-tcg", "-machine pc,smm=on -accel kvm -accel tcg", {}),
    ("smm-bad-value", "-machine pc,smm=maybe -accel tcg", {}),
    ("machine-twice", "-machine pc -machine q35 -accel tcg", {}),
    ("irqchip-accel-wins", "-machine pc,kernel-irqchip=off -accel kvm,kernel-irqchip=split", {}),
    ("irqchip-tcg-accel", "-accel tcg,kernel-irqchip=on", {}),
    ("irqchip-bad-kvm", "-machine pc,kernel-irqchip=maybe -accel kvm", {}),
    ("irqchip-bad-tcg", "-machine pc,kernel-irqchip=maybe -accel tcg", {}),
    ("irqchip-short-bool", "-accel kvm,kernel-irqchip -m 1G", {}),
    ("irqchip-machine-bare", "-machine pc,kernel-irqchip -accel kvm", {}),
    ("shadow-accel", "-accel kvm,kvm-shadow-mem=268435456", {}),
    ("shadow-suffix-kvm", "-machine pc,kvm-shadow-mem=256M -accel kvm", {}),
    ("shadow-suffix-tcg", "-machine pc,kvm-shadow-mem=256M -accel tcg", {}),
    ("shadow-fallback", "-machine pc,kvm-shadow-mem=65536 -accel kvm -accel tcg", {}),
    ("accel-twice", "-accel tcg -accel kvm", {}),
    ("no-accel", "-m 1G", {}),
    ("kvm-type", "-machine pc,kvm-type=foo -accel kvm", {}),
    ("isapc-4G-kvm", "-machine isapc -accel kvm -m 4G", {}),
    ("isapc-irqchip-off-kvm", "-machine isapc,kernel-irqchip=off -accel kvm", {}),
    ("irqchip-off-kvm", "-accel kvm -machine pc,kernel-irqchip=off", {}),
    (
        "irqchip-machine-true",
        "-machine pc,kernel-irqchip=true -accel kvm",
        {},
    ),
    ("irqchip-accel-true", "-accel kvm,kernel-irqchip=true", {}),
    ("irqchip-accel-upper", "-accel kvm,kernel-irqchip=ON", {}),
    (
        "irqchip-both-spellings",
        "-machine pc,kernel_irqchip=on,kernel-irqchip=off -accel kvm",
        {},
    ),
    (
        "irqchip-machine-and-accel",
        "-machine pc,kernel-irqchip=on -accel kvm,kernel-irqchip=off",
        {},
    ),
    ("irqchip-enable-kvm", "-machine pc,accel=kvm,kernel-irqchip=split -enable-kvm", {}),
    ("smm-true", "-machine pc,smm=true -accel tcg", {}),
    ("smm-off-kvm", "-M pc,smm=off -accel kvm", {}),
    ("smm-machine-accel", "-machine pc,smm=on,accel=tcg", {}),
    ("physbits-not-a-number", "-cpu qemu64,phys-bits=abc -accel tcg", {}),
    ("physbits-negative", "-cpu qemu64,phys-bits=-1 -accel tcg", {}),
    ("physbits-300", "-cpu qemu64,phys-bits=300 -accel tcg", {}),
    (
        "host-physbits-maybe",
        "-cpu qemu64,host-phys-bits=maybe -accel kvm",
        {},
    ),
    ("host-physbits-yes", "-cpu qemu64,host-phys-bits=yes -accel kvm", {}),
    (
        "host-physbits-and-physbits",
        "-cpu qemu64,phys-bits=39,host-phys-bits=on -accel kvm",
        known(HOST_AND_PHYS_BITS, runs=AS_WRITTEN),
    ),
    ("host-physbits-off", "-cpu host,host-phys-bits=off,phys-bits=40 -accel kvm", {}),
    ("cpu-twice-vendor", "-cpu qemu64,vendor=GenuineIntel -cpu kvm64 -accel tcg", {}),
    ("cpu-epyc-intel-q35", "-machine q35 -m 4G -cpu EPYC,vendor=GenuineIntel -accel kvm", {}),
    ("cpu-max-kvm", "-cpu max -accel kvm", {}),
    ("cpu-feature", "-cpu EPYC-Rome,+invtsc -accel kvm", {}),
    ("smp-cpus-twice", "-smp 4,cpus=2 -accel tcg", {}),
    ("smp-maxcpus-below", "-smp cpus=4,maxcpus=2 -accel tcg", {}),
    ("smp-threads-epyc", "-smp 2,threads=2 -cpu EPYC -accel tcg", {}),
    ("smp-threads-kvm", "-smp 2,threads=2 -accel kvm", {}),
    ("smp-q35-4096", "-smp 1,maxcpus=4096 -machine q35 -accel tcg", {}),
    ("smp-q35-4097", "-smp 1,maxcpus=4097 -machine q35 -accel tcg", {}),
    ("smp-pc-256", "-M pc-i440fx-10.0 -smp 256 -accel tcg", {}),
    ("mrb-fraction-q35", "-machine q35,max-ram-below-4g=1.5G -m 4G -accel tcg", {}),
    ("mrb-hex", "-m 2G -machine pc,max-ram-below-4g=0x80000000 -accel tcg", {}),
    ("mrb-warns-kvm", "-m 4G -machine pc,max-ram-below-4g=2560M -accel kvm", {}),
    ("type-4.0.1", "-machine pc-q35-4.0.1 -accel kvm", {}),
    ("type-1.7-4G", "-machine pc-i440fx-1.7 -m 4G -accel tcg", {}),
    ("kvm-type-tcg", "-machine pc,kvm-type=x -accel tcg", {}),
    ("accel-kvm-twice", "-accel kvm -accel kvm", {}),
    ("machine-accel-kvm-twice", "-machine pc,accel=kvm:kvm", {}),
    ("hotplug-isapc", "-m 1G,maxmem=2G,slots=1 -machine isapc -accel tcg", {}),
    ("hotplug-1T-tcg", "-m 4G,slots=4,maxmem=1T -cpu qemu64,phys-bits=40 -accel tcg", {}),
]

RUNS = ("converted", "as-written")


def _params() -> list[Any]:
    out = []
    for found in FOUND:
        version = str(found.qemu)
        for name, text, why in LINES:
            line = Line(name, "qemu-system-x86_64", tuple(shlex.split(text)))
            for run in RUNS:
                p = plan(found, run, line, line.argv, as_written_run=run == "as-written")
                if run == "as-written" and p.converted is None:
                    continue  # a refusal already runs the options as written
                marks: list[pytest.MarkDecorator] = []
                if p.job is None:
                    marks.append(pytest.mark.skip(reason=p.why or "nothing to run"))
                else:
                    marks.append(pytest.mark.qemu_jobs(p.job))
                    reason = why.get((version, run))
                    if reason is not None:
                        marks.append(pytest.mark.xfail(strict=True, reason=reason))
                out.append(pytest.param(p, id=f"{version}-{run}-{name}", marks=marks))
    return out


@pytest.mark.parametrize("p", _params())
def test_command_line(p: Plan) -> None:
    diffs, theirs = compare(p)
    assert not diffs, harness.report(diffs, theirs, f"line: {shlex.join(p.argv)}")
