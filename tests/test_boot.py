"""The smoke boot: a guest reads etc/e820 over fw_cfg on the VM kvminit initialised."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.kvm.real import RealHost
from kvminit.smoke import fwcfg, guest
from kvminit.smoke.runner import BootError, boot

from .conftest import machine

ROOT = Path(__file__).parents[1]
BOOT = ROOT / "kvminit" / "smoke"


@pytest.mark.skipif(
    shutil.which("as") is None or shutil.which("ld") is None, reason="GNU as/ld are not installed"
)
def test_rom_is_the_assembled_source(tmp_path: Path) -> None:
    obj, rom = tmp_path / "guest.o", tmp_path / "guest.rom"
    subprocess.run(["as", "--32", "-o", str(obj), str(BOOT / "guest.S")], check=True)
    subprocess.run(
        ["ld", "-m", "elf_i386", "-Ttext=0", "--oformat=binary", "-o", str(rom), str(obj)],
        check=True,
    )
    assert rom.read_bytes() == guest.image()


def test_image_layout() -> None:
    image = guest.image()
    assert len(image) == 0x10000
    assert image[0xFFF0:0xFFF5] == bytes.fromhex("ea000000f0")  # ljmp $0xf000, $_start
    assert b"QEMU" in image and b"etc/e820\0" in image


def test_fw_cfg_items_and_directory() -> None:
    cfg = fwcfg.FwCfg()
    assert cfg.add_file("etc/e820", b"x" * 40) == 0x20
    assert cfg.add_file("bootorder", b"") == 0x20  # the directory is sorted by name
    cfg.select(fwcfg.FW_CFG_SIGNATURE)
    assert bytes(cfg.read() for _ in range(5)) == b"QEMU\0"  # past the end reads 0
    cfg.select(fwcfg.FW_CFG_FILE_DIR)
    directory = bytes(cfg.read() for _ in range(4 + 2 * 64))
    assert struct.unpack(">I", directory[:4]) == (2,)
    size, select, reserved = struct.unpack(">IHH", directory[68:76])
    assert (size, select, reserved) == (40, 0x21, 0)
    assert directory[76:132].rstrip(b"\0") == b"etc/e820"
    cfg.select(0x21)
    assert cfg.read() == ord("x")


def test_boot_refuses_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["boot", str(ROOT / "machines/pc.toml"), "--host", "amd-epyc-linux-6.18"])
    assert code == 1
    assert "boot runs a guest, so it needs the real /dev/kvm" in capsys.readouterr().err


@pytest.mark.kvm
@pytest.mark.parametrize("type_", ["pc", "q35"])
@pytest.mark.parametrize("memory", ["256M", "6G"])
@pytest.mark.parametrize("smp", [1, 4])
def test_boot_matrix(type_: str, memory: str, smp: int, no_fd_leak: None) -> None:
    r = boot(machine(type=type_, memory=memory, smp=smp), RealHost())
    assert r.identical, (r.done_code, r.guest_output.hex(), r.expected.hex())
    assert r.vcpus == smp
    assert len(r.slots) == (2 if memory == "6G" else 1)
    assert r.bytes_read > len(r.expected) and r.exits > len(r.expected)


@pytest.mark.kvm
@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0])
@pytest.mark.parametrize("irqchip", ["on", "split", "off"])
def test_boot_each_irqchip_mode(irqchip: str, qemu: Qemu) -> None:
    r = boot(machine(kernel_irqchip=irqchip), RealHost(), qemu=qemu)
    if irqchip == "off" and qemu == QEMU_10_0:
        # 10.0 refuses a userspace APIC under KVM (the 7.2 warnings became an error).
        assert r.result.error is not None and r.vcpus == 0
        assert r.result.error.message == "KVM does not support userspace APIC"
        return
    assert r.identical and r.result.qemu == str(qemu)


@pytest.mark.kvm
def test_boot_reads_what_e820_blob_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pc = str(ROOT / "machines/pc.toml")
    blob = tmp_path / "e820.bin"
    assert main(["e820", pc, "--host", "real", "--format", "blob", "-o", str(blob)]) == 0
    assert main(["boot", pc, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert bytes.fromhex(report["guest_output"]) == blob.read_bytes()
    assert report["identical"] is True


@pytest.mark.kvm
def test_boot_times_out(monkeypatch: pytest.MonkeyPatch, no_fd_leak: None) -> None:
    spinning = b"\xeb\xfe" + guest.image()[2:]  # jmp $ at _start
    monkeypatch.setattr(guest, "image", lambda: spinning)
    with pytest.raises(BootError, match=r"did not finish within 0\.3 s"):
        boot(machine(), RealHost(), timeout=0.3)


@pytest.mark.kvm
def test_boot_without_the_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = fwcfg.FwCfg.add_file
    monkeypatch.setattr(
        fwcfg.FwCfg, "add_file", lambda self, name, data: original(self, "etc/other", data)
    )
    assert main(["boot", str(ROOT / "machines/pc.toml")]) == 1
    assert "the guest stopped with code 2: no etc/e820 file" in capsys.readouterr().err


@pytest.mark.kvm
def test_boot_needs_low_ram() -> None:
    with pytest.raises(BootError, match="at least 1 MiB of RAM"):
        boot(machine(memory="512K"), RealHost())
