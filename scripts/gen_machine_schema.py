#!/usr/bin/env python3
"""Write kvminit/config/machine_schema.py: MachineConfig's core schema, for the fast loader.

Run after any change to kvminit/config/model.py or rules.py, or to the pydantic version
(tests/test_cache.py fails until the file is current; until then kvminit builds the model
at run time instead, which is slower but the same).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kvminit.config.codegen import HERE, render  # noqa: E402

if __name__ == "__main__":
    out = HERE / "machine_schema.py"
    out.write_text(render())
    print(f"wrote {out.relative_to(ROOT)}")
