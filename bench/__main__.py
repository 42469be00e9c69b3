"""`python -m bench`: kvminit's speed, each figure against a floor measured in the same run.

Prints a table and writes bench/results.json with numbers only (seconds, rates,
bytes, ratios), so a script can compare two runs; `--readme` also rewrites README.md's
"## Performance" section from it (`python -m bench.readme` does that alone). Never
fails on time: each figure's target sits in TARGETS and the table says met or MISSED.

Every kvminit figure of a whole process runs the command a user types, in a fresh
interpreter, with the package imported from this checkout (PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fleet, record  # noqa: E402
from bench.readme import shown  # noqa: E402

PY = sys.executable
PC = str(ROOT / "machines" / "pc.toml")
# What an installed kvminit runs with: compiled modules (pip compiles them; main() does
# here). PYTHONDONTWRITEBYTECODE, where set, is left out so no run compiles from source.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT)
HOSTS = ("amd-epyc-linux-6.18", "intel-xeon-linux-6.18", "no-irq-routing", "old-kernel")
VERSIONS = ("7.2", "10.0")
PAIRS_PER_FILE = len(HOSTS) * len(VERSIONS)
THROUGHPUT_SIZES = (1000, 2000)  # the marginal rate: the time the second 1,000 files add
JOBS_FILES = 10_000
MEMORY_FILES = (1_000, 10_000)

# The figures: 20,000 checks/s where tomllib reads and parses 43,000 files/s.
CHECKS_PER_PARSE = 20_000 / 43_000


@dataclass(frozen=True)
class Target:
    """`ratio <= limit` (slower or bigger is worse) or `ratio >= limit` (a rate or a speed-up)."""

    op: Literal["<=", ">="]
    limit: float
    note: str = ""

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.op == "<=" else ratio >= self.limit

    def __str__(self) -> str:
        return f"ratio {self.op} {self.limit:.3g}" + (f" ({self.note})" if self.note else "")


# The one table of targets: what each row must reach, as a ratio against its floor.
TARGETS: dict[str, Target | None] = {
    "cold": Target("<=", 1.25),
    "cold-model": None,  # kvminit's own share: reported, no target
    "engine": Target("<=", 2.0),
    "throughput": Target(">=", CHECKS_PER_PARSE, "20,000 checks/s at tomllib's 43,000 files/s"),
    "jobs": Target(">=", 1.7, "--jobs 2 rate / --jobs 1 rate"),
    "memory": Target("<=", 1.1, "10x the files, at most 10% more memory"),
    "batch-real": Target("<=", 0.53, "at most 3 ms per file"),
    "qemu": Target(">=", 20.0, "QEMU start / kvminit per file"),
}


@dataclass(frozen=True)
class Row:
    id: str
    what: str
    value: float | None  # in `unit`; None when skipped
    unit: str  # "s", "checks/s", "files/s", "bytes", "x"
    floor: float | None
    floor_unit: str
    floor_what: str
    ratio: float | None  # value / floor, or floor / value where a smaller value is better
    skipped: str | None = None

    @property
    def target(self) -> Target | None:
        return TARGETS[self.id]

    @property
    def ok(self) -> bool | None:
        if self.ratio is None or self.target is None:
            return None
        return self.target.met(self.ratio)


def skipped(id_: str, what: str, why: str) -> Row:
    return Row(id_, what, None, "", None, "", "", None, skipped=why)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved(
    a: Callable[[], object], b: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Medians of a and b, alternated so drift on the machine hits both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(repeat):
        for fn, out in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def kvminit(*args: str) -> tuple[float, int]:
    """Wall time and peak resident memory (bytes) of one `python -m kvminit ARGS` process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "-m", "kvminit", *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"kvminit {' '.join(args)} exited {proc.returncode}: {err.decode()}")
    return seconds, usage.ru_maxrss * 1024


def validate_args(directory: Path, *extra: str) -> list[str]:
    args = ["validate", str(directory)]
    for h in HOSTS:
        args += ["--host", h]
    for v in VERSIONS:
        args += ["--qemu", v]
    return args + list(extra)


def fleet_dir(base: Path, count: int) -> Path:
    """`count` distinct machine files in a directory of their own (a prefix of any larger)."""
    directory = base / f"fleet-{count}"
    if not directory.exists():
        directory.mkdir()
        fleet.distinct(directory, count)
    return directory


# --- rows --------------------------------------------------------------------------------


def rows_cold() -> list[Row]:
    def ours() -> None:
        subprocess.run([PY, "-m", "kvminit", PC], env=ENV, check=True, stdout=subprocess.DEVNULL)

    def floor() -> None:
        subprocess.run([PY, str(ROOT / "bench" / "raw_sequence.py")], env=ENV, check=True)

    def floor_model() -> None:
        subprocess.run(
            [PY, str(ROOT / "bench" / "raw_sequence.py"), "--model"], env=ENV, check=True
        )

    ours()  # warm the page cache and the .pyc files
    ours_t, floor_t = interleaved(ours, floor, 21)
    ours_m, model_t = interleaved(ours, floor_model, 11)
    return [
        Row(
            "cold",
            "cold `kvminit machines/pc.toml` (whole process, real KVM, QEMU 10.0)",
            ours_t,
            "s",
            floor_t,
            "s",
            "python + pydantic import + kvminit's own ioctls (its CallLog), raw",
            ours_t / floor_t,
        ),
        Row(
            "cold-model",
            "  the same, against a floor that also builds one pydantic model",
            ours_m,
            "s",
            model_t,
            "s",
            "the floor + one model built and used",
            ours_m / model_t,
        ),
    ]


def row_engine() -> Row:
    from bench import raw_sequence
    from kvminit.config import load_machine
    from kvminit.engine import run
    from kvminit.kvm.real import DeferredClose, RealHost

    m = load_machine(PC)
    with DeferredClose(64) as closer:
        host = RealHost(closer=closer)
        pending: list[int] = []

        def floor() -> None:
            pending.append(raw_sequence.sequence(close_vm=False))

        def ours() -> None:
            run(m, host)

        for _ in range(20):  # warm both paths
            ours()
            floor()
        ours_t, floor_t = interleaved(ours, floor, 200)
        for fd in pending:
            closer.submit(fd)
    return Row(
        "engine",
        "engine in process, real KVM, QEMU 10.0, VM teardown excluded",
        ours_t,
        "s",
        floor_t,
        "s",
        "the same ioctls (its CallLog), raw",
        ours_t / floor_t,
    )


def tomllib_rate(files: Sequence[str], repeat: int = 5) -> float:
    """Files per second read and parsed by tomllib alone (the throughput floor)."""
    from kvminit.common import toml

    def parse() -> None:
        for f in files:
            with open(f, encoding="utf-8") as fh:
                toml.loads(fh.read())

    parse()
    return len(files) / median_time(parse, repeat)


def row_throughput(base: Path) -> Row:
    small, large = (fleet_dir(base, n) for n in THROUGHPUT_SIZES)
    kvminit(*validate_args(small))  # warm

    def run(directory: Path) -> Callable[[], object]:
        return lambda: kvminit(*validate_args(directory))

    t_small, t_large = interleaved(run(small), run(large), 9)
    checks = (THROUGHPUT_SIZES[1] - THROUGHPUT_SIZES[0]) * PAIRS_PER_FILE
    rate = checks / (t_large - t_small)
    floor = tomllib_rate(sorted(str(p) for p in large.glob("*.toml")))
    return Row(
        "throughput",
        f"validate distinct files × {len(HOSTS)} profiles × {len(VERSIONS)} QEMU, "
        f"marginal ({THROUGHPUT_SIZES[0]} → {THROUGHPUT_SIZES[1]} files, one process)",
        rate,
        "checks/s",
        floor,
        "files/s",
        "files/s read + parsed (tomllib only)",
        rate / floor,
    )


def rows_jobs_memory(base: Path) -> list[Row]:
    big = fleet_dir(base, JOBS_FILES)
    one: list[float] = []
    two: list[float] = []
    rss: list[int] = []
    for _ in range(3):
        seconds, peak = kvminit(*validate_args(big, "--jobs", "1"))
        one.append(seconds)
        rss.append(peak)
        two.append(kvminit(*validate_args(big, "--jobs", "2"))[0])
    t1, t2 = statistics.median(one), statistics.median(two)
    checks = JOBS_FILES * PAIRS_PER_FILE
    small = fleet_dir(base, MEMORY_FILES[0])
    small_rss = statistics.median(kvminit(*validate_args(small))[1] for _ in range(3))
    big_rss = float(statistics.median(rss))
    return [
        Row(
            "jobs",
            f"validate {JOBS_FILES:,} distinct files, --jobs 2 on {os.cpu_count()} cores "
            "(whole process)",
            checks / t2,
            "checks/s",
            checks / t1,
            "checks/s",
            "the same with --jobs 1",
            t1 / t2,
        ),
        Row(
            "memory",
            f"peak memory of validate, {MEMORY_FILES[1]:,} files (one process)",
            big_rss,
            "bytes",
            small_rss,
            "bytes",
            f"the same with {MEMORY_FILES[0]:,} files",
            big_rss / small_rss,
        ),
    ]


def row_batch_real(files: list[str]) -> Row:
    from kvminit.batch import Target, check_files
    from kvminit.config import load_machine
    from kvminit.engine import run
    from kvminit.engine.qemu import DEFAULT
    from kvminit.kvm.real import RealHost

    batch = files[:200]
    hosts = [Target("real", RealHost(), DEFAULT)]
    machines = [load_machine(f) for f in batch[:20]]

    def naive() -> None:
        # The sequential cycle: each init, then its teardown, one after the other.
        for m in machines:
            run(m, RealHost())

    def ours() -> None:
        check_files(batch, hosts)

    naive_t = median_time(naive, 3) / len(machines)
    ours_t = median_time(ours, 3) / len(batch)
    return Row(
        "batch-real",
        "validate a batch of 200 files on real KVM, QEMU 10.0, per file",
        ours_t,
        "s",
        naive_t,
        "s",
        "naive init-then-teardown cycle",
        ours_t / naive_t,
    )


def row_qemu(per_file: float) -> Row:
    qemu = shutil.which("qemu-system-x86_64")
    what = "one QEMU start per file (-S, quit) vs kvminit per file"
    if qemu is None:
        return skipped("qemu", what, "qemu-system-x86_64 is not installed")
    args = [qemu, "-machine", "pc,accel=kvm", "-m", "1G", "-smp", "2", "-S", "-nodefaults"]
    args += ["-display", "none", "-monitor", "stdio", "-serial", "none"]

    def start() -> None:
        subprocess.run(
            args, input=b"quit\n", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )

    start()
    qemu_t = median_time(start, 7)
    return Row("qemu", what, per_file, "s", qemu_t, "s", "QEMU start", qemu_t / per_file)


# --- output ------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [f"{'figure':<76} {'value':>16}  {'floor':>16}  {'ratio':>6}  target"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        mark = {True: "met", False: "MISSED", None: ""}[r.ok]
        floor = r.skipped or shown(r.floor, r.floor_unit)
        target = str(r.target) if r.target else ""
        lines.append(
            f"{r.what:<76} {shown(r.value, r.unit):>16}  {floor:>16}  {ratio:>6}  {target} {mark}"
        )
    return "\n".join(lines)


def machine_meta() -> dict[str, object]:
    import platform

    import pydantic

    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    qemu = shutil.which("qemu-system-x86_64")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_bytes": pages,
        "machine": os.uname().machine,
        "kernel": os.uname().release,
        "python": platform.python_version(),
        "pydantic": pydantic.VERSION,
        "qemu": qemu,
    }


def main(argv: Sequence[str]) -> int:
    from kvminit.hostspec import kvm_unavailable

    rows: list[Row] = []
    no_kvm = kvm_unavailable()
    # As pip leaves an installed package: every module compiled, so a cold start measures
    # the program, not the byte-compiler.
    import compileall

    compileall.compile_dir(str(ROOT / "kvminit"), quiet=1)
    compileall.compile_dir(str(ROOT / "bench"), quiet=1)
    if not no_kvm and record.refresh():
        print("bench/pc_sequence.py: kvminit's ioctl sequence changed; the floor follows it")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if no_kvm:
            rows += [
                skipped("cold", "cold process, real KVM", no_kvm),
                skipped("cold-model", "cold process, model floor", no_kvm),
                skipped("engine", "engine in process, real KVM", no_kvm),
            ]
        else:
            rows += rows_cold()
            rows.append(row_engine())
        rows.append(row_throughput(base))
        rows += rows_jobs_memory(base)
        if no_kvm:
            rows.append(skipped("batch-real", "batch on real KVM", no_kvm))
            rows.append(skipped("qemu", "QEMU start vs kvminit", no_kvm))
        else:
            simple = base / "simple"
            simple.mkdir()
            real = row_batch_real(fleet.simple(simple, 200))
            rows.append(real)
            assert real.value is not None
            rows.append(row_qemu(real.value))
    print(table(rows))
    out = ROOT / "bench" / "results.json"
    data = {
        "meta": machine_meta(),
        "rows": [
            {**asdict(r), "target": asdict(r.target) if r.target else None, "ok": r.ok}
            for r in rows
        ],
    }
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    if "--readme" in argv:
        from bench import readme

        readme.update()
        print("rewrote README.md's Performance section")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
