"""`validate` output: text, JSON, JUnit XML and GitHub workflow commands."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from xml.etree import ElementTree as ET

from kvminit.batch import PairResult
from kvminit.common.text import has_unsafe, printable, printable_lines
from kvminit.config import Finding
from kvminit.engine.result import JSON_FORMAT


def any_failed(results: Sequence[PairResult], strict: bool) -> bool:
    return any(r.status(strict) == "FAIL" for r in results)


@dataclass
class Tally:
    """What a report's summary counts, added up as results stream past (or all at once).

    `files` counts distinct paths; tallies merge by adding, which holds because every
    file's results are in one chunk (batch.py checks a file on all its targets at once).
    """

    files: int = 0
    hosts: set[str] = field(default_factory=set)
    qemu: set[str] = field(default_factory=set)
    pairs: int = 0
    passed: int = 0
    warnings: int = 0
    failed: int = 0

    @classmethod
    def of(cls, results: Sequence[PairResult], strict: bool) -> Tally:
        statuses = [r.status(strict) for r in results]
        return cls(
            files=len({r.path for r in results}),
            hosts={r.host for r in results},
            qemu={r.qemu for r in results},
            pairs=len(results),
            passed=statuses.count("PASS"),
            warnings=statuses.count("WARN"),
            failed=statuses.count("FAIL"),
        )

    def merge(self, other: Tally) -> None:
        self.files += other.files
        self.hosts |= other.hosts
        self.qemu |= other.qemu
        self.pairs += other.pairs
        self.passed += other.passed
        self.warnings += other.warnings
        self.failed += other.failed

    def counts(self) -> dict[str, int]:
        return {
            "files": self.files,
            "hosts": len(self.hosts),
            "qemu": len(self.qemu),
            "pairs": self.pairs,
            "passed": self.passed,
            "warnings": self.warnings,
            "failed": self.failed,
        }


def counts(results: Sequence[PairResult], strict: bool) -> dict[str, int]:
    return Tally.of(results, strict).counts()


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_line(results: Sequence[PairResult], strict: bool) -> str:
    return _summary(Tally.of(results, strict))


def _summary(tally: Tally) -> str:
    c = tally.counts()
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
    return _finding_lines(printable(r.path), _tag(r.host, r.qemu), f, warning)


def _finding_lines(path: str, tag: str, f: Finding, warning: bool) -> list[str]:
    # `path` and `tag` printable already: a result's findings share them.
    where = path + (f":{f.line}" if f.line else "")
    what = f"{printable(f.key)}: " if f.key else ""
    first, *rest = _message(f.message, warning)
    hint = f" ({printable(f.hint)})" if f.hint else ""
    return [f"{where}: {what}{first}{hint}{tag}", *rest]


@lru_cache(maxsize=4096)
def _message(message: str, warning: bool) -> tuple[str, ...]:
    """A message's lines as a finding prints them. Pure, and a fleet's messages repeat:
    the same few QEMU words on thousands of files."""
    first, *rest = printable_lines(message) if message else [""]
    if warning and not _is_warning_text(message):
        first = "warning: " + first
    return (first, *(f"  {line}" for line in rest))


@lru_cache(maxsize=256)
def _tag(host: str, qemu: str) -> str:
    return f" [{printable(host)}, QEMU {qemu}]"


def text(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    """Every finding, errors and warnings (only errors with `quiet`), then the summary."""
    return _whole(Text(strict, quiet), results)


def as_json(results: Sequence[PairResult], strict: bool, quiet: bool = False) -> str:
    return _whole(Json(strict, quiet), results)


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
    return _whole(GitHub(strict, quiet), results)


# --- streaming ------------------------------------------------------------------------------
#
# A long `validate` writes its report as results come, so memory does not grow with the
# number of files: a format renders each chunk of results into a block of text (in the
# worker processes, with --jobs), a Tally counts them, and the report is the blocks
# joined, between the format's head and its tail. The whole-list functions above are the
# same pieces over one chunk: both ways give the same bytes.


class Format:
    """One report format as blocks: head, blocks joined by `join`, tail."""

    join = "\n"

    def __init__(self, strict: bool, quiet: bool) -> None:
        self.strict = strict
        self.quiet = quiet

    def block(self, results: Sequence[PairResult]) -> str:
        """The text of these results ("" when they print nothing)."""
        raise NotImplementedError

    def head(self, empty: bool) -> str:
        return ""

    def tail(self, tally: Tally, empty: bool) -> str:
        return _summary(tally)


class Text(Format):
    def block(self, results: Sequence[PairResult]) -> str:
        lines: list[str] = []
        warnings = not self.quiet or self.strict
        for r in results:
            if not r.errors and not (warnings and r.warnings):
                continue
            path, tag = printable(r.path), _tag(r.host, r.qemu)
            for f in r.errors:
                lines += _finding_lines(path, tag, f, warning=False)
            if warnings:
                for f in r.warnings:
                    lines += _finding_lines(path, tag, f, warning=True)
        return "\n".join(lines)


class GitHub(Format):
    def block(self, results: Sequence[PairResult]) -> str:
        lines = []
        for r in results:
            level_for_warnings = "error" if self.strict else "warning"
            for level, findings in (("error", r.errors), (level_for_warnings, r.warnings)):
                if self.quiet and level == "warning":
                    continue
                for f in findings:
                    props = f"file={_escape(r.path, True)}"
                    if f.line:
                        props += f",line={f.line}"
                    title = (f"{f.key} " if f.key else "") + f"[{r.host}, QEMU {r.qemu}]"
                    props += f",title={_escape(title, True)}"
                    message = f.message + (f" ({f.hint})" if f.hint else "")
                    lines.append(f"::{level} {props}::{_escape(message)}")
        return "\n".join(lines)


class Json(Format):
    """json.dumps(document, indent=2), written a result at a time."""

    join = ",\n"

    def block(self, results: Sequence[PairResult]) -> str:
        return ",\n".join(
            _indented(json.dumps(r.to_json(self.strict), indent=2), 4) for r in results
        )

    def head(self, empty: bool) -> str:
        if empty:
            return f'{{\n  "format": {JSON_FORMAT},\n  "results": [],'
        return f'{{\n  "format": {JSON_FORMAT},\n  "results": ['

    def tail(self, tally: Tally, empty: bool) -> str:
        summary = _indented(json.dumps(tally.counts(), indent=2), 2).lstrip()
        return ("" if empty else "  ],\n") + f'  "summary": {summary}\n}}'


def _indented(text: str, by: int) -> str:
    pad = " " * by
    return "\n".join(pad + line for line in text.split("\n"))


FORMAT_CLASSES: dict[str, type[Format]] = {"text": Text, "json": Json, "github": GitHub}


def render_block(fmt: Format, results: list[PairResult]) -> tuple[str, Tally]:
    """A chunk's block of report, every line made printable, and its tally: what a worker
    sends back with --jobs (so the parent, which shares the cores, only writes)."""
    return _printable(fmt.block(results)), Tally.of(results, fmt.strict)


def _whole(fmt: Format, results: Sequence[PairResult]) -> str:
    tally = Tally.of(results, fmt.strict)
    body = fmt.block(results)
    parts = [fmt.head(not body), body, fmt.tail(tally, not body)]
    return "\n".join(p for p in parts if p)


class Report:
    """A report written as it goes: `add` each block with its tally, then `finish`.

    The bytes are what the whole-list format gives, each line made printable as the
    command line makes every report it writes. Nothing is written before the first
    block that has text: a run that ends in an error before it writes nothing at all.
    """

    def __init__(self, fmt: Format, write: Callable[[str], None]) -> None:
        self.fmt = fmt
        self.tally = Tally()
        self._write = write
        self._started = False

    def add(self, block: str, tally: Tally) -> None:
        """`block` as render_block() makes it: its lines printable already."""
        self.tally.merge(tally)
        if not block:
            return
        if self._started:
            # The previous block's last line is still open: JSON's comma goes on it.
            self._write(self.fmt.join)
        else:
            head = self.fmt.head(False)
            if head:
                self._write(_printable(head) + "\n")
            self._started = True
        self._write(block)

    def finish(self) -> None:
        if self._started:
            self._write("\n")
        else:
            head = self.fmt.head(True)
            if head:
                self._write(_printable(head) + "\n")
        self._write(_printable(self.fmt.tail(self.tally, not self._started)) + "\n")


def _printable(text: str) -> str:
    """Each line of `text` made printable (what cli._write does to a report)."""
    if not has_unsafe(text):
        return text  # a block of plain findings: no copy of a chunk's worth of text
    return "\n".join(printable_lines(text))


FORMATS = {"text": text, "json": as_json, "junit": junit, "github": github}
