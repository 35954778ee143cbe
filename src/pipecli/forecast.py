"""The forecast: open deals by expected close month, beside what was already won.

Pure: from replayed timelines to values. Every open deal lands in exactly one place — a
month of the horizon, `slipped` (its close date has passed), `no_close_date`, or `later`
(beyond the horizon) — so the parts always add up to the open pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable

from pipecli.models import OPEN, WON, Pipeline
from pipecli.replay import Timeline
from pipecli.reports import ZERO, Filters, weighted


@dataclass(frozen=True)
class Bucket:
    """Open deals with their total and weighted value (and the deals themselves)."""

    deals: tuple[Timeline, ...]
    value: Decimal
    weighted_value: Decimal

    @property
    def count(self) -> int:
        return len(self.deals)


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    open: Bucket
    won_count: int
    won_value: Decimal


@dataclass(frozen=True)
class Forecast:
    pipeline: Pipeline
    as_of: datetime
    months: tuple[Month, ...]
    slipped: Bucket
    no_close_date: Bucket
    later: Bucket


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_from(day: date, count: int) -> list[str]:
    year, month, out = day.year, day.month, []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _bucket(deals: list[Timeline], pipeline: Pipeline) -> Bucket:
    deals = sorted(deals, key=lambda t: (t.close_date or date.max, t.id))
    return Bucket(tuple(deals), sum((t.value or ZERO for t in deals), ZERO),
                  sum((weighted(t, pipeline) for t in deals), ZERO))


def forecast(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime,
             months: int = 6, filters: Filters = Filters()) -> Forecast:
    """Open deals by close month over `months` months from the as-of month, and won value."""
    today = as_of.date()
    keys = _months_from(today, months)
    by_month: dict[str, list[Timeline]] = {k: [] for k in keys}
    won: dict[str, list[Timeline]] = {k: [] for k in keys}
    slipped, undated, later = [], [], []
    for t in timelines:
        if not filters.keeps(t):
            continue
        if t.status == OPEN:
            if t.close_date is None:
                undated.append(t)
            elif t.close_date < today:
                slipped.append(t)
            elif _month_key(t.close_date) in by_month:
                by_month[_month_key(t.close_date)].append(t)
            else:
                later.append(t)
        elif t.status == WON and t.closed_at is not None:
            key = _month_key(t.closed_at.date())
            if key in won:
                won[key].append(t)
    lines = tuple(Month(k, _bucket(by_month[k], pipeline), len(won[k]),
                        sum((t.value or ZERO for t in won[k]), ZERO)) for k in keys)
    return Forecast(pipeline, as_of, lines, _bucket(slipped, pipeline),
                    _bucket(undated, pipeline), _bucket(later, pipeline))
