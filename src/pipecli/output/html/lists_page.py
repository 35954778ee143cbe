"""`pipe forecast -o html` and `pipe board -o html`: one self-contained page each, from
the commands' pure values (engine Forecast and Board) and the filters they were given.
One function per section, as in report_page."""

from __future__ import annotations

from pipecli.engine.figures import Currencies, Filters
from pipecli.output.html import charts
from pipecli.output.html.blocks import (NOTE, RULE, esc, figure, heading, page, section,
                                        table, user)
from pipecli.output.html.page import (Beside, footer, lead_lines, probability_parts,
                                      title_text)
from pipecli.output.render import Column
from pipecli.output.shown import deal_value, money_cell, money_plain, timeline_brief

EXTRA = (("slipped", "Slipped (close date passed)"), ("no_close_date", "No close date"),
         ("later", "Later (beyond the horizon)"))


def _cur(value) -> Currencies:
    p = value.pipeline
    return value.currencies or Currencies(p.currency, (p.currency,))


def _cell(x, name: str, cur: Currencies):
    return money_cell(getattr(x, name), x.parts, name, cur)


# -- the forecast -------------------------------------------------------------------------


def forecast_heading(f) -> tuple[str, str]:
    """The forecast's title, as the terminal's: pipeline and currency, and the day."""
    cur = _cur(f)
    return (f"{f.pipeline.label} forecast ({cur.label or ', '.join(cur.present)})",
            f"as of {f.as_of.strftime('%Y-%m-%d')}")


def forecast_months_section(f, beside: Beside) -> str:
    """The chart by close month (one per currency when amounts are not added) and the
    table of months and of the open deals outside them."""
    cur = _cur(f)
    figures = [figure(charts.forecast_by_month(
        f, code, "chart-forecast" + (f"-{code}" if code else "")))
        for code in charts.money_views(cur)]
    rows = [[m.month, m.open.count, _cell(m.open, "value", cur),
             _cell(m.open, "weighted_value", cur), m.won_count, _cell(m, "won_value", cur)]
            for m in f.months]
    rows += [[label, getattr(f, key).count, _cell(getattr(f, key), "value", cur),
              _cell(getattr(f, key), "weighted_value", cur), None, None]
             for key, label in EXTRA]
    columns = [Column("Close month", bold=True), Column("Deals", "number"),
               Column("Value", "money"), Column("Weighted", "money"),
               Column("Won", "number"), Column("Won value", "money")]
    return section("By expected close month", *figures,
                   table(columns, rows, cur.label or "", caption="Open deals by close month, "
                         "and what was won in each"),
                   note="Best case: every open deal closing that month is won. Weighted: "
                        "value × win probability. Won: the value already won that month.")


def forecast_deals_section(f, beside: Beside) -> str:
    """With --deals: the slipped and undated deals, listed."""
    cur, p = _cur(f), f.pipeline
    tables = []
    for key, label in EXTRA[:2]:
        deals = getattr(f, key).deals
        if deals:
            tables.append(table(
                [Column("ID", bold=True), Column("Name"), Column("Stage"),
                 Column("Value", "money"), Column("Close", "date")],
                [[t.id, t.name, timeline_brief(t, p)["stage_label"], deal_value(t, cur),
                  t.close_date] for t in deals], cur.label or "", caption=label))
    return section("Deals without a date ahead", *tables) if tables else ""


def forecast_probabilities_section(f, beside: Beside) -> str:
    """With --probability historical: the stage probabilities the forecast weighed by,
    beside the pipeline file's (the terminal's last table)."""
    parts = probability_parts(beside)
    return section("Stage probabilities used (historical)", *parts,
                   note="The observed share of each stage, where its sample reaches the "
                        "floor; else the pipeline file's.") if parts else ""


FORECAST_SECTIONS = (forecast_months_section, forecast_deals_section,
                     forecast_probabilities_section)


def forecast_page(f, filters: Filters | None, beside: Beside = Beside()) -> str:
    """The whole forecast as one HTML document; `beside`: the stage probabilities used,
    with --probability historical."""
    name, moment = forecast_heading(f)
    body = [html for html in (make(f, beside) for make in FORECAST_SECTIONS) if html]
    return page(title_text(f"{name} — {moment}", filters, dated=False),
                heading(name, moment), lead_lines(filters, _cur(f), dated=False), body,
                footer("pipe forecast"))


# -- the board ----------------------------------------------------------------------------

# Five columns side by side on a 1024 px screen; one under another on a phone.
BOARD_CARD = ("display:inline-block;vertical-align:top;box-sizing:border-box;width:182px;"
              f"max-width:100%;margin:0 8px 12px 0;padding:8px 10px;border:1px solid {RULE};"
              "border-radius:6px")
DEAL = "margin:6px 0 0 0;padding-top:6px;border-top:1px solid #edf2f7;overflow-wrap:anywhere"


def board_heading(board) -> tuple[str, str]:
    """The board's title, as the terminal's: pipeline and currency, and the moment."""
    cur = board.currencies
    return (f"{board.pipeline.label} ({cur.label or ', '.join(cur.present)})",
            f"open deals as of {board.as_of.strftime('%Y-%m-%d %H:%M')}")


def board_chart_section(board) -> str:
    """The open pipeline by stage: value and weighted value per column."""
    cur = board.currencies
    return section("Value by stage", *(figure(charts.pipeline_by_stage(
        board.columns, cur, code, "chart-pipeline" + (f"-{code}" if code else "")))
        for code in charts.money_views(cur)))


def _column_card(c, board) -> str:
    """One stage as a card: its figures, then its first deals and "+N more"."""
    cur = board.currencies
    value = charts.money_figure(c, "value", cur, None)
    weighted = charts.money_figure(c, "weighted_value", cur, None)
    deals = []
    for t in c.deals:
        amount = deal_value(t, cur)
        shown = "–" if amount is None else money_plain(amount, cur.label or "")
        deals.append(f'<div style="{DEAL}">{user(t.name)}<br><span style="{NOTE}">'
                     f'<code>{esc(t.id)}</code> · {esc(shown)}'
                     + (f" · {user(t.owner)}" if t.owner else "") + "</span></div>")
    if c.more:
        deals.append(f'<div style="{DEAL};{NOTE}">+{c.more} more</div>')
    return (f'<div style="{BOARD_CARD}"><div style="font-weight:600">{user(c.label)}</div>'
            f'<div style="{NOTE};margin:0">{charts.deals(c.count)} · {c.probability}%<br>'
            f"value {esc(value)}<br>weighted {esc(weighted)}</div>" + "".join(deals)
            + "</div>")


def board_columns_section(board) -> str:
    """The kanban: a card per open stage, wrapping onto more rows as the page narrows."""
    from pipecli.output.board_view import order_line

    cards = "".join(_column_card(c, board) for c in board.columns)
    t, cur = board.totals, board.currencies
    total = (f"Open pipeline: {charts.deals(t.count)}, value "
             f"{charts.money_figure(t, 'value', cur, None)}, weighted "
             f"{charts.money_figure(t, 'weighted_value', cur, None)}")
    return section("Board", f"<div>{cards}</div>", f'<p style="{NOTE}">{esc(total)}</p>',
                   note=order_line(board))


BOARD_SECTIONS = (board_columns_section, board_chart_section)


def board_page(board, filters: Filters | None) -> str:
    """The whole board as one HTML document."""
    name, moment = board_heading(board)
    if board.totals.count:
        body = [html for html in (make(board) for make in BOARD_SECTIONS) if html]
    else:
        from pipecli.output.board_view import empty_sentence

        body = [f"<p>{esc(empty_sentence(board))}</p>"]
    return page(title_text(f"{name} — {moment}", filters, dated=False),
                heading(name, moment), lead_lines(filters, board.currencies, dated=False),
                body, footer("pipe board"))
