"""The `-cpu` catalogue and the guest-CPU rule, against runs of the real QEMU 7.2 and 10.0.

The rows are copied from the research runs (confirmations.md: Debian's 7.2 and 10.0.2
binaries on an AMD EPYC host with 48 physical address bits, nested KVM, `-machine pc`,
the e820-dumping guest.rom). QEMU does not print the width it picks; the rows read it
off the run: an AMD guest gets the HyperTransport e820 entry only with phys-bits >= 40,
`-m 1G,slots=1,maxmem=1100G` needs 48 bits and `-m 1G,slots=1,maxmem=70G` 37 (both fail
with "phys-bits too low (N)"), and 10.0 refuses `-m 6G` at 32 bits. Rows marked "run
here" were added by this module's author with the same script; the 2.6 rows come from
its source (qemu/qemu target-i386/cpu.c @ f6f949e9), no 2.6 binary was run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kvminit.config.errors import Finding
from kvminit.engine.cpu import (
    GuestCpu,
    cpu_model_names,
    find_cpu_model,
    guest_cpu,
)
from kvminit.engine.cpu_models import CPU_MODELS
from kvminit.engine.errors import QemuExit
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu

AMD, INTEL, HYGON = "AuthenticAMD", "GenuineIntel", "HygonGenuine"
HOST_VENDOR, HOST_BITS = AMD, 48  # the research host
BOTH = (QEMU_7_2, QEMU_10_0)
V26 = (QEMU_2_6,)

Q = Qemu
Bits = int | str | None


def run(
    qemu: Qemu, accel: str, model: str, vendor: str | None = None, phys_bits: Bits = None
) -> tuple[GuestCpu, list[Finding]]:
    return guest_cpu(qemu, model, accel, vendor, phys_bits, HOST_VENDOR, HOST_BITS)


def row_id(qemu: Qemu, row: tuple[object, ...]) -> str:
    accel, model, vendor, bits = row[1:5]
    options = "".join(
        f",{k}={v}" for k, v in (("vendor", vendor), ("phys-bits", bits)) if v is not None
    )
    return f"{qemu}-{accel}-cpu {model}{options}"


def warn(bits: int) -> str:
    return f"warning: Host physical bits (48) does not match phys-bits property ({bits})"


# (versions, accel, -cpu model, vendor=, phys-bits=) -> (vendor, phys-bits, lm, warning)
# `phys-bits = "host"` is `host-phys-bits=on`.
ACCEPTED: list[tuple[tuple[Qemu, ...], str, str, str | None, Bits, str, int, bool, str | None]] = [
    # -- TCG: the model's vendor, vendor= over it, 40 bits for LM models
    (BOTH, "tcg", "Skylake-Client", None, None, INTEL, 40, True, None),  # 1G: no HT
    (BOTH, "tcg", "Skylake-Client", AMD, None, AMD, 40, True, None),  # HT (6G, q35 too)
    (BOTH, "tcg", "EPYC", None, None, AMD, 40, True, None),  # HT
    (BOTH, "tcg", "EPYC", INTEL, None, INTEL, 40, True, None),  # no HT
    (BOTH, "tcg", "Dhyana", None, None, HYGON, 40, True, None),  # not AMD: no HT
    (BOTH, "tcg", "EPYC-IBPB", None, None, AMD, 40, True, None),  # alias: HT
    (BOTH, "tcg", "qemu64", "AuthenticAMX", None, "AuthenticAMX", 40, True, None),  # no HT
    (BOTH, "tcg", "kvm64", None, None, INTEL, 40, True, None),  # no HT
    (BOTH, "tcg", "max", None, None, AMD, 40, True, None),  # HT; maxmem=1100G: "(40)"
    (BOTH, "tcg", "max", INTEL, None, INTEL, 40, True, None),  # no HT
    (BOTH, "tcg", "max", None, 48, AMD, 48, True, None),  # run here: maxmem=1100G runs
    (BOTH, "tcg", "base", None, None, "", 32, False, None),  # 10.0 -m 6G: "(32)"
    (BOTH, "tcg", "qemu64", None, 39, AMD, 39, True, None),  # no HT
    (BOTH, "tcg", "qemu64", None, 40, AMD, 40, True, None),  # HT
    (BOTH, "tcg", "qemu64", None, 52, AMD, 52, True, None),  # HT
    (BOTH, "tcg", "qemu64", None, "host", AMD, 40, True, None),  # maxmem=1100G: "(40)"
    (BOTH, "tcg", "pentium", None, 0, INTEL, 32, False, None),  # phys-bits=0 accepted
    (BOTH, "tcg", "athlon", AMD, None, AMD, 36, False, None),  # no LM: no HT
    # -- TCG, models without LM (maxmem=70G: "(36)" or runs; 10.0 -m 6G: "(32)" or runs)
    (BOTH, "tcg", "486", None, None, INTEL, 32, False, None),
    (BOTH, "tcg", "pentium", None, None, INTEL, 32, False, None),
    (BOTH, "tcg", "pentium2", None, None, INTEL, 36, False, None),
    (BOTH, "tcg", "pentium3", None, None, INTEL, 36, False, None),
    (BOTH, "tcg", "kvm32", None, None, INTEL, 36, False, None),
    (BOTH, "tcg", "athlon", None, None, AMD, 36, False, None),
    ((QEMU_7_2,), "tcg", "qemu32", None, None, INTEL, 32, False, None),  # PAE only
    ((QEMU_10_0,), "tcg", "qemu32", None, None, INTEL, 36, False, None),  # PAE counts
    ((QEMU_7_2,), "tcg", "coreduo", None, None, INTEL, 32, False, None),
    ((QEMU_10_0,), "tcg", "coreduo", None, None, INTEL, 36, False, None),
    ((QEMU_7_2,), "tcg", "n270", None, None, INTEL, 32, False, None),
    ((QEMU_10_0,), "tcg", "n270", None, None, INTEL, 36, False, None),
    # -- KVM: the host's vendor for every builtin model, max and host; not for base
    (BOTH, "kvm", "kvm64", None, None, AMD, 40, True, None),  # HT
    (BOTH, "kvm", "Skylake-Client", None, None, AMD, 40, True, None),  # HT
    (BOTH, "kvm", "qemu64", INTEL, None, INTEL, 40, True, None),  # no HT
    (BOTH, "kvm", "kvm64", AMD, None, AMD, 40, True, None),  # HT
    (BOTH, "kvm", "base", None, None, "", 32, False, None),  # 10.0 -m 6G: "(32)"
    (BOTH, "kvm", "qemu64", None, 39, AMD, 39, True, warn(39)),  # no HT
    (BOTH, "kvm", "qemu64", None, 40, AMD, 40, True, warn(40)),  # HT
    (BOTH, "kvm", "qemu64", None, 48, AMD, 48, True, None),
    (BOTH, "kvm", "qemu64", None, 32, AMD, 32, True, warn(32)),  # 10.0 -m 6G: "(32)"
    (BOTH, "kvm", "qemu64", None, "host", AMD, 48, True, None),  # maxmem=1100G runs
    (BOTH, "kvm", "host", None, None, AMD, 48, True, None),  # maxmem=1100G runs
    (BOTH, "kvm", "host", None, 39, AMD, 48, True, warn(39)),  # HT: still 48
    (BOTH, "kvm", "host", INTEL, None, INTEL, 48, True, None),  # no HT
    (BOTH, "kvm", "max", None, None, AMD, 48, True, None),  # maxmem=1100G runs
    (BOTH, "kvm", "pentium", None, None, AMD, 32, False, None),  # 10.0 -m 6G: "(32)"
    (BOTH, "kvm", "pentium", None, "host", AMD, 32, False, None),  # ignored silently
    ((QEMU_10_0,), "kvm", "qemu32", None, None, AMD, 36, False, None),  # -m 6G runs
    ((QEMU_7_2,), "kvm", "qemu32", None, None, AMD, 32, False, None),  # 7.2's rule
    # -- 2.6 (source): no phys-bits property; the width is CPUID 0x80000008's
    ((QEMU_2_6,), "tcg", "qemu64", None, None, AMD, 40, True, None),
    ((QEMU_2_6,), "tcg", "Haswell-noTSX", None, None, INTEL, 40, True, None),
    ((QEMU_2_6,), "tcg", "qemu64", INTEL, None, INTEL, 40, True, None),
    ((QEMU_2_6,), "kvm", "kvm64", None, None, AMD, 40, True, None),  # x86_cpu_load_def
    ((QEMU_2_6,), "kvm", "host", None, None, AMD, 40, True, None),
    ((QEMU_2_6,), "tcg", "qemu32", None, None, INTEL, 32, False, None),  # PAE not counted
    ((QEMU_2_6,), "tcg", "pentium2", None, None, INTEL, 36, False, None),
    ((QEMU_2_6,), "tcg", "486", None, None, INTEL, 32, False, None),
]


@pytest.mark.parametrize(
    ("qemu", "accel", "model", "vendor", "phys_bits", "want_vendor", "bits", "lm", "warning"),
    [pytest.param(q, *row[1:], id=row_id(q, row)) for row in ACCEPTED for q in row[0]],
)
def test_guest_cpu(
    qemu: Qemu,
    accel: str,
    model: str,
    vendor: str | None,
    phys_bits: Bits,
    want_vendor: str,
    bits: int,
    lm: bool,
    warning: str | None,
) -> None:
    cpu, findings = run(qemu, accel, model, vendor, phys_bits)
    got = GuestCpu(cpu.model, cpu.vendor, cpu.phys_bits, cpu.lm)
    assert got == GuestCpu(model, want_vendor, bits, lm)
    assert findings == ([Finding(warning, "phys-bits")] if warning else [])


def vendor_error(qemu: Qemu, driver: str, value: str) -> str:
    if qemu == QEMU_10_0:
        why = "value of property 'vendor' must consist of exactly 12 characters"
    else:
        why = f"Property '.vendor' doesn't take value '{value}'"
    return f"can't apply global {driver}-x86_64-cpu.vendor={value}: {why}"


UNKNOWN = "unable to find CPU model '{}'"
UNKNOWN_26 = "Unable to find CPU definition: {}"
RANGE = "phys-bits should be between 32 and 52  (but is {})"
NOT_32 = "phys-bits is not user-configurable in 32 bit"
NO_HOST = "CPU model 'host' requires KVM or HVF"
UINT32 = "can't apply global qemu64-x86_64-cpu.phys-bits={}: Parameter 'phys-bits' expects uint32_t"

# (versions, accel, model, vendor=, phys-bits=) -> (message after the program name, key)
REFUSED: list[tuple[tuple[Qemu, ...], str, str, str | None, Bits, str, str]] = [
    (BOTH, "tcg", "nosuch", None, None, UNKNOWN.format("nosuch"), "cpu"),
    (BOTH, "kvm", "nosuch", None, None, UNKNOWN.format("nosuch"), "cpu"),
    (BOTH, "tcg", "epyc", None, None, UNKNOWN.format("epyc"), "cpu"),  # case-sensitive
    (BOTH, "tcg", "Skylake-Client-v9", None, None, UNKNOWN.format("Skylake-Client-v9"), "cpu"),
    (BOTH, "tcg", "x86_64-cpu", None, None, UNKNOWN.format("x86_64-cpu"), "cpu"),
    (BOTH, "tcg", "qemu64-x86_64-cpu", None, None, UNKNOWN.format("qemu64-x86_64-cpu"), "cpu"),
    (BOTH, "tcg", "", None, 40, UNKNOWN.format(""), "cpu"),  # `-cpu ,+avx2`
    (BOTH, "tcg", "", None, None, "-cpu option cannot be empty", "cpu"),  # `-cpu ''`
    (BOTH, "tcg", "host", None, None, NO_HOST, "cpu"),
    (BOTH, "tcg", "host", None, 39, NO_HOST, "cpu"),  # before any phys-bits rule
    (BOTH, "tcg", "qemu64", None, 53, RANGE.format(53), "phys-bits"),
    (BOTH, "tcg", "qemu64", None, 31, RANGE.format(31), "phys-bits"),
    (BOTH, "tcg", "qemu64", None, 60, RANGE.format(60), "phys-bits"),
    (BOTH, "kvm", "qemu64", None, 53, warn(53) + "\n" + RANGE.format(53), "phys-bits"),
    (BOTH, "kvm", "qemu64", None, 31, warn(31) + "\n" + RANGE.format(31), "phys-bits"),
    (BOTH, "tcg", "pentium", None, 36, NOT_32, "phys-bits"),
    (BOTH, "kvm", "pentium", None, 36, NOT_32, "phys-bits"),  # no warning first
    (BOTH, "kvm", "base", None, 40, NOT_32, "phys-bits"),  # run here
    (BOTH, "kvm", "kvm32", None, 40, NOT_32, "phys-bits"),  # run here
    (BOTH, "tcg", "qemu64", None, -1, UINT32.format(-1), "phys-bits"),
    (BOTH, "tcg", "qemu64", None, 1 << 32, UINT32.format(1 << 32), "phys-bits"),
    # -- 2.6 (source): cpu_x86_create(), then the feature string in order
    (V26, "tcg", "max", None, None, UNKNOWN_26.format("max"), "cpu"),
    (V26, "kvm", "base", None, None, UNKNOWN_26.format("base"), "cpu"),
    (V26, "tcg", "EPYC", None, None, UNKNOWN_26.format("EPYC"), "cpu"),
    (V26, "tcg", "qemu64-v1", None, None, UNKNOWN_26.format("qemu64-v1"), "cpu"),
    (V26, "tcg", "", None, None, "Invalid/empty CPU model name", "cpu"),
    (V26, "tcg", "host", None, None, "CPU model 'host' requires KVM", "cpu"),
    (V26, "tcg", "host", "abc", 40, "CPU model 'host' requires KVM", "cpu"),
    (V26, "tcg", "qemu64", "abc", 40, "Property '.vendor' doesn't take value 'abc'", "vendor"),
    (V26, "kvm", "qemu64", None, 40, "Property '.phys-bits' not found", "phys-bits"),
    (V26, "kvm", "qemu64", None, "host", "Property '.host-phys-bits' not found", "phys-bits"),
    (V26, "tcg", "pentium", AMD, 36, "Property '.phys-bits' not found", "phys-bits"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("qemu", "accel", "model", "vendor", "phys_bits", "message", "key"),
    [pytest.param(q, *row[1:], id=row_id(q, row)) for row in REFUSED for q in row[0]],
)
def test_guest_cpu_refusals(
    qemu: Qemu,
    accel: str,
    model: str,
    vendor: str | None,
    phys_bits: Bits,
    message: str,
    key: str,
) -> None:
    with pytest.raises(QemuExit) as e:
        run(qemu, accel, model, vendor, phys_bits)
    # What QEMU warned before it refused comes with the refusal, as warnings.
    said = "\n".join([w.message for w in e.value.warnings] + [e.value.message])
    assert (said, e.value.key, e.value.step) == (message, key, "3")


# (accel, -cpu model, vendor=, phys-bits=): the vendor's length is checked when the
# options are applied, before realize (so before `host` is refused and phys-bits checked).
VENDOR_REFUSED: list[tuple[str, str, str, Bits]] = [
    ("tcg", "qemu64", "abc", None),
    ("tcg", "qemu64", "", None),  # `vendor=`
    ("kvm", "qemu64", "abc", None),
    ("tcg", "Skylake-Client-IBRS", "abc", None),  # the name given, alias or not
    ("tcg", "EPYC-Rome-v2", "abc", None),
    ("tcg", "host", "abc", None),  # run here: before "requires KVM or HVF"
    ("tcg", "pentium", "abc", 36),  # run here: before the 32-bit rule
    ("kvm", "qemu64", "abc", 53),  # run here: before the warning and the range
    ("tcg", "qemu64", "abc", -1),  # run here: vendor= is written first
    ("tcg", "qemu64", "Authentic AMD", None),  # 13 characters
]


@pytest.mark.parametrize("qemu", BOTH)
@pytest.mark.parametrize(("accel", "model", "vendor", "phys_bits"), VENDOR_REFUSED)
def test_vendor_refusals(qemu: Qemu, accel: str, model: str, vendor: str, phys_bits: Bits) -> None:
    with pytest.raises(QemuExit) as e:
        run(qemu, accel, model, vendor, phys_bits)
    assert (e.value.message, e.value.key) == (vendor_error(qemu, model, vendor), "vendor")


def test_vendor_length_is_in_bytes() -> None:
    # strlen(): "AuthénticAM" is 11 characters but 12 bytes in UTF-8.
    cpu, _ = run(QEMU_10_0, "tcg", "qemu64", "AuthénticAM")
    assert cpu.vendor == "AuthénticAM"


# ---------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------

# The start and the end of `qemu-system-x86_64 -cpu help`'s "Available CPUs:" list.
HELP_HEAD = {
    "7.2": ["486", "486-v1", "Broadwell", "Broadwell-IBRS", "Broadwell-noTSX",
            "Broadwell-noTSX-IBRS", "Broadwell-v1", "Broadwell-v2", "Broadwell-v3",
            "Broadwell-v4", "Cascadelake-Server", "Cascadelake-Server-noTSX"],
    "10.0": ["486", "486-v1", "Broadwell", "Broadwell-IBRS", "Broadwell-noTSX",
             "Broadwell-noTSX-IBRS", "Broadwell-v1", "Broadwell-v2", "Broadwell-v3",
             "Broadwell-v4", "Cascadelake-Server", "Cascadelake-Server-noTSX"],
}  # fmt: skip
HELP_TAIL = ["phenom-v1", "qemu32", "qemu32-v1", "qemu64", "qemu64-v1", "base", "host", "max"]
# In 10.0's list, not in 7.2's (nothing went away).
NEW_IN_10_0 = {
    "SapphireRapids": 3, "GraniteRapids": 2, "SierraForest": 2, "ClearwaterForest": 1,
    "EPYC-Genoa": 1, "YongFeng": 2,
}  # fmt: skip
NEW_VERSIONS_IN_10_0 = ["EPYC-v4", "EPYC-Rome-v3", "EPYC-Rome-v4", "EPYC-Milan-v2",
                        "Icelake-Server-v7"]  # fmt: skip
# The 17 alias names of 7.2 and 10.0 and the model each belongs to.
ALIASES = {
    "Broadwell-IBRS": "Broadwell", "Broadwell-noTSX": "Broadwell",
    "Broadwell-noTSX-IBRS": "Broadwell", "Cascadelake-Server-noTSX": "Cascadelake-Server",
    "EPYC-IBPB": "EPYC", "Haswell-IBRS": "Haswell", "Haswell-noTSX": "Haswell",
    "Haswell-noTSX-IBRS": "Haswell", "Icelake-Server-noTSX": "Icelake-Server",
    "IvyBridge-IBRS": "IvyBridge", "Nehalem-IBRS": "Nehalem", "SandyBridge-IBRS": "SandyBridge",
    "Skylake-Client-IBRS": "Skylake-Client", "Skylake-Client-noTSX-IBRS": "Skylake-Client",
    "Skylake-Server-IBRS": "Skylake-Server", "Skylake-Server-noTSX-IBRS": "Skylake-Server",
    "Westmere-IBRS": "Westmere",
}  # fmt: skip
NO_LM = {"486", "pentium", "pentium2", "pentium3", "qemu32", "kvm32", "coreduo", "athlon", "n270"}


@pytest.mark.parametrize(
    ("qemu", "names", "models", "vendors"),
    [
        (QEMU_2_6, 30, 29, {INTEL: 21, AMD: 8}),
        (QEMU_7_2, 132, 38, {INTEL: 26, AMD: 11, HYGON: 1}),
        (QEMU_10_0, 154, 44, {INTEL: 30, AMD: 12, HYGON: 1, "CentaurHauls": 1}),
    ],
)
def test_catalogue_counts(qemu: Qemu, names: int, models: int, vendors: dict[str, int]) -> None:
    accepted = cpu_model_names(qemu)
    assert len(accepted) == len(set(accepted)) == names
    builtin = {m for m in CPU_MODELS[str(qemu)].values() if m.model not in ("base", "host", "max")}
    assert len(builtin) == models
    count: dict[str, int] = {}
    for m in builtin:
        assert m.vendor is not None
        count[m.vendor] = count.get(m.vendor, 0) + 1
    assert count == vendors
    assert {m.model for m in builtin if not m.lm} == NO_LM


@pytest.mark.parametrize("qemu", BOTH)
def test_catalogue_agrees_with_cpu_help(qemu: Qemu) -> None:
    names = cpu_model_names(qemu)
    head = HELP_HEAD[str(qemu)]
    assert names[: len(head)] == head
    assert names[-len(HELP_TAIL) :] == HELP_TAIL
    for alias, model in ALIASES.items():
        assert find_cpu_model(qemu, alias).model == model
    for model, versions in NEW_IN_10_0.items():
        spelled = [model] + [f"{model}-v{v}" for v in range(1, versions + 1)]
        assert all((name in names) == (qemu == QEMU_10_0) for name in spelled)
        assert f"{model}-v{versions + 1}" not in names
    assert all((name in names) == (qemu == QEMU_10_0) for name in NEW_VERSIONS_IN_10_0)
    assert find_cpu_model(qemu, "Skylake-Client-v4").model == "Skylake-Client"
    assert find_cpu_model(qemu, "Dhyana-v2").vendor == HYGON


def test_catalogue_2_6() -> None:
    names = cpu_model_names(QEMU_2_6)
    # x86_cpu_list(): builtin_x86_defs[] order, then host.
    assert names[:5] == ["qemu64", "phenom", "core2duo", "kvm64", "qemu32"]
    assert names[-3:] == ["Opteron_G4", "Opteron_G5", "host"]
    # Separate models in 2.6, aliases of Haswell-v2 / Broadwell-v2 later.
    assert find_cpu_model(QEMU_2_6, "Haswell-noTSX").model == "Haswell-noTSX"
    assert find_cpu_model(QEMU_7_2, "Haswell-noTSX").model == "Haswell"
    assert not any("-v" in n or "IBRS" in n for n in names)


def test_find_cpu_model() -> None:
    assert find_cpu_model(QEMU_10_0, "YongFeng").vendor == "CentaurHauls"
    assert find_cpu_model(QEMU_10_0, "host").vendor is None  # the host's
    assert find_cpu_model(QEMU_7_2, "base") == ("base", "", False, False, False, False, False)
    for qemu, message in [
        (QEMU_2_6, "Unable to find CPU definition: Qemu64"),
        (QEMU_7_2, "unable to find CPU model 'Qemu64'"),  # case-sensitive
        (QEMU_10_0, "unable to find CPU model 'Qemu64'"),
    ]:
        with pytest.raises(QemuExit) as e:
            find_cpu_model(qemu, "Qemu64")
        assert (e.value.message, e.value.key) == (message, "cpu")


def test_unmodelled_versions_use_the_older_catalogue() -> None:
    assert cpu_model_names(Q(8, 2)) == cpu_model_names(QEMU_7_2)
    assert cpu_model_names(Q(11, 0)) == cpu_model_names(QEMU_10_0)
    assert cpu_model_names(Q(5, 0)) == cpu_model_names(QEMU_2_6)
    cpu, _ = run(Q(9, 2), "tcg", "qemu32")
    assert cpu.phys_bits == 32  # 7.2's rule answers for 9.2


ROOT = Path(__file__).resolve().parent.parent
SOURCES = [Path("/work/src/qemu-7.2"), Path("/work/src/qemu-10.0")]


@pytest.mark.skipif(
    not all((s / "target/i386/cpu.c").is_file() for s in SOURCES),
    reason="the QEMU 7.2 / 10.0 source trees are not here",
)
def test_the_table_is_what_the_generator_prints() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_cpu_models.py"), "--module", *map(str, SOURCES)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert out.stdout == (ROOT / "kvminit/engine/cpu_models.py").read_text()


# ---------------------------------------------------------------------------------------
# x2apic and topoext: the model definitions' CPUID_EXT_X2APIC / CPUID_EXT3_TOPOEXT bits
# ---------------------------------------------------------------------------------------

ALL = (QEMU_2_6, QEMU_7_2, QEMU_10_0)
# Every builtin model with CPUID_EXT_X2APIC in FEAT_1_ECX (grep: 7 defs in 2.6, 12 in 7.2's
# cpu.c, 17 in 10.0's); Nehalem and Westmere never had it.
X2APIC_7_2 = {
    "SandyBridge", "IvyBridge", "Haswell", "Broadwell", "Skylake-Client", "Skylake-Server",
    "Cascadelake-Server", "Cooperlake", "Icelake-Server", "Denverton", "Snowridge", "KnightsMill",
}  # fmt: skip
X2APIC_MODELS = {
    QEMU_2_6: {"SandyBridge", "IvyBridge", "Haswell-noTSX", "Haswell", "Broadwell-noTSX",
               "Broadwell", "Skylake-Client"},
    QEMU_7_2: X2APIC_7_2,
    QEMU_10_0: X2APIC_7_2 | {"SapphireRapids", "GraniteRapids", "SierraForest",
                             "ClearwaterForest", "YongFeng"},
}  # fmt: skip
# Every builtin model with CPUID_EXT3_TOPOEXT in FEAT_8000_0001_ECX (none in 2.6).
TOPOEXT_MODELS: dict[Qemu, set[str]] = {
    QEMU_2_6: set(),
    QEMU_7_2: {"EPYC", "Dhyana", "EPYC-Rome", "EPYC-Milan"},
    QEMU_10_0: {"EPYC", "Dhyana", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa"},
}


@pytest.mark.parametrize("qemu", ALL)
def test_x2apic_and_topoext_models(qemu: Qemu) -> None:
    builtin = [m for m in CPU_MODELS[str(qemu)].values() if m.model not in ("base", "host", "max")]
    assert {m.model for m in builtin if m.x2apic} == X2APIC_MODELS[qemu]
    assert {m.model for m in builtin if m.topoext} == TOPOEXT_MODELS[qemu]


@pytest.mark.parametrize("qemu", ALL)
@pytest.mark.parametrize("name", ["qemu64", "kvm64", "486", "qemu32", "Nehalem", "Opteron_G5"])
def test_no_x2apic(qemu: Qemu, name: str) -> None:
    # 10.0 TCG, q35, -smp 256: "APIC ID 255 requires x2APIC feature in CPU" for qemu64.
    model = find_cpu_model(qemu, name)
    assert (model.x2apic, model.topoext) == (False, False)


@pytest.mark.parametrize(
    ("qemu", "name"),
    [(q, n) for q in ALL for n in ("SandyBridge", "Haswell", "Skylake-Client", "Broadwell")]
    + [(q, n) for q in BOTH for n in ("Skylake-Client-v4", "Haswell-noTSX-IBRS",
                                      "Cascadelake-Server-noTSX", "Icelake-Server-v6")]
    + [(QEMU_10_0, n) for n in ("SapphireRapids-v3", "YongFeng-v2", "Icelake-Server-v7")],
)  # fmt: skip
def test_x2apic(qemu: Qemu, name: str) -> None:
    # 10.0 TCG, q35, -smp 256: Skylake-Client runs, Skylake-Client,-x2apic aborts.
    model = find_cpu_model(qemu, name)
    assert (model.x2apic, model.topoext) == (True, False)


EPYC_7_2 = ["EPYC", "EPYC-v1", "EPYC-v2", "EPYC-v3", "EPYC-IBPB", "EPYC-Rome", "EPYC-Rome-v1",
            "EPYC-Rome-v2", "EPYC-Milan", "EPYC-Milan-v1"]  # fmt: skip
EPYC_10_0 = [*EPYC_7_2, "EPYC-v4", "EPYC-Rome-v3", "EPYC-Rome-v4", "EPYC-Milan-v2", "EPYC-Genoa",
             "EPYC-Genoa-v1"]  # fmt: skip


@pytest.mark.parametrize(
    ("qemu", "name"), [(QEMU_7_2, n) for n in EPYC_7_2] + [(QEMU_10_0, n) for n in EPYC_10_0]
)
def test_epyc_topoext_in_every_version(qemu: Qemu, name: str) -> None:
    # No version's props touch topoext (or x2apic): every EPYC name keeps the base bits.
    model = find_cpu_model(qemu, name)
    assert (model.vendor, model.x2apic, model.topoext) == (AMD, False, True)


@pytest.mark.parametrize("qemu", BOTH)
def test_dhyana_topoext_is_not_amd(qemu: Qemu) -> None:
    # IS_AMD_CPU() wants AuthenticAMD: Dhyana's topoext never matters for the warning.
    assert find_cpu_model(qemu, "Dhyana-v2")[1:] == (HYGON, True, True, True, False, True)


@pytest.mark.parametrize(
    ("qemu", "name", "x2apic", "topoext"),
    [
        (QEMU_7_2, "max", False, False),  # TCG_EXT_FEATURES lacks CPUID_EXT_X2APIC
        (QEMU_10_0, "max", True, False),  # 10.0 TCG, -smp 256: runs
        (QEMU_7_2, "base", False, False),
        (QEMU_10_0, "base", False, False),
        (QEMU_2_6, "host", True, False),
        (QEMU_7_2, "host", True, False),  # KVM's x2apic; topoext is no_autoenable
        (QEMU_10_0, "host", True, False),  # 10.0 KVM -smp 2,threads=2: warns
    ],
)
def test_special_models(qemu: Qemu, name: str, x2apic: bool, topoext: bool) -> None:
    model = find_cpu_model(qemu, name)
    assert (model.x2apic, model.topoext) == (x2apic, topoext)


@pytest.fixture
def generator(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_cpu_models", ROOT / "scripts/gen_cpu_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # @dataclass looks the module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("prop", ["x2apic", "topoext", "vendor", "lm", "i64", "pse36", "pae"])
def test_generator_refuses_version_dependent_facts(generator: ModuleType, prop: str) -> None:
    body = (
        "{ .version = 1 }, { .version = 2, .props = (PropValue[]) { "
        f'{{ "{prop}", "off" }}, {{ /* end of list */ }} }} }}, {{ /* end of list */ }}'
    )
    versions = generator._versions
    body = generator.strip_comments(body)  # as parse_tree() hands it over
    with pytest.raises(SystemExit, match=f"^EPYC-v2 sets {prop}: the table cannot express it$"):
        versions(body, "EPYC")
    assert versions(body.replace(prop, "xsaves"), "EPYC") == (2, [])
