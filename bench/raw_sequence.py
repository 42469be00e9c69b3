"""The floor: kvminit's own ioctl sequence for machines/pc.toml, raw, with nothing of kvminit.

The requests are bench/pc_sequence.py's, recorded from kvminit's CallLog under the
default QEMU (`python -m bench.record`; `python -m bench` refreshes it first), so
the floor asks the kernel exactly what kvminit asks. Run as a script it is the
cold-process floor (a bare interpreter that imports pydantic and does the same
ioctls); imported, `sequence()` is the in-process floor.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import struct
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pc_sequence import OPS

KVMIO = 0xAE


def _ioc(direction: int, nr: int, size: int) -> int:
    return direction << 30 | size << 16 | KVMIO << 8 | nr


REQUESTS = {
    "KVM_GET_API_VERSION": _ioc(0, 0x00, 0),
    "KVM_CREATE_VM": _ioc(0, 0x01, 0),
    "KVM_GET_MSR_INDEX_LIST": _ioc(3, 0x02, 4),
    "KVM_CHECK_EXTENSION": _ioc(0, 0x03, 0),
    "KVM_GET_MSR_FEATURE_INDEX_LIST": _ioc(3, 0x0A, 4),
    "KVM_SET_NR_MMU_PAGES": _ioc(0, 0x44, 0),
    "KVM_SET_TSS_ADDR": _ioc(0, 0x47, 0),
    "KVM_SET_IDENTITY_MAP_ADDR": _ioc(1, 0x48, 8),
    "KVM_CREATE_IRQCHIP": _ioc(0, 0x60, 0),
    "KVM_SET_GSI_ROUTING": _ioc(1, 0x6A, 8),
    "KVM_ENABLE_CAP": _ioc(1, 0xA3, 104),
    "KVM_X86_SET_MSR_FILTER": _ioc(1, 0xC6, 392),
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_bitmaps: list[ctypes.Array[ctypes.c_char]] = []  # alive while the filters point at them


def _arg(request: str, arg: Any) -> tuple[int | bytes | bytearray, bool]:
    """The argument as the kernel reads it, and whether the kernel writes it back."""
    if request in ("KVM_GET_MSR_INDEX_LIST", "KVM_GET_MSR_FEATURE_INDEX_LIST"):
        assert isinstance(arg, int)
        return bytearray(struct.pack("<I", arg) + bytes(4 * arg)), True
    if request == "KVM_SET_IDENTITY_MAP_ADDR":
        return struct.pack("<Q", arg), False
    if request == "KVM_ENABLE_CAP":
        cap, flags, args = arg
        values = list(args) + [0] * (4 - len(args))
        return struct.pack("<II4Q", cap, flags, *values) + bytes(64), False
    if request == "KVM_X86_SET_MSR_FILTER":
        flags, ranges = arg
        body = struct.pack("<I4x", flags)
        for rflags, nmsrs, base, bitmap in ranges:
            _bitmaps.append(ctypes.create_string_buffer(bitmap, len(bitmap)))
            body += struct.pack("<III4xQ", rflags, nmsrs, base, ctypes.addressof(_bitmaps[-1]))
        return body + bytes(392 - len(body)), False
    if request == "KVM_SET_GSI_ROUTING":
        routes = arg
        assert isinstance(routes, tuple)
        body = struct.pack("<II", len(routes), 0)
        for gsi, type_, flags, irqchip, pin, lo, hi, data in routes:
            if type_ == 1:
                union = struct.pack("<II", irqchip, pin)
            else:
                union = struct.pack("<III", lo, hi, data)
            body += struct.pack("<IIII", gsi, type_, flags, 0) + union + bytes(32 - len(union))
        return bytearray(body), True
    return (0 if arg is None else int(arg)), False


# Prepared once, as a C program would have them: (fd slot, request, argument, mutable).
STEPS = [(fd, REQUESTS[name], name, *_arg(name, arg)) for fd, name, arg in OPS if fd != "device"]


def sequence(close_vm: bool = True) -> int:
    """One init; returns the VM fd when close_vm is False (the caller closes it)."""
    fds: dict[str, int] = {"system": os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC), "vm": -1}
    try:
        for slot, request, name, arg, mutable in STEPS:
            fd = fds[slot]
            if isinstance(arg, int) and arg > 0x7FFFFFFF:
                _libc.ioctl(fd, request, arg)  # an unsigned long fcntl cannot pass
            elif mutable:
                # The count-only MSR list call answers E2BIG, as expected.
                with contextlib.suppress(OSError):
                    fcntl.ioctl(fd, request, arg, True)
            elif name == "KVM_CREATE_VM":
                fds["vm"] = int(fcntl.ioctl(fd, request, arg))
            else:
                fcntl.ioctl(fd, request, arg)
    finally:
        os.close(fds["system"])
    if close_vm:
        os.close(fds["vm"])
        return -1
    return fds["vm"]


if __name__ == "__main__":
    from pydantic import BaseModel  # the floor pays for pydantic's import too

    if "--model" in sys.argv:
        # ... and, in the second floor, for building and using one model.
        class Machine(BaseModel):
            smp: int = 1

        Machine.model_validate({"smp": 2})
    sequence()
