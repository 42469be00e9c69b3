"""Findings: every problem and warning as a record of message, key and line.

One record type serves the description's own problems, the engine's warnings and
its errors, so every output can point at the key and line a message comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kvminit.common.errors import KvminitError


@dataclass(frozen=True)
class Finding:
    message: str
    key: str | None = None  # the machine-file key it comes from, if any
    line: int | None = None  # that key's line in the file, if known

    def located(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        what = f"{self.key}: " if self.key else ""
        return f"{where}: {what}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "line": self.line, "message": self.message}


class ConfigError(KvminitError):
    """A machine description that cannot be used, with every reason found."""

    def __init__(self, path: str, problems: list[Finding]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.located(path) for p in problems))
