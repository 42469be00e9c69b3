"""QEMU command lines through `kvminit from-qemu`, compared with the real QEMU.

A line that converts runs in kvminit and in QEMU V with exactly
`qemu_args(converted.machine(), V)`: the options kvminit read, devices dropped.
A line from_qemu refuses (QemuArgsError: QEMU itself refuses the options) runs in
QEMU V with its machine-level options as written (-machine/-M/-accel/-enable-kvm/
-m/-smp/-cpu) plus the option kvminit blamed, and QEMU must refuse it in the same
words. Used by the libvirt corpus and by the hand-written lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from kvminit import qemuopts
from kvminit.config import ConfigError
from kvminit.engine.machines import UnknownMachineType, machine_class
from kvminit.engine.qemu import Qemu
from kvminit.engine.qemuline import qemu_args
from kvminit.fromqemu import Converted, QemuArgsError, from_qemu

from ..conftest import _KVM_SKIP
from . import harness
from .binaries import Found


@dataclass(frozen=True)
class Line:
    name: str
    binary: str
    argv: tuple[str, ...]

    def command(self) -> list[str]:
        return [self.binary, *self.argv]


def options(qemu: Qemu, argv: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """argv as (option name, the words it spans), split with the version's table."""
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        name = word[2:] if word.startswith("--") else word[1:] if word.startswith("-") else ""
        takes = bool(name) and qemuopts.takes_value(qemu, name) is True
        span = list(argv[i : i + 2]) if takes else [word]
        out.append((name, span))
        i += len(span)
    return out


def as_written(qemu: Qemu, argv: tuple[str, ...], blamed: str | None = None) -> tuple[str, ...]:
    """The line's machine-level options as written, and the option kvminit blamed."""
    blamed_name = blamed.split()[0].lstrip("-") if blamed else None
    keep: list[str] = []
    for name, span in options(qemu, argv):
        if name in qemuopts.MODELLED_OPTIONS or (blamed_name is not None and name == blamed_name):
            keep += span
    return tuple(keep)


def knows_type(qemu: Qemu, converted: Converted) -> bool:
    try:
        machine_class(qemu, str(converted.keys.get("type", "pc")))
    except UnknownMachineType:
        return False
    return True


@dataclass(frozen=True)
class Plan:
    """What one line's test compares: the QEMU run and kvminit's reading of the line."""

    group: str
    line: Line
    argv: tuple[str, ...]  # the line as kvminit reads it for this group
    converted: Converted | None  # None: from_qemu refused the options
    refusal: list[str] | None  # kvminit's words when it refuses the line while reading it
    job: harness.Job | None  # None: nothing to run (see why)
    why: str | None = None
    as_written: bool = False  # the job runs the machine-level options as written


def plan(
    found: Found, group: str, line: Line, argv: tuple[str, ...], as_written_run: bool = False
) -> Plan:
    """The comparison for `line`; as_written_run: QEMU gets the line's machine-level
    options as written even when kvminit converts them (does from-qemu read them as
    QEMU does?) instead of `kvminit qemu-args` of the conversion."""
    qemu = found.qemu
    try:
        converted = from_qemu([line.binary, *argv], qemu)
    except QemuArgsError as e:
        words = str(e).split("\n")
        if found.binary is None:
            return Plan(group, line, argv, None, words, None, found.reason)
        job = harness.Job(found.binary, as_written(qemu, argv, e.option))
        return Plan(group, line, argv, None, words, job, as_written=True)
    try:
        machine = converted.machine()
    except ConfigError as e:
        # The conversion cannot be a machine file: compare kvminit's words with QEMU's.
        words = [w for p in e.problems for w in p.message.split("\n")]
        if found.binary is None:
            return Plan(group, line, argv, converted, words, None, found.reason)
        job = harness.Job(found.binary, as_written(qemu, argv))
        return Plan(group, line, argv, converted, words, job, as_written=True)
    if found.binary is None:
        return Plan(group, line, argv, converted, None, None, found.reason)
    if "kvm" in machine.accel and _KVM_SKIP is not None:
        return Plan(group, line, argv, converted, None, None, _KVM_SKIP)
    if as_written_run:
        job = harness.Job(found.binary, as_written(qemu, argv))
        return Plan(group, line, argv, converted, None, job, as_written=True)
    job = harness.Job(found.binary, tuple(qemu_args(machine, qemu)))
    return Plan(group, line, argv, converted, None, job)


def compare(p: Plan) -> tuple[list[str], harness.QemuOutcome]:
    """The differences between kvminit's reading of the line and QEMU's run of it."""
    assert p.job is not None
    theirs = harness.outcome(p.job)
    if p.refusal is not None:
        return harness.differences(False, p.refusal, b"", theirs), theirs
    assert p.converted is not None
    machine = p.converted.machine()
    host = harness.host_for(machine)
    assert host is not None, "a KVM line without /dev/kvm has no job"
    ours = harness.kvminit_outcome(machine, host, p.job.binary.qemu)
    lines = ours.lines
    if p.as_written:
        # What QEMU says while reading the options (a deprecated spelling ...) is in the
        # conversion's notes, in QEMU's words: it goes before the run's own messages.
        said = [line for n in p.converted.notes for line in n.split("\n")]
        noted = [line for line in said if line in theirs.lines]
        lines = noted + lines
    return harness.differences(ours.accepted, lines, ours.e820, theirs), theirs
