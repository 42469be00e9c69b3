"""The machine description: defaults, units, every rule and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvminit.config import ConfigError, load_machine, parse_machine
from kvminit.config.loader import MAX_FILE_SIZE, key_lines
from kvminit.config.sizes import SizeError, format_size, parse_size
from kvminit.engine.machines import all_type_names, machine_class, type_names
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0

MACHINES = sorted(Path(__file__).parents[1].joinpath("machines").glob("*.toml"))


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_machine(text, "m.toml")
    return info.value


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.name)
def test_shipped_machines_are_valid(path: Path) -> None:
    m = load_machine(path)
    assert m.type
    assert path.read_text().startswith("#:schema ../schemas/machine.schema.json")


def test_defaults() -> None:
    # A key left out stays None: QEMU's default for the version and machine type, which
    # the engine settles (tests/test_engine.py, "defaults the engine settles").
    m = parse_machine('type = "pc"')
    assert m.normalised() == {
        "name": None,
        "description": None,
        "type": "pc",
        "memory": 128 << 20,
        "maxmem": None,
        "slots": None,
        "smp": None,
        "maxcpus": None,
        "sockets": None,
        "dies": None,
        "clusters": None,
        "modules": None,
        "cores": None,
        "threads": None,
        "kernel-irqchip": None,
        "smm": None,
        "kvm-shadow-mem": None,
        "kvm-type": None,
        "max-ram-below-4g": None,
        "cpu": None,
        "vendor": None,
        "phys-bits": None,
        "accel": ["kvm"],
    }


def test_isapc_leaves_the_cpu_to_the_machine() -> None:
    assert parse_machine('type = "isapc"').cpu is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1024", 1 << 30),  # a bare number counts MiB, as -m does
        ('"1G"', 1 << 30),
        ('"1.5G"', 3 << 29),
        ('"512m"', 512 << 20),
        ('"1K"', 8192),  # rounded up to 8 KiB
        ('"8193B"', 16384),
        ('"4096"', 4 << 30),  # a bare string too counts MiB
    ],
)
def test_memory_units(value: str, expected: int) -> None:
    assert parse_machine(f"memory = {value}").memory == expected


def test_other_sizes_count_bytes() -> None:
    m = parse_machine('kvm-shadow-mem = 65536\nmax-ram-below-4g = "2G"')
    assert m.kvm_shadow_mem == 65536
    assert m.max_ram_below_4g == 2 << 30


def test_maxcpus_is_left_to_the_engine() -> None:
    m = parse_machine("smp = 4")
    assert (m.smp, m.maxcpus) == (4, None)


@pytest.mark.parametrize(
    "key", ["smp", "maxcpus", "sockets", "dies", "clusters", "modules", "cores", "threads", "slots"]
)
def test_counts_take_zero(key: str) -> None:
    # What 0 means is QEMU's per-version rule (the engine's; tests/test_engine.py).
    assert getattr(parse_machine(f"{key} = 0"), key) == 0


def test_names_are_the_engines_to_check() -> None:
    # Any non-empty name is a description; which names a QEMU knows is the engine's check.
    m = parse_machine('type = "pc-i440fx-9.9"\ncpu = "pentium9"\nvendor = "x"\nphys-bits = 255')
    assert (m.type, m.cpu, m.vendor, m.phys_bits) == ("pc-i440fx-9.9", "pentium9", "x", 255)
    assert parse_machine('phys-bits = "host"').phys_bits == "host"
    assert parse_machine("smm = false").smm == "off"


def test_kernel_irqchip_booleans() -> None:
    assert parse_machine("kernel-irqchip = true").kernel_irqchip == "on"
    assert parse_machine("kernel-irqchip = false").kernel_irqchip == "off"


def test_accel_in_qemu_spelling() -> None:
    assert parse_machine('accel = "kvm:tcg"').accel == ["kvm", "tcg"]


@pytest.mark.parametrize("name", all_type_names())
def test_every_machine_type_is_accepted(name: str) -> None:
    assert parse_machine(f'type = "{name}"').type == name


def test_machine_type_names() -> None:
    # Which names exist is per QEMU version (the engine's catalogue, `kvminit machines`).
    names = {q: type_names(q) for q in (QEMU_2_6, QEMU_7_2, QEMU_10_0)}
    assert "pc-i440fx-1.4" in names[QEMU_7_2] and "pc-i440fx-1.4" not in names[QEMU_10_0]
    assert "pc-i440fx-1.3" not in names[QEMU_2_6] and "pc-1.3" in names[QEMU_2_6]
    assert all("pc-q35-2.4" in n and "pc-q35-2.3" not in n for n in names.values())
    assert "pc-q35-4.0.1" in names[QEMU_7_2] and "pc-q35-4.0.1" not in names[QEMU_2_6]
    assert [machine_class(q, "pc").name for q in names] == [
        "pc-i440fx-2.6",
        "pc-i440fx-7.2",
        "pc-i440fx-10.0",
    ]
    assert machine_class(QEMU_7_2, "q35").name == "pc-q35-7.2"
    q35 = machine_class(QEMU_7_2, "pc-q35-2.10")
    assert (q35.family, q35.version) == ("q35", (2, 10))
    assert machine_class(QEMU_10_0, "pc-q35-4.0.1").version == (4, 0, 1)
    isapc = machine_class(QEMU_10_0, "isapc")
    assert (isapc.family, isapc.version) == ("isapc", None)


@pytest.mark.parametrize(
    ("text", "key", "line", "fragment"),
    [
        ("smp = -2", "smp", 1, "must not be negative"),
        ('smp = "4"', "smp", 1, "must be an integer"),
        ("smp = true", "smp", 1, "must be an integer"),
        ("smp = 2147483648", "smp", 1, "is too large (at most 2147483647)"),
        ("maxcpus = -1", "maxcpus", 1, "must not be negative"),
        ("cores = -1", "cores", 1, "must not be negative"),
        ("slots = -1", "slots", 1, "must not be negative"),
        ('maxmem = "x"', "maxmem", 1, "is not a size"),
        ("memory = 0", "memory", 1, "greater than 0"),
        ('memory = "-1G"', "memory", 1, "is not a size"),
        ('memory = "1X"', "memory", 1, "is not a size"),
        ("memory = [1]", "memory", 1, "must be an integer or a size string"),
        ('memory = "1.5B"', "memory", 1, "has a fraction but no K/M/G/T/P/E suffix"),
        ('memory = "20E"', "memory", 1, "too large"),
        ("kvm-shadow-mem = 0", "kvm-shadow-mem", 1, "greater than 0"),
        (
            'max-ram-below-4g = "5G"',
            "max-ram-below-4g",
            1,
            "Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G",
        ),
        ('kernel-irqchip = "maybe"', "kernel-irqchip", 1, '"on", "off" or "split"'),
        ('accel = ["kvm", "hvf"]', "accel", 1, "unknown accelerator 'hvf'; allowed: kvm, tcg"),
        ("accel = []", "accel", 1, "at least one accelerator"),
        ('accel = ["kvm", "kvm"]', "accel", 1, "twice"),
        ('type = ""', "type", 1, "must be a string naming a machine type"),
        ("type = 35", "type", 1, "must be a string naming a machine type"),
        ("cpu = 1", "cpu", 1, "must be a string naming a CPU model"),
        ("vendor = 3", "vendor", 1, "must be a string"),
        (
            "phys-bits = 4294967296",
            "phys-bits",
            1,
            "must be between 0 and 4294967295 (QEMU takes 32 to 52)",
        ),
        ("phys-bits = -1", "phys-bits", 1, "must be between 0 and 4294967295"),
        ('phys-bits = "max"', "phys-bits", 1, 'must be an integer number of bits or "host"'),
        ('smm = "maybe"', "smm", 1, '"on", "off" or "auto"'),
        ("name = 3", "name", 1, "must be a string"),
        ('kernal-irqchip = "on"', "kernal-irqchip", 1, "did you mean 'kernel-irqchip'?"),
        ('kvm_shadow_mem = "1M"', "kvm_shadow_mem", 1, "did you mean 'kvm-shadow-mem'?"),
        ("[extra]\nfoo = 1", "extra", 1, "unknown key; allowed keys: name, description, type"),
    ],
)
def test_rules(text: str, key: str, line: int, fragment: str) -> None:
    error = error_of("# a machine\n" + text)
    problem = error.problems[0]
    assert problem.key == key
    assert problem.line == line + 1
    assert fragment in problem.message
    assert str(error).startswith(f"m.toml:{line + 1}: {key}: ")


def test_every_problem_is_reported_at_once() -> None:
    error = error_of("smp = -1\nmemory = 0\ncpu = 1")
    assert [p.key for p in error.problems] == ["memory", "smp", "cpu"]


def test_given_value_is_shown() -> None:
    assert str(error_of("smp = -2")) == "m.toml:1: smp: must not be negative (got -2)"
    assert '(got "yes")' in str(error_of('kernel-irqchip = "yes"'))
    assert "(got 1)" in str(error_of("cpu = 1"))


def test_toml_syntax_error_has_its_line() -> None:
    error = error_of('type = "pc"\nsmp = \nmemory = 1')
    assert error.problems[0].line == 2
    assert "TOML syntax error" in str(error)
    assert str(error).startswith("m.toml:2: ")


def test_empty_document() -> None:
    assert "empty machine description" in str(error_of("# only a comment\n"))


def test_key_lines_skip_multiline_strings() -> None:
    text = 'description = """\nsmp = 9\n"""\nsmp = 2\n"maxcpus" = 3\n'
    assert key_lines(text) == {"description": 1, "smp": 4, "maxcpus": 5}


# --- files --------------------------------------------------------------------------


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_machine(path)
    return str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    assert load_error(tmp_path / "nope.toml") == f"{tmp_path / 'nope.toml'}: no such file"


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in load_error(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'type = "pc"\nname = "caf\xe9"\n')
    assert load_error(p) == f"{p}:2: is not UTF-8 text (byte 0xe9 at offset 23)"


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.toml"
    p.write_bytes(b"  \n")
    assert "is empty" in load_error(p)


def test_huge_file(tmp_path: Path) -> None:
    p = tmp_path / "huge.toml"
    p.write_bytes(b"#" * (MAX_FILE_SIZE + 1))
    assert "larger than 1 MiB" in load_error(p)


def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "fifo-as-dir" / "x.toml"
    p.parent.write_text("not a directory")
    assert "cannot read" in load_error(p)


# --- sizes --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, 1.5, None, [], "", "G", "1GG", "0", 0, -1])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(SizeError):
        parse_size(value, bare_unit=1)


def test_format_size() -> None:
    assert format_size(1 << 30) == "1G"
    assert format_size(1536 << 20) == "1536M"
    assert format_size(4097) == "4097"
