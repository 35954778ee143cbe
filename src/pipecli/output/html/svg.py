"""Horizontal bar charts as inline SVG, built from strings with the standard library.

A chart is rows; each row is a label (its own line, wrapped), one or more bars (one per
series, each followed by its figure — the number exactly as the terminal shows it) and an
optional note line of further figures. Every text is escaped (html.escape, quotes too) and
control characters are shown escaped as the terminal shows them, so the SVG is well-formed
XML whatever a deal or a reason is called.

Text is laid out without measuring it (no font is loaded): widths are estimated from the
character count at a generous average advance, so a label wraps before it could run past
the chart's edge and the bars leave room for their figures.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

from pipecli.output.render import shown

WIDTH = 400  # the viewBox width; the chart scales down to the page (phones) from it
FONT = 13  # labels and figures
SMALL = 12  # notes, the legend
ADVANCE = 0.62  # a character's width in em, generous (digits are 0.56 in common fonts)
LINE = 17  # a line of text
BAR = 13  # a bar's thickness
BAR_GAP = 3  # between the bars of one row
ROW_GAP = 11  # between rows
FIGURE_GAP = 6  # between a bar's end and its figure
INK, MUTED, RULE = "#1a202c", "#4a5568", "#cbd5e0"
FONTS = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"  # installed only


def esc(text: str) -> str:
    """User text for HTML or SVG: control characters shown escaped (\\x1b, as on the
    terminal), then every markup character escaped, quotes included."""
    return html.escape(shown(str(text)), quote=True)


@dataclass(frozen=True)
class Series:
    """One kind of bar in a chart: its name in the legend and its colour."""

    name: str
    colour: str


@dataclass(frozen=True)
class Bar:
    """One bar: which series, its size (None: no comparable size, the figure alone) and the
    figure written after it."""

    series: int
    size: float | None
    figure: str


@dataclass(frozen=True)
class Drawn:
    """A chart: its title (the page shows it as the figure's caption; the SVG holds it as
    its <title>, for screen readers) and its SVG text."""

    title: str
    svg: str


@dataclass(frozen=True)
class Row:
    """A label, its bars, and a note of further figures under them."""

    label: str
    bars: tuple[Bar, ...]
    note: str = ""


def text_width(text: str, size: float = FONT) -> float:
    """The estimated width of text at a font size (generous: see ADVANCE)."""
    return len(text) * size * ADVANCE


def wrapped(text: str, width: float, size: float = FONT) -> list[str]:
    """Text broken into lines that fit `width` (long words are broken too)."""
    chars = max(8, int(width / (size * ADVANCE)))
    return textwrap.wrap(text, chars, break_long_words=True, break_on_hyphens=False) or [""]


def _text(x: float, y: float, text: str, size: float = FONT, colour: str = INK,
          anchor: str = "start", weight: str = "normal") -> str:
    extra = f' text-anchor="{anchor}"' if anchor != "start" else ""
    extra += ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}"{extra}>'
            f'{esc(text)}</text>')


def _legend(series: list[Series], width: float) -> tuple[list[str], float]:
    """The legend (swatch and name per series, flowing onto more lines when needed) and
    the height it takes; none for a single series (the chart's title names it)."""
    if len(series) < 2:
        return [], 0
    parts, x, y = [], 0.0, 0.0
    for s in series:
        need = 12 + 5 + text_width(s.name, SMALL) + 14
        if x and x + need > width:
            x, y = 0.0, y + LINE
        parts.append(f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="12" height="12" '
                     f'fill="{s.colour}"/>')
        parts.append(_text(x + 17, y + 13, s.name, SMALL, MUTED))
        x += need
    return parts, y + LINE + 8


def bar_chart(title: str, rows: list[Row], series: list[Series], *, width: float = WIDTH,
              scale: float | None = None, empty: str = "", chart_id: str = "",
              legend: bool = True) -> Drawn:
    """An SVG of horizontal bars: each row's label on its own line(s), then its bars, each
    followed by its figure. Bars are sized against `scale` (default: the largest bar), so
    small multiples can share one. `empty` is drawn instead of bars that are all 0; the
    legend (series colours) is left out when the labels already name the series."""
    sizes = [b.size for r in rows for b in r.bars if b.size]
    top = scale if scale else max(sizes, default=0)
    figure_room = max([text_width(b.figure) for r in rows for b in r.bars] + [0])
    # The bars leave room for the widest figure, but never shrink below half the chart:
    # a figure that does not fit then goes on the line under its bar.
    area = max(width / 2, width - figure_room - FIGURE_GAP)
    parts, y = _legend(series, width) if legend else ([], 0)
    if not top and empty:
        parts.append(_text(0, y + FONT, empty, FONT, MUTED))
        y += LINE
    for row in rows:
        for line in (wrapped(row.label, width) if row.label else []):
            parts.append(_text(0, y + FONT, line, FONT, INK, weight="bold"))
            y += LINE
        for bar in row.bars:
            length = 0.0
            if bar.size and top:
                length = max(1.5, area * bar.size / top)  # a sliver still shows
                parts.append(f'<rect x="0" y="{y:.1f}" width="{length:.1f}" height="{BAR}" '
                             f'fill="{series[bar.series].colour}"/>')
            else:  # nothing to draw: a hairline marks where the bar would start
                parts.append(f'<rect x="0" y="{y:.1f}" width="1" height="{BAR}" '
                             f'fill="{RULE}"/>')
            x = (length or 1) + FIGURE_GAP
            if x + text_width(bar.figure) <= width:
                parts.append(_text(x, y + BAR - 2, bar.figure))
                y += BAR + BAR_GAP
            else:  # too long to follow the bar: on its own line, under it
                y += BAR + BAR_GAP
                parts.append(_text(0, y + FONT - 1, bar.figure))
                y += LINE
        for line in (wrapped(row.note, width, SMALL) if row.note else []):
            parts.append(_text(0, y + SMALL, line, SMALL, MUTED))
            y += LINE - 2
        y += ROW_GAP
    return Drawn(title, svg(title, parts, width, y, chart_id))


def svg(title: str, parts: list[str], width: float, height: float, chart_id: str = "") -> str:
    """The svg element: scaled down to the width it is given (max-width: 100%), never up;
    its title is what a screen reader says."""
    height = max(height, LINE)
    ident = f' id="{esc(chart_id)}"' if chart_id else ""
    return (f'<svg{ident} class="chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" '
            f'style="display:block;max-width:100%;height:auto;font-family:{esc(FONTS)}">'
            f'<title>{esc(title)}</title>' + "".join(parts) + "</svg>")
