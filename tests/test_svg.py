"""The e820 map as an SVG picture: well-formed, complete, escaped and deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kvminit.config import parse_machine
from kvminit.engine import run
from kvminit.engine.e820 import (
    E820_ACPI,
    E820_NVS,
    E820_RAM,
    E820_RESERVED,
    E820_UNUSABLE,
    TYPE_NAMES,
    E820Entry,
)
from kvminit.engine.qemu import QEMU_10_0
from kvminit.kvm.profiles import builtin_profile, profile_host
from kvminit.report.svg import e820_svg, human_size

SVG = "{http://www.w3.org/2000/svg}"
GiB = 1 << 30
TITLE = "pc-i440fx-10.0, QEMU 10.0, kvm, profile host amd-epyc-linux-6.18"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def amd_1tb_map() -> list[E820Entry]:
    # 1100G does not fit the default 40 phys-bits once RAM above 4G moves past the
    # HyperTransport hole, so the guest gets 48 bits for the map to exist at all.
    r = run(
        parse_machine('type = "pc"\nmemory = "1100G"\nphys-bits = 48\naccel = ["kvm"]\n'),
        profile_host(builtin_profile("amd-epyc-linux-6.18")),
        qemu=QEMU_10_0,
    )
    assert r.error is None
    return list(r.e820)


def test_document_is_self_contained_svg_1_1() -> None:
    svg = e820_svg([E820Entry(0, GiB, E820_RAM)], "t")
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("version") == "1.1"
    width, height = int(root.get("width", "")), int(root.get("height", ""))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    # Nothing fetched from elsewhere: no links, stylesheets or web fonts.
    for needle in ("href", "<style", "url(", "@import", "@font-face"):
        assert needle not in svg
    # A light card of its own, so the picture reads the same under a dark README theme.
    background = next(root.iter(f"{SVG}rect"))
    assert background.get("fill") == "#ffffff"
    assert background.get("width") == str(width - 1)


def test_amd_1tb_map_names_every_entry_and_gap() -> None:
    entries = amd_1tb_map()
    assert E820Entry(0x100_0000_0000, 1100 * GiB - 3 * GiB, E820_RAM) in entries
    root = parse(e820_svg(entries, TITLE))
    lines = texts(root)
    for e in entries:
        start = f"{e.address:#x}"
        end = f"{e.address + e.length - 1:#x}"
        assert any(f"{start} – {end}" in line for line in lines), e
        assert any(line.startswith(TYPE_NAMES[e.type]) for line in lines), e
    # The hole below 4G, and the one up to the HyperTransport hole below 1 TiB.
    assert "gap ≈1007.98 MiB" in lines
    assert "gap ≈1008.02 GiB" in lines
    assert TITLE in lines
    assert "usable · ≈1.07 TiB" in lines


def test_gap_labels_and_sizes() -> None:
    entries = [
        E820Entry(0, 2 * GiB, E820_RAM),
        E820Entry(3 * GiB, 16 << 10, E820_RESERVED),
        E820Entry(4 * GiB, 4 * GiB, E820_RAM),
    ]
    lines = texts(parse(e820_svg(entries, "t")))
    assert "gap ≈1023.98 MiB" in lines  # 3 GiB + 16 KiB .. 4 GiB
    assert "gap 1 GiB" in lines  # 2 GiB .. 3 GiB
    assert "usable · 2 GiB" in lines
    assert "reserved · 16 KiB" in lines
    assert "0xc0000000 – 0xc0003fff" in lines


def test_no_gap_between_touching_entries() -> None:
    entries = [E820Entry(0, GiB, E820_RAM), E820Entry(GiB, GiB, E820_RESERVED)]
    root = parse(e820_svg(entries, "t"))
    assert not any(line.startswith("gap ") for line in texts(root))
    assert "gap (not to scale)" not in texts(root)  # nor in the legend


def test_tiny_entry_stays_readable_and_types_have_colours() -> None:
    entries = amd_1tb_map()
    root = parse(e820_svg(entries, TITLE))
    bands = [r for r in root.iter(f"{SVG}rect") if r.get("stroke-width") == "1"]
    assert len(bands) == len(entries)
    # Sorted by address: RAM below 4G, the 16 KiB identity map, the HT hole, RAM above 1T.
    heights = [float(r.get("height", "")) for r in bands]
    assert min(heights) >= 30
    assert heights[0] > heights[1]  # still to scale where the floor does not apply
    fills = [r.get("fill") for r in bands]
    assert fills[0] == fills[3] != fills[1] == fills[2]


def test_every_type_in_the_legend() -> None:
    types = [E820_RAM, E820_RESERVED, E820_ACPI, E820_NVS, E820_UNUSABLE, 7]
    entries = [E820Entry(i << 20, 1 << 20, t) for i, t in enumerate(types)]
    root = parse(e820_svg(entries, "t"))
    lines = texts(root)
    for name in [*TYPE_NAMES.values(), "type 7"]:
        assert name in lines  # the legend entry, alone on its text element
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("stroke-width") == "1"}
    assert len(fills) == len(types)


def test_title_is_escaped_and_cleaned() -> None:
    title = "evil\x00\x1b[31m <script>&amp;</script> \"q\" 'a'\ud800\x7f\ttab\nline"
    svg = e820_svg([E820Entry(0, 4096, E820_RAM)], title)
    root = parse(svg)
    want = "evil\ufffd\ufffd[31m <script>&amp;</script> \"q\" 'a'\ufffd\ufffd tab line"
    assert root.findtext(f"{SVG}title") == want
    assert want in texts(root)
    assert "<script>" not in svg
    svg.encode("utf-8")  # no lone surrogate left to break the write


def test_long_title_is_cut_on_the_picture_but_kept_whole_in_title() -> None:
    title = "x" * 500
    root = parse(e820_svg([E820Entry(0, 4096, E820_RAM)], title))
    assert root.findtext(f"{SVG}title") == title
    assert "x" * 99 + "…" in texts(root)
    assert int(root.get("width", "")) < 1200


def test_zero_entries() -> None:
    root = parse(e820_svg([], "<none> & \x01"))
    assert "no e820 entries" in texts(root)
    assert "<none> & \ufffd" in texts(root)
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"


def test_unsorted_overlapping_empty_and_huge_entries() -> None:
    top = 1 << 64
    entries = [
        E820Entry(top - 4096, 4096, E820_UNUSABLE),
        E820Entry(0x9FC00, 0x400, E820_RESERVED),
        E820Entry(0x1000, 0x4000, E820_RESERVED),  # inside the RAM below
        E820Entry(0, 0x9FC00, E820_RAM),
        E820Entry(0x2000, 0, E820_NVS),  # empty, inside both
        E820Entry(0x0, 0x9FC00, E820_RAM),  # a duplicate
        E820Entry(top - 256, 512, 12),  # runs past 2^64
        E820Entry(0x5000_0000, 0, E820_ACPI),  # empty, alone
    ]
    svg = e820_svg(entries, "t")
    root = parse(svg)
    lines = texts(root)
    assert "0x2000, empty" in lines
    assert "0x50000000, empty" in lines
    assert "0xfffffffffffff000 – 0xffffffffffffffff" in lines
    assert "0xffffffffffffff00 – 0x100000000000000ff" in lines
    assert "type 12" in lines
    assert "gap ≈16 EiB" in lines
    # The input's order does not matter, only its contents.
    assert e820_svg(sorted(entries, key=lambda e: e.address), "t") == svg


def test_negative_length_does_not_crash() -> None:
    parse(e820_svg([E820Entry(0x1000, -5, E820_RAM), E820Entry(0, 0x1000, E820_RAM)], "t"))


def test_deterministic() -> None:
    entries = amd_1tb_map()
    first = e820_svg(entries, TITLE)
    assert e820_svg(list(reversed(entries)), TITLE) == first
    assert e820_svg(tuple(entries), TITLE) == first
    assert " id=" not in first


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (16 << 10, "16 KiB"),
        (0x9FC00, "639 KiB"),
        (3 * GiB, "3 GiB"),
        (GiB + (GiB >> 1), "1.5 GiB"),
        (0x3EFFC000, "≈1007.98 MiB"),
        (GiB - 1, "≈1024 MiB"),
        (1 << 40, "1 TiB"),
        (1 << 64, "16 EiB"),
        ((1 << 64) - 1, "≈16 EiB"),
    ],
)
def test_human_size(n: int, text: str) -> None:
    assert human_size(n) == text
