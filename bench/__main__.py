"""`python -m bench`: the five figures of issue 9, each against its floor, as ratios.

Prints a table and writes bench/results.json. Never fails on time; the targets are
written next to the figures.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import raw_sequence  # noqa: E402

PY = sys.executable
PC = str(ROOT / "machines" / "pc.toml")


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


def have_kvm() -> bool:
    from kvminit.kvm.device import KvmError
    from kvminit.kvm.real import RealHost

    try:
        RealHost().open().close()
    except KvmError:
        return False
    return True


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


def row_cold(rows: list[dict[str, object]]) -> None:
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
    rows.append(
        {
            "row": 1,
            "what": "cold `kvminit machines/pc.toml` (whole process, real KVM)",
            "value": f"{ours_t * 1e3:.1f} ms",
            "floor": f"{floor_t * 1e3:.1f} ms",
            "ratio": ours_t / floor_t,
            "target": "<= 1.25x",
            "ok": ours_t / floor_t <= 1.25,
        }
    )
    # What building any pydantic model adds (pydantic.fields/types, the plugin loader's
    # importlib.metadata): the same floor plus one one-field model, validated once.
    ours_t, model_t = interleaved(ours, floor_model, 15)
    rows.append(
        {
            "row": "1b",
            "what": "  the same, against a floor that builds one pydantic model",
            "value": f"{ours_t * 1e3:.1f} ms",
            "floor": f"{model_t * 1e3:.1f} ms",
            "ratio": ours_t / model_t,
            "target": "(kvminit's own share)",
            "ok": None,
        }
    )


def row_engine(rows: list[dict[str, object]]) -> None:
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
    rows.append(
        {
            "row": 2,
            "what": "engine in process, real KVM, VM teardown excluded",
            "value": f"{ours_t * 1e6:.0f} us",
            "floor": f"{floor_t * 1e6:.0f} us",
            "ratio": ours_t / floor_t,
            "target": "<= 2x",
            "ok": ours_t / floor_t <= 2,
        }
    )


def row_batch_profile(rows: list[dict[str, object]], files: list[str]) -> None:
    import tomllib

    from kvminit.api import load_host
    from kvminit.validate import check_files

    host = load_host("amd-epyc-linux-6.18").host
    hosts = [("amd-epyc-linux-6.18", host)]
    check_files(files[:50], hosts)  # warm

    def ours() -> None:
        check_files(files, hosts)

    def floor() -> None:
        for f in files:
            with open(f, "rb") as fh:
                tomllib.load(fh)

    ours_t, floor_t = interleaved(ours, floor, 5)
    rate = len(files) / ours_t
    rows.append(
        {
            "row": 3,
            "what": f"validate {len(files)} files on a profile (one process)",
            "value": f"{rate:,.0f} pairs/s",
            "floor": f"{len(files) / floor_t:,.0f} files/s (read + tomllib only)",
            "ratio": ours_t / floor_t,
            "target": ">= 5,000 pairs/s",
            "ok": rate >= 5000,
        }
    )


def row_batch_real(rows: list[dict[str, object]], files: list[str]) -> float:
    from kvminit.config import load_machine
    from kvminit.engine import run
    from kvminit.kvm.real import RealHost
    from kvminit.validate import check_files

    batch = files[:200]
    hosts = [("real", RealHost())]
    machines = [load_machine(f) for f in batch[:20]]

    def naive() -> None:
        # The sequential cycle: each init, then its teardown, one after the other.
        for m in machines:
            run(m, RealHost())

    def ours() -> None:
        check_files(batch, hosts)

    naive_t = median_time(naive, 3) / len(machines)
    ours_t = median_time(ours, 3) / len(batch)
    rows.append(
        {
            "row": 4,
            "what": "validate a batch of 200 files on real KVM, per file",
            "value": f"{ours_t * 1e3:.2f} ms",
            "floor": f"{naive_t * 1e3:.2f} ms naive cycle",
            "ratio": ours_t / naive_t,
            "target": "<= 3 ms per file",
            "ok": ours_t <= 0.003,
        }
    )
    return ours_t


def row_qemu(rows: list[dict[str, object]], per_file: float | None) -> None:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None or per_file is None:
        why = "qemu-system-x86_64 is not installed" if qemu is None else "no /dev/kvm"
        rows.append(
            {
                "row": 5,
                "what": "one QEMU start per file vs kvminit per file",
                "value": "skipped",
                "floor": why,
                "ratio": None,
                "target": ">= 20x cheaper",
                "ok": None,
            }
        )
        return
    args = [
        qemu,
        "-machine",
        "pc,accel=kvm",
        "-m",
        "1G",
        "-smp",
        "2",
        "-S",
        "-nodefaults",
        "-display",
        "none",
        "-monitor",
        "stdio",
        "-serial",
        "none",
    ]

    def start() -> None:
        subprocess.run(
            args, input=b"quit\n", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )

    start()
    qemu_t = median_time(start, 7)
    rows.append(
        {
            "row": 5,
            "what": "one QEMU start per file (-S, quit) vs kvminit per file",
            "value": f"{per_file * 1e3:.2f} ms",
            "floor": f"{qemu_t * 1e3:.1f} ms QEMU",
            "ratio": qemu_t / per_file,
            "target": ">= 20x cheaper",
            "ok": qemu_t / per_file >= 20,
        }
    )


def main() -> int:
    rows: list[dict[str, object]] = []
    kvm = have_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        files = fleet(Path(tmp), 1000)
        if kvm:
            row_cold(rows)
            row_engine(rows)
        else:
            for n, what in ((1, "cold process"), (2, "engine in process")):
                rows.append(
                    {
                        "row": n,
                        "what": what,
                        "value": "skipped",
                        "floor": "no /dev/kvm",
                        "ratio": None,
                        "target": "",
                        "ok": None,
                    }
                )
        row_batch_profile(rows, files)
        per_file = row_batch_real(rows, files) if kvm else None
        if not kvm:
            rows.append(
                {
                    "row": 4,
                    "what": "batch on real KVM",
                    "value": "skipped",
                    "floor": "no /dev/kvm",
                    "ratio": None,
                    "target": "",
                    "ok": None,
                }
            )
        row_qemu(rows, per_file)
    rows.sort(key=lambda r: str(r["row"]))
    print(f"{'#':<2} {'figure':<58} {'value':>14}  {'floor':<40} {'ratio':>6}  target")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{float(str(r['ratio'])):.2f}x"
        mark = {True: "met", False: "MISSED", None: ""}[r["ok"]]  # type: ignore[index]
        print(
            f"{r['row']!s:<2} {r['what']!s:<58} {r['value']!s:>14}  {r['floor']!s:<40} "
            f"{ratio:>6}  {r['target']} {mark}"
        )
    out = ROOT / "bench" / "results.json"
    meta = {
        "python": sys.version.split()[0],
        "machine": os.uname().machine,
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
