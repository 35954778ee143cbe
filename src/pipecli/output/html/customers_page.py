"""`pipe customers -o html`: customer lifetime value as one self-contained page — the
figures as tiles, a chart of the top customers' revenue and their table.

One function per section, each taking the report's pure value (engine CustomerReport)
and returning its HTML; CUSTOMERS_SECTIONS lists them in page order. The figures and the
table are the terminal's (output.customers_view), so every number is formatted once.
"""

from __future__ import annotations

from pipecli.engine.customers import CustomerReport
from pipecli.output import customers_view
from pipecli.output.html import charts
from pipecli.output.html.blocks import (NOTE, esc, figure, heading, page, section,
                                        table, tiles)
from pipecli.output.html.page import footer, lead_lines, title_text

WINDOW = "won {since} to {until}"
# The terminal's figures (customers_view.summary_figures' labels), headline ones first,
# with the names the tiles give them.
TILES = (("Customers", "Customers"), ("Per customer", "Revenue per customer"),
         ("Repeat rate", "Repeat rate"), ("Lifetime", "Average lifetime"),
         ("CLV", "Lifetime value (CLV)"), ("Revenue", "Revenue"),
         ("Won deals", "Won deals"), ("Avg order", "Average order"), ("Lapsed", "Lapsed"),
         ("Value/year", "Value per customer-year"))


def _bare(detail: str) -> str:
    """A figure's detail on its own (a tile's line): without the brackets or the colon
    that join it to the figure on the terminal's line."""
    detail = detail.strip()
    if detail.startswith("(") and detail.endswith(")"):
        detail = detail[1:-1]
    return detail.lstrip(": ")


def headline_section(r: CustomerReport) -> str:
    """Every figure as a tile, the headline ones first: customers, revenue per customer,
    repeat rate, average lifetime and CLV (with why it is undefined, when it is)."""
    if not r.figures.customers:
        return section("Customers", f"<p>{esc(customers_view.empty_sentence(r))}</p>")
    found = {label: (figure, _bare(detail))
             for label, figure, detail in customers_view.summary_figures(r)}
    return section("Customer lifetime value",
                   tiles([(name, *found[label]) for label, name in TILES]),
                   note="CLV = revenue ÷ lapsed customers: the value per customer-year × the "
                        "expected lifetime.")


def top_section(r: CustomerReport) -> str:
    """The top customers: their revenue as bars (a chart per currency when amounts of
    several currencies are not added), then the terminal's table (first and last win,
    status) with the count of the others; the sentence that none is listed with -n 0."""
    if not r.figures.customers:
        return ""
    if not r.top:
        return section("Top customers", f"<p>{esc(customers_view.unlisted_sentence(r))}</p>")
    cur, view = r.currencies, customers_view.top_view(r)
    title = "Revenue of each" + (f" ({cur.label})" if cur.label else "")
    return section(view.title, *(figure(charts.top_customers(r.top, cur, code, title))
                                 for code in charts.money_views(cur)),
                   table(view.columns, view.rows, view.currency),
                   *(f'<p style="{NOTE}">{esc(note)}</p>' for note in view.notes))


CUSTOMERS_SECTIONS = (headline_section, top_section)


def customers_page(r: CustomerReport) -> str:
    """The whole customer report as one HTML document; its title names the pipeline, what
    a customer is, the moment and the filters."""
    name, moment = customers_view.heading(r)
    per = f"per {r.per}"
    about = (f"A customer per {r.per}; lapsed: no win in the last {r.lapse_days} days; top "
             f"customers by {customers_view.SORTED_BY[r.sort]}.")
    body = [html for html in (make(r) for make in CUSTOMERS_SECTIONS) if html]
    return page(title_text(f"{name}, {per} — {moment}", r.filters, window=WINDOW),
                heading(f"{name}, {per}", moment),
                lead_lines(r.filters, r.currencies, window=WINDOW) + [esc(about)], body,
                footer("pipe customers"))
