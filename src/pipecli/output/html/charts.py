"""The report's charts, one function each, from the report's pure values (engine
PipelineReport, Forecast, Board): every figure in a label is formatted by the same code as
the terminal's (output.shown, values.format_money), never here.

Money of several currencies without rates is never added (docs/metrics.md, "Currencies"):
a money chart is then drawn once per currency (`money_views`), each to its own scale.
"""

from __future__ import annotations

from fractions import Fraction

from pipecli.engine.figures import Currencies
from pipecli.output.html.svg import Bar, Drawn, Row, Series, bar_chart
from pipecli.output.render import human_text
from pipecli.output.shown import days_text, money_cell, money_plain, part_of, pct_text
from pipecli.values import format_money

FUNNEL = Series("Deals that reached the stage", "#3182ce")
VALUE = Series("Value", "#90cdf4")
WEIGHTED = Series("Weighted value", "#2c5282")
BEST_CASE = Series("Best case (every open deal won)", "#90cdf4")
WON = Series("Won", "#38a169")
LOST = Series("Lost", "#e53e3e")
CYCLE = Series("Won deals", "#805ad5")
GIVEN = Series("Given in the pipeline file", "#fbd38d")
OBSERVED = Series("Observed: won of the closed", "#c05621")
PER_LEAD = Series("Cost per lead (CPL)", "#ed64a6")
PER_WON = Series("Cost per won deal (CAC)", "#97266d")
REVENUE = Series("Revenue", "#6b46c1")
# The digest's kinds of change, each bar in its own colour (the labels name them).
CHANGE_COLOURS = {"new": "#3182ce", "won": WON.colour, "lost": LOST.colour,
                  "forward": "#319795", "back": "#dd6b20", "slipped": "#d69e2e",
                  "overdue": "#718096"}


def money_views(cur: Currencies) -> list[str | None]:
    """The currencies money charts are drawn in: [None] (one chart: one currency, or
    converted to the pipeline's) or each currency present (amounts not added)."""
    return list(cur.present) if cur.split else [None]


def amount(x, name: str, cur: Currencies, code: str | None):
    """The size of a money bar: the figure as shown (rounded when computed), or in one
    currency of a split report that currency's part; None when there is no one amount."""
    if code is not None:
        return part_of(x, name, code)
    cell = money_cell(getattr(x, name), x.parts, name, cur)
    return None if isinstance(cell, dict) else cell


def money_figure(x, name: str, cur: Currencies, code: str | None) -> str:
    """A money figure exactly as the terminal's tables show it (without the currency,
    which the chart's title names)."""
    if code is not None:
        part = part_of(x, name, code)
        return format_money(part, code) if part is not None else format_money(0, code)
    cell = money_cell(getattr(x, name), x.parts, name, cur)
    return "–" if cell is None else money_plain(cell, cur.label or "")


def deals(n: int) -> str:
    """"1 deal", "3 deals"."""
    return f"{n} deal{'s' if n != 1 else ''}"


def _size(value) -> float | None:
    return None if value is None else float(value)


def funnel(report) -> Drawn:
    """Deals that reached each stage of the funnel, with their value, the conversion from
    the stage before and the drop-off (the stage flow table's figures)."""
    cur = report.currencies
    rows = []
    for s in report.stages:
        if s.reached is None:  # a lost stage is not a step of the funnel
            continue
        note = [f"value {money_figure(s, 'reached_value', cur, None)}"]
        if s.conversion is not None:
            note.append(f"{pct_text(s.conversion)} converted")
        if s.drop_off is not None:
            note.append(f"{s.drop_off} dropped off")
        rows.append(Row(s.label, (Bar(0, s.reached, str(s.reached)),), " · ".join(note)))
    from pipecli.output.report_views import funnel_title

    return bar_chart(funnel_title(report), rows, [FUNNEL],
                     empty="No deal has entered the funnel.", chart_id="chart-funnel")


def pipeline_by_stage(stages, cur: Currencies, code: str | None, chart_id: str) -> Drawn:
    """Open deals per stage: value and weighted value. `stages` are the report's open
    stage lines or the board's columns (both have label, count, probability, value,
    weighted_value and parts)."""
    rows = [Row(s.label, (
        Bar(0, _size(amount(s, "value", cur, code)), money_figure(s, "value", cur, code)),
        Bar(1, _size(amount(s, "weighted_value", cur, code)),
            money_figure(s, "weighted_value", cur, code))),
        f"{deals(s.count)} · {s.probability}% probability") for s in stages]
    return bar_chart(_in("Open pipeline by stage", code), rows, [VALUE, WEIGHTED],
                     empty="No open deal.", chart_id=chart_id)


def forecast_by_month(forecast, code: str | None, chart_id: str) -> Drawn:
    """Per close month: the best case (every open deal closing then is won), the weighted
    value, and the value already won in the month; then the open deals outside the months
    (slipped, undated, later) when there are any."""
    cur = forecast.currencies
    rows = []
    for m in forecast.months:
        rows.append(Row(m.month, (
            Bar(0, _size(amount(m.open, "value", cur, code)),
                money_figure(m.open, "value", cur, code)),
            Bar(1, _size(amount(m.open, "weighted_value", cur, code)),
                money_figure(m.open, "weighted_value", cur, code)),
            Bar(2, _size(amount(m, "won_value", cur, code)),
                money_figure(m, "won_value", cur, code))),
            f"{deals(m.open.count)} open, expected to close · {deals(m.won_count)} won"))
    # Open deals outside the months are part of the forecast too: a slipped deal is still
    # open (and often the largest row).
    for label, b in (("Slipped (close date passed)", forecast.slipped),
                     ("No close date", forecast.no_close_date),
                     ("Later (beyond the horizon)", forecast.later)):
        if b.count:
            rows.append(Row(label, (
                Bar(0, _size(amount(b, "value", cur, code)), money_figure(b, "value", cur, code)),
                Bar(1, _size(amount(b, "weighted_value", cur, code)),
                    money_figure(b, "weighted_value", cur, code))), f"{deals(b.count)} open"))
    return bar_chart(_in("Forecast by close month", code), rows, [BEST_CASE, WEIGHTED, WON],
                     empty="Nothing open or won in these months.", chart_id=chart_id)


def outcomes_by_reason(report, code: str | None, chart_id: str) -> Drawn:
    """Won and lost (deals closed in the report's window), then the lost ones by reason;
    each bar its value, its label the deal count and value."""
    cur, t = report.currencies, report.totals
    rows = [Row("Won", (Bar(0, _size(amount(t, "won_value", cur, code)),
                            money_figure(t, "won_value", cur, code)),), deals(t.won_count)),
            Row("Lost", (Bar(1, _size(amount(t, "lost_value", cur, code)),
                             money_figure(t, "lost_value", cur, code)),),
                deals(t.lost_count) + (", by reason below" if report.lost_reasons else ""))]
    rows += [Row(f"Lost: {r.reason}", (Bar(1, _size(amount(r, "value", cur, code)),
                                           money_figure(r, "value", cur, code)),),
                 deals(r.count)) for r in report.lost_reasons]
    return bar_chart(_in("Won and lost, by reason", code), rows, [WON, LOST],
                     chart_id=chart_id)


def bin_label(low: int, high: int | None) -> str:
    """A sales-cycle bin in words: "under 7 days", "7–14 days", "365 days or more"."""
    if high is None:
        return f"{low} days or more"
    return f"under {high} days" if low == 0 else f"{low}–{high} days"


def cycle_distribution(report) -> Drawn:
    """How many won deals took how long from creation to win, in fixed bins of days."""
    bins = report.cycle_bins or ()
    total = sum(b.count for b in bins)
    rows = [Row(bin_label(b.low, b.high),
                (Bar(0, b.count, f"{deals(b.count)}" + (
                    f" ({pct_text(Fraction(b.count, total))})" if total else "")),))
            for b in bins]
    t = report.totals
    title = (f"Sales cycle of the won deals: {days_text(t.avg_cycle_days)} mean, "
             f"{days_text(t.median_cycle_days)} median")
    return bar_chart(title, rows, [CYCLE], empty="No won deal yet.", chart_id="chart-cycle")


GROUP_FIGURES = (("Open value", "open_value", VALUE), ("Weighted", "weighted_value", WEIGHTED),
                 ("Won value", "won_value", WON))


def group_multiples(report, code: str | None) -> list[Drawn]:
    """The --by groups as small multiples: a chart per group with its open, weighted and
    won value as bars on one scale shared by every group, so the panels compare."""
    cur = report.currencies
    sizes = [amount(g, name, cur, code) for _, g in report.groups
             for _, name, _ in GROUP_FIGURES]
    scale = max((float(s) for s in sizes if s), default=0.0)
    out = []
    for i, (name, g) in enumerate(report.groups):
        rows = [Row(label, (Bar(k, _size(amount(g, figure, cur, code)),
                                money_figure(g, figure, cur, code)),))
                for k, (label, figure, _) in enumerate(GROUP_FIGURES)]
        rows.append(Row("", (), f"{g.open_count} open · {g.won_count} won · "
                                f"{g.lost_count} lost · win rate {pct_text(g.win_rate)} · "
                                f"to won {pct_text(g.conversion_to_won)}"))
        ident = f"chart-group-{i + 1}" + (f"-{code}" if code else "")
        out.append(bar_chart(_in(f"{report.group_by}: {name}", code), rows,
                             [s for _, _, s in GROUP_FIGURES], width=300, scale=scale or None,
                             chart_id=ident, legend=False))
    return out


def probabilities(stages, title: str, chart_id: str) -> Drawn:
    """Per open stage (engine.probabilities.Observed): the probability given in the
    pipeline file beside the observed one, on one scale of 0 to 100 %, with the sample and
    the probability used (starred when the sample is below the floor) as the terminal's
    table shows them."""
    from pipecli.output.probability_view import used_text

    rows = [Row(o.label, (
        Bar(0, float(o.configured), human_text(o.configured, "percent", "")),
        Bar(1, None if o.observed is None else float(o.observed) * 100,
            pct_text(o.observed))), f"{o.won} won of {o.closed} closed · used {used_text(o)}")
        for o in stages]
    return bar_chart(title, rows, [GIVEN, OBSERVED], scale=100, chart_id=chart_id)


def digest_changes(d) -> Drawn:
    """The digest (engine.digest.Digest) in counts: the changes of each kind in the period
    and the next steps overdue at its end, a bar each."""
    from pipecli.output.digest_view import NOTHING, OVERDUE, change_lists

    kinds = [(heading, len(items), kind) for heading, items, kind in change_lists(d)]
    kinds.append((OVERDUE, len(d.overdue), "overdue"))
    series = [Series(heading, CHANGE_COLOURS[kind]) for heading, _, kind in kinds]
    rows = [Row(heading, (Bar(i, n, str(n)),)) for i, (heading, n, _) in enumerate(kinds)]
    return bar_chart("Changes of each kind, and next steps overdue at the end", rows,
                     series, empty=NOTHING,
                     chart_id="chart-changes", legend=False)


def acquisition_cost(report) -> Drawn:
    """`pipe costs` (engine CostReport): per source over the shown periods, then blended,
    the cost per lead beside the cost per won deal, on one scale; a figure that is unknown
    or has nothing to divide by is "–" with no bar, never a bar of 0."""
    from pipecli.engine.figures import to_money
    from pipecli.output.costs_view import money_shown, source_name, span_of

    home = report.pipeline.currency

    def bar(series: int, amount) -> Bar:
        shown = to_money(amount, home)
        return Bar(series, None if shown is None else float(shown), money_shown(amount, home))

    def note(x) -> str:
        words = [f"cost {money_shown(x.cost, home)}", f"{x.leads} lead" + "s" * (x.leads != 1),
                 f"{x.won} won"]
        if x.missing:
            words.append(f"no cost row for {', '.join(str(p) for p in x.missing)}")
        return " · ".join(words)

    rows = [Row(source_name(x.source), (bar(0, x.per_lead), bar(1, x.per_won)), note(x))
            for x in report.sources]
    rows.append(Row("All (blended)", (bar(0, report.total.per_lead),
                                      bar(1, report.total.per_won)), note(report.total)))
    return bar_chart(f"By source, {span_of(report)} ({home})", rows,
                     [PER_LEAD, PER_WON], chart_id="chart-costs")


def top_customers(top, cur: Currencies, code: str | None, title: str) -> Drawn:
    """`pipe customers`' top customers (engine Customer), a bar of revenue each with its
    won deals, last win and status; with amounts per currency, `code`'s customers alone."""
    rows = [Row(c.name, (Bar(0, _size(amount(c, "revenue", cur, code)),
                             money_figure(c, "revenue", cur, code)),),
                f"{deals(c.won_deals)} won · last win {c.last_win.date()} · "
                f"{'lapsed' if c.lapsed else 'active'}")
            for c in top if code is None or part_of(c, "revenue", code) is not None]
    return bar_chart(_in(title, code), rows, [REVENUE], legend=False,
                     chart_id="chart-customers" + (f"-{code}" if code else ""))


def _in(title: str, code: str | None) -> str:
    """A money chart's title, naming its currency when each currency has its own chart."""
    return f"{title} — {code} deals" if code else title
