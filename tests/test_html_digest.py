"""`pipe digest -o html`: the digest as one self-contained page, read back with html.parser
and xml.etree (test_html's reader), on a hand-made history whose every figure was worked
out by hand from the events. Names, a lost reason and a next step are hostile."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from conftest import add
from test_html import ACME, DELTA, FREE_REASONS, PRICEY, QUOTE, Page, assert_self_contained

STEP = "Call <b>Bo</b> & 'co'"
SHALOM = "שלום Ltd"  # right to left
PERIOD = ("--since", "7d", "--as-of", "2026-11-15")  # (11-08 23:59:59, 11-15 23:59:59]


@pytest.fixture
def history(tmp_path, backend, run):
    """Before the period: A (ACME, 1,000), B (QUOTE, 500; qualification on 11-05), C
    (Gamma, 250, closing 11-20) and E (DELTA, 100, next step STEP due 11-12) created.
    In it: F (Fjord, 50, step due 11-10) and D (SHALOM, 300) created, D moved to
    qualification, A won, B lost (PRICEY), C moved to proposal then back to qualification
    and its close date moved to 12-20. After it: Zeta created.

    At the start: open A, C, E in prospecting (10 %), B in qualification (20 %): 4 deals,
    1,850, weighted 100 + 100 + 25 + 10 = 235; nothing closed: no win rate, 0 of 4 to won.
    At the end: open C, D in qualification, E, F in prospecting: 4 deals, 700, weighted
    50 + 60 + 10 + 5 = 125; won A (1,000), lost B: win rate 1 of 2, to won 1 of 6."""
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(FREE_REASONS.format(store=store))

    def ok(*args):
        result = run(*args)
        assert result.code == 0, result.err

    ids = {"a": add(run, ACME, "--value", "1000", "--email", "a@x.example", "--at",
                    "2026-11-01"),
           "b": add(run, QUOTE, "--value", "500", "--email", "b@x.example", "--at",
                    "2026-11-02"),
           "c": add(run, "Gamma", "--value", "250", "--email", "c@x.example",
                    "--close-date", "2026-11-20", "--at", "2026-11-03"),
           "e": add(run, DELTA, "--value", "100", "--next", STEP, "--due", "2026-11-12",
                    "--at", "2026-11-04")}
    ok("move", ids["b"], "qualification", "--at", "2026-11-05")
    ids["f"] = add(run, "Fjord", "--value", "50", "--next", "Send it", "--due", "2026-11-10",
                   "--at", "2026-11-09")
    ids["d"] = add(run, SHALOM, "--value", "300", "--email", "d@x.example", "--at",
                   "2026-11-10")
    ok("won", ids["a"], "--at", "2026-11-11")
    ok("lost", ids["b"], "--reason", PRICEY, "--at", "2026-11-12")
    ok("move", ids["d"], "qualification", "--at", "2026-11-12")
    ok("move", ids["c"], "proposal", "--at", "2026-11-13")
    ok("move", ids["c"], "qualification", "--at", "2026-11-14")
    ok("edit", ids["c"], "--close-date", "2026-12-20", "--at", "2026-11-14T12:00:00")
    add(run, "Zeta", "--value", "9", "--at", "2026-11-17")
    return ids


class Sections(HTMLParser):
    """The page's sections: each h2's text, its table rows (the cells' texts) and every
    text under it."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.found: dict[str, dict] = {}
        self._heading = self._cell = None
        self._row: list[str] | None = None
        self._h2 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._h2, self._heading = True, ""
        elif tag == "tr" and self._heading is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self._h2 = False
            self.found[self._heading] = {"rows": [], "text": ""}
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.found[self._heading]["rows"].append(self._row)
            self._row = None
        elif tag == "section":
            self._heading = None

    def handle_data(self, data):
        if self._h2:
            self._heading += data
        elif self._heading is not None:
            if self._cell is not None:
                self._cell += data
            self.found[self._heading]["text"] += data


def digest_page(run, *args) -> tuple[Page, Sections, str]:
    result = run("digest", *args, "-o", "html")
    assert result.code == 0, result.err
    return Page(result.out), Sections(result.out), result.out


def test_one_self_contained_page_with_every_section(history, run):
    page, sections, text = digest_page(run, *PERIOD)
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(page, text)
    assert list(sections.found) == [
        "Headline figures", "Changes in the period", "New deals (2)", "Won (1)", "Lost (1)",
        "Moved forward (2)", "Moved back (1)", "Close dates that slipped (1)",
        "Next steps overdue (2)"]
    assert page.title == ("Test sales (USD) — what changed, 2026-11-08 23:59 → "
                          "2026-11-15 23:59")
    assert "All deals: no filter." in " ".join(page.text)


def test_the_chart_counts_each_kind_of_change(history, run):
    page, _, _ = digest_page(run, *PERIOD)
    assert page.chart("chart-changes") == [
        "New deals", "2", "Won", "1", "Lost", "1", "Moved forward", "2", "Moved back", "1",
        "Close dates that slipped", "1", "Next steps overdue", "2"]


def test_the_headline_figures_by_hand_and_as_two_reports(history, run):
    _, sections, _ = digest_page(run, *PERIOD)
    rows = sections.found["Headline figures"]["rows"]
    assert rows == [
        ["Figure", "Start", "End", "Change"], ["Open deals", "4", "4", "0"],
        ["Open value", "1,850", "700", "-1,150"], ["Weighted value", "235", "125", "-110"],
        ["Won deals", "0", "1", "+1"], ["Won value", "0", "1,000", "+1,000"],
        ["Lost deals", "0", "1", "+1"], ["Win rate", "—", "50.0%", "—"],
        ["Conversion to won", "0.0%", "16.7%", "+16.7 pts"]]
    # And each is the report's, as of the start and as of the end.
    start = run("report", "--as-of", "2026-11-08", "-o", "json").json()["totals"]
    end = run("report", "--as-of", "2026-11-15", "-o", "json").json()["totals"]
    keys = ("open_count", "open_value", "weighted_value", "won_count", "won_value",
            "lost_count")
    for key, (_, a, b, change) in zip(keys, rows[1:]):
        assert (a, b) == (f"{start[key]:,}", f"{end[key]:,}"), key
        difference = end[key] - start[key]
        assert change == ("+" if difference > 0 else "") + f"{difference:,}", key
    assert rows[7][2] == f"{end['win_rate'] * 100:.1f}%" and start["win_rate"] is None
    points = Decimal(str(end["conversion_to_won"])) - Decimal(str(start["conversion_to_won"]))
    assert rows[8][3] == f"+{points * 100:.1f} pts"


def test_the_change_lists(history, run):
    _, sections, _ = digest_page(run, *PERIOD)
    body = {name: s["rows"][1:] for name, s in sections.found.items()}
    assert body["New deals (2)"] == [
        ["2026-11-09 00:00", history["f"], "Fjord", "50", "Prospecting"],
        ["2026-11-10 00:00", history["d"], SHALOM, "300", "Prospecting"]]
    assert body["Won (1)"] == [["2026-11-11 00:00", history["a"], ACME, "1,000"]]
    assert body["Lost (1)"] == [["2026-11-12 00:00", history["b"], QUOTE, "500", PRICEY]]
    assert body["Moved forward (2)"] == [
        ["2026-11-12 00:00", history["d"], SHALOM, "300", "Prospecting → Qualification"],
        ["2026-11-13 00:00", history["c"], "Gamma", "250", "Prospecting → Proposal"]]
    assert body["Moved back (1)"] == [
        ["2026-11-14 00:00", history["c"], "Gamma", "250", "Proposal → Qualification"]]
    assert body["Close dates that slipped (1)"] == [
        ["2026-11-14 12:00", history["c"], "Gamma", "250", "2026-11-20 → 2026-12-20"]]
    assert body["Next steps overdue (2)"] == [
        ["2026-11-10", history["f"], "Fjord", "Send it", ""],
        ["2026-11-12", history["e"], DELTA, STEP, ""]]


def test_the_tables_are_the_terminals(history, run):
    """Every row of `-o plain` is on the page, cell for cell."""
    _, sections, _ = digest_page(run, *PERIOD)
    cells = [" ".join(" ".join(row).split()) for s in sections.found.values()
             for row in s["rows"]]
    plain = run("digest", *PERIOD, "-o", "plain").out
    for line in plain.splitlines()[1:]:
        words = " ".join(line.split())
        if words and not words.endswith(")") and words != "Headline figures":
            assert words in cells


def test_hostile_text_is_text(history, run):
    page, _, text = digest_page(run, *PERIOD)
    assert_self_contained(page, text)  # no <img>, no <script>, no handler
    for hostile in (ACME, QUOTE, PRICEY, DELTA, STEP):
        assert hostile not in text
        assert hostile in " ".join(page.text)
    assert f"<bdi>{SHALOM}</bdi>" in text  # right-to-left text isolated


def test_control_and_bidi_characters_are_shown_escaped(history, tmp_path):
    """A hand-edited store can hold what pipe refuses on input: the page shows it escaped,
    as the terminal does."""
    from pipecli.engine.digest import digest
    from pipecli.engine.digest import period_start
    from pipecli.output.html.digest_page import digest_page as make
    from pipecli.pipeline import load_workspace
    from pipecli.store import open_store
    from pipecli.values import parse_when

    ws = load_workspace(tmp_path / "pipeline.yaml")
    end = parse_when("2026-11-15T23:59:59")
    value = digest(open_store(ws.store_path), ws, ws.pipeline(None), period_start("7d", end),
                   end)
    nasty = "a\u202eb\x1b[31mc\u2066"
    value.won[0] = replace(value.won[0], name=nasty)
    value.overdue[0] = replace(value.overdue[0], next_step=nasty)
    text = make(value, None)
    assert "\u202e" not in text and "\x1b" not in text and "\u2066" not in text
    assert text.count("<bdi>a\\u202eb\\x1b[31mc\\u2066</bdi>") == 2


def test_an_empty_list_is_one_sentence(history, run):
    _, sections, _ = digest_page(run, "--since", "1d", "--as-of", "2026-11-16")
    said = {name: " ".join(s["text"].split()) for name, s in sections.found.items()}
    assert said["New deals"] == "No deal was created in the period."
    assert said["Won"] == "No deal was won in the period."
    assert said["Lost"] == "No deal was lost in the period."
    assert said["Moved forward"] == "No deal moved forward in the period."
    assert said["Moved back"] == "No deal moved back in the period."
    assert said["Close dates that slipped"] == "No close date slipped in the period."
    assert "Next steps overdue (2)" in said
    _, sections, _ = digest_page(run, "--since", "1d", "--as-of", "2026-11-05")
    assert " ".join(sections.found["Next steps overdue"]["text"].split()) == \
        "No next step is overdue at the end of the period."


def test_the_filters_are_in_the_title(history, run):
    page, _, _ = digest_page(run, *PERIOD, "--owner", "nobody")
    assert page.title.endswith("2026-11-15 23:59 — owner nobody")
    assert "Filters: owner nobody." in "".join(page.text)
    texts = page.chart("chart-changes")  # nobody's deals: nothing changed
    assert texts[0] == "No deal changed in the period and no next step is overdue."
    assert texts[2::2] == ["0"] * 7



def test_output_writes_a_file(history, run, tmp_path):
    """--output as the other read commands: a .html name gets html without -o, any other
    name plain; a bad period writes nothing."""
    html = run("digest", *PERIOD, "-o", "html").out
    assert run("digest", *PERIOD, "--output", "digest.html").code == 0
    assert (tmp_path / "digest.html").read_text() == html
    assert run("digest", *PERIOD, "--output", "digest.txt").code == 0
    assert (tmp_path / "digest.txt").read_text() == run("digest", *PERIOD, "-o", "plain").out
    assert run("digest", *PERIOD, "-o", "json", "--output", "d.json").code == 0
    assert (tmp_path / "d.json").read_text() == run("digest", *PERIOD, "-o", "json").out
    bad = run("digest", "--since", "tomorrow", "--output", "x.html")
    assert bad.code == 2 and bad.err.count("\n") == 1 and not (tmp_path / "x.html").exists()
