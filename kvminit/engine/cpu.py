"""The guest CPU: the vendor and physical-address width x86_cpu_realizefn settles.

A pure rule of plain values (the model, the accelerator, the host's facts), so it
is tested without a host; a refusal raises QemuExit with the key it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import messages as msg
from .errors import QemuExit
from .layout import DEFAULT_PHYS_BITS

# Each model's CPUID vendor (target/i386/cpu.c builtin_x86_defs).
CPU_VENDOR = {"qemu64": "AuthenticAMD", "kvm64": "GenuineIntel", "486": "GenuineIntel"}
# Models without long mode: phys-bits is fixed (36 with PSE36, else 32).
CPU_32BIT_PHYS_BITS = {"486": 32}


@dataclass(frozen=True)
class GuestCpu:
    model: str
    vendor: str
    phys_bits: int


def guest_cpu(
    model: str,
    accel: str,
    requested_phys_bits: int | str | None,
    host_vendor: str,
    host_phys_bits: int,
) -> GuestCpu:
    if model == "host" and accel != "kvm":
        raise QemuExit("3", msg.CPU_HOST_REQUIRES_KVM, key="cpu")
    # Under KVM every model reports the host's vendor (accel_uses_host_cpuid).
    vendor = host_vendor if accel == "kvm" else CPU_VENDOR[model]
    if model in CPU_32BIT_PHYS_BITS:
        if requested_phys_bits is not None:
            raise QemuExit("3", msg.PHYS_BITS_32BIT, key="phys-bits")
        return GuestCpu(model, vendor, CPU_32BIT_PHYS_BITS[model])
    if requested_phys_bits == "host" or (requested_phys_bits is None and model == "host"):
        # host-phys-bits: the host's width (`-cpu host` turns it on by default).
        bits = host_phys_bits
    elif isinstance(requested_phys_bits, int):
        bits = requested_phys_bits
    else:
        bits = DEFAULT_PHYS_BITS
    return GuestCpu(model, vendor, bits)
