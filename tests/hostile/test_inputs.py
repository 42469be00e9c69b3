"""Inputs that hang, lie, or run the tool out of fds; line numbers that must hold."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.config import ConfigError, parse_machine

HOST = "amd-epyc-linux-6.18"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fleet(directory: Path, count: int) -> Path:
    directory.mkdir()
    for i in range(count):
        (directory / f"m{i:05}.toml").write_text(
            f'type = "{"q35" if i % 2 else "pc"}"\nmemory = {256 + i}\nsmp = 2\n'
        )
    return directory


@pytest.mark.kvm
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_few_fds_never_fail_a_machine_file(tmp_path: Path, jobs: str) -> None:
    # ulimit -n 32: the deferred closes must leave room for the next init (each QEMU 10.0
    # init holds /dev/kvm, the VM and its vCPUs), and EMFILE waits for them, not fails.
    files = fleet(tmp_path / "fleet", 2000)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))

    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvminit",
            "validate",
            str(files),
            "--host",
            "real",
            "--jobs",
            jobs,
            "-q",
        ],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert p.stdout.splitlines()[-1].endswith(" 0 failed")


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ('description = """\nsmp = 1\n"""\nsmp = -1\n', "smp", 4),
        ("description = '''\nsmp = 1\n'''\nsmp = -1\n", "smp", 4),
        ('description = """a \\""" b\nsmp = 1\n"""\nsmp = -1\n', "smp", 4),
        ('"sm\\u0070" = -1\n', "smp", 1),
        ('type = "pc"\n\n"smp" = -1\n', "smp", 3),
        ("type = 'pc' # smp = 2\nsmp = -1\n", "smp", 2),
        ('accel = [\n  "kvm",\n]\nsmp = -1\n', "smp", 4),
    ],
)
def test_lines_hold_after_strings_and_escaped_keys(text: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError) as e:
        parse_machine(text, "m.toml")
    problem = e.value.problems[0]
    assert (problem.key, problem.line) == (key, line)


def test_a_fifo_is_never_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = tmp_path / "m.toml"
    os.mkfifo(fifo)
    for argv in (["run", str(fifo)], ["validate", str(fifo)], ["e820", "--decode", str(fifo)]):
        code, out, err = cli(capsys, *argv, *(["--host", HOST] if argv[0] != "e820" else []))
        assert code == 1 and "is a FIFO" in out + err


def test_an_oversized_blob_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blob = tmp_path / "big.bin"
    with open(blob, "wb") as f:
        f.truncate((1 << 20) + 20)
    code, _, err = cli(capsys, "e820", "--decode", str(blob))
    assert code == 1
    assert err == f"kvminit: {blob}: is larger than 1 MiB, more than an e820 blob can be\n"


def test_jobs_are_capped_by_cores_and_files(tmp_path: Path) -> None:
    files = fleet(tmp_path / "fleet", 6)
    p = subprocess.Popen(
        [sys.executable, "-m", "kvminit", "validate", str(files), "--host", HOST, "--jobs", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    # Fork count is not observable afterwards; the cap is the code's: min(jobs, cores, files).
    assert os.cpu_count() is not None
