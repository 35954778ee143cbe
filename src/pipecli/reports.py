"""Reports: pure computations from deals to values. Nothing here reads files or prints."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from pipecli.models import LOST, OPEN, WON, Deal, Pipeline

HUNDRED = Decimal(100)


def weighted(deal: Deal, pipeline: Pipeline) -> Decimal:
    """value × win probability: the deal's own probability if set, else its stage's."""
    if deal.value is None:
        return Decimal(0)
    stage = pipeline.stage(deal.stage)
    probability = deal.probability if deal.probability is not None else (
        stage.probability if stage else Decimal(0))
    return deal.value * probability / HUNDRED


@dataclass(frozen=True)
class StageLine:
    key: str
    label: str
    outcome: str | None
    probability: Decimal
    count: int
    value: Decimal
    weighted_value: Decimal


@dataclass(frozen=True)
class Totals:
    open_count: int
    open_value: Decimal
    weighted_value: Decimal
    won_count: int
    won_value: Decimal
    lost_count: int
    lost_value: Decimal


@dataclass(frozen=True)
class StageReport:
    """Deals now in each stage of one pipeline, with the pipeline's totals."""

    pipeline: Pipeline
    stages: tuple[StageLine, ...]
    totals: Totals


def stage_report(pipeline: Pipeline, deals: Iterable[Deal]) -> StageReport:
    """Count, value and weighted value of the deals now in each stage.

    A deal without a value counts in `count` and adds nothing to the sums. Totals'
    weighted_value covers open deals only: it is what the open pipeline is expected to bring.
    """
    count = {s.key: 0 for s in pipeline.stages}
    value = {s.key: Decimal(0) for s in pipeline.stages}
    weight = {s.key: Decimal(0) for s in pipeline.stages}
    by_status = {s: [0, Decimal(0)] for s in (OPEN, WON, LOST)}
    open_weighted = Decimal(0)
    for deal in deals:
        if deal.pipeline != pipeline.name or deal.stage not in count:
            continue
        amount = deal.value or Decimal(0)
        w = weighted(deal, pipeline)
        count[deal.stage] += 1
        value[deal.stage] += amount
        weight[deal.stage] += w
        by_status[deal.status][0] += 1
        by_status[deal.status][1] += amount
        if deal.status == OPEN:
            open_weighted += w
    lines = tuple(StageLine(s.key, s.label, s.outcome, s.probability, count[s.key],
                            value[s.key], weight[s.key]) for s in pipeline.stages)
    totals = Totals(open_count=by_status[OPEN][0], open_value=by_status[OPEN][1],
                    weighted_value=open_weighted, won_count=by_status[WON][0],
                    won_value=by_status[WON][1], lost_count=by_status[LOST][0],
                    lost_value=by_status[LOST][1])
    return StageReport(pipeline, lines, totals)
