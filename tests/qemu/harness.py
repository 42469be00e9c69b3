"""Run a real QEMU with kvminit's measuring guest, run kvminit, and compare the two.

QEMU starts with the machine-level options under test plus the harness: kvminit's
guest (`kvminit/smoke/guest.rom`) as the firmware copies the etc/e820 bytes QEMU's
fw_cfg serves to the debug console file and exits through isa-debug-exit. A
finished guest and a refusal both exit with status 1 and an assertion with SIGABRT,
so QEMU *accepted* the machine iff the dump is not empty.

QEMU runs are independent processes: they go to a thread pool as soon as the test
session knows which it needs (conftest.py submits them at the end of collection),
and a test waits only for its own. kvminit runs in the test itself.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kvminit.config import MachineConfig
from kvminit.engine import InitResult, run
from kvminit.engine.e820 import encode_etc_e820
from kvminit.engine.qemu import Qemu
from kvminit.kvm.device import KvmHost
from kvminit.kvm.profiles import builtin_profile, profile_host
from kvminit.kvm.real import RealHost

from ..conftest import _KVM_SKIP
from .binaries import FOUND, QemuBinary

if TYPE_CHECKING:
    from .cases import Case

ROM = Path(__file__).parents[2] / "kvminit" / "smoke" / "guest.rom"
STRACE = shutil.which("strace")


def case_params(cases: Sequence[Case], *, strace: bool = False) -> list[Any]:
    """(binary, case) for every QEMU found: its QEMU run submitted early (qemu_jobs),
    skipped with the reason where it cannot run, strictly xfailed where a case says why."""
    out = []
    for found in FOUND:
        version = str(found.qemu)
        for c in cases:
            marks: list[pytest.MarkDecorator] = []
            if found.binary is None:
                marks.append(pytest.mark.skip(reason=found.reason or "no binary"))
            elif (strace or c.needs_kvm) and _KVM_SKIP is not None:
                marks.append(pytest.mark.skip(reason=_KVM_SKIP))
            elif strace and STRACE is None:
                marks.append(pytest.mark.skip(reason="strace is not installed"))
            else:
                job = Job(found.binary, c.qemu_args(found.qemu), strace=strace)
                marks.append(pytest.mark.qemu_jobs(job))
                reason = c.known_reason(version)
                if reason is not None:
                    marks.append(pytest.mark.xfail(strict=True, reason=reason))
            out.append(pytest.param(found, c, id=f"{version}-{c.id}", marks=marks))
    return out


HARNESS: tuple[str, ...] = (
    "-bios",
    str(ROM),
    "-device",
    "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-display",
    "none",
    "-nodefaults",
    "-no-reboot",
    "-serial",
    "none",
    "-monitor",
    "none",
)
TIMEOUT = 60  # seconds for one QEMU run; a finished guest takes well under one
PREFIX = "qemu-system-x86_64: "

# CPUID feature filtering (x86_cpu_filter_features / mark_unavailable_features) is
# outside kvminit's model: which features a host or TCG lacks is not in a machine
# description, and these warnings never change the verdict or the e820 table. The
# three texts are 7.2's and 10.0's target/i386/cpu.c (7.2 :6331-6332, :6231).
CPUID_FEATURE_WARNING = re.compile(
    r"^warning: (host doesn't support requested feature"
    r"|TCG doesn't support requested feature"
    r"|This feature depends on other features that were not requested): "
)
# This nested (kvm_pvm) host's KVM refuses any write of IA32_ARCH_CAPABILITIES, so
# QEMU aborts at vCPU creation for `-cpu host`, `max` and models that set the MSR:
# a property of the host's kernel, not of QEMU's rules. Such a run is repeated with
# `arch-capabilities=off`, which only stops that MSR write (no vendor, phys-bits or
# layout effect), so the machine is still compared.
ARCH_CAPABILITIES_REFUSED = "error: failed to set MSR 0x10a to "


def qemu_lines(stderr: str) -> list[str]:
    """QEMU's stderr as kvminit words it: program prefix off, CPUID feature lines dropped."""
    out = []
    for line in stderr.splitlines():
        if line.startswith(PREFIX):
            line = line[len(PREFIX) :]
        if CPUID_FEATURE_WARNING.match(line):
            continue
        out.append(line)
    return out


@dataclass(frozen=True)
class Job:
    """One QEMU run: the binary and the options under test (the harness is added)."""

    binary: QemuBinary
    args: tuple[str, ...]
    strace: bool = False  # under `strace -f -y -e trace=ioctl`

    def command(self, debugcon: str) -> list[str]:
        return self.binary.argv([*self.args, *HARNESS, "-debugcon", f"file:{debugcon}"])


@dataclass(frozen=True)
class QemuOutcome:
    job: Job
    returncode: int | None  # None: killed after TIMEOUT
    e820: bytes  # what the guest copied: etc/e820 as fw_cfg served it
    stderr: str
    strace: str = ""
    rerun_note: str | None = None  # why these are not the options as given

    @property
    def accepted(self) -> bool:
        return bool(self.e820)

    @property
    def aborted(self) -> bool:
        return self.returncode == -signal.SIGABRT

    @property
    def lines(self) -> list[str]:
        return qemu_lines(self.stderr)

    def describe(self) -> str:
        how = (
            "timed out"
            if self.returncode is None
            else "aborted (SIGABRT)"
            if self.aborted
            else f"exit {self.returncode}"
        )
        verdict = "accepted" if self.accepted else "refused"
        note = f" [{self.rerun_note}]" if self.rerun_note else ""
        return f"QEMU {self.job.binary.qemu} {verdict}, {how}{note}: {shell(self.job.args)}"


def shell(args: Sequence[str]) -> str:
    return shlex.join(args)


def run_job(job: Job) -> QemuOutcome:
    with tempfile.TemporaryDirectory(prefix="kvminit-qemu-") as tmp:
        dump = os.path.join(tmp, "debugcon.bin")
        argv = job.command(dump)
        trace = os.path.join(tmp, "strace.txt")
        if job.strace:
            argv = ["strace", "-f", "-y", "-e", "trace=ioctl", "-o", trace, *argv]
        code: int | None
        try:
            p = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=TIMEOUT,
                check=False,
                env=job.binary.environ(),
                stdin=subprocess.DEVNULL,
            )
            code, stderr = p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            code = None
            err = e.stderr or b""
            stderr = err.decode(errors="replace") if isinstance(err, bytes) else err
        data = Path(dump).read_bytes() if os.path.exists(dump) else b""
        strace = Path(trace).read_text(errors="replace") if job.strace and code is not None else ""
    return QemuOutcome(job, code, data, stderr, strace)


def _with_arch_capabilities_off(args: tuple[str, ...]) -> tuple[str, ...] | None:
    out = list(args)
    if "-cpu" not in out:
        return None
    i = len(out) - 1 - out[::-1].index("-cpu")  # the last -cpu is the one QEMU uses
    out[i + 1] += ",arch-capabilities=off"
    return tuple(out)


def run_comparable(job: Job) -> QemuOutcome:
    """run_job(), repeated with arch-capabilities=off where this host's KVM aborts QEMU
    for a reason outside kvminit's model (see ARCH_CAPABILITIES_REFUSED)."""
    first = run_job(job)
    if not (first.aborted and ARCH_CAPABILITIES_REFUSED in first.stderr):
        return first
    args = _with_arch_capabilities_off(job.args)
    if args is None:
        return first
    again = run_job(Job(job.binary, args, job.strace))
    note = "rerun with arch-capabilities=off: this host's KVM refuses IA32_ARCH_CAPABILITIES"
    return QemuOutcome(job, again.returncode, again.e820, again.stderr, again.strace, note)


# --- the pool ------------------------------------------------------------------------------

JOBS = int(os.environ.get("KVMINIT_QEMU_JOBS", "8"))
_pool: ThreadPoolExecutor | None = None
_futures: dict[Job, Future[QemuOutcome]] = {}
_lock = threading.Lock()


def submit(job: Job) -> Future[QemuOutcome]:
    global _pool
    with _lock:
        future = _futures.get(job)
        if future is None:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=JOBS, thread_name_prefix="qemu")
            future = _pool.submit(run_comparable, job)
            _futures[job] = future
        return future


def outcome(job: Job) -> QemuOutcome:
    return submit(job).result()


def shutdown() -> None:
    """Drop the runs no test waited for (a -x or Ctrl-C session); let running ones end."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
        _futures.clear()


# --- kvminit's side --------------------------------------------------------------------------


def host_for(machine: MachineConfig) -> KvmHost | None:
    """The real device when it can be opened; for a TCG-only machine, else the recorded AMD
    profile (TCG asks the host nothing). None: the machine needs KVM and there is none."""
    if _KVM_SKIP is None:
        return RealHost()
    if "kvm" in machine.accel:
        return None
    return profile_host(builtin_profile("amd-epyc-linux-6.18"))


@dataclass(frozen=True)
class KvminitOutcome:
    accepted: bool
    lines: list[str]
    e820: bytes
    result: InitResult


def kvminit_outcome(machine: MachineConfig, host: KvmHost, qemu: Qemu) -> KvminitOutcome:
    r = run(machine, host, qemu=qemu)
    lines = [line for w in r.warnings for line in w.message.split("\n")]
    if r.error is not None:
        lines += r.error.message.split("\n")
    return KvminitOutcome(r.ok, lines, encode_etc_e820(r.e820) if r.ok else b"", r)


# --- the comparison ------------------------------------------------------------------------


def decode_e820(blob: bytes) -> list[str]:
    if len(blob) % 20:
        return [f"<{len(blob)} bytes, not whole entries: {blob.hex()}>"]
    return [f"0x{a:x}+0x{n:x} type {t}" for a, n, t in struct.iter_unpack("<QQI", blob)]


def differences(
    kvminit_accepted: bool,
    kvminit_lines: Sequence[str],
    kvminit_e820: bytes,
    theirs: QemuOutcome,
) -> list[str]:
    """What differs, in words (empty: they agree on verdict, messages and bytes)."""
    out = []
    if theirs.returncode is None:
        out.append(f"QEMU timed out after {TIMEOUT} s")
    if theirs.accepted and theirs.returncode != 1:
        # isa-debug-exit makes a finished guest exit with (0 << 1) | 1.
        out.append(f"QEMU ran the guest but exited {theirs.returncode}, not 1")
    if kvminit_accepted != theirs.accepted:
        out.append(
            f"verdict: kvminit {'accepts' if kvminit_accepted else 'refuses'}, "
            f"QEMU {'accepts' if theirs.accepted else 'refuses'}"
        )
    if not (list(kvminit_lines) == theirs.lines or _explains_silent_crash(kvminit_lines, theirs)):
        out.append(f"messages: kvminit {list(kvminit_lines)!r}\n      QEMU    {theirs.lines!r}")
    if kvminit_accepted and theirs.accepted and kvminit_e820 != theirs.e820:
        ours, qemu = decode_e820(kvminit_e820), decode_e820(theirs.e820)
        out.append(f"etc/e820: kvminit {ours}\n      QEMU    {qemu}")
    return out


def _explains_silent_crash(kvminit_lines: Sequence[str], theirs: QemuOutcome) -> bool:
    """QEMU died of a signal without a word (e.g. SIGFPE in machine_parse_smp_config()):
    kvminit, which cannot crash the same way, says so in one line naming that signal."""
    code = theirs.returncode
    if code is None or code >= 0 or theirs.lines or len(kvminit_lines) != 1:
        return False
    return signal.Signals(-code).name in kvminit_lines[0]


def report(diffs: Sequence[str], theirs: QemuOutcome, extra: str = "") -> str:
    lines = [theirs.describe(), *(f"  - {d}" for d in diffs)]
    if extra:
        lines.append(extra)
    return "\n".join(lines)
