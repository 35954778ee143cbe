"""The report and the forecast as Documents (docs/json.md holds their JSON shapes; every
figure is defined in docs/metrics.md)."""

from __future__ import annotations

from pipecli.engine.figures import Currencies, PipelineReport, Totals, to_money
from pipecli.models import ConversionMode
from pipecli.output.render import Chart, Column, Document, View
from pipecli.output.shown import (COMPUTED, currency_note, currency_payload, days_text,
                                  deal_value, flat_parts, flat_view, json_days, json_money,
                                  json_rate, money_cell, money_plain, money_text, pct_text,
                                  put_money, timeline_brief)

def totals_payload(t: Totals, cur: Currencies) -> dict:
    """The JSON object of the totals (or of one --by group), docs/json.md."""
    out: dict = {"open_count": t.open_count}
    put_money(out, "open_value", t.open_value, t.parts, cur)
    put_money(out, "weighted_value", t.weighted_value, t.parts, cur)
    out["won_count"] = t.won_count
    put_money(out, "won_value", t.won_value, t.parts, cur)
    out["lost_count"] = t.lost_count
    put_money(out, "lost_value", t.lost_value, t.parts, cur)
    out["win_rate"] = json_rate(t.win_rate)
    put_money(out, "avg_won_value", t.avg_won_value, t.parts, cur)
    out.update(avg_cycle_days=json_days(t.avg_cycle_days),
               median_cycle_days=json_days(t.median_cycle_days))
    put_money(out, "velocity_per_day", t.velocity_per_day, t.parts, cur)
    out.update(handed_off=t.handed_off, returned=t.returned, entered=t.entered,
               reached_won=t.reached_won, conversion_to_won=json_rate(t.conversion_to_won))
    return out


# The totals' csv columns, in the JSON's order: (name, kind, getter; None for money).
TOTALS_FIELDS = [
    ("open_count", "number", lambda t: t.open_count), ("open_value", "money", None),
    ("weighted_value", "money", None), ("won_count", "number", lambda t: t.won_count),
    ("won_value", "money", None), ("lost_count", "number", lambda t: t.lost_count),
    ("lost_value", "money", None), ("win_rate", "rate", lambda t: json_rate(t.win_rate)),
    ("avg_won_value", "money", None),
    ("avg_cycle_days", "days", lambda t: json_days(t.avg_cycle_days)),
    ("median_cycle_days", "days", lambda t: json_days(t.median_cycle_days)),
    ("velocity_per_day", "money", None), ("handed_off", "number", lambda t: t.handed_off),
    ("returned", "number", lambda t: t.returned), ("entered", "number", lambda t: t.entered),
    ("reached_won", "number", lambda t: t.reached_won),
    ("conversion_to_won", "rate", lambda t: json_rate(t.conversion_to_won))]


def _groups_view(report: PipelineReport, cur: Currencies) -> View:
    """The --by table. Grouped by currency with several currencies, each group's money is
    its own currency's, unconverted and labelled ("2,800.50 EUR"), and a Total row gives
    the report's totals (converted, labelled in the pipeline's currency, or per currency)."""
    by_currency = report.group_by == "currency" and cur.several

    def cell(g, name: str, code: str | None):
        if by_currency and code is not None:
            part = g.parts.get(name, {}).get(code)
            return {code: to_money(part, code) if name in COMPUTED else part} \
                if part is not None else None
        if by_currency and cur.converted:  # the totals, labelled in the pipeline's currency
            amount = getattr(g, name)
            return {cur.label: to_money(amount, cur.label) if name in COMPUTED else amount} \
                if amount is not None else None
        return money_cell(getattr(g, name), g.parts, name, cur)

    def row(name, g, code):
        return [name, g.open_count, cell(g, "open_value", code),
                cell(g, "weighted_value", code), g.won_count, cell(g, "won_value", code),
                g.lost_count, g.win_rate, g.conversion_to_won, cell(g, "avg_won_value", code),
                g.avg_cycle_days]

    t = report.totals
    return View(
        [Column(report.group_by.capitalize(), bold=True), Column("Open", "number"),
         Column("Open value", "money"), Column("Weighted", "money", drop=4),
         Column("Won", "number"), Column("Won value", "money"),
         Column("Lost", "number", drop=1), Column("Win rate", "rate"), Column("To won", "rate"),
         Column("Avg won", "money", drop=3), Column("Cycle", "days", drop=2)],
        [row(name, g, name) for name, g in report.groups], None,
        title=f"By {report.group_by}", currency=cur.label or "",
        footer=row("Total", t, None) if by_currency else None)


def _describe_filters(report: PipelineReport) -> str:
    f = report.filters
    parts = []
    if f.since or f.until:
        parts.append(f"funnel: deals created {f.since or '…'} to {f.until or '…'}; won/lost: "
                     f"closed in that period")
    for name in ("owner", "source", "tag"):
        if getattr(f, name):
            parts.append(f"{name} {getattr(f, name)}")
    return "; ".join(parts)


def _stage_payload(s, cur: Currencies) -> dict:
    out = {"key": s.key, "label": s.label, "outcome": s.outcome,
           "probability": s.probability, "count": s.count}
    put_money(out, "value", s.value, s.parts, cur)
    put_money(out, "weighted_value", s.weighted_value, s.parts, cur)
    out.update(avg_age_days=json_days(s.avg_age_days), reached=s.reached)
    put_money(out, "reached_value", s.reached_value, s.parts, cur)
    out.update(conversion=json_rate(s.conversion), drop_off=s.drop_off,
               cumulative_conversion=json_rate(s.cumulative_conversion),
               conversion_to_won=json_rate(s.conversion_to_won),
               avg_days_in_stage=json_days(s.avg_days_in_stage),
               median_days_in_stage=json_days(s.median_days_in_stage))
    return out


def funnel_title(report: PipelineReport) -> str:
    """The funnel chart's title, saying what reached means unless it is the default."""
    mode = report.conversion
    return "Funnel: deals that reached each stage" + (
        "" if mode is ConversionMode.FURTHEST else f" ({mode.reached_means})")


def report_document(report: PipelineReport) -> Document:
    """The full pipeline report: title, funnel chart, stage tables, totals, lost reasons."""
    p, t = report.pipeline, report.totals
    cur = report.currencies or Currencies(p.currency, (p.currency,))
    c = cur.label or ""

    def cell(x, name: str):
        return money_cell(getattr(x, name), x.parts, name, cur)

    def money(x, name: str) -> str:
        return money_text(cell(x, name), c) or "–"  # undefined in every currency

    title = f"{p.label} ({c or ', '.join(cur.present)}) — as of " \
            f"{report.as_of.strftime('%Y-%m-%d %H:%M')}"
    described = _describe_filters(report)
    funnel = [s for s in report.stages if s.reached is not None]
    # Beside each bar the figures of the stage flow table, under its headings; on a
    # narrow terminal only the count and the conversion.
    means = report.conversion.reached_means
    chart = Chart(funnel_title(report), [
        (s.label, s.reached, (str(s.reached), money_plain(cell(s, "reached_value"), c),
                              pct_text(s.conversion) if s.conversion is not None else ""))
        for s in funnel], headings=("Reached", "Value", "Conv."), short=(0, 2),
        empty="No deal has entered the funnel.")
    now_view = View(
        [Column("Stage", bold=True), Column("Prob.", "percent", drop=1),
         Column("Deals", "number"), Column("Value", "money"), Column("Weighted", "money"),
         Column("Avg age", "days")],
        [[s.label, s.probability, s.count, cell(s, "value"), cell(s, "weighted_value"),
          s.avg_age_days] for s in report.stages], None, title="Pipeline now", currency=c,
        footer=["Open pipeline", None, t.open_count, cell(t, "open_value"),
                cell(t, "weighted_value"), None])
    flow_view = View(
        [Column("Stage", bold=True), Column("Reached", "number"), Column("Value", "money"),
         Column("Conv.", "rate"), Column("Drop-off", "number", drop=4),
         Column("Cumul.", "rate", drop=5), Column("To won", "rate", drop=2),
         Column("Avg days", "days", drop=1), Column("Median", "days", drop=3)],
        [[s.label, s.reached, cell(s, "reached_value"), s.conversion, s.drop_off,
          s.cumulative_conversion, s.conversion_to_won, s.avg_days_in_stage,
          s.median_days_in_stage] for s in funnel], None,
        title=f"Stage flow ({means}; days = completed stays)", currency=c)
    summary = [
        f"Won:        {t.won_count} deal{'s' if t.won_count != 1 else ''}, "
        f"{money(t, 'won_value')}",
        f"Lost:       {t.lost_count} deal{'s' if t.lost_count != 1 else ''}, "
        f"{money(t, 'lost_value')}",
        f"Win rate:   {pct_text(t.win_rate)}",
        f"Conversion: {pct_text(t.conversion_to_won)} to won ({t.reached_won} of the "
        f"{t.entered} deal{'s' if t.entered != 1 else ''} that entered the funnel)",
        f"Avg won:    {money(t, 'avg_won_value')}",
        f"Cycle:      {days_text(t.avg_cycle_days)} mean, {days_text(t.median_cycle_days)} median",
        "Velocity:   " + (money(t, "velocity_per_day") + " per day"
                          if money(t, "velocity_per_day") != "–" else "–"),
    ]
    if t.handed_off or t.returned:
        summary.append(f"Hand-off:   {t.handed_off} handed on to another pipeline, "
                       f"{t.returned} returned to this one")
    sections: list = [title] + ([f"Filters: {described}"] if described else [])
    sections += [currency_note(cur)] if cur.several else []
    sections += [chart, now_view, flow_view, summary]
    if report.lost_reasons:
        sections.append(View([Column("Lost reason"), Column("Deals", "number"),
                              Column("Value", "money")],
                             [[r.reason, r.count, cell(r, "value")]
                              for r in report.lost_reasons], None,
                             title="Lost, by reason", currency=c))
    if report.group_by:
        sections.append(_groups_view(report, cur))
    payload = {
        "pipeline": p.name, "label": p.label, "currency": cur.label,
        **currency_payload(cur),
        "as_of": report.as_of, "conversion": report.conversion,
        "filters": {"since": report.filters.since, "until": report.filters.until,
                    "owner": report.filters.owner, "source": report.filters.source,
                    "tag": report.filters.tag},
        "stages": [_stage_payload(s, cur) for s in report.stages],
        "totals": totals_payload(t, cur),
        "lost_reasons": [],
    }
    for r in report.lost_reasons:
        reason = {"reason": r.reason, "count": r.count}
        put_money(reason, "value", r.value, r.parts, cur)
        payload["lost_reasons"].append(reason)
    if report.group_by:
        payload["by"] = report.group_by
        payload["groups"] = [dict(group=name, **totals_payload(g, cur))
                             for name, g in report.groups]
    if report.group_by:  # csv/tsv: the groups, then the totals (docs/json.md)
        return Document(sections, payload, flat_view(cur, [
            (report.group_by, "text", lambda x: x[0]),
            *((name, kind, None if kind == "money" else (lambda x, get=get: get(x[1])))
              for name, kind, get in TOTALS_FIELDS)],
            [*report.groups, ("(total)", t)], of=lambda x: x[1]))
    flat = flat_view(cur, [
        ("key", "text", lambda s: s.key), ("label", "text", lambda s: s.label),
        ("count", "number", lambda s: s.count), ("value", "money", None),
        ("weighted_value", "money", None),
        ("avg_age_days", "days", lambda s: json_days(s.avg_age_days)),
        ("reached", "number", lambda s: s.reached), ("reached_value", "money", None),
        ("conversion", "rate", lambda s: json_rate(s.conversion)),
        ("drop_off", "number", lambda s: s.drop_off),
        ("cumulative_conversion", "rate", lambda s: json_rate(s.cumulative_conversion)),
        ("conversion_to_won", "rate", lambda s: json_rate(s.conversion_to_won)),
        ("avg_days_in_stage", "days", lambda s: json_days(s.avg_days_in_stage)),
        ("median_days_in_stage", "days", lambda s: json_days(s.median_days_in_stage))],
        report.stages)
    return Document(sections, payload, flat)


def forecast_document(f) -> Document:
    """Open deals by expected close month, won value per month, and the deals set aside."""
    p = f.pipeline
    cur = f.currencies or Currencies(p.currency, (p.currency,))
    c = cur.label or ""

    def cell(x, name: str):
        return money_cell(getattr(x, name), x.parts, name, cur)

    def bucket_payload(b) -> dict:
        shape = {"count": b.count}
        put_money(shape, "value", b.value, b.parts, cur)
        put_money(shape, "weighted_value", b.weighted_value, b.parts, cur)
        if b.deals is not None:  # --deals
            shape["deals"] = [timeline_brief(t, p) for t in b.deals]
        return shape

    def month_payload(m) -> dict:
        shape = {"month": m.month, "open_count": m.open.count}
        put_money(shape, "value", m.open.value, m.open.parts, cur, key="open_value")
        put_money(shape, "weighted_value", m.open.weighted_value, m.open.parts, cur)
        shape["won_count"] = m.won_count
        put_money(shape, "won_value", m.won_value, m.parts, cur)
        return shape

    rows = [[m.month, m.open.count, cell(m.open, "value"), cell(m.open, "weighted_value"),
             m.won_count, cell(m, "won_value")] for m in f.months]
    extra = [("Slipped (close date passed)", f.slipped), ("No close date", f.no_close_date),
             ("Later (beyond the horizon)", f.later)]
    rows += [[label, b.count, cell(b, "value"), cell(b, "weighted_value"), None, None]
             for label, b in extra]
    columns = [Column("Close month", bold=True), Column("Deals", "number"),
               Column("Value", "money"), Column("Weighted", "money"),
               Column("Won", "number", drop=1), Column("Won value", "money")]
    table = View(columns, rows, None, currency=c,
                 title=f"{p.label} forecast ({c or ', '.join(cur.present)}) — as of "
                       f"{f.as_of.strftime('%Y-%m-%d')}")
    sections: list = [currency_note(cur)] if cur.several else []
    sections.append(table)
    for label, b in extra[:2]:
        if b.deals:
            sections.append(View(
                [Column("ID", bold=True), Column("Name"), Column("Stage"),
                 Column("Value", "money"), Column("Close", "date")],
                [[t.id, t.name, timeline_brief(t, p)["stage_label"], deal_value(t, cur),
                  t.close_date] for t in b.deals], None, title=label, currency=c))
    payload = {"pipeline": p.name, "currency": cur.label, **currency_payload(cur),
               "as_of": f.as_of, "months": [month_payload(m) for m in f.months],
               "slipped": bucket_payload(f.slipped),
               "no_close_date": bucket_payload(f.no_close_date),
               "later": bucket_payload(f.later)}
    buckets = [(m.month, m.open, m) for m in f.months] + \
        [(key, b, None) for key, b in (("slipped", f.slipped),
                                       ("no_close_date", f.no_close_date),
                                       ("later", f.later))]
    flat = flat_view(cur, [
        ("bucket", "text", lambda x: x[0]), ("open_count", "number", lambda x: x[1].count),
        ("open_value", "money", lambda x: json_money(x[1].value, "value", cur)),
        *flat_parts(cur, "open_value", lambda x, code: x[1].parts.get("value", {}).get(code)),
        ("weighted_value", "money",
         lambda x: json_money(x[1].weighted_value, "weighted_value", cur)),
        *flat_parts(cur, "weighted_value", lambda x, code: to_money(
            x[1].parts.get("weighted_value", {}).get(code), code)),
        ("won_count", "number", lambda x: x[2].won_count if x[2] else None),
        ("won_value", "money",
         lambda x: json_money(x[2].won_value, "won_value", cur) if x[2] else None),
        *flat_parts(cur, "won_value", lambda x, code: x[2].parts.get("won_value", {}).get(
            code) if x[2] else None)], buckets)
    return Document(sections, payload, flat)


