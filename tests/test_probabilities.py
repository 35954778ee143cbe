"""Historical stage probabilities (issue 13): of the deals that passed a stage and closed,
the share won — computed independently here on a hand-made history, with the sample floor,
the close window, and the forecast weighted with them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from conftest import add
from pipecli.engine.probabilities import observed, with_used
from pipecli.pipeline import load_workspace
from pipecli.store import open_store

AS_OF = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


@pytest.fixture
def closed(run, workspace):
    """3 won after proposal; lost: 4 at prospecting, 2 at qualification, 1 at proposal —
    closed in October, except one prospecting loss in August. One deal still open."""
    def deal(last: str, outcome: str, day: str) -> None:
        d = add(run, "D", "--value", "100", "--email", "d@d.co", "--at", "2026-07-01")
        path = ["qualification", "proposal"]
        for stage in path[:path.index(last) + 1] if last != "prospecting" else []:
            run("move", d, stage, "--at", "2026-07-02")
        if outcome == "won":
            run("won", d, "--at", day)
        else:
            run("lost", d, "--reason", "price", "--at", day)

    for _ in range(3):
        deal("proposal", "won", "2026-10-05")
    deal("prospecting", "lost", "2026-08-05")
    for _ in range(3):
        deal("prospecting", "lost", "2026-10-06")
    for _ in range(2):
        deal("qualification", "lost", "2026-10-07")
    deal("proposal", "lost", "2026-10-08")
    add(run, "Open", "--value", "1000")
    return workspace


def figures(workspace, **kw):
    ws = load_workspace(workspace / "pipeline.yaml")
    return {o.key: o for o in observed(open_store(ws.store_path), ws.pipelines[0], AS_OF,
                                       ws=ws, **kw)}


def test_observed_shares_the_sample_and_the_floor(closed):
    got = figures(closed)
    expected = {"prospecting": (10, 3), "qualification": (6, 3), "proposal": (4, 3)}
    for key, (n, won) in expected.items():
        assert (got[key].closed, got[key].won, got[key].observed) == (n, won, Fraction(won, n))
    assert got["prospecting"].used == Decimal(30) and not got["prospecting"].fallback
    assert got["qualification"].used == Decimal(20) and got["qualification"].fallback
    assert got["proposal"].used == Decimal(60) and got["proposal"].fallback
    low = figures(closed, floor=3)
    assert [low[k].used for k in ("prospecting", "qualification", "proposal")] == \
        [Decimal(30), Decimal(50), Decimal(75)]


def test_the_close_window_chooses_the_cohort(closed):
    october = figures(closed, closed_since=date(2026, 10, 1), closed_until=date(2026, 10, 31),
                      floor=1)
    assert (october["prospecting"].closed, october["prospecting"].won) == (9, 3)
    assert october["prospecting"].used == Decimal(100) / 3 * 1  # 33.33…%, 28 digits
    assert abs(Fraction(october["prospecting"].used) - Fraction(100, 3)) < Fraction(1, 10**24)
    none = figures(closed, closed_since=date(2026, 11, 1))
    assert all(o.closed == 0 and o.observed is None and o.fallback for o in none.values())


def test_the_pipeline_with_used_probabilities_keeps_closing_stages(closed):
    ws = load_workspace(closed / "pipeline.yaml")
    p = ws.pipelines[0]
    used = with_used(p, tuple(figures(closed, floor=3).values()))
    assert [s.probability for s in used.stages] == \
        [Decimal(30), Decimal(50), Decimal(75), *(s.probability for s in p.stages[3:])]


def test_the_forecast_weighs_open_deals_with_the_historical_probabilities(run, closed):
    late = add(run, "Late", "--value", "1000", "--email", "l@l.co", "--close-date", "2026-12-15")
    run("move", late, "proposal")
    configured = run("forecast", "-o", "json").json()
    assert configured["no_close_date"]["weighted_value"] == 100  # 1,000 × 10 %
    got = run("forecast", "--probability", "historical", "--sample-floor", "3",
              "-o", "json").json()
    assert got["no_close_date"]["weighted_value"] == 300  # 1,000 × 3/10
    december = next(m for m in got["months"] if m["month"] == "2026-12")
    assert december["weighted_value"] == 750  # 1,000 × 3/4
    stages = {s["stage"]: s for s in got["probabilities"]["stages"]}
    assert (stages["proposal"]["won"], stages["proposal"]["closed"]) == (3, 4)
    assert stages["proposal"]["observed"] == 0.75 and not stages["proposal"]["fallback"]
    floor = run("forecast", "--probability", "historical", "-o", "json").json()
    assert next(m for m in floor["months"] if m["month"] == "2026-12")["weighted_value"] == 600
    text = run("forecast", "--probability", "historical").out
    assert "80.0%*" not in text and "60.0%*" in text and "sample floor (10)" in text
    window = run("forecast", "--probability", "historical", "--closed-since", "2026-10-01",
                 "--sample-floor", "1", "-o", "json").json()
    assert window["no_close_date"]["weighted_value"] == 333.33  # 1,000 × 3/9, half-up
    refused = run("forecast", "--closed-since", "2026-10-01")
    assert refused.code == 2 and "--probability historical" in refused.err


def test_the_report_compares_configured_and_observed(run, closed):
    report = run("report", "-o", "json").json()
    stages = {s["stage"]: s for s in report["probabilities"]["stages"]}
    assert (stages["prospecting"]["configured"], stages["prospecting"]["observed"]) == (10, 0.3)
    assert stages["qualification"]["fallback"] and stages["qualification"]["used"] == 20
    assert "Stage probabilities: given in the pipeline file and observed" in \
        " ".join(run("report").out.split())
