"""QEMU's -smp rules as pure functions: the confirmed rows of every version, smp_arg, APIC IDs.

The 7.2 and 10.0 rows are the -smp stage of rows of the research table that ran the real
binaries (Debian 7.2+dfsg-7+deb12u18, 10.0.2), named by their case id; the expected
topology is what `qom-get /machine smp` answered. Later stages (KVM's vCPU limits, the
hyper-threading warning, APIC realize) are not part of this stage and are left out. The
2.6 rows follow vl.c smp_parse() (no 2.6 binary: the source rules).
"""

from __future__ import annotations

import pytest

from kvminit.config import Finding
from kvminit.engine.errors import QemuExit
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.engine.smp import (
    SmpMachine,
    SmpRequest,
    Topology,
    apic_id,
    apic_id_limit,
    parse_smp,
    smp_arg,
)

T = Topology  # (cpus, max_cpus, sockets, dies, clusters, modules, cores, threads)


# (case id, -machine, -smp, key, expected): `expected` is the settled topology or the
# refusal's message (after "qemu-system-x86_64: "); `key` is the refusal's machine-file key,
# or for a topology the key of 7.2's zero warning (None: no warning).
Row = tuple[str, str, str, str | None, Topology | str]

PRODUCT = "Invalid CPU topology: product of the hierarchy must match maxcpus: "
LT_SMP = "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
ZERO_10 = "Invalid CPU topology: CPU topology parameters must be greater than zero"
W72 = (
    "warning: Deprecated CPU topology (considered invalid): "
    "CPU topology parameters must be greater than zero"
)
SIGFPE_PARSE_SMP_CONFIG = (
    "QEMU would crash here: SIGFPE in machine_parse_smp_config(), a division by zero "
    "because the -smp values multiply to a multiple of 2**32"
)
SIGFPE_SMP_PARSE = (
    "QEMU would crash here: SIGFPE in smp_parse(), a division by zero "
    "because the -smp values multiply to a multiple of 2**32"
)


def _machines(qemu: Qemu, types: list[tuple[str, str, int, bool]]) -> dict[str, SmpMachine]:
    """-machine value -> (MachineClass name, max_cpus, prefer_sockets); PC supports dies
    in 7.2 and 10.0, and modules in 10.0 (2.6 has neither)."""
    dies, modules = qemu.at_least(7, 2), qemu.at_least(10, 0)
    return {t: SmpMachine(name, mx, pref, dies, modules) for t, name, mx, pref in types}


MACHINES: dict[Qemu, dict[str, SmpMachine]] = {
    QEMU_2_6: _machines(
        QEMU_2_6, [("pc", "pc-i440fx-2.6", 255, False), ("isapc", "isapc", 1, False)]
    ),
    QEMU_7_2: _machines(
        QEMU_7_2,
        [
            ("pc", "pc-i440fx-7.2", 255, False),
            ("q35", "pc-q35-7.2", 288, False),
            ("isapc", "isapc", 1, False),
            ("pc-i440fx-6.2", "pc-i440fx-6.2", 255, False),
            ("pc-i440fx-6.1", "pc-i440fx-6.1", 255, True),
            ("pc-i440fx-2.4", "pc-i440fx-2.4", 255, True),
            ("pc-q35-7.2", "pc-q35-7.2", 288, False),
            ("pc-q35-6.2", "pc-q35-6.2", 288, False),
            ("pc-q35-6.1", "pc-q35-6.1", 288, True),
            ("pc-q35-2.8", "pc-q35-2.8", 288, True),
            ("pc-q35-2.7", "pc-q35-2.7", 255, True),
        ],
    ),
    QEMU_10_0: _machines(
        QEMU_10_0,
        [
            ("pc", "pc-i440fx-10.0", 255, False),
            ("q35", "pc-q35-10.0", 4096, False),
            ("isapc", "isapc", 1, False),
            ("pc-i440fx-6.2", "pc-i440fx-6.2", 255, False),
            ("pc-i440fx-6.1", "pc-i440fx-6.1", 255, True),
            ("pc-i440fx-2.4", "pc-i440fx-2.4", 255, True),
            ("pc-q35-9.0", "pc-q35-9.0", 4096, False),
            ("pc-q35-8.2", "pc-q35-8.2", 1024, False),
            ("pc-q35-8.1", "pc-q35-8.1", 1024, False),
            ("pc-q35-8.0", "pc-q35-8.0", 288, False),
            ("pc-q35-7.2", "pc-q35-7.2", 288, False),
            ("pc-q35-6.2", "pc-q35-6.2", 288, False),
            ("pc-q35-6.1", "pc-q35-6.1", 288, True),
            ("pc-q35-2.8", "pc-q35-2.8", 288, True),
            ("pc-q35-2.7", "pc-q35-2.7", 255, True),
        ],
    ),
}


def request(arg: str) -> SmpRequest:
    """-smp ARG (integers only) as the request kvminit would have read from a file."""
    values: dict[str, int] = {}
    for i, part in enumerate(arg.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            assert i == 0, arg
            key, value = "cpus", part
        values[key] = int(value)
    return SmpRequest(**values)


# fmt: off
ROWS_7_2: list[Row] = [
    ("smp-only", "pc", "2", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("cpus-maxcpus", "pc", "2,maxcpus=4", None, T(2, 4, 1, 1, 1, 1, 4, 1)),
    ("maxcpus-only", "pc", "maxcpus=4", None, T(4, 4, 1, 1, 1, 1, 4, 1)),
    ("sockets-only", "pc", "sockets=2", None, T(2, 2, 2, 1, 1, 1, 1, 1)),
    ("cores-only", "pc", "cores=2", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("threads-only", "pc", "threads=2", None, T(2, 2, 1, 1, 1, 1, 1, 2)),
    ("prod-match", "pc", "8,sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("prod-match-max", "pc", "4,maxcpus=8,sockets=2,cores=2,threads=2", None,
     T(4, 8, 2, 1, 1, 1, 2, 2)),
    ("prod-mismatch", "pc", "4,sockets=2,cores=2,threads=2", "sockets",
     PRODUCT + "sockets (2) * dies (1) * cores (2) * threads (2) != maxcpus (4)"),
    ("prod-mismatch-max", "pc", "4,maxcpus=6,sockets=2,cores=2,threads=2", "maxcpus",
     PRODUCT + "sockets (2) * dies (1) * cores (2) * threads (2) != maxcpus (6)"),
    ("prod-nocpus", "pc", "sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("threads-computed", "pc", "4,sockets=2,cores=1", None, T(4, 4, 2, 1, 1, 1, 1, 2)),
    ("threads-computed-mx", "pc", "2,maxcpus=8,sockets=2,cores=2", None, T(2, 8, 2, 1, 1, 1, 2, 2)),
    ("cores-computed", "pc", "4,sockets=2", None, T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("sockets-computed", "pc", "4,cores=2", None, T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("inexact-cores", "pc", "3,cores=2", "cores",
     PRODUCT + "sockets (1) * dies (1) * cores (2) * threads (1) != maxcpus (3)"),
    ("zero-sockets-div", "pc", "2,cores=4", "cores",
     PRODUCT + "sockets (0) * dies (1) * cores (4) * threads (1) != maxcpus (2)"),
    ("cpus-and-sockets-cores", "pc", "2,sockets=2,cores=2", "sockets",
     PRODUCT + "sockets (2) * dies (1) * cores (2) * threads (0) != maxcpus (2)"),
    ("dies2", "pc", "2,dies=2", None, T(2, 2, 1, 2, 1, 1, 1, 1)),
    ("dies2-full", "pc", "8,sockets=2,dies=2,cores=2", None, T(8, 8, 2, 2, 1, 1, 2, 1)),
    ("dies2-mismatch", "pc", "6,sockets=2,dies=2,cores=2", "sockets",
     PRODUCT + "sockets (2) * dies (2) * cores (2) * threads (0) != maxcpus (6)"),
    ("dies1", "pc", "2,dies=1", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("clusters2", "pc", "2,clusters=2", "clusters",
     "clusters not supported by this machine's CPU topology"),
    ("clusters1", "pc", "2,clusters=1", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("modules2", "pc", "2,modules=2", "modules", "Parameter 'smp.modules' is unexpected"),
    ("modules1", "pc", "2,modules=1", "modules", "Parameter 'smp.modules' is unexpected"),
    ("modules2-mismatch", "pc", "6,sockets=2,modules=2,cores=2", "modules",
     "Parameter 'smp.modules' is unexpected"),
    ("modules-dies-full", "pc", "16,sockets=2,dies=2,modules=2,cores=2", "modules",
     "Parameter 'smp.modules' is unexpected"),
    ("clusters2-dies2", "pc", "4,dies=2,clusters=2", "clusters",
     "clusters not supported by this machine's CPU topology"),
    ("modules2-clusters2", "pc", "4,modules=2,clusters=2", "modules",
     "Parameter 'smp.modules' is unexpected"),
    ("dies2-zero-clusters", "pc", "2,dies=2,clusters=0", "clusters", T(2, 2, 1, 2, 1, 1, 1, 1)),
    ("zero-cpus", "pc", "0", "smp", T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("zero-cpus-sockets", "pc", "0,sockets=2", "smp", T(2, 2, 2, 1, 1, 1, 1, 1)),
    ("zero-sockets", "pc", "sockets=0", "sockets", T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("zero-sockets-cpus", "pc", "4,sockets=0", "sockets", T(4, 4, 1, 1, 1, 1, 4, 1)),
    ("zero-cores", "pc", "2,cores=0", "cores", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("zero-threads", "pc", "2,threads=0", "threads", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("zero-dies", "pc", "2,dies=0", "dies", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("zero-clusters", "pc", "2,clusters=0", "clusters", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("zero-modules", "pc", "2,modules=0", "modules", "Parameter 'smp.modules' is unexpected"),
    ("zero-maxcpus", "pc", "2,maxcpus=0", "maxcpus", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("zero-maxcpus-lt", "pc", "4,maxcpus=0,sockets=2", "maxcpus", T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("zero-and-mismatch", "pc", "4,sockets=0,cores=3", "cores",
     W72 + "\n" + PRODUCT + "sockets (1) * dies (1) * cores (3) * threads (1) != maxcpus (4)"),
    ("zero-and-clusters2", "pc", "0,clusters=2", "clusters",
     W72 + "\n" + "clusters not supported by this machine's CPU topology"),
    ("zero-cpus-maxcpus2", "pc", "0,maxcpus=2", "smp", T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("maxcpus-lt-cpus", "pc", "4,maxcpus=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)"),
    ("maxcpus-lt-cpus-topo", "pc", "4,maxcpus=2,sockets=2", "maxcpus",
     LT_SMP + "sockets (2) * dies (1) * cores (1) * threads (1) == maxcpus (2) < smp_cpus (4)"),
    ("maxcpus-lt-and-prod", "pc", "4,maxcpus=2,sockets=2,cores=2", "maxcpus",
     PRODUCT + "sockets (2) * dies (1) * cores (2) * threads (0) != maxcpus (2)"),
    ("pc-256", "pc", "256", "smp",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
    ("pc-255-tcg", "pc", "1,maxcpus=255", None, T(1, 255, 1, 1, 1, 1, 255, 1)),
    ("pc-maxcpus-256", "pc", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
    ("q35-289", "q35", "289", "smp",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288"),
    ("q35-288-max-kvm", "q35", "1,maxcpus=288", None, T(1, 288, 1, 1, 1, 1, 288, 1)),
    ("q35-7.2-289", "pc-q35-7.2", "1,maxcpus=289", "maxcpus",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288"),
    ("q35-2.8-289", "pc-q35-2.8", "1,maxcpus=289", "maxcpus",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-2.8' is 288"),
    ("q35-2.7-256", "pc-q35-2.7", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-q35-2.7' is 255"),
    ("i440fx-2.4-256", "pc-i440fx-2.4", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-2.4' is 255"),
    ("isapc-2", "isapc", "2", "smp",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("isapc-1-max2", "isapc", "1,maxcpus=2", "maxcpus",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("isapc-1", "isapc", "1", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("isapc-threads2", "isapc", "threads=2", "threads",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("apic-sparse-kvm", "pc", "1,maxcpus=255,cores=3", None, T(1, 255, 85, 1, 1, 1, 3, 1)),
    ("pref-6.1-inexact", "pc-i440fx-6.1", "5,threads=2", "threads",
     PRODUCT + "sockets (2) * dies (1) * cores (1) * threads (2) != maxcpus (5)"),
    ("pref-6.2-inexact", "pc-i440fx-6.2", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("pref-q35-6.1-inexact", "pc-q35-6.1", "5,threads=2", "threads",
     PRODUCT + "sockets (2) * dies (1) * cores (1) * threads (2) != maxcpus (5)"),
    ("pref-q35-6.2-inexact", "pc-q35-6.2", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("pref-6.1-dies", "pc-i440fx-6.1", "6,dies=4", "dies",
     PRODUCT + "sockets (1) * dies (4) * cores (1) * threads (1) != maxcpus (6)"),
    ("pref-6.2-dies", "pc-i440fx-6.2", "6,dies=4", "dies",
     PRODUCT + "sockets (1) * dies (4) * cores (1) * threads (1) != maxcpus (6)"),
    ("pref-6.1-ok", "pc-i440fx-6.1", "4", None, T(4, 4, 4, 1, 1, 1, 1, 1)),
    ("pref-6.1-maxcpus-lt", "pc-i440fx-6.1", "4,maxcpus=2,threads=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * cores (1) * threads (2) == maxcpus (2) < smp_cpus (4)"),
    ("pref-6.2-maxcpus-lt", "pc-i440fx-6.2", "4,maxcpus=2,threads=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * cores (1) * threads (2) == maxcpus (2) < smp_cpus (4)"),
    ("negative", "pc", "-1", "smp",
     "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
    ("huge", "pc", "4294967297", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("empty-maxcpus-only0", "pc", "maxcpus=0", "maxcpus", T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("pref-6.1-threads-kvm", "pc-i440fx-6.1", "4,threads=2", None, T(4, 4, 2, 1, 1, 1, 1, 2)),
    ("isapc-pref-5t2", "isapc", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("int64-max", "pc", "9223372036854775807", "smp",
     "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
    ("u32-wrap-product", "pc", "sockets=65536,cores=65536", "sockets",
     "Invalid SMP CPUs 0. The min CPUs supported by machine 'pc-i440fx-7.2' is 1"),
    ("u32-wrap-cpus0", "pc", "4294967296", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("u32-wrap-clusters0", "pc", "2,clusters=4294967296", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("sigfpe", "pc", "4,sockets=65536,cores=65536", "sockets", SIGFPE_PARSE_SMP_CONFIG),
]

ROWS_10_0: list[Row] = [
    ("smp-only", "pc", "2", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("cpus-maxcpus", "pc", "2,maxcpus=4", None, T(2, 4, 1, 1, 1, 1, 4, 1)),
    ("maxcpus-only", "pc", "maxcpus=4", None, T(4, 4, 1, 1, 1, 1, 4, 1)),
    ("sockets-only", "pc", "sockets=2", None, T(2, 2, 2, 1, 1, 1, 1, 1)),
    ("cores-only", "pc", "cores=2", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("threads-only", "pc", "threads=2", None, T(2, 2, 1, 1, 1, 1, 1, 2)),
    ("prod-match", "pc", "8,sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("prod-match-max", "pc", "4,maxcpus=8,sockets=2,cores=2,threads=2", None,
     T(4, 8, 2, 1, 1, 1, 2, 2)),
    ("prod-mismatch", "pc", "4,sockets=2,cores=2,threads=2", "sockets",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (2) * threads (2) != maxcpus (4)"),
    ("prod-mismatch-max", "pc", "4,maxcpus=6,sockets=2,cores=2,threads=2", "maxcpus",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (2) * threads (2) != maxcpus (6)"),
    ("prod-nocpus", "pc", "sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("threads-computed", "pc", "4,sockets=2,cores=1", None, T(4, 4, 2, 1, 1, 1, 1, 2)),
    ("threads-computed-mx", "pc", "2,maxcpus=8,sockets=2,cores=2", None, T(2, 8, 2, 1, 1, 1, 2, 2)),
    ("cores-computed", "pc", "4,sockets=2", None, T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("sockets-computed", "pc", "4,cores=2", None, T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("inexact-cores", "pc", "3,cores=2", "cores",
     PRODUCT + "sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) != maxcpus (3)"),
    ("zero-sockets-div", "pc", "2,cores=4", "cores",
     PRODUCT + "sockets (0) * dies (1) * modules (1) * cores (4) * threads (1) != maxcpus (2)"),
    ("cpus-and-sockets-cores", "pc", "2,sockets=2,cores=2", "sockets",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (2) * threads (0) != maxcpus (2)"),
    ("dies2", "pc", "2,dies=2", None, T(2, 2, 1, 2, 1, 1, 1, 1)),
    ("dies2-full", "pc", "8,sockets=2,dies=2,cores=2", None, T(8, 8, 2, 2, 1, 1, 2, 1)),
    ("dies2-mismatch", "pc", "6,sockets=2,dies=2,cores=2", "sockets",
     PRODUCT + "sockets (2) * dies (2) * modules (1) * cores (2) * threads (0) != maxcpus (6)"),
    ("dies1", "pc", "2,dies=1", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("clusters2", "pc", "2,clusters=2", "clusters",
     "clusters > 1 not supported by this machine's CPU topology"),
    ("clusters1", "pc", "2,clusters=1", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("modules2", "pc", "2,modules=2", None, T(2, 2, 1, 1, 1, 2, 1, 1)),
    ("modules1", "pc", "2,modules=1", None, T(2, 2, 1, 1, 1, 1, 2, 1)),
    ("modules2-mismatch", "pc", "6,sockets=2,modules=2,cores=2", "sockets",
     PRODUCT + "sockets (2) * dies (1) * modules (2) * cores (2) * threads (0) != maxcpus (6)"),
    ("modules-dies-full", "pc", "16,sockets=2,dies=2,modules=2,cores=2", None,
     T(16, 16, 2, 2, 1, 2, 2, 1)),
    ("clusters2-dies2", "pc", "4,dies=2,clusters=2", "clusters",
     "clusters > 1 not supported by this machine's CPU topology"),
    ("modules2-clusters2", "pc", "4,modules=2,clusters=2", "clusters",
     "clusters > 1 not supported by this machine's CPU topology"),
    ("dies2-zero-clusters", "pc", "2,dies=2,clusters=0", "clusters", ZERO_10),
    ("zero-cpus", "pc", "0", "smp", ZERO_10),
    ("zero-cpus-sockets", "pc", "0,sockets=2", "smp", ZERO_10),
    ("zero-sockets", "pc", "sockets=0", "sockets", ZERO_10),
    ("zero-sockets-cpus", "pc", "4,sockets=0", "sockets", ZERO_10),
    ("zero-cores", "pc", "2,cores=0", "cores", ZERO_10),
    ("zero-threads", "pc", "2,threads=0", "threads", ZERO_10),
    ("zero-dies", "pc", "2,dies=0", "dies", ZERO_10),
    ("zero-clusters", "pc", "2,clusters=0", "clusters", ZERO_10),
    ("zero-modules", "pc", "2,modules=0", "modules", ZERO_10),
    ("zero-maxcpus", "pc", "2,maxcpus=0", "maxcpus", ZERO_10),
    ("zero-maxcpus-lt", "pc", "4,maxcpus=0,sockets=2", "maxcpus", ZERO_10),
    ("zero-and-mismatch", "pc", "4,sockets=0,cores=3", "sockets", ZERO_10),
    ("zero-and-clusters2", "pc", "0,clusters=2", "smp", ZERO_10),
    ("zero-cpus-maxcpus2", "pc", "0,maxcpus=2", "smp", ZERO_10),
    ("maxcpus-lt-cpus", "pc", "4,maxcpus=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * modules (1) * cores (2) * threads (1)"
     " == maxcpus (2) < smp_cpus (4)"),
    ("maxcpus-lt-cpus-topo", "pc", "4,maxcpus=2,sockets=2", "maxcpus",
     LT_SMP + "sockets (2) * dies (1) * modules (1) * cores (1) * threads (1)"
     " == maxcpus (2) < smp_cpus (4)"),
    ("maxcpus-lt-and-prod", "pc", "4,maxcpus=2,sockets=2,cores=2", "maxcpus",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (2) * threads (0) != maxcpus (2)"),
    ("pc-256", "pc", "256", "smp",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
    ("pc-255-tcg", "pc", "1,maxcpus=255", None, T(1, 255, 1, 1, 1, 1, 255, 1)),
    ("pc-maxcpus-256", "pc", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
    ("q35-289-kvm", "q35", "289", None, T(289, 289, 1, 1, 1, 1, 289, 1)),
    ("q35-288-max-tcg", "q35", "1,maxcpus=288", None, T(1, 288, 1, 1, 1, 1, 288, 1)),
    ("q35-4097", "q35", "4097", "smp",
     "Invalid SMP CPUs 4097. The max CPUs supported by machine 'pc-q35-10.0' is 4096"),
    ("q35-4096-max-tcg", "q35", "1,maxcpus=4096", None, T(1, 4096, 1, 1, 1, 1, 4096, 1)),
    ("q35-9.0-1025", "pc-q35-9.0", "1,maxcpus=1025", None, T(1, 1025, 1, 1, 1, 1, 1025, 1)),
    ("q35-8.2-1025", "pc-q35-8.2", "1,maxcpus=1025", "maxcpus",
     "Invalid SMP CPUs 1025. The max CPUs supported by machine 'pc-q35-8.2' is 1024"),
    ("q35-8.1-1025", "pc-q35-8.1", "1,maxcpus=1025", "maxcpus",
     "Invalid SMP CPUs 1025. The max CPUs supported by machine 'pc-q35-8.1' is 1024"),
    ("q35-8.0-289", "pc-q35-8.0", "1,maxcpus=289", "maxcpus",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-8.0' is 288"),
    ("q35-7.2-289", "pc-q35-7.2", "1,maxcpus=289", "maxcpus",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288"),
    ("q35-2.8-289", "pc-q35-2.8", "1,maxcpus=289", "maxcpus",
     "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-2.8' is 288"),
    ("q35-2.7-256", "pc-q35-2.7", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-q35-2.7' is 255"),
    ("i440fx-2.4-256", "pc-i440fx-2.4", "1,maxcpus=256", "maxcpus",
     "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-2.4' is 255"),
    ("isapc-2", "isapc", "2", "smp",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("isapc-1-max2", "isapc", "1,maxcpus=2", "maxcpus",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("isapc-1", "isapc", "1", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("isapc-threads2", "isapc", "threads=2", "threads",
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1"),
    ("apic-sparse-tcg", "pc", "1,maxcpus=255,cores=3", None, T(1, 255, 85, 1, 1, 1, 3, 1)),
    ("pref-6.1-inexact", "pc-i440fx-6.1", "5,threads=2", "threads",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (1) * threads (2) != maxcpus (5)"),
    ("pref-6.2-inexact", "pc-i440fx-6.2", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * modules (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("pref-q35-6.1-inexact", "pc-q35-6.1", "5,threads=2", "threads",
     PRODUCT + "sockets (2) * dies (1) * modules (1) * cores (1) * threads (2) != maxcpus (5)"),
    ("pref-q35-6.2-inexact", "pc-q35-6.2", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * modules (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("pref-6.1-dies", "pc-i440fx-6.1", "6,dies=4", "dies",
     PRODUCT + "sockets (1) * dies (4) * modules (1) * cores (1) * threads (1) != maxcpus (6)"),
    ("pref-6.2-dies", "pc-i440fx-6.2", "6,dies=4", "dies",
     PRODUCT + "sockets (1) * dies (4) * modules (1) * cores (1) * threads (1) != maxcpus (6)"),
    ("pref-6.1-ok", "pc-i440fx-6.1", "4", None, T(4, 4, 4, 1, 1, 1, 1, 1)),
    ("pref-6.1-maxcpus-lt", "pc-i440fx-6.1", "4,maxcpus=2,threads=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * modules (1) * cores (1) * threads (2)"
     " == maxcpus (2) < smp_cpus (4)"),
    ("pref-6.2-maxcpus-lt", "pc-i440fx-6.2", "4,maxcpus=2,threads=2", "maxcpus",
     LT_SMP + "sockets (1) * dies (1) * modules (1) * cores (1) * threads (2)"
     " == maxcpus (2) < smp_cpus (4)"),
    ("pref-6.1-modules", "pc-i440fx-6.1", "5,modules=2", "modules",
     PRODUCT + "sockets (2) * dies (1) * modules (2) * cores (1) * threads (1) != maxcpus (5)"),
    ("pref-6.2-modules", "pc-i440fx-6.2", "5,modules=2", "modules",
     PRODUCT + "sockets (1) * dies (1) * modules (2) * cores (2) * threads (1) != maxcpus (5)"),
    ("negative", "pc", "-1", "smp",
     "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
    ("huge", "pc", "4294967297", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("empty-maxcpus-only0", "pc", "maxcpus=0", "maxcpus", ZERO_10),
    ("pref-6.1-threads-kvm", "pc-i440fx-6.1", "4,threads=2", None, T(4, 4, 2, 1, 1, 1, 1, 2)),
    ("isapc-pref-5t2", "isapc", "5,threads=2", "threads",
     PRODUCT + "sockets (1) * dies (1) * modules (1) * cores (2) * threads (2) != maxcpus (5)"),
    ("int64-max", "pc", "9223372036854775807", "smp",
     "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-10.0' is 255"),
    ("u32-wrap-product", "pc", "sockets=65536,cores=65536", "sockets",
     "Invalid SMP CPUs 0. The min CPUs supported by machine 'pc-i440fx-10.0' is 1"),
    ("u32-wrap-cpus0", "pc", "4294967296", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("u32-wrap-clusters0", "pc", "2,clusters=4294967296", "clusters",
     "clusters > 1 not supported by this machine's CPU topology"),
    ("u32-wrap-modules", "pc", "2,modules=4294967298", None, T(2, 2, 1, 1, 1, 2, 1, 1)),
    ("q35-300-kvm-thr", "q35", "300,threads=2", None, T(300, 300, 1, 1, 1, 1, 150, 2)),
    ("sigfpe", "pc", "4,sockets=65536,cores=65536", "sockets", SIGFPE_PARSE_SMP_CONFIG),
]

# QEMU 2.6 (vl.c smp_parse() and main(); rules.md §4.1). A 0 that 2.6 would quietly
# replace is kvminit's refusal; where 2.6 refuses anyway its own message stands.
ROWS_2_6: list[Row] = [
    ("none-computed", "pc", "4", None, T(4, 4, 1, 1, 1, 1, 1, 1)),
    ("maxcpus-only", "pc", "maxcpus=4", None, T(1, 4, 1, 1, 1, 1, 1, 1)),
    ("sockets-not-computed", "pc", "4,cores=2", None, T(4, 4, 1, 1, 1, 1, 2, 1)),
    ("cores-computed", "pc", "4,sockets=2", None, T(4, 4, 2, 1, 1, 1, 2, 1)),
    ("threads-computed", "pc", "4,sockets=2,cores=1", None, T(4, 4, 2, 1, 1, 1, 1, 2)),
    ("no-product-check", "pc", "5,threads=2", None, T(5, 5, 1, 1, 1, 1, 1, 2)),
    ("prod-nocpus", "pc", "sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("prod-match", "pc", "8,sockets=2,cores=2,threads=2", None, T(8, 8, 2, 1, 1, 1, 2, 2)),
    ("threads-0-is-1", "pc", "2,maxcpus=8,sockets=2,cores=2", None, T(2, 8, 2, 1, 1, 1, 2, 1)),
    ("apic-sparse", "pc", "1,maxcpus=255,cores=3", None, T(1, 255, 1, 1, 1, 1, 3, 1)),
    ("isapc-1", "isapc", "1", None, T(1, 1, 1, 1, 1, 1, 1, 1)),
    ("prod-lt-cpus", "pc", "8,sockets=2,cores=2,threads=1", "sockets",
     "cpu topology: sockets (2) * cores (2) * threads (1) < smp_cpus (8)"),
    ("prod-gt-max", "pc", "4,sockets=2,cores=2,threads=2", "sockets",
     "cpu topology: sockets (2) * cores (2) * threads (2) > maxcpus (4)"),
    ("prod-gt-max-given", "pc", "4,maxcpus=6,sockets=2,cores=2,threads=2", "maxcpus",
     "cpu topology: sockets (2) * cores (2) * threads (2) > maxcpus (6)"),
    ("cores-gt-cpus", "pc", "2,cores=4", "cores",
     "cpu topology: sockets (1) * cores (4) * threads (1) > maxcpus (2)"),
    ("maxcpus-lt-cpus", "pc", "4,maxcpus=2", "maxcpus",
     "maxcpus must be equal to or greater than smp"),
    ("cpumask-256", "pc", "256", "smp", "unsupported number of maxcpus"),
    ("cpumask-maxcpus-256", "pc", "1,maxcpus=256", "maxcpus", "unsupported number of maxcpus"),
    ("isapc-2", "isapc", "2", "smp",
     "Number of SMP CPUs requested (2) exceeds max CPUs supported by machine 'isapc' (1)"),
    ("isapc-1-max2", "isapc", "1,maxcpus=2", "maxcpus",
     "Number of SMP CPUs requested (2) exceeds max CPUs supported by machine 'isapc' (1)"),
    ("isapc-threads2", "isapc", "threads=2", "threads",
     "Number of SMP CPUs requested (2) exceeds max CPUs supported by machine 'isapc' (1)"),
    ("dies", "pc", "2,dies=2", "dies", "-smp 2,dies=2: Invalid parameter 'dies'"),
    ("dies1", "pc", "2,dies=1", "dies", "-smp 2,dies=1: Invalid parameter 'dies'"),
    ("clusters1", "pc", "2,clusters=1", "clusters",
     "-smp 2,clusters=1: Invalid parameter 'clusters'"),
    ("modules", "pc", "sockets=2,modules=2", "modules",
     "-smp sockets=2,modules=2: Invalid parameter 'modules'"),
    ("first-unknown", "pc", "4,dies=0,modules=2", "dies",
     "-smp 4,dies=0,modules=2: Invalid parameter 'dies'"),
    ("zero-cpus", "pc", "0", "smp",
     "smp = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"),
    ("zero-sockets", "pc", "4,sockets=0,cores=3", "sockets",
     "sockets = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"),
    ("zero-threads", "pc", "2,threads=0", "threads",
     "threads = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"),
    ("zero-maxcpus", "pc", "2,maxcpus=0", "maxcpus",
     "cpu topology: sockets (1) * cores (1) * threads (1) > maxcpus (0)"),
    ("zero-maxcpus-sockets", "pc", "maxcpus=0,sockets=2", "maxcpus",
     "cpu topology: sockets (2) * cores (1) * threads (1) > maxcpus (0)"),
    # cores = 2 / 4 = 0: the product 0 passes, and 2.6 quietly turns max_cpus 0 into 2.
    ("zero-maxcpus-passes", "pc", "2,maxcpus=0,sockets=4", "maxcpus",
     "maxcpus = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"),
    ("zero-and-refused", "pc", "0,maxcpus=300", "maxcpus", "unsupported number of maxcpus"),
    ("sigfpe", "pc", "4,sockets=65536,threads=65536", "sockets", SIGFPE_SMP_PARSE),
]
# fmt: on

CASES = [
    pytest.param(qemu, *row, id=f"{qemu}-{row[0]}")
    for qemu, rows in ((QEMU_2_6, ROWS_2_6), (QEMU_7_2, ROWS_7_2), (QEMU_10_0, ROWS_10_0))
    for row in rows
]


@pytest.mark.parametrize(("qemu", "case", "machine", "arg", "key", "expected"), CASES)
def test_confirmed_rows(
    qemu: Qemu, case: str, machine: str, arg: str, key: str | None, expected: Topology | str
) -> None:
    mc = MACHINES[qemu][machine]
    if isinstance(expected, str):
        with pytest.raises(QemuExit) as e:
            parse_smp(qemu, mc, request(arg))
        assert (e.value.step, e.value.message, e.value.key) == ("1", expected, key)
        assert e.value.errno is None
    else:
        warnings = [] if key is None else [Finding(W72, key)]
        assert parse_smp(qemu, mc, request(arg)) == (expected, warnings)


@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0], ids=str)
def test_no_smp_is_one_cpu_without_checks(qemu: Qemu) -> None:
    # Not even isapc's or a tiny machine's limit is looked at: no -smp, no checks.
    tiny = SmpMachine("tiny", 0, True, False, False)
    assert parse_smp(qemu, tiny, SmpRequest()) == (T(1, 1, 1, 1, 1, 1, 1, 1), [])


def test_zero_warning_blames_the_first_zero_key_in_smp_arg_order() -> None:
    mc = MACHINES[QEMU_7_2]["pc"]
    topo, warnings = parse_smp(QEMU_7_2, mc, SmpRequest(cpus=2, maxcpus=0, threads=0))
    assert topo == T(2, 2, 1, 1, 1, 1, 2, 1)
    assert warnings == [Finding(W72, "maxcpus")]
    with pytest.raises(QemuExit) as e:
        parse_smp(QEMU_10_0, MACHINES[QEMU_10_0]["pc"], SmpRequest(cores=0, threads=0, maxcpus=0))
    assert (e.value.message, e.value.key) == (ZERO_10, "maxcpus")


def test_hierarchy_lists_only_what_the_machine_supports() -> None:
    # cpu_hierarchy_to_string(): dies only where supported, modules only in 10.0.
    plain = SmpMachine("plain", 255, False, False, False)
    with pytest.raises(QemuExit) as e:
        parse_smp(QEMU_10_0, plain, request("3,cores=2"))
    assert e.value.message == PRODUCT + "sockets (1) * cores (2) * threads (1) != maxcpus (3)"
    with pytest.raises(QemuExit) as e:
        parse_smp(QEMU_7_2, plain, request("2,dies=2"))
    assert (e.value.message, e.value.key) == (
        "dies not supported by this machine's CPU topology",
        "dies",
    )
    with pytest.raises(QemuExit) as e:
        parse_smp(QEMU_10_0, plain, request("2,modules=2"))
    assert (e.value.message, e.value.key) == (
        "modules > 1 not supported by this machine's CPU topology",
        "modules",
    )
    # 10.0 tests modules before clusters before dies.
    with pytest.raises(QemuExit) as e:
        parse_smp(QEMU_10_0, plain, request("8,dies=2,clusters=2,modules=2"))
    assert e.value.key == "modules"


@pytest.mark.parametrize(
    ("req", "arg"),
    [
        (SmpRequest(), ""),
        (SmpRequest(cpus=2), "2"),
        (SmpRequest(cpus=2, dies=2), "2,dies=2"),
        (SmpRequest(threads=2, sockets=2), "sockets=2,threads=2"),
        (SmpRequest(cpus=0, maxcpus=0), "0,maxcpus=0"),
        (
            SmpRequest(
                threads=1, cores=2, modules=1, clusters=1, dies=1, sockets=2, maxcpus=8, cpus=4
            ),
            "4,maxcpus=8,sockets=2,dies=1,clusters=1,modules=1,cores=2,threads=1",
        ),
    ],
)
def test_smp_arg(req: SmpRequest, arg: str) -> None:
    assert smp_arg(req) == arg
    if arg:
        assert request(arg) == req


def _settled(qemu: Qemu, machine: str, arg: str) -> Topology:
    topo, _ = parse_smp(qemu, MACHINES[qemu][machine], request(arg))
    return topo


@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0], ids=str)
def test_apic_id_limit_of_a_sparse_topology(qemu: Qemu) -> None:
    # `1,maxcpus=255,cores=3`: 2 core bits, so package n starts at 4n and the last of the
    # 255 CPUs (package 84, core 2) is 338: 7.2/10.0 on pc-i440fx-2.6 print "APIC ID of
    # last CPU is 338" (row apic-sparse-legacy-kvm), 7.2 refuses it under TCG (> 255).
    topo = _settled(qemu, "pc", "1,maxcpus=255,cores=3")
    assert [apic_id(qemu, topo, i) for i in range(7)] == [0, 1, 2, 4, 5, 6, 8]
    assert apic_id(qemu, topo, 254) == 338
    assert apic_id_limit(qemu, topo) == 339


def test_apic_ids_of_the_confirmed_10_0_aborts() -> None:
    # q35-sparse-tcg-2 `198,cores=3`: the first APIC ID >= 255 is 256 (CPU 192).
    topo = _settled(QEMU_10_0, "q35", "198,cores=3")
    assert (apic_id(QEMU_10_0, topo, 191), apic_id(QEMU_10_0, topo, 192)) == (254, 256)
    # q35-256-tcg-thr `256,threads=2`: CPU 255 is core 127, thread 1 -> 255.
    topo = _settled(QEMU_10_0, "q35", "256,threads=2")
    assert apic_id(QEMU_10_0, topo, 255) == 255
    assert apic_id_limit(QEMU_10_0, topo) == 256


def test_apic_ids_per_version_levels() -> None:
    # dies: 7.2 and 10.0 give them bits of their own; 2.6 has no dies.
    topo = T(12, 12, 2, 3, 1, 1, 2, 1)
    assert apic_id_limit(QEMU_2_6, topo) == 12  # package 5, core 1
    assert apic_id_limit(QEMU_7_2, topo) == 14  # package 1 (bit 3), die 2, core 1
    assert apic_id_limit(QEMU_10_0, topo) == 14
    # modules: only 10.0 has them (between dies and cores).
    topo = T(18, 18, 2, 1, 1, 3, 3, 1)
    assert apic_id_limit(QEMU_10_0, topo) == 27  # package 1 (bit 4), module 2, core 2
    assert apic_id_limit(QEMU_7_2, topo) == 23  # package 5, core 2
    # threads take the lowest bits.
    topo = T(6, 6, 1, 1, 1, 1, 2, 3)
    assert [apic_id(QEMU_7_2, topo, i) for i in range(6)] == [0, 1, 2, 4, 5, 6]
    # the confirmed 16-CPU 10.0 topology (row modules-dies-full) is dense.
    topo = _settled(QEMU_10_0, "pc", "16,sockets=2,dies=2,modules=2,cores=2")
    assert [apic_id(QEMU_10_0, topo, i) for i in range(16)] == list(range(16))


def test_apic_id_needs_a_settled_topology() -> None:
    with pytest.raises(ValueError):
        apic_id(QEMU_7_2, T(2, 2, 0, 1, 1, 1, 2, 0), 1)
