"""The QEMU command line that starts a machine: what `kvminit qemu-args` prints.

The engine needs it too: QEMU's messages quote options as typed ("-machine ...: ",
"-smp ...: ", "-accel kvm: "), so the words kvminit reproduces are those of this
command line. Options QEMU 2.6 lacks are written its way (accel in -machine).
"""

from __future__ import annotations

from kvminit.config.machine import Machine
from kvminit.config.sizes import KiB, MiB

from .machines import UnknownMachineType, machine_class
from .qemu import Qemu
from .smp import SmpRequest, smp_arg


def machine_option(machine: Machine, qemu: Qemu | None = None) -> str:
    """-machine's value: the type, then the properties the file gives."""
    props = [machine.type]
    if qemu is not None and not qemu.at_least(7, 2):
        props.append("accel=" + ":".join(machine.accel))
    if machine.kernel_irqchip is not None:
        props.append(f"kernel-irqchip={machine.kernel_irqchip}")
    if machine.smm is not None:
        props.append(f"smm={machine.smm}")
    if machine.kvm_shadow_mem is not None:
        # 7.2+ take a plain integer only (an int property, no size suffix).
        props.append(f"kvm-shadow-mem={machine.kvm_shadow_mem}")
    if machine.kvm_type is not None:
        props.append(f"kvm-type={machine.kvm_type}")
    if machine.max_ram_below_4g is not None:
        props.append(f"max-ram-below-4g={machine.max_ram_below_4g}")
    return ",".join(props)


def memory_option(machine: Machine) -> str:
    out = _size(machine.memory)
    if machine.slots is not None:
        out += f",slots={machine.slots}"
    if machine.maxmem is not None:
        out += f",maxmem={_size(machine.maxmem)}"
    return out


def smp_request(machine: Machine) -> SmpRequest:
    """The -smp keys the file gives, as QEMU's SMP configuration takes them."""
    return SmpRequest(
        cpus=machine.smp,
        maxcpus=machine.maxcpus,
        sockets=machine.sockets,
        dies=machine.dies,
        clusters=machine.clusters,
        modules=machine.modules,
        cores=machine.cores,
        threads=machine.threads,
    )


def smp_option(machine: Machine) -> str:
    return smp_arg(smp_request(machine))


def cpu_option(machine: Machine, qemu: Qemu) -> str | None:
    """-cpu's value, vendor before phys-bits (QEMU applies them in that order)."""
    if machine.cpu is None and machine.vendor is None and machine.phys_bits is None:
        return None
    model = machine.cpu
    if model is None:
        try:
            model = machine_class(qemu, machine.type).default_cpu
        except UnknownMachineType:
            model = "qemu64"
    parts = [model]
    if machine.vendor is not None:
        parts.append(f"vendor={machine.vendor}")
    if machine.phys_bits == "host":
        parts.append("host-phys-bits=on")
    elif machine.phys_bits is not None:
        parts.append(f"phys-bits={machine.phys_bits}")
    return ",".join(parts)


def qemu_args(machine: Machine, qemu: Qemu) -> list[str]:
    """The options in order, each option followed by its value."""
    args = ["-machine", machine_option(machine, qemu)]
    if qemu.at_least(7, 2):
        for accel in machine.accel:
            args += ["-accel", accel]
    args += ["-m", memory_option(machine)]
    smp = smp_option(machine)
    if smp:
        args += ["-smp", smp]
    cpu = cpu_option(machine, qemu)
    if cpu is not None:
        args += ["-cpu", cpu]
    return args


def _size(n: int) -> str:
    for unit, suffix in ((1 << 40, "T"), (1 << 30, "G"), (MiB, "M"), (KiB, "K")):
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return f"{n}B"
