"""The SQLite store: the same deals and events as the CSV store, in two tables.

WAL mode so reports never block writers; every command is one BEGIN IMMEDIATE
transaction, waiting up to PIPE_LOCK_TIMEOUT for another writer. Money is kept as an
exact integer number of thousandths (value_milli), so SQL sums stay exact.

A third table, `stays`, is derived from the events as they are written: one row per
continuous period a deal spent in one place (pipeline, stage). It lets reports compute in
SQL, in one pass, what would otherwise need every deal's history replayed in order (see
pipecli.sqlreport). Version 1 stores lacked it; opening one adds it (build_stays).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from pipecli.errors import StoreBusy, StoreError
from pipecli.models import Deal, Event
from pipecli.store.base import DealFilter, Finding, Scan, Snapshot, Store, Transaction
from pipecli.store.codec import (DEAL_COLUMNS, EVENT_COLUMNS, deal_from_cells, deal_to_row,
                                 event_to_row, row_to_event)
from pipecli.store.csv_store import lock_timeout

FORMAT = "pipe-store"
VERSION = "2"
READABLE = ("1", "2")  # version 1 is upgraded in place: it lacks the stays table
_MILLI = Decimal(1000)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deals (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, name TEXT NOT NULL, stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    value_milli INTEGER, probability TEXT, company TEXT NOT NULL, contact TEXT NOT NULL,
    email TEXT NOT NULL, owner TEXT NOT NULL, source TEXT NOT NULL, close_date TEXT,
    tags TEXT NOT NULL, lost_reason TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, closed_at TEXT
);
CREATE INDEX IF NOT EXISTS deals_by_stage ON deals (pipeline, stage);
CREATE INDEX IF NOT EXISTS deals_by_name ON deals (name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS events (
    deal_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, event TEXT NOT NULL,
    pipeline TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, value_milli INTEGER,
    reason TEXT NOT NULL, changes TEXT NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (deal_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stays (
    deal_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, pipeline TEXT NOT NULL,
    stage TEXT NOT NULL, from_pipeline TEXT, at TEXT NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER,
    PRIMARY KEY (deal_id, seq)
) WITHOUT ROWID;
"""
# stays: seq and kind are those of the event that began the stay, `at` its time as stored,
# start/end unix seconds (end: the event that moved the deal on; NULL while it is there);
# from_pipeline the pipeline of the stay before (NULL for the first).

# Deal columns as stored: the shared layout with value as value_milli.
_SQL_DEAL_COLUMNS = tuple("value_milli" if c == "value" else c for c in DEAL_COLUMNS)
_SQL_EVENT_COLUMNS = tuple("value_milli" if c == "value" else c for c in EVENT_COLUMNS)


def _to_milli(text: str):
    return None if text == "" else int(Decimal(text) * _MILLI)


def _from_milli(milli) -> str:
    if milli is None:
        return ""
    return format((Decimal(milli) / _MILLI).normalize(), "f")


class SqliteSnapshot(Snapshot):
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    def _deal(self, row) -> Deal:
        cells = {c: ("" if v is None else str(v)) for c, v in zip(DEAL_COLUMNS, row)}
        cells["value"] = _from_milli(row[DEAL_COLUMNS.index("value")])
        try:
            return deal_from_cells(cells)
        except ValueError as e:
            raise StoreError(f"{self.path}: deal {cells['id']}: {e}") from None

    def _select(self, where: str = "", params=()) -> Iterator[Deal]:
        sql = f"SELECT {', '.join(_SQL_DEAL_COLUMNS)} FROM deals {where} ORDER BY id"
        for row in self.conn.execute(sql, params):
            yield self._deal(row)

    def deals(self, where: DealFilter = DealFilter()) -> Iterator[Deal]:
        clauses, params = [], []
        if where.pipeline is not None:
            clauses.append("pipeline = ?")
            params.append(where.pipeline)
        for column, values in (("status", where.statuses), ("stage", where.stages)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        for column in ("owner", "source"):
            if getattr(where, column) is not None:
                clauses.append(f"{column} = ? COLLATE NOCASE")
                params.append(getattr(where, column))
        sql_where = "WHERE " + " AND ".join(clauses) if clauses else ""
        # Tags are ;-joined text: filtered exactly in Python, after SQL narrowed the rows.
        return (d for d in self._select(sql_where, params) if where.matches(d))

    def get(self, deal_id: str) -> Deal | None:
        return next(self._select("WHERE id = ?", (deal_id,)), None)

    def lookup(self, ref: str) -> list[Deal]:
        needle = ref.strip().lower()
        if not needle:
            return []
        exact = self.get(needle)
        if exact:
            return [exact]
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return list(self._select("WHERE id LIKE ? ESCAPE '\\' OR name = ? COLLATE NOCASE",
                                 (escaped + "%", needle)))

    def events(self, deal_id: str | None = None) -> Iterator[Event]:
        sql = f"SELECT {', '.join(_SQL_EVENT_COLUMNS)} FROM events"
        params: tuple = ()
        if deal_id is not None:
            sql += " WHERE deal_id = ?"
            params = (deal_id,)
        for row in self.conn.execute(sql + " ORDER BY deal_id, seq", params):
            cells = ["" if v is None else str(v) for v in row]
            cells[EVENT_COLUMNS.index("value")] = _from_milli(row[EVENT_COLUMNS.index("value")])
            try:
                yield row_to_event(cells)
            except ValueError as e:
                raise StoreError(f"{self.path}: event {cells[0]}/{cells[1]}: {e}") from None


class SqliteTransaction(SqliteSnapshot, Transaction):
    def record(self, event: Event, deal: Deal | None) -> None:
        cells = event_to_row(event)
        cells[EVENT_COLUMNS.index("value")] = _to_milli(cells[EVENT_COLUMNS.index("value")])
        cells[EVENT_COLUMNS.index("seq")] = event.seq
        self.conn.execute(f"INSERT INTO events ({', '.join(_SQL_EVENT_COLUMNS)}) VALUES "
                          f"({', '.join('?' * len(cells))})", cells)
        self._record_stay(event)
        if deal is None:
            self.conn.execute("DELETE FROM deals WHERE id = ?", (event.deal_id,))
            return
        self.record_deal(deal)

    def _record_stay(self, event: Event) -> None:
        current = self.conn.execute(
            "SELECT seq, pipeline, stage FROM stays WHERE deal_id = ? ORDER BY seq DESC LIMIT 1",
            (event.deal_id,)).fetchone()
        for statement, params in stay_changes(event, current):
            self.conn.execute(statement, params)

    def record_deal(self, deal: Deal) -> None:
        """Store a deal row alone (check --fix keeps rows that have no history)."""
        row: list = deal_to_row(deal)
        row[DEAL_COLUMNS.index("value")] = _to_milli(row[DEAL_COLUMNS.index("value")])
        for nullable in ("probability", "close_date", "closed_at"):
            i = DEAL_COLUMNS.index(nullable)
            row[i] = row[i] or None
        self.conn.execute(f"INSERT OR REPLACE INTO deals ({', '.join(_SQL_DEAL_COLUMNS)}) "
                          f"VALUES ({', '.join('?' * len(row))})", row)

    def last_event(self, deal_id: str) -> Event | None:
        row = self.conn.execute("SELECT max(seq) FROM events WHERE deal_id = ?",
                                (deal_id,)).fetchone()
        if row[0] is None:
            return None
        return next(e for e in self.events(deal_id) if e.seq == row[0])

    def taken_ids(self):
        return _IdsInUse(self.conn)


def stay_changes(event: Event, current: tuple | None) -> list[tuple[str, tuple]]:
    """The statements that keep `stays` in step with one new event, given the deal's latest
    stay (seq, pipeline, stage). The same rule as the replay: a creation starts the first
    stay; a deletion changes nothing (an undo may bring the deal back where it was); any
    other event that changes the place ends the current stay and starts the next."""
    start = int(event.at.timestamp())
    at = event.at.isoformat(timespec="seconds")
    if event.kind == "created":
        return [("INSERT OR REPLACE INTO stays VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
                 (event.deal_id, event.seq, event.kind, event.pipeline, event.stage, at, start))]
    if event.kind == "deleted" or current is None or \
            (current[1], current[2]) == (event.pipeline, event.stage):
        return []
    return [('UPDATE stays SET "end" = ? WHERE deal_id = ? AND seq = ?',
             (start, event.deal_id, current[0])),
            ("INSERT INTO stays VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
             (event.deal_id, event.seq, event.kind, event.pipeline, event.stage, current[1], at,
              start))]


def build_stays(conn: sqlite3.Connection) -> None:
    """Derive the stays table from the events (upgrading a version 1 store), one deal at a
    time, in the caller's write transaction."""
    conn.execute("DELETE FROM stays")
    current: dict[str, tuple] = {}
    batch: list = []
    for row in conn.execute(f"SELECT {', '.join(_SQL_EVENT_COLUMNS)} FROM events "
                            f"ORDER BY deal_id, seq"):
        cells = ["" if v is None else str(v) for v in row]
        cells[EVENT_COLUMNS.index("value")] = ""
        event = row_to_event(cells)
        if current and event.deal_id not in current:
            current.clear()  # events come deal by deal: only the current deal's stay matters
        for statement, params in stay_changes(event, current.get(event.deal_id)):
            batch.append((statement, params))
            if statement.startswith("INSERT"):
                current[event.deal_id] = (event.seq, event.pipeline, event.stage)
        if len(batch) >= 5000:
            _flush(conn, batch)
    _flush(conn, batch)


def _flush(conn, batch: list) -> None:
    for statement, params in batch:
        conn.execute(statement, params)
    batch.clear()


class _IdsInUse:
    """`id in taken` answered by the database instead of loading every id."""

    def __init__(self, conn):
        self.conn = conn

    def __contains__(self, deal_id: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM deals WHERE id = ? UNION ALL SELECT 1 FROM events WHERE deal_id = ? "
            "LIMIT 1", (deal_id, deal_id)).fetchone() is not None


class SqliteStore(Store):
    """Deals and events in one SQLite database file."""

    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def files(self) -> list[Path]:
        return [self.path]

    def scan(self) -> Scan:
        """Every row, parsed one by one: a bad row is a finding, not the end of the read."""
        findings: list[Finding] = []
        deals, events, unreadable = [], [], False
        if not self.path.exists():
            return Scan([], [], [])
        conn, empty = self._connect(create=False)
        try:
            if empty:
                return Scan([], [], [])
            snapshot = SqliteSnapshot(conn, self.path)
            for row in conn.execute(f"SELECT {', '.join(_SQL_DEAL_COLUMNS)} FROM deals "
                                    f"ORDER BY id"):
                where = f"{self.path}: deal {row[0]}"
                try:
                    deals.append((where, snapshot._deal(row)))
                except StoreError as e:
                    findings.append(Finding(where, str(e).split(": ", 2)[-1]))
                    unreadable = True
            for row in conn.execute(f"SELECT {', '.join(_SQL_EVENT_COLUMNS)} FROM events "
                                    f"ORDER BY deal_id, seq"):
                where = f"{self.path}: event {row[0]}/{row[1]}"
                cells = ["" if v is None else str(v) for v in row]
                cells[EVENT_COLUMNS.index("value")] = _from_milli(row[EVENT_COLUMNS.index("value")])
                try:
                    events.append((where, row_to_event(cells)))
                except ValueError as e:
                    findings.append(Finding(where, str(e)))
                    unreadable = True
        except sqlite3.Error as e:
            raise self._error(e) from None
        finally:
            conn.close()
        return Scan(deals, events, findings, unreadable)

    def replace_all(self, deals: list[Deal], events: list[Event]) -> None:
        with self.write() as tx:
            tx.conn.execute("DELETE FROM events")
            tx.conn.execute("DELETE FROM deals")
            tx.conn.execute("DELETE FROM stays")
            by_id = {d.id: d for d in deals}
            last = {}
            for e in events:
                last[e.deal_id] = e
            for e in sorted(events, key=lambda e: (e.deal_id, e.seq)):
                tx.record(e, by_id.get(e.deal_id) if last[e.deal_id] is e else None)
            for d in deals:
                if d.id not in last:
                    tx.record_deal(d)

    def create(self) -> None:
        with self.write():
            pass

    def _connect(self, *, create: bool) -> tuple[sqlite3.Connection, bool]:
        """A connection and whether the database is still empty (never initialised)."""
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the folder {self.path.parent}: "
                                 f"{e.strerror}") from None
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=lock_timeout(), isolation_level=None)
            empty = self._check_format(conn)  # before any pragma: a foreign file stays as is
            if not empty or create:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            if not empty:
                self._upgrade(conn)
            return conn, empty
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            if isinstance(e, sqlite3.OperationalError):
                raise self._error(e) from None
            raise StoreError(f"{self.path} is not a pipe SQLite store ({e})") from None
        except StoreError:
            conn.close()
            raise

    def _check_format(self, conn) -> bool:
        """True for an empty database (being created by another process, or a new file)."""
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return True
        found = dict(conn.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
        if found.get("format") != FORMAT:
            raise StoreError(f"{self.path} is an SQLite database but not a pipe store")
        if found.get("version") not in READABLE:
            raise StoreError(f"{self.path} is a pipe store of version {found.get('version')}; "
                             f"this pipe reads version {VERSION}")
        return False

    def _upgrade(self, conn) -> None:
        """Bring a version 1 store to version 2 (add and fill the stays table), in one write
        transaction. A store pipe may not write stays at version 1: it still reads, and
        reports replay its history in Python instead."""
        if _version(conn) == VERSION:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "readonly" in str(e) or "read-only" in str(e):
                return
            raise
        try:
            if _version(conn) != VERSION:  # another process may have upgraded it meanwhile
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                build_stays(conn)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _error(self, e: sqlite3.Error) -> Exception:
        text = str(e)
        if "locked" in text or "busy" in text:
            return StoreBusy(f"the store {self.path.name} is busy: another pipe command held it "
                             f"for more than {lock_timeout():g} s (PIPE_LOCK_TIMEOUT sets the "
                             f"wait)")
        if "readonly" in text or "read-only" in text:
            return StoreError(f"cannot write {self.path}: it is read-only")
        if "disk is full" in text or "full" in text:
            return StoreError(f"cannot write {self.path}: the disk is full; nothing was changed")
        return StoreError(f"{self.path}: {text}")

    @contextmanager
    def read(self) -> Iterator[Snapshot]:
        if not self.path.exists():
            yield _EmptySnapshot()
            return
        conn, empty = self._connect(create=False)
        try:
            if empty:
                yield _EmptySnapshot()
                return
            conn.execute("BEGIN")
            yield SqliteSnapshot(conn, self.path)
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise self._error(e) from None
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """One BEGIN IMMEDIATE transaction; the first write creates the schema in it."""
        conn, empty = self._connect(create=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            if empty:  # IF NOT EXISTS: another process may have created it while we waited
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?), ('version', ?)",
                             (FORMAT, VERSION))
            try:
                yield SqliteTransaction(conn, self.path)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._error(e) from None
        finally:
            conn.close()


def _version(conn) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return row[0] if row else None


def has_stays(conn) -> bool:
    """Whether the stays table is there and current (not a read-only version 1 store)."""
    return _version(conn) == VERSION


class _EmptySnapshot(Snapshot):
    """What a store that was never written holds: nothing."""

    def deals(self, where: DealFilter = DealFilter()):
        return iter(())

    def get(self, deal_id):
        return None

    def lookup(self, ref):
        return []

    def events(self, deal_id=None):
        return iter(())
