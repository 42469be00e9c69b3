"""`from-qemu`: a QEMU command line read as the selected QEMU version reads it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvminit.cli import main
from kvminit.config import ConfigError, MachineConfig, parse_machine
from kvminit.engine import run
from kvminit.engine.machines import all_type_names
from kvminit.engine.qemu import MODELLED, QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.engine.qemuline import qemu_args
from kvminit.fromqemu import QemuArgsError, from_qemu, qemu_strtosz
from kvminit.kvm.profiles import builtin_profile, profile_host

SIZE_HINT = (
    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
    "and exabytes, respectively."
)


def keys(*argv: str, qemu: Qemu = QEMU_10_0) -> dict[str, object]:
    return from_qemu(["qemu-system-x86_64", *argv], qemu).keys


def refusal(*argv: str, qemu: Qemu = QEMU_10_0) -> str:
    with pytest.raises(QemuArgsError) as e:
        from_qemu(["qemu-system-x86_64", *argv], qemu)
    return str(e.value)


# --- accelerators --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "qemu", "accel"),
    [
        ("qemu-system-x86_64", QEMU_10_0, ["tcg", "kvm"]),
        ("/usr/bin/qemu-kvm", QEMU_10_0, ["kvm", "tcg"]),
        ("/usr/libexec/qemu-kvm", QEMU_7_2, ["kvm", "tcg"]),
        ("kvm", QEMU_7_2, ["kvm", "tcg"]),
        ("qemu-kvm-wrapper", QEMU_7_2, ["tcg", "kvm"]),
        ("qemu-system-x86_64", QEMU_2_6, ["tcg"]),  # 2.6: "Use the default accelerator, tcg"
    ],
)
def test_default_accelerator_follows_the_program_name(
    program: str, qemu: Qemu, accel: list[str]
) -> None:
    got = from_qemu([program, "-m", "1G"], qemu)
    assert got.keys["accel"] == accel
    assert got.notes and got.notes[0].startswith("no accelerator named")


def test_only_options_means_qemu_system_x86_64() -> None:
    assert from_qemu(["-m", "1G"], QEMU_10_0).keys["accel"] == ["tcg", "kvm"]


@pytest.mark.parametrize(
    ("argv", "accel"),
    [
        (["-enable-kvm"], ["kvm"]),
        (["-machine", "pc,accel=kvm:tcg"], ["kvm", "tcg"]),
        (["-machine", "accel=tcg", "-machine", "accel=kvm"], ["kvm"]),  # the last one wins
        (["-accel", "kvm", "-accel", "tcg,thread=single"], ["kvm", "tcg"]),
        (["-accel", "accel=tcg"], ["tcg"]),
        (["--accel", "kvm", "--accel", "kvm"], ["kvm"]),
    ],
)
def test_accelerator_spellings(argv: list[str], accel: list[str]) -> None:
    assert keys(*argv)["accel"] == accel


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_accel_and_machine_accel_are_incompatible(qemu: Qemu) -> None:
    # vl.c configure_accelerators(); -enable-kvm is `-machine accel=kvm`.
    message = 'The -accel and "-machine accel=" options are incompatible'
    assert refusal("-accel", "kvm", "-enable-kvm", qemu=qemu) == message
    assert refusal("-machine", "pc,accel=kvm", "-accel", "tcg", qemu=qemu) == message


def test_accelerators_outside_the_model_are_refused_at_the_option() -> None:
    assert refusal("-accel", "xen").startswith("-accel xen: accelerator 'xen' is not modelled")


def test_accelerators_linux_has_not_are_skipped_as_qemu_does() -> None:
    # Confirmed on 7.2 and 10.0 (libvirt's hvf-x86_64-q35-headless line).
    assert refusal("-accel", "hvf") == "-accel hvf: invalid accelerator hvf"
    got = from_qemu(["-accel", "whpx", "-accel", "tcg"])
    assert got.keys["accel"] == ["tcg"]
    assert got.notes == [
        "-accel whpx: invalid accelerator whpx",
        "falling back to tcg (if it initialises)",
    ]
    assert from_qemu(["-machine", "pc,accel=hvf:kvm"]).notes[0] == "invalid accelerator hvf"


# --- -machine ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "pc,kernel_irqchip=split,kvm_shadow_mem=1048576,max_ram_below_4g=2G",
        "pc,kernel-irqchip=split,kvm-shadow-mem=1048576,max-ram-below-4g=2G",
        "type=pc,kernel-irqchip=split,kvm_shadow_mem=1048576,max-ram-below-4g=2147483648",
    ],
)
def test_both_spellings_of_machine_properties(spelling: str) -> None:
    got = keys("-machine", spelling, "-accel", "kvm")
    assert got == {
        "type": "pc",
        "max-ram-below-4g": 2 << 30,
        "accel": ["kvm"],
        "kernel-irqchip": "split",
        "kvm-shadow-mem": "1M",
    }


def test_accel_properties_win_over_machine_ones() -> None:
    got = keys("-machine", "q35,kernel_irqchip=on", "-accel", "kvm,kernel-irqchip=off")
    assert got["kernel-irqchip"] == "off"


@pytest.mark.parametrize("value", ["on", "off", "split"])
def test_kernel_irqchip_values(value: str) -> None:
    assert keys("-machine", f"pc,kernel-irqchip={value}")["kernel-irqchip"] == value


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_machine_accelerator_properties_apply_when_kvm_is_made(qemu: Qemu) -> None:
    # -machine kernel-irqchip/kvm-shadow-mem are globals of the kvm accelerator object:
    # checked (QAPI OnOffSplit, case-sensitive; an int64) only when kvm is tried first.
    assert refusal("-machine", "pc,kernel-irqchip=true", "-accel", "kvm", qemu=qemu) == (
        "-accel kvm: can't apply global kvm-accel.kernel-irqchip=true: "
        "Parameter 'kernel-irqchip' does not accept value 'true'"
    )
    assert refusal("-machine", "pc,kvm-shadow-mem=256M,accel=kvm", qemu=qemu) == (
        "can't apply global kvm-accel.kvm-shadow-mem=256M: Parameter 'kvm-shadow-mem' expects int64"
    )
    got = from_qemu(["-machine", "pc,kernel-irqchip=maybe", "-accel", "tcg"], qemu)
    assert "kernel-irqchip" not in got.keys and "never applied" in got.notes[-1]
    assert keys("-machine", "pc,kernel-irqchip=ON", qemu=QEMU_2_6)["kernel-irqchip"] == "on"


def test_accelerator_properties_belong_to_their_accelerator() -> None:
    assert refusal("-accel", "tcg,kernel-irqchip=on") == (
        "-accel tcg,kernel-irqchip=on: Property 'tcg-accel.kernel-irqchip' not found"
    )
    # tcg after kvm is made only if kvm fails: named as something that may matter.
    got = from_qemu(["-accel", "kvm", "-accel", "tcg,kernel-irqchip=on"])
    assert got.may_affect[0].option == "-accel tcg,kernel-irqchip=on"
    # -accel is QemuOpts: a bare key is on, with QEMU's deprecation warning.
    got = from_qemu(["-accel", "kvm,kernel-irqchip"], QEMU_10_0)
    assert got.keys["kernel-irqchip"] == "on"
    assert got.notes[0] == (
        "-accel kvm,kernel-irqchip: warning: short-form boolean option 'kernel-irqchip' "
        "deprecated\nPlease use kernel-irqchip=on instead"
    )


def test_two_spellings_of_one_machine_key_conflict() -> None:
    assert refusal("-machine", "pc,kernel_irqchip=on,kernel-irqchip=off") == (
        "Conflict between 'kernel_irqchip' and 'kernel-irqchip'"
    )
    assert (
        keys("-machine", "pc,kernel_irqchip=on", "-machine", "kernel_irqchip=off")["kernel-irqchip"]
        == "off"
    )


def test_cpu_properties_are_checked_when_the_cpu_is_made() -> None:
    assert refusal("-cpu", "qemu64,phys-bits=abc") == (
        "can't apply global qemu64-x86_64-cpu.phys-bits=abc: Parameter 'phys-bits' expects uint64"
    )
    assert refusal("-cpu", "qemu64,phys-bits=-1") == (
        "can't apply global qemu64-x86_64-cpu.phys-bits=-1: Parameter 'phys-bits' expects uint32_t"
    )
    assert keys("-cpu", "qemu64,phys-bits=300")["phys-bits"] == 300  # the engine's range check
    assert refusal("-cpu", "qemu64,host-phys-bits=maybe") == (
        "can't apply global qemu64-x86_64-cpu.host-phys-bits=maybe: "
        "Parameter 'host-phys-bits' expects 'on' or 'off'"
    )
    # An unknown model is refused first, by the engine, as QEMU does.
    assert keys("-cpu", "nosuch,phys-bits=abc")["cpu"] == "nosuch"


def test_bad_machine_property_values_get_qemus_words() -> None:
    assert refusal("-machine", "pc,smm=yes") == "Parameter 'smm' does not accept value 'yes'"
    assert refusal("-machine", "pc,smm=yes", qemu=QEMU_2_6) == "Invalid parameter 'yes'"
    assert refusal("-machine", "pc,max-ram-below-4g=lots") == (
        "Parameter 'max-ram-below-4g' expects size"
    )
    assert refusal("-accel", "kvm,kernel-irqchip=maybe") == (
        "-accel kvm,kernel-irqchip=maybe: Parameter 'kernel-irqchip' does not accept value 'maybe'"
    )


def test_a_bare_machine_property() -> None:
    # 7.2+ keyval wants "=", 2.6 QemuOpts reads `smm` as on and `nosmm` as off.
    assert refusal("-machine", "pc,smm") == "-machine pc,smm: Expected '=' after parameter 'smm'"
    assert keys("-machine", "pc,smm", qemu=QEMU_2_6)["smm"] == "on"
    assert keys("-machine", "pc,nosmm", qemu=QEMU_2_6)["smm"] == "off"


def test_machine_properties_are_sorted_by_what_they_can_change() -> None:
    got = from_qemu(
        ["-machine", "pc,usb=off,dump-guest-core=off,acpi=off,memory-backend=pc.ram,bogus=1"]
    )
    assert [left.option for left in got.may_affect] == [
        "-machine acpi=off",
        "-machine memory-backend=pc.ram",
        "-machine bogus=1",
    ]
    assert [left.option for left in got.no_effect] == [
        "-machine usb=off",
        "-machine dump-guest-core=off",
    ]


# --- -m ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "memory"),
    [
        ("1024", "1G"),  # a bare number counts MiB
        ("size=2048", "2G"),
        ("4194304k", "4G"),
        ("1.5G", "1536M"),
        ("1000001k", "1000001K"),  # the engine rounds to 8 KiB, as QEMU's setter does
    ],
)
def test_memory_sizes(value: str, memory: str) -> None:
    assert keys("-m", value)["memory"] == memory


def test_memory_lists_merge_and_maxmem_is_bytes() -> None:
    got = keys("-m", "1G,slots=2", "-m", "maxmem=2147483648")
    assert (got["memory"], got["slots"], got["maxmem"]) == ("1G", 2, "2G")
    assert keys("-m", "1G,slots=0x10,maxmem=4G")["slots"] == 16


def test_memory_zero_is_the_default() -> None:
    got = from_qemu(["-m", "0"])
    assert "memory" not in got.keys
    assert got.notes[-1] == "-m 0: a size of 0 means the machine's default"


def test_memory_in_hex() -> None:
    # 7.2 appends M to a bare number and warns about the suffix; 10.0 refuses it.
    got = from_qemu(["-m", "0x400"], QEMU_7_2)
    assert got.keys["memory"] == "1G"
    assert "warning: Using a multiplier suffix on hex numbers is deprecated: 0x400M" in got.notes
    assert refusal("-m", "0x400") == "Parameter 'memory.size' expects size"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "foo"], "-m foo: Parameter 'size' expects a non-negative number below 2^64\n"),
        (["-m", "1.5"], "-m 1.5: Parameter 'size' expects a non-negative number below 2^64\n"),
        (["-m", "16E"], "-m 16E: Value '16E' is out of range for parameter 'size'"),
        (["-m", "1G,bogus=1"], "-m 1G,bogus=1: Invalid parameter 'bogus'"),
        (["-m", "1G,slots=x,maxmem=2G"], "-m 1G,slots=x,maxmem=2G: Parameter 'slots' expects"),
        (["-m", "size="], "-m size=: Parameter 'size' expects a non-negative number below"),
        (["-m"], "-m: requires an argument"),
        (["-m", "1G,maxmem=2Q"], "-m 1G,maxmem=2Q: Parameter 'maxmem' expects a non-negative"),
    ],
)
def test_memory_refusals_name_the_option(argv: list[str], message: str) -> None:
    assert refusal(*argv).startswith(message)


def test_size_hint_lines_follow_qemu() -> None:
    assert refusal("-m", "foo").endswith(SIZE_HINT)
    assert refusal("-m", "foo", qemu=QEMU_2_6) == "-m foo: Parameter 'size' expects a size"


@pytest.mark.parametrize(
    ("text", "qemu", "value"),
    [
        ("1G", QEMU_10_0, 1 << 30),
        ("1g", QEMU_10_0, 1 << 30),
        ("512", QEMU_10_0, 512),
        ("0x10", QEMU_10_0, 16),
        ("0x10M", QEMU_7_2, 16 << 20),
        ("1.5k", QEMU_10_0, 1536),
    ],
)
def test_qemu_strtosz(text: str, qemu: Qemu, value: int) -> None:
    assert qemu_strtosz(text, qemu)[0] == value


# --- -smp ----------------------------------------------------------------------------------


def test_smp_in_full() -> None:
    got = keys("-smp", "cpus=8,maxcpus=16,sockets=2,dies=2,modules=1,cores=2,threads=2")
    assert {k: got[k] for k in ("smp", "maxcpus", "sockets", "dies", "modules")} == {
        "smp": 8,
        "maxcpus": 16,
        "sockets": 2,
        "dies": 2,
        "modules": 1,
    }
    assert keys("-smp", "4,clusters=1")["clusters"] == 1


def test_smp_levels_pc_does_not_have() -> None:
    assert "books" not in keys("-smp", "4,books=1,drawers=1")
    assert refusal("-smp", "4,books=2") == "books > 1 not supported by this machine's CPU topology"
    assert refusal("-smp", "4,books=1", qemu=QEMU_7_2) == "Parameter 'smp.books' is unexpected"
    assert refusal("-smp", "4,drawers=1", qemu=QEMU_2_6) == (
        "-smp 4,drawers=1: Invalid parameter 'drawers'"
    )


def test_smp_refusals() -> None:
    assert refusal("-smp", "four") == "Parameter 'smp.cpus' expects integer"
    assert refusal("-smp", "four", qemu=QEMU_2_6) == "-smp four: Parameter 'cpus' expects a number"
    assert refusal("-m", "size=", qemu=QEMU_2_6) == "-m size=: missing 'size' option value"
    assert refusal("-smp", "4,bogus=1") == "-smp 4,bogus=1: Invalid parameter 'bogus'"


# --- -cpu ----------------------------------------------------------------------------------


def test_cpu_keeps_vendor_and_phys_bits() -> None:
    got = from_qemu(["-cpu", "EPYC-Rome,vendor=GenuineIntel,phys-bits=42,+ssse3,-vmx,l3-cache=on"])
    assert {k: got.keys[k] for k in ("cpu", "vendor", "phys-bits")} == {
        "cpu": "EPYC-Rome",
        "vendor": "GenuineIntel",
        "phys-bits": 42,
    }
    assert got.dropped_cpu_features == ["+ssse3", "-vmx", "l3-cache=on"]
    assert got.may_affect == []


def test_host_phys_bits_wins_over_phys_bits() -> None:
    assert keys("-cpu", "qemu64,phys-bits=40,host-phys-bits=on")["phys-bits"] == "host"
    assert keys("-cpu", "qemu64,phys-bits=40,host-phys-bits=off")["phys-bits"] == 40


def test_cpu_features_that_can_change_the_result_are_named() -> None:
    got = from_qemu(["-cpu", "Skylake-Client,-x2apic,hv-relaxed,hv_vapic,+avx"])
    assert [left.option for left in got.may_affect] == [
        "-cpu Skylake-Client,-x2apic,hv-relaxed,hv_vapic"
    ]
    assert got.dropped_cpu_features == ["+avx"]


def test_a_later_cpu_option_replaces_the_first() -> None:
    got = keys("-cpu", "qemu64,vendor=AuthenticAMD", "-cpu", "kvm64")
    assert got["cpu"] == "kvm64" and "vendor" not in got


# --- the rest of the command line ----------------------------------------------------------


def test_options_that_cannot_change_the_result_are_summarised() -> None:
    got = from_qemu(
        [
            "/usr/bin/qemu-system-x86_64",
            "-name",
            "guest=a",
            "-S",
            "-machine",
            "pc,accel=kvm",
            "-drive",
            "file=a.img,if=none,id=d",
            "-device",
            "virtio-blk,drive=d",
            "-device",
            "e1000",
            "-netdev",
            "user,id=n",
            "-chardev",
            "pty,id=c",
            "-nographic",
            "-global",
            "PIIX4_PM.disable_s3=1",
            "-numa",
            "node,nodeid=0,cpus=0,mem=128",
            "a.img",
        ]
    )
    assert [left.option for left in got.may_affect] == ["-numa node,nodeid=0,cpus=0,mem=128"]
    assert got.summary() == (
        "left out 10 options that cannot change the result "
        "(3 devices, 2 other, 2 drives, 1 netdevs, 1 chardevs, 1 display)"
    )


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_options_the_version_does_not_have_are_invalid(qemu: Qemu) -> None:
    assert refusal("-bogus", qemu=qemu) == "-bogus: invalid option"
    if qemu == QEMU_10_0:
        assert refusal("-no-acpi", qemu=qemu) == "-no-acpi: invalid option"
    else:
        assert from_qemu(["-no-acpi"], qemu).may_affect[0].option == "-no-acpi"


def test_an_option_value_may_start_with_a_dash() -> None:
    got = from_qemu(["-name", "-odd-", "-m", "1G"])
    assert got.keys["memory"] == "1G"
    assert [left.option for left in got.no_effect] == ["-name -odd-"]


# --- the converted machine -----------------------------------------------------------------


def test_converted_findings_point_at_the_option() -> None:
    converted = from_qemu(["-machine", "pc", "-accel", "kvm", "-m", "4G,maxmem=2G"], QEMU_10_0)
    result = run(
        converted.machine(), profile_host(builtin_profile("amd-epyc-linux-6.18")), qemu=QEMU_10_0
    )
    assert result.error is not None
    assert result.error.option == "-m 4G,maxmem=2G"
    assert result.error.finding.located("command line") == (
        "command line: -m 4G,maxmem=2G: invalid value of maxmem: maximum memory size "
        "(0x80000000) must be at least the initial memory size (0x100000000)"
    )


def test_converted_description_errors_point_at_the_option() -> None:
    converted = from_qemu(["-cpu", ",vendor=AuthenticAMD"])
    with pytest.raises(ConfigError) as e:
        converted.machine()
    assert str(e.value).startswith("command line: -cpu ,vendor=AuthenticAMD: must be a string")


def test_toml_says_where_each_key_came_from() -> None:
    converted = from_qemu(["qemu-kvm", "-m", "2G", "-numa", "node"])
    text = converted.toml()
    assert 'memory = "2G"  # -m 2G' in text
    assert "# Not modelled, may change the result: -numa node" in text
    assert parse_machine(text).memory == 2 << 30


machines = st.builds(
    lambda t, mem, hot, smp, extra, topo, irq, shadow, low, cpu, vendor, bits, smm, accel: {
        "type": t,
        "memory": f"{mem * 8}K",
        **({"slots": hot[0], "maxmem": f"{mem * 8 + hot[1]}K"} if hot else {}),
        "smp": smp,
        "maxcpus": smp + extra,
        **topo,
        "kernel-irqchip": irq,
        "cpu": cpu,
        "accel": accel,
        **({"kvm-shadow-mem": shadow} if shadow else {}),
        **({"max-ram-below-4g": low} if low else {}),
        **({"vendor": vendor} if vendor else {}),
        **({"phys-bits": bits} if bits is not None else {}),
        **({"smm": smm} if smm else {}),
    },
    st.sampled_from(all_type_names()),
    st.integers(1, 2**30),
    st.one_of(st.none(), st.tuples(st.integers(0, 300), st.integers(0, 2**30))),
    st.integers(1, 8),
    st.integers(0, 8),
    st.fixed_dictionaries(
        {},
        optional={k: st.integers(1, 4) for k in ("sockets", "dies", "cores", "threads")},
    ),
    st.sampled_from(["on", "off", "split"]),
    st.one_of(st.none(), st.integers(1, 2**40)),
    st.one_of(st.none(), st.integers(1, 2**32)),
    st.sampled_from(["qemu64", "kvm64", "host", "486", "EPYC-Rome", "Haswell-noTSX"]),
    st.sampled_from([None, "AuthenticAMD", "GenuineIntel"]),
    st.one_of(st.none(), st.integers(32, 52), st.just("host")),
    st.sampled_from([None, "on", "off", "auto"]),
    st.sampled_from([["kvm"], ["tcg"], ["kvm", "tcg"], ["tcg", "kvm"]]),
)


@settings(max_examples=300, deadline=None, derandomize=os.environ.get("CI") == "true")
@given(machines, st.sampled_from(MODELLED))
def test_from_qemu_of_qemu_args_is_the_same_machine(data: dict[str, object], qemu: Qemu) -> None:
    # Whatever kvminit writes for a version, that version's reading gives it back.
    if qemu in (QEMU_7_2, QEMU_2_6):
        data.pop("modules", None)
    m = MachineConfig.model_validate(data)
    back = from_qemu(qemu_args(m, qemu), qemu)
    assert back.may_affect == [] and back.no_effect == [] and back.dropped_cpu_features == []
    again = parse_machine(back.toml())
    assert again.normalised() | {"name": None, "description": None} == m.normalised()


# --- the command ---------------------------------------------------------------------------


def test_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "m.toml"
    argv = ["from-qemu", "-o", str(out), "--", "-machine", "q35", "-m", "2048", "-nographic"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "kvminit: from-qemu: left out 1 option that cannot change the result (1 display); "
        "--verbose lists them"
    )
    assert parse_machine(out.read_text()).memory == 2 << 30
    assert main([*argv[:1], "--verbose", *argv[1:]]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "kvminit: from-qemu: left out: -nographic"
    assert main(["from-qemu", "--"]) == 2


def test_cli_refusal_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "m.toml"
    assert main(["from-qemu", "-o", str(out), "--", "-m", "foo"]) == 1
    assert capsys.readouterr().err.startswith("kvminit: -m foo: Parameter 'size' expects")
    assert not out.exists()


def test_cli_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "m.toml"
    base = ["from-qemu", "--check", "--host", "amd-epyc-linux-6.18", "-o", str(out), "--"]
    assert main([*base, "-machine", "pc", "-accel", "kvm", "-m", "1G"]) == 0
    code = main([*base, "-machine", "q35", "-accel", "kvm", "-m", "4G,slots=4,maxmem=1T"])
    err = capsys.readouterr().err
    assert code == 1
    assert "kvminit: -m 4G,slots=4,maxmem=1T: Address space limit 0xffffffffff < " in err
    code = main([*base, "-machine", "pc-i440fx-9.1", "-accel", "kvm", "--qemu", "7.2"])
    assert code == 1  # after "--" it is QEMU's option, and QEMU has none
    assert capsys.readouterr().err.endswith("kvminit: --qemu: invalid option\n")
    argv = ["from-qemu", "--qemu", "7.2", "--check", "--host", "amd-epyc-linux-6.18"]
    assert main([*argv, "--", "-machine", "pc-i440fx-9.1", "-accel", "kvm"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[-3:] == [
        "kvminit: -machine pc-i440fx-9.1: unsupported machine type",
        "kvminit: Use -machine help to list supported machines",
        "kvminit: did you mean 'pc-i440fx-7.2'?",
    ]
