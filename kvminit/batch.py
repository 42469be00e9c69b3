"""`kvminit validate`: every (file, host) pair, the description then the full init."""

from __future__ import annotations

import multiprocessing
import os
import signal
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import ConfigError, Finding
from .config.loader import parse_machine, read_text
from .engine import run as engine_run
from .kvm.device import KvmHost
from .kvm.real import DeferredClose, RealHost

Status = Literal["PASS", "WARN", "FAIL"]


@dataclass
class PairResult:
    path: str
    host: str
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


def check_text(text: str, path: str, hosts: Iterable[tuple[str, KvmHost]]) -> list[PairResult]:
    names_and_hosts = list(hosts)
    try:
        machine = parse_machine(text, path)
    except ConfigError as e:
        return [PairResult(path, name, list(e.problems)) for name, _ in names_and_hosts]
    results = []
    for name, host in names_and_hosts:
        r = engine_run(machine, host, trace=False)
        errors = [r.error.finding] if r.error is not None else []
        results.append(PairResult(path, name, errors, list(r.warnings)))
    return results


def check_file(path: str, hosts: Iterable[tuple[str, KvmHost]]) -> list[PairResult]:
    names_and_hosts = list(hosts)
    try:
        text = read_text(path)
    except ConfigError as e:
        return [PairResult(path, name, list(e.problems)) for name, _ in names_and_hosts]
    return check_text(text, path, names_and_hosts)


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


def in_shard(path: str, host: str, shard: Shard | None) -> bool:
    """A stable choice: the same pair lands in the same shard on every runner."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(f"{path}\0{host}".encode()) % count == index - 1


Task = tuple[str, list[int]]  # a file and the indices of the hosts to check it on
_worker_hosts: list[tuple[str, KvmHost]] = []


def _init_worker(hosts: list[tuple[str, KvmHost]]) -> None:
    global _worker_hosts
    _worker_hosts = hosts
    # Ctrl-C is the parent's to report; workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_tasks(tasks: list[Task]) -> list[PairResult]:
    return _check_tasks_on(tasks, _worker_hosts)


def _check_tasks_on(tasks: list[Task], hosts: list[tuple[str, KvmHost]]) -> list[PairResult]:
    real = [h for _, h in hosts if isinstance(h, RealHost)]
    with DeferredClose() as closer:
        # Overlap the kernel's VM teardown with the next init; fds stay bounded.
        for h in real:
            h.closer = closer
        try:
            return [
                pair for path, idx in tasks for pair in check_file(path, [hosts[i] for i in idx])
            ]
        finally:
            for h in real:
                h.closer = None


def check_files(
    files: Sequence[str],
    hosts: Sequence[tuple[str, KvmHost]],
    *,
    jobs: int = 1,
    shard: Shard | None = None,
) -> list[PairResult]:
    """Every (file, host) pair of the shard, in file order then host order."""
    tasks: list[Task] = []
    for path in files:
        idx = [i for i, (name, _) in enumerate(hosts) if in_shard(path, name, shard)]
        if idx:
            tasks.append((path, idx))
    host_list = list(hosts)
    if jobs <= 1 or len(tasks) < 2:
        return _check_tasks_on(tasks, host_list)
    # A few chunks per worker keeps them busy without a round trip per file.
    size = max(1, len(tasks) // (jobs * 4))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker, initargs=(host_list,)
    )
    try:
        return [pair for chunk in pool.map(_check_tasks, chunks) for pair in chunk]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown()
