"""`qemu-args`: a machine as QEMU's options (from-qemu reads them back: test_fromqemu.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.config import parse_machine
from kvminit.engine.qemu import QEMU_2_6, QEMU_10_0
from kvminit.engine.qemuline import qemu_args

ROOT = Path(__file__).parents[1]


def test_qemu_args_of_a_machine() -> None:
    m = parse_machine(
        'type = "q35"\nmemory = "6G"\nsmp = 2\nmaxcpus = 4\n'
        'kernel-irqchip = "split"\nkvm-shadow-mem = "64M"\nphys-bits = "host"\n'
        'max-ram-below-4g = "2G"\naccel = ["kvm", "tcg"]\n'
    )
    assert qemu_args(m, QEMU_2_6)[:2] == [
        "-machine",
        "q35,accel=kvm:tcg,kernel-irqchip=split,kvm-shadow-mem=67108864,"
        "max-ram-below-4g=2147483648",
    ]
    assert qemu_args(m, QEMU_10_0) == [
        "-machine",
        "q35,kernel-irqchip=split,kvm-shadow-mem=67108864,max-ram-below-4g=2147483648",
        "-accel",
        "kvm",
        "-accel",
        "tcg",
        "-m",
        "6G",
        "-smp",
        "2,maxcpus=4",
        "-cpu",
        "qemu64,host-phys-bits=on",
    ]


def test_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Only what the file says (no -cpu: the machine's default); 10.0 by default.
    assert main(["qemu-args", str(ROOT / "machines/pc.toml")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "-machine pc,kernel-irqchip=on",
        "-accel kvm",
        "-m 1G",
        "-smp 2",
    ]
    assert main(["qemu-args", str(ROOT / "machines/pc.toml"), "--qemu", "2.6"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "-machine pc,accel=kvm,kernel-irqchip=on",
        "-m 1G",
        "-smp 2",
    ]
    assert main(["qemu-args", str(ROOT / "machines/pc.toml"), "--shell"]) == 0
    assert capsys.readouterr().out.startswith("qemu-system-x86_64 -machine ")
