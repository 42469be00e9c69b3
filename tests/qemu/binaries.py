"""The real QEMU binaries tests/qemu/ compares kvminit with, and how to start each.

QEMU 7.2 is Debian 12's `qemu-system-x86_64` on PATH; QEMU 10.0 is Debian's
bookworm-backports build unpacked under $KVMINIT_QEMU_PREFIX (default
/opt/kvminit-qemu)/10.0 and run with `-L` (its firmware) and its own module
directory (else it tries to load 7.2's modules and prints noise).
`scripts/install-qemu.sh` installs both. A binary that is missing, or is not the
version it should be, makes its cases skip with the reason; nothing fails for it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from kvminit.engine.qemu import QEMU_7_2, QEMU_10_0, Qemu

INSTALL_HINT = "scripts/install-qemu.sh installs it"


@dataclass(frozen=True)
class QemuBinary:
    """One real QEMU: its version, the argv that starts it, the environment it needs."""

    qemu: Qemu
    program: str
    pre_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=())

    def argv(self, args: list[str] | tuple[str, ...]) -> list[str]:
        return [self.program, *self.pre_args, *args]

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        return env


@dataclass(frozen=True)
class Found:
    """A version's binary, or why there is none (the skip reason)."""

    qemu: Qemu
    binary: QemuBinary | None
    reason: str | None


_VERSION = re.compile(r"QEMU emulator version (\d+)\.(\d+)")


def _version_of(binary: QemuBinary) -> tuple[int, int] | None:
    try:
        p = subprocess.run(
            binary.argv(["--version"]),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=binary.environ(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(p.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_7_2() -> Found:
    program = shutil.which("qemu-system-x86_64")
    if program is None:
        return Found(
            QEMU_7_2, None, f"qemu-system-x86_64 (QEMU 7.2) is not on PATH; {INSTALL_HINT}"
        )
    binary = QemuBinary(QEMU_7_2, program)
    version = _version_of(binary)
    if version != (7, 2):
        said = "no version" if version is None else f"{version[0]}.{version[1]}"
        return Found(
            QEMU_7_2, None, f"{program} is QEMU {said}, not 7.2; {INSTALL_HINT} (Debian 12's)"
        )
    return Found(QEMU_7_2, binary, None)


def find_10_0() -> Found:
    prefix = os.environ.get("KVMINIT_QEMU_PREFIX", "/opt/kvminit-qemu")
    root = os.path.join(prefix, "10.0")
    program = os.path.join(root, "usr", "bin", "qemu-system-x86_64")
    if not os.access(program, os.X_OK):
        return Found(QEMU_10_0, None, f"{program} (QEMU 10.0) is not installed; {INSTALL_HINT}")
    modules = os.path.join(root, "usr", "lib", "x86_64-linux-gnu", "qemu")
    binary = QemuBinary(
        QEMU_10_0,
        program,
        ("-L", os.path.join(root, "usr", "share", "qemu")),
        (("QEMU_MODULE_DIR", modules),),
    )
    version = _version_of(binary)
    if version != (10, 0):
        said = "no version" if version is None else f"{version[0]}.{version[1]}"
        return Found(QEMU_10_0, None, f"{program} is QEMU {said}, not 10.0; {INSTALL_HINT}")
    return Found(QEMU_10_0, binary, None)


FOUND: tuple[Found, ...] = (find_7_2(), find_10_0())
