"""Domain values turned into Views (rows + JSON payload) for render.emit: deals, events,
stages, templates, the change log, stale and next (the report and forecast are in
pipecli.output.report_views).

The JSON payloads here are the documented, stable shapes scripts rely on (docs/json.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from pipecli.models import Deal, Due, Event, Kind, Pipeline, Workspace
from pipecli.output.render import Column, Stream, View, per_currency, shown
from pipecli.engine.figures import Currencies, to_money, weighted
from pipecli.rounding import half_up
from pipecli.output.shown import currency_note, json_days, json_rate, listed, timeline_brief
from pipecli.values import format_money, parse_stored_money, round_money


def deal_payload(deal: Deal, pipeline: Pipeline | None) -> dict:
    """The JSON object of one deal (docs/json.md, "deal")."""
    stage = pipeline.stage(deal.stage) if pipeline else None
    return {
        "id": deal.id, "name": deal.name, "pipeline": deal.pipeline, "stage": deal.stage,
        "stage_label": stage.label if stage else deal.stage, "status": deal.status,
        "value": deal.value,
        "currency": deal.currency or (pipeline.currency if pipeline else None),
        "external_id": deal.external_id,
        "probability": deal.probability if deal.probability is not None else (
            stage.probability if stage else None),
        "weighted_value": round_money(weighted(deal, pipeline),
                                      deal.currency or pipeline.currency)
        if pipeline else None,
        "company": deal.company, "contact": deal.contact, "email": deal.email,
        "owner": deal.owner, "source": deal.source, "close_date": deal.close_date,
        "tags": list(deal.tags), "lost_reason": deal.lost_reason,
        "created_at": deal.created_at, "updated_at": deal.updated_at,
        "closed_at": deal.closed_at, "next_step": next_step_payload(deal),
    }


def next_step_payload(deal: Deal) -> dict | None:
    """A deal's next step in JSON (docs/json.md, "deal"): null when it has none."""
    if not deal.next_step:
        return None
    return {"text": deal.next_step, "due": deal.next_due.stored() if deal.next_due else None,
            "owner": deal.next_owner}


def event_payload(event: Event, in_effect: bool = True) -> dict:
    """The JSON object of one event (docs/json.md, "event")."""
    return {"id": event.id, "deal_id": event.deal_id, "at": event.at,
            "recorded": event.recorded, "event": event.kind.value, "sets": dict(event.sets),
            "tags_added": list(event.tags_added), "tags_removed": list(event.tags_removed),
            "prev": event.prev or None, "target": event.target or None, "note": event.note,
            "batch": event.group, "in_effect": in_effect}


def deal_list(ws: Workspace, deals: Iterable[Deal], hidden_closed: int = 0) -> Stream:
    """`pipe list`, streamed: the totals note is written after the last row. csv/tsv
    write bare values, with a Currency column when the deals' currencies (`deals.currencies`,
    from engine.listing) are not all the list's."""
    multi = len(ws.pipelines) > 1
    columns = [Column("ID", bold=True), Column("Name")]
    if multi:
        columns.append(Column("Pipeline"))
    columns += [Column("Stage"), Column("Value", "money"), Column("Company", drop=2),
                Column("Owner", drop=3), Column("Close", "date", drop=1)]
    pipelines = {p.name: p for p in ws.pipelines}
    currency = ws.pipelines[0].currency if len({p.currency for p in ws.pipelines}) == 1 \
        else ""
    seen: dict = {"count": 0, "totals": {}}  # totals: currency → sum, never added across

    def row(d: Deal) -> list:
        p = pipelines.get(d.pipeline)
        stage = p.stage(d.stage) if p else None
        label = stage.label if stage else d.stage
        if d.status == "lost" and d.lost_reason:
            label = f"{label} ({d.lost_reason})"
        code = d.currency or (p.currency if p else "")
        seen["count"] += 1
        seen["totals"][code] = seen["totals"].get(code, Decimal(0)) + (d.value or Decimal(0))
        # A value in another currency than the list's carries its code ("500 EUR").
        value = {code: d.value} if d.value is not None and code != currency else d.value
        return [d.id, d.name] + ([d.pipeline] if multi else []) + \
            [label, value, d.company, d.owner, d.close_date]

    present = getattr(deals, "currencies", None)
    matched = getattr(deals, "matched", None)  # with --limit: how many matched in all
    labelled = present is None or bool(set(present) - {currency})
    at = columns.index(next(c for c in columns if c.header == "Value")) + 1

    def machine_row(d: Deal) -> list:
        cells = row(d)
        cells[at - 1] = d.value  # bare: its currency has a column of its own
        if labelled:
            p = pipelines.get(d.pipeline)
            cells.insert(at, d.currency or (p.currency if p else ""))
        return cells

    machine = (columns[:at] + [Column("Currency")] + columns[at:] if labelled else columns,
               machine_row)

    def payload(d: Deal) -> dict:
        row(d)  # counts it
        return deal_payload(d, pipelines.get(d.pipeline))

    def notes() -> list[str]:
        count, totals = seen["count"], seen["totals"]
        lines = []
        deals = f"{count} deal{'s' if count != 1 else ''}"
        if count and len(totals) == 1 and "" not in totals:
            code, total = next(iter(totals.items()))
            lines.append(f"{deals}, {format_money(total, code)} {code}")
        elif count and "" not in totals:  # several currencies: a sum for each
            lines.append(f"{deals}: {per_currency(totals)}")
        elif not count:
            lines.append("No deals match.")
        if matched is not None and matched > count:
            lines.append(f"({matched - count} more not shown; a larger --limit shows them)")
        if hidden_closed:
            lines.append(f"({hidden_closed} won or lost deal{'s' if hidden_closed != 1 else ''}"
                         f" not shown; --status all shows every deal)")
        return lines

    return Stream(columns, deals, row, payload, currency=currency, notes=notes,
                  machine=machine)


def deal_detail(deal: Deal, events: list[Event], in_effect: set[str],
                pipeline: Pipeline | None) -> View:
    currency = deal.currency or (pipeline.currency if pipeline else "")

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
              ("Next step", _step_line(deal)),
              ("Tags", ", ".join(deal.tags)), ("Lost reason", deal.lost_reason),
              ("External id", deal.external_id),
              ("Created", deal.created_at.strftime("%Y-%m-%d %H:%M")),
              ("Updated", deal.updated_at.strftime("%Y-%m-%d %H:%M"))]
    preamble = [f"{deal.id}  {shown(deal.name)}"] + [
        f"  {name + ':':<13}{shown(value)}" for name, value in fields if value]
    rows = []
    kinds = {e.id: e.kind for e in events}
    place = (None, None)  # (pipeline, stage) the events in effect have put the deal in
    pipeline_currency = pipeline.currency if pipeline else ""
    now = pipeline_currency  # the currency in effect, event by event
    step = ""  # the next step in effect, event by event (what a `done` completed)
    for e in events:
        if e.id in in_effect and "currency" in e.sets:
            now = e.sets["currency"] or pipeline_currency
        change = describe(e, label, now, kinds, place, step)
        if e.id in in_effect and "next_step" in e.sets:
            step = e.sets["next_step"]
        if e.id in in_effect and "stage" in e.sets:
            place = (e.sets.get("pipeline", place[0]), e.sets["stage"])
        if e.id not in in_effect:
            change = f"(taken back) {change}"
        rows.append([e.at, e.kind.value, change, e.note])
    columns = [Column("When", "time"), Column("Event"), Column("Change"), Column("Note")]
    payload = dict(info, history=[event_payload(e, e.id in in_effect) for e in events])
    return View(columns, rows, payload, currency=currency, preamble=preamble)


def _step_line(deal: Deal) -> str:
    if not deal.next_step:
        return ""
    due = f" (due {deal.next_due})" if deal.next_due else ""
    owner = f" — {deal.next_owner}" if deal.next_owner else ""
    return f"{deal.next_step}{due}{owner}"


def describe(e: Event, label, currency: str, kinds: dict | None = None,
             place_before: tuple = (None, None), step_before: str = "") -> str:
    """One event in words: what it set (labels for stages, money formatted); with the stage
    the deal was in before, a move reads "Proposal → Negotiation"; with the next step
    before, a `done` says which step was done."""
    sets = e.sets
    if e.kind.is_revert:
        what = (kinds or {}).get(e.target)
        verb = "took back" if e.kind == Kind.UNDONE else "put back"
        return f"{verb} {what.value + ' ' if what else ''}event {e.target}"
    if e.kind == Kind.DELETED:
        return "deleted"
    value = f"{format_money(parse_stored_money(sets['value']), currency)} {currency}" \
        if sets.get("value") else ""
    if e.kind == Kind.CREATED:  # with the next step it was given, if any
        return "; ".join([f"at {label(sets.get('stage', ''))}" + (f", {value}" if value
                                                                   else ""),
                          *_next_step_said(e)])
    if e.kind == Kind.WON:
        return f"won at {value}" if value else "won"
    if e.kind == Kind.LOST:
        return f"lost: {sets['lost_reason']}" if sets.get("lost_reason") else "lost"
    parts = [f"done: {step_before}" if step_before else "next step done"] \
        if e.kind == Kind.DONE else []
    if "stage" in sets or "pipeline" in sets:
        where = label(sets.get("stage", ""))
        pipeline_before, stage_before = place_before
        changed = "pipeline" in sets and (
            e.kind in (Kind.HANDED_OFF, Kind.RETURNED) or
            (pipeline_before is not None and sets["pipeline"] != pipeline_before))
        before = f"{label(stage_before)} " if stage_before and not changed else ""
        parts.append(f"→ {sets['pipeline']}: {where}" if changed else f"{before}→ {where}")
    if sets.get("next_step"):
        parts += _next_step_said(e)
    elif "next_due" in sets and sets["next_due"] and "next_step" not in sets:
        parts.append(f"next step due {Due.parse_stored(sets['next_due'])}")
    elif "next_step" in sets and e.kind != Kind.DONE:
        parts.append("next step: ∅")
    for name in sorted(sets):
        if name in ("stage", "pipeline", "status", "next_step", "next_due") or (
                name == "lost_reason" and "status" in sets) or (
                name == "next_owner" and not sets[name]):
            continue  # said above (a place change; a reopening clears the reason)
        shown_value = value if name == "value" else sets[name]
        if name == "currency" and not sets[name]:
            shown_value = f"{currency} (its pipeline's)"
        parts.append(f"{name}: {shown_value or '∅'}")
    parts += [f"+tag {t}" for t in e.tags_added] + [f"-tag {t}" for t in e.tags_removed]
    return "; ".join(parts) or e.kind.value


def _next_step_said(e: Event) -> list[str]:
    """The next step an event gives, in words: `next: Call Ava (due 2026-11-23)`."""
    if not e.sets.get("next_step"):
        return []
    due = f" (due {Due.parse_stored(e.sets['next_due'])})" if e.sets.get("next_due") else ""
    return [f"next: {e.sets['next_step']}{due}"]


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


def stale_view(alerts: Iterable, pipeline: Pipeline) -> Stream:
    """`pipe stale`, streamed; counts what it wrote (for --fail) in `.found`."""
    seen = {"alerts": 0, "deals": set()}

    def count(a) -> None:
        seen["alerts"] += 1
        seen["deals"].add(a.deal.id)

    def row(a) -> list:
        count(a)
        brief = timeline_brief(a.deal, pipeline)
        return [a.deal.id, a.deal.name, brief["stage_label"], a.kind.replace("_", " "),
                a.actual, a.limit, a.overdue_days]

    def payload(a) -> dict:
        count(a)
        return dict(timeline_brief(a.deal, pipeline), kind=a.kind,
                    overdue_days=json_days(a.overdue_days), limit=a.limit, found=a.actual)

    # What was found ("idle 20.5 days", "3 days past") says which alert it is: on a
    # narrow terminal the Alert column goes first, then the rule broken, then the stage.
    columns = [Column("ID", bold=True), Column("Name"), Column("Stage", drop=1),
               Column("Alert", drop=3), Column("Found"), Column("Limit", drop=2),
               Column("Overdue d", "days")]
    matched = getattr(alerts, "matched", None)  # with --limit: how many alerts in all

    def notes() -> list[str]:
        if not seen["alerts"]:
            return ["Nothing is stale."]
        if matched is not None and matched > seen["alerts"]:
            return [f"({matched - seen['alerts']} more not shown; a larger --limit shows "
                    f"them)"]
        return []

    stream = Stream(columns, alerts, row, payload, currency=pipeline.currency, notes=notes)
    stream.found = seen
    return stream


def next_view(ranked, pipeline: Pipeline, limit: int, cur: Currencies | None = None) -> View:
    """`pipe next`: the best `limit` deals (of each currency, when scores in several
    currencies cannot be converted)."""
    cur = cur or Currencies(pipeline.currency, (pipeline.currency,))
    # Amounts carry their code unless every one is in the pipeline's currency.
    labelled = cur.several or (cur.label or pipeline.currency) != pipeline.currency
    rows, machine, payload, shown_per = [], [], [], {}
    for r in ranked:
        key = r.score_currency if cur.split else ""
        i = shown_per[key] = shown_per.get(key, 0) + 1
        if i > limit:
            continue
        brief = timeline_brief(r.deal, pipeline)
        score = to_money(r.score, r.score_currency)
        weighted_value = brief["weighted_value"]  # rounded to the deal's minor units
        # People read the facts, then the score's parts: Weighted × Urgency = Score.
        rows.append([i, r.deal.id, r.deal.name, brief["stage_label"], r.idle_days,
                     r.deal.close_date,
                     {brief["currency"]: weighted_value} if labelled else weighted_value,
                     half_up(1 + r.staleness + r.closeness, 2),
                     {r.score_currency: score} if labelled else score])
        machine.append([i, r.deal.id, r.deal.name, brief["stage_label"], weighted_value,
                        brief["currency"], json_days(r.idle_days), r.deal.close_date, score,
                        r.score_currency])
        payload.append(dict(brief, rank=i, score=score, score_currency=r.score_currency,
                            staleness=json_rate(r.staleness), closeness=json_rate(r.closeness),
                            idle_days=json_days(r.idle_days), days_to_close=r.days_to_close))
    columns = [Column("#", "number"), Column("ID", bold=True), Column("Name"),
               Column("Stage"), Column("Weighted", "money"), Column("Idle d", "days"),
               Column("Close", "date"), Column("Score", "money")]
    # csv/tsv: bare numbers, each amount's currency in a column beside it when labelled.
    picked = [k for k in range(10) if labelled or k not in (5, 9)]
    # On a narrow terminal the parts give way (the close date last) and the legend stays.
    shown_columns = columns[:4] + [Column("Idle d", "days", drop=4),
                                   Column("Close", "date", drop=1),
                                   Column("Weighted", "money", drop=3),
                                   Column("Urgency", "number", drop=2), columns[7]]
    machine_view = View([(columns[:5] + [Column("Currency")] + columns[5:] +
                          [Column("Score currency")])[k] for k in picked],
                        [[row[k] for k in picked] for row in machine], None)
    notes = [NEXT_LEGEND] if rows else ["No open deals."]
    if cur.split:
        notes = [f"Deals in {listed(cur.present)} and no rate for {listed(cur.missing)}: scores "
                 f"in different currencies do not compare, so each currency is ranked on "
                 f"its own; add `rates:` to the pipeline file to rank them together."] + notes
    elif cur.converted:
        notes = currency_note(cur, "scores") + notes
    return View(shown_columns, rows, payload, currency=cur.label or "", notes=notes,
                machine=machine_view)


# pipe next's table explains its score (docs/metrics.md, "Attention ranking").
NEXT_LEGEND = ("Score = Weighted × Urgency; Urgency = 1 + idle days ÷ rot days (≤ 2) + "
               "nearness of the close date (≤ 1; 2 once passed).")


def log_view(entries, ws: Workspace) -> View:
    """The latest events of `pipe log`, newest first (in recording order)."""
    rows, payload = [], []
    pipelines = {p.name: p for p in ws.pipelines}
    kinds = {e.id: e.kind for e, *_ in entries}
    for event, name, in_effect, currency, where, step in entries:
        # the deal's pipeline and currency as they were at the event (versions)
        pipeline = pipelines.get(event.sets.get("pipeline", where)) or ws.pipelines[0]

        def label(key: str, pipeline=pipeline) -> str:
            stage = pipeline.stage(key) if pipeline else None
            return stage.label if stage else key

        own = event.sets["currency"] if "currency" in event.sets else currency
        change = describe(event, label, own or pipeline.currency, kinds, step_before=step)
        if not in_effect:
            change = f"(taken back) {change}"
        rows.append([event.at, event.deal_id, name, event.kind.value, change, event.note])
        payload.append(dict(event_payload(event, in_effect), name=name))
    columns = [Column("When", "time"), Column("ID", bold=True), Column("Name"),
               Column("Event"), Column("Change"), Column("Note", drop=1)]
    return View(columns, rows, payload, notes=[] if entries else ["No changes yet."])
