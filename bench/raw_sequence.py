"""The floor: QEMU's kvm_init ioctl sequence for `pc`, raw, with nothing of kvminit.

Run as a script it is the cold-process floor (a bare interpreter that imports pydantic and
does the same ioctls); imported, `sequence()` is the in-process floor.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct

KVMIO = 0xAE
KVM_GET_API_VERSION = KVMIO << 8 | 0x00
KVM_CREATE_VM = KVMIO << 8 | 0x01
KVM_GET_MSR_INDEX_LIST = 0xC004AE02
KVM_CHECK_EXTENSION = KVMIO << 8 | 0x03
KVM_SET_TSS_ADDR = KVMIO << 8 | 0x47
KVM_SET_IDENTITY_MAP_ADDR = 0x4008AE48
KVM_CREATE_IRQCHIP = KVMIO << 8 | 0x60
KVM_SET_GSI_ROUTING = 0x4008AE6A

# The capabilities kvm_init and kvm_arch_init ask, in order (as kvminit's trace shows).
CAPS = (
    10,
    9,
    66,
    3,
    21,
    4,
    7,
    14,
    15,
    30,
    41,
    51,
    50,
    77,
    75,
    26,
    81,
    36,
    32,
    82,
    101,
    122,
    55,
    56,
    35,
    37,
    117,
    0,
    25,
    25,
    25,
)


def _pc_routes() -> bytes:
    entries = [(i, 0, i) for i in range(8) if i != 2] + [(i, 1, i - 8) for i in range(8, 16)]
    entries += [(0, 2, 2)] + [(i, 2, i) for i in range(1, 24) if i != 2]
    body = b"".join(
        struct.pack("<IIII", gsi, 1, 0, 0) + struct.pack("<II", chip, pin) + bytes(24)
        for gsi, chip, pin in entries
    )
    return struct.pack("<II", len(entries), 0) + body


ROUTES = _pc_routes()


def sequence(close_vm: bool = True) -> int:
    """One init; returns the VM fd when close_vm is False (the caller closes it)."""
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        for cap in CAPS:
            fcntl.ioctl(fd, KVM_CHECK_EXTENSION, cap)
        probe = bytearray(4)
        with contextlib.suppress(OSError):  # E2BIG, with the count
            fcntl.ioctl(fd, KVM_GET_MSR_INDEX_LIST, probe, True)
        n = struct.unpack("<I", probe)[0]
        msrs = bytearray(struct.pack("<I", n) + bytes(4 * n))
        fcntl.ioctl(fd, KVM_GET_MSR_INDEX_LIST, msrs, True)
        fcntl.ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, struct.pack("<Q", 0xFEFFC000))
        fcntl.ioctl(vm, KVM_SET_TSS_ADDR, 0xFEFFD000 - (1 << 32))  # as a C int
        fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
        fcntl.ioctl(vm, KVM_SET_GSI_ROUTING, bytearray(ROUTES), True)
    finally:
        os.close(fd)
    if close_vm:
        os.close(vm)
        return -1
    return vm


if __name__ == "__main__":
    import sys

    from pydantic import BaseModel  # the floor pays for pydantic's import too

    if "--model" in sys.argv:
        # ... and, in the second floor, for building and using one model.
        class Machine(BaseModel):
            smp: int = 1

        Machine.model_validate({"smp": 2})
    sequence()
