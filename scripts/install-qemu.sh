#!/usr/bin/env bash
# Install QEMU (Debian's qemu-system-x86, QEMU 7.2 on bookworm) for tests/qemu/ and
# bench row 5. Exits non-zero, saying why, where it cannot; QEMU is not a dependency.
set -u
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "qemu-system-x86_64 is already installed: $(qemu-system-x86_64 --version | head -1)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install QEMU with this system's package manager" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "needs root (or sudo) to install" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && \
    $SUDO apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null || {
    echo "apt-get could not install qemu-system-x86" >&2
    exit 1
}
qemu-system-x86_64 --version | head -1
