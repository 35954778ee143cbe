"""Reports: pure computations from replayed deal timelines to values. No I/O, no printing.

Every figure is defined in docs/metrics.md; the comments here say only why.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable

from pipecli.models import LOST, OPEN, WON, Pipeline
from pipecli.replay import Timeline, ranks

HUNDRED = Decimal(100)
ZERO = Decimal(0)
SECONDS_PER_DAY = 86400


def weighted(deal, pipeline: Pipeline) -> Decimal:
    """value × win probability: the deal's own probability if set, else its stage's."""
    if deal.value is None:
        return ZERO
    stage = pipeline.stage(deal.stage)
    probability = deal.probability if deal.probability is not None else (
        stage.probability if stage else ZERO)
    return deal.value * probability / HUNDRED


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_DAY


@dataclass(frozen=True)
class Filters:
    """Which deals a report covers. since/until are days (inclusive); see docs/metrics.md for
    which date each figure filters on."""

    since: date | None = None
    until: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None

    def keeps(self, t: Timeline) -> bool:
        return ((self.owner is None or t.owner.lower() == self.owner.lower())
                and (self.source is None or t.source.lower() == self.source.lower())
                and (self.tag is None or self.tag.lower() in (x.lower() for x in t.tags)))

    def in_window(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        day = moment.date()
        return (self.since is None or day >= self.since) and \
               (self.until is None or day <= self.until)


@dataclass(frozen=True)
class StageLine:
    key: str
    label: str
    outcome: str | None
    probability: Decimal
    count: int                      # deals in the stage at the report moment
    value: Decimal
    weighted_value: Decimal
    avg_age_days: float | None      # mean time the deals now here have been here
    reached: int | None             # None for lost stages: they are not a funnel step
    reached_value: Decimal | None   # the value of the deals that reached it
    conversion: float | None        # reached ÷ previous stage's reached
    drop_off: int | None            # previous stage's reached − reached
    avg_days_in_stage: float | None  # over completed stays
    median_days_in_stage: float | None


@dataclass(frozen=True)
class Totals:
    open_count: int
    open_value: Decimal
    weighted_value: Decimal
    won_count: int
    won_value: Decimal
    lost_count: int
    lost_value: Decimal
    win_rate: float | None
    avg_won_value: Decimal | None
    avg_cycle_days: float | None
    median_cycle_days: float | None
    velocity_per_day: Decimal | None
    handed_off: int = 0  # cohort deals that moved on to another pipeline of the file
    returned: int = 0  # cohort deals sent back into this pipeline from another


@dataclass(frozen=True)
class LostReason:
    reason: str
    count: int
    value: Decimal


@dataclass(frozen=True)
class PipelineReport:
    """The full report of one pipeline at one moment."""

    pipeline: Pipeline
    as_of: datetime
    filters: Filters
    stages: tuple[StageLine, ...]
    totals: Totals
    lost_reasons: tuple[LostReason, ...]
    groups: tuple[tuple[str, Totals], ...] = field(default=())
    group_by: str | None = None
    strays: tuple[str, ...] = ()  # ids of deals at a stage the pipeline does not define


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def pipeline_report(pipeline: Pipeline, timelines: Iterable[Timeline], as_of: datetime,
                    filters: Filters = Filters(), group_by: str | None = None,
                    rank: dict[str, int] | None = None) -> PipelineReport:
    """The funnel and pipeline figures of docs/metrics.md, from replayed timelines (rank:
    the funnel order, when it is not the pipeline's own)."""
    passed = [t for t in timelines if filters.keeps(t)]  # including deals handed on
    deals = [t for t in passed if t.pipeline == pipeline.name]  # in this pipeline now
    rank = rank if rank is not None else ranks(pipeline)
    cohort = [t for t in passed if filters.in_window(t.created_at)] \
        if (filters.since or filters.until) else passed
    reached_by_rank = [0] * len(rank)
    reached_value = [ZERO] * len(rank)
    for t in cohort:
        for r in range(t.furthest_rank + 1):
            reached_by_rank[r] += 1
            reached_value[r] += t.value or ZERO
    stays: dict[str, list[float]] = {s.key: [] for s in pipeline.stages}
    for t in cohort:
        for stay in t.stays:
            if stay.end is not None and stay.stage in stays and stay.pipeline == pipeline.name:
                stays[stay.stage].append(days_between(stay.start, stay.end))
    lines = []
    for s in pipeline.stages:
        here = [t for t in deals if t.stage == s.key]
        ages = [days_between(t.current_stay.start, as_of) for t in here
                if s.outcome is None and t.current_stay]
        r = rank.get(s.key)
        reached = reached_by_rank[r] if r is not None else None
        previous = reached_by_rank[r - 1] if r else None
        open_stage = s.outcome is None
        lines.append(StageLine(
            key=s.key, label=s.label, outcome=s.outcome, probability=s.probability,
            count=len(here), value=sum((t.value or ZERO for t in here), ZERO),
            weighted_value=sum((weighted(t, pipeline) for t in here), ZERO),
            avg_age_days=_mean(ages),
            reached=reached, reached_value=reached_value[r] if r is not None else None,
            conversion=(reached / previous) if previous else None,
            drop_off=(previous - reached) if previous is not None and reached is not None
            else None,
            avg_days_in_stage=_mean(stays[s.key]) if open_stage else None,
            median_days_in_stage=_median(stays[s.key]) if open_stage else None))
    totals = _totals(pipeline, deals, filters)
    totals = replace(totals, handed_off=sum(t.handed_off for t in cohort),
                     returned=sum(t.returned for t in cohort))
    groups: tuple = ()
    if group_by:
        groups = tuple((name, _totals(pipeline, members, filters))
                       for name, members in _grouped(deals, group_by))
    strays = tuple(sorted(t.id for t in deals if pipeline.stage(t.stage) is None))
    return PipelineReport(pipeline, as_of, filters, tuple(lines), totals,
                          _lost_reasons(deals, filters), groups, group_by, strays)


def _closed_in_window(t: Timeline, filters: Filters) -> bool:
    return not (filters.since or filters.until) or filters.in_window(t.closed_at)


def _totals(pipeline: Pipeline, deals: list[Timeline], filters: Filters) -> Totals:
    open_deals = [t for t in deals if t.status == OPEN]
    won = [t for t in deals if t.status == WON and _closed_in_window(t, filters)]
    lost = [t for t in deals if t.status == LOST and _closed_in_window(t, filters)]
    won_value = sum((t.value or ZERO for t in won), ZERO)
    cycles = [days_between(t.created_at, t.closed_at) for t in won if t.closed_at]
    win_rate = len(won) / (len(won) + len(lost)) if (won or lost) else None
    avg_won = won_value / len(won) if won else None
    avg_cycle = _mean(cycles)
    velocity = None
    if avg_won is not None and win_rate is not None and avg_cycle:
        velocity = Decimal(len(open_deals)) * avg_won * Decimal(repr(win_rate)) / \
            Decimal(repr(avg_cycle))
    return Totals(
        open_count=len(open_deals), open_value=sum((t.value or ZERO for t in open_deals), ZERO),
        weighted_value=sum((weighted(t, pipeline) for t in open_deals), ZERO),
        won_count=len(won), won_value=won_value, lost_count=len(lost),
        lost_value=sum((t.value or ZERO for t in lost), ZERO), win_rate=win_rate,
        avg_won_value=avg_won, avg_cycle_days=avg_cycle, median_cycle_days=_median(cycles),
        velocity_per_day=velocity)


def _lost_reasons(deals: list[Timeline], filters: Filters) -> tuple[LostReason, ...]:
    found: dict[str, list] = {}
    for t in deals:
        if t.status == LOST and _closed_in_window(t, filters):
            entry = found.setdefault(t.lost_reason or "(none given)", [0, ZERO])
            entry[0] += 1
            entry[1] += t.value or ZERO
    return tuple(sorted((LostReason(r, c, v) for r, (c, v) in found.items()),
                        key=lambda x: (-x.value, -x.count, x.reason)))


GROUPINGS = ("owner", "source", "company", "tag")


def _grouped(deals: list[Timeline], by: str) -> list[tuple[str, list[Timeline]]]:
    groups: dict[str, list[Timeline]] = {}
    for t in deals:
        keys = (t.tags or ("",)) if by == "tag" else (getattr(t, by),)
        for key in keys:
            groups.setdefault(key or "(none)", []).append(t)
    return sorted(groups.items(), key=lambda kv: (kv[0] == "(none)", kv[0].lower()))
