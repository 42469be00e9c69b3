"""QEMU's policy: the steps of the seed's kvm_init and the PC board after it."""

from .accel import run
from .result import InitResult
from .state import InitError, KVMState, TraceStep

__all__ = ["InitError", "InitResult", "KVMState", "TraceStep", "run"]
