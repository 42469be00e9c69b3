"""The description's error type: every problem with its file, line and key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    key: str | None = None
    line: int | None = None

    def located(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        what = f"{self.key}: " if self.key else ""
        return f"{where}: {what}{self.message}"


class ConfigError(Exception):
    """A machine description that cannot be used, with every reason found."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.located(path) for p in problems))
