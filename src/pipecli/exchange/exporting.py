"""`pipe export`: every deal (or, with --history, every event) in pipe's own columns, so that
`pipe import` of the file into an empty store gives the same store back."""

from __future__ import annotations

import csv
import io
import json

from pipecli.store import Store
from pipecli.store.codec import (DEAL_COLUMNS, EVENT_COLUMNS, deal_to_row, event_to_row)

FORMATS = ("csv", "json", "jsonl")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERS = {"value", "probability"}


def _guard(cell: str) -> str:
    """A spreadsheet must never run a cell as a formula: prefix such text with '."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _typed(column: str, cell: str):
    if column in _NUMBERS:
        if not cell:
            return None
        number = float(cell) if "." in cell else int(cell)
        return number
    if column in ("tags", "tags_added", "tags_removed"):
        return [t for t in cell.split(";") if t]
    return cell if cell != "" or column not in ("close_date", "closed_at") else None


def export(store: Store, *, fmt: str, history: bool, pipeline: str | None = None) -> str:
    """The store's deals (or events) as text in fmt."""
    columns = EVENT_COLUMNS if history else DEAL_COLUMNS
    with store.read() as snapshot:
        if history:
            deals = None if pipeline is None else {row[0] for row in snapshot.conn.execute(
                "SELECT DISTINCT deal_id FROM versions WHERE pipeline = ?", (pipeline,))}
            rows = [event_to_row(e) for e in snapshot.events()
                    if deals is None or e.deal_id in deals]
        else:
            rows = [deal_to_row(d) for d in snapshot.deals()
                    if pipeline is None or d.pipeline == pipeline]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_guard(c) for c in row])
        return buf.getvalue()
    objects = [{c: _typed(c, cell) for c, cell in zip(columns, row)} for row in rows]
    if fmt == "json":
        return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
