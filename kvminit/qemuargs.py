"""The QEMU command line of a machine, and a machine from a QEMU command line.

engine.qemuline writes the options that start the same machine under
qemu-system-x86_64 (`kvminit qemu-args`); from_qemu() reads a command line back
(QEMU's spellings, `-accel` and `-enable-kvm` included) and names every option it
does not model.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import toml
from .common.errors import KvminitError
from .config.sizes import MiB, SizeError, format_size, parse_size


def as_lines(args: Sequence[str]) -> str:
    pairs = [f"{args[i]} {shlex.quote(args[i + 1])}" for i in range(0, len(args), 2)]
    return "\n".join(pairs)


# --- the other way ----------------------------------------------------------------------


class QemuArgsError(KvminitError):
    """A QEMU command line that cannot be read: the option and why."""


@dataclass
class FromQemu:
    keys: dict[str, object] = field(default_factory=dict)
    unmodelled: list[str] = field(default_factory=list)  # options and properties left out

    def toml(self) -> str:
        lines = ["#:schema ../schemas/machine.schema.json", "# Converted by `kvminit from-qemu`."]
        if self.unmodelled:
            lines.append(toml.comment("Not modelled, left out: " + " ".join(self.unmodelled)))
        for key, value in self.keys.items():
            lines.append(f"{key} = {toml.value(value)}")
        return "\n".join(lines) + "\n"


def _split_props(value: str) -> list[tuple[str, str | None]]:
    # QEMU's option syntax: comma-separated, ",," escapes a comma.
    parts, current, i = [], "", 0
    while i < len(value):
        if value[i] == "," and value[i + 1 : i + 2] == ",":
            current += ","
            i += 2
            continue
        if value[i] == ",":
            parts.append(current)
            current = ""
        else:
            current += value[i]
        i += 1
    parts.append(current)
    out: list[tuple[str, str | None]] = []
    for part in parts:
        key, eq, val = part.partition("=")
        out.append((key, val if eq else None))
    return out


def _bytes(text: str, option: str) -> int:
    try:
        return parse_size(text, bare_unit=1)
    except SizeError as e:
        raise QemuArgsError(f"{option}: {text!r} {e}") from None


def from_qemu(argv: Sequence[str]) -> FromQemu:
    out = FromQemu()
    accels: list[str] = []
    args = list(argv)
    if args and not args[0].startswith("-"):
        args = args[1:]  # the program name (qemu-system-x86_64 ...)
    i = 0

    def value() -> str:
        nonlocal i
        if i + 1 >= len(args):
            raise QemuArgsError(f"{args[i]} needs a value")
        i += 1
        return args[i]

    while i < len(args):
        opt = args[i]
        name = opt.lstrip("-")
        if name in ("machine", "M"):
            for n, (key, val) in enumerate(_split_props(value())):
                if n == 0 and val is None:
                    out.keys["type"] = key
                elif key == "type" and val is not None:
                    out.keys["type"] = val
                elif key == "accel" and val is not None:
                    accels += val.split(":")
                elif key in ("kvm-shadow-mem", "max-ram-below-4g") and val is not None:
                    out.keys[key] = _size_text(_bytes(val, f"-machine {key}"))
                elif key == "kernel-irqchip":
                    out.keys[key] = {
                        None: "on",
                        "on": "on",
                        "off": "off",
                        "split": "split",
                        "true": "on",
                        "false": "off",
                    }.get(val, val or "on")
                elif key == "kvm-type" and val is not None:
                    out.keys[key] = val
                else:
                    out.unmodelled.append(f"-machine {key}" + (f"={val}" if val else ""))
        elif name == "accel":
            props = _split_props(value())
            accels.append(props[0][0] if props[0][1] is None else str(props[0][1]))
            out.unmodelled += [f"-accel {k}={v}" for k, v in props[1:]]
        elif name == "enable-kvm":
            accels.append("kvm")
        elif name == "m":
            props = _split_props(value())
            size = props[0][0] if props[0][1] is None else None
            for key, val in props:
                if key == "size" and val is not None:
                    size = val
                elif val is not None:
                    out.unmodelled.append(f"-m {key}={val}")
            if size is None:
                raise QemuArgsError("-m needs a size")
            try:
                out.keys["memory"] = _size_text(parse_size(size, bare_unit=MiB))
            except SizeError as e:
                raise QemuArgsError(f"-m: {size!r} {e}") from None
        elif name == "smp":
            for n, (key, val) in enumerate(_split_props(value())):
                if n == 0 and val is None:
                    out.keys["smp"] = _int(key, "-smp")
                elif key == "cpus" and val is not None:
                    out.keys["smp"] = _int(val, "-smp cpus")
                elif key == "maxcpus" and val is not None:
                    out.keys["maxcpus"] = _int(val, "-smp maxcpus")
                else:
                    out.unmodelled.append(f"-smp {key}" + (f"={val}" if val else ""))
        elif name == "cpu":
            props = _split_props(value())
            out.keys["cpu"] = props[0][0]
            for key, val in props[1:]:
                if key == "phys-bits" and val is not None:
                    out.keys["phys-bits"] = _int(val, "-cpu phys-bits")
                elif key == "host-phys-bits" and val in (None, "on", "true"):
                    out.keys["phys-bits"] = "host"
                else:
                    out.unmodelled.append(f"-cpu {key}" + (f"={val}" if val else ""))
        elif opt.startswith("-"):
            # An option we do not model: keep its value with it when it takes one.
            if i + 1 < len(args) and not args[i + 1].startswith("-"):
                out.unmodelled.append(f"{opt} {args[i + 1]}")
                i += 1
            else:
                out.unmodelled.append(opt)
        else:
            out.unmodelled.append(opt)
        i += 1
    if accels:
        seen: list[str] = []
        for a in accels:
            if a not in seen:
                seen.append(a)
        out.keys["accel"] = seen
    return out


def _size_text(n: int) -> str:
    # Always suffixed: in a machine file a bare number for memory counts MiB.
    text = format_size(n)
    return text if not text.isdigit() else f"{text}B"


def _int(text: str, option: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise QemuArgsError(f"{option}: {text!r} is not a number") from None
