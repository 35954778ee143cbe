"""The width rules of the table format (issue 12), for every width, not just the golden
ones: a number, an amount, a date or a short word is never cut or split; text wraps before
optional columns go; the columns that go are named on one line; an empty result is one
sentence; chart figures have headings and chart labels are never cropped; `next` explains
its score. The expected figures come from the JSON output, formatted here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from test_golden import sample, seen  # noqa: F401 - `sample` is a fixture

from pipecli.output.render import Chart, Column, View

WIDTHS = (40, 47, 54, 60, 67, 74, 80, 90, 100, 120, 140)
COMMANDS = ("report", "list", "next", "stale", "forecast")


def money(value) -> str:
    """An amount as people read it: thousands separated, cents only when there are any."""
    amount = Decimal(str(value))
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def hidden_names(out: str) -> str:
    """The hidden line (joined, if a narrow terminal wrapped it)."""
    text = " ".join(out.split("\n"))
    start = text.find("hidden: ")
    return "" if start < 0 else text[start:text.index(")", start) + 1]


def expected_words(command: str, data, hidden: str) -> set[str]:
    """Words and figures of the command's JSON output that its table must show whole
    (stale's stage only when its column is not hidden)."""
    words: set[str] = set()
    if command == "report":
        for s in data["stages"]:
            words |= set(s["label"].split()) | {str(s["count"]), money(s["value"]),
                                                money(s["weighted_value"])}
            if s["reached"] is not None:
                words |= {str(s["reached"]), money(s["reached_value"])}
        for r in data["lost_reasons"]:
            words |= set(r["reason"].split()) | {str(r["count"]), money(r["value"])}
    elif command == "forecast":
        for m in data["months"]:
            words |= {m["month"], str(m["open_count"]), money(m["open_value"]),
                      money(m["weighted_value"]), money(m["won_value"])}
    else:
        for item in data:
            words |= {item["id"]} | set(item["name"].split())
            if command != "stale" or "stage" not in hidden:
                words |= set(item["stage_label"].split())
            if command == "list":
                words.add(money(item["value"]))
            elif command == "next":
                words |= {money(item["score"]), str(item["rank"])}
            else:
                words |= set(item["found"].split())
    return {w for w in words if len(w) <= 16}


@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_is_cut_or_split_at_any_width(command, sample, run, monkeypatch):
    data = run(command, "-o", "json").json()
    for width in WIDTHS:
        out = seen(monkeypatch, [command], width)
        words = expected_words(command, data, hidden_names(out))
        assert len(words) > 10
        missing = words - set(out.split())
        assert not missing, (width, missing, out)
        assert "…" not in out, (width, out)  # nothing cropped either
        assert all(line == line.rstrip() for line in out.splitlines()), (width, out)
        if width >= 60:  # the sample fits from 60 columns on
            assert max(len(line) for line in out.splitlines()) <= width, (width, out)


def test_optional_columns_are_shown_or_named(sample, monkeypatch):
    """Every optional column of list, next and stale is in the header or on the hidden
    line, at every width; at 120 list and next hide nothing."""
    optional = {"list": ["Company", "Owner", "Close"],
                "next": ["Idle d", "Close", "Weighted", "Urgency"],
                "stale": ["Stage", "Alert", "Limit"]}
    for command, headers in optional.items():
        for width in WIDTHS:
            out = seen(monkeypatch, [command], width)
            hidden = hidden_names(out) + ","
            lines = out.splitlines()
            rule = next(k for k, line in enumerate(lines) if line.startswith(" ──"))
            heads = set(" ".join(lines[:rule]).split())  # a header may wrap
            for header in headers:
                assert (header.split()[0] in heads) != (f" {header.lower()}," in hidden or
                                                        f" {header.lower()} (" in hidden), \
                    (command, width, header, out)
    assert hidden_names(seen(monkeypatch, ["list"], 120)) == ""
    assert hidden_names(seen(monkeypatch, ["next"], 120)) == ""


def draw(monkeypatch, capsys, view, width: int) -> str:
    from pipecli.output.terminal import emit_table

    monkeypatch.setenv("COLUMNS", str(width))
    emit_table(view)
    return capsys.readouterr().out


NAME = "Northwind Traders – Annual licence renewal"  # 42 cells, words of at most 8


def test_text_wraps_before_an_optional_column_goes(monkeypatch, capsys):
    view = View([Column("ID"), Column("Name"), Column("Owner", drop=1)],
                [["a1", NAME, "dana"]], None)
    # 2 + 16 + 5 and 3 a column (less 1): 31 fits 40 with the name wrapped.
    out = draw(monkeypatch, capsys, view, 40)
    assert "hidden" not in out and "dana" in out, out
    assert set(NAME.split()) <= set(out.split())
    assert max(len(line) for line in out.splitlines()) <= 40
    assert NAME not in out  # wrapped
    assert NAME in draw(monkeypatch, capsys, view, 100)


def test_optional_columns_go_highest_drop_first_and_come_back_when_they_fit(monkeypatch,
                                                                          capsys):
    columns = [Column("ID"), Column("Name"), Column("Owner", drop=3),
               Column("Company", drop=2), Column("Close", "date", drop=1)]
    view = View(columns, [["a1", NAME, "dana", "Northwind Traders Incorporated",
                           "2026-12-01"]], None)
    # ID 2 + Name 16 + Owner 5 + Company 16 + Close 10 and 3 a column (less 1) is 63;
    # without owner 55, without owner and company 36, and owner back in 44. At 54: owner
    # goes first, then company, and owner comes back.
    out = draw(monkeypatch, capsys, view, 54)
    assert hidden_names(out) == "hidden: company (widen the terminal or use -o plain)", out
    assert {"dana", "2026-12-01"} <= set(out.split())
    out = draw(monkeypatch, capsys, view, 30)  # ID and Name only (23 + 5)
    assert hidden_names(out) == "hidden: owner, company, close (see -o plain)", out
    assert max(len(line) for line in out.splitlines()) <= 30


def test_the_hidden_line_is_one_line_when_it_can_be():
    from pipecli.output.terminal import hidden_line

    assert hidden_line(["Owner", "Company"], 80) == \
        "hidden: owner, company (widen the terminal or use -o plain)"
    assert hidden_line(["Owner", "Company"], 58) == \
        "hidden: owner, company (-o plain shows them)"
    assert hidden_line(["Owner", "Company"], 40) == "hidden: owner, company (see -o plain)"
    for width in range(37, 80):
        line = hidden_line(["Owner", "Company"], width)
        assert len(line) <= width, (width, line)
        assert line.startswith("hidden: owner, company (")


def test_figures_are_never_wrapped_even_past_the_edge(monkeypatch, capsys):
    view = View([Column("Name"), Column("Value", "money"), Column("Close", "date")],
                [["x", Decimal("123456789.25"), None]], None, currency="USD")
    out = draw(monkeypatch, capsys, view, 12)
    assert "123,456,789.25" in out.split(), out  # the line runs past 12 rather than cut


def test_a_long_word_is_folded_a_short_one_never(monkeypatch, capsys):
    email = "procurement.department@northwind-traders.example"  # 49 cells
    view = View([Column("ID"), Column("Email"), Column("Stage")],
                [["a1", email, "Negotiation / commitment"]], None)
    out = draw(monkeypatch, capsys, view, 40)
    assert max(len(line) for line in out.splitlines()) <= 40, out
    assert {"Negotiation", "commitment"} <= set(out.split()), out
    lines = out.splitlines()
    header = next(line for line in lines if "Email" in line)
    start, end = header.index("Email"), header.index("Stage")
    body = lines[lines.index(header) + 2:]
    assert email not in out, out  # folded, at the column's width
    assert "".join(line[start:end].strip() for line in body) == email, out


def test_an_empty_table_is_its_sentence(monkeypatch, capsys):
    view = View([Column("ID"), Column("Name")], [], None, notes=["No deals match."])
    assert draw(monkeypatch, capsys, view, 80) == "No deals match.\n"


@pytest.mark.parametrize("args, sentence", [
    (["list", "--owner", "nobody"], "No deals match.\n"),
    (["next", "--owner", "nobody"], "No open deals.\n"),
    (["stale", "--owner", "nobody"], "Nothing is stale.\n"),
])
def test_empty_results_print_one_sentence(sample, monkeypatch, args, sentence):
    for width in (60, 120):
        assert seen(monkeypatch, args, width) == sentence


def chart_lines(monkeypatch, capsys, chart, width: int) -> list[str]:
    from pipecli.output.terminal import emit_chart

    monkeypatch.setenv("COLUMNS", str(width))
    emit_chart(chart)
    return capsys.readouterr().out.splitlines()


FUNNEL = Chart("Funnel", [("Prospecting", 48, ("48", "1,823,355", "")),
                          ("Negotiation / commitment", 10, ("10", "290,855", "76.9%"))],
               headings=("Reached", "Value", "Conv."), short=(0, 2))


def test_chart_figures_have_headings_and_labels_are_never_cropped(monkeypatch, capsys):
    for width in (30, 40, 60, 80, 120):
        lines = chart_lines(monkeypatch, capsys, FUNNEL, width)
        heading = lines[1]
        text = "\n".join(lines)
        assert heading.split()[0] == "Reached" and heading.split()[-1] == "Conv.", lines
        assert {"Prospecting", "Negotiation", "/", "commitment", "76.9%"} <= \
            set(text.split()), lines
        assert "…" not in text
        # each figure is right-aligned under its heading
        row = next(line for line in lines if line.rstrip().endswith("76.9%"))
        assert len(row.rstrip()) == len(heading.rstrip()), lines
        if width >= 40:
            assert max(len(line) for line in lines) <= width, lines
    wide = "\n".join(chart_lines(monkeypatch, capsys, FUNNEL, 120))
    assert "Value" in wide and "290,855" in wide and "Negotiation / commitment" in wide
    narrow = "\n".join(chart_lines(monkeypatch, capsys, FUNNEL, 40))
    assert "290,855" not in narrow and "Value" not in narrow  # the short set


def test_an_empty_chart_says_so(monkeypatch, capsys):
    chart = Chart("Funnel", [("Prospecting", 0, ("0",))], headings=("Reached",),
                  empty="No deal has entered the funnel.")
    assert chart_lines(monkeypatch, capsys, chart, 80) == \
        ["Funnel", "No deal has entered the funnel."]


def test_next_shows_the_parts_of_its_score(sample, run, monkeypatch):
    """Weighted × Urgency is the score (Urgency to 2 places), and a legend says how."""
    ranked = run("next", "-o", "json").json()
    out = seen(monkeypatch, ["next"], 140)
    assert "Score = Weighted × Urgency" in out
    assert "Score = Weighted × Urgency" in run("next").out  # plain too
    for item in ranked:
        line = next(x for x in out.splitlines() if f" {item['id']} " in x)
        cells = line.split()
        urgency = Decimal(cells[-2])
        weighted = Decimal(cells[-3].replace(",", ""))
        score = Decimal(str(item["score"]))
        assert weighted == Decimal(str(item["weighted_value"]))
        # urgency = 1 + staleness + closeness, rounded half-up to 2 places
        assert abs(urgency - (1 + Decimal(str(item["staleness"])) +
                              Decimal(str(item["closeness"])))) <= Decimal("0.005")
        assert abs(weighted * urgency - score) <= weighted * Decimal("0.005") + 1, item
