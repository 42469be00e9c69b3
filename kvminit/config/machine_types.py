"""The machine type names QEMU 7.2 accepts for x86 PC boards.

Only names live here (the description's vocabulary); what each version does
is the engine's business (kvminit.engine.machines).
"""

from __future__ import annotations

from typing import Final, Literal

Family = Literal["i440fx", "q35", "isapc"]

# Every version QEMU 7.2 still defines, oldest first.
_ALL_VERSIONS: Final = (
    "1.4", "1.5", "1.6", "1.7",
    "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11",
    "2.12", "3.0", "3.1", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2",
    "7.0", "7.1", "7.2",
)  # fmt: skip
I440FX_VERSIONS: Final = _ALL_VERSIONS
Q35_VERSIONS: Final = _ALL_VERSIONS[_ALL_VERSIONS.index("2.4") :]
NEWEST: Final = "7.2"

# `pc` and `q35` alias the newest versioned type, as in QEMU.
ALIASES: Final = {"pc": f"pc-i440fx-{NEWEST}", "q35": f"pc-q35-{NEWEST}"}

MACHINE_TYPES: Final[tuple[str, ...]] = (
    "pc",
    "q35",
    "isapc",
    *(f"pc-i440fx-{v}" for v in I440FX_VERSIONS),
    *(f"pc-q35-{v}" for v in Q35_VERSIONS),
)
_KNOWN: Final = frozenset(MACHINE_TYPES)


def is_machine_type(name: str) -> bool:
    return name in _KNOWN


def canonical(name: str) -> str:
    """The machine class name QEMU prints for a type (`pc` -> `pc-i440fx-7.2`)."""
    return ALIASES.get(name, name)


def split(name: str) -> tuple[Family, tuple[int, int] | None]:
    """Family and (major, minor) version of a known type; isapc has no version."""
    full = canonical(name)
    if full == "isapc":
        return "isapc", None
    family: Family = "q35" if full.startswith("pc-q35-") else "i440fx"
    major, minor = full.rsplit("-", 1)[1].split(".")
    return family, (int(major), int(minor))


def describe_allowed() -> str:
    return (
        f"pc, q35, isapc, pc-i440fx-{I440FX_VERSIONS[0]} … pc-i440fx-{NEWEST}, "
        f"pc-q35-{Q35_VERSIONS[0]} … pc-q35-{NEWEST}"
    )
