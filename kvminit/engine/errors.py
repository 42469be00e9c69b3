"""How a run stops: kvm_init's err: label (-errno, a fallback may follow) or exit(1)."""

from __future__ import annotations

from collections.abc import Sequence

from kvminit.config.errors import Finding


class KvmInitError(Exception):
    """kvm_init returned `ret` < 0 through err:, after printing `lines`."""

    def __init__(self, step: str, ret: int, lines: list[str], key: str | None = None) -> None:
        if ret >= 0:  # the err: label asserts ret < 0
            raise ValueError(f"kvm_init's err: path with ret = {ret}")
        self.step = step
        self.ret = ret
        self.lines = lines
        self.key = key
        super().__init__("\n".join(lines))


class QemuExit(Exception):
    """One of QEMU's exit(1) branches: the run ends here, no fallback."""

    def __init__(
        self,
        step: str,
        message: str,
        errno: int | None = None,
        key: str | None = None,
        hint: str | None = None,
        warnings: Sequence[Finding] = (),
    ) -> None:
        self.step = step
        self.message = message
        self.errno = errno
        self.key = key
        self.hint = hint  # kvminit's advice beside QEMU's words
        # What QEMU warned on the way, for a pure rule that raises (the run records them).
        self.warnings = tuple(warnings)
        super().__init__(message)


def irqchip_exit(step: str, message: str, ret: int) -> QemuExit:
    """An irqchip step that QEMU ends with exit(1) after `message` (with strerror(-ret))."""
    from kvminit.kvm.errors import strerror

    return QemuExit(step, message.format(strerror=strerror(-ret)), -ret, key="kernel-irqchip")
