"""The ABI against the values linux/kvm.h gives (x86_64)."""

import ctypes

import pytest

from kvminit.kvm import abi
from kvminit.kvm.caps import Cap, cap_name

# (name, value) as the header's macros expand on x86_64.
REQUESTS = [
    ("KVM_GET_API_VERSION", 0xAE00),
    ("KVM_CREATE_VM", 0xAE01),
    ("KVM_GET_MSR_INDEX_LIST", 0xC004AE02),
    ("KVM_CHECK_EXTENSION", 0xAE03),
    ("KVM_GET_VCPU_MMAP_SIZE", 0xAE04),
    ("KVM_CREATE_VCPU", 0xAE41),
    ("KVM_SET_NR_MMU_PAGES", 0xAE44),
    ("KVM_SET_USER_MEMORY_REGION", 0x4020AE46),
    ("KVM_SET_TSS_ADDR", 0xAE47),
    ("KVM_SET_IDENTITY_MAP_ADDR", 0x4008AE48),
    ("KVM_CREATE_IRQCHIP", 0xAE60),
    ("KVM_IRQ_LINE", 0x4008AE61),
    ("KVM_IRQ_LINE_STATUS", 0xC008AE67),
    ("KVM_SET_GSI_ROUTING", 0x4008AE6A),
    ("KVM_ENABLE_CAP", 0x4068AEA3),
]


@pytest.mark.parametrize(("name", "value"), REQUESTS)
def test_request_numbers(name: str, value: int) -> None:
    assert getattr(abi, name) == value


@pytest.mark.parametrize(
    ("struct", "size"),
    [
        (abi.kvm_msr_list, 4),
        (abi.kvm_userspace_memory_region, 32),
        (abi.kvm_enable_cap, 104),
        (abi.kvm_irq_routing_irqchip, 8),
        (abi.kvm_irq_routing_msi, 16),
        (abi.kvm_irq_routing_entry, 48),
        (abi.kvm_irq_routing, 8),
        (abi.kvm_irq_level, 8),
    ],
)
def test_struct_sizes(struct: type, size: int) -> None:
    assert ctypes.sizeof(struct) == size


def test_routing_entry_union_offset() -> None:
    assert abi.kvm_irq_routing_entry.u.offset == 16


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("KVM_CAP_IRQCHIP", 0),
        ("KVM_CAP_USER_MEMORY", 3),
        ("KVM_CAP_SET_TSS_ADDR", 4),
        ("KVM_CAP_EXT_CPUID", 7),
        ("KVM_CAP_NR_VCPUS", 9),
        ("KVM_CAP_NR_MEMSLOTS", 10),
        ("KVM_CAP_MP_STATE", 14),
        ("KVM_CAP_COALESCED_MMIO", 15),
        ("KVM_CAP_DESTROY_MEMORY_REGION_WORKS", 21),
        ("KVM_CAP_IRQ_ROUTING", 25),
        ("KVM_CAP_IRQ_INJECT_STATUS", 26),
        ("KVM_CAP_JOIN_MEMORY_REGIONS_WORKS", 30),
        ("KVM_CAP_PIT_STATE2", 35),
        ("KVM_CAP_SET_IDENTITY_MAP_ADDR", 37),
        ("KVM_CAP_VCPU_EVENTS", 41),
        ("KVM_CAP_DEBUGREGS", 50),
        ("KVM_CAP_X86_ROBUST_SINGLESTEP", 51),
        ("KVM_CAP_XSAVE", 55),
        ("KVM_CAP_XCRS", 56),
        ("KVM_CAP_MAX_VCPUS", 66),
        ("KVM_CAP_PCI_2_3", 75),
        ("KVM_CAP_SIGNAL_MSI", 77),
        ("KVM_CAP_READONLY_MEM", 81),
        ("KVM_CAP_IRQFD_RESAMPLE", 82),
        ("KVM_CAP_S390_IRQCHIP", 99),
        ("KVM_CAP_VM_ATTRIBUTES", 101),
        ("KVM_CAP_X86_SMM", 117),
        ("KVM_CAP_SPLIT_IRQCHIP", 121),
        ("KVM_CAP_IOEVENTFD_ANY_LENGTH", 122),
        ("KVM_CAP_X2APIC_API", 129),
        ("KVM_CAP_VM_TYPES", 235),
    ],
)
def test_cap_numbers(name: str, number: int) -> None:
    assert Cap[name] == number
    assert cap_name(number) == name


def test_cap_table_is_one_to_one() -> None:
    assert len({c.value for c in Cap}) == len(Cap.__members__)
    assert cap_name(999) == "cap 999"
