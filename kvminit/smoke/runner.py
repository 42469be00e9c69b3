"""Boot: map the RAM, create the vCPUs, run vCPU 0 on the guest, serve fw_cfg.

After a successful init (engine.run with keep_open), guest RAM is mapped as QEMU's
memory listener would (one KVM_SET_USER_MEMORY_REGION slot per RAM region of the
e820 table, anonymous and lazily backed), the `smp` vCPUs are created and vCPU 0
runs until the guest reports on the done port.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from kvminit.common.errors import KvminitError
from kvminit.config.machine import Machine
from kvminit.engine import InitResult
from kvminit.engine import run as engine_run
from kvminit.engine.e820 import E820_RAM
from kvminit.engine.qemu import Qemu
from kvminit.engine.result import JSON_FORMAT
from kvminit.kvm import abi
from kvminit.kvm.device import KvmHost, VcpuFd
from kvminit.kvm.errors import KvmError
from kvminit.kvm.vcpu import GuestMemory

from . import fwcfg, guest


class BootError(KvminitError):
    """The boot could not be done or went wrong: a message for the user."""


@dataclass
class BootReport:
    result: InitResult
    vcpus: int = 0
    slots: list[tuple[int, int]] = field(default_factory=list)  # (guest address, size)
    exits: int = 0
    bytes_read: int = 0
    done_code: int | None = None
    guest_output: bytes = b""
    expected: bytes = b""
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return self.done_code == 0 and self.guest_output == self.expected

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "format": JSON_FORMAT,
            "qemu": r.qemu,
            "machine": r.machine.normalised(),
            "host": {"kind": r.host_kind, "name": r.host_name},
            "vcpus": self.vcpus,
            "slots": [{"address": a, "size": n} for a, n in self.slots],
            "exits": self.exits,
            "bytes_read": self.bytes_read,
            "done_code": self.done_code,
            "guest_output": self.guest_output.hex(),
            "expected": self.expected.hex(),
            "identical": self.identical,
        }


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def boot(
    machine: Machine, host: KvmHost, *, qemu: Qemu | None = None, timeout: float = 10.0
) -> BootReport:
    if host.kind != "real":
        raise BootError(
            f"boot runs a guest, so it needs the real /dev/kvm; {host.name} is a profile, "
            "which can only answer questions"
        )
    result = engine_run(machine, host, qemu=qemu, keep_open=True)
    report = BootReport(result)
    if not result.ok:
        return report
    state = result.kvm_state
    if state is None or state.kvm is None or state.vm is None:
        raise BootError(
            f"the machine initialised with {result.accel}, not KVM: there is no VM to boot "
            '(accel = ["kvm"] insists on KVM)'
        )
    vm = state.vm
    memory: GuestMemory | None = None
    vcpus: list[VcpuFd] = []
    try:
        ram = [e for e in result.e820 if e.type == E820_RAM]
        if len(ram) > state.nr_slots:
            raise BootError(f"{len(ram)} RAM regions but KVM offers {state.nr_slots} slots")
        if not ram or ram[0].address != 0 or ram[0].length < guest.LOAD_ADDRESS + guest.IMAGE_SIZE:
            raise BootError("boot needs at least 1 MiB of RAM at address 0 for its guest")
        _check_backable(sum(e.length for e in ram))
        memory = GuestMemory(sum(e.length for e in ram))
        offset = 0
        for slot, region in enumerate(ram):
            vm.set_user_memory_region(
                slot, 0, region.address, region.length, memory.address + offset
            )
            report.slots.append((region.address, region.length))
            offset += region.length
        memory.write(guest.LOAD_ADDRESS, guest.image())

        cpus = result.topology.cpus if result.topology else 1
        for index in range(cpus):
            vcpus.append(vm.create_vcpu(index))
        report.vcpus = len(vcpus)
        _start_in_real_mode(vcpus[0])

        cfg = fwcfg.FwCfg()
        cfg.add_file("etc/e820", result.etc_e820())
        if result.e820_legacy is not None:
            cfg.items[fwcfg.FW_CFG_E820_TABLE] = result.legacy_e820()
        report.expected = result.etc_e820()
        _run_loop(vcpus[0], cfg, report, timeout)
        report.bytes_read = cfg.bytes_read
    except KvmError as e:
        raise BootError(f"{e.ioctl}: {e.strerror}") from None
    finally:
        for vcpu in vcpus:
            vcpu.close()
        state.close()
        if memory is not None:
            memory.close()
    return report


# KVM keeps per-page bookkeeping for every memory slot (the x86 rmap: 8 bytes per 4 KiB
# page, plus large-page data), about 1/512 of guest RAM, in real kernel memory, even
# though kvminit backs the RAM itself lazily.
KVM_BOOKKEEPING_SHARE = 512
GIB = 1 << 30


def _check_backable(ram: int) -> None:
    """Refuse guest RAM larger than this host's memory: the kernel's bookkeeping for it
    is real memory (2 TiB of guest RAM costs about 4 GiB)."""
    total = _host_memory()
    if total is not None and ram > total:
        cost = ram // KVM_BOOKKEEPING_SHARE
        raise BootError(
            f"boot maps all {ram / GIB:.1f} GiB of guest RAM, more than this host's "
            f"{total / GIB:.1f} GiB: the RAM itself is backed lazily, but KVM's bookkeeping "
            f"for it (about {cost / GIB:.1f} GiB) is not; `kvminit run` and `e820` need none"
        )


def _host_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _start_in_real_mode(vcpu: VcpuFd) -> None:
    """The reset state, with CS based at the image's low alias instead of 4G - 64K."""
    sregs = vcpu.get_sregs()
    sregs.cs.selector = guest.RESET_CS
    sregs.cs.base = guest.RESET_CS << 4
    vcpu.set_sregs(sregs)
    regs = vcpu.get_regs()
    regs.rip = guest.RESET_IP
    regs.rflags = 0x2
    vcpu.set_regs(regs)


def _run_loop(vcpu: VcpuFd, cfg: fwcfg.FwCfg, report: BootReport, timeout: float) -> None:
    out = bytearray()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    start = time.perf_counter()
    try:
        # Armed inside the try: a timeout so short it fires at once still lands in the
        # except below, and the finally puts the previous handler back.
        signal.setitimer(signal.ITIMER_REAL, timeout)
        while True:
            try:
                run = vcpu.run()
            except KvmError as e:
                if e.errno == 4:  # EINTR: a signal that was not ours
                    continue
                raise
            report.exits += 1
            reason = run.exit_reason
            if reason != abi.KVM_EXIT_IO:
                name = abi.KVM_EXIT_NAMES.get(reason, f"exit reason {reason}")
                raise BootError(f"unexpected {name} from the guest after {report.exits} exits")
            port, size, count = run.io_port, run.io_size, run.io_count
            at = run.io_data_offset
            if run.io_direction == abi.KVM_EXIT_IO_OUT:
                data = vcpu.io_data(at, size * count)
                value = int.from_bytes(data[:size], "little")
                if port == fwcfg.FW_CFG_PORT_SEL:
                    cfg.select(value)
                elif port == guest.DEBUG_PORT:
                    out += data
                elif port == guest.DONE_PORT:
                    report.done_code = value & 0xFF
                    break
                else:
                    raise BootError(f"unexpected write to I/O port {port:#x}")
            else:
                if port != fwcfg.FW_CFG_PORT_DATA:
                    raise BootError(f"unexpected read of I/O port {port:#x}")
                vcpu.set_io_data(at, bytes(cfg.read() for _ in range(count * size)))
    except _Timeout:
        raise BootError(
            f"the guest did not finish within {timeout:g} s ({report.exits} exits handled)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        report.seconds = time.perf_counter() - start
        report.guest_output = bytes(out)
