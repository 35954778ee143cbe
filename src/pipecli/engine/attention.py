"""What needs attention: the stale-deal alert and the ranking of open deals (the alerts
themselves are found in SQL: pipecli.engine.lists.stale). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Iterator

from pipecli.models import OPEN, Pipeline
from pipecli.engine.facts import Timeline
from pipecli.engine.figures import days_between, weighted

DEFAULT_ROT_DAYS = 30  # for ranking only, when a stage sets no rot_days
CLOSE_HORIZON_DAYS = 30


@dataclass(frozen=True)
class Alert:
    """One reason a deal needs action, and by how many days it is overdue."""

    deal: Timeline
    kind: str  # idle | past_close | sla
    overdue_days: float
    limit: str  # the rule broken, in words: "rot_days 14", "close date 2026-10-01", "SLA 24 h"
    actual: str  # what was found: "idle 20.5 days", ...


@dataclass(frozen=True)
class Ranked:
    deal: Timeline
    score: Decimal
    weighted_value: Decimal
    staleness: float  # S of the formula
    closeness: float  # C of the formula
    idle_days: float
    days_to_close: int | None


def sort_key(r: Ranked) -> tuple:
    """Highest score first; ties: the more overdue, then by id."""
    return (-r.score, -(r.staleness + r.closeness), r.deal.id)


def rank_open(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime
              ) -> Iterator[Ranked]:
    """Each open deal with its score = weighted value × (1 + S + C) (docs/metrics.md),
    streamed in the order given; sort with sort_key."""
    for t in timelines:
        if t.status != OPEN:
            continue
        stage = pipeline.stage(t.stage)
        rot = (stage.rot_days if stage and stage.rot_days else DEFAULT_ROT_DAYS)
        idle = days_between(t.last_change_at, as_of)
        staleness = min(idle / rot, 2.0)
        to_close = (t.close_date - as_of.date()).days if t.close_date else None
        if to_close is None:
            closeness = 0.0
        elif to_close < 0:
            closeness = 2.0
        else:
            closeness = max(0.0, 1 - to_close / CLOSE_HORIZON_DAYS)
        w = weighted(t, pipeline)
        score = w * (1 + Decimal(repr(round(staleness + closeness, 6))))
        yield Ranked(t, score, w, staleness, closeness, idle, to_close)
