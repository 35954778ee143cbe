"""Stage probabilities observed in the history: of the deals that passed a stage and have
since closed, the share that was won (docs/metrics.md, "Historical probabilities").

Every tool we know forecasts with hand-set stage probabilities; pipe keeps the history
that can check them. A stage whose sample (closed deals that passed it) is below the floor
keeps its configured probability, marked as such."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal, localcontext
from fractions import Fraction

from pipecli.engine.facts import fill_facts, furthest, one_pipeline
from pipecli.engine.figures import Filters
from pipecli.models import WON, Pipeline

SAMPLE_FLOOR = 10  # closed deals a stage needs before its observed share is used
PRECISION = 28  # decimal digits a used probability keeps (see docs/metrics.md)


@dataclass(frozen=True)
class Observed:
    """One open stage: its configured probability, what the history shows, and the one
    used (the observed share when the sample reaches the floor)."""

    key: str
    label: str
    configured: Decimal  # percent
    closed: int  # deals that passed the stage and closed in the window: the sample
    won: int  # of those, won
    observed: Fraction | None  # won ÷ closed, as a fraction (None without a sample)
    used: Decimal  # percent
    fallback: bool  # the sample is below the floor: the configured probability is used


def observed(store, pipeline: Pipeline, as_of: datetime, *, closed_since: date | None = None,
             closed_until: date | None = None, floor: int = SAMPLE_FLOOR,
             filters: Filters = Filters(), ws=None) -> tuple[Observed, ...]:
    """Each open stage's observed win probability at as_of: over the deals closed (won or
    lost) in the window — on or after closed_since, on or before closed_until, by their
    close day — the share of those that had passed the stage that were won. A deal passed a
    stage when it reached that stage or a later one in funnel order (the report's
    "reached")."""
    scope = one_pipeline(pipeline, ws)
    window, params = [], {"p": pipeline.name}
    if closed_since is not None:
        window.append("closed_s >= :since")
        params["since"] = int(datetime.combine(closed_since, time()).astimezone().timestamp())
    if closed_until is not None:
        window.append("closed_s < :until")
        params["until"] = int(datetime.combine(date.fromordinal(closed_until.toordinal() + 1),
                                               time()).astimezone().timestamp())
    where = " AND ".join(["pipeline = :p", "status IN ('won', 'lost')",
                          "closed_s IS NOT NULL", *window])
    opens = pipeline.open_stages
    rank = scope.stage_rank
    passed = [0] * len(opens)
    won = [0] * len(opens)
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        for visited, status, count in conn.execute(
                f"SELECT visited, status, count(*) FROM temp.facts WHERE {where} "
                f"GROUP BY visited, status", params):
            reach = furthest(scope, visited)
            for i, stage in enumerate(opens):
                if reach >= rank[stage.key]:
                    passed[i] += count
                    won[i] += count if status == WON else 0
    out = []
    for i, stage in enumerate(opens):
        share = Fraction(won[i], passed[i]) if passed[i] else None
        enough = share is not None and passed[i] >= floor
        out.append(Observed(stage.key, stage.label, stage.probability, passed[i], won[i],
                            share, percent_of(share) if enough else stage.probability,
                            not enough))
    return tuple(out)


def percent_of(share: Fraction) -> Decimal:
    """A share as a percentage Decimal to PRECISION significant digits: exact for every
    terminating share of a sample under 2^26 deals; for the others the error (below
    10^-25 %) is far smaller than the distance of any weighted amount from a rounding
    tie, so amounts round half-up to the same minor units as with the exact fraction."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return (Decimal(share.numerator) * 100 / Decimal(share.denominator)).normalize()


def with_used(pipeline: Pipeline, stages: tuple[Observed, ...]) -> Pipeline:
    """The pipeline with each open stage's probability replaced by the one used: what the
    forecast weighs deals with under --probability historical (a deal's own probability
    still wins)."""
    used = {o.key: o.used for o in stages}
    return replace(pipeline, stages=tuple(
        replace(s, probability=used[s.key]) if s.key in used else s for s in pipeline.stages))
