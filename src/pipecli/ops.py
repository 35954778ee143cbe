"""The deal lifecycle: add, move, win, lose, reopen, edit, remove.

Each operation is one store transaction: it resolves the deal, checks the rules of its
pipeline, and records one history event with the deal's new state. A rule that fails
raises before anything is written, so a failed command leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from pipecli import money
from pipecli.errors import Ambiguous, NotFound, RuleViolation, UsageError
from pipecli.models import (LOST, OPEN, SETTABLE_FIELDS, WON, Deal, Event, Kind, Pipeline,
                            Stage, Workspace)
from pipecli.store import Snapshot, Store, Transaction
from pipecli.store.codec import deal_to_row
from pipecli.store.codec import DEAL_COLUMNS
from pipecli.values import format_time, new_id, now

MAX_CANDIDATES = 10
PLACE = {"pipeline", "stage", "status"}
MAX_TAGS = 50  # every value is bounded, so no accepted command can grow a log line unreadable


@dataclass(frozen=True)
class Change:
    """What an operation did: the deal before (None when added) and after (None when removed)."""

    before: Deal | None
    after: Deal | None
    event: Event | None  # None when nothing needed to change

    @property
    def deal(self) -> Deal:
        return self.after or self.before


def resolve(snapshot: Snapshot, ref: str) -> Deal:
    """The one deal a reference means: its id, a unique id prefix, its exact name, or a
    unique part of its name."""
    found = snapshot.lookup(ref)
    if not found:
        raise NotFound(f"no deal matches {ref!r} (give an id, an id prefix, the name or a "
                       f"part of it)")
    if len(found) > 1:
        shown = ", ".join(f"{d.id} {d.name!r}" for d in found[:MAX_CANDIDATES])
        more = f" and {len(found) - MAX_CANDIDATES} more" if len(found) > MAX_CANDIDATES else ""
        raise Ambiguous(f"{ref!r} matches {len(found)} deals: {shown}{more}; give more of the "
                        f"id or name")
    return found[0]


def find_stage(pipeline: Pipeline, ref: str) -> Stage:
    """A stage by key or by label, ignoring case."""
    needle = ref.strip().lower()
    for s in pipeline.stages:
        if s.key == needle or s.label.lower() == needle:
            return s
    keys = ", ".join(s.key for s in pipeline.stages)
    raise NotFound(f"pipeline {pipeline.name!r} has no stage {ref!r} (stages: {keys})")


def _pipeline_of(ws: Workspace, deal: Deal) -> Pipeline:
    p = ws.pipeline_of(deal)
    if p is None:
        raise RuleViolation(f"deal {deal.id} belongs to pipeline {deal.pipeline!r}, which "
                            f"{ws.path} does not define")
    return p


def _moment(tx: Transaction, at: datetime | None, deal: Deal | None) -> datetime:
    """When the change takes effect: --at, or now — read inside the write lock, so a
    command that waited for another never stamps itself before that one's change."""
    current = now()
    if at is None:
        at = current
        if deal is not None:  # a clock set back must not put history out of order
            last = tx.last_effective(deal.id)
            at = max(at, last.at) if last else at
        return at
    if at > current:
        raise UsageError(f"--at {format_time(at)} is in the future")
    if deal is not None:
        last = tx.last_effective(deal.id)
        if last is not None and at < last.at:
            raise UsageError(f"--at {format_time(at)} is before the deal's last change "
                             f"({format_time(last.at)}); history must stay in order")
    return at


def _check_requires(deal: Deal, stage: Stage) -> None:
    missing = [f for f in stage.requires if not deal.is_set(f)]
    if missing:
        flags = " ".join(f"--{f.replace('_', '-')}" for f in missing)
        raise RuleViolation(f"stage {stage.key!r} requires {', '.join(missing)}; set "
                            f"{'it' if len(missing) == 1 else 'them'} first with "
                            f"`pipe edit {deal.id} {flags} ...`")


def field_sets(before: Deal | None, after: Deal) -> tuple[dict, tuple, tuple]:
    """What an event must set to turn `before` into `after`: changed fields as stored text,
    tags added and tags removed."""
    if len(after.tags) > MAX_TAGS:
        raise UsageError(f"deal {after.id} would have {len(after.tags)} tags; the limit is "
                         f"{MAX_TAGS}")
    new = dict(zip(DEAL_COLUMNS, deal_to_row(after)))
    old = dict(zip(DEAL_COLUMNS, deal_to_row(before))) if before else {}
    sets = {f: new[f] for f in SETTABLE_FIELDS
            if (before is None and new[f]) or (before is not None and old[f] != new[f])}
    if before is None or sets.keys() & PLACE:
        # Where a deal is — pipeline, stage, status — is set as one, so two branches that
        # change it differently merge to one consistent place (the later change's).
        sets.update(pipeline=new["pipeline"], stage=new["stage"], status=new["status"])
    had = before.tags if before else ()
    return (sets, tuple(t for t in after.tags if t not in had),
            tuple(t for t in had if t not in after.tags))


def _record(tx: Transaction, before: Deal | None, after: Deal | None, kind: Kind,
            at: datetime, *, note: str = "", deal_id: str | None = None) -> Change:
    """Append the event that turns `before` into `after` and read the deal back as the
    store now derives it."""
    if after is None:
        sets, added, removed = {}, (), ()
    else:
        sets, added, removed = field_sets(before, after)
    deal_id = deal_id or (after or before).id
    event = tx.append(deal_id, kind, at, sets=sets, tags_added=added, tags_removed=removed,
                      note=note)
    return Change(before, tx.get(deal_id), event)


def add(store: Store, pipeline: Pipeline, *, name: str, fields: dict, stage: str | None = None,
        note: str = "", at: datetime | None = None) -> Change:
    """Create a deal, at the first stage unless told otherwise; returns the change."""
    target = find_stage(pipeline, stage) if stage else pipeline.open_stages[0]
    if target.outcome:
        raise RuleViolation(f"a deal cannot be added at closing stage {target.key!r}; add it, "
                            f"then run `pipe {target.outcome}` (with --at to back-date)")
    with store.write() as tx:
        at = _moment(tx, at, None)
        deal = Deal(id=new_id(tx.taken_ids()), pipeline=pipeline.name, name=name,
                    stage=target.key, status=OPEN, created_at=at, updated_at=at, **fields)
        _check_requires(deal, target)
        return _record(tx, None, deal, Kind.CREATED, at, note=note)


def move(store: Store, ws: Workspace, ref: str, *, stage: str | None = None, step: int = 0,
         to_pipeline: str | None = None, note: str = "", at: datetime | None = None) -> Change:
    """Move a deal to a stage, or step it forward/back through the open stages; with
    to_pipeline, over to another pipeline of the file. Entering a stage that declares a
    hand-off carries the deal on to the other pipeline at once."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if to_pipeline is not None and ws.pipeline(to_pipeline).name != deal.pipeline:
            return _transfer(tx, deal, ws.pipeline_of(deal), ws.pipeline(to_pipeline), stage,
                             Kind.MOVED, _moment(tx, at, deal), note)
        if stage is not None:
            target = find_stage(pipeline, stage)
        else:
            target = _step(pipeline, deal, step)
        if target.key == deal.stage:
            return Change(deal, deal, None)
        if deal.status == WON and target.outcome == WON:
            pass  # on to a post-purchase stage: the deal stays won
        elif deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is {deal.status}; run `pipe reopen {deal.id}` "
                                f"before moving it")
        elif target.outcome == LOST:
            raise RuleViolation(f"to close deal {deal.id} as lost, run `pipe lost {deal.id} "
                                f"--reason ...`")
        elif target.outcome == WON:
            return _close_won(tx, deal, target, None, note, _moment(tx, at, deal))
        at = _moment(tx, at, deal)
        after = deal.with_changes(stage=target.key, updated_at=at)
        _check_requires(after, target)
        change = _record(tx, deal, after, Kind.MOVED, at, note=note)
        if target.handoff:
            name, stage_key = target.handoff
            handed = _transfer(tx, change.after, pipeline, ws.pipeline(name), stage_key,
                               Kind.HANDED_OFF, at, f"hand-off from {pipeline.name}:{target.key}")
            return Change(deal, handed.after, handed.event)
        return change


def _transfer(tx: Transaction, deal: Deal, source: Pipeline | None, target: Pipeline,
              stage: str | None, kind: Kind, at: datetime, note: str) -> Change:
    """Carry an open deal over to another pipeline (its history goes with it)."""
    if deal.status != OPEN:
        raise RuleViolation(f"deal {deal.id} is {deal.status}; only open deals change pipeline")
    into = find_stage(target, stage) if stage else target.open_stages[0]
    if into.outcome:
        raise RuleViolation(f"a deal changes pipeline into an open stage, not {into.key!r}")
    # The amounts keep their currency: a deal in its pipeline's currency takes it along
    # as its own when the new pipeline counts in another (and drops it on coming home).
    currency = deal.currency or (source.currency if source else "")
    after = deal.with_changes(pipeline=target.name, stage=into.key, updated_at=at,
                              currency="" if currency == target.currency else currency)
    _check_requires(after, into)
    return _record(tx, deal, after, kind, at, note=note)


def return_deal(store: Store, ws: Workspace, ref: str, *, reason: str = "",
                stage: str | None = None, note: str = "", at: datetime | None = None
                ) -> Change:
    """Send a handed-off deal back to the pipeline it came from (marketing), at that
    pipeline's first stage unless told otherwise; the hand-off is not triggered again."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        arrival = tx.conn.execute(
            "SELECT from_pipeline, kind FROM versions WHERE deal_id = ? AND from_pipeline IS "
            "NOT NULL AND from_pipeline != pipeline ORDER BY valid_from DESC LIMIT 1",
            (deal.id,)).fetchone()
        if arrival is None or arrival[1] == Kind.RETURNED:
            where = "was returned here already" if arrival else \
                f"has always been in pipeline {deal.pipeline!r}"
            raise RuleViolation(f"deal {deal.id} {where}; there is nowhere to return it to")
        text = "; ".join(x for x in (reason and f"returned: {reason}", note) if x)
        return _transfer(tx, deal, ws.pipeline_of(deal), ws.pipeline(arrival[0]), stage,
                         Kind.RETURNED, _moment(tx, at, deal), text)


def _step(pipeline: Pipeline, deal: Deal, step: int) -> Stage:
    if step not in (1, -1):
        raise UsageError("give a STAGE, or --next or --back")
    opens = pipeline.open_stages
    keys = [s.key for s in opens]
    if deal.stage not in keys:
        raise RuleViolation(f"deal {deal.id} is {deal.status} (stage {deal.stage!r}); --next "
                            f"and --back step through open stages only")
    i = keys.index(deal.stage) + step
    if i >= len(opens):
        raise RuleViolation(f"deal {deal.id} is at the last open stage {deal.stage!r}; close it "
                            f"with `pipe won` or `pipe lost`")
    if i < 0:
        raise RuleViolation(f"deal {deal.id} is already at the first stage {deal.stage!r}")
    return opens[i]


def _close_won(tx: Transaction, deal: Deal, target: Stage, value: Decimal | None, note: str,
               at: datetime) -> Change:
    after = deal.with_changes(stage=target.key, status=WON, closed_at=at, updated_at=at,
                              value=deal.value if value is None else value)
    return _record(tx, deal, after, Kind.WON, at, note=note)


def win(store: Store, ws: Workspace, ref: str, *, value: Decimal | None = None, note: str = "",
        at: datetime | None = None) -> Change:
    """Close a deal as won (at the pipeline's first won stage), optionally at a final value."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == LOST
                                   else ""))
        if value is not None:
            _check_places(value, deal, pipeline)
        return _close_won(tx, deal, pipeline.won_stage, value, note, _moment(tx, at, deal))


def lose(store: Store, ws: Workspace, ref: str, *, reason: str, note: str = "",
         at: datetime | None = None) -> Change:
    """Close a deal as lost, with a reason (one of lost_reasons when the pipeline lists them)."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == WON
                                   else ""))
        reason = _known_reason(pipeline, reason)
        at = _moment(tx, at, deal)
        after = deal.with_changes(stage=pipeline.lost_stage.key, status=LOST, closed_at=at,
                                  updated_at=at, lost_reason=reason)
        return _record(tx, deal, after, Kind.LOST, at, note=note)


def _check_places(value: Decimal, deal: Deal, pipeline: Pipeline, *, what: str = "") -> None:
    """Refuse a value with more decimals than the deal's currency has (cents for USD)."""
    try:
        money.check_places(value, deal.currency or pipeline.currency,
                           what=what or f"--value {value}")
    except ValueError as e:
        raise UsageError(str(e)) from None


def _known_reason(pipeline: Pipeline, reason: str) -> str:
    if not reason:
        raise UsageError("give the reason the deal was lost with --reason")
    if not pipeline.lost_reasons:
        return reason
    for known in pipeline.lost_reasons:
        if known.lower() == reason.lower():
            return known
    listed = "; ".join(pipeline.lost_reasons)
    raise RuleViolation(f"{reason!r} is not a lost reason of pipeline {pipeline.name!r} "
                        f"(reasons: {listed})")


def reopen(store: Store, ws: Workspace, ref: str, *, stage: str | None = None,
           note: str = "", at: datetime | None = None) -> Change:
    """Reopen a won or lost deal, at the open stage it was in before it closed by default."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if deal.status == OPEN:
            raise RuleViolation(f"deal {deal.id} is already open (stage {deal.stage!r})")
        if stage is not None:
            target = find_stage(pipeline, stage)
            if target.outcome:
                raise RuleViolation(f"reopen to an open stage, not {target.key!r}")
        else:
            target = last_open_stage(tx, pipeline, deal)
        at = _moment(tx, at, deal)
        after = deal.with_changes(stage=target.key, status=OPEN, closed_at=None,
                                  lost_reason="", updated_at=at)
        _check_requires(after, target)
        return _record(tx, deal, after, Kind.REOPENED, at, note=note)


def last_open_stage(tx: Snapshot, pipeline: Pipeline, deal: Deal) -> Stage:
    """The open stage a closed deal was in last (where reopening puts it back)."""
    open_keys = {s.key for s in pipeline.open_stages}
    last = None
    for (stage,) in tx.conn.execute("SELECT stage FROM versions WHERE deal_id = ? AND "
                                    "pipeline = ? ORDER BY valid_from", (deal.id, pipeline.name)):
        if stage in open_keys:
            last = stage
    return pipeline.stage(last) if last else pipeline.open_stages[0]


def edit(store: Store, ws: Workspace, ref: str, *, fields: dict, add_tags=(), remove_tags=(),
         note: str = "", at: datetime | None = None) -> Change:
    """Change a deal's fields; the event sets only the fields that change."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        fields = dict(fields)
        if fields.get("currency") == pipeline.currency:
            fields["currency"] = ""  # the pipeline's own currency is kept implicitly
        if fields.get("value") is not None or "currency" in fields:
            changed = deal.with_changes(**{k: v for k, v in fields.items() if k != "tags"})
            if changed.value is not None:
                _check_places(changed.value, changed, pipeline,
                              what=f"--value {changed.value}" if "value" in fields else
                              f"the deal's value {changed.value}")
        tags = list(fields.pop("tags", deal.tags))
        tags += [t for t in add_tags if t not in tags]
        tags = [t for t in tags if t not in set(remove_tags)]
        after = deal.with_changes(**fields, tags=tuple(tags))
        sets, added, removed = field_sets(deal, after)
        if not (sets or added or removed) and not note:
            return Change(deal, deal, None)
        stage = pipeline.stage(deal.stage)
        if stage is not None and deal.status == OPEN:
            _check_requires(after, stage)
        return _record(tx, deal, after, Kind.EDITED, _moment(tx, at, deal), note=note)


def remove(store: Store, ws: Workspace, ref: str, *, note: str = "",
           at: datetime | None = None) -> Change:
    """Delete a deal from the current deals; its history stays (undo brings it back)."""
    with store.write() as tx:
        deal = resolve(tx, ref)
        return _record(tx, deal, None, Kind.DELETED, _moment(tx, at, deal), note=note)


def history(store: Store, ref: str) -> tuple[Deal, list[Event], set[str]]:
    """A deal, its events in the order they take effect, and the ids of those in effect."""
    from pipecli.engine.fold import effect_order

    with store.read() as snap:
        deal = resolve(snap, ref)
        events = sorted(snap.events(deal.id), key=effect_order)
        return deal, events, {e.id for e in events if snap.in_effect(e.id)}


class Entry(NamedTuple):
    """One event of `pipe log`, with what it needs to be shown."""

    event: Event
    name: str  # the deal's name (its last, for a deleted deal)
    in_effect: bool
    currency: str  # the deal's own currency at the event ("" = its pipeline's)
    pipeline: str  # the deal's pipeline at the event


def recent(store: Store, count: int, ref: str | None = None) -> list[Entry]:
    """The latest events in recording order (newest first), each with the deal's name,
    whether it is in effect, and the deal's currency and pipeline as they were then; of
    one deal when ref is given. Read by index: the cost does not grow with the history."""
    with store.read() as snap:
        if ref is not None:
            deal_id = _any_deal_id(snap, ref)
            chosen = snap.recent(count, "WHERE deal = ?", (deal_id,))
        else:
            chosen = snap.recent(count)
        names: dict[str, str] = {}
        entries = []
        for e in chosen:
            if e.deal_id not in names:
                names[e.deal_id] = _name_of(snap, e.deal_id)
            then = snap.conn.execute(
                "SELECT currency, pipeline FROM versions WHERE deal_id = ? AND valid_from <= ? "
                "ORDER BY valid_from DESC LIMIT 1", (e.deal_id, int(e.at.timestamp()))
            ).fetchone() or ("", e.sets.get("pipeline", ""))
            entries.append(Entry(e, names[e.deal_id], snap.in_effect(e.id), *then))
        return entries


def _any_deal_id(snap: Snapshot, ref: str) -> str:
    """A current deal's id, or — for the history of a deleted deal — an id (or unique id
    prefix) that the events know."""
    try:
        return resolve(snap, ref).id
    except NotFound:
        needle = ref.strip().lower()
        if not (needle.isalnum() and needle.isascii()):
            raise
        ids = [row[0] for row in snap.conn.execute(
            "SELECT DISTINCT deal FROM events WHERE deal >= ? AND deal < ? LIMIT 11",
            (needle, needle + "\x7f"))]
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise Ambiguous(f"{ref!r} matches {len(ids)} deals in the history: "
                            f"{', '.join(ids[:MAX_CANDIDATES])}; give more of the id") from None
        raise


def _name_of(snap: Snapshot, deal_id: str) -> str:
    """A deal's name, or the last it had (a deleted deal)."""
    current = snap.get(deal_id)
    if current:
        return current.name
    row = snap.conn.execute("SELECT name FROM versions WHERE deal_id = ? ORDER BY valid_from "
                            "DESC LIMIT 1", (deal_id,)).fetchone()
    return row[0] if row else ""


@dataclass(frozen=True)
class Revert:
    """One undo or redo: its target (for a redo, the undo it takes back), the change that
    left or re-entered the history, the new event, and the deal before and after."""

    target: Event
    event: Event
    before: Deal | None
    after: Deal | None
    change: Event | None = None

    @property
    def deal_id(self) -> str:
        return self.target.deal_id


def undo(store: Store, ws: Workspace, *, steps: int = 1, redo: bool = False) -> list[Revert]:
    """Take back the latest `steps` changes in recording order (or, with redo, the latest
    undos). Each is an event naming its target, which leaves the effective history — for
    every figure — until a redo (the undo of that undo) puts it back."""
    done = []
    with store.write() as tx:
        for _ in range(steps):
            if redo:
                target = next(iter(tx.recent(1, "WHERE in_effect = 1 AND kind = 'undone'")),
                              None)
            else:
                target = next(iter(tx.recent(1, "WHERE in_effect = 1 AND kind != 'undone'")),
                              None)
            if target is None:
                break
            if redo:
                _check_redo(tx, target)
            before = tx.get(target.deal_id)
            event = tx.append(target.deal_id, Kind.REDONE if redo else Kind.UNDONE,
                              _moment(tx, None, None), target=target.id)
            change = tx.event(target.target) if target.kind == Kind.UNDONE else target
            done.append(Revert(target, event, before, tx.get(target.deal_id), change))
    return done


def _check_redo(tx: Transaction, undo_event: Event) -> None:
    """A redo puts back exactly what was undone, or nothing: a later change of the deal
    would be silently reordered around it."""
    newer = next(iter(tx.recent(1, "WHERE deal = ? AND in_effect = 1 AND kind NOT IN "
                                   "('undone', 'redone') AND (recorded > ? OR (recorded = ? "
                                   "AND id > ?))",
                                (undo_event.deal_id, undo_event.recorded, undo_event.recorded,
                                 undo_event.id))), None)
    if newer is not None:
        raise RuleViolation(f"deal {undo_event.deal_id} was changed after the undo ({newer.kind} "
                            f"at {format_time(newer.at)}); redo would not put back exactly what "
                            f"was undone — undo that change first, or make the change again")
