#!/usr/bin/env bash
# Install the two real QEMUs tests/qemu/ compares kvminit with (they are not dependencies):
#   7.2  Debian 12's qemu-system-x86 (bookworm), installed with apt as usual;
#   10.0 Debian's bookworm-backports build, unpacked beside it with dpkg -x into
#        $PREFIX (default /opt/kvminit-qemu/10.0) and run with -L $PREFIX/usr/share/qemu.
# Exits non-zero, saying why, where it cannot install both.
set -u
PREFIX=${KVMINIT_QEMU_PREFIX:-/opt/kvminit-qemu}
say() { echo "install-qemu: $*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: install QEMU 7.2 and 10.0 with this system's package manager"
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "needs root (or sudo) to install"; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# bookworm-backports carries QEMU 10.0; add it if this system does not list it yet.
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
        $SUDO tee /etc/apt/sources.list.d/kvminit-bookworm-backports.list >/dev/null
fi
$SUDO apt-get update -qq || { say "apt-get update failed"; exit 1; }

if ! qemu-system-x86_64 --version 2>/dev/null | grep -q "version 7\.2\."; then
    $SUDO apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null ||
        { say "apt-get could not install qemu-system-x86 (7.2)"; exit 1; }
fi
qemu-system-x86_64 --version | head -1

Q10="$PREFIX/10.0/usr/bin/qemu-system-x86_64"
if ! "$Q10" -L "$PREFIX/10.0/usr/share/qemu" --version 2>/dev/null | grep -q "version 10\.0\."; then
    version=$(apt-cache madison qemu-system-x86 | awk '$3 ~ /^1:10\.0\./ {print $3; exit}')
    [ -n "$version" ] || { say "no QEMU 10.0 in bookworm-backports"; exit 1; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download -qq "qemu-system-x86=$version" \
        "qemu-system-common=$version" "qemu-system-data=$version") ||
        { say "apt-get download of QEMU $version failed"; exit 1; }
    $SUDO mkdir -p "$PREFIX/10.0"
    for deb in "$work"/*.deb; do
        $SUDO dpkg -x "$deb" "$PREFIX/10.0" || { say "dpkg -x $deb failed"; exit 1; }
    done
fi
"$Q10" -L "$PREFIX/10.0/usr/share/qemu" --version | head -1
