"""Faults at every kernel call, on a profile and on the real device (wrapped), per QEMU version.

For each request of the sequence and each errno that matters, the run ends with
QEMU's message for that step (or goes on, where QEMU goes on), and the fd table is
as it was before. 2.6's words are the seed's; 7.2's and 10.0's are those the research
notes confirmed on the binaries (/work/research/accel-7.2/messages.md,
/work/research/accel-10.0/caps-and-messages.md).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.engine import run
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmHost
from kvminit.kvm.errors import KvmError
from kvminit.kvm.interpose import FdKind, HookedHost, Injected, with_faults
from kvminit.kvm.profiles import builtin_profile, dump_toml, profile_host
from kvminit.kvm.real import RealHost

from .conftest import machine, open_fds, profile

ERRNOS = [errno.ENOMEM, errno.EINVAL, errno.EEXIST, errno.EFAULT, errno.EACCES, errno.EBUSY]
VERSIONS = [QEMU_2_6, QEMU_7_2, QEMU_10_0]
UPGRADE = (
    "Please upgrade to at least kernel 2.6.29 or recent kvm-kmod\n"
    "(see http://sourceforge.net/projects/kvm).\n"
)
DIRTY_LOG_WARNING = (
    "-accel kvm: warning: Trying to enable capability 3 of "
    "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 but failed. Falling back to the legacy mode. "
)


@dataclass(frozen=True)
class Outcome:
    """How the run ends: `step` and `message` of the error (None: it starts), and warnings."""

    step: str | None
    message: str | None
    warnings: list[str] = field(default_factory=list)


def failed(qemu: Qemu, s: str) -> str:
    """do_configure_accelerator's line after kvm_init returned through err:."""
    if qemu == QEMU_2_6:
        return f"failed to initialize KVM: {s}"
    return f"-accel kvm: failed to initialize kvm: {s}"


def expected(qemu: Qemu, request: str, code: int) -> Outcome:
    """What QEMU `qemu` does when `request` fails with `code` (every time it is made)."""
    s = os.strerror(code)
    fail = failed(qemu, s)
    # 10.0 reports kvm_init's own lines with error_report (the -accel location); 2.6 and
    # 7.2 print them with a bare fprintf.
    loc = "-accel kvm: " if qemu == QEMU_10_0 else ""
    modern = qemu != QEMU_2_6
    ten = qemu == QEMU_10_0
    started = Outcome(None, None)
    table: dict[str, Outcome] = {
        "open": Outcome("2.1", f"{loc}Could not access KVM kernel module: {s}\n{fail}"),
        "KVM_GET_API_VERSION": Outcome("2.2", f"{loc}kvm version too old\n{fail}"),
        # kvm_check_extension() takes an error for 0: the first required cap is missing.
        "KVM_CHECK_EXTENSION": Outcome(
            "2.7",
            f"{loc}kvm does not support KVM_CAP_USER_MEMORY\n"
            + UPGRADE
            + failed(qemu, "Invalid argument"),
        ),
        # 10.0 dropped the errno number.
        "KVM_CREATE_VM": Outcome(
            "2.6",
            f"{loc}ioctl(KVM_CREATE_VM) failed: {s}\n{fail}"
            if ten
            else f"ioctl(KVM_CREATE_VM) failed: {code} {s}\n{fail}",
        ),
        "KVM_GET_MSR_INDEX_LIST": Outcome("2.10.1", fail),
        # 2.6 never asks; 7.2 prints and goes on; 10.0 fails kvm_init.
        "KVM_GET_MSR_FEATURE_INDEX_LIST": (
            Outcome("2.10.1a", f"-accel kvm: Fetch KVM feature MSR list failed: {s}\n{fail}")
            if ten
            else Outcome(None, None, [f"-accel kvm: Fetch KVM feature MSR list failed: {s}"])
            if modern
            else started
        ),
        "KVM_SET_IDENTITY_MAP_ADDR": Outcome("2.10.1c" if qemu == QEMU_7_2 else "2.10", fail),
        "KVM_SET_TSS_ADDR": Outcome("2.10.2", fail),
        "KVM_SET_NR_MMU_PAGES": Outcome("2.10.5", fail),
        # A bare fprintf in every version, then exit(1).
        "KVM_CREATE_IRQCHIP": Outcome("2.12.2", f"Create kernel irqchip failed: {s}"),
        # Every KVM_ENABLE_CAP fails: 2.6 enables only the split irqchip; 7.2+ enable the
        # manual dirty-log protection first (a warning), then the exception payload (err:).
        "KVM_ENABLE_CAP": (
            Outcome(
                "2.10d",
                f"-accel kvm: kvm: Failed to enable exception payload cap: {s}\n{fail}",
                [DIRTY_LOG_WARNING],
            )
            if modern
            else Outcome("2.12.1", f"Could not enable split irqchip mode: {s}")
        ),
        # One capability's KVM_ENABLE_CAP fails, the others succeed.
        "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)": Outcome(
            "2.12.1",
            f"-accel kvm: Could not enable split irqchip mode: {s}"
            if modern
            else f"Could not enable split irqchip mode: {s}",
        ),
        "KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)": (
            Outcome(None, None, [DIRTY_LOG_WARNING]) if modern else started
        ),
        "KVM_ENABLE_CAP(KVM_CAP_EXCEPTION_PAYLOAD)": (
            Outcome(
                "2.10d", f"-accel kvm: kvm: Failed to enable exception payload cap: {s}\n{fail}"
            )
            if modern
            else started
        ),
        "KVM_ENABLE_CAP(KVM_CAP_X86_TRIPLE_FAULT_EVENT)": (
            Outcome(
                "2.10e",
                f"-accel kvm: kvm: Failed to enable triple fault event cap: {s}\n{fail}",
            )
            if modern
            else started
        ),
        # exit(1) in kvm_arch_init: no "failed to initialize" line.
        "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)": (
            Outcome(
                "2.10.5e" if ten else "2.10.10",
                f"-accel kvm: Could not enable user space MSRs: {s}",
            )
            if modern
            else started
        ),
        # 7.2 formats the enable's return value (0): "Success" whatever the filter said.
        "KVM_X86_SET_MSR_FILTER": (
            Outcome(
                "2.10.5e" if ten else "2.10.10",
                "-accel kvm: Could not install MSR_CORE_THREAD_COUNT handler: "
                + (s if ten else "Success"),
            )
            if modern
            else started
        ),
        # kvm_pc_setup_irq_routing()'s commit asserts ret == 0 (abort). 2.6: kvminit's
        # words (the seed quotes no assertion); 7.2 and 10.0: glibc's line as the binaries
        # print it. The step is the engine's board label (3.6, pc_gsi_create): the
        # walkthroughs file it under their catch-all "after the first vCPU" headings
        # (7.2: 3.7, 10.0: 3.4).
        "KVM_SET_GSI_ROUTING": {
            QEMU_2_6: Outcome(
                "3.6",
                "kvm_irqchip_commit_routes: Assertion `ret == 0' failed. "
                f"(KVM_SET_GSI_ROUTING: {s})",
            ),
            QEMU_7_2: Outcome(
                "3.6",
                "../../accel/kvm/kvm-all.c:1773: kvm_irqchip_commit_routes: "
                "Assertion `ret == 0' failed.",
            ),
            QEMU_10_0: Outcome(
                "3.6",
                "accel/kvm/kvm-all.c:2017: kvm_irqchip_commit_routes: Assertion `ret == 0' failed.",
            ),
        }[qemu],
    }
    return table[request]


# The machine that reaches each request: split for the irqchip's ENABLE_CAP, shadow memory
# for MMU pages.
MACHINE_FOR = {
    "KVM_ENABLE_CAP": 'kernel-irqchip = "split"',
    "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)": 'kernel-irqchip = "split"',
    "KVM_SET_NR_MMU_PAGES": 'kvm-shadow-mem = "1M"',
}
REQUESTS = [
    "open",
    "KVM_GET_API_VERSION",
    "KVM_CHECK_EXTENSION",
    "KVM_CREATE_VM",
    "KVM_GET_MSR_INDEX_LIST",
    "KVM_GET_MSR_FEATURE_INDEX_LIST",
    "KVM_SET_IDENTITY_MAP_ADDR",
    "KVM_SET_TSS_ADDR",
    "KVM_SET_NR_MMU_PAGES",
    "KVM_CREATE_IRQCHIP",
    "KVM_ENABLE_CAP",
    "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)",
    "KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)",
    "KVM_ENABLE_CAP(KVM_CAP_EXCEPTION_PAYLOAD)",
    "KVM_ENABLE_CAP(KVM_CAP_X86_TRIPLE_FAULT_EVENT)",
    "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)",
    "KVM_X86_SET_MSR_FILTER",
    "KVM_SET_GSI_ROUTING",
]

KNOWN: dict[tuple[Qemu, str], str] = {}  # (version, request) -> why the engine disagrees


def _cases() -> list[object]:
    out: list[object] = []
    for q in VERSIONS:
        for r in REQUESTS:
            reason = KNOWN.get((q, r))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            for c in ERRNOS:
                out.append(pytest.param(q, r, c, marks=marks, id=f"{q}-{r}-{errno.errorcode[c]}"))
    return out


CASES = _cases()


class FailOneCap:
    """KVM_ENABLE_CAP of one capability fails with `code`; every other request goes through."""

    def __init__(self, cap: Cap, code: int) -> None:
        self.cap = cap
        self.code = code

    def before(self, fd: FdKind, request: str, arg: object) -> None:
        if request == "KVM_ENABLE_CAP" and isinstance(arg, tuple) and arg[0] == self.cap:
            raise KvmError(request, self.code)

    def after(self, fd: FdKind, request: str, arg: object, result: object) -> None:
        pass


def faulty(host: KvmHost, request: str, code: int) -> KvmHost:
    if request.startswith("KVM_ENABLE_CAP("):
        cap = Cap[request.removeprefix("KVM_ENABLE_CAP(").removesuffix(")")]
        return HookedHost(host, lambda: FailOneCap(cap, code))
    return with_faults(host, [Injected(request, code)])


def check(host_under: KvmHost, qemu: Qemu, request: str, code: int) -> None:
    before = open_fds()
    host = faulty(host_under, request, code)
    r = run(machine(MACHINE_FOR.get(request, 'type = "pc"')), host, qemu=qemu)
    want = expected(qemu, request, code)
    assert r.qemu == str(qemu)
    if want.message is None:
        assert r.error is None, (request, code, r.error)
        assert r.ok and r.accel == "kvm"
    else:
        assert r.error is not None, (request, code)
        assert (r.error.step, r.error.message) == (want.step, want.message)
        assert r.kvm_state is None or r.to_json()["kvm_state"] is None
    assert [w.message for w in r.warnings] == want.warnings
    assert open_fds() == before


@pytest.mark.parametrize(("qemu", "request_", "code"), CASES)
def test_fault_on_a_profile(qemu: Qemu, request_: str, code: int) -> None:
    check(profile_host(builtin_profile("amd-epyc-linux-6.18")), qemu, request_, code)


@pytest.mark.kvm
@pytest.mark.parametrize(("qemu", "request_", "code"), CASES)
def test_fault_on_the_real_device(qemu: Qemu, request_: str, code: int) -> None:
    check(RealHost(), qemu, request_, code)


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
@pytest.mark.parametrize("host", ["profile", pytest.param("real", marks=pytest.mark.kvm)])
def test_gsi_routing_failure_aborts_the_run(host: str, qemu: Qemu) -> None:
    """What holds whatever the step's label: the board's commit aborts, nothing stays open."""
    under = RealHost() if host == "real" else profile_host(builtin_profile("amd-epyc-linux-6.18"))
    before = open_fds()
    r = run(
        machine(), with_faults(under, [Injected("KVM_SET_GSI_ROUTING", errno.EINVAL)]), qemu=qemu
    )
    assert r.error is not None and r.accel == "kvm"
    assert "kvm_irqchip_commit_routes: Assertion `ret == 0' failed." in r.error.message
    assert r.to_json()["kvm_state"] is None and len(r.routing) == 38
    assert open_fds() == before


@pytest.mark.parametrize("qemu", VERSIONS)
@pytest.mark.parametrize("host", ["profile", pytest.param("real", marks=pytest.mark.kvm)])
def test_eintr_is_retried_where_the_seed_retries(host: str, qemu: Qemu) -> None:
    under = RealHost() if host == "real" else profile_host(builtin_profile("amd-epyc-linux-6.18"))
    before = open_fds()
    r = run(
        machine(),
        with_faults(under, [Injected("KVM_CREATE_VM", errno.EINTR, times=3)]),
        qemu=qemu,
    )
    assert r.ok and [t.result for t in r.trace if t.step == "2.6"][:3] == [-4, -4, -4]
    assert open_fds() == before


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        (QEMU_2_6, "failed to initialize KVM: Argument list too long"),
        (QEMU_7_2, "-accel kvm: failed to initialize kvm: Argument list too long"),
        (QEMU_10_0, "-accel kvm: failed to initialize kvm: Argument list too long"),
    ],
)
def test_second_msr_list_call_e2big_fails_as_in_qemu(qemu: Qemu, message: str) -> None:
    host = with_faults(
        profile_host(builtin_profile("amd-epyc-linux-6.18")),
        [Injected("KVM_GET_MSR_INDEX_LIST", errno.E2BIG)],
    )
    r = run(machine(), host, qemu=qemu)
    assert r.error is not None
    assert (r.error.step, r.error.message) == ("2.10.1", message)


@pytest.mark.parametrize("qemu", ["2.6", "7.2", "10.0"])
def test_fault_from_a_profile_file_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], qemu: str
) -> None:
    text = dump_toml(builtin_profile("amd-epyc-linux-6.18"))
    text += '\n[[faults]]\nioctl = "KVM_CREATE_IRQCHIP"\nerrno = "ENOMEM"\n'
    (tmp_path / "host.toml").write_text(text)
    (tmp_path / "m.toml").write_text('type = "pc"\naccel = ["kvm", "tcg"]\n')
    before = open_fds()
    code = main(
        ["run", str(tmp_path / "m.toml"), "--host", str(tmp_path / "host.toml"), "--qemu", qemu]
    )
    err = capsys.readouterr().err
    # exit(1) in every version: no fallback to tcg.
    assert code == 1
    assert err == "kvminit: Create kernel irqchip failed: Cannot allocate memory\n"
    assert open_fds() == before


# The required capability lists, in check order (accel-7.2/messages.md §1,
# accel-10.0/caps-and-messages.md §1): a kernel without one of them ends kvm_init at 2.7.
REQUIRED = {
    QEMU_2_6: [
        "KVM_CAP_USER_MEMORY",
        "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
        "KVM_CAP_SET_TSS_ADDR",
        "KVM_CAP_EXT_CPUID",
        "KVM_CAP_MP_STATE",
    ],
    QEMU_7_2: [
        "KVM_CAP_USER_MEMORY",
        "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
        "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS",
        "KVM_CAP_SET_TSS_ADDR",
        "KVM_CAP_EXT_CPUID",
        "KVM_CAP_MP_STATE",
    ],
    QEMU_10_0: [
        "KVM_CAP_USER_MEMORY",
        "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
        "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS",
        "KVM_CAP_INTERNAL_ERROR_DATA",
        "KVM_CAP_IOEVENTFD",
        "KVM_CAP_IOEVENTFD_ANY_LENGTH",
        "KVM_CAP_SET_TSS_ADDR",
        "KVM_CAP_EXT_CPUID",
        "KVM_CAP_MP_STATE",
        "KVM_CAP_SIGNAL_MSI",
        "KVM_CAP_IRQ_ROUTING",
        "KVM_CAP_DEBUGREGS",
        "KVM_CAP_XSAVE",
        "KVM_CAP_VCPU_EVENTS",
        "KVM_CAP_X86_ROBUST_SINGLESTEP",
        "KVM_CAP_MCE",
        "KVM_CAP_ADJUST_CLOCK",
        "KVM_CAP_SET_IDENTITY_MAP_ADDR",
    ],
}


@pytest.mark.parametrize(("qemu", "cap"), [(q, c) for q, caps in REQUIRED.items() for c in caps])
def test_missing_required_capability(qemu: Qemu, cap: str) -> None:
    before = open_fds()
    r = run(machine(), profile(drop=(cap,)), qemu=qemu)
    loc = "-accel kvm: " if qemu == QEMU_10_0 else ""
    assert r.error is not None and r.error.step == "2.7"
    assert r.error.message == (
        f"{loc}kvm does not support {cap}\n" + UPGRADE + failed(qemu, "Invalid argument")
    )
    assert open_fds() == before


def test_the_first_missing_capability_wins() -> None:
    host = profile(drop=("KVM_CAP_SET_IDENTITY_MAP_ADDR", "KVM_CAP_IOEVENTFD"))
    r = run(machine(), host, qemu=QEMU_10_0)
    assert r.error is not None
    assert r.error.message.startswith("-accel kvm: kvm does not support KVM_CAP_IOEVENTFD\n")
    # 7.2 requires neither: KVM_CAP_IOEVENTFD off only clears a flag.
    assert run(machine(), host, qemu=QEMU_7_2).ok


def test_7_2_requires_irq_routing_in_kvm_arch_init() -> None:
    # Not in 7.2's lists: kvm_arch_init's own check, -ENOTSUP (messages.md #13).
    r = run(machine(), profile(drop=("KVM_CAP_IRQ_ROUTING",)), qemu=QEMU_7_2)
    assert r.error is not None and r.error.step == "2.10b"
    assert r.error.message == (
        "-accel kvm: kvm: KVM_CAP_IRQ_ROUTING not supported by KVM\n"
        "-accel kvm: failed to initialize kvm: Operation not supported"
    )
