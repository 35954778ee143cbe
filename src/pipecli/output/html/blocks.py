"""The building blocks of an HTML report: the page, sections, figures (a chart with its
caption), tables and headline tiles.

Made for three readers: a browser, a mail client and a printer. Mail clients drop a
page's <style> (or keep only some of it), so everything that matters for reading — table
borders, alignment, the cards' widths — is also an inline style; the <style> element adds
what only helps (print page breaks, the phone's smaller margins). Nothing is loaded from
anywhere: no script, no font, no image, no link, no url().

Every user text goes through esc() (html.escape with quotes, control characters shown
escaped) and sits in a <bdi>, so a right-to-left name never reorders the figures beside it.
"""

from __future__ import annotations

from typing import Any, Sequence

from pipecli.output.html.svg import FONTS, INK, MUTED, RULE, Drawn, esc
from pipecli.output.render import NUMERIC, Column, human_text

# Styles kept inline (mail clients) and named once here.
BODY = f"margin:0;padding:0;background:#ffffff;color:{INK};font-family:{FONTS};" \
       "font-size:15px;line-height:1.4"
PAGE = "max-width:1000px;margin:0 auto;padding:16px 14px 24px 14px;box-sizing:border-box"
H1 = "font-size:22px;line-height:1.25;margin:0 0 6px 0"
H2 = f"font-size:18px;margin:28px 0 10px 0;padding-bottom:4px;border-bottom:1px solid {RULE}"
NOTE = f"color:{MUTED};font-size:13px;margin:4px 0"
CARD = "display:inline-block;vertical-align:top;box-sizing:border-box;max-width:100%;" \
       "margin:0 0 14px 0"
# The gap to the next card is padding inside the card's width: a margin beside width:100%
# would push a phone's page sideways.
CHART_CARD = "display:inline-block;vertical-align:top;box-sizing:border-box;width:100%;" \
             "margin:0 0 14px 0;padding:0 20px 0 0"
SCROLL = "overflow-x:auto;max-width:100%"
TABLE = "border-collapse:collapse;font-size:14px;margin:0"
TH = f"text-align:left;padding:4px 7px;border-bottom:2px solid {RULE};font-weight:600;" \
     "vertical-align:bottom;white-space:nowrap"
# Text wraps between words only (a word is never split to squeeze a table: the table then
# scrolls in its box); a word longer than the page, such as a pasted URL, breaks.
TD = "padding:4px 7px;border-bottom:1px solid #edf2f7;vertical-align:top;" \
     "overflow-wrap:break-word"
TILE = f"display:inline-block;vertical-align:top;box-sizing:border-box;width:160px;" \
       f"max-width:100%;margin:0 10px 10px 0;padding:8px 10px;border:1px solid {RULE};" \
       "border-radius:6px"

# What only helps, where a <style> is kept: phones, print.
STYLE = """
bdi { unicode-bidi: isolate; }
@media (max-width: 480px) {
  .page { padding: 12px 10px 20px 10px !important; }
  h1 { font-size: 19px !important; }
}
@media print {
  body { font-size: 11pt !important; }
  .page { max-width: none !important; padding: 0 !important; }
  figure, .tile, tr { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  svg { max-width: 100% !important; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def user(text: Any) -> str:
    """User text in HTML: escaped, and isolated for bidi."""
    return f"<bdi>{esc(text)}</bdi>"


def heading(name: str, moment: str) -> str:
    """A page's heading: the name (user text) and the moment, which never breaks across
    lines ("2026-" / "11-20")."""
    return f'{user(name)} — <span style="white-space:nowrap">{esc(moment)}</span>'


def page(title: str, heading: str, lines: Sequence[str], body: Sequence[str],
         footer: str) -> str:
    """A whole HTML document: its <title> (text), the heading, the lines under it, the
    sections and a footer line (HTML, escaped where they were made)."""
    lead = "".join(f'<p style="{NOTE}">{line}</p>' for line in lines)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body style="{BODY}">\n<div class="page" style="{PAGE}">\n'
        f'<header><h1 style="{H1}">{heading}</h1>{lead}</header>\n'
        + "\n".join(body)
        + f'\n<footer><p style="{NOTE};margin-top:28px">{footer}</p></footer>\n'
        "</div>\n</body>\n</html>\n")


def section(heading: str, *parts: str, note: str = "") -> str:
    """A titled part of the page (parts: figures, tables, tiles — HTML already)."""
    lead = f'<p style="{NOTE}">{esc(note)}</p>' if note else ""
    return (f'<section><h2 style="{H2}">{esc(heading)}</h2>{lead}'
            + "".join(parts) + "</section>")


def figure(chart: Drawn, max_width: int = 420) -> str:
    """A chart under its title, in a card at most `max_width` px wide: beside the next card
    on a wide page, alone on a phone."""
    return (f'<figure style="{CHART_CARD};max-width:{max_width}px">'
            f'<figcaption style="font-weight:600;font-size:14px;margin:0 0 6px 0">'
            f"{user(chart.title)}</figcaption>{chart.svg}</figure>")


def table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], currency: str,
          footer: Sequence[Any] | None = None, caption: str = "") -> str:
    """A table whose cells are what `-o plain` prints (render.human_text), in a box that
    scrolls sideways on its own when it is wider than the page."""
    align = ["right" if c.kind in NUMERIC else "left" for c in columns]

    def cells(row, tag: str, extra: str = "") -> str:
        out = []
        for value, column, side in zip(row, columns, align):
            text = human_text(value, column.kind, currency, sep="\n")
            inner = "<br>".join(esc(part) for part in text.split("\n"))
            if column.kind == "text" and value not in (None, ""):
                inner = f"<bdi>{inner}</bdi>"
            keep = ";white-space:nowrap" if column.kind != "text" else ""
            weight = ";font-weight:600" if column.bold and tag == "td" else ""
            out.append(f'<{tag} style="{TD}{extra};text-align:{side}{keep}{weight}">'
                       f"{inner}</{tag}>")
        return "".join(out)

    head = "".join(f'<th style="{TH};text-align:{side}">{esc(c.header)}</th>'
                   for c, side in zip(columns, align))
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    if footer is not None:
        body += f"<tr>{cells(footer, 'td', f';font-weight:600;border-top:2px solid {RULE}')}</tr>"
    cap = f'<caption style="{NOTE};text-align:left;caption-side:top">{esc(caption)}</caption>' \
        if caption else ""
    return (f'<div style="{CARD}"><div style="{SCROLL}"><table style="{TABLE}">{cap}'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></div>")


def tiles(items: Sequence[tuple[str, str, str]]) -> str:
    """Headline figures as tiles: (label, the figure, a line of detail)."""
    out = []
    for label, value, detail in items:
        out.append(
            f'<div class="tile" style="{TILE}">'
            f'<div style="{NOTE};margin:0">{esc(label)}</div>'
            f'<div style="font-size:18px;font-weight:600">{esc(value)}</div>'
            + (f'<div style="{NOTE};margin:0">{esc(detail)}</div>' if detail else "")
            + "</div>")
    return f'<div style="margin:0 0 6px 0">{"".join(out)}</div>'
