"""The guest CPU: which `-cpu` names exist, and the vendor and physical-address width
QEMU settles on for the model, per QEMU version.

Pure rules of plain values (the version, the machine file's keys, the accelerator, the
host's vendor and CPUID 0x80000008 width), tested without a host; a refusal raises
QemuExit with the key it comes from, a warning comes back as a Finding.

The machine file's keys stand for `-cpu CPU,vendor=VENDOR,phys-bits=N`, in that order
(`phys-bits = "host"` is `host-phys-bits=on`). QEMU applies the options in command-line
order, so the order decides which bad option is reported when two are bad.

Where QEMU hits each refusal (7.2/10.0): the name in parse_cpu_option(), before the board
(find_cpu_model); the rest in x86_cpus_init(), after pc_init1()'s RAM split warnings:
instance init (the model's vendor, KVM's host vendor), the options as global properties
(vendor, phys-bits as a uint32), then x86_cpu_realizefn(): the accelerator's realize
(KVM: host-phys-bits and the "Host physical bits" warning, LM only), `host` without
KVM, then the phys-bits rule. QEMU 2.6 (cpu_x86_create(), after the RAM split too):
name, `host` without KVM, then the options one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from kvminit.common.hints import close_matches
from kvminit.config.errors import Finding

from .cpu_models import CPU_MODELS, PAE_GIVES_36_BITS, CpuModel
from .errors import QemuExit
from .layout import DEFAULT_PHYS_BITS
from .messages import Text
from .qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu

# The messages, kept here next to their conditions (Text: the newest variant not newer).
# parse_cpu_option() (7.2 cpu.c:258/264, 10.0 cpu-target.c:56/62); 2.6 cpu_x86_create().
CPU_OPTION_EMPTY: Final = Text(
    (QEMU_2_6, "Invalid/empty CPU model name"),
    (QEMU_7_2, "-cpu option cannot be empty"),
)
UNKNOWN_CPU_MODEL: Final = Text(
    (QEMU_2_6, "Unable to find CPU definition: {name}"),
    (QEMU_7_2, "unable to find CPU model '{name}'"),
)
# 2.6 cpu_x86_create() (kvm_required); 7.2 cpu.c:6498, 10.0 cpu.c:8207 (x86_cpu_realizefn).
CPU_REQUIRES_KVM: Final = Text(
    (QEMU_2_6, "CPU model '{name}' requires KVM"),
    (QEMU_7_2, "CPU model '{name}' requires KVM or HVF"),
)
# x86_cpuid_set_vendor(): QERR_PROPERTY_VALUE_BAD with an empty object name, from 7.2
# through object_apply_global_props()'s "can't apply global"; 10.0 has its own words.
VENDOR_NOT_12_CHARS: Final = Text(
    (QEMU_2_6, "Property '.vendor' doesn't take value '{value}'"),
    (
        QEMU_7_2,
        "can't apply global {driver}.vendor={value}: "
        "Property '.vendor' doesn't take value '{value}'",
    ),
    (
        QEMU_10_0,
        "can't apply global {driver}.vendor={value}: "
        "value of property 'vendor' must consist of exactly 12 characters",
    ),
)
PHYS_BITS_NOT_UINT32: Final = (
    "can't apply global {driver}.phys-bits={value}: Parameter 'phys-bits' expects uint32_t"
)
# qom object_property_find() in 2.6, which has no phys-bits / host-phys-bits property.
PROPERTY_NOT_FOUND_2_6: Final = "Property '.{prop}' not found"
# host_cpu_adjust_phys_bits() (7.2 host-cpu.c:63, 10.0 host-cpu.c:54), once per process.
HOST_PHYS_BITS_MISMATCH: Final = (
    "warning: Host physical bits ({host}) does not match phys-bits property ({bits})"
)
# x86_cpu_realizefn (7.2 also host_cpu_realizefn), two spaces before the parenthesis.
PHYS_BITS_RANGE: Final = "phys-bits should be between 32 and {max}  (but is {bits})"
PHYS_BITS_32BIT: Final = "phys-bits is not user-configurable in 32 bit"

CPUID_VENDOR_SZ: Final = 12
TARGET_PHYS_ADDR_SPACE_BITS: Final = 52
UINT32_MAX: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class GuestCpu:
    model: str  # the name as given to -cpu
    vendor: str  # CPUID vendor string; "" for `base` (vendor words 0)
    phys_bits: int
    lm: bool  # long mode: the 64-bit phys-bits rule and address space
    apic: bool = True  # CPUID_APIC: every model but the 486 (I486_FEATURES) and `base`
    x2apic: bool = False  # as the accelerator leaves it (7.2's TCG filters it out)
    topoext: bool = False  # as the accelerator leaves it (TCG never has TOPOEXT)


def _features(version: Qemu, found: CpuModel, accel: str) -> dict[str, bool]:
    """The CPUID bits the board's rules read, after the accelerator filtered them."""
    tcg = accel != "kvm"
    return {
        "apic": found.model not in ("486", "base"),
        "x2apic": found.x2apic and not (tcg and not version.at_least(10, 0)),
        "topoext": found.topoext and not tcg,
    }


def _modelled(qemu: Qemu) -> Qemu:
    """The catalogue that answers for `qemu`: the newest modelled one not newer than it."""
    if qemu.at_least(10, 0):
        return QEMU_10_0
    if qemu.at_least(7, 2):
        return QEMU_7_2
    return QEMU_2_6


def cpu_model_names(qemu: Qemu) -> list[str]:
    """Every name `-cpu` accepts, in `-cpu help` order."""
    return list(CPU_MODELS[str(_modelled(qemu))])


def find_cpu_model(qemu: Qemu, name: str) -> CpuModel:
    """The model `-cpu NAME` selects: an exact, case-sensitive match."""
    version = _modelled(qemu)
    model = CPU_MODELS[str(version)].get(name)
    if model is None:
        names = CPU_MODELS[str(version)]
        same_but_case = [m for m in names if m.lower() == name.lower()]
        close = same_but_case or close_matches(name, names)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise QemuExit("3", UNKNOWN_CPU_MODEL(version, name=name), key="cpu", hint=hint)
    return model


def guest_cpu(
    qemu: Qemu,
    model: str,
    accel: str,
    vendor: str | None,
    phys_bits: int | str | None,
    host_vendor: str,
    host_phys_bits: int,
) -> tuple[GuestCpu, list[Finding]]:
    """x86_cpus_init() for `-cpu MODEL[,vendor=VENDOR][,phys-bits=N|,host-phys-bits=on]`."""
    cpu, findings = _guest_cpu(qemu, model, accel, vendor, phys_bits, host_vendor, host_phys_bits)
    return cpu, list(findings)


# A pure function of its arguments, every one of them in the key; a fleet asks the same
# few models on the same hosts. A refusal raises, and is not kept.
@lru_cache(maxsize=1024)
def _guest_cpu(
    qemu: Qemu,
    model: str,
    accel: str,
    vendor: str | None,
    phys_bits: int | str | None,
    host_vendor: str,
    host_phys_bits: int,
) -> tuple[GuestCpu, tuple[Finding, ...]]:
    version = _modelled(qemu)
    if model == "" and vendor is None and phys_bits is None:
        # Nothing at all after -cpu (an empty name before options is just unknown).
        raise QemuExit("3", CPU_OPTION_EMPTY(version), key="cpu")
    found = find_cpu_model(version, model)
    if not version.at_least(7, 2):
        return _guest_cpu_2_6(model, found, accel, vendor, phys_bits, host_vendor), ()

    driver = f"{model}-x86_64-cpu"  # the type the user named, alias or not
    # Instance init: the model's vendor; KVM's host_cpu_instance_init() replaces it for
    # every builtin model, and host_cpu_max_instance_init() for max and host. `base` has
    # no model and keeps its zero vendor words.
    cpu_vendor = host_vendor if accel == "kvm" and found.model != "base" else found.vendor
    # max/host under KVM turn host-phys-bits on (host_cpu_max_instance_init()).
    use_host_bits = phys_bits == "host" or (accel == "kvm" and found.model in ("max", "host"))

    # device_post_init(): the -cpu options, in command-line order; vendor= wins over KVM.
    if vendor is not None:
        if len(vendor.encode()) != CPUID_VENDOR_SZ:  # strlen()
            text = VENDOR_NOT_12_CHARS(version, driver=driver, value=vendor)
            raise QemuExit("3", text, key="vendor")
        cpu_vendor = vendor
    requested = phys_bits if isinstance(phys_bits, int) else 0
    if not 0 <= requested <= UINT32_MAX:
        text = PHYS_BITS_NOT_UINT32.format(driver=driver, value=requested)
        raise QemuExit("3", text, key="phys-bits")

    # x86_cpu_realizefn(). The accelerator's realize: only KVM's host_cpu_realizefn() looks
    # at phys-bits, and only for LM models (TCG ignores host-phys-bits).
    findings: list[Finding] = []
    bits = requested
    if accel == "kvm" and found.lm:
        if requested and requested != host_phys_bits:
            warning = HOST_PHYS_BITS_MISMATCH.format(host=host_phys_bits, bits=requested)
            findings.append(Finding(warning, "phys-bits"))
        if use_host_bits:
            bits = host_phys_bits
        # (7.2 range-checks here too, with the same text as below.)
    if found.model == "host" and accel != "kvm":
        raise QemuExit("3", CPU_REQUIRES_KVM(version, name=model), key="cpu")
    if found.lm:
        if bits and not 32 <= bits <= TARGET_PHYS_ADDR_SPACE_BITS:
            text = PHYS_BITS_RANGE.format(max=TARGET_PHYS_ADDR_SPACE_BITS, bits=bits)
            # The KVM warning, if any, was printed first: it stays a warning.
            raise QemuExit("3", text, key="phys-bits", warnings=findings)
        bits = bits or DEFAULT_PHYS_BITS  # TCG_PHYS_ADDR_BITS, under KVM too
    else:
        if requested:  # even 32 or 36; host-phys-bits is ignored silently
            raise QemuExit("3", PHYS_BITS_32BIT, key="phys-bits")
        bits = _phys_bits_32(version, found)
    assert cpu_vendor is not None, "host's vendor is set above under KVM; TCG refused it"
    features = _features(version, found, accel)
    return GuestCpu(model, cpu_vendor, bits, found.lm, **features), tuple(findings)


def _phys_bits_32(version: Qemu, found: CpuModel) -> int:
    """A model without LM: 36 bits with PSE36 (from 10.0: or PAE), else 32."""
    wide = found.pse36 or (found.pae and PAE_GIVES_36_BITS[str(version)])
    return 36 if wide else 32


def _guest_cpu_2_6(
    model: str,
    found: CpuModel,
    accel: str,
    vendor: str | None,
    phys_bits: int | str | None,
    host_vendor: str,
) -> GuestCpu:
    """cpu_x86_create(): kvm_required, x86_cpu_load_def(), then the feature string."""
    if found.model == "host" and accel != "kvm":
        raise QemuExit("3", CPU_REQUIRES_KVM(QEMU_2_6, name=model), key="cpu")
    # x86_cpu_load_def(): under KVM every model takes the host's vendor (host: its cpudef's).
    cpu_vendor = host_vendor if accel == "kvm" else found.vendor
    # x86_cpu_parse_featurestr(): object_property_parse() per option, the first error ends it.
    if vendor is not None:
        if len(vendor.encode()) != CPUID_VENDOR_SZ:
            raise QemuExit("3", VENDOR_NOT_12_CHARS(QEMU_2_6, value=vendor), key="vendor")
        cpu_vendor = vendor
    if phys_bits is not None:
        # Inferred, not run (no 2.6 binary here): 2.6 has no phys-bits / host-phys-bits
        # property (x86_cpu_properties, x86_cpu_initfn), so object_property_parse() fails in
        # object_property_find() with its 2.6 text, as for any unknown `key=value`.
        prop = "host-phys-bits" if phys_bits == "host" else "phys-bits"
        raise QemuExit("3", PROPERTY_NOT_FOUND_2_6.format(prop=prop), key="phys-bits")
    # No phys-bits property: the width is only what cpu_x86_cpuid() leaf 0x80000008 reports
    # (PAE does not count), and 2.6's board uses neither it nor the vendor.
    bits = DEFAULT_PHYS_BITS if found.lm else _phys_bits_32(QEMU_2_6, found)
    assert cpu_vendor is not None, "host is refused without KVM"
    return GuestCpu(model, cpu_vendor, bits, found.lm, **_features(QEMU_2_6, found, accel))
