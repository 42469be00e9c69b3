"""Reading an input file as kvminit reads every input: a regular file, of bounded size.

A FIFO, a device or /dev/zero behind a `*.toml` name would block or never end;
they are refused before anything is read. The limit is checked on what is read,
not on what fstat claims, so a file that grows while it is read cannot get past it.
"""

from __future__ import annotations

import os
import stat

from .errors import KvminitError


class InputError(KvminitError):
    """An input file that cannot be read as one: why, in words for the user."""


def read_regular(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The whole file, or InputError ("no such file", "is a FIFO, not …", "larger than …")."""
    name = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not wait for one.
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise InputError("no such file") from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not {what}") from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"is a directory, not {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"is {_kind(st.st_mode)}, not {what} (only regular files are read)")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"is larger than {_size(limit)}, more than {what} can be")
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    for unit, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {suffix}"
    return f"{n} bytes"
