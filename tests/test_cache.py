"""Every cache and shortcut taken for speed answers exactly as the work it saves.

Each cache is keyed on everything its answer depends on: for each part of a key, a
change of that part alone misses, and what the cache gives equals what the uncached
path computes. The shortcuts (the command line's ParsedMachine, the batch's findings(),
the board's unobserved CPU loop, the streamed report) are compared with the paths they
stand in for, over many inputs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvminit.batch import PairResult, Target
from kvminit.common.text import printable_lines
from kvminit.config import ConfigError, Finding, MachineConfig, parse_machine
from kvminit.config import machine as fast
from kvminit.config.codegen import HERE, live, render, stripped
from kvminit.config.loader import read_machine
from kvminit.engine import InitResult, run
from kvminit.engine import cpu as cpu_rules
from kvminit.engine import smp as smp_rules
from kvminit.engine.accel import findings
from kvminit.engine.machines import machine_class
from kvminit.engine.memo import Outcome
from kvminit.engine.qemu import MODELLED, QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.engine.state import KVMState
from kvminit.kvm.caps import Cap
from kvminit.kvm.emulated import ProfileHost
from kvminit.kvm.interpose import CallLog, HookedHost
from kvminit.kvm.profile import HostProfile
from kvminit.kvm.profiles import builtin_names, builtin_profile, profile_host
from kvminit.report import validate as report
from tests.test_fuzz import document, keys, values

ROOT = Path(__file__).parents[1]
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILES = sorted(builtin_names())


def host(name: str = "amd-epyc-linux-6.18") -> ProfileHost:
    made = profile_host(builtin_profile(name))
    assert isinstance(made, ProfileHost)
    return made


def without_trace(r: InitResult) -> InitResult:
    return dataclasses.replace(r, trace=())


# --- machines the engine can take: every key, plausible and implausible values ----------

machines = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                *("pc", "q35", "isapc", "pc-i440fx-2.6", "pc-i440fx-1.4", "pc-q35-4.0"),
                *("pc-q35-9.0", "pc-i440fx-2.3", "pc-0.15", "pc-q35-2.4", "pc-i440fx-7.1"),
                "microvm",
            ]
        ),
        "memory": st.sampled_from(["128M", "1G", "3G", "3584M", "4G", "6G", "64G", "2T"]),
        "maxmem": st.sampled_from(["4G", "8G", "1T"]),
        "slots": st.integers(0, 300),
        "smp": st.integers(0, 300),
        "maxcpus": st.integers(0, 600),
        "sockets": st.integers(0, 4),
        "dies": st.integers(0, 2),
        "cores": st.integers(0, 8),
        "threads": st.integers(0, 2),
        "modules": st.integers(0, 2),
        "kernel-irqchip": st.sampled_from(["on", "off", "split"]),
        "smm": st.sampled_from(["on", "off", "auto"]),
        "kvm-shadow-mem": st.sampled_from(["64K", "256K", "1M", "16M"]),
        "kvm-type": st.sampled_from(["hv"]),
        "max-ram-below-4g": st.sampled_from(["0", "512K", "1G", "3G", "4G"]),
        "cpu": st.sampled_from(["qemu64", "host", "max", "486", "EPYC-Rome", "Haswell", "nope"]),
        "vendor": st.sampled_from(["GenuineIntel", "AuthenticAMD", "short"]),
        "phys-bits": st.sampled_from([32, 36, 40, 48, 52, 64, "host"]),
        "accel": st.sampled_from([["kvm"], ["tcg"], ["kvm", "tcg"], ["tcg", "kvm"]]),
    },
)


def described(keys_: dict[str, Any]) -> MachineConfig | None:
    try:
        return parse_machine(document(keys_))
    except ConfigError:
        return None


# --- 1. the accelerator memo (engine/memo.py) ----------------------------------------------


@EXAMPLES
@given(keys_=machines, profile=st.sampled_from(PROFILES), qemu=st.sampled_from(MODELLED))
def test_a_remembered_init_gives_the_same_result(
    keys_: dict[str, Any], profile: str, qemu: Qemu
) -> None:
    machine = described(keys_)
    if machine is None:
        return
    h = host(profile)
    traced = run(machine, h, qemu=qemu)  # a trace: nothing is remembered
    first = run(machine, h, qemu=qemu, trace=False)  # fills the memo
    again = run(machine, h, qemu=qemu, trace=False)  # answered from it
    # Everything but the trace, fd numbers included (the replay opens what the init did).
    assert without_trace(first) == without_trace(traced)
    assert without_trace(again) == without_trace(traced)
    assert findings(machine, h, qemu=qemu) == (traced.error, list(traced.warnings))


def _memo_misses(h: ProfileHost, machine: MachineConfig, qemu: Qemu = QEMU_10_0) -> int:
    before = len(h.memo)
    run(machine, h, qemu=qemu, trace=False)
    return len(h.memo) - before


BASE = {"type": "pc", "smp": 2, "kernel-irqchip": "on", "memory": "1G"}


@pytest.mark.parametrize(
    "change",
    [
        {"kernel-irqchip": "split"},  # kernel_irqchip
        {"smp": 3},  # cpus
        {"maxcpus": 4},  # max_cpus
        {"kvm-shadow-mem": "1M"},  # kvm_shadow_mem
        {"smm": "off"},  # smm
        {"accel": ["kvm", "tcg"]},  # accel
    ],
    ids=lambda c: next(iter(c)),
)
def test_each_part_of_the_key_misses(change: dict[str, Any]) -> None:
    h = host()
    base = parse_machine(document(BASE))
    assert _memo_misses(h, base) == 1
    assert _memo_misses(h, base) == 0  # the same key: a hit
    changed = parse_machine(document({**BASE, **change}))
    assert _memo_misses(h, changed) == 1
    assert without_trace(run(changed, h, trace=False)) == without_trace(run(changed, h))


def test_the_machine_types_default_irqchip_is_in_the_key() -> None:
    h = host()
    plain = {k: v for k, v in BASE.items() if k != "kernel-irqchip"}
    assert _memo_misses(h, parse_machine(document(plain))) == 1  # pc: on
    assert _memo_misses(h, parse_machine(document({**plain, "type": "q35"}))) == 0  # on too
    split = parse_machine(document({**plain, "type": "pc-q35-4.0"}))  # its default: split
    assert _memo_misses(h, split) == 1
    assert without_trace(run(split, h, trace=False)) == without_trace(run(split, h))


def test_the_qemu_version_and_the_table_are_in_the_key() -> None:
    h = host()
    m = parse_machine(document(BASE))
    assert _memo_misses(h, m, QEMU_10_0) == 1
    assert _memo_misses(h, m, QEMU_7_2) == 1  # qemu (and e820_legacy stays False)
    assert _memo_misses(h, m, QEMU_2_6) == 1  # qemu, e820_legacy True
    kvm_type = parse_machine(document({**BASE, "kvm-type": "hv"}))
    assert _memo_misses(h, kvm_type, QEMU_2_6) == 1  # kvm_type
    assert _memo_misses(h, m, QEMU_2_6) == 0


def test_a_line_moved_is_the_same_key_placed_again() -> None:
    # The warnings are kept without their lines and placed at each file's own.
    h = host()
    warns = {**BASE, "smp": 8}
    a = parse_machine(document(warns))
    b = parse_machine("# a comment first\n\n" + document(warns))
    ra, rb = run(a, h, trace=False), run(b, h, trace=False)
    assert ra.warnings and [w.line for w in rb.warnings] == [(w.line or 0) + 2 for w in ra.warnings]
    assert [w.message for w in rb.warnings] == [w.message for w in ra.warnings]
    assert without_trace(rb) == without_trace(run(b, h))


def test_another_host_is_another_memo() -> None:
    m = parse_machine(document(BASE))
    amd = host()
    run(m, amd, trace=False)
    # The same profile changed (fewer vCPUs recommended): a host of its own, its own answer.
    data = builtin_profile("amd-epyc-linux-6.18").model_dump(by_alias=True)
    data["caps"]["KVM_CAP_NR_VCPUS"] = 1
    other = profile_host(HostProfile.model_validate(data))
    assert isinstance(other, ProfileHost) and not other.memo
    r = run(m, other, trace=False)
    assert len(other.memo) == 1
    assert r.warnings and "recommended cpus" in r.warnings[0].message
    assert not run(m, amd, trace=False).warnings


def test_a_host_answers_from_its_profile_as_it_was() -> None:
    # Answers are copied when the host is made: the memo can never go stale.
    profile = builtin_profile("amd-epyc-linux-6.18").model_copy(deep=True)
    h = profile_host(profile)
    m = parse_machine(document(BASE))
    before = run(m, h)
    profile.api_version = 11
    profile.msr_indices = [1, 2, 3]
    profile.phys_bits = 36
    assert without_trace(run(m, h)) == without_trace(before)
    assert without_trace(run(m, h, trace=False)) == without_trace(before)


def test_hosts_that_see_calls_are_never_remembered() -> None:
    m = parse_machine(document(BASE))
    logs: list[CallLog] = []

    def log() -> CallLog:
        logs.append(CallLog())
        return logs[-1]

    inner = host()
    hooked = HookedHost(inner, log)
    run(m, hooked, trace=False)
    run(m, hooked, trace=False)
    assert not inner.memo  # a hooked host (faults, call logs) is not a ProfileHost
    assert [len(log.calls) for log in logs] == [len(logs[0].calls)] * 2 and logs[0].calls
    faulty = profile_host(
        HostProfile.model_validate(
            {
                **builtin_profile("amd-epyc-linux-6.18").model_dump(by_alias=True),
                "faults": [{"ioctl": "KVM_CREATE_IRQCHIP", "errno": "EBUSY", "times": 1}],
            }
        )
    )
    assert not isinstance(faulty, ProfileHost)
    # `times` counts per open: each run sees its one failure, as without the memo.
    first, second = run(m, faulty, trace=False), run(m, faulty, trace=False)
    assert first.error is not None and first == second


def test_traced_runs_record_every_call() -> None:
    h = host()
    m = parse_machine(document(BASE))
    run(m, h, trace=False)
    traced = run(m, h)  # with the memo full, a trace still replays everything
    assert any(s.step == "2.7" for s in traced.trace)
    assert any(s.step == "3.3" and "kvm_check_extension" in s.call for s in traced.trace)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProfileHost, "MEMO_LIMIT", 3)
    h = host()
    for smp in range(1, 10):
        run(parse_machine(document({**BASE, "smp": smp})), h, trace=False)
        assert len(h.memo) <= 3
    assert all(isinstance(o, Outcome) for o in h.memo.values())


def test_detached_state_shares_nothing_mutable() -> None:
    mutable = [
        f.name for f in dataclasses.fields(KVMState) if f.default_factory is not dataclasses.MISSING
    ]
    s = KVMState()
    copy = s.detached()
    for name in mutable:
        assert getattr(copy, name) == getattr(s, name)
        assert getattr(copy, name) is not getattr(s, name), name


def test_a_vm_snapshot_restores_what_the_kernel_kept() -> None:
    h = host()
    kvm = h.open()
    vm = kvm.create_vm()
    vm.enable_cap(Cap.KVM_CAP_SPLIT_IRQCHIP, [24])
    vm.set_nr_mmu_pages(128)
    snap = vm.snapshot()  # type: ignore[attr-defined]
    fresh = kvm.create_vm()
    fresh.restore(snap)  # type: ignore[attr-defined]
    assert fresh.snapshot() == snap  # type: ignore[attr-defined]
    assert fresh.fd != vm.fd
    for handle in (fresh, vm, kvm):
        handle.close()


# --- 2. pure functions kept with lru_cache ----------------------------------------------


def _misses(fn: Any, *args: Any) -> int:
    before = fn.cache_info().misses
    fn(*args)
    return int(fn.cache_info().misses - before)


SMP_ARGS = (
    QEMU_10_0,
    machine_class(QEMU_10_0, "pc").smp,
    smp_rules.SmpRequest(cpus=4, sockets=2),
)


@pytest.mark.parametrize("part", range(3))
def test_parse_smp_misses_on_each_argument(part: int) -> None:
    cached = smp_rules._parse_smp
    cached(*SMP_ARGS)
    assert _misses(cached, *SMP_ARGS) == 0
    changed = list(SMP_ARGS)
    changed[part] = (
        QEMU_7_2,
        machine_class(QEMU_10_0, "pc-q35-9.0").smp,
        smp_rules.SmpRequest(cpus=4, cores=2),
    )[part]
    assert _misses(cached, *changed) == 1
    assert cached(*changed) == cached.__wrapped__(*changed)


CPU_ARGS: tuple[Any, ...] = (QEMU_10_0, "EPYC-Rome", "kvm", None, 45, "AuthenticAMD", 48)
CPU_CHANGES: tuple[Any, ...] = (QEMU_7_2, "Haswell", "tcg", "GenuineIntel", 46, "GenuineIntel", 46)


@pytest.mark.parametrize("part", range(len(CPU_ARGS)))
def test_guest_cpu_misses_on_each_argument(part: int) -> None:
    cached = cpu_rules._guest_cpu
    cached(*CPU_ARGS)
    assert _misses(cached, *CPU_ARGS) == 0
    changed: list[Any] = list(CPU_ARGS)
    changed[part] = CPU_CHANGES[part]
    assert _misses(cached, *changed) == 1
    assert cached(*changed) == cached.__wrapped__(*changed)


@pytest.mark.parametrize(
    ("args", "changed"),
    [
        (("a\nb", True), ("a\nc", True)),
        (("a\nb", True), ("a\nb", False)),
        (("warning: x", True), ("warning: x\x1b", True)),
    ],
)
def test_report_message_lines_miss_on_each_argument(
    args: tuple[str, bool], changed: tuple[str, bool]
) -> None:
    cached = report._message
    cached(*args)
    assert _misses(cached, *args) == 0
    assert _misses(cached, *changed) == 1
    assert cached(*changed) == cached.__wrapped__(*changed)


def test_report_tag_misses_on_each_argument() -> None:
    cached = report._tag
    cached("h", "7.2")
    assert _misses(cached, "h", "7.2") == 0
    assert _misses(cached, "h2", "7.2") == 1
    assert _misses(cached, "h", "10.0") == 1


# --- 3. the command line's machine: pydantic's schema without building the model ----------


def test_the_generated_schema_is_current() -> None:
    from kvminit.config import machine_schema
    from kvminit.config.codegen import source_checksums

    # model.py and rules.py are ours: a change to either must come with a regenerated file.
    assert source_checksums() == machine_schema.SOURCES, "run scripts/gen_machine_schema.py"
    import pydantic_core

    installed = (fast.pydantic_version(), pydantic_core.__version__)
    if installed != (machine_schema.PYDANTIC, machine_schema.PYDANTIC_CORE):
        # Another pydantic (a newer release than the file was made with): the file must
        # not be used, and the model validates instead (checked for equal answers below).
        assert fast._fast() is None
        return
    assert (HERE / "machine_schema.py").read_text() == render(), "run scripts/gen_machine_schema.py"
    schema, config, fields = live()
    assert stripped(schema) == machine_schema.SCHEMA
    assert config == machine_schema.CONFIG
    assert fields == machine_schema.FIELDS
    assert fast._fast() is not None  # and it is the one in use


@pytest.mark.parametrize(
    "stale",
    [
        {"PYDANTIC": "0.0"},
        {"PYDANTIC_CORE": "0.0"},
        {"SOURCES": {"model.py": 0, "rules.py": 0}},
    ],
    ids=lambda s: next(iter(s)),
)
def test_a_stale_schema_is_not_used(monkeypatch: pytest.MonkeyPatch, stale: dict[str, Any]) -> None:
    from kvminit.config import machine_schema

    for name, value in stale.items():
        monkeypatch.setattr(machine_schema, name, value)
    fast._fast.cache_clear()
    try:
        assert fast._fast() is None
        m = read_machine('type = "q35"\nsmp = 2\nmemory = "2G"\n')  # the model validates
        assert (
            m.normalised() == parse_machine('type = "q35"\nsmp = 2\nmemory = "2G"\n').normalised()
        )
        with pytest.raises(ConfigError) as e:
            read_machine('smp = "two"\n')
        assert "must be an integer" in str(e.value)
    finally:
        monkeypatch.undo()
        fast._fast.cache_clear()
    assert fast._fast() is not None


def _either(text: str, parse: Callable[[str], Any]) -> tuple[str, Any]:
    try:
        return "ok", parse(text)
    except ConfigError as e:
        return "error", [dataclasses.astuple(p) for p in e.problems]


@EXAMPLES
@given(st.dictionaries(keys, values, max_size=8) | machines)
def test_parsed_machine_reads_as_machine_config(data: dict[str, Any]) -> None:
    text = document(data)
    kind, model = _either(text, parse_machine)
    kind2, parsed = _either(text, read_machine)
    assert kind == kind2
    if kind == "error":
        assert parsed == model
        return
    assert parsed.normalised() == model.normalised()
    for name, key in fast.fields():
        assert getattr(parsed, name) == getattr(model, name)
        assert parsed.line_of(key) == model.line_of(key)
        assert parsed.option_of(key) == model.option_of(key)
        assert parsed.finding("m", key, "h") == model.finding("m", key, "h")
    assert parsed.line_of(None) == model.line_of(None)


# --- 4. findings(), the unobserved CPU loop: the batch's answers are run()'s ----------------


@EXAMPLES
@given(keys_=machines, profile=st.sampled_from(PROFILES), qemu=st.sampled_from(MODELLED))
def test_the_batch_says_what_a_traced_run_says(
    keys_: dict[str, Any], profile: str, qemu: Qemu
) -> None:
    machine = described(keys_)
    if machine is None:
        return
    traced = run(machine, host(profile), qemu=qemu)  # every CPU walked, every probe made
    fresh = findings(machine, host(profile), qemu=qemu)  # nothing remembered yet
    assert fresh == (traced.error, list(traced.warnings))
    text = document(keys_)
    (pair,) = check_files_text(text, profile, qemu)
    assert pair.errors == ([traced.error.finding] if traced.error else [])
    assert pair.warnings == list(traced.warnings)


def check_files_text(text: str, profile: str, qemu: Qemu) -> list[PairResult]:
    from kvminit.batch import check_text

    return check_text(text, "<string>", [Target(profile, host(profile), qemu)])


# --- 5. the streamed report -----------------------------------------------------------------


def _results() -> Iterator[list[PairResult]]:
    findings_ = [
        Finding("warning: a", "smp", 3),
        Finding("two\nlines\x1b[31m", "cpu", 4, "did you mean 'x'?"),
        Finding("plain", None, None),
    ]
    yield []
    yield [PairResult("a.toml", "h", "10.0")]
    yield [
        PairResult("a.toml", "h", "10.0", [findings_[1]], [findings_[0]], 0.5),
        PairResult("b\x1b.toml", "h2", "7.2", [], findings_, 0.25),
        PairResult("c.toml", "h", "7.2", [findings_[2]]),
    ]


def _old_json(results: list[PairResult], strict: bool) -> str:
    return json.dumps(
        {
            "format": 1,
            "results": [r.to_json(strict) for r in results],
            "summary": report.counts(results, strict),
        },
        indent=2,
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("quiet", [False, True])
@pytest.mark.parametrize("chunking", [1, 2, 100])
def test_a_streamed_report_is_the_whole_report(
    fmt: str, strict: bool, quiet: bool, chunking: int
) -> None:
    whole = {"text": report.text, "json": report.as_json, "github": report.github}[fmt]
    for results in _results():
        expected = whole(results, strict, quiet)
        if fmt == "json":
            assert expected == _old_json(results, strict)
        out: list[str] = []
        stream = report.Report(report.FORMAT_CLASSES[fmt](strict, quiet), out.append)
        for i in range(0, len(results), chunking):
            stream.add(*report.render_block(stream.fmt, results[i : i + chunking]))
        stream.finish()
        # What cli._write made of the whole report.
        assert "".join(out) == "\n".join(printable_lines(expected)) + "\n"


def test_validate_writes_the_same_report_with_jobs(tmp_path: Path) -> None:
    from kvminit.cli import main

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for i, (type_, smp) in enumerate([("pc", 2), ("q35", 8), ("isapc", 2), ("nope", 1)] * 5):
        (fleet / f"m{i:02d}.toml").write_text(f'type = "{type_}"\nsmp = {smp}\n')
    outputs = {}
    for fmt in ("text", "json", "github", "junit"):
        for jobs in ("1", "2"):
            out = tmp_path / f"{fmt}-{jobs}"
            args = ["validate", str(fleet), "--host", "amd-epyc-linux-6.18", "--qemu", "7.2"]
            assert main([*args, "--qemu", "10.0", "--format", fmt, "-o", str(out), "-j", jobs]) == 1
            outputs[fmt, jobs] = out.read_text()
        if fmt == "junit":
            one, two = (ET.fromstring(outputs[fmt, j].split("\n", 1)[1]) for j in ("1", "2"))
            assert [c.attrib["name"] for c in one] == [c.attrib["name"] for c in two]
        else:
            assert outputs[fmt, "1"] == outputs[fmt, "2"]
    assert json.loads(outputs["json", "1"])["summary"]["pairs"] == 40


def test_a_failed_run_leaves_no_report(tmp_path: Path) -> None:
    from kvminit.cli import main

    out = tmp_path / "report.txt"
    (tmp_path / "empty").mkdir()  # nothing to check: an error, and no report at all
    assert main(["validate", str(tmp_path / "empty"), "-o", str(out)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
