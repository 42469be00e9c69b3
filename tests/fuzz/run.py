"""Run the property tests with many examples: `python tests/fuzz/run.py [N]` (default 20000).

Each of the six properties in tests/test_fuzz.py (machine files) and each `test_fuzz_*`
of tests/hostile/test_profiles.py (host profiles) runs N examples, so 20000 gives
over 100,000 in all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    n = sys.argv[1] if len(sys.argv) > 1 else "20000"
    env = {**os.environ, "KVMINIT_FUZZ_EXAMPLES": n, "PYTHONPATH": str(ROOT)}
    sys.exit(
        subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(ROOT / "tests" / "test_fuzz.py"),
                str(ROOT / "tests" / "hostile" / "test_profiles.py"),
                "-k",
                "test_fuzz",
                "--hypothesis-show-statistics",
            ],
            env=env,
            cwd=ROOT,
        )
    )
