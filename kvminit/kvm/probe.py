"""Record the real host as a profile: what `kvminit probe` writes."""

from __future__ import annotations

import datetime as dt
import os

from .caps import Cap
from .errors import KvmError
from .profile import HostProfile
from .real import RealHost


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
        try:
            msrs = kvm.msr_index_list()
        except KvmError:
            msrs = []
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
    return HostProfile.model_validate(
        {
            "format": 1,
            "name": name or f"{short}-{os.uname().nodename}-linux-{release.split('-')[0]}",
            "description": f"Recorded by `kvminit probe` from {host.path} "
            f"on {os.uname().nodename}.",
            "source": "recorded",
            "recorded": dt.date.today(),
            "kernel-release": release,
            "uname-machine": host.uname_machine(),
            "cpu-vendor": vendor if vendor in ("AuthenticAMD", "GenuineIntel") else "GenuineIntel",
            "phys-bits": min(max(host.phys_bits(), 32), 52),
            "api-version": api_version,
            "msr-indices": msrs,
            "caps": caps,
            "vm-caps": vm_caps,
        }
    )
