"""Domain values turned into Views (rows + JSON payload) for render.emit.

The JSON payloads here are the documented, stable shapes scripts rely on (docs/json.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from pipecli.models import Deal, Event, Kind, Pipeline, Workspace
from pipecli.output.render import Chart, Column, Document, Stream, View, shown
from pipecli.engine.figures import PipelineReport, Totals, weighted
from pipecli.values import format_money, parse_stored_money, round_money


def deal_payload(deal: Deal, pipeline: Pipeline | None) -> dict:
    """The JSON object of one deal (docs/json.md, "deal")."""
    stage = pipeline.stage(deal.stage) if pipeline else None
    return {
        "id": deal.id, "name": deal.name, "pipeline": deal.pipeline, "stage": deal.stage,
        "stage_label": stage.label if stage else deal.stage, "status": deal.status,
        "value": deal.value, "currency": pipeline.currency if pipeline else None,
        "probability": deal.probability if deal.probability is not None else (
            stage.probability if stage else None),
        "weighted_value": round_money(weighted(deal, pipeline), pipeline.currency)
        if pipeline else None,
        "company": deal.company, "contact": deal.contact, "email": deal.email,
        "owner": deal.owner, "source": deal.source, "close_date": deal.close_date,
        "tags": list(deal.tags), "lost_reason": deal.lost_reason,
        "created_at": deal.created_at, "updated_at": deal.updated_at,
        "closed_at": deal.closed_at,
    }


def event_payload(event: Event, in_effect: bool = True) -> dict:
    """The JSON object of one event (docs/json.md, "event")."""
    return {"id": event.id, "deal_id": event.deal_id, "at": event.at,
            "recorded": event.recorded, "event": event.kind.value, "sets": dict(event.sets),
            "tags_added": list(event.tags_added), "tags_removed": list(event.tags_removed),
            "prev": event.prev or None, "target": event.target or None, "note": event.note,
            "in_effect": in_effect}


def deal_list(ws: Workspace, deals: Iterable[Deal], hidden_closed: int = 0) -> Stream:
    """`pipe list`, streamed: the totals note is written after the last row."""
    multi = len(ws.pipelines) > 1
    columns = [Column("ID", bold=True), Column("Name")]
    if multi:
        columns.append(Column("Pipeline"))
    columns += [Column("Stage"), Column("Value", "money"), Column("Company", drop=2),
                Column("Owner", drop=3), Column("Close", "date", drop=1)]
    pipelines = {p.name: p for p in ws.pipelines}
    seen = {"count": 0, "total": Decimal(0), "currencies": set()}

    def row(d: Deal) -> list:
        p = pipelines.get(d.pipeline)
        stage = p.stage(d.stage) if p else None
        label = stage.label if stage else d.stage
        if d.status == "lost" and d.lost_reason:
            label = f"{label} ({d.lost_reason})"
        seen["count"] += 1
        seen["total"] += d.value or Decimal(0)
        seen["currencies"].add(p.currency if p else "")
        return [d.id, d.name] + ([d.pipeline] if multi else []) + \
            [label, d.value, d.company, d.owner, d.close_date]

    def payload(d: Deal) -> dict:
        row(d)  # counts it
        return deal_payload(d, pipelines.get(d.pipeline))

    def notes() -> list[str]:
        count, currencies = seen["count"], seen["currencies"]
        currency = next(iter(currencies)) if len(currencies) == 1 else ""
        lines = []
        if count and currency:
            lines.append(f"{count} deal{'s' if count != 1 else ''}, "
                         f"{format_money(seen['total'], currency)} {currency}")
        elif not count:
            lines.append("No deals match.")
        if hidden_closed:
            lines.append(f"({hidden_closed} won or lost deal{'s' if hidden_closed != 1 else ''}"
                         f" not shown; --status all shows every deal)")
        return lines

    currency = ws.pipelines[0].currency if len({p.currency for p in ws.pipelines}) == 1 \
        else ""
    return Stream(columns, deals, row, payload, currency=currency, notes=notes)


def deal_detail(deal: Deal, events: list[Event], in_effect: set[str],
                pipeline: Pipeline | None) -> View:
    currency = pipeline.currency if pipeline else ""

    def label(key: str) -> str:
        stage = pipeline.stage(key) if pipeline else None
        return stage.label if stage else key

    info = deal_payload(deal, pipeline)
    fields = [("Stage", f"{label(deal.stage)} ({deal.status})"),
              ("Value", f"{format_money(deal.value, currency)} {currency}" if deal.value
               is not None else ""),
              ("Probability", f"{info['probability']}%" if info["probability"] is not None
               else ""),
              ("Company", deal.company), ("Contact", deal.contact), ("Email", deal.email),
              ("Owner", deal.owner), ("Source", deal.source),
              ("Close date", deal.close_date.isoformat() if deal.close_date else ""),
              ("Tags", ", ".join(deal.tags)), ("Lost reason", deal.lost_reason),
              ("Created", deal.created_at.strftime("%Y-%m-%d %H:%M")),
              ("Updated", deal.updated_at.strftime("%Y-%m-%d %H:%M"))]
    preamble = [f"{deal.id}  {shown(deal.name)}"] + [
        f"  {name + ':':<13}{shown(value)}" for name, value in fields if value]
    rows = []
    kinds = {e.id: e.kind for e in events}
    place = (None, None)  # (pipeline, stage) the events in effect have put the deal in
    for e in events:
        change = describe(e, label, currency, kinds, place)
        if e.id in in_effect and "stage" in e.sets:
            place = (e.sets.get("pipeline", place[0]), e.sets["stage"])
        if e.id not in in_effect:
            change = f"(taken back) {change}"
        rows.append([e.at, e.kind.value, change, e.note])
    columns = [Column("When", "time"), Column("Event"), Column("Change"), Column("Note")]
    payload = dict(info, history=[event_payload(e, e.id in in_effect) for e in events])
    return View(columns, rows, payload, currency=currency, preamble=preamble)


def describe(e: Event, label, currency: str, kinds: dict | None = None,
             place_before: tuple = (None, None)) -> str:
    """One event in words: what it set (labels for stages, money formatted); with the stage
    the deal was in before, a move reads "Proposal → Negotiation"."""
    sets = e.sets
    if e.kind.is_revert:
        what = (kinds or {}).get(e.target)
        verb = "took back" if e.kind == Kind.UNDONE else "put back"
        return f"{verb} {what.value + ' ' if what else ''}event {e.target}"
    if e.kind == Kind.DELETED:
        return "deleted"
    value = f"{format_money(parse_stored_money(sets['value']), currency)} {currency}" \
        if sets.get("value") else ""
    if e.kind == Kind.CREATED:
        return f"at {label(sets.get('stage', ''))}" + (f", {value}" if value else "")
    if e.kind == Kind.WON:
        return f"won at {value}" if value else "won"
    if e.kind == Kind.LOST:
        return f"lost: {sets['lost_reason']}" if sets.get("lost_reason") else "lost"
    parts = []
    if "stage" in sets or "pipeline" in sets:
        where = label(sets.get("stage", ""))
        pipeline_before, stage_before = place_before
        changed = "pipeline" in sets and (
            e.kind in (Kind.HANDED_OFF, Kind.RETURNED) or
            (pipeline_before is not None and sets["pipeline"] != pipeline_before))
        before = f"{label(stage_before)} " if stage_before and not changed else ""
        parts.append(f"→ {sets['pipeline']}: {where}" if changed else f"{before}→ {where}")
    for name in sorted(sets):
        if name in ("stage", "pipeline", "status", "lost_reason"):
            continue
        shown_value = value if name == "value" else sets[name]
        parts.append(f"{name}: {shown_value or '∅'}")
    parts += [f"+tag {t}" for t in e.tags_added] + [f"-tag {t}" for t in e.tags_removed]
    return "; ".join(parts) or e.kind.value


def stages_view(pipeline: Pipeline) -> View:
    columns = [Column("#", "number"), Column("Key", bold=True), Column("Label"),
               Column("Group"), Column("Prob.", "percent"), Column("Rot days", "number"),
               Column("SLA h", "number"), Column("Requires"), Column("Outcome")]
    rows, payload = [], []
    for i, s in enumerate(pipeline.stages, start=1):
        rows.append([i, s.key, s.label, s.group or "", s.probability, s.rot_days, s.sla_hours,
                     ", ".join(s.requires), s.outcome or ""])
        payload.append({"key": s.key, "label": s.label, "group": s.group,
                        "probability": s.probability, "rot_days": s.rot_days,
                        "sla_hours": s.sla_hours, "requires": list(s.requires),
                        "outcome": s.outcome})
    title = f"{pipeline.label} ({pipeline.kind.upper()}, {pipeline.currency})"
    return View(columns, rows, {"pipeline": pipeline.name, "label": pipeline.label,
                                "kind": pipeline.kind, "currency": pipeline.currency,
                                "lost_reasons": list(pipeline.lost_reasons), "stages": payload},
                title=title)


def templates_view(templates: Iterable[tuple[str, Pipeline]]) -> View:
    columns = [Column("Template", bold=True), Column("Kind"), Column("Stages")]
    rows, payload = [], []
    for name, p in templates:
        rows.append([name, p.kind, " → ".join(s.key for s in p.stages)])
        payload.append({"name": name, "label": p.label, "kind": p.kind,
                        "stages": [s.key for s in p.stages]})
    return View(columns, rows, payload)


def _r(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} days"


def totals_payload(t: Totals, currency: str) -> dict:
    return {"open_count": t.open_count, "open_value": t.open_value,
            "weighted_value": round_money(t.weighted_value, currency),
            "won_count": t.won_count, "won_value": t.won_value, "lost_count": t.lost_count,
            "lost_value": t.lost_value, "win_rate": _r(t.win_rate, 4),
            "avg_won_value": round_money(t.avg_won_value, currency),
            "avg_cycle_days": _r(t.avg_cycle_days, 2),
            "median_cycle_days": _r(t.median_cycle_days, 2),
            "velocity_per_day": round_money(t.velocity_per_day, currency),
            "handed_off": t.handed_off, "returned": t.returned}


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


def report_document(report: PipelineReport) -> Document:
    """The full pipeline report: title, funnel chart, stage tables, totals, lost reasons."""
    p, t, c = report.pipeline, report.totals, report.pipeline.currency
    money = lambda amount: f"{format_money(amount, c)} {c}"  # noqa: E731
    title = f"{p.label} ({c}) — as of {report.as_of.strftime('%Y-%m-%d %H:%M')}"
    described = _describe_filters(report)
    funnel = [s for s in report.stages if s.reached is not None]
    chart = Chart("Funnel: deals that reached each stage", [
        (s.label, s.reached, f"{s.reached:>5}  {format_money(s.reached_value, c):>12}  "
                             f"{_pct(s.conversion) if s.conversion is not None else '':>6}")
        for s in funnel])
    now_view = View(
        [Column("Stage", bold=True), Column("Prob.", "percent"), Column("Deals", "number"),
         Column("Value", "money"), Column("Weighted", "money"), Column("Avg age", "days")],
        [[s.label, s.probability, s.count, s.value, s.weighted_value, s.avg_age_days]
         for s in report.stages], None, title="Pipeline now", currency=c,
        footer=["Open pipeline", None, t.open_count, t.open_value, t.weighted_value, None])
    flow_view = View(
        [Column("Stage", bold=True), Column("Reached", "number"), Column("Value", "money"),
         Column("Conv.", "rate"), Column("Drop-off", "number", drop=1),
         Column("Avg days", "days"),
         Column("Median", "days")],
        [[s.label, s.reached, s.reached_value, s.conversion, s.drop_off, s.avg_days_in_stage,
          s.median_days_in_stage] for s in funnel], None,
        title="Stage flow (reached = got this far; days = completed stays)", currency=c)
    summary = [
        f"Won:        {t.won_count} deal{'s' if t.won_count != 1 else ''}, {money(t.won_value)}",
        f"Lost:       {t.lost_count} deal{'s' if t.lost_count != 1 else ''}, "
        f"{money(t.lost_value)}",
        f"Win rate:   {_pct(t.win_rate)}",
        f"Avg won:    {money(t.avg_won_value) if t.avg_won_value is not None else '–'}",
        f"Cycle:      {_days(t.avg_cycle_days)} mean, {_days(t.median_cycle_days)} median",
        "Velocity:   " + (money(t.velocity_per_day) + " per day"
                             if t.velocity_per_day is not None else "–"),
    ]
    if t.handed_off or t.returned:
        summary.append(f"Hand-off:   {t.handed_off} handed on to another pipeline, "
                       f"{t.returned} returned to this one")
    sections: list = [title] + ([f"Filters: {described}"] if described else [])
    sections += [chart, now_view, flow_view, summary]
    if report.lost_reasons:
        sections.append(View([Column("Lost reason"), Column("Deals", "number"),
                              Column("Value", "money")],
                             [[r.reason, r.count, r.value] for r in report.lost_reasons], None,
                             title="Lost, by reason", currency=c))
    if report.group_by:
        sections.append(View(
            [Column(report.group_by.capitalize(), bold=True), Column("Open", "number"),
             Column("Open value", "money"), Column("Weighted", "money"),
             Column("Won", "number"), Column("Won value", "money"), Column("Lost", "number"),
             Column("Win rate", "rate"), Column("Avg won", "money"),
             Column("Cycle", "days", drop=1)],
            [[name, g.open_count, g.open_value, g.weighted_value, g.won_count, g.won_value,
              g.lost_count, g.win_rate, g.avg_won_value, g.avg_cycle_days]
             for name, g in report.groups], None, title=f"By {report.group_by}", currency=c))
    payload = {
        "pipeline": p.name, "label": p.label, "currency": c,
        "as_of": report.as_of,
        "filters": {"since": report.filters.since, "until": report.filters.until,
                    "owner": report.filters.owner, "source": report.filters.source,
                    "tag": report.filters.tag},
        "stages": [{
            "key": s.key, "label": s.label, "outcome": s.outcome, "probability": s.probability,
            "count": s.count, "value": s.value,
            "weighted_value": round_money(s.weighted_value, c),
            "avg_age_days": _r(s.avg_age_days, 2), "reached": s.reached,
            "reached_value": s.reached_value, "conversion": _r(s.conversion, 4),
            "drop_off": s.drop_off, "avg_days_in_stage": _r(s.avg_days_in_stage, 2),
            "median_days_in_stage": _r(s.median_days_in_stage, 2)} for s in report.stages],
        "totals": totals_payload(t, c),
        "lost_reasons": [{"reason": r.reason, "count": r.count, "value": r.value}
                         for r in report.lost_reasons],
    }
    if report.group_by:
        payload["by"] = report.group_by
        payload["groups"] = [dict(group=name, **totals_payload(g, c))
                             for name, g in report.groups]
    flat = View(
        [Column("key"), Column("label"), Column("count", "number"), Column("value", "money"),
         Column("weighted_value", "money"), Column("avg_age_days", "days"),
         Column("reached", "number"), Column("reached_value", "money"),
         Column("conversion", "rate"), Column("drop_off", "number"),
         Column("avg_days_in_stage", "days"), Column("median_days_in_stage", "days")],
        [[s.key, s.label, s.count, s.value, round_money(s.weighted_value, c), s.avg_age_days,
          s.reached, s.reached_value, s.conversion, s.drop_off, s.avg_days_in_stage,
          s.median_days_in_stage] for s in report.stages], None, currency=c)
    return Document(sections, payload, flat)


def _timeline_brief(t, pipeline: Pipeline) -> dict:
    stage = pipeline.stage(t.stage)
    return {"id": t.id, "name": t.name, "stage": t.stage,
            "stage_label": stage.label if stage else t.stage, "value": t.value,
            "weighted_value": round_money(weighted(t, pipeline), pipeline.currency),
            "close_date": t.close_date, "owner": t.owner}


def forecast_document(f) -> Document:
    """Open deals by expected close month, won value per month, and the deals set aside."""
    p, c = f.pipeline, f.pipeline.currency

    def bucket_payload(b) -> dict:
        shape = {"count": b.count, "value": b.value,
                 "weighted_value": round_money(b.weighted_value, c)}
        if b.deals is not None:  # --deals
            shape["deals"] = [_timeline_brief(t, p) for t in b.deals]
        return shape

    rows = [[m.month, m.open.count, m.open.value, m.open.weighted_value, m.won_count,
             m.won_value] for m in f.months]
    extra = [("Slipped (close date passed)", f.slipped), ("No close date", f.no_close_date),
             ("Later (beyond the horizon)", f.later)]
    rows += [[label, b.count, b.value, b.weighted_value, None, None] for label, b in extra]
    columns = [Column("Close month", bold=True), Column("Deals", "number"),
               Column("Value", "money"), Column("Weighted", "money"), Column("Won", "number"),
               Column("Won value", "money")]
    table = View(columns, rows, None, currency=c,
                 title=f"{p.label} forecast ({c}) — as of {f.as_of.strftime('%Y-%m-%d')}")
    sections: list = [table]
    for label, b in extra[:2]:
        if b.deals:
            sections.append(View(
                [Column("ID", bold=True), Column("Name"), Column("Stage"),
                 Column("Value", "money"), Column("Close", "date")],
                [[t.id, t.name, _timeline_brief(t, p)["stage_label"], t.value, t.close_date]
                 for t in b.deals], None, title=label, currency=c))
    payload = {"pipeline": p.name, "currency": c, "as_of": f.as_of,
               "months": [{"month": m.month, "open_count": m.open.count,
                           "open_value": m.open.value,
                           "weighted_value": round_money(m.open.weighted_value, c),
                           "won_count": m.won_count, "won_value": m.won_value}
                          for m in f.months],
               "slipped": bucket_payload(f.slipped),
               "no_close_date": bucket_payload(f.no_close_date),
               "later": bucket_payload(f.later)}
    flat = View([Column("bucket"), Column("open_count", "number"), Column("open_value", "money"),
                 Column("weighted_value", "money"), Column("won_count", "number"),
                 Column("won_value", "money")],
                [[m.month, m.open.count, m.open.value, round_money(m.open.weighted_value, c),
                  m.won_count, m.won_value] for m in f.months] +
                [[key, b.count, b.value, round_money(b.weighted_value, c), None, None]
                 for key, b in (("slipped", f.slipped), ("no_close_date", f.no_close_date),
                                ("later", f.later))], None, currency=c)
    return Document(sections, payload, flat)


def stale_view(alerts: Iterable, pipeline: Pipeline) -> Stream:
    """`pipe stale`, streamed; counts what it wrote (for --fail) in `.found`."""
    seen = {"alerts": 0, "deals": set()}

    def count(a) -> None:
        seen["alerts"] += 1
        seen["deals"].add(a.deal.id)

    def row(a) -> list:
        count(a)
        brief = _timeline_brief(a.deal, pipeline)
        return [a.deal.id, a.deal.name, brief["stage_label"], a.kind.replace("_", " "),
                a.actual, a.limit, round(a.overdue_days, 1)]

    def payload(a) -> dict:
        count(a)
        return dict(_timeline_brief(a.deal, pipeline), kind=a.kind,
                    overdue_days=round(a.overdue_days, 2), limit=a.limit, found=a.actual)

    columns = [Column("ID", bold=True), Column("Name"), Column("Stage"), Column("Alert"),
               Column("Found"), Column("Limit", drop=1), Column("Overdue d", "days")]
    stream = Stream(columns, alerts, row, payload, currency=pipeline.currency,
                    notes=lambda: [] if seen["alerts"] else ["Nothing is stale."])
    stream.found = seen
    return stream


def next_view(ranked, pipeline: Pipeline, limit: int) -> View:
    rows, payload = [], []
    for i, r in enumerate(ranked[:limit], start=1):
        brief = _timeline_brief(r.deal, pipeline)
        rows.append([i, r.deal.id, r.deal.name, brief["stage_label"], r.weighted_value,
                     round(r.idle_days, 1), r.deal.close_date,
                     round_money(r.score, pipeline.currency)])
        payload.append(dict(brief, rank=i, score=round_money(r.score, pipeline.currency),
                            staleness=round(r.staleness, 4), closeness=round(r.closeness, 4),
                            idle_days=round(r.idle_days, 2), days_to_close=r.days_to_close))
    columns = [Column("#", "number"), Column("ID", bold=True), Column("Name"),
               Column("Stage"), Column("Weighted", "money"), Column("Idle d", "days", drop=2),
               Column("Close", "date", drop=1), Column("Score", "money")]
    notes = [] if ranked else ["No open deals."]
    return View(columns, rows, payload, currency=pipeline.currency, notes=notes)


def log_view(entries, ws: Workspace) -> View:
    """The latest events of `pipe log`, newest first (in recording order)."""
    rows, payload = [], []
    pipelines = {p.name: p for p in ws.pipelines}
    kinds = {e.id: e.kind for e, _, _ in entries}
    for event, name, in_effect in entries:
        pipeline = pipelines.get(event.sets.get("pipeline", "")) or ws.pipelines[0]

        def label(key: str, pipeline=pipeline) -> str:
            stage = pipeline.stage(key) if pipeline else None
            return stage.label if stage else key

        change = describe(event, label, pipeline.currency, kinds)
        if not in_effect:
            change = f"(taken back) {change}"
        rows.append([event.at, event.deal_id, name, event.kind.value, change, event.note])
        payload.append(dict(event_payload(event, in_effect), name=name))
    columns = [Column("When", "time"), Column("ID", bold=True), Column("Name"),
               Column("Event"), Column("Change"), Column("Note", drop=1)]
    return View(columns, rows, payload, notes=[] if entries else ["No changes yet."])
