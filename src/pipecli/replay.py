"""Replaying the history: each deal's state and stage stays at a moment, from its events.

Reports read the history rather than the current deals, so that `--as-of` and today's
report are the same computation, and so that funnel figures can see stages a deal has
left. Events after the moment are ignored; a deal created later is absent; a deleted
deal is absent from the moment of its deletion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Iterator

from pipecli.models import LOST, OPEN, WON, Event, Pipeline
from pipecli.values import parse_stored_time

# Deal fields kept in events' `changes`, and how their stored text reads back.
_TEXT_FIELDS = ("name", "company", "contact", "email", "owner", "source", "lost_reason")


@dataclass(frozen=True)
class Stay:
    """A continuous period in one stage: entered at `start`, left at `end` (None: still there)."""

    stage: str
    start: datetime
    end: datetime | None
    pipeline: str = ""


@dataclass
class Timeline:
    """A deal as it stood at the replay moment, with the path it took to get there."""

    id: str
    pipeline: str
    created_at: datetime
    stage: str
    status: str
    value: Decimal | None
    last_change_at: datetime
    closed_at: datetime | None = None
    name: str = ""
    company: str = ""
    contact: str = ""
    email: str = ""
    owner: str = ""
    source: str = ""
    lost_reason: str = ""
    close_date: date | None = None
    probability: Decimal | None = None
    tags: tuple[str, ...] = ()
    stays: list[Stay] = field(default_factory=list)
    furthest_rank: int = -1  # see ranks(): the furthest stage the deal has ever been in
    pipelines: set = field(default_factory=set)  # every pipeline the deal has been in
    handed_off: bool = False  # left the reported pipeline for another one, at least once
    returned: bool = False  # came back to the reported pipeline from another one

    @property
    def current_stay(self) -> Stay | None:
        return self.stays[-1] if self.stays and self.stays[-1].end is None else None


def ranks(pipeline: Pipeline) -> dict[str, int]:
    """Funnel order: open stages 0..k-1, then won stages k, k+1, ... Lost stages have none:
    being lost is not progress, so a lost deal's furthest stage is where it was before."""
    order = [s for s in pipeline.stages if s.outcome is None] + \
            [s for s in pipeline.stages if s.outcome == WON]
    return {s.key: i for i, s in enumerate(order)}


def replay(events: Iterable[Event], pipeline: Pipeline, until: datetime | None = None
           ) -> list[Timeline]:
    """Timelines of the deals that have been in the pipeline, from events ordered by
    (deal, seq), up to `until`. A deal handed on to another pipeline is kept (its path
    through this one counts in the funnel) with its current pipeline set to the other."""
    rank = {(pipeline.name, key): r for key, r in ranks(pipeline).items()}
    out = []
    for deal_events in _by_deal(events):
        timeline = _replay_one(deal_events, rank, until, pipeline.name)
        if timeline is not None and pipeline.name in timeline.pipelines:
            out.append(timeline)
    return out


def journey(ws, until: datetime | None, events: Iterable[Event]
            ) -> tuple[Pipeline, list, dict[str, int]]:
    """The whole file as one funnel: every pipeline's open stages in file order, then the
    won and lost stages; stage keys become "pipeline/stage". For `pipe report --all`.
    Only the last pipeline's won stages end the funnel; a win in an earlier pipeline (a
    marketing "customer") is an outcome of its own, outside the funnel order."""
    from pipecli.models import Stage

    def renamed(p, s):
        return Stage(key=f"{p.name}/{s.key}", label=f"{p.name}: {s.label}",
                     probability=s.probability, group=s.group, rot_days=s.rot_days,
                     outcome=s.outcome)

    stages = [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome is None]
    stages += [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome == WON]
    stages += [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome == LOST]
    first = ws.pipelines[0]
    whole = Pipeline(name="all", label="All pipelines", kind=first.kind,
                     currency=first.currency, stages=tuple(stages))
    last = ws.pipelines[-1]
    ending = {f"{last.name}/{s.key}" for s in last.stages if s.outcome == WON}
    order = [s.key for s in stages if s.outcome is None] + \
            [s.key for s in stages if s.key in ending]
    funnel = {key: i for i, key in enumerate(order)}
    rank = {tuple(key.split("/", 1)): r for key, r in funnel.items()}
    out = []
    for deal_events in _by_deal(events):
        t = _replay_one(deal_events, rank, until, None)
        if t is None:
            continue
        seen = [e for e in deal_events if until is None or e.at <= until]
        t.handed_off = any(e.kind == "handed_off" for e in seen)
        t.returned = any(e.kind == "returned" for e in seen)
        t.stage = f"{t.pipeline}/{t.stage}"
        t.stays = [Stay(f"{s.pipeline}/{s.stage}", s.start, s.end, "all") for s in t.stays]
        t.pipeline = "all"
        out.append(t)
    return whole, out, funnel


def _by_deal(events: Iterable[Event]) -> Iterator[list[Event]]:
    current: list[Event] = []
    for e in events:
        if current and e.deal_id != current[0].deal_id:
            yield current
            current = []
        current.append(e)
    if current:
        yield current


def _replay_one(events: list[Event], rank: dict[tuple[str, str], int],
                until: datetime | None, reported: str | None = None) -> Timeline | None:
    t: Timeline | None = None
    removed: Timeline | None = None  # the deal as it was deleted, for an undo to restore
    for e in events:
        if until is not None and e.at > until:
            break
        if e.kind == "undone" and t is None and removed is not None:
            t, removed = removed, None  # the undo of a deletion brings the deal back
        if e.kind == "created":
            t = Timeline(id=e.deal_id, pipeline=e.pipeline, created_at=e.at, stage=e.stage,
                         status=e.status, value=e.value, last_change_at=e.at)
            for name, text in e.changes.items():
                _apply(t, name, text)
            t.stays.append(Stay(e.stage, e.at, None, e.pipeline))
            t.furthest_rank = rank.get((e.pipeline, e.stage), -1)
            t.pipelines.add(e.pipeline)
            continue
        if t is None:
            continue  # a history without its creation: nothing to replay
        if e.kind == "deleted":
            t, removed = None, t
            continue
        for name, change in e.changes.items():
            if isinstance(change, list) and len(change) == 2:
                _apply(t, name, change[1])
        if e.stage != t.stage or e.pipeline != t.pipeline:
            last = t.stays[-1]
            t.stays[-1] = Stay(last.stage, last.start, e.at, last.pipeline)
            t.stays.append(Stay(e.stage, e.at, None, e.pipeline))
            t.furthest_rank = max(t.furthest_rank, rank.get((e.pipeline, e.stage), -1))
            t.pipelines.add(e.pipeline)
            if e.pipeline != t.pipeline and reported is not None:
                t.handed_off |= t.pipeline == reported
                t.returned |= e.pipeline == reported
        t.stage, t.status, t.value, t.pipeline = e.stage, e.status, e.value, e.pipeline
        t.last_change_at = e.at
        if e.kind in ("won", "lost"):
            t.closed_at = e.at
        elif t.status == OPEN:
            t.closed_at = None
        elif e.kind == "undone" and isinstance(e.changes.get("closed_at"), list):
            t.closed_at = parse_stored_time(e.changes["closed_at"][1]) \
                if e.changes["closed_at"][1] else None
        if t.status != LOST:
            t.lost_reason = ""
        if e.kind == "lost":
            t.lost_reason = e.reason or t.lost_reason
    return t


def _apply(t: Timeline, name: str, text) -> None:
    text = "" if text is None else str(text)
    if name in _TEXT_FIELDS:
        setattr(t, name, text)
    elif name == "close_date":
        try:
            t.close_date = date.fromisoformat(text) if text else None
        except ValueError:
            t.close_date = None
    elif name == "probability":
        t.probability = Decimal(text) if text else None
    elif name == "tags":
        t.tags = tuple(x for x in text.split(";") if x)


def load(store, pipeline: Pipeline, until: datetime | None = None) -> list[Timeline]:
    """Replay a store's history for one pipeline (one consistent read)."""
    with store.read() as snapshot:
        return replay(snapshot.events(), pipeline, until)


def rebuild(events: list[Event]):
    """The current Deal that one deal's full history implies (None if it was deleted)."""
    from pipecli.models import Deal

    t = _replay_one(events, {}, None, None)
    if t is None:
        return None
    return Deal(id=t.id, pipeline=t.pipeline, name=t.name, stage=t.stage, status=t.status,
                created_at=t.created_at, updated_at=t.last_change_at, value=t.value,
                probability=t.probability, company=t.company, contact=t.contact, email=t.email,
                owner=t.owner, source=t.source, close_date=t.close_date, tags=t.tags,
                lost_reason=t.lost_reason, closed_at=t.closed_at)
