"""What a run carries through the steps: the trace and the printed warnings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kvminit.config import MachineConfig
from kvminit.kvm.device import KvmHost

from .e820 import E820Table
from .machines import MachineClass
from .state import TraceStep


@dataclass
class RunContext:
    machine: MachineConfig
    mc: MachineClass
    host: KvmHost
    e820: E820Table
    trace: list[TraceStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tracing: bool = True  # a batch that reads no trace skips recording it

    def step(self, number: str, call: str, result: int | str | None = None) -> None:
        if self.tracing:
            self.trace.append(TraceStep(number, call, result))

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def strerror(ret: int) -> str:
    """strerror(-ret), as the seed prints it."""
    return os.strerror(-ret)
