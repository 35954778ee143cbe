"""Deal stores. open_store picks the backend from the store path named in the pipeline file."""

from __future__ import annotations

from pathlib import Path

from pipecli.store.base import DealFilter, Snapshot, Store, Transaction

__all__ = ["DealFilter", "Snapshot", "Store", "Transaction", "open_store", "backend_for"]

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def backend_for(path: Path) -> str:
    """'sqlite' for a database file, 'legacy' for pipe's old two-file CSV store, else 'csv'
    (the event-log folder)."""
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return "sqlite"
    return "legacy" if suffix == ".csv" else "csv"


def open_store(path: Path) -> Store:
    """The store at path; nothing is read until a snapshot or transaction is opened."""
    kind = backend_for(path)
    if kind == "csv":
        from pipecli.store.logstore import LogStore

        return LogStore(path)
    if kind == "legacy":
        from pipecli.store.legacy import LegacyStore

        return LegacyStore(path)
    from pipecli.store.sqlite_store import SqliteStore

    return SqliteStore(path)
