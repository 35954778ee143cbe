"""The forecast as a value: open deals by expected close month, beside what was already won.

Every open deal lands in exactly one place — a month of the horizon, `slipped` (its close
date has passed), `no_close_date`, or `later` (beyond the horizon) — so the parts always
add up to the open pipeline. The sums come from SQL (pipecli.engine.lists.forecast).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pipecli.engine.facts import Timeline
from pipecli.models import Pipeline


@dataclass(frozen=True)
class Bucket:
    """Open deals: how many, their value and weighted value — and, when asked for
    (`--deals`), the deals themselves."""

    count: int
    value: Decimal
    weighted_value: Decimal
    deals: tuple[Timeline, ...] | None = None


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


def months_from(day: date, count: int) -> list[str]:
    """`count` month keys (YYYY-MM) starting with the month of `day`."""
    year, month, out = day.year, day.month, []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
