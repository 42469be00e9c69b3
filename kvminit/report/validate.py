"""`validate` output: text, JSON, JUnit XML and GitHub workflow commands."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from kvminit.batch import PairResult
from kvminit.common.text import printable, printable_lines
from kvminit.config import Finding
from kvminit.engine.result import JSON_FORMAT


def any_failed(results: Sequence[PairResult], strict: bool) -> bool:
    return any(r.status(strict) == "FAIL" for r in results)


def counts(results: Sequence[PairResult], strict: bool) -> dict[str, int]:
    statuses = [r.status(strict) for r in results]
    return {
        "files": len({r.path for r in results}),
        "hosts": len({r.host for r in results}),
        "qemu": len({r.qemu for r in results}),
        "pairs": len(results),
        "passed": statuses.count("PASS"),
        "warnings": statuses.count("WARN"),
        "failed": statuses.count("FAIL"),
    }


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_line(results: Sequence[PairResult], strict: bool) -> str:
    c = counts(results, strict)
    return (
        f"{_plural(c['files'], 'file')} × {_plural(c['hosts'], 'host')} × "
        f"{_plural(c['qemu'], 'QEMU version')}: {c['passed']} passed, "
        f"{c['warnings']} with warnings, {c['failed']} failed"
    )


def _is_warning_text(message: str) -> bool:
    # QEMU's warnings say so themselves ("warning: ...", 2.6's "Warning: ...").
    return "warning:" in message.split("\n", 1)[0].lower()


def finding_lines(r: PairResult, f: Finding, warning: bool) -> list[str]:
    """One finding as a linter prints it: `path:line: key: message [host, QEMU v]`,
    continuation lines indented; every piece of untrusted text made printable."""
    where = printable(r.path) + (f":{f.line}" if f.line else "")
    what = f"{printable(f.key)}: " if f.key else ""
    first, *rest = printable_lines(f.message) if f.message else [""]
    if warning and not _is_warning_text(f.message):
        first = "warning: " + first
    hint = f" ({printable(f.hint)})" if f.hint else ""
    tag = f" [{printable(r.host)}, QEMU {r.qemu}]"
    return [f"{where}: {what}{first}{hint}{tag}", *(f"  {line}" for line in rest)]


def text(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    """Every finding, errors and warnings (only errors with `quiet`), then the summary."""
    lines = []
    for r in results:
        for f in r.errors:
            lines += finding_lines(r, f, warning=False)
        if not quiet or strict:
            for f in r.warnings:
                lines += finding_lines(r, f, warning=True)
    lines.append(summary_line(results, strict))
    return "\n".join(lines)


def as_json(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    document = {
        "format": JSON_FORMAT,
        "results": [r.to_json(strict) for r in results],
        "summary": counts(results, strict),
    }
    return json.dumps(document, indent=2)


def _classname(path: str) -> str:
    # Jenkins splits a classname at its last dot into package and class: the file's
    # directory, dotted, reads as the package; the test name carries file, host and QEMU.
    directory = os.path.dirname(os.path.normpath(path))
    parts = [p for p in directory.split(os.sep) if p and p != "."]
    return ".".join(p.replace(".", "_") for p in parts) or "."


def _xml(text: str) -> str:
    # ElementTree escapes markup but not characters XML 1.0 cannot carry: those are
    # escaped as text first, so one hostile value cannot make the report unparseable.
    return "\n".join(printable_lines(text))


def junit(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    c = counts(results, strict)
    seconds = sum(r.seconds for r in results)
    suite = ET.Element(
        "testsuite",
        name="kvminit validate",
        tests=str(c["pairs"]),
        failures=str(c["failed"]),
        errors="0",
        skipped="0",
        time=f"{seconds:.6f}",
        timestamp=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )
    for r in results:
        name = f"{os.path.basename(r.path)} [{r.host}, QEMU {r.qemu}]"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(_classname(r.path)),
            name=_xml(name),
            file=_xml(r.path),
            time=f"{r.seconds:.6f}",
        )
        if r.status(strict) == "FAIL":
            problems = [*r.errors, *r.warnings] if strict else r.errors
            failure = ET.SubElement(case, "failure", message=_xml(r.first_message()))
            failure.text = "\n".join(
                line for p in problems for line in finding_lines(r, p, p in r.warnings)
            )
        elif r.warnings:
            out = ET.SubElement(case, "system-err")
            out.text = "\n".join(
                line for w in r.warnings for line in finding_lines(r, w, warning=True)
            )
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")


def _escape(value: str, property_: bool = False) -> str:
    # GitHub workflow command escaping, after control characters are made printable.
    out = "\n".join(printable_lines(value))
    out = out.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        out = out.replace(":", "%3A").replace(",", "%2C")
    return out


def github(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    lines = []
    for r in results:
        level_for_warnings = "error" if strict else "warning"
        for level, findings in (("error", r.errors), (level_for_warnings, r.warnings)):
            if quiet and level == "warning":
                continue
            for f in findings:
                props = f"file={_escape(r.path, True)}"
                if f.line:
                    props += f",line={f.line}"
                title = (f"{f.key} " if f.key else "") + f"[{r.host}, QEMU {r.qemu}]"
                props += f",title={_escape(title, True)}"
                message = f.message + (f" ({f.hint})" if f.hint else "")
                lines.append(f"::{level} {props}::{_escape(message)}")
    lines.append(summary_line(results, strict))
    return "\n".join(lines)


FORMATS = {"text": text, "json": as_json, "junit": junit, "github": github}
