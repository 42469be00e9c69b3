"""Untrusted text made safe to print: paths, values and messages from files kvminit reads.

A machine file's value, an unknown key, or a file name can hold newlines, terminal
escape sequences or bytes that are not UTF-8. Printed raw, they forge report lines,
drive the terminal, or make XML unparseable. `printable` escapes every character
that is not ordinary visible text, losslessly and readably (C-style), so the same
function serves the terminal, JUnit XML and GitHub annotations.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, lone surrogates (undecodable bytes of a file name read
# with surrogateescape), the line/paragraph separators and the non-characters XML 1.0
# cannot carry.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the original byte of an undecodable name
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` on one line with nothing a terminal or an XML parser would act on."""
    if text.isascii() and text.isprintable():
        return text  # the usual case, and the regular expression would change nothing
    return _UNSAFE.sub(_escape, text)


# What printable() would change in a text of several lines, the newlines aside.
_UNSAFE_IN_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def has_unsafe(text: str) -> bool:
    """Whether printable_lines(text) would change any line of `text`."""
    return _UNSAFE_IN_LINES.search(text) is not None


def printable_lines(text: str) -> list[str]:
    """A message of several lines (QEMU prints some), each line made printable."""
    return [printable(line) for line in text.split("\n")]
