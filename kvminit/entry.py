"""The `kvminit` program's entry point: signals first, then everything else.

SIGTERM and SIGHUP (a CI runner cancelling a step, a closed terminal) end the run the
way Ctrl-C does: an exception unwinds it, so worker pools stop, temporary files go and
the exit status says which signal (128 + its number). The handlers are installed
before anything heavy is imported, so a signal in the first moments of a run is no
traceback either. The console script and `python -m kvminit` both come here.
"""

from __future__ import annotations

import signal


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like KeyboardInterrupt, exit 128 + signum."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


def _raise(signum: int, frame: object) -> None:
    raise Terminated(signum)


def install() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # Only where the signal is not ignored on purpose (nohup keeps SIGHUP ignored).
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise)


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def console() -> int:
    install()
    try:
        # pydantic's Rust core panics if interrupted while it loads: hold the signals
        # while the modules every run needs come in, and take one that arrived meanwhile
        # (raised here, at a clean point) when they are released.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            from kvminit import config  # noqa: F401  (pydantic, built once per process)
            from kvminit.cli import main
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        return main()
    except KeyboardInterrupt:  # Ctrl-C while importing or parsing, before main's own guard
        return 130
    except Terminated as e:
        return 128 + e.signum
