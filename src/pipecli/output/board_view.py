"""`pipe board` shown: on a terminal (the table format) the open stages side by side as the
columns of a kanban, fitted to the width; elsewhere a section per stage (plain, markdown),
one row per shown deal (csv, tsv) or the documented JSON shape (docs/json.md).

On the terminal a figure (a count, an amount, an id, "+N more") is never cut: every column
is at least as wide as the widest one, and when the stages do not fit side by side they
wrap into several rows of columns (a single column wider than the terminal runs past its
edge). Names and stage labels are text: one line each, shortened with an ellipsis when
longer than the column (`-o plain` and `pipe show` give them whole)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from pipecli.engine.board import Board
from pipecli.engine.figures import Currencies, weighted
from pipecli.output import render
from pipecli.output.render import Column, Document, View, shown
from pipecli.output.shown import (currency_note, currency_payload, deal_value, money_cell,
                                  money_plain, put_money, timeline_brief)
from pipecli.values import round_money

# How each sort orders a column's deals, in words: (as given, with --reverse).
ORDER_WORDS = {
    "value": ("by value, largest first", "by value, smallest first"),
    "updated": ("least recently updated first", "most recently updated first"),
    "created": ("oldest first", "newest first"),
    "close": ("by close date, soonest first", "by close date, latest first"),
    "name": ("by name, A to Z", "by name, Z to A"),
}
SEPARATOR = " │ "
COMFORTABLE = 16  # a column narrower than this makes the board wrap into more rows first
NAME_FLOOR = 10  # names and labels are shortened (…) down to this many cells
WIDEST = 32  # columns never grow wider than this: longer names are shortened


def emit_board(board: Board, fmt: str | None) -> None:
    """Print the board in the chosen format (the default depends on where stdout goes)."""
    fmt = fmt or render.default_format()
    if fmt in ("table", "plain", "markdown") and not board.totals.count:
        render.out(empty_sentence(board))
    elif fmt == "table":
        emit_kanban(board)
    else:
        render.emit_document(board_document(board, fmt), fmt)


def empty_sentence(board: Board) -> str:
    """What the human formats say for a board without a deal."""
    return "No open deals match the filters." if board.filtered else "No open deals."


def title(board: Board) -> str:
    """The board's first line: pipeline, currency and moment."""
    cur = board.currencies
    return (f"{board.pipeline.label} ({cur.label or ', '.join(cur.present)}) — open deals "
            f"as of {board.as_of.strftime('%Y-%m-%d %H:%M')}")


def order_line(board: Board) -> str:
    """How many deals each column shows, and in which order."""
    if not board.limit:
        return "Each stage's figures only (-n N shows its first N deals)."
    words = ORDER_WORDS[board.sort][1 if board.reverse else 0]
    return f"Up to {board.limit} deal{'s' if board.limit != 1 else ''} per stage, {words}."


def _deals(n: int) -> str:
    return f"{n} deal{'s' if n != 1 else ''}"


def _money_lines(amount, parts: dict, name: str, cur: Currencies) -> list[str]:
    """A money figure for people, one line per currency when amounts are not added."""
    cell = money_cell(amount, parts, name, cur)
    return money_plain(cell, cur.label or "").split("; ") if cell is not None else ["–"]


def _deal_weighted(t, board: Board):
    """A deal's weighted value, rounded to its currency's minor units."""
    return round_money(weighted(t, board.pipeline), t.currency or board.pipeline.currency)


# -- JSON, csv/tsv, plain and markdown: one Document --------------------------------------


def board_payload(board: Board) -> dict:
    """The JSON object of `pipe board -o json` (docs/json.md)."""
    cur, p = board.currencies, board.pipeline

    def deal(t) -> dict:
        brief = timeline_brief(t, p)
        own = t.probability
        stage = p.stage(t.stage)
        return dict(brief, probability=own if own is not None else stage.probability,
                    company=t.company, created_at=t.created_at, updated_at=t.last_change_at)

    def column(c) -> dict:
        out = {"key": c.key, "label": c.label, "probability": c.probability, "count": c.count}
        put_money(out, "value", c.value, c.parts, cur)
        put_money(out, "weighted_value", c.weighted_value, c.parts, cur)
        out.update(more=c.more, deals=[deal(t) for t in c.deals])
        return out

    totals = {"count": board.totals.count}
    put_money(totals, "value", board.totals.value, board.totals.parts, cur)
    put_money(totals, "weighted_value", board.totals.weighted_value, board.totals.parts, cur)
    return {"pipeline": p.name, "label": p.label, "currency": cur.label,
            **currency_payload(cur), "as_of": board.as_of, "sort": board.sort,
            "reverse": board.reverse, "limit": board.limit,
            "columns": [column(c) for c in board.columns], "totals": totals}


def _flat(board: Board) -> View:
    """csv/tsv: one row per shown deal, with its stage and place in the column."""
    p = board.pipeline
    columns = [Column(h, k) for h, k in (
        ("stage", "text"), ("stage_label", "text"), ("place", "number"), ("id", "text"),
        ("name", "text"), ("value", "money"), ("currency", "text"),
        ("weighted_value", "money"), ("probability", "number"), ("close_date", "date"),
        ("owner", "text"), ("company", "text"))]
    rows = []
    for c in board.columns:
        for place, t in enumerate(c.deals, start=1):
            rows.append([c.key, c.label, place, t.id, t.name, t.value,
                         t.currency or p.currency, _deal_weighted(t, board),
                         t.probability if t.probability is not None else c.probability,
                         t.close_date, t.owner, t.company])
    return View(columns, rows, None)


def _summary(c, board: Board) -> str:
    cur = board.currencies
    value = "; ".join(_money_lines(c.value, c.parts, "value", cur))
    weighted_value = "; ".join(_money_lines(c.weighted_value, c.parts, "weighted_value", cur))
    return f"{_deals(c.count)}, value {value}, weighted {weighted_value}"


def board_document(board: Board, fmt: str) -> Document:
    """Plain and markdown: a section per stage (a heading with its figures, then its deals
    as a table and "+N more"); csv/tsv: the shown deals; json: board_payload."""
    cur = board.currencies
    markdown = fmt == "markdown"

    def text(value: str) -> str:  # a table cell: a | would end it in Markdown
        return value.replace("|", "\\|") if markdown else value

    sections: list = [title(board), [order_line(board)] + (currency_note(cur) if cur.several
                                                          else [])]
    for c in board.columns:
        heading = f"{c.label} ({c.probability}%) — {_summary(c, board)}"
        if not c.deals:
            sections.append([f"## {heading}" if markdown else heading]
                            + ([f"+{c.more} more"] if c.more else []))
            continue
        rows = [[t.id, text(t.name), deal_value(t, cur),
                 {t.currency: _deal_weighted(t, board)} if cur.several
                 else _deal_weighted(t, board), t.close_date, text(t.owner)]
                for t in c.deals]
        more = [f"+{c.more} more"] if c.more else []
        sections.append(View(
            [Column("ID", bold=True), Column("Name"), Column("Value", "money"),
             Column("Weighted", "money"), Column("Close", "date"), Column("Owner")],
            rows, None, title=heading, currency=cur.label or "",
            # Markdown: a line right under a table would be read as one more row.
            notes=([""] + more if markdown and more else more)))
    sections.append([f"Open pipeline: {_summary(board.totals, board)}"])
    return Document(sections, board_payload(board), _flat(board))


# -- the terminal: columns side by side ------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A line of a board column before it is laid out at a width: `text` (shortened with an
    ellipsis when too long), `fixed` (a figure: never cut), `pair` (a word and a figure on
    one line, or on two when they do not fit side by side) or `rule`."""

    kind: str
    left: str = ""
    right: str = ""
    style: str | None = None
    flush_right: bool = False  # a fixed piece under a figure (another currency's amount)


def column_pieces(c, board: Board) -> tuple[list[Piece], list[Piece]]:
    """A column's head (label and figures) and body (its deals, then "+N more")."""
    cur = board.currencies
    head = [Piece("text", shown(c.label), style="bold"),
            Piece("pair", _deals(c.count), f"{c.probability}%")]
    for word, amount, name in (("value", c.value, "value"),
                               ("weighted", c.weighted_value, "weighted_value")):
        lines = _money_lines(amount, c.parts, name, cur)
        head.append(Piece("pair", word, lines[0]))
        head += [Piece("fixed", line, flush_right=True) for line in lines[1:]]
    body = []
    for t in c.deals:
        value = deal_value(t, cur)
        amount = "–" if value is None else money_plain(value, cur.label or "")
        body += [Piece("text", shown(t.name)), Piece("pair", t.id, amount, style="dim")]
    if c.more:
        body.append(Piece("fixed", f"+{c.more} more", style="dim"))
    return head, body


def _least(pieces: list[Piece]) -> int:
    """The narrowest a column may be without cutting a figure."""
    widths = [NAME_FLOOR]
    for p in pieces:
        if p.kind == "fixed":
            widths.append(cell_len(p.left))
        elif p.kind == "pair":
            widths += [cell_len(p.left), cell_len(p.right)]
    return max(widths)


def _unsplit(pieces: list[Piece]) -> int:
    """The width at which every word stays on one line with its figure."""
    return max([0] + [cell_len(p.left) + 1 + cell_len(p.right) for p in pieces
                      if p.kind == "pair"])


def _natural(pieces: list[Piece]) -> int:
    """The width at which nothing in a column is shortened or split."""
    widths = [0]
    for p in pieces:
        if p.kind in ("text", "fixed"):
            widths.append(cell_len(p.left))
        elif p.kind == "pair":
            widths.append(cell_len(p.left) + 1 + cell_len(p.right))
    return max(widths)


def layout(count: int, least: int, unsplit: int, natural: int,
           room: int) -> tuple[int, int]:
    """How many board columns go side by side in a row, and how wide each is, for `count`
    columns in `room` terminal cells: as many side by side as fit at a comfortable width
    (every figure on one line with its word, names not shortened below 16 cells), the rows
    as evenly filled as possible; never narrower than `least` (one column narrower than
    that runs past the terminal's edge)."""
    gap = cell_len(SEPARATOR)
    comfortable = max(least, unsplit, min(COMFORTABLE, natural))
    across = max(1, min(count, (room + gap) // (comfortable + gap)))
    rows = -(-count // across)
    across = -(-count // rows)  # 5 stages by 4 across: rows of 3 and 2, not 4 and 1
    width = max(least, min(max(natural, comfortable), WIDEST,
                           (room - gap * (across - 1)) // across))
    return across, width


def _lines(pieces: list[Piece], width: int) -> list[list[tuple[str, str | None]]]:
    """Pieces laid out at `width`: each line a list of (text, style) filling `width` cells."""
    out = []
    for p in pieces:
        if p.kind == "rule":
            out.append([("─" * width, "dim")])
        elif p.kind == "text":
            text = p.left
            if cell_len(text) > width:
                text = set_cell_size(text, width - 1).rstrip() + "…"
            out.append([(set_cell_size(text, width), p.style)])
        elif p.kind == "fixed":
            text = " " * (width - cell_len(p.left)) + p.left if p.flush_right else p.left
            out.append([(set_cell_size(text, width), p.style)])
        elif cell_len(p.left) + 1 + cell_len(p.right) <= width:
            gap = " " * (width - cell_len(p.left) - cell_len(p.right))
            out.append([(p.left, p.style), (gap + p.right, None)])
        else:  # the word, then the figure under it (each fits alone: see _least)
            out.append([(set_cell_size(p.left, width), p.style)])
            out.append([(" " * (width - cell_len(p.right)) + p.right, None)])
    return out


def kanban(board: Board, room: int) -> list[list[tuple[str, str | None]]]:
    """The board's columns laid out for a terminal `room` cells wide: lines of
    (text, style) pieces. In each row of columns the heads are the same height, so the
    deals start on one line."""
    pieces = [column_pieces(c, board) for c in board.columns]
    every = [p for head, body in pieces for p in head + body]
    across, width = layout(len(pieces), _least(every), _unsplit(every), _natural(every),
                           room)
    blank = [(" " * width, None)]
    out: list = []
    for start in range(0, len(pieces), across):
        row = pieces[start:start + across]
        heads = [_lines(head, width) for head, _ in row]
        tall = max(len(h) for h in heads)
        blocks = [h + [blank] * (tall - len(h)) + _lines([Piece("rule")] + body, width)
                  for h, (_, body) in zip(heads, row)]
        if out:
            out.append([])
        for i in range(max(len(b) for b in blocks)):
            line: list = []
            for k, block in enumerate(blocks):
                if k:
                    line.append((SEPARATOR, "dim"))
                line += block[i] if i < len(block) else blank
            out.append(line)
    return out


def emit_kanban(board: Board) -> None:
    """Draw the board on the terminal (Rich; `COLUMNS` overrides the width)."""
    from rich.text import Text

    con = render.console()
    lines = kanban(board, con.width)
    needed = max((sum(cell_len(text) for text, _ in line) for line in lines), default=0)
    if needed > con.width:  # one column wider than the terminal: run past the edge
        con = render.console(width=needed)
    cur = board.currencies
    con.print(Text(shown(title(board)), style="bold"))
    for note in [order_line(board)] + (currency_note(cur) if cur.several else []):
        con.print(Text(note))
    con.print()
    for line in lines:
        text = Text()
        for part, style in line:
            text.append(part, style=style)
        text.rstrip()
        con.print(text, no_wrap=True, crop=False)
    con.print()
    con.print(Text(f"Open pipeline: {_summary(board.totals, board)}"))
