"""'Did you mean' hints."""

from __future__ import annotations

from collections.abc import Iterable


def close_matches(word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    # difflib only when a hint is needed: a valid file never pays for its import.
    import difflib

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`did you mean 'x'? ` (with the trailing space), or '' when nothing is close."""
    close = close_matches(word, choices)
    return f"did you mean '{close[0]}'? " if close else ""
