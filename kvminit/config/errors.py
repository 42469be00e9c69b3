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
    hint: str | None = None  # kvminit's advice beside QEMU's words ("did you mean ...")
    option: str | None = None  # the QEMU option it comes from, for a converted command line

    def located(self, path: str) -> str:
        advice = f" ({self.hint})" if self.hint else ""
        if self.option:
            # A converted command line: the option is the place, as QEMU prints it.
            return f"{path}: {self.option}: {self.message}{advice}"
        where = f"{path}:{self.line}" if self.line else path
        what = f"{self.key}: " if self.key else ""
        return f"{where}: {what}{self.message}{advice}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "line": self.line, "message": self.message}
        out["hint"] = self.hint
        if self.option is not None:
            out["option"] = self.option
        return out


class ConfigError(KvminitError):
    """A machine description that cannot be used, with every reason found."""

    def __init__(self, path: str, problems: list[Finding]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.located(path) for p in problems))
