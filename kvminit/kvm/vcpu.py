"""vCPUs and guest memory on the real device: what `kvminit boot` needs, and only it.

A RealVcpuFd comes only from RealVmFd.create_vcpu.
"""

from __future__ import annotations

import ctypes
import mmap
import os

from . import abi
from .errors import KvmError
from .ioctl import ioctl as _ioctl
from .ioctl import libc


class RealVcpuFd:
    """A vCPU: its fd and the kvm_run area the kernel shares through mmap."""

    def __init__(self, fd: int, mmap_size: int) -> None:
        self.fd = fd
        try:
            self.run_area = mmap.mmap(
                fd, mmap_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
            )
        except OSError:
            os.close(fd)
            raise

    def get_regs(self) -> abi.kvm_regs:
        buf = bytearray(ctypes.sizeof(abi.kvm_regs))
        _ioctl(self.fd, abi.KVM_GET_REGS, "KVM_GET_REGS", buf)
        return abi.kvm_regs.from_buffer_copy(buf)

    def set_regs(self, regs: abi.kvm_regs) -> None:
        _ioctl(self.fd, abi.KVM_SET_REGS, "KVM_SET_REGS", bytearray(bytes(regs)))

    def get_sregs(self) -> abi.kvm_sregs:
        buf = bytearray(ctypes.sizeof(abi.kvm_sregs))
        _ioctl(self.fd, abi.KVM_GET_SREGS, "KVM_GET_SREGS", buf)
        return abi.kvm_sregs.from_buffer_copy(buf)

    def set_sregs(self, sregs: abi.kvm_sregs) -> None:
        _ioctl(self.fd, abi.KVM_SET_SREGS, "KVM_SET_SREGS", bytearray(bytes(sregs)))

    def run(self) -> abi.kvm_run_io:
        """KVM_RUN, then a copy of kvm_run's head and io member.

        A copy, not a view: a view would pin the mapping and keep close() from
        unmapping it while any frame still held it.
        """
        _ioctl(self.fd, abi.KVM_RUN, "KVM_RUN")
        return abi.kvm_run_io.from_buffer_copy(self.run_area)

    def io_data(self, offset: int, size: int) -> bytes:
        """Bytes of the shared kvm_run area (a KVM_EXIT_IO's data)."""
        return bytes(self.run_area[offset : offset + size])

    def set_io_data(self, offset: int, data: bytes) -> None:
        self.run_area[offset : offset + len(data)] = data

    def close(self) -> None:
        if self.fd >= 0:
            self.run_area.close()
            fd, self.fd = self.fd, -1
            os.close(fd)


class GuestMemory:
    """Anonymous, lazily-backed memory for guest RAM: pages exist once touched."""

    def __init__(self, size: int) -> None:
        self._mmap = libc().mmap
        self._mmap.restype = ctypes.c_void_p
        self._mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
        addr = self._mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            err = ctypes.get_errno()
            raise KvmError("mmap", err)
        self.address: int = addr
        self.size = size

    def write(self, offset: int, data: bytes) -> None:
        if not 0 <= offset <= self.size - len(data):
            raise ValueError("write outside guest memory")
        ctypes.memmove(self.address + offset, data, len(data))

    def close(self) -> None:
        if self.size:
            munmap = libc().munmap
            munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            munmap(ctypes.c_void_p(self.address), ctypes.c_size_t(self.size))
            self.size = 0


_MAP_NORESERVE = 0x4000  # <bits/mman-linux.h>; the mmap module does not export it everywhere
