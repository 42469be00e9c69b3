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
    assert kvminit.run(PC, host="old-kernel", qemu="2.6").kvm_state is not None
    # 10.0 requires KVM_CAP_INTERNAL_ERROR_DATA (40), which that kernel predates.
    refused = kvminit.run(PC, host="old-kernel", qemu="10.0")
    assert refused.error is not None and refused.qemu == "10.0"
    assert "kvm does not support KVM_CAP_INTERNAL_ERROR_DATA" in refused.error.message


def test_errors_are_the_projects_own(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("smp = -1\n")
    with pytest.raises(kvminit.ConfigError) as info:
        kvminit.load_machine(bad)
    assert info.value.problems[0].key == "smp"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        kvminit.nonesuch  # noqa: B018
    assert kvminit.__version__


def test_help_shows_the_api() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import kvminit; help(kvminit)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PAGER": "cat", "PYTHONPATH": str(Path(__file__).parents[1])},
    ).stdout
    for name in ("load_machine", "parse_machine", "load_host", "run", "validate", "etc_e820"):
        assert name in out, name
    for error in ("ConfigError", "ProfileError", "KvmError", "KvminitError"):
        assert error in out, error


def test_package_and_api_names_are_one_list() -> None:
    from kvminit import api

    assert kvminit.__all__ == [*api.__all__, "__version__"]
    for name in api.__all__:
        assert getattr(kvminit, name) is getattr(api, name)
    for error in ("ConfigError", "ProfileError", "KvmError", "BootError", "QemuArgsError"):
        assert issubclass(getattr(kvminit, error), kvminit.KvminitError)


def test_the_host_note_reaches_the_result() -> None:
    choice = kvminit.load_host("auto", device="/nonexistent/kvm")
    result = kvminit.run(PC, choice)
    assert result.host_note is not None and "using the built-in host profile" in result.host_note
    assert result.to_json()["host"]["note"] == result.host_note


def test_result_blobs() -> None:
    result = kvminit.run(PC, "amd-epyc-linux-6.18")
    assert result.qemu == "10.0"
    assert len(result.etc_e820()) == 20 * len(result.e820)
    with pytest.raises(kvminit.NoLegacyE820):
        result.legacy_e820()  # QEMU 7.2 removed the item, for every machine type
    old_type = kvminit.parse_machine('type = "pc-i440fx-2.6"')
    with pytest.raises(kvminit.NoLegacyE820):
        kvminit.run(old_type, "amd-epyc-linux-6.18", qemu="7.2").legacy_e820()
    old = kvminit.run(old_type, "amd-epyc-linux-6.18", qemu="2.6")
    assert len(old.legacy_e820()) == 324


@pytest.mark.parametrize(
    ("qemu", "failed", "back"),
    [
        ("2.6", "failed to initialize KVM: Invalid argument", "Back to tcg accelerator."),
        ("7.2", "-accel kvm: failed to initialize kvm: Invalid argument", "falling back to tcg"),
        ("10.0", "-accel kvm: failed to initialize kvm: Invalid argument", "falling back to tcg"),
    ],
)
def test_validate_names_the_key_a_fallback_comes_from(
    tmp_path: Path, qemu: str, failed: str, back: str
) -> None:
    m = tmp_path / "m.toml"
    m.write_text('type = "pc"\naccel = ["kvm", "tcg"]\nkvm-shadow-mem = "64K"\n')
    (pair,) = kvminit.validate([str(m)], ["amd-epyc-linux-6.18"], qemu=[qemu])
    assert pair.errors == [] and pair.qemu == qemu
    assert [(w.message, w.key, w.line) for w in pair.warnings] == [
        (failed, "kvm-shadow-mem", 3),
        (back, "accel", 2),
    ]
