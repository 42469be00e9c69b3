"""How kvm_init stops: through its err: label (-errno) or by exit(1)."""

from __future__ import annotations


class KvmInitError(Exception):
    """kvm_init returned `ret` < 0 through err:, after printing `lines`."""

    def __init__(self, step: str, ret: int, lines: list[str], key: str | None = None) -> None:
        assert ret < 0, "the err: label asserts ret < 0"
        self.step = step
        self.ret = ret
        self.lines = lines
        self.key = key
        super().__init__("\n".join(lines))


class QemuExit(Exception):
    """One of the seed's exit(1) branches: the run ends here, no fallback."""

    def __init__(
        self, step: str, message: str, errno: int | None = None, key: str | None = None
    ) -> None:
        self.step = step
        self.message = message
        self.errno = errno
        self.key = key
        super().__init__(message)
