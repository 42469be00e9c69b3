"""`--host`: one resolver for every command (DESIGN.md, Hosts).

`auto` is the real /dev/kvm when it can be opened, else the default built-in
profile with a note saying why; `real` insists on the device; a character device
path is that device; a built-in profile name, a profile file, or (for validate) a
directory of profiles.
"""

from __future__ import annotations

import errno
import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .kvm.device import DEFAULT_DEVICE, KvmHost
from .kvm.errors import KvmError, ProfileError
from .kvm.real import RealHost


@dataclass(frozen=True)
class HostChoice:
    """A host, the label outputs use for it, and a note for stderr when `auto` fell back."""

    host: KvmHost
    label: str
    note: str | None = None


def kvm_unavailable(device: str = DEFAULT_DEVICE) -> str | None:
    """Why `device` cannot be opened (in words), or None when it can."""
    try:
        RealHost(device).open().close()
    except KvmError as e:
        return f"{device}: {e.strerror} ({_access_hint(device, e.errno)})"
    return None


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


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _is_path(spec: str) -> bool:
    """A spec that can only mean a file: it has a directory part or a .toml suffix."""
    return os.sep in spec or bool(os.altsep and os.altsep in spec) or spec.endswith(".toml")


def _means_builtin(spec: str) -> bool:
    from .kvm import profiles

    return not _is_path(spec) and spec in profiles.builtin_names()


def _builtin(spec: str) -> HostChoice | None:
    """The built-in profile a bare name means, with a note when a file of that name exists.

    A built-in name always means the built-in: a file, directory or device of that
    name in the working directory (which a pull request can add) never takes its
    place silently. The note says which was used and how to name the other.
    """
    from .kvm import profiles

    if not _means_builtin(spec):
        return None
    note: str | None = None
    if os.path.lexists(spec):
        what = "directory" if os.path.isdir(spec) else "file"
        note = (
            f"--host {spec}: using the built-in profile; ./{spec} also exists "
            f"(write --host ./{spec} to use the {what})"
        )
    return HostChoice(profiles.profile_host(profiles.builtin_profile(spec)), spec, note)


def load_host(spec: str = "auto", *, device: str = DEFAULT_DEVICE) -> HostChoice:
    """The host `spec` names; ProfileError when it names none.

    In order: `real`, `auto`, a built-in profile's bare name, a *.toml profile file
    (never a device, whatever it points at), a device (/dev/..., or a character device
    by another name), else a profile file.
    """
    if not spec:
        raise ProfileError("''", "names no host: give auto, real, a built-in name or a file")
    if spec == "real":
        return HostChoice(RealHost(device), device)
    # Profiles (and their pydantic model) are imported only when a profile answers.
    if spec == "auto":
        problem = kvm_unavailable(device)
        if problem is None:
            return HostChoice(RealHost(device), device)
        from .kvm import profiles

        name = profiles.DEFAULT_PROFILE
        fallback = f"{problem}; using the built-in host profile {name}"
        return HostChoice(profiles.profile_host(profiles.builtin_profile(name)), name, fallback)
    from .kvm import profiles

    builtin = _builtin(spec)
    if builtin is not None:
        return builtin
    if not spec.endswith(".toml") and (spec.startswith("/dev/") or _is_char_device(spec)):
        return HostChoice(RealHost(spec), spec)
    path = Path(spec)
    if _is_path(spec) or os.path.lexists(spec):
        if path.is_dir():
            raise ProfileError(
                spec, "is a directory (only `validate` takes a directory of profiles)"
            )
        # load_profile reads regular files only: a FIFO or /dev/zero is refused unread.
        return HostChoice(profiles.profile_host(profiles.load_profile(path)), spec)
    raise ProfileError(
        spec,
        "not a profile file, nor a built-in profile ("
        + ", ".join(profiles.builtin_names())
        + "), nor auto/real/a device",
    )


def load_hosts(spec: str, *, device: str = DEFAULT_DEVICE) -> list[HostChoice]:
    """Like load_host, but a directory stands for every *.toml profile in it.

    A built-in name means the built-in even when a directory of that name exists.
    """
    from .kvm import profiles

    if spec and not _means_builtin(spec) and not spec.startswith("/dev/"):
        path = Path(spec)
        if path.is_dir():
            files = sorted(path.glob("*.toml"))
            if not files:
                raise ProfileError(spec, "directory holds no *.toml host profiles")
            return [
                HostChoice(profiles.profile_host(profiles.load_profile(f)), str(f)) for f in files
            ]
    return [load_host(spec, device=device)]
