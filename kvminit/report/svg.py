"""The guest's e820 memory map as a self-contained SVG picture, for READMEs and reviews.

A vertical bar, addresses rising downwards as in the e820 table and Linux's boot log. A guest
map spans 2^40 bytes and more with a 16 KiB entry next to a 3 GiB one, so no single scale
shows it: the bar is cut into runs of touching or overlapping entries, each drawn to its own
scale, and every hole between runs becomes a fixed-height break labelled with its size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from kvminit.engine.e820 import (
    E820_ACPI,
    E820_NVS,
    E820_RAM,
    E820_RESERVED,
    E820_UNUSABLE,
    TYPE_NAMES,
    E820Entry,
)

# Fill colours sit on the picture's own white background, never on the README's, so one
# palette reads the same under light and dark themes; each is dark enough against white
# and light enough that the black band outlines still show.
_FILLS = {
    E820_RAM: "#56a35c",
    E820_RESERVED: "#e08a3c",
    E820_ACPI: "#4f8fd6",
    E820_NVS: "#9272cf",
    E820_UNUSABLE: "#d05555",
}
_OTHER_FILL = "#9aa2ab"  # types Linux knows but QEMU never emits (7 pmem, 12 pram, ...)
_GAP_FILL = "#f3f4f6"
_INK = "#1f2328"  # main text and outlines
_MUTED = "#57606a"  # axis, gaps, notes: secondary, still 4.5:1 against white
_RULE = "#8c959f"
_BACKGROUND = "#ffffff"
_FRAME = "#d0d7de"

_SANS = "sans-serif"
_MONO = "monospace"
# Widths are estimated, not measured: the picture must not depend on the fonts of the machine
# that drew it. Generous per-character factors keep long labels inside the canvas.
_SANS_EM = 0.62
_MONO_EM = 0.62

_MARGIN = 20
_MIN_WIDTH = 640
_BAR_WIDTH = 110
_MIN_BAND = 36  # tall enough for an entry's two label lines beside it
_GAP_BAND = 44
_LABEL_LINE = 15
_ENTRY_LABEL = 32
_GAP_LABEL = 16
_LABEL_SPACING = 4
_RUN_GROWTH = 9.0  # px per doubling: bigger runs look bigger without swamping small ones
_MAX_TITLE = 100  # characters; beyond this a caption is no longer one readable line

# Said on the picture because a reader who finds it in a README has not read this module.
_NOTES = (
    "Addresses rise downwards. Each band is to scale only within its run of adjoining entries;",
    "gaps between runs are compressed, and tiny entries widened so their labels stay readable.",
)

_TITLE_SIZE = 15
_TEXT_SIZE = 13
_ADDRESS_SIZE = 11.5
_AXIS_SIZE = 11
_NOTE_SIZE = 11


def e820_svg(entries: Sequence[E820Entry], title: str) -> str:
    """The e820 map `entries` as an SVG 1.1 document captioned `title` (any text)."""
    caption = _clean(title)
    shown = caption if len(caption) <= _MAX_TITLE else caption[: _MAX_TITLE - 1] + "…"
    if not entries:
        return _empty(caption, shown)
    return _Picture(entries, caption, shown).render()


# --- text -------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """`text` as one line XML 1.0 can carry: controls, surrogates and non-characters become
    U+FFFD so a hostile caption shows up as such instead of breaking the parse."""
    out = []
    for ch in text:
        c = ord(ch)
        if ch in "\t\n\r":
            out.append(" ")  # legal XML, but a caption is one line
        elif c < 0x20 or 0x7F <= c <= 0x9F or 0xD800 <= c <= 0xDFFF or c in (0xFFFE, 0xFFFF):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _esc(text: str) -> str:
    """Escaped for both element content and double-quoted attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _num(x: float) -> str:
    """A coordinate with at most one decimal, so the output is short and byte-stable."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def human_size(n: int) -> str:
    """`n` bytes in binary units: '3 GiB', '1.5 GiB', and '≈1008.02 GiB' when two decimals
    do not say it exactly.

    Integer arithmetic throughout: sizes reach 2^64 and beyond, past a float's exactness."""
    for shift, unit in (
        (60, "EiB"),
        (50, "PiB"),
        (40, "TiB"),
        (30, "GiB"),
        (20, "MiB"),
        (10, "KiB"),
    ):
        scale = 1 << shift
        if n >= scale:
            if n % scale == 0:
                return f"{n >> shift} {unit}"
            hundredths = (n * 100 + scale // 2) >> shift
            whole, frac = divmod(hundredths, 100)
            digits = f"{whole}.{frac:02d}".rstrip("0").rstrip(".")
            exact = (n * 100) % scale == 0
            return f"{'' if exact else '≈'}{digits} {unit}"
    return f"{n} B"


def _type_name(type_: int) -> str:
    return TYPE_NAMES.get(type_, f"type {type_}")


def _fill(type_: int) -> str:
    return _FILLS.get(type_, _OTHER_FILL)


def _sans_width(text: str, size: float) -> float:
    return len(text) * size * _SANS_EM


def _mono_width(text: str, size: float) -> float:
    return len(text) * size * _MONO_EM


# --- layout -----------------------------------------------------------------------------


@dataclass
class _Run:
    """Entries whose spans touch or overlap, drawn to one scale."""

    start: int
    end: int  # exclusive; a zero-length entry counts one byte here so it still gets a band
    real_end: int  # the greatest true end, for the size of the following gap
    entries: list[E820Entry]


@dataclass(frozen=True)
class _Label:
    want: float  # the y its band asks for, the label's centre
    height: float
    lines: tuple[str, ...]  # already SVG markup


def _span(e: E820Entry) -> tuple[int, int]:
    """[start, end) as laid out: negative lengths are nonsense from a decoded blob, drawn as 0."""
    return e.address, e.address + max(e.length, 1)


def _runs(entries: Sequence[E820Entry]) -> list[_Run]:
    runs: list[_Run] = []
    for e in entries:
        lo, hi = _span(e)
        real = e.address + max(e.length, 0)
        if runs and lo <= runs[-1].end:
            r = runs[-1]
            r.end = max(r.end, hi)
            r.real_end = max(r.real_end, real)
            r.entries.append(e)
        else:
            runs.append(_Run(lo, hi, real, [e]))
    return runs


def _lanes(entries: Sequence[E820Entry]) -> list[int]:
    """A column for each entry so overlapping ones sit side by side rather than hide each other."""
    ends: list[int] = []
    lanes = []
    for e in entries:
        lo, hi = _span(e)
        for i, end in enumerate(ends):
            if end <= lo:
                ends[i] = hi
                lanes.append(i)
                break
        else:
            ends.append(hi)
            lanes.append(len(ends) - 1)
    return lanes


def _place(labels: Sequence[_Label], top: float) -> list[float]:
    """Label tops, in order, as near their bands as possible without overlapping."""
    tops = []
    floor = top
    for label in labels:
        t = max(label.want - label.height / 2, floor)
        tops.append(t)
        floor = t + label.height + _LABEL_SPACING
    return tops


class _Picture:
    def __init__(self, entries: Sequence[E820Entry], caption: str, shown: str) -> None:
        # Sorted with every field as key, so the picture does not depend on the input's order.
        self.entries = sorted(entries, key=lambda e: (e.address, e.length, e.type))
        self.caption = caption
        self.shown = shown
        self.runs = _runs(self.entries)
        self.lanes = _lanes(self.entries)
        self.nlanes = max(self.lanes) + 1
        # Only true boundaries go on the axis, not the byte a zero-length entry is widened by.
        self.real_points = {e.address for e in self.entries} | {
            e.address + e.length for e in self.entries if e.length > 0
        }

    def _heights(self, run: _Run) -> list[tuple[int, float]]:
        """(boundary, y offset in the run) for every boundary inside `run`."""
        points = sorted({p for e in run.entries for p in _span(e)})
        span = run.end - run.start
        target = max(_MIN_BAND, _RUN_GROWTH * math.log2(max(span / 4096, 1)))
        out = [(points[0], 0.0)]
        y = 0.0
        for lo, hi in itertools.pairwise(points):
            # The floor breaks the scale for tiny pieces on purpose: a 16 KiB entry next to
            # 3 GiB of RAM would otherwise be a hairline with an unreadable label.
            y += max((hi - lo) * target / span, _MIN_BAND)
            out.append((hi, y))
        return out

    def render(self) -> str:
        body: list[str] = []
        legend_types = sorted({e.type for e in self.entries})
        has_gap = len(self.runs) > 1

        # The map's vertical extent first: every boundary's y, and the gap bands.
        map_top = 0.0  # shifted down once the header height is known
        ys: dict[int, float] = {}
        gaps: list[tuple[float, int]] = []  # (top y, size)
        y = map_top
        for i, run in enumerate(self.runs):
            if i:
                gaps.append((y, run.start - self.runs[i - 1].real_end))
                y += _GAP_BAND
            offsets = self._heights(run)
            for point, dy in offsets:
                ys[point] = y + dy
            y += offsets[-1][1]
        map_height = y

        axis = sorted((ys[p], f"{p:#x}") for p in self.real_points)
        axis_width = max(_mono_width(text, _AXIS_SIZE) for _, text in axis)
        bar_x = _MARGIN + axis_width + 12
        label_x = bar_x + _BAR_WIDTH + 26

        # Labels for entries and gaps, ordered by where their bands are, so leaders rarely cross.
        items: list[tuple[float, float, tuple[str, ...], float]] = []  # (want, h, lines, width)
        for e in self.entries:
            lo, hi = _span(e)
            name = _type_name(e.type)
            if e.length > 0:
                amount = human_size(e.length)
                where = f"{e.address:#x} – {e.address + e.length - 1:#x}"
            else:
                amount = "0 B"
                where = f"{e.address:#x}, empty"
            head = f"{name} · {amount}"
            text_width = max(_sans_width(head, _TEXT_SIZE), _mono_width(where, _ADDRESS_SIZE))
            lines = (
                f'<tspan font-weight="bold">{_esc(name)}</tspan> · {_esc(amount)}',
                _esc(where),
            )
            items.append(((ys[lo] + ys[hi]) / 2, _ENTRY_LABEL, lines, text_width))
        for top, size in gaps:
            text = f"gap {human_size(size)}"
            items.append(
                (top + _GAP_BAND / 2, _GAP_LABEL, (_esc(text),), _sans_width(text, _TEXT_SIZE))
            )
        items.sort(key=lambda item: item[0])
        labels = [_Label(want, h, lines) for want, h, lines, _ in items]
        tops = _place(labels, map_top)
        labels_bottom = max(t + lab.height for t, lab in zip(tops, labels, strict=True))

        title_width = _sans_width(self.shown, _TITLE_SIZE) * 1.05  # bold runs wider
        label_width = max(width for *_, width in items)
        note_width = max(_sans_width(line, _NOTE_SIZE) for line in _NOTES)
        width = math.ceil(
            max(
                _MIN_WIDTH,
                label_x + label_width + _MARGIN,
                2 * _MARGIN + title_width,
                2 * _MARGIN + note_width,
            )
        )

        # Header: title, then the legend, wrapped to the width.
        legend = [(_fill(t), _type_name(t)) for t in legend_types]
        if has_gap:
            legend.append((_GAP_FILL, "gap (not to scale)"))
        legend_rows: list[list[tuple[float, str, str]]] = [[]]
        x = float(_MARGIN)
        for fill, name in legend:
            item_width = 18 + _sans_width(name, _NOTE_SIZE + 1) + 16
            if legend_rows[-1] and x + item_width > width - _MARGIN:
                legend_rows.append([])
                x = _MARGIN
            legend_rows[-1].append((x, fill, name))
            x += item_width
        legend_top = 44.0
        shift = legend_top + 20 * len(legend_rows) + 14  # where the map starts

        bottom = shift + max(map_height, labels_bottom)
        note_y = bottom + 26
        height = math.ceil(note_y + 15 * (len(_NOTES) - 1) + 14)

        body.append(
            f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" '
            f'fill="{_BACKGROUND}" stroke="{_FRAME}"/>'
        )
        body.append(
            f'<text x="{_MARGIN}" y="30" font-size="{_TITLE_SIZE}" font-weight="bold" '
            f'fill="{_INK}">{_esc(self.shown)}</text>'
        )
        for row, entries_row in enumerate(legend_rows):
            ly = legend_top + 20 * row
            for lx, fill, name in entries_row:
                dash = ' stroke-dasharray="3 2"' if fill == _GAP_FILL else ""
                body.append(
                    f'<rect x="{_num(lx)}" y="{_num(ly)}" width="12" height="12" fill="{fill}" '
                    f'stroke="{_INK}" stroke-width="0.75"{dash}/>'
                )
                body.append(
                    f'<text x="{_num(lx + 18)}" y="{_num(ly + 10.5)}" font-size="{_NOTE_SIZE + 1}" '
                    f'fill="{_INK}">{_esc(name)}</text>'
                )

        lane_width = _BAR_WIDTH / self.nlanes
        for e, lane in zip(self.entries, self.lanes, strict=True):
            lo, hi = _span(e)
            top = shift + ys[lo]
            body.append(
                f'<rect x="{_num(bar_x + lane * lane_width)}" y="{_num(top)}" '
                f'width="{_num(lane_width)}" height="{_num(ys[hi] - ys[lo])}" '
                f'fill="{_fill(e.type)}" stroke="{_INK}" stroke-width="1"/>'
            )

        for top, _ in gaps:
            gy = shift + top
            body.append(
                f'<rect x="{_num(bar_x)}" y="{_num(gy)}" width="{_BAR_WIDTH}" '
                f'height="{_GAP_BAND}" fill="{_GAP_FILL}" stroke="{_RULE}" '
                f'stroke-dasharray="4 3"/>'
            )
            # The usual axis-break mark: two zigzags across the bar.
            for dy in (_GAP_BAND / 2 - 5, _GAP_BAND / 2 + 5):
                steps = 8
                pts = " ".join(
                    f"{_num(bar_x - 6 + k * (_BAR_WIDTH + 12) / steps)},"
                    f"{_num(gy + dy + (-3 if k % 2 else 3))}"
                    for k in range(steps + 1)
                )
                body.append(
                    f'<polyline points="{pts}" fill="none" stroke="{_RULE}" stroke-width="1.25"/>'
                )

        for ay, text in axis:
            y_ = shift + ay
            body.append(
                f'<line x1="{_num(bar_x - 6)}" y1="{_num(y_)}" x2="{_num(bar_x)}" '
                f'y2="{_num(y_)}" stroke="{_MUTED}"/>'
            )
            body.append(
                f'<text x="{_num(bar_x - 9)}" y="{_num(y_ + 4)}" font-family="{_MONO}" '
                f'font-size="{_AXIS_SIZE}" text-anchor="end" fill="{_MUTED}">{text}</text>'
            )

        for lab, t in zip(labels, tops, strict=True):
            top = shift + t
            centre = top + lab.height / 2
            body.append(
                f'<polyline points="{_num(bar_x + _BAR_WIDTH + 3)},{_num(shift + lab.want)} '
                f"{_num(label_x - 14)},{_num(shift + lab.want)} {_num(label_x - 5)},"
                f'{_num(centre)}" fill="none" stroke="{_RULE}"/>'
            )
            if len(lab.lines) == 1:  # a gap
                body.append(
                    f'<text x="{_num(label_x)}" y="{_num(centre + 4.5)}" font-size="{_TEXT_SIZE}" '
                    f'font-style="italic" fill="{_MUTED}">{lab.lines[0]}</text>'
                )
            else:
                body.append(
                    f'<text x="{_num(label_x)}" y="{_num(top + 12)}" font-size="{_TEXT_SIZE}" '
                    f'fill="{_INK}">{lab.lines[0]}</text>'
                )
                body.append(
                    f'<text x="{_num(label_x)}" y="{_num(top + 12 + _LABEL_LINE)}" '
                    f'font-family="{_MONO}" font-size="{_ADDRESS_SIZE}" fill="{_INK}">'
                    f"{lab.lines[1]}</text>"
                )

        for i, line in enumerate(_NOTES):
            body.append(
                f'<text x="{_MARGIN}" y="{_num(note_y + i * 15)}" font-size="{_NOTE_SIZE}" '
                f'fill="{_MUTED}">{_esc(line)}</text>'
            )
        return _document(width, height, self.caption, body)


def _empty(caption: str, shown: str) -> str:
    width = math.ceil(max(_MIN_WIDTH, 2 * _MARGIN + _sans_width(shown, _TITLE_SIZE) * 1.05))
    height = 90
    body = [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" '
        f'fill="{_BACKGROUND}" stroke="{_FRAME}"/>',
        f'<text x="{_MARGIN}" y="30" font-size="{_TITLE_SIZE}" font-weight="bold" '
        f'fill="{_INK}">{_esc(shown)}</text>',
        f'<text x="{_MARGIN}" y="64" font-size="{_TEXT_SIZE}" font-style="italic" '
        f'fill="{_MUTED}">no e820 entries</text>',
    ]
    return _document(width, height, caption, body)


def _document(width: int, height: int, caption: str, body: Sequence[str]) -> str:
    # The <title> keeps the whole caption, however long, for screen readers and tooltips.
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'font-family="{_SANS}">\n'
        f"<title>{_esc(caption)}</title>\n"
    )
    return head + "".join(f"{line}\n" for line in body) + "</svg>\n"
