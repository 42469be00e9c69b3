"""`python -m bench`: kvminit's speed, each figure against a floor measured in the same run.

Prints a table and writes bench/results.json with numbers only (seconds, rates,
ratios), so a script can compare two runs. Never fails on time: each figure's
target sits in TARGETS and the table says met or MISSED.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import raw_sequence  # noqa: E402

PY = sys.executable
PC = str(ROOT / "machines" / "pc.toml")


@dataclass(frozen=True)
class Target:
    """`ratio <= limit` (slower is worse) or `ratio >= limit` (a speed-up factor)."""

    op: Literal["<=", ">="]
    limit: float
    note: str = ""

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.op == "<=" else ratio >= self.limit

    def __str__(self) -> str:
        return f"ratio {self.op} {self.limit:g}" + (f" ({self.note})" if self.note else "")


# The one table of targets: what each row must reach, as a ratio against its floor.
TARGETS: dict[str, Target | None] = {
    "cold": Target("<=", 1.25),
    "cold-model": None,  # kvminit's own share: reported, no target
    "engine": Target("<=", 2.0),
    "batch-profile": Target("<=", 1 / 0.115, "about 5,000 pairs/s against tomllib's rate"),
    "batch-real": Target("<=", 0.53, "at most 3 ms per file"),
    "qemu": Target(">=", 20.0, "QEMU start / kvminit per file"),
}


@dataclass(frozen=True)
class Row:
    id: str
    what: str
    value: float | None  # in `unit`; None when skipped
    unit: str
    floor: float | None
    floor_what: str
    ratio: float | None  # value / floor (or floor / value for speed-up rows)
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
    return Row(id_, what, None, "", None, "", None, skipped=why)


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


def fleet(directory: Path, count: int) -> list[str]:
    import random

    rng = random.Random(7)
    files = []
    for i in range(count):
        t = rng.choice(["pc", "q35", "pc-i440fx-2.6", "pc-q35-7.1", "isapc"])
        smp = 1 if t == "isapc" else rng.choice([1, 2])
        text = (
            f'type = "{t}"\nmemory = "{rng.choice([512, 1024, 4096, 6144])}M"\nsmp = {smp}\n'
            f'kernel-irqchip = "{rng.choice(["on", "split", "off"])}"\n'
        )
        p = directory / f"m{i:04d}.toml"
        p.write_text(text)
        files.append(str(p))
    return files


def rows_cold() -> list[Row]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def ours() -> None:
        subprocess.run(
            [PY, "-m", "kvminit", PC, "--host", "real"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def floor() -> None:
        subprocess.run([PY, str(ROOT / "bench" / "raw_sequence.py")], env=env, check=True)

    def floor_model() -> None:
        subprocess.run(
            [PY, str(ROOT / "bench" / "raw_sequence.py"), "--model"], env=env, check=True
        )

    ours_t, floor_t = interleaved(ours, floor, 15)
    ours_m, model_t = interleaved(ours, floor_model, 15)
    return [
        Row(
            "cold",
            "cold `kvminit machines/pc.toml` (whole process, real KVM)",
            ours_t,
            "s",
            floor_t,
            "python + pydantic import + raw ioctls",
            ours_t / floor_t,
        ),
        Row(
            "cold-model",
            "  the same, against a floor that builds one pydantic model",
            ours_m,
            "s",
            model_t,
            "the floor + one model built and used",
            ours_m / model_t,
        ),
    ]


def row_engine() -> Row:
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
        "engine in process, real KVM, VM teardown excluded",
        ours_t,
        "s",
        floor_t,
        "the same ioctls, raw",
        ours_t / floor_t,
    )


def row_batch_profile(files: list[str]) -> Row:
    from kvminit.batch import Target, check_files
    from kvminit.common import toml
    from kvminit.engine.qemu import DEFAULT
    from kvminit.hostspec import load_host

    choice = load_host("amd-epyc-linux-6.18")
    hosts = [Target(choice.label, choice.host, DEFAULT)]
    check_files(files[:50], hosts)  # warm

    def ours() -> None:
        check_files(files, hosts)

    def floor() -> None:
        for f in files:
            with open(f, encoding="utf-8") as fh:
                toml.loads(fh.read())

    ours_t, floor_t = interleaved(ours, floor, 5)
    return Row(
        "batch-profile",
        f"validate {len(files)} files on a profile (one process), pairs/s",
        len(files) / ours_t,
        "pairs/s",
        len(files) / floor_t,
        "files/s read + parsed (tomllib only)",
        ours_t / floor_t,
    )


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
        "validate a batch of 200 files on real KVM, per file",
        ours_t,
        "s",
        naive_t,
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
    return Row("qemu", what, per_file, "s", qemu_t, "QEMU start", qemu_t / per_file)


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "skipped"
    if unit == "s":
        return f"{value * 1e3:.1f} ms" if value >= 0.01 else f"{value * 1e6:.0f} us"
    return f"{value:,.0f} {unit}"


def table(rows: list[Row]) -> str:
    lines = [f"{'figure':<62} {'value':>14}  {'floor':>14}  {'ratio':>6}  target"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        mark = {True: "met", False: "MISSED", None: ""}[r.ok]
        floor = r.skipped or _shown(r.floor, r.unit if r.unit == "s" else "files/s")
        target = str(r.target) if r.target else ""
        lines.append(
            f"{r.what:<62} {_shown(r.value, r.unit):>14}  {floor:>14}  {ratio:>6}  {target} {mark}"
        )
    return "\n".join(lines)


def main() -> int:
    from kvminit.hostspec import kvm_unavailable

    rows: list[Row] = []
    no_kvm = kvm_unavailable()
    with tempfile.TemporaryDirectory() as tmp:
        files = fleet(Path(tmp), 1000)
        if no_kvm:
            rows += [
                skipped("cold", "cold process, real KVM", no_kvm),
                skipped("cold-model", "cold process, model floor", no_kvm),
                skipped("engine", "engine in process, real KVM", no_kvm),
            ]
        else:
            rows += rows_cold()
            rows.append(row_engine())
        rows.append(row_batch_profile(files))
        if no_kvm:
            rows.append(skipped("batch-real", "batch on real KVM", no_kvm))
            rows.append(skipped("qemu", "QEMU start vs kvminit", no_kvm))
        else:
            real = row_batch_real(files)
            rows.append(real)
            assert real.value is not None
            rows.append(row_qemu(real.value))
    print(table(rows))
    out = ROOT / "bench" / "results.json"
    meta = {
        "python": sys.version.split()[0],
        "machine": os.uname().machine,
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
    }
    data = {
        "meta": meta,
        "rows": [
            {**asdict(r), "target": asdict(r.target) if r.target else None, "ok": r.ok}
            for r in rows
        ],
    }
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
