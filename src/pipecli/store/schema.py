"""The database both stores share: the SQLite store *is* it; the file store keeps it as a
disposable index of its log. Events are the truth; deals, versions and stays are what
pipecli.engine.fold derives from them, rewritten for a deal whenever one of its events
lands, so reports are plain GROUP BY queries.

Portable SQL only (TEXT and INTEGER columns, ON CONFLICT, no WITHOUT ROWID, no SQLite date
functions: times are stored as ISO text for display and as unix seconds for arithmetic),
so a PostgreSQL backend can run the same statements.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Iterable, Iterator

from pipecli.engine.fold import Folded, fold
from pipecli.models import Deal, Event
from pipecli.store.codec import EVENT_COLUMNS, money_text, row_to_event, trusted_event
from pipecli.values import format_time

FORMAT = "pipe-store"
VERSION = "5"
MILLI = Decimal(1000)

# Event columns as stored: the log's, with `deal` and the text fields as they are written.
_EVENT_SQL_COLUMNS = ", ".join(EVENT_COLUMNS)

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events (
    {", ".join(f"{c} TEXT NOT NULL" for c in EVENT_COLUMNS)},
    at_s INTEGER NOT NULL,
    in_effect INTEGER NOT NULL DEFAULT 1,
    log_file TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (id)
);
CREATE INDEX events_by_deal ON events (deal, recorded, id);
CREATE INDEX events_by_order ON events (recorded, id);
CREATE INDEX events_by_time ON events (at_s);
CREATE TABLE deals (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, name TEXT NOT NULL, stage TEXT NOT NULL,
    status TEXT NOT NULL, value_milli INTEGER, probability TEXT, company TEXT NOT NULL,
    contact TEXT NOT NULL, email TEXT NOT NULL, owner TEXT NOT NULL, source TEXT NOT NULL,
    close_date TEXT, tags TEXT NOT NULL, lost_reason TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, closed_at TEXT, created_s INTEGER NOT NULL,
    updated_s INTEGER NOT NULL, currency TEXT NOT NULL, external_id TEXT NOT NULL,
    next_step TEXT NOT NULL, next_due TEXT NOT NULL, next_owner TEXT NOT NULL
);
CREATE INDEX deals_by_stage ON deals (pipeline, stage);
CREATE INDEX deals_by_external_id ON deals (external_id);
CREATE INDEX deals_by_name ON deals (lower(name));
CREATE TABLE versions (
    deal_id TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER, at TEXT NOT NULL,
    kind TEXT NOT NULL, pipeline TEXT NOT NULL, from_pipeline TEXT, stage TEXT NOT NULL,
    status TEXT NOT NULL, value_milli INTEGER, probability TEXT, name TEXT NOT NULL,
    company TEXT NOT NULL, owner TEXT NOT NULL, source TEXT NOT NULL, tags TEXT NOT NULL,
    close_date TEXT, lost_reason TEXT NOT NULL, created_s INTEGER NOT NULL,
    created_at TEXT NOT NULL, closed_s INTEGER, closed_at TEXT, stay_start INTEGER NOT NULL,
    visited TEXT NOT NULL, handed_from TEXT NOT NULL, returned_to TEXT NOT NULL,
    handoffs INTEGER NOT NULL, returns INTEGER NOT NULL, close_day INTEGER,
    currency TEXT NOT NULL, next_step TEXT NOT NULL, next_due TEXT NOT NULL,
    next_owner TEXT NOT NULL, next_due_day INTEGER, next_due_s INTEGER
);
CREATE INDEX versions_by_deal ON versions (deal_id, valid_from);
CREATE TABLE current AS SELECT * FROM versions WHERE 1 = 0;
CREATE INDEX current_by_deal ON current (deal_id);
CREATE TABLE stays (
    deal_id TEXT NOT NULL, pipeline TEXT NOT NULL, stage TEXT NOT NULL,
    started INTEGER NOT NULL, ended INTEGER
);
CREATE INDEX stays_by_deal ON stays (deal_id);
"""
# Objects a store of this version holds; anything else (a trigger, a view) means the file
# was not written by pipe and is not trusted.
EXPECTED_OBJECTS = {("table", "meta"), ("table", "events"), ("table", "deals"),
                    ("table", "versions"), ("table", "stays"), ("index", "events_by_deal"),
                    ("index", "events_by_order"), ("index", "events_by_time"), ("index", "deals_by_stage"),
                    ("index", "deals_by_name"), ("index", "deals_by_external_id"), ("index", "versions_by_deal"),
                    ("table", "current"), ("index", "current_by_deal"),
                    ("index", "stays_by_deal")}


# Versions this one reads after `migrate`: 3 lacked the currency and external_id fields,
# 4 the next step and the batch (codec.EVENT_COLUMNS_ADDED).
MIGRATABLE = ("3", "4")
_DERIVED = ("deals", "versions", "current", "stays")


def migrate(conn: sqlite3.Connection) -> None:
    """An earlier version → this one, in the caller's transaction: the events gain the
    columns added since (empty: not set), and every derived table is made and filled
    again."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    for column in (c for c in EVENT_COLUMNS if c not in have):
        conn.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    for table in _DERIVED:
        conn.execute(f"DROP TABLE {table}")
    for statement in SCHEMA.split(";"):
        if any(f"CREATE TABLE {t} " in statement or f" ON {t} (" in statement
               for t in _DERIVED):
            conn.execute(statement)
    set_meta(conn, "version", VERSION)
    rebuild_all(conn)


def create_schema(conn: sqlite3.Connection, extra: str = "", meta: dict | None = None) -> None:
    """Create the tables (in the caller's transaction)."""
    for statement in (SCHEMA + extra).split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                     [("format", FORMAT), ("version", VERSION), *(meta or {}).items()])


def objects(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    """(type, name) of every object in the database, SQLite's own autoindexes aside."""
    return {(t, n) for t, n in conn.execute("SELECT type, name FROM sqlite_master")
            if not n.startswith("sqlite_")}


def _fold(text):
    return None if text is None else str(text).lower()


def _same_name(text):
    from pipecli.values import same_name

    return None if text is None else same_name(str(text))


def _has_tag(tags, tag):
    return 1 if tag in (t.lower() for t in (tags or "").split(";")) else 0


def _loose(text):
    from pipecli.store.base import loose

    return None if text is None else loose(str(text))


def register_functions(conn: sqlite3.Connection) -> None:
    """fold(text) and has_tag(tags, tag): case-insensitive matching with Python's full
    case rules (SQL's lower() folds ASCII only), the one rule every filter uses; loose(text)
    also drops accents, for text search; same_name(text) also makes every run of spaces one
    (values.same_name: companies). In PostgreSQL, lower() already folds Unicode,
    unaccent() drops accents, and tags would be an array."""
    conn.create_function("fold", 1, _fold, deterministic=True)
    conn.create_function("has_tag", 2, _has_tag, deterministic=True)
    conn.create_function("loose", 1, _loose, deterministic=True)
    conn.create_function("same_name", 1, _same_name, deterministic=True)


def meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta"))


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                 "SET value = excluded.value", (key, value))


# -- events -----------------------------------------------------------------------------------

def _event_cells(e: Event) -> list:
    from pipecli.store.codec import event_to_row

    return [*event_to_row(e), int(e.at.timestamp())]


def insert_events(conn: sqlite3.Connection, events: Iterable[Event], source: str = "") -> None:
    """Add events (an id already present is left as it is: a merge may bring it twice)."""
    marks = ", ".join("?" * (len(EVENT_COLUMNS) + 2))
    conn.executemany(f"INSERT INTO events ({_EVENT_SQL_COLUMNS}, at_s, log_file) VALUES ({marks}) "
                     f"ON CONFLICT (id) DO NOTHING",
                     ([*_event_cells(e), source] for e in events))


def event_of(row) -> Event:
    """An events row (EVENT_COLUMNS first) as an Event."""
    return row_to_event(list(row[:len(EVENT_COLUMNS)]))


def select_events(conn: sqlite3.Connection, where: str = "", params=(),
                  order: str = "recorded, id", limit: int | None = None) -> Iterator[Event]:
    """Events matching an SQL condition, in recording order unless told otherwise."""
    sql = f"SELECT {_EVENT_SQL_COLUMNS} FROM events {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    for row in conn.execute(sql, params):
        yield event_of(row)


# -- derived rows -------------------------------------------------------------------------------

REFOLD_BATCH = 500


def refold(conn: sqlite3.Connection, deal_ids: Iterable[str], trusted: bool = False) -> None:
    """Derive again everything the events of these deals imply (after some of them landed),
    a batch of deals at a time: one read of their events, one write per table. trusted:
    the events table holds only lines checked when the log was read (an index)."""
    parse = trusted_event if trusted else event_of
    ids = list(deal_ids)
    for start in range(0, len(ids), REFOLD_BATCH):
        batch = ids[start:start + REFOLD_BATCH]
        marks = ", ".join("?" * len(batch))
        histories: dict[str, list[Event]] = {i: [] for i in batch}
        was_off: set[str] = set()
        for row in conn.execute(f"SELECT {_EVENT_SQL_COLUMNS}, in_effect FROM events "
                                f"WHERE deal IN ({marks}) ORDER BY deal, recorded, id", batch):
            event = parse(row[:-1])
            histories[event.deal_id].append(event)
            if not row[-1]:
                was_off.add(event.id)
        for table, column in (("deals", "id"), ("versions", "deal_id"),
                              ("current", "deal_id"), ("stays", "deal_id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", batch)
        write_many(conn, [(fold(events), events) for events in histories.values() if events],
                   was_off)


def write_many(conn: sqlite3.Connection, folds: list[tuple[Folded, list[Event]]],
               was_off: set[str] = frozenset()) -> None:
    """Insert the derived rows of folded deals (whose old rows are gone) and mark the events
    whose effect changed (was_off: those marked out of effect before)."""
    deals, versions, current, stays, flips = [], [], [], [], []
    for folded, events in folds:
        for e in events:
            on = e.id in folded.in_effect
            if on == (e.id in was_off):
                flips.append((int(on), e.id))
        if folded.deal is not None:
            deals.append(deal_cells(folded.deal))
        rows = [version_cells(v, end) for v, end in zip(folded.versions, folded.ends)]
        versions += rows
        if folded.deal is not None:  # the version valid now, apart: "now" reads only these
            current.append(rows[-1])
        deal_id = events[0].deal_id
        stays += [(deal_id, st.pipeline, st.stage, int(st.start.timestamp()),
                   None if st.end is None else int(st.end.timestamp())) for st in folded.stays]
    conn.executemany("UPDATE events SET in_effect = ? WHERE id = ?", flips)
    conn.executemany(f"INSERT INTO deals VALUES ({', '.join('?' * 25)})", deals)
    conn.executemany(f"INSERT INTO versions VALUES ({', '.join('?' * 35)})", versions)
    conn.executemany(f"INSERT INTO current VALUES ({', '.join('?' * 35)})", current)
    conn.executemany("INSERT INTO stays VALUES (?, ?, ?, ?, ?)", stays)


def milli(amount: Decimal | None) -> int | None:
    """Money as an exact integer number of thousandths (what SQL sums)."""
    return None if amount is None else int(amount * MILLI)


def from_milli(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value) / MILLI


@lru_cache(maxsize=8192)
def _stamp(moment: datetime) -> tuple[str, int]:
    """A moment as stored: ISO text and unix seconds (versions of a deal share many)."""
    return format_time(moment), int(moment.timestamp())


def deal_cells(d: Deal) -> list:
    return [d.id, d.pipeline, d.name, d.stage, str(d.status), milli(d.value),
            money_text(d.probability) or None, d.company, d.contact, d.email, d.owner,
            d.source, d.close_date.isoformat() if d.close_date else None, ";".join(d.tags),
            d.lost_reason, format_time(d.created_at), format_time(d.updated_at),
            format_time(d.closed_at) if d.closed_at else None, int(d.created_at.timestamp()),
            int(d.updated_at.timestamp()), d.currency, d.external_id, d.next_step,
            d.next_due.stored() if d.next_due else "", d.next_owner]


def version_cells(v, end) -> list:
    d = v.deal
    start_text, start = _stamp(v.start)
    created_text, created = _stamp(d.created_at)
    closed_text, closed = _stamp(d.closed_at) if d.closed_at else (None, None)
    return [d.id, start, None if end is None else _stamp(end)[1],
            start_text, v.kind.value, d.pipeline, v.from_pipeline, d.stage,
            str(d.status), milli(d.value), money_text(d.probability) or None, d.name,
            d.company, d.owner, d.source, ";".join(d.tags),
            d.close_date.isoformat() if d.close_date else None, d.lost_reason,
            created, created_text, closed, closed_text, _stamp(v.stay_start)[1],
            v.visited, v.handed_from, v.returned_to, v.handoffs, v.returns,
            d.close_date.toordinal() if d.close_date else None, d.currency, d.next_step,
            d.next_due.stored() if d.next_due else "", d.next_owner, *_due_keys(d.next_due)]


def _due_keys(due) -> tuple:
    """What SQL compares a due by: the day's ordinal for a whole day (overdue once the
    reader's today is later), the unix time for a moment."""
    if due is None:
        return None, None
    if due.moment is None:
        return due.day.toordinal(), None
    return None, int(due.moment.timestamp())


def rebuild_all(conn: sqlite3.Connection) -> None:
    """Derive every deal again from the events (a new index, or an upgrade)."""
    for table in ("deals", "versions", "current", "stays"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("UPDATE events SET in_effect = 1")
    folds: list = []
    batch: list[Event] = []
    # Streamed: only in_effect is updated meanwhile, which the (deal, recorded, id) index
    # being read does not hold, so the read is not disturbed.
    for event in select_events(conn, order="deal, recorded, id"):
        if batch and event.deal_id != batch[0].deal_id:
            folds.append((fold(batch), batch))
            batch = []
            if len(folds) >= REFOLD_BATCH:
                write_many(conn, folds)
                folds = []
        batch.append(event)
    if batch:
        folds.append((fold(batch), batch))
    write_many(conn, folds)
