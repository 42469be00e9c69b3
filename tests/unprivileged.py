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
    import importlib
    import pkgutil
    import tempfile  # noqa: F401

    import kvminit
    import kvminit.config.machine
    import kvminit.kvm.profiles

    # Every module a run may import lazily, and what a run reads from files once.
    for module in pkgutil.walk_packages(kvminit.__path__, "kvminit."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    kvminit.config.machine._fast()
    for name in kvminit.kvm.profiles.builtin_names():
        kvminit.kvm.profiles.builtin_profile(name)
    del kvminit  # only the preloading matters
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    from kvminit.cli import main

    sys.exit(main(sys.argv[1:]))
