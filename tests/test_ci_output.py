"""What a CI user relies on: every finding at its key, reports that parse, sane walking,
progress only on a terminal, usage errors as 2, JSON with its format everywhere."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from kvminit.batch import machine_files
from kvminit.cli import build_parser, main
from kvminit.common.text import printable
from kvminit.report.progress import Progress

HOST = "amd-epyc-linux-6.18"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


# --- 1. every finding, at its key ----------------------------------------------------------


def test_validate_prints_every_finding_at_its_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = write(
        tmp_path,
        "bad.toml",
        'type = "pc"\nkernel-irqchip = "maybe"\nsmp = "two"\nmemroy = "1G"\n',
    )
    code, out, _ = cli(capsys, "validate", bad, "--host", HOST)
    lines = out.splitlines()
    assert code == 1
    assert sorted(lines[:3]) == [
        f'{bad}:2: kernel-irqchip: must be "on", "off" or "split" (true/false also accepted) '
        f'(got "maybe") [{HOST}, QEMU 10.0]',
        f'{bad}:3: smp: must be an integer (got "two") [{HOST}, QEMU 10.0]',
        f"{bad}:4: memroy: unknown key (did you mean 'memory'?) (got \"1G\") [{HOST}, QEMU 10.0]",
    ]


def test_validate_shows_every_warning_of_the_readme_example(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # kvm then tcg on a host where KVM refuses the shadow size: the failure, the fall-back
    # and the warnings are all findings, each at its key.
    m = write(
        tmp_path,
        "m.toml",
        'type = "q35"\nsmp = 4\nkvm-shadow-mem = "64K"\naccel = ["kvm", "tcg"]\n',
    )
    code, out, _ = cli(capsys, "validate", m, "--host", HOST, "--format", "json")
    warnings = json.loads(out)["results"][0]["warnings"]
    _, text, _ = cli(capsys, "validate", m, "--host", HOST)
    assert code == 0 and len(warnings) >= 2
    assert len(text.splitlines()) == len(warnings) + 1  # one line each, then the summary
    assert any(
        "kvm-shadow-mem: warning: -accel kvm: failed to initialize" in x for x in text.split("\n")
    )


def test_quiet_prints_only_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    warn = write(tmp_path, "w.toml", 'type = "q35"\nsmp = 4\n')
    bad = write(tmp_path, "b.toml", "smp = -1\n")
    _, out, _ = cli(capsys, "validate", "-q", warn, bad, "--host", HOST)
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == [bad]


# --- 2. reports that parse, text that cannot drive a terminal -------------------------------


HOSTILE = 'memory = "1G\\u0001\\u001b[31m"\ntype = "\\u001b]0;PWNED\\u0007"\n'


def test_junit_survives_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path, "vms/prod/evil.toml", HOSTILE)
    write(tmp_path, "vms/prod/good.toml", 'type = "pc"\n')
    code, out, _ = cli(
        capsys, "validate", str(tmp_path / "vms"), "--host", HOST, "--format", "junit"
    )
    suite = ET.fromstring(out.split("\n", 1)[1])
    assert code == 1
    assert suite.get("timestamp") and float(suite.get("time", "x")) >= 0
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {f"evil.toml [{HOST}, QEMU 10.0]", f"good.toml [{HOST}, QEMU 10.0]"}
    evil = cases[f"evil.toml [{HOST}, QEMU 10.0]"]
    # Jenkins reads the classname as package.class: the directory, dotted.
    assert evil.get("classname", "").endswith("vms.prod")
    assert evil.get("time") is not None
    failure = evil.find("failure")
    assert failure is not None and "\\u001b[31m" in (failure.text or "")
    assert "\x1b" not in out and "\x01" not in out


def test_text_and_github_escape_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    evil = write(tmp_path, "evil.toml", HOSTILE)
    for fmt in ("text", "github", "json"):
        _, out, err = cli(capsys, "validate", evil, "--host", HOST, "--format", fmt)
        assert "\x1b" not in out + err and "\x07" not in out + err
    _, out, err = cli(capsys, "run", evil, "--host", HOST)
    assert "\x1b" not in out + err and "\\u001b" in err


def test_a_file_name_cannot_forge_a_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = write(tmp_path, "x\nPASS  fake.toml", "smp = -1\n")
    _, out, _ = cli(capsys, "validate", name, "--host", HOST)
    assert not any(line.startswith("PASS") for line in out.splitlines())
    assert "x\\nPASS  fake.toml" in out


def test_undecodable_file_names_are_shown_losslessly(tmp_path: Path) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.toml"
    with open(raw, "w") as f:
        f.write("smp = -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "kvminit", "validate", str(tmp_path), "--host", HOST],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 1
    assert b"caf\\xe9.toml" in result.stdout


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("\x1b[31m", "\\e[31m"),
        ("\x00\x7f\x85", "\\x00\\x7f\\x85"),
        ("\u2028", "\\u2028"),
        ("caf\udce9", "caf\\xe9"),
        ("ok ünïcödé", "ok ünïcödé"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


# --- 3. walking ----------------------------------------------------------------------------


def test_walk_skips_hidden_venvs_and_excluded(tmp_path: Path) -> None:
    for name in (
        "a.toml",
        "sub/b.toml",
        ".hidden/c.toml",
        ".venv/d.toml",
        "env/pyvenv.cfg",
        "env/e.toml",
        "build/f.toml",
        "__pycache__/g.toml",
        "node_modules/h.toml",
        "notes.txt",
    ):
        write(tmp_path, name, 'type = "pc"\n')
    files, problems = machine_files([str(tmp_path)])
    assert [os.path.relpath(f, tmp_path) for f in files] == ["a.toml", "build/f.toml", "sub/b.toml"]
    assert problems == []
    files, _ = machine_files([str(tmp_path)], exclude=["build", "sub/*.toml"])
    assert [os.path.relpath(f, tmp_path) for f in files] == ["a.toml"]


def test_walk_honours_gitignore(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", "generated/\n*.local.toml\n")
    for name in ("keep.toml", "generated/x.toml", "y.local.toml"):
        write(tmp_path, name, 'type = "pc"\n')
    files, _ = machine_files([str(tmp_path)])
    assert [os.path.relpath(f, tmp_path) for f in files] == ["keep.toml"]


def test_paths_given_twice_are_checked_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    m = write(tmp_path, "m.toml", 'type = "pc"\n')
    _, out, _ = cli(capsys, "validate", m, m, str(tmp_path), str(tmp_path) + "/", "--host", HOST)
    assert out.splitlines()[-1].startswith("1 file × 1 host")


def test_links_that_lead_nowhere_are_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    os.symlink(tmp_path / "missing.toml", tmp_path / "dangling.toml")
    os.symlink(tmp_path / "loop-b.toml", tmp_path / "loop-a.toml")
    os.symlink(tmp_path / "loop-a.toml", tmp_path / "loop-b.toml")
    code, out, _ = cli(capsys, "validate", str(tmp_path), "--host", HOST)
    assert code == 1
    assert "dangling.toml: " in out and "loop-a.toml: " in out and "loop-b.toml: " in out


def test_an_unreadable_directory_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "ok.toml", 'type = "pc"\n')
    write(tmp_path, "secret/zero.toml", "smp = 0\n")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        # Root reads any directory: refuse this one as the kernel refuses other users.
        if os.path.basename(str(path)) == "secret":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, _ = cli(capsys, "validate", str(tmp_path), "--host", HOST)
    assert code == 1
    assert f"{tmp_path}/secret: cannot read directory: Permission denied" in out


def test_a_deep_tree_is_walked_without_recursion(tmp_path: Path) -> None:
    deep = str(tmp_path)
    for _ in range(1500):  # one level at a time: pathlib's and os's makedirs recurse
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    with open(os.path.join(deep, "m.toml"), "w") as f:
        f.write('type = "pc"\n')
    try:
        files, problems = machine_files([str(tmp_path)])
        assert len(files) == 1 and problems == []
    finally:
        # shutil.rmtree (and so pytest's clean-up) recurses too: take it down level by level.
        os.unlink(os.path.join(deep, "m.toml"))
        while deep != str(tmp_path):
            os.rmdir(deep)
            deep = os.path.dirname(deep)


# --- 4. progress ---------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    tty = Terminal()
    p = Progress.on_terminal(tty)
    p(5, 10)
    p(10, 10)
    p.finish()
    assert "checked 10/10" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    pipe = io.StringIO()
    q = Progress.on_terminal(pipe)
    q(10, 10)
    q.finish()
    assert pipe.getvalue() == ""
    quiet = Terminal()
    r = Progress.on_terminal(quiet, enabled=False)
    r(10, 10)
    assert quiet.getvalue() == ""


# --- 5. usage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["valdate", "machines/"], "unknown command 'valdate' (did you mean 'validate'?)"),
        (["from-qemu", "-machine", "q35"], "from-qemu reads QEMU's options after `--`"),
        (["run", "machines/pc.toml", "--host", "nosuch"], "--host nosuch: not a profile file"),
        (["run", "machines/pc.toml", "--qemu", "seven"], "--qemu: QEMU version 'seven'"),
        (["validate", "machines/", "--qemu", "1.x"], "--qemu: QEMU version '1.x'"),
        (["boot", "machines/pc.toml", "--timeout", "nan"], "--timeout takes seconds"),
        (["boot", "machines/pc.toml", "--timeout", "inf"], "--timeout takes seconds"),
        (["e820", "--decode", "x", "machines/pc.toml"], "give either MACHINE.toml"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = cli(capsys, *argv)
    assert code == 2 and message in err


def test_every_option_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert p.description, name
        for action in p._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}"


# --- 6. JSON ------------------------------------------------------------------------------


def test_run_json_on_an_invalid_description(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    m = write(tmp_path, "m.toml", "smp = -1\n")
    code, out, _ = cli(capsys, "run", m, "--host", HOST, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert document["format"] == 1 and document["ok"] is False
    assert document["error"]["key"] == "smp" and document["error"]["line"] == 1
    assert document["error"]["path"] == m
    assert document["e820"] is None and document["kvm_state"] is None


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["hosts"], "hosts"),
        (["machines", "--qemu", "7.2"], "machines"),
        (["cpus"], "cpus"),
        (["e820", "machines/pc.toml", "--host", HOST], "e820"),
        (["routes", "machines/pc.toml", "--host", HOST], "routing"),
        (["run", "machines/pc.toml", "--host", HOST], "e820"),
        (["validate", "machines/pc.toml", "--host", HOST], "results"),
    ],
)
def test_every_json_document_has_its_format(
    capsys: pytest.CaptureFixture[str], argv: list[str], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).parents[1])
    code, out, _ = cli(capsys, *argv, "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["format"] == 1 and key in document


def test_machines_json_lists_the_versions_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = cli(capsys, "machines", "--qemu", "2.6", "--format", "json")
    document = json.loads(out)
    assert document["qemu"] == "2.6"
    assert document["machines"][0] == {
        "type": "pc",
        "class": "pc-i440fx-2.6",
        "kind": "i440FX + PIIX",
        "max_cpus": 255,
        "gigabyte_align": True,
        "enforce_amd_1tb_hole": False,
        "deprecated": None,
    }


# --- 8. the e820 picture -----------------------------------------------------------------


def test_e820_svg(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[1])
    code, out, _ = cli(capsys, "e820", "machines/q35.toml", "--host", HOST, "--format", "svg")
    svg = ET.fromstring(out)
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert code == 0 and "pc-q35-10.0, QEMU 10.0" in texts and "0xfeffc000" in texts


# --- which *.toml files are machine files ---------------------------------------------------


def test_a_walk_skips_toml_that_is_plainly_something_else(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndescription = "y"\n')
    write(tmp_path, "hosts/h.toml", 'format = 1\nname = "h"\n[caps]\nKVM_CAP_NR_VCPUS = 2\n')
    write(tmp_path, "other.toml", "#:schema ./schemas/host.schema.json\nformat = 1\n")
    typo = write(tmp_path, "typo.toml", 'type = "pc"\nsmpp = 2\n[extra]\nx = 1\n')
    ok = write(tmp_path, "ok.toml", 'type = "pc"\n')
    code, out, _ = cli(capsys, "validate", str(tmp_path), "--host", HOST)
    assert code == 1
    assert {line.split(":")[0] for line in out.splitlines()[:-1]} == {typo}
    assert out.splitlines()[-1].startswith("2 files × 1 host")
    # Named files are checked whatever they are, unless asked (pre-commit passes every *.toml).
    pyproject = str(tmp_path / "pyproject.toml")
    assert cli(capsys, "validate", pyproject, ok, "--host", HOST)[0] == 1
    code, out, _ = cli(capsys, "validate", "--only-machine-files", pyproject, ok, "--host", HOST)
    assert code == 0 and out.splitlines()[-1].startswith("1 file × 1 host")


# --- 7. generated files and the schema ------------------------------------------------------


def test_schema_line_is_relative_to_the_file_written(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "machine.schema.json").write_text("{}")
    deep = tmp_path / "vms" / "prod"
    deep.mkdir(parents=True)
    assert main(["from-qemu", "-o", str(deep / "m.toml"), "--", "-machine", "q35"]) == 0
    assert (deep / "m.toml").read_text().splitlines()[0] == (
        "#:schema ../../schemas/machine.schema.json"
    )
    # No schemas/ anywhere above: no #:schema line an editor would fail to load.
    elsewhere = Path("/tmp") / f"kvminit-schema-test-{os.getpid()}"
    elsewhere.mkdir(exist_ok=True)
    try:
        assert main(["from-qemu", "-o", str(elsewhere / "m.toml"), "--", "-machine", "q35"]) == 0
        assert not (elsewhere / "m.toml").read_text().startswith("#:schema")
    finally:
        (elsewhere / "m.toml").unlink()
        elsewhere.rmdir()


def test_the_schema_says_what_kvminit_refuses() -> None:
    import re

    schema = json.loads((Path(__file__).parents[1] / "schemas/machine.schema.json").read_text())
    props = schema["properties"]

    def accepts(key: str, value: str) -> bool:
        strings = [s for s in props[key]["anyOf"] if s.get("type") == "string"]
        return any(re.match(s["pattern"], value) for s in strings)

    assert not accepts("memory", "0G") and accepts("memory", "512M")
    assert not accepts("max-ram-below-4g", "5G") and accepts("max-ram-below-4g", "4G")
    assert accepts("max-ram-below-4g", "0") and not accepts("max-ram-below-4g", "4097M")
