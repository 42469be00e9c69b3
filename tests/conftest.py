from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kvminit.common import toml
from kvminit.config import MachineConfig, parse_machine
from kvminit.engine import InitResult
from kvminit.hostspec import kvm_unavailable
from kvminit.kvm.device import KvmHost
from kvminit.kvm.profile import HostProfile
from kvminit.kvm.profiles import builtin_profile, profile_host

_KVM_SKIP = kvm_unavailable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _KVM_SKIP is None:
        return
    skip = pytest.mark.skip(reason=_KVM_SKIP)
    for item in items:
        if "kvm" in item.keywords:
            item.add_marker(skip)


def open_fds() -> set[str]:
    """This process's open fds, less the one listing the directory itself."""
    own = f"/proc/{os.getpid()}/fd"
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == own:
                continue
        except OSError:
            continue  # closed while we looked: it was the listing's own
        fds.add(name)
    return fds


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """The process's fd table is the same after the test as before."""
    before = open_fds()
    yield
    assert open_fds() == before


def machine(text: str = "", **keys: Any) -> MachineConfig:
    lines = [text] + [f"{k.replace('_', '-')} = {toml.value(v)}" for k, v in keys.items()]
    return parse_machine("\n".join(lines) or 'type = "pc"')


def profile(
    base: str = "amd-epyc-linux-6.18",
    *,
    drop: tuple[str, ...] = (),
    caps: dict[str, int] | None = None,
    faults: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> KvmHost:
    """A built-in profile with caps dropped or changed, faults injected, fields replaced."""
    data = builtin_profile(base).model_dump(by_alias=True)
    data["caps"] = {k: v for k, v in data["caps"].items() if k not in drop}
    data["caps"].update(caps or {})
    data["vm-caps"] = {k: v for k, v in data["vm-caps"].items() if k not in drop}
    data["faults"] = faults or []
    data.update({k.replace("_", "-"): v for k, v in fields.items()})
    return profile_host(HostProfile.model_validate(data))


@pytest.fixture
def make_profile() -> Callable[..., KvmHost]:
    return profile


@pytest.fixture
def amd() -> KvmHost:
    return profile_host(builtin_profile("amd-epyc-linux-6.18"))


def messages(r: InitResult) -> list[str]:
    """The run's warnings as QEMU prints them."""
    return [w.message for w in r.warnings]
