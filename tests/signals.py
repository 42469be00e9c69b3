"""Starting kvminit as a terminal or a CI runner would, whatever runs the tests."""

from __future__ import annotations

import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def default_signals() -> None:
    """preexec_fn: whoever runs the tests may ignore SIGHUP (nohup) or SIGINT (a
    background job), and an ignored signal stays ignored across exec, which kvminit
    rightly respects."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
