"""`pipe costs -o html`: acquisition cost as one self-contained page — a chart of the cost
per lead and per won deal by source, then the terminal's two tables.

One function per section, each taking the report's pure value (engine CostReport) and
returning its HTML; COSTS_SECTIONS lists them in page order. The tables are the
terminal's (output.costs_view.tables), so every figure is formatted by the same code.
"""

from __future__ import annotations

from pipecli.engine.costs import CostReport
from pipecli.engine.figures import Filters
from pipecli.output import costs_view
from pipecli.output.html import charts
from pipecli.output.html.blocks import NOTE, esc, figure, heading, page, section, table
from pipecli.output.html.page import footer, title_text
from pipecli.output.render import View


def _view_parts(view: View) -> list[str]:
    """A view of the terminal's as a table with its notes under it (the notes alone when it
    has no rows)."""
    parts = [table(view.columns, view.rows, view.currency, footer=view.footer)] \
        if view.rows else []
    return parts + [f'<p style="{NOTE}">{esc(note)}</p>' for note in view.notes]


def chart_section(report: CostReport) -> str:
    """Cost per lead and per won deal (CAC) of each source and blended, as bars."""
    if not report.lines:
        return ""
    return section("Cost per lead and per won deal", figure(charts.acquisition_cost(report)),
                   note="Each source over the shown periods, then every source blended. A "
                        "cost not known for every period with leads, or no lead or no won "
                        "deal to divide by, shows – and no bar.")


def periods_section(report: CostReport) -> str:
    """The table by period and source (or the sentence that there is nothing to show)."""
    view = costs_view.tables(report)[0]
    return section(view.title, *_view_parts(view))


def totals_section(report: CostReport) -> str:
    """The totals per source with the blended row under them, and the legend."""
    views = costs_view.tables(report)
    return section(views[1].title, *_view_parts(views[1])) if len(views) > 1 else ""


COSTS_SECTIONS = (chart_section, periods_section, totals_section)


def costs_page(report: CostReport) -> str:
    """The whole acquisition-cost report as one HTML document; its title names the
    pipeline, the period kind, the moment, --since/--until and --source."""
    name, moment = costs_view.heading(report)
    filters = Filters(since=report.since, until=report.until, source=report.source)
    window = f"whole {report.kind}s overlapping {{since}} to {{until}}"
    body = [html for html in (make(report) for make in COSTS_SECTIONS) if html]
    return page(title_text(f"{name} — {moment}", filters, window=window),
                heading(name, moment), [esc(line) for line in costs_view.about_lines(report)],
                body, footer("pipe costs"))
