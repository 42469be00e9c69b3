"""kvminit's ioctls on the real /dev/kvm against QEMU's own, request by request.

QEMU runs under `strace -f -y -e trace=ioctl`; kvminit runs the same machine on
the real device through a CallLog. On the main thread, the requests kvminit makes
must be QEMU's, in QEMU's order, on the same kind of fd, with the same values
(capability numbers, addresses, page counts) and results: from
KVM_GET_API_VERSION up to the first KVM_CREATE_VCPU, and after it the board's
capability checks and GSI routes up to the first system reset (ioctls.py says
what is left out of that window and why).
"""

from __future__ import annotations

import difflib
from typing import Any

import pytest

from kvminit.engine import run
from kvminit.kvm.interpose import CallLog, HookedHost
from kvminit.kvm.real import RealHost

from . import harness, ioctls
from .cases import Case, case

SEQUENCE_CASES: list[Case] = [
    case("pc-on", type="pc", memory="1G", kernel_irqchip="on"),
    case("pc-split", type="pc", memory="1G", kernel_irqchip="split"),
    case("q35-on", type="q35", memory="1G", kernel_irqchip="on"),
    case("q35-split", type="q35", memory="1G", kernel_irqchip="split"),
    case("pc-shadow-256M", type="pc", memory="1G", kvm_shadow_mem=268435456),
    case("pc-shadow-64K-refused", type="pc", memory="1G", kvm_shadow_mem=65536),
    case("pc-6G", type="pc", memory="6G"),
    case("q35-6G", type="q35", memory="6G"),
    case("pc-smp4", type="pc", memory="1G", smp=4),
    case("pc-smp4-split", type="pc", memory="1G", smp=4, kernel_irqchip="split"),
    case("pc-off", type="pc", memory="1G", kernel_irqchip="off"),
]


@pytest.mark.parametrize(("found", "case"), harness.case_params(SEQUENCE_CASES, strace=True))
def test_same_ioctls_as_qemu(found: Any, case: Case) -> None:
    assert found.binary is not None
    theirs = harness.outcome(harness.Job(found.binary, case.qemu_args(found.qemu), strace=True))
    assert theirs.returncode is not None, theirs.describe()
    windows = ioctls.qemu_windows(theirs.strace)
    assert windows.init, f"no KVM ioctl in QEMU's trace: {theirs.describe()}\n{theirs.stderr}"

    log = CallLog()
    result = run(case.machine(), HookedHost(RealHost(), lambda: log), qemu=found.qemu)
    assert result.ok == theirs.accepted, (
        f"kvminit {'accepts' if result.ok else 'refuses'}: {theirs.describe()}"
    )
    init = ioctls.without_retries(windows.init)
    ours = [str(c) for c in ioctls.without_retries(ioctls.kvminit_ioctls(log))]
    qemu = [f"{c}" for c in init] + [f"{c}  [board]" for c in windows.board]
    ours = ours[: len(init)] + [f"{c}  [board]" for c in ours[len(init) :]]
    if ours != qemu:
        diff = "\n".join(
            difflib.unified_diff(qemu, ours, "QEMU (strace)", "kvminit (CallLog)", lineterm="")
        )
        left = "".join(f"\n  {c}" for c in windows.left_out)
        pytest.fail(
            f"{theirs.describe()}\n{windows.vcpus} vCPUs; left out of QEMU's board window:"
            f"{left or ' nothing'}\n{diff}",
            pytrace=False,
        )
