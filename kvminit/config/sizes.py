"""Size strings as QEMU's option parser reads them (qemu_strtosz)."""

from __future__ import annotations

import re

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

# QEMU accepts these suffix letters, either case, powers of 1024.
_SUFFIXES = {"B": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB, "P": 1 << 50, "E": 1 << 60}
# ASCII digits only (str.isdigit and \d take "٤"), and few enough that int() never meets
# Python's 4300-digit limit: 2^64 has 20 digits, so 40 leaves room for leading zeros.
_SIZE_RE = re.compile(r"^\s*([0-9]{1,40}(?:\.[0-9]{0,40})?)\s*([BKMGTPEbkmgtpe])?\s*$", re.ASCII)
U64_MAX = (1 << 64) - 1


class SizeError(ValueError):
    """A size that does not parse; the message says what is allowed."""


def parse_size(value: object, *, bare_unit: int, allow_zero: bool = False) -> int:
    """Bytes for an integer or a suffixed string.

    `bare_unit` is what a number without a suffix counts: MiB for `memory`
    (as `-m 1024` does), bytes for every other size.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SizeError('must be an integer or a size string such as "512M" or "4G"')
    if isinstance(value, int):
        if value < 0 or (value == 0 and not allow_zero):
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
        if frac.strip("0") and (not suffix or unit == 1):
            # qemu_strtosz: "When a fraction is present, a scale is required."
            raise SizeError('has a fraction but no K/M/G/T/P/E suffix (such as "1.5G")')
        # QEMU truncates a fraction of its unit ("3.9G" is 4187593113 bytes); exact
        # arithmetic does the same without a float's rounding.
        denominator = 10 ** len(frac)
        number = (int(whole) * denominator + int(frac or "0")) * unit // denominator
        if number <= 0 and not (number == 0 and allow_zero):
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


# --- the same rules as JSON Schema patterns, for editors ----------------------------------

_SUFFIX_CLASS = "[BKMGTPEbkmgtpe]"


def _integers_up_to(n: int) -> str:
    """A regex for the decimal integers 0..n (leading zeros allowed)."""
    digits = str(n)
    alternatives = []
    if len(digits) > 1:
        alternatives.append(f"[0-9]{{1,{len(digits) - 1}}}")
    for i, d in enumerate(digits):
        if d != "0":
            rest = len(digits) - i - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            alternatives.append(f"{digits[:i]}[0-{int(d) - 1}]{tail}")
    alternatives.append(digits)
    return "0*(?:" + "|".join(alternatives) + ")"


def _at_most(n: int) -> str:
    """A number (with an optional fraction) not above n."""
    if n == 0:
        return "0+(?:\\.0*)?"
    return f"(?:{_integers_up_to(n - 1)}(?:\\.[0-9]*)?|0*{n}(?:\\.0*)?)"


POSITIVE_SIZE_PATTERN = (
    f"^\\s*(?:0*[1-9][0-9]*(?:\\.[0-9]*)?|0+\\.[0-9]*[1-9][0-9]*)\\s*{_SUFFIX_CLASS}?\\s*$"
)


def size_at_most_pattern(limit: int) -> str:
    """Size strings (bare = bytes) not above `limit` bytes, one alternative per suffix."""
    parts = [f"{_at_most(limit)}\\s*[Bb]?"]
    for suffix, unit in _SUFFIXES.items():
        if suffix != "B":
            parts.append(f"{_at_most(limit // unit)}\\s*[{suffix}{suffix.lower()}]")
    return "^\\s*(?:" + "|".join(parts) + ")\\s*$"
