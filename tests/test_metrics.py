"""Every report figure against numbers computed independently, in plain Python, from the
raw scenario below (never by calling pipe's own metric code)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

METRICS_YAML = """\
name: sales
kind: b2b
currency: USD
store: {store}
stages:
  - {{key: prospecting, label: Prospecting, probability: 10, rot_days: 14}}
  - {{key: qualification, label: Qualification, probability: 20, requires: [email],
      rot_days: 7, sla_hours: 48}}
  - {{key: proposal, label: Proposal, probability: 60, rot_days: 10}}
  - {{key: won, label: Closed won, probability: 100, outcome: won}}
  - {{key: lost, label: Closed lost, probability: 0, outcome: lost}}
  - {{key: post_purchase, label: Post-purchase, probability: 100, outcome: won}}
"""
FUNNEL = ["prospecting", "qualification", "proposal", "won", "post_purchase"]  # lost: no rank
OPEN_STAGES = ["prospecting", "qualification", "proposal"]
DAY0 = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)

# deal: value, owner, tag, close date (day offset), steps (day offset, action, argument).
SCENARIO = {
    "A skips qualification": (1000, "ann", "vip", None,
                              [(1, "add", "prospecting"), (3, "move", "proposal"),
                               (10, "won", None)]),
    "B enters late": (2000, "ann", "", 70,
                      [(2, "add", "qualification"), (6, "move", "proposal")]),
    "C won, reopened, lost": (3000, "ann", "vip", None,
                              [(1, "add", "prospecting"), (4, "move", "qualification"),
                               (8, "won", None), (12, "reopen", None), (15, "lost", "price")]),
    "D re-enters": (4000, "bo", "", None,
                    [(2, "add", "prospecting"), (3, "move", "qualification"),
                     (5, "move", "prospecting"), (7, "move", "qualification"),
                     (9, "move", "proposal"), (14, "won", None), (20, "move", "post_purchase")]),
    "L1 lost early": (500, "", "", None, [(3, "add", "prospecting"), (5, "lost", "price")]),
    "L2 lost mid": (600, "", "", None,
                    [(3, "add", "prospecting"), (4, "move", "qualification"),
                     (9, "lost", "chose another vendor")]),
    "L3 lost late": (700, "", "vip", None,
                     [(4, "add", "prospecting"), (6, "move", "qualification"),
                      (8, "move", "proposal"), (11, "lost", "price")]),
    "E no value": (None, "bo", "", None, [(5, "add", "prospecting")]),
    "F slipping": (800, "bo", "", 30, [(6, "add", "prospecting"), (7, "move", "qualification")]),
}
REPORT_DAY = 40  # PIPE_NOW below is DAY0 + 40 days


def shown(exact, places: int) -> float:
    """What JSON gives for an exact figure: rounded half-up (a tie away from zero) to
    `places` decimals — floor(x · 10^places + ½) — from the exact value, never a float."""
    x = Fraction(exact) * 10 ** places
    return float(Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator))
                 .scaleb(-places))


def at(day: float) -> str:
    return (DAY0 + timedelta(days=day)).isoformat()


def play(run, *, until_day: float = 1e9, after_day: float = -1,
         ids: dict[str, str] | None = None) -> dict[str, str]:
    """Run the scenario's steps in (after_day, until_day] through the CLI, in time order."""
    steps = sorted((day, order, name, action, arg)
                   for name, (_, _, _, _, plan) in SCENARIO.items()
                   for order, (day, action, arg) in enumerate(plan))
    ids = {} if ids is None else ids
    for day, _, name, action, arg in steps:
        if not after_day < day <= until_day:
            continue
        value, owner, tag, close, _ = SCENARIO[name]
        if action == "add":
            args = ["add", "--stage", arg, "--email", "x@y.io", "--at", at(day)]
            args += ["--value", str(value)] if value is not None else []
            args += ["--owner", owner] if owner else []
            args += ["--tag", tag] if tag else []
            args += ["--close-date", at(close)[:10]] if close is not None else []
            result = run(*args, "--", name)
            assert result.code == 0, result.err
            ids[name] = result.out.strip()
            continue
        args = {"move": ["move", ids[name], arg], "won": ["won", ids[name]],
                "lost": ["lost", ids[name], "--reason", arg],
                "reopen": ["reopen", ids[name]]}[action]
        result = run(*args, "--at", at(day))
        assert result.code == 0, (name, result.err)
    return ids


# -- the independent model: a few lines over SCENARIO -------------------------------------------

def model(until_day: float = REPORT_DAY, keep=lambda name: True):
    """For each deal: stays [(stage, start, end)], status, furthest funnel rank, times."""
    out = {}
    for name, (value, owner, tag, close, plan) in SCENARIO.items():
        if not keep(name):
            continue
        stays, status, closed, reason = [], "open", None, ""
        for day, action, arg in plan:
            if day > until_day:
                break
            stage = {"add": arg, "move": arg, "won": "won", "lost": "lost",
                     "reopen": None}[action]
            if action == "reopen":  # back to the open stage it was in before closing
                stage = [s for s, _, _ in stays if s in OPEN_STAGES][-1]
            if stays:
                stays[-1][2] = day
            stays.append([stage, day, None])
            status = {"won": "won", "lost": "lost"}.get(action, "won" if stage in (
                "won", "post_purchase") else "open")
            closed = day if action in ("won", "lost") else (None if action == "reopen"
                                                            else closed)
            reason = arg if action == "lost" else ""
        if not stays:
            continue
        furthest = max(FUNNEL.index(s) for s, _, _ in stays if s in FUNNEL)
        out[name] = dict(value=value, owner=owner, tag=tag, close=close, stays=stays,
                         status=status, closed=closed, created=stays[0][1], furthest=furthest,
                         stage=stays[-1][0], reason=reason)
    return out


@pytest.fixture
def scenario(run, tmp_path, backend, monkeypatch):
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(METRICS_YAML.format(store=store))
    monkeypatch.setenv("PIPE_NOW", at(REPORT_DAY))
    return play(run)


def test_stage_figures(run, scenario):
    report = run("report", "-o", "json").json()
    deals = model()
    by_key = {s["key"]: s for s in report["stages"]}
    for rank, key in enumerate(FUNNEL):
        reached = [d for d in deals.values() if d["furthest"] >= rank]
        assert by_key[key]["reached"] == len(reached), key
        assert by_key[key]["reached_value"] == sum(d["value"] or 0 for d in reached), key
        if rank:
            before = sum(1 for d in deals.values() if d["furthest"] >= rank - 1)
            assert by_key[key]["conversion"] == shown(Fraction(len(reached), before), 4), key
            assert by_key[key]["drop_off"] == before - len(reached), key
    assert by_key["prospecting"]["conversion"] is None
    assert by_key["lost"]["reached"] is None and by_key["lost"]["conversion"] is None
    for key in OPEN_STAGES:
        done = [end - start for d in deals.values() for s, start, end in d["stays"]
                if s == key and end is not None]
        assert by_key[key]["avg_days_in_stage"] == shown(Fraction(sum(done), len(done)), 2), key
        assert by_key[key]["median_days_in_stage"] == shown(
            Fraction(statistics.median(done)), 2), key  # whole days: a median is n or n.5
        now = [d for d in deals.values() if d["stage"] == key]
        assert by_key[key]["count"] == len(now)
        assert by_key[key]["value"] == sum(d["value"] or 0 for d in now)
        ages = [REPORT_DAY - d["stays"][-1][1] for d in now]
        assert by_key[key]["avg_age_days"] == (shown(Fraction(sum(ages), len(ages)), 2)
                                               if ages else None)
    # Spot checks the model must agree with, spelled out: A skipped qualification but
    # reached it; D's re-entries count once; C was won once, so it reached every open stage.
    assert by_key["qualification"]["reached"] == 7  # A (skipped it), B (entered there), C,
    #                                                 D (entered twice, counted once), L2, L3, F
    assert by_key["won"]["reached"] == 3            # A, C (won before its reopening), D
    assert by_key["post_purchase"]["reached"] == 1  # D


def test_totals(run, scenario):
    totals = run("report", "-o", "json").json()["totals"]
    deals = model().values()
    won = [d for d in deals if d["status"] == "won"]
    lost = [d for d in deals if d["status"] == "lost"]
    open_ = [d for d in deals if d["status"] == "open"]
    cycles = [d["closed"] - d["created"] for d in won]
    win_rate = Fraction(len(won), len(won) + len(lost))
    avg_won = Fraction(sum(d["value"] for d in won), len(won))
    assert totals["won_count"] == len(won) == 2
    assert totals["lost_count"] == len(lost) == 4
    assert totals["open_count"] == len(open_) == 3
    assert totals["won_value"] == sum(d["value"] for d in won)
    assert totals["lost_value"] == sum(d["value"] for d in lost)
    assert totals["win_rate"] == shown(win_rate, 4)
    assert totals["avg_won_value"] == avg_won
    mean_cycle = Fraction(sum(cycles), len(cycles))
    assert totals["avg_cycle_days"] == shown(mean_cycle, 2)
    assert totals["median_cycle_days"] == shown(Fraction(statistics.median(cycles)), 2)
    velocity = len(open_) * avg_won * win_rate / mean_cycle
    assert totals["velocity_per_day"] == shown(velocity, 2)
    weights = {"prospecting": Fraction(1, 10), "qualification": Fraction(2, 10),
               "proposal": Fraction(6, 10)}
    assert totals["weighted_value"] == shown(
        sum((d["value"] or 0) * weights[d["stage"]] for d in open_), 2)
    # Conversion to won: of the 9 deals that entered the funnel, A, C (won before its
    # reopening) and D reached won — beside a win rate over the closed deals only.
    entered = list(deals)
    reached_won = [d for d in entered if d["furthest"] >= FUNNEL.index("won")]
    assert (totals["entered"], totals["reached_won"]) == (len(entered), len(reached_won)) \
        == (9, 3)
    assert totals["conversion_to_won"] == shown(Fraction(len(reached_won), len(entered)), 4)


def test_lost_reasons(run, scenario):
    reasons = run("report", "-o", "json").json()["lost_reasons"]
    expected: dict[str, list] = {}
    for d in model().values():
        if d["status"] == "lost":
            entry = expected.setdefault(d["reason"], [0, 0])
            entry[0] += 1
            entry[1] += d["value"]
    assert {r["reason"]: [r["count"], r["value"]] for r in reasons} == expected
    assert [r["reason"] for r in reasons] == sorted(expected, key=lambda r: -expected[r][1])


def test_since_until_filter_cohort_on_creation_and_outcomes_on_close(run, scenario):
    report = run("report", "--since", at(3)[:10], "--until", at(10)[:10], "-o", "json").json()
    deals = model()
    cohort = [d for d in deals.values() if 3 <= d["created"] <= 10.99]
    by_key = {s["key"]: s for s in report["stages"]}
    for rank, key in enumerate(FUNNEL):
        assert by_key[key]["reached"] == sum(1 for d in cohort if d["furthest"] >= rank), key
    closed = [d for d in deals.values() if d["closed"] is not None and 3 <= d["closed"] < 11]
    won = [d for d in closed if d["status"] == "won"]
    lost = [d for d in closed if d["status"] == "lost"]
    assert (report["totals"]["won_count"], report["totals"]["lost_count"]) == (len(won),
                                                                                len(lost))
    assert report["totals"]["win_rate"] == shown(Fraction(len(won), len(won) + len(lost)), 4)
    assert report["totals"]["entered"] == len(cohort)
    assert report["totals"]["reached_won"] == sum(1 for d in cohort if d["furthest"] >= 3)


@pytest.mark.parametrize("option, keep", [
    (["--owner", "ANN"], lambda d: d["owner"] == "ann"),
    (["--tag", "vip"], lambda d: d["tag"] == "vip"),
])
def test_owner_and_tag_filters(run, scenario, option, keep):
    totals = run("report", *option, "-o", "json").json()["totals"]
    deals = [d for d in model().values() if keep(d)]
    assert totals["won_count"] == sum(d["status"] == "won" for d in deals)
    assert totals["lost_count"] == sum(d["status"] == "lost" for d in deals)
    assert totals["open_value"] == sum(d["value"] or 0 for d in deals if d["status"] == "open")


def test_by_owner_gives_each_group_its_totals(run, scenario):
    report = run("report", "--by", "owner", "-o", "json").json()
    groups = {g["group"]: g for g in report["groups"]}
    assert list(groups) == ["ann", "bo", "(none)"]
    for owner, group in groups.items():
        deals = [d for d in model().values() if (d["owner"] or "(none)") == owner]
        won = [d for d in deals if d["status"] == "won"]
        lost = [d for d in deals if d["status"] == "lost"]
        assert group["won_count"] == len(won) and group["lost_count"] == len(lost)
        assert group["win_rate"] == (shown(Fraction(len(won), len(won) + len(lost)), 4)
                                     if won or lost else None)
        converted = [d for d in deals if d["furthest"] >= FUNNEL.index("won")]
        assert (group["entered"], group["reached_won"]) == (len(deals), len(converted))
        assert group["conversion_to_won"] == shown(Fraction(len(converted), len(deals)), 4)
    table = run("report", "--by", "owner").out
    assert "By owner" in table and "ann" in table


def test_as_of_equals_the_report_taken_that_day(run, tmp_path, backend, monkeypatch):
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(METRICS_YAML.format(store=store))
    day = 9
    end_of_day = (DAY0 + timedelta(days=day)).replace(hour=23, minute=59, second=59)
    monkeypatch.setenv("PIPE_NOW", end_of_day.isoformat())
    ids = play(run, until_day=day)
    then = run("report", "-o", "json").json()
    # The rest of the history happens; a report "as of" day 9 must not see any of it.
    monkeypatch.setenv("PIPE_NOW", at(REPORT_DAY))
    play(run, after_day=day, ids=ids)
    replayed = run("report", "--as-of", end_of_day.date().isoformat(), "-o", "json").json()
    assert replayed == then
    assert run("report", "-o", "json").json() != then


def test_forecast_buckets(run, scenario):
    data = run("forecast", "--months", "3", "-o", "json").json()
    assert [m["month"] for m in data["months"]] == ["2026-11", "2026-12", "2027-01"]
    deals = model()
    # B closes on day 70 (2026-12-10): December. F's close date (day 30) passed: slipped.
    december = next(m for m in data["months"] if m["month"] == "2026-12")
    assert (december["open_count"], december["open_value"]) == (1, 2000)
    assert december["weighted_value"] == 1200  # proposal: 60 %
    # Sums by default; --deals lists the slipped and undated deals too.
    assert "deals" not in data["slipped"] and data["slipped"]["count"] == 1
    listed = run("forecast", "--months", "3", "--deals", "-o", "json").json()
    assert [d["name"] for d in listed["slipped"]["deals"]] == ["F slipping"]
    assert [d["name"] for d in listed["no_close_date"]["deals"]] == ["E no value"]
    assert "deals" not in listed["later"]
    assert {k: v for k, v in listed.items() if k not in ("slipped", "no_close_date")} == \
        {k: v for k, v in data.items() if k not in ("slipped", "no_close_date")}
    total = sum(m["open_count"] for m in data["months"]) + sum(
        data[k]["count"] for k in ("slipped", "no_close_date", "later"))
    assert total == sum(1 for d in deals.values() if d["status"] == "open")
    # Won value lands in the month of the win: A (day 10) and D (day 14) in October,
    # outside a horizon that starts in November.
    assert all(m["won_value"] == 0 for m in data["months"])
    october = run("forecast", "--as-of", at(9)[:10], "--months", "2", "-o", "json").json()
    assert october["months"][0]["month"] == "2026-10"
    assert october["months"][0]["won_count"] == 1  # C, won on day 8 (reopened only later)


def test_stale_lists_idle_past_close_and_sla_and_fails_for_cron(run, scenario):
    result = run("stale", "-o", "json")
    assert result.code == 0
    alerts = result.json()
    found = {(a["name"], a["kind"]) for a in alerts}
    # At day 40: B (proposal since day 6, rot 10) idle 34 d; E (prospecting since day 5,
    # rot 14) idle 35 d; F (qualification since day 7, rot 7) idle 33 d, 10 d past its close
    # date, and over the 48 h SLA by 33 d − 2 d.
    assert found == {("B enters late", "idle"), ("E no value", "idle"), ("F slipping", "idle"),
                     ("F slipping", "past_close"), ("F slipping", "sla")}
    overdue = {(a["name"], a["kind"]): a["overdue_days"] for a in alerts}
    assert overdue[("B enters late", "idle")] == pytest.approx(34 - 10, abs=0.01)
    assert overdue[("E no value", "idle")] == pytest.approx(35 - 14, abs=0.01)
    assert overdue[("F slipping", "sla")] == pytest.approx(33 - 2, abs=0.01)
    assert overdue[("F slipping", "past_close")] == 10
    assert [a["overdue_days"] for a in alerts] == sorted((a["overdue_days"] for a in alerts),
                                                         reverse=True)
    failed = run("stale", "--fail")
    assert failed.code == 3
    assert failed.err == "pipe: attention: 5 alerts on 3 deals need attention\n"
    quiet = run("stale", "--fail", "--as-of", at(1)[:10])
    assert quiet.code == 0 and "Nothing is stale." in quiet.out


def test_next_ranks_by_the_documented_formula(run, scenario):
    ranked = run("next", "-o", "json").json()
    deals = model()
    # score = weighted × (1 + min(idle / rot_days, 2) + closeness); closeness: 2 once the
    # close date has passed, 1 − days_to_close / 30 within 30 days, else 0.
    def score(name, stage_probability, rot, idle, to_close):
        value = deals[name]["value"] or 0
        closeness = 0 if to_close is None else (2 if to_close < 0 else max(0, 1 - to_close / 30))
        return value * stage_probability * (1 + min(idle / rot, 2) + closeness)

    expected = {"B enters late": score("B enters late", 0.6, 10, 34, 30),
                "F slipping": score("F slipping", 0.2, 7, 33, -10),
                "E no value": 0}
    assert [r["name"] for r in ranked] == sorted(expected, key=lambda n: -expected[n])
    for r in ranked:
        assert r["score"] == pytest.approx(expected[r["name"]], abs=0.01)


def test_probability_override_beats_the_stage(run, scenario):
    ids = {d["name"]: d["id"] for d in run("list", "-o", "json").json()}
    run("edit", ids["B enters late"], "--probability", "90", "--at", at(REPORT_DAY))
    proposal = next(s for s in run("report", "-o", "json").json()["stages"]
                    if s["key"] == "proposal")
    assert proposal["weighted_value"] == 1800  # 2,000 × 90 %, not × 60 %
    december = next(m for m in run("forecast", "-o", "json").json()["months"]
                    if m["month"] == "2026-12")
    assert december["weighted_value"] == 1800


def test_report_table_has_the_funnel_chart_and_reads_at_80_and_200(run, scenario,
                                                                      monkeypatch):
    for width in (80, 200):
        monkeypatch.setenv("COLUMNS", str(width))
        out = run("report", "-o", "table").out
        assert "Funnel" in out and "█" in out
        assert max(len(line) for line in out.splitlines()) <= width
    for fmt in ("plain", "csv", "json", "markdown"):
        assert "█" not in run("report", "-o", fmt).out


def test_empty_pipeline_has_no_rates(run, workspace):
    report = run("report", "-o", "json").json()
    totals = report["totals"]
    assert (totals["win_rate"], totals["avg_won_value"], totals["avg_cycle_days"],
            totals["velocity_per_day"]) == (None, None, None, None)
    assert all(s["conversion"] is None for s in report["stages"])
    assert "Win rate:   –" in run("report").out


def test_undone_mistakes_leave_no_trace_in_any_figure(run, scenario):
    """Changes taken back with `pipe undo` are out of the effective history for every figure:
    after the undos each report equals the one taken before the mistakes (which the tests
    above check against the model), including reports as of a moment after the mistakes."""
    ids = scenario
    commands = [("report", "-o", "json"), ("report", "--by", "owner", "-o", "json"),
                ("report", "--since", at(3)[:10], "--until", at(10)[:10], "-o", "json"),
                ("report", "--as-of", at(39.5)[:10], "-o", "json"),
                ("forecast", "--months", "3", "-o", "json"), ("stale", "-o", "json"),
                ("next", "-o", "json"), ("list", "--status", "all", "-o", "json")]
    before = {c: run(*c).out for c in commands}
    mistakes = [("move", ids["B enters late"], "prospecting", "--at", at(39)),
                ("won", ids["F slipping"], "--at", at(39)),
                ("lost", ids["E no value"], "--reason", "price", "--at", at(39)),
                ("reopen", ids["C won, reopened, lost"], "--at", at(39)),
                ("edit", ids["B enters late"], "--value", "9999", "--owner", "zed"),
                ("move", ids["D re-enters"], "won", "--at", at(39)),
                ("add", "Z mistake", "--value", "5000", "--at", at(39))]
    for command in mistakes:
        result = run(*command)
        assert result.code == 0, (command, result.err)
    assert run("report", "-o", "json").out != before[commands[0]]
    result = run("undo", "--steps", str(len(mistakes)))
    assert result.code == 0, result.err
    for command in commands:
        assert run(*command).out == before[command], command
