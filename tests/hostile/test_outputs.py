"""Outputs under hostile values and targets: no injection, no hang, no traceback."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.config import parse_machine
from kvminit.fromqemu import from_qemu

HOST = "amd-epyc-linux-6.18"
ROOT = Path(__file__).parents[2]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_from_qemu_text_cannot_break_out_of_a_comment(tmp_path: Path) -> None:
    # An unmodelled option's value with newlines must stay inside its comment line.
    converted = from_qemu(["-machine", "pc", "-name", 'web\nsmp = 64\ncpu = "host"'])
    text = converted.toml()
    machine = parse_machine(text)
    assert machine.smp is None and machine.cpu is None
    assert all(line.startswith("#") or " = " in line for line in text.splitlines())
    out = tmp_path / "m.toml"
    assert main(["from-qemu", "-o", str(out), "--", "-machine", "pc", "-name", "a\nsmp = 64"]) == 0
    assert parse_machine(out.read_text()).smp is None


def test_run_summary_shows_a_hostile_name_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    m = tmp_path / "m.toml"
    m.write_text('name = "\\u001b]0;PWNED\\u0007"\ntype = "pc"\n')
    code, out, _ = cli(capsys, "run", str(m), "--host", HOST)
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "\\e]0;PWNED" in out


def test_output_to_a_fifo_without_reader_does_not_hang(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            main(["e820", str(ROOT / "machines/pc.toml"), "--host", HOST, "-o", str(fifo)])
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "writing to a FIFO nobody reads blocked"
    assert result == [1]
    assert "a FIFO with no reader" in capsys.readouterr().err


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert main(["e820", str(ROOT / "machines/pc.toml"), "--host", HOST, "-o", str(link)]) == 0
    assert link.is_symlink() and "reserved" in real.read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "machines/pc.toml", "--host", HOST],
        ["routes", "machines/pc.toml", "--host", HOST],
        ["qemu-args", "machines/pc.toml"],
        ["hosts"],
        ["machines"],
        ["cpus"],
        ["validate", "machines/", "--host", HOST],
    ],
)
def test_stdout_full_or_closed_is_an_error_not_a_traceback(argv: list[str]) -> None:
    base = [sys.executable, "-m", "kvminit", *argv]
    with open("/dev/full", "w") as full:
        p = subprocess.run(base, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 1 and b"Traceback" not in p.stderr
    assert b"No space left on device" in p.stderr
    closed = subprocess.run(
        base,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 1 and b"Traceback" not in closed.stderr


def test_decode_prints_what_qemu_never_writes_honestly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blob = tmp_path / "odd.bin"
    blob.write_bytes(
        struct.pack("<QQI", 0x1000, 0, 1) + struct.pack("<QQI", 0xFFFF_FFFF_FFFF_0000, 1 << 20, 2)
    )
    code, out, _ = cli(capsys, "e820", "--decode", str(blob))
    assert code == 0
    assert out.splitlines()[1:] == [
        "[mem 0x0000000000001000 empty] usable",
        "[mem 0xffffffffffff0000-0xffffffffffffffff] reserved (length 0x100000 runs past 2^64)",
    ]


def test_boot_timeouts_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("nan", "inf", "-1", "0", "1e20"):
        code, _, err = cli(capsys, "boot", str(ROOT / "machines/pc.toml"), "--timeout", bad)
        assert code == 2 and "--timeout takes seconds" in err


def test_a_huge_number_is_a_toml_error_at_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    m = tmp_path / "m.toml"
    m.write_text('type = "pc"\nmemory = ' + "9" * 4301 + "\n")
    code, _, err = cli(capsys, "run", str(m), "--host", HOST)
    assert code == 1 and f"{m}:2: TOML syntax error: a number with thousands of digits" in err
    m.write_text('memory = "' + "9" * 4301 + 'G"\n')
    code, _, err = cli(capsys, "run", str(m), "--host", HOST)
    assert code == 1 and "Traceback" not in err and "set_int_max_str_digits" not in err


def test_sizes_take_ascii_digits_only(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = tmp_path / "m.toml"
    m.write_text('memory = "\u0664G"\n')
    code, _, err = cli(capsys, "run", str(m), "--host", HOST)
    assert code == 1 and "memory: is not a size" in err
