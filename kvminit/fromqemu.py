"""A machine description from a QEMU command line, as the selected QEMU version reads it.

from_qemu() splits the command line with the version's option table, reads the
options kvminit models (-machine/-M, -accel, -enable-kvm, -m, -smp, -cpu) with
QEMU's parsing and words, and sorts the rest into options that can change the
result (named one by one) and options that cannot (devices, drives, display ...:
summarised). A refusal QEMU gives while reading its options is a QemuArgsError
located at the option, as QEMU prints it; the converted machine's own findings
point at the option a key came from.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import qemuopts
from .common import toml
from .common.errors import KvminitError
from .config.errors import ConfigError, Finding
from .config.model import MachineConfig
from .config.rules import COUNT_MAX
from .config.sizes import format_size
from .engine import smp as smp_rules
from .engine.qemu import DEFAULT, QEMU_2_6, QEMU_7_2, Qemu

SOURCE: str = "command line"  # where a converted machine's findings say they come from


class QemuArgsError(KvminitError):
    """QEMU refuses the command line while reading its options (QEMU's words), or kvminit
    cannot represent it; `option` is the option as written, when there is one."""

    def __init__(self, message: str, option: str | None = None) -> None:
        self.message = message
        self.option = option
        super().__init__(f"{option}: {message}" if option else message)


@dataclass(frozen=True)
class Left:
    """An option (or part of one) the converted machine does not carry."""

    option: str  # as written: "-numa node,nodeid=0"
    group: str  # "devices", "drives", ... for the summary
    why: str | None = None  # how it can change the result; None: it cannot


@dataclass
class Converted:
    qemu: Qemu
    argv: tuple[str, ...]
    keys: dict[str, object] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # key -> the option it came from
    may_affect: list[Left] = field(default_factory=list)
    no_effect: list[Left] = field(default_factory=list)
    dropped_cpu_features: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what QEMU says or decides while reading

    def set(self, key: str, value: object, option: str) -> None:
        self.keys[key] = value
        self.origins[key] = option

    def toml(self, schema: str | None = None) -> str:
        """The machine file; `schema` the `#:schema` target, if one is reachable."""
        lines = [f"#:schema {schema}"] if schema else []
        lines += [
            toml.comment(f"Converted by `kvminit from-qemu` with QEMU {self.qemu} rules from:"),
            toml.comment(shlex.join(self.argv)),
        ]
        for left in self.may_affect:
            lines.append(toml.comment(f"Not modelled, may change the result: {left.option}"))
        for key, value in self.keys.items():
            lines.append(f"{key} = {toml.value(value)}  {toml.comment(self.origins[key])}")
        return "\n".join(lines) + "\n"

    def machine(self) -> MachineConfig:
        """The converted machine, validated; its findings point at the options."""
        from pydantic import ValidationError

        from .config.loader import problems_from

        try:
            machine = MachineConfig.model_validate(self.keys)
        except ValidationError as e:
            problems = [
                Finding(p.message, p.key, None, p.hint, self.origins.get(p.key or ""))
                for p in problems_from(e, self.keys, {})
            ]
            raise ConfigError(SOURCE, problems) from None
        machine.set_options(self.origins)
        return machine

    def summary(self) -> str | None:
        """One line for everything left out that cannot change the result."""
        if not self.no_effect:
            return None
        groups: dict[str, int] = {}
        for left in self.no_effect:
            groups[left.group] = groups.get(left.group, 0) + 1
        named = ", ".join(f"{n} {g}" for g, n in sorted(groups.items(), key=lambda x: -x[1]))
        count = len(self.no_effect)
        options = "option" if count == 1 else "options"
        return f"left out {count} {options} that cannot change the result ({named})"


# --- QEMU's value parsers --------------------------------------------------------------

_STRTOSZ = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)(\.\d*)?([bBkKmMgGtTpPeE]?)$")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_UNITS.update({"p": 1 << 50, "e": 1 << 60})
U64_MAX = (1 << 64) - 1


class _SizeRefused(Exception):
    def __init__(self, overflow: bool) -> None:
        self.overflow = overflow


def qemu_strtosz(text: str, qemu: Qemu) -> tuple[int, bool]:
    """qemu_strtosz(): bytes, and whether it warned about a suffix on a hex number (7.2).

    7.2/10.0 util/cutils.c do_strtosz(): a decimal or hex integer, an optional
    decimal fraction (not after hex), one optional suffix letter. 10.0 refuses any
    suffix on a hex number; 7.2 takes it with a deprecation warning.
    """
    match = _STRTOSZ.match(text)
    if match is None:
        raise _SizeRefused(overflow=False)
    whole, fraction, suffix = match.groups()
    hex_number = whole[:2].lower() == "0x"
    unit = _UNITS[suffix.lower()]
    if hex_number and (fraction or (suffix and qemu != QEMU_7_2)):
        raise _SizeRefused(overflow=False)
    if fraction and unit == 1 and qemu != QEMU_2_6:
        raise _SizeRefused(overflow=False)  # a fraction of a byte
    number = int(whole, 16 if hex_number else 10)
    frac = fraction[1:] if fraction else ""
    value = number * unit + (int(frac) * unit // 10 ** len(frac) if frac else 0)
    if value > U64_MAX:
        raise _SizeRefused(overflow=True)
    return value, hex_number and bool(suffix)


def _strtou64(text: str) -> int | None:
    """qemu_strtou64(text, NULL, 0): C's strtoull base 0, a leading '-' wrapping."""
    body = text.strip()
    negative = body.startswith("-")
    body = body[1:] if negative or body.startswith("+") else body
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", body):
        n = int(body, 16)
    elif re.fullmatch(r"0[0-7]*", body):
        n = int(body, 8)
    elif re.fullmatch(r"[1-9]\d*", body):
        n = int(body)
    else:
        return None
    if n > U64_MAX:
        return U64_MAX + 1  # ERANGE
    return (-n) & U64_MAX if negative else n


def _strtoi64(text: str) -> int | None:
    """qemu_strtoi64(text, NULL, 0): an int64 in C's base-0 spelling, or None."""
    body = text.strip()
    negative = body.startswith("-")
    magnitude = _strtou64(body[1:] if negative else body)
    if magnitude is None:
        return None
    value = -magnitude if negative else magnitude
    return value if -(1 << 63) <= value < (1 << 63) else None


# --- option syntax -----------------------------------------------------------------------


def _split(value: str) -> list[str]:
    """QEMU's comma lists: `,,` is a literal comma."""
    parts, current, i = [], "", 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1 : i + 2] == ",":
                current += ","
                i += 2
                continue
            parts.append(current)
            current = ""
        else:
            current += value[i]
        i += 1
    parts.append(current)
    return parts


def _props(
    qemu: Qemu, value: str, implied: str, option: str, notes: list[str] | None = None
) -> list[tuple[str, str]]:
    """key=value pairs of a -machine/-accel/-m/-smp value, the first bare word being
    `implied`. A bare word after it: 7.2+ keyval (-machine) refuses it; QemuOpts (2.6,
    and -accel in every version) reads `key` as on, 7.2+ with a deprecation warning
    added to `notes`."""
    out: list[tuple[str, str]] = []
    for n, part in enumerate(_split(value)):
        if part == "" and n > 0:
            continue
        key, eq, val = part.partition("=")
        if eq:
            out.append((key, val))
        elif n == 0:
            out.append((implied, key))
        elif qemu == QEMU_2_6:
            out.append((key[2:], "off") if key.startswith("no") else (key, "on"))
        elif notes is not None:
            notes.append(
                f"{option}: warning: short-form boolean option '{key}' deprecated\n"
                f"Please use {key}=on instead"
            )
            out.append((key, "on"))
        else:
            raise QemuArgsError(f"Expected '=' after parameter '{key}'", option)
    return out


def _dashed(key: str) -> str:
    return key.replace("_", "-")


# --- the conversion ----------------------------------------------------------------------

_ON = {"on", "yes", "true", "y"}
_OFF = {"off", "no", "false", "n"}


def from_qemu(argv: Sequence[str], qemu: Qemu = DEFAULT) -> Converted:
    """Read a QEMU command line (the program name first, or only options) as `qemu` would."""
    args = [str(a) for a in argv]
    program = "qemu-system-x86_64"
    if args and not args[0].startswith("-"):
        program = args[0]
        args = args[1:]
    out = Converted(qemu, tuple(argv))
    reader = _Reader(out, qemu)
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg == "-":
            out.no_effect.append(Left(arg, "drives"))  # a bare image: -hda
            i += 1
            continue
        name = arg[2:] if arg.startswith("--") else arg[1:]
        takes = qemuopts.takes_value(qemu, name)
        if takes is None:
            if qemu in qemuopts.EXACT_TABLE:
                raise QemuArgsError("invalid option", arg)
            out.may_affect.append(
                Left(arg, "other", f"not an option kvminit knows QEMU {qemu} has")
            )
            i += 1
            continue
        value: str | None = None
        if takes:
            if i + 1 >= len(args):
                raise QemuArgsError("requires an argument", arg)
            value = args[i + 1]
            i += 1
        i += 1
        written = f"{arg} {value}" if value is not None else arg
        reader.option(name, value, written)
    reader.finish(program)
    return out


class _Reader:
    def __init__(self, out: Converted, qemu: Qemu) -> None:
        self.out = out
        self.qemu = qemu
        self.machine_accel: tuple[str, str] | None = None  # (value, option), last one wins
        self.accel_options: list[tuple[str, str]] = []  # (-accel name, option)
        self.memory: dict[str, tuple[str, str]] = {}  # -m key -> (value, option); lists merge
        self.smp: dict[str, tuple[str, str]] = {}  # -smp key -> (value, option)
        # -machine kernel-irqchip/kvm-shadow-mem: "sugar" globals on the kvm accelerator
        # object, checked only when that object is made (7.2+ vl.c).
        self.irqchip: tuple[str, str] | None = None
        self.shadow: tuple[str, str] | None = None
        # -accel's own properties: (accelerator, property, value, option), in order.
        self.accel_props: list[tuple[str, str, str, str]] = []
        self.machine_keys: dict[str, str] = {}  # -machine keys as spelled -> option

    def option(self, name: str, value: str | None, written: str) -> None:
        out = self.out
        if name in ("machine", "M"):
            assert value is not None
            self.machine_option(value, written)
        elif name == "accel":
            assert value is not None
            self.accel_option(value, written)
        elif name == "enable-kvm":
            # -enable-kvm is `-machine accel=kvm` (vl.c), with what that implies.
            self.machine_accel = ("kvm", written)
        elif name == "m":
            assert value is not None
            for key, val in _props(self.qemu, value, "size", written):
                if key not in ("size", "slots", "maxmem"):
                    raise QemuArgsError(f"Invalid parameter '{key}'", written)
                self.memory[key] = (val, written)
        elif name == "smp":
            assert value is not None
            for key, val in _props(self.qemu, value, "cpus", written):
                self.smp[key] = (val, written)
        elif name == "cpu":
            assert value is not None
            self.cpu_option(value, written)
        elif name == "global":
            driver = (value or "").partition(".")[0].lower()
            if "machine" in driver or "cpu" in driver or driver.endswith("-accel"):
                out.may_affect.append(
                    Left(written, "devices", "a machine, CPU or accelerator default")
                )
            else:
                out.no_effect.append(Left(written, "devices"))
        elif name == "object":
            if _is_memory_backend(value or ""):
                out.no_effect.append(Left(written, "memory backends"))
            else:
                why = qemuopts.MAY_AFFECT_OPTIONS["object"]
                if any(t in (value or "") for t in ("sev-", "tdx-", "sgx", "confidential")):
                    out.may_affect.append(Left(written, "objects", why))
                else:
                    out.no_effect.append(Left(written, "objects"))
        elif name in qemuopts.MAY_AFFECT_OPTIONS:
            out.may_affect.append(Left(written, "other", qemuopts.MAY_AFFECT_OPTIONS[name]))
        else:
            out.no_effect.append(Left(written, qemuopts.option_group(name)))

    # -machine ------------------------------------------------------------------------

    def machine_option(self, value: str, written: str) -> None:
        out = self.out
        for key, val in _props(self.qemu, value, "type", written):
            self.machine_keys.setdefault(key, written)
            prop = _dashed(key)
            if prop == "type":
                if val == "help" or val == "?":
                    raise QemuArgsError("lists machine types; use `kvminit machines`", written)
                out.set("type", val, written)
            elif prop == "accel":
                self.machine_accel = (val, written)
            elif prop == "kernel-irqchip":
                self.irqchip = (val, written)
            elif prop == "kvm-shadow-mem":
                self.shadow = (val, written)
            elif prop == "kvm-type":
                out.set("kvm-type", val, written)
            elif prop == "max-ram-below-4g":
                out.set(
                    "max-ram-below-4g", self.size(val, prop, written, machine_prop=True), written
                )
            elif prop == "smm":
                out.set("smm", self.on_off_auto(val, "smm", written), written)
            elif prop in qemuopts.MAY_AFFECT_MACHINE_PROPS:
                why = qemuopts.MAY_AFFECT_MACHINE_PROPS[prop]
                out.may_affect.append(Left(f"-machine {key}={val}", "machine", why))
            elif prop in qemuopts.NO_EFFECT_MACHINE_PROPS:
                out.no_effect.append(Left(f"-machine {key}={val}", "machine properties"))
            else:
                why = f"a machine property kvminit does not know QEMU {self.qemu} has"
                out.may_affect.append(Left(f"-machine {key}={val}", "machine", why))

    def on_off_auto(self, val: str, prop: str, written: str) -> str:
        if val in ("on", "off", "auto"):
            return val
        if self.qemu == QEMU_2_6:
            raise QemuArgsError(f"Invalid parameter '{val}'")
        raise QemuArgsError(f"Parameter '{prop}' does not accept value '{val}'")

    def size(self, val: str, prop: str, written: str, machine_prop: bool = False) -> int:
        try:
            n, _ = qemu_strtosz(val, self.qemu)
        except _SizeRefused:
            if machine_prop and self.qemu != QEMU_2_6:
                raise QemuArgsError(f"Parameter '{prop}' expects size") from None
            raise QemuArgsError(f"Parameter '{prop}' expects a size", written) from None
        return n

    # -accel --------------------------------------------------------------------------

    def accel_option(self, value: str, written: str) -> None:
        out = self.out
        # -accel is QemuOpts in every version, not keyval: a bare key means on.
        props = _props(self.qemu, value, "accel", written, notes=out.notes)
        name = next((v for k, v in props if k == "accel"), None)
        if name is None:
            raise QemuArgsError("lists the accelerators: kvm and tcg are modelled", written)
        self.accel_options.append((name, written))
        for key, val in props:
            prop = _dashed(key)
            if prop == "accel":
                continue
            if prop in ("kernel-irqchip", "kvm-shadow-mem"):
                self.accel_props.append((name, prop, val, written))
            elif prop in qemuopts.MAY_AFFECT_ACCEL_PROPS:
                why = qemuopts.MAY_AFFECT_ACCEL_PROPS[prop]
                out.may_affect.append(Left(f"-accel {name},{key}={val}", "accelerator", why))
            elif prop in qemuopts.NO_EFFECT_ACCEL_PROPS:
                out.no_effect.append(Left(f"-accel {name},{key}={val}", "accelerator properties"))
            else:
                why = "an accelerator property kvminit does not know"
                out.may_affect.append(Left(f"-accel {name},{key}={val}", "accelerator", why))

    # -cpu ----------------------------------------------------------------------------

    def cpu_option(self, value: str, written: str) -> None:
        out = self.out
        model, *features = _split(value)
        if model in ("help", "?"):
            raise QemuArgsError("lists CPU models; use `kvminit cpus`", written)
        out.set("cpu", model, written)
        out.keys.pop("vendor", None)  # a later -cpu replaces the whole option
        out.keys.pop("phys-bits", None)
        out.dropped_cpu_features = []
        host_bits: bool | None = None
        bits: int | None = None
        affecting: list[str] = []
        for feature in features:
            if not feature:
                continue
            if feature[0] in "+-":
                name, val = feature[1:], ("on" if feature[0] == "+" else "off")
            else:
                name, eq, val = feature.partition("=")
                val = val if eq else "on"
            prop = _dashed(name)
            if prop == "vendor":
                out.set("vendor", val, written)
            elif prop == "phys-bits":
                bits = self.phys_bits(model, val, written)
            elif prop == "host-phys-bits":
                host_bits = self.cpu_bool(model, prop, val, written)
            elif qemuopts.cpu_prop_effect(prop) is not None:
                affecting.append(feature)
            else:
                out.dropped_cpu_features.append(feature)
        if host_bits:
            out.set("phys-bits", "host", written)  # host-phys-bits overrides phys-bits
        elif bits is not None:
            out.set("phys-bits", bits, written)
        if affecting:
            whys = sorted(
                {
                    qemuopts.cpu_prop_effect(_dashed(f.lstrip("+-").partition("=")[0])) or ""
                    for f in affecting
                }
            )
            out.may_affect.append(
                Left(f"-cpu {model},{','.join(affecting)}", "cpu", "; ".join(whys))
            )

    def _cpu_global(self, model: str) -> str | None:
        """How QEMU 7.2+ names a -cpu property when it cannot apply it, or None when the
        model does not exist (the engine then says so, as QEMU does first)."""
        from .engine.cpu import find_cpu_model
        from .engine.errors import QemuExit

        try:
            find_cpu_model(self.qemu, model)
        except QemuExit:
            return None
        return f"can't apply global {model}-x86_64-cpu"

    def phys_bits(self, model: str, val: str, written: str) -> int | None:
        # A uint32 property: QEMU checks its range (32 to 52) at realize, as the engine does.
        number = _strtou64(val) if not val.strip().startswith("-") else -1
        if self.qemu == QEMU_2_6:
            if number is None or not 0 <= number <= 0xFFFFFFFF:
                raise QemuArgsError("Parameter 'phys-bits' expects a number", written)
            return number
        if number is not None and 0 <= number <= 0xFFFFFFFF:
            return number
        where = self._cpu_global(model)
        if where is None:
            return None
        kind = "uint64" if number is None else "uint32_t"
        raise QemuArgsError(f"{where}.phys-bits={val}: Parameter 'phys-bits' expects {kind}")

    def cpu_bool(self, model: str, prop: str, val: str, written: str) -> bool | None:
        # qapi_bool_parse(): these spellings and no others.
        if val in _ON:
            return True
        if val in _OFF:
            return False
        where = self._cpu_global(model)
        if where is None or self.qemu == QEMU_2_6:
            return None
        raise QemuArgsError(f"{where}.{prop}={val}: Parameter '{prop}' expects 'on' or 'off'")

    # after the last option -----------------------------------------------------------

    def finish(self, program: str) -> None:
        self.spelling_conflicts()
        self.accelerators(program)
        self.irqchip_and_shadow()
        self.memory_keys()
        self.smp_keys()

    def accelerators(self, program: str) -> None:
        out = self.out
        names: list[str]
        if self.accel_options:
            if self.machine_accel is not None and self.qemu != QEMU_2_6:
                raise QemuArgsError('The -accel and "-machine accel=" options are incompatible')
            names = [n for n, _ in self.accel_options]
            origin = " ".join(sorted({w for _, w in self.accel_options}, key=len))
        elif self.machine_accel is not None:
            names = self.machine_accel[0].split(":")
            origin = self.machine_accel[1]
        elif self.qemu == QEMU_2_6:
            names, origin = ["tcg"], "QEMU 2.6's default accelerator"
            out.notes.append("no accelerator named: QEMU 2.6 uses tcg")
        else:
            prefers_kvm = os.path.basename(program).endswith("kvm")
            names = ["kvm", "tcg"] if prefers_kvm else ["tcg", "kvm"]
            origin = f"default for {os.path.basename(program)}"
            out.notes.append(
                f"no accelerator named: {os.path.basename(program)} tries {':'.join(names)}"
                " (a program name ending in kvm prefers kvm)"
            )
        unique: list[str] = []
        invalid: list[str] = []
        for n in names:
            if n in ("xen", "qtest"):
                raise QemuArgsError(
                    f"accelerator {n!r} is not modelled (kvminit models kvm and tcg)", origin
                )
            if n not in ("kvm", "tcg"):
                # Not built into qemu-system-x86_64 on Linux (hvf, whpx, nvmm, hax...):
                # QEMU says so and tries the next one.
                where = f"-accel {n}: " if self.accel_options else ""
                invalid.append(f"{where}invalid accelerator {n}")
            elif n not in unique:
                unique.append(n)
        if not unique:
            raise QemuArgsError(invalid[-1])
        out.notes += invalid
        if invalid:
            out.notes.append(f"falling back to {unique[0]} (if it initialises)")
        out.set("accel", unique, origin)

    def spelling_conflicts(self) -> None:
        # keyval_dashify() (7.2+ vl.c): both spellings of one -machine key is an error.
        if self.qemu == QEMU_2_6:
            return
        for key in self.machine_keys:
            if "_" in key and _dashed(key) in self.machine_keys:
                raise QemuArgsError(f"Conflict between '{key}' and '{_dashed(key)}'")

    def irqchip_and_shadow(self) -> None:
        out = self.out
        first = out.keys["accel"][0]  # type: ignore[index]
        kvm_option = next((w for n, w in self.accel_options if n == "kvm"), None)
        # -machine's values are globals the kvm accelerator object takes when it is made:
        # only if kvm is tried (first, since tcg always starts), and fatal then.
        for sugar, prop in ((self.irqchip, "kernel-irqchip"), (self.shadow, "kvm-shadow-mem")):
            if sugar is None:
                continue
            val, written = sugar
            problem = self.accel_value_problem(prop, val)
            if problem is None:
                self.set_accel_key(prop, val, written)
            elif first == "kvm":
                loc = f"{kvm_option}: " if kvm_option else ""
                raise QemuArgsError(f"{loc}can't apply global kvm-accel.{prop}={val}: {problem}")
            else:
                out.notes.append(f"{written}: {prop}={val} is never applied ({first} starts first)")
        # -accel's own properties, set after the globals: they win. Only the accelerator
        # QEMU makes checks them: the first one, and kvm's also when tcg comes after it.
        for name, prop, val, written in self.accel_props:
            made = name == first
            if name != "kvm":
                if made:
                    raise QemuArgsError(f"Property '{name}-accel.{prop}' not found", written)
                why = f"QEMU refuses {name}-accel.{prop} if it ever tries {name}"
                out.may_affect.append(Left(written, "accelerator", why))
                continue
            problem = self.accel_value_problem(prop, val)
            if problem is not None:
                raise QemuArgsError(problem, written)
            self.set_accel_key(prop, val, written)

    def accel_value_problem(self, prop: str, val: str) -> str | None:
        """QEMU's words for a value the kvm accelerator's property refuses (7.2+: QAPI
        OnOffSplit, case-sensitive; an int64). 2.6 read booleans more freely."""
        if prop == "kernel-irqchip":
            if self.qemu == QEMU_2_6 and val.lower() in _ON | _OFF:
                return None
            if val in ("on", "off", "split"):
                return None
            return f"Parameter 'kernel-irqchip' does not accept value '{val}'"
        number = _strtoi64(val)
        return None if number is not None else "Parameter 'kvm-shadow-mem' expects int64"

    def set_accel_key(self, prop: str, val: str, written: str) -> None:
        if prop == "kernel-irqchip":
            lowered = val.lower()
            value = "on" if lowered in _ON else "off" if lowered in _OFF else lowered
            self.out.set("kernel-irqchip", value, written)
            return
        number = _strtoi64(val) or 0
        if number > 0:
            self.out.set("kvm-shadow-mem", _size_text(number), written)
        else:
            self.out.keys.pop("kvm-shadow-mem", None)  # 0: KVM's own default, as unset

    def memory_keys(self) -> None:
        out, qemu = self.out, self.qemu
        if "size" in self.memory:
            text, written = self.memory["size"]
            if text == "" and qemu == QEMU_2_6:
                raise QemuArgsError("missing 'size' option value", written)
            size = self.parsed_size(text, "size", written)
            if size != 0 and text[-1].isdigit():
                # "Fix up legacy suffix-less format": the string gets an M and is read again.
                try:
                    size, warned = qemu_strtosz(text + "M", qemu)
                except _SizeRefused:
                    raise QemuArgsError("Parameter 'memory.size' expects size") from None
                if warned:
                    out.notes.append(
                        f"warning: Using a multiplier suffix on hex numbers is deprecated: {text}M"
                    )
            if size == 0:
                out.notes.append(f"{written}: a size of 0 means the machine's default")
            else:
                out.set("memory", _size_text(size), written)
        if "maxmem" in self.memory:
            text, written = self.memory["maxmem"]
            out.set("maxmem", _size_text(self.parsed_size(text, "maxmem", written)), written)
        if "slots" in self.memory:
            text, written = self.memory["slots"]
            slots = _strtou64(text)
            if slots is None:
                raise QemuArgsError("Parameter 'slots' expects a number", written)
            if slots > U64_MAX:
                raise QemuArgsError(f"Value '{text}' is too large for parameter 'slots'", written)
            out.set("slots", slots, written)

    def parsed_size(self, text: str, key: str, written: str) -> int:
        try:
            size, warned = qemu_strtosz(text, self.qemu)
        except _SizeRefused as e:
            if e.overflow:
                raise QemuArgsError(
                    f"Value '{text}' is out of range for parameter '{key}'", written
                ) from None
            if self.qemu == QEMU_2_6:
                raise QemuArgsError(f"Parameter '{key}' expects a size", written) from None
            raise QemuArgsError(
                f"Parameter '{key}' expects a non-negative number below 2^64\n"
                "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                "and exabytes, respectively.",
                written,
            ) from None
        if warned:
            deprecated = "Using a multiplier suffix on hex numbers is deprecated"
            self.out.notes.append(f"{written}: warning: {deprecated}: {text}")
        return size

    def smp_keys(self) -> None:
        out, qemu = self.out, self.qemu
        for key, (text, written) in self.smp.items():
            if key in ("books", "drawers"):
                # Levels of s390x; PC has neither. QEMU 10.0 takes 1, 7.2 not the key at all.
                number = _strtou64(text)
                if qemu == QEMU_2_6:
                    raise QemuArgsError(f"Invalid parameter '{key}'", written)
                if qemu == QEMU_7_2:
                    raise QemuArgsError(smp_rules.SMP_UNEXPECTED_7_2.format(name=key))
                if number == 0:
                    raise QemuArgsError(smp_rules.ZERO_ERROR_10_0)
                if number != 1:
                    raise QemuArgsError(smp_rules.LEVEL_UNSUPPORTED_10_0.format(level=key))
                out.no_effect.append(Left(f"-smp {key}={text}", "smp"))
                continue
            if key not in ("cpus", *smp_rules.ORDER):
                raise QemuArgsError(f"Invalid parameter '{key}'", written)
            number = _strtou64(text)
            if number is None:
                if qemu == QEMU_2_6:
                    raise QemuArgsError(f"Parameter '{key}' expects a number", written)
                # 7.2+: the QAPI visitor of SMPConfiguration, with no location.
                raise QemuArgsError(f"Parameter 'smp.{key}' expects integer")
            if number > COUNT_MAX:
                raise QemuArgsError(
                    f"{key}={text}: kvminit takes CPU counts up to {COUNT_MAX}", written
                )
            out.set(smp_rules.file_key(key), number, written)


def _is_memory_backend(value: str) -> bool:
    return "memory-backend-" in value


def _size_text(n: int) -> str:
    # Always suffixed: in a machine file a bare number for memory counts MiB.
    text = format_size(n)
    return text if not text.isdigit() else f"{text}B"
