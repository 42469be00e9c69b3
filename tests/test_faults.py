"""Faults at every kernel call, on a profile and on the real device (wrapped).

For each request of the sequence and each errno that matters, the run ends with
QEMU's message for that step, exit 1, and the fd table as it was before.
"""

from __future__ import annotations

import errno
import os

import pytest

from kvminit.cli import main
from kvminit.engine import run
from kvminit.kvm.interpose import Injected, with_faults
from kvminit.kvm.profiles import builtin_profile, dump_toml, profile_host
from kvminit.kvm.real import RealHost

from .conftest import machine, open_fds

ERRNOS = [errno.ENOMEM, errno.EINVAL, errno.EEXIST, errno.EFAULT, errno.EACCES, errno.EBUSY]
UPGRADE = (
    "Please upgrade to at least kernel 2.6.29 or recent kvm-kmod\n"
    "(see http://sourceforge.net/projects/kvm).\n"
)


def expected(ioctl: str, code: int) -> tuple[str, str]:
    """(step, message) QEMU gives when `ioctl` fails with `code`."""
    s = os.strerror(code)
    failed = f"failed to initialize KVM: {s}"
    return {
        "open": ("2.1", f"Could not access KVM kernel module: {s}\n{failed}"),
        "KVM_GET_API_VERSION": ("2.2", f"kvm version too old\n{failed}"),
        # kvm_check_extension() takes an error for 0: the first required cap is missing.
        "KVM_CHECK_EXTENSION": (
            "2.7",
            "kvm does not support KVM_CAP_USER_MEMORY\n"
            + UPGRADE
            + "failed to initialize KVM: Invalid argument",
        ),
        "KVM_CREATE_VM": ("2.6", f"ioctl(KVM_CREATE_VM) failed: {code} {s}\n{failed}"),
        "KVM_GET_MSR_INDEX_LIST": ("2.10.1", failed),
        "KVM_SET_IDENTITY_MAP_ADDR": ("2.10", failed),
        "KVM_SET_TSS_ADDR": ("2.10.2", failed),
        "KVM_SET_NR_MMU_PAGES": ("2.10.5", failed),
        "KVM_CREATE_IRQCHIP": ("2.12.2", f"Create kernel irqchip failed: {s}"),
        "KVM_ENABLE_CAP": ("2.12.1", f"Could not enable split irqchip mode: {s}"),
        "KVM_SET_GSI_ROUTING": (
            "3",
            f"kvm_irqchip_commit_routes: Assertion `ret == 0' failed. (KVM_SET_GSI_ROUTING: {s})",
        ),
    }[ioctl]


# The machine that reaches each request: split for ENABLE_CAP, shadow memory for MMU pages.
MACHINE_FOR = {
    "KVM_ENABLE_CAP": 'kernel-irqchip = "split"',
    "KVM_SET_NR_MMU_PAGES": 'kvm-shadow-mem = "1M"',
}
REQUESTS = [
    "open",
    "KVM_GET_API_VERSION",
    "KVM_CHECK_EXTENSION",
    "KVM_CREATE_VM",
    "KVM_GET_MSR_INDEX_LIST",
    "KVM_SET_IDENTITY_MAP_ADDR",
    "KVM_SET_TSS_ADDR",
    "KVM_SET_NR_MMU_PAGES",
    "KVM_CREATE_IRQCHIP",
    "KVM_ENABLE_CAP",
    "KVM_SET_GSI_ROUTING",
]
CASES = [(r, c) for r in REQUESTS for c in ERRNOS]


def check(host_under: object, ioctl: str, code: int) -> None:
    before = open_fds()
    host = with_faults(host_under, [Injected(ioctl, code)])  # type: ignore[arg-type]
    r = run(machine(MACHINE_FOR.get(ioctl, 'type = "pc"')), host)
    step, message = expected(ioctl, code)
    assert r.error is not None, (ioctl, code)
    assert (r.error.step, r.error.message) == (step, message)
    assert r.kvm_state is None or r.to_json()["kvm_state"] is None
    assert open_fds() == before


@pytest.mark.parametrize(("ioctl", "code"), CASES)
def test_fault_on_a_profile(ioctl: str, code: int) -> None:
    check(profile_host(builtin_profile("amd-epyc-linux-6.18")), ioctl, code)


@pytest.mark.kvm
@pytest.mark.parametrize(("ioctl", "code"), CASES)
def test_fault_on_the_real_device(ioctl: str, code: int) -> None:
    check(RealHost(), ioctl, code)


@pytest.mark.parametrize("host", ["profile", pytest.param("real", marks=pytest.mark.kvm)])
def test_eintr_is_retried_where_the_seed_retries(host: str) -> None:
    under = RealHost() if host == "real" else profile_host(builtin_profile("amd-epyc-linux-6.18"))
    before = open_fds()
    r = run(machine(), with_faults(under, [Injected("KVM_CREATE_VM", errno.EINTR, times=3)]))
    assert r.ok and [t.result for t in r.trace if t.step == "2.6"][:3] == [-4, -4, -4]
    assert open_fds() == before


def test_second_msr_list_call_e2big_fails_as_in_qemu() -> None:
    host = with_faults(
        profile_host(builtin_profile("amd-epyc-linux-6.18")),
        [Injected("KVM_GET_MSR_INDEX_LIST", errno.E2BIG)],
    )
    r = run(machine(), host)
    assert r.error is not None
    assert r.error.message == "failed to initialize KVM: Argument list too long"


def test_fault_from_a_profile_file_through_the_cli(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    text = dump_toml(builtin_profile("amd-epyc-linux-6.18"))
    text += '\n[[faults]]\nioctl = "KVM_CREATE_IRQCHIP"\nerrno = "ENOMEM"\n'
    (tmp / "host.toml").write_text(text)
    (tmp / "m.toml").write_text('type = "pc"\naccel = ["kvm", "tcg"]\n')
    before = open_fds()
    code = main(["run", str(tmp / "m.toml"), "--host", str(tmp / "host.toml")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "kvminit: Create kernel irqchip failed: Cannot allocate memory\n"
    assert open_fds() == before
