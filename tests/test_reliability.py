"""Permissions, interrupts and fd limits, in real subprocesses."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .signals import default_signals

ROOT = Path(__file__).parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child that drops to nobody once its modules are loaded."""
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "unprivileged.py"), *args],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=120,
    )


def _why_not_unprivileged() -> str | None:
    if os.geteuid() != 0:
        return "needs root to drop to an unprivileged user"
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this machine"
    if os.stat("/dev/kvm").st_mode & 0o006 == 0o006:
        return "/dev/kvm is open to everyone here"
    probe = as_nobody("--version")
    if probe.returncode != 0:
        return f"cannot run kvminit as nobody here: {probe.stderr.strip()[-200:]}"
    return None


_WHY = _why_not_unprivileged()
unprivileged = pytest.mark.skipif(_WHY is not None, reason=str(_WHY))


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory nobody can reach (pytest's own tmp root is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="kvminit-unpriv-", dir="/tmp"))
    path.chmod(0o777)
    machine = path / "pc.toml"
    machine.write_text((ROOT / "machines/pc.toml").read_text())
    machine.chmod(0o644)
    yield path
    shutil.rmtree(path)


@unprivileged
@pytest.mark.parametrize(
    ("qemu", "lines"),
    [
        (
            "2.6",
            [
                "kvminit: Could not access KVM kernel module: Permission denied",
                "kvminit: failed to initialize KVM: Permission denied",
            ],
        ),
        (
            "10.0",
            [
                "kvminit: -accel kvm: Could not access KVM kernel module: Permission denied",
                "kvminit: -accel kvm: failed to initialize kvm: Permission denied",
            ],
        ),
    ],
)
def test_real_without_permission(open_dir: Path, qemu: str, lines: list[str]) -> None:
    p = as_nobody("run", str(open_dir / "pc.toml"), "--host", "real", "--qemu", qemu)
    assert p.returncode == 1
    assert p.stderr.splitlines()[:2] == lines
    assert "Traceback" not in p.stderr


@unprivileged
def test_auto_falls_back_with_a_fitting_hint(open_dir: Path) -> None:
    p = as_nobody("run", str(open_dir / "pc.toml"))
    assert p.returncode == 0, p.stderr
    note = p.stderr.splitlines()[0]
    assert note.startswith("kvminit: /dev/kvm: Permission denied (")
    assert note.endswith("; using the built-in host profile amd-epyc-linux-6.18")
    st = os.stat("/dev/kvm")
    if st.st_gid != 0 and st.st_mode & 0o060 == 0o060:
        assert "join the group" in note
    else:
        assert "ask an administrator to grant access" in note
    assert "host      profile amd-epyc-linux-6.18" in p.stdout


@unprivileged
def test_output_to_a_directory_the_user_cannot_write(open_dir: Path) -> None:
    locked = open_dir / "locked"
    locked.mkdir(mode=0o755)
    p = as_nobody(
        "e820",
        str(open_dir / "pc.toml"),
        "--host",
        "amd-epyc-linux-6.18",
        "--format",
        "blob",
        "-o",
        str(locked / "e820.bin"),
    )
    assert p.returncode == 1
    assert "cannot create a file in" in p.stderr and "Permission denied" in p.stderr
    assert list(locked.iterdir()) == []


def _fleet(directory: Path, count: int) -> Path:
    directory.mkdir()
    for i in range(count):
        (directory / f"m{i:05d}.toml").write_text(f'type = "pc"\nsmp = {1 + i % 2}\n')
    return directory


def _interrupt(args: list[str]) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kvminit", *args],
        env=_env(),
        preexec_fn=default_signals,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # well into the batch (~5 s): start-up takes a fraction of that
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


# 20,000 files × 4 hosts × 2 QEMU versions: long enough to be interrupted mid-batch.
EVERY_TARGET = [
    *("--host", "amd-epyc-linux-6.18", "--host", "intel-xeon-linux-6.18"),
    *("--host", "no-irq-routing", "--host", "old-kernel"),
    *("--qemu", "7.2", "--qemu", "10.0"),
]


@pytest.mark.parametrize(
    "extra", [["--format", "json"], ["--jobs", "2"]], ids=["one-process", "jobs"]
)
def test_ctrl_c_during_a_batch(tmp_path: Path, extra: list[str]) -> None:
    fleet = _fleet(tmp_path / "fleet", 20000)
    report = tmp_path / "report.out"
    code, err = _interrupt(["validate", str(fleet), *EVERY_TARGET, "-o", str(report), *extra])
    assert code == 130, err
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["fleet"]  # no report, no temporary


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@pytest.mark.kvm
def test_5000_real_inits_under_ulimit_256(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path / "fleet", 5000)
    p = subprocess.run(
        [sys.executable, "-m", "kvminit", "validate", str(fleet), "--host", "real"],
        env=_env(),
        preexec_fn=_limit_fds,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    last = p.stdout.splitlines()[-1]
    assert last.startswith("5000 files × 1 host × 1 QEMU version: ") and last.endswith(" 0 failed")
