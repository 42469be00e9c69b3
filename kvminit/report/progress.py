"""Progress of a long `validate` on a terminal: count, rate and time left, on one line.

Only when stderr is a terminal and not asked to be quiet: a pipe or a CI log gets
nothing. The line is redrawn at most ten times a second and erased at the end.
"""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream  # None: say nothing
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    @classmethod
    def on_terminal(cls, stream: TextIO, enabled: bool = True) -> Progress:
        try:
            tty = stream.isatty()
        except (ValueError, OSError):
            tty = False
        return cls(stream if enabled and tty else None)

    def __call__(self, done: int, total: int) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else 0.0
        line = f"kvminit: checked {done}/{total} ({rate:,.0f}/s, about {left:.0f}s left)"
        # Carriage return and erase-to-end-of-line; plain text, no colour (NO_COLOR holds).
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
