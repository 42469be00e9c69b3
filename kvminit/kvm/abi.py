"""The KVM ABI as linux/kvm.h states it: ioctl numbers, KVM_CAP_* and structs.

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
# vCPU fd
KVM_RUN: Final = _IO(KVMIO, 0x80)
KVM_GET_REGS: Final = _IOR(KVMIO, 0x81, ctypes.sizeof(kvm_regs))
KVM_SET_REGS: Final = _IOW(KVMIO, 0x82, ctypes.sizeof(kvm_regs))
KVM_GET_SREGS: Final = _IOR(KVMIO, 0x83, ctypes.sizeof(kvm_sregs))
KVM_SET_SREGS: Final = _IOW(KVMIO, 0x84, ctypes.sizeof(kvm_sregs))

# gsi routing entry types / irqchips
KVM_IRQ_ROUTING_IRQCHIP: Final = 1
KVM_IRQ_ROUTING_MSI: Final = 2
KVM_IRQCHIP_PIC_MASTER: Final = 0
KVM_IRQCHIP_PIC_SLAVE: Final = 1
KVM_IRQCHIP_IOAPIC: Final = 2

# --- KVM_CAP_* -------------------------------------------------------------------
# Every capability of linux/kvm.h up to 243 (Linux 6.17), in the header's order.
_CAP_LIST: Final = """
IRQCHIP 0
HLT 1
MMU_SHADOW_CACHE_CONTROL 2
USER_MEMORY 3
SET_TSS_ADDR 4
VAPIC 6
EXT_CPUID 7
CLOCKSOURCE 8
NR_VCPUS 9
NR_MEMSLOTS 10
PIT 11
NOP_IO_DELAY 12
PV_MMU 13
MP_STATE 14
COALESCED_MMIO 15
SYNC_MMU 16
IOMMU 18
DESTROY_MEMORY_REGION_WORKS 21
USER_NMI 22
SET_GUEST_DEBUG 23
REINJECT_CONTROL 24
IRQ_ROUTING 25
IRQ_INJECT_STATUS 26
ASSIGN_DEV_IRQ 29
JOIN_MEMORY_REGIONS_WORKS 30
MCE 31
IRQFD 32
PIT2 33
SET_BOOT_CPU_ID 34
PIT_STATE2 35
IOEVENTFD 36
SET_IDENTITY_MAP_ADDR 37
XEN_HVM 38
ADJUST_CLOCK 39
INTERNAL_ERROR_DATA 40
VCPU_EVENTS 41
S390_PSW 42
PPC_SEGSTATE 43
HYPERV 44
HYPERV_VAPIC 45
HYPERV_SPIN 46
PCI_SEGMENT 47
PPC_PAIRED_SINGLES 48
INTR_SHADOW 49
DEBUGREGS 50
X86_ROBUST_SINGLESTEP 51
PPC_OSI 52
PPC_UNSET_IRQ 53
ENABLE_CAP 54
XSAVE 55
XCRS 56
PPC_GET_PVINFO 57
PPC_IRQ_LEVEL 58
ASYNC_PF 59
TSC_CONTROL 60
GET_TSC_KHZ 61
PPC_BOOKE_SREGS 62
SPAPR_TCE 63
PPC_SMT 64
PPC_RMA 65
MAX_VCPUS 66
PPC_HIOR 67
PPC_PAPR 68
SW_TLB 69
ONE_REG 70
S390_GMAP 71
TSC_DEADLINE_TIMER 72
S390_UCONTROL 73
SYNC_REGS 74
PCI_2_3 75
KVMCLOCK_CTRL 76
SIGNAL_MSI 77
PPC_GET_SMMU_INFO 78
S390_COW 79
PPC_ALLOC_HTAB 80
READONLY_MEM 81
IRQFD_RESAMPLE 82
PPC_BOOKE_WATCHDOG 83
PPC_HTAB_FD 84
S390_CSS_SUPPORT 85
PPC_EPR 86
ARM_PSCI 87
ARM_SET_DEVICE_ADDR 88
DEVICE_CTRL 89
IRQ_MPIC 90
PPC_RTAS 91
IRQ_XICS 92
ARM_EL1_32BIT 93
SPAPR_MULTITCE 94
EXT_EMUL_CPUID 95
HYPERV_TIME 96
IOAPIC_POLARITY_IGNORED 97
ENABLE_CAP_VM 98
S390_IRQCHIP 99
IOEVENTFD_NO_LENGTH 100
VM_ATTRIBUTES 101
ARM_PSCI_0_2 102
PPC_FIXUP_HCALL 103
PPC_ENABLE_HCALL 104
CHECK_EXTENSION_VM 105
S390_USER_SIGP 106
S390_VECTOR_REGISTERS 107
S390_MEM_OP 108
S390_USER_STSI 109
S390_SKEYS 110
MIPS_FPU 111
MIPS_MSA 112
S390_INJECT_IRQ 113
S390_IRQ_STATE 114
PPC_HWRNG 115
DISABLE_QUIRKS 116
X86_SMM 117
MULTI_ADDRESS_SPACE 118
GUEST_DEBUG_HW_BPS 119
GUEST_DEBUG_HW_WPS 120
SPLIT_IRQCHIP 121
IOEVENTFD_ANY_LENGTH 122
HYPERV_SYNIC 123
S390_RI 124
SPAPR_TCE_64 125
ARM_PMU_V3 126
VCPU_ATTRIBUTES 127
MAX_VCPU_ID 128
X2APIC_API 129
S390_USER_INSTR0 130
MSI_DEVID 131
PPC_HTM 132
SPAPR_RESIZE_HPT 133
PPC_MMU_RADIX 134
PPC_MMU_HASH_V3 135
IMMEDIATE_EXIT 136
MIPS_VZ 137
MIPS_TE 138
MIPS_64BIT 139
S390_GS 140
S390_AIS 141
SPAPR_TCE_VFIO 142
X86_DISABLE_EXITS 143
ARM_USER_IRQ 144
S390_CMMA_MIGRATION 145
PPC_FWNMI 146
PPC_SMT_POSSIBLE 147
HYPERV_SYNIC2 148
HYPERV_VP_INDEX 149
S390_AIS_MIGRATION 150
PPC_GET_CPU_CHAR 151
S390_BPB 152
GET_MSR_FEATURES 153
HYPERV_EVENTFD 154
HYPERV_TLBFLUSH 155
S390_HPAGE_1M 156
NESTED_STATE 157
ARM_INJECT_SERROR_ESR 158
MSR_PLATFORM_INFO 159
PPC_NESTED_HV 160
HYPERV_SEND_IPI 161
COALESCED_PIO 162
HYPERV_ENLIGHTENED_VMCS 163
EXCEPTION_PAYLOAD 164
ARM_VM_IPA_SIZE 165
MANUAL_DIRTY_LOG_PROTECT 166
HYPERV_CPUID 167
MANUAL_DIRTY_LOG_PROTECT2 168
PPC_IRQ_XIVE 169
ARM_SVE 170
ARM_PTRAUTH_ADDRESS 171
ARM_PTRAUTH_GENERIC 172
PMU_EVENT_FILTER 173
ARM_IRQ_LINE_LAYOUT_2 174
HYPERV_DIRECT_TLBFLUSH 175
PPC_GUEST_DEBUG_SSTEP 176
ARM_NISV_TO_USER 177
ARM_INJECT_EXT_DABT 178
S390_VCPU_RESETS 179
S390_PROTECTED 180
PPC_SECURE_GUEST 181
HALT_POLL 182
ASYNC_PF_INT 183
LAST_CPU 184
SMALLER_MAXPHYADDR 185
S390_DIAG318 186
STEAL_TIME 187
X86_USER_SPACE_MSR 188
X86_MSR_FILTER 189
ENFORCE_PV_FEATURE_CPUID 190
SYS_HYPERV_CPUID 191
DIRTY_LOG_RING 192
X86_BUS_LOCK_EXIT 193
PPC_DAWR1 194
SET_GUEST_DEBUG2 195
SGX_ATTRIBUTE 196
VM_COPY_ENC_CONTEXT_FROM 197
PTP_KVM 198
HYPERV_ENFORCE_CPUID 199
SREGS2 200
EXIT_HYPERCALL 201
PPC_RPT_INVALIDATE 202
BINARY_STATS_FD 203
EXIT_ON_EMULATION_FAILURE 204
ARM_MTE 205
VM_MOVE_ENC_CONTEXT_FROM 206
VM_GPA_BITS 207
XSAVE2 208
SYS_ATTRIBUTES 209
PPC_AIL_MODE_3 210
S390_MEM_OP_EXTENSION 211
PMU_CAPABILITY 212
DISABLE_QUIRKS2 213
VM_TSC_CONTROL 214
SYSTEM_EVENT_DATA 215
ARM_SYSTEM_SUSPEND 216
S390_PROTECTED_DUMP 217
X86_TRIPLE_FAULT_EVENT 218
X86_NOTIFY_VMEXIT 219
VM_DISABLE_NX_HUGE_PAGES 220
S390_ZPCI_OP 221
S390_CPU_TOPOLOGY 222
DIRTY_LOG_RING_ACQ_REL 223
S390_PROTECTED_ASYNC_DISABLE 224
DIRTY_LOG_RING_WITH_BITMAP 225
PMU_EVENT_MASKED_EVENTS 226
COUNTER_OFFSET 227
ARM_EAGER_SPLIT_CHUNK_SIZE 228
ARM_SUPPORTED_BLOCK_SIZES 229
ARM_SUPPORTED_REG_MASK_RANGES 230
USER_MEMORY2 231
MEMORY_FAULT_INFO 232
MEMORY_ATTRIBUTES 233
GUEST_MEMFD 234
VM_TYPES 235
PRE_FAULT_MEMORY 236
X86_APIC_BUS_CYCLES_NS 237
X86_GUEST_MODE 238
ARM_WRITABLE_IMP_ID_REGS 239
ARM_EL2 240
ARM_EL2_E2H0 241
RISCV_MP_STATE_RESET 242
ARM_CACHEABLE_PFNMAP_SUPPORTED 243
"""

KVM_CAPS: Final[dict[str, int]] = {
    f"KVM_CAP_{name}": int(number)
    for name, number in (line.split() for line in _CAP_LIST.strip().splitlines())
}
KVM_CAP_NAMES: Final[dict[int, str]] = {v: k for k, v in KVM_CAPS.items()}


def cap_number(name: str) -> int:
    return KVM_CAPS[name]


def cap_name(number: int) -> str:
    return KVM_CAP_NAMES.get(number, f"cap {number}")
