"""The KVM ABI as linux/kvm.h states it: ioctl numbers and structs (KVM_CAP_* in caps.py).

Request numbers are built the way <asm-generic/ioctl.h> builds them, so each
definition reads like its line in the header.
"""

from __future__ import annotations

import ctypes
from typing import Final

# <asm-generic/ioctl.h> (x86 uses the generic layout).
_IOC_NRBITS, _IOC_TYPEBITS, _IOC_SIZEBITS = 8, 8, 14
_IOC_NRSHIFT = 0
_IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS
_IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS
_IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2


def _IOC(direction: int, type_: int, nr: int, size: int) -> int:
    return (
        (direction << _IOC_DIRSHIFT)
        | (type_ << _IOC_TYPESHIFT)
        | (nr << _IOC_NRSHIFT)
        | (size << _IOC_SIZESHIFT)
    )


def _IO(type_: int, nr: int) -> int:
    return _IOC(_IOC_NONE, type_, nr, 0)


def _IOR(type_: int, nr: int, size: int) -> int:
    return _IOC(_IOC_READ, type_, nr, size)


def _IOW(type_: int, nr: int, size: int) -> int:
    return _IOC(_IOC_WRITE, type_, nr, size)


def _IOWR(type_: int, nr: int, size: int) -> int:
    return _IOC(_IOC_READ | _IOC_WRITE, type_, nr, size)


KVM_API_VERSION: Final = 12
KVMIO: Final = 0xAE


# --- structs -----------------------------------------------------------------


class kvm_msr_list(ctypes.Structure):
    # __u32 nmsrs; __u32 indices[0]; the indices follow in the same buffer.
    _fields_ = [("nmsrs", ctypes.c_uint32)]


class kvm_msr_filter_range(ctypes.Structure):
    _fields_ = [
        ("flags", ctypes.c_uint32),
        ("nmsrs", ctypes.c_uint32),  # number of MSRs in the bitmap
        ("base", ctypes.c_uint32),  # MSR index the bitmap starts at
        ("bitmap", ctypes.c_void_p),  # a 1 bit allows the access, a 0 bit filters it
    ]


KVM_MSR_FILTER_MAX_RANGES: Final = 16


class kvm_msr_filter(ctypes.Structure):
    _fields_ = [
        ("flags", ctypes.c_uint32),
        ("ranges", kvm_msr_filter_range * KVM_MSR_FILTER_MAX_RANGES),
    ]


class kvm_userspace_memory_region(ctypes.Structure):
    _fields_ = [
        ("slot", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("guest_phys_addr", ctypes.c_uint64),
        ("memory_size", ctypes.c_uint64),
        ("userspace_addr", ctypes.c_uint64),
    ]


class kvm_enable_cap(ctypes.Structure):
    _fields_ = [
        ("cap", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("args", ctypes.c_uint64 * 4),
        ("pad", ctypes.c_uint8 * 64),
    ]


class kvm_irq_routing_irqchip(ctypes.Structure):
    _fields_ = [("irqchip", ctypes.c_uint32), ("pin", ctypes.c_uint32)]


class kvm_irq_routing_msi(ctypes.Structure):
    _fields_ = [
        ("address_lo", ctypes.c_uint32),
        ("address_hi", ctypes.c_uint32),
        ("data", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),  # union with devid
    ]


class _kvm_irq_routing_entry_u(ctypes.Union):
    _fields_ = [
        ("irqchip", kvm_irq_routing_irqchip),
        ("msi", kvm_irq_routing_msi),
        ("pad", ctypes.c_uint32 * 8),
    ]


class kvm_irq_routing_entry(ctypes.Structure):
    _fields_ = [
        ("gsi", ctypes.c_uint32),
        ("type", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
        ("u", _kvm_irq_routing_entry_u),
    ]


class kvm_irq_routing(ctypes.Structure):
    # __u32 nr; __u32 flags; struct kvm_irq_routing_entry entries[];
    _fields_ = [("nr", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


class kvm_irq_level(ctypes.Structure):
    _fields_ = [("irq", ctypes.c_uint32), ("level", ctypes.c_uint32)]


class kvm_regs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags")]  # fmt: skip


class kvm_segment(ctypes.Structure):
    _fields_ = [
        ("base", ctypes.c_uint64),
        ("limit", ctypes.c_uint32),
        ("selector", ctypes.c_uint16),
        ("type", ctypes.c_uint8),
        ("present", ctypes.c_uint8),
        ("dpl", ctypes.c_uint8),
        ("db", ctypes.c_uint8),
        ("s", ctypes.c_uint8),
        ("l", ctypes.c_uint8),
        ("g", ctypes.c_uint8),
        ("avl", ctypes.c_uint8),
        ("unusable", ctypes.c_uint8),
        ("padding", ctypes.c_uint8),
    ]


class kvm_dtable(ctypes.Structure):
    _fields_ = [
        ("base", ctypes.c_uint64),
        ("limit", ctypes.c_uint16),
        ("padding", ctypes.c_uint16 * 3),
    ]


KVM_NR_INTERRUPTS: Final = 256


class kvm_sregs(ctypes.Structure):
    _fields_ = [
        *((seg, kvm_segment) for seg in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")),
        ("gdt", kvm_dtable),
        ("idt", kvm_dtable),
        *(
            (reg, ctypes.c_uint64)
            for reg in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base")
        ),
        ("interrupt_bitmap", ctypes.c_uint64 * ((KVM_NR_INTERRUPTS + 63) // 64)),
    ]


class kvm_run_io(ctypes.Structure):
    """struct kvm_run's head and its KVM_EXIT_IO member, as laid out on x86_64."""

    _fields_ = [
        ("request_interrupt_window", ctypes.c_uint8),
        ("immediate_exit", ctypes.c_uint8),
        ("padding1", ctypes.c_uint8 * 6),
        ("exit_reason", ctypes.c_uint32),
        ("ready_for_interrupt_injection", ctypes.c_uint8),
        ("if_flag", ctypes.c_uint8),
        ("flags", ctypes.c_uint16),
        ("cr8", ctypes.c_uint64),
        ("apic_base", ctypes.c_uint64),
        # union at offset 32: struct { __u8 direction; __u8 size; __u16 port; __u32 count;
        # __u64 data_offset; } io;
        ("io_direction", ctypes.c_uint8),
        ("io_size", ctypes.c_uint8),
        ("io_port", ctypes.c_uint16),
        ("io_count", ctypes.c_uint32),
        ("io_data_offset", ctypes.c_uint64),
    ]


KVM_EXIT_IO_IN: Final = 0
KVM_EXIT_IO_OUT: Final = 1
KVM_EXIT_NAMES: Final = {
    0: "KVM_EXIT_UNKNOWN",
    1: "KVM_EXIT_EXCEPTION",
    2: "KVM_EXIT_IO",
    3: "KVM_EXIT_HYPERCALL",
    4: "KVM_EXIT_DEBUG",
    5: "KVM_EXIT_HLT",
    6: "KVM_EXIT_MMIO",
    7: "KVM_EXIT_IRQ_WINDOW_OPEN",
    8: "KVM_EXIT_SHUTDOWN",
    9: "KVM_EXIT_FAIL_ENTRY",
    10: "KVM_EXIT_INTR",
    17: "KVM_EXIT_INTERNAL_ERROR",
    24: "KVM_EXIT_SYSTEM_EVENT",
}
KVM_EXIT_IO: Final = 2
KVM_EXIT_HLT: Final = 5
KVM_EXIT_INTR: Final = 10


# --- ioctls --------------------------------------------------------------------
# /dev/kvm
KVM_GET_API_VERSION: Final = _IO(KVMIO, 0x00)
KVM_CREATE_VM: Final = _IO(KVMIO, 0x01)
KVM_GET_MSR_INDEX_LIST: Final = _IOWR(KVMIO, 0x02, ctypes.sizeof(kvm_msr_list))
KVM_CHECK_EXTENSION: Final = _IO(KVMIO, 0x03)
KVM_GET_VCPU_MMAP_SIZE: Final = _IO(KVMIO, 0x04)
KVM_GET_MSR_FEATURE_INDEX_LIST: Final = _IOWR(KVMIO, 0x0A, ctypes.sizeof(kvm_msr_list))
# VM fd
KVM_CREATE_VCPU: Final = _IO(KVMIO, 0x41)
KVM_SET_NR_MMU_PAGES: Final = _IO(KVMIO, 0x44)
KVM_SET_USER_MEMORY_REGION: Final = _IOW(KVMIO, 0x46, ctypes.sizeof(kvm_userspace_memory_region))
KVM_SET_TSS_ADDR: Final = _IO(KVMIO, 0x47)
KVM_SET_IDENTITY_MAP_ADDR: Final = _IOW(KVMIO, 0x48, ctypes.sizeof(ctypes.c_uint64))
KVM_CREATE_IRQCHIP: Final = _IO(KVMIO, 0x60)
KVM_IRQ_LINE: Final = _IOW(KVMIO, 0x61, ctypes.sizeof(kvm_irq_level))
KVM_IRQ_LINE_STATUS: Final = _IOWR(KVMIO, 0x67, ctypes.sizeof(kvm_irq_level))
KVM_SET_GSI_ROUTING: Final = _IOW(KVMIO, 0x6A, ctypes.sizeof(kvm_irq_routing))
KVM_ENABLE_CAP: Final = _IOW(KVMIO, 0xA3, ctypes.sizeof(kvm_enable_cap))
KVM_X86_SET_MSR_FILTER: Final = _IOW(KVMIO, 0xC6, ctypes.sizeof(kvm_msr_filter))
# vCPU fd
KVM_RUN: Final = _IO(KVMIO, 0x80)
KVM_GET_REGS: Final = _IOR(KVMIO, 0x81, ctypes.sizeof(kvm_regs))
KVM_SET_REGS: Final = _IOW(KVMIO, 0x82, ctypes.sizeof(kvm_regs))
KVM_GET_SREGS: Final = _IOR(KVMIO, 0x83, ctypes.sizeof(kvm_sregs))
KVM_SET_SREGS: Final = _IOW(KVMIO, 0x84, ctypes.sizeof(kvm_sregs))

# struct kvm_msr_filter flags and range flags
KVM_MSR_FILTER_DEFAULT_ALLOW: Final = 0
KVM_MSR_FILTER_DEFAULT_DENY: Final = 1
KVM_MSR_FILTER_READ: Final = 1 << 0
KVM_MSR_FILTER_WRITE: Final = 1 << 1

# gsi routing entry types / irqchips
KVM_IRQ_ROUTING_IRQCHIP: Final = 1
KVM_IRQ_ROUTING_MSI: Final = 2
KVM_IRQCHIP_PIC_MASTER: Final = 0
KVM_IRQCHIP_PIC_SLAVE: Final = 1
KVM_IRQCHIP_IOAPIC: Final = 2
