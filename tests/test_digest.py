"""`pipe digest`: the changes of a period on a hand-made history, and its headline figures
equal to the difference of two `pipe report --as-of` (the start and the end)."""

from __future__ import annotations

import pytest

from conftest import add


@pytest.fixture
def history(run, workspace):
    """Before the period (Nov 1–8): a, b, c created; b moved. In it (Nov 9–15): d created,
    a won, b lost, c moved forward then back, c's close date slipped, e overdue."""
    ids = {}
    ids["a"] = add(run, "Alpha", "--value", "1000", "--email", "a@a.co", "--at", "2026-11-01")
    ids["b"] = add(run, "Beta", "--value", "500", "--email", "b@b.co", "--at", "2026-11-02")
    ids["c"] = add(run, "Gamma", "--value", "250", "--email", "c@c.co", "--close-date",
                   "2026-11-20", "--at", "2026-11-03")
    ids["e"] = add(run, "Epsilon", "--value", "100", "--next", "Call", "--due", "2026-11-12",
                   "--at", "2026-11-04")
    run("move", ids["b"], "qualification", "--at", "2026-11-05")
    ids["d"] = add(run, "Delta", "--value", "300", "--at", "2026-11-10")
    run("won", ids["a"], "--at", "2026-11-11")
    run("lost", ids["b"], "--reason", "price", "--at", "2026-11-12")
    run("move", ids["c"], "proposal", "--at", "2026-11-13")
    run("move", ids["c"], "qualification", "--at", "2026-11-14")
    run("edit", ids["c"], "--close-date", "2026-12-20", "--at", "2026-11-14T12:00:00")
    add(run, "Zeta", "--value", "9", "--at", "2026-11-17")  # after the period
    return ids


def test_the_changes_of_the_period(run, history):
    got = run("digest", "--since", "7d", "--as-of", "2026-11-15", "-o", "json").json()
    assert got["start"] == "2026-11-08T23:59:59+00:00"
    assert got["end"] == "2026-11-15T23:59:59+00:00"
    ids = history
    assert [x["id"] for x in got["new"]] == [ids["d"]]
    assert [(x["id"], x["value"]) for x in got["won"]] == [(ids["a"], 1000)]
    assert [(x["id"], x["reason"]) for x in got["lost"]] == [(ids["b"], "price")]
    assert [(x["id"], x["from_stage"], x["stage"]) for x in got["forward"]] == \
        [(ids["c"], "prospecting", "proposal")]
    assert [(x["id"], x["from_stage"], x["stage"]) for x in got["back"]] == \
        [(ids["c"], "proposal", "qualification")]
    assert [(x["id"], x["close_date_before"], x["close_date"]) for x in got["slipped"]] == \
        [(ids["c"], "2026-11-20", "2026-12-20")]
    assert [(x["id"], x["due"]) for x in got["overdue"]] == [(ids["e"], "2026-11-12")]


@pytest.mark.parametrize("since, start, end", [("7d", "2026-11-08", "2026-11-15"),
                                               ("2w", "2026-11-01", "2026-11-15"),
                                               ("3d", "2026-11-09", "2026-11-12")])
def test_the_headlines_are_the_difference_of_two_reports(run, history, since, start, end):
    got = run("digest", "--since", since, "--as-of", end, "-o", "json").json()
    before = run("report", "--as-of", start, "-o", "json").json()["totals"]
    after = run("report", "--as-of", end, "-o", "json").json()["totals"]
    for h in got["headlines"]:
        key = h["key"]
        assert (h["start"], h["end"]) == (before[key], after[key]), key
        if before[key] is None or after[key] is None:
            assert h["change"] is None
        elif key in ("win_rate", "conversion_to_won"):
            assert h["change"] == pytest.approx(after[key] - before[key], abs=1e-4)
        else:
            assert h["change"] == after[key] - before[key], key


def test_every_format_and_an_empty_period(run, history):
    for fmt in ("table", "plain", "markdown", "csv", "tsv"):
        result = run("digest", "--since", "7d", "--as-of", "2026-11-15", "-o", fmt)
        assert result.code == 0 and "Alpha" in result.out, fmt
    quiet = run("digest", "--since", "1d", "--as-of", "2026-11-30", "-o", "plain")
    assert "No deal changed in the period" in quiet.out or "Next steps overdue" in quiet.out
    text = run("digest", "--since", "7d", "--as-of", "2026-11-15", "-o", "plain").out
    assert "Win rate" in text and "pts" in text


@pytest.mark.parametrize("since", ["tomorrow", "0d", "sometime"])
def test_a_period_that_is_not_one_is_refused(run, history, since):
    result = run("digest", "--since", since, "--as-of", "2026-11-15")
    assert result.code == 2 and result.err.count("\n") == 1
