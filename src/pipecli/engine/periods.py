"""Calendar periods of `pipe costs`: a month (2026-03), a quarter (2026-Q1) or a year (2026).

A period knows its first and last day, the coarser periods that hold it, and the periods
between two days — so a month's cost adds into its quarter and year, and a window of days
keeps the whole periods it overlaps. A coarser period is never split into finer ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("month", "quarter", "year")  # finest first
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
_FORMS = (("month", re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")),
          ("quarter", re.compile(r"([0-9]{4})-[Qq]([1-4])")),
          ("year", re.compile(r"([0-9]{4})")))


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, quarter or year, ordered by its first day (then by kind)."""

    first: date
    kind: str

    @property
    def last(self) -> date:
        """Its last day."""
        months = self.first.year * 12 + self.first.month - 1 + MONTHS_IN[self.kind]
        return date(months // 12, months % 12 + 1, 1) - timedelta(days=1) \
            if months // 12 <= 9999 else date(9999, 12, 31)

    @property
    def label(self) -> str:
        """As written in a costs file: 2026-03, 2026-Q1, 2026."""
        if self.kind == "month":
            return f"{self.first.year:04d}-{self.first.month:02d}"
        if self.kind == "quarter":
            return f"{self.first.year:04d}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.year:04d}"

    def coarser_than(self, kind: str) -> bool:
        """Whether this period is longer than a period of `kind` (a quarter in months)."""
        return KINDS.index(self.kind) > KINDS.index(kind)

    def __str__(self) -> str:
        return self.label


def parse_period(text: str) -> Period:
    """A period as a costs file writes it; ValueError (one sentence) for anything else."""
    raw = text.strip()
    for kind, form in _FORMS:
        found = form.fullmatch(raw)
        if found and int(found[1]) >= 1:
            year = int(found[1])
            if kind == "month":
                return Period(date(year, int(found[2]), 1), kind)
            if kind == "quarter":
                return Period(date(year, 3 * int(found[2]) - 2, 1), kind)
            return Period(date(year, 1, 1), kind)
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    raise ValueError(f"{shown!r} is not a period: write a month (2026-03), a quarter "
                     f"(2026-Q1) or a year (2026)")


def period_of(day: date, kind: str) -> Period:
    """The period of `kind` that holds the day."""
    if kind == "month":
        return Period(day.replace(day=1), kind)
    if kind == "quarter":
        return Period(date(day.year, (day.month - 1) // 3 * 3 + 1, 1), kind)
    return Period(date(day.year, 1, 1), kind)


def between(first: date, last: date, kind: str) -> list[Period]:
    """Every period of `kind` that overlaps the days first..last (both included), in
    order: whole periods, the first and last ones reaching past the window's ends."""
    out: list[Period] = []
    period = period_of(first, kind)
    while period.first <= last:
        out.append(period)
        if period.last >= date(9999, 12, 31):
            break
        period = period_of(period.last + timedelta(days=1), kind)
    return out
