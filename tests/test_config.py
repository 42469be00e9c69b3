"""The machine description: defaults, units, every rule and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvminit.config import ConfigError, load_machine, parse_machine
from kvminit.config.loader import MAX_FILE_SIZE, key_lines
from kvminit.config.machine_types import MACHINE_TYPES, canonical, split
from kvminit.config.sizes import SizeError, format_size, parse_size

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
    m = parse_machine('type = "pc"')
    assert m.normalised() == {
        "name": None,
        "description": None,
        "type": "pc",
        "memory": 128 << 20,
        "smp": 1,
        "maxcpus": 1,
        "kernel-irqchip": "on",
        "kvm-shadow-mem": None,
        "kvm-type": None,
        "max-ram-below-4g": None,
        "cpu": "qemu64",
        "phys-bits": None,
        "accel": ["kvm"],
    }


def test_isapc_defaults_to_the_486() -> None:
    assert parse_machine('type = "isapc"').cpu == "486"


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


def test_maxcpus_defaults_to_smp() -> None:
    assert parse_machine("smp = 4").maxcpus == 4


def test_kernel_irqchip_booleans() -> None:
    assert parse_machine("kernel-irqchip = true").kernel_irqchip == "on"
    assert parse_machine("kernel-irqchip = false").kernel_irqchip == "off"


def test_accel_in_qemu_spelling() -> None:
    assert parse_machine('accel = "kvm:tcg"').accel == ["kvm", "tcg"]


@pytest.mark.parametrize("name", MACHINE_TYPES)
def test_every_machine_type_is_accepted(name: str) -> None:
    assert parse_machine(f'type = "{name}"').type == name


def test_machine_type_names() -> None:
    assert "pc-i440fx-1.4" in MACHINE_TYPES and "pc-i440fx-1.3" not in MACHINE_TYPES
    assert "pc-q35-2.4" in MACHINE_TYPES and "pc-q35-2.3" not in MACHINE_TYPES
    assert canonical("pc") == "pc-i440fx-7.2" and canonical("q35") == "pc-q35-7.2"
    assert split("pc-q35-2.10") == ("q35", (2, 10))
    assert split("isapc") == ("isapc", None)


@pytest.mark.parametrize(
    ("text", "key", "line", "fragment"),
    [
        ("smp = 0", "smp", 1, "must be at least 1"),
        ("smp = -2", "smp", 1, "must be at least 1"),
        ('smp = "4"', "smp", 1, "must be an integer"),
        ("smp = true", "smp", 1, "must be an integer"),
        ("smp = 4\nmaxcpus = 2", "maxcpus", 2, "maxcpus must be equal to or greater than smp"),
        ("maxcpus = 0", "maxcpus", 1, "must be at least 1"),
        ("memory = 0", "memory", 1, "greater than 0"),
        ('memory = "-1G"', "memory", 1, "is not a size"),
        ('memory = "1X"', "memory", 1, "is not a size"),
        ("memory = [1]", "memory", 1, "must be an integer or a size string"),
        ('memory = "1.5B"', "memory", 1, "whole number of bytes"),
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
        ('type = "pc-i440fx-9.9"', "type", 1, "unknown machine type"),
        ('type = "virt"', "type", 1, "allowed: pc, q35, isapc"),
        ('cpu = "pentium"', "cpu", 1, "allowed: qemu64, kvm64, host, 486"),
        ("phys-bits = 60", "phys-bits", 1, "phys-bits should be between 32 and 52 (but is 60)"),
        ('phys-bits = "max"', "phys-bits", 1, 'must be an integer number of bits or "host"'),
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
    error = error_of("smp = 0\nmemory = 0\ncpu = 1")
    assert [p.key for p in error.problems] == ["memory", "smp", "cpu"]


def test_given_value_is_shown() -> None:
    assert "(got maxcpus = 2, smp = 4)" in str(error_of("smp = 4\nmaxcpus = 2"))
    assert '(got "pentium")' in str(error_of('cpu = "pentium"'))


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
