"""Size strings as QEMU's option parser reads them (qemu_strtosz)."""

from __future__ import annotations

import re

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

# QEMU accepts these suffix letters, either case, powers of 1024.
_SUFFIXES = {"B": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB, "P": 1 << 50, "E": 1 << 60}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([BKMGTPEbkmgtpe])?\s*$")
U64_MAX = (1 << 64) - 1


class SizeError(ValueError):
    """A size that does not parse; the message says what is allowed."""


def parse_size(value: object, *, bare_unit: int) -> int:
    """Bytes for an integer or a suffixed string.

    `bare_unit` is what a number without a suffix counts: MiB for `memory`
    (as `-m 1024` does), bytes for every other size.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SizeError('must be an integer or a size string such as "512M" or "4G"')
    if isinstance(value, int):
        if value <= 0:
            raise SizeError("must be greater than 0")
        number = value * bare_unit
    else:
        match = _SIZE_RE.match(value)
        if match is None:
            raise SizeError(
                "is not a size: use a number with an optional suffix B, K, M, G, T, P or E "
                '(powers of 1024), such as "512M" or "4G"'
            )
        digits, suffix = match.groups()
        unit = _SUFFIXES[suffix.upper()] if suffix else bare_unit
        whole, _, frac = digits.partition(".")
        # Exact arithmetic: "1.5G" is 1610612736 bytes, never a float approximation.
        denominator = 10 ** len(frac)
        numerator = (int(whole) * denominator + int(frac or "0")) * unit
        if numerator % denominator:
            raise SizeError("is not a whole number of bytes")
        number = numerator // denominator
        if number <= 0:
            raise SizeError("must be greater than 0")
    if number > U64_MAX:
        raise SizeError("is too large (more than 2^64 - 1 bytes)")
    return number


def format_size(n: int) -> str:
    """The shortest exact suffixed spelling: 1073741824 -> '1G', 1536 -> '1536'."""
    for suffix in ("E", "P", "T", "G", "M", "K"):
        unit = _SUFFIXES[suffix]
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)
