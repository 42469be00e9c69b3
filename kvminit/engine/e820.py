"""The e820 table as QEMU keeps it: `etc/e820` plus the legacy reservation item, and
the bytes fw_cfg serves for each.

2.10.3 e820_add_entry(): every entry goes to the `etc/e820` table in call
order; entries other than RAM also go to the legacy FW_CFG_E820_TABLE item of
E820_NR_ENTRIES slots, whose overflow is -EBUSY (machine types up to 7.1).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from kvminit.common.errors import KvminitError

E820_RAM = 1
E820_RESERVED = 2
E820_ACPI = 3
E820_NVS = 4
E820_UNUSABLE = 5
E820_NR_ENTRIES = 16

TYPE_NAMES = {
    E820_RAM: "usable",
    E820_RESERVED: "reserved",
    E820_ACPI: "ACPI data",
    E820_NVS: "ACPI NVS",
    E820_UNUSABLE: "unusable",
}


@dataclass(frozen=True)
class E820Entry:
    address: int
    length: int
    type: int

    def to_json(self) -> dict[str, int]:
        return {"address": self.address, "length": self.length, "type": self.type}


@dataclass
class E820Table:
    legacy: bool = True  # the machine type still has FW_CFG_E820_TABLE
    entries: list[E820Entry] = field(default_factory=list)
    reserve: list[E820Entry] = field(default_factory=list)

    def e820_add_entry(self, address: int, length: int, type_: int) -> int:
        """QEMU's e820_add_entry(): the new entry count, or -EBUSY."""
        entry = E820Entry(address, length, type_)
        if type_ != E820_RAM and self.legacy:
            # old FW_CFG_E820_TABLE entry -- reservations only
            if len(self.reserve) >= E820_NR_ENTRIES:
                return -errno.EBUSY
            self.reserve.append(entry)
        # new "etc/e820" file -- include ram too
        self.entries.append(entry)
        return len(self.entries)


# --- the fw_cfg encodings ----------------------------------------------------------------

FW_CFG_E820_TABLE = 0x8003
_ENTRY = struct.Struct("<QQI")  # struct e820_entry, QEMU_PACKED, little-endian
ENTRY_SIZE = _ENTRY.size  # 20
LEGACY_SIZE = 4 + E820_NR_ENTRIES * ENTRY_SIZE  # u32 count + 16 entries = 324


class BlobError(KvminitError):
    """Bytes that are neither an etc/e820 file nor the legacy item."""


def encode_etc_e820(entries: Sequence[E820Entry]) -> bytes:
    """fw_cfg file `etc/e820`: every entry, 20 bytes each."""
    return b"".join(_ENTRY.pack(e.address, e.length, e.type) for e in entries)


def encode_legacy(reserve: Sequence[E820Entry]) -> bytes:
    """FW_CFG_E820_TABLE: struct e820_table { u32 count; struct e820_entry entry[16]; }."""
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
