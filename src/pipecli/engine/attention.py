"""What needs attention: the stale-deal alert and the ranking of open deals (the alerts
themselves are found in SQL: pipecli.engine.lists.stale). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
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
    kind: str  # idle | past_close | sla | next_overdue | no_next_step
    overdue_days: Fraction  # exact: from whole seconds
    limit: str  # the rule broken, in words: "rot_days 14", "close date 2026-10-01", "SLA 24 h"
    actual: str  # what was found: "idle 20.5 days", ...


@dataclass(frozen=True)
class Ranked:
    deal: Timeline
    score: Fraction  # exact; in score_currency
    weighted_value: Decimal  # in the deal's currency
    staleness: Fraction  # S of the formula
    closeness: Fraction  # C of the formula
    idle_days: Fraction
    days_to_close: int | None
    score_currency: str = ""  # the pipeline's when converted at its rates, else the deal's


def sort_key(r: Ranked) -> tuple:
    """Highest score first; ties: the more overdue, then by id."""
    return (-r.score, -(r.staleness + r.closeness), r.deal.id)


def rank_open(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime,
              rates: dict | None = None) -> Iterator[Ranked]:
    """Each open deal with its score = weighted value × (1 + S + C) (docs/metrics.md),
    exactly, streamed in the order given; sort with sort_key. With `rates` (a report
    converted at the pipeline's rates) the weighted value is converted first, so scores
    in different currencies compare."""
    for t in timelines:
        if t.status != OPEN:
            continue
        stage = pipeline.stage(t.stage)
        rot = (stage.rot_days if stage and stage.rot_days else DEFAULT_ROT_DAYS)
        idle = days_between(t.last_change_at, as_of)
        staleness = min(idle / rot, Fraction(2))
        to_close = (t.close_date - as_of.date()).days if t.close_date else None
        if to_close is None:
            closeness = Fraction(0)
        elif to_close < 0:
            closeness = Fraction(2)
        else:
            closeness = max(Fraction(0), 1 - Fraction(to_close, CLOSE_HORIZON_DAYS))
        w = weighted(t, pipeline)
        currency = t.currency or pipeline.currency
        rate = Fraction((rates or {}).get(currency, 1))
        score = Fraction(w) * rate * (1 + staleness + closeness)
        yield Ranked(t, score, w, staleness, closeness, idle, to_close,
                     pipeline.currency if rates else currency)
