"""Where each key of a TOML text is: the line a problem is reported at (machine files and
host profiles alike).

tomllib keeps no positions. A profile has tables ([caps]), arrays of tables
([[faults]]) and multi-line arrays (msr-indices), so the scan follows table headers,
numbers array items and steps over strings. It runs only on text tomllib has already
accepted; it is best effort (a key it cannot place has no line), and whatever the
text, it ends in time linear in the text's length without raising.
"""

from __future__ import annotations

import re

Loc = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\]|\\.)*"'
_LITERAL = r"'[^']*'"
_KEY = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})"
_DOTTED = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_HEADER = re.compile(rf"[ \t]*(\[\[?)[ \t]*({_DOTTED})[ \t]*\]")
_ASSIGN = re.compile(rf"[ \t]*({_DOTTED})[ \t]*=[ \t]*")
_PART = re.compile(_KEY)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_SIMPLE = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
# Inside an array, what changes the scan: a bracket, brace, comment or quote. Between
# them, only commas matter, and str.split finds those at C speed.
_SPECIAL = re.compile(r"""[\[\]{}#"']""")
ITEMS_MAX = 10_000  # lines kept per array: more than any list of a valid file holds
_BASIC_STOP = re.compile(r'[\\"]')


def key_lines(text: str) -> dict[Loc, int]:
    """The 1-based line of each key's first assignment, by its path in the document.

    `caps.KVM_CAP_MCE = 32` under [caps] is ("caps", "KVM_CAP_MCE"); the third
    [[faults]] is ("faults", 2) and its errno ("faults", 2, "errno"); the fifth item of a
    multi-line array ("msr-indices", 4), on the line that item is on.
    """
    lines: dict[Loc, int] = {}
    table: Loc = ()
    tables_seen: dict[Loc, int] = {}
    array: _Array | None = None
    in_string: str | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        if in_string is not None:
            if _delimiters(raw, in_string) % 2 == 1:
                in_string = None
            continue
        if array is not None:
            if array.feed(raw, number):
                array = None
            continue
        header = _HEADER.match(raw)
        if header is not None:
            path = _parts(header.group(2))
            if header.group(1) == "[[":
                index = tables_seen.get(path, 0)
                tables_seen[path] = index + 1
                lines.setdefault(path, number)
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(raw)
        if assign is None:
            continue
        loc = (*table, *_parts(assign.group(1)))
        for end in range(len(table) + 1, len(loc) + 1):
            lines.setdefault(loc[:end], number)
        rest = raw[assign.end() :]
        if rest.startswith("["):
            scan = _Array(loc, lines)
            if not scan.feed(rest, number):
                array = scan
        else:
            for quote in ('"""', "'''"):
                if rest.startswith(quote) and _delimiters(rest, quote) % 2 == 1:
                    in_string = quote
    return lines


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(_unquote(m.group()) for m in _PART.finditer(dotted))


def _unquote(key: str) -> str:
    if key.startswith("'"):
        return key[1:-1]
    if not key.startswith('"'):
        return key

    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2)
        if code:
            n = int(code, 16)
            return chr(n) if n < 0x110000 else m.group()
        return _SIMPLE.get(m.group(3), m.group())

    return _ESCAPE.sub(one, key[1:-1])


class _Array:
    """A multi-line array's items, each at the line it starts on."""

    def __init__(self, loc: Loc, lines: dict[Loc, int]) -> None:
        self.loc = loc
        self.lines = lines
        self.depth = 0
        self.index = 0
        self.expect = False  # the next value at depth 1 starts an item
        self.quote: str | None = None  # the closing quotes of a multi-line string

    def feed(self, segment: str, number: int) -> bool:
        """Scan one line (or what follows `key =`); True once the array has closed."""
        pos = 0
        while pos < len(segment):
            if self.quote is not None:
                end = segment.find(self.quote, pos)
                if end < 0:
                    return False
                pos, self.quote = end + 3, None
                continue
            m = _SPECIAL.search(segment, pos)
            self._values(segment[pos : m.start() if m else len(segment)], number)
            if m is None:
                return False
            token, pos = m.group(), m.end()
            if token == "#":
                return False
            if token in ("[", "{"):
                self._item(number)
                self.depth += 1
                self.expect = self.expect or self.depth == 1
            elif token in ("]", "}"):
                self.depth -= 1
                if self.depth <= 0:
                    return True
            else:
                self._item(number)
                if segment.startswith(token * 3, m.start()):
                    self.quote, pos = token * 3, m.start() + 3
                else:
                    pos = _string_end(segment, m.start(), token)
        return False

    def _values(self, run: str, number: int) -> None:
        """Bare values and commas (no brackets, quotes or comments in `run`)."""
        if self.depth != 1:
            return
        for k, piece in enumerate(run.split(",")):
            if k:
                self.expect = True
            if piece.strip():
                self._item(number)

    def _item(self, number: int) -> None:
        if self.depth == 1 and self.expect:
            if self.index < ITEMS_MAX:
                self.lines.setdefault((*self.loc, self.index), number)
            self.index += 1
            self.expect = False


def _string_end(segment: str, start: int, quote: str) -> int:
    """Just past the one-line string opening at `start` (the line's end if it does not close)."""
    if quote == "'":
        end = segment.find("'", start + 1)
        return len(segment) if end < 0 else end + 1
    pos = start + 1
    while True:
        m = _BASIC_STOP.search(segment, pos)
        if m is None:
            return len(segment)
        if m.group() == "\\":
            pos = m.end() + 1
        else:
            return m.end()


_ESCAPED = re.compile(r"\\.")


def _delimiters(raw: str, quote: str) -> int:
    """How many `quote` delimiters a line holds: in a basic string a backslash escapes
    the character after it (an escaped quote starts no delimiter); in a literal string
    nothing is escaped."""
    return (_ESCAPED.sub("", raw) if quote == '"""' else raw).count(quote)
