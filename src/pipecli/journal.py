"""The history as people read it and take it back: a deal's events (`pipe show`), the
latest changes (`pipe log`), undo and redo.

Undo goes by command: every event a command recorded shares its batch (the command's first
event), so one undo takes back a bulk change, a move and the hand-off it set off, or a whole
import; one redo puts back what one undo took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pipecli.errors import Ambiguous, NotFound, RuleViolation
from pipecli.models import Deal, Event, Kind, Workspace
from pipecli.ops import MAX_CANDIDATES, resolve
from pipecli.store import Snapshot, Store, Transaction
from pipecli.values import format_time, now


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
    step_before: str = ""  # for a `done`: the next step it completed


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
            step = _step_before(snap, e) if e.kind == Kind.DONE else ""
            entries.append(Entry(e, names[e.deal_id], snap.in_effect(e.id), *then, step))
        return entries


def _step_before(snap: Snapshot, event: Event) -> str:
    """The next step the deal had just before an event (what a `done` completed): the
    deal's effective events replayed in effect order up to it."""
    from pipecli.engine.fold import effect_order

    step = ""
    events = sorted((e for e in snap.events(event.deal_id)
                     if not e.kind.is_revert and (e.id == event.id or snap.in_effect(e.id))),
                    key=effect_order)
    for e in events:
        if e.id == event.id:
            return step
        step = e.sets.get("next_step", step)
    return step


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
    """One event an undo or redo took back or put back: its target (for a redo, the undo
    it takes back), the change that left or re-entered the history, the new event, and
    the deal after (None when it is gone)."""

    target: Event
    event: Event
    after: Deal | None
    change: Event | None = None
    name: str = ""  # the deal's name (its last, when it is gone)

    @property
    def deal_id(self) -> str:
        return self.target.deal_id


def undo(store: Store, ws: Workspace, *, steps: int = 1, redo: bool = False) -> list[Revert]:
    """Take back the latest `steps` commands in recording order — every event each
    recorded — or, with redo, what the latest undos took back. Each is an event naming its
    target, which leaves the effective history — for every figure — until a redo (the undo
    of that undo) puts it back."""
    done: list[Revert] = []
    with store.write() as tx:
        for _ in range(steps):
            kinds = "kind = 'undone'" if redo else "kind != 'undone'"
            latest = next(iter(tx.recent(1, f"WHERE in_effect = 1 AND {kinds}")), None)
            if latest is None:
                break
            group = latest.group
            targets = tx.recent(None, f"WHERE in_effect = 1 AND {kinds} AND (id = ? OR "
                                    f"batch = ?)", (group, group))
            if redo:
                for target in targets:
                    _check_redo(tx, target)
            names = {t.deal_id: _name_of(tx, t.deal_id) for t in targets}  # before: it may go
            events = tx.revert_all(Kind.REDONE if redo else Kind.UNDONE, targets, now())
            for target, event in zip(targets, events):
                change = tx.event(target.target) if target.kind == Kind.UNDONE else target
                after = tx.get(target.deal_id)
                # a deal whose creation is put back had no name before: it has one now
                name = names[target.deal_id] or (after.name if after else "")
                done.append(Revert(target, event, after, change, name))
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
