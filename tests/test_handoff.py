"""Marketing hands leads to sales: automatic hand-off, moves across pipelines, returns, and
the per-pipeline and end-to-end reports — checked against counts worked out by hand."""

from __future__ import annotations

import pytest

from conftest import add


@pytest.fixture
def team(run, tmp_path, backend):
    assert run("init", "--template", "lead-to-sale", "--store", backend).code == 0
    day = iter(f"2026-10-{d:02d}" for d in range(1, 32))
    leads = {name: add(run, "-p", "marketing", "--email", f"{name.lower()}@x.io",
                       "--value", "1000", "--at", next(day), "--", name)
             for name in ("Ava", "Ben", "Cy", "Dee", "Eve")}
    for name in ("Ava", "Ben", "Cy", "Dee"):
        assert run("move", leads[name], "sal", "--at", next(day)).code == 0
    for name in ("Ava", "Ben", "Cy"):
        moved = run("move", leads[name], "sql", "--at", next(day))
        assert moved.code == 0 and "Handed off" in moved.out and "sales" in moved.out
    run("lost", leads["Dee"], "--reason", "no engagement", "--at", next(day))
    run("won", leads["Ava"], "--at", next(day))
    returned = run("return", leads["Ben"], "--reason", "no budget yet", "--at", next(day))
    assert returned.code == 0 and "marketing" in returned.out
    run("lost", leads["Cy"], "--reason", "objects to pricing", "--at", next(day))
    return leads


def test_the_hand_off_moves_the_deal_and_keeps_its_history(run, team):
    ava = run("show", team["Ava"], "-o", "json").json()
    assert (ava["pipeline"], ava["status"]) == ("sales", "won")
    assert [e["event"] for e in ava["history"]] == ["created", "moved", "moved", "handed_off",
                                                    "won"]
    # The move into marketing's SQL stage, then the hand-off it triggered (at the same
    # moment) carrying the deal to sales' first stage.
    moved, handed = ava["history"][2:4]
    assert (moved["event"], moved["sets"]) == \
        ("moved", {"pipeline": "marketing", "stage": "sql", "status": "open"})
    assert handed["sets"] == {"pipeline": "sales", "stage": "qualification", "status": "open"}
    assert (handed["prev"], handed["at"]) == (moved["id"], moved["at"])
    assert handed["note"] == "hand-off from marketing:sql"
    ben = run("show", team["Ben"], "-o", "json").json()
    assert (ben["pipeline"], ben["stage"]) == ("marketing", "mql")
    assert ben["history"][-1]["event"] == "returned"
    assert ben["history"][-1]["sets"] == {"pipeline": "marketing", "stage": "mql",
                                          "status": "open"}
    assert ben["history"][-1]["note"] == "returned: no budget yet"
    assert run("check").code == 0


def test_per_pipeline_reports(run, team):
    marketing = run("report", "-p", "marketing", "-o", "json").json()
    by_key = {s["key"]: s for s in marketing["stages"]}
    # All five were MQLs; four reached SAL; three reached SQL (and were handed on).
    assert [by_key[k]["reached"] for k in ("mql", "sal", "sql")] == [5, 4, 3]
    assert by_key["sql"]["conversion"] == 0.75
    assert by_key["mql"]["count"] == 2  # Eve, and Ben who came back
    assert (marketing["totals"]["handed_off"], marketing["totals"]["returned"]) == (3, 1)
    assert marketing["totals"]["lost_count"] == 1  # Dee; Cy was lost by sales
    sales = run("report", "-p", "sales", "-o", "json").json()
    assert (sales["totals"]["won_count"], sales["totals"]["lost_count"]) == (1, 1)
    assert sales["totals"]["win_rate"] == 0.5
    assert {s["key"]: s["reached"] for s in sales["stages"]}["qualification"] == 3


def test_end_to_end_funnel(run, team):
    journey = run("report", "--all", "-o", "json").json()
    reached = {s["key"]: s["reached"] for s in journey["stages"]}
    assert reached["marketing/mql"] == 5 and reached["marketing/sql"] == 3
    # Ava, Ben (before sales returned him: furthest is over the whole history) and Cy.
    assert reached["sales/qualification"] == 3
    totals = journey["totals"]
    assert (totals["won_count"], totals["lost_count"], totals["open_count"]) == (1, 2, 2)
    assert (totals["handed_off"], totals["returned"]) == (3, 1)
    table = run("report", "--all").out
    assert "marketing: Sales qualified lead (SQL)" in table
    # A win in marketing is an outcome outside the funnel order; sales' win ends it.
    assert reached["marketing/customer"] is None and reached["sales/won"] == 1


def test_moving_across_pipelines_by_hand(run, team):
    eve = team["Eve"]
    result = run("move", eve, "demo", "--pipeline", "sales")
    assert result.code == 0 and "Moved" in result.out
    assert run("show", eve, "-o", "json").json()["stage"] == "demo"
    assert run("return", eve).code == 0
    assert run("return", eve).code == 1  # it is where it started: nowhere to return it to
    closed = run("move", team["Ava"], "--pipeline", "marketing")
    assert closed.code == 1 and "only open deals change pipeline" in closed.err


def test_handoff_targets_are_validated(run, tmp_path):
    assert run("init", "--template", "lead-to-sale").code == 0
    path = tmp_path / "pipeline.yaml"
    path.write_text(path.read_text().replace("{pipeline: sales, stage: qualification}",
                                             "{pipeline: support, stage: triage}"))
    result = run("stages")
    assert result.code == 1 and "hands off to pipeline 'support'" in result.err
