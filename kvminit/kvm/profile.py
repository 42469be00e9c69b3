"""HostProfile: what one host's kernel answers (DESIGN.md, "Host profile"), as a model.

The file format only; `emulated` turns a profile into a device, `profiles` reads,
finds and writes profile files.

Profiles come from pull requests, so every number is held to what a real kernel can
answer: an answer no kernel gives is a mistake or an attack (a GSI count of 2**40 once
made the engine allocate a bitmap of that many bits). The bounds below are the
kernel's own maxima, each with the definition it comes from; they are in the JSON
schema too (`kvminit schema`), so an editor flags them as they are typed.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from kvminit.common import toml
from kvminit.common.hints import close_matches

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

# --- What a kernel can answer -------------------------------------------------------------

# KVM_CHECK_EXTENSION's answer is the int kvm_vm_ioctl_check_extension() returns
# (virt/kvm/kvm_main.c, arch/x86/kvm/x86.c); a negative return is the ioctl failing
# (an errno), never an answer.
CAP_MAX = 2**31 - 1


class CapLimit(NamedTuple):
    maximum: int
    source: str  # the kernel macro the maximum comes from (see the comments below)


# Capabilities whose answer is a count with a kernel-wide maximum below CAP_MAX. The
# others answer a flag, a bitmask or a size in bytes: CAP_MAX bounds them.
CAP_LIMITS: dict[Cap, CapLimit] = {
    # x86 answers min(num_online_cpus(), KVM_MAX_VCPUS) (arch/x86/kvm/x86.c); older
    # kernels answered KVM_SOFT_MAX_VCPUS, smaller still.
    Cap.KVM_CAP_NR_VCPUS: CapLimit(4096, "KVM_MAX_VCPUS"),
    # KVM_MAX_VCPUS (arch/x86/include/asm/kvm_host.h): 1024 (288 and less before 5.15),
    # or CONFIG_KVM_MAX_NR_VCPUS in 6.x (arch/x86/kvm/Kconfig: range 1024..4096, 4096
    # with MAXSMP).
    Cap.KVM_CAP_MAX_VCPUS: CapLimit(4096, "KVM_MAX_VCPUS"),
    # KVM_MAX_VCPU_IDS = KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO (4): APIC IDs encode topology.
    Cap.KVM_CAP_MAX_VCPU_ID: CapLimit(16384, "KVM_MAX_VCPU_IDS"),
    # KVM_MAX_IRQ_ROUTES (include/linux/kvm_host.h): 4096; 1024 on x86 in older kernels.
    # QEMU sizes its GSI bitmap by this answer (kvm_init_irq_routing).
    Cap.KVM_CAP_IRQ_ROUTING: CapLimit(4096, "KVM_MAX_IRQ_ROUTES"),
    # KVM_USER_MEM_SLOTS = KVM_MEM_SLOTS_NUM (SHRT_MAX) - KVM_INTERNAL_MEM_SLOTS
    # (include/linux/kvm_host.h): x86 answers 32764, arches without internal slots 32767.
    Cap.KVM_CAP_NR_MEMSLOTS: CapLimit(32767, "KVM_USER_MEM_SLOTS"),
    # KVM_MAX_MCE_BANKS (arch/x86/kvm/x86.c, later x86.h).
    Cap.KVM_CAP_MCE: CapLimit(32, "KVM_MAX_MCE_BANKS"),
    # KVM_MAX_NR_ADDRESS_SPACES (arch/x86/include/asm/kvm_host.h): normal and SMM.
    Cap.KVM_CAP_MULTI_ADDRESS_SPACE: CapLimit(2, "KVM_MAX_NR_ADDRESS_SPACES"),
}

# KVM_GET_API_VERSION: KVM_API_VERSION is 12 on every kernel since Linux 2.6.22 (2007);
# other small values stay allowed so QEMU's "too old" / "not supported" can be replayed.
API_VERSION_MAX = 255

# KVM_GET_MSR_INDEX_LIST answers msrs_to_save[] and emulated_msrs[] (arch/x86/kvm/x86.c),
# a few hundred at most; the feature list (msr_based_features[]) fewer still.
MSR_LIST_MAX = 4096

# [[faults]]: 15 requests can fail; a few hundred entries order any sequence of errnos.
FAULTS_MAX = 256
# More than one init makes of any request (QEMU retries KVM_CREATE_VM on EINTR; kvminit
# stops that at 1000); leave `times` out for "every time".
FAULT_TIMES_MAX = 10_000

# uname(2)'s release and machine fields: __NEW_UTS_LEN (include/uapi/linux/utsname.h).
UTS_LEN = 64
NAME_MAX = 128
DESCRIPTION_MAX = 4096

# Every bounded number of the file by its key, for the model and for messages.
RANGES: dict[str, tuple[int, int]] = {
    "phys-bits": (32, 52),
    "api-version": (0, API_VERSION_MAX),
    "msr-indices": (0, 0xFFFFFFFF),
    "msr-feature-indices": (0, 0xFFFFFFFF),
    "times": (1, FAULT_TIMES_MAX),
}

# C0, DEL, C1 and the bidirectional overrides: what would act on a terminal or reorder
# what a reviewer reads, rather than print.
_CONTROL_RANGES = ((0x00, 0x1F), (0x7F, 0x9F), (0x200E, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069))
_CONTROL = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _CONTROL_RANGES) + "]")
# The same class for the JSON schema, in ECMA-262's \uXXXX spelling.
_PRINTABLE_SCHEMA: dict[str, Any] = {
    "pattern": "^[^" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in _CONTROL_RANGES) + "]*$"
}


def _printable(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("may not contain control characters")
    return v


CapValue = Annotated[int, Field(strict=True, ge=0, le=CAP_MAX)]
MsrIndex = Annotated[int, Field(strict=True, ge=0, le=RANGES["msr-indices"][1])]


def render_value(value: object) -> str:
    """A value as the file would spell it, escaped and cut short, for a message."""
    try:
        text = toml.value(value)
    except (TypeError, ValueError):
        text = repr(value)
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[:200])
    return text if len(text) <= 60 else text[:57] + "..."


HINTS = 20  # "did you mean" for this many unknown names of a file at most


def cap_problems(caps: object) -> list[tuple[str, str]]:
    """(name, why) for every entry of a [caps] table no kernel could answer."""
    if not isinstance(caps, dict):
        return []
    problems: list[tuple[str, str]] = []
    for name, value in caps.items():
        if name not in Cap.__members__:
            text = str(name)
            # difflib costs a few ms a name: hints for the first few only, so a file of
            # thousands of made-up names is refused as fast as one.
            close = close_matches(text[:100], Cap.__members__) if len(problems) < HINTS else []
            hint = f"did you mean '{close[0]}'?" if close else "names as in linux/kvm.h"
            shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "..."
            problems.append((name, f"unknown capability {shown} ({hint})"))
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append((name, f"must be an integer (got {render_value(value)})"))
            continue
        limit = CAP_LIMITS.get(Cap[name])
        maximum, source = limit or (CAP_MAX, "KVM_CHECK_EXTENSION answers a C int")
        if not 0 <= value <= maximum:
            problems.append((name, f"must be between 0 and {maximum}, {source} (got {value})"))
    return problems


def _check_caps(v: Any) -> Any:
    # All of a table's problems at once, each under its own key (profiles.parse_profile
    # spreads them out); the error's own text is the first.
    problems = cap_problems(v)
    if problems:
        raise PydanticCustomError(
            "cap_answer", "{first}", {"first": problems[0][1], "problems": tuple(problems)}
        )
    return v


def _caps_schema(what: str) -> dict[str, Any]:
    bounded = {
        cap.name: {
            "type": "integer",
            "minimum": 0,
            "maximum": limit.maximum,
            "description": f"{limit.source}: at most {limit.maximum}",
        }
        for cap, limit in CAP_LIMITS.items()
    }
    return {
        "propertyNames": {"enum": [c.name for c in Cap]},
        "properties": bounded,
        "description": (
            f"KVM_CHECK_EXTENSION answers on the {what}, by the capability's name in "
            "linux/kvm.h. Each is 0 to 2147483647 (the ioctl answers a C int; a negative "
            "return is an error, not an answer); counts are bounded by the kernel's "
            "maxima: " + "; ".join(f"{c.name} <= {lim.maximum} ({lim.source})"
                                   for c, lim in CAP_LIMITS.items())
        ),
    }  # fmt: skip


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ioctl: str = Field(
        description="The request to fail: 'open' (of the device) or an ioctl name",
        json_schema_extra={"enum": list(FAULTABLE)},
    )
    errno: str = Field(
        description="The errno it fails with, by name: EINTR, ENOMEM, ...",
        json_schema_extra={"pattern": "^E[A-Z0-9]{1,20}$"},
    )
    times: (
        Annotated[int, Field(strict=True, ge=RANGES["times"][0], le=RANGES["times"][1])] | None
    ) = Field(
        default=None,
        description=f"Fail this many times (1 to {FAULT_TIMES_MAX}), then answer; "
        "leave out to fail every time",
    )

    @field_validator("ioctl")
    @classmethod
    def _known_ioctl(cls, v: str) -> str:
        if v not in FAULTABLE:
            raise ValueError("unknown request; allowed: " + ", ".join(FAULTABLE))
        return v

    @field_validator("errno")
    @classmethod
    def _known_errno(cls, v: str) -> str:
        # Only the names of errnos this system has: each is a real code below 4096.
        if not re.fullmatch(r"E[A-Z0-9]{1,20}", v) or not isinstance(getattr(errno, v, None), int):
            raise ValueError(
                f"unknown errno name {render_value(v)} (use a name such as EINTR or ENOMEM)"
            )
        return v

    @property
    def code(self) -> int:
        return int(getattr(errno, self.errno))


class HostProfile(BaseModel):
    """What one host's kernel answers (DESIGN.md, "Host profile")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: Literal[1]
    name: str = Field(
        min_length=1,
        max_length=NAME_MAX,
        description="The profile's name, as outputs show it (printable, at most 128 characters)",
        json_schema_extra=_PRINTABLE_SCHEMA,
    )
    description: str = Field(
        default="",
        max_length=DESCRIPTION_MAX,
        description="Where the answers come from (one line, at most 4096 characters)",
        json_schema_extra=_PRINTABLE_SCHEMA,
    )
    source: Literal["recorded", "synthetic"]
    recorded: dt.date | None = None
    kernel_release: str = Field(
        alias="kernel-release",
        max_length=UTS_LEN,
        description="uname -r (at most 64 characters, __NEW_UTS_LEN)",
        json_schema_extra=_PRINTABLE_SCHEMA,
    )
    uname_machine: str = Field(
        alias="uname-machine",
        max_length=UTS_LEN,
        description="uname -m, e.g. x86_64 (at most 64 characters, __NEW_UTS_LEN)",
        json_schema_extra=_PRINTABLE_SCHEMA,
    )
    cpu_vendor: Literal["AuthenticAMD", "GenuineIntel"] = Field(alias="cpu-vendor")
    phys_bits: int = Field(
        alias="phys-bits",
        strict=True,
        ge=RANGES["phys-bits"][0],
        le=RANGES["phys-bits"][1],
        description="The host CPU's physical address bits (CPUID 0x80000008): 32 to 52",
    )
    api_version: int = Field(
        alias="api-version",
        strict=True,
        ge=RANGES["api-version"][0],
        le=RANGES["api-version"][1],
        description="KVM_GET_API_VERSION: 12 (KVM_API_VERSION) on every kernel since 2.6.22; "
        f"0 to {API_VERSION_MAX} to replay QEMU's version checks",
    )
    msr_indices: list[MsrIndex] = Field(
        default_factory=list,
        alias="msr-indices",
        max_length=MSR_LIST_MAX,
        description="KVM_GET_MSR_INDEX_LIST: MSR numbers (0 to 0xffffffff), at most "
        f"{MSR_LIST_MAX} (kernels list a few hundred: msrs_to_save[], emulated_msrs[])",
    )
    # KVM_GET_MSR_FEATURE_INDEX_LIST (QEMU 7.2+ reads it in kvm_arch_init)
    msr_feature_indices: list[MsrIndex] = Field(
        default_factory=list,
        alias="msr-feature-indices",
        max_length=MSR_LIST_MAX,
        description="KVM_GET_MSR_FEATURE_INDEX_LIST: MSR numbers (0 to 0xffffffff), at most "
        f"{MSR_LIST_MAX}",
    )
    # The QEMU version installed there (`kvminit probe` records the one on PATH).
    qemu: Annotated[str, Field(pattern=r"^\d{1,3}\.\d{1,3}(\.\d{1,4})?$")] | None = Field(
        default=None, description="The QEMU version installed on the host, e.g. 7.2 or 10.0.2"
    )
    caps: dict[str, CapValue] = Field(
        default_factory=dict, json_schema_extra=_caps_schema("system fd (/dev/kvm)")
    )
    vm_caps: dict[str, CapValue] = Field(
        default_factory=dict,
        alias="vm-caps",
        json_schema_extra=_caps_schema("VM fd, where they differ from the system fd's"),
    )
    faults: list[Fault] = Field(
        default_factory=list,
        max_length=FAULTS_MAX,
        description=f"Requests that fail with an errno, in order (at most {FAULTS_MAX})",
    )

    _check_caps = field_validator("caps", "vm_caps", mode="before")(_check_caps)
    _printable = field_validator(
        "name", "description", "kernel_release", "uname_machine", mode="after"
    )(_printable)

    def answers(self) -> tuple[dict[int, int], dict[int, int]]:
        """KVM_CHECK_EXTENSION answers by number: (system fd, VM fd)."""
        system = {Cap[k].value: v for k, v in self.caps.items()}
        vm = {**system, **{Cap[k].value: v for k, v in self.vm_caps.items()}}
        return system, vm


# The keys a profile file may use (the model also takes the Python names).
KEYS = tuple(f.alias or name for name, f in HostProfile.model_fields.items())
