"""The SQLite store: the shared schema (pipecli.store.schema) in one database file, with
no text log: its events table is the truth.

WAL mode so reports never block writers; every command is one BEGIN IMMEDIATE transaction,
waiting up to PIPE_LOCK_TIMEOUT for another writer. Money is an exact integer number of
thousandths (value_milli) in the derived tables, so SQL sums stay exact.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipecli.errors import StoreError
from pipecli.store import schema
from pipecli.store.base import Snapshot, Store, Transaction
from pipecli.store.locking import busy, lock_timeout

OLD_VERSIONS = ("1", "2")  # the per-deal-sequence layout: `pipe upgrade` converts it


def connect(path: Path | str, name: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit)."""
    try:
        conn = sqlite3.connect(path, timeout=lock_timeout(), isolation_level=None)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open {name}: {e}") from None
    return conn


def check_format(conn: sqlite3.Connection, path: Path, expected=schema.EXPECTED_OBJECTS
                 ) -> bool:
    """True for an empty database; raises StoreError for anything but a current pipe store."""
    tables = {n for t, n in schema.objects(conn) if t == "table"}
    if not tables:
        return True
    found = schema.meta(conn) if "meta" in tables else {}
    if found.get("format") != schema.FORMAT:
        raise StoreError(f"{path} is an SQLite database but not a pipe store")
    if found.get("version") in OLD_VERSIONS:
        raise StoreError(f"{path} is a pipe store in the layout of version "
                         f"{found['version']}; run `pipe upgrade` to convert it (a backup is "
                         f"kept)")
    if found.get("version") in schema.MIGRATABLE:
        return False  # the caller migrates it (schema.migrate) before using it
    if found.get("version") != schema.VERSION:
        raise StoreError(f"{path} is a pipe store of version {found.get('version')}; this "
                         f"pipe reads version {schema.VERSION}")
    if schema.objects(conn) != expected:
        raise StoreError(f"{path} holds tables, indexes or triggers pipe did not create; it "
                         f"is not used")
    return False


def sql_error(e: sqlite3.Error, path: Path) -> Exception:
    """An SQLite failure as the one sentence the user sees."""
    code = getattr(e, "sqlite_errorcode", None)
    code = None if code is None else code & 0xFF  # the primary code of an extended one
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return busy(path.name)
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"cannot write {path}: it is read-only")
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"cannot write {path}: the disk is full; nothing was changed")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(f"{path} is not a readable SQLite database ({e})")
    return StoreError(f"{path}: {e}")


class SqliteStore(Store):
    """Events and what they imply in one SQLite database file."""

    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def files(self) -> list[Path]:
        return [self.path]

    def create(self) -> None:
        with self.write():
            pass

    def _open(self, *, create: bool) -> tuple[sqlite3.Connection, bool]:
        if self.path.is_symlink():
            raise StoreError(f"{self.path} is a symbolic link; pipe does not follow it")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the folder {self.path.parent}: "
                                 f"{e.strerror}") from None
        conn = connect(self.path, self.path.name)
        try:
            empty = check_format(conn, self.path)  # before any pragma: a foreign file stays
            if not empty or create:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            if not empty and schema.meta(conn).get("version") in schema.MIGRATABLE:
                _migrate(conn)
            return conn, empty
        except sqlite3.Error as e:
            conn.close()
            raise sql_error(e, self.path) from None
        except StoreError:
            conn.close()
            raise

    @contextmanager
    def read(self) -> Iterator[Snapshot]:
        conn, empty = self._open(create=False) if self.path.exists() else (None, True)
        if empty:  # never written: nothing to read
            if conn is not None:
                conn.close()
            with _empty() as nothing:
                yield nothing
            return
        with snapshot(conn, self.path) as snap:
            yield snap

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """One BEGIN IMMEDIATE transaction; the first write creates the schema in it."""
        conn, empty = self._open(create=True)
        with immediate(conn, self.path):
            if empty and not schema.objects(conn):  # another process may have created it
                schema.create_schema(conn)
            yield Transaction(conn)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a store of an earlier compatible version to this one, in one transaction
    (another process may have done it meanwhile: the version is read again inside)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if schema.meta(conn).get("version") in schema.MIGRATABLE:
            schema.migrate(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if schema.objects(conn) != schema.EXPECTED_OBJECTS:
        raise StoreError("the store holds tables, indexes or triggers pipe did not create; "
                         "it is not used")


@contextmanager
def snapshot(conn: sqlite3.Connection, path: Path) -> Iterator[Snapshot]:
    """One read transaction: a consistent view for the whole command, however long it
    reads (WAL: writers go on meanwhile); an SQLite error becomes one sentence; the
    connection is closed."""
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM meta").fetchone()  # the view is fixed from here
        yield Snapshot(conn)
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        raise sql_error(e, path) from None
    finally:
        conn.close()


@contextmanager
def immediate(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """One BEGIN IMMEDIATE transaction: committed when the block exits cleanly, rolled
    back on any error (an SQLite one becomes one sentence); the connection is closed."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise sql_error(e, path) from None
    finally:
        conn.close()


@contextmanager
def _empty() -> Iterator[Snapshot]:
    """What a store that was never written holds: an empty schema, in memory."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        schema.create_schema(conn)
        yield Snapshot(conn)
    finally:
        conn.close()
