"""The command line: exit codes, stderr messages, formats and outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from kvminit.cli import main

ROOT = Path(__file__).parents[1]
PC = str(ROOT / "machines" / "pc.toml")
HOST = "amd-epyc-linux-6.18"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return str(p)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("kvminit 0.")


def test_no_command_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys)[0] == 2
    assert cli(capsys, "run")[0] == 2
    assert cli(capsys, "validate", "--format", "yaml", PC)[0] == 2


def test_machine_file_alone_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, PC, "--host", HOST)
    assert code == 0
    assert "host      profile amd-epyc-linux-6.18" in out
    assert "KVM initialised" in out and "38 routes committed" in out


def test_run_json_has_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "run", PC, "--host", HOST, "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {
        "format",
        "qemu",
        "machine",
        "machine_type",
        "host",
        "accel",
        "ok",
        "error",
        "warnings",
        "kvm_state",
        "e820",
        "fw_cfg",
        "routing",
        "trace",
    }
    assert data["format"] == 1
    # No --qemu and a profile that names none: the newest modelled QEMU answers.
    assert (data["qemu"], data["machine_type"]) == ("10.0", "pc-i440fx-10.0")
    assert data["host"] == {"kind": "profile", "name": HOST, "note": None}
    assert data["accel"] == "kvm" and data["ok"] is True and data["error"] is None
    ks = data["kvm_state"]
    for key in (
        "nr_slots",
        "soft_vcpus_limit",
        "hard_vcpus_limit",
        "coalesced_mmio",
        "vcpu_events",
        "gsi_count",
        "used_gsi",
        "xsave",
        "xcrs",
        "pit_state2",
        "used_gsi_bitmap",
        "identity_base",
        "direct_msi",
    ):
        assert key in ks
    assert ks["identity_base"] == 0xFEFFC000 and ks["gsi_count"] == 4095
    assert data["e820"][0] == {"address": 0xFEFFC000, "length": 0x4000, "type": 2}
    assert data["routing"][0] == {"gsi": 0, "type": 1, "flags": 0, "irqchip": 0, "pin": 0}
    assert (
        data["trace"][2] == {"step": "2.1", "call": 'qemu_open("/dev/kvm")', "result": 3}
        or data["trace"][2]["step"] == "2.1"
    )
    assert data["machine"]["memory"] == 1 << 30


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        ("2.6", "failed to initialize KVM: Invalid argument"),
        ("7.2", "-accel kvm: failed to initialize kvm: Invalid argument"),
        ("10.0", "-accel kvm: failed to initialize kvm: Invalid argument"),
    ],
)
def test_run_failure_is_exit_1_with_qemus_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, qemu: str, message: str
) -> None:
    m = write(tmp_path, "m.toml", 'type = "pc"\nkvm-shadow-mem = "64K"\n')
    code, out, err = cli(capsys, "run", m, "--host", HOST, "--format", "json", "--qemu", qemu)
    assert code == 1
    assert err == f"kvminit: {message}\n"
    data = json.loads(out)
    assert data["ok"] is False and data["kvm_state"] is None and data["qemu"] == qemu
    assert data["error"] == {
        "step": "2.10.5",
        "message": message,
        "errno": 22,
        "key": "kvm-shadow-mem",
        "line": 2,
        "hint": None,
    }


@pytest.mark.parametrize(
    ("qemu", "first"),
    [
        ("2.6", "kvminit: Warning: Number of SMP cpus requested (3) exceeds"),
        ("10.0", "kvminit: -accel kvm: warning: Number of SMP cpus requested (3) exceeds"),
    ],
)
def test_warnings_go_to_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, qemu: str, first: str
) -> None:
    m = write(tmp_path, "m.toml", "smp = 3\n")
    code, _, err = cli(capsys, m, "--host", HOST, "--qemu", qemu)
    assert code == 0
    assert err.startswith(first)


def test_warnings_in_json_name_their_key_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    m = write(tmp_path, "m.toml", 'type = "pc"\nsmp = 3\n')
    code, out, _ = cli(capsys, "run", m, "--host", HOST, "--format", "json", "--qemu", "7.2")
    assert code == 0
    assert json.loads(out)["warnings"][0] == {
        "key": "smp",
        "line": 2,
        "message": "-accel kvm: warning: Number of SMP cpus requested (3) exceeds the "
        "recommended cpus supported by KVM (2)",
        "hint": None,
    }


def test_trace_outline(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = cli(capsys, "run", PC, "--host", HOST, "--trace", "--qemu", "2.6")
    assert '\n2 kvm_init()\n  2.1 qemu_open("/dev/kvm") → ' in out
    assert "\n  2.6 kvm_ioctl(KVM_CREATE_VM) → " in out
    assert "\n      2.12.3.1 kvm_check_extension(KVM_CAP_IRQ_ROUTING) → 4096\n" in out
    # 10.0 creates the VM before it reads the vCPU limits, and asks the VM fd for them.
    _, out, _ = cli(capsys, "run", PC, "--host", HOST, "--trace", "--qemu", "10.0")
    order = [
        "\n  2.6 kvm_ioctl(KVM_CREATE_VM) → ",
        "\n  2.6a kvm_vm_check_extension(KVM_CAP_MULTI_ADDRESS_SPACE) → 0\n",
        "\n  2.4 kvm_vm_check_extension(KVM_CAP_NR_VCPUS) → 2\n",
        "\n  2.5 kvm_check_extension(KVM_CAP_MAX_VCPUS) → 1024\n",
        "\n  2.7 kvm_check_extension(KVM_CAP_SET_IDENTITY_MAP_ADDR) → 1\n",
    ]
    assert all(line in out for line in order)
    assert [out.index(line) for line in order] == sorted(out.index(line) for line in order)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'type = "pc"\nkernal-irqchip = "on"\n',
            "m.toml:2: kernal-irqchip: unknown key (did you mean 'kernel-irqchip'?)",
        ),
        ('smp = "four"\n', "m.toml:1: smp: must be an integer"),
        ("smp = 4\nmaxcpus = -2\n", "m.toml:2: maxcpus: must not be negative (got -2)"),
        ('type = "pc"\nsmp = = 2\n', "m.toml:2: TOML syntax error"),
    ],
)
def test_bad_files_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    m = write(tmp_path, "m.toml", text)
    code, out, err = cli(capsys, "run", m, "--host", HOST)
    assert code == 1 and out == ""
    assert err.startswith("kvminit: " + str(tmp_path / message))


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        ("2.6", "maxcpus must be equal to or greater than smp"),
        (
            "10.0",
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
            "sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) "
            "== maxcpus (2) < smp_cpus (4)",
        ),
    ],
)
def test_engine_refusal_exits_1_and_validate_locates_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, qemu: str, message: str
) -> None:
    # maxcpus < smp is QEMU's check, in each version's words (no longer the description's).
    m = write(tmp_path, "m.toml", "smp = 4\nmaxcpus = 2\n")
    code, out, err = cli(capsys, "run", m, "--host", HOST, "--qemu", qemu)
    assert code == 1 and "result    FAILED at step 1" in out
    assert err == f"kvminit: {message}\n"
    code, out, _ = cli(capsys, "validate", m, "--host", HOST, "--qemu", qemu)
    assert code == 1
    assert out.splitlines()[0] == f"{m}:2: maxcpus: {message} [{HOST}, QEMU {qemu}]"


def test_bad_host(capsys: pytest.CaptureFixture[str]) -> None:
    # A --host that names nothing is a usage error; a profile file that is wrong is input.
    code, _, err = cli(capsys, "run", PC, "--host", "nonesuch")
    assert code == 2 and "kvminit: --host nonesuch: not a profile file, nor a built-in" in err
    code, _, err = cli(capsys, "run", PC, "--host", PC)
    assert code == 1 and f"kvminit: {PC}: format: Field required" in err


# --- validate ------------------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    write(tmp_path, "ok/a.toml", 'type = "pc"\nmemory = "1G"\n')
    write(tmp_path, "ok/nested/b.toml", 'type = "q35"\nsmp = 3\n')
    write(tmp_path, "bad/c.toml", 'type = "pc"\nsmp = 2\nkvm-shadow-mem = "64K"\n')
    write(tmp_path, "bad/d.toml", 'type = "pc"\nsmpp = 2\n')
    write(tmp_path, "notes.txt", "not a machine")
    return tmp_path


def test_validate_shipped_machines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "validate", str(ROOT / "machines"), "--host", HOST)
    assert code == 0 and out.rstrip().endswith("0 failed")


def test_validate_text(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    code, out, _ = cli(
        capsys, "validate", str(fleet), "--host", HOST, "--host", "old-kernel", "--qemu", "2.6"
    )
    lines = out.splitlines()
    assert code == 1
    assert lines[-1] == "4 files × 2 hosts × 1 QEMU version: 3 passed, 1 with warnings, 4 failed"
    # Every finding on its own line, linter style, key named.
    assert (
        f"{fleet}/bad/c.toml:3: kvm-shadow-mem: failed to initialize KVM: Invalid argument "
        "[amd-epyc-linux-6.18, QEMU 2.6]" in lines
    )
    assert (
        f"{fleet}/bad/d.toml:2: smpp: unknown key (did you mean 'smp'?) (got 2) "
        "[old-kernel, QEMU 2.6]" in lines
    )
    assert (
        f"{fleet}/ok/nested/b.toml:2: smp: Warning: Number of SMP cpus requested (3) exceeds "
        "the recommended cpus supported by KVM (2) [amd-epyc-linux-6.18, QEMU 2.6]" in lines
    )
    # Files that pass say nothing; -q drops the warnings.
    assert not any("ok/a.toml" in line for line in lines)
    _, quiet, _ = cli(capsys, "validate", "-q", str(fleet), "--host", HOST, "--qemu", "2.6")
    assert "ok/nested/b.toml" not in quiet and f"{fleet}/bad/c.toml:3" in quiet


def test_validate_every_version(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    # Every (file, host, version) triple; the old kernel lacks what 10.0 requires.
    ok = str(fleet / "ok" / "a.toml")
    args = ["validate", ok, "--host", HOST, "--host", "old-kernel"]
    code, out, _ = cli(capsys, *args, "--qemu", "2.6", "--qemu", "7.2", "--qemu", "10.0")
    assert code == 1
    results = [
        (r["host"], r["qemu"], r["ok"])
        for r in json.loads(
            cli(
                capsys,
                *args,
                "--qemu",
                "2.6",
                "--qemu",
                "7.2",
                "--qemu",
                "10.0",
                "--format",
                "json",
            )[1]
        )["results"]
    ]
    assert sorted(results) == [
        (HOST, "10.0", True),
        (HOST, "2.6", True),
        (HOST, "7.2", True),
        ("old-kernel", "10.0", False),
        ("old-kernel", "2.6", True),
        ("old-kernel", "7.2", True),
    ]
    assert out.splitlines()[0].startswith(
        f"{ok}: -accel kvm: kvm does not support KVM_CAP_INTERNAL_ERROR_DATA"
    )
    assert out.splitlines()[0].endswith("[old-kernel, QEMU 10.0]")


def test_validate_strict(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    ok = str(fleet / "ok")
    assert cli(capsys, "validate", ok, "--host", HOST)[0] == 0
    code, out, _ = cli(capsys, "validate", ok, "--host", HOST, "--strict")
    assert code == 1 and "1 failed" in out


def test_validate_json(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    code, out, _ = cli(capsys, "validate", str(fleet), "--host", HOST, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["summary"] == {
        "files": 4,
        "hosts": 1,
        "qemu": 1,
        "pairs": 4,
        "passed": 1,
        "warnings": 1,
        "failed": 2,
    }
    c = next(r for r in data["results"] if r["path"].endswith("c.toml"))
    assert c["ok"] is False and c["host"] == HOST and c["qemu"] == "10.0"
    assert c["errors"] == [
        {
            "key": "kvm-shadow-mem",
            "line": 3,
            "message": "-accel kvm: failed to initialize kvm: Invalid argument",
            "hint": None,
        }
    ]


def test_validate_junit(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    _, out, _ = cli(
        capsys,
        "validate",
        str(fleet),
        "--host",
        HOST,
        "--host",
        "old-kernel",
        "--qemu",
        "2.6",
        "--format",
        "junit",
    )
    suite = ET.fromstring(out.split("\n", 1)[1])
    cases = suite.findall("testcase")
    assert suite.get("tests") == "8" and len(cases) == 8
    assert suite.get("failures") == "4" and len(suite.findall("testcase/failure")) == 4


def test_validate_github(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    _, out, _ = cli(capsys, "validate", str(fleet / "bad"), "--host", HOST, "--format", "github")
    assert (
        f"::error file={fleet}/bad/c.toml,line=3,title=kvm-shadow-mem [amd-epyc-linux-6.18%2C "
        "QEMU 10.0]::-accel kvm: failed to initialize kvm: Invalid argument"
    ) in out.splitlines()


def test_validate_host_directory(capsys: pytest.CaptureFixture[str]) -> None:
    hosts = ROOT / "kvminit" / "hosts"
    code, out, _ = cli(capsys, "validate", PC, "--host", str(hosts), "--qemu", "2.6")
    assert (
        code == 0
        and out.splitlines()[-1]
        == "1 file × 4 hosts × 1 QEMU version: 4 passed, 0 with warnings, 0 failed"
    )
    # 10.0 requires KVM_CAP_IRQ_ROUTING and KVM_CAP_INTERNAL_ERROR_DATA.
    code, out, _ = cli(capsys, "validate", PC, "--host", str(hosts), "--qemu", "10.0")
    assert (
        code == 1
        and out.splitlines()[-1]
        == "1 file × 4 hosts × 1 QEMU version: 2 passed, 0 with warnings, 2 failed"
    )
    failed = sorted(
        line.rsplit(" [", 1)[1].split(",")[0] for line in out.splitlines() if "[" in line
    )
    assert [Path(f).name for f in failed] == ["no-irq-routing.toml", "old-kernel.toml"]


def test_validate_nothing_to_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "validate", str(tmp_path), "--host", HOST)
    assert code == 1 and "no *.toml machine files" in err


def test_validate_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "validate", str(tmp_path / "x.toml"), "--host", HOST)
    assert code == 1 and "no such file" in out


# --- e820, routes -----------------------------------------------------------------------


@pytest.mark.parametrize(("qemu", "type_"), [("7.2", "pc-i440fx-7.2"), ("10.0", "pc-i440fx-10.0")])
def test_e820_table(capsys: pytest.CaptureFixture[str], qemu: str, type_: str) -> None:
    code, out, _ = cli(capsys, "e820", PC, "--host", HOST, "--qemu", qemu)
    assert code == 0
    # KVM's identity map, then (AMD host vendor, a 7.1+ type) the HyperTransport hole, then RAM.
    assert out.splitlines() == [
        f"# {type_}, QEMU {qemu}, kvm, profile host amd-epyc-linux-6.18",
        "[mem 0x00000000feffc000-0x00000000feffffff] reserved",
        "[mem 0x000000fd00000000-0x000000ffffffffff] reserved",
        "[mem 0x0000000000000000-0x000000003fffffff] usable",
    ]


def test_e820_table_2_6(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "e820", PC, "--host", HOST, "--qemu", "2.6")
    assert code == 0
    assert out.splitlines() == [
        "# pc-i440fx-2.6, QEMU 2.6, kvm, profile host amd-epyc-linux-6.18",
        "[mem 0x00000000feffc000-0x00000000feffffff] reserved",
        "[mem 0x0000000000000000-0x000000003fffffff] usable",
    ]


def test_e820_blob_to_file_and_back(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "e820.bin"
    assert cli(capsys, "e820", PC, "--host", HOST, "--format", "blob", "-o", str(out))[0] == 0
    assert out.stat().st_size == 60
    assert [p.name for p in tmp_path.iterdir()] == ["e820.bin"]  # no temporary left
    code, text, _ = cli(capsys, "e820", "--decode", str(out), "--format", "json")
    document = json.loads(text)
    assert code == 0 and document["format"] == 1 and document["kind"] == "etc/e820"
    assert document["e820"][2] == {"address": 0, "length": 1 << 30, "type": 1}


def test_e820_legacy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = write(tmp_path, "old.toml", 'type = "pc-i440fx-2.6"\n')
    out = tmp_path / "legacy.bin"
    args = ["e820", m, "--host", HOST, "--format", "legacy", "-o", str(out)]
    assert cli(capsys, *args, "--qemu", "2.6")[0] == 0
    assert out.stat().st_size == 324
    code, text, _ = cli(capsys, "e820", "--decode", str(out))
    # Reservations only (2.6 has no HyperTransport hole): KVM's identity map.
    assert code == 0 and text.startswith("# legacy, 1 entries\n")
    # QEMU 7.2 removed the item for every machine type, old ones included.
    for qemu in ("7.2", "10.0"):
        code, _, err = cli(capsys, *args, "--qemu", qemu)
        assert code == 1
        assert f"QEMU {qemu} has no FW_CFG_E820_TABLE item (0x8003; QEMU 7.2 removed it)" in err
    assert out.stat().st_size == 324  # untouched


def test_e820_failure_leaves_no_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = write(tmp_path, "m.toml", 'kvm-shadow-mem = "64K"\n')
    out = tmp_path / "e820.bin"
    assert cli(capsys, "e820", m, "--host", HOST, "--format", "blob", "-o", str(out))[0] == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("missing-dir/e820.bin", "cannot create a file"),
        ("/dev/full", "No space left on device"),
        (".", "is a directory"),
    ],
)
def test_e820_output_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, fragment: str
) -> None:
    path = target if target.startswith("/") else str(tmp_path / target)
    code, _, err = cli(capsys, "e820", PC, "--host", HOST, "--format", "blob", "-o", path)
    assert code == 1 and fragment in err
    assert [p.name for p in tmp_path.iterdir()] == []


def test_decode_bad_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(bytes(7))
    code, _, err = cli(capsys, "e820", "--decode", str(p))
    assert code == 1 and "7 bytes is neither an etc/e820 file" in err


def test_routes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "routes", PC, "--host", HOST)
    lines = out.splitlines()
    assert code == 0 and lines[-1] == "38 routes"
    assert lines[0] == "# pc-i440fx-10.0, QEMU 10.0, kvm, profile host amd-epyc-linux-6.18"
    assert lines[2] == "   0  irqchip  PIC master pin 0"
    code, out, _ = cli(capsys, "routes", PC, "--host", HOST, "--format", "json")
    document = json.loads(out)
    assert document["format"] == 1 and document["machine_type"] == "pc-i440fx-10.0"
    assert len(document["routing"]) == 38


def test_hosts_and_machines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "hosts")
    assert code == 0 and "amd-epyc-linux-6.18" in out and "(default)" in out
    # The header, the aliases pc, q35 and isapc, then each version's versioned types
    # (research/machines/catalogue.md: 2.6 has the pc-0.x/pc-1.x names too).
    for qemu, count in (
        ("2.6", 1 + 3 + 10 + 11 + 3),
        ("7.2", 1 + 3 + 31 + 24),
        ("10.0", 1 + 3 + 30 + 31),
    ):
        code, out, _ = cli(capsys, "machines", "--qemu", qemu)
        assert code == 0 and len(out.splitlines()) == count, qemu
    assert "pc-q35-2.8" in out and "pc-i440fx-2.3 " not in out
    assert cli(capsys, "machines")[1] == out  # 10.0 by default


def test_auto_falls_back_with_a_note(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kvminit import api

    real_load = api.load_host
    monkeypatch.setattr(
        api, "load_host", lambda spec="auto", device="": real_load(spec, device="/nonexistent/kvm")
    )
    code, out, err = cli(capsys, PC)
    assert code == 0
    assert err.startswith("kvminit: /nonexistent/kvm: No such file or directory (no KVM on this")
    assert "using the built-in host profile amd-epyc-linux-6.18" in err
    assert "host      profile amd-epyc-linux-6.18" in out


# --- schema --------------------------------------------------------------------------


def test_schema_is_fresh(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert cli(capsys, "schema", "--check")[0] == 0


def test_schema_check_sees_stale_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(capsys, "schema", str(tmp_path))[0] == 0
    assert cli(capsys, "schema", "--check", str(tmp_path))[0] == 0
    (tmp_path / "machine.schema.json").write_text("{}")
    code, _, err = cli(capsys, "schema", "--check", str(tmp_path))
    assert code == 1 and "stale schema files" in err


def test_shipped_files_validate_against_their_schema() -> None:
    schema = json.loads((ROOT / "schemas/machine.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert schema["properties"]["memory"]["default"] == "128M"
    host_schema = json.loads((ROOT / "schemas/host.schema.json").read_text())
    assert "caps" in host_schema["properties"]


def test_python_m_and_console_script() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "kvminit", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("kvminit ")


def test_broken_pipe_is_quiet() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        f"{sys.executable} -m kvminit machines | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "Traceback" not in proc.stderr and proc.stdout.startswith("type")


# --- at scale ------------------------------------------------------------------------


def _fleet_json(
    capsys: pytest.CaptureFixture[str], fleet: Path, *extra: str
) -> list[dict[str, object]]:
    args = ["validate", str(fleet), "--host", HOST, "--host", "old-kernel", "--format", "json"]
    code, out, _ = cli(capsys, *args, *extra)
    assert code in (0, 1)
    results: list[dict[str, object]] = json.loads(out)["results"]
    return results


def test_jobs_give_the_same_results_in_the_same_order(
    capsys: pytest.CaptureFixture[str], fleet: Path
) -> None:
    assert _fleet_json(capsys, fleet, "--jobs", "3") == _fleet_json(capsys, fleet)


def test_shards_partition_the_pairs(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    whole = _fleet_json(capsys, fleet)
    shards = [_fleet_json(capsys, fleet, "--shard", f"{i}/3") for i in (1, 2, 3)]
    merged = [r for s in shards for r in s]
    key = lambda r: (r["path"], r["host"])  # noqa: E731
    assert sorted(merged, key=key) == sorted(whole, key=key)
    assert _fleet_json(capsys, fleet, "--shard", "2/3") == shards[1]  # stable


@pytest.mark.parametrize(
    "args", [["--shard", "0/2"], ["--shard", "3/2"], ["--shard", "x"], ["--jobs", "0"]]
)
def test_bad_batch_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], fleet: Path, args: list[str]
) -> None:
    code, _, err = cli(capsys, "validate", str(fleet), "--host", HOST, *args)
    assert code == 2 and err.strip().splitlines()[-1].startswith("kvminit: --")


def test_validate_report_to_a_file(
    capsys: pytest.CaptureFixture[str], fleet: Path, tmp_path: Path
) -> None:
    report = tmp_path / "out" / "junit.xml"
    report.parent.mkdir()
    code, out, _ = cli(
        capsys,
        "validate",
        str(fleet / "ok"),
        "--host",
        HOST,
        "--format",
        "junit",
        "-o",
        str(report),
    )
    assert code == 0 and out == ""
    assert ET.parse(report).getroot().get("tests") == "2"


def test_pre_commit_hook_is_declared() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: kvminit-validate" in text and "entry: kvminit validate" in text


def test_binary_to_a_terminal_is_refused() -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kvminit", "e820", PC, "--host", HOST, "--format", "blob"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 1
    assert "refusing to write binary blob data to a terminal; use -o FILE or a pipe" in proc.stderr
