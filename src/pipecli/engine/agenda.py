"""`pipe agenda`: the deals' next steps by when they are due — overdue, today, each of the
coming days, later, undated — and the open deals that need one and have none. Pure values
from SQL over the same facts every read command uses (so the same filters apply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from pipecli.engine.facts import Timeline, fill_facts, one_pipeline, timelines
from pipecli.engine.figures import Filters
from pipecli.models import OPEN, Pipeline, Workspace


class When(StrEnum):
    """The groups of the agenda, in the order shown."""

    OVERDUE = "overdue"
    TODAY = "today"
    DAY = "day"  # one of the coming days (Item.day says which)
    LATER = "later"  # after the days shown
    UNDATED = "undated"


@dataclass(frozen=True)
class Item:
    """One deal's next step, placed in a group."""

    deal: Timeline
    pipeline: Pipeline
    when: When
    day: date | None  # the due day (None: undated)


@dataclass
class Agenda:
    """The next steps due up to `until` (and the overdue ones), grouped, in due order;
    the later and undated ones; and the open deals at a stage that needs a next step and
    have none."""

    as_of: datetime
    until: date
    items: list[Item] = field(default_factory=list)
    missing: list[tuple[Timeline, Pipeline]] = field(default_factory=list)
    later: int = 0  # steps due after `until` (listed only with show_later)
    undated: int = 0  # steps without a due date (listed only with show_later)


def agenda(store, ws: Workspace, pipelines: list[Pipeline], as_of: datetime, days: int,
           filters: Filters = Filters(), show_later: bool = False) -> Agenda:
    """The agenda at as_of: overdue steps, today's, then each of the next `days` days'
    (tomorrow on); later and undated steps are counted, or listed with show_later."""
    today = as_of.date()
    until = today + timedelta(days=days)
    result = Agenda(as_of, until)
    with store.read() as snapshot:
        for pipeline in pipelines:
            fill_facts(snapshot.conn, one_pipeline(pipeline, ws), as_of, filters)
            # each deal once: in the pipeline it is in now (facts keep it there)
            rows = timelines(snapshot.conn, one_pipeline(pipeline, ws),
                             "AND (next_step != '' OR status = 'open')")
            for t in rows:
                if not t.next_step:
                    stage = pipeline.stage(t.stage)
                    if t.status == OPEN and stage and pipeline.needs_next_step(stage):
                        result.missing.append((t, pipeline))
                    continue
                item = _placed(t, pipeline, as_of, today, until)
                if item.when in (When.LATER, When.UNDATED) and not show_later:
                    result.later += item.when == When.LATER
                    result.undated += item.when == When.UNDATED
                    continue
                result.items.append(item)
    order = list(When)
    result.items.sort(key=lambda i: (order.index(i.when), _due_key(i), i.deal.id))
    result.missing.sort(key=lambda m: m[0].last_change_at)
    return result


def _placed(t: Timeline, pipeline: Pipeline, as_of: datetime, today: date,
            until: date) -> Item:
    due = t.next_due
    if due is None:
        return Item(t, pipeline, When.UNDATED, None)
    # the day as the reader's clock has it: a moment written in another time zone may
    # fall on another day here
    day = due.local_day(as_of.tzinfo)
    if due.overdue(as_of):
        return Item(t, pipeline, When.OVERDUE, day)
    if day <= today:
        return Item(t, pipeline, When.TODAY, day)
    return Item(t, pipeline, When.DAY if day <= until else When.LATER, day)


def _due_key(item: Item) -> tuple:
    """Earliest first; within a day, a step with a time (earliest first) before one due
    all day."""
    due = item.deal.next_due
    if due is None:
        return (date.max, 1, 0)
    return (item.day, 0 if due.moment else 1, due.moment.timestamp() if due.moment else 0)
