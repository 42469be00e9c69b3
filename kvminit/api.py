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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .common.errors import KvminitError
from .common.files import InputError
from .config import ConfigError, Finding, Machine
from .config.loader import load_machine, parse_machine
from .engine import InitError, InitResult, KVMState, NoLegacyE820, TraceStep
from .engine import run as _engine_run
from .engine.e820 import BlobError, E820Entry
from .engine.machines import MachineClass
from .engine.qemu import Qemu, QemuVersionError
from .hostspec import HostChoice, kvm_unavailable, load_host, load_hosts
from .kvm.device import KvmHost, RoutingEntry
from .kvm.errors import KvmError, ProfileError

if TYPE_CHECKING:
    from .batch import PairResult, Shard
    from .config.model import MachineConfig
    from .engine.cpu_models import CpuModel
    from .fromqemu import Converted, QemuArgsError
    from .kvm.profile import HostProfile
    from .smoke.runner import BootError, BootReport

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
    "Qemu",
    "QemuArgsError",
    "QemuVersionError",
    "RoutingEntry",
    "TraceStep",
    "boot",
    "builtin_hosts",
    "cpu_models",
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
    "qemu_version",
    "run",
    "validate",
]


# Loaded on first use: the pydantic model, from-qemu and boot are no part of a plain run.
_LAZY = {
    "MachineConfig": ".config.model",
    "QemuArgsError": ".fromqemu",
    "BootError": ".smoke.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _machine(machine: Machine | str | os.PathLike[str]) -> Machine:
    # A path is read into a MachineConfig; a description (MachineConfig or the command
    # line's ParsedMachine) is used as it is.
    if isinstance(machine, str | os.PathLike):
        return load_machine(machine)
    return machine


def _host(host: KvmHost | HostChoice | str) -> HostChoice:
    if isinstance(host, str):
        return load_host(host)
    if isinstance(host, HostChoice):
        return host
    return HostChoice(host, host.name)


def qemu_version(spec: str | Qemu | None) -> tuple[Qemu | None, str | None]:
    """The modelled QEMU a `--qemu` value selects, and a note when it maps an unmodelled one.

    None stays None: the host profile's `qemu`, else the newest modelled version answers.
    """
    from .engine.qemu import modelled

    if spec is None or isinstance(spec, Qemu):
        return spec, None
    return modelled(spec)


def run(
    machine: Machine | str | os.PathLike[str],
    host: KvmHost | HostChoice | str = "auto",
    *,
    qemu: str | Qemu | None = None,
    trace: bool = True,
) -> InitResult:
    """Initialise `machine` (a model or a path) on `host` (a host, a choice or a spec)
    as QEMU `qemu` would ("2.6", "7.2", "10.0"; default: the host profile's, else 10.0).

    The result says which host and QEMU answered and, when `auto` fell back to a
    profile or an unmodelled version was mapped, why (`host_note`, `qemu_note`).
    With trace=False no step trace is recorded.
    """
    choice = _host(host)
    version, note = qemu_version(qemu)
    result = _engine_run(
        _machine(machine), choice.host, qemu=version, trace=trace, host_note=choice.note
    )
    if note is not None:
        from dataclasses import replace

        result = replace(result, qemu_note=note)
    return result


def validate(
    paths: Sequence[str],
    hosts: Iterable[KvmHost | HostChoice | str] = ("auto",),
    *,
    qemu: Iterable[str | Qemu] = (),
    jobs: int = 1,
    shard: Shard | None = None,
    exclude: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    only_machine_files: bool = False,
) -> list[PairResult]:
    """Every (machine file, host, QEMU version) triple: the description, then the init.

    Directories are searched for *.toml (not in hidden directories, virtual
    environments, what git ignores or what an `exclude` glob matches); a host spec
    that is a directory stands for every profile in it. No `qemu` given: each host's
    profile version, else 10.0. `progress(done, total)` is told as triples complete.
    TOML files found in directories that are plainly not machine files (pyproject.toml,
    host profiles) are skipped; `only_machine_files` skips them among named files too.
    """
    results: list[PairResult] = []
    for chunk in validate_chunks(
        paths,
        hosts,
        list,
        qemu=qemu,
        jobs=jobs,
        shard=shard,
        exclude=exclude,
        progress=progress,
        only_machine_files=only_machine_files,
    ):
        results += chunk
    return results


R = TypeVar("R")


def validate_chunks(
    paths: Sequence[str],
    hosts: Iterable[KvmHost | HostChoice | str],
    digest: Callable[[list[PairResult]], R],
    *,
    qemu: Iterable[str | Qemu] = (),
    jobs: int = 1,
    shard: Shard | None = None,
    exclude: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    only_machine_files: bool = False,
) -> Iterator[R]:
    """validate() a chunk of results at a time, in order, each as `digest(results)`
    makes it (in the worker that checked it, with `jobs`): what `kvminit validate` uses
    to write its report as it goes. `digest` runs in a forked worker, so it may be any
    callable; what it returns travels back pickled."""
    from .batch import PairResult, Target, check_chunks, in_shard, machine_files
    from .engine.accel import which_qemu

    choices: list[HostChoice] = []
    for h in hosts:
        choices += load_hosts(h) if isinstance(h, str) else [_host(h)]
    versions = [qemu_version(q)[0] for q in qemu] or [None]
    targets = [Target(c.label, c.host, which_qemu(v, c.host)[0]) for c in choices for v in versions]
    files, problems = machine_files(list(paths), exclude)
    # A directory that could not be searched fails on every target, like a bad file.
    unreadable = [
        PairResult(p.path, t.label, str(t.qemu), [Finding(p.message)])
        for p in problems
        for t in targets
        if in_shard(p.path, t, shard)
    ]
    if unreadable:
        yield digest(unreadable)
    named = {os.path.normpath(p) for p in paths if not os.path.isdir(p)}

    def skip_other(path: str) -> bool:
        return only_machine_files or os.path.normpath(path) not in named

    yield from check_chunks(
        files, targets, digest, jobs=jobs, shard=shard, progress=progress, skip_other=skip_other
    )


def boot(
    machine: Machine | str | os.PathLike[str],
    host: KvmHost | HostChoice | str = "real",
    *,
    qemu: str | Qemu | None = None,
    timeout: float = 10.0,
) -> BootReport:
    """Initialise on the real device, then run a guest that reads etc/e820 over fw_cfg."""
    from .smoke.runner import boot as _boot

    return _boot(_machine(machine), _host(host).host, qemu=qemu_version(qemu)[0], timeout=timeout)


def decode_e820(blob: bytes) -> tuple[str, list[E820Entry]]:
    """An etc/e820 file or a legacy FW_CFG_E820_TABLE item: ('etc/e820' | 'legacy', entries)."""
    from .engine.e820 import decode

    return decode(blob)


def qemu_args(
    machine: Machine | str | os.PathLike[str], qemu: str | Qemu | None = None
) -> list[str]:
    """The QEMU options that start the same machine under that QEMU version."""
    from .engine.qemu import DEFAULT
    from .engine.qemuline import qemu_args as _qemu_args

    return _qemu_args(_machine(machine), qemu_version(qemu)[0] or DEFAULT)


def from_qemu(argv: Sequence[str], qemu: str | Qemu | None = None) -> Converted:
    """A QEMU command line read as QEMU `qemu` reads it (default 10.0): the machine
    description (`.machine()`, `.toml()`) and what it leaves out. QemuArgsError when
    QEMU would refuse the options themselves."""
    from .engine.qemu import DEFAULT
    from .fromqemu import from_qemu as _from_qemu

    return _from_qemu(argv, qemu_version(qemu)[0] or DEFAULT)


def machine_classes(qemu: str | Qemu | None = None) -> list[MachineClass]:
    """Every PC machine type of that QEMU version (default: the newest modelled)."""
    from .engine.machines import all_classes
    from .engine.qemu import DEFAULT

    return all_classes(qemu_version(qemu)[0] or DEFAULT)


def cpu_models(qemu: str | Qemu | None = None) -> list[tuple[str, CpuModel]]:
    """Every name `-cpu` takes in that QEMU version, with what it stands for."""
    from .engine.cpu import cpu_model_names, find_cpu_model
    from .engine.qemu import DEFAULT

    version = qemu_version(qemu)[0] or DEFAULT
    return [(name, find_cpu_model(version, name)) for name in cpu_model_names(version)]


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
    from .engine.qemu import QEMU_2_6
    from .kvm.probe import probe as _probe
    from .kvm.real import RealHost

    try:
        return _probe(RealHost(device) if device else None, name=name)
    except KvmError as e:
        if e.ioctl != "open":
            raise
        raise KvminitError(
            messages.KVM_OPEN_FAILED.variant(QEMU_2_6).format(strerror=e.strerror)
        ) from None


def profile_toml(profile: HostProfile, schema: str | None = None) -> str:
    from .kvm.profiles import dump_toml

    return dump_toml(profile, schema)
