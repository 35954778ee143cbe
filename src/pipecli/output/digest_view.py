"""`pipe digest` as a Document: the headline figures (start, end, change), then each kind
of change as a table; csv/tsv get one row per change, json the documented shape
(docs/json.md, "digest")."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from pipecli.engine.digest import Digest, Happening, Headline
from pipecli.output.render import Column, Document, View, per_currency
from pipecli.output.shown import json_rate
from pipecli.rounding import half_up, percent
from pipecli.values import format_money


def digest_document(d: Digest) -> Document:
    """Everything `pipe digest` shows, for every output format."""
    p = d.pipeline
    title = (f"{p.label} ({p.currency}) — what changed from {d.start:%Y-%m-%d %H:%M} to "
             f"{d.end:%Y-%m-%d %H:%M}")
    sections: list = [title, headline_view(d)]
    labelled = change_lists(d)
    for heading, items, kind in labelled:
        if items:
            sections.append(changes_view(heading, items, kind, d))
    if d.overdue:
        sections.append(overdue_view(d))
    if not any(items for _, items, _ in labelled) and not d.overdue:
        sections.append([NOTHING])
    return Document(sections, payload(d), _flat(d, labelled))


NOTHING = "No deal changed in the period and no next step is overdue."
OVERDUE = "Next steps overdue"


def change_lists(d: Digest) -> list[tuple[str, list[Happening], str]]:
    """Each kind of change in the order shown: (heading, the changes, kind)."""
    return [("New deals", d.new, "new"), ("Won", d.won, "won"), ("Lost", d.lost, "lost"),
            ("Moved forward", d.forward, "forward"), ("Moved back", d.back, "back"),
            ("Close dates that slipped", d.slipped, "slipped")]


def headline_view(d: Digest) -> View:
    """Figure, Start, End, Change: each headline figure as the terminal shows it."""
    columns = [Column("Figure"), Column("Start", "number"), Column("End", "number"),
               Column("Change", "number")]
    rows = [[h.label, _shown(h, h.start), _shown(h, h.end), _change(h)] for h in d.headlines]
    return View(columns, rows, None, title="Headline figures")


def _shown(h: Headline, value) -> str:
    if value is None:
        return "—"
    if h.kind == "count":
        return f"{value:,}"
    if h.kind == "rate":
        return percent(value, 1)
    return _money(value)


def _money(value) -> str:
    if isinstance(value, dict):
        return per_currency(value, "; ") if value else "0"
    return format_money(Decimal(value))


def _change(h: Headline) -> str:
    c = h.change
    if c is None:
        return "—"
    if h.kind == "rate":
        points = half_up(Fraction(c) * 100, 1)
        return f"{'+' if points > 0 else ''}{points} pts"
    if isinstance(c, dict):
        return "; ".join(f"{'+' if v > 0 else ''}{format_money(v, k)} {k}"
                         for k, v in c.items()) or "0"
    text = f"{c:,}" if h.kind == "count" else format_money(Decimal(c))
    return f"+{text}" if c > 0 else text


def _label(d: Digest, key: str) -> str:
    stage = d.pipeline.stage(key)
    return stage.label if stage else key


def changes_view(heading: str, items: list[Happening], kind: str, d: Digest) -> View:
    """One kind of change as a table: when, the deal, its value and what changed."""
    columns = [Column("When", "time"), Column("ID", bold=True), Column("Deal"),
               Column("Value", "money")]
    if kind in ("forward", "back"):
        columns.append(Column("Move"))
    elif kind == "lost":
        columns.append(Column("Reason"))
    elif kind == "slipped":
        columns.append(Column("Close date"))
    elif kind == "new":
        columns.append(Column("Stage"))
    rows = []
    for h in items:
        value = h.value if h.currency == d.pipeline.currency or h.value is None \
            else {h.currency: h.value}
        extra = {"forward": f"{_label(d, h.before)} → {_label(d, h.stage)}",
                 "back": f"{_label(d, h.before)} → {_label(d, h.stage)}",
                 "lost": h.reason, "slipped": f"{h.before} → {h.after}",
                 "new": _label(d, h.stage)}.get(kind)
        rows.append([h.at, h.deal_id, h.name, value] + ([extra] if extra is not None else []))
    return View(columns, rows, None, title=f"{heading} ({len(items)})",
                currency=d.pipeline.currency)


def overdue_view(d: Digest) -> View:
    """The next steps overdue at the end: due, the deal, the step and its owner."""
    columns = [Column("Due", "date"), Column("ID", bold=True), Column("Deal"),
               Column("Next step"), Column("Owner", drop=1)]
    rows = [[str(t.next_due), t.id, t.name, t.next_step, t.next_owner or t.owner]
            for t in d.overdue]
    return View(columns, rows, None, title=f"{OVERDUE} ({len(d.overdue)})")


def _happening(h: Happening) -> dict:
    return {"id": h.deal_id, "name": h.name, "at": h.at, "stage": h.stage, "value": h.value,
            "currency": h.currency}


def _json_figure(h: Headline, value):
    if h.kind == "rate":
        return json_rate(value)
    return value


def payload(d: Digest) -> dict:
    """The JSON shape of `pipe digest -o json` (docs/json.md, "digest")."""
    return {
        "pipeline": d.pipeline.name, "start": d.start, "end": d.end,
        "headlines": [{"key": h.key, "label": h.label, "start": _json_figure(h, h.start),
                       "end": _json_figure(h, h.end), "change": _json_figure(h, h.change)}
                      for h in d.headlines],
        "new": [_happening(h) for h in d.new],
        "won": [_happening(h) for h in d.won],
        "lost": [dict(_happening(h), reason=h.reason) for h in d.lost],
        "forward": [dict(_happening(h), from_stage=h.before) for h in d.forward],
        "back": [dict(_happening(h), from_stage=h.before) for h in d.back],
        "slipped": [dict(_happening(h), close_date_before=h.before, close_date=h.after)
                    for h in d.slipped],
        "overdue": [{"id": t.id, "name": t.name, "stage": t.stage, "next_step": t.next_step,
                     "due": t.next_due.stored() if t.next_due else None,
                     "owner": t.next_owner or t.owner} for t in d.overdue],
    }


def _flat(d: Digest, labelled) -> View:
    """csv/tsv: one row per change (kind, id, name, at, stage, before, after, value,
    currency, reason), then one per headline figure (kind "headline")."""
    columns = [Column(c) for c in ("kind", "id", "name", "at", "stage", "before", "after")] + \
        [Column("value", "money"), Column("currency"), Column("reason")]
    rows = []
    for _, items, kind in labelled:
        for h in items:
            rows.append([kind, h.deal_id, h.name, h.at, h.stage, h.before, h.after, h.value,
                         h.currency, h.reason])
    for t in d.overdue:
        rows.append(["overdue", t.id, t.name, "", t.stage, t.next_step,
                     t.next_due.stored() if t.next_due else "", t.value,
                     t.currency or d.pipeline.currency, ""])
    for h in d.headlines:
        if isinstance(h.start, dict) or isinstance(h.end, dict):
            continue  # per-currency money: in json
        rows.append(["headline", h.key, h.label, "", "", _plain(h.start), _plain(h.end),
                     None, "", _plain(h.change)])
    return View(columns, rows, None)


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Fraction):
        return format(half_up(value, 4), "f")
    return str(value)
