"""TOML in (tomllib, with the line of a syntax error) and out (values and comments).

Reading: `loads` gives the document or a TomlError that says where. Writing: one
value writer for every file kvminit generates (profiles, from-qemu machines), which
escapes everything TOML cannot carry raw, so no value can break out of its line.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the Python 3.10 CI run
    import tomli as tomllib

from .errors import KvminitError

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")


class TomlError(KvminitError):
    """A document that is not TOML: the parser's message and the line it stopped at."""

    def __init__(self, message: str, line: int | None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


def loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        # tomllib recurses per nesting level; no kvminit file nests at all.
        raise TomlError("TOML syntax error: arrays or tables nested too deeply", None) from None
    except tomllib.TOMLDecodeError as e:
        match = _TOML_LINE.search(str(e))
        # "at end of document" has no line number: the last line is where it ends.
        line = (
            int(match.group(1)) if match else max(1, text.count("\n") + (not text.endswith("\n")))
        )
        raise TomlError(f"TOML syntax error: {e}", line) from None
    except ValueError:
        # int() of a number past Python's digit limit (4300): a plain ValueError, after
        # TOMLDecodeError (its subclass) is handled above. No value kvminit reads is near it.
        match = _LONG_NUMBER.search(text)
        where = text.count("\n", 0, match.start()) + 1 if match else None
        raise TomlError("TOML syntax error: a number with thousands of digits", where) from None


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def string(text: str) -> str:
    """A TOML basic string; control characters become escapes, never raw bytes."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_one, text) + '"'


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else string(name)


def value(v: Any) -> str:
    """One TOML value: every type tomllib returns (booleans, numbers, strings, dates and
    times, arrays, inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else str(v)  # nan, inf, -inf
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{key(str(k))} = {value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML spelling for {type(v).__name__}")


_UNSAFE_IN_COMMENT = re.compile(r"[\x00-\x1f\x7f]")


def comment(text: str) -> str:
    """`# text` on one line: a comment carries no newline or control character raw."""
    return "# " + _UNSAFE_IN_COMMENT.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
