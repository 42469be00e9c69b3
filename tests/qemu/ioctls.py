"""The KVM ioctls of a QEMU run (from `strace -f -y -e trace=ioctl`) and of a kvminit run
(its CallLog), in one comparable form.

An ioctl is (fd kind, request, argument, result). Fd numbers and pointers differ
between any two processes, so: the fd is its kind (`system` = /dev/kvm, `vm`,
`vcpu`), an fd a call returns is `fd`, and an argument is compared only where both
sides pass a value (a capability number, an address, a page count), not a pointer
to a struct strace does not decode.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from dataclasses import dataclass

from kvminit.kvm.caps import Cap, cap_name
from kvminit.kvm.interpose import CallLog

# The requests kvminit makes on the main thread, as QEMU does.
MODELLED = frozenset(
    {
        "KVM_GET_API_VERSION",
        "KVM_CHECK_EXTENSION",
        "KVM_CREATE_VM",
        "KVM_ENABLE_CAP",
        "KVM_GET_MSR_INDEX_LIST",
        "KVM_GET_MSR_FEATURE_INDEX_LIST",
        "KVM_SET_IDENTITY_MAP_ADDR",
        "KVM_SET_TSS_ADDR",
        "KVM_SET_NR_MMU_PAGES",
        "KVM_X86_SET_MSR_FILTER",
        "KVM_CREATE_IRQCHIP",
        "KVM_SET_GSI_ROUTING",
    }
)
# Requests whose argument is a plain value in both strace's text and the CallLog.
VALUE_ARGS = frozenset(
    {"KVM_CHECK_EXTENSION", "KVM_CREATE_VM", "KVM_SET_TSS_ADDR", "KVM_SET_NR_MMU_PAGES"}
)
# After the board: machine_done and the first system reset. The board's window ends at
# the first of these on the main thread (device resets, the clock, the vCPU's VAPIC).
RESET = frozenset(
    {
        "KVM_IRQ_LINE_STATUS",
        "KVM_IRQ_LINE",
        "KVM_SET_IRQCHIP",
        "KVM_GET_IRQCHIP",
        "KVM_SET_PIT2",
        "KVM_GET_PIT2",
        "KVM_SET_CLOCK",
        "KVM_SET_VAPIC_ADDR",
        "KVM_KVMCLOCK_CTRL",
    }
)
# kvmclock's vm-state handler asks this when the VM starts (after the reset): with the
# irqchip in userspace it is the first such request on the main thread.
RESET_CAPS = frozenset({int(Cap.KVM_CAP_KVMCLOCK_CTRL)})


@dataclass(frozen=True)
class Ioctl:
    fd: str  # "system", "vm", "vcpu" or the path of another fd
    request: str
    arg: int | None  # None: a pointer (or nothing) on at least one side
    result: int | str  # the return value, -errno, or "fd" for a returned fd

    def __str__(self) -> str:
        arg = "" if self.arg is None else f" {_arg_text(self.request, self.arg)}"
        return f"{self.fd} {self.request}{arg} = {self.result}"


def _arg_text(request: str, arg: int) -> str:
    return cap_name(arg) if request == "KVM_CHECK_EXTENSION" else hex(arg)


# --- strace ----------------------------------------------------------------------------------

_LINE = re.compile(r"^(\d+) +(.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_IOCTL = re.compile(r"^ioctl\((\d+)<([^>]*)>, (\w+)(?:, (.*?))?\) += (.*)$")
_CAPS = {c.name: int(c) for c in Cap}


def _joined(text: str) -> Iterator[tuple[int, str]]:
    """(pid, call text), strace's `<unfinished ...>` / `<... resumed>` halves joined."""
    pending: dict[int, str] = {}
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if m is None:
            continue
        pid, body = int(m.group(1)), m.group(2)
        if body.startswith(("---", "+++")):
            continue
        if body.endswith("<unfinished ...>"):
            pending[pid] = body[: -len("<unfinished ...>")].rstrip()
            continue
        resumed = _RESUMED.match(body)
        if resumed is not None:
            head = pending.pop(pid, resumed.group(1) + "(")
            rest = resumed.group(2)
            glue = "" if head.endswith("(") or rest.startswith(")") else " "
            body = head + glue + rest.lstrip()
        yield pid, body


def _fd_kind(path: str) -> str:
    if path == "/dev/kvm":
        return "system"
    if path == "anon_inode:kvm-vm":
        return "vm"
    if path.startswith("anon_inode:kvm-vcpu"):
        return "vcpu"
    return path


def _strace_arg(request: str, text: str | None) -> int | None:
    if request not in VALUE_ARGS or text is None:
        return None
    word = text.split()[0] if text.split() else text
    if word in _CAPS:
        return _CAPS[word]
    try:
        return int(word, 0)  # a number, or a cap strace cannot name: "0xe9 /* KVM_CAP_??? */"
    except ValueError:
        return None


def _strace_result(text: str) -> int | str:
    text = text.strip()
    if re.match(r"^\d+<", text):
        return "fd"
    m = re.match(r"^-1 (E[A-Z0-9]+)", text)
    if m is not None:
        return -int(getattr(errno, m.group(1)))
    return int(text.split()[0], 0)


def strace_ioctls(text: str) -> list[tuple[int, Ioctl]]:
    """Every ioctl of a `strace -f -y` log, with the thread id that made it."""
    out = []
    for pid, body in _joined(text):
        m = _IOCTL.match(body)
        if m is None:
            continue
        _, path, request, arg, result = m.groups()
        out.append(
            (pid, Ioctl(_fd_kind(path), request, _strace_arg(request, arg), _strace_result(result)))
        )
    return out


# The in-kernel PIT (kvm_pit_realizefn, hw/i386/kvm/i8254.c) is a board device kvminit
# does not model: its capability checks are left out of the board's window.
PIT_CAPS = frozenset({int(Cap.KVM_CAP_PIT2), int(Cap.KVM_CAP_PIT_STATE2)})


@dataclass(frozen=True)
class Windows:
    init: list[Ioctl]  # main thread, modelled requests, up to the first KVM_CREATE_VCPU
    board: list[Ioctl]  # main thread after it, until machine reset: checks and GSI routes
    vcpus: int  # how many KVM_CREATE_VCPU the run made
    reset: bool  # the run got as far as the first system reset
    left_out: list[Ioctl]  # board checks outside kvminit's model (see qemu_windows)


def qemu_windows(text: str, fadt_smm_check: bool = True) -> Windows:
    """The main thread's modelled ioctls of a QEMU run, in two windows.

    The board's window (after the first KVM_CREATE_VCPU) holds the KVM_CHECK_EXTENSIONs
    and KVM_SET_GSI_ROUTING up to the first system reset, less two things kvminit does
    not model: the in-kernel PIT's checks (PIT_CAPS), and, where the board got as far
    as machine_done, the ACPI build's FADT asking x86_machine_is_smm_enabled() once
    more (7.2 hw/i386/acpi-build.c:147, 10.0 :144): the window's last call, a vm
    KVM_CAP_X86_SMM check, made after the e820 table and the routes are final. Pass
    fadt_smm_check=False where there is none: smm=off, no ACPI, or a machine type up
    to 5.2 (hw_compat_5_2 sets smm-compat, and the FADT then does not ask).
    """
    calls = strace_ioctls(text)
    main = next((pid for pid, c in calls if c.request == "KVM_GET_API_VERSION"), None)
    init: list[Ioctl] = []
    board: list[Ioctl] = []
    left_out: list[Ioctl] = []
    vcpus = 0
    after_vcpu = reset = False
    for pid, c in calls:
        if c.request == "KVM_CREATE_VCPU":
            after_vcpu = True
            vcpus += 1
            continue
        if pid != main:
            continue
        if after_vcpu and (
            c.request in RESET or (c.request == "KVM_CHECK_EXTENSION" and c.arg in RESET_CAPS)
        ):
            reset = True
            break
        if not after_vcpu and c.request in MODELLED:
            init.append(c)
        elif after_vcpu and c.request in ("KVM_CHECK_EXTENSION", "KVM_SET_GSI_ROUTING"):
            if c.request == "KVM_CHECK_EXTENSION" and c.arg in PIT_CAPS:
                left_out.append(c)
            else:
                board.append(c)
    fadt_smm = ("vm", "KVM_CHECK_EXTENSION", int(Cap.KVM_CAP_X86_SMM))
    last = (board[-1].fd, board[-1].request, board[-1].arg) if board else None
    if fadt_smm_check and reset and last == fadt_smm:
        left_out.append(board.pop())
    return Windows(init, board, vcpus, reset, left_out)


# --- kvminit ----------------------------------------------------------------------------------


def kvminit_ioctls(log: CallLog) -> list[Ioctl]:
    out = []
    for call in log.calls:
        if call.request == "open":
            continue
        arg = call.arg if call.request in VALUE_ARGS and isinstance(call.arg, int) else None
        result: int | str = call.result if isinstance(call.result, int) else 0
        if call.request == "KVM_CREATE_VM" and isinstance(result, int) and result >= 0:
            result = "fd"
        elif call.request in ("KVM_GET_MSR_INDEX_LIST", "KVM_GET_MSR_FEATURE_INDEX_LIST"):
            # The CallLog records how many indices came back; the ioctl itself returns 0.
            result = 0 if isinstance(result, int) and result >= 0 else result
        out.append(Ioctl(call.fd, call.request, arg, result))
    return out


def without_retries(calls: list[Ioctl]) -> list[Ioctl]:
    """`calls` less each one that failed with EINTR and was made again at once.

    QEMU and kvminit both repeat an interrupted KVM_CREATE_VM; whether the kernel
    interrupts one (a signal, a busy host) is timing, not either program's doing.
    """
    out = []
    for i, c in enumerate(calls):
        again = calls[i + 1] if i + 1 < len(calls) else None
        retried = again is not None and (again.fd, again.request, again.arg) == (
            c.fd,
            c.request,
            c.arg,
        )
        if c.result == -errno.EINTR and retried:
            continue
        out.append(c)
    return out
