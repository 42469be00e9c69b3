"""Errors of the kernel interface, cheap to import for callers that only catch them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from kvminit.common.errors import KvminitError


class KvmError(KvminitError):
    """An ioctl (or the open of the device) that the kernel refused, with its errno."""

    def __init__(self, ioctl: str, errno: int, needed: int | None = None) -> None:
        self.ioctl = ioctl
        self.errno = errno
        self.needed = needed  # E2BIG from a list ioctl: the count the kernel wrote back
        super().__init__(f"{ioctl}: {strerror(errno)}")

    @property
    def strerror(self) -> str:
        return strerror(self.errno)


def strerror(errno: int) -> str:
    """os.strerror for any number a kernel or a profile may give (C's text for unknown ones)."""
    try:
        return os.strerror(errno)
    except (ValueError, OverflowError):
        return f"Unknown error {errno}"


class ProfileProblem(NamedTuple):
    """One thing wrong with a profile: why, the key it is about, and that key's line."""

    message: str
    key: str | None = None  # as the file spells it: "api-version", "caps.KVM_CAP_MCE"
    line: int | None = None

    def located(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        what = f"{self.key}: " if self.key else ""
        return f"{where}: {what}{self.message}"


class ProfileError(KvminitError):
    """A host profile that cannot be used: the file (or name) and every reason found.

    `message`, `key` and `line` are the first problem's; `problems` holds them all,
    one line each in the text, as machine files' Findings are.
    """

    def __init__(
        self,
        path: str,
        message: str = "",
        line: int | None = None,
        *,
        key: str | None = None,
        problems: Sequence[ProfileProblem] = (),
    ) -> None:
        self.path = path
        self.problems = list(problems) or [ProfileProblem(message, key, line)]
        self.message, self.key, self.line = self.problems[0]
        super().__init__("\n".join(p.located(path) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args); ours rebuild from their parts (validate --jobs).
        return (_rebuild, (self.path, tuple(self.problems)))


def _rebuild(path: str, problems: tuple[ProfileProblem, ...]) -> ProfileError:
    return ProfileError(path, problems=[ProfileProblem(*p) for p in problems])
