"""Reports as values: the sums SQL computes (pipecli.engine.report) assembled into the
figures. No I/O, no printing.

Every figure is defined in docs/metrics.md; the comments here say only why.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from pipecli.engine.facts import Timeline
from pipecli.models import Pipeline

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


@dataclass
class Spread:
    """Durations in whole seconds: how many, their total, and their median."""

    n: int = 0
    total: int = 0
    median: float | None = None

    @classmethod
    def of(cls, seconds: list[int]) -> "Spread":
        return cls(len(seconds), sum(seconds), statistics.median(seconds) if seconds else None)

    @property
    def mean_days(self) -> float | None:
        return self.total / self.n / SECONDS_PER_DAY if self.n else None

    @property
    def median_days(self) -> float | None:
        return self.median / SECONDS_PER_DAY if self.median is not None else None


@dataclass
class StageNow:
    """The deals in one stage at the report moment."""

    count: int = 0
    value: Decimal = ZERO
    weighted: Decimal = ZERO
    age: Spread = field(default_factory=Spread)  # time in their current stay (open stages)


@dataclass
class Outcomes:
    """Open, won and lost deals of one group (or of the whole report)."""

    open_count: int = 0
    open_value: Decimal = ZERO
    open_weighted: Decimal = ZERO
    won_count: int = 0
    won_value: Decimal = ZERO
    lost_count: int = 0
    lost_value: Decimal = ZERO
    cycles: Spread = field(default_factory=Spread)  # creation to win, of the won deals


@dataclass
class Sums:
    """Counts and exact sums every report figure is derived from (filled by SQL in
    pipecli.engine.report); assemble turns them into the report."""

    here: dict[str, StageNow]
    reached: list[int]  # per funnel rank: cohort deals whose furthest stage is that rank
    reached_value: list[Decimal]
    stays: dict[str, Spread]  # completed stays of cohort deals, per stage
    outcomes: Outcomes
    lost_reasons: dict[str, tuple[int, Decimal]]
    handed_off: int = 0
    returned: int = 0
    strays: tuple[str, ...] = ()


def assemble(pipeline: Pipeline, as_of: datetime, filters: Filters, sums: Sums,
             rank: dict[str, int], groups: tuple = (), group_by: str | None = None
             ) -> PipelineReport:
    """The report from its sums: reached is cumulative from the end of the funnel, rates
    and averages are derived here only."""
    reached_by_rank, value_by_rank = [0] * len(rank), [ZERO] * len(rank)
    count, value = 0, ZERO
    for r in range(len(rank) - 1, -1, -1):  # reaching a stage means reaching every earlier one
        count += sums.reached[r]
        value += sums.reached_value[r]
        reached_by_rank[r], value_by_rank[r] = count, value
    lines = []
    for s in pipeline.stages:
        now = sums.here[s.key]
        r = rank.get(s.key)
        reached = reached_by_rank[r] if r is not None else None
        previous = reached_by_rank[r - 1] if r else None
        open_stage = s.outcome is None
        stays = sums.stays[s.key]
        lines.append(StageLine(
            key=s.key, label=s.label, outcome=s.outcome, probability=s.probability,
            count=now.count, value=now.value, weighted_value=now.weighted,
            avg_age_days=now.age.mean_days if open_stage else None,
            reached=reached, reached_value=value_by_rank[r] if r is not None else None,
            conversion=(reached / previous) if previous else None,
            drop_off=(previous - reached) if previous is not None and reached is not None
            else None,
            avg_days_in_stage=stays.mean_days if open_stage else None,
            median_days_in_stage=stays.median_days if open_stage else None))
    totals = replace(totals_of(sums.outcomes), handed_off=sums.handed_off,
                     returned=sums.returned)
    reasons = tuple(sorted((LostReason(r, c, v) for r, (c, v) in sums.lost_reasons.items()),
                           key=lambda x: (-x.value, -x.count, x.reason)))
    return PipelineReport(pipeline, as_of, filters, tuple(lines), totals, reasons, groups,
                          group_by, sums.strays)


def totals_of(o: Outcomes) -> Totals:
    """Totals with the derived rates: win rate, average won deal, cycle, velocity."""
    win_rate = o.won_count / (o.won_count + o.lost_count) if (o.won_count or o.lost_count) \
        else None
    avg_won = o.won_value / o.won_count if o.won_count else None
    avg_cycle = o.cycles.mean_days
    velocity = None
    if avg_won is not None and win_rate is not None and avg_cycle:
        velocity = Decimal(o.open_count) * avg_won * Decimal(repr(win_rate)) / \
            Decimal(repr(avg_cycle))
    return Totals(
        open_count=o.open_count, open_value=o.open_value, weighted_value=o.open_weighted,
        won_count=o.won_count, won_value=o.won_value, lost_count=o.lost_count,
        lost_value=o.lost_value, win_rate=win_rate, avg_won_value=avg_won,
        avg_cycle_days=avg_cycle, median_cycle_days=o.cycles.median_days,
        velocity_per_day=velocity)


GROUPINGS = ("owner", "source", "company", "tag")
