"""Writing results: atomically to regular paths, directly to anything else.

`Output` takes the data in pieces (a long `validate` report is written as it is made,
so it is never held whole); `write_output` is the one-piece case. Either way a regular
file appears whole or not at all: the pieces go to a temporary file in the same
directory that replaces the target only at `commit`, and `discard` removes it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from typing import BinaryIO

from kvminit.common.errors import KvminitError


class OutputError(KvminitError):
    pass


def write_output(target: str, data: bytes, *, binary: str | None = None) -> None:
    """`-` is stdout; a regular path gets a temporary file renamed into place.

    `binary` names binary data (such as "blob"), which is never sent to a terminal.
    """
    out = Output(target, binary=binary)
    try:
        out.write(data)
        out.commit()
    except BaseException:
        out.discard()
        raise


class Output:
    """Where a command's result goes, opened at the first write (so a command that fails
    before it has anything to write creates nothing)."""

    def __init__(self, target: str, *, binary: str | None = None) -> None:
        self.target = target
        self.binary = binary
        self._opened = False
        self._stream: BinaryIO | None = None  # stdout's buffer or the temporary file
        self._fd = -1  # a device or FIFO written directly
        self._tmp: str | None = None
        self._mode: int | None = None  # the replaced file's mode, kept

    def write_text(self, text: str) -> None:
        self.write(text.encode())

    def write(self, data: bytes) -> None:
        if not self._opened:
            self._open()
        if self._fd >= 0:
            _write_all(self._fd, data, self.target)
        elif self._stream is not None:
            try:
                self._stream.write(data)
            except OSError as e:
                raise self._error(e) from None

    def commit(self) -> None:
        """Everything written: flush it, and put a regular file in place."""
        if not self._opened:
            self._open()
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
            return
        stream = self._stream
        assert stream is not None
        if self._tmp is None:
            try:
                stream.flush()
            except OSError as e:
                raise self._error(e) from None
            return
        tmp = self._tmp
        try:
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
            if self._mode is not None:
                os.chmod(tmp, stat.S_IMODE(self._mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, self.target)
        except OSError as e:
            raise OutputError(f"{self.target}: {e.strerror or e}") from None
        self._tmp = None

    def discard(self) -> None:
        """Nothing of a regular file stays behind (what reached stdout or a FIFO has)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._tmp is not None:
            if self._stream is not None:
                with contextlib.suppress(OSError):
                    self._stream.close()
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None

    def _error(self, e: OSError) -> OutputError:
        if self._tmp is not None:
            return OutputError(f"{self.target}: {e.strerror or e}")
        return OutputError(f"cannot write to standard output: {e.strerror or e}")

    def _open(self) -> None:
        self._opened = True
        target = self.target
        if target == "-":
            if sys.stdout is None:  # started with stdout closed (>&-)
                raise OutputError("cannot write to standard output: it is closed")
            if self.binary and sys.stdout.isatty():
                raise OutputError(
                    f"refusing to write binary {self.binary} data to a terminal; "
                    "use -o FILE or a pipe"
                )
            self._stream = sys.stdout.buffer
            return
        # A symlink is followed, as cp and shells do: the file it names is replaced, the
        # link stays (a dangling link's target is created).
        target = os.path.realpath(target) if os.path.islink(target) else target
        self.target = target
        try:
            mode = os.stat(target).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as e:
            raise OutputError(f"{target}: {e.strerror or e}") from None
        if mode is not None and not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise OutputError(f"{target}: is a directory")
            self._fd = _open_special(target, stat.S_ISFIFO(mode))
            return
        import tempfile  # only when a file is written

        directory = os.path.dirname(os.path.abspath(target))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".kvminit-", dir=directory)
        except OSError as e:
            raise OutputError(
                f"{target}: cannot create a file in {directory}: {e.strerror or e}"
            ) from None
        self._tmp = tmp
        self._mode = mode
        self._stream = os.fdopen(fd, "wb")


def _open_special(target: str, fifo: bool) -> int:
    """A device or FIFO: written straight to. A FIFO nobody reads would block for ever;
    opened non-blocking it says so at once (ENXIO)."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if fifo else 0)
    try:
        fd = os.open(target, flags)
    except OSError as e:
        if fifo and e.errno == errno.ENXIO:
            raise OutputError(f"{target}: a FIFO with no reader") from None
        raise OutputError(f"{target}: {e.strerror or e}") from None
    if fifo:
        try:
            os.set_blocking(fd, True)  # a reader is there: let it take its time
        except OSError as e:
            os.close(fd)
            raise OutputError(f"{target}: {e.strerror or e}") from None
    return fd


def _write_all(fd: int, data: bytes, target: str) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as e:
        raise OutputError(f"{target}: {e.strerror or e}") from None
