"""Untrusted host profiles: what a pull request can put behind `--host FILE` or `--host DIR`.

Each test reproduces one reported problem (the issue "hostile host profiles") and checks
its fix. Every test runs under a deadline: SIGALRM in-process, a timeout for the CLI run
in a subprocess, so a read that blocks (a FIFO) or never ends (/dev/zero) fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvminit import api, batch
from kvminit.batch import Target, check_files
from kvminit.common.toml_lines import key_lines
from kvminit.config import parse_machine
from kvminit.engine import run
from kvminit.engine.qemu import MODELLED, QEMU_10_0, Qemu
from kvminit.hostspec import load_host, load_hosts
from kvminit.kvm.caps import Cap
from kvminit.kvm.errors import KvmError, ProfileError, strerror
from kvminit.kvm.profiles import builtin_profile, load_profile, parse_profile, profile_host

from ..conftest import machine

ROOT = Path(__file__).resolve().parents[2]
MACHINES = ROOT / "machines"
AMD = "amd-epyc-linux-6.18"
AMD_TEXT = (resources.files("kvminit.hosts") / f"{AMD}.toml").read_text(encoding="utf-8")
DEADLINE = 60  # seconds for one test; the slowest here takes a few
FUZZ_EXAMPLES = int(os.environ.get("KVMINIT_FUZZ_EXAMPLES", "60"))


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """Fail (not hang) a test that is still running after its deadline."""
    seconds = DEADLINE + FUZZ_EXAMPLES  # the property tests scale with their examples

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s: a read blocked or never ended")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def edited(key: str, value: object, text: str = AMD_TEXT) -> str:
    """The recorded profile with `key = value`: replaced where it is, else added to [caps]."""
    line = f"{key} = {value}"
    # A multi-line array (msr-indices = [ ... ]) is replaced whole.
    pattern = rf"^{re.escape(key)} = (?:\[[^\]]*\]|.*)$"
    new, count = re.subn(pattern, lambda _: line, text, count=1, flags=re.M)
    if count:
        return new
    return text.replace("\n[caps]", f"\n[caps]\n{line}", 1)


def line_of(text: str, start: str, nth: int = 1) -> int:
    """The 1-based line of the nth line that starts with `start`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(start):
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"no line starts with {start!r}")


def refused(text: str, path: str = "bad.toml") -> ProfileError:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, path)
    return info.value


def kvminit(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, killed (and the test failed) if it outlives `timeout`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "kvminit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


# --- KVM_CAP_IRQ_ROUTING 2..24: QEMU's assertion, as a result, never ours -----------------

# A kernel answering fewer GSIs than the 24 IOAPIC pins is possible in principle (the
# answer is KVM_MAX_IRQ_ROUTES, 1024 or 4096 in every real kernel); QEMU then fails its
# own assert(pin < s->gsi_count) in kvm_irqchip_add_irq_route (kernel-irqchip=on), or
# runs out of GSIs for the split irqchip's 24 MSI routes.
ASSERT_PIN = "kvm_irqchip_add_irq_route: Assertion `pin < s->gsi_count' failed."


@pytest.mark.parametrize("qemu", MODELLED, ids=str)
@pytest.mark.parametrize("irqchip", ["on", "split"])
@pytest.mark.parametrize("answer", range(2, 25))
def test_few_gsis_end_in_qemus_words(answer: int, irqchip: str, qemu: Qemu) -> None:
    host = profile_host(parse_profile(edited("KVM_CAP_IRQ_ROUTING", answer), "few.toml"))
    for type_ in ("pc", "q35"):
        r = run(machine(type=type_, kernel_irqchip=irqchip), host, qemu=qemu, trace=False)
        assert r.error is not None
        if irqchip == "on":
            assert ASSERT_PIN in r.error.message
        else:
            assert "Could not enable split IRQ mode." in r.error.message
            assert r.error.key == "kernel-irqchip"


def test_validate_runs_every_pair_with_few_gsis(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    for answer in range(2, 25):
        (hosts / f"gsi-{answer:02}.toml").write_text(edited("KVM_CAP_IRQ_ROUTING", answer))
    results = api.validate([str(MACHINES)], hosts=[str(hosts)], qemu=["2.6", "7.2", "10.0"])
    files = len(list(MACHINES.glob("*.toml")))
    assert len(results) == files * 23 * 3
    for r in results:
        assert r.errors, (r.path, r.host, r.qemu)  # every machine has an irqchip: none starts
        assert r.errors[0].message


def test_out_of_range_errno_has_c_words() -> None:
    # api-version <= -2**31 reached os.strerror once; any errno now has C's text.
    assert strerror(2**40) == f"Unknown error {2**40}"
    assert KvmError("KVM_GET_API_VERSION", 2**31 + 1).strerror == f"Unknown error {2**31 + 1}"


def test_engine_survives_a_negative_api_version_from_a_host() -> None:
    # Only a host built in code can still answer this (a profile file is refused).
    hostile = builtin_profile(AMD).model_copy(update={"api_version": -(2**31) - 1})
    for qemu in MODELLED:
        r = run(machine(), profile_host(hostile), qemu=qemu, trace=False)
        assert r.error is not None and r.error.step == "2.2"


# --- One pair's failure never aborts the batch ----------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_pairs_crash_is_that_pairs_failure(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    engine_run = getattr(batch, "engine_run")  # noqa: B009 (not exported: patched here)

    def crashing(m: Any, host: Any, **kwargs: Any) -> Any:
        if host.name == "old-kernel":
            raise RuntimeError("a bug reached by one host only")
        return engine_run(m, host, **kwargs)

    monkeypatch.setattr(batch, "engine_run", crashing)
    targets = [
        Target(name, profile_host(builtin_profile(name)), QEMU_10_0) for name in (AMD, "old-kernel")
    ]
    files = [str(MACHINES / "pc.toml"), str(MACHINES / "shadow-mem.toml")]
    results = check_files(files, targets, jobs=jobs)  # workers fork with the patch
    assert [(Path(r.path).name, r.host) for r in results] == [
        ("pc.toml", AMD),
        ("pc.toml", "old-kernel"),
        ("shadow-mem.toml", AMD),
        ("shadow-mem.toml", "old-kernel"),
    ]
    for r in results:
        if r.host == "old-kernel":
            assert r.errors and "a bug reached by one host only" in r.errors[0].message
        else:
            assert not r.errors


_DYING_WORKER = """
import json, os, signal
from kvminit import batch
from kvminit.batch import Target, check_files
from kvminit.engine.qemu import QEMU_10_0
from kvminit.kvm.profiles import builtin_profile, profile_host

engine_run = batch.engine_run

def dying(m, host, **kwargs):
    if host.name == "old-kernel":
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does to a worker
    return engine_run(m, host, **kwargs)

batch.engine_run = dying
targets = [
    Target(n, profile_host(builtin_profile(n)), QEMU_10_0)
    for n in ("amd-epyc-linux-6.18", "old-kernel")
]
files = ["machines/pc.toml", "machines/q35.toml", "machines/shadow-mem.toml"]
print(json.dumps([(r.host, bool(r.errors)) for r in check_files(files, targets, jobs=2)]))
"""


def test_a_worker_that_dies_fails_its_pairs_not_the_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _DYING_WORKER],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=15,
        check=False,
    )
    results = json.loads(proc.stdout)
    assert len(results) == 6
    assert all(failed for host, failed in results if host == "old-kernel")


# --- Reading: regular files only, of bounded size ---------------------------------------


def test_fifo_as_host_file_is_refused_at_once(tmp_path: Path) -> None:
    for name in ("host.toml", "host"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        with pytest.raises(ProfileError, match="is a FIFO, not a host profile") as info:
            load_host(str(fifo))
        assert info.value.path == str(fifo)


def test_fifo_in_host_directory_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(AMD_TEXT)
    os.mkfifo(tmp_path / "b.toml")
    with pytest.raises(ProfileError, match="is a FIFO") as info:
        load_hosts(str(tmp_path))
    assert info.value.path == str(tmp_path / "b.toml")


def test_dev_zero_behind_a_toml_name_is_not_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    # A *.toml name is a profile file: never taken for a KVM device, never read.
    with pytest.raises(ProfileError, match="is a character device, not a host profile"):
        load_host(str(link))
    with pytest.raises(ProfileError, match="is a character device"):
        load_profile(link)


def test_dev_zero_in_host_directory_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    with pytest.raises(ProfileError, match="is a character device") as info:
        load_hosts(str(tmp_path))
    assert info.value.path.endswith("zero.toml")


def test_huge_profile_is_refused_after_reading_only_the_cap(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as f:
        f.write(AMD_TEXT.encode())
        f.truncate(200 << 20)  # sparse: 200 MB that cost nothing to make
    started = time.monotonic()
    with pytest.raises(ProfileError, match="is larger than 1 MiB"):
        load_host(str(huge))
    assert time.monotonic() - started < 5
    just_over = tmp_path / "over.toml"
    just_over.write_text(AMD_TEXT + "#" * ((1 << 20) - len(AMD_TEXT)) + "\n")
    with pytest.raises(ProfileError, match="is larger than 1 MiB"):
        load_profile(just_over)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(AMD_TEXT.encode() + b"# caf\xe9\n")
    with pytest.raises(ProfileError) as info:
        load_profile(bad)
    e = info.value
    assert e.line == AMD_TEXT.count("\n") + 1
    assert "is not UTF-8 text (byte 0xe9" in str(e)


def test_empty_profile_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("\n")
    with pytest.raises(ProfileError, match="is empty"):
        load_profile(empty)


@pytest.mark.parametrize(
    ("layout", "reason"),
    [
        ("fifo-file", "is a FIFO, not a host profile"),
        ("fifo-in-dir", "is a FIFO, not a host profile"),
        ("zero-file", "is a character device, not a host profile"),
        ("zero-in-dir", "is a character device, not a host profile"),
    ],
)
def test_cli_never_blocks_on_a_host_spec(tmp_path: Path, layout: str, reason: str) -> None:
    if layout.endswith("in-dir"):
        spec = tmp_path / "hosts"
        spec.mkdir()
        (spec / "a.toml").write_text(AMD_TEXT)
        bad = spec / "b.toml"
    else:
        spec = bad = tmp_path / "host.toml"
    if layout.startswith("fifo"):
        os.mkfifo(bad)
    else:
        bad.symlink_to("/dev/zero")
    proc = kvminit("validate", str(MACHINES / "pc.toml"), "--host", str(spec), timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert f"kvminit: {bad}: {reason}" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


# --- Numbers: what a kernel could answer, nothing more ---------------------------------


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("KVM_CAP_IRQ_ROUTING", 4097, "must be between 0 and 4096"),
        ("KVM_CAP_IRQ_ROUTING", 268435456, "must be between 0 and 4096"),
        ("KVM_CAP_IRQ_ROUTING", 2**40, "must be between 0 and 4096"),
        ("KVM_CAP_IRQ_ROUTING", 2**63 - 1, "must be between 0 and 4096"),
        ("KVM_CAP_IRQ_ROUTING", 10**23, "must be between 0 and 4096"),
        ("KVM_CAP_IRQ_ROUTING", -1, "must be between 0 and 4096"),
        ("KVM_CAP_NR_VCPUS", 4097, "must be between 0 and 4096"),
        ("KVM_CAP_MAX_VCPUS", 4097, "must be between 0 and 4096"),
        ("KVM_CAP_MAX_VCPU_ID", 16385, "must be between 0 and 16384"),
        ("KVM_CAP_NR_MEMSLOTS", 32768, "must be between 0 and 32767"),
        ("KVM_CAP_NR_MEMSLOTS", 2**63 - 1, "must be between 0 and 32767"),
        ("KVM_CAP_MCE", 33, "must be between 0 and 32"),
        ("KVM_CAP_MULTI_ADDRESS_SPACE", 3, "must be between 0 and 2"),
        ("KVM_CAP_DIRTY_LOG_RING", 2**31, "must be between 0 and 2147483647"),
        ("KVM_CAP_DIRTY_LOG_RING", -1, "must be between 0 and 2147483647"),
        ("KVM_CAP_HLT", "true", "must be an integer"),
        ("KVM_CAP_HLT", "1.0", "must be an integer"),
        ("KVM_CAP_HLT", '"1"', "must be an integer"),
    ],
)
def test_cap_answers_no_kernel_gives_are_refused_at_their_line(
    key: str, value: object, allowed: str
) -> None:
    text = edited(key, value)
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, key + ' =')}: caps.{key}: ")
    assert allowed in str(e)
    assert (e.key, e.line) == (f"caps.{key}", line_of(text, key + " ="))


def test_vm_fd_answers_are_bounded_too() -> None:
    text = AMD_TEXT + "KVM_CAP_IRQ_ROUTING = 268435456\n"
    e = refused(text)
    line = line_of(text, "KVM_CAP_IRQ_ROUTING", 2)
    assert str(e).startswith(
        f"bad.toml:{line}: vm-caps.KVM_CAP_IRQ_ROUTING: must be between 0 and 4096"
    )
    assert "KVM_MAX_IRQ_ROUTES" in str(e) and str(e).endswith("(got 268435456)")


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (-(2**31) - 1, "must be between 0 and 255"),
        (-1, "must be between 0 and 255"),
        (256, "must be between 0 and 255"),
        (2**63 - 1, "must be between 0 and 255"),
        ('"12"', "must be an integer"),
    ],
)
def test_api_version_is_a_small_integer(value: object, allowed: str) -> None:
    text = edited("api-version", value)
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, 'api-version')}: api-version: {allowed}")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("KVM_CAP_IRQ_ROUTING", 0),
        ("KVM_CAP_IRQ_ROUTING", 2),
        ("KVM_CAP_IRQ_ROUTING", 1024),
        ("KVM_CAP_IRQ_ROUTING", 4096),
        ("KVM_CAP_NR_VCPUS", 4096),
        ("KVM_CAP_MAX_VCPUS", 4096),
        ("KVM_CAP_MAX_VCPU_ID", 16384),
        ("KVM_CAP_NR_MEMSLOTS", 32767),
        ("KVM_CAP_MCE", 32),
        ("KVM_CAP_SET_GUEST_DEBUG2", 2**31 - 1),
        ("api-version", 0),
        ("api-version", 11),
        ("api-version", 13),
        ("api-version", 255),
    ],
)
def test_answers_a_kernel_could_give_are_accepted(key: str, value: int) -> None:
    parse_profile(edited(key, value), "ok.toml")


def test_largest_answers_stay_cheap() -> None:
    msrs = ", ".join(hex(i) for i in range(4096))
    text = edited("msr-indices", f"[{msrs}]")
    text = edited("msr-feature-indices", f"[{msrs}]", text)
    for key, value in [
        ("KVM_CAP_IRQ_ROUTING", 4096),
        ("KVM_CAP_MAX_VCPUS", 4096),
        ("KVM_CAP_NR_VCPUS", 4096),
        ("KVM_CAP_MAX_VCPU_ID", 16384),
        ("KVM_CAP_NR_MEMSLOTS", 32767),
    ]:
        text = edited(key, value, text)
    text += '\n[[faults]]\nioctl = "KVM_CREATE_VM"\nerrno = "EINTR"\ntimes = 3\n' * 256
    host = profile_host(parse_profile(text, "largest.toml"))
    started = time.monotonic()
    for path in sorted(MACHINES.glob("*.toml")):
        for qemu in MODELLED:
            r = api.run(str(path), host, qemu=str(qemu))
            if r.kvm_state is not None:
                assert len(r.kvm_state.used_gsi_bitmap) <= 4096 // 32
    assert time.monotonic() - started < 20


def test_huge_gsi_count_is_refused_before_any_work(tmp_path: Path) -> None:
    # Once 23 s, 830 MB and 75 MB of JSON for one `run`.
    host = tmp_path / "host.toml"
    text = edited("KVM_CAP_IRQ_ROUTING", 268435456)
    host.write_text(text)
    started = time.monotonic()
    proc = kvminit(
        "run", str(MACHINES / "pc.toml"), "--host", str(host), "--format", "json", timeout=30
    )
    assert time.monotonic() - started < 15
    assert proc.returncode == 1
    assert proc.stdout == ""
    line = line_of(text, "KVM_CAP_IRQ_ROUTING")
    where = f"kvminit: {host}:{line}: caps.KVM_CAP_IRQ_ROUTING"
    assert f"{where}: must be between 0 and 4096" in proc.stderr


def test_largest_gsi_count_prints_a_small_result(tmp_path: Path) -> None:
    host = tmp_path / "host.toml"
    host.write_text(edited("KVM_CAP_IRQ_ROUTING", 4096))
    proc = kvminit(
        "run", str(MACHINES / "pc.toml"), "--host", str(host), "--format", "json", timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) < 200_000


def test_msr_lists_are_bounded() -> None:
    too_many = ", ".join(hex(i) for i in range(4097))
    text = edited("msr-indices", f"[{too_many}]")
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, 'msr-indices')}: msr-indices: ")
    assert "4097 entries; at most 4096" in str(e)


def test_an_msr_out_of_range_is_pointed_at() -> None:
    text = AMD_TEXT.replace("0x12, 0x11,", "0x12, 0x1_0000_0000,", 1)
    e = refused(text)
    index = AMD_TEXT.split("msr-indices = [", 1)[1].split("0x12, 0x11")[0].count(",") + 1
    line = line_of(text, "  0x12, 0x1_0000_0000")
    assert str(e).startswith(f"bad.toml:{line}: msr-indices[{index}]: must be between 0 and ")
    assert "(got 4294967296)" in str(e)


FAULT = '\n[[faults]]\nioctl = "KVM_CREATE_VM"\nerrno = "EINTR"\n'


def test_faults_are_bounded() -> None:
    text = AMD_TEXT + FAULT * 257
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, '[[faults]]')}: faults: ")
    assert "257 entries; at most 256" in str(e)
    parse_profile(AMD_TEXT + FAULT * 256)


def test_a_million_faults_cost_nothing(tmp_path: Path) -> None:
    # Once 25 s and 1 GB; now the size cap stops the file, the count cap the string.
    started = time.monotonic()
    many = tmp_path / "faults.toml"
    many.write_text(AMD_TEXT + FAULT * 1_000_000)
    with pytest.raises(ProfileError, match="larger than 1 MiB"):
        load_profile(many)
    most = ((1 << 20) - len(AMD_TEXT)) // len(FAULT)
    e = refused(AMD_TEXT + FAULT * most)
    assert f"{most} entries; at most 256" in str(e)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("fault", "key", "words"),
    [
        ("times = 10001", "times", "must be between 1 and 10000"),
        ("times = 0", "times", "must be between 1 and 10000"),
        ("times = 18446744073709551616", "times", "must be between 1 and 10000"),
        ('errno = "EWHAT"', "errno", 'unknown errno name "EWHAT"'),
        ('errno = "errorcode"', "errno", "unknown errno name"),
        ('ioctl = "KVM_RUN"', "ioctl", "unknown request"),
    ],
)
def test_a_bad_fault_is_pointed_at(fault: str, key: str, words: str) -> None:
    entry = '\n[[faults]]\nioctl = "KVM_CREATE_VM"\nerrno = "EINTR"\n'
    if key == "times":
        entry += fault + "\n"
    else:
        entry = re.sub(rf"^{key} = .*$", lambda _: fault, entry, flags=re.M)
    text = AMD_TEXT + FAULT + entry
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, fault)}: faults[1].{key}: {words}")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("name", '"\\u001b[2J\\u001b[31mpwned"', "may not contain control characters"),
        ("name", '""', "must be at least 1 character"),
        ("name", '"' + "n" * 129 + '"', "must be at most 128 characters"),
        ("description", '"a\\nb"', "may not contain control characters"),
        ("description", '"' + "d" * 4097 + '"', "must be at most 4096 characters"),
        ("kernel-release", '"' + "6" * 65 + '"', "must be at most 64 characters"),
        ("uname-machine", '"x86_64\\u202e"', "may not contain control characters"),
    ],
)
def test_strings_that_would_reach_a_terminal_are_refused(key: str, value: str, words: str) -> None:
    text = edited(key, value)
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, key + ' =')}: {key}: {words}")


def test_every_problem_is_reported_each_at_its_line() -> None:
    text = edited("KVM_CAP_IRQ_ROUTING", 268435456)
    text = edited("KVM_CAP_NR_MEMSLOTS", 99999, text)
    text = edited("api-version", -1, text)
    text = edited("KVM_CAP_HALT_POLL", "true", text)
    e = refused(text)
    assert [(p.key, p.line) for p in e.problems] == sorted(
        [
            ("caps.KVM_CAP_IRQ_ROUTING", line_of(text, "KVM_CAP_IRQ_ROUTING")),
            ("caps.KVM_CAP_NR_MEMSLOTS", line_of(text, "KVM_CAP_NR_MEMSLOTS")),
            ("api-version", line_of(text, "api-version")),
            ("caps.KVM_CAP_HALT_POLL", line_of(text, "KVM_CAP_HALT_POLL")),
        ],
        key=lambda p: p[1],
    )
    assert len(str(e).splitlines()) == 4


def test_profile_errors_survive_pickling() -> None:
    # validate --jobs runs in worker processes; an error must cross back intact.
    e = refused(edited("api-version", -1))
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e) and again.problems == e.problems and again.path == "bad.toml"


def test_unknown_keys_are_named_with_a_hint() -> None:
    text = AMD_TEXT.replace("KVM_CAP_HLT = 1", "KVM_CAP_HALT = 1")
    e = refused(text)
    assert str(e).startswith(f"bad.toml:{line_of(text, 'KVM_CAP_HALT')}: caps.KVM_CAP_HALT: ")
    assert "unknown capability 'KVM_CAP_HALT' (did you mean 'KVM_CAP_HLT'?)" in str(e)
    text = "api_version = 12\n" + AMD_TEXT
    e = refused(text)
    assert "bad.toml:1: api_version: unknown key (did you mean 'api-version'?)" in str(e)


def test_thousands_of_made_up_names_are_refused_fast() -> None:
    # A "did you mean" costs difflib milliseconds a name: 40000 of them once took 29 s.
    names = "".join(f"KVM_CAP_HLX{i} = 1\n" for i in range(40_000))
    keys = "".join(f"api_versio{i} = 1\n" for i in range(40_000))
    for text in (AMD_TEXT.replace("[caps]", "[caps]\n" + names, 1), keys + AMD_TEXT):
        started = time.monotonic()
        e = refused(text)
        assert time.monotonic() - started < 5
        assert len(e.problems) == 20 and e.problems[-1].message == "... and 39981 more"
        assert "did you mean" in e.problems[0].message


def test_a_hostile_key_is_escaped_and_cut_short() -> None:
    text = AMD_TEXT.replace("[caps]", '[caps]\n"\\u001b]0;x\\u0007' + "K" * 500 + '" = 1', 1)
    e = refused(text)
    assert "\x1b" not in str(e) and "\x07" not in str(e)
    assert len(str(e)) < 400


def test_the_schema_documents_the_bounds() -> None:
    schema = json.loads((ROOT / "schemas" / "host.schema.json").read_text())
    caps = schema["properties"]["caps"]
    assert caps["properties"]["KVM_CAP_IRQ_ROUTING"]["maximum"] == 4096
    assert caps["properties"]["KVM_CAP_NR_MEMSLOTS"]["maximum"] == 32767
    assert caps["additionalProperties"]["maximum"] == 2**31 - 1
    assert Cap.KVM_CAP_HLT.name in caps["propertyNames"]["enum"]
    assert schema["properties"]["api-version"]["maximum"] == 255
    assert schema["properties"]["msr-indices"]["maxItems"] == 4096
    assert schema["properties"]["faults"]["maxItems"] == 256
    for field in ("api-version", "caps", "vm-caps", "msr-indices", "faults"):
        assert schema["properties"][field].get("description"), field


# --- `--host NAME`: a built-in name means the built-in ----------------------------------


def test_a_file_named_like_a_builtin_does_not_shadow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("old-kernel").write_text(edited("name", '"imposter"'))
    choice = load_host("old-kernel")
    assert choice.host.name == "old-kernel" and choice.label == "old-kernel"
    assert choice.note is not None and "built-in" in choice.note and "./old-kernel" in choice.note
    assert load_host("./old-kernel").host.name == "imposter"
    [from_validate] = load_hosts("old-kernel")
    assert from_validate.host.name == "old-kernel" and from_validate.note == choice.note


def test_a_directory_named_like_a_builtin_does_not_shadow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("old-kernel").mkdir()
    Path("old-kernel/x.toml").write_text(edited("name", '"imposter"'))
    [choice] = load_hosts("old-kernel")
    assert choice.host.name == "old-kernel"
    assert choice.note is not None and "./old-kernel" in choice.note
    assert [c.host.name for c in load_hosts("./old-kernel")] == ["imposter"]


def test_a_device_named_like_a_builtin_does_not_shadow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("old-kernel").symlink_to("/dev/zero")
    choice = load_host("old-kernel")
    assert choice.host.kind == "profile" and choice.host.name == "old-kernel"
    assert choice.note is not None and "./old-kernel" in choice.note


def test_toml_suffix_or_separator_means_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("old-kernel.toml").write_text(edited("name", '"imposter"'))
    assert load_host("old-kernel.toml").host.name == "imposter"
    assert load_host("old-kernel").host.name == "old-kernel"
    assert load_host("old-kernel").note is None  # no file of that very name
    with pytest.raises(ProfileError, match="no such file"):
        load_host("./amd-epyc-linux-6.18")


def test_cli_says_which_one_was_used(tmp_path: Path) -> None:
    (tmp_path / "old-kernel").write_text(edited("name", '"imposter"'))
    proc = kvminit("run", str(MACHINES / "pc.toml"), "--host", "old-kernel", cwd=tmp_path)
    assert "host      profile old-kernel" in proc.stdout
    assert "using the built-in profile" in proc.stderr and "./old-kernel" in proc.stderr


def test_an_empty_host_spec_is_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.toml").write_text(AMD_TEXT)
    for load in (load_host, load_hosts):
        with pytest.raises(ProfileError):
            load("")


# --- Property: whatever the profile, a ProfileError or a run that ends in a result ------

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "true" and "KVMINIT_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=40),
    st.sampled_from([0, 1, 23, 24, 25, 4095, 4096, 4097, 16384, 32767, 32768, 2**31 - 1, 2**31]),
)
ANSWER_KEYS = [c.name for c in Cap] + ["api-version", "phys-bits"]
MACHINE_TEXTS = [p.read_text() for p in sorted(MACHINES.glob("*.toml"))]


@FUZZ
@given(
    st.dictionaries(st.sampled_from(ANSWER_KEYS), NUMBERS, max_size=6),
    st.lists(
        st.tuples(
            st.sampled_from(["KVM_CREATE_VM", "KVM_CHECK_EXTENSION", "KVM_SET_GSI_ROUTING", "x"]),
            st.sampled_from(["EINTR", "ENOMEM", "EINVAL", "E2BIG", "EWHAT"]),
            st.one_of(st.none(), NUMBERS),
        ),
        max_size=4,
    ),
    st.sampled_from(range(len(MACHINE_TEXTS))),
    st.sampled_from(MODELLED),
)
def test_fuzz_profiles_end_in_an_error_or_a_result(
    answers: dict[str, int],
    faults: list[tuple[str, str, int | None]],
    which: int,
    qemu: Qemu,
) -> None:
    text = AMD_TEXT
    for key, n in answers.items():
        text = edited(key, n, text)
    for ioctl, name, times in faults:
        text += f'\n[[faults]]\nioctl = "{ioctl}"\nerrno = "{name}"\n'
        if times is not None:
            text += f"times = {times}\n"
    try:
        p = parse_profile(text, "f.toml")
    except ProfileError as e:
        assert str(e).startswith("f.toml") and e.problems
        assert all(problem.message for problem in e.problems)
        return
    assert p.api_version <= 255
    for table in (p.caps, p.vm_caps):
        assert all(0 <= v <= 2**31 - 1 for v in table.values())
        assert table.get("KVM_CAP_IRQ_ROUTING", 0) <= 4096
    r = run(parse_machine(MACHINE_TEXTS[which]), profile_host(p), qemu=qemu, trace=False)
    assert r.ok or (r.error is not None and r.error.message)


@FUZZ
@given(st.text(alphabet=st.sampled_from("[]{},#\"'=.\n \\ab1"), max_size=300))
def test_fuzz_key_lines_never_fail(text: str) -> None:
    lines = key_lines(text)
    assert all(1 <= n <= text.count("\n") + 1 for n in lines.values())


@FUZZ
@given(st.text(max_size=2000))
def test_fuzz_arbitrary_text_is_a_profile_error(text: str) -> None:
    try:
        parse_profile(text, "f.toml")
    except ProfileError as e:
        assert str(e).startswith("f.toml")


@FUZZ
@given(st.integers(min_value=0, max_value=len(AMD_TEXT)), st.text(max_size=40))
def test_fuzz_spliced_recordings(at: int, junk: str) -> None:
    text = AMD_TEXT[:at] + junk + AMD_TEXT[at:]
    try:
        p = parse_profile(text, "f.toml")
    except ProfileError as e:
        assert str(e).startswith("f.toml") and all(
            problem.line is None or 1 <= problem.line <= text.count("\n") + 1
            for problem in e.problems
        )
        return
    run(machine(), profile_host(p), trace=False)
