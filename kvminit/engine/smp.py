"""QEMU's -smp: the option kvminit writes, QEMU's parsing and checks per version, APIC IDs.

Pure functions of plain values, tested without any host (tests/test_smp.py). The rules
are QEMU's, per modelled version:

* 2.6: vl.c smp_parse() and main()'s machine max_cpus check right after it. -smp is read
  by QemuOpts at option-parse time, so an unknown key is refused with the "-smp ARG: "
  location; a 0 is the same as an omitted key (except maxcpus).
* 7.2 / 10.0: hw/core/machine-smp.c machine_parse_smp_config(), run when the machine
  property "smp" is set (qemu_apply_machine_options(), before the accelerator). 7.2 has no
  modules (the QAPI visitor refuses the key); 10.0 adds modules (supported by PC) and
  refuses a 0 where 7.2 only warns.

Arithmetic is C's: every value is an `unsigned` (32 bits, wrapping); the zero test and
10.0's "> 1 not supported" tests see the un-truncated int64. A refusal raises QemuExit
(step "1": before the accelerator); a warning comes back as a Finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from kvminit.config import Finding

from .errors import QemuExit
from .qemu import Qemu

# --- QEMU's messages (what follows "qemu-system-x86_64: ") ------------------------------

# 2.6 vl.c main(), case QEMU_OPTION_smp: qemu_opts_parse_noisily() reports an unknown key
# (QERR_INVALID_PARAMETER) with the option as location (lookup_opt() -> loc_set_cmdline).
SMP_LOCATION_2_6: Final = "-smp {arg}: "
INVALID_PARAMETER_2_6: Final = "Invalid parameter '{name}'"
# 2.6 vl.c smp_parse(): all four of cpus/sockets/cores/threads given, product too small.
TOPOLOGY_LT_SMP_CPUS_2_6: Final = (
    "cpu topology: sockets ({sockets}) * cores ({cores}) * threads ({threads}) < smp_cpus ({cpus})"
)
# 2.6 vl.c smp_parse(): the product against maxcpus (default: cpus).
TOPOLOGY_GT_MAXCPUS_2_6: Final = (
    "cpu topology: sockets ({sockets}) * cores ({cores}) * threads ({threads}) "
    "> maxcpus ({maxcpus})"
)
# 2.6 vl.c smp_parse(): max_cpus > MAX_CPUMASK_BITS (255, include/sysemu/sysemu.h).
UNSUPPORTED_MAXCPUS_2_6: Final = "unsupported number of maxcpus"
# 2.6 vl.c smp_parse().
MAXCPUS_LT_SMP_2_6: Final = "maxcpus must be equal to or greater than smp"
# 2.6 vl.c main(), right after smp_parse().
MACHINE_MAX_CPUS_2_6: Final = (
    "Number of SMP CPUs requested ({num}) exceeds max CPUs supported by machine '{machine}' ({max})"
)

# 7.2 qapi/qobject-input-visitor.c:252 (qobject_input_check_struct): 7.2's SMPConfiguration
# (qapi/machine.json:1482-1489) has no "modules" (since 9.1), refused whatever its value.
SMP_UNEXPECTED_7_2: Final = "Parameter 'smp.{name}' is unexpected"
# 7.2 hw/core/machine-smp.c:87-96, warn_report(); parsing goes on with the 0 as omitted.
ZERO_WARNING_7_2: Final = (
    "warning: Deprecated CPU topology (considered invalid): "
    "CPU topology parameters must be greater than zero"
)
# 7.2 hw/core/machine-smp.c:102-109 (compares the truncated unsigned value).
DIES_UNSUPPORTED_7_2: Final = "dies not supported by this machine's CPU topology"
CLUSTERS_UNSUPPORTED_7_2: Final = "clusters not supported by this machine's CPU topology"
# 10.0 hw/core/machine-smp.c:105-118, error_setg(); checked first.
ZERO_ERROR_10_0: Final = "Invalid CPU topology: CPU topology parameters must be greater than zero"
# 10.0 hw/core/machine-smp.c:124-162 (modules, clusters, dies, books, drawers; int64 value).
LEVEL_UNSUPPORTED_10_0: Final = "{level} > 1 not supported by this machine's CPU topology"
# 7.2 hw/core/machine-smp.c:162-169, 10.0 :229-236.
PRODUCT_MISMATCH: Final = (
    "Invalid CPU topology: product of the hierarchy must match maxcpus: "
    "{hierarchy} != maxcpus ({maxcpus})"
)
# 7.2 hw/core/machine-smp.c:171-178, 10.0 :238-245.
MAXCPUS_LT_SMP: Final = (
    "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
    "{hierarchy} == maxcpus ({maxcpus}) < smp_cpus ({cpus})"
)
# 7.2 hw/core/machine-smp.c:180-186, 10.0 :247-253 (%d of an unsigned).
MIN_CPUS: Final = "Invalid SMP CPUs {num}. The min CPUs supported by machine '{machine}' is {min}"
# 7.2 hw/core/machine-smp.c:188-194, 10.0 :255-261 (%d of an unsigned; compares maxcpus).
MAX_CPUS: Final = "Invalid SMP CPUs {num}. The max CPUs supported by machine '{machine}' is {max}"
# cpu_hierarchy_to_string(), 7.2 hw/core/machine-smp.c:29-48, 10.0 :31-62: only the levels
# the machine supports, largest first (PC: never drawers, books or clusters).
HIERARCHY_SOCKETS: Final = "sockets ({n})"
HIERARCHY_DIES: Final = " * dies ({n})"
HIERARCHY_MODULES: Final = " * modules ({n})"  # 10.0 only
HIERARCHY_CORES_THREADS: Final = " * cores ({cores}) * threads ({threads})"

# kvminit's own, where QEMU would say nothing.
ZERO_2_6: Final = (
    "{key} = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"
)
SIGFPE: Final = (
    "QEMU would crash here: SIGFPE in {function}(), a division by zero because the "
    "-smp values multiply to a multiple of 2**32"
)

# --- the values ---------------------------------------------------------------------------

_U32: Final = 0xFFFFFFFF
MAX_CPUMASK_BITS_2_6: Final = 255
MIN_CPUS_PC: Final = 1  # mc->min_cpus, defaulted in machine_class_base_init for every PC type

# smp_arg's order; also the order "the first key" means below. cpus is the file's "smp".
ORDER: Final = ("cpus", "maxcpus", "sockets", "dies", "clusters", "modules", "cores", "threads")
_TOPOLOGY_KEYS: Final = ("sockets", "dies", "modules", "cores", "threads")
_OPTS_2_6: Final = frozenset({"cpus", "sockets", "cores", "threads", "maxcpus"})


@dataclass(frozen=True)
class SmpRequest:
    """What the machine file (or -smp) gave; None = not given."""

    cpus: int | None = None  # machine-file key "smp"
    maxcpus: int | None = None
    sockets: int | None = None
    dies: int | None = None
    clusters: int | None = None
    modules: int | None = None
    cores: int | None = None
    threads: int | None = None

    def given(self) -> list[tuple[str, int]]:
        """(field, value) of every given key, in ORDER."""
        pairs = ((name, getattr(self, name)) for name in ORDER)
        return [(name, value) for name, value in pairs if value is not None]


@dataclass(frozen=True)
class Topology:
    """What QEMU settles: ms->smp (2.6: smp_cpus, max_cpus, smp_cores, smp_threads)."""

    cpus: int
    max_cpus: int
    sockets: int
    dies: int
    clusters: int
    modules: int
    cores: int
    threads: int


@dataclass(frozen=True)
class SmpMachine:
    """The machine-class facts -smp needs."""

    name: str  # MachineClass->name QEMU prints ("pc-q35-7.2", "isapc")
    max_cpus: int
    prefer_sockets: bool  # pc/q35 types <= 6.1 under 7.2/10.0
    dies_supported: bool
    modules_supported: bool


def file_key(name: str) -> str:
    """The machine-file key of a request field (cpus is written `smp`)."""
    return "smp" if name == "cpus" else name


def smp_arg(req: SmpRequest) -> str:
    """The -smp value kvminit writes: cpus bare and first, then key=value in ORDER."""
    return ",".join(str(v) if k == "cpus" else f"{k}={v}" for k, v in req.given())


def _u32(value: int) -> int:
    return value & _U32


def _s32(value: int) -> int:
    """An unsigned printed with %d, or stored into an int."""
    value &= _U32
    return value - (1 << 32) if value & 0x80000000 else value


class _Blame:
    """Which machine-file key each refusal points at.

    `counted` are the keys that mean something to QEMU: a 0 that QEMU treats as omitted
    does not count (2.6's maxcpus = 0 does: 2.6 compares against it).
    """

    def __init__(self, counted: set[str]) -> None:
        self.counted = counted

    def _first(self, names: tuple[str, ...]) -> str | None:
        return next((file_key(n) for n in ORDER if n in names and n in self.counted), None)

    def product(self) -> str:
        """The product rule: maxcpus when given, else the first topology key, else smp."""
        if "maxcpus" in self.counted:
            return "maxcpus"
        return self._first(_TOPOLOGY_KEYS) or "smp"

    def topology(self) -> str:
        """A rule about the levels alone (2.6's "< smp_cpus", a divisor of 0)."""
        return self._first((*_TOPOLOGY_KEYS, "clusters")) or "smp"

    def machine_max(self) -> str:
        """The machine's (or MAX_CPUMASK_BITS') limit: maxcpus, else smp, else the levels."""
        return self._first(("maxcpus",)) or self._first(("cpus",)) or self.topology()

    def machine_min(self) -> str:
        return self._first(("cpus",)) or self._first(("maxcpus",)) or self.topology()


def _divide(dividend: int, divisor: int, function: str, blame: _Blame) -> int:
    divisor = _u32(divisor)
    if divisor == 0:
        raise QemuExit("1", SIGFPE.format(function=function), key=blame.topology())
    return dividend // divisor


def parse_smp(qemu: Qemu, mc: SmpMachine, req: SmpRequest) -> tuple[Topology, list[Finding]]:
    """QEMU's -smp parsing and checks for `qemu`, in QEMU's order.

    Returns the settled topology and the warnings; a refusal raises QemuExit("1", ...).
    """
    topology, findings = _parse_smp(qemu, mc, req)
    return topology, list(findings)


# A pure function of its three arguments (frozen values, all of them in the key); a batch
# meets the same few -smp lines over and over. A refusal raises, and is not kept.
@lru_cache(maxsize=1024)
def _parse_smp(qemu: Qemu, mc: SmpMachine, req: SmpRequest) -> tuple[Topology, tuple[Finding, ...]]:
    if not req.given():
        # No -smp: 7.2/10.0 never call machine_parse_smp_config() (ms->smp keeps
        # mc->default_cpus = 1 and every level 1); 2.6 keeps smp_cpus = 1, max_cpus 0 -> 1.
        return Topology(1, 1, 1, 1, 1, 1, 1, 1), ()
    if qemu.at_least(7, 2):
        topology, findings = _machine_parse_smp_config(qemu, mc, req)
        return topology, tuple(findings)
    return _smp_parse_2_6(mc, req), ()


def _smp_parse_2_6(mc: SmpMachine, req: SmpRequest) -> Topology:
    given = req.given()
    # Option-parse time: QemuOpts stops at the first key qemu_smp_opts does not know.
    for name, _ in given:
        if name not in _OPTS_2_6:
            raise QemuExit(
                "1",
                SMP_LOCATION_2_6.format(arg=smp_arg(req)) + INVALID_PARAMETER_2_6.format(name=name),
                key=file_key(name),
            )
    blame = _Blame({n for n, v in given if v != 0 or n == "maxcpus"})

    # qemu_opt_get_number(opts, key, 0) into `unsigned`: a 0 is the same as omitted.
    cpus = _u32(req.cpus or 0)
    sockets = _u32(req.sockets or 0)
    cores = _u32(req.cores or 0)
    threads = _u32(req.threads or 0)
    # "compute missing values, prefer sockets over cores over threads"
    if cpus == 0 or sockets == 0:
        sockets = sockets or 1
        cores = cores or 1
        threads = threads or 1
        if cpus == 0:
            cpus = _u32(cores * threads * sockets)
    elif cores == 0:
        threads = threads or 1
        cores = _divide(cpus, sockets * threads, "smp_parse", blame)
    elif threads == 0:
        threads = _divide(cpus, cores * sockets, "smp_parse", blame)
    elif _u32(sockets * cores * threads) < cpus:
        raise QemuExit(
            "1",
            TOPOLOGY_LT_SMP_CPUS_2_6.format(
                sockets=sockets, cores=cores, threads=threads, cpus=cpus
            ),
            key=blame.topology(),
        )

    # max_cpus is an int, defaulting to the computed cpus; the comparison is unsigned.
    max_cpus = _s32(req.maxcpus if req.maxcpus is not None else cpus)
    if _u32(sockets * cores * threads) > _u32(max_cpus):
        raise QemuExit(
            "1",
            TOPOLOGY_GT_MAXCPUS_2_6.format(
                sockets=sockets, cores=cores, threads=threads, maxcpus=_u32(max_cpus)
            ),
            key=blame.product(),
        )
    smp_cpus = _s32(cpus)
    smp_cores = _s32(cores or 1)
    smp_threads = _s32(threads or 1)
    if max_cpus == 0:
        max_cpus = smp_cpus
    if max_cpus > MAX_CPUMASK_BITS_2_6:
        raise QemuExit("1", UNSUPPORTED_MAXCPUS_2_6, key=blame.machine_max())
    if max_cpus < smp_cpus:
        raise QemuExit("1", MAXCPUS_LT_SMP_2_6, key="maxcpus")
    # main(), right after smp_parse()
    if max_cpus > mc.max_cpus:
        raise QemuExit(
            "1",
            MACHINE_MAX_CPUS_2_6.format(num=max_cpus, machine=mc.name, max=mc.max_cpus),
            key=blame.machine_max(),
        )
    # 2.6 accepted: a 0 it quietly replaced is the file's mistake (kvminit's contract).
    for name, value in given:
        if value == 0:
            raise QemuExit("1", ZERO_2_6.format(key=file_key(name)), key=file_key(name))
    # 2.6 keeps no socket count (APIC IDs use cores and threads only): `sockets` is
    # smp_parse()'s local value.
    return Topology(smp_cpus, max_cpus, sockets, 1, 1, 1, smp_cores, smp_threads)


def _hierarchy(qemu: Qemu, mc: SmpMachine, t: Topology) -> str:
    text = HIERARCHY_SOCKETS.format(n=t.sockets)
    if mc.dies_supported:
        text += HIERARCHY_DIES.format(n=t.dies)
    if mc.modules_supported and qemu.at_least(10, 0):
        text += HIERARCHY_MODULES.format(n=t.modules)
    return text + HIERARCHY_CORES_THREADS.format(cores=t.cores, threads=t.threads)


def _machine_parse_smp_config(
    qemu: Qemu, mc: SmpMachine, req: SmpRequest
) -> tuple[Topology, list[Finding]]:
    v10 = qemu.at_least(10, 0)
    given = req.given()
    raw = dict(given)  # the QAPI int64 values
    findings: list[Finding] = []

    def refuse(message: str, key: str) -> QemuExit:
        # A warning already printed goes before the error line (7.2's zero warning).
        return QemuExit("1", "\n".join([*(f.message for f in findings), message]), key=key)

    # The QAPI visitor, before machine_parse_smp_config(): 7.2 knows no modules.
    if not v10 and "modules" in raw:
        raise refuse(SMP_UNEXPECTED_7_2.format(name="modules"), "modules")

    zeros = [name for name, value in given if value == 0]
    if zeros:
        if v10:
            raise refuse(ZERO_ERROR_10_0, file_key(zeros[0]))
        findings.append(Finding(ZERO_WARNING_7_2, file_key(zeros[0])))
    blame = _Blame({name for name, value in given if value != 0})

    u = {name: _u32(raw.get(name, 0)) for name in ORDER}
    if v10:
        for level, supported in (
            ("modules", mc.modules_supported),
            ("clusters", False),  # no PC machine supports clusters
            ("dies", mc.dies_supported),
        ):
            if not supported and raw.get(level, 0) > 1:
                raise refuse(LEVEL_UNSUPPORTED_10_0.format(level=level), level)
    else:
        if not mc.dies_supported and u["dies"] > 1:
            raise refuse(DIES_UNSUPPORTED_7_2, "dies")
        if u["clusters"] > 1:
            raise refuse(CLUSTERS_UNSUPPORTED_7_2, "clusters")
    dies = u["dies"] or 1
    clusters = u["clusters"] or 1
    modules = u["modules"] or 1
    cpus, maxcpus = u["cpus"], u["maxcpus"]
    sockets, cores, threads = u["sockets"], u["cores"], u["threads"]
    fixed = dies * clusters * modules  # drawers * books (1 on PC) * dies * clusters * modules

    def divide(dividend: int, divisor: int) -> int:
        return _divide(dividend, divisor, "machine_parse_smp_config", blame)

    # compute missing values based on the provided ones
    if cpus == 0 and maxcpus == 0:
        sockets = sockets or 1
        cores = cores or 1
        threads = threads or 1
    else:
        maxcpus = maxcpus or cpus
        if mc.prefer_sockets:  # "prefer sockets over cores before 6.2"
            if sockets == 0:
                cores = cores or 1
                threads = threads or 1
                sockets = divide(maxcpus, fixed * cores * threads)
            elif cores == 0:
                threads = threads or 1
                cores = divide(maxcpus, sockets * fixed * threads)
        else:  # "prefer cores over sockets since 6.2"
            if cores == 0:
                sockets = sockets or 1
                threads = threads or 1
                cores = divide(maxcpus, sockets * fixed * threads)
            elif sockets == 0:
                threads = threads or 1
                sockets = divide(maxcpus, fixed * cores * threads)
        # "try to calculate omitted threads at last"
        if threads == 0:
            threads = divide(maxcpus, sockets * fixed * cores)
    total = _u32(sockets * fixed * cores * threads)
    maxcpus = maxcpus or total
    cpus = cpus or maxcpus
    # ms->smp is stored before the sanity checks.
    topo = Topology(cpus, maxcpus, sockets, dies, clusters, modules, cores, threads)

    if total != maxcpus:
        raise refuse(
            PRODUCT_MISMATCH.format(hierarchy=_hierarchy(qemu, mc, topo), maxcpus=maxcpus),
            blame.product(),
        )
    if maxcpus < cpus:
        raise refuse(
            MAXCPUS_LT_SMP.format(hierarchy=_hierarchy(qemu, mc, topo), maxcpus=maxcpus, cpus=cpus),
            "maxcpus",
        )
    if cpus < MIN_CPUS_PC:
        raise refuse(
            MIN_CPUS.format(num=_s32(cpus), machine=mc.name, min=MIN_CPUS_PC),
            blame.machine_min(),
        )
    if maxcpus > mc.max_cpus:
        raise refuse(
            MAX_CPUS.format(num=_s32(maxcpus), machine=mc.name, max=mc.max_cpus),
            blame.machine_max(),
        )
    return topo, findings


# --- APIC IDs -----------------------------------------------------------------------------


def _apicid_bitwidth_for_count(count: int) -> int:
    """The bit width needed for `count` IDs (include/hw/i386/topology.h)."""
    count -= 1
    return count.bit_length() if count else 0


def apic_id(qemu: Qemu, topo: Topology, index: int) -> int:
    """x86_apicid_from_cpu_idx(): the APIC ID of CPU `index` (0-based, contiguous).

    2.6 (target-i386/topology.h): cores and threads; 7.2: dies above them; 10.0: dies and
    modules (include/hw/i386/topology.h). The package ID takes the bits above.
    """
    dies = topo.dies if qemu.at_least(7, 2) else 1
    modules = topo.modules if qemu.at_least(10, 0) else 1
    cores, threads = topo.cores, topo.threads
    if min(dies, modules, cores, threads) < 1 or index < 0:
        # apicid_bitwidth_for_count() asserts count >= 1: a settled topology never has 0.
        raise ValueError(f"no APIC ID for CPU {index} of {topo}")
    smt_width = _apicid_bitwidth_for_count(threads)
    core_width = _apicid_bitwidth_for_count(cores)
    module_width = _apicid_bitwidth_for_count(modules)
    die_width = _apicid_bitwidth_for_count(dies)
    core_offset = smt_width
    module_offset = core_offset + core_width
    die_offset = module_offset + module_width
    pkg_offset = die_offset + die_width

    pkg_id = index // (dies * modules * cores * threads)
    die_id = index // (modules * cores * threads) % dies
    module_id = index // (cores * threads) % modules
    core_id = index // threads % cores
    smt_id = index % threads
    return _u32(
        (pkg_id << pkg_offset)
        | (die_id << die_offset)
        | (module_id << module_offset)
        | (core_id << core_offset)
        | smt_id
    )


def apic_id_limit(qemu: Qemu, topo: Topology) -> int:
    """x86ms->apic_id_limit (2.6: pc_cpus_init's apic_id_limit): last CPU's APIC ID + 1."""
    return apic_id(qemu, topo, topo.max_cpus - 1) + 1
