"""ioctl(2) on a real fd: fcntl.ioctl, or the C library for arguments fcntl cannot pass."""

from __future__ import annotations

import ctypes
import fcntl
import os

from .errors import KvmError

_INT_MAX = 0x7FFFFFFF
_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library, loaded once, with errno kept for ctypes.get_errno()."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
        _libc.ioctl.restype = ctypes.c_int
    return _libc


def _ioctl_ulong(fd: int, request: int, arg: int) -> int:
    # fcntl.ioctl reads an integer argument as a C int, but _IO requests such
    # as KVM_SET_TSS_ADDR take an unsigned long (0xfeffd000 does not fit).
    ret = int(libc().ioctl(fd, request, arg))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def ioctl(fd: int, request: int, name: str, arg: int | bytes | bytearray = 0) -> int:
    """The ioctl's return value; KvmError(name, errno) when the kernel refuses.

    A bytearray goes to the kernel as is and takes back what it writes (an
    immutable buffer is copied and capped at 1024 bytes by fcntl).
    """
    try:
        if isinstance(arg, bytearray):
            return int(fcntl.ioctl(fd, request, arg, True))
        if isinstance(arg, int) and arg > _INT_MAX:
            return _ioctl_ulong(fd, request, arg)
        result = fcntl.ioctl(fd, request, arg)
        return result if isinstance(result, int) else 0
    except OSError as e:
        raise KvmError(name, e.errno or 0) from None
