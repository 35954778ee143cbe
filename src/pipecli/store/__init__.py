"""Deal stores. open_store picks the backend from the store file's extension."""

from __future__ import annotations

from pathlib import Path

from pipecli.store.base import DealFilter, Snapshot, Store, Transaction

__all__ = ["DealFilter", "Snapshot", "Store", "Transaction", "open_store", "backend_for"]


def backend_for(path: Path) -> str:
    """'csv' or 'sqlite', from the extension (the pipeline loader has validated it)."""
    return "csv" if path.suffix.lower() == ".csv" else "sqlite"


def open_store(path: Path) -> Store:
    """The store at path; nothing is read until a snapshot or transaction is opened."""
    if backend_for(path) == "csv":
        from pipecli.store.csv_store import CsvStore

        return CsvStore(path)
    from pipecli.store.sqlite_store import SqliteStore

    return SqliteStore(path)
