"""`qemu-args` and `from-qemu`: QEMU's spellings both ways."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvminit.cli import main
from kvminit.config import MachineConfig, parse_machine
from kvminit.engine.machines import all_type_names
from kvminit.engine.qemu import MODELLED, QEMU_2_6, QEMU_10_0, Qemu
from kvminit.engine.qemuline import qemu_args
from kvminit.qemuargs import QemuArgsError, from_qemu

MACHINE_TYPES = all_type_names()

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


def test_from_qemu_reads_qemus_spellings() -> None:
    got = from_qemu(
        [
            "qemu-system-x86_64",
            "-M",
            "type=pc-q35-7.1,kernel-irqchip",
            "-accel",
            "kvm",
            "-accel",
            "tcg,thread=single",
            "-enable-kvm",
            "-m",
            "size=3G,slots=2,maxmem=8G",
            "-smp",
            "cpus=2,maxcpus=8,sockets=2",
            "-cpu",
            "kvm64,phys-bits=42,+vmx",
            "-drive",
            "file=x.img",
            "-S",
        ]
    )
    assert got.keys == {
        "type": "pc-q35-7.1",
        "kernel-irqchip": "on",
        "memory": "3G",
        "smp": 2,
        "maxcpus": 8,
        "cpu": "kvm64",
        "phys-bits": 42,
        "accel": ["kvm", "tcg"],
    }
    assert got.unmodelled == [
        "-accel thread=single",
        "-m slots=2",
        "-m maxmem=8G",
        "-smp sockets=2",
        "-cpu +vmx",
        "-drive file=x.img",
        "-S",
    ]
    parse_machine(got.toml())


def test_from_qemu_errors() -> None:
    with pytest.raises(QemuArgsError, match="-m needs a value"):
        from_qemu(["-m"])
    with pytest.raises(QemuArgsError, match="not a number"):
        from_qemu(["-smp", "four"])


machines = st.builds(
    lambda t, mem, smp, extra, irq, shadow, low, cpu, bits, accel: {
        "type": t,
        "memory": f"{mem * 8}K",
        "smp": smp,
        "maxcpus": smp + extra,
        "kernel-irqchip": irq,
        "cpu": cpu,
        "accel": accel,
        **({"kvm-shadow-mem": shadow} if shadow else {}),
        **({"max-ram-below-4g": low} if low else {}),
        **({"phys-bits": bits} if bits is not None else {}),
    },
    st.sampled_from(MACHINE_TYPES),
    st.integers(1, 2**30),
    st.integers(1, 8),
    st.integers(0, 8),
    st.sampled_from(["on", "off", "split"]),
    st.one_of(st.none(), st.integers(1, 2**40)),
    st.one_of(st.none(), st.integers(1, 2**32)),
    st.sampled_from(["qemu64", "kvm64", "host", "486"]),
    st.one_of(st.none(), st.integers(32, 52), st.just("host")),
    st.sampled_from([["kvm"], ["tcg"], ["kvm", "tcg"], ["tcg", "kvm"]]),
)


@settings(max_examples=300, deadline=None, derandomize=os.environ.get("CI") == "true")
@given(machines, st.sampled_from(MODELLED))
def test_from_qemu_of_qemu_args_is_the_same_machine(data: dict[str, object], qemu: Qemu) -> None:
    # 2.6's spelling (accel in -machine) and 7.2's (-accel) read back the same.
    m = MachineConfig.model_validate(data)
    back = from_qemu(qemu_args(m, qemu))
    assert back.unmodelled == []
    again = parse_machine(back.toml())
    assert again.normalised() | {"name": None, "description": None} == m.normalised()


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
    out = tmp_path / "m.toml"
    code = main(["from-qemu", "-o", str(out), "--", "-machine", "q35", "-m", "2048", "-nographic"])
    err = capsys.readouterr().err
    assert code == 0 and err == "kvminit: from-qemu: not modelled, left out: -nographic\n"
    assert parse_machine(out.read_text()).memory == 2 << 30
    assert main(["from-qemu", "--"]) == 2
