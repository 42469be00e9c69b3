"""The public Python API: load a machine, pick a host, run."""

from __future__ import annotations

import errno
import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, MachineConfig, load_machine
from .engine import InitResult
from .engine import run as _engine_run
from .kvm.device import DEFAULT_DEVICE, KvmError, KvmHost
from .kvm.errors import ProfileError
from .kvm.real import RealHost

__all__ = [
    "ConfigError",
    "HostChoice",
    "InitResult",
    "MachineConfig",
    "ProfileError",
    "load_machine",
    "resolve_host",
    "resolve_hosts",
    "run",
]


@dataclass
class HostChoice:
    host: KvmHost
    note: str | None = None  # one line for stderr when `auto` fell back


def _access_hint(path: str, err: int) -> str:
    if err == errno.ENOENT:
        return "no KVM on this machine (module not loaded, or no hardware virtualisation)"
    if err in (errno.EACCES, errno.EPERM):
        try:
            st = os.stat(path)
            group = grp.getgrgid(st.st_gid).gr_name
        except (OSError, KeyError):
            return "no permission to open it"
        if st.st_gid != 0 and st.st_mode & stat.S_IRGRP and st.st_mode & stat.S_IWGRP:
            return f"join the group '{group}' that owns it (e.g. usermod -aG {group} $USER)"
        return (
            f"it is {stat.filemode(st.st_mode)} {group}: ask an administrator to grant "
            "access (a 'kvm' group with mode 0660 is the usual set-up)"
        )
    return os.strerror(err)


def resolve_host(spec: str = "auto", device: str = DEFAULT_DEVICE) -> HostChoice:
    """`auto`, `real`, a built-in profile name or a profile file (DESIGN.md, Hosts)."""
    if spec == "real":
        return HostChoice(RealHost(device))
    if spec == "auto":
        real = RealHost(device)
        try:
            real.open().close()
        except KvmError as e:
            # The profile model is built only when a profile is used.
            from .kvm.profile import DEFAULT_PROFILE, ProfileHost, builtin_profile

            note = (
                f"{device}: {e.strerror} ({_access_hint(device, e.errno)}); "
                f"using the built-in host profile {DEFAULT_PROFILE}"
            )
            return HostChoice(ProfileHost(builtin_profile(DEFAULT_PROFILE)), note)
        return HostChoice(real)
    from .kvm.profile import ProfileHost, builtin_names, builtin_profile, load_profile

    path = Path(spec)
    if path.suffix == ".toml" or path.is_file():
        return HostChoice(ProfileHost(load_profile(path), origin=spec))
    if spec in builtin_names():
        return HostChoice(ProfileHost(builtin_profile(spec)))
    raise ProfileError(
        spec,
        "not a profile file, nor a built-in profile ("
        + ", ".join(builtin_names())
        + "), nor auto/real",
    )


def resolve_hosts(spec: str, device: str = DEFAULT_DEVICE) -> list[HostChoice]:
    """Like resolve_host, but a directory stands for every *.toml profile in it."""
    from .kvm.profile import ProfileHost, load_profile

    path = Path(spec)
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise ProfileError(spec, "directory holds no *.toml host profiles")
        return [HostChoice(ProfileHost(load_profile(f), origin=str(f))) for f in files]
    return [resolve_host(spec, device)]


def run(
    machine: MachineConfig | str | os.PathLike[str], host: KvmHost | str = "auto"
) -> InitResult:
    """Initialise `machine` (a model or a path) against `host` (a KvmHost or a spec)."""
    if not isinstance(machine, MachineConfig):
        machine = load_machine(machine)
    if isinstance(host, str):
        host = resolve_host(host).host
    return _engine_run(machine, host)
