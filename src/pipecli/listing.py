"""Choosing and ordering deals for `pipe list`."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from pipecli.errors import NotFound, UsageError
from pipecli.models import OPEN, Deal, Workspace
from pipecli.ops import find_stage
from pipecli.store import DealFilter, Store

SORTS = ("stage", "value", "name", "created", "updated", "close", "company", "owner", "id")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def select(ws: Workspace, store: Store, *, pipeline: str | None, stage: str | None,
           status: str, owner: str | None, source: str | None, tag: str | None,
           sort: str, reverse: bool) -> tuple[list[Deal], int]:
    """The deals to list, sorted; and how many closed deals the status filter hid."""
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
    base = DealFilter(pipeline=chosen, stages=stages, owner=owner, source=source, tag=tag)
    statuses = () if status == "all" else (status,)
    with store.read() as snap:
        deals, hidden = [], 0
        for d in snap.deals(base):
            if statuses and d.status not in statuses:
                hidden += status == OPEN
                continue
            deals.append(d)
    order = {(p.name, s.key): i for p in ws.pipelines for i, s in enumerate(p.stages)}
    keys = {
        "stage": lambda d: (d.pipeline, order.get((d.pipeline, d.stage), 999),
                            -(d.value or Decimal(0)), d.name.lower()),
        "value": lambda d: (-(d.value or Decimal(-1)), d.name.lower()),
        "name": lambda d: (d.name.lower(), d.id),
        "created": lambda d: (d.created_at, d.id),
        "updated": lambda d: (d.updated_at, d.id),
        "close": lambda d: (d.close_date is None, d.close_date or date.max, d.id),
        "company": lambda d: (d.company.lower(), d.name.lower()),
        "owner": lambda d: (d.owner.lower(), d.name.lower()),
        "id": lambda d: d.id,
    }
    deals.sort(key=keys[sort], reverse=reverse)
    return deals, hidden


def _has_stage(pipeline, ref: str) -> bool:
    try:
        find_stage(pipeline, ref)
        return True
    except NotFound:
        return False
