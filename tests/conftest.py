from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kvminit.config import MachineConfig, parse_machine
from kvminit.kvm.device import KvmError
from kvminit.kvm.profile import HostProfile, ProfileHost, builtin_profile
from kvminit.kvm.real import RealHost


def _kvm_unavailable() -> str | None:
    try:
        RealHost().open().close()
    except KvmError as e:
        return f"/dev/kvm cannot be opened: {e.strerror}"
    return None


_KVM_SKIP = _kvm_unavailable()


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
    lines = [text] + [f"{k.replace('_', '-')} = {_toml(v)}" for k, v in keys.items()]
    return parse_machine("\n".join(lines) or 'type = "pc"')


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


def profile(
    base: str = "amd-epyc-linux-6.18",
    *,
    drop: tuple[str, ...] = (),
    caps: dict[str, int] | None = None,
    faults: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> ProfileHost:
    """A built-in profile with caps dropped or changed, faults injected, fields replaced."""
    data = builtin_profile(base).model_dump(by_alias=True)
    data["caps"] = {k: v for k, v in data["caps"].items() if k not in drop}
    data["caps"].update(caps or {})
    data["vm-caps"] = {k: v for k, v in data["vm-caps"].items() if k not in drop}
    data["faults"] = faults or []
    data.update({k.replace("_", "-"): v for k, v in fields.items()})
    return ProfileHost(HostProfile.model_validate(data))


@pytest.fixture
def make_profile() -> Callable[..., ProfileHost]:
    return profile


@pytest.fixture
def amd() -> ProfileHost:
    return ProfileHost(builtin_profile("amd-epyc-linux-6.18"))
