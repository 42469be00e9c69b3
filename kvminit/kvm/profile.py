"""HostProfile: what one host's kernel answers (DESIGN.md, "Host profile"), as a model.

The file format only; `emulated` turns a profile into a device, `profiles` reads,
finds and writes profile files.
"""

from __future__ import annotations

import datetime as dt
import errno
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .caps import Cap

FORMAT = 1

# Requests a fault may name; "open" is the open(2) of the device itself.
FAULTABLE = (
    "open", "KVM_GET_API_VERSION", "KVM_CHECK_EXTENSION", "KVM_CREATE_VM",
    "KVM_GET_MSR_INDEX_LIST", "KVM_SET_IDENTITY_MAP_ADDR", "KVM_SET_TSS_ADDR",
    "KVM_SET_NR_MMU_PAGES", "KVM_CREATE_IRQCHIP", "KVM_ENABLE_CAP", "KVM_SET_GSI_ROUTING",
    "KVM_SET_USER_MEMORY_REGION", "KVM_GET_MSR_FEATURE_INDEX_LIST", "KVM_X86_SET_MSR_FILTER",
    "KVM_CREATE_VCPU",
)  # fmt: skip


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ioctl: str
    errno: str
    times: Annotated[int, Field(ge=1)] | None = None

    @field_validator("ioctl")
    @classmethod
    def _known_ioctl(cls, v: str) -> str:
        if v not in FAULTABLE:
            raise ValueError("unknown request; allowed: " + ", ".join(FAULTABLE))
        return v

    @field_validator("errno")
    @classmethod
    def _known_errno(cls, v: str) -> str:
        if not v.startswith("E") or not isinstance(getattr(errno, v, None), int):
            raise ValueError(f"unknown errno name {v!r} (use a name such as EINTR or ENOMEM)")
        return v

    @property
    def code(self) -> int:
        return int(getattr(errno, self.errno))


def _check_caps(v: dict[str, int]) -> dict[str, int]:
    unknown = [name for name in v if name not in Cap.__members__]
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r} (names as in linux/kvm.h)")
    return v


class HostProfile(BaseModel):
    """What one host's kernel answers (DESIGN.md, "Host profile")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: Literal[1]
    name: str
    description: str = ""
    source: Literal["recorded", "synthetic"]
    recorded: dt.date | None = None
    kernel_release: str = Field(alias="kernel-release")
    uname_machine: str = Field(alias="uname-machine")
    cpu_vendor: Literal["AuthenticAMD", "GenuineIntel"] = Field(alias="cpu-vendor")
    phys_bits: Annotated[int, Field(ge=32, le=52)] = Field(alias="phys-bits")
    api_version: int = Field(alias="api-version")
    msr_indices: list[Annotated[int, Field(ge=0, le=0xFFFFFFFF)]] = Field(
        default_factory=list, alias="msr-indices"
    )
    # KVM_GET_MSR_FEATURE_INDEX_LIST (QEMU 7.2+ reads it in kvm_arch_init)
    msr_feature_indices: list[Annotated[int, Field(ge=0, le=0xFFFFFFFF)]] = Field(
        default_factory=list, alias="msr-feature-indices"
    )
    # The QEMU version installed there (`kvminit probe` records the one on PATH).
    qemu: Annotated[str, Field(pattern=r"^\d{1,3}\.\d{1,3}(\.\d{1,4})?$")] | None = None
    caps: dict[str, int] = Field(default_factory=dict)
    vm_caps: dict[str, int] = Field(default_factory=dict, alias="vm-caps")
    faults: list[Fault] = Field(default_factory=list)

    _check_caps = field_validator("caps", "vm_caps")(_check_caps)

    def answers(self) -> tuple[dict[int, int], dict[int, int]]:
        """KVM_CHECK_EXTENSION answers by number: (system fd, VM fd)."""
        system = {Cap[k].value: v for k, v in self.caps.items()}
        vm = {**system, **{Cap[k].value: v for k, v in self.vm_caps.items()}}
        return system, vm
