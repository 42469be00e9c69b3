"""kvm_check_extension / kvm_vm_check_extension, traced as the seed names them."""

from __future__ import annotations

from collections.abc import Callable

from kvminit.kvm.abi import KVM_CAPS
from kvminit.kvm.device import KvmError

from .context import RunContext
from .state import KVMState


def kvm_check_extension(ctx: RunContext, s: KVMState, cap: str, step: str) -> int:
    """On the system fd, as QEMU 2.6 does; an ioctl error counts as 0."""
    assert s.kvm is not None
    try:
        ret = s.kvm.check_extension(KVM_CAPS[cap])
    except KvmError:
        ret = 0
    if ctx.tracing:
        ctx.step(step, f"kvm_check_extension({cap})", ret)
    return max(ret, 0)


def kvm_vm_ioctl(ctx: RunContext, step: str, call: str, op: Callable[[], object]) -> int:
    """One VM ioctl, traced as the seed writes it; 0 or -errno, as QEMU's kvm_vm_ioctl."""
    try:
        op()
    except KvmError as e:
        ctx.step(step, call, -e.errno)
        return -e.errno
    ctx.step(step, call, 0)
    return 0
