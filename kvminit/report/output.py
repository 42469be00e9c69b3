"""Writing results: atomically to regular paths, directly to anything else."""

from __future__ import annotations

import contextlib
import os
import stat

from kvminit.common.errors import KvminitError


class OutputError(KvminitError):
    pass


def write_output(target: str, data: bytes, *, binary: str | None = None) -> None:
    """`-` is stdout; a regular path gets a temporary file renamed into place.

    `binary` names binary data (such as "blob"), which is never sent to a terminal.
    """
    if target == "-":
        import sys

        if binary and sys.stdout.isatty():
            raise OutputError(
                f"refusing to write binary {binary} data to a terminal; use -o FILE or a pipe"
            )
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as e:
            raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None
        return
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise OutputError(f"{target}: {e.strerror or e}") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise OutputError(f"{target}: is a directory")
        # A device or FIFO: write straight to it and report what it says.
        try:
            with open(target, "wb") as f:
                f.write(data)
        except OSError as e:
            raise OutputError(f"{target}: {e.strerror or e}") from None
        return
    import tempfile  # only when a file is written

    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".kvminit-", dir=directory)
    except OSError as e:
        raise OutputError(
            f"{target}: cannot create a file in {directory}: {e.strerror or e}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise OutputError(f"{target}: {e.strerror or e}") from None
        raise
