#!/usr/bin/env python3
"""Extract the x86_64 QEMU command lines from libvirt's qemuxml2argv test data.

Usage:
    python3 scripts/extract_libvirt_corpus.py LIBVIRT_SRC OUT.json[.gz] [--include-i386]

Regenerate the corpus tests/qemu/ replays (stdlib only, deterministic output):
    python3 scripts/extract_libvirt_corpus.py LIBVIRT_SRC tests/data/libvirt/corpus.json.gz
with LIBVIRT_SRC an unpacked libvirt 9.0.0 source tree (libvirt-9.0.0.tar.xz from
https://libvirt.org/sources/). An OUT name ending in .gz is gzip-compressed with
mtime 0 and no file name, so the same input always gives the same bytes.

The script reads LIBVIRT_SRC/tests/qemuxml2argvdata/*.args and writes OUT.json:

    {"source": "libvirt 9.0.0 tests/qemuxml2argvdata",
     "count": N,
     "excluded": {"<reason>": count, ...},
     "lines": [{"name": "<file name without .args>",
                "binary": "qemu-system-x86_64",
                "argv": ["-name", "guest=...", ...]}, ...]}

"lines" is sorted by name; the output is byte-for-byte deterministic (sorted
keys inside "excluded", fixed indentation, ASCII-only escapes, trailing newline).

Recognition rule (which files are x86_64 command lines)
-------------------------------------------------------
libvirt writes each expected command line with virCommandToString(): zero or
more environment assignments (NAME=value), then the emulator path taken from
the domain XML's <emulator>, then the arguments, one per line, each line but the
last ending in " \\".  A file is an x86_64 command line when, after joining the
continued lines and shell-splitting them, the first word that is not a NAME=value
assignment is a path whose basename is exactly "qemu-system-x86_64".  The
binary is the authority: the file-name suffix convention (NAME.x86_64-latest.args,
NAME.x86_64-6.2.0.args, ...) only exists for tests run against a real
capabilities dump, while 129 of the 532 x86_64 files in 9.0.0 have no suffix.
As a cross-check the script refuses (exits 2) when a file's arch suffix
contradicts its binary (e.g. "foo.x86_64-latest.args" naming qemu-system-i386).

qemu-system-i386 lines (190 in 9.0.0: the legacy tests whose XML says
<emulator>/usr/bin/qemu-system-i386</emulator>, arch i686) are excluded by
default; --include-i386 keeps them too (they use the same PC machine types).

Files excluded, each counted under one reason:
  - "symlink to another .args file (qemu-system-ARCH)": libvirt shares one
    expected output between several tests; its argv would duplicate the target's.
  - "empty": no words at all.
  - "no qemu-system binary": no word after the environment looks like
    .../qemu-system-ARCH (not a command line).
  - "binary qemu-system-ARCH": a command line for another target.
The *.err files next to the .args files (expected error messages of failing
tests) are never opened as command lines; they are only counted, under
"error-expectation file (*.err)", so the totals account for the directory.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shlex
import sys

SOURCE = "libvirt 9.0.0 tests/qemuxml2argvdata"
DATA_DIR = os.path.join("tests", "qemuxml2argvdata")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
BINARY = re.compile(r"(?:^|/)qemu-system-([A-Za-z0-9_]+)$")
# NAME.ARCH-latest.args or NAME.ARCH-X.Y.Z.args (the DO_TEST_CAPS_* convention)
SUFFIX = re.compile(r"\.([a-z0-9_]+)-(?:latest|\d+\.\d+\.\d+)$")


def join_continuations(text: str) -> str:
    """Remove backslash-newline pairs as a POSIX shell does (not inside '...')."""
    out: list[str] = []
    i, n = 0, len(text)
    in_single = in_double = False
    while i < n:
        c = text[i]
        if in_single:
            out.append(c)
            if c == "'":
                in_single = False
            i += 1
            continue
        if c == "\\":
            if text[i + 1 : i + 2] == "\n":
                i += 2  # line continuation: both characters vanish
                continue
            out.append(text[i : i + 2])  # keep an escaped character as is
            i += 2
            continue
        if c == "'" and not in_double:
            in_single = True
        elif c == '"':
            in_double = not in_double
        out.append(c)
        i += 1
    return "".join(out)


def parse(text: str) -> tuple[list[str], str | None, list[str]]:
    """(environment assignments, binary or None, argv) of one .args file."""
    words = shlex.split(join_continuations(text), comments=False, posix=True)
    k = 0
    while k < len(words) and ASSIGNMENT.match(words[k]):
        k += 1
    if k == len(words):
        return words, None, []
    return words[:k], words[k], words[k + 1 :]


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    if len(args) != 2 or flags - {"--include-i386"}:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    src, out_path = args
    wanted = {"x86_64", "i386"} if "--include-i386" in flags else {"x86_64"}
    names = sorted(os.listdir(os.path.join(src, DATA_DIR)))
    lines: list[dict[str, object]] = []
    excluded: dict[str, int] = {}

    def exclude(reason: str) -> None:
        excluded[reason] = excluded.get(reason, 0) + 1

    for fname in names:
        path = os.path.join(src, DATA_DIR, fname)
        if fname.endswith(".err"):
            exclude("error-expectation file (*.err)")
            continue
        if not fname.endswith(".args"):
            continue
        name = fname[: -len(".args")]
        if os.path.islink(path):
            with open(path, encoding="utf-8") as f:
                m = BINARY.search(parse(f.read())[1] or "")
            arch = m.group(1) if m else "?"
            exclude(f"symlink to another .args file (qemu-system-{arch})")
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        env, binary, rest = parse(text)
        if binary is None:
            exclude("empty" if not env else "no qemu-system binary")
            continue
        m = BINARY.search(binary)
        if not m:
            exclude("no qemu-system binary")
            continue
        arch = m.group(1)
        s = SUFFIX.search(name)
        if s and s.group(1) != arch:
            print(f"{fname}: suffix says {s.group(1)}, binary is {binary}", file=sys.stderr)
            return 2
        if arch not in wanted:
            exclude(f"binary qemu-system-{arch}")
            continue
        lines.append({"name": name, "binary": os.path.basename(binary), "argv": rest})

    lines.sort(key=lambda d: str(d["name"]))
    doc = {
        "source": SOURCE,
        "count": len(lines),
        "excluded": dict(sorted(excluded.items())),
        "lines": lines,
    }
    # One line per corpus entry keeps the file small and diffs readable.
    body = ",\n".join(json.dumps(d, ensure_ascii=True, separators=(",", ":")) for d in lines)
    head = json.dumps(
        {k: doc[k] for k in ("source", "count", "excluded")}, ensure_ascii=True, indent=1
    )
    text = head[:-2] + ',\n "lines": [\n' + body + "\n ]\n}\n"
    json.loads(text)  # sanity: still valid JSON
    blob = text.encode("utf-8")
    if out_path.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
            g.write(blob)
        blob = buf.getvalue()
    with open(out_path, "wb") as out:
        out.write(blob)
    print(f"{len(lines)} lines written to {out_path}", file=sys.stderr)
    for reason, n in sorted(excluded.items()):
        print(f"  excluded {n:4d}: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
