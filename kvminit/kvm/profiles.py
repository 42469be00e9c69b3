"""Profile files: reading, the built-in registry, writing, and the host a profile makes.

`profile_host` is the one way a profile becomes a host: the emulated device, seen
through the fault hook when the profile injects [[faults]].
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from pydantic import ValidationError

from kvminit.common import toml
from kvminit.common.files import InputError, read_regular

from .caps import Cap
from .device import KvmHost
from .emulated import ProfileHost
from .errors import ProfileError
from .interpose import Injected, with_faults
from .profile import HostProfile

__all__ = [
    "DEFAULT_PROFILE",
    "builtin_names",
    "builtin_profile",
    "dump_toml",
    "load_profile",
    "parse_profile",
    "profile_host",
]

DEFAULT_PROFILE = "amd-epyc-linux-6.18"
MAX_PROFILE_SIZE = 1 << 20  # a recording is a few hundred lines


def profile_host(profile: HostProfile) -> KvmHost:
    host = ProfileHost(profile)
    if not profile.faults:
        return host
    return with_faults(host, [Injected(f.ioctl, f.code, f.times) for f in profile.faults])


def parse_profile(text: str, path: str = "<string>") -> HostProfile:
    try:
        data = toml.loads(text)
    except toml.TomlError as e:
        raise ProfileError(path, e.message, e.line) from None
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
        raw = read_regular(name, MAX_PROFILE_SIZE, "a host profile")
        text = raw.decode("utf-8")
    except InputError as e:
        raise ProfileError(name, str(e)) from None
    except UnicodeDecodeError as e:
        raise ProfileError(name, f"is not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
    return parse_profile(text, name)


def builtin_names() -> list[str]:
    folder = resources.files("kvminit.hosts")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


_builtin_cache: dict[str, HostProfile] = {}


def builtin_profile(name: str) -> HostProfile:
    if name not in _builtin_cache:
        if name not in builtin_names():
            raise ProfileError(
                name,
                "no built-in host profile of that name; built-in: " + ", ".join(builtin_names()),
            )
        resource = resources.files("kvminit.hosts") / f"{name}.toml"
        _builtin_cache[name] = parse_profile(
            resource.read_text(encoding="utf-8"), f"kvminit/hosts/{name}.toml"
        )
    return _builtin_cache[name]


def _msr_rows(indices: list[int]) -> list[str]:
    return [
        f"  {', '.join(f'0x{m:x}' for m in indices[i : i + 8])}," for i in range(0, len(indices), 8)
    ]


def _by_number(caps: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(caps.items(), key=lambda kv: Cap[kv[0]].value)


def dump_toml(p: HostProfile, schema: str | None = None) -> str:
    """The profile as a file, keys in the documented order; `schema` a `#:schema` target."""
    out = [f"#:schema {schema}"] if schema else []
    head: list[tuple[str, Any]] = [
        ("format", p.format),
        ("name", p.name),
        ("description", p.description),
        ("source", p.source),
        ("recorded", p.recorded),
        ("kernel-release", p.kernel_release),
        ("uname-machine", p.uname_machine),
        ("cpu-vendor", p.cpu_vendor),
        ("phys-bits", p.phys_bits),
        ("api-version", p.api_version),
        ("qemu", p.qemu),
    ]
    out += [f"{k} = {toml.value(v)}" for k, v in head if v is not None]
    out.append("msr-indices = [")
    out += _msr_rows(p.msr_indices)
    out.append("]")
    if p.msr_feature_indices:
        out.append("msr-feature-indices = [")
        out += _msr_rows(p.msr_feature_indices)
        out.append("]")
    out += ["", "[caps]  # KVM_CHECK_EXTENSION on the system fd; unlisted caps answer 0"]
    out += [f"{k} = {v}" for k, v in _by_number(p.caps)]
    out += ["", "[vm-caps]  # VM-fd answers that differ from the system fd"]
    out += [f"{k} = {v}" for k, v in _by_number(p.vm_caps)]
    for f in p.faults:
        out += [
            "",
            "[[faults]]",
            f"ioctl = {toml.value(f.ioctl)}",
            f"errno = {toml.value(f.errno)}",
        ]
        if f.times is not None:
            out.append(f"times = {f.times}")
    return "\n".join(out) + "\n"
