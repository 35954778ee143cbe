"""The forecast as a value: open deals by expected close month, beside what was already won.

Every open deal lands in exactly one place — a month of the horizon, `slipped` (its close
date has passed), `no_close_date`, or `later` (beyond the horizon) — so the parts always
add up to the open pipeline. The sums come from SQL (pipecli.engine.lists.forecast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from pipecli.engine.facts import Timeline
from pipecli.engine.figures import Currencies
from pipecli.models import Pipeline


@dataclass(frozen=True)
class Bucket:
    """Open deals: how many, their value and weighted value — and, when asked for
    (`--deals`), the deals themselves. Money is None when shown per currency (`parts`:
    figure → {currency: amount}, with several currencies)."""

    count: int
    value: Decimal | None
    weighted_value: Decimal | None
    deals: tuple[Timeline, ...] | None = None
    parts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    open: Bucket
    won_count: int
    won_value: Decimal | None
    parts: dict = field(default_factory=dict)  # {"won_value": {currency: amount}}


@dataclass(frozen=True)
class Forecast:
    pipeline: Pipeline
    as_of: datetime
    months: tuple[Month, ...]
    slipped: Bucket
    no_close_date: Bucket
    later: Bucket
    currencies: Currencies | None = None


def months_from(day: date, count: int) -> list[str]:
    """`count` month keys (YYYY-MM) starting with the month of `day`."""
    year, month, out = day.year, day.month, []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
