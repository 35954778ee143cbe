"""Deals and events as rows of text: the one column layout both backends share."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from pipecli.models import EVENT_KINDS, STATUSES, Deal, Event
from pipecli.values import normalize_money, parse_stored_money, parse_stored_time, format_time

DEAL_COLUMNS = ("id", "pipeline", "name", "stage", "status", "value", "probability", "company",
                "contact", "email", "owner", "source", "close_date", "tags", "lost_reason",
                "created_at", "updated_at", "closed_at")
EVENT_COLUMNS = ("deal_id", "seq", "at", "event", "pipeline", "stage", "status", "value",
                 "reason", "changes", "note")
TAG_SEPARATOR = ";"


def money_text(amount: Decimal | None) -> str:
    return "" if amount is None else format(normalize_money(amount), "f")


def deal_to_row(deal: Deal) -> list[str]:
    """The deal's cells, in DEAL_COLUMNS order."""
    return [deal.id, deal.pipeline, deal.name, deal.stage, deal.status, money_text(deal.value),
            money_text(deal.probability), deal.company, deal.contact, deal.email, deal.owner,
            deal.source, deal.close_date.isoformat() if deal.close_date else "",
            TAG_SEPARATOR.join(deal.tags), deal.lost_reason, format_time(deal.created_at),
            format_time(deal.updated_at), format_time(deal.closed_at) if deal.closed_at else ""]


# Columns an event row carries itself, left out of the snapshot in its `changes`.
_IN_EVENT_ROW = {"id", "pipeline", "stage", "status", "value", "created_at", "updated_at"}


def deal_snapshot(deal: Deal) -> dict[str, str]:
    """The deal's other non-empty fields, as text (kept in created and deleted events, so
    the history alone can rebuild any deal)."""
    return {c: v for c, v in zip(DEAL_COLUMNS, deal_to_row(deal))
            if v and c not in _IN_EVENT_ROW}


def row_to_deal(row) -> Deal:
    """Parse DEAL_COLUMNS cells; raises ValueError naming the column at fault."""
    cells = dict(zip(DEAL_COLUMNS, row))
    if len(row) != len(DEAL_COLUMNS):
        raise ValueError(f"has {len(row)} cells, expected {len(DEAL_COLUMNS)}")
    return deal_from_cells(cells)


def deal_from_cells(cells: dict[str, str]) -> Deal:
    def cell(name):
        return cells.get(name) or ""

    def parsed(name, parse):
        text = cell(name)
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as e:
            raise ValueError(f"column {name}: {e}") from None

    for required in ("id", "pipeline", "name", "stage", "status", "created_at", "updated_at"):
        if not cell(required):
            raise ValueError(f"column {required} is empty")
    if cell("status") not in STATUSES:
        raise ValueError(f"column status: {cell('status')!r} is not open, won or lost")
    probability = parsed("probability", parse_stored_money)
    if probability is not None and probability > 100:
        raise ValueError(f"column probability: {probability} is over 100")
    return Deal(
        id=cell("id"), pipeline=cell("pipeline"), name=cell("name"), stage=cell("stage"),
        status=cell("status"), value=parsed("value", parse_stored_money),
        probability=probability, company=cell("company"), contact=cell("contact"),
        email=cell("email"), owner=cell("owner"), source=cell("source"),
        close_date=parsed("close_date", date.fromisoformat),
        tags=tuple(t for t in cell("tags").split(TAG_SEPARATOR) if t),
        lost_reason=cell("lost_reason"),
        created_at=parsed("created_at", parse_stored_time),
        updated_at=parsed("updated_at", parse_stored_time),
        closed_at=parsed("closed_at", parse_stored_time))


def event_to_row(event: Event) -> list[str]:
    """The event's cells, in EVENT_COLUMNS order."""
    changes = json.dumps(event.changes, sort_keys=True, ensure_ascii=False,
                         separators=(",", ":")) if event.changes else ""
    return [event.deal_id, str(event.seq), format_time(event.at), event.kind, event.pipeline,
            event.stage, event.status, money_text(event.value), event.reason, changes,
            event.note]


def row_to_event(row) -> Event:
    """Parse EVENT_COLUMNS cells; raises ValueError naming the column at fault."""
    if len(row) != len(EVENT_COLUMNS):
        raise ValueError(f"has {len(row)} cells, expected {len(EVENT_COLUMNS)}")
    c = dict(zip(EVENT_COLUMNS, row))
    try:
        seq = int(c["seq"])
    except ValueError:
        raise ValueError(f"column seq: {c['seq']!r} is not a number") from None
    if c["event"] not in EVENT_KINDS:
        raise ValueError(f"column event: {c['event']!r} is not one of {', '.join(EVENT_KINDS)}")
    try:
        at = parse_stored_time(c["at"])
    except ValueError as e:
        raise ValueError(f"column at: {e}") from None
    try:
        value = parse_stored_money(c["value"]) if c["value"] else None
    except ValueError as e:
        raise ValueError(f"column value: {e}") from None
    try:
        changes = json.loads(c["changes"]) if c["changes"] else {}
    except ValueError:
        raise ValueError("column changes is not valid JSON") from None
    return Event(deal_id=c["deal_id"], seq=seq, at=at, kind=c["event"], pipeline=c["pipeline"],
                 stage=c["stage"], status=c["status"], value=value, reason=c["reason"],
                 changes=changes, note=c["note"])
