"""Run the kvminit CLI as an unprivileged user: `python tests/unprivileged.py ARGS...`.

The interpreter may live where only root can read (a pyenv under /root), so this
starts as root, imports everything a run needs, then drops to nobody and runs.
"""

from __future__ import annotations

import os
import sys

NOBODY = 65534

if __name__ == "__main__":
    import difflib  # noqa: F401 - preloaded: the stdlib may be unreadable after the drop
    import tempfile  # noqa: F401

    import kvminit.api
    import kvminit.batch
    import kvminit.cli
    import kvminit.engine
    import kvminit.hostspec
    import kvminit.kvm.profiles
    import kvminit.report.output
    import kvminit.report.tables
    import kvminit.report.text
    import kvminit.report.validate

    for name in kvminit.kvm.profiles.builtin_names():
        kvminit.kvm.profiles.builtin_profile(name)
    del kvminit  # only the preloading matters
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    from kvminit.cli import main

    sys.exit(main(sys.argv[1:]))
