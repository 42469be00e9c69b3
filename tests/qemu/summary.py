"""Counts the libvirt corpus tests collect, printed at the end of the session."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

_lock = threading.Lock()
_counts: dict[str, Counter[str]] = defaultdict(Counter)
_disagreements: dict[str, Counter[str]] = defaultdict(Counter)


def count(group: str, what: str) -> None:
    with _lock:
        _counts[group][what] += 1


def disagreement(group: str, name: str, first: str) -> None:
    """A line kvminit and QEMU disagree on; `first` is the first difference, in words."""
    with _lock:
        _disagreements[group][first] += 1


def render() -> str:
    with _lock:
        lines = []
        for group in sorted(_counts):
            parts = ", ".join(f"{k} {n}" for k, n in sorted(_counts[group].items()))
            lines.append(f"{group}: {parts}")
            for why, n in _disagreements[group].most_common():
                lines.append(f"    {n} x {why}")
        return "\n".join(lines)
