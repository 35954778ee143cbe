"""The HTML report in a real browser: headless Chromium renders the bundled B2B sample's
report (with --by owner; its stage probabilities too), forecast, board, digest (its last
month), costs and customers at 375 px (a phone) and 1024 px wide, and the screenshots are
checked pixel by pixel (PNG decoded here with zlib and struct).

Skipped only where Chromium is absent (`chromium`, `chromium-browser` or `google-chrome`
on PATH); CI installs Debian's chromium in .ci/run, so there it always runs.

What is checked, and how, since a page without JavaScript cannot measure itself:

- **Non-blank**: a real share of the screenshot is ink, in many colours.
- **The SVG charts are laid out with a non-zero size**: each chart's bar colours (unique
  to the charts, output/html/charts.py) are on the screen as areas at least a few pixels
  wide and tall, and the funnel shows one bar per stage of the sample's funnel.
- **Nothing overflows sideways**, by two independent methods:
  1. at the real width, the page's right margin (the last columns of the screenshot) is
     blank on every row: anything wider than the page — a table, a chart, a long name —
     would run into it (a box that scrolls sideways clips inside the page, short of it);
  2. the page laid out at that width inside a wider window: a style added to a copy of
     the page gives the root element the width under test and a magenta background, and
     the body white. Everything the page paints beyond that width lands on magenta, so
     every pixel right of it must be exactly magenta. Layout is the same as at the real
     width (the page's only media query, for phones, holds in both: 475 ≤ 480 px).
- **The whole page was seen**: the screenshot's last rows are blank (the window was
  taller than the page).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser",
                                                 "google-chrome") if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="Chromium is not installed here (the only reason this test is "
                            "skipped; CI installs it in .ci/run)")

WHITE = (255, 255, 255)
MAGENTA = (255, 0, 255)
MARGIN = 6  # columns at the right edge that must stay blank (the page pads 10 px or more)
WIDER = 100  # the window's extra width in the magenta check
HEIGHT = {375: 9000, 1024: 6000}  # taller than any of the sample's pages


def colour(text: str) -> tuple[int, int, int]:
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))


# -- PNG, decoded with the standard library ---------------------------------------------


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """Byte-wise (a + b) mod 256 of two equal-length rows, all at once on big integers."""
    n = len(a)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    low, high = int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """An 8-bit RGB or RGBA PNG (as Chromium writes it) as width, height and rows of RGB."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, kind, _, _, interlace = header
    assert depth == 8 and kind in (2, 6) and interlace == 0, header
    step = 3 if kind == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind_of_filter, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind_of_filter == 1:  # Sub
            for i in range(step, stride):
                line[i] = (line[i] + line[i - step]) & 255
        elif kind_of_filter == 2:  # Up
            line = bytearray(_add_bytes(bytes(line), previous))
        elif kind_of_filter == 3:  # Average
            for i in range(stride):
                left = line[i - step] if i >= step else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind_of_filter == 4:  # Paeth
            for i in range(stride):
                a = line[i - step] if i >= step else 0
                b, c = previous[i], previous[i - step] if i >= step else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc
                                      else c)) & 255
        previous = bytes(line)
        rows.append(previous if step == 3 else
                    b"".join(previous[i:i + 3] for i in range(0, stride, 4)))
    return width, height, rows


def pixel(rows, x: int, y: int) -> tuple[int, int, int]:
    return tuple(rows[y][3 * x:3 * x + 3])


def boxes(rows, width: int, rgb: tuple[int, int, int]) -> list[tuple[int, int, int, int]]:
    """The rows of pixels of exactly this colour, grouped into runs of consecutive lines:
    (top, bottom, left, right) of each run — a bar of a chart is one."""
    needle = bytes(rgb)
    found, runs = [], []
    for y, row in enumerate(rows):
        xs = [i // 3 for i in range(0, 3 * width, 3) if row[i:i + 3] == needle] \
            if needle in row else []
        if xs:
            found.append((y, min(xs), max(xs)))
    for y, left, right in found:
        if runs and runs[-1][1] == y - 1:
            top, _, l0, r0 = runs[-1]
            runs[-1] = (top, y, min(l0, left), max(r0, right))
        else:
            runs.append((y, y, left, right))
    return runs


# -- the pages and the browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The sample's report (--by owner), forecast, board, digest, costs and customers as
    HTML files, made by pipe in a copy of the sample (nothing is written to the
    repository), at the frozen moment."""
    folder = tmp_path_factory.mktemp("sample")
    shutil.copy(ROOT / "sample_pipelines" / "b2b-pipeline.yaml", folder)
    shutil.copytree(ROOT / "sample_pipelines" / "data" / "b2b-pipeline",
                    folder / "data" / "b2b-pipeline", ignore=shutil.ignore_patterns(".local"))
    shutil.copy(ROOT / "sample_pipelines" / "data" / "b2b-pipeline-costs.csv",
                folder / "data")  # for pipe costs
    env = dict(os.environ, PIPE_NOW="2026-11-20T10:00:00+00:00", TZ="UTC",
               PIPE_FILE=str(folder / "b2b-pipeline.yaml"))
    out = {}
    for name, args in (("report", ["report", "--by", "owner"]), ("forecast", ["forecast"]),
                       ("board", ["board"]), ("digest", ["digest", "--since", "1m"]),
                       ("costs", ["costs"]), ("customers", ["customers"])):
        path = folder / f"{name}.html"
        subprocess.run([sys.executable, "-m", "pipecli", *args, "--output", str(path)],
                       env=env, check=True, cwd=folder)
        out[name] = path
    return out


def screenshot(page: Path, width: int, window: int | None = None) -> tuple[int, int, list]:
    """Chromium's screenshot of the page in a window `window` (default `width`) pixels wide,
    decoded."""
    png = page.with_name(f"{page.stem}-{width}-{window or width}.png")
    subprocess.run([BROWSER, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    "--force-device-scale-factor=1", f"--window-size={window or width},"
                    f"{HEIGHT[width]}", f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return read_png(png.read_bytes())


# Each page's chart colours (output/html/charts.py) that must be on the screen.
CHARTS = {
    "report": {"funnel": "#3182ce", "value": "#90cdf4", "weighted": "#2c5282",
               "won": "#38a169", "lost": "#e53e3e", "cycle": "#805ad5",
               "given probability": "#fbd38d", "observed probability": "#c05621"},
    "forecast": {"best case": "#90cdf4", "weighted": "#2c5282", "won": "#38a169"},
    "board": {"value": "#90cdf4", "weighted": "#2c5282"},
    # The sample's last month: deals created, won, lost, moved forward; steps overdue.
    "digest": {"new": "#3182ce", "won": "#38a169", "lost": "#e53e3e", "forward": "#319795",
               "overdue": "#718096"},
    "costs": {"cost per lead": "#ed64a6", "cost per won deal": "#97266d"},
    "customers": {"revenue": "#6b46c1"},
}


@pytest.mark.parametrize("width", [375, 1024])
@pytest.mark.parametrize("name", ["report", "forecast", "board", "digest", "costs",
                                  "customers"])
def test_page_renders_with_charts_and_fits(pages, name, width):
    w, h, rows = screenshot(pages[name], width)
    assert w == width
    # Non-blank: a page of some length, ink on a real share of it, in many colours.
    blank = bytes(WHITE) * w
    length = max(y for y, row in enumerate(rows) if row != blank) + 1 if any(
        row != blank for row in rows) else 0
    assert length > 600
    sampled = [row[i:i + 3] for row in rows[:length:3] for i in range(0, 3 * w, 9)]
    assert sum(1 for p in sampled if p != b"\xff\xff\xff") > 0.03 * len(sampled)
    assert len(set(sampled)) > 20
    # Every chart colour is laid out as an area, not a line or nothing.
    for what, hex_colour in CHARTS[name].items():
        areas = boxes(rows, w, colour(hex_colour))
        assert any(bottom - top >= 5 and right - left >= 5 for top, bottom, left, right
                   in areas), f"{what} bars not drawn at {width} px"
    if name == "report":  # one funnel bar per stage the sample's deals reached (7)
        assert len(boxes(rows, w, colour(CHARTS["report"]["funnel"]))) == 7
    # Nothing runs into the right margin, on any row.
    edge = bytes(WHITE) * MARGIN
    assert all(row[3 * (w - MARGIN):] == edge for row in rows), \
        f"something reaches the right edge at {width} px"
    # The whole page was in the window.
    assert all(row == bytes(WHITE) * w for row in rows[-40:])


@pytest.mark.parametrize("width", [375, 1024])
@pytest.mark.parametrize("name", ["report", "forecast", "board", "digest", "costs",
                                  "customers"])
def test_nothing_paints_beyond_the_page_width(pages, name, width):
    page = pages[name]
    framed = page.with_name(f"{page.stem}-framed-{width}.html")
    frame = (f"<style>html {{ width: {width}px !important; background: #ff00ff !important; }}"
             f" body {{ background: #ffffff !important; }}</style></head>")
    framed.write_text(page.read_text().replace("</head>", frame, 1))
    w, h, rows = screenshot(framed, width, width + WIDER)
    beyond = bytes(MAGENTA) * (w - width - 1)
    spilled = [y for y, row in enumerate(rows) if row[3 * (width + 1):] != beyond]
    assert not spilled, f"painted beyond {width} px on rows {spilled[:5]}…"
    # And the check can see: the page itself is there, left of the line.
    assert pixel(rows, width // 2, 5) == WHITE
