"""Acquisition cost (docs/metrics.md, "Acquisition cost — `pipe costs`"): the costs file's
money per source and period beside the leads of that source created in that period — the
report's funnel cohort — and what they became: cost per lead, per qualified lead and per
won deal (CAC). Exact throughout; rounded only when shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from pipecli.engine.facts import fill_facts, furthest, one_pipeline
from pipecli.engine.figures import ZERO, Filters, exact_decimal, won_rank
from pipecli.engine.periods import KINDS, Period, between, period_of
from pipecli.errors import UsageError
from pipecli.exchange.costs_file import CostRow, CostsFile, read_costs
from pipecli.models import Pipeline, Workspace
from pipecli.store.schema import from_milli

NO_SOURCE = ""  # the key of leads without a source (shown as "(no source)")


@dataclass(frozen=True)
class Line:
    """Cost and leads of one source in one period, or summed over periods (a total)."""

    source: str  # as the costs file writes it (else as the deals do); "" for none
    cost: Decimal | None  # in the pipeline's currency; None: unknown (no cost row)
    leads: int
    qualified: int
    won: int
    won_value: Decimal | None  # of the won leads, in the pipeline's currency; None: not
    period: Period | None = None  # None for a total                 # addable (no rate)
    missing: tuple[Period, ...] = ()  # a source's total: periods with leads, no cost row

    @property
    def per_lead(self) -> Fraction | None:
        """Cost ÷ leads (None when either is unknown or 0 leads)."""
        return _per(self.cost, self.leads)

    @property
    def per_qualified(self) -> Fraction | None:
        """Cost ÷ qualified leads."""
        return _per(self.cost, self.qualified)

    @property
    def per_won(self) -> Fraction | None:
        """Cost ÷ won deals: the customer acquisition cost (CAC)."""
        return _per(self.cost, self.won)

    @property
    def won_per_cost(self) -> Fraction | None:
        """Won value ÷ cost: what each unit spent brought back (None when cost is 0)."""
        if self.won_value is None or not self.cost:
            return None
        return Fraction(self.won_value) / Fraction(self.cost)


def _per(cost: Decimal | None, count: int) -> Fraction | None:
    return Fraction(cost) / count if cost is not None and count else None


@dataclass(frozen=True)
class CostReport:
    """`pipe costs`: a line per period and source, a total per source, the grand total."""

    pipeline: Pipeline
    as_of: datetime
    kind: str  # month, quarter or year
    periods: tuple[Period, ...]  # the shown periods, in order
    lines: tuple[Line, ...]
    sources: tuple[Line, ...]
    total: Line
    costs_file: str  # the path `costs:` gives
    qualified_key: str  # the stage a qualified lead reached
    qualified_label: str
    since: date | None = None
    until: date | None = None
    source: str | None = None  # --source
    notes: tuple[str, ...] = ()  # how the costs file was read (an encoding, columns left)
    unconverted: tuple[str, ...] = ()  # won leads' currencies without a rate
    converted: tuple[tuple[str, Decimal], ...] = ()  # costs' other currencies, their rates


@dataclass
class _Tally:
    cost: Decimal | None = None
    leads: int = 0
    qualified: int = 0
    won: int = 0
    won_parts: dict = field(default_factory=dict)  # currency → exact sum

    def add_cost(self, amount: Decimal) -> None:
        self.cost = (self.cost or ZERO) + amount


def costs(store, ws: Workspace, pipeline: Pipeline, as_of: datetime, *,
          kind: str | None = None, since: date | None = None, until: date | None = None,
          source: str | None = None, encoding: str | None = None) -> CostReport:
    """The acquisition-cost report of a pipeline at as_of: the costs file's rows and the
    leads created in each whole period that overlaps since..until (default: the costs
    file's first to last period), per source (ignoring case). The periods are the same
    with --source as without: it only leaves the other sources out."""
    read = read_costs(ws, pipeline, encoding)
    kind = kind or max((r.period.kind for r in read.rows), key=KINDS.index, default="month")
    _refuse_coarser(read, kind)
    periods = _shown_periods(list(read.rows), kind, since, until, as_of.date())
    wanted = source.lower() if source is not None else None
    tallies: dict[tuple[Period, str], _Tally] = {}
    names: dict[str, str] = {}  # folded source → as shown
    converted = _add_costs(tallies, names, [r for r in read.rows if wanted in (
        None, r.source.lower())], kind, set(periods), pipeline)
    qualified_key = pipeline.qualified_stage or _second_place(pipeline)
    _add_leads(tallies, names, store, one_pipeline(pipeline, ws), pipeline, as_of, periods,
               qualified_key, source)
    unconverted = sorted({c for t in tallies.values() for c in t.won_parts
                          if c != pipeline.currency and c not in dict(pipeline.rates)})
    convert = _converter(pipeline, unconverted)
    lines = [_line(names[key], tally, convert, period)
             for (period, key), tally in sorted(tallies.items(), key=lambda kv: (
                 kv[0][0], *_source_order(names[kv[0][1]])))]
    stage = pipeline.stage(qualified_key)
    return CostReport(pipeline, as_of, kind, tuple(periods), tuple(lines),
                      _source_totals(lines), _grand_total(lines), read.name, qualified_key,
                      stage.label if stage else qualified_key, since, until, source,
                      read.notes, tuple(unconverted),
                      tuple((c, dict(pipeline.rates)[c]) for c in sorted(converted)))


def _add_costs(tallies: dict, names: dict, rows: list[CostRow], kind: str, shown: set,
               pipeline: Pipeline) -> set[str]:
    """Add each row's cost to its source in the shown period that holds it (rows of one
    period and source add up); returns the other currencies that were converted."""
    converted: set[str] = set()
    for r in rows:
        period = period_of(r.period.first, kind)
        if period in shown:
            converted |= {r.currency} - {pipeline.currency}
            names.setdefault(r.source.lower(), r.source)
            tallies.setdefault((period, r.source.lower()), _Tally()).add_cost(r.amount)
    return converted


def _add_leads(tallies: dict, names: dict, store, scope, pipeline: Pipeline,
               as_of: datetime, periods: list[Period], qualified_key: str,
               source: str | None) -> None:
    """Count the funnel's entrants created in the shown periods per source (ignoring case),
    with the qualified and won ones and the won ones' value per currency, from the facts
    table at as_of (grouped by creation month: every period is whole months)."""
    if not periods:
        return
    rank = scope.stage_rank
    qualified_at, won_at = rank[qualified_key], won_rank(rank, pipeline)
    shown = set(periods)
    spelled: dict[str, set[str]] = {}
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, Filters(source=source))
        for month, written, visited, currency, count, value in conn.execute(
                "SELECT substr(created_at, 1, 7) AS m, source, visited, currency, count(*), "
                "sum(value_milli) FROM temp.facts WHERE m BETWEEN :first AND :last "
                "GROUP BY m, source, visited, currency",
                {"first": periods[0].first.isoformat()[:7],
                 "last": periods[-1].last.isoformat()[:7]}):
            period = period_of(date.fromisoformat(month + "-01"), kind=periods[0].kind)
            reached = furthest(scope, visited)
            if period not in shown or reached < 0:  # (< 0: only at stages gone from the
                continue                            # file, so not in the report's funnel)
            key = (written or "").lower()
            spelled.setdefault(key, set()).add(written or "")
            tally = tallies.setdefault((period, key), _Tally())
            tally.leads += count
            tally.qualified += count if reached >= qualified_at else 0
            if won_at is not None and reached >= won_at:
                tally.won += count
                tally.won_parts[currency] = tally.won_parts.get(currency, ZERO) + \
                    (from_milli(value) or ZERO)
    for key, written in spelled.items():  # a source without a cost row: as the deals say
        names.setdefault(key, min(written))


def _second_place(pipeline: Pipeline) -> str:
    """The default qualified stage: the funnel's second place — the second open stage, or
    with a single open stage the first won one (a lead that got past the first stage)."""
    opens = pipeline.open_stages
    return opens[1].key if len(opens) > 1 else pipeline.won_stage.key


def _refuse_coarser(read: CostsFile, kind: str) -> None:
    """A cost of a longer period than the report's is never split by guessing."""
    coarser = [r for r in read.rows if r.period.coarser_than(kind)]
    if not coarser:
        return
    r = coarser[0]
    others = [str(x.line) for x in coarser[1:6]] + (["…"] if len(coarser) > 6 else [])
    more = f"; so {'is line' if len(others) == 1 else 'are lines'} {', '.join(others)}" \
        if others else ""
    raise UsageError(f"{read.name}:{r.line}: the cost of {r.period} is for a {r.period.kind}, "
                     f"longer than --period {kind}, and is never split by guessing; report by "
                     f"--period {r.period.kind}, or give that cost per {kind}{more}")


def _shown_periods(rows: list[CostRow], kind: str, since: date | None,
                   until: date | None, today: date) -> list[Period]:
    """The periods of the report: whole periods of `kind` overlapping since..until; without
    --since from the costs file's first period, without --until to its last (the report
    day when the file has no rows)."""
    if not rows and since is None and until is None:
        return []  # a costs file of a header only: nothing to report
    start = since or min((r.period.first for r in rows), default=None) or until or today
    end = until or max((r.period.last for r in rows), default=None) or max(start, today)
    if start > end:  # one end given, beyond the costs file's other end
        raise UsageError(f"--since {start} is after the last day of the costs file, {end}; "
                         f"give --until too" if since else
                         f"--until {end} is before the first day of the costs file, {start}; "
                         f"give --since too")
    return between(start, end, kind)


def _source_order(name: str) -> tuple:
    """Sources by name ignoring case, then as written; leads without a source last."""
    return (name == NO_SOURCE, name.lower(), name)


def _converter(pipeline: Pipeline, unconverted: list[str]):
    """Won value parts → one amount in the pipeline's currency at its rates, exactly
    (None when a currency among them has no rate)."""
    rates = dict(pipeline.rates)

    def convert(parts: dict) -> Decimal | None:
        if any(c in unconverted for c in parts):
            return None
        total = sum((Fraction(a) * Fraction(rates.get(c, 1)) for c, a in parts.items()),
                    Fraction(0))
        return exact_decimal(total)

    return convert


def _line(name: str, t: _Tally, convert, period: Period | None = None,
          missing: tuple = ()) -> Line:
    return Line(name, t.cost, t.leads, t.qualified, t.won, convert(t.won_parts), period,
                missing)


def _sum(lines) -> tuple[Decimal | None, int, int, int, Decimal | None]:
    """(cost, leads, qualified, won, won value) of lines: the cost is the sum of the known
    costs (None when no line has one); the won value None when any line's is."""
    known = [x.cost for x in lines if x.cost is not None]
    values = [x.won_value for x in lines]
    return (sum(known, ZERO) if known else None, sum(x.leads for x in lines),
            sum(x.qualified for x in lines), sum(x.won for x in lines),
            None if None in values else sum(values, ZERO))


def _source_totals(lines: list[Line]) -> tuple[Line, ...]:
    """Each source over the shown periods. Its cost is unknown when it has leads in a
    period without a cost row (listed in `missing`): a part of its cost is not known."""
    by_source: dict[str, list[Line]] = {}
    for x in lines:
        by_source.setdefault(x.source, []).append(x)
    out = []
    for name, own in sorted(by_source.items(), key=lambda kv: _source_order(kv[0])):
        cost, leads, qualified, won, value = _sum(own)
        missing = tuple(x.period for x in own if x.cost is None and x.leads)
        out.append(Line(name, None if missing else cost, leads, qualified, won, value,
                        None, missing))
    return tuple(out)


def _grand_total(lines: list[Line]) -> Line:
    """Blended: every cost of the shown periods ÷ every lead of them, of every source —
    leads of sources without a cost row count, at no cost."""
    cost, leads, qualified, won, value = _sum(lines)
    return Line("", cost, leads, qualified, won, value)
