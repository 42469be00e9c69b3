"""The machines kvminit and each real QEMU must agree on (verdict, messages, etc/e820).

Every case runs on every QEMU version found: a machine type one version lacks is a
case too (both must refuse it in that version's words). Cases are machine files,
so QEMU gets exactly `kvminit qemu-args` of them. The research each group follows is
under /work/research/ (machines/layout-rules.md, smp/rules.md, cpus/rules.md,
hotplug/memory-hotplug.md and smm.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvminit.common import toml
from kvminit.config import ConfigError, MachineConfig, parse_machine
from kvminit.engine.qemu import Qemu
from kvminit.engine.qemuline import qemu_args


@dataclass(frozen=True)
class Case:
    id: str
    keys: tuple[tuple[str, object], ...]
    # QEMU version ("7.2", "10.0") -> why kvminit disagrees with it (an engine bug to fix):
    # the case is then a strict xfail, so a fix turns it into a failure to update here.
    known: tuple[tuple[str, str], ...] = field(default=())

    def machine(self) -> MachineConfig:
        """The machine as kvminit loads it (ConfigError: kvminit refuses the file itself)."""
        return parse_machine(self.text())

    def text(self) -> str:
        return "\n".join(f"{k} = {toml.value(v)}" for k, v in self.keys)

    def qemu_args(self, qemu: Qemu) -> tuple[str, ...]:
        """`kvminit qemu-args` of the machine; where kvminit's own checks refuse the file
        (e.g. max-ram-below-4g above 4G), the refused keys go to QEMU as written, so
        QEMU can refuse them too."""
        try:
            return tuple(qemu_args(self.machine(), qemu))
        except ConfigError as e:
            refused = {p.key for p in e.problems if p.key is not None}
        keys = dict(self.keys)
        valid = MachineConfig.model_validate({k: v for k, v in keys.items() if k not in refused})
        args = qemu_args(valid, qemu)
        for key in refused:
            value = str(keys[key])
            if key == "memory":
                i = args.index("-m") + 1
                args[i] = value + args[i][args[i].index(",") :] if "," in args[i] else value
            elif key == "max-ram-below-4g":
                args[args.index("-machine") + 1] += f",max-ram-below-4g={value}"
            else:
                raise AssertionError(f"{self.id}: no QEMU spelling for a refused {key!r}")
        return tuple(args)

    def accel(self) -> list[str]:
        value = dict(self.keys).get("accel", ["kvm"])
        if isinstance(value, str):
            return value.split(":")
        assert isinstance(value, list)
        return [str(v) for v in value]

    @property
    def needs_kvm(self) -> bool:
        return "kvm" in self.accel()

    def known_reason(self, version: str) -> str | None:
        return dict(self.known).get(version)


def case(id: str, known: dict[str, str] | None = None, **keys: object) -> Case:
    """A case; keys as in a machine file (underscores for dashes)."""
    pairs = tuple((k.replace("_", "-"), v) for k, v in keys.items())
    return Case(id, pairs, tuple((known or {}).items()))


KVM = ["kvm"]
TCG = ["tcg"]
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# --- machine types: every one of either version, at 1G and 6G -------------------------------


def _types() -> list[str]:
    """Every PC type either version has (the union of both `-machine help`), and some
    neither has."""
    minors = {1: range(4, 8), 2: range(13), 3: range(2), 10: range(1)}
    i440fx = [
        f"pc-i440fx-{a}.{b}"
        for a in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
        for b in minors.get(a, range(3))
    ]
    q35 = [
        f"pc-q35-{a}.{b}"
        for a in (2, 3, 4, 5, 6, 7, 8, 9, 10)
        for b in minors.get(a, range(3))
        if (a, b) >= (2, 4)
    ]
    return [
        "pc",
        "q35",
        "isapc",
        *i440fx,
        *q35,
        "pc-q35-4.0.1",
        "pc-1.3",
        "pc-i440fx-10.1",
        "pc-q35-2.3",
        "pc-q35-4.1.1",
        "PC",
    ]


TYPES = _types()
for t in TYPES:
    add(case(f"type-{t}-1G-kvm", type=t, memory="1G", accel=KVM))
    add(case(f"type-{t}-6G-kvm", type=t, memory="6G", accel=KVM))
for t in ("pc", "q35", "isapc", "pc-i440fx-1.4", "pc-i440fx-7.0", "pc-q35-7.1", "pc-q35-10.0"):
    add(case(f"type-{t}-6G-tcg", type=t, memory="6G", accel=TCG))
add(case("type-pc-default-memory", type="pc", accel=KVM))
add(case("type-q35-default-memory-tcg", type="q35", accel=TCG))

# --- the RAM split around each threshold ------------------------------------------------------

for t in ("pc", "pc-i440fx-1.7", "isapc"):
    for mem in ("3G", "3583M", "3584M", "3585M", "4G"):
        add(case(f"split-{t}-{mem}", type=t, memory=mem, accel=KVM))
for mem in ("2G", "2815M", "2816M", "2817M", "3G", "4G"):
    add(case(f"split-q35-{mem}", type="q35", memory=mem, accel=KVM))
add(case("split-pc-3584M-tcg", type="pc", memory="3584M", accel=TCG))
add(case("split-q35-2816M-tcg", type="q35", memory="2816M", accel=TCG))

# max-ram-below-4g: 0 and tiny values warn; 4G raises the split on i440fx/isapc; q35 only lowers
MRB = [
    ("pc", "1G", 0),
    ("pc", "1G", "512K"),
    ("pc", "1G", "1M"),
    ("pc", "2G", "2G"),
    ("pc", "4G", "2G"),
    ("pc", "4G", "2560M"),
    ("pc", "2G", "2560M"),
    ("pc", "4G", "3584M"),
    ("pc", "3968M", "4G"),
    ("pc", "4G", "4G"),
    ("pc", "4075M", "4G"),
    ("pc", "4076M", "4G"),
    ("pc", "4G", "4095M"),
    ("pc", "6G", "4075M"),
    ("pc", "1G", "5G"),
    ("pc-i440fx-1.7", "4G", "4G"),
    ("pc-i440fx-1.7", "6G", "4075M"),
    ("pc-i440fx-1.7", "6G", "2560M"),
    ("q35", "1G", 0),
    ("q35", "1G", "512K"),
    ("q35", "2G", "1G"),
    ("q35", "4G", "1536M"),
    ("q35", "3G", "1536M"),
    ("q35", "1G", "1536M"),
    ("q35", "2G", "2560M"),
    ("q35", "2G", "3G"),
    ("q35", "6G", "2560M"),
    ("q35", "3968M", "4G"),
    ("isapc", "4G", "4G"),
    ("isapc", "5G", "4G"),
    ("isapc", "1G", "512K"),
]
for t, mem, mrb in MRB:
    add(case(f"mrb-{t}-{mem}-{mrb}", type=t, memory=mem, max_ram_below_4g=mrb, accel=KVM))
add(case("mrb-pc-4G-2560M-tcg", type="pc", memory="4G", max_ram_below_4g="2560M", accel=TCG))
add(case("mrb-q35-1G-1536M-tcg", type="q35", memory="1G", max_ram_below_4g="1536M", accel=TCG))

# --- -smp: counts, limits, topology -----------------------------------------------------------

add(
    case("smp-0", type="pc", smp=0, accel=KVM),
    case("smp-4-kvm", type="pc", smp=4, accel=KVM),
    case("smp-2-maxcpus-4-kvm", type="pc", smp=2, maxcpus=4, accel=KVM),
    case("smp-4-maxcpus-2", type="pc", smp=4, maxcpus=2, accel=KVM),
    case("smp-0-maxcpus-4", type="pc", smp=0, maxcpus=4, accel=TCG),
    case("smp-pc-maxcpus-255", type="pc", smp=1, maxcpus=255, accel=KVM),
    case("smp-pc-maxcpus-256", type="pc", smp=1, maxcpus=256, accel=KVM),
    case("smp-pc-maxcpus-255-tcg", type="pc", smp=1, maxcpus=255, accel=TCG),
    case("smp-pc-256-tcg", type="pc", smp=256, accel=TCG),
    case("smp-q35-maxcpus-288-split", type="q35", smp=1, maxcpus=288, kernel_irqchip="split"),
    case("smp-q35-maxcpus-288-on", type="q35", smp=1, maxcpus=288, accel=KVM),
    case("smp-q35-maxcpus-288-tcg", type="q35", smp=1, maxcpus=288, accel=TCG),
    case("smp-q35-maxcpus-289-tcg", type="q35", smp=1, maxcpus=289, accel=TCG),
    case("smp-q35-7.2-maxcpus-289-tcg", type="pc-q35-7.2", smp=1, maxcpus=289, accel=TCG),
    case("smp-q35-8.1-maxcpus-1024-tcg", type="pc-q35-8.1", smp=1, maxcpus=1024, accel=TCG),
    case("smp-q35-8.1-maxcpus-1025-tcg", type="pc-q35-8.1", smp=1, maxcpus=1025, accel=TCG),
    case("smp-q35-maxcpus-4096-tcg", type="q35", smp=1, maxcpus=4096, accel=TCG),
    case("smp-q35-maxcpus-4097-tcg", type="q35", smp=1, maxcpus=4097, accel=TCG),
    case("smp-q35-maxcpus-1025-kvm-split", type="q35", smp=1, maxcpus=1025, kernel_irqchip="split"),
    case("smp-q35-2.6-maxcpus-256-tcg", type="pc-q35-2.6", smp=1, maxcpus=256, accel=TCG),
    case("smp-isapc-2", type="isapc", smp=2, accel=KVM),
    case("topo-valid", type="pc", smp=4, sockets=2, cores=2, threads=1, accel=KVM),
    case("topo-sockets-only", type="pc", smp=4, sockets=4, accel=TCG),
    case("topo-cores-only", type="q35", cores=4, accel=TCG),
    case("topo-threads-only-amd", type="pc", threads=2, accel=TCG),
    case("topo-threads-2-amd", type="pc", smp=4, cores=2, threads=2, accel=KVM),
    case("topo-threads-2-intel", type="pc", smp=4, cores=2, threads=2, cpu="kvm64", accel=TCG),
    case("topo-product-mismatch", type="pc", smp=4, sockets=1, cores=2, threads=1),
    case("topo-maxcpus-mismatch", type="pc", smp=2, sockets=1, cores=2, maxcpus=8, accel=TCG),
    case("topo-dies-2", type="pc", smp=4, sockets=1, dies=2, cores=2, accel=KVM),
    case("topo-dies-2-q35", type="q35", smp=4, dies=2, accel=TCG),
    case("topo-modules-2", type="pc", smp=4, sockets=1, modules=2, cores=2, accel=KVM),
    case("topo-modules-2-q35-tcg", type="q35", smp=8, modules=2, cores=2, threads=2, accel=TCG),
    case("topo-clusters-2", type="pc", smp=4, clusters=2, cores=2, accel=TCG),
    case("topo-clusters-1", type="pc", smp=2, clusters=1, cores=2, accel=TCG),
    case("topo-sockets-0", type="pc", smp=2, sockets=0, cores=2, accel=TCG),
    case("topo-zero-maxcpus", type="pc", smp=2, maxcpus=0, accel=TCG),
)

# --- CPU models, vendors, phys-bits -----------------------------------------------------------

MODELS = [
    "qemu64",
    "kvm64",
    "host",
    "max",
    "EPYC-Rome",
    "Haswell-noTSX",
    "Skylake-Client-IBRS",
    "core2duo",
    "Opteron_G3",
    "qemu32",
    "pentium",
    "486",
    "nosuch",
]
for model in MODELS:
    add(case(f"cpu-{model}-kvm-6G", type="pc", memory="6G", cpu=model, accel=KVM))
    add(case(f"cpu-{model}-tcg-6G", type="pc", memory="6G", cpu=model, accel=TCG))
for model in ("qemu64", "kvm64", "EPYC-Rome", "pentium", "qemu32"):
    add(case(f"cpu-{model}-q35-6G-tcg", type="q35", memory="6G", cpu=model, accel=TCG))
for model in ("486", "qemu64", "pentium"):
    add(case(f"cpu-{model}-isapc-4G-tcg", type="isapc", memory="4G", cpu=model, accel=TCG))
for accel in ("kvm", "tcg"):
    a = [accel]
    add(
        case(f"vendor-qemu64-intel-{accel}", cpu="qemu64", vendor="GenuineIntel", accel=a),
        case(f"vendor-kvm64-amd-{accel}", cpu="kvm64", vendor="AuthenticAMD", accel=a),
        case(f"vendor-haswell-amd-{accel}", cpu="Haswell-noTSX", vendor="AuthenticAMD", accel=a),
        case(f"vendor-epyc-intel-{accel}", cpu="EPYC-Rome", vendor="GenuineIntel", accel=a),
        case(f"vendor-hygon-{accel}", cpu="qemu64", vendor="HygonGenuine", accel=a),
        case(f"vendor-short-{accel}", cpu="qemu64", vendor="AMD", accel=a),
    )
    for bits in (32, 33, 39, 40, 48, 52, 53, "host"):
        add(case(f"physbits-{bits}-1G-{accel}", type="pc", memory="1G", phys_bits=bits, accel=a))
    for bits in (33, 39, "host"):
        add(case(f"physbits-{bits}-6G-{accel}", type="pc", memory="6G", phys_bits=bits, accel=a))
    add(
        case(f"physbits-39-q35-{accel}", type="q35", memory="6G", phys_bits=39, accel=a),
        case(f"physbits-34-q35-{accel}", type="q35", memory="6G", phys_bits=34, accel=a),
        case(f"physbits-kvm64-39-{accel}", cpu="kvm64", phys_bits=39, accel=a),
        case(f"physbits-host-48-{accel}", cpu="host", phys_bits=48, accel=a),
        case(f"physbits-pentium-36-{accel}", cpu="pentium", phys_bits=36, accel=a),
        case(f"physbits-qemu32-host-{accel}", cpu="qemu32", phys_bits="host", accel=a),
    )

# --- kernel-irqchip ---------------------------------------------------------------------------

for t in ("pc", "q35", "isapc"):
    for chip in ("on", "off", "split"):
        add(case(f"irqchip-{t}-{chip}-kvm", type=t, kernel_irqchip=chip, accel=KVM))
    add(case(f"irqchip-{t}-off-tcg", type=t, kernel_irqchip="off", accel=TCG))
add(case("irqchip-pc-split-smp4", type="pc", smp=4, kernel_irqchip="split", accel=KVM))

# --- memory hotplug (slots/maxmem) and the AMD 1 TiB relocation -------------------------------

for t in ("pc", "q35"):
    for bits in (39, 40, 48):
        add(
            case(
                f"hotplug-{t}-4G-maxmem-1T-pb{bits}",
                type=t,
                memory="4G",
                slots=4,
                maxmem="1T",
                phys_bits=bits,
                accel=KVM,
            )
        )
        add(
            case(
                f"hotplug-{t}-4G-maxmem-900G-pb{bits}",
                type=t,
                memory="4G",
                slots=4,
                maxmem="900G",
                phys_bits=bits,
                accel=KVM,
            )
        )
add(
    case("hotplug-pc-maxmem-1T-kvm64-pb40", memory="4G", slots=4, maxmem="1T", cpu="kvm64"),
    case(
        "hotplug-pc-maxmem-1T-kvm64-pb48",
        memory="4G",
        slots=4,
        maxmem="1T",
        cpu="kvm64",
        phys_bits=48,
    ),
    case(
        "hotplug-pc-7.0-maxmem-1T-pb48",
        type="pc-i440fx-7.0",
        memory="4G",
        slots=4,
        maxmem="1T",
        phys_bits=48,
    ),
    case("hotplug-pc-2.4-maxmem-1T", type="pc-i440fx-2.4", memory="4G", slots=4, maxmem="1T"),
    case("hotplug-pc-8G", memory="4G", slots=4, maxmem="8G", accel=KVM),
    case("hotplug-pc-8G-tcg", memory="4G", slots=4, maxmem="8G", accel=TCG),
    case("hotplug-q35-8G-tcg", type="q35", memory="4G", slots=4, maxmem="8G", accel=TCG),
    case("hotplug-pc-slots-256", memory="4G", slots=256, maxmem="8G", accel=KVM),
    case("hotplug-pc-slots-257", memory="4G", slots=257, maxmem="8G", accel=KVM),
    case("hotplug-pc-slots-only", memory="1G", slots=4, accel=KVM),
    case("hotplug-pc-maxmem-only", memory="1G", maxmem="8G", accel=KVM),
    case("hotplug-pc-maxmem-below-mem", memory="4G", slots=2, maxmem="2G", accel=KVM),
    case("hotplug-pc-maxmem-equal", memory="4G", slots=2, maxmem="4G", accel=KVM),
    case("hotplug-pc-slots-0", memory="1G", slots=0, maxmem="8G", accel=KVM),
    case("hotplug-pc-unaligned", memory="1G", slots=2, maxmem="8193M", accel=KVM),
    case("hotplug-isapc", type="isapc", memory="1G", slots=2, maxmem="2G", accel=KVM),
    case("hotplug-pc-1.7", type="pc-i440fx-1.7", memory="1G", slots=2, maxmem="4G", accel=TCG),
    case("hotplug-pc-32bit", memory="1G", slots=1, maxmem="70G", cpu="pentium", accel=TCG),
    case("hotplug-pc-qemu32", memory="1G", slots=1, maxmem="70G", cpu="qemu32", accel=TCG),
    case("hotplug-pc-pentium2", memory="1G", slots=1, maxmem="70G", cpu="pentium2", accel=TCG),
)

# --- SMM --------------------------------------------------------------------------------------

for t in ("pc", "q35", "isapc", "pc-i440fx-2.3", "pc-q35-4.0"):
    for smm in ("on", "off", "auto"):
        add(case(f"smm-{t}-{smm}-kvm", type=t, smm=smm, accel=KVM))
        add(case(f"smm-{t}-{smm}-tcg", type=t, smm=smm, accel=TCG))
add(case("smm-on-kvm-tcg", type="pc", smm="on", accel=["kvm", "tcg"]))

# --- accelerators, shadow MMU, kvm-type -------------------------------------------------------

add(
    case("accel-kvm-tcg", accel=["kvm", "tcg"]),
    case("accel-tcg-kvm", accel=["tcg", "kvm"]),
    case("shadow-256M", kvm_shadow_mem=268435456, accel=KVM),
    case("shadow-64K", kvm_shadow_mem=65536, accel=KVM),
    case("shadow-64K-fallback", kvm_shadow_mem=65536, accel=["kvm", "tcg"]),
    case("shadow-64K-fallback-6G", memory="6G", kvm_shadow_mem=65536, accel=["kvm", "tcg"]),
    case("shadow-64K-tcg", kvm_shadow_mem=65536, accel=TCG),
    case("kvm-type", kvm_type="x", accel=KVM),
    case("kvm-type-q35", type="q35", kvm_type="x", accel=KVM),
    case("kvm-type-isapc", type="isapc", kvm_type="x", accel=TCG),
    case("kvm-type-unknown-machine", type="pc-i440fx-11.0", kvm_type="x", accel=TCG),
)

# --- more edges: -m sizes, -smp arithmetic, CPU corners ---------------------------------------

for mem in ("1M", "1001K", "100M", "2047M", "5000M", "1.5G"):
    add(case(f"memory-{mem}", type="pc", memory=mem, accel=KVM))
add(case("memory-3.9G", type="pc", memory="3.9G"))
add(
    case("mrb-pc-4G-3.5G", type="pc", memory="4G", max_ram_below_4g="3.5G", accel=KVM),
    case("mrb-q35-4G-1.5G", type="q35", memory="4G", max_ram_below_4g="1.5G", accel=KVM),
    case("mrb-pc-1.4-1G-512K", type="pc-i440fx-1.4", memory="1G", max_ram_below_4g="512K"),
    case("mrb-pc-2.6-4G-4G", type="pc-i440fx-2.6", memory="4G", max_ram_below_4g="4G"),
    case("smp-prefer-sockets-6.1", type="pc-i440fx-6.1", smp=5, threads=2, accel=TCG),
    case("smp-prefer-cores-6.2", type="pc-i440fx-6.2", smp=5, threads=2, accel=TCG),
    case("smp-prefer-sockets-q35-6.1", type="pc-q35-6.1", smp=5, threads=2, accel=TCG),
    case("smp-isapc-prefer-cores", type="isapc", smp=5, threads=2, accel=TCG),
    case("smp-modules-6.1", type="pc-i440fx-6.1", smp=5, modules=2, accel=TCG),
    case("smp-sockets-div-zero", type="pc", smp=2, cores=4, accel=TCG),
    case("smp-threads-div-zero", type="pc", smp=2, sockets=2, cores=2, accel=TCG),
    case("smp-u32-wrap-product", type="pc", sockets=65536, cores=65536, accel=TCG),
    case("smp-u32-wrap-sigfpe", type="pc", smp=4, sockets=65536, cores=65536, accel=TCG),
    case("smp-maxcpus-lt-and-product", type="pc", smp=4, maxcpus=2, sockets=2, cores=2),
    case("smp-zero-and-mismatch", type="pc", smp=4, sockets=0, cores=3, accel=TCG),
    case("smp-zero-and-clusters", type="pc", smp=0, clusters=2, accel=TCG),
    case("smp-modules-1", type="pc", smp=2, modules=1, accel=TCG),
    case("smp-dies-modules", type="q35", smp=8, dies=2, modules=2, cores=2, accel=TCG),
    case(
        "smp-q35-2000-kvm-tcg",
        type="q35",
        smp=1,
        maxcpus=2000,
        kernel_irqchip="split",
        accel=["kvm", "tcg"],
    ),
    case(
        "smp-apic-gaps",
        type="q35",
        smp=1,
        maxcpus=514,
        sockets=2,
        cores=257,
        kernel_irqchip="split",
    ),
    case(
        "smp-apic-gaps-4x255",
        type="q35",
        smp=1,
        maxcpus=1020,
        sockets=4,
        cores=255,
        kernel_irqchip="split",
    ),
    case("cpu-max-physbits-39-kvm", cpu="max", phys_bits=39, accel=KVM),
    case("cpu-max-physbits-39-tcg", cpu="max", phys_bits=39, accel=TCG),
    case("cpu-host-physbits-39-kvm", cpu="host", phys_bits=39, accel=KVM),
    case("cpu-max-vendor-intel-tcg", cpu="max", vendor="GenuineIntel", accel=TCG),
    case("cpu-epyc-threads-2", cpu="EPYC", smp=2, threads=2, accel=TCG),
    case("cpu-epyc-threads-2-kvm", cpu="EPYC", smp=2, threads=2, accel=KVM),
    case("cpu-Dhyana-tcg", cpu="Dhyana", memory="6G", accel=TCG),
    case("cpu-base-tcg", cpu="base", memory="6G", accel=TCG),
    case("cpu-base-kvm", cpu="base", memory="6G", accel=KVM),
    case("cpu-athlon-tcg", cpu="athlon", memory="6G", accel=TCG),
    case("cpu-n270-tcg", cpu="n270", memory="6G", accel=TCG),
    case("cpu-vendor-amx", cpu="qemu64", vendor="AuthenticAMX", accel=TCG),
    case("cpu-kvm32-kvm", cpu="kvm32", memory="6G", accel=KVM),
    case("cpu-isapc-qemu64-irqchip-off", type="isapc", cpu="qemu64", kernel_irqchip="off"),
    case("cpu-physbits-32-6G-kvm", memory="6G", phys_bits=32, accel=KVM),
    case("cpu-physbits-32-6G-tcg", memory="6G", phys_bits=32, accel=TCG),
    case("cpu-physbits-0-tcg", phys_bits=0, accel=TCG),
    case("cpu-physbits-0-pentium", cpu="pentium", phys_bits=0, accel=TCG),
    case("cpu-physbits-60-pentium", cpu="pentium", phys_bits=60, accel=TCG),
    case("hotplug-maxmem-unaligned-byte", memory="1G", slots=2, maxmem=8589934593, accel=KVM),
    case("hotplug-maxmem-4K", memory="1G", slots=2, maxmem=8589938688, accel=KVM),
    case(
        "hotplug-vendor-intel-1T",
        memory="4G",
        slots=4,
        maxmem="1T",
        cpu="qemu64",
        vendor="GenuineIntel",
        phys_bits=48,
        accel=TCG,
    ),
    case(
        "hotplug-q35-8.1-32bit",
        type="pc-q35-8.1",
        memory="1G",
        slots=1,
        maxmem="70G",
        cpu="pentium",
        accel=TCG,
    ),
    case(
        "hotplug-q35-8.2-32bit",
        type="pc-q35-8.2",
        memory="1G",
        slots=1,
        maxmem="70G",
        cpu="pentium",
        accel=TCG,
    ),
    case("hotplug-isapc-486", type="isapc", memory="1G", accel=TCG),
    case("smm-on-irqchip-split", type="q35", smm="on", kernel_irqchip="split", accel=KVM),
    case("smm-off-irqchip-off", type="pc", smm="off", kernel_irqchip="off", accel=KVM),
    # message order: accelerator warnings, the deprecation warning, the board's
    case("order-deprecated-smp4-1.4", type="pc-i440fx-1.4", smp=4, accel=KVM),
    case("order-deprecated-smp4-2.4", type="pc-i440fx-2.4", smp=4, accel=KVM),
    case(
        "order-deprecated-fallback",
        type="pc-i440fx-2.4",
        kvm_shadow_mem=65536,
        accel=["kvm", "tcg"],
    ),
    case(
        "order-deprecated-mrb-warn",
        type="pc-q35-2.4",
        memory="4G",
        max_ram_below_4g="1536M",
        smp=3,
        accel=KVM,
    ),
    case(
        "order-deprecated-threads",
        type="pc-i440fx-1.7",
        smp=2,
        threads=2,
        memory="6G",
        max_ram_below_4g="2560M",
        accel=KVM,
    ),
    case("irqchip-off-q35-maxcpus-288", type="q35", smp=1, maxcpus=288, kernel_irqchip="off"),
    case("irqchip-off-pc-smp4", type="pc", smp=4, kernel_irqchip="off", accel=KVM),
    case("irqchip-split-isapc-smp2", type="isapc", smp=2, kernel_irqchip="split", accel=KVM),
)

_ids = [c.id for c in CASES]
assert len(_ids) == len(set(_ids)), "case ids must be unique"
