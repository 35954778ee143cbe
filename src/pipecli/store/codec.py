"""Deals and events as rows of text: the one column layout both backends share."""

from __future__ import annotations

import csv
import io
import re
import zlib
from datetime import date
from decimal import Decimal

from pipecli.models import EVENT_KINDS, SETTABLE_FIELDS, STATUSES, Deal, Due, Event, Kind
from pipecli.values import (format_time, normalize_money, parse_stored_money,
                            parse_stored_probability, parse_stored_time)

DEAL_COLUMNS = ("id", "pipeline", "name", "stage", "status", "value", "probability", "company",
                "contact", "email", "owner", "source", "close_date", "tags", "lost_reason",
                "created_at", "updated_at", "closed_at", "currency", "external_id", "next_step",
                "next_due", "next_owner")
TAG_SEPARATOR = ";"
# Deal columns each store version added (at the end): a file of an older version has the
# columns before them, and is read with these empty.
DEAL_COLUMNS_ADDED = {"4": ("currency", "external_id"),
                      "5": ("next_step", "next_due", "next_owner")}


def older_layouts(columns: tuple[str, ...], added: dict) -> list[tuple[str, ...]]:
    """The column lists of earlier versions, newest first: each drops one version's
    additions from the end."""
    layouts, current = [], columns
    for version in sorted(added, reverse=True):
        current = tuple(c for c in current if c not in added[version])
        layouts.append(current)
    return layouts


def money_text(amount: Decimal | None) -> str:
    return "" if amount is None else format(normalize_money(amount), "f")


def deal_to_row(deal: Deal) -> list[str]:
    """The deal's cells, in DEAL_COLUMNS order."""
    return [deal.id, deal.pipeline, deal.name, deal.stage, deal.status, money_text(deal.value),
            money_text(deal.probability), deal.company, deal.contact, deal.email, deal.owner,
            deal.source, deal.close_date.isoformat() if deal.close_date else "",
            TAG_SEPARATOR.join(deal.tags), deal.lost_reason, format_time(deal.created_at),
            format_time(deal.updated_at), format_time(deal.closed_at) if deal.closed_at else "",
            deal.currency, deal.external_id, deal.next_step,
            deal.next_due.stored() if deal.next_due else "", deal.next_owner]


def row_to_deal(row) -> Deal:
    """Parse DEAL_COLUMNS cells; raises ValueError naming the column at fault."""
    row = _padded(row, DEAL_COLUMNS, DEAL_COLUMNS_ADDED)
    if len(row) != len(DEAL_COLUMNS):
        raise ValueError(f"has {len(row)} cells, expected {len(DEAL_COLUMNS)}")
    cells = dict(zip(DEAL_COLUMNS, row))
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
    probability = parsed("probability", parse_stored_probability)
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
        closed_at=parsed("closed_at", parse_stored_time), currency=cell("currency"),
        external_id=cell("external_id"), next_step=cell("next_step"),
        next_due=parsed("next_due", Due.parse_stored), next_owner=cell("next_owner"))


def _padded(row, columns: tuple[str, ...], added: dict) -> list:
    """A row of an older version's layout, with the later columns empty."""
    for layout in older_layouts(columns, added):
        if len(row) == len(layout):
            return [*row, *("" for _ in range(len(columns) - len(layout)))]
    return row


# The event log's columns, in this order. `sets` names the fields the event sets, so an
# empty cell in a named column clears that field and an empty cell elsewhere means "not
# touched". `crc` (CRC-32 of the rest of the line, 8 hex digits) makes a line torn by a
# crash, or edited by hand, detectable: it is never read as data.
# Columns added by later versions come last (in the order of EVENT_COLUMNS_ADDED), so a
# line written before has the same cells up to `note` and is read with these empty.
# `batch` names the first event of the command that recorded the line (empty for that one),
# so one undo takes back the whole command.
FIELD_COLUMNS = SETTABLE_FIELDS
EVENT_COLUMNS_ADDED = {"4": ("currency", "external_id"),
                       "5": ("next_step", "next_due", "next_owner", "batch")}
ADDED_FIELDS = tuple(c for added in EVENT_COLUMNS_ADDED.values() for c in added)
EVENT_COLUMNS = ("id", "recorded", "deal", "at", "kind", "prev", "target", "sets",
                 *(f for f in FIELD_COLUMNS if f not in ADDED_FIELDS), "tags_added",
                 "tags_removed", "note", *ADDED_FIELDS)
LOG_COLUMNS = (*EVENT_COLUMNS, "crc")
_FIELD_SEPARATOR = " "
FIELD_SEPARATOR = _FIELD_SEPARATOR  # between the field names of `sets` (SQL searches it)


def event_to_row(event: Event) -> list[str]:
    """The event's cells, in EVENT_COLUMNS order."""
    cells = {"id": event.id, "recorded": event.recorded, "deal": event.deal_id,
             "at": format_time(event.at), "kind": event.kind.value, "prev": event.prev,
             "target": event.target,
             "sets": _FIELD_SEPARATOR.join(f for f in FIELD_COLUMNS if f in event.sets),
             "tags_added": TAG_SEPARATOR.join(event.tags_added),
             "tags_removed": TAG_SEPARATOR.join(event.tags_removed), "note": event.note,
             "batch": event.batch}
    return [cells[c] if c in cells else event.sets.get(c, "") for c in EVENT_COLUMNS]


_ID_CHARS = set("0123456789abcdefghjkmnpqrstvwxyz")
# A deal id is pipe's own (base32) or one kept from an imported file (importing._ID, lowercased).
_DEAL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def row_to_event(row) -> Event:
    """Parse EVENT_COLUMNS cells (or those of a line written before version 4); raises
    ValueError naming the column at fault."""
    row = _padded(row, EVENT_COLUMNS, EVENT_COLUMNS_ADDED)
    if len(row) != len(EVENT_COLUMNS):
        raise ValueError(f"has {len(row)} cells, expected {len(EVENT_COLUMNS)}")
    c = dict(zip(EVENT_COLUMNS, row))
    if not c["id"] or len(c["id"]) > 40 or not set(c["id"]) <= _ID_CHARS:
        raise ValueError(f"column id: {c['id'][:40]!r} is not an id")
    if not _DEAL_ID.fullmatch(c["deal"]):
        raise ValueError(f"column deal: {c['deal'][:40]!r} is not an id")
    for name in ("prev", "target", "batch"):
        if c[name] and (len(c[name]) > 40 or not set(c[name]) <= _ID_CHARS):
            raise ValueError(f"column {name}: {c[name][:40]!r} is not an id")
    try:
        kind = Kind(c["kind"])
    except ValueError:
        raise ValueError(f"column kind: {c['kind']!r} is not one of "
                         f"{', '.join(EVENT_KINDS)}") from None
    if kind.is_revert != bool(c["target"]):
        raise ValueError("column target: only undone and redone events name a target")
    try:
        at = parse_stored_time(c["at"])
    except ValueError as e:
        raise ValueError(f"column at: {e}") from None
    if not _RECORDED.match(c["recorded"]):
        raise ValueError(f"column recorded: {c['recorded'][:40]!r} is not a UTC time with "
                         f"microseconds")
    named = c["sets"].split(_FIELD_SEPARATOR) if c["sets"] else []
    unknown = [f for f in named if f not in FIELD_COLUMNS]
    if unknown:
        raise ValueError(f"column sets: {unknown[0][:40]!r} is not a field")
    sets = {f: c[f] for f in FIELD_COLUMNS if f in named}
    stray = next((f for f in FIELD_COLUMNS if c[f] and f not in sets), None)
    if stray:
        raise ValueError(f"column {stray} has a value but `sets` does not name it")
    check_field_texts(sets)
    return Event(id=c["id"], deal_id=c["deal"], at=at, kind=kind, recorded=c["recorded"],
                 sets=sets, tags_added=_tags(c["tags_added"]),
                 tags_removed=_tags(c["tags_removed"]), prev=c["prev"], target=c["target"],
                 note=c["note"], batch=c["batch"])


def trusted_event(row) -> Event:
    """EVENT_COLUMNS cells that were checked by row_to_event when they were read from the
    log (the file store's index holds nothing else): built without checking again."""
    c = dict(zip(EVENT_COLUMNS, row))
    named = c["sets"].split(_FIELD_SEPARATOR) if c["sets"] else ()
    return Event(id=c["id"], deal_id=c["deal"], at=parse_stored_time(c["at"]),
                 kind=Kind(c["kind"]), recorded=c["recorded"], sets={f: c[f] for f in named},
                 tags_added=_tags(c["tags_added"]), tags_removed=_tags(c["tags_removed"]),
                 prev=c["prev"], target=c["target"], note=c["note"], batch=c["batch"])


_RECORDED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _tags(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split(TAG_SEPARATOR) if t)


def check_field_texts(sets: dict) -> None:
    """Refuse stored field texts that could not have come from pipe (ValueError)."""
    for name, text in sets.items():
        if len(text) > MAX_TEXT:
            raise ValueError(f"column {name} is {len(text)} characters long (at most "
                             f"{MAX_TEXT})")
        if not text:
            continue
        if name in ("pipeline", "stage") and not _PLACE_NAME.match(text):
            raise ValueError(f"column {name}: {text[:40]!r} is not a pipeline name or stage key")
        if name == "currency" and not _CURRENCY_CODE.match(text):
            raise ValueError(f"column currency: {text[:40]!r} is not a currency code")
        if name == "status" and text not in STATUSES:
            raise ValueError(f"column status: {text!r} is not open, won or lost")
        elif name == "value":
            parse_stored_money(text)
        elif name == "probability":
            parse_stored_probability(text)
        elif name == "close_date":
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"column close_date: {text!r} is not a date") from None
        elif name == "next_due":
            try:
                Due.parse_stored(text).checked(day_years=False)
            except ValueError:
                raise ValueError(f"column next_due: {text[:40]!r} is not a date or an ISO "
                                 f"date-time with its offset that pipe can keep") from None


MAX_TEXT = 500
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_PLACE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")  # what the pipeline file allows


def line_crc(body: str) -> str:
    """The crc column of a log line whose other cells render as `body` (no line break)."""
    return format(zlib.crc32(body.encode("utf-8")), "08x")


def encode_line(event: Event) -> str:
    """One log line, with its checksum and the final line break."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(event_to_row(event))
    body = buf.getvalue()
    return f"{body},{line_crc(body)}\n"


def decode_line(line: str) -> Event:
    """Parse one complete log line (without its line break); raises ValueError."""
    body, comma, crc = line.rpartition(",")
    if not comma or len(crc) != 8 or line_crc(body) != crc:
        raise ValueError("the line's checksum does not match (torn by a crash, or edited)")
    try:
        cells = next(csv.reader([body], strict=True))
    except (csv.Error, StopIteration):
        raise ValueError("not a CSV line") from None
    return row_to_event(cells)
