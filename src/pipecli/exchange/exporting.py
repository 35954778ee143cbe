"""`pipe export`: every deal (or, with --history, every event) in pipe's own columns, so that
`pipe import` of the file into an empty store gives the same store back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable, TextIO

from pipecli.store import Store
from pipecli.store.codec import DEAL_COLUMNS, EVENT_COLUMNS, deal_to_row
from pipecli.values import guard_formula

FORMATS = ("csv", "json", "jsonl")
_NUMBERS = {"value", "probability"}


def _typed(column: str, cell: str):
    if column in _NUMBERS:
        if not cell:
            return None
        number = float(cell) if "." in cell else int(cell)
        return number
    if column in ("tags", "tags_added", "tags_removed"):
        return [t for t in cell.split(";") if t]
    return cell if cell != "" or column not in ("close_date", "closed_at") else None


def export(store: Store, out: TextIO, *, fmt: str, history: bool,
           pipeline: str | None = None, ws=None, criteria: dict | None = None) -> None:
    """Write the store's deals (or events) to `out` in fmt, row by row (a million events
    are never held at once). Events are written as stored, in recording order. With
    `criteria` (engine.listing's filter set, over the workspace `ws`), only the deals it
    selects (and, with history, their events)."""
    columns = EVENT_COLUMNS if history else DEAL_COLUMNS
    with store.read() as snapshot:
        if criteria is not None:
            from pipecli.engine.listing import matching

            chosen = [d.id for d in matching(snapshot, ws, pipeline=pipeline, **criteria)]
            snapshot.conn.execute("CREATE TEMP TABLE chosen (id TEXT PRIMARY KEY)")
            snapshot.conn.executemany("INSERT INTO temp.chosen VALUES (?)",
                                      ((i,) for i in chosen))
            if history:
                rows = (list(row) for row in snapshot.conn.execute(
                    f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE deal IN "
                    f"(SELECT id FROM temp.chosen) ORDER BY recorded, id"))
            else:
                keep = set(chosen)
                rows = (deal_to_row(d) for d in snapshot.deals() if d.id in keep)
            _write(out, fmt, columns, rows)
            return
        if history:
            where, params = "", ()
            if pipeline is not None:
                where = "WHERE deal IN (SELECT deal_id FROM versions WHERE pipeline = ?)"
                params = (pipeline,)
            rows = (list(row) for row in snapshot.conn.execute(
                f"SELECT {', '.join(EVENT_COLUMNS)} FROM events {where} "
                f"ORDER BY recorded, id", params))
        else:
            rows = (deal_to_row(d) for d in snapshot.deals()
                    if pipeline is None or d.pipeline == pipeline)
        _write(out, fmt, columns, rows)


def _write(out: TextIO, fmt: str, columns, rows: Iterable[list[str]]) -> None:
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([guard_formula(c) for c in row])
        return
    objects = ({c: _typed(c, cell) for c, cell in zip(columns, row)} for row in rows)
    if fmt == "jsonl":
        for o in objects:
            out.write(json.dumps(o, ensure_ascii=False) + "\n")
        return
    first = True
    for o in objects:
        text = json.dumps(o, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        out.write(("[\n  " if first else ",\n  ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")


def export_to(path: Path, store: Store, **options) -> None:
    """Export into a file: written beside it and renamed over it when complete, so a
    failed export leaves no half file (and never writes through a planted link)."""
    from pipecli.safefile import replacing

    with replacing(path) as out:  # streamed: a million events are never held at once
        export(store, out, **options)
