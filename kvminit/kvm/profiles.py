"""Profile files: reading, the built-in registry, writing, and the host a profile makes.

`profile_host` is the one way a profile becomes a host: the emulated device, seen
through the fault hook when the profile injects [[faults]].
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from kvminit.common import toml
from kvminit.common.files import InputError, read_regular
from kvminit.common.hints import close_matches
from kvminit.common.toml_lines import key_lines

from .caps import Cap
from .device import KvmHost
from .emulated import ProfileHost
from .errors import ProfileError, ProfileProblem
from .interpose import Injected, with_faults
from .profile import CAP_MAX, HINTS, KEYS, RANGES, HostProfile, render_value

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
    """A profile from its TOML text; ProfileError naming every problem's key and line."""
    try:
        data = toml.loads(text)
    except toml.TomlError as e:
        raise ProfileError(path, e.message, e.line) from None
    if not data:
        raise ProfileError(path, _EMPTY)
    lines = key_lines(text)
    # In a file only the documented spellings count (the model also takes Python names).
    unknown = [k for k in data if k not in KEYS]
    problems = [_unknown_key(k, lines, hint=i < HINTS) for i, k in enumerate(unknown)]
    try:
        profile = HostProfile.model_validate({k: v for k, v in data.items() if k in KEYS})
    except ValidationError as e:
        problems += validation_problems(e, lines)
    else:
        if not problems:
            return profile
    raise ProfileError(path, problems=_in_order(problems))


_EMPTY = "is empty: a host profile sets at least format, name, source, kernel-release, \
uname-machine, cpu-vendor, phys-bits and api-version (`kvminit probe -o FILE` records one)"
MAX_PROBLEMS = 20  # enough to fix a file by; a hostile one could have thousands


def _in_order(problems: list[ProfileProblem]) -> list[ProfileProblem]:
    problems = sorted(problems, key=lambda p: p.line or 0)
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS + 1
        problems = [*problems[: MAX_PROBLEMS - 1], ProfileProblem(f"... and {rest} more")]
    return problems


Loc = tuple[str | int, ...]


def _key(loc: Loc) -> str:
    """A location as the file would name it: caps.KVM_CAP_MCE, faults[2].errno."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = toml.key(part[:60])
            name = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name)
            out += f".{name}" if out else name
    return out if len(out) <= 100 else out[:97] + "..."


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _unknown_key(key: str, lines: dict[Loc, int], hint: bool) -> ProfileProblem:
    close = close_matches(key[:100].replace("_", "-"), KEYS) if hint else []
    advice = f" (did you mean '{close[0]}'?)" if close else "; keys: " + ", ".join(KEYS)
    return ProfileProblem(f"unknown key{advice}", _key((key,)), _line((key,), lines))


_WORDS = {
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "date_type": "must be a date such as 2026-11-25",
    "date_from_datetime_inexact": "must be a date such as 2026-11-25",
    "missing": "Field required",  # pydantic's words, which scripts already match
    "string_pattern_mismatch": "must be a version such as 7.2 or 10.0.2",
}


def validation_problems(
    e: ValidationError, lines: dict[Loc, int] | None = None
) -> list[ProfileProblem]:
    """The model's errors as problems a user can act on, at their lines when known."""
    return [p for item in e.errors(include_url=False) for p in _problems_of(item, lines or {})]


def _problems_of(item: Any, lines: dict[Loc, int]) -> list[ProfileProblem]:
    """The problems one pydantic error stands for, each at its key and line."""
    loc: Loc = tuple(item["loc"])
    kind: str = item["type"]
    ctx: dict[str, Any] = item.get("ctx") or {}
    if kind == "cap_answer":
        # A [caps] table: one problem per bad entry.
        return [
            ProfileProblem(why, _key((*loc, name)), _line((*loc, name), lines))
            for name, why in ctx["problems"]
        ]
    value = item.get("input")
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind in ("less_than_equal", "greater_than_equal", "greater_than", "less_than"):
        low, high = _range(loc)
        message = f"must be between {low} and {high} (got {render_value(value)})"
    elif kind == "too_long":
        count = ctx.get("actual_length")
        message = f"has {count} entries; at most {ctx.get('max_length')} are allowed"
    elif kind == "string_too_long":
        message = f"must be at most {ctx.get('max_length')} characters long"
    elif kind == "string_too_short":
        message = f"must be at least {ctx.get('min_length')} character long"
    elif kind in _WORDS:
        message = _WORDS[kind]
        if kind != "missing":
            message += f" (got {render_value(value)})"
    else:
        message = str(item["msg"]).removeprefix("Value error, ")
        message = message.replace("Input should be", "must be")
        if kind != "value_error":
            message += f" (got {render_value(value)})"
    return [ProfileProblem(message, _key(loc), _line(loc, lines))]


def _range(loc: Loc) -> tuple[int, int]:
    names = [part for part in loc if isinstance(part, str)]
    return RANGES.get(names[-1], (0, CAP_MAX)) if names else (0, CAP_MAX)


def load_profile(path: str | os.PathLike[str]) -> HostProfile:
    """Read a profile file as every input is read: a regular file of bounded size.

    A FIFO is refused without blocking, /dev/zero (behind any name) without reading;
    ProfileError says why, naming the file (and the line, once it is text).
    """
    name = os.fspath(path)
    try:
        raw = read_regular(name, MAX_PROFILE_SIZE, "a host profile")
    except InputError as e:
        raise ProfileError(name, str(e)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        why = f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})"
        raise ProfileError(name, why, line) from None
    return parse_profile(text, name)


def builtin_names() -> list[str]:
    return list(_builtin_names())


@cache
def _builtin_names() -> tuple[str, ...]:
    # Listed once a process: every --host name is looked up here.
    try:
        folder = resources.files("kvminit.hosts")
        return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
    except OSError as e:  # a damaged installation
        raise ProfileError(
            "kvminit/hosts", f"cannot list the built-in profiles: {e.strerror or e}"
        ) from None


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
