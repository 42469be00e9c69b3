"""The guest image: guest.S assembled, 64 KiB with the reset vector at its end."""

from __future__ import annotations

from importlib import resources

IMAGE_SIZE = 0x10000
LOAD_ADDRESS = 0xF0000  # where QEMU also maps the last 64 KiB of a 64 KiB BIOS
RESET_CS = 0xF000
RESET_IP = 0xFFF0
DEBUG_PORT = 0xE9
DONE_PORT = 0xF4
DONE_CODES = {0: "copied etc/e820", 1: "no QEMU fw_cfg signature", 2: "no etc/e820 file"}


def done_reason(code: int | None) -> str:
    return DONE_CODES.get(code or 0, "unknown")


def image() -> bytes:
    data = (resources.files("kvminit.smoke") / "guest.rom").read_bytes()
    assert len(data) == IMAGE_SIZE
    return data
