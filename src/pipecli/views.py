"""Domain values turned into Views (rows + JSON payload) for render.emit.

The JSON payloads here are the documented, stable shapes scripts rely on (docs/json.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from pipecli.models import Deal, Event, Pipeline, Workspace
from pipecli.render import Column, View, shown
from pipecli.reports import StageReport, weighted
from pipecli.values import format_money, round_money


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


def event_payload(event: Event) -> dict:
    return {"seq": event.seq, "at": event.at, "event": event.kind, "stage": event.stage,
            "status": event.status, "value": event.value, "reason": event.reason,
            "changes": event.changes, "note": event.note}


def deal_list(ws: Workspace, deals: list[Deal], hidden_closed: int = 0) -> View:
    multi = len(ws.pipelines) > 1
    columns = [Column("ID", bold=True), Column("Name")]
    if multi:
        columns.append(Column("Pipeline"))
    columns += [Column("Stage"), Column("Value", "money"), Column("Company", drop=2),
                Column("Owner", drop=3), Column("Close", "date", drop=1)]
    rows, payload = [], []
    currencies = set()
    for d in deals:
        p = ws.pipeline_of(d)
        stage = p.stage(d.stage) if p else None
        label = stage.label if stage else d.stage
        if d.status == "lost" and d.lost_reason:
            label = f"{label} ({d.lost_reason})"
        row = [d.id, d.name] + ([d.pipeline] if multi else []) + \
              [label, d.value, d.company, d.owner, d.close_date]
        rows.append(row)
        payload.append(deal_payload(d, p))
        if p:
            currencies.add(p.currency)
    total = sum((d.value or Decimal(0) for d in deals), Decimal(0))
    currency = currencies.pop() if len(currencies) == 1 else ""
    notes = []
    if deals and currency:
        notes.append(f"{len(deals)} deal{'s' if len(deals) != 1 else ''}, "
                     f"{format_money(total, currency)} {currency}")
    elif not deals:
        notes.append("No deals match.")
    if hidden_closed:
        notes.append(f"({hidden_closed} won or lost deal{'s' if hidden_closed != 1 else ''} "
                     f"not shown; --status all shows every deal)")
    return View(columns, rows, payload, currency=currency, notes=notes)


def deal_detail(deal: Deal, events: list[Event], pipeline: Pipeline | None) -> View:
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
    previous: Event | None = None
    for e in events:
        rows.append([e.at, e.kind, _describe(e, previous, label, currency), e.note])
        previous = e
    columns = [Column("When", "time"), Column("Event"), Column("Change"), Column("Note")]
    payload = dict(info, history=[event_payload(e) for e in events])
    return View(columns, rows, payload, currency=currency, preamble=preamble)


def _describe(e: Event, previous: Event | None, label, currency: str) -> str:
    if e.kind == "created":
        value = f", {format_money(e.value, currency)} {currency}" if e.value is not None else ""
        return f"at {label(e.stage)}{value}"
    if e.kind in ("moved", "reopened"):
        before = label(previous.stage) if previous else "?"
        return f"{before} → {label(e.stage)}"
    if e.kind == "won":
        return f"won at {format_money(e.value, currency)} {currency}" if e.value is not None \
            else "won"
    if e.kind == "lost":
        return f"lost: {e.reason}" if e.reason else "lost"
    if e.kind == "edited":
        parts = [f"{field}: {old or '∅'} → {new or '∅'}" for field, (old, new)
                 in sorted(e.changes.items())]
        return "; ".join(parts)
    return e.kind


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


def stage_report_view(report: StageReport) -> View:
    p, t = report.pipeline, report.totals
    columns = [Column("Stage", bold=True), Column("Prob.", "percent"), Column("Deals", "number"),
               Column("Value", "money"), Column("Weighted", "money")]
    rows = [[s.label, s.probability, s.count, s.value, s.weighted_value] for s in report.stages]
    footer = ["Open pipeline", None, t.open_count, t.open_value, t.weighted_value]
    c = p.currency
    notes = [f"Won:  {t.won_count} deal{'s' if t.won_count != 1 else ''}, "
             f"{format_money(t.won_value, c)} {c}",
             f"Lost: {t.lost_count} deal{'s' if t.lost_count != 1 else ''}, "
             f"{format_money(t.lost_value, c)} {c}"]
    payload = {
        "pipeline": p.name, "label": p.label, "currency": c,
        "stages": [{"key": s.key, "label": s.label, "outcome": s.outcome,
                    "probability": s.probability, "count": s.count, "value": s.value,
                    "weighted_value": round_money(s.weighted_value, c)} for s in report.stages],
        "totals": {"open_count": t.open_count, "open_value": t.open_value,
                   "weighted_value": round_money(t.weighted_value, c), "won_count": t.won_count,
                   "won_value": t.won_value, "lost_count": t.lost_count,
                   "lost_value": t.lost_value},
    }
    return View(columns, rows, payload, title=f"{p.label} ({c})", currency=c,
                footer=footer, notes=notes)
