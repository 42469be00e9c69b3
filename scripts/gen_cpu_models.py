#!/usr/bin/env python3
"""Print kvminit's x86 `-cpu` model table (kvminit/engine/cpu_models.py) from QEMU's source.

stdlib only. It reads a QEMU tree's target/i386/cpu.c: builtin_x86_defs[] (each model's
vendor, CPUID_EXT2_LM in FEAT_8000_0001_EDX, CPUID_PSE36 / CPUID_PAE in FEAT_1_EDX,
CPUID_EXT_X2APIC in FEAT_1_ECX, CPUID_EXT3_TOPOEXT in FEAT_8000_0001_ECX, its `.versions`
and their `.alias` names), the feature macros it ORs together (PPRO_FEATURES ... from cpu.c,
CPUID_* and CPUID_VENDOR_* from target/i386/cpu.h), TCG_EXT_FEATURES / TCG_EXT3_FEATURES
(what `max` gets under TCG) and the 32-bit phys-bits rule of x86_cpu_realizefn (which
FEAT_1_EDX bits give a model without LM 36 bits). It refuses a tree where a version's props
change vendor, lm/i64, pse36, pae, x2apic or topoext: the table keeps one set of facts per
model, shared by the unversioned name, every -vN and every alias. No version of 7.2 or 10.0
sets x2apic or topoext (10.0: EPYC-v1..v4, EPYC-Rome-v1..v4, EPYC-Milan-v1..v2 ... keep the
base definition's bits), so both facts stay per model.

x2apic and topoext are the bits of the model's definition, as lm/pse36/pae are; what the
accelerator then does to them is the engine's business:

x2apic. QEMU 10.0 hw/intc/apic_common.c:446-453, apic_common_set_id():
        if (value >= 255 && !cpu_has_x2apic_feature(&s->cpu->env)) {
            error_setg(&local_err, "APIC ID %d requires x2APIC feature in CPU", value);
            error_append_hint(&local_err, "Try x2apic=on in -cpu.\\n");
  cpu_has_x2apic_feature() is FEAT_1_ECX & CPUID_EXT_X2APIC (target/i386/cpu-system.c:252-255).
  The id is set with &error_abort (target/i386/cpu-apic.c:66), so QEMU prints "Unexpected
  error in apic_common_set_id() at hw/intc/apic_common.c:447:", then "qemu-system-x86_64:
  APIC ID 255 requires x2APIC feature in CPU" and "Try x2apic=on in -cpu." and aborts
  (10.0 TCG, q35, -smp 256: qemu64, EPYC and Skylake-Client,-x2apic abort; Skylake-Client
  and max run). 10.0's TCG keeps the bit (TCG_EXT_FEATURES has CPUID_EXT_X2APIC,
  cpu.c:795-801). 7.2's TCG filters it out of every model (TCG_EXT_FEATURES, cpu.c:623-629,
  lacks it: "warning: TCG doesn't support requested feature: CPUID.01H:ECX.x2apic [bit 21]"),
  but 7.2 has no such check: x86_cpus_init() exits earlier with "current -smp configuration
  requires kernel irqchip and X2APIC API support." (hw/i386/x86.c:134-139). Under KVM,
  kvm_default_props turns x2apic on for every model.

topoext. The hyperthreading warning, in x86_cpu_realizefn() after x86_cpu_filter_features():
  7.2 target/i386/cpu.c:6621-6630 (after qemu_init_vcpu()):
        if (IS_AMD_CPU(env) &&
            !(env->features[FEAT_8000_0001_ECX] & CPUID_EXT3_TOPOEXT) &&
            cs->nr_threads > 1 && !ht_warned) {
                warn_report("This family of AMD CPU doesn't support "
                            "hyperthreading(%d)", cs->nr_threads);
                error_printf("Please configure -smp options properly"
                             " or try enabling topoext feature.\\n");
  10.0 target/i386/cpu.c:8247-8254:
        if (IS_AMD_CPU(env) &&
            !(env->features[FEAT_8000_0001_ECX] & CPUID_EXT3_TOPOEXT) &&
            env->topo_info.threads_per_core > 1) {
                warn_report_once("This family of AMD CPU doesn't support "
                                 "hyperthreading(%d). Please configure -smp "
                                 "options properly or try enabling topoext "
                                 "feature.", env->topo_info.threads_per_core);
  IS_AMD_CPU() is vendor == "AuthenticAMD" exactly (7.2 cpu.h:954, 10.0 cpu.h:1162; Hygon
  is not AMD). env->features is read after filtering (7.2 cpu.c:6463, 10.0 cpu.c:8172):
  TCG never supports TOPOEXT (TCG_EXT3_FEATURES, 7.2 cpu.c:646, 10.0 cpu.c:848), so under
  TCG the warning fires for every AuthenticAMD guest with threads > 1, EPYC and
  EPYC,+topoext included (both binaries, -smp 2,threads=2). KVM always reports TOPOEXT
  (kvm_arch_get_supported_cpuid(), 7.2 kvm/kvm.c:447, 10.0 kvm/kvm.c:550), so under KVM the
  model's bit decides (EPYC and EPYC-Rome: no warning; qemu64 on the AMD host: warning).
  QEMU 2.6 has no topoext warning: its x86_cpu_realizefn (f6f949e9, below; @~102.5k, after
  qemu_init_vcpu()) has `if (!IS_INTEL_CPU(env) && cs->nr_threads > 1 && !ht_warned)
  error_report("AMD CPU doesn't support hyperthreading. Please configure -smp options
  properly.")`: any vendor but GenuineIntel, topoext not looked at. The 2.6 facts are set
  anyway from its table (no 2.6 model has CPUID_EXT3_TOPOEXT).

base, max and host (not in builtin_x86_defs). base: no feature at all. max: what it gets
under TCG, AuthenticAMD with every TCG feature (x86_cpu_expand_features): x2apic when
TCG_EXT_FEATURES has CPUID_EXT_X2APIC (7.2 no, 10.0 yes), topoext never (not in
TCG_EXT3_FEATURES; and no_autoenable_flags = CPUID_EXT3_TOPOEXT, 7.2 cpu.c:746, 10.0
cpu.c:996, keeps max and host from taking it even under KVM). host is KVM-only (refused
under TCG): x2apic from KVM's GET_SUPPORTED_CPUID, which has it with the in-kernel irqchip
(7.2 kvm/kvm.c:383-388, 10.0 kvm/kvm.c:467-472), topoext no (no_autoenable_flags; 10.0 KVM
`-cpu host -smp 2,threads=2` warns). 2.6's host took the host's bits as they were (no
no_autoenable_flags yet); the table keeps 7.2's values, no 2.6 rule reads them.

How cpu_models.py was made (QEMU trees as on the research machine):

    python scripts/gen_cpu_models.py /work/src/qemu-7.2 7.2      # prints the 7.2 table
    python scripts/gen_cpu_models.py /work/src/qemu-10.0 10.0    # prints the 10.0 table
    python scripts/gen_cpu_models.py 2.6                         # prints the 2.6 table
    python scripts/gen_cpu_models.py --module /work/src/qemu-7.2 /work/src/qemu-10.0 \\
        > kvminit/engine/cpu_models.py                           # the whole module

/work/src/qemu-7.2 is Debian's 7.2 source with its patches applied (the bookworm binary's),
/work/src/qemu-10.0 the 10.0.2 release tarball. `--help-file FILE` (with SRC VERSION)
compares the names with a saved `qemu-system-x86_64 -cpu help` listing and exits 1 on any
difference; both versions matched their binaries (7.2: 132 names, 10.0: 154).

QEMU 2.6 has no x86 tree here: its table (QEMU26 below) was transcribed by hand from
qemu/qemu target-i386/cpu.c at commit f6f949e9295889fb272698aea763dcea77d616ce ("Add
Skylake-Client CPU model", 2.6 cycle; read through the research search tool, file id
7943363783), builtin_x86_defs[] in its order, plus `host` (the
CONFIG_KVM model); 2.6 has no versioned names, no aliases, no `max` and no `base`
(research: /work/research/cpus/rules.md, gen_cpus.py --manual-2.6).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------
# C lexing
# ---------------------------------------------------------------------------------------


def strip_comments(text: str) -> str:
    """Blank out comments, keeping string literals and line breaks (so lines still count)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


_PAIRS = {"{": "}", "(": ")", "[": "]"}


def _skip_string(text: str, i: int) -> int:
    """Index of the closing quote of the string literal opening at i."""
    i += 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i


def match_brace(text: str, open_pos: int) -> int:
    """Index of the bracket closing the one at open_pos."""
    stack = [_PAIRS[text[open_pos]]]
    i = open_pos + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
        elif c in _PAIRS:
            stack.append(_PAIRS[c])
        elif c in ")]}":
            if c != stack.pop():
                raise ValueError(f"unbalanced {c!r} at {i}")
            if not stack:
                return i
        i += 1
    raise ValueError("unterminated bracket")


def split_top(text: str) -> list[str]:
    """The comma-separated pieces of text at bracket depth 0."""
    parts: list[str] = []
    depth = start = i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
        elif c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if text[start:].strip():
        parts.append(text[start:])
    return parts


def c_string(expr: str, macros: dict[str, str]) -> str:
    """`"a" MACRO "b"`: adjacent literals and string macros, concatenated."""
    out: list[str] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*)', expr):
        if m.group(1) is not None:
            out.append(m.group(1).encode().decode("unicode_escape"))
        elif m.group(2) in macros:
            out.append(c_string(macros[m.group(2)], macros))
        else:
            raise KeyError(f"unknown string macro {m.group(2)}")
    return "".join(out)


def read_defines(path: str) -> dict[str, str]:
    """Object-like `#define NAME body` (continuation lines joined)."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read()).replace("\\\n", " ")
    defs: dict[str, str] = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?!\()[ \t]*(.*)$", text, re.M):
        defs.setdefault(m.group(1), m.group(2).strip())
    return defs


_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")


def expand_flags(expr: str, macros: dict[str, str], seen: frozenset[str] = frozenset()) -> set[str]:
    """The leaf CPUID_* names OR-ed together in expr, macros expanded."""
    leaves: set[str] = set()
    for name in _IDENT.findall(expr):
        body = macros.get(name)
        if body is not None and _IDENT.search(body) and name not in seen:
            leaves |= expand_flags(body, macros, seen | {name})
        else:
            leaves.add(name)
    return leaves


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# ---------------------------------------------------------------------------------------
# builtin_x86_defs[]
# ---------------------------------------------------------------------------------------

# Version props that would change what the table keeps per model (i64 is lm's alias).
_FACT_PROPS = frozenset({"vendor", "lm", "i64", "pse36", "pae", "x2apic", "topoext"})


@dataclass
class Model:
    name: str
    vendor: str
    lm: bool
    pse36: bool
    pae: bool
    x2apic: bool
    topoext: bool
    versions: int  # -v1 .. -vN; 0 = no versioned names (QEMU 2.6)
    aliases: list[tuple[str, int]] = field(default_factory=list)  # (alias, version)


@dataclass
class Table:
    qemu: str
    where: str  # what the table was read from, for the comment above it
    models: list[Model]
    pae_gives_36: bool  # x86_cpu_realizefn: PAE without PSE36 gives a 32-bit model 36 bits
    rule: str  # which FEAT_1_EDX bits give a model without LM 36 bits, and where
    special: tuple[str, ...]
    max_x2apic: bool = False  # TCG_EXT_FEATURES has CPUID_EXT_X2APIC
    max_topoext: bool = False  # TCG_EXT3_FEATURES has CPUID_EXT3_TOPOEXT
    max_where: str = ""  # where those macros are, for the comment above max's row


def _versions(body: str, model: str) -> tuple[int, list[tuple[str, int]]]:
    numbers: list[int] = []
    aliases: list[tuple[str, int]] = []
    for item in split_top(body):
        item = item.strip()
        if not item.startswith("{"):
            continue
        version, alias, props = None, None, ""
        for f in split_top(item[1 : item.rindex("}")]):
            m = re.match(r"\s*\.(\w+)\s*=\s*(.*)$", f, re.S)
            if m is None:
                if f.strip() and version is None:
                    version = int(f.strip(), 0)  # `{ 1 }`
                continue
            key, val = m.group(1), m.group(2).strip()
            if key == "version":
                version = int(val, 0)
            elif key == "alias":
                alias = c_string(val, {})
            elif key == "props":
                props = val
        if not version:
            continue  # { /* end of list */ }
        for prop in re.findall(r'\{\s*"([^"]+)"', props):
            if prop in _FACT_PROPS:
                raise SystemExit(f"{model}-v{version} sets {prop}: the table cannot express it")
        numbers.append(version)
        if alias:
            aliases.append((alias, version))
    if numbers != list(range(1, len(numbers) + 1)):
        raise SystemExit(f"{model}: versions {numbers} are not 1..N")
    return len(numbers), aliases


def parse_tree(src: str, qemu: str) -> Table:
    cpu_c = os.path.join(src, "target/i386/cpu.c")
    with open(cpu_c, encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    macros: dict[str, str] = {}
    for header in ("include/qemu/hw-version.h", "target/i386/cpu.h"):
        macros.update(read_defines(os.path.join(src, header)))
    macros.update(read_defines(cpu_c))

    start = re.search(r"builtin_x86_defs\s*\[\s*\]\s*=\s*\{", text)
    if start is None:
        raise SystemExit(f"{cpu_c}: builtin_x86_defs[] not found")
    close = match_brace(text, start.end() - 1)
    models: list[Model] = []
    for entry in split_top(text[start.end() : close]):
        entry = entry.strip()
        if not entry.startswith("{"):
            continue
        facts: dict[str, str] = {}
        edx1: set[str] = set()
        ecx1: set[str] = set()
        edx81: set[str] = set()
        ecx81: set[str] = set()
        versions_body: str | None = None
        for part in split_top(entry[1 : entry.rindex("}")]):
            m = re.match(r"\s*\.(\w+)(?:\[(\w+)\])?\s*=\s*(.*)$", part, re.S)
            if m is None:
                continue
            key, word, val = m.group(1), m.group(2), m.group(3).strip()
            if key in ("name", "vendor"):
                facts[key] = c_string(val, macros)
            elif key == "features" and word == "FEAT_1_EDX":
                edx1 = expand_flags(val, macros)
            elif key == "features" and word == "FEAT_1_ECX":
                ecx1 = expand_flags(val, macros)
            elif key == "features" and word == "FEAT_8000_0001_EDX":
                edx81 = expand_flags(val, macros)
            elif key == "features" and word == "FEAT_8000_0001_ECX":
                ecx81 = expand_flags(val, macros)
            elif key == "versions":
                ob = val.index("{")
                versions_body = val[ob + 1 : match_brace(val, ob)]
        if "name" not in facts:
            continue
        name = facts["name"]
        # x86_cpu_def_get_versions(): a def without .versions registers -v1 only.
        count, aliases = (1, []) if versions_body is None else _versions(versions_body, name)
        models.append(
            Model(
                name,
                facts.get("vendor", ""),
                "CPUID_EXT2_LM" in edx81,
                "CPUID_PSE36" in edx1,
                "CPUID_PAE" in edx1,
                "CPUID_EXT_X2APIC" in ecx1,
                "CPUID_EXT3_TOPOEXT" in ecx81,
                count,
                aliases,
            )
        )

    rule = re.search(
        r"features\[FEAT_1_EDX\]\s*&\s*\(?\s*(CPUID_PSE36(?:\s*\|\s*CPUID_PAE)?)\s*\)?\s*\)\s*\{"
        r"\s*cpu->phys_bits\s*=\s*36",
        text,
    )
    if rule is None:
        raise SystemExit(f"{cpu_c}: x86_cpu_realizefn's 32-bit phys-bits rule not found")
    # max under TCG: x86_cpu_expand_features() gives it every feature TCG supports.
    tcg: dict[str, tuple[set[str], int]] = {}
    for word in ("TCG_EXT_FEATURES", "TCG_EXT3_FEATURES"):
        m = re.search(rf"^[ \t]*#[ \t]*define[ \t]+{word}\b", text, re.M)
        if m is None or word not in macros:
            raise SystemExit(f"{cpu_c}: {word} not found")
        tcg[word] = (expand_flags(macros[word], macros), line_of(text, m.start()))
    return Table(
        qemu=qemu,
        where=f"target/i386/cpu.c builtin_x86_defs[], lines {line_of(text, start.start())}"
        f"-{line_of(text, close)}",
        models=models,
        pae_gives_36="CPUID_PAE" in rule.group(1),
        rule=" or ".join(x.strip() for x in rule.group(1).split("|"))
        + f" (x86_cpu_realizefn, cpu.c:{line_of(text, rule.start())})",
        special=("base", "host", "max"),
        max_x2apic="CPUID_EXT_X2APIC" in tcg["TCG_EXT_FEATURES"][0],
        max_topoext="CPUID_EXT3_TOPOEXT" in tcg["TCG_EXT3_FEATURES"][0],
        max_where=f"x2apic per TCG_EXT_FEATURES cpu.c:{tcg['TCG_EXT_FEATURES'][1]}, "
        f"topoext per TCG_EXT3_FEATURES cpu.c:{tcg['TCG_EXT3_FEATURES'][1]}",
    )


# ---------------------------------------------------------------------------------------
# QEMU 2.6, transcribed from qemu/qemu target-i386/cpu.c @ f6f949e9295889fb272698aea763dcea77d616ce
# (builtin_x86_defs[] in its order). PPRO_FEATURES has PAE but not PSE36; PENTIUM2_FEATURES
# both; PENTIUM_FEATURES and I486_FEATURES neither. cpu_x86_cpuid() leaf 0x80000008 reports
# 40 bits with LM, else 36 with PSE36, else 32 (PAE does not count). Columns: name, vendor,
# lm, pse36, pae, x2apic (CPUID_EXT_X2APIC in FEAT_1_ECX: SandyBridge and later Intel models
# only), topoext (CPUID_EXT3_TOPOEXT in FEAT_8000_0001_ECX: no 2.6 model has it).
# ---------------------------------------------------------------------------------------

_I, _A = "GenuineIntel", "AuthenticAMD"
QEMU26: tuple[tuple[str, str, bool, bool, bool, bool, bool], ...] = (
    ("qemu64", _A, True, True, True, False, False),
    ("phenom", _A, True, True, True, False, False),
    ("core2duo", _I, True, True, True, False, False),
    ("kvm64", _I, True, True, True, False, False),
    ("qemu32", _I, False, False, True, False, False),
    ("kvm32", _I, False, True, True, False, False),
    ("coreduo", _I, False, False, True, False, False),
    ("486", _I, False, False, False, False, False),
    ("pentium", _I, False, False, False, False, False),
    ("pentium2", _I, False, True, True, False, False),
    ("pentium3", _I, False, True, True, False, False),
    ("athlon", _A, False, True, True, False, False),
    ("n270", _I, False, False, True, False, False),
    ("Conroe", _I, True, True, True, False, False),
    ("Penryn", _I, True, True, True, False, False),
    ("Nehalem", _I, True, True, True, False, False),
    ("Westmere", _I, True, True, True, False, False),
    ("SandyBridge", _I, True, True, True, True, False),
    ("IvyBridge", _I, True, True, True, True, False),
    ("Haswell-noTSX", _I, True, True, True, True, False),
    ("Haswell", _I, True, True, True, True, False),
    ("Broadwell-noTSX", _I, True, True, True, True, False),
    ("Broadwell", _I, True, True, True, True, False),
    ("Skylake-Client", _I, True, True, True, True, False),
    ("Opteron_G1", _A, True, True, True, False, False),
    ("Opteron_G2", _A, True, True, True, False, False),
    ("Opteron_G3", _A, True, True, True, False, False),
    ("Opteron_G4", _A, True, True, True, False, False),
    ("Opteron_G5", _A, True, True, True, False, False),
)


def table_26() -> Table:
    return Table(
        qemu="2.6",
        where="target-i386/cpu.c builtin_x86_defs[] @ f6f949e9 (qemu/qemu), by hand",
        models=[Model(*row, versions=0) for row in QEMU26],
        pae_gives_36=False,
        rule="CPUID_PSE36 (cpu_x86_cpuid() leaf 0x80000008)",
        special=("host",),
    )


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------

_VENDOR_CONST = {
    "GenuineIntel": "INTEL",
    "AuthenticAMD": "AMD",
    "HygonGenuine": "HYGON",
    "CentaurHauls": "CENTAUR",
}
_LINE = 100  # the project's line length; longer rows are written the way ruff formats them


def _flags(m: Model) -> str:
    bits = [("LM", m.lm), ("PSE36", m.pse36), ("PAE", m.pae)]
    parts = ["X64"] if all(on for _, on in bits) else [n for n, on in bits if on]
    parts += [n for n, on in (("X2APIC", m.x2apic), ("TOPOEXT", m.topoext)) if on]
    return " | ".join(parts) or "0"


def _row(m: Model) -> str:
    aliases = ", ".join(f"({a!r}, {v})" for a, v in m.aliases)
    aliases = f"({aliases},)" if len(m.aliases) == 1 else f"({aliases})"
    items = [repr(m.name).replace("'", '"'), _VENDOR_CONST[m.vendor], _flags(m), str(m.versions)]
    items.append(aliases.replace("'", '"'))
    one = "    (" + ", ".join(items) + "),"
    if len(one) <= _LINE:
        return one
    return "    (\n" + "".join(f"        {item},\n" for item in items) + "    ),"


def _var(qemu: str) -> str:
    return "_QEMU_" + qemu.replace(".", "_")


def table_text(t: Table) -> str:
    names = sum(1 + m.versions + len(m.aliases) for m in t.models) + len(t.special)
    head = [
        f"# QEMU {t.qemu}: {t.where}:",
        f"# {len(t.models)} models, {sum(m.versions for m in t.models)} -vN names, "
        f"{sum(len(m.aliases) for m in t.models)} aliases, + {', '.join(t.special)} "
        f"= {names} names.",
        f"# Without LM: 36 phys-bits with {t.rule}, else 32.",
    ]
    body = "\n".join(_row(m) for m in t.models)
    text = "\n".join(head) + f"\n{_var(t.qemu)}: Rows = (\n{body}\n)\n"
    if "max" in t.special:
        facts = f'"max", AMD, True, True, True, {t.max_x2apic}, {t.max_topoext}'
        text += f"# max under TCG: {t.max_where}\n"
        text += f"{_var(t.qemu).replace('QEMU', 'MAX')}: Final = CpuModel({facts})\n"
    return text


_PREAMBLE = '''\
# GENERATED by scripts/gen_cpu_models.py; do not edit. Made with:
#   python scripts/gen_cpu_models.py --module /work/src/qemu-7.2 /work/src/qemu-10.0 \\
#       > kvminit/engine/cpu_models.py
# (7.2: Debian bookworm's patched 7.2 source; 10.0: the 10.0.2 release; 2.6: transcribed
# by hand from qemu/qemu target-i386/cpu.c @ f6f949e9295889fb272698aea763dcea77d616ce.)
"""Every name `-cpu NAME` accepts, per QEMU version, and the model facts behind it.

One row per builtin_x86_defs[] entry: name, vendor, which of LM / PSE36 / PAE /
X2APIC / TOPOEXT its CPUID has, how many versions it registers (NAME-v1 .. NAME-vN;
0 = none, QEMU 2.6) and its alias names with the version each stands for. The
unversioned name, every -vN and every alias share the row's facts (no version's
props change them).
"""

from __future__ import annotations

from typing import Final, NamedTuple


class CpuModel(NamedTuple):
    model: str  # the builtin_x86_defs name (or host / max / base)
    vendor: str | None  # CPUID vendor before the accelerator; None: the host's
    lm: bool  # CPUID_EXT2_LM: 64-bit phys-bits rule
    pse36: bool  # CPUID_PSE36 (FEAT_1_EDX)
    pae: bool  # CPUID_PAE (FEAT_1_EDX)
    x2apic: bool  # CPUID_EXT_X2APIC (FEAT_1_ECX): 10.0 needs it for APIC IDs >= 255
    topoext: bool  # CPUID_EXT3_TOPOEXT (FEAT_8000_0001_ECX): AMD hyperthreading warning


# x2apic and topoext are the model definition's bits. The accelerator changes them before
# QEMU reads them: TCG drops topoext (7.2, 10.0) and x2apic (7.2); KVM keeps topoext and
# turns x2apic on. The rules, with file:line: scripts/gen_cpu_models.py's docstring.

Rows = tuple[tuple[str, str, int, int, tuple[tuple[str, int], ...]], ...]

INTEL, AMD, HYGON, CENTAUR = "GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls"
LM, PSE36, PAE, X2APIC, TOPOEXT = 4, 2, 1, 8, 16
X64 = LM | PSE36 | PAE
_BITS = (LM, PSE36, PAE, X2APIC, TOPOEXT)  # CpuModel's bool fields, in order

# host: the host's vendor and features (KVM/HVF only): x2apic from KVM (in-kernel
# irqchip), never topoext (no_autoenable_flags). base: no feature, vendor words 0.
# max (per version, after each table): max_x86_cpu_initfn sets AuthenticAMD and every
# feature the accelerator has (LM on x86_64); the table gives TCG's.
HOST: Final = CpuModel("host", None, True, True, True, True, False)
BASE: Final = CpuModel("base", "", False, False, False, False, False)

'''

_POSTAMBLE = '''

def _names(rows: Rows, special: tuple[CpuModel, ...]) -> dict[str, CpuModel]:
    """Every accepted name in `-cpu help` order (2.6: table order; later: strcmp order)."""
    names: dict[str, CpuModel] = {}
    for name, vendor, flags, versions, aliases in rows:
        facts = CpuModel(name, vendor, *(bool(flags & bit) for bit in _BITS))
        names[name] = facts
        names.update((f"{name}-v{v}", facts) for v in range(1, versions + 1))
        names.update((alias, facts) for alias, _ in aliases)
    if any(row[3] for row in rows):
        names = dict(sorted(names.items()))
    names.update((s.model, s) for s in special)
    return names


CPU_MODELS: Final[dict[str, dict[str, CpuModel]]] = {
    "2.6": _names(_QEMU_2_6, (HOST,)),
    "7.2": _names(_QEMU_7_2, (BASE, HOST, _MAX_7_2)),
    "10.0": _names(_QEMU_10_0, (BASE, HOST, _MAX_10_0)),
}
# x86_cpu_realizefn: a model without LM gets 36 bits with PSE36, and from 10.0 with PAE too.
PAE_GIVES_36_BITS: Final[dict[str, bool]] = {PAE_RULE}
'''


def module_text(tables: list[Table]) -> str:
    rule = ", ".join(f'"{t.qemu}": {t.pae_gives_36}' for t in tables)
    blocks = "\n\n".join(table_text(t) for t in tables)
    return _PREAMBLE + blocks + _POSTAMBLE.replace("{PAE_RULE}", "{" + rule + "}")


# ---------------------------------------------------------------------------------------
# `-cpu help` cross-check
# ---------------------------------------------------------------------------------------


def help_names(path: str) -> list[str]:
    """The names under "Available CPUs:" (7.2 prefixes each line with `x86 `)."""
    names: list[str] = []
    listing = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Available CPUs:"):
                listing = True
            elif listing and not line.strip():
                break
            elif listing:
                body = line[4:] if line.startswith("x86 ") else line
                names.append(body.split()[0])
    return names


def table_names(t: Table) -> list[str]:
    names = [m.name for m in t.models]
    for m in t.models:
        names += [f"{m.name}-v{v}" for v in range(1, m.versions + 1)] + [a for a, _ in m.aliases]
    return names + list(t.special)


def cross_check(t: Table, path: str) -> int:
    listed, ours = set(help_names(path)), set(table_names(t))
    print(f"# [{t.qemu}] -cpu help: {len(listed)} names; table: {len(ours)}", file=sys.stderr)
    print(f"#   only in -cpu help: {sorted(listed - ours) or 'none'}", file=sys.stderr)
    print(f"#   only in the table: {sorted(ours - listed) or 'none'}", file=sys.stderr)
    return 0 if listed == ours else 1


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("args", nargs="+", help="SRC VERSION, or 2.6, or --module SRC72 SRC100")
    ap.add_argument("--module", action="store_true", help="print the whole cpu_models.py")
    ap.add_argument("--help-file", help="saved `-cpu help` output to compare the names with")
    a = ap.parse_args()
    if a.module:
        if len(a.args) != 2:
            ap.error("--module takes the 7.2 and the 10.0 source trees")
        tables = [table_26(), parse_tree(a.args[0], "7.2"), parse_tree(a.args[1], "10.0")]
        sys.stdout.write(module_text(tables))
        return 0
    if a.args == ["2.6"]:
        table = table_26()
    elif len(a.args) == 2:
        table = parse_tree(a.args[0], a.args[1])
    else:
        ap.error("give SRC VERSION (or 2.6)")
    sys.stdout.write(table_text(table))
    return cross_check(table, a.help_file) if a.help_file else 0


if __name__ == "__main__":
    sys.exit(main())
