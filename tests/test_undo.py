"""pipe undo / redo / log: a wrong move or delete can always be taken back, and every undo
is itself in the history."""

from __future__ import annotations

import pytest

from conftest import add, store_digest


def state(run, deal_id):
    result = run("show", deal_id, "-o", "json")
    return result.json() if result.code == 0 else None


def history(run, deal_id):
    return state(run, deal_id)["history"]


def report(run, *args):
    result = run("report", "-o", "json", *args)
    assert result.code == 0, result.err
    return result.json()


def reached(report_json):
    return {s["key"]: s["reached"] for s in report_json["stages"]}


@pytest.fixture
def same_second(monkeypatch):
    """Every change is recorded at one and the same clock reading (the store still orders
    them, a microsecond apart): the harshest case of changes made in the same second."""
    from pipecli.store import base
    from pipecli.values import parse_stored_time, recorded_stamp

    frozen = parse_stored_time("2026-11-20T10:00:00+00:00")
    monkeypatch.setattr(base, "recorded_stamp", lambda moment=None: recorded_stamp(
        moment or frozen))


def test_undo_walks_back_and_redo_forward(run, workspace):
    deal_id = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    run("won", deal_id, "--value", "120", "--at", "2026-11-03")
    created, moved, won = (e["id"] for e in history(run, deal_id))
    assert run("undo").out == f"Undid won event {won} of {deal_id} “Acme”.\n"
    d = state(run, deal_id)
    assert (d["stage"], d["status"], d["value"], d["closed_at"]) == ("proposal", "open", 100,
                                                                      None)
    assert run("undo").out == f"Undid moved event {moved} of {deal_id} “Acme”.\n"
    assert state(run, deal_id)["stage"] == "prospecting"
    assert run("redo", "--steps", "2").code == 0
    d = state(run, deal_id)
    assert (d["stage"], d["status"], d["value"]) == ("won", "won", 120)
    events = d["history"]
    assert [e["event"] for e in events] == ["created", "moved", "won", "undone", "undone",
                                            "redone", "redone"]
    undo_won, undo_moved, redo_1, redo_2 = events[3:]
    assert (undo_won["target"], undo_moved["target"]) == (won, moved)
    # The newest undo is redone first: the move comes back, then the win.
    assert (redo_1["target"], redo_2["target"]) == (undo_moved["id"], undo_won["id"])
    assert [e["in_effect"] for e in events] == [True, True, True, False, False, True, True]
    assert run("check").code == 0


def test_undoing_a_delete_brings_the_deal_back(run, workspace):
    deal_id = add(run, "Acme", "--owner", "dana", "--tag", "vip")
    run("rm", deal_id, "--yes")
    assert state(run, deal_id) is None
    assert run("undo").code == 0
    d = state(run, deal_id)
    assert (d["name"], d["owner"], d["tags"]) == ("Acme", "dana", ["vip"])
    assert run("check").code == 0
    assert run("report", "-o", "json").json()["totals"]["open_count"] == 1


def test_undoing_an_add_removes_it_and_redo_restores_it(run, workspace):
    deal_id = add(run, "Oops")
    run("undo")
    assert state(run, deal_id) is None
    assert run("list", "-o", "json").json() == []
    assert report(run)["totals"]["open_count"] == 0
    run("redo")
    assert state(run, deal_id)["name"] == "Oops"
    assert report(run)["totals"]["open_count"] == 1


def test_undo_of_a_redo_and_nothing_left(run, workspace):
    deal_id = add(run, "Acme")
    run("move", deal_id, "proposal")
    run("undo")
    run("redo")
    run("undo")  # undoes the redo: back in prospecting
    assert state(run, deal_id)["stage"] == "prospecting"
    assert "Nothing to redo." not in run("redo").out
    assert state(run, deal_id)["stage"] == "proposal"
    run("undo", "--steps", "10")
    assert run("undo").out.strip() == "Nothing to undo."
    before = store_digest(workspace)
    assert run("undo").code == 0 and store_digest(workspace) == before


def test_log_lists_the_latest_changes(run, workspace):
    a = add(run, "Acme", "--at", "2026-11-01")
    b = add(run, "Beta", "--at", "2026-11-02")
    run("move", a, "proposal", "--at", "2026-11-03")
    log = run("log", "-n", "2", "-o", "json").json()
    assert [(e["deal_id"], e["event"]) for e in log] == [(a, "moved"), (b, "created")]
    assert log[0]["name"] == "Acme"
    assert log[0]["sets"] == {"pipeline": "sales", "stage": "proposal", "status": "open"}
    assert [e["event"] for e in run("log", b, "-o", "json").json()] == ["created"]
    moved = next(line for line in run("log").out.splitlines() if a in line and "moved" in line)
    assert "→ Proposal" in moved


# -- the defects the event log fixes ------------------------------------------------------


def test_an_undone_win_is_not_counted_as_having_reached_the_won_stage(run, workspace):
    deal_id = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    assert run("won", deal_id, "--at", "2026-11-03").code == 0
    won = report(run)
    assert (reached(won)["won"], won["totals"]["won_count"]) == (1, 1)
    assert run("undo").code == 0
    r = report(run)
    assert reached(r)["won"] == 0 and reached(r)["prospecting"] == 1
    assert (r["totals"]["won_count"], r["totals"]["won_value"], r["totals"]["open_count"],
            r["totals"]["open_value"]) == (0, 0, 1, 100)
    assert r["totals"]["win_rate"] is None and r["totals"]["avg_cycle_days"] is None
    assert {s["key"]: s["count"] for s in r["stages"]}["won"] == 0
    # Not as of the day it was won either: the undone win is gone from every figure.
    past = report(run, "--as-of", "2026-11-05")
    assert reached(past)["won"] == 0 and past["totals"]["won_count"] == 0
    # The same goes for an undone move.
    run("move", deal_id, "proposal")
    assert reached(report(run))["proposal"] == 1
    run("undo")
    assert reached(report(run))["proposal"] == 0
    assert state(run, deal_id)["stage"] == "prospecting"


def test_changes_in_the_same_second_are_undone_newest_recorded_first(run, workspace,
                                                                      same_second):
    names = [f"Deal {i}" for i in range(8)]
    ids = [add(run, name) for name in names]
    deal_id = ids[0]
    for value in ("20", "30", "40"):
        assert run("edit", deal_id, "--value", value).code == 0
    for value in (30, 20, None):
        assert run("undo").code == 0
        assert state(run, deal_id)["value"] == value
    for deal in reversed(ids):
        out = run("undo").out
        assert out.startswith("Undid created event ") and f" of {deal} " in out, out
        assert state(run, deal) is None
        assert all(state(run, other) is not None for other in ids[:ids.index(deal)])
    assert run("undo").out.strip() == "Nothing to undo."


def test_undo_goes_by_recording_order_not_effective_time(run, workspace):
    a = add(run, "Acme", "--at", "2026-11-10")
    b = add(run, "Beta")  # takes effect now (2026-11-20), the latest
    c = add(run, "Gamma", "--at", "2026-11-05")  # recorded last, takes effect first
    assert f" of {c} " in run("undo").out
    assert f" of {b} " in run("undo").out
    assert f" of {a} " in run("undo").out
    assert run("list", "--status", "all", "-o", "json").json() == []


def test_as_of_shows_the_value_a_deal_had_on_that_day(run, workspace):
    deal_id = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    assert run("edit", deal_id, "--value", "250", "--at", "2026-11-10").code == 0
    assert run("edit", deal_id, "--value", "300").code == 0  # today, 2026-11-20
    for day, value in (("2026-11-05", 100), ("2026-11-09", 100), ("2026-11-10", 250),
                       ("2026-11-19", 250), ("2026-11-20", 300)):
        totals = report(run, "--as-of", day)["totals"]
        assert (totals["open_count"], totals["open_value"]) == (1, value), day
        assert totals["weighted_value"] == value / 10, day  # prospecting: 10 %
        forecast = run("forecast", "-o", "json", "--as-of", day).json()
        assert forecast["no_close_date"]["value"] == value, day
    assert report(run)["totals"]["open_value"] == 300
    assert report(run, "--as-of", "2026-10-31")["totals"]["open_count"] == 0
    # Won at a final value later: before that day it is still open at the value it had.
    assert run("won", deal_id, "--value", "280").code == 0
    past = report(run, "--as-of", "2026-11-12")["totals"]
    assert (past["open_value"], past["won_count"]) == (250, 0)
    now = report(run)["totals"]
    assert (now["open_count"], now["won_value"]) == (0, 280)


def test_redo_after_the_deal_was_deleted_again_is_one_sentence(run, workspace, monkeypatch):
    monkeypatch.delenv("PIPE_DEBUG")  # a bug must show here as exit 70, not a traceback
    deal_id = add(run, "Acme")
    assert run("rm", deal_id, "--yes").code == 0
    assert run("undo").code == 0
    assert state(run, deal_id)["name"] == "Acme"
    assert run("rm", deal_id, "--yes").code == 0
    before = store_digest(workspace)
    result = run("redo")
    assert result.code == 1  # a rule, not an internal error (70)
    assert result.err.count("\n") == 1 and result.err.startswith("pipe: error: ")
    assert deal_id in result.err and "changed after the undo" in result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert store_digest(workspace) == before
    assert state(run, deal_id) is None
    assert run("check").code == 0


def test_redo_refuses_to_revert_a_newer_edit_of_the_deal(run, workspace):
    deal_id = add(run, "Acme", "--value", "10")
    run("edit", deal_id, "--value", "20")
    run("undo")
    assert state(run, deal_id)["value"] == 10
    run("edit", deal_id, "--value", "30")
    before = store_digest(workspace)
    result = run("redo")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "changed after the undo" in result.err
    assert store_digest(workspace) == before
    assert state(run, deal_id)["value"] == 30
    assert report(run)["totals"]["open_value"] == 30
    # Another deal changing after the undo does not stand in the way.
    other = add(run, "Other", "--value", "5")
    run("edit", other, "--value", "6")
    run("undo")
    add(run, "Third")
    assert run("redo").code == 0
    assert state(run, other)["value"] == 6


def test_undo_redo_undo_chains(run, workspace):
    deal_id = add(run, "Acme", "--value", "100")
    run("edit", deal_id, "--value", "200")
    run("edit", deal_id, "--value", "300")

    def value():
        v = state(run, deal_id)["value"]
        assert report(run)["totals"]["open_value"] == v  # every figure agrees
        return v

    steps = [("undo", 200), ("undo", 100), ("redo", 200), ("undo", 100), ("redo", 200),
             ("redo", 300), ("undo", 200), ("undo", 100), ("undo", None), ("redo", 100),
             ("redo", 200), ("redo", 300)]
    for command, expected in steps:
        result = run(command)
        assert result.code == 0 and "Nothing" not in result.out, (command, result.out)
        if expected is None:
            assert state(run, deal_id) is None
            assert report(run)["totals"]["open_count"] == 0
        else:
            assert value() == expected, command
    assert run("redo").out.strip() == "Nothing to redo."
    events = history(run, deal_id)
    assert [e["event"] for e in events if e["in_effect"]][:3] == ["created", "edited",
                                                                  "edited"]
    assert all(e["in_effect"] for e in events if e["event"] in ("created", "edited"))
    assert run("check").code == 0
    # Undo still walks back the latest change, whatever chain came before.
    run("undo", "--steps", "2")
    assert value() == 100
