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
