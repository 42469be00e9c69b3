"""`kvminit validate`: every (file, host, QEMU) triple, the description then the full init."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar, cast

from .config import ConfigError, Finding
from .config import machine as _machine
from .config.loader import key_lines, read_machine, read_text

# One triple as validate needs it: run()'s error and warnings, without the rest of
# its result (engine.accel.findings). Looked up here at each call: tests patch it.
from .engine.accel import findings as engine_run
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
    seconds: float = 0.0  # time spent on this triple (JUnit's `time`)

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


# Directories no machine file lives in: virtual environments and build output.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv"})


@dataclass(frozen=True)
class WalkProblem:
    """A path under a validated directory that could not be searched or read."""

    path: str
    message: str


def machine_files(
    paths: Sequence[str], exclude: Sequence[str] = ()
) -> tuple[list[str], list[WalkProblem]]:
    """Files as given, and every *.toml under the directories given, sorted, each once.

    Directories are walked without recursion (any depth), skipping hidden ones, virtual
    environments, build caches, what `exclude` globs match and, in a git work tree, what
    git ignores. A directory that cannot be read, and a *.toml link that leads nowhere
    or in a circle, is a problem for that path, never silently skipped.
    """
    found: list[str] = []
    problems: list[WalkProblem] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            found.append(path)

    for p in paths:
        if os.path.isdir(p):
            files, walk_problems = _walk(p, exclude)
            for f in _not_ignored(p, files):
                add(f)
            problems += walk_problems
        else:
            add(p)
    return found, problems


def _excluded(rel: str, name: str, exclude: Sequence[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(rel, g) or fnmatchcase(name, g) for g in exclude)


def _walk(top: str, exclude: Sequence[str]) -> tuple[list[str], list[WalkProblem]]:
    files: list[str] = []
    problems: list[WalkProblem] = []
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            problems.append(WalkProblem(directory, f"cannot read directory: {e.strerror or e}"))
            continue
        subdirs = []
        for entry in entries:
            rel = os.path.relpath(entry.path, top)
            if _excluded(rel, entry.name, exclude):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name.startswith(".") or entry.name in _SKIPPED_DIRS:
                    continue
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue  # a virtual environment, whatever its name
                subdirs.append(entry.path)
            elif entry.name.endswith(".toml") and not entry.name.startswith("."):
                files.append(entry.path)
        stack += reversed(subdirs)
    return sorted(files), problems


def _not_ignored(top: str, files: list[str]) -> list[str]:
    """`files` minus what git ignores, when `top` is in a git work tree and git is here."""
    import shutil
    import subprocess

    if not files or shutil.which("git") is None:
        return files
    try:
        inside = subprocess.run(
            ["git", "-C", top, "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            check=False,
        )
        if inside.stdout.strip() != "true":
            return files
        names = [os.path.relpath(f, top) for f in files]
        ignored = subprocess.run(
            ["git", "-C", top, "check-ignore", "-z", "--stdin"],
            input=b"\0".join(os.fsencode(n) for n in names),
            capture_output=True,
            check=False,
        )
    except OSError:
        return files
    if ignored.returncode not in (0, 1):
        return files  # git could not tell: check everything rather than drop files
    hidden = {os.fsdecode(n) for n in ignored.stdout.split(b"\0") if n}
    return [f for f, n in zip(files, names, strict=True) if n not in hidden]


def check_text(text: str, path: str, targets: Iterable[Target]) -> list[PairResult]:
    targets = list(targets)
    try:
        machine = read_machine(text, path)
    except ConfigError as e:
        return [PairResult(path, t.label, str(t.qemu), list(e.problems)) for t in targets]
    results = []
    for t in targets:
        start = time.perf_counter()
        try:
            error, warnings = engine_run(machine, t.host, qemu=t.qemu)
        except Exception as e:
            # A bug (or a host the engine cannot take) fails this triple, not the batch.
            bug = Finding(f"internal error (a bug in kvminit, please report it): {e!r}")
            results.append(PairResult(path, t.label, str(t.qemu), [bug]))
            continue
        errors = [error.finding] if error is not None else []
        seconds = time.perf_counter() - start
        results.append(PairResult(path, t.label, str(t.qemu), errors, warnings, seconds))
    return results


def check_file(path: str, targets: Iterable[Target], skip_other: bool = False) -> list[PairResult]:
    """The file on every target; with `skip_other`, nothing for a TOML file that is
    plainly something else (pyproject.toml, a host profile)."""
    targets = list(targets)
    try:
        text = read_text(path)
    except ConfigError as e:
        return [PairResult(path, t.label, str(t.qemu), list(e.problems)) for t in targets]
    if skip_other and other_toml(text):
        return []
    return check_text(text, path, targets)


_SCHEMA_LINE = re.compile(r"^#:schema\s+(\S+)", re.MULTILINE)


def other_toml(text: str) -> bool:
    """A TOML file that is plainly not a machine description: it names another schema, or
    it has tables and not one machine key (pyproject.toml, Cargo.toml, host profiles).
    A machine file with a typo still has its other keys, so it is never skipped."""
    schema = _SCHEMA_LINE.search(text)
    if schema is not None:
        return not schema.group(1).endswith("machine.schema.json")
    if not _TABLE_HEADER.search(text):
        return False
    # Keys only a machine file has (name and description are everyone's).
    machine_only = frozenset(_machine.keys()) - {"name", "description"}
    return not any(key in machine_only for key in key_lines(text))


_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)


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


# A file, the indices of the targets to check it on, and whether to skip it when it is
# plainly another kind of TOML file.
Task = tuple[str, tuple[int, ...], bool]
R = TypeVar("R")
# What a chunk's results become before they leave the process that checked them: the
# results themselves (the API), or a report's block of text and its tally (the command
# line renders in the workers, so the parent only writes).
Digest = Callable[[list[PairResult]], R]

_worker_targets: list[Target] = []
_worker_digest: Callable[[list[PairResult]], object] = list


def _init_worker(
    targets: list[Target], digest: Callable[[list[PairResult]], object], parent: int
) -> None:
    global _worker_targets, _worker_digest
    _worker_targets = targets
    _worker_digest = digest
    _die_with(parent)
    # Ctrl-C is the parent's to report; the parent ends workers with SIGTERM, which must
    # kill them outright (they inherit the parent's unwinding handler otherwise).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    # Forked with them held (_submit): a SIGTERM sent meanwhile kills the worker now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with(parent: int) -> None:
    """A parent killed outright (SIGKILL: a CI job's timeout) cannot stop its workers,
    which would wait for work for ever holding the caller's pipes: the kernel sends them
    SIGTERM when it goes."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # gone before the prctl took effect
        os._exit(1)


def _submit(pool: ProcessPoolExecutor, chunk: list[Task]) -> Future[object]:
    """pool.submit(), with the signals held: the first submit forks the workers, and a
    handler that raises while the parent runs its after-fork callbacks is "ignored" with
    a traceback and the run goes on. Held, a signal is raised after the submit, at a
    clean point, and the workers start with their own handlers in place."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        return pool.submit(_check_tasks, chunk)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _check_tasks(tasks: list[Task]) -> object:
    return _worker_digest(_check_tasks_on(tasks, _worker_targets))


def _check_tasks_on(tasks: list[Task], targets: list[Target]) -> list[PairResult]:
    real = [t.host for t in targets if isinstance(t.host, RealHost)]
    if not real:
        return [
            pair
            for path, idx, skip in tasks
            for pair in check_file(path, [targets[i] for i in idx], skip)
        ]
    with DeferredClose() as closer:
        # Overlap the kernel's VM teardown with the next init; fds stay bounded.
        for h in real:
            h.closer = closer
        try:
            return [
                pair
                for path, idx, skip in tasks
                for pair in check_file(path, [targets[i] for i in idx], skip)
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
    progress: Callable[[int, int], None] | None = None,
    skip_other: Callable[[str], bool] = lambda path: False,
) -> list[PairResult]:
    """Every (file, host, QEMU) triple of the shard, in file order then target order.

    `progress(done, total)` is called as triples complete (counted in triples);
    files for which `skip_other(path)` holds are skipped if they are plainly not machine
    files (see other_toml).
    """
    results: list[PairResult] = []
    for chunk in check_chunks(
        files, targets, list, jobs=jobs, shard=shard, progress=progress, skip_other=skip_other
    ):
        results += chunk
    return results


def check_chunks(
    files: Sequence[str],
    targets: Sequence[Target],
    digest: Digest[R],
    *,
    jobs: int = 1,
    shard: Shard | None = None,
    progress: Callable[[int, int], None] | None = None,
    skip_other: Callable[[str], bool] = lambda path: False,
) -> Iterator[R]:
    """check_files() a chunk at a time, each chunk's results as `digest` makes them, in
    order: a caller that writes each as it comes holds no more than a few chunks."""
    tasks = _Tasks()
    for path in files:
        idx = tuple(i for i, t in enumerate(targets) if in_shard(path, t, shard))
        if idx:
            tasks.add(path, idx, skip_other(path))
    total = tasks.triples
    done = 0
    for chunk, count in _chunks_checked(tasks, list(targets), jobs, digest):
        done += count
        if progress is not None:
            progress(done, total)
        yield chunk


class _Tasks:
    """Every task of a run, a few machine words a file beyond its name: a task tuple is
    made only for the chunk being handed out (a fleet of 100,000 files is 100,000 names,
    not 100,000 tuples and lists)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.targets: list[tuple[int, ...]] = []  # interned: a run has a few patterns
        self.skip: list[bool] = []
        self.triples = 0
        self._patterns: dict[tuple[int, ...], tuple[int, ...]] = {}

    def add(self, path: str, idx: tuple[int, ...], skip: bool) -> None:
        self.paths.append(path)
        self.targets.append(self._patterns.setdefault(idx, idx))
        self.skip.append(skip)
        self.triples += len(idx)

    def __len__(self) -> int:
        return len(self.paths)

    def chunks(self, starts: list[int]) -> _Chunks:
        return _Chunks(self, starts)


class _Chunks:
    """The tasks cut at `starts`, each chunk made when it is asked for."""

    def __init__(self, tasks: _Tasks, starts: list[int]) -> None:
        self._tasks = tasks
        self._bounds = [*starts, len(tasks)]

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def __getitem__(self, k: int) -> list[Task]:
        t = self._tasks
        span = range(self._bounds[k], self._bounds[k + 1])
        return [(t.paths[i], t.targets[i], t.skip[i]) for i in span]

    def __iter__(self) -> Iterator[list[Task]]:
        return (self[k] for k in range(len(self)))


def _chunk_starts(count: int, workers: int) -> list[int]:
    """Where each chunk of `count` tasks starts.

    In one process, 64 at most: what is held at a time (a chunk's results and report
    block) stays small. With workers, a chunk is worth its round trip (up to 256), and
    the sizes shrink as the end nears (a quarter of each worker's share of what is left,
    down to 16), so no worker sits idle while another finishes a large last chunk.
    """
    if workers <= 1:
        size = max(1, min(64, count // 4))
        return list(range(0, count, size))
    starts = []
    at = 0
    while at < count:
        starts.append(at)
        at += max(min(16, count - at), min(256, (count - at) // (workers * 4)))
    return starts


def _chunks_checked(
    tasks: _Tasks, targets: list[Target], jobs: int, digest: Digest[R]
) -> Iterator[tuple[R, int]]:
    """Each chunk's digest, and how many triples it stood for (skipped files included)."""
    # A few chunks per worker keeps them busy without a round trip per file; one process
    # checks in chunks too, so progress can be told (and the report written) as it goes.
    workers = min(jobs, len(tasks))
    chunks = tasks.chunks(_chunk_starts(len(tasks), workers))

    def triples(chunk: list[Task]) -> int:
        return sum(len(idx) for _, idx, _ in chunk)

    if workers <= 1:
        for chunk in chunks:
            yield digest(_check_tasks_on(chunk, targets)), triples(chunk)
        return
    yield from _in_workers(chunks, targets, workers, triples, digest)


# concurrent.futures, because it notices a worker that dies (the OOM killer, a crash):
# multiprocessing.Pool waits for its lost chunk for ever.
WORKER_DIED = (
    "not checked: the worker process checking this file died (killed by a signal, out of memory?)"
)
# Chunks handed out ahead of the one being written, per worker: enough that no worker
# waits, few enough that finished chunks do not pile up in the parent.
AHEAD_PER_WORKER = 3


def _in_workers(
    chunks: _Chunks,
    targets: list[Target],
    workers: int,
    triples: Callable[[list[Task]], int],
    digest: Digest[R],
) -> Iterator[tuple[R, int]]:
    """The chunks' digests in order from `workers` processes. After a worker dies, the
    rest run one chunk per fresh process, so only the chunk that kills its worker fails."""
    pool = _pool(targets, workers, digest)
    pending: deque[tuple[Future[object], int]] = deque()  # each with its triple count
    submitted = 0
    try:
        for i in range(len(chunks)):
            try:
                while submitted < len(chunks) and len(pending) < workers * AHEAD_PER_WORKER:
                    chunk = chunks[submitted]
                    pending.append((_submit(pool, chunk), triples(chunk)))
                    submitted += 1
                future, count = pending.popleft()
                out = cast(R, future.result())
            except BrokenProcessPool:
                _end(pool)
                for k in range(i, len(chunks)):
                    rest = chunks[k]
                    yield _alone(rest, targets, digest), triples(rest)
                return
            yield out, count
    except BaseException:
        # Interrupted, terminated or failed: no worker may outlive the run holding the
        # caller's pipes.
        _end(pool)
        raise
    pool.shutdown()


def _alone(chunk: list[Task], targets: list[Target], digest: Digest[R]) -> R:
    pool = _pool(targets, 1, digest)
    try:
        out = cast(R, _submit(pool, chunk).result())
    except BrokenProcessPool:
        died = [
            PairResult(path, targets[i].label, str(targets[i].qemu), [Finding(WORKER_DIED)])
            for path, idx, _ in chunk
            for i in idx
        ]
        out = digest(died)
    except BaseException:
        _end(pool)
        raise
    pool.shutdown()
    return out


def _pool(targets: list[Target], workers: int, digest: Digest[R]) -> ProcessPoolExecutor:
    # fork: the workers start with every module the parent has loaded and the hosts it
    # made; a chunk travels as file names, its digest comes back.
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(targets, digest, os.getpid()),
    )


MANAGER_EXIT_TIMEOUT = 5.0  # seconds; it exits as soon as it sees its workers gone


def _end(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now. Killing them first (there is no public way before Python
    3.14) and not cancelling futures keeps the executor's own thread from tripping."""
    # The call queue's feeder thread may be blocked writing a chunk to a worker that is
    # about to die; Python 3.10 joins that thread at exit and would hang there for ever.
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:
        call_queue.cancel_join_thread()
    # shutdown() forgets the executor's manager thread: take it first.
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=False)
    # Let that thread finish closing its wakeup pipe now: at exit, Python (3.10 to 3.12)
    # writes to that pipe without a lock, and a close racing with the write prints an
    # OSError traceback.
    if manager is not None:
        manager.join(MANAGER_EXIT_TIMEOUT)
