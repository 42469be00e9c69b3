"""fw_cfg encodings of the e820 table: `etc/e820` and the legacy FW_CFG_E820_TABLE item."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from kvminit.engine.e820 import E820_NR_ENTRIES, E820Entry

FW_CFG_E820_TABLE = 0x8003
_ENTRY = struct.Struct("<QQI")  # struct e820_entry, QEMU_PACKED, little-endian
ENTRY_SIZE = _ENTRY.size  # 20
LEGACY_SIZE = 4 + E820_NR_ENTRIES * ENTRY_SIZE  # u32 count + 16 entries = 324


class BlobError(ValueError):
    pass


def encode_etc_e820(entries: Sequence[E820Entry]) -> bytes:
    return b"".join(_ENTRY.pack(e.address, e.length, e.type) for e in entries)


def encode_legacy(reserve: Sequence[E820Entry]) -> bytes:
    """struct e820_table { u32 count; struct e820_entry entry[E820_NR_ENTRIES]; }."""
    body = encode_etc_e820(reserve)
    return struct.pack("<I", len(reserve)) + body + bytes(LEGACY_SIZE - 4 - len(body))


def decode(blob: bytes) -> tuple[str, list[E820Entry]]:
    """Either blob, told apart by size: ('legacy' | 'etc/e820', entries)."""
    if len(blob) == LEGACY_SIZE:
        (count,) = struct.unpack_from("<I", blob)
        if count > E820_NR_ENTRIES:
            raise BlobError(f"legacy FW_CFG_E820_TABLE claims {count} entries; it holds at most 16")
        return "legacy", [
            E820Entry(*_ENTRY.unpack_from(blob, 4 + i * ENTRY_SIZE)) for i in range(count)
        ]
    if len(blob) % ENTRY_SIZE == 0:
        return "etc/e820", [E820Entry(*t) for t in _ENTRY.iter_unpack(blob)]
    raise BlobError(
        f"{len(blob)} bytes is neither an etc/e820 file (a multiple of {ENTRY_SIZE} bytes) "
        f"nor the legacy FW_CFG_E820_TABLE item ({LEGACY_SIZE} bytes)"
    )
