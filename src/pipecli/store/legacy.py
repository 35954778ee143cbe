"""pipe's earlier stores, read only to convert them (`pipe upgrade`).

Before the event log, the CSV store was two sorted files (deals.csv and deals.history.csv)
and the SQLite store (versions 1 and 2) kept the same events in a table; each event held
the deal's whole state after it, numbered per deal. Conversion turns each into an event of
the log that sets what changed. It is deterministic — the same old store always gives the
same events, ids and files — so teammates who upgrade their clones separately get
identical logs that git merges as one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Iterable, Iterator

from pipecli.errors import StoreError
from pipecli.models import Event, Kind
from pipecli.store.base import Store
from pipecli.values import ID_ALPHABET, parse_stored_time

OLD_EVENT_COLUMNS = ("deal_id", "seq", "at", "event", "pipeline", "stage", "status", "value",
                     "reason", "changes", "note")
UPGRADE_WRITER = "00000000"  # no writer draws an all-digit id: this one is the upgrade's
_TEXT_FIELDS = ("name", "company", "contact", "email", "owner", "source", "close_date",
                "probability", "lost_reason")


class LegacyStore(Store):
    """The old two-file CSV store: every command but `pipe upgrade` is refused."""

    kind = "legacy"

    def __init__(self, path: Path):
        self.path = path
        self.history_path = path.with_name(path.stem + ".history" + path.suffix)

    def _refuse(self):
        if not self.exists():
            raise StoreError(f"`store: {self.path.name}` names pipe's old two-file layout; "
                             f"name a folder instead (e.g. `store: {self.path.stem}`, the "
                             f"event log)")
        raise StoreError(f"{self.path.name} is a store in pipe's old two-file layout; run "
                         f"`pipe upgrade` to convert it to the event log (the old files are "
                         f"kept as a backup)")

    @contextmanager
    def read(self):
        self._refuse()
        yield

    @contextmanager
    def write(self):
        self._refuse()
        yield

    def create(self) -> None:
        self._refuse()

    def exists(self) -> bool:
        return self.path.exists() or self.history_path.exists()

    def files(self) -> list[Path]:
        return [self.path, self.history_path]

    def old_events(self) -> Iterator[dict]:
        """The history file's rows as dicts (strictly: a row that cannot be read stops it)."""
        try:
            text = self.history_path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"cannot read {self.history_path}: {e}") from None
        rows = csv.reader(text.splitlines())
        header = next(rows, None)
        if header is None:
            return
        if tuple(header) != OLD_EVENT_COLUMNS:
            raise StoreError(f"{self.history_path}:1: not a history file of pipe's old layout")
        for number, cells in enumerate(rows, start=2):
            if not cells or cells[0].startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||")):
                raise StoreError(f"{self.history_path}:{number}: a left-over merge conflict or "
                                 f"an empty line; resolve it before upgrading")
            if len(cells) != len(OLD_EVENT_COLUMNS):
                raise StoreError(f"{self.history_path}:{number}: has {len(cells)} cells, "
                                 f"expected {len(OLD_EVENT_COLUMNS)}")
            yield dict(zip(OLD_EVENT_COLUMNS, cells))


def old_sqlite_events(path: Path) -> Iterator[dict]:
    """The events table of a version 1 or 2 SQLite store, as the CSV layout's dicts."""
    from decimal import Decimal

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        columns = ", ".join("value_milli" if c == "value" else c for c in OLD_EVENT_COLUMNS)
        for row in conn.execute(f"SELECT {columns} FROM events ORDER BY deal_id, seq"):
            cells = {c: ("" if v is None else str(v)) for c, v in zip(OLD_EVENT_COLUMNS, row)}
            milli = row[OLD_EVENT_COLUMNS.index("value")]
            cells["value"] = "" if milli is None else \
                format((Decimal(milli) / 1000).normalize(), "f")
            yield cells
    finally:
        conn.close()


def _event_id(deal_id: str, seq: str) -> str:
    digest = hashlib.sha256(f"pipe-upgrade:{deal_id}:{seq}".encode()).digest()
    bits = int.from_bytes(digest[:8], "big")
    return "".join(ID_ALPHABET[(bits >> (5 * i)) & 31] for i in range(12))


def convert(rows: Iterable[dict]) -> list[Event]:
    """Old events (any order) as log events: each sets what changed from the deal's state
    before it; `undo:SEQ` / `redo:SEQ` reverts become undone / redone events naming their
    target. Recording order follows the old undo order: time, then deal, then seq."""
    by_deal: dict[str, list[dict]] = {}
    for row in rows:
        by_deal.setdefault(row["deal_id"], []).append(row)
    ordered = sorted(((parse_stored_time(r["at"]), r["deal_id"], int(r["seq"]), r)
                      for history in by_deal.values() for r in history),
                     key=lambda x: x[:3])
    recorded = {}
    last_second, counter = None, 0
    for at, deal_id, seq, _ in ordered:
        second = at.astimezone(timezone.utc).replace(microsecond=0)
        counter = counter + 1 if second == last_second else 0
        last_second = second
        recorded[(deal_id, seq)] = second.replace(microsecond=min(counter, 999999)) \
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out = []
    for deal_id, history in by_deal.items():
        history.sort(key=lambda r: int(r["seq"]))
        state: dict = {}
        tags: list[str] = []
        prev = ""
        for r in history:
            kind_text, _, target_seq = r["reason"].partition(":")
            sets, added, removed, target = {}, (), (), ""
            if kind_text in ("undo", "redo") and target_seq.isdigit() and \
                    r["event"] in ("undone", "deleted"):
                kind = Kind.UNDONE if kind_text == "undo" else Kind.REDONE
                target = _event_id(deal_id, target_seq)
            elif r["event"] == "deleted":
                kind = Kind.DELETED
            elif r["event"] == "undone":  # an old revert without its marker: keep its state
                kind = Kind.EDITED
            else:
                kind = Kind(r["event"])
            if not target and kind != Kind.DELETED:
                sets, added, removed = _sets(kind, r, state, tags)
            new = Event(id=_event_id(deal_id, r["seq"]), deal_id=deal_id,
                        at=parse_stored_time(r["at"]), kind=kind,
                        recorded=recorded[(deal_id, int(r["seq"]))], sets=sets,
                        tags_added=added, tags_removed=removed, prev=prev, target=target,
                        note=r["note"][:500])
            # The state after a revert is the one the old row states; follow it.
            for name in ("pipeline", "stage", "status", "value"):
                state[name] = r[name]
            state.update(sets)
            out.append(new)
            prev = new.id
    out.sort(key=lambda e: e.order)
    return out


def _sets(kind: Kind, r: dict, state: dict, tags: list[str]):
    try:
        changes = json.loads(r["changes"]) if r["changes"] else {}
    except ValueError:
        raise StoreError(f"deal {r['deal_id']} event {r['seq']}: its changes are not JSON") \
            from None
    sets = {}
    for name in ("pipeline", "stage", "status", "value"):
        if kind == Kind.CREATED or state.get(name) != r[name]:
            sets[name] = r[name]
    if sets.keys() & {"pipeline", "stage", "status"}:  # a place is set as one (see ops)
        sets.update(pipeline=r["pipeline"], stage=r["stage"], status=r["status"])
    added: list[str] = []
    removed: list[str] = []
    for name, change in changes.items():
        new = change if kind == Kind.CREATED else (
            change[1] if isinstance(change, list) and len(change) == 2 else None)
        if new is None:
            continue
        new = str(new)
        if name == "tags":
            wanted = [t for t in new.split(";") if t]
            added = [t for t in wanted if t not in tags]
            removed = [t for t in tags if t not in wanted]
            tags[:] = wanted
        elif name in _TEXT_FIELDS and state.get(name, "") != new:
            sets[name] = new
    if kind == Kind.LOST:
        sets["lost_reason"] = r["reason"]
    elif kind == Kind.REOPENED:
        sets["lost_reason"] = ""
    return sets, tuple(added), tuple(removed)
