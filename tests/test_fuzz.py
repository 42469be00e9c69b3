"""Property tests: whatever the input, a description or the project's own error.

In CI each property runs a bounded number of examples; `python tests/fuzz/run.py N`
runs N per property on demand.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvminit.config import ConfigError, MachineConfig, parse_machine
from kvminit.config.loader import decode
from kvminit.config.model import COUNT_MAX, KEYS, TOPOLOGY_KEYS
from kvminit.engine import run
from kvminit.engine.qemu import MODELLED
from kvminit.kvm.profiles import builtin_profile, profile_host

EXAMPLES = int(os.environ.get("KVMINIT_FUZZ_EXAMPLES", "150"))
# CI draws the same examples every run (a failure there is reproducible); locally,
# and in tests/fuzz/run.py, each run explores afresh.
IN_CI = os.environ.get("CI") == "true" and "KVMINIT_FUZZ_EXAMPLES" not in os.environ
FUZZ = settings(
    derandomize=IN_CI,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOST = profile_host(builtin_profile("amd-epyc-linux-6.18"))


def toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key) and key.isascii():
        return key
    return '"' + key.encode("unicode_escape").decode().replace('"', '\\"') + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, str):
        return '"' + v.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def document(d: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in d.items())


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=200),
    st.sampled_from(
        [
            "pc",
            "q35",
            "isapc",
            "on",
            "off",
            "split",
            "kvm",
            "tcg",
            "kvm:tcg",
            "1G",
            "64K",
            "0",
            "-1",
            "4096",
            "1.5G",
            "host",
            "qemu64",
            "486",
            "pc-q35-2.7",
            "pc-i440fx-1.4",
            "99999999999999999999E",
            "\x00",
            "é" * 50,
        ]
    ),
    st.datetimes(),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=30))


def outcome(text: str) -> MachineConfig | None:
    """Parse, and when valid, initialise: nothing but ConfigError may escape."""
    try:
        m = parse_machine(text, "f.toml")
    except ConfigError as e:
        assert e.problems and all(p.message for p in e.problems)
        assert str(e).startswith("f.toml")
        return None
    assert m.memory % 8192 == 0 and m.memory > 0
    assert m.accel and set(m.accel) <= {"kvm", "tcg"}
    for count in (m.smp, m.maxcpus, m.slots, *(getattr(m, k) for k in TOPOLOGY_KEYS)):
        assert count is None or 0 <= count <= COUNT_MAX
    # What the counts mean (0, maxcpus < smp, ...) is each QEMU's rule: the engine's.
    for qemu in MODELLED:
        r = run(m, HOST, qemu=qemu, trace=False)
        assert r.qemu == str(qemu)
        assert r.ok or (r.error is not None and r.error.message)
        if r.ok:
            assert r.topology is not None and r.topology.max_cpus >= r.topology.cpus >= 1
    return m


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    try:
        text = decode(raw, "f.toml")
    except ConfigError:
        return
    outcome(text)


@FUZZ
@given(st.dictionaries(keys, values, max_size=8))
def test_arbitrary_documents(d: dict[str, Any]) -> None:
    outcome(document(d))


VALID = {
    "type": "pc",
    "memory": "1G",
    "smp": 2,
    "maxcpus": 4,
    "sockets": 2,
    "cores": 2,
    "kernel-irqchip": "on",
    "kvm-shadow-mem": "64M",
    "max-ram-below-4g": "3G",
    "cpu": "qemu64",
    "phys-bits": 40,
    "accel": ["kvm", "tcg"],
    "name": "x",
    "description": "y",
}


@FUZZ
@given(st.sampled_from(sorted(VALID)), values, st.sampled_from(sorted(VALID)), values)
def test_near_valid_files(k1: str, v1: Any, k2: str, v2: Any) -> None:
    outcome(document({**VALID, k1: v1, k2: v2}))


@FUZZ
@given(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(
        [
            "memory",
            "smp",
            "maxcpus",
            "cores",
            "threads",
            "slots",
            "kvm-shadow-mem",
            "max-ram-below-4g",
            "phys-bits",
        ]
    ),
)
def test_huge_and_negative_numbers(n: int, key: str) -> None:
    text = f"{key} = {n}\n" if -(2**63) <= n < 2**63 else f'{key} = "{n}"\n'
    outcome(text)


@FUZZ
@given(st.text(max_size=3000))
def test_arbitrary_text(text: str) -> None:
    outcome(text)


def test_deep_nesting() -> None:
    assert outcome("memory = " + "[" * 500 + "]" * 500 + "\n") is None
    assert outcome("smp = " + "{a = " * 100 + "1" + "}" * 100 + "\n") is None
