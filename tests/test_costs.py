"""`pipe costs` (cost per lead, per qualified lead, per won deal): a hand-made history whose
figures are worked out here by hand, on both stores; the Maven data against figures computed
straight from its CSV; every kind of bad or hostile costs file; the CSV formula guard."""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add
from pipecli.pipeline import load_workspace, parse_workspace
from pipecli.rounding import half_up
from test_golden import sample  # noqa: F401 - a fixture
from test_maven import DATA as MAVEN, rows as maven_rows

YAML_RATES_COSTS = "currency: USD\nrates: {EUR: 1.0850}\ncosts: costs.csv\n"
YAML = PIPELINE_YAML.replace("currency: USD\n", YAML_RATES_COSTS.replace("{", "{{")
                             .replace("}", "}}"))  # a template: its {store} is filled in
COSTS = """\
period,source,amount,currency
2026-10,webinar,1000,
2026-10,webinar,500,
2026-10,ads,"1,200.50",
2026-11,Webinar,900,
2026-11,ads,100,EUR
2026-11,ads,300,
2026-12,ads,250,
"""


def money(x) -> float | None:
    """An exact figure as JSON gives it: half-up to cents (None stays None)."""
    return None if x is None else float(half_up(Fraction(x), 2))


def expected_line(cost, leads, qualified, won, won_value) -> dict:
    """The JSON figures of one line, from its counts and exact cost."""
    def per(n):
        return money(Fraction(cost) / n) if cost is not None and n else None

    ratio = None if cost in (None, 0) or won_value is None else \
        float(half_up(Fraction(won_value) / Fraction(cost), 4))
    return {"cost": money(cost), "leads": leads, "cost_per_lead": per(leads),
            "qualified": qualified, "cost_per_qualified": per(qualified), "won": won,
            "cost_per_won": per(won), "won_value": money(won_value), "won_per_cost": ratio}


@pytest.fixture
def history(run, workspace):
    """Deals whose furthest stages are known: in October webinar A (won at 1,200 after
    qualification and proposal), B (qualified, then lost), C ("Webinar", still at
    prospecting); ads D (won straight from prospecting, 500); referral E (no cost row). In
    November webinar F (added at qualification), ads G (lost at prospecting) and H (won at
    3,000, then on to post-purchase), I without a source. September: webinar J, the last
    half hour of the month."""
    text = (workspace / "pipeline.yaml").read_text()  # the backend's store
    (workspace / "pipeline.yaml").write_text(text.replace("currency: USD\n", YAML_RATES_COSTS))
    (workspace / "costs.csv").write_text(COSTS)

    def deal(name, source, day, *more):
        return add(run, name, "--source", source, "--value", "1000", "--email", "x@y.co",
                   "--at", day, *more)

    def ok(*args):
        result = run(*args)
        assert result.code == 0, result.err

    a = deal("A", "webinar", "2026-10-02")
    ok("move", a, "qualification", "--at", "2026-10-05")
    ok("move", a, "proposal", "--at", "2026-10-08")
    ok("won", a, "--value", "1200", "--at", "2026-10-20")
    b = deal("B", "webinar", "2026-10-05")
    ok("move", b, "qualification", "--at", "2026-10-06")
    ok("lost", b, "--reason", "price", "--at", "2026-10-09")
    deal("C", "Webinar", "2026-10-10")
    d = add(run, "D", "--source", "ads", "--value", "500", "--at", "2026-10-03")
    ok("won", d, "--at", "2026-10-04")
    deal("E", "referral", "2026-10-15")
    deal("F", "webinar", "2026-11-01", "--stage", "qualification")
    g = deal("G", "ads", "2026-11-02")
    ok("lost", g, "--reason", "price", "--at", "2026-11-04")
    h = deal("H", "ads", "2026-11-03")
    ok("move", h, "qualification", "--at", "2026-11-05")
    ok("won", h, "--value", "3000", "--at", "2026-11-10")
    ok("move", h, "post_purchase", "--at", "2026-11-12")
    add(run, "I", "--at", "2026-11-05")
    deal("J", "webinar", "2026-09-30T23:30:00+00:00")
    return workspace


# By hand: (period, source) → cost, leads, qualified (furthest at or after qualification:
# a deal won straight from prospecting counts), won, won value.
BY_HAND = [
    ("2026-10", "ads", Decimal("1200.50"), 1, 1, 1, 500),
    ("2026-10", "referral", None, 1, 0, 0, 0),
    ("2026-10", "webinar", Decimal(1500), 3, 2, 1, 1200),          # two campaigns added
    ("2026-11", "ads", Decimal(300) + Decimal(100) * Decimal("1.085"), 2, 1, 1, 3000),
    ("2026-11", "webinar", Decimal(900), 1, 1, 0, 0),
    ("2026-11", "", None, 1, 0, 0, 0),                                # no source: last
    ("2026-12", "ads", Decimal(250), 0, 0, 0, 0),                     # a cost, no leads
]


def test_figures_by_period_and_source_match_the_hand_count(run, history):
    got = run("costs", "-o", "json")
    assert got.code == 0, got.err
    data = got.json()
    assert data["period"] == "month" and data["periods"] == ["2026-10", "2026-11", "2026-12"]
    assert data["qualified_stage"] == "qualification" and data["currency"] == "USD"
    assert [(r["period"], r["source"]) for r in data["rows"]] == \
        [(p, s) for p, s, *_ in BY_HAND]
    for row, (_, _, *figures) in zip(data["rows"], BY_HAND):
        assert {k: v for k, v in row.items() if k not in ("period", "source")} == \
            expected_line(*figures), row
    nov_ads = next(r for r in data["rows"] if r["period"] == "2026-11" and
                   r["source"] == "ads")
    assert nov_ads["cost"] == 408.5 and nov_ads["cost_per_lead"] == 204.25


def test_totals_per_source_and_blended(run, history):
    data = run("costs", "-o", "json").json()
    sources = {s["source"]: s for s in data["sources"]}
    ads = [x for x in BY_HAND if x[1] == "ads"]
    assert {k: v for k, v in sources["ads"].items() if k in expected_line(1, 0, 0, 0, 0)} \
        == expected_line(sum(x[2] for x in ads), 3, 2, 2, 3500)
    assert sources["ads"]["cost_per_lead"] == 619.67  # 1,859 ÷ 3, half-up
    assert sources["webinar"]["cost"] == 2400 and sources["webinar"]["cost_per_won"] == 2400
    # leads in a period without a cost row: that source's total cost is unknown
    assert sources["referral"]["cost"] is None and \
        sources["referral"]["missing_periods"] == ["2026-10"]
    assert sources[""]["cost"] is None and sources[""]["missing_periods"] == ["2026-11"]
    # blended: every cost of the shown periods ÷ every lead, sources without costs included
    cost = sum(x[2] for x in BY_HAND if x[2] is not None)
    assert data["total"] == expected_line(cost, 9, 5, 3, 4700)
    assert data["total"]["cost_per_lead"] == 473.22 and data["total"]["cost_per_won"] == \
        1419.67


def test_quarters_source_and_the_window(run, history):
    quarter = run("costs", "--period", "quarter", "-o", "json").json()
    assert quarter["periods"] == ["2026-Q4"]
    rows = {r["source"]: r for r in quarter["rows"]}
    assert rows["ads"]["cost"] == 1859 and rows["ads"]["leads"] == 3
    assert rows["webinar"]["leads"] == 4 and rows["webinar"]["cost"] == 2400
    only = run("costs", "--source", "WEBINAR", "-o", "json").json()
    assert {r["source"] for r in only["rows"]} == {"webinar"}
    assert only["periods"] == ["2026-10", "2026-11", "2026-12"]  # those of every source
    assert only["total"]["cost"] == 2400 and only["total"]["leads"] == 4
    # --since/--until keep the whole periods they overlap: September's half hour counts
    window = run("costs", "--since", "2026-09-15", "--until", "2026-10-02", "-o",
                 "json").json()
    assert window["periods"] == ["2026-09", "2026-10"]
    september = [r for r in window["rows"] if r["period"] == "2026-09"]
    assert [(r["source"], r["leads"], r["cost"]) for r in september] == [("webinar", 1, None)]
    assert window["total"]["leads"] == 6  # J, and all five October leads


def test_as_of_replays_the_past(run, history):
    data = run("costs", "--as-of", "2026-10-31", "-o", "json").json()
    rows = {(r["period"], r["source"]): r for r in data["rows"]}
    assert rows[("2026-10", "webinar")]["won"] == 1
    assert rows[("2026-11", "ads")]["leads"] == 0  # November's deals did not exist yet
    assert ("2026-11", "") not in rows


def test_the_cohort_is_the_reports(run, history):
    """Leads of a month and source are `pipe report --since --until --source`'s entered,
    and its won the report's reached_won."""
    report = run("report", "--since", "2026-10-01", "--until", "2026-10-31", "--source",
                 "webinar", "-o", "json").json()["totals"]
    row = next(r for r in run("costs", "-o", "json").json()["rows"]
               if (r["period"], r["source"]) == ("2026-10", "webinar"))
    assert (row["leads"], row["won"]) == (report["entered"], report["reached_won"])


def test_the_human_formats(run, history):
    out = run("costs", "-o", "plain").out
    assert "By month and source" in out and "Totals, 2026-10 to 2026-12" in out
    assert "1,200.50" in out and "408.50" in out and "(no source)" in out
    assert "All (blended)" in out and "473.22" in out
    assert "Leads without a cost row: referral (2026-10); (no source) (2026-11)" in \
        " ".join(out.split())
    assert "Costs in EUR converted to USD at the pipeline file's rates (1 EUR = 1.085 USD)" \
        in " ".join(out.split())
    markdown = run("costs", "-o", "markdown").out
    assert re.search(r"^\| 2026-10 +\| ads +\| +1,200.50 \| +1 \|", markdown, re.MULTILINE)
    assert "## Totals, 2026-10 to 2026-12" in markdown
    lines = run("costs", "-o", "csv").out.splitlines()
    assert lines[0] == ("period,source,cost,leads,cost_per_lead,qualified,cost_per_qualified,"
                        "won,cost_per_won,won_value,won_per_cost")
    assert "2026-11,ads,408.5,2,204.25,1,408.5,1,408.5,3000,7.3439" in lines
    assert lines[-1] == "(total),(all),4259,9,473.22,5,851.8,3,1419.67,4700,1.1035"
    assert "(total),referral,,1,,0,,0,,0," in lines


def test_a_qualified_stage_from_the_pipeline_file(run, history):
    text = (history / "pipeline.yaml").read_text()
    (history / "pipeline.yaml").write_text(text.replace("costs: costs.csv\n",
                                                        "costs: costs.csv\n"
                                                        "qualified_stage: proposal\n"))
    data = run("costs", "-o", "json").json()
    assert data["qualified_stage"] == "proposal"
    rows = {(r["period"], r["source"]): r for r in data["rows"]}
    assert rows[("2026-10", "webinar")]["qualified"] == 1  # only A got to proposal
    assert rows[("2026-10", "ads")]["qualified"] == 1  # D won: past every open stage
    assert rows[("2026-11", "ads")]["qualified"] == 1


# -- the Maven data ---------------------------------------------------------------------------

MAVEN_IMPORT = ["--map", "engage_date=created_at", "--map", "account=company",
                "--map", "deal_stage=stage", "--map", "close_value=value",
                "--closed-from", "engaging", "--map", "product=source"]
MAVEN_YAML = """\
name: maven
kind: b2b
currency: USD
store: {store}
costs: costs.csv
stages:
  - {{key: prospecting, label: Prospecting, probability: 10}}
  - {{key: engaging, label: Engaging, probability: 40}}
  - {{key: won, label: Won, probability: 100, outcome: won}}
  - {{key: lost, label: Lost, probability: 0, outcome: lost}}
"""
MONTHS = ["2017-01", "2017-02", "2017-03", "2017-04", "2017-05", "2017-06"]


def maven_costs() -> dict[tuple[str, str], Decimal]:
    """A made-up spend per product (as products.csv names them, so "GTX Pro" has costs and
    the deals' "GTXPro" none) and month: a price-based amount with cents."""
    with open(MAVEN / "products.csv", newline="", encoding="utf-8") as f:
        products = list(csv.DictReader(f))
    return {(m, p["product"]): Decimal(p["sales_price"]) * (i + 2) + Decimal("0.35")
            for i, m in enumerate(MONTHS) for p in products}


@pytest.mark.skipif(not (MAVEN / "sales_pipeline.csv").exists(),
                    reason="../shared/datasets is not beside this checkout")
@pytest.mark.parametrize("store", ["deals", "deals.sqlite"])
def test_maven_against_its_csv(run, tmp_path, store):
    (tmp_path / "pipeline.yaml").write_text(MAVEN_YAML.format(store=store))
    spend = maven_costs()
    with open(tmp_path / "costs.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["period", "source", "amount"])
        out.writerows([m, p, str(a)] for (m, p), a in spend.items())
    imported = run("import", str(MAVEN / "sales_pipeline.csv"), *MAVEN_IMPORT)
    assert imported.code == 0, imported.err
    tally: dict = defaultdict(lambda: [0, 0, 0, 0])  # leads, qualified, won, won value
    for r in maven_rows():
        month = r["engage_date"][:7]
        if month in MONTHS:
            t = tally[(month, r["product"])]
            t[0] += 1
            t[1] += 1  # an engaged deal reached engaging, the second stage: qualified
            if r["deal_stage"] == "Won":
                t[2] += 1
                t[3] += int(r["close_value"])
    data = run("costs", "-o", "json").json()
    keys = sorted(set(tally) | set(spend), key=lambda k: (k[0], k[1].lower(), k[1]))
    assert [(r["period"], r["source"]) for r in data["rows"]] == keys
    for row in data["rows"]:
        key = (row["period"], row["source"])
        leads, qualified, won, value = tally.get(key, (0, 0, 0, 0))
        figures = {k: v for k, v in row.items() if k not in ("period", "source")}
        assert figures == expected_line(spend.get(key), leads, qualified, won, value), key
    assert data["total"] == expected_line(
        sum(spend.values()), sum(t[0] for t in tally.values()),
        sum(t[1] for t in tally.values()), sum(t[2] for t in tally.values()),
        sum(t[3] for t in tally.values()))
    quarter = run("costs", "--period", "quarter", "--source", "mg special", "-o",
                  "json").json()
    for row, q in zip(quarter["rows"], (MONTHS[:3], MONTHS[3:])):
        cost = sum(spend[(m, "MG Special")] for m in q)
        leads = sum(tally[(m, "MG Special")][0] for m in q)
        assert (row["cost"], row["leads"]) == (money(cost), leads)
        assert row["cost_per_lead"] == money(cost / leads)


# -- bad and hostile costs files ------------------------------------------------------------

@pytest.fixture
def costs_file(run, tmp_path):
    """A workspace (USD, a rate for EUR only) whose costs.csv is the given bytes; returns
    a function that runs `pipe costs` on it."""
    (tmp_path / "pipeline.yaml").write_text(YAML.format(store="deals"))

    def with_file(content: bytes | str, *args):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / "costs.csv").write_bytes(data)
        return run("costs", *args)

    return with_file


def refused(result, *phrases, code=1):
    """One clear refusal: its exit code, nothing on stdout, no traceback, the phrases."""
    assert result.code == code, (result.code, result.err)
    assert result.out == "" and "Traceback" not in result.err
    assert all(line.startswith("pipe: error: ") for line in result.err.splitlines())
    assert "\x1b" not in result.err and "\u202e" not in result.err
    for phrase in phrases:
        assert phrase in result.err, (phrase, result.err)


HEADER = "period,source,amount\n"


@pytest.mark.parametrize("row, phrase", [
    ("2026-13,ads,100", "'2026-13' is not a period: write a month (2026-03), a quarter"),
    ("2026/10,ads,100", "'2026/10' is not a period"),
    ("Oct 2026,ads,100", "is not a period"),
    ("2026-Q5,ads,100", "is not a period"),
    ("26-10,ads,100", "is not a period"),
    (",ads,100", "column 'period' is empty"),
    ("2026-10,,100", "column 'source' is empty"),
    ("2026-10,ads,", "column 'amount' is empty"),
    ('2026-10,ads,"1.000,50"', "with a decimal comma it would be 1000.5"),
    ("2026-10,ads,2.500", "or it is 2500 with the point between thousands"),
    ("2026-10,ads,-5", "is negative"),
    ("2026-10,ads,(5)", "is negative"),
    ("2026-10,ads,abc", "'abc' is not an amount"),
    ("2026-10,ads,1e5", "not an exponent"),
    ("2026-10,ads,100.555", "more than 2 decimal places"),
    ("2026-10,ads,500 GBP", "column 'amount': GBP has no rate in the `rates:`"),
    ("2026-10,ads,£500", "'£500' names a currency sign several currencies use; say which"),
    ("2026-10,\x1b[31mads,100", "column 'source' holds control characters"),
    ("2026-10,ads\u202egnp.exe,100", "column 'source' holds control characters"),
    ("2026-10,ads,100,extra", "has 4 cells, the header has 3"),
])
def test_a_bad_row_is_refused_with_its_line_and_column(costs_file, row, phrase):
    result = costs_file(HEADER + "2026-09,ads,100\n" + row + "\n")
    refused(result, "costs.csv:3: ", phrase)
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize("currency, phrase", [
    ("XYZ", "column 'currency': currency 'XYZ' is not an ISO 4217 currency code"),
    ("GBP", "column 'currency': GBP has no rate in the `rates:` of pipeline.yaml"),
    ("HRK", "replaced by EUR"),
])
def test_a_currency_without_a_rate_or_code_is_refused(costs_file, currency, phrase):
    refused(costs_file(f"period,source,amount,currency\n2026-10,ads,100,{currency}\n"),
            "costs.csv:2: ", phrase)


def test_an_amount_naming_another_currency_than_its_row(costs_file):
    refused(costs_file("period,source,amount,currency\n2026-10,ads,€500,USD\n"),
            "costs.csv:2: column 'amount': '€500' names another currency than the row's, USD")
    good = costs_file("period,source,amount\n2026-10,ads,€500\n", "-o", "json")
    assert good.code == 0 and good.json()["rows"][0]["cost"] == 542.5  # 500 × 1.085


def test_every_bad_row_is_reported(costs_file):
    result = costs_file(HEADER + "2026-10,ads,100\n2026-13,ads,1\n2026-10,,x\n"
                        "2026-10,ads,-1\n")
    refused(result)
    assert result.err.splitlines() == [
        "pipe: error: costs.csv:3: column 'period': '2026-13' is not a period: write a "
        "month (2026-03), a quarter (2026-Q1) or a year (2026)",
        "pipe: error: costs.csv:4: column 'source' is empty: name the source the money was "
        "spent on",
        "pipe: error: costs.csv:4: column 'amount': amount 'x' is not an amount",
        "pipe: error: costs.csv:5: column 'amount': amount '-1' is negative; amounts must be "
        "0 or more"]


@pytest.mark.parametrize("content, phrase", [
    ("period,source\n2026-10,ads\n", "costs.csv: the header has no 'amount' column"),
    ("2026-10,ads,100\n", "the header has no 'period' or 'source' or 'amount' column"),
    ("period,source,amount,Amount\n2026-10,ads,1,2\n", "the header names 'amount' twice"),
    ("period,source,amount,amount\n2026-10,ads,1,2\n", "the header names 'amount' twice"),
    ('period,source,amount\n2026-10,"ads,100\n', "is never closed"),
    (b"period,source,amount\n2026-10,ads,\x00\n", "a binary file"),
    ("\n\n  \n", "costs.csv is empty"),
    ("period,source,amount\n2026-10,ads,100\n".encode("utf-16-le"), "--encoding utf-16-le"),
])
def test_a_file_that_cannot_be_read_is_one_sentence(costs_file, content, phrase):
    result = costs_file(content)
    refused(result, phrase)
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbfperiod,source,amount\r\n2026-10,ads,100\r\n",  # a UTF-8 mark, CRLF
    "period,source,amount\n2026-10,ads,100\n".encode("utf-16"),  # UTF-16 with its mark
    "Period;Source;Amount\n2026-10;ads;100\n",  # another delimiter, capitals
])
def test_byte_order_marks_delimiters_and_case_are_read(costs_file, content):
    result = costs_file(content, "-o", "json")
    assert result.code == 0, result.err
    assert [(r["source"], r["cost"]) for r in result.json()["rows"]] == [("ads", 100)]


def test_windows_1252_is_read_and_said(costs_file):
    result = costs_file("period,source,amount\n2026-10,salon é,100\n".encode("cp1252"),
                        "-o", "json")
    assert result.code == 0 and result.json()["rows"][0]["source"] == "salon é"
    assert "not UTF-8; read as Windows-1252" in result.err
    chosen = costs_file("period,source,amount\n2026-10,salon é,100\n".encode("latin-1"),
                        "--encoding", "latin-1", "-o", "json")
    assert chosen.code == 0 and chosen.err == ""


def test_other_columns_are_left_with_a_note(costs_file):
    result = costs_file("period,source,amount,campaign\n2026-10,ads,100,spring\n", "-o",
                        "json")
    assert result.code == 0 and result.json()["rows"][0]["cost"] == 100
    assert result.err == "pipe: costs.csv: column 'campaign' not read (pipe costs reads " \
                         "period, source, amount and currency)\n"


def test_a_coarser_period_than_asked_is_never_split(costs_file):
    content = HEADER + "2026-10,ads,100\n2026-Q4,ads,300\n2026,event,50\n"
    refused(costs_file(content, "--period", "month"),
            "costs.csv:3: the cost of 2026-Q4 is for a quarter, longer than --period month, "
            "and is never split by guessing; report by --period quarter, or give that cost "
            "per month; so is line 4", code=2)
    default = costs_file(content, "-o", "json")  # the longest period the file uses
    assert default.code == 0 and default.json()["period"] == "year"
    assert [(r["period"], r["cost"]) for r in default.json()["rows"]] == \
        [("2026", 400), ("2026", 50)]
    lower = costs_file(HEADER + "2026-q4,ads,300\n", "-o", "json")
    assert lower.json()["periods"] == ["2026-Q4"]


@pytest.mark.parametrize("content", ["period,source,amount\n", ""])
def test_a_file_without_costs_has_nothing_to_report(costs_file, content):
    result = costs_file(content)
    assert result.code == 0 and result.err == ""
    assert "costs.csv holds no costs yet: nothing to report." in result.out
    data = costs_file(content, "-o", "json").json()
    assert data["rows"] == [] and data["total"]["cost"] is None


def test_no_costs_file_or_key(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(YAML.format(store="deals"))
    refused(run("costs"), "the costs file costs.csv (`costs:` in pipeline.yaml) does not exist")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    refused(run("costs"), "pipeline.yaml gives pipeline 'sales' no costs file; add "
                          "`costs: costs.csv`")
    (tmp_path / "pipeline.yaml").write_text(YAML.format(store="deals"))
    (tmp_path / "costs.csv").mkdir()
    refused(run("costs"), "costs.csv is a folder, not a file")
    (tmp_path / "costs.csv").rmdir()
    os.mkfifo(tmp_path / "costs.csv")
    refused(run("costs"), "costs.csv is a named pipe (FIFO)")


def test_a_link_anywhere_on_the_way_is_refused(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(YAML.format(store="deals"))
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "costs.csv").write_text(HEADER + "2026-10,ads,100\n")
    (tmp_path / "costs.csv").symlink_to(elsewhere / "costs.csv")
    refused(run("costs"), "the costs file costs.csv is reached through a symbolic link "
                          "(costs.csv)")
    (tmp_path / "pipeline.yaml").write_text(
        YAML.format(store="deals").replace("costs: costs.csv", "costs: spend/costs.csv"))
    (tmp_path / "spend").symlink_to(elsewhere, target_is_directory=True)
    refused(run("costs"), "reached through a symbolic link (spend)")


@pytest.mark.parametrize("path, phrase", [
    ("../costs.csv", "costs '../costs.csv' leads outside the folder of pipeline.yaml"),
    ("spend/../../costs.csv", "leads outside the folder"),
    ("/etc/costs.csv", "must be a path relative to the folder of pipeline.yaml"),
    ("~/costs.csv", "not an absolute one"),
    ("costs.xlsx", "must name a .csv file"),
    ('"costs\\x1b.csv"', "control characters"),
])
def test_a_costs_path_out_of_the_workspace_is_a_problem_of_the_file(run, tmp_path, path,
                                                                     phrase):
    (tmp_path / "pipeline.yaml").write_text(
        YAML.format(store="deals").replace("costs: costs.csv", f"costs: {path}"))
    result = run("costs")
    refused(result, "pipeline.yaml:6: ", phrase)
    assert run("list").code == 1  # the pipeline file is wrong for every command


def test_the_pipeline_file_keys(tmp_path):
    base = PIPELINE_YAML.format(store="deals")
    ws = parse_workspace(base, tmp_path / "p.yaml")
    assert ws.pipelines[0].costs is None and ws.pipelines[0].qualified_stage is None
    ws = parse_workspace(base.replace("store: deals\n", "store: deals\ncosts: ./a/../c.csv\n"
                                      "qualified_stage: proposal\n"), tmp_path / "p.yaml")
    assert (ws.pipelines[0].costs, ws.pipelines[0].qualified_stage) == ("c.csv", "proposal")
    for stage in ("won", "nope"):
        with pytest.raises(Exception) as e:
            parse_workspace(base.replace("store: deals\n",
                                         f"store: deals\nqualified_stage: {stage}\n"),
                            tmp_path / "p.yaml")
        assert f"p.yaml:6: qualified_stage {stage!r} is not an open stage of 'sales' " \
               f"(open stages: prospecting, qualification, proposal)" in str(e.value)
    stages = "    stages:\n      - {key: a, probability: 10}\n      - {key: b, " \
             "probability: 50}\n      - {key: w, probability: 100, outcome: won}\n" \
             "      - {key: l, probability: 0, outcome: lost}\n"
    multi = ("store: deals\ncurrency: USD\ncosts: all.csv\npipelines:\n"
             f"  - name: one\n    kind: b2b\n{stages}"
             f"  - name: two\n    kind: b2b\n    costs: two.csv\n    qualified_stage: b\n"
             f"{stages}")
    one, two = parse_workspace(multi, tmp_path / "p.yaml").pipelines
    assert (one.costs, two.costs, two.qualified_stage) == ("all.csv", "two.csv", "b")


def test_formulas_are_guarded_in_csv(run, costs_file):
    add(run, "Deal", "--source", "@SUM(A1)", "--at", "2026-10-02")
    result = costs_file(HEADER + '2026-10,"=HYPERLINK(""http://x.example"",""y"")",100\n',
                        "-o", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert any(line.startswith("2026-10,\"'=HYPERLINK(\"\"http://x.example\"\"") for line in
               lines), lines
    assert any(line.startswith("2026-10,'@SUM(A1),") for line in lines), lines
    assert not any(",=" in line or ",@" in line for line in lines)


# -- the bundled sample and init ------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pipelines"


def test_the_b2b_sample_has_costs_to_show(run, sample):
    data = run("costs", "-o", "json").json()
    with open(SAMPLES / "data" / "b2b-pipeline-costs.csv", newline="") as f:
        spent = list(csv.DictReader(f))
    assert len(data["periods"]) == 6 and len(data["sources"]) == 5
    assert data["total"]["cost"] == sum(int(r["amount"]) for r in spent)
    assert data["total"]["leads"] > 30 and data["total"]["won"] > 5
    assert all(s["cost"] is not None for s in data["sources"])


def test_init_from_the_b2b_template_leaves_the_costs_line_out(run, tmp_path):
    assert "costs:" in (SAMPLES / "b2b-pipeline.yaml").read_text()
    assert run("init", "--template", "b2b-pipeline").code == 0
    assert "costs:" not in (tmp_path / "pipeline.yaml").read_text()
    assert load_workspace(tmp_path / "pipeline.yaml").pipelines[0].costs is None
    refused(run("costs"), "no costs file; add `costs: costs.csv`")
    assert run("add", "Acme", "--next", "Call", "--value", "10").code == 0


def test_the_table_fits_the_terminal(sample, monkeypatch):
    from test_golden import seen

    for width in (40, 60, 80, 100, 120, 140):
        out = seen(monkeypatch, ["costs"], width)
        assert "…" not in out and "[exit" not in out
        if width >= 60:
            assert max(len(line) for line in out.splitlines()) <= width, (width, out)
        assert "2026-06" in out.split() and "1,185.23" in out.split()  # the blended CPL


def test_the_period_helpers():
    from pipecli.engine.periods import Period, between, parse_period, period_of

    assert str(parse_period("2026-q2")) == "2026-Q2"
    assert parse_period("2026-Q4").last == date(2026, 12, 31)
    assert parse_period("2024-02").last == date(2024, 2, 29)
    assert parse_period("9999").last == date(9999, 12, 31)
    assert period_of(date(2026, 8, 31), "quarter") == Period(date(2026, 7, 1), "quarter")
    assert [str(p) for p in between(date(2026, 1, 31), date(2026, 4, 1), "quarter")] == \
        ["2026-Q1", "2026-Q2"]
    for text in ("0000", "2026-00", "2026-1", "2026-Q0", " ", "२०२६"):
        with pytest.raises(ValueError):
            parse_period(text)
