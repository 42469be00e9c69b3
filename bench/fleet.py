"""The machine files the bench validates: a fleet of distinct files, and the simple one.

`distinct` draws type, memory, smp, kernel-irqchip and CPU so that no two files are
equal: nothing a cache could keep from one file answers the next one whole. A seed
makes every run (and every size) the same files; a smaller fleet is a prefix of a
larger one, so timing two sizes measures the same kind of file.
"""

from __future__ import annotations

import random
from pathlib import Path

TYPES = ("pc", "q35", "pc-i440fx-2.6", "pc-i440fx-5.2", "pc-q35-4.2", "pc-q35-7.1", "isapc")
MEMORY_MIB = (128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 65536)
IRQCHIP = ("on", "split", "off")
CPUS = (
    None,  # the machine type's default
    "qemu64",
    "kvm64",
    "host",
    "max",
    "EPYC-Rome",
    "EPYC-Milan",
    "Skylake-Server",
    "Icelake-Server",
    "Haswell",
    "Cascadelake-Server",
    "Opteron_G5",
)
MAX_SMP = 8


def distinct(directory: Path, count: int, seed: int = 7) -> list[str]:
    """`count` machine files, pairwise different, written under `directory`."""
    rng = random.Random(seed)
    seen: set[tuple[object, ...]] = set()
    files: list[str] = []
    while len(files) < count:
        type_ = rng.choice(TYPES)
        memory = rng.choice(MEMORY_MIB)
        smp = 1 if type_ == "isapc" else rng.randint(1, MAX_SMP)
        irqchip = rng.choice(IRQCHIP)
        cpu = rng.choice(CPUS)
        key = (type_, memory, smp, irqchip, cpu)
        if key in seen:
            continue
        seen.add(key)
        text = (
            f'type = "{type_}"\nmemory = "{memory}M"\nsmp = {smp}\n'
            f'kernel-irqchip = "{irqchip}"\n' + (f'cpu = "{cpu}"\n' if cpu else "")
        )
        path = directory / f"m{len(files):05d}.toml"
        path.write_text(text)
        files.append(str(path))
    return files


def simple(directory: Path, count: int) -> list[str]:
    """The earlier bench's fleet (a few types, 1 or 2 CPUs): the real-KVM batch row's,
    kept so its figure compares with the runs before it."""
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
