"""Choosing and ordering deals for `pipe list`: filtered and sorted in SQL, streamed."""

from __future__ import annotations

from typing import Iterator

from pipecli.errors import NotFound, UsageError
from pipecli.models import OPEN, Deal, Workspace
from pipecli.ops import find_stage
from pipecli.store import Store
from pipecli.store.base import DEAL_SQL_COLUMNS, deal_of
from pipecli.store.schema import register_functions

SORTS = ("stage", "value", "name", "created", "updated", "close", "company", "owner", "id")


def select(ws: Workspace, store: Store, *, pipeline: str | None, stage: str | None,
           status: str, owner: str | None, source: str | None, tag: str | None,
           sort: str, reverse: bool, limit: int | None = None
           ) -> tuple[Iterator[Deal], int]:
    """The deals to list, sorted, as a stream; and how many closed deals the status filter
    hid (counted first, so it can be said after the rows)."""
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r} is not one of: {', '.join(SORTS)}")
    chosen = ws.pipeline(pipeline).name if pipeline else None
    stages: tuple[str, ...] = ()
    if stage:
        if chosen:
            stages = (find_stage(ws.pipeline(chosen), stage).key,)
        else:
            stages = tuple({find_stage(p, stage).key for p in ws.pipelines
                            if _has_stage(p, stage)}) or (find_stage(ws.pipelines[0], stage).key,)
    clauses, params = [], {}
    if chosen:
        clauses.append("pipeline = :pipeline")
        params["pipeline"] = chosen
    if stages:
        clauses.append(f"stage IN ({', '.join(f':s{i}' for i in range(len(stages)))})")
        params.update({f"s{i}": s for i, s in enumerate(stages)})
    # Case-insensitive with Python's rules (SQL's lower() folds ASCII only).
    for name, value in (("owner", owner), ("source", source)):
        if value is not None:
            clauses.append(f"fold({name}) = :{name}")
            params[name] = value.lower()
    if tag is not None:
        clauses.append("has_tag(tags, :tag) = 1")
        params["tag"] = tag.lower()
    base = " AND ".join(clauses) or "1 = 1"
    shown = base if status == "all" else f"{base} AND status = :status"
    if status != "all":
        params["status"] = status
    order = _order(ws, sort, reverse, params)
    sql = f"SELECT {DEAL_SQL_COLUMNS} FROM deals WHERE {shown} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"

    def rows() -> Iterator:
        with store.read() as snap:
            register_functions(snap.conn)
            hidden = 0
            if status == OPEN:
                hidden = snap.conn.execute(f"SELECT count(*) FROM deals WHERE {base} AND "
                                           f"status != 'open'", params).fetchone()[0]
            yield hidden
            for row in snap.conn.execute(sql, params):
                yield deal_of(row)

    stream = rows()
    return stream, next(stream)


def _order(ws: Workspace, sort: str, reverse: bool, params: dict) -> str:
    """ORDER BY for a sort key; --reverse reverses the whole order, as a Python sort would."""
    whens = []
    for i, (p, s) in enumerate((p.name, s.key) for p in ws.pipelines for s in p.stages):
        params[f"op{i}"], params[f"os{i}"] = p, s
        whens.append(f"WHEN pipeline = :op{i} AND stage = :os{i} THEN {i}")
    stage_order = f"CASE {' '.join(whens)} ELSE 999999 END"
    keys = {
        "stage": ["pipeline", stage_order, "-coalesce(value_milli, 0)", "fold(name)", "id"],
        "value": ["-coalesce(value_milli, -1000)", "fold(name)", "id"],
        "name": ["fold(name)", "id"],
        "created": ["created_s", "id"],
        "updated": ["updated_s", "id"],
        "close": ["close_date IS NULL", "close_date", "id"],
        "company": ["fold(company)", "fold(name)", "id"],
        "owner": ["fold(owner)", "fold(name)", "id"],
        "id": ["id"],
    }[sort]
    return ", ".join(f"{k} {'DESC' if reverse else 'ASC'}" for k in keys)


def _has_stage(pipeline, ref: str) -> bool:
    try:
        find_stage(pipeline, ref)
        return True
    except NotFound:
        return False
