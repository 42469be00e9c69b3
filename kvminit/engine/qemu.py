"""Which QEMU answers: the modelled versions and how any version maps onto them.

Three versions are modelled exactly (DESIGN.md, "Which QEMU is the reference"): the
seed's 2.6, Debian 12's 7.2 and Debian 13's 10.0. A version that is not modelled
maps to the newest modelled one not newer than it, with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kvminit.common.errors import KvminitError


class QemuVersionError(KvminitError):
    """A --qemu (or profile `qemu`) value that names no usable version."""


@dataclass(frozen=True, order=True)
class Qemu:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, major: int, minor: int = 0) -> bool:
        return (self.major, self.minor) >= (major, minor)


QEMU_2_6 = Qemu(2, 6)
QEMU_7_2 = Qemu(7, 2)
QEMU_10_0 = Qemu(10, 0)
MODELLED: tuple[Qemu, ...] = (QEMU_2_6, QEMU_7_2, QEMU_10_0)
DEFAULT = MODELLED[-1]

_VERSION = re.compile(r"^v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,4})?$")


def parse_qemu(text: str) -> Qemu:
    """`10.0`, `7.2.22`, `v8.2.1` → a version (the micro release does not matter)."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise QemuVersionError(
            f"QEMU version {text!r} is not MAJOR.MINOR[.MICRO]; modelled: "
            + ", ".join(map(str, MODELLED))
        )
    return Qemu(int(match.group(1)), int(match.group(2)))


def modelled(text: str) -> tuple[Qemu, str | None]:
    """The modelled version that answers for `text`, and a note when it is not exact."""
    wanted = parse_qemu(text)
    if wanted in MODELLED:
        return wanted, None
    older = [q for q in MODELLED if q <= wanted]
    if not older:
        raise QemuVersionError(
            f"QEMU {wanted} is older than every modelled version ("
            + ", ".join(map(str, MODELLED))
            + ")"
        )
    chosen = older[-1]
    return chosen, f"QEMU {wanted} is not modelled; answering as QEMU {chosen}"
