"""JSON documents besides InitResult.to_json: each carries "format" (DESIGN: a change that
breaks a reader bumps it) and says which QEMU, machine class and host answered."""

from __future__ import annotations

from typing import Any

from kvminit.config import ConfigError
from kvminit.engine import InitResult
from kvminit.engine.qemu import DEFAULT, Qemu
from kvminit.engine.result import JSON_FORMAT


def _answered_by(r: InitResult) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "qemu": r.qemu,
        "machine_type": r.machine_class.name if r.machine_class else None,
        "host": {"kind": r.host_kind, "name": r.host_name, "note": r.host_note},
        "accel": r.accel,
    }


def e820_document(r: InitResult) -> dict[str, Any]:
    return {
        **_answered_by(r),
        "e820": [e.to_json() for e in r.e820],
        "fw_cfg": {"etc/reserved-memory-end": r.reserved_memory_end},
    }


def routes_document(r: InitResult) -> dict[str, Any]:
    return {**_answered_by(r), "routing": [e.to_json() for e in r.routing]}


def invalid_description(e: ConfigError, qemu: Qemu | None) -> dict[str, Any]:
    """`run --format json` when the description itself is refused: `run`'s shape, ok false,
    `error` the first problem (with the file), `errors` all of them, the state null."""
    problems = [{"path": e.path, **p.to_json()} for p in e.problems]
    return {
        "format": JSON_FORMAT,
        "qemu": str(qemu or DEFAULT),
        "machine": None,
        "machine_type": None,
        "host": None,
        "accel": None,
        "ok": False,
        "error": {"step": None, "errno": None, **problems[0]} if problems else None,
        "errors": problems,
        "warnings": [],
        "kvm_state": None,
        "e820": None,
        "fw_cfg": None,
        "routing": None,
        "trace": None,
    }
