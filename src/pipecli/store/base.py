"""The store interface, over the one database schema (pipecli.store.schema).

Reads go through a Snapshot: one consistent SQL read transaction. Writes go through a
Transaction: the caller appends events; each lands in the database at once (so the next
read in the same transaction sees it) and, in the file store, in the log when the block
exits cleanly. A block that raises leaves the store as it was.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from pipecli.models import Deal, Due, Event, Kind
from pipecli.store import schema
from pipecli.values import new_id, parse_stored_time, recorded_stamp

EVENT_ID_LENGTH = 12


@dataclass(frozen=True)
class DealFilter:
    """Which deals to read. Empty fields match everything; text matches ignore case."""

    pipeline: str | None = None
    statuses: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    owner: str | None = None
    source: str | None = None
    tag: str | None = None

    def matches(self, deal: Deal) -> bool:
        return ((self.pipeline is None or deal.pipeline == self.pipeline)
                and (not self.statuses or deal.status in self.statuses)
                and (not self.stages or deal.stage in self.stages)
                and (self.owner is None or deal.owner.lower() == self.owner.lower())
                and (self.source is None or deal.source.lower() == self.source.lower())
                and (self.tag is None or self.tag.lower() in (t.lower() for t in deal.tags)))


DEAL_SQL_COLUMNS = ("id, pipeline, name, stage, status, value_milli, probability, company, "
                 "contact, email, owner, source, close_date, tags, lost_reason, created_at, "
                 "updated_at, closed_at, currency, external_id, next_step, next_due, next_owner")


def deal_of(row) -> Deal:
    """A deals row as a Deal."""
    from datetime import date
    from decimal import Decimal

    (id_, pipeline, name, stage, status, value, probability, company, contact, email, owner,
     source, close_date, tags, lost_reason, created_at, updated_at, closed_at, currency,
     external_id, next_step, next_due, next_owner) = row
    return Deal(id=id_, pipeline=pipeline, name=name, stage=stage, status=status,
                created_at=parse_stored_time(created_at),
                updated_at=parse_stored_time(updated_at), value=schema.from_milli(value),
                probability=Decimal(probability) if probability else None, company=company,
                contact=contact, email=email, owner=owner, source=source,
                close_date=date.fromisoformat(close_date) if close_date else None,
                tags=tuple(t for t in tags.split(";") if t), lost_reason=lost_reason,
                closed_at=parse_stored_time(closed_at) if closed_at else None,
                currency=currency, external_id=external_id, next_step=next_step,
                next_due=Due.parse_stored(next_due) if next_due else None,
                next_owner=next_owner)


def loose(text: str) -> str:
    """Text compared loosely: case folded, accents dropped (é → e, ß → ss)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Snapshot:
    """A consistent read-only view of the store: SQL over its database."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _select(self, where: str = "", params=()) -> Iterator[Deal]:
        for row in self.conn.execute(f"SELECT {DEAL_SQL_COLUMNS} FROM deals {where} ORDER BY id",
                                     params):
            yield deal_of(row)

    def deals(self, where: DealFilter = DealFilter()) -> Iterator[Deal]:
        """Current deals matching the filter, in id order, streamed."""
        clauses, params = [], []
        if where.pipeline is not None:
            clauses.append("pipeline = ?")
            params.append(where.pipeline)
        for column, values in (("status", where.statuses), ("stage", where.stages)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        sql_where = "WHERE " + " AND ".join(clauses) if clauses else ""
        # Case-insensitive owner/source/tag matches are done in Python: SQL's lower() only
        # folds ASCII, and the rule must be the same for every name.
        return (d for d in self._select(sql_where, params) if where.matches(d))

    def get(self, deal_id: str) -> Deal | None:
        """The deal with exactly this id (None when there is none, or it was deleted)."""
        return next(self._select("WHERE id = ?", (deal_id,)), None)

    def by_external_id(self, external_id: str) -> list[Deal]:
        """Deals whose source-system id is exactly this (case-sensitive, as imported)."""
        return list(self._select("WHERE external_id = ?", (external_id,))) \
            if external_id else []

    def by_external_id_prefix(self, prefix: str) -> list[Deal]:
        """Deals whose source-system id starts with this text (case kept)."""
        return list(self._select("WHERE external_id >= ? AND external_id < ?",
                                 (prefix, prefix + "\U0010ffff"))) if prefix else []

    def lookup(self, ref: str) -> list[Deal]:
        """Deals a reference may mean: an exact id wins, then an exact external id (as the
        source system wrote it); otherwise every deal whose id starts with it or whose name
        equals it, ignoring case; failing those, every deal whose name contains it,
        ignoring case and accents. Several = ambiguous."""
        needle = ref.strip().lower()
        if not needle:
            return []
        exact = self.get(needle)
        if exact:
            return [exact]
        external = self.by_external_id(ref.strip())
        if external:
            return external
        found = {}
        if needle.isalnum() and needle.isascii():
            for d in self._select("WHERE id >= ? AND id < ?", (needle, needle + "\x7f")):
                found[d.id] = d
        # name: indexed by exact text, then compared ignoring case in Python
        for d in self._select("WHERE lower(name) = ? OR name = ?", (needle, ref.strip())):
            found[d.id] = d
        if not found and not needle.isascii():
            for d in self._select():
                if d.name.lower() == needle:
                    found[d.id] = d
        if not found and len(needle) >= 2:
            # Last: a part of the name, ignoring case and accents ("northwind" for
            # "Northwind – Annual licence", "cafe" for "Café"); several = ambiguous.
            part = loose(needle)
            ids = [i for i, name in self.conn.execute("SELECT id, name FROM deals")
                   if part in loose(name)]
            for d in (self.get(i) for i in ids[:50]):
                if d is not None:
                    found[d.id] = d
        return sorted(found.values(), key=lambda d: d.id)

    def events(self, deal_id: str | None = None) -> Iterator[Event]:
        """Events in recording order (of one deal, or all), reverts included."""
        if deal_id is None:
            return schema.select_events(self.conn)
        return schema.select_events(self.conn, "WHERE deal = ?", (deal_id,))

    def event(self, event_id: str) -> Event | None:
        return next(schema.select_events(self.conn, "WHERE id = ?", (event_id,)), None)

    def latest(self, deal_id: str) -> Event | None:
        """The deal's latest event in recording order (what a new one names as `prev`)."""
        return next(schema.select_events(self.conn, "WHERE deal = ?", (deal_id,),
                                         order="recorded DESC, id DESC", limit=1), None)

    def last_effective(self, deal_id: str) -> Event | None:
        """The deal's latest event in effect, by effective time (for --at checks)."""
        return next(schema.select_events(
            self.conn, "WHERE deal = ? AND in_effect = 1 AND kind NOT IN ('undone', 'redone')",
            (deal_id,), order="at_s DESC, recorded DESC, id DESC", limit=1), None)

    def recent(self, count: int | None, where: str = "", params=()) -> list[Event]:
        """The latest `count` events (None: all) in recording order, newest first, read by
        index."""
        return list(schema.select_events(self.conn, where, params,
                                         order="recorded DESC, id DESC", limit=count))

    def in_effect(self, event_id: str) -> bool:
        row = self.conn.execute("SELECT in_effect FROM events WHERE id = ?",
                                (event_id,)).fetchone()
        return bool(row and row[0])


class Transaction(Snapshot):
    """A snapshot that also takes events; they land together when the block exits cleanly."""

    def __init__(self, conn: sqlite3.Connection):
        super().__init__(conn)
        self.appended: list[Event] = []
        self.count = 0  # events landed by this transaction
        self._last_recorded: str | None = None
        self._first: str | None = None  # the id of the first event: the others' batch

    def taken_ids(self):
        return _IdsInUse(self.conn)

    def append(self, deal_id: str, kind: Kind, at: datetime, *, sets: dict | None = None,
               tags_added=(), tags_removed=(), target: str = "", note: str = "") -> Event:
        """Record one event of a deal: it gets a new id, the next recording time and the
        deal's latest event as `prev`; the deal's derived rows are brought up to date."""
        latest = self.latest(deal_id)
        event_id = self._new_event_id()
        event = Event(id=event_id, deal_id=deal_id, at=at, kind=kind,
                      recorded=self._next_recorded(), sets=dict(sets or {}),
                      tags_added=tuple(tags_added), tags_removed=tuple(tags_removed),
                      prev=latest.id if latest else "", target=target, note=note,
                      batch=self._batch_of(event_id))
        self.land([event])
        return event

    def _batch_of(self, event_id: str) -> str:
        """What a new event names as its batch: nothing when it is the transaction's first
        (it is the batch), else that first event — so one undo takes back the command."""
        if self._first is None:
            self._first = event_id
            return ""
        return self._first

    def append_all(self, drafts, advance=None, chunk: int = 5000) -> int:
        """Record many events as `append` does each (an import): `drafts` yields
        (deal_id, kind, at, sets, tags_added, tags_removed, note); a deal's events chain
        their `prev` in the order given. They land in chunks (one refold per chunk, not
        per event); advance(n) is told after each. They are one batch: one undo takes
        them all back. Returns how many were recorded."""
        total = 0
        for landed in self._land_chunks(((*d, "") for d in drafts), chunk):
            total += len(landed)
            if advance:
                advance(len(landed))
        return total

    def revert_all(self, kind: Kind, targets: list[Event], at: datetime,
                   chunk: int = 5000) -> list[Event]:
        """Record an undone (or redone) event naming each target, landed as append_all's
        are; returns them in the order of the targets."""
        drafts = ((t.deal_id, kind, at, {}, (), (), "", t.id) for t in targets)
        return [e for landed in self._land_chunks(drafts, chunk) for e in landed]

    def _land_chunks(self, drafts, chunk: int) -> Iterator[list[Event]]:
        """Build events from (deal_id, kind, at, sets, added, removed, note, target) drafts
        and land them a chunk at a time, yielding each chunk once it has landed."""
        latest: dict[str, str] = {}
        drafted: set[str] = set()
        taken = _EventIds(self.conn)
        pending: list[Event] = []
        for deal_id, kind, at, sets, added, removed, note, target in drafts:
            if deal_id not in latest:
                found = self.latest(deal_id)
                latest[deal_id] = found.id if found else ""
            event_id = new_id(_Either(drafted, taken), length=EVENT_ID_LENGTH)
            drafted.add(event_id)
            pending.append(Event(id=event_id, deal_id=deal_id, at=at, kind=kind,
                                 recorded=self._next_recorded(), sets=dict(sets),
                                 tags_added=tuple(added), tags_removed=tuple(removed),
                                 prev=latest[deal_id], target=target, note=note,
                                 batch=self._batch_of(event_id)))
            latest[deal_id] = event_id
            if len(pending) >= chunk:
                self.land(pending)
                yield pending
                pending = []
        if pending:
            self.land(pending)
            yield pending

    def land(self, events: list[Event]) -> None:
        """Put ready-made events in the database (and, on commit, the log)."""
        schema.insert_events(self.conn, events, self.source_name())
        schema.refold(self.conn, dict.fromkeys(e.deal_id for e in events), self.trusted)
        self.count += len(events)
        if self.keeps_events:
            self.appended.extend(events)

    trusted = False  # the events table is the truth here: check what is read back
    keeps_events = False  # the file store keeps them, to append to the log at commit

    def source_name(self) -> str:
        return ""

    def _new_event_id(self) -> str:
        return new_id(_EventIds(self.conn), length=EVENT_ID_LENGTH)

    def _next_recorded(self) -> str:
        """Now, in UTC with microseconds, but always after every event the store holds."""
        if self._last_recorded is None:
            row = self.conn.execute("SELECT max(recorded) FROM events").fetchone()
            self._last_recorded = row[0] or ""
        stamp = recorded_stamp()
        if stamp <= self._last_recorded:
            last = datetime.strptime(self._last_recorded, "%Y-%m-%dT%H:%M:%S.%fZ")
            stamp = recorded_stamp((last + timedelta(microseconds=1)).replace(
                tzinfo=timezone.utc))
        self._last_recorded = stamp
        return stamp


class _IdsInUse:
    """`id in taken` answered by the database instead of loading every id."""

    def __init__(self, conn):
        self.conn = conn

    def __contains__(self, deal_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE deal = ? LIMIT 1",
                                 (deal_id,)).fetchone() is not None


class _Either:
    """Ids taken in either of two collections."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __contains__(self, item: str) -> bool:
        return item in self.first or item in self.second


class _EventIds(_IdsInUse):
    def __contains__(self, event_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE id = ?",
                                 (event_id,)).fetchone() is not None


class Store(ABC):
    """A deal store. Opening it touches nothing; reading or writing does."""

    kind: str

    @abstractmethod
    def read(self) -> AbstractContextManager[Snapshot]:
        ...

    @abstractmethod
    def write(self) -> AbstractContextManager[Transaction]:
        ...

    @abstractmethod
    def create(self) -> None:
        """Create an empty store; the caller has checked none exists."""

    @abstractmethod
    def exists(self) -> bool:
        ...

    @abstractmethod
    def files(self) -> list:
        """The files that make up the store (for init's refusal to overwrite, and tests)."""


@dataclass(frozen=True)
class Finding:
    """A problem `pipe check` reports: where, what, and whether --fix can repair it."""

    where: str  # "path:line" or "path: deal <id>"
    message: str
    fixable: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"
