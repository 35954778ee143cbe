"""The deal lifecycle: add, move, win, lose, reopen, edit, remove.

Each operation is one store transaction: it resolves the deal, checks the rules of its
pipeline, and records one history event with the deal's new state. A rule that fails
raises before anything is written, so a failed command leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pipecli.errors import Ambiguous, NotFound, RuleViolation, UsageError
from pipecli.models import LOST, OPEN, WON, Deal, Event, Pipeline, Stage, Workspace
from pipecli.store import Snapshot, Store, Transaction
from pipecli.store.codec import deal_snapshot, deal_to_row
from pipecli.store.codec import DEAL_COLUMNS
from pipecli.values import check_places, format_time, new_id, now

MAX_CANDIDATES = 10


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
    """The one deal a reference means: its id, a unique id prefix, or its exact name."""
    found = snapshot.lookup(ref)
    if not found:
        raise NotFound(f"no deal matches {ref!r} (give an id, an id prefix, or the exact name)")
    if len(found) > 1:
        shown = ", ".join(f"{d.id} {d.name!r}" for d in found[:MAX_CANDIDATES])
        more = f" and {len(found) - MAX_CANDIDATES} more" if len(found) > MAX_CANDIDATES else ""
        raise Ambiguous(f"{ref!r} matches {len(found)} deals: {shown}{more}; give more of the id")
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


def _check_time(at: datetime, last: Event | None) -> None:
    if at > now():
        raise UsageError(f"--at {format_time(at)} is in the future")
    if last is not None and at < last.at:
        raise UsageError(f"--at {format_time(at)} is before the deal's last change "
                         f"({format_time(last.at)}); history must stay in order")


def _check_requires(deal: Deal, stage: Stage) -> None:
    missing = [f for f in stage.requires if not deal.is_set(f)]
    if missing:
        flags = " ".join(f"--{f.replace('_', '-')}" for f in missing)
        raise RuleViolation(f"stage {stage.key!r} requires {', '.join(missing)}; set "
                            f"{'it' if len(missing) == 1 else 'them'} first with "
                            f"`pipe edit {deal.id} {flags} ...`")


def _record(tx: Transaction, before: Deal | None, after: Deal | None, kind: str, at: datetime,
            *, reason: str = "", note: str = "", changes: dict | None = None) -> Change:
    state = after or before
    last = tx.last_event(state.id)
    event = Event(deal_id=state.id, seq=(last.seq + 1) if last else 1, at=at, kind=kind,
                  pipeline=state.pipeline, stage=state.stage, status=state.status,
                  value=state.value, reason=reason, changes=changes or {}, note=note)
    tx.record(event, after)
    return Change(before, after, event)


def _diff(before: Deal, after: Deal) -> dict:
    old, new = deal_to_row(before), deal_to_row(after)
    skip = {"updated_at"}
    return {c: [o, n] for c, o, n in zip(DEAL_COLUMNS, old, new) if o != n and c not in skip}


def add(store: Store, pipeline: Pipeline, *, name: str, fields: dict, stage: str | None = None,
        note: str = "", at: datetime | None = None) -> Change:
    """Create a deal, at the first stage unless told otherwise; returns the change."""
    at = at or now()
    _check_time(at, None)
    target = find_stage(pipeline, stage) if stage else pipeline.open_stages[0]
    if target.outcome:
        raise RuleViolation(f"a deal cannot be added at closing stage {target.key!r}; add it, "
                            f"then run `pipe {target.outcome}` (with --at to back-date)")
    with store.write() as tx:
        deal = Deal(id=new_id(tx.taken_ids()), pipeline=pipeline.name, name=name,
                    stage=target.key, status=OPEN, created_at=at, updated_at=at, **fields)
        _check_requires(deal, target)
        return _record(tx, None, deal, "created", at, note=note, changes=deal_snapshot(deal))


def move(store: Store, ws: Workspace, ref: str, *, stage: str | None = None, step: int = 0,
         to_pipeline: str | None = None, note: str = "", at: datetime | None = None) -> Change:
    """Move a deal to a stage, or step it forward/back through the open stages; with
    to_pipeline, over to another pipeline of the file. Entering a stage that declares a
    hand-off carries the deal on to the other pipeline at once."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if to_pipeline is not None and ws.pipeline(to_pipeline).name != deal.pipeline:
            _check_time(at, tx.last_event(deal.id))
            return _transfer(tx, deal, ws.pipeline(to_pipeline), stage, "moved", at, note)
        current = pipeline.stage(deal.stage)
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
            return _close_won(tx, deal, target, None, note, at)
        _check_time(at, tx.last_event(deal.id))
        after = deal.with_changes(stage=target.key, updated_at=at)
        _check_requires(after, target)
        changes = {"stage": [current.key if current else deal.stage, target.key]}
        change = _record(tx, deal, after, "moved", at, note=note, changes=changes)
        if target.handoff:
            name, stage_key = target.handoff
            handed = _transfer(tx, after, ws.pipeline(name), stage_key, "handed_off", at,
                               f"hand-off from {pipeline.name}:{target.key}")
            return Change(deal, handed.after, handed.event)
        return change


def _transfer(tx: Transaction, deal: Deal, target: Pipeline, stage: str | None, kind: str,
              at: datetime, note: str, reason: str = "") -> Change:
    """Carry an open deal over to another pipeline (its history goes with it)."""
    if deal.status != OPEN:
        raise RuleViolation(f"deal {deal.id} is {deal.status}; only open deals change pipeline")
    into = find_stage(target, stage) if stage else target.open_stages[0]
    if into.outcome:
        raise RuleViolation(f"a deal changes pipeline into an open stage, not {into.key!r}")
    after = deal.with_changes(pipeline=target.name, stage=into.key, updated_at=at)
    _check_requires(after, into)
    changes = {"pipeline": [deal.pipeline, target.name], "stage": [deal.stage, into.key]}
    return _record(tx, deal, after, kind, at, note=note, reason=reason, changes=changes)


def return_deal(store: Store, ws: Workspace, ref: str, *, reason: str = "",
                stage: str | None = None, note: str = "", at: datetime | None = None
                ) -> Change:
    """Send a handed-off deal back to the pipeline it came from (marketing), at that
    pipeline's first stage unless told otherwise; the hand-off is not triggered again."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        arrival = None  # the last event that brought the deal into another pipeline
        for event in tx.events(deal.id):
            moved = event.changes.get("pipeline")
            if isinstance(moved, list) and len(moved) == 2 and moved[0] != moved[1]:
                arrival = event
        if arrival is None or arrival.kind == "returned":
            where = "was returned here already" if arrival else \
                f"has always been in pipeline {deal.pipeline!r}"
            raise RuleViolation(f"deal {deal.id} {where}; there is nowhere to return it to")
        came_from = arrival.changes["pipeline"][0]
        _check_time(at, tx.last_event(deal.id))
        return _transfer(tx, deal, ws.pipeline(came_from), stage, "returned", at, note,
                         reason=reason)


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
    _check_time(at, tx.last_event(deal.id))
    after = deal.with_changes(stage=target.key, status=WON, closed_at=at, updated_at=at,
                              value=deal.value if value is None else value)
    return _record(tx, deal, after, "won", at, note=note, changes=_diff(deal, after))


def win(store: Store, ws: Workspace, ref: str, *, value: Decimal | None = None, note: str = "",
        at: datetime | None = None) -> Change:
    """Close a deal as won (at the pipeline's first won stage), optionally at a final value."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == LOST
                                   else ""))
        if value is not None:
            check_places(value, pipeline.currency, what="--value")
        return _close_won(tx, deal, pipeline.won_stage, value, note, at)


def lose(store: Store, ws: Workspace, ref: str, *, reason: str, note: str = "",
         at: datetime | None = None) -> Change:
    """Close a deal as lost, with a reason (one of lost_reasons when the pipeline lists them)."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == WON
                                   else ""))
        reason = _known_reason(pipeline, reason)
        _check_time(at, tx.last_event(deal.id))
        after = deal.with_changes(stage=pipeline.lost_stage.key, status=LOST, closed_at=at,
                                  updated_at=at, lost_reason=reason)
        return _record(tx, deal, after, "lost", at, reason=reason, note=note,
                       changes=_diff(deal, after))


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
    at = at or now()
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
            target = _last_open_stage(tx, pipeline, deal)
        _check_time(at, tx.last_event(deal.id))
        after = deal.with_changes(stage=target.key, status=OPEN, closed_at=None,
                                  lost_reason="", updated_at=at)
        _check_requires(after, target)
        return _record(tx, deal, after, "reopened", at, note=note, changes=_diff(deal, after))


def _last_open_stage(tx: Transaction, pipeline: Pipeline, deal: Deal) -> Stage:
    open_keys = {s.key for s in pipeline.open_stages}
    last = None
    for event in tx.events(deal.id):
        if event.stage in open_keys:
            last = event.stage
    return pipeline.stage(last) if last else pipeline.open_stages[0]


def edit(store: Store, ws: Workspace, ref: str, *, fields: dict, add_tags=(), remove_tags=(),
         note: str = "", at: datetime | None = None) -> Change:
    """Change a deal's fields; records which fields changed, old and new."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        pipeline = _pipeline_of(ws, deal)
        if fields.get("value") is not None:
            check_places(fields["value"], pipeline.currency, what="--value")
        tags = list(fields.pop("tags", deal.tags))
        tags += [t for t in add_tags if t not in tags]
        tags = [t for t in tags if t not in set(remove_tags)]
        after = deal.with_changes(**fields, tags=tuple(tags))
        changes = _diff(deal, after)
        if not changes and not note:
            return Change(deal, deal, None)
        _check_time(at, tx.last_event(deal.id))
        stage = pipeline.stage(deal.stage)
        if stage is not None and deal.status == OPEN:
            _check_requires(after, stage)
        after = after.with_changes(updated_at=at)
        return _record(tx, deal, after, "edited", at, note=note, changes=changes)


def remove(store: Store, ws: Workspace, ref: str, *, note: str = "",
           at: datetime | None = None) -> Change:
    """Delete a deal from the current deals; its history keeps a snapshot of it."""
    at = at or now()
    with store.write() as tx:
        deal = resolve(tx, ref)
        _check_time(at, tx.last_event(deal.id))
        return _record(tx, deal, None, "deleted", at, note=note, changes=deal_snapshot(deal))


def history(store: Store, ref: str) -> tuple[Deal, list[Event]]:
    """A deal and its events, oldest first."""
    with store.read() as snap:
        deal = resolve(snap, ref)
        return deal, list(snap.events(deal.id))


def recent(store: Store, count: int, ref: str | None = None) -> list[tuple[Event, str]]:
    """The latest events (newest first) with the deal's name; of one deal when ref is given."""
    with store.read() as snap:
        if ref is not None:
            deal = resolve(snap, ref)
            events = list(snap.events(deal.id))
        else:
            events = list(snap.events())
        events.sort(key=lambda e: (e.at, e.deal_id, e.seq), reverse=True)
        chosen = events[:count]
        names = {}
        for e in chosen:
            if e.deal_id not in names:
                current = snap.get(e.deal_id)
                names[e.deal_id] = current.name if current else e.changes.get("name", "")
        return [(e, names[e.deal_id]) for e in chosen]


def _undo_stack(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """(changes that can be undone, undos that can be redone), newest first.

    An undo is an event whose reason is `undo:SEQ` (it reverted that event of the same
    deal), a redo one with `redo:SEQ` (it reverted that undo). Walking from the newest, a
    marker that is still in effect cancels its target; a cancelled marker cancels nothing.
    So undoing a redo makes its undo count again."""
    order = sorted(events, key=lambda e: (e.at, e.deal_id, e.seq), reverse=True)
    cancelled: set = set()
    for e in order:
        kind, _, target = e.reason.partition(":")
        in_effect = (e.deal_id, e.seq) not in cancelled
        if kind in ("undo", "redo") and target.isdigit() and in_effect:
            cancelled.add((e.deal_id, int(target)))
    live = [e for e in order if (e.deal_id, e.seq) not in cancelled]
    undos = [e for e in live if e.reason.startswith("undo:")]
    return [e for e in live if not e.reason.startswith("undo:")], undos


def undo(store: Store, ws: Workspace, *, steps: int = 1, redo: bool = False,
         at: datetime | None = None) -> list[Change]:
    """Revert the latest `steps` changes, newest first (or, with redo, the latest undos).
    Each revert is itself an event — `undone`, or `deleted` when it reverts a creation —
    that says what it reverted, so nothing is ever lost."""
    at = at or now()
    done = []
    with store.write() as tx:
        for _ in range(steps):
            events = list(tx.events())
            changes, undos = _undo_stack(events)
            pool = undos if redo else changes
            if not pool:
                break
            target = pool[0]
            history = [e for e in events if e.deal_id == target.deal_id]
            done.append(_revert(tx, target, history, "redo" if redo else "undo",
                                max(at, max(e.at for e in history))))
    return done


def _revert(tx: Transaction, target: Event, history: list[Event], verb: str,
            stamp: datetime) -> Change:
    """Put the deal back as it was just before `target` (every later event of the deal has
    been reverted already)."""
    from pipecli.replay import rebuild

    current = tx.get(target.deal_id)
    before = rebuild([e for e in history if e.seq < target.seq])
    note = f"{verb} of event {target.seq} ({target.kind})"
    reason = f"{verb}:{target.seq}"
    if before is None:  # reverting a creation (or a restore): the deal goes again
        return _record(tx, current, None, "deleted", stamp, note=note, reason=reason,
                       changes=deal_snapshot(current))
    after = before.with_changes(updated_at=stamp)
    changes = _diff(current, after) if current else deal_snapshot(after)
    return _record(tx, current or after, after, "undone", stamp, note=note, reason=reason,
                   changes=changes)
