"""The e820 table as QEMU keeps it: `etc/e820` plus the legacy reservation item.

2.10.3 e820_add_entry(): every entry goes to the `etc/e820` table in call
order; entries other than RAM also go to the legacy FW_CFG_E820_TABLE item of
E820_NR_ENTRIES slots, whose overflow is -EBUSY (machine types up to 7.1).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

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
