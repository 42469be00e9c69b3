"""`kvminit from-qemu` on libvirt's 528 x86_64 command lines, then against the real QEMUs.

tests/data/libvirt/corpus.json.gz is scripts/extract_libvirt_corpus.py's output
for libvirt 9.0.0 (tests/qemuxml2argvdata). Two checks:

* reading (no QEMU needed): from_qemu() reads every line for 7.2 and 10.0 without
  a traceback; its only refusals are QemuArgsError (QEMU refuses the options) and
  ConfigError (the machine cannot be described), and a line whose machine type the
  version knows is never a ConfigError.
* against QEMU V: a converted line runs in kvminit and in QEMU V with exactly
  `qemu_args(converted.machine(), V)` (the options kvminit read, devices dropped)
  plus the measuring guest: same verdict, messages and etc/e820 bytes. A line
  from_qemu refuses runs in QEMU V with its machine-level options as written
  (-machine/-M/-accel/-enable-kvm/-m/-smp/-cpu) and the option kvminit blamed: QEMU
  must refuse it in the same words.

QEMU 10.0 removed -no-acpi and -no-hpet (9.0), which 453 lines carry: for 10.0
each such line is also run without them (the `10.0-dropped` group), so its machine
is compared too and not only the refusal.

Counts per group (lines, converted, agreed, disagreements and why) are printed at
the end of the session.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kvminit.config import ConfigError
from kvminit.engine.qemu import QEMU_7_2, QEMU_10_0, Qemu
from kvminit.fromqemu import QemuArgsError, from_qemu

from . import harness, summary
from .binaries import FOUND
from .lines import Line, Plan, compare, knows_type, plan

CORPUS = Path(__file__).parents[1] / "data" / "libvirt" / "corpus.json.gz"
REMOVED_IN_10_0 = ("-no-acpi", "-no-hpet")


def load() -> list[Line]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    return [Line(d["name"], d["binary"], tuple(d["argv"])) for d in doc["lines"]]


LINES = load()


def as_is(argv: tuple[str, ...]) -> tuple[str, ...]:
    return argv


def without_removed(argv: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in argv if w not in REMOVED_IN_10_0)


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0], ids=str)
def test_reads_every_line(qemu: Qemu) -> None:
    group = f"reading {qemu} (no QEMU)"
    problems = []
    for line in LINES:
        summary.count(group, "lines")
        try:
            converted = from_qemu(line.command(), qemu)
        except QemuArgsError as e:
            summary.count(group, "QemuArgsError")
            if not e.message:
                problems.append(f"{line.name}: a QemuArgsError without words")
            continue
        except Exception as e:
            problems.append(f"{line.name}: from_qemu raised {type(e).__name__}: {e}")
            continue
        try:
            converted.machine()
        except ConfigError as e:
            summary.count(group, "ConfigError")
            if knows_type(qemu, converted):
                problems.append(f"{line.name}: a known machine type, not converted: {e}")
            continue
        except Exception as e:
            problems.append(f"{line.name}: .machine() raised {type(e).__name__}: {e}")
            continue
        summary.count(group, "converted")
    assert len(LINES) == 528, "tests/data/libvirt/corpus.json.gz is libvirt 9.0.0's 528 lines"
    assert not problems, "\n".join(problems)


# --- against QEMU ------------------------------------------------------------------------------

# (group, line name) -> why kvminit disagrees with QEMU there (a bug to fix; strict xfail).
KNOWN: dict[tuple[str, str], str] = {}


def _params() -> list[Any]:
    out = []
    for found in FOUND:
        version = str(found.qemu)
        variants: list[tuple[str, Callable[[tuple[str, ...]], tuple[str, ...]]]]
        variants = [(version, as_is)]
        if found.qemu == QEMU_10_0:
            variants.append((f"{version}-dropped", without_removed))
        for group, change in variants:
            for line in LINES:
                argv = change(line.argv)
                if group.endswith("dropped") and argv == line.argv:
                    continue
                p = plan(found, group, line, argv)
                marks: list[pytest.MarkDecorator] = []
                if p.job is not None:
                    marks.append(pytest.mark.qemu_jobs(p.job))
                    reason = KNOWN.get((group, line.name))
                    if reason is not None:
                        marks.append(pytest.mark.xfail(strict=True, reason=reason))
                out.append(pytest.param(p, id=f"{group}-{line.name}", marks=marks))
    return out


@pytest.mark.parametrize("p", _params())
def test_line_against_qemu(p: Plan) -> None:
    summary.count(p.group, "lines")
    if p.converted is None:
        summary.count(p.group, "refused by from-qemu (QemuArgsError)")
    elif p.refusal is not None:
        summary.count(p.group, "not a machine (ConfigError)")
    else:
        summary.count(p.group, "converted")
    if p.job is None:
        summary.count(p.group, f"not compared: {p.why}")
        pytest.skip(p.why or "nothing to compare")
    diffs, theirs = compare(p)
    if diffs:
        known = KNOWN.get((p.group, p.line.name))
        summary.count(p.group, "known disagreement (xfail)" if known else "DISAGREED")
        summary.disagreement(p.group, p.line.name, diffs[0].split("\n")[0])
    else:
        both = "both start, same etc/e820" if theirs.accepted else "both refuse, same words"
        summary.count(p.group, f"agreed: {both}")
        if theirs.rerun_note:
            summary.count(p.group, "agreed after a host rerun (arch-capabilities=off)")
    assert not diffs, harness.report(diffs, theirs, f"line: {' '.join(p.argv)}")
