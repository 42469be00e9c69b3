"""Host profiles: a recorded (or documented) host's answers, replayed as a device.

The profile device keeps the kernel semantics the engine can observe: unknown
caps answer 0, a second irqchip is EEXIST, fewer than 64 MMU pages is EINVAL,
routing tables are checked as the kernel checks them, and every handle holds
a real file descriptor so fd numbers and leaks behave as with /dev/kvm.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import abi
from .device import KvmError, RoutingEntry, VmFd
from .errors import ProfileError

__all__ = ["HostProfile", "ProfileError", "ProfileHost", "builtin_profile", "load_profile"]

FORMAT = 1
DEFAULT_PROFILE = "amd-epyc-linux-6.18"

# Requests a fault may name; "open" is the open(2) of the device itself.
FAULTABLE = (
    "open", "KVM_GET_API_VERSION", "KVM_CHECK_EXTENSION", "KVM_CREATE_VM",
    "KVM_GET_MSR_INDEX_LIST", "KVM_SET_IDENTITY_MAP_ADDR", "KVM_SET_TSS_ADDR",
    "KVM_SET_NR_MMU_PAGES", "KVM_CREATE_IRQCHIP", "KVM_ENABLE_CAP", "KVM_SET_GSI_ROUTING",
    "KVM_SET_USER_MEMORY_REGION",
)  # fmt: skip

# Kernel limits the profile device enforces (arch/x86/kvm, virt/kvm).
KVM_MIN_ALLOC_MMU_PAGES = 64
MAX_NR_RESERVED_IOAPIC_PINS = 48
PIC_NUM_PINS = 16
KVM_IOAPIC_NUM_PINS = 24


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
        if not hasattr(errno, v) or not v.startswith("E"):
            raise ValueError(f"unknown errno name {v!r} (use a name such as EINTR or ENOMEM)")
        return v

    @property
    def code(self) -> int:
        return int(getattr(errno, self.errno))


def _check_caps(v: dict[str, int]) -> dict[str, int]:
    unknown = [name for name in v if name not in abi.KVM_CAPS]
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
    caps: dict[str, int] = Field(default_factory=dict)
    vm_caps: dict[str, int] = Field(default_factory=dict, alias="vm-caps")
    faults: list[Fault] = Field(default_factory=list)

    _check_caps = field_validator("caps", "vm_caps")(_check_caps)

    def cap(self, number: int) -> int:
        return self.caps.get(abi.cap_name(number), 0)

    def vm_cap(self, number: int) -> int:
        name = abi.cap_name(number)
        return self.vm_caps.get(name, self.caps.get(name, 0))

    def answers(self) -> tuple[dict[int, int], dict[int, int]]:
        """KVM_CHECK_EXTENSION answers by number: (system fd, VM fd)."""
        system = {abi.KVM_CAPS[k]: v for k, v in self.caps.items()}
        vm = {**system, **{abi.KVM_CAPS[k]: v for k, v in self.vm_caps.items()}}
        return system, vm

    def to_toml(self) -> str:
        return dump_toml(self)


# --- the device -----------------------------------------------------------------


@dataclass
class _Session:
    """State shared by the handles of one open: faults left to inject, the answers."""

    profile: HostProfile
    caps: dict[int, int]
    vm_caps: dict[int, int]
    remaining: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.remaining = [f.times for f in self.profile.faults]

    def call(self, name: str) -> None:
        if not self.remaining:
            return
        for i, fault in enumerate(self.profile.faults):
            if fault.ioctl != name:
                continue
            left = self.remaining[i]
            if left is None:
                raise KvmError(name, fault.code)
            if left > 0:
                self.remaining[i] = left - 1
                raise KvmError(name, fault.code)


def _hold_fd() -> int:
    # A real descriptor, so numbers are handed out and leaks show as the kernel's would.
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


class ProfileVmFd:
    def __init__(self, session: _Session) -> None:
        self._s = session
        self._p = session.profile
        self.fd = _hold_fd()
        self.irqchip = False
        self.split_irqchip = False
        self.vcpus = 0
        self.routes: list[RoutingEntry] = []
        self.mmu_pages: int | None = None

    def check_extension(self, cap: int) -> int:
        self._s.call("KVM_CHECK_EXTENSION")
        return self._s.vm_caps.get(cap, 0)

    def set_tss_addr(self, addr: int) -> None:
        self._s.call("KVM_SET_TSS_ADDR")

    def set_identity_map_addr(self, addr: int) -> None:
        self._s.call("KVM_SET_IDENTITY_MAP_ADDR")
        if not self._s.caps.get(abi.KVM_CAPS["KVM_CAP_SET_IDENTITY_MAP_ADDR"], 0):
            raise KvmError("KVM_SET_IDENTITY_MAP_ADDR", errno.ENOTTY)

    def set_nr_mmu_pages(self, pages: int) -> None:
        self._s.call("KVM_SET_NR_MMU_PAGES")
        if pages < KVM_MIN_ALLOC_MMU_PAGES:
            raise KvmError("KVM_SET_NR_MMU_PAGES", errno.EINVAL)
        self.mmu_pages = pages

    def create_irqchip(self) -> None:
        self._s.call("KVM_CREATE_IRQCHIP")
        if self.irqchip or self.split_irqchip:
            raise KvmError("KVM_CREATE_IRQCHIP", errno.EEXIST)
        self.irqchip = True

    def enable_cap(self, cap: int, args: Sequence[int] = (), flags: int = 0) -> None:
        self._s.call("KVM_ENABLE_CAP")
        if flags or not self._s.vm_caps.get(cap, 0):
            raise KvmError("KVM_ENABLE_CAP", errno.EINVAL)
        if cap == abi.KVM_CAPS["KVM_CAP_SPLIT_IRQCHIP"]:
            if (args[0] if args else 0) > MAX_NR_RESERVED_IOAPIC_PINS:
                raise KvmError("KVM_ENABLE_CAP", errno.EINVAL)
            if self.irqchip or self.split_irqchip:
                raise KvmError("KVM_ENABLE_CAP", errno.EEXIST)
            self.split_irqchip = True

    def set_gsi_routing(self, entries: Sequence[RoutingEntry]) -> None:
        self._s.call("KVM_SET_GSI_ROUTING")
        max_routes = self._s.caps.get(abi.KVM_CAPS["KVM_CAP_IRQ_ROUTING"], 0)
        if not max_routes:
            raise KvmError("KVM_SET_GSI_ROUTING", errno.ENOTTY)
        # kvm_vm_ioctl / kvm_set_irq_routing / kvm_set_routing_entry checks.
        if len(entries) > max_routes or not (self.irqchip or self.split_irqchip):
            raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
        # QEMU commits its table again after each append: the entries the kernel has
        # just accepted (the very same objects) need no second look.
        known = 0
        for old, new in zip(self.routes, entries, strict=False):
            if old is not new:
                break
            known += 1
        for e in entries[known:]:
            if e.gsi >= max_routes or e.flags:
                raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
            if e.type == abi.KVM_IRQ_ROUTING_IRQCHIP:
                pic = e.irqchip in (abi.KVM_IRQCHIP_PIC_MASTER, abi.KVM_IRQCHIP_PIC_SLAVE)
                if (
                    self.split_irqchip
                    or (pic and e.pin >= PIC_NUM_PINS // 2)
                    or (e.irqchip == abi.KVM_IRQCHIP_IOAPIC and e.pin >= KVM_IOAPIC_NUM_PINS)
                    or e.irqchip > abi.KVM_IRQCHIP_IOAPIC
                ):
                    raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
            elif e.type != abi.KVM_IRQ_ROUTING_MSI:
                raise KvmError("KVM_SET_GSI_ROUTING", errno.EINVAL)
        self.routes = list(entries)

    def set_user_memory_region(
        self, slot: int, flags: int, guest_phys_addr: int, memory_size: int, userspace_addr: int
    ) -> None:
        self._s.call("KVM_SET_USER_MEMORY_REGION")
        slots = self._s.caps.get(abi.KVM_CAPS["KVM_CAP_NR_MEMSLOTS"], 0) or 32
        page = 4096
        if slot >= slots or memory_size % page or guest_phys_addr % page or userspace_addr % page:
            raise KvmError("KVM_SET_USER_MEMORY_REGION", errno.EINVAL)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class ProfileKvm:
    def __init__(self, session: _Session) -> None:
        self._s = session
        self._p = session.profile
        self.fd = _hold_fd()

    def api_version(self) -> int:
        self._s.call("KVM_GET_API_VERSION")
        return self._p.api_version

    def check_extension(self, cap: int) -> int:
        self._s.call("KVM_CHECK_EXTENSION")
        return self._s.caps.get(cap, 0)

    def create_vm(self, vm_type: int = 0) -> VmFd:
        self._s.call("KVM_CREATE_VM")
        # KVM_CAP_VM_TYPES is a bitmask of accepted types; without it only 0.
        accepted = self._s.caps.get(abi.KVM_CAPS["KVM_CAP_VM_TYPES"], 0) or 1
        if vm_type < 0 or vm_type >= 32 or not accepted & (1 << vm_type):
            raise KvmError("KVM_CREATE_VM", errno.EINVAL)
        return ProfileVmFd(self._s)

    def msr_index_list(self) -> list[int]:
        self._s.call("KVM_GET_MSR_INDEX_LIST")
        return list(self._p.msr_indices)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class ProfileHost:
    """A profile as a host: each open starts a fresh session (faults re-armed)."""

    kind: Literal["real", "profile"] = "profile"

    def __init__(self, profile: HostProfile, origin: str = "") -> None:
        self.profile = profile
        self.name = profile.name
        self.origin = origin or profile.name
        self._caps, self._vm_caps = profile.answers()

    def open(self) -> ProfileKvm:
        session = _Session(self.profile, self._caps, self._vm_caps)
        session.call("open")
        return ProfileKvm(session)

    def uname_machine(self) -> str:
        return self.profile.uname_machine

    def cpu_vendor(self) -> str:
        return self.profile.cpu_vendor

    def phys_bits(self) -> int:
        return self.profile.phys_bits


# --- files ------------------------------------------------------------------------


def parse_profile(text: str, path: str = "<string>") -> HostProfile:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ProfileError(path, "TOML syntax error: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(path, f"TOML syntax error: {e}") from None
    try:
        return HostProfile.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        message = (
            "unknown key"
            if first["type"] == "extra_forbidden"
            else first["msg"].removeprefix("Value error, ")
        )
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise ProfileError(path, f"{where}: {message}{more}") from None


def load_profile(path: str | os.PathLike[str]) -> HostProfile:
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(name, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(name, f"cannot read: {e}") from None
    return parse_profile(text, name)


def builtin_names() -> list[str]:
    folder = resources.files("kvminit.hosts")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


_builtin_cache: dict[str, HostProfile] = {}


def builtin_profile(name: str) -> HostProfile:
    if name not in _builtin_cache:
        resource = resources.files("kvminit.hosts") / f"{name}.toml"
        if not resource.is_file():
            raise ProfileError(
                name,
                "no built-in host profile of that name; built-in: " + ", ".join(builtin_names()),
            )
        _builtin_cache[name] = parse_profile(
            resource.read_text(encoding="utf-8"), f"kvminit/hosts/{name}.toml"
        )
    return _builtin_cache[name]


# --- writing --------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def dump_toml(p: HostProfile) -> str:
    out = [
        "#:schema ../../schemas/host.schema.json",
        f"format = {p.format}",
        f"name = {_toml_value(p.name)}",
        f"description = {_toml_value(p.description)}",
        f"source = {_toml_value(p.source)}",
    ]
    if p.recorded is not None:
        out.append(f"recorded = {p.recorded.isoformat()}")
    out += [
        f"kernel-release = {_toml_value(p.kernel_release)}",
        f"uname-machine = {_toml_value(p.uname_machine)}",
        f"cpu-vendor = {_toml_value(p.cpu_vendor)}",
        f"phys-bits = {p.phys_bits}",
        f"api-version = {p.api_version}",
        "msr-indices = [",
    ]
    out += [
        f"  {', '.join(f'0x{m:x}' for m in p.msr_indices[i : i + 8])},"
        for i in range(0, len(p.msr_indices), 8)
    ]
    out += ["]", "", "[caps]  # KVM_CHECK_EXTENSION on the system fd; unlisted caps answer 0"]
    out += [f"{k} = {v}" for k, v in sorted(p.caps.items(), key=lambda kv: abi.KVM_CAPS[kv[0]])]
    out += ["", "[vm-caps]  # VM-fd answers that differ from the system fd"]
    out += [f"{k} = {v}" for k, v in sorted(p.vm_caps.items(), key=lambda kv: abi.KVM_CAPS[kv[0]])]
    for f in p.faults:
        out += [
            "",
            "[[faults]]",
            f"ioctl = {_toml_value(f.ioctl)}",
            f"errno = {_toml_value(f.errno)}",
        ]
        if f.times is not None:
            out.append(f"times = {f.times}")
    return "\n".join(out) + "\n"
