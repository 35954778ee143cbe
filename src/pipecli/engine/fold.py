"""One deal's events → everything derived from them: the rule, written once.

The effective history is every non-revert event that no revert in effect cancels; a revert
(undone, redone) is in effect unless a revert in effect cancels *it*. So undo removes its
target from every figure, a redo (the undo of an undo) puts it back, and undoing a redo
takes it out again. The effective events are applied in (effective time, recording order);
each one gives a version of the deal, valid from its time until the next one's; runs of
versions in one place (pipeline, stage) are the deal's stays.

Both stores keep these rows (versions, stays, the current deal) as events land, so that
every report is SQL over them (pipecli.engine.report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal

from pipecli.models import LOST, OPEN, WON, Deal, Due, Event, Kind
from pipecli.values import parse_stored_money, parse_stored_probability

_TEXT = ("pipeline", "stage", "status", "name", "company", "contact", "email", "owner",
         "source", "lost_reason", "currency", "external_id", "next_step", "next_owner")


@dataclass(frozen=True)
class Version:
    """The deal as it stood from `start` (an effective event's time) until the next one."""

    deal: Deal
    start: datetime
    kind: Kind
    from_pipeline: str | None  # the pipeline of the version before (None for the first)
    stay_start: datetime  # when the deal entered its current (pipeline, stage)
    visited: str = ""  # every place so far, " pipeline/stage " entries, sorted
    handed_from: str = ""  # pipelines it was handed on from so far, " name " entries
    returned_to: str = ""  # pipelines it came back into so far
    handoffs: int = 0  # handed_off events so far
    returns: int = 0  # returned events so far


@dataclass(frozen=True)
class StayRow:
    pipeline: str
    stage: str
    start: datetime
    end: datetime | None  # None while the deal is there (or when it was deleted there)


@dataclass
class Folded:
    """What one deal's events imply."""

    deal: Deal | None  # as it stands after every effective event (None: deleted / never)
    versions: list[Version] = field(default_factory=list)
    ends: list[datetime | None] = field(default_factory=list)  # each version's end
    stays: list[StayRow] = field(default_factory=list)
    in_effect: set[str] = field(default_factory=set)  # ids of events in effect
    ignored: list[tuple[Event, str]] = field(default_factory=list)  # (event, why) for check


def in_effect(events: list[Event]) -> set[str]:
    """Ids of the events in effect: not cancelled by a revert that is itself in effect."""
    if not any(e.kind.is_revert for e in events):
        return {e.id for e in events}  # the usual case: nothing was ever taken back
    by_id = {e.id: e for e in events}
    cyclic = _in_cycles(by_id)  # only a forged log holds one: nothing in it counts
    reverts: dict[str, list[str]] = {}
    for e in events:
        if e.kind.is_revert and e.target in by_id and e.id not in cyclic:
            reverts.setdefault(e.target, []).append(e.id)
    decided: dict[str, bool] = {i: False for i in cyclic}
    for e in events:
        # Iterative post-order walk down the chain of reverts of e (undo of redo of undo...).
        stack = [(e.id, False)]
        while stack:
            node, expanded = stack.pop()
            if node in decided:
                continue
            if expanded:
                decided[node] = not any(decided[r] for r in reverts.get(node, ()))
                continue
            stack.append((node, True))
            stack.extend((r, False) for r in reverts.get(node, ()) if r not in decided)
    return {i for i, ok in decided.items() if ok}


def _in_cycles(by_id: dict[str, Event]) -> set[str]:
    """Reverts whose chain of targets leads back to themselves."""
    cyclic: set[str] = set()
    for start in by_id.values():
        if not start.kind.is_revert or start.id in cyclic:
            continue
        seen, node = [], start
        while node is not None and node.kind.is_revert and node.id not in seen:
            seen.append(node.id)
            node = by_id.get(node.target)
        if node is not None and node.id in seen:
            cyclic.update(seen[seen.index(node.id):])
    return cyclic


def effect_order(e: Event) -> tuple:
    """The order effective events apply in: effective time, then recording order."""
    return (e.at, e.recorded, e.id)


def fold(events: list[Event]) -> Folded:
    """Everything one deal's events imply (events in any order)."""
    live = in_effect(events)
    result = Folded(None, in_effect=live)
    state: dict | None = None
    deleted = False
    tags: list[str] = []
    created_at = closed_at = None
    stay_start = None
    visited: set[str] = set()
    handed_from: set[str] = set()
    returned_to: set[str] = set()
    handoffs = returns = 0
    for e in sorted((e for e in events if e.id in live and not e.kind.is_revert),
                    key=effect_order):
        if state is None:
            if e.kind != Kind.CREATED:
                result.ignored.append((e, "comes before the deal's creation"))
                continue
            state = {name: "" for name in _TEXT}
            state.update(value="", probability="", close_date="", next_due="")
            created_at = stay_start = e.at
        elif deleted:
            result.ignored.append((e, "comes after the deal's deletion"))
            continue
        elif e.kind == Kind.CREATED:
            result.ignored.append((e, "creates a deal that exists already"))
            continue
        elif e.kind == Kind.DELETED:
            deleted = True
            _end(result, e.at)
            continue
        before = (state["pipeline"], state["stage"], state["status"])
        state.update(e.sets)
        tags = [t for t in tags if t not in e.tags_removed]
        tags += [t for t in e.tags_added if t not in tags]
        if state["status"] != before[2]:
            closed_at = e.at if state["status"] in (WON, LOST) else None
        if state["status"] != LOST:
            state["lost_reason"] = ""
        moved = (state["pipeline"], state["stage"]) != before[:2]
        first = not result.versions
        if moved and not first:
            stay_start = e.at
        deal = _deal(e.deal_id, state, tags, created_at, e.at, closed_at)
        _end(result, e.at)
        from_pipeline = None if first else result.versions[-1].deal.pipeline
        visited.add(f"{deal.pipeline}/{deal.stage}")
        if from_pipeline is not None and from_pipeline != deal.pipeline:
            handed_from.add(from_pipeline)
            returned_to.add(deal.pipeline)
        handoffs += e.kind == Kind.HANDED_OFF
        returns += e.kind == Kind.RETURNED
        result.versions.append(Version(deal, e.at, e.kind, from_pipeline, stay_start,
                                       _spaced(visited), _spaced(handed_from),
                                       _spaced(returned_to), handoffs, returns))
        result.ends.append(None)
        if first or moved:
            if result.stays:
                last = result.stays[-1]
                result.stays[-1] = StayRow(last.pipeline, last.stage, last.start, e.at)
            result.stays.append(StayRow(deal.pipeline, deal.stage, e.at, None))
    if result.versions and not deleted:
        result.deal = result.versions[-1].deal
    return result


def _spaced(items: set[str]) -> str:
    """A set as text SQL can search: " a b c " (the entries never hold a space)."""
    return f" {' '.join(sorted(items))} " if items else ""


def _end(result: Folded, at: datetime) -> None:
    if result.ends and result.ends[-1] is None:
        result.ends[-1] = at


def _deal(deal_id: str, s: dict, tags: list[str], created_at, updated_at, closed_at) -> Deal:
    return Deal(id=deal_id, pipeline=s["pipeline"], name=s["name"], stage=s["stage"],
                status=s["status"] or OPEN, created_at=created_at, updated_at=updated_at,
                value=_money(s["value"]), probability=_probability(s["probability"]),
                company=s["company"], contact=s["contact"], email=s["email"], owner=s["owner"],
                source=s["source"], close_date=_day(s["close_date"]), tags=tuple(tags),
                lost_reason=s["lost_reason"], closed_at=closed_at, currency=s["currency"],
                external_id=s["external_id"], next_step=s["next_step"],
                next_due=_due(s["next_due"]) if s["next_step"] else None,
                next_owner=s["next_owner"] if s["next_step"] else "")


# A deal's versions repeat the same texts: each is parsed once.
@lru_cache(maxsize=4096)
def _money(text: str) -> Decimal | None:
    return parse_stored_money(text) if text else None


@lru_cache(maxsize=1024)
def _probability(text: str) -> Decimal | None:
    return parse_stored_probability(text) if text else None


@lru_cache(maxsize=1024)
def _due(text: str) -> Due | None:
    return Due.parse_stored(text) if text else None


@lru_cache(maxsize=4096)
def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None
