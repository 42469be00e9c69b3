"""kvminit --qemu V against the real QEMU V, machine by machine (cases.py).

For each case and each QEMU version installed: kvminit runs the machine (the real
/dev/kvm, or for a TCG-only machine without one the recorded AMD profile) and QEMU
runs `kvminit qemu-args` of it with the measuring guest. They must agree on the
verdict, on every message word for word and in order (CPUID feature warnings
aside, see harness.CPUID_FEATURE_WARNING), and on the etc/e820 bytes when both
start the machine.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvminit.config import ConfigError

from . import harness
from .cases import CASES, Case


@pytest.mark.parametrize(("found", "case"), harness.case_params(CASES))
def test_same_as_qemu(found: Any, case: Case) -> None:
    assert found.binary is not None
    theirs = harness.outcome(harness.Job(found.binary, case.qemu_args(found.qemu)))
    try:
        machine = case.machine()
    except ConfigError as e:
        # kvminit refuses the file itself: its words must still be QEMU's.
        lines = [line for p in e.problems for line in p.message.split("\n")]
        diffs = harness.differences(False, lines, b"", theirs)
    else:
        host = harness.host_for(machine)
        assert host is not None, "a KVM case without /dev/kvm is skipped"
        ours = harness.kvminit_outcome(machine, host, found.qemu)
        diffs = harness.differences(ours.accepted, ours.lines, ours.e820, theirs)
    assert not diffs, harness.report(diffs, theirs, f"machine file:\n{case.text()}")
