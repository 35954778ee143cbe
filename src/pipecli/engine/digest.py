"""`pipe digest`: what changed in a period — new deals, moves forward and back, wins and
losses, close dates that slipped, next steps overdue — and the headline figures at its
start and end. Pure values, from the same versions every report reads; the headline
figures are two reports (`--as-of` the start and the end) and their difference, so a
digest never disagrees with the reports it summarises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pipecli.engine.facts import Timeline, fill_facts, one_pipeline, ranks, timelines
from pipecli.engine.figures import Filters, Totals
from pipecli.models import LOST, OPEN, WON, Pipeline, Workspace
from pipecli.store.schema import from_milli, register_functions

# The headline figures, in the order shown: (Totals attribute, label, kind).
HEADLINES = (("open_count", "Open deals", "count"), ("open_value", "Open value", "money"),
             ("weighted_value", "Weighted value", "money"),
             ("won_count", "Won deals", "count"), ("won_value", "Won value", "money"),
             ("lost_count", "Lost deals", "count"), ("win_rate", "Win rate", "rate"),
             ("conversion_to_won", "Conversion to won", "rate"))


@dataclass(frozen=True)
class Happening:
    """One change in the period: a deal's event with what it changed."""

    deal_id: str
    name: str
    at: datetime
    stage: str
    value: Decimal | None
    currency: str
    before: str = ""  # the stage before (moves), the close date before (slips)
    after: str = ""  # the close date after (slips)
    reason: str = ""  # a loss's reason


@dataclass(frozen=True)
class Headline:
    """A headline figure at the start and the end of the period, and the change."""

    key: str
    label: str
    kind: str  # count | money | rate
    start: object  # int | Decimal | Fraction | None; money may be {currency: amount}
    end: object
    change: object


@dataclass
class Digest:
    pipeline: Pipeline
    start: datetime
    end: datetime
    new: list[Happening] = field(default_factory=list)
    forward: list[Happening] = field(default_factory=list)
    back: list[Happening] = field(default_factory=list)
    won: list[Happening] = field(default_factory=list)
    lost: list[Happening] = field(default_factory=list)
    slipped: list[Happening] = field(default_factory=list)
    overdue: list[Timeline] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)


def digest(store, ws: Workspace, pipeline: Pipeline, start: datetime, end: datetime,
           filters: Filters = Filters()) -> Digest:
    """The digest of (start, end]: the pipeline's deals' changes in effect, and the
    headline figures of the reports as of start and as of end."""
    from pipecli.engine.report import report

    scope = one_pipeline(pipeline, ws)
    result = Digest(pipeline, start, end)
    before = report(store, scope, start, filters)
    after = report(store, scope, end, filters)
    result.headlines = [_headline(key, label, kind, before.totals, after.totals)
                        for key, label, kind in HEADLINES]
    order = ranks(pipeline)
    with store.read() as snapshot:
        conn = snapshot.conn
        register_functions(conn)
        fill_facts(conn, scope, end, filters)  # who counts: the deals the filters keep
        kept = {row[0] for row in conn.execute("SELECT id FROM temp.facts")}
        rows = conn.execute(
            "SELECT deal_id, name, at, kind, stage, status, value_milli, currency, "
            "prev_stage, prev_status, close_date, prev_close FROM (SELECT v.*, "
            "lag(stage) OVER w AS prev_stage, lag(status) OVER w AS prev_status, "
            "lag(close_date) OVER w AS prev_close FROM versions AS v WHERE deal_id IN "
            "(SELECT deal_id FROM versions WHERE pipeline = :p AND valid_from <= :end) "
            "WINDOW w AS (PARTITION BY deal_id ORDER BY valid_from)) "
            "WHERE pipeline = :p AND valid_from > :start AND valid_from <= :end "
            "ORDER BY valid_from, deal_id",
            {"p": pipeline.name, "start": int(start.timestamp()), "end": int(end.timestamp())})
        for (deal_id, name, at, kind, stage, status, milli, currency, prev_stage, prev_status,
             close, prev_close) in rows:
            if deal_id not in kept:
                continue
            seen = Happening(deal_id, name, datetime.fromisoformat(at), stage,
                             from_milli(milli), currency or pipeline.currency)
            if kind == "created":
                result.new.append(seen)
            elif status == WON and prev_status != WON:
                result.won.append(seen)
            elif status == LOST and prev_status != LOST:
                result.lost.append(_with(seen, reason=_reason(conn, deal_id, at)))
            elif status == OPEN and prev_stage and stage != prev_stage:
                moved = _with(seen, before=prev_stage)
                forward = order.get(stage, -1) > order.get(prev_stage, -1)
                (result.forward if forward else result.back).append(moved)
            if prev_close and close and close > prev_close and status == OPEN:
                result.slipped.append(_with(seen, before=prev_close, after=close))
        result.overdue = sorted(timelines(conn, scope, "AND status = 'open' AND "
                                               "next_step != '' AND (next_due_day < :today "
                                               "OR next_due_s < :m)",
                                               {"today": end.date().toordinal(),
                                                "m": int(end.timestamp())}),
                                key=lambda t: (t.next_due, t.id))
    return result


def _with(h: Happening, **changes) -> Happening:
    from dataclasses import replace

    return replace(h, **changes)


def _reason(conn, deal_id: str, at: str) -> str:
    row = conn.execute("SELECT lost_reason FROM versions WHERE deal_id = ? AND at = ?",
                       (deal_id, at)).fetchone()
    return row[0] if row else ""


def _headline(key: str, label: str, kind: str, start: Totals, end: Totals) -> Headline:
    """A figure of two reports and its change: money per currency when a report gives it
    so (never added across currencies); a rate's change in points; None when either side
    has no figure."""
    a, b = getattr(start, key), getattr(end, key)
    if kind == "money" and (a is None or b is None) and (start.parts or end.parts):
        a, b = start.parts.get(key, {}) or {}, end.parts.get(key, {}) or {}
        if a or b:
            codes = sorted(set(a) | set(b))
            zero = Decimal(0)
            change = {c: b.get(c, zero) - a.get(c, zero) for c in codes}
            return Headline(key, label, kind, a, b, change)
    if kind == "money":
        a = a if a is not None else Decimal(0)
        b = b if b is not None else Decimal(0)
    change = None if a is None or b is None else b - a
    return Headline(key, label, kind, a, b, change)


def period_start(text: str, end: datetime) -> datetime:
    """--since as people type it: a length back from the end (7d, 2w, 1m, 1q, 1y — the
    same as -7d …) or any moment parse_when reads."""
    import re

    from pipecli import dates
    from pipecli.errors import UsageError
    from pipecli.values import parse_when

    raw = text.strip().lower()
    if re.fullmatch(r"\d{1,5}[dwmqy]", raw):
        try:
            return dates.parse(f"-{raw}", end)
        except dates.DateError as e:
            raise UsageError(f"--since {e}") from None
    return parse_when(text, what="--since")

