"""What needs attention: stale-deal alerts and the ranking of open deals. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from pipecli.models import OPEN, Pipeline
from pipecli.replay import Timeline
from pipecli.reports import Filters, days_between, weighted

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


def stale(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime,
          filters: Filters = Filters()) -> list[Alert]:
    """Open deals idle beyond rot_days, past their close date, or over a stage SLA;
    most overdue first."""
    alerts = []
    for t in timelines:
        if t.status != OPEN or not filters.keeps(t):
            continue
        stage = pipeline.stage(t.stage)
        if stage is None:
            continue
        idle = days_between(t.last_change_at, as_of)
        if stage.rot_days and idle > stage.rot_days:
            alerts.append(Alert(t, "idle", idle - stage.rot_days, f"rot_days {stage.rot_days}",
                                f"idle {idle:.1f} days"))
        if t.close_date and t.close_date < as_of.date():
            late = (as_of.date() - t.close_date).days
            alerts.append(Alert(t, "past_close", float(late),
                                f"close date {t.close_date.isoformat()}",
                                f"{late} day{'s' if late != 1 else ''} past"))
        stay = t.current_stay
        if stage.sla_hours and stay:
            hours = days_between(stay.start, as_of) * 24
            if hours > stage.sla_hours:
                alerts.append(Alert(t, "sla", (hours - stage.sla_hours) / 24,
                                    f"SLA {stage.sla_hours} h", f"in stage {hours:.0f} h"))
    alerts.sort(key=lambda a: (-a.overdue_days, a.deal.id, a.kind))
    return alerts


@dataclass(frozen=True)
class Ranked:
    deal: Timeline
    score: Decimal
    weighted_value: Decimal
    staleness: float  # S of the formula
    closeness: float  # C of the formula
    idle_days: float
    days_to_close: int | None


def rank_open(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime,
              filters: Filters = Filters()) -> list[Ranked]:
    """Open deals by score = weighted value × (1 + S + C), highest first (docs/metrics.md)."""
    out = []
    for t in timelines:
        if t.status != OPEN or not filters.keeps(t):
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
        out.append(Ranked(t, score, w, staleness, closeness, idle, to_close))
    out.sort(key=lambda r: (-r.score, -(r.staleness + r.closeness), r.deal.id))
    return out
