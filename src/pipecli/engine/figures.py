"""Reports as values: the sums SQL computes (pipecli.engine.report) assembled into the
figures. No I/O, no printing.

Every figure is defined in docs/metrics.md; the comments here say only why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Context, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from pipecli.models import WON, ConversionMode, Pipeline
from pipecli.rounding import half_up
from pipecli.money import STORE_PLACES, minor_units
from pipecli.values import normalize_money

if TYPE_CHECKING:
    from pipecli.engine.funnel import FunnelCounts

HUNDRED = Decimal(100)
ZERO = Decimal(0)
SECONDS_PER_DAY = 86400
_MICROSECONDS_PER_DAY = SECONDS_PER_DAY * 1_000_000


def weighted(deal, pipeline: Pipeline) -> Decimal:
    """value × win probability: the deal's own probability if set, else its stage's."""
    if deal.value is None:
        return ZERO
    stage = pipeline.stage(deal.stage)
    probability = deal.probability if deal.probability is not None else (
        stage.probability if stage else ZERO)
    return deal.value * probability / HUNDRED


def days_between(start: datetime, end: datetime) -> Fraction:
    """The exact number of days from start to end (timedeltas count whole microseconds)."""
    return Fraction((end - start) // timedelta(microseconds=1), _MICROSECONDS_PER_DAY)


def to_money(x, currency: str) -> Decimal | None:
    """A computed amount (Decimal or Fraction) rounded half-up to the currency's minor units
    (the store's 3 decimals for a code pipe does not know: a hand-edited store)."""
    if x is None:
        return None
    try:
        places = minor_units(currency)
    except ValueError:
        places = STORE_PLACES
    return normalize_money(half_up(x, places))


def exact_decimal(x: Fraction) -> Decimal:
    """A Fraction that is a finite decimal (a sum of products of decimals) as that Decimal,
    exactly: the precision is made large enough for every digit."""
    context = Context(prec=len(str(x.numerator)) + len(str(x.denominator)) + 2)
    return context.divide(Decimal(x.numerator), Decimal(x.denominator))


@dataclass(frozen=True)
class Currencies:
    """How a report shows money (docs/metrics.md, "Currencies"): the currencies of the deals
    it covers, and whether their amounts are shown as they are (one currency), converted
    into the pipeline's currency (a rate for every other one) or kept apart (split)."""

    home: str  # the pipeline's currency
    present: tuple[str, ...] = ()  # the deals' currencies, sorted ('' already resolved)
    rates: tuple[tuple[str, Decimal], ...] = ()  # the rates applied (when converted)
    missing: tuple[str, ...] = ()  # currencies without a rate (when split)

    @classmethod
    def of(cls, pipeline: Pipeline, present) -> "Currencies":
        """The rule for a report whose deals are in `present` (ISO codes)."""
        present = tuple(sorted(set(present)))
        if len(present) <= 1:
            return cls(pipeline.currency, present)
        known = dict(pipeline.rates)
        others = [c for c in present if c != pipeline.currency]
        missing = tuple(c for c in others if c not in known)
        if missing:
            return cls(pipeline.currency, present, missing=missing)
        return cls(pipeline.currency, present, tuple((c, known[c]) for c in others))

    @property
    def several(self) -> bool:
        """More than one currency among the deals."""
        return len(self.present) > 1

    @property
    def split(self) -> bool:
        """Amounts of different currencies are shown apart (a rate is missing)."""
        return bool(self.missing)

    @property
    def converted(self) -> bool:
        """Amounts of several currencies are converted into the pipeline's."""
        return self.several and not self.missing

    @property
    def label(self) -> str | None:
        """The currency the amounts are in: the deals' one currency, the pipeline's when
        converted; None when they are shown per currency."""
        if self.split:
            return None
        return self.present[0] if len(self.present) == 1 else self.home

    def amount(self, parts: dict) -> Decimal | None:
        """One money figure from its parts per currency: the part itself (one currency),
        their exact sum at the rates (converted), or None (split: not added)."""
        if self.split:
            return None
        if not self.several:
            return next(iter(parts.values()), ZERO) if parts else ZERO
        rate = dict(self.rates)
        total = sum((Fraction(a) * Fraction(rate.get(c, 1)) for c, a in parts.items()
                     if a is not None), Fraction(0))
        return exact_decimal(total)

    def largest_first(self, reason: "LostReason") -> tuple:
        """Sort key of lost reasons, largest value first (then most deals, then by name):
        with amounts not added, by the pipeline currency's part, then each other
        currency's in code order — values of different currencies are never compared."""
        if not self.split:
            return (-(reason.value or ZERO),), -reason.count, reason.reason
        codes = sorted(self.present, key=lambda c: (c != self.home, c))
        parts = reason.parts.get("value", {})
        return tuple(-parts.get(c, ZERO) for c in codes), -reason.count, reason.reason

    def parts(self, amounts: dict) -> dict:
        """Every present currency's part (0 where the figure has none); {} for one currency."""
        if not self.several:
            return {}
        return {c: amounts.get(c, ZERO) for c in self.present}


@dataclass(frozen=True)
class Search:
    """What a read command narrows the deals to beyond stage, status, owner, source, tag
    (and the report's dates): the one filter set list, report, forecast, stale and next
    share (engine.listing.search_clauses turns it into SQL)."""

    text: str | None = None  # in name, company, contact, email or a note (loosely)
    company: str | None = None  # the company, ignoring case
    value_min: Decimal | None = None  # in the listed pipeline's currency: deals in other
    value_max: Decimal | None = None  # currencies do not compare, and are left out
    close_after: date | None = None  # expected close date on or after
    close_before: date | None = None  # on or before
    currency: str | None = None  # what value_min/value_max are in (the pipeline's)

    @property
    def active(self) -> bool:
        """Whether it leaves any deal out (the currency alone does not)."""
        return any(x is not None for x in (self.text, self.company, self.value_min,
                                           self.value_max, self.close_after,
                                           self.close_before))


@dataclass(frozen=True)
class Filters:
    """Which deals a report covers. since/until are days (inclusive); see docs/metrics.md for
    which date each figure filters on."""

    since: date | None = None
    until: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None
    narrow: Search = Search()

    def narrows(self) -> bool:
        """Whether any filter leaves deals out (the dates only choose figures' windows)."""
        return any(x is not None for x in (self.owner, self.source, self.tag)) or \
            self.narrow.active


@dataclass(frozen=True)
class StageLine:
    key: str
    label: str
    outcome: str | None
    probability: Decimal
    count: int                      # deals in the stage at the report moment
    value: Decimal | None           # money: None when shown per currency (Currencies.split)
    weighted_value: Decimal | None
    avg_age_days: Fraction | None   # mean time the deals now here have been here
    reached: int | None             # None for lost stages: they are not a funnel step
    reached_value: Decimal | None   # the value of the deals that reached it
    conversion: Fraction | None     # of the previous stage's deals, the share counted here
    drop_off: int | None            # previous stage's deals not counted here
    avg_days_in_stage: Fraction | None  # over completed stays
    median_days_in_stage: Fraction | None
    parts: dict = field(default_factory=dict)  # money figure → {currency: amount}
    cumulative_conversion: Fraction | None = None  # of the first stage's deals, the share here
    conversion_to_won: Fraction | None = None  # of the deals here, the share that reached won


MONEY_TOTALS = ("open_value", "weighted_value", "won_value", "lost_value", "avg_won_value",
                "velocity_per_day")


@dataclass(frozen=True)
class Totals:
    open_count: int
    open_value: Decimal | None
    weighted_value: Decimal | None
    won_count: int
    won_value: Decimal | None
    lost_count: int
    lost_value: Decimal | None
    win_rate: Fraction | None
    avg_won_value: Fraction | None
    avg_cycle_days: Fraction | None
    median_cycle_days: Fraction | None
    velocity_per_day: Fraction | None
    handed_off: int = 0  # cohort deals that moved on to another pipeline of the file
    returned: int = 0  # cohort deals sent back into this pipeline from another
    entered: int = 0  # cohort deals that entered the funnel (its first stage's reached)
    reached_won: int = 0  # of those, the ones that reached a won stage
    conversion_to_won: Fraction | None = None  # reached_won ÷ entered
    # MONEY_TOTALS figure → {currency: the figure over that currency's deals, in it}
    parts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LostReason:
    reason: str
    count: int
    value: Decimal | None
    parts: dict = field(default_factory=dict)  # {"value": {currency: amount}}


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
    currencies: Currencies | None = None
    cycle_bins: tuple | None = None  # engine.cycles.CycleBin, when asked for (report(cycles=))
    conversion: ConversionMode = ConversionMode.FURTHEST  # which stages a deal counts at


def exact_median(values: list) -> Fraction | None:
    """The median of exact numbers, exactly (statistics.median halves in floating point)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


@dataclass
class Spread:
    """Durations in whole seconds: how many, their total, and their median."""

    n: int = 0
    total: int = 0
    median: Fraction | None = None

    @classmethod
    def of(cls, seconds: list[int]) -> "Spread":
        return cls(len(seconds), sum(seconds), exact_median(seconds))

    @property
    def mean_days(self) -> Fraction | None:
        return Fraction(self.total, self.n * SECONDS_PER_DAY) if self.n else None

    @property
    def median_days(self) -> Fraction | None:
        return self.median / SECONDS_PER_DAY if self.median is not None else None


@dataclass
class StageNow:
    """The deals in one stage at the report moment; money per currency."""

    count: int = 0
    value: dict[str, Decimal] = field(default_factory=dict)
    weighted: dict[str, Decimal] = field(default_factory=dict)
    age: Spread = field(default_factory=Spread)  # time in their current stay (open stages)


def add_to(parts: dict, currency: str, amount: Decimal) -> None:
    """Add an amount to its currency's part (exact: Decimal sums of stored amounts)."""
    parts[currency] = parts.get(currency, ZERO) + amount


@dataclass
class Outcomes:
    """Open, won and lost deals of one currency (of one group, or of the whole report)."""

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
    pipecli.engine.report); assemble turns them into the report. Money is kept per
    currency until `currencies` says how to show it."""

    here: dict[str, StageNow]
    funnel: "FunnelCounts"  # the cohort's counts per funnel rank (engine.funnel)
    stays: dict[str, Spread]  # completed stays of cohort deals, per stage
    outcomes: dict[str, Outcomes]  # per currency
    cycles: Spread  # every won deal's cycle (the median needs them all at once)
    lost_reasons: dict[str, tuple[int, dict[str, Decimal]]]
    currencies: Currencies
    handed_off: int = 0
    returned: int = 0
    strays: tuple[str, ...] = ()


def won_rank(rank: dict[str, int], pipeline: Pipeline) -> int | None:
    """The funnel rank of the first won stage (None when the funnel has none)."""
    ranks = [rank[s.key] for s in pipeline.stages if s.outcome == WON and s.key in rank]
    return min(ranks) if ranks else None


def assemble(pipeline: Pipeline, as_of: datetime, filters: Filters, sums: Sums,
             rank: dict[str, int], groups: tuple = (), group_by: str | None = None,
             conversion: ConversionMode = ConversionMode.FURTHEST) -> PipelineReport:
    """The report from its sums: the funnel's figures from its counts per rank (whose
    conversion mode decided which stages each deal counts at); rates and averages are
    derived here only."""
    cur = sums.currencies
    funnel = sums.funnel
    lines = []
    for s in pipeline.stages:
        now = sums.here[s.key]
        r = rank.get(s.key)
        open_stage = s.outcome is None
        stays = sums.stays[s.key]
        parts = {"value": cur.parts(now.value), "weighted_value": cur.parts(now.weighted)}
        if r is not None:
            parts["reached_value"] = cur.parts(funnel.reached_value[r])
        lines.append(StageLine(
            key=s.key, label=s.label, outcome=s.outcome, probability=s.probability,
            count=now.count, value=cur.amount(now.value),
            weighted_value=cur.amount(now.weighted),
            avg_age_days=now.age.mean_days if open_stage else None,
            reached=funnel.reached[r] if r is not None else None,
            reached_value=cur.amount(funnel.reached_value[r]) if r is not None else None,
            conversion=funnel.conversion(r) if r is not None else None,
            drop_off=funnel.drop_off(r) if r is not None else None,
            avg_days_in_stage=stays.mean_days if open_stage else None,
            median_days_in_stage=stays.median_days if open_stage else None,
            parts=parts if cur.several else {},
            cumulative_conversion=funnel.cumulative(r) if r is not None else None,
            conversion_to_won=funnel.to_won(r) if r is not None else None))
    entered, won, to_won = funnel.entry()
    totals = replace(combine(sums.outcomes, sums.cycles, cur), handed_off=sums.handed_off,
                     returned=sums.returned, entered=entered, reached_won=won,
                     conversion_to_won=to_won)
    reasons = tuple(sorted(
        (LostReason(r, c, cur.amount(v), {"value": cur.parts(v)} if cur.several else {})
         for r, (c, v) in sums.lost_reasons.items()), key=cur.largest_first))
    return PipelineReport(pipeline, as_of, filters, tuple(lines), totals, reasons, groups,
                          group_by, sums.strays, cur, conversion=conversion)


def totals_of(o: Outcomes) -> Totals:
    """Totals with the derived rates, exact: win rate, average won deal, cycle, velocity.
    Money may be None (not added across currencies): what derives from it is None too."""
    closed = o.won_count + o.lost_count
    win_rate = Fraction(o.won_count, closed) if closed else None
    avg_won = Fraction(o.won_value) / o.won_count if o.won_count and \
        o.won_value is not None else None
    avg_cycle = o.cycles.mean_days
    velocity = None
    if avg_won is not None and win_rate is not None and avg_cycle:
        velocity = o.open_count * avg_won * win_rate / avg_cycle
    return Totals(
        open_count=o.open_count, open_value=o.open_value, weighted_value=o.open_weighted,
        won_count=o.won_count, won_value=o.won_value, lost_count=o.lost_count,
        lost_value=o.lost_value, win_rate=win_rate, avg_won_value=avg_won,
        avg_cycle_days=avg_cycle, median_cycle_days=o.cycles.median_days,
        velocity_per_day=velocity)


def combine(parts: dict[str, Outcomes], cycles: Spread, cur: Currencies) -> Totals:
    """The totals of deals in several currencies: counts, rates and cycles over them all;
    money as `cur` says (one currency, converted, or None); and, with several currencies,
    each money figure over each currency's deals alone, in that currency."""
    whole = Outcomes(cycles=cycles)
    for o in parts.values():
        whole.open_count += o.open_count
        whole.won_count += o.won_count
        whole.lost_count += o.lost_count
    for name, attribute in (("open_value", "open_value"), ("open_weighted", "open_weighted"),
                            ("won_value", "won_value"), ("lost_value", "lost_value")):
        setattr(whole, name, cur.amount({c: getattr(o, attribute) for c, o in parts.items()}))
    totals = totals_of(whole)
    if not cur.several:
        return totals
    each = {c: totals_of(parts.get(c, Outcomes())) for c in cur.present}
    return replace(totals, parts={name: {c: getattr(t, name) for c, t in each.items()}
                                  for name in MONEY_TOTALS})


GROUPINGS = ("owner", "source", "company", "tag", "currency")
