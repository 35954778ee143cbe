"""The deal lifecycle: add, move, win, lose, reopen, edit, remove.

Each operation is one store transaction: it resolves the deal, checks the rules of its
pipeline, and records one history event with the deal's new state. A rule that fails
raises before anything is written, so a failed command leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

from pipecli import money
from pipecli.errors import Ambiguous, NotFound, RuleViolation, UsageError
from pipecli.models import (LOST, OPEN, SETTABLE_FIELDS, WON, Deal, Due, Event, Kind,
                            Pipeline, Stage, Workspace)
from pipecli.store import Snapshot, Store, Transaction
from pipecli.store.codec import deal_to_row
from pipecli.store.codec import DEAL_COLUMNS
from pipecli.values import format_time, new_id, now

MAX_CANDIDATES = 10
PLACE = {"pipeline", "stage", "status"}
MAX_TAGS = 50  # every value is bounded, so no accepted command can grow a log line unreadable


@dataclass(frozen=True)
class FollowUp:
    """A next step to give a deal: what to do, when it is due, who does it. An empty text
    takes the deal's next step away."""

    text: str
    due: Due | None = None
    owner: str = ""


# Closing a deal takes its next step away: there is nothing left to advance (`pipe edit
# --next` gives a closed deal one, e.g. "call again in spring").
_CLOSED = FollowUp("")


def _follow(deal: Deal, follow: FollowUp | None, entered: Stage | None,
            at: datetime) -> Deal:
    """The deal with its next step as a change leaves it: the one given; else, entering a
    stage with a default step and having none, that default (due counted from `at`)."""
    if follow is not None:
        if not follow.text:
            return deal.with_changes(next_step="", next_due=None, next_owner="")
        return deal.with_changes(next_step=follow.text, next_due=follow.due,
                                 next_owner=follow.owner)
    if entered is not None and entered.default_next_step and not deal.next_step:
        from pipecli import dates

        text, due_word = entered.default_next_step
        day = dates.parse(due_word, at.astimezone()).date()
        return deal.with_changes(next_step=text, next_due=Due(day), next_owner="")
    return deal


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
        note: str = "", at: datetime | None = None, follow: FollowUp | None = None) -> Change:
    """Create a deal, at the first stage unless told otherwise (with its next step, or the
    stage's default one); returns the change."""
    target = find_stage(pipeline, stage) if stage else pipeline.open_stages[0]
    if target.outcome:
        raise RuleViolation(f"a deal cannot be added at closing stage {target.key!r}; add it, "
                            f"then run `pipe {target.outcome}` (with --at to back-date)")
    with store.write() as tx:
        at = _moment(tx, at, None)
        deal = Deal(id=new_id(tx.taken_ids()), pipeline=pipeline.name, name=name,
                    stage=target.key, status=OPEN, created_at=at, updated_at=at, **fields)
        deal = _follow(deal, follow, target, at)
        _check_requires(deal, target)
        return _record(tx, None, deal, Kind.CREATED, at, note=note)


def move(store: Store, ws: Workspace, ref: str, *, stage: str | None = None, step: int = 0,
         to_pipeline: str | None = None, note: str = "", at: datetime | None = None,
         follow: FollowUp | None = None) -> Change:
    """Move a deal to a stage, or step it forward/back through the open stages; with
    to_pipeline, over to another pipeline of the file. Entering a stage that declares a
    hand-off carries the deal on to the other pipeline at once."""
    return apply(store, ws, Selection((ref,)), Move(stage, step, to_pipeline, note, at,
                                                     follow))[0]


@dataclass(frozen=True)
class Move:
    """`pipe move` for one deal, in a transaction (see move)."""

    stage: str | None = None
    step: int = 0
    to_pipeline: str | None = None
    note: str = ""
    at: datetime | None = None
    follow: FollowUp | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        note, stage, follow = self.note, self.stage, self.follow
        pipeline = _pipeline_of(ws, deal)
        if self.to_pipeline is not None and ws.pipeline(self.to_pipeline).name != deal.pipeline:
            return _transfer(tx, deal, ws.pipeline_of(deal), ws.pipeline(self.to_pipeline),
                             stage, Kind.MOVED, _moment(tx, self.at, deal), note, follow)
        target = find_stage(pipeline, stage) if stage is not None else \
            _step(pipeline, deal, self.step)
        if target.key == deal.stage:
            if follow is not None:  # nothing to move, but the next step is still news
                return Edit({}, note=note, at=self.at, follow=follow)(tx, ws, deal)
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
            return _close_won(tx, deal, target, None, note, _moment(tx, self.at, deal), follow)
        at = _moment(tx, self.at, deal)
        after = _follow(deal.with_changes(stage=target.key, updated_at=at), follow, target, at)
        _check_requires(after, target)
        change = _record(tx, deal, after, Kind.MOVED, at, note=note)
        if target.handoff:
            name, stage_key = target.handoff
            handed = _transfer(tx, change.after, pipeline, ws.pipeline(name), stage_key,
                               Kind.HANDED_OFF, at, f"hand-off from {pipeline.name}:{target.key}")
            return Change(deal, handed.after, handed.event)
        return change


def _transfer(tx: Transaction, deal: Deal, source: Pipeline | None, target: Pipeline,
              stage: str | None, kind: Kind, at: datetime, note: str,
              follow: FollowUp | None = None) -> Change:
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
    after = _follow(after, follow, into, at)
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
        raise UsageError("give a STAGE, or --forward or --back")
    opens = pipeline.open_stages
    keys = [s.key for s in opens]
    if deal.stage not in keys:
        raise RuleViolation(f"deal {deal.id} is {deal.status} (stage {deal.stage!r}); "
                            f"--forward and --back step through open stages only")
    i = keys.index(deal.stage) + step
    if i >= len(opens):
        raise RuleViolation(f"deal {deal.id} is at the last open stage {deal.stage!r}; close it "
                            f"with `pipe won` or `pipe lost`")
    if i < 0:
        raise RuleViolation(f"deal {deal.id} is already at the first stage {deal.stage!r}")
    return opens[i]


def _close_won(tx: Transaction, deal: Deal, target: Stage, value: Decimal | None, note: str,
               at: datetime, follow: FollowUp | None = None) -> Change:
    after = deal.with_changes(stage=target.key, status=WON, closed_at=at, updated_at=at,
                              value=deal.value if value is None else value)
    after = _follow(after, follow or _CLOSED, target, at)
    return _record(tx, deal, after, Kind.WON, at, note=note)


def win(store: Store, ws: Workspace, ref: str, *, value: Decimal | None = None, note: str = "",
        at: datetime | None = None) -> Change:
    """Close a deal as won (at the pipeline's first won stage), optionally at a final value."""
    return apply(store, ws, Selection((ref,)), Win(value, note, at))[0]


@dataclass(frozen=True)
class Win:
    """`pipe won` for one deal, in a transaction (see win)."""

    value: Decimal | None = None
    note: str = ""
    at: datetime | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == LOST
                                   else ""))
        if self.value is not None:
            _check_places(self.value, deal, pipeline)
        return _close_won(tx, deal, pipeline.won_stage, self.value, self.note,
                          _moment(tx, self.at, deal))


def lose(store: Store, ws: Workspace, ref: str, *, reason: str, note: str = "",
         at: datetime | None = None) -> Change:
    """Close a deal as lost, with a reason (one of lost_reasons when the pipeline lists them)."""
    return apply(store, ws, Selection((ref,)), Lose(reason, note, at))[0]


@dataclass(frozen=True)
class Lose:
    """`pipe lost` for one deal, in a transaction (see lose)."""

    reason: str
    note: str = ""
    at: datetime | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        pipeline = _pipeline_of(ws, deal)
        if deal.status != OPEN:
            raise RuleViolation(f"deal {deal.id} is already {deal.status}"
                                + (f"; run `pipe reopen {deal.id}` first" if deal.status == WON
                                   else ""))
        reason = _known_reason(pipeline, self.reason)
        at = _moment(tx, self.at, deal)
        after = deal.with_changes(stage=pipeline.lost_stage.key, status=LOST, closed_at=at,
                                  updated_at=at, lost_reason=reason)
        after = _follow(after, _CLOSED, None, at)
        return _record(tx, deal, after, Kind.LOST, at, note=self.note)


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
         note: str = "", at: datetime | None = None, follow: FollowUp | None = None,
         due: Due | None = None) -> Change:
    """Change a deal's fields; the event sets only the fields that change."""
    return apply(store, ws, Selection((ref,)), Edit(fields, tuple(add_tags),
                                                    tuple(remove_tags), note, at, follow,
                                                    due))[0]


@dataclass(frozen=True)
class Edit:
    """`pipe edit` (and `pipe note`) for one deal, in a transaction (see edit). `due` alone
    puts the deal's next step off to another day."""

    fields: dict
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str = ""
    at: datetime | None = None
    follow: FollowUp | None = None
    due: Due | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        pipeline = _pipeline_of(ws, deal)
        fields = dict(self.fields)
        if fields.get("currency") == pipeline.currency:
            fields["currency"] = ""  # the pipeline's own currency is kept implicitly
        if fields.get("value") is not None or "currency" in fields:
            changed = deal.with_changes(**{k: v for k, v in fields.items() if k != "tags"})
            if changed.value is not None:
                _check_places(changed.value, changed, pipeline,
                              what=f"--value {changed.value}" if "value" in fields else
                              f"the deal's value {changed.value}")
        tags = list(fields.pop("tags", deal.tags))
        tags += [t for t in self.add_tags if t not in tags]
        tags = [t for t in tags if t not in set(self.remove_tags)]
        after = _follow(deal.with_changes(**fields, tags=tuple(tags)), self.follow, None,
                        deal.updated_at)
        if self.due is not None:
            if not after.next_step:
                raise UsageError(f"deal {deal.id} has no next step to put off; give one with "
                                 f"--next TEXT")
            after = after.with_changes(next_due=self.due)
        sets, added, removed = field_sets(deal, after)
        if not (sets or added or removed) and not self.note:
            return Change(deal, deal, None)
        stage = pipeline.stage(deal.stage)
        if stage is not None and deal.status == OPEN:
            _check_requires(after, stage)
        return _record(tx, deal, after, Kind.EDITED, _moment(tx, self.at, deal), note=self.note)


def remove(store: Store, ws: Workspace, ref: str, *, note: str = "",
           at: datetime | None = None) -> Change:
    """Delete a deal from the current deals; its history stays (undo brings it back)."""
    return apply(store, ws, Selection((ref,)), Remove(note, at))[0]


@dataclass(frozen=True)
class Remove:
    """`pipe rm` for one deal, in a transaction (see remove)."""

    note: str = ""
    at: datetime | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        return _record(tx, deal, None, Kind.DELETED, _moment(tx, self.at, deal),
                       note=self.note)


@dataclass(frozen=True)
class Done:
    """`pipe done`: the deal's next step was carried out — an activity in its history (the
    outcome as the note), and the next step after it, if given."""

    note: str = ""
    at: datetime | None = None
    follow: FollowUp | None = None

    def __call__(self, tx: Transaction, ws: Workspace, deal: Deal) -> Change:
        if not deal.next_step:
            raise RuleViolation(f"deal {deal.id} has no next step to mark done; give it one "
                                f"with `pipe edit {deal.id} --next TEXT`, or record what "
                                f"happened with `pipe note`")
        at = _moment(tx, self.at, deal)
        after = _follow(deal.with_changes(updated_at=at), self.follow or FollowUp(""), None, at)
        return _record(tx, deal, after, Kind.DONE, at, note=self.note)


def done(store: Store, ws: Workspace, ref: str, *, note: str = "", at: datetime | None = None,
         follow: FollowUp | None = None) -> Change:
    """Mark a deal's next step done (see Done)."""
    return apply(store, ws, Selection((ref,)), Done(note, at, follow))[0]


# -- several deals at once ----------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """The deals a command changes: references (each must name one deal), or a filter set
    (engine.listing's criteria, with `status`). `agreed`: the ids the user was shown and
    agreed to; if the deals chosen under the write lock differ, nothing is changed."""

    refs: tuple[str, ...] = ()
    criteria: dict | None = None
    agreed: tuple[str, ...] | None = None


def chosen(snapshot: Snapshot, ws: Workspace, selection: Selection) -> list[Deal]:
    """The deals a selection means, each once, in the order given (a filter: id order)."""
    if selection.criteria is not None:
        from pipecli.engine.listing import matching

        return matching(snapshot, ws, **selection.criteria)
    deals: dict[str, Deal] = {}
    for ref in selection.refs:
        deal = resolve(snapshot, ref)
        deals.setdefault(deal.id, deal)
    return list(deals.values())


def preview(store: Store, ws: Workspace, selection: Selection) -> list[Deal]:
    """The deals a selection means now (to show and ask before changing them)."""
    with store.read() as snapshot:
        return chosen(snapshot, ws, selection)


def apply(store: Store, ws: Workspace, selection: Selection,
          action: Callable[[Transaction, Workspace, Deal], Change]) -> list[Change]:
    """Do one action to every deal of a selection in one transaction — all or nothing —
    chosen under the write lock. The events are one batch: one undo takes them all back."""
    with store.write() as tx:
        deals = chosen(tx, ws, selection)
        if not deals:  # a filter that matches nothing (refs each name a deal, or raise)
            raise NotFound("no deal matches the filter; nothing was changed")
        if selection.agreed is not None and tuple(d.id for d in deals) != selection.agreed:
            raise RuleViolation("the deals that match changed while you were asked (another "
                                "pipe wrote meanwhile); nothing was changed — run the command "
                                "again")
        changes = []
        for deal in deals:
            current = tx.get(deal.id) or deal  # an earlier action may have changed it
            changes.append(action(tx, ws, current))
        return changes
