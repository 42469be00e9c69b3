"""Writing results: atomically to regular paths, directly to anything else."""

from __future__ import annotations

import contextlib
import errno
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

        if sys.stdout is None:  # started with stdout closed (>&-)
            raise OutputError("cannot write to standard output: it is closed")
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
    # A symlink is followed, as cp and shells do: the file it names is replaced, the link
    # stays (a dangling link's target is created).
    target = os.path.realpath(target) if os.path.islink(target) else target
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise OutputError(f"{target}: {e.strerror or e}") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise OutputError(f"{target}: is a directory")
        _write_special(target, data, stat.S_ISFIFO(mode))
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


def _write_special(target: str, data: bytes, fifo: bool) -> None:
    """A device or FIFO: write straight to it and report what it says. A FIFO nobody
    reads would block for ever; opened non-blocking it says so at once (ENXIO)."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if fifo else 0)
    try:
        fd = os.open(target, flags)
    except OSError as e:
        if fifo and e.errno == errno.ENXIO:
            raise OutputError(f"{target}: a FIFO with no reader") from None
        raise OutputError(f"{target}: {e.strerror or e}") from None
    try:
        if fifo:
            os.set_blocking(fd, True)  # a reader is there: let it take its time
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as e:
        raise OutputError(f"{target}: {e.strerror or e}") from None
    finally:
        os.close(fd)
