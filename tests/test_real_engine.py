"""The engine on the real /dev/kvm (marked kvm; skipped with the reason elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.engine import run
from kvminit.engine.qemu import MODELLED, QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.kvm.caps import Cap
from kvminit.kvm.device import KvmHost
from kvminit.kvm.probe import probe
from kvminit.kvm.profiles import profile_host
from kvminit.kvm.real import RealHost

from .conftest import machine, messages

pytestmark = pytest.mark.kvm

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def _every_test_checks_fds(no_fd_leak: None) -> None:
    """No fd stays open after a real run, whatever its outcome."""


@pytest.fixture(scope="module")
def recorded() -> KvmHost:
    return profile_host(probe())


def test_pc_initialises_the_real_kvm() -> None:
    real = RealHost()
    kvm = real.open()
    soft = kvm.check_extension(Cap.KVM_CAP_NR_VCPUS)
    hard = kvm.check_extension(Cap.KVM_CAP_MAX_VCPUS)
    kvm.close()
    r = run(machine(type="pc", memory="1G"), real)
    assert r.ok and r.accel == "kvm" and r.host_kind == "real"
    assert r.kvm_state is not None
    assert (r.kvm_state.soft_vcpus_limit, r.kvm_state.hard_vcpus_limit) == (soft or 4, hard or soft)


@pytest.mark.parametrize(
    "text",
    [
        'type = "pc"',
        'type = "q35"\nmemory = "6G"',
        'type = "isapc"',
        'kernel-irqchip = "split"',
        'kernel-irqchip = "off"',
        'type = "pc-i440fx-2.6"\nsmp = 3',
        'kvm-shadow-mem = "1M"',
    ],
)
@pytest.mark.parametrize("qemu", MODELLED)
def test_real_and_recorded_agree(recorded: KvmHost, text: str, qemu: Qemu) -> None:
    """Same trace, state, table and routes from the kernel and from its recording.

    The version is named: a recording carries the QEMU it found on the host (its
    default), the real device none.
    """
    m = machine(text)
    a, b = run(m, RealHost(), qemu=qemu).to_json(), run(m, recorded, qemu=qemu).to_json()
    a.pop("host"), b.pop("host")
    assert a["qemu"] == str(qemu) and a == b


@pytest.mark.parametrize(
    ("qemu", "prefix"),
    [
        (QEMU_2_6, "Warning: "),
        (QEMU_7_2, "-accel kvm: warning: "),
        (QEMU_10_0, "-accel kvm: warning: "),
    ],
)
def test_smp_above_the_recommended_warns_and_succeeds(qemu: Qemu, prefix: str) -> None:
    kvm = RealHost().open()
    soft = kvm.check_extension(Cap.KVM_CAP_NR_VCPUS) or 4
    kvm.close()
    r = run(machine(smp=soft + 1), RealHost(), qemu=qemu)
    assert r.ok
    assert messages(r)[0] == (
        f"{prefix}Number of SMP cpus requested ({soft + 1}) exceeds the "
        f"recommended cpus supported by KVM ({soft})"
    )


def test_kvm_type_error_and_fallback() -> None:
    r = run(machine(kvm_type="x"), RealHost(), qemu=QEMU_2_6)
    assert r.error is not None
    assert (
        r.error.message == "Invalid argument kvm-type=x\nfailed to initialize KVM: Invalid argument"
    )
    r = run(machine(kvm_type="x", accel=["kvm", "tcg"]), RealHost(), qemu=QEMU_2_6)
    assert r.ok and r.accel == "tcg" and messages(r)[-1] == "Back to tcg accelerator."


def test_kvm_type_is_no_property_from_7_2() -> None:
    # Refused while the machine options are applied: before any accelerator, no fallback.
    r = run(machine(kvm_type="x", accel=["kvm", "tcg"]), RealHost(), qemu=QEMU_10_0)
    assert r.error is not None and r.accel is None
    assert r.error.message == "Property 'pc-i440fx-10.0-machine.kvm-type' not found"
    assert (r.error.step, r.error.key) == ("1", "kvm-type")


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        (QEMU_2_6, "failed to initialize KVM: Invalid argument"),
        (QEMU_10_0, "-accel kvm: failed to initialize kvm: Invalid argument"),
    ],
)
def test_shadow_mem_64k_is_refused_by_the_kernel(qemu: Qemu, message: str) -> None:
    r = run(machine(kvm_shadow_mem="64K"), RealHost(), qemu=qemu)
    assert r.error is not None and r.error.message == message


@pytest.mark.parametrize("qemu", MODELLED)
@pytest.mark.parametrize("type_", ["pc", "q35"])
@pytest.mark.parametrize(("irqchip", "routes"), [("on", 38), ("split", 24), ("off", 0)])
def test_irqchip_modes(type_: str, irqchip: str, routes: int, qemu: Qemu) -> None:
    r = run(machine(type=type_, kernel_irqchip=irqchip), RealHost(), qemu=qemu)
    if irqchip == "off" and qemu == QEMU_10_0:
        # 10.0: a CPU with an APIC needs KVM's (cpu-apic.c), board time, no location.
        assert r.error is not None and r.error.message == "KVM does not support userspace APIC"
        return
    assert r.ok and len(r.routing) == routes


@pytest.mark.parametrize("qemu", MODELLED)
def test_isapc_routes(qemu: Qemu) -> None:
    assert len(run(machine(type="isapc"), RealHost(), qemu=qemu).routing) == 15


def test_json_shows_the_identity_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "machines/pc.toml"), "--host", "real", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["host"]["kind"] == "real"
    assert data["kvm_state"]["identity_base"] == 0xFEFFC000
    assert data["e820"][0] == {"address": 0xFEFFC000, "length": 0x4000, "type": 2}


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        (
            QEMU_2_6,
            "Could not access KVM kernel module: No such file or directory\n"
            "failed to initialize KVM: No such file or directory",
        ),
        (
            QEMU_7_2,
            "Could not access KVM kernel module: No such file or directory\n"
            "-accel kvm: failed to initialize kvm: No such file or directory",
        ),
        (
            QEMU_10_0,
            "-accel kvm: Could not access KVM kernel module: No such file or directory\n"
            "-accel kvm: failed to initialize kvm: No such file or directory",
        ),
    ],
)
def test_missing_device_gives_the_seeds_message(qemu: Qemu, message: str) -> None:
    r = run(machine(), RealHost("/nonexistent/kvm"), qemu=qemu)
    assert r.error is not None
    assert (r.error.step, r.error.message) == ("2.1", message)
