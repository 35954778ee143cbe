"""`pipe report -o html`: the pipeline report as one self-contained page.

One function per section, each taking the report's pure value (engine PipelineReport) and
what the command computed beside it (page.Beside: the stage probabilities) and returning
its HTML; REPORT_SECTIONS lists them in page order, so a new section (costs, lifetime
value) is one function and one entry there.
"""

from __future__ import annotations

from pipecli.engine.figures import Currencies, PipelineReport
from pipecli.output.html import charts
from pipecli.output.html import blocks
from pipecli.output.html.blocks import figure, page, section, table, tiles
from pipecli.output.html.page import (Beside, footer, lead_lines, probability_parts,
                                      title_text)
from pipecli.output.render import Column
from pipecli.output.shown import days_text, money_cell, money_text, pct_text


def _cur(report: PipelineReport) -> Currencies:
    p = report.pipeline
    return report.currencies or Currencies(p.currency, (p.currency,))


def _cell(x, name: str, cur: Currencies):
    """A money cell as the terminal's tables hold it (output.shown.money_cell)."""
    return money_cell(getattr(x, name), x.parts, name, cur)


def _money(x, name: str, cur: Currencies) -> str:
    """A money figure with its currency ("270,355 USD"), "–" when undefined."""
    return money_text(_cell(x, name, cur), cur.label or "") or "–"


def heading(report: PipelineReport) -> tuple[str, str]:
    """The report's title, as the terminal's first line: the pipeline and its currency,
    and the moment."""
    p, cur = report.pipeline, _cur(report)
    return (f"{p.label} ({cur.label or ', '.join(cur.present)})",
            f"as of {report.as_of.strftime('%Y-%m-%d %H:%M')}")


def headline_section(report: PipelineReport, beside: Beside) -> str:
    """The headline figures as tiles: open pipeline, won, lost, rates, deal size, cycle,
    velocity (the terminal's summary lines)."""
    t, cur = report.totals, _cur(report)
    velocity = _money(t, "velocity_per_day", cur)
    items = [
        ("Open pipeline", _money(t, "open_value", cur),
         f"{charts.deals(t.open_count)}, weighted {_money(t, 'weighted_value', cur)}"),
        ("Won", _money(t, "won_value", cur), charts.deals(t.won_count)),
        ("Lost", _money(t, "lost_value", cur), charts.deals(t.lost_count)),
        ("Win rate", pct_text(t.win_rate), "won ÷ (won + lost)"),
        ("Conversion to won", pct_text(t.conversion_to_won),
         f"{t.reached_won} of the {charts.deals(t.entered)} that entered the funnel"),
        ("Average won deal", _money(t, "avg_won_value", cur), ""),
        ("Sales cycle", days_text(t.avg_cycle_days),
         f"mean, creation to win; median {days_text(t.median_cycle_days)}"),
        ("Velocity", velocity, "a day, expected from the open pipeline"
         if velocity != "–" else ""),
    ]
    if t.handed_off or t.returned:
        items.append(("Hand-off", f"{t.handed_off} handed on",
                      f"{t.returned} returned to this pipeline"))
    return section("Where the pipeline stands", tiles(items))


def funnel_section(report: PipelineReport, beside: Beside) -> str:
    """The funnel chart and the stage flow table (reached, conversion, drop-off, cumulative
    conversion, conversion to won, days), counted in the report's conversion mode."""
    cur = _cur(report)
    flow = [s for s in report.stages if s.reached is not None]
    rows = [[s.label, s.reached, _cell(s, "reached_value", cur), s.conversion, s.drop_off,
             s.cumulative_conversion, s.conversion_to_won, s.avg_days_in_stage,
             s.median_days_in_stage] for s in flow]
    columns = [Column("Stage", bold=True), Column("Reached", "number"),
               Column("Value", "money"), Column("Conv.", "rate"),
               Column("Drop-off", "number"), Column("Cumul.", "rate"),
               Column("To won", "rate"), Column("Avg days", "days"),
               Column("Median", "days")]
    return section(
        "Funnel", figure(charts.funnel(report)),
        table(columns, rows, cur.label or "",
              caption=f"Stage flow ({report.conversion.reached_means}; days = completed "
                      f"stays)"),
        note="Converted: the share of the stage before's deals; cumulative: the share of "
             "the first stage's; to won: the share of this stage's deals that were won.")


def pipeline_section(report: PipelineReport, beside: Beside) -> str:
    """The open pipeline by stage (value and weighted) and every stage's deals now."""
    cur = _cur(report)
    open_stages = [s for s in report.stages if s.outcome is None]
    charts_html = [figure(charts.pipeline_by_stage(
        open_stages, cur, code, "chart-pipeline" + (f"-{code}" if code else "")))
        for code in charts.money_views(cur)]
    t = report.totals
    rows = [[s.label, s.probability, s.count, _cell(s, "value", cur),
             _cell(s, "weighted_value", cur), s.avg_age_days] for s in report.stages]
    columns = [Column("Stage", bold=True), Column("Prob.", "percent"),
               Column("Deals", "number"), Column("Value", "money"),
               Column("Weighted", "money"), Column("Avg age", "days")]
    return section(
        "Pipeline now", *charts_html,
        table(columns, rows, cur.label or "", caption="Deals in each stage now",
              footer=["Open pipeline", None, t.open_count, _cell(t, "open_value", cur),
                      _cell(t, "weighted_value", cur), None]),
        note="Weighted value = value × the win probability (the deal's own, else its "
             "stage's).")


def outcomes_section(report: PipelineReport, beside: Beside) -> str:
    """Won and lost, by reason: a chart per currency view and the lost reasons table."""
    cur = _cur(report)
    parts = [figure(charts.outcomes_by_reason(
        report, code, "chart-outcomes" + (f"-{code}" if code else "")))
        for code in charts.money_views(cur)]
    if report.lost_reasons:
        parts.append(table(
            [Column("Lost reason"), Column("Deals", "number"), Column("Value", "money")],
            [[r.reason, r.count, _cell(r, "value", cur)] for r in report.lost_reasons],
            cur.label or "", caption="Lost, by reason"))
    return section("Won and lost", *parts)


def cycle_section(report: PipelineReport, beside: Beside) -> str:
    """The sales-cycle distribution of the won deals (only when the report has it)."""
    if report.cycle_bins is None:
        return ""
    return section("Sales cycle", figure(charts.cycle_distribution(report)),
                   note="Days from a won deal's creation to its win; each bar holds the "
                        "cycles from its first number of days up to (not including) its "
                        "second.")


def groups_section(report: PipelineReport, beside: Beside) -> str:
    """With --by: the groups as small multiples (one scale for all), then their table."""
    if not report.group_by:
        return ""
    cur = _cur(report)
    panels = []
    for code in charts.money_views(cur):
        panels += [figure(chart, max_width=300)
                   for chart in charts.group_multiples(report, code)]
    rows = [[name, g.open_count, _cell(g, "open_value", cur), _cell(g, "weighted_value", cur),
             g.won_count, _cell(g, "won_value", cur), g.lost_count, g.win_rate,
             g.conversion_to_won, _cell(g, "avg_won_value", cur), g.avg_cycle_days]
            for name, g in report.groups]
    columns = [Column(report.group_by.capitalize(), bold=True), Column("Open", "number"),
               Column("Open value", "money"), Column("Weighted", "money"),
               Column("Won", "number"), Column("Won value", "money"),
               Column("Lost", "number"), Column("Win rate", "rate"),
               Column("To won", "rate"), Column("Avg won", "money"),
               Column("Cycle", "days")]
    return section(f"By {report.group_by}",
                   "<div>" + "".join(panels) + "</div>",
                   table(columns, rows, cur.label or "", caption=f"By {report.group_by}"),
                   note="Each panel on the same scale, so their bars compare.")


def probabilities_section(report: PipelineReport, beside: Beside) -> str:
    """The stage probabilities given in the pipeline file beside those the history shows
    (the terminal report's last table; none with --all)."""
    parts = probability_parts(beside)
    if not parts:
        return ""
    return section("Stage probabilities: given and observed", *parts,
                   note="Observed: of the deals that passed the stage (reached it or a "
                        "later one) and have closed (within --since and --until when "
                        "given), the share that was won.")


REPORT_SECTIONS = (headline_section, funnel_section, pipeline_section, outcomes_section,
                   cycle_section, groups_section, probabilities_section)


def report_page(report: PipelineReport, beside: Beside = Beside()) -> str:
    """The whole report as one HTML document; `beside`: what the command computed beside
    the report (the stage probabilities)."""
    name, moment = heading(report)
    body = [html for html in (make(report, beside) for make in REPORT_SECTIONS) if html]
    return page(title_text(f"{name} — {moment}", report.filters),
                blocks.heading(name, moment), lead_lines(report.filters, _cur(report)), body,
                footer("pipe report"))
