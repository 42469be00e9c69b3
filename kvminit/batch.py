"""`kvminit validate`: every (file, host, QEMU) triple, the description then the full init."""

from __future__ import annotations

import multiprocessing
import os
import signal
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .config import ConfigError, Finding
from .config.loader import parse_machine, read_text
from .engine import run as engine_run
from .engine.qemu import Qemu
from .kvm.device import KvmHost
from .kvm.real import DeferredClose, RealHost

Status = Literal["PASS", "WARN", "FAIL"]


class Target(NamedTuple):
    """A host (by the label outputs use) and the QEMU version that answers on it."""

    label: str
    host: KvmHost
    qemu: Qemu


@dataclass
class PairResult:
    path: str
    host: str
    qemu: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def status(self, strict: bool = False) -> Status:
        if self.errors or (strict and self.warnings):
            return "FAIL"
        return "WARN" if self.warnings else "PASS"

    def first_message(self) -> str:
        first = (self.errors or self.warnings or [Finding("")])[0]
        return first.message.splitlines()[0] if first.message else ""

    def to_json(self, strict: bool = False) -> dict[str, Any]:
        return {
            "path": self.path,
            "host": self.host,
            "qemu": self.qemu,
            "ok": self.status(strict) != "FAIL",
            "errors": [f.to_json() for f in self.errors],
            "warnings": [f.to_json() for f in self.warnings],
        }


def machine_files(paths: Sequence[str]) -> list[str]:
    """Files as given; directories are searched recursively for *.toml, sorted."""
    found: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found += sorted(str(f) for f in Path(p).rglob("*.toml") if f.is_file())
        else:
            found.append(p)
    return found


def check_text(text: str, path: str, targets: Iterable[Target]) -> list[PairResult]:
    targets = list(targets)
    try:
        machine = parse_machine(text, path)
    except ConfigError as e:
        return [PairResult(path, t.label, str(t.qemu), list(e.problems)) for t in targets]
    results = []
    for t in targets:
        r = engine_run(machine, t.host, qemu=t.qemu, trace=False)
        errors = [r.error.finding] if r.error is not None else []
        results.append(PairResult(path, t.label, str(t.qemu), errors, list(r.warnings)))
    return results


def check_file(path: str, targets: Iterable[Target]) -> list[PairResult]:
    targets = list(targets)
    try:
        text = read_text(path)
    except ConfigError as e:
        return [PairResult(path, t.label, str(t.qemu), list(e.problems)) for t in targets]
    return check_text(text, path, targets)


# --- batches ---------------------------------------------------------------------------

Shard = tuple[int, int]  # (index from 1, count)


def parse_shard(text: str) -> Shard:
    """`I/N` with 1 <= I <= N."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes I/N, such as 1/4 (got {text!r})") from None
    if not 1 <= index <= count:
        raise ValueError(f"--shard {text}: I must be between 1 and N")
    return index, count


def in_shard(path: str, target: Target, shard: Shard | None) -> bool:
    """A stable choice: the same triple lands in the same shard on every runner."""
    if shard is None:
        return True
    index, count = shard
    key = f"{path}\0{target.label}\0{target.qemu}"
    return zlib.crc32(key.encode()) % count == index - 1


Task = tuple[str, list[int]]  # a file and the indices of the targets to check it on
_worker_targets: list[Target] = []


def _init_worker(targets: list[Target]) -> None:
    global _worker_targets
    _worker_targets = targets
    # Ctrl-C is the parent's to report; workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_tasks(tasks: list[Task]) -> list[PairResult]:
    return _check_tasks_on(tasks, _worker_targets)


def _check_tasks_on(tasks: list[Task], targets: list[Target]) -> list[PairResult]:
    real = [t.host for t in targets if isinstance(t.host, RealHost)]
    with DeferredClose() as closer:
        # Overlap the kernel's VM teardown with the next init; fds stay bounded.
        for h in real:
            h.closer = closer
        try:
            return [
                pair for path, idx in tasks for pair in check_file(path, [targets[i] for i in idx])
            ]
        finally:
            for h in real:
                h.closer = None


def check_files(
    files: Sequence[str],
    targets: Sequence[Target],
    *,
    jobs: int = 1,
    shard: Shard | None = None,
) -> list[PairResult]:
    """Every (file, host, QEMU) triple of the shard, in file order then target order."""
    tasks: list[Task] = []
    for path in files:
        idx = [i for i, t in enumerate(targets) if in_shard(path, t, shard)]
        if idx:
            tasks.append((path, idx))
    target_list = list(targets)
    if jobs <= 1 or len(tasks) < 2:
        return _check_tasks_on(tasks, target_list)
    # A few chunks per worker keeps them busy without a round trip per file.
    size = max(1, len(tasks) // (jobs * 4))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker, initargs=(target_list,)
    )
    try:
        return [pair for chunk in pool.map(_check_tasks, chunks) for pair in chunk]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown()
