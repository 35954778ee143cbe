"""The Maven CRM data (8,800 real-shaped opportunities): win rate, average won value and
sales cycle per agent and overall, against figures computed straight from the CSV."""

from __future__ import annotations

import csv
import statistics
from datetime import date, datetime, time, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from pipecli.models import Kind
from pipecli.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / \
    "maven-crm-sales-opportunities"
MAVEN_YAML = """\
name: maven
kind: b2b
currency: USD
store: {store}
stages:
  - {{key: prospecting, label: Prospecting, probability: 10}}
  - {{key: engaging, label: Engaging, probability: 40}}
  - {{key: won, label: Won, probability: 100, outcome: won}}
  - {{key: lost, label: Lost, probability: 0, outcome: lost}}
"""
pytestmark = pytest.mark.skipif(not (DATA / "sales_pipeline.csv").exists(),
                                reason="../shared/datasets is not beside this checkout")


def rows() -> list[dict]:
    with open(DATA / "sales_pipeline.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def moment(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(), tzinfo=timezone.utc)


def build_store(path: Path) -> None:
    """Write the opportunities through the store interface in one transaction: created when
    engaged (prospects, which have no date, on the data's last day), then won or lost."""
    store = open_store(path)
    with store.write() as tx:
        for r in rows():
            deal_id = r["opportunity_id"].lower()
            created = moment(r["engage_date"] or "2017-12-31")
            stage = "engaging" if r["engage_date"] else "prospecting"
            sets = {"pipeline": "maven", "stage": stage, "status": "open",
                    "name": r["account"] or r["opportunity_id"], "owner": r["sales_agent"],
                    "company": r["account"]}
            if r["close_value"]:
                sets["value"] = r["close_value"]
            tx.append(deal_id, Kind.CREATED, created, sets={k: v for k, v in sets.items() if v})
            if r["deal_stage"] in ("Won", "Lost"):
                status = r["deal_stage"].lower()
                closing = {"stage": status, "status": status}
                if status == "lost":
                    closing["lost_reason"] = "not recorded"
                tx.append(deal_id, Kind(status), moment(r["close_date"]), sets=closing)


def expected(data: list[dict]) -> dict:
    won = [r for r in data if r["deal_stage"] == "Won"]
    lost = [r for r in data if r["deal_stage"] == "Lost"]
    cycles = [(date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
              for r in won]
    return {"won_count": len(won), "lost_count": len(lost),
            "win_rate": Fraction(len(won), len(won) + len(lost)),
            "avg_won_value": Fraction(sum(int(r["close_value"]) for r in won), len(won)),
            "avg_cycle_days": Fraction(sum(cycles), len(cycles)),
            "median_cycle_days": Fraction(statistics.median(cycles))}  # n or n.5 days


def half_up(exact: Fraction, places: int) -> float:
    """The exact figure rounded half-up (a tie away from zero), as pipe shows it: one agent's
    mean cycle is exactly 43.525 days, 43.53 (a float's round() says 43.52)."""
    x = exact * 10 ** places
    return float(Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator))
                 .scaleb(-places))


def check(totals: dict, want: dict) -> None:
    assert totals["won_count"] == want["won_count"]
    assert totals["lost_count"] == want["lost_count"]
    assert totals["win_rate"] == half_up(want["win_rate"], 4)
    assert totals["avg_won_value"] == half_up(want["avg_won_value"], 2)
    assert totals["avg_cycle_days"] == half_up(want["avg_cycle_days"], 2)
    assert totals["median_cycle_days"] == half_up(want["median_cycle_days"], 2)


@pytest.fixture(scope="module", params=["csv", "sqlite"])
def maven(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"maven-{request.param}")
    store = "deals" if request.param == "csv" else "deals.sqlite"
    (folder / "pipeline.yaml").write_text(MAVEN_YAML.format(store=store))
    build_store(folder / store)
    return folder


def test_overall_and_per_agent(run, maven):
    data = rows()
    report = run("report", "-f", str(maven), "--by", "owner", "-o", "json").json()
    overall = expected(data)
    assert (overall["won_count"], overall["lost_count"]) == (4238, 2473)
    check(report["totals"], overall)
    groups = {g["group"]: g for g in report["groups"]}
    agents = sorted({r["sales_agent"] for r in data})
    assert sorted(groups) == agents
    for agent in agents:
        check(groups[agent], expected([r for r in data if r["sales_agent"] == agent]))


def test_funnel_counts(run, maven):
    stages = {s["key"]: s for s in run("report", "-f", str(maven), "-o", "json").json()["stages"]}
    data = rows()
    engaged = sum(1 for r in data if r["engage_date"])
    won = sum(1 for r in data if r["deal_stage"] == "Won")
    # Every deal reached prospecting; every deal with an engage date reached engaging (won
    # ones included: won is further than every open stage, lost ones were engaging).
    assert stages["prospecting"]["reached"] == len(data) == 8800
    assert stages["engaging"]["reached"] == engaged
    assert stages["won"]["reached"] == won
    assert stages["won"]["conversion"] == half_up(Fraction(won, engaged), 4)
    assert stages["prospecting"]["count"] == sum(r["deal_stage"] == "Prospecting" for r in data)
    assert stages["engaging"]["count"] == sum(r["deal_stage"] == "Engaging" for r in data)



def test_conversion_modes(run, maven):
    """The three conversion modes against the CSV: an engaged deal was created at engaging
    (it never was a prospect), a prospect never moved. So, furthest: every deal reached
    prospecting; ordered: only the prospects went through prospecting, and none of them went
    on; any: the prospects were in prospecting, the engaged deals in engaging, the won in
    won."""
    data = rows()
    prospects = sum(1 for r in data if not r["engage_date"])
    engaged = sum(1 for r in data if r["engage_date"])
    won = sum(1 for r in data if r["deal_stage"] == "Won")
    want = {
        "furthest": {"prospecting": (len(data), None, Fraction(1), Fraction(won, len(data))),
                     "engaging": (engaged, Fraction(engaged, len(data)),
                                  Fraction(engaged, len(data)), Fraction(won, engaged)),
                     "won": (won, Fraction(won, engaged), Fraction(won, len(data)), 1)},
        "ordered": {"prospecting": (prospects, None, Fraction(1), Fraction(0)),
                    "engaging": (0, Fraction(0), Fraction(0), None),
                    "won": (0, None, Fraction(0), None)},
        # no deal was in both prospecting and engaging: the stage-to-stage shares are 0
        "any": {"prospecting": (prospects, None, Fraction(1), Fraction(0)),
                "engaging": (engaged, Fraction(0), Fraction(0), Fraction(won, engaged)),
                "won": (won, Fraction(won, engaged), Fraction(0), 1)},
    }
    for mode, stages in want.items():
        got = run("report", "-f", str(maven), "--conversion", mode, "-o", "json").json()
        assert got["conversion"] == mode
        by_key = {s["key"]: s for s in got["stages"]}
        for key, (reached, conversion, cumulative, to_won) in stages.items():
            s = by_key[key]
            rate = (lambda x: None if x is None else half_up(Fraction(x), 4))
            assert (s["reached"], s["conversion"], s["cumulative_conversion"],
                    s["conversion_to_won"]) == (reached, rate(conversion), rate(cumulative),
                                                rate(to_won)), (mode, key)
        entered = stages["prospecting"][0]
        assert got["totals"]["entered"] == entered
        assert got["totals"]["conversion_to_won"] == half_up(
            Fraction(stages["prospecting"][3] * entered, entered), 4)

def test_historical_probabilities(run, maven):
    """Of the closed deals (won or lost) that passed each stage, the share won: every deal
    passed prospecting; the ones with an engage date passed engaging (a closed Maven deal
    always has one)."""
    data = rows()
    closed = [r for r in data if r["deal_stage"] in ("Won", "Lost")]
    stages = {s["stage"]: s for s in
              run("forecast", "-f", str(maven), "--probability", "historical", "-o",
                  "json").json()["probabilities"]["stages"]}
    for key, passed in (("prospecting", closed),
                        ("engaging", [r for r in closed if r["engage_date"]])):
        won = sum(r["deal_stage"] == "Won" for r in passed)
        assert (stages[key]["won"], stages[key]["closed"]) == (won, len(passed))
        assert stages[key]["observed"] == half_up(Fraction(won, len(passed)), 4)
        assert not stages[key]["fallback"]
    # in 2017's second half only
    h2 = [r for r in closed if r["close_date"] >= "2017-07-01"]
    got = run("forecast", "-f", str(maven), "--probability", "historical", "--closed-since",
              "2017-07-01", "-o", "json").json()["probabilities"]["stages"][0]
    assert (got["won"], got["closed"]) == (sum(r["deal_stage"] == "Won" for r in h2), len(h2))


def test_the_digest_of_a_month_is_the_difference_of_two_reports(run, maven):
    """The headline figures of December 2017 against the reports as of its two ends, and its
    wins and losses against the CSV's close dates."""
    got = run("digest", "-f", str(maven), "--since", "2017-11-30T23:59:59+00:00", "--as-of",
              "2017-12-31", "-o", "json").json()
    before = run("report", "-f", str(maven), "--as-of", "2017-11-30", "-o", "json").json()
    after = run("report", "-f", str(maven), "--as-of", "2017-12-31", "-o", "json").json()
    for h in got["headlines"]:
        assert (h["start"], h["end"]) == (before["totals"][h["key"]],
                                          after["totals"][h["key"]]), h["key"]
    december = [r for r in rows() if r["close_date"].startswith("2017-12")]
    assert len(got["won"]) == sum(r["deal_stage"] == "Won" for r in december)
    assert len(got["lost"]) == sum(r["deal_stage"] == "Lost" for r in december)


def test_sales_cycle_distribution(maven):
    """The HTML report's sales-cycle bins against the CSV: each won deal's days from its
    engage date to its close date, counted in the fixed bins [0, 7), [7, 14), … [365, ∞)."""
    from pipecli.engine.report import one_pipeline, report
    from pipecli.pipeline import load_workspace

    ws = load_workspace(maven / "pipeline.yaml")
    got = report(open_store(ws.store_path), one_pipeline(ws.pipelines[0], ws),
                 moment("2018-01-01"), cycles=True).cycle_bins
    edges = [0, 7, 14, 30, 60, 90, 180, 365, None]
    days = [(date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
            for r in rows() if r["deal_stage"] == "Won"]
    want = [sum(1 for d in days if low <= d and (high is None or d < high))
            for low, high in zip(edges, edges[1:])]
    assert [(b.low, b.high, b.count) for b in got] == list(zip(edges, edges[1:], want))
    assert sum(want) == len(days) == 4238
