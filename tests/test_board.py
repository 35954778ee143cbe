"""`pipe board`: the open deals as columns by stage — their figures (computed here by hand,
with Fraction and Decimal, never by pipe's code), the order and limit of each column's
deals, several currencies, the filters every read command shares, the terminal layout at
60, 80 and 120 columns, hostile names, and the empty board — on both stores."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from decimal import Decimal
from fractions import Fraction

import pytest
from rich.cells import cell_len

from conftest import PIPELINE_YAML, add

OPEN = ("prospecting", "qualification", "proposal")
PROBABILITY = {"prospecting": 10, "qualification": 20, "proposal": 60}


def half_up(exact, places: int = 2) -> Decimal:
    """floor(x · 10^places + ½) for x ≥ 0: a tie goes up, as in a spreadsheet."""
    x = Fraction(exact) * 10 ** places
    return Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator)).scaleb(-places)


def board_json(run, *args) -> dict:
    result = run("board", "-o", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out, parse_float=Decimal)


def column(board: dict, key: str) -> dict:
    return next(c for c in board["columns"] if c["key"] == key)


def ids(board: dict, key: str) -> list[str]:
    return [d["id"] for d in column(board, key)["deals"]]


# Deals of the figures test: (name, stage, value, own probability); the email lets a deal
# enter qualification, whose stage requires one.
DEALS = [("Alpha", "prospecting", "1000.05", None),
         ("Beta", "prospecting", "149.70", "5"),  # 7.485: a tie a float would round down
         ("Gamma", "prospecting", None, None),
         ("Delta", "qualification", "2500.50", None),
         ("Epsilon", "proposal", "0.05", "50"),  # 0.025
         ("Zeta", "proposal", "333.33", None)]  # 199.998


@pytest.fixture
def figures(run, workspace):
    made = {}
    for name, stage, value, own in DEALS:
        args = [name, "--stage", stage, "--email", "x@example.com"]
        args += ["--value", value] if value else []
        args += ["--probability", own] if own else []
        made[name] = add(run, *args)
    won = add(run, "Won one", "--value", "9999")
    assert run("won", won).code == 0
    lost = add(run, "Lost one", "--value", "8888")
    assert run("lost", lost, "--reason", "price").code == 0
    return made


def expected_columns() -> dict:
    """Each open stage's count, value, exact weighted value and deals' weighted values, by
    hand from DEALS."""
    out = {k: {"count": 0, "value": Fraction(0), "weighted": Fraction(0), "deals": {}}
           for k in OPEN}
    for name, stage, value, own in DEALS:
        amount = Fraction(value) if value else Fraction(0)
        w = amount * Fraction(own if own else PROBABILITY[stage]) / 100
        line = out[stage]
        line["count"] += 1
        line["value"] += amount
        line["weighted"] += w
        line["deals"][name] = w
    return out


def test_columns_are_the_open_stages_with_hand_computed_figures(run, figures):
    board = board_json(run)
    expected = expected_columns()
    assert [c["key"] for c in board["columns"]] == list(OPEN)  # no won or lost column
    for c in board["columns"]:
        e = expected[c["key"]]
        assert c["count"] == e["count"] and c["more"] == 0
        assert c["value"] == half_up(e["value"])
        assert c["weighted_value"] == half_up(e["weighted"])
        assert c["probability"] == PROBABILITY[c["key"]]
        for d in c["deals"]:
            assert d["weighted_value"] == half_up(e["deals"][d["name"]]), d["name"]
    assert column(board, "prospecting")["weighted_value"] == Decimal("107.49")  # 100.005+7.485
    beta = next(d for d in column(board, "prospecting")["deals"] if d["name"] == "Beta")
    assert beta["weighted_value"] == Decimal("7.49") and beta["probability"] == 5
    assert column(board, "proposal")["weighted_value"] == Decimal("200.02")  # 200.023
    totals = board["totals"]
    assert totals["count"] == len(DEALS)
    assert totals["value"] == half_up(sum(e["value"] for e in expected.values()))
    assert totals["weighted_value"] == half_up(sum(e["weighted"] for e in expected.values()))
    assert (board["currency"], board["currencies"], board["converted"]) == ("USD", ["USD"],
                                                                             False)


def test_plain_and_table_show_the_same_figures(run, figures, monkeypatch):
    plain = run("board", "-o", "plain")
    assert plain.code == 0 and plain.err == ""
    assert "Prospecting (10%) — 3 deals, value 1,149.75, weighted 107.49" in plain.out
    assert "Qualification (20%) — 1 deal, value 2,500.50, weighted 500.10" in plain.out
    assert "Proposal (60%) — 2 deals, value 333.38, weighted 200.02" in plain.out
    assert "Open pipeline: 6 deals, value 3,983.63, weighted 807.61" in plain.out
    assert "Won one" not in plain.out and "Lost one" not in plain.out
    table = run("board", "-o", "table").out
    for figure in ("1,149.75", "107.49", "2,500.50", "500.10", "333.38", "200.02",
                   "3 deals", "1 deal", "2 deals", figures["Alpha"]):
        assert figure in table
    assert re.search(r"value +1,149\.75", table) and re.search(r"weighted +107\.49", table)


def test_limit_cuts_each_column_and_says_how_many_more(run, workspace):
    for i in range(7):
        add(run, f"Deal {i}", "--value", str(100 * (i + 1)))
    add(run, "Lone", "--stage", "proposal")
    board = board_json(run, "-n", "3")
    p = column(board, "prospecting")
    assert (p["count"], len(p["deals"]), p["more"]) == (7, 3, 4)
    assert [d["name"] for d in p["deals"]] == ["Deal 6", "Deal 5", "Deal 4"]
    assert p["value"] == 2800  # the sums cover every deal, shown or not
    assert column(board, "proposal")["more"] == 0
    assert board["limit"] == 3
    for fmt in ("plain", "table", "markdown"):
        out = run("board", "-n", "3", "-o", fmt).out
        assert "+4 more" in out and out.count("more") == 1, fmt
    nothing = board_json(run, "-n", "0")
    assert [len(c["deals"]) for c in nothing["columns"]] == [0, 0, 0]
    assert column(nothing, "prospecting")["more"] == 7
    assert "+7 more" in run("board", "-n", "0", "-o", "table").out
    assert len(column(board_json(run), "prospecting")["deals"]) == 5  # the default


def test_each_sort_orders_every_column(run, workspace):
    made = {
        "b": add(run, "bravo", "--value", "300", "--close-date", "2026-12-20",
                 "--at", "2026-11-03"),
        "a": add(run, "Alpha", "--value", "100", "--at", "2026-11-01"),
        "n": add(run, "november", "--close-date", "2026-12-01", "--at", "2026-11-05"),
        "c": add(run, "charlie", "--value", "200", "--close-date", "2026-12-10",
                 "--at", "2026-11-02"),
    }
    for key, day in (("a", "2026-11-10"), ("n", "2026-11-06"), ("b", "2026-11-08"),
                     ("c", "2026-11-07")):
        assert run("note", made[key], "touched", "--at", day).code == 0
    expected = {"value": "bcan", "name": "abcn", "created": "acbn", "updated": "ncba",
                "close": "ncba"}
    for sort, order in expected.items():
        shown = ids(board_json(run, "--sort", sort), "prospecting")
        assert shown == [made[k] for k in order], sort
        backwards = ids(board_json(run, "--sort", sort, "--reverse"), "prospecting")
        assert backwards == [made[k] for k in reversed(order)], sort
    assert ids(board_json(run, "--sort", "close", "-n", "2"), "prospecting") == \
        [made["n"], made["c"]]
    assert "by name, A to Z" in run("board", "--sort", "name", "-o", "plain").out


SEVERAL = PIPELINE_YAML.replace("currency: USD\n", "currency: USD\n{rates}")


@pytest.fixture
def store_name(workspace):
    text = (workspace / "pipeline.yaml").read_text()
    return "deals.sqlite" if "deals.sqlite" in text else "deals"


def test_several_currencies_without_rates_are_never_added(run, workspace, store_name):
    (workspace / "pipeline.yaml").write_text(SEVERAL.format(store=store_name, rates=""))
    add(run, "Dollar", "--value", "1000")
    add(run, "Euro big", "--value", "2500.50", "--currency", "EUR")
    add(run, "Euro small", "--value", "0.05", "--currency", "EUR", "--probability", "50")
    add(run, "Pound", "--value", "70", "--currency", "GBP", "--stage", "proposal")
    board = board_json(run)
    assert board["currency"] is None and board["converted"] is False
    assert board["currencies"] == ["EUR", "GBP", "USD"]
    p = column(board, "prospecting")
    assert p["value"] is None and p["weighted_value"] is None
    assert p["value_by_currency"] == {"EUR": Decimal("2500.55"), "GBP": 0, "USD": 1000}
    # 250.05 + 0.025 = 250.075 → 250.08 (half-up from the exact sum)
    assert p["weighted_value_by_currency"] == {"EUR": Decimal("250.08"), "GBP": 0,
                                               "USD": 100}
    # Values of different currencies do not compare: the pipeline's first, then by code.
    assert [d["name"] for d in p["deals"]] == ["Dollar", "Euro big", "Euro small"]
    assert board["totals"]["value"] is None
    assert board["totals"]["value_by_currency"] == {"EUR": Decimal("2500.55"),
                                                    "GBP": 70, "USD": 1000}
    table = run("board", "-o", "table").out
    assert "no rate for EUR and GBP" in table
    for amount in ("2,500.55 EUR", "1,000 USD", "250.08 EUR", "70 GBP", "42 GBP"):
        assert amount in table, amount
    plain = run("board", "-o", "plain").out
    assert "value 2,500.55 EUR; 1,000 USD, weighted 250.08 EUR; 100 USD" in plain
    rows = list(csv.DictReader(io.StringIO(run("board", "-o", "csv").out)))
    assert {(r["name"], r["value"], r["currency"], r["weighted_value"]) for r in rows} == {
        ("Dollar", "1000", "USD", "100"), ("Euro big", "2500.5", "EUR", "250.05"),
        ("Euro small", "0.05", "EUR", "0.03"), ("Pound", "70", "GBP", "42")}


def test_several_currencies_with_rates_are_converted_exactly(run, workspace, store_name):
    rates = "rates: {EUR: 1.0850, GBP: 1.2733}\n"
    (workspace / "pipeline.yaml").write_text(SEVERAL.format(store=store_name, rates=rates))
    add(run, "Dollar", "--value", "1000")
    add(run, "Euro big", "--value", "2500.50", "--currency", "EUR")
    add(run, "Euro small", "--value", "0.05", "--currency", "EUR", "--probability", "50")
    add(run, "Pound", "--value", "70", "--currency", "GBP", "--stage", "proposal")
    board = board_json(run)
    assert board["converted"] is True and board["currency"] == "USD"
    assert board["rates"] == {"EUR": Decimal("1.085"), "GBP": Decimal("1.2733")}
    eur, gbp = Fraction("1.085"), Fraction("1.2733")
    p = column(board, "prospecting")
    assert p["value"] == half_up(1000 + Fraction("2500.55") * eur)
    assert p["weighted_value"] == half_up(100 + (Fraction("250.05") + Fraction("0.025")) * eur)
    # By converted value: 2,500.50 EUR = 2,713.04 USD is worth more than 1,000 USD.
    assert [d["name"] for d in p["deals"]] == ["Euro big", "Dollar", "Euro small"]
    assert column(board, "proposal")["weighted_value"] == half_up(42 * gbp)
    total = 1000 + Fraction("2500.55") * eur + 70 * gbp
    assert board["totals"]["value"] == half_up(total)
    plain = run("board", "-o", "plain").out
    assert "converted to USD" in plain and f"{half_up(total):,}" in plain


# -- filters ----------------------------------------------------------------------------------


@pytest.fixture
def varied(run, workspace):
    add(run, "Acme rollout", "--value", "5000", "--owner", "Dana", "--source", "web",
        "--tag", "big", "--company", "Acme", "--close-date", "2026-12-01")
    add(run, "Société Générale", "--value", "700", "--owner", "lee", "--company", "SG",
        "--close-date", "2027-01-15", "--stage", "proposal")
    add(run, "Globex", "--value", "1200", "--owner", "dana", "--source", "fair",
        "--email", "a@globex.example", "--stage", "qualification")
    noted = add(run, "Initech", "--value", "90", "--source", "WEB", "--tag", "BIG")
    assert run("note", noted, "asked about societe pricing").code == 0
    add(run, "Euro", "--value", "5000", "--currency", "EUR", "--owner", "dana")
    add(run, "No value", "--owner", "lee", "--close-date", "2026-11-25")
    closed = add(run, "Closed", "--value", "3000", "--owner", "dana")
    assert run("won", closed).code == 0


FILTERS = [(), ("--owner", "DANA"), ("--source", "web"), ("--tag", "big"),
           ("-s", "societe"), ("--company", "acme"), ("--value-min", "1000"),
           ("--value-max", "1000"), ("--close-after", "2026-12-01"),
           ("--close-before", "2026-12-31"), ("--owner", "dana", "--value-min", "2000")]


@pytest.mark.parametrize("args", FILTERS, ids=lambda a: " ".join(a) or "none")
def test_filters_keep_the_deals_list_keeps(run, varied, args):
    """Whatever the filter, the board holds exactly the open deals `pipe list` lists under
    it, with the same sums per stage."""
    listed = run("list", "-o", "json", *args).json()
    board = board_json(run, "-n", "100", *args)
    for c in board["columns"]:
        mine = [d for d in listed if d["stage"] == c["key"]]
        assert sorted(d["id"] for d in c["deals"]) == sorted(d["id"] for d in mine)
        assert c["count"] == len(mine)
        if c["value"] is not None:
            assert c["value"] == sum(Decimal(str(d["value"] or 0)) for d in mine)
    assert board["totals"]["count"] == len(listed)
    # The report reads the same facts: a deal without a value or a close date is out of
    # a value or close-date range there too.
    assert run("report", "-o", "json", *args).json()["totals"]["open_count"] == len(listed)


def test_filters_that_match_nothing_say_so_in_one_sentence(run, varied):
    for fmt in ("table", "plain", "markdown"):
        result = run("board", "--owner", "nobody", "-o", fmt)
        assert (result.code, result.out, result.err) == \
            (0, "No open deals match the filters.\n", "")
    assert board_json(run, "--owner", "nobody")["totals"]["count"] == 0


def test_as_of_shows_the_board_as_it_stood(run, workspace):
    deal = add(run, "Mover", "--value", "100", "--at", "2026-11-01")
    assert run("move", deal, "proposal", "--at", "2026-11-10").code == 0
    then = board_json(run, "--as-of", "2026-11-05")
    assert ids(then, "prospecting") == [deal] and ids(then, "proposal") == []
    now = board_json(run)
    assert ids(now, "prospecting") == [] and ids(now, "proposal") == [deal]
    assert board_json(run, "--as-of", "2026-10-15")["totals"]["count"] == 0


# -- the terminal layout ----------------------------------------------------------------------

WIDE_LABELS = ["Lead in", "Contact made", "Needs defined", "Demo or meeting", "Proposal made",
               "Negotiation and commitment", "Contract sent"]


def wide_yaml(store: str) -> str:
    """A pipeline of seven open stages: more than fit side by side on 60 or 80 columns."""
    stages = "".join(f"  - {{key: s{i}, label: {label}, probability: {10 * i}}}\n"
                     for i, label in enumerate(WIDE_LABELS, start=1))
    return (f"name: wide\nlabel: Many stages\nkind: b2b\ncurrency: USD\nstore: {store}\n"
            f"stages:\n{stages}  - {{key: won, label: Won, probability: 100, outcome: won}}\n"
            f"  - {{key: lost, label: Lost, probability: 0, outcome: lost}}\n")


@pytest.fixture
def wide(run, workspace, store_name):
    (workspace / "pipeline.yaml").write_text(wide_yaml(store_name))
    made = {}
    for i in range(1, 8):
        for k in range(i % 3 + 1):
            name = f"Deal {i}.{k} " + ("with a rather long name for a card" if k else "")
            made[add(run, name, "--stage", f"s{i}", "--value",
                     f"{i * 123456.78 + k:.2f}")] = (i, k)
    return made


def rows_of_columns(out: str) -> list[list[str]]:
    """The board's rows of columns: the stage labels heading each (lines with a │ whose
    line below counts deals)."""
    lines = out.splitlines()
    rows = []
    for line, below in zip(lines, lines[1:]):
        if "deal" in below and "│" in below or re.match(r"^\d+ deals? ", below):
            rows.append([cell.strip() for cell in line.split("│")])
    return rows


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_board_fits_the_terminal_and_never_cuts_a_figure(run, wide, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    out = run("board", "-o", "table").out
    board = board_json(run)
    for line in out.splitlines():
        assert cell_len(line) <= width, line
    for c in board["columns"]:
        assert f"{c['count']} deal" in out
        for key in ("value", "weighted_value"):
            assert f"{c[key]:,}" in out, (c["key"], key)  # whole, on one line
        for d in c["deals"]:
            assert d["id"] in out and f"{d['value']:,}" in out
    rows = rows_of_columns(out)
    labels = [label for row in rows for label in row]
    assert len(labels) == 7  # every open stage, once, in pipeline order
    assert [label.rstrip("…") for label in labels] == \
        [c["label"][:len(label.rstrip("…"))] for c, label in zip(board["columns"], labels)]
    # As many side by side as fit with every figure on one line beside its word, and the
    # rows of columns filled evenly (7 stages by 3: 3, 3, 1; by 4: 4, 3).
    pairs = [f"weighted {c['weighted_value']:,}" for c in board["columns"]] + \
        [f"value {c['value']:,}" for c in board["columns"]] + \
        [f"{d['id']} {d['value']:,}" for c in board["columns"] for d in c["deals"]]
    fit = (width + 3) // (max(len(x) for x in pairs) + 3)  # " │ " between columns
    assert len(rows) == -(-7 // fit), rows
    across = -(-7 // len(rows))
    assert [len(row) for row in rows] == [across] * (len(rows) - 1) + [7 - across *
                                                                       (len(rows) - 1)]
    for c in board["columns"]:  # the word and its figure on one line
        assert re.search(r"weighted +" + re.escape(f"{c['weighted_value']:,}"), out)
    assert "…" in out  # long names are shortened to one line, never wrapped


def test_a_column_too_wide_for_the_terminal_runs_past_it(run, workspace, monkeypatch):
    add(run, "Huge", "--value", "999,999,999,999.99")
    monkeypatch.setenv("COLUMNS", "12")
    out = run("board", "-o", "table").out
    assert "999,999,999,999.99" in out  # not cut: the line is wider than the terminal


def test_plain_is_the_same_at_any_width(run, wide, monkeypatch):
    outs = set()
    for width in (40, 200):
        monkeypatch.setenv("COLUMNS", str(width))
        outs.add(run("board", "-o", "plain").out)
    assert len(outs) == 1
    assert "Deal 5.1 with a rather long name for a card" in outs.pop()  # whole


def test_markdown_is_a_section_per_stage(run, wide):
    out = run("board", "-o", "markdown", "-n", "1").out
    assert out.startswith("# Many stages (USD) — open deals as of 2026-11-20 10:00\n")
    headings = [line for line in out.splitlines() if line.startswith("## ")]
    assert [h.split(" (")[0] for h in headings] == [
        "## Lead in", "## Contact made", "## Needs defined", "## Demo or meeting",
        "## Proposal made", "## Negotiation and commitment", "## Contract sent"]
    # "+N more" is a paragraph of its own, never read as one more table row.
    assert re.search(r"\|\n\n\+2 more\n", out)


def test_csv_and_tsv_have_a_row_per_shown_deal_with_its_stage(run, wide):
    board = board_json(run, "-n", "2")
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.DictReader(io.StringIO(run("board", "-n", "2", "-o", fmt).out),
                                   delimiter=sep))
        assert [(r["stage"], r["id"], r["place"]) for r in rows] == [
            (c["key"], d["id"], str(i)) for c in board["columns"]
            for i, d in enumerate(c["deals"], start=1)]
        assert all(re.fullmatch(r"\d+(\.\d+)?", r["value"]) for r in rows)  # bare numbers


# -- hostile names, bad input, the empty board ------------------------------------------------

EVIL = "Evil\x1b]0;title\x07 [red]x[/red] a|b"


def hand_edit_name(workspace, backend, old: str, new: str) -> None:
    """A name no command would accept (control characters), as a hand-edited store has it."""
    from pipecli.store.codec import line_crc

    if backend == "csv":
        [log] = (workspace / "deals").glob("*.csv")
        header, *lines = log.read_text().splitlines()
        edited = []
        for line in lines:
            body = line.rpartition(",")[0]
            if old in body:
                body = body.replace(old, new)
                line = f"{body},{line_crc(body)}"
            edited.append(line)
        log.write_text("\n".join([header, *edited]) + "\n")
    else:
        with sqlite3.connect(workspace / "deals.sqlite") as conn:
            for table in ("events", "deals", "versions", "current"):
                conn.execute(f"UPDATE {table} SET name = ? WHERE name = ?", (new, old))
        conn.close()


def test_hostile_names_never_reach_the_terminal_raw(run, workspace, backend, monkeypatch):
    add(run, "Plain", "--value", "10")
    add(run, "名前" * 30, "--value", "20")  # wide characters, far too long for a column
    hand_edit_name(workspace, backend, "Plain", EVIL)
    assert board_json(run)["columns"][0]["deals"][1]["name"] == EVIL
    for fmt in ("table", "plain", "markdown", "csv", "tsv", "json"):
        out = run("board", "-o", fmt).out
        assert "\x1b" not in out and "\x07" not in out, fmt
    plain = run("board", "-o", "plain").out
    assert "Evil\\x1b]0;title\\x07 [red]x[/red] a|b" in plain
    assert "a\\|b" in run("board", "-o", "markdown").out  # a | would split the cell
    for width in (60, 80):
        monkeypatch.setenv("COLUMNS", str(width))
        table = run("board", "-o", "table").out
        assert "Evil\\x1b" in table and "名前名前" in table
        assert all(cell_len(line) <= width for line in table.splitlines())


def test_the_empty_board_is_one_sentence(run, workspace):
    for fmt in ("table", "plain", "markdown"):
        result = run("board", "-o", fmt)
        assert (result.code, result.out, result.err) == (0, "No open deals.\n", "")
    closed = add(run, "Closed", "--value", "5")
    assert run("won", closed).code == 0
    assert run("board").out == "No open deals.\n"
    board = board_json(run)
    assert [(c["count"], c["value"], c["deals"]) for c in board["columns"]] == \
        [(0, 0, [])] * 3
    assert run("board", "-o", "csv").out.count("\n") == 1  # the header alone


@pytest.mark.parametrize("args", [("--sort", "bogus"), ("-n", "-1"), ("-n", "many"),
                                  ("--value-min", "abc"), ("--as-of", "2026-02-30"),
                                  ("--close-after", "2026-12-01", "--close-before",
                                   "2026-11-01"), ("-p", "nope")])
def test_bad_input_is_one_sentence(run, workspace, args):
    add(run, "Acme", "--value", "1")
    result = run("board", *args)
    assert result.code in (1, 2) and result.out == ""
    assert result.err.startswith("pipe: error: ") and result.err.count("\n") == 1
    assert "Traceback" not in result.err


def test_a_deal_at_a_stage_the_file_no_longer_defines_is_named(run, workspace, store_name):
    deal = add(run, "Orphan", "--value", "5", "--stage", "qualification",
               "--email", "o@example.com")
    add(run, "Fine", "--value", "7")
    text = PIPELINE_YAML.format(store=store_name).replace(
        "  - key: qualification\n    label: Qualification\n    probability: 20\n"
        "    requires: [email]\n", "")
    (workspace / "pipeline.yaml").write_text(text)
    result = run("board", "-o", "plain")
    assert result.code == 0 and "Fine" in result.out and "Orphan" not in result.out
    assert deal in result.err and "pipe check" in result.err


def test_board_is_documented_and_kept_out_of_add(tmp_path):
    from pathlib import Path

    from test_startup import heavy, imported_modules

    docs = Path(__file__).parent.parent / "docs"
    assert "`pipe board" in (docs / "cli.md").read_text()
    assert "pipe board -o json" in (docs / "json.md").read_text()
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    modules = imported_modules(tmp_path, "add", "Acme", "--value", "100")
    assert not {"pipecli.engine.board", "pipecli.output.board_view"} & modules
    assert heavy(modules) == []
    assert "pipecli.engine.board" in imported_modules(tmp_path, "board")
