"""`pipe costs` as a Document: a table of periods and sources, the totals per source with
the blended total under them, one flat table for csv/tsv and the payload of docs/json.md
("Acquisition cost")."""

from __future__ import annotations

from pipecli.engine.costs import NO_SOURCE, CostReport, Line
from pipecli.engine.figures import to_money
from pipecli.output.render import Column, Document, View
from pipecli.output.shown import json_rate, listed
from pipecli.rounding import half_up
from pipecli.values import format_money

UNKNOWN = "–"  # a figure that is unknown (no cost row) or has nothing to divide by
# (header, kind, drop): on a narrow terminal the won value and its ratio go first, then
# the qualified leads; period, source, cost, leads, CPL, won and CAC always stay.
FIGURES = [("Cost", "number", 0), ("Leads", "number", 0), ("CPL", "number", 0),
           ("Qual.", "number", 2), ("CPQL", "number", 3), ("Won", "number", 0),
           ("CAC", "number", 0), ("Won value", "number", 4), ("Won ÷ cost", "number", 5)]
# csv/tsv and JSON: (key, kind, the figure of a Line, rounded as shown in JSON)
KEYS = ["cost", "leads", "cost_per_lead", "qualified", "cost_per_qualified", "won",
        "cost_per_won", "won_value", "won_per_cost"]


def _machine(x: Line, currency: str) -> list:
    """A line's figures as JSON and csv give them: money half-up to minor units, the
    ratio to 4 decimals, None where unknown."""
    return [to_money(x.cost, currency), x.leads, to_money(x.per_lead, currency),
            x.qualified, to_money(x.per_qualified, currency), x.won,
            to_money(x.per_won, currency), to_money(x.won_value, currency),
            json_rate(x.won_per_cost)]


def money_shown(amount, currency: str) -> str:
    """An amount for people, as the tables show it: half-up to the currency's minor units,
    "–" when unknown or undefined."""
    return UNKNOWN if amount is None else format_money(to_money(amount, currency), currency)


def _human(x: Line, currency: str) -> list:
    """A line's figures for people: amounts in the currency's minor units, "–" where
    unknown."""
    def money(amount) -> str:
        return money_shown(amount, currency)

    ratio = x.won_per_cost
    return [money(x.cost), x.leads, money(x.per_lead), x.qualified, money(x.per_qualified),
            x.won, money(x.per_won), money(x.won_value),
            UNKNOWN if ratio is None else str(half_up(ratio, 2))]


def source_name(source: str) -> str:
    """A source as the tables show it: leads without one are "(no source)"."""
    return "(no source)" if source == NO_SOURCE else source


def _payload_line(x: Line, currency: str) -> dict:
    return dict(zip(KEYS, _machine(x, currency)))


def _notes(report: CostReport) -> list[str]:
    """What a reader must know to read the figures right."""
    home = report.pipeline.currency
    notes = []
    if report.converted:
        rates = ", ".join(f"1 {c} = {format(r, 'f')} {home}" for c, r in report.converted)
        notes.append(f"Costs in {listed([c for c, _ in report.converted])} converted to "
                     f"{home} at the pipeline file's rates ({rates}).")
    if report.unconverted:
        notes.append(f"Won deals in {listed(report.unconverted)} and no rate for it: the won "
                     f"value is not shown (amounts of different currencies are never added); "
                     f"add `rates:` to the pipeline file to convert it to {home}.")
    missing = [f"{source_name(s.source)} ({', '.join(str(p) for p in s.missing)})"
               for s in report.sources if s.missing]
    if missing:
        notes.append(f"Leads without a cost row: {'; '.join(missing)}. Their cost is unknown "
                     f"(–), not 0, and so is their source's total; a row with amount 0 says a "
                     f"source cost nothing.")
    return notes


def span_of(report: CostReport) -> str:
    """The shown periods in words: "2026-06 to 2026-11" ("" when there are none)."""
    return f"{report.periods[0]} to {report.periods[-1]}" if report.periods else ""


def heading(report: CostReport) -> tuple[str, str]:
    """The report's title in two parts, as the terminal's first line joins them: the
    pipeline, the period kind and the currency; the moment."""
    return (f"{report.pipeline.label}: acquisition cost by {report.kind} "
            f"({report.pipeline.currency})",
            f"as of {report.as_of.strftime('%Y-%m-%d %H:%M')}")


def about_lines(report: CostReport) -> list[str]:
    """The lines under the title: the costs file, the periods and --source, then what a
    reader must know to read the figures right (rates, missing cost rows)."""
    span = span_of(report)
    return [f"Costs: {report.costs_file}" + (f"; {span}" if span else "") +
            (f" (whole {report.kind}s overlapping --since/--until)"
             if report.since or report.until else "") +
            (f"; source {report.source}" if report.source is not None else "")] + \
        _notes(report)


def tables(report: CostReport) -> list[View]:
    """The tables people read: by period and source, then (when there is anything) the
    totals per source with the blended row and the legend under them."""
    home, span = report.pipeline.currency, span_of(report)
    figures = [Column(h, kind, drop=drop) for h, kind, drop in FIGURES]
    # A period is kept on one line, as a date is ("2026-" / "06" reads badly).
    lines = View([Column("Period", "date", bold=True), Column("Source"), *figures],
                 [[str(x.period), source_name(x.source), *_human(x, home)] for x in report.lines],
                 None, title=f"By {report.kind} and source", currency=home)
    if not report.lines:
        lines.notes = [f"{report.costs_file} holds no costs yet: nothing to report." if not
                       report.periods else f"No costs and no leads in {span}: nothing to "
                                           f"report."]
        return [lines]
    totals = View([Column("Source", bold=True), *figures],
                  [[source_name(s.source), *_human(s, home)] for s in report.sources], None,
                  title=f"Totals, {span}", currency=home,
                  footer=["All (blended)", *_human(report.total, home)])
    legend = (f"CPL = cost per lead (deals created in the {report.kind} from the "
              f"source); Qual. = leads that reached {report.qualified_label}; CPQL = "
              f"cost per qualified lead; CAC = cost per won deal; Won ÷ cost = won "
              f"value per unit spent. "
              f"All (blended) = every cost ÷ every lead, sources without costs "
              f"included. – = unknown or nothing to divide by.")
    lines.notes = []
    totals.notes = [legend]
    return [lines, totals]


def costs_document(report: CostReport) -> Document:
    """The acquisition-cost report (docs/metrics.md, "Acquisition cost")."""
    p, home = report.pipeline, report.pipeline.currency
    sections: list = [" — ".join(heading(report)), about_lines(report), *tables(report)]
    payload = {
        "pipeline": p.name, "label": p.label, "currency": home, "as_of": report.as_of,
        "period": report.kind, "costs_file": report.costs_file,
        "qualified_stage": report.qualified_key,
        "filters": {"since": report.since, "until": report.until, "source": report.source},
        "periods": [str(x) for x in report.periods],
        "rows": [dict(period=str(x.period), source=x.source, **_payload_line(x, home))
                 for x in report.lines],
        "sources": [dict(source=s.source, **_payload_line(s, home),
                         missing_periods=[str(x) for x in s.missing])
                    for s in report.sources],
        "total": _payload_line(report.total, home),
    }
    machine = [Column("period"), Column("source"),
               *(Column(k, "money" if "cost" in k and k != "won_per_cost" or k == "won_value"
                        else "number") for k in KEYS)]
    flat = View(machine, [[str(x.period), x.source, *_machine(x, home)] for x in report.lines]
                + [["(total)", s.source, *_machine(s, home)] for s in report.sources]
                + ([["(total)", "(all)", *_machine(report.total, home)]]
                   if report.lines else []), None, currency=home)
    return Document(sections, payload, flat)
