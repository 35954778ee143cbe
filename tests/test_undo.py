"""pipe undo / redo / log: a wrong move or delete can always be taken back, and every undo
is itself in the history."""

from __future__ import annotations

from conftest import add, store_digest


def state(run, deal_id):
    result = run("show", deal_id, "-o", "json")
    return result.json() if result.code == 0 else None


def test_undo_walks_back_and_redo_forward(run, workspace):
    deal_id = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    run("won", deal_id, "--value", "120", "--at", "2026-11-03")
    assert "Undid event 3 (won)" in run("undo").out
    d = state(run, deal_id)
    assert (d["stage"], d["status"], d["value"], d["closed_at"]) == ("proposal", "open", 100,
                                                                      None)
    assert "Undid event 2 (moved)" in run("undo").out
    assert state(run, deal_id)["stage"] == "prospecting"
    assert run("redo", "--steps", "2").code == 0
    d = state(run, deal_id)
    assert (d["stage"], d["status"], d["value"]) == ("won", "won", 120)
    assert [e["event"] for e in d["history"]] == ["created", "moved", "won", "undone",
                                                  "undone", "undone", "undone"]
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
    run("redo")
    assert state(run, deal_id)["name"] == "Oops"


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
    assert [e["event"] for e in run("log", b, "-o", "json").json()] == ["created"]
    assert "Prospecting → Proposal" in run("log").out
