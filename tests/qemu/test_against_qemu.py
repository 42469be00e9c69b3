"""Differential tests against QEMU itself (skipped, with the reason, where it is absent).

QEMU starts with `kvminit qemu-args` of a machine and kvminit's guest as its
firmware; the guest copies the etc/e820 bytes QEMU's own fw_cfg serves to the
debug console, and they must equal `kvminit e820 --format blob`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kvminit.config import parse_machine
from kvminit.engine import run
from kvminit.engine.e820 import encode_etc_e820
from kvminit.engine.qemu import QEMU_7_2
from kvminit.engine.qemuline import qemu_args as _qemu_args
from kvminit.kvm.real import RealHost

from ..conftest import _KVM_SKIP

QEMU = shutil.which("qemu-system-x86_64")


def qemu_args(m: object) -> list[str]:
    return _qemu_args(m, QEMU_7_2)  # type: ignore[arg-type]


ROM = Path(__file__).parents[2] / "kvminit" / "smoke" / "guest.rom"


pytestmark = pytest.mark.skipif(
    QEMU is None,
    reason="qemu-system-x86_64 is not installed "
    "(scripts/install-qemu.sh installs it where apt is available)",
)
needs_kvm = pytest.mark.skipif(_KVM_SKIP is not None, reason=str(_KVM_SKIP))


def start_qemu(args: list[str], tmp: Path) -> tuple[int, bytes, str]:
    out = tmp / "debugcon.bin"
    assert QEMU is not None
    p = subprocess.run(
        [
            QEMU,
            *args,
            "-bios",
            str(ROM),
            "-debugcon",
            f"file:{out}",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-display",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-serial",
            "none",
            "-monitor",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    data = out.read_bytes() if out.exists() else b""
    return p.returncode, data, p.stderr


def compare(text: str, tmp: Path) -> None:
    m = parse_machine(text)
    accel = m.accel[0]
    r = run(m, RealHost(), qemu=QEMU_7_2)
    assert r.ok, r.error
    expected = encode_etc_e820(r.e820)
    code, served, stderr = start_qemu(qemu_args(m), tmp)
    # isa-debug-exit: QEMU exits with (value << 1) | 1; the guest writes 0 when done.
    assert code == 1, f"QEMU exited {code}: {stderr}"
    assert served == expected, (
        f"{accel}: QEMU served {served.hex()} but kvminit encodes {expected.hex()}"
    )


KVM_MATRIX = [
    'type = "pc"\nmemory = "1G"',
    'type = "pc"\nmemory = "3583M"',
    'type = "pc"\nmemory = "3584M"',
    'type = "pc"\nmemory = "6G"',
    'type = "pc"\nmemory = "4G"\nmax-ram-below-4g = "2G"',
    'type = "pc"\nmemory = "3968M"\nmax-ram-below-4g = "4G"',
    'type = "pc-i440fx-1.7"\nmemory = "3584M"',
    'type = "pc-i440fx-2.0"\nmemory = "3584M"',
    'type = "pc-i440fx-2.6"\nmemory = "1G"',
    'type = "pc-i440fx-7.0"\nmemory = "1G"',
    'type = "pc-i440fx-7.1"\nmemory = "6G"',
    'type = "q35"\nmemory = "2815M"',
    'type = "q35"\nmemory = "2816M"',
    'type = "q35"\nmemory = "6G"',
    'type = "q35"\nmemory = "2G"\nmax-ram-below-4g = "1G"',
    'type = "pc-q35-2.6"\nmemory = "6G"',
    'type = "pc-q35-7.1"\nmemory = "1G"',
    'type = "isapc"\nmemory = "64M"',
    'type = "pc"\nmemory = "1G"\nkernel-irqchip = "off"',
    'type = "q35"\nmemory = "1G"\nkernel-irqchip = "split"',
    'type = "pc"\nmemory = "1G"\nsmp = 4',
    'type = "pc"\nmemory = "1G"\nphys-bits = 39',
    'type = "pc"\nmemory = "1G"\nphys-bits = "host"',
    'type = "pc"\nmemory = "1G"\ncpu = "kvm64"',
]
TCG_MATRIX = [
    'type = "pc"\nmemory = "1G"\naccel = ["tcg"]',
    'type = "pc"\nmemory = "6G"\naccel = ["tcg"]\ncpu = "kvm64"',
    'type = "q35"\nmemory = "3G"\naccel = ["tcg"]',
    'type = "pc-i440fx-7.0"\nmemory = "1G"\naccel = ["tcg"]',
    'type = "pc"\nmemory = "1G"\naccel = ["tcg"]\nphys-bits = 39',
    'type = "pc-i440fx-2.6"\nmemory = "3584M"\naccel = ["tcg"]',
]


@needs_kvm
@pytest.mark.parametrize("text", KVM_MATRIX, ids=lambda t: t.replace("\n", " "))
def test_same_bytes_under_kvm(text: str, tmp_path: Path) -> None:
    compare('accel = ["kvm"]\n' + text if "accel" not in text else text, tmp_path)


@pytest.mark.parametrize("text", TCG_MATRIX, ids=lambda t: t.replace("\n", " "))
def test_same_bytes_under_tcg(text: str, tmp_path: Path) -> None:
    compare(text, tmp_path)


# --- where both refuse ------------------------------------------------------------------

# (machine, what QEMU 7.2 prints, what kvminit prints). kvminit keeps the seed's (QEMU 2.6)
# wording where 7.2's differs; this table is the record of each difference.
REFUSALS = [
    pytest.param(
        'type = "q35"\nsmp = 289',
        "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288",
        "Number of SMP CPUs requested (289) exceeds max CPUs supported by machine "
        "'pc-q35-7.2' (288)",
        id="machine-cpu-limit (7.2 reworded)",
    ),
    pytest.param(
        'type = "pc"\nkvm-type = "x"',
        "Property 'pc-i440fx-7.2-machine.kvm-type' not found",
        "Invalid argument kvm-type=x",
        id="kvm-type (7.2 has no such property)",
    ),
    pytest.param(
        'type = "pc"\nmemory = "6G"\nphys-bits = 33',
        "Address space limit 0x1ffffffff < 0x23fffffff phys-bits too low (33)",
        "Address space limit 0x1ffffffff < 0x23fffffff phys-bits too low (33)",
        id="phys-bits-too-low (same)",
    ),
    pytest.param(
        'type = "pc"\nmax-ram-below-4g = "5G"',
        "Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G",
        "Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G",
        id="max-ram-below-4g (same)",
    ),
    pytest.param(
        'type = "pc"\nsmp = 4\nmaxcpus = 2',
        "Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * "
        "dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)",
        "maxcpus must be equal to or greater than smp",
        id="maxcpus-below-smp (7.2 longer)",
    ),
    pytest.param(
        'type = "pc"\nkvm-shadow-mem = 65536',
        "failed to initialize kvm: Invalid argument",
        "failed to initialize KVM: Invalid argument",
        id="shadow-mem (7.2 lower-cases kvm)",
    ),
]


def kvminit_refusal(text: str) -> str:
    from kvminit.config import ConfigError

    try:
        m = parse_machine(text)
    except ConfigError as e:
        return str(e)
    r = run(m, RealHost(), qemu=QEMU_7_2)
    assert r.error is not None
    return r.error.message


def qemu_options(text: str) -> list[str]:
    """The QEMU spelling of a machine that kvminit may refuse to load."""
    from kvminit.common import toml
    from kvminit.config import MachineConfig

    data = toml.loads(text)
    relaxed = {k: v for k, v in data.items() if k not in ("maxcpus", "max-ram-below-4g")}
    args = qemu_args(MachineConfig.model_validate(relaxed))
    machine = args.index("-machine") + 1
    if "max-ram-below-4g" in data:
        args[machine] += f",max-ram-below-4g={data['max-ram-below-4g']}"
    if "maxcpus" in data:
        args[args.index("-smp") + 1] = f"{data['smp']},maxcpus={data['maxcpus']}"
    return args


@needs_kvm
@pytest.mark.parametrize(("text", "qemu_says", "kvminit_says"), REFUSALS)
def test_refusals(text: str, qemu_says: str, kvminit_says: str, tmp_path: Path) -> None:
    assert kvminit_says in kvminit_refusal(text)
    code, _, stderr = start_qemu(qemu_options(text), tmp_path)
    assert code == 1
    assert qemu_says in stderr, stderr
