"""`validate` output: text, JSON, JUnit XML and GitHub workflow commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from kvminit.batch import PairResult
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


def summary_line(results: Sequence[PairResult], strict: bool) -> str:
    c = counts(results, strict)
    return (
        f"{c['files']} files × {c['hosts']} hosts: {c['passed']} passed, "
        f"{c['warnings']} with warnings, {c['failed']} failed"
    )


def text(results: Sequence[PairResult], strict: bool) -> str:
    lines = []
    for r in results:
        status = r.status(strict)
        first = r.errors[0] if r.errors else (r.warnings[0] if r.warnings else None)
        where = r.path + (f":{first.line}" if first and first.line else "")
        detail = f": {r.first_message()}" if first else ""
        lines.append(f"{status:<4}  {where} [{r.host}, QEMU {r.qemu}]{detail}")
    lines.append(summary_line(results, strict))
    return "\n".join(lines)


def as_json(results: Sequence[PairResult], strict: bool) -> str:
    document = {
        "format": JSON_FORMAT,
        "results": [r.to_json(strict) for r in results],
        "summary": counts(results, strict),
    }
    return json.dumps(document, indent=2)


def junit(results: Sequence[PairResult], strict: bool) -> str:
    c = counts(results, strict)
    suite = ET.Element(
        "testsuite",
        name="kvminit validate",
        tests=str(c["pairs"]),
        failures=str(c["failed"]),
        errors="0",
        skipped="0",
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r.host, name=f"{r.path} [QEMU {r.qemu}]")
        if r.status(strict) == "FAIL":
            problems = r.errors or r.warnings
            failure = ET.SubElement(case, "failure", message=r.first_message())
            failure.text = "\n".join(
                (f"line {p.line}: " if p.line else "") + (f"{p.key}: " if p.key else "") + p.message
                for p in problems
            )
        elif r.warnings:
            out = ET.SubElement(case, "system-err")
            out.text = "\n".join(w.message for w in r.warnings)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")


def _escape(value: str, property_: bool = False) -> str:
    # GitHub workflow command escaping.
    out = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        out = out.replace(":", "%3A").replace(",", "%2C")
    return out


def github(results: Sequence[PairResult], strict: bool) -> str:
    lines = []
    for r in results:
        level_for_warnings = "error" if strict else "warning"
        for level, findings in (("error", r.errors), (level_for_warnings, r.warnings)):
            for f in findings:
                props = f"file={_escape(r.path, True)}"
                if f.line:
                    props += f",line={f.line}"
                props += f",title={_escape(f'kvminit [{r.host}, QEMU {r.qemu}]', True)}"
                lines.append(f"::{level} {props}::{_escape(f.message)}")
    lines.append(summary_line(results, strict))
    return "\n".join(lines)


FORMATS = {"text": text, "json": as_json, "junit": junit, "github": github}
