"""Record the real host as a profile: what `kvminit probe` writes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from pydantic import ValidationError

from .caps import Cap
from .errors import KvmError, ProfileError
from .profile import HostProfile
from .real import RealHost


def installed_qemu() -> str | None:
    """The version of the qemu-system-x86_64 on PATH (`QEMU emulator version 7.2.22 (...)`)."""
    import re
    import shutil
    import subprocess

    binary = shutil.which("qemu-system-x86_64")
    if binary is None:
        return None
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\d{1,3}\.\d{1,3}(?:\.\d{1,4})?)", out)
    return match.group(1) if match else None


def read_msr_list(ioctl: Callable[[int], list[int]]) -> list[int]:
    """Ask with no room, then with room for the count the kernel answered (as QEMU does)."""
    try:
        return ioctl(0)
    except KvmError as e:
        needed = e.needed
    if needed is None:
        return []
    try:
        return ioctl(needed)
    except KvmError:
        return []


def probe(host: RealHost | None = None, name: str | None = None) -> HostProfile:
    """Ask the device every known capability, on the system fd and a VM fd."""
    host = host or RealHost()
    kvm = host.open()
    try:
        caps: dict[str, int] = {}
        vm_caps: dict[str, int] = {}
        api_version = kvm.api_version()
        for cap in Cap:
            try:
                answer = kvm.check_extension(cap)
            except KvmError:
                answer = 0
            if answer:
                caps[cap.name] = answer
        msrs = read_msr_list(kvm.msr_index_list)
        feature_msrs = read_msr_list(kvm.msr_feature_index_list)
        vm = kvm.create_vm(0)
        try:
            for cap in Cap:
                try:
                    answer = vm.check_extension(cap)
                except KvmError:
                    answer = 0
                if answer != caps.get(cap.name, 0):
                    vm_caps[cap.name] = answer
        finally:
            vm.close()
    finally:
        kvm.close()
    release = os.uname().release
    vendor = host.cpu_vendor()
    short = "amd" if vendor == "AuthenticAMD" else "intel"
    data = {
        "format": 1,
        "name": name or f"{short}-{os.uname().nodename}-linux-{release.split('-')[0]}",
        "description": f"Recorded by `kvminit probe` from {host.path} on {os.uname().nodename}.",
        "source": "recorded",
        "recorded": dt.date.today(),
        "kernel-release": release,
        "uname-machine": host.uname_machine(),
        "cpu-vendor": vendor if vendor in ("AuthenticAMD", "GenuineIntel") else "GenuineIntel",
        "phys-bits": min(max(host.phys_bits(), 32), 52),
        "api-version": api_version,
        "msr-indices": msrs,
        "msr-feature-indices": feature_msrs,
        "qemu": installed_qemu(),
        "caps": caps,
        "vm-caps": vm_caps,
    }
    try:
        return HostProfile.model_validate(data)
    except ValidationError as e:
        # An answer past what the format allows (profile.CAP_LIMITS), or a --name that
        # cannot be printed: say which, as for a file.
        from .profiles import validation_problems

        raise ProfileError(host.path, problems=validation_problems(e)) from None
