"""kvm_check_extension / kvm_vm_check_extension, traced as the seed names them."""

from __future__ import annotations

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
    ctx.step(step, f"kvm_check_extension({cap})", ret)
    return max(ret, 0)
