"""kvminit's public Python API: load a machine and a host, run, validate, and the rest.

    import kvminit

    machine = kvminit.load_machine("machines/pc.toml")
    host = kvminit.load_host("amd-epyc-linux-6.18")   # or "auto", "real", a file
    result = kvminit.run(machine, host)
    if result.ok:
        blob = result.etc_e820()                       # fw_cfg etc/e820 bytes
    else:
        print(result.error.message)                    # QEMU's words

Everything the command line does goes through the functions here; every
exception kvminit raises on purpose derives from KvminitError.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .common.errors import KvminitError
from .common.files import InputError
from .config import ConfigError, Finding, MachineConfig, load_machine, parse_machine
from .engine import InitError, InitResult, KVMState, NoLegacyE820, TraceStep
from .engine import run as _engine_run
from .engine.e820 import BlobError, E820Entry
from .engine.machines import MachineClass
from .hostspec import HostChoice, kvm_unavailable, load_host, load_hosts
from .kvm.device import KvmHost, RoutingEntry
from .kvm.errors import KvmError, ProfileError
from .qemuargs import QemuArgsError
from .smoke.runner import BootError

if TYPE_CHECKING:
    from .batch import PairResult, Shard
    from .kvm.profile import HostProfile
    from .qemuargs import FromQemu
    from .smoke.runner import BootReport

# The public API; kvminit.__all__ is this list and __version__.
__all__ = [
    "BlobError",
    "BootError",
    "ConfigError",
    "E820Entry",
    "Finding",
    "HostChoice",
    "InitError",
    "InitResult",
    "InputError",
    "KVMState",
    "KvmError",
    "KvmHost",
    "KvminitError",
    "MachineClass",
    "MachineConfig",
    "NoLegacyE820",
    "ProfileError",
    "QemuArgsError",
    "RoutingEntry",
    "TraceStep",
    "boot",
    "builtin_hosts",
    "decode_e820",
    "from_qemu",
    "kvm_unavailable",
    "load_host",
    "load_hosts",
    "load_machine",
    "machine_classes",
    "parse_machine",
    "probe",
    "profile_toml",
    "qemu_args",
    "run",
    "validate",
]


def _machine(machine: MachineConfig | str | os.PathLike[str]) -> MachineConfig:
    return machine if isinstance(machine, MachineConfig) else load_machine(machine)


def _host(host: KvmHost | HostChoice | str) -> HostChoice:
    if isinstance(host, str):
        return load_host(host)
    if isinstance(host, HostChoice):
        return host
    return HostChoice(host, host.name)


def run(
    machine: MachineConfig | str | os.PathLike[str],
    host: KvmHost | HostChoice | str = "auto",
    *,
    trace: bool = True,
) -> InitResult:
    """Initialise `machine` (a model or a path) on `host` (a host, a choice or a spec).

    The result says which host answered and, when `auto` fell back to a profile,
    why (`result.host_note`). With trace=False no step trace is recorded.
    """
    choice = _host(host)
    return _engine_run(_machine(machine), choice.host, trace=trace, host_note=choice.note)


def validate(
    paths: Sequence[str],
    hosts: Iterable[KvmHost | HostChoice | str] = ("auto",),
    *,
    jobs: int = 1,
    shard: Shard | None = None,
) -> list[PairResult]:
    """Every (machine file, host) pair: the description, then the whole init.

    Directories are searched for *.toml; a host spec that is a directory stands
    for every profile in it.
    """
    from .batch import check_files, machine_files

    choices: list[HostChoice] = []
    for h in hosts:
        choices += load_hosts(h) if isinstance(h, str) else [_host(h)]
    files = machine_files(list(paths))
    return check_files(files, [(c.label, c.host) for c in choices], jobs=jobs, shard=shard)


def boot(
    machine: MachineConfig | str | os.PathLike[str],
    host: KvmHost | HostChoice | str = "real",
    *,
    timeout: float = 10.0,
) -> BootReport:
    """Initialise on the real device, then run a guest that reads etc/e820 over fw_cfg."""
    from .smoke.runner import boot as _boot

    return _boot(_machine(machine), _host(host).host, timeout=timeout)


def decode_e820(blob: bytes) -> tuple[str, list[E820Entry]]:
    """An etc/e820 file or a legacy FW_CFG_E820_TABLE item: ('etc/e820' | 'legacy', entries)."""
    from .engine.e820 import decode

    return decode(blob)


def qemu_args(machine: MachineConfig | str | os.PathLike[str]) -> list[str]:
    """The QEMU options that start the same machine."""
    from .qemuargs import qemu_args as _qemu_args

    return _qemu_args(_machine(machine))


def from_qemu(argv: Sequence[str]) -> FromQemu:
    """A machine description from a QEMU command line, and what it leaves out."""
    from .qemuargs import from_qemu as _from_qemu

    return _from_qemu(argv)


def machine_classes() -> list[MachineClass]:
    from .engine.machines import all_classes

    return all_classes()


def builtin_hosts() -> list[tuple[str, HostProfile, bool]]:
    """(name, profile, is the default) of every built-in host profile."""
    from .kvm import profiles

    return [
        (n, profiles.builtin_profile(n), n == profiles.DEFAULT_PROFILE)
        for n in profiles.builtin_names()
    ]


def probe(name: str | None = None, device: str | None = None) -> HostProfile:
    """Record this machine's /dev/kvm as a host profile."""
    from .engine import messages
    from .kvm.probe import probe as _probe
    from .kvm.real import RealHost

    try:
        return _probe(RealHost(device) if device else None, name=name)
    except KvmError as e:
        if e.ioctl != "open":
            raise
        raise KvminitError(messages.KVM_OPEN_FAILED.format(strerror=e.strerror)) from None


def profile_toml(profile: HostProfile, schema: str | None = None) -> str:
    from .kvm.profiles import dump_toml

    return dump_toml(profile, schema)
