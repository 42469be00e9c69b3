"""-m size,slots=,maxmem=: QEMU's checks of memory hotplug, per version.

Two stages. When the options are read (before the accelerator): 2.6's
set_memory_options(), with the -m option as location, wants slots and maxmem
together; 7.2+'s machine_set_mem() takes either. On the board, pc_memory_init()
refuses hotplug where the machine has no device memory, and checks the slot count,
maxmem's alignment and the region's end. Pure functions: refusals raise QemuExit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kvminit.engine.layout import PAGE_SIZE, DeviceMemory, GiB, RamSplit, round_up

from .errors import QemuExit
from .qemu import Qemu

ACPI_MAX_RAM_SLOTS: Final = 256

# 7.2 hw/core/machine.c:586-602, 10.0 :659-675 (machine_set_mem, no location).
MAXMEM_BELOW_SIZE: Final = (
    "invalid value of maxmem: maximum memory size (0x{maxmem:x}) must be at least the initial "
    "memory size (0x{size:x})"
)
MAXMEM_EQUALS_SIZE: Final = (
    "invalid value of maxmem: memory slots were specified but maximum memory size (0x{maxmem:x}) "
    "is equal to the initial memory size (0x{size:x})"
)
SLOTS_WITHOUT_MAXMEM: Final = "slots specified but no max-size"
# 2.6 vl.c set_memory_options(), after loc "-m ARG: ".
MAXMEM_BELOW_SIZE_2_6: Final = (
    "invalid value of -m option maxmem: maximum memory size (0x{maxmem:x}) must be at least the "
    "initial memory size (0x{size:x})"
)
NO_SLOTS_2_6: Final = (
    "invalid value of -m option: maxmem was specified, but no hotplug slots were specified"
)
MAXMEM_EQUALS_SIZE_2_6: Final = (
    "invalid value of -m option maxmem: memory slots were specified but maximum memory size "
    "(0x{maxmem:x}) is equal to the initial memory size (0x{size:x})"
)
MISSING_OPTION_2_6: Final = "invalid -m option value: missing '{name}' option"
# pc_memory_init() (every version, no location).
HOTPLUG_NOT_SUPPORTED: Final = "\"-memory 'slots|maxmem'\" is not supported by: {machine}"
TOO_MANY_SLOTS: Final = "unsupported amount of memory slots: {slots}"
MAXMEM_UNALIGNED: Final = "maximum memory size must by aligned to multiple of {align} bytes"
MAXMEM_WRAPS: Final = "unsupported amount of maximum memory: {maxmem:x}"


@dataclass(frozen=True)
class Memory:
    """ram_size, maxram_size and ram_slots as QEMU settles them."""

    size: int
    maxram: int
    slots: int

    @property
    def hotplug(self) -> bool:
        return self.size < self.maxram


def set_memory(
    qemu: Qemu, size: int, slots: int | None, maxmem: int | None, location: str
) -> Memory:
    """The option stage. `location` is 2.6's "-m ARG: " prefix."""
    if not qemu.at_least(7, 2):
        return _set_memory_options_2_6(size, slots, maxmem, location)
    if maxmem is not None:
        if maxmem < size:
            raise QemuExit("1", MAXMEM_BELOW_SIZE.format(maxmem=maxmem, size=size), key="maxmem")
        if slots and maxmem == size:
            raise QemuExit("1", MAXMEM_EQUALS_SIZE.format(maxmem=maxmem, size=size), key="slots")
        return Memory(size, maxmem, slots or 0)
    if slots is not None:
        raise QemuExit("1", SLOTS_WITHOUT_MAXMEM, key="slots")
    return Memory(size, size, 0)


def _set_memory_options_2_6(
    size: int, slots: int | None, maxmem: int | None, location: str
) -> Memory:
    if maxmem is not None and slots is not None:
        if maxmem < size:
            text = MAXMEM_BELOW_SIZE_2_6.format(maxmem=maxmem, size=size)
            raise QemuExit("1", location + text, key="maxmem")
        if maxmem > size and slots == 0:
            raise QemuExit("1", location + NO_SLOTS_2_6, key="slots")
        if maxmem == size and slots != 0:
            text = MAXMEM_EQUALS_SIZE_2_6.format(maxmem=maxmem, size=size)
            raise QemuExit("1", location + text, key="slots")
        return Memory(size, maxmem, slots)
    if maxmem is not None:
        raise QemuExit("1", location + MISSING_OPTION_2_6.format(name="slots"), key="maxmem")
    if slots is not None:
        raise QemuExit("1", location + MISSING_OPTION_2_6.format(name="maxmem"), key="slots")
    return Memory(size, size, 0)


def device_memory(
    mem: Memory, split: RamSplit, has_reserved_memory: bool, enforce_aligned_dimm: bool
) -> DeviceMemory | None:
    """pc_get_device_memory_range(), when there is room to hotplug into."""
    if not (has_reserved_memory and mem.hotplug):
        return None
    size = mem.maxram - mem.size + (GiB * mem.slots if enforce_aligned_dimm else 0)
    return DeviceMemory(round_up(split.above_4g_end, GiB), size)


def check_hotplug(machine_name: str, mem: Memory, has_reserved_memory: bool) -> None:
    """pc_memory_init()'s refusals, in its order, before the region is created."""
    if not has_reserved_memory and (mem.slots != 0 or mem.maxram > mem.size):
        key = "slots" if mem.slots else "maxmem"
        raise QemuExit("3", HOTPLUG_NOT_SUPPORTED.format(machine=machine_name), key=key)
    if not (has_reserved_memory and mem.hotplug):
        return
    if mem.slots > ACPI_MAX_RAM_SLOTS:
        raise QemuExit("3", TOO_MANY_SLOTS.format(slots=mem.slots), key="slots")
    if mem.maxram % PAGE_SIZE:
        raise QemuExit("3", MAXMEM_UNALIGNED.format(align=PAGE_SIZE), key="maxmem")


def check_region(devmem: DeviceMemory, mem: Memory) -> None:
    if devmem.end >= 1 << 64:
        raise QemuExit("3", MAXMEM_WRAPS.format(maxmem=mem.maxram), key="maxmem")


def reserved_memory_end(devmem: DeviceMemory | None, broken_reserved_end: bool) -> int | None:
    """fw_cfg file etc/reserved-memory-end: where hotplugged memory ends, GiB-aligned."""
    if devmem is None:
        return None
    end = devmem.base if broken_reserved_end else devmem.end
    return round_up(end, GiB)
