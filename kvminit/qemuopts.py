"""QEMU's command-line vocabulary, and which of it can change what kvminit answers.

The option tables are qemu-options.hx of each version (DEF(name, HAS_ARG, ...)):
they decide how a command line splits into options and values, and which options a
version refuses as invalid. The classification says, for every option, machine,
accelerator and CPU property, whether it can change the accelerator's verdict, the
e820 table or the routes: `modelled` (kvminit reads it), `may_affect` (it can, and
kvminit does not model it: named to the user one by one) or neither (devices,
drives, display ...: summarised).
"""

from __future__ import annotations

from typing import Final

from .engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu

# qemu-options.hx, QEMU 7.2 and 10.0 (the Debian packages' sources), options taking a value.
_ARG_COMMON: Final = frozenset(
    [
        "D",
        "L",
        "M",
        "accel",
        "acpitable",
        "action",
        "add-fd",
        "append",
        "audio",
        "audiodev",
        "bios",
        "blockdev",
        "boot",
        "cdrom",
        "chardev",
        "compat",
        "cpu",
        "d",
        "debugcon",
        "device",
        "dfilter",
        "display",
        "drive",
        "dtb",
        "dump-vmstate",
        "echr",
        "fda",
        "fdb",
        "fsdev",
        "fw_cfg",
        "g",
        "gdb",
        "global",
        "hda",
        "hdb",
        "hdc",
        "hdd",
        "icount",
        "incoming",
        "initrd",
        "iscsi",
        "k",
        "kernel",
        "loadvm",
        "m",
        "machine",
        "mem-path",
        "mon",
        "monitor",
        "msg",
        "mtdblock",
        "name",
        "net",
        "netdev",
        "nic",
        "numa",
        "object",
        "option-rom",
        "overcommit",
        "parallel",
        "pflash",
        "pidfile",
        "plugin",
        "prom-env",
        "qmp",
        "qmp-pretty",
        "qtest",
        "qtest-log",
        "readconfig",
        "rtc",
        "sandbox",
        "sd",
        "seed",
        "semihosting-config",
        "serial",
        "set",
        "smbios",
        "smp",
        "spice",
        "tpmdev",
        "trace",
        "usbdevice",
        "uuid",
        "vga",
        "virtfs",
        "vnc",
        "watchdog-action",
        "xen-domid",
    ]
)
_NOARG_COMMON: Final = frozenset(
    [
        "S",
        "daemonize",
        "enable-kvm",
        "enable-sync-profile",
        "full-screen",
        "help",
        "h",
        "mem-prealloc",
        "no-fd-bootchk",
        "no-reboot",
        "no-shutdown",
        "no-user-config",
        "nodefaults",
        "nographic",
        "old-param",
        "only-migratable",
        "preconfig",
        "s",
        "semihosting",
        "snapshot",
        "usb",
        "version",
        "win2k-hack",
        "xen-attach",
        "xen-domid-restrict",
    ]
)
_ARG: Final[dict[Qemu, frozenset[str]]] = {
    QEMU_7_2: _ARG_COMMON | {"chroot", "rotate", "runas"},
    QEMU_10_0: _ARG_COMMON | {"run-with", "shim"},
}
_NOARG: Final[dict[Qemu, frozenset[str]]] = {
    QEMU_7_2: _NOARG_COMMON
    | {"async-teardown", "audio-help", "no-acpi", "no-hpet", "portrait", "singlestep"},
    QEMU_10_0: _NOARG_COMMON | {"jitdump", "perfmap"},
}
# QEMU 2.6's table is not in this repository's references: it is taken as 7.2's plus
# the options 2.6 had and later versions removed, and an option outside it is named
# as unknown rather than refused (see option_kind).
_ARG[QEMU_2_6] = _ARG[QEMU_7_2] | {
    "balloon", "bt", "realtime", "soundhw", "tb-size", "virtioconsole", "watchdog",
    "writeconfig",
}  # fmt: skip
_NOARG[QEMU_2_6] = _NOARG[QEMU_7_2] | {
    "alt-grab", "ctrl-grab", "curses", "enable-fips", "localtime", "no-frame", "no-quit",
    "nodefconfig", "sdl", "show-cursor", "xen-create",
}  # fmt: skip
EXACT_TABLE: Final = frozenset({QEMU_7_2, QEMU_10_0})


def takes_value(qemu: Qemu, name: str) -> bool | None:
    """Whether `-name` takes a value under `qemu`; None: the version has no such option."""
    if name in _ARG[qemu]:
        return True
    if name in _NOARG[qemu]:
        return False
    return None


# --- what an option can change -------------------------------------------------------------

MODELLED_OPTIONS: Final = frozenset({"machine", "M", "accel", "enable-kvm", "m", "smp", "cpu"})

# Options that can change the verdict, the e820 table or the routes, and why.
MAY_AFFECT_OPTIONS: Final[dict[str, str]] = {
    "numa": "NUMA nodes must add up to -m and can be refused",
    "object": "a memory backend or a confidential-guest object can change RAM or refuse",
    "global": "a property default of a device or of the machine",
    "set": "sets any option of any group",
    "readconfig": "a configuration file can hold any option",
    "overcommit": "cpu-pm=on asks KVM for KVM_CAP_X86_DISABLE_EXITS in kvm_arch_init",
    "icount": "QEMU refuses -icount with hardware virtualization",
    "mem-path": "RAM from a file: QEMU can refuse it",
    "no-acpi": "ACPI decides whether the i440fx board asks KVM about SMM",
    "xen-domid": "Xen, not KVM or TCG",
    "xen-attach": "Xen, not KVM or TCG",
    "compat": "can make deprecated options and properties refused",
    "preconfig": "stops before the machine is built",
}

# The option groups people recognise, for the one-line summary of what was left out.
OPTION_GROUPS: Final[dict[str, str]] = {
    **dict.fromkeys(("device", "usb", "usbdevice", "global"), "devices"),
    **dict.fromkeys(
        ("drive", "blockdev", "hda", "hdb", "hdc", "hdd", "cdrom", "fda", "fdb", "sd",
         "mtdblock", "pflash", "snapshot", "iscsi"),
        "drives",
    ),
    **dict.fromkeys(("netdev", "net", "nic"), "netdevs"),
    **dict.fromkeys(
        ("chardev", "serial", "parallel", "mon", "monitor", "qmp", "qmp-pretty", "debugcon"),
        "chardevs",
    ),
    **dict.fromkeys(
        ("display", "vga", "vnc", "spice", "nographic", "full-screen", "sdl", "curses",
         "portrait", "rotate"),
        "display",
    ),
    **dict.fromkeys(("audiodev", "audio", "soundhw"), "audio"),
    **dict.fromkeys(("kernel", "initrd", "append", "bios", "boot", "dtb", "shim", "L",
                     "option-rom", "fw_cfg", "smbios", "acpitable"), "firmware and boot"),
}  # fmt: skip
OTHER_GROUP: Final = "other"


def option_group(name: str) -> str:
    return OPTION_GROUPS.get(name, OTHER_GROUP)


# -machine properties, in QEMU's dashed spelling (vl.c dashifies `kernel_irqchip`).
MODELLED_MACHINE_PROPS: Final = frozenset(
    {"type", "accel", "kernel-irqchip", "kvm-shadow-mem", "kvm-type", "max-ram-below-4g", "smm"}
)
MAY_AFFECT_MACHINE_PROPS: Final[dict[str, str]] = {
    "acpi": "ACPI decides whether the i440fx board asks KVM about SMM",
    "memory-backend": "RAM from a backend object whose size QEMU checks against -m",
    "memory-encryption": "memory encryption needs a confidential-guest object and KVM support",
    "confidential-guest-support": "a confidential guest changes KVM's VM type and checks",
    "sgx-epc": "SGX EPC sections add e820 entries",
    "nvdimm": "NVDIMM support adds ACPI and hotplug memory rules",
    "hmat": "HMAT needs NUMA options and can be refused",
    "cxl": "CXL windows take address space above RAM",
    "pic": "the PIC's presence changes the board's interrupt wiring",
}
# Machine properties of PC types that only configure devices, firmware or migration.
NO_EFFECT_MACHINE_PROPS: Final = frozenset(
    [
        "append",
        "aux-ram-share",
        "boot",
        "bus-lock-ratelimit",
        "default-bus-bypass-iommu",
        "dt-compatible",
        "dtb",
        "dump-guest-core",
        "dumpdtb",
        "enforce-config-section",
        "fd-bootchk",
        "firmware",
        "graphics",
        "hpet",
        "i8042",
        "igd-passthru",
        "initrd",
        "kernel",
        "max-fw-size",
        "mem-merge",
        "nvdimm-persistence",
        "pcspk-audiodev",
        "pflash0",
        "pflash1",
        "phandle-start",
        "pit",
        "sata",
        "shim",
        "smbios-entry-point-type",
        "smbus",
        "smp-cache",
        "suppress-vmdesc",
        "usb",
        "vmport",
        "x-oem-id",
        "x-oem-table-id",
        "x-south-bridge",
    ]
)

# -accel properties (the accelerator's name is `accel`).
MODELLED_ACCEL_PROPS: Final = frozenset({"accel", "kernel-irqchip", "kvm-shadow-mem"})
MAY_AFFECT_ACCEL_PROPS: Final[dict[str, str]] = {
    "dirty-ring-size": "kvm_init asks KVM for the dirty ring and can refuse",
    "notify-vmexit": "kvm_arch_init enables KVM_CAP_X86_NOTIFY_VMEXIT and can refuse",
    "notify-window": "kvm_arch_init enables KVM_CAP_X86_NOTIFY_VMEXIT and can refuse",
    "eager-split-size": "kvm_init asks KVM for eager page splitting and can refuse",
    "xen-version": "Xen emulation, checked against KVM's Xen support",
}
NO_EFFECT_ACCEL_PROPS: Final = frozenset(
    {"thread", "tb-size", "split-wx", "one-insn-per-tb", "igd-passthru", "xen-gnttab-max-frames",
     "xen-evtchn-max-pirq"}
)  # fmt: skip

# -cpu properties kvminit reads, and the ones that can change a verdict it gives.
MODELLED_CPU_PROPS: Final = frozenset({"vendor", "phys-bits", "host-phys-bits"})
MAY_AFFECT_CPU_PROPS: Final[dict[str, str]] = {
    "lm": "long mode decides the 64-bit address-space checks",
    "x2apic": "x2APIC decides whether more than 255 APIC IDs are accepted",
    "topoext": "topoext decides the hyperthreading warning on AMD",
    "apic": "without an APIC the board wires interrupts differently",
    "host-phys-bits-limit": "caps the host's physical address bits",
    "enforce": "QEMU refuses to start when the host lacks a requested feature",
    "tsc-frequency": "KVM can refuse the TSC frequency when the vCPU is created",
    "hv-*": "Hyper-V enlightenments need KVM's Hyper-V capabilities",
}


def cpu_prop_effect(name: str) -> str | None:
    """Why a -cpu property can change the result, or None when it cannot."""
    if name.startswith("hv-") or name.startswith("hv_"):
        return MAY_AFFECT_CPU_PROPS["hv-*"]
    return MAY_AFFECT_CPU_PROPS.get(name.replace("_", "-"))
