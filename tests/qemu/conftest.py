"""tests/qemu/: kvminit against the real QEMU 7.2 and 10.0 (binaries.py finds them).

A test that compares with QEMU carries its runs on a `qemu_jobs(job, ...)` marker;
once collection (and -k/-m deselection) is over, each is submitted to the harness's
thread pool ($KVMINIT_QEMU_JOBS at a time, default 8), so QEMU works ahead while the
tests consume the results in order. The libvirt corpus' counts are printed at the end.
"""

from __future__ import annotations

import pytest

from . import harness, summary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "qemu_jobs(*jobs): the real-QEMU runs (harness.Job) a test compares with"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        for mark in item.iter_markers("qemu_jobs"):
            for job in mark.args:
                harness.submit(job)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    harness.shutdown()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    text = summary.render()
    if text:
        terminalreporter.section("kvminit vs real QEMU: libvirt corpus")
        for line in text.splitlines():
            terminalreporter.write_line(line)
