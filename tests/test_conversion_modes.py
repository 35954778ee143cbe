"""`pipe report --conversion furthest|ordered|any` (docs/metrics.md, "Conversion modes"):
the funnel of a hand-made history worked out by hand in each mode, on both stores — reached,
its value, stage-to-stage conversion, drop-off, cumulative conversion, conversion to won per
stage, and the totals' and groups' conversion to won. (tests/test_engine_model.py checks
the modes against an independent model on random histories; tests/test_maven.py on the
Maven data.)"""

from __future__ import annotations

from fractions import Fraction

import pytest

from conftest import add

# The test pipeline's funnel: prospecting, qualification, proposal, won, post_purchase.
STAGES = ("prospecting", "qualification", "proposal", "won", "post_purchase")


@pytest.fixture
def history(run, workspace):
    """Six deals (value, owner, path; every step a day apart):
    A 100 ann: prospecting → qualification → proposal → won
    B 200 ann: prospecting → proposal → won                (skips qualification)
    C 300 ann: created at qualification → proposal → lost
    D 400 bo:  prospecting → proposal → qualification → proposal (open; went back)
    E 500 bo:  prospecting → lost
    F 600 bo:  created at proposal → won → post_purchase"""
    paths = {"A": ("100", "ann", None, ["qualification", "proposal", "won"]),
             "B": ("200", "ann", None, ["proposal", "won"]),
             "C": ("300", "ann", "qualification", ["proposal", "lost"]),
             "D": ("400", "bo", None, ["proposal", "qualification", "proposal"]),
             "E": ("500", "bo", None, ["lost"]),
             "F": ("600", "bo", "proposal", ["won", "post_purchase"])}
    for name, (value, owner, start, steps) in paths.items():
        args = ["--value", value, "--owner", owner, "--email", "x@example.com",
                "--at", "2026-10-01"]
        deal = add(run, name, *args, *(["--stage", start] if start else []))
        for day, step in enumerate(steps, start=2):
            at = ["--at", f"2026-10-{day:02d}"]
            if step == "won":
                result = run("won", deal, *at)
            elif step == "lost":
                result = run("lost", deal, "--reason", "price", *at)
            else:
                result = run("move", deal, step, *at)
            assert result.code == 0, result.err
    return workspace


F = Fraction
# mode → stage → (reached, reached value, conversion, drop-off, cumulative, to won)
EXPECTED = {
    "furthest": {"prospecting": (6, 2100, None, None, F(1), F(3, 6)),
                 "qualification": (5, 1600, F(5, 6), 1, F(5, 6), F(3, 5)),
                 "proposal": (5, 1600, F(1), 0, F(5, 6), F(3, 5)),
                 "won": (3, 900, F(3, 5), 2, F(3, 6), F(1)),
                 "post_purchase": (1, 600, F(1, 3), 2, F(1, 6), F(1))},
    # only the stages gone through one after the other from the first: B stops at
    # prospecting (it skipped qualification), C and F count nowhere, D counts to proposal
    # (prospecting, then qualification after going back, then proposal again)
    "ordered": {"prospecting": (4, 1200, None, None, F(1), F(1, 4)),
                "qualification": (2, 500, F(2, 4), 2, F(2, 4), F(1, 2)),
                "proposal": (2, 500, F(1), 0, F(2, 4), F(1, 2)),
                "won": (1, 100, F(1, 2), 1, F(1, 4), F(1)),
                "post_purchase": (0, 0, F(0), 1, F(0), None)},
    # each stage on its own; conversions count the deals both stages share
    "any": {"prospecting": (4, 1200, None, None, F(1), F(2, 4)),
            "qualification": (3, 800, F(2, 4), 2, F(2, 4), F(1, 3)),
            "proposal": (5, 1600, F(3, 3), 0, F(3, 4), F(3, 5)),
            "won": (3, 900, F(3, 5), 2, F(2, 4), F(1)),
            "post_purchase": (1, 600, F(1, 3), 2, F(0), F(1))},
}
# mode → (entered, reached won) overall, and per owner
TOTALS = {"furthest": ((6, 3), {"ann": (3, 2), "bo": (3, 1)}),
          "ordered": ((4, 1), {"ann": (2, 1), "bo": (2, 0)}),
          "any": ((4, 2), {"ann": (2, 2), "bo": (2, 0)})}


def rate(x: Fraction | None) -> float | None:
    """A fraction as the JSON gives it: 4 decimals, half-up (none of these is a tie)."""
    return None if x is None else round(float(x), 4)


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_each_mode_by_hand(run, history, mode):
    got = run("report", "--conversion", mode, "--by", "owner", "-o", "json").json()
    assert got["conversion"] == mode
    stages = {s["key"]: s for s in got["stages"]}
    for key, (reached, value, conversion, drop, cumulative, to_won) in EXPECTED[mode].items():
        s = stages[key]
        assert (s["reached"], s["reached_value"], s["conversion"], s["drop_off"],
                s["cumulative_conversion"], s["conversion_to_won"]) == \
            (reached, value, rate(conversion), drop, rate(cumulative), rate(to_won)), key
    lost = stages["lost"]
    assert (lost["reached"], lost["conversion"], lost["cumulative_conversion"],
            lost["conversion_to_won"]) == (None, None, None, None)
    (entered, won), groups = TOTALS[mode]
    t = got["totals"]
    assert (t["entered"], t["reached_won"], t["conversion_to_won"]) == \
        (entered, won, rate(F(won, entered)))
    # the totals' conversion to won is the first stage's
    assert t["conversion_to_won"] == stages["prospecting"]["conversion_to_won"]
    for g in got["groups"]:
        n, w = groups[g["group"]]
        assert (g["entered"], g["reached_won"], g["conversion_to_won"]) == \
            (n, w, rate(F(w, n))), g["group"]
    # what the mode does not touch: the deals now in each stage, won, lost, cycle
    default = run("report", "-o", "json").json()
    for s, d in zip(got["stages"], default["stages"]):
        assert (s["count"], s["value"], s["avg_days_in_stage"]) == \
            (d["count"], d["value"], d["avg_days_in_stage"])
    for key in ("won_count", "lost_count", "win_rate", "avg_cycle_days", "open_value"):
        assert t[key] == default["totals"][key], key


def test_as_of_counts_only_the_stays_begun_by_then(run, history):
    """As of 2 October, D had gone prospecting → proposal only: in order it counts at
    prospecting alone; A had reached qualification; B had reached proposal."""
    got = run("report", "--conversion", "ordered", "--as-of", "2026-10-02", "-o",
              "json").json()
    reached = {s["key"]: s["reached"] for s in got["stages"]}
    # A: P, Q; B: P; D: P; E: P (lost on the 2nd: still counted at P); C, F: nowhere
    assert [reached[k] for k in STAGES] == [4, 1, 0, 0, 0]


def test_a_reopened_deal_goes_on_in_order_and_an_undone_win_counts_nowhere(run, history):
    """B skipped qualification, so in order it counted at prospecting only; reopened at
    qualification and moved to proposal it goes on from there (prospecting, then
    qualification, then proposal); its second win, undone, never happened."""
    result = run("list", "--status", "all", "-o", "json")
    b = next(d["id"] for d in result.json() if d["name"] == "B")
    for args in (["reopen", b, "--stage", "qualification", "--at", "2026-10-10"],
                 ["move", b, "proposal", "--at", "2026-10-11"],
                 ["won", b, "--at", "2026-10-12"]):
        assert run(*args).code == 0
    got = run("report", "--conversion", "ordered", "-o", "json").json()
    assert {s["key"]: s["reached"] for s in got["stages"]}["won"] == 2  # A, and now B
    assert run("undo").code == 0  # B's second win never happened
    got = run("report", "--conversion", "ordered", "-o", "json").json()
    reached = {s["key"]: s["reached"] for s in got["stages"]}
    assert (reached["proposal"], reached["won"]) == (3, 1)  # B counts to proposal, not won


def test_the_table_says_what_reached_means(run, history):
    out = run("report", "--conversion", "ordered", "-o", "plain").out
    assert "reached = went through every stage before, in order" in out
    out = run("report", "--conversion", "any", "-o", "plain").out
    assert "reached = was ever in the stage" in out
    out = run("report", "-o", "plain").out
    assert "reached = got this far" in out
    csv = run("report", "--conversion", "any", "-o", "csv").out.splitlines()
    header = csv[0].split(",")
    assert "cumulative_conversion" in header and "conversion_to_won" in header
    qualification = next(line.split(",") for line in csv if line.startswith("qualification"))
    assert qualification[header.index("conversion_to_won")] == "0.3333"


def test_a_mode_pipe_does_not_know_is_one_sentence(run, history):
    result = run("report", "--conversion", "strict")
    assert result.code == 2
    assert "strict" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_the_whole_file_in_order(run, tmp_path):
    """--all: marketing's stages then sales', in order; a lead handed on from marketing's
    SQL stage goes on through the ordered funnel, one moved over to sales from its MQL
    stage (skipping SQL) stops at MQL."""
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "pipeline.yaml").write_text(
        "store: deals\ncurrency: USD\npipelines:\n"
        "  - name: mkt\n    kind: b2b\n    stages:\n"
        "      - {key: mql, label: MQL, probability: 5}\n"
        "      - {key: sql, label: SQL, probability: 10,"
        " handoff: {pipeline: sales, stage: demo}}\n"
        "      - {key: customer, label: Customer, probability: 100, outcome: won}\n"
        "      - {key: gone, label: Gone, probability: 0, outcome: lost}\n"
        "  - name: sales\n    kind: b2b\n    stages:\n"
        "      - {key: demo, label: Demo, probability: 40}\n"
        "      - {key: won, label: Won, probability: 100, outcome: won}\n"
        "      - {key: lost, label: Lost, probability: 0, outcome: lost}\n")
    f = ["-f", str(folder / "pipeline.yaml")]
    a = add(run, "A", *f, "-p", "mkt", "--at", "2026-10-01")
    b = add(run, "B", *f, "-p", "mkt", "--at", "2026-10-01")
    for args in (["move", a, "sql", "--at", "2026-10-02"],  # handed on to sales' demo
                 ["move", b, "demo", "--pipeline", "sales", "--at", "2026-10-02"],
                 ["won", a, "--at", "2026-10-03"], ["won", b, "--at", "2026-10-03"]):
        result = run(*args, *f)
        assert result.code == 0, result.err
    keys = ("mkt/mql", "mkt/sql", "sales/demo", "sales/won")
    for mode, want in (("ordered", [2, 1, 1, 1]), ("furthest", [2, 2, 2, 2]),
                       ("any", [2, 1, 2, 2])):
        got = run("report", "--all", "--conversion", mode, *f, "-o", "json").json()
        reached = {s["key"]: s["reached"] for s in got["stages"]}
        assert [reached[k] for k in keys] == want, mode


def test_the_html_page_counts_in_the_mode(run, history):
    """The page's funnel chart and stage flow table are the mode's figures: in order, the
    chart's bars and the table's Cumul. and To won cells are those worked out above."""
    from test_html import Page, assert_self_contained

    result = run("report", "--conversion", "ordered", "-o", "html")
    assert result.code == 0, result.err
    page = Page(result.out)
    assert_self_contained(page, result.out)
    chart = page.chart("chart-funnel")
    assert "Funnel: deals that reached each stage (reached = went through every stage " \
        "before, in order)" in result.out
    bars = [chart[i + 1] for i, t in enumerate(chart) if t in
            ("Prospecting", "Qualification", "Proposal", "Closed won", "Post-purchase")]
    assert bars == ["4", "2", "2", "1", "0"]
    text = " ".join(" ".join(page.text).split())
    assert "reached = went through every stage before, in order" in text
    # the qualification row: reached 2, value 500, 50.0 %, drop-off 2, cumulative 50.0 %,
    # to won 50.0 %
    assert "Qualification 2 500 50.0% 2 50.0% 50.0%" in text
