"""What users and scripts see: list/show/report in every format, hostile text shown literally."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from conftest import add

HOSTILE = ["[red]x[/red]", "[bold magenta]boss[/]", ":smile: [link=http://x]y[/link]",
           "=HYPERLINK(\"http://evil\",\"click\")", "+1+1", "@SUM(A1)", "-2+3",
           "名前 – Ava Smith", "Robert'); DROP TABLE deals;--"]


@pytest.fixture
def populated(run, workspace):
    """Five deals in known states (values chosen so every figure is easy to check)."""
    ids = {
        "a": add(run, "Acme rollout", "--value", "10000", "--email", "a@acme.com",
                 "--owner", "dana", "--source", "webinar", "--tag", "enterprise",
                 "--close-date", "2026-12-15", "--at", "2026-11-01"),
        "b": add(run, "Beta pilot", "--value", "2500.50", "--owner", "lee", "--at",
                 "2026-11-02"),
        "c": add(run, "Gamma deal", "--value", "4000", "--at", "2026-11-03"),
        "d": add(run, "Delta renewal", "--value", "8000", "--at", "2026-11-04"),
        "e": add(run, "Echo", "--at", "2026-11-05"),
    }
    run("move", ids["a"], "qualification", "--at", "2026-11-06")
    run("move", ids["b"], "proposal", "--at", "2026-11-07")
    run("won", ids["c"], "--value", "4200", "--at", "2026-11-08")
    run("lost", ids["d"], "--reason", "price", "--at", "2026-11-09")
    return ids


def test_report_json_is_the_documented_shape_with_exact_figures(run, populated):
    report = run("report", "-o", "json").json()
    assert report["pipeline"] == "sales" and report["currency"] == "USD"
    stages = {s["key"]: s for s in report["stages"]}
    assert [s["key"] for s in report["stages"]] == ["prospecting", "qualification", "proposal",
                                                     "won", "lost", "post_purchase"]
    assert (stages["prospecting"]["count"], stages["prospecting"]["value"]) == (1, 0)
    assert (stages["qualification"]["count"], stages["qualification"]["value"],
            stages["qualification"]["weighted_value"]) == (1, 10000, 2000)
    # 2,500.50 × 60 % = 1,500.30
    assert (stages["proposal"]["value"], stages["proposal"]["weighted_value"]) == \
        (2500.5, 1500.3)
    assert (stages["won"]["count"], stages["won"]["value"]) == (1, 4200)
    assert (stages["lost"]["count"], stages["lost"]["value"], stages["lost"]["weighted_value"]) \
        == (1, 8000, 0)
    # Gamma: created 11-03, won 11-08 at 4,200: a 5-day cycle. Velocity = 3 open deals ×
    # 4,200 average won × 1/2 win rate ÷ 5 days = 1,260 a day.
    assert report["totals"] == {"open_count": 3, "open_value": 12500.5,
                                "weighted_value": 3500.3, "won_count": 1, "won_value": 4200,
                                "lost_count": 1, "lost_value": 8000, "win_rate": 0.5,
                                "avg_won_value": 4200, "avg_cycle_days": 5.0,
                                "median_cycle_days": 5.0, "velocity_per_day": 1260,
                                "handed_off": 0, "returned": 0,
                                # Five deals entered the funnel, one (Gamma) reached won.
                                "entered": 5, "reached_won": 1, "conversion_to_won": 0.2}
    assert (report["currencies"], report["converted"], report["rates"]) == (["USD"], False, {})
    assert report["lost_reasons"] == [{"reason": "price", "count": 1, "value": 8000}]


def test_report_plain_is_stable_text(run, populated):
    result = run("report")  # not a terminal: plain is the default
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "Test sales (USD) — as of 2026-11-20 10:00"
    assert lines[2] == "Pipeline now"
    assert lines[3].split() == ["Stage", "Prob.", "Deals", "Value", "Weighted", "Avg", "age"]
    assert "Qualification" in lines[5] and "10,000" in lines[5] and "2,000" in lines[5]
    assert any(line.split()[:3] == ["Open", "pipeline", "3"] for line in lines)
    assert "Won:        1 deal, 4,200 USD" in result.out
    assert "Lost:       1 deal, 8,000 USD" in result.out
    assert "Win rate:   50.0%" in result.out
    assert "\x1b" not in result.out and "━" not in result.out and "█" not in result.out


def test_report_table_fits_80_columns(run, populated, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = run("report", "-o", "table")
    assert result.code == 0
    assert "Test sales" in result.out and "Qualification" in result.out
    assert "█" in result.out  # the funnel chart
    assert max(len(line) for line in result.out.splitlines()) <= 80


def test_list_defaults_to_open_deals_in_stage_order(run, populated):
    result = run("list", "-o", "json")
    names = [d["name"] for d in result.json()]
    assert names == ["Echo", "Acme rollout", "Beta pilot"]
    plain = run("list")
    assert "2 won or lost deals not shown" in plain.out


def test_list_json_deal_shape(run, populated):
    deals = run("list", "--status", "all", "-o", "json").json()
    assert len(deals) == 5
    required = {"id", "name", "pipeline", "stage", "status", "value", "currency", "company",
                "owner", "source", "created_at", "updated_at"}
    for d in deals:
        assert required <= d.keys()
        assert d["status"] in ("open", "won", "lost")
        assert d["value"] is None or isinstance(d["value"], (int, float))
    echo = next(d for d in deals if d["name"] == "Echo")
    assert echo["value"] is None


@pytest.mark.parametrize("args, expected", [
    (["--status", "won"], ["Gamma deal"]),
    (["--status", "lost"], ["Delta renewal"]),
    (["--owner", "DANA"], ["Acme rollout"]),
    (["--source", "webinar"], ["Acme rollout"]),
    (["--tag", "enterprise"], ["Acme rollout"]),
    (["--stage", "proposal"], ["Beta pilot"]),
    (["--status", "all", "--sort", "value"],
     ["Acme rollout", "Delta renewal", "Gamma deal", "Beta pilot", "Echo"]),
    (["--status", "all", "--sort", "name"],
     ["Acme rollout", "Beta pilot", "Delta renewal", "Echo", "Gamma deal"]),
    (["--status", "all", "--sort", "created", "--reverse"],
     ["Echo", "Delta renewal", "Gamma deal", "Beta pilot", "Acme rollout"]),
])
def test_list_filters_and_sorts(run, populated, args, expected):
    result = run("list", *args, "-o", "json")
    assert result.code == 0, result.err
    assert [d["name"] for d in result.json()] == expected


def test_list_bad_sort_and_stage(run, populated):
    assert run("list", "--sort", "colour").code == 2
    result = run("list", "--stage", "nowhere")
    assert result.code == 1 and "no stage 'nowhere'" in result.err


def test_list_csv_and_tsv_are_machine_values(run, populated):
    rows = list(csv.reader(io.StringIO(run("list", "--status", "all", "-o", "csv").out)))
    assert rows[0] == ["ID", "Name", "Stage", "Value", "Company", "Owner", "Close"]
    beta = next(r for r in rows if r[1] == "Beta pilot")
    assert beta[3] == "2500.5"
    tsv = run("list", "-o", "tsv").out.splitlines()
    assert tsv[0].split("\t")[0] == "ID"


def test_list_markdown(run, populated):
    out = run("list", "-o", "markdown").out
    assert out.splitlines()[0].startswith("| ID")


def test_show_has_fields_and_dated_history(run, populated):
    result = run("show", populated["a"])
    assert result.code == 0
    assert "Acme rollout" in result.out and "Qualification (open)" in result.out
    rows = [line.split(None, 3) for line in result.out.splitlines()
            if line.startswith("2026-11-")]
    assert rows == [["2026-11-01", "00:00", "created", "at Prospecting, 10,000 USD"],
                    ["2026-11-06", "00:00", "moved", "Prospecting → Qualification"]]
    data = run("show", populated["a"], "-o", "json").json()
    assert [e["event"] for e in data["history"]] == ["created", "moved"]
    assert data["history"][1]["at"] == "2026-11-06T00:00:00+00:00"
    assert data["history"][1]["sets"] == {"pipeline": "sales", "stage": "qualification",
                                        "status": "open"}


def test_empty_store_reports_zero(run, workspace):
    report = run("report", "-o", "json").json()
    assert report["totals"]["open_count"] == 0
    assert run("list").out.strip() == "No deals match."


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("fmt", ["table", "plain", "markdown"])
def test_hostile_names_print_literally(run, workspace, name, fmt):
    deal_id = add(run, "--note", name, "--", name)  # "--": a name may start with "-"
    for args in (["list", "-o", fmt], ["show", deal_id, "-o", fmt]):
        result = run(*args)
        assert result.code == 0
        assert name in result.out, (args, result.out)
    assert run("show", deal_id, "-o", "json").json()["name"] == name


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_export_neutralises_formulas(run, workspace, name):
    add(run, "--", name)
    rows = list(csv.reader(io.StringIO(run("list", "-o", "csv").out)))
    cell = rows[1][1]
    if name[0] in "=+-@":
        assert cell == "'" + name
    else:
        assert cell == name


def test_control_characters_are_refused_on_input(run, workspace):
    for name in ("bad\x1b[31mred", "two\nlines", "bell\x07", "\x9b31m"):
        result = run("add", name)
        assert result.code == 2 and "control characters" in result.err
    assert run("add", "   ").code == 2
    assert "is 100000 characters long" in run("add", "x" * 100_000).err


def test_control_characters_from_a_hand_edited_store_are_escaped(run, workspace, backend):
    from pipecli.store.codec import line_crc

    deal_id = add(run, "Plain")
    evil = "Evil\x1b]0;title\x07"
    if backend == "csv":
        [log] = (workspace / "deals").glob("*.csv")
        header, line = log.read_text().splitlines()
        body = line.rpartition(",")[0].replace("Plain", evil)
        # Edited with care: the line's checksum matches, so the log reads it as data.
        log.write_text(f"{header}\n{body},{line_crc(body)}\n")
    else:
        with sqlite3.connect(workspace / "deals.sqlite") as conn:
            for table in ("events", "deals", "versions"):
                conn.execute(f"UPDATE {table} SET name = ?", (evil,))
        conn.close()
    out = run("list").out
    assert "\x1b" not in out and "\\x1b]0;title\\x07" in out
    shown = run("show", deal_id)
    assert shown.code == 0 and "\x1b" not in shown.out and "\\x1b]0;title\\x07" in shown.out
    assert "\x1b" not in run("log").out
    assert json.loads(run("show", deal_id, "-o", "json").out)["name"] == "Evil\x1b]0;title\x07"


def test_weighted_values_round_half_up_in_every_format(run, workspace):
    add(run, "Lamp", "--value", "149.70")  # 149.70 × 10 % = 14.97; × 5 % would be 7.485
    add(run, "Odd", "--value", "0.05", "--probability", "50")  # 0.025 → 0.03, not 0.02
    report = run("report", "-o", "json").json()
    assert report["totals"]["weighted_value"] == 15.0  # 14.97 + 0.025 = 14.995 → 15.00
    assert "15" in next(line for line in run("report").out.splitlines()
                        if line.startswith("Open pipeline"))
    odd = next(d for d in run("list", "-o", "json").json() if d["name"] == "Odd")
    assert odd["weighted_value"] == 0.03


def test_empty_optional_columns_are_left_out_of_the_table(run, workspace, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    add(run, "Cosmetics set – Ava Smith", "--value", "49.90")
    header = next(line for line in run("list", "-o", "table").out.splitlines()
                  if line.strip()).split()
    assert header == ["ID", "Name", "Stage", "Value"]
    assert run("list").out.splitlines()[0].split()[-3:] == ["Company", "Owner", "Close"]


def test_json_text_is_laid_out_as_json_dumps_lays_it_out(run, populated):
    """The exact encoder (numbers digit for digit, docs/json.md) keeps the usual layout,
    for views, documents and streams alike."""
    for args in (["report"], ["list", "--status", "all"], ["next"], ["stale"],
                 ["show", populated["a"]], ["forecast"]):
        text = run(*args, "-o", "json").out
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", args


def test_json_numbers_never_go_through_a_float(run, workspace):
    """A Decimal is written as its digits: 0.1 + 0.2 stays 0.3, 2500.50 is 2500.5."""
    from decimal import Decimal

    from pipecli.output.render import json_text

    assert json_text({"a": Decimal("0.1") + Decimal("0.2"), "b": Decimal("2500.50"),
                      "c": Decimal("1E+3"), "d": Decimal("12345678901234567.89")}) == \
        '{\n  "a": 0.3,\n  "b": 2500.5,\n  "c": 1000,\n  "d": 12345678901234567.89\n}'
    assert repr(float(Decimal("12345678901234567.89"))) != "12345678901234567.89"
