"""The public Python API: kvminit.load_machine, kvminit.run, kvminit.ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

import kvminit

PC = Path(__file__).parents[1] / "machines" / "pc.toml"


def test_load_and_run_on_a_named_profile() -> None:
    machine = kvminit.load_machine(PC)
    assert isinstance(machine, kvminit.MachineConfig)
    result = kvminit.run(machine, host="amd-epyc-linux-6.18")
    assert isinstance(result, kvminit.InitResult) and result.ok and result.accel == "kvm"
    state = result.to_json()["kvm_state"]
    assert state["irq_routes"] == {"nr": 38, "flags": 0}
    assert state["nr_allocated_irq_routes"] == 64


def test_run_takes_a_path_too() -> None:
    assert kvminit.run(PC, host="old-kernel").kvm_state is not None


def test_errors_are_the_projects_own(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("smp = 0\n")
    with pytest.raises(kvminit.ConfigError) as info:
        kvminit.load_machine(bad)
    assert info.value.problems[0].key == "smp"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        kvminit.nonesuch  # noqa: B018
    assert kvminit.__version__
