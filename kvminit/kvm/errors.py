"""Errors of the kernel interface, cheap to import for callers that only catch them."""

from __future__ import annotations

import os

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


class ProfileError(KvminitError):
    """A host profile that cannot be used: the file (or name) and why."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
