"""QEMU's legacy fw_cfg I/O interface, as the guest sees it (hw/nvram/fw_cfg.c).

Selector port 0x510 (16-bit write), data port 0x511 (8-bit reads, past the end 0).
Items: the "QEMU" signature, the interface ID, the file directory (big-endian
count, then 64-byte entries: size, select, reserved, 56-byte name) and the files;
also the legacy FW_CFG_E820_TABLE item where the machine type has it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from kvminit.engine.e820 import FW_CFG_E820_TABLE

__all__ = ["FW_CFG_E820_TABLE", "FwCfg"]

FW_CFG_IO_BASE = 0x510
FW_CFG_PORT_SEL = FW_CFG_IO_BASE
FW_CFG_PORT_DATA = FW_CFG_IO_BASE + 1
FW_CFG_SIGNATURE = 0x00
FW_CFG_ID = 0x01
FW_CFG_FILE_DIR = 0x19
FW_CFG_FILE_FIRST = 0x20
FW_CFG_MAX_FILE_PATH = 56
FW_CFG_VERSION = 0x01  # traditional interface only (no DMA)


@dataclass
class FwCfg:
    items: dict[int, bytes] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    selected: int = 0
    offset: int = 0
    bytes_read: int = 0

    def __post_init__(self) -> None:
        self.items[FW_CFG_SIGNATURE] = b"QEMU"
        self.items[FW_CFG_ID] = struct.pack("<I", FW_CFG_VERSION)

    def add_file(self, name: str, data: bytes) -> int:
        """Register a file; QEMU keeps the directory sorted by name."""
        if len(name.encode()) >= FW_CFG_MAX_FILE_PATH:
            raise ValueError(f"fw_cfg file name too long: {name}")
        self.files.append((name, data))
        self.files.sort()
        for index, (_name, file_data) in enumerate(self.files):
            self.items[FW_CFG_FILE_FIRST + index] = file_data
        self.items[FW_CFG_FILE_DIR] = self._directory()
        return FW_CFG_FILE_FIRST + [n for n, _ in self.files].index(name)

    def _directory(self) -> bytes:
        out = struct.pack(">I", len(self.files))
        for index, (name, data) in enumerate(self.files):
            out += struct.pack(">IHH", len(data), FW_CFG_FILE_FIRST + index, 0)
            out += name.encode().ljust(FW_CFG_MAX_FILE_PATH, b"\0")
        return out

    def select(self, key: int) -> None:
        self.selected = key
        self.offset = 0

    def read(self) -> int:
        data = self.items.get(self.selected, b"")
        if self.offset < len(data):
            value = data[self.offset]
            self.offset += 1
            self.bytes_read += 1
            return value
        return 0
