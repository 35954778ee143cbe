"""The fold rule (engine/fold.py) on hand-made events: which events count, in which order,
and what they imply — including histories only a merge (or a forged log) can produce."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipecli.engine.fold import fold, in_effect
from pipecli.models import Event, Kind

T0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
PLACE = ("pipeline", "stage", "status")


def ev(n: int, kind: Kind, *, day: float = 0, prev: str = "", target: str = "", **sets
       ) -> Event:
    recorded = (T0 + timedelta(microseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Event(id=f"e{n:011d}", deal_id="d0000001", at=T0 + timedelta(days=day),
                 kind=kind, recorded=recorded, sets=sets, prev=prev, target=target)


def created(n=1, **more):
    return ev(n, Kind.CREATED, pipeline="sales", stage="lead", status="open", name="Acme",
              value="100", **more)


def test_undo_redo_chains_decide_what_counts():
    c = created()
    won = ev(2, Kind.WON, day=1, prev=c.id, pipeline="sales", stage="won", status="won")
    undo = ev(3, Kind.UNDONE, day=2, target=won.id)
    redo = ev(4, Kind.REDONE, day=3, target=undo.id)
    undo_redo = ev(5, Kind.UNDONE, day=4, target=redo.id)
    assert in_effect([c, won, undo]) == {c.id, undo.id}
    assert in_effect([c, won, undo, redo]) == {c.id, won.id, redo.id}
    assert in_effect([c, won, undo, redo, undo_redo]) == {c.id, undo.id, undo_redo.id}
    # The undone win was never a win: no version of the deal is won.
    folded = fold([c, won, undo])
    assert folded.deal.status == "open" and [v.deal.status for v in folded.versions] == ["open"]
    assert " sales/won " not in folded.versions[-1].visited


def test_a_cycle_of_reverts_counts_for_nothing():
    c = created()
    a = ev(2, Kind.UNDONE, target="e00000000003")
    b = ev(3, Kind.UNDONE, target=a.id)
    forged = Event(**{**a.__dict__, "target": b.id})
    assert in_effect([c, forged, b]) == {c.id}


def test_events_apply_in_effective_time_then_recording_order():
    c = created()
    late = ev(2, Kind.EDITED, day=5, prev=c.id, value="300")
    early = ev(3, Kind.EDITED, day=2, prev=c.id, value="200")  # recorded later, effective earlier
    same_a = ev(4, Kind.EDITED, day=7, prev=late.id, owner="ann")
    same_b = ev(5, Kind.EDITED, day=7, prev=late.id, owner="bob")
    folded = fold([same_b, late, c, same_a, early])
    assert [str(v.deal.value) for v in folded.versions] == ["100", "200", "300", "300", "300"]
    assert folded.deal.owner == "bob"  # same moment: the later recorded one counts


def test_won_on_one_branch_moved_on_the_other_gives_one_consistent_place():
    c = created()
    won = ev(2, Kind.WON, day=3, prev=c.id, pipeline="sales", stage="won", status="won")
    moved = ev(3, Kind.MOVED, day=4, prev=c.id, pipeline="sales", stage="demo",
               status="open")
    assert [getattr(fold([c, won, moved]).deal, f) for f in PLACE] == ["sales", "demo", "open"]
    assert fold([c, won, moved]).deal.closed_at is None
    earlier_move = ev(3, Kind.MOVED, day=2, prev=c.id, pipeline="sales", stage="demo",
                      status="open")
    deal = fold([c, won, earlier_move]).deal
    assert [getattr(deal, f) for f in PLACE] == ["sales", "won", "won"]
    assert deal.closed_at == T0 + timedelta(days=3)


def test_events_outside_a_deals_life_are_ignored_and_named():
    before = ev(1, Kind.MOVED, day=-1, pipeline="sales", stage="demo", status="open")
    c = created(2)
    gone = ev(3, Kind.DELETED, day=1, prev=c.id)
    after = ev(4, Kind.EDITED, day=2, prev=gone.id, value="5")
    again = created(5)
    folded = fold([before, c, gone, after, again])
    assert folded.deal is None
    assert {e.id for e, _ in folded.ignored} == {before.id, after.id, again.id}
    assert len(folded.versions) == 1 and folded.ends == [T0 + timedelta(days=1)]


def test_stays_and_versions_follow_the_place():
    c = created()
    demo = ev(2, Kind.MOVED, day=2, prev=c.id, pipeline="sales", stage="demo", status="open")
    note = ev(3, Kind.EDITED, day=3, prev=demo.id, value="150")
    back = ev(4, Kind.MOVED, day=5, prev=note.id, pipeline="sales", stage="lead",
              status="open")
    folded = fold([c, demo, note, back])
    assert [(s.stage, s.start, s.end) for s in folded.stays] == [
        ("lead", T0, T0 + timedelta(days=2)),
        ("demo", T0 + timedelta(days=2), T0 + timedelta(days=5)),
        ("lead", T0 + timedelta(days=5), None)]
    assert [v.stay_start for v in folded.versions] == [
        T0, T0 + timedelta(days=2), T0 + timedelta(days=2), T0 + timedelta(days=5)]
    assert folded.versions[-1].visited == " sales/demo sales/lead "


def test_check_names_an_event_of_a_deal_that_was_never_created(run, workspace):
    """A log line for a deal with no `created` (a forged or half-merged log) is ignored by
    every figure and named by `pipe check`, even when it is the deal's only event."""
    from pipecli.store import open_store
    from pipecli.pipeline import load_workspace

    run("add", "Real deal", "--value", "10")
    store = open_store(load_workspace(workspace / "pipeline.yaml").store_path)
    orphan = ev(9, Kind.MOVED, pipeline="sales", stage="proposal", status="open")
    with store.write() as tx:
        tx.land([orphan])
    result = run("check")
    assert result.code == 1
    assert f"event {orphan.id} (moved) comes before the deal's creation; it is ignored" \
        in result.out
    assert [d["name"] for d in run("list", "-o", "json").json()] == ["Real deal"]
