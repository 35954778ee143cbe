"""`-o html` of pipe report, forecast and board: one self-contained page, read back with
html.parser and xml.etree as a browser and a mail client would get it.

The store is a hand-made history (six deals, below) whose every figure was worked out by
hand from the events, not by pipe: the charts' labels must hold exactly those figures,
formatted as the terminal formats them. Names, owners and lost reasons are hostile (markup,
quotes, ampersands); the page must show them as text and nothing else.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add

# The test pipeline without its list of lost reasons, so a reason can be any text.
FREE_REASONS = PIPELINE_YAML.replace("lost_reasons:\n  - price\n  - chose another vendor\n", "")

ACME = "Acme <script>alert(1)</script>"
QUOTE = "Quote \"Q\" & Co's <b>deal</b>"
BO = "<b>bo</b> & 'x' \"y\""
PRICEY = "too \"pricey\" <i>&amp;</i>"
DELTA = "Delta <img src=x onerror=alert(1)> ‘q’ & \"dq\" 'sq'"

# What the page may contain: a tag outside this list (a <script>, an <img>, an <a>)
# would be markup that came from somewhere it should not.
TAGS = {"html", "head", "meta", "title", "style", "body", "div", "header", "h1", "h2", "p",
        "span", "bdi", "section", "figure", "figcaption", "svg", "rect", "text", "table",
        "caption", "thead", "tbody", "tr", "th", "td", "br", "code", "footer"}
# Attributes that load something (or run it) in HTML or SVG.
LOADING = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data",
           "background", "lowsrc", "dynsrc", "ping", "manifest", "codebase", "cite"}


@pytest.fixture
def history(tmp_path, backend, run) -> Path:
    """Six deals, with every figure of the report worked out by hand (as of 2026-11-20):

    D1 Acme… 1,000, owner ann: 10-01 prospecting → qualification → proposal → won 10-21
    D2 Quote… 2,500.50, owner BO: 10-02 → qualification → lost 10-15, reason PRICEY
    D3 Beta 4,000, owner ann: 09-01 → qualification → proposal → won 11-15
    D4 Gamma 10,000, owner ann: 10-03 → qualification → proposal, open, closes 2026-12-10
    D5 DELTA 3,000, no owner: 10-04, open in prospecting, no close date
    D6 Eps 700, no owner: 11-01, lost 11-10 from prospecting, reason "no budget"
    """
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(FREE_REASONS.format(store=store))

    def ok(*args):
        result = run(*args)
        assert result.code == 0, result.err

    d1 = add(run, ACME, "--value", "1000", "--owner", "ann", "--email", "a@x.example",
             "--at", "2026-10-01")
    ok("move", d1, "qualification", "--at", "2026-10-05")
    ok("move", d1, "proposal", "--at", "2026-10-10")
    ok("won", d1, "--at", "2026-10-21")
    d2 = add(run, QUOTE, "--value", "2500.50", "--owner", BO, "--email", "q@x.example",
             "--at", "2026-10-02")
    ok("move", d2, "qualification", "--at", "2026-10-06")
    ok("lost", d2, "--reason", PRICEY, "--at", "2026-10-15")
    d3 = add(run, "Beta", "--value", "4000", "--owner", "ann", "--email", "b@x.example",
             "--at", "2026-09-01")
    ok("move", d3, "qualification", "--at", "2026-09-10")
    ok("move", d3, "proposal", "--at", "2026-10-01")
    ok("won", d3, "--at", "2026-11-15")
    d4 = add(run, "Gamma", "--value", "10000", "--owner", "ann", "--email", "g@x.example",
             "--close-date", "2026-12-10", "--at", "2026-10-03")
    ok("move", d4, "qualification", "--at", "2026-10-04")
    ok("move", d4, "proposal", "--at", "2026-10-08")
    add(run, DELTA, "--value", "3000", "--at", "2026-10-04")
    d6 = add(run, "Eps", "--value", "700", "--at", "2026-11-01")
    ok("lost", d6, "--reason", "no budget", "--at", "2026-11-10")
    return tmp_path


class Page(HTMLParser):
    """Everything a reader of the page gets: tags with their attributes, the text, the
    contents of <style> and <title>, and each <svg> element's source."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.title = ""
        self._in = ""
        self.feed(text)
        self.close()
        self.svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._in = ""

    def handle_data(self, data):
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "title" and not self.title:
            self.title = data
        self.text.append(data)

    def chart(self, ident: str) -> list[str]:
        """The texts of the chart with this id, in order (the SVG parsed as XML)."""
        found = [s for s in self.svgs if f'id="{ident}"' in s]
        assert len(found) == 1, f"chart {ident} missing (or twice)"
        return [t.text or "" for t in ET.fromstring(found[0]).iter("text")]


def page_of(run, *args) -> tuple[Page, str]:
    result = run(*args, "-o", "html")
    assert result.code == 0, result.err
    return Page(result.out), result.out


def assert_self_contained(page: Page, text: str) -> None:
    """No script, nothing loaded from anywhere, no tag but the page's own."""
    assert {tag for tag, _ in page.tags} <= TAGS
    for tag, attrs in page.tags:
        assert not LOADING & set(attrs), (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)  # no event handler: no script
            value = (value or "").lower()
            for bad in ("url(", "//", "http:", "https:", "javascript:", "data:", "@import"):
                assert bad not in value, (tag, name, value)
    for css in page.styles:
        for bad in ("url(", "@import", "//", "http", "@font-face"):
            assert bad not in css.lower()
    # The hand-made data holds no address, so none may appear anywhere at all.
    lowered = text.lower()
    assert "http" not in lowered and "//" not in lowered and "<script" not in lowered


def test_report_is_one_self_contained_page(history, run):
    page, text = page_of(run, "report", "--by", "owner")
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(page, text)
    for svg in page.svgs:  # well-formed: each chart parses as XML
        ET.fromstring(svg)
    # funnel, pipeline, outcomes, cycle; one per owner; the stage probabilities
    assert len(page.svgs) == 4 + 3 + 1


def test_hostile_text_is_text(history, run):
    """Markup in a deal's name, an owner or a lost reason is shown as those characters:
    the parsed page holds it as text (in tables and in the SVG labels), never as a tag or
    an attribute, on every page that shows it."""
    pages = {"report": page_of(run, "report", "--by", "owner"),
             "board": page_of(run, "board"), "forecast": page_of(run, "forecast", "--deals")}
    shows = {"report": (BO, PRICEY), "board": (DELTA,), "forecast": (DELTA,)}
    for name, (page, text) in pages.items():
        assert_self_contained(page, text)  # no <img>, no onerror: only the page's own tags
        for hostile in shows[name]:
            assert hostile not in text  # never raw
            assert hostile in " ".join(page.text)  # and read back exactly as typed
    report, text = pages["report"]
    assert f"Lost: {PRICEY}" in report.chart("chart-outcomes")
    assert f"owner: {BO}" in [t.text for s in report.svgs for t in ET.fromstring(s).iter("title")]
    assert "&lt;b&gt;bo&lt;/b&gt; &amp; &#x27;x&#x27; &quot;y&quot;" in text  # quotes too


def test_control_and_bidi_characters_are_shown_escaped():
    """A hand-edited store can hold what pipe refuses on input (an escape, a right-to-left
    override): the page shows it escaped as the terminal does, in HTML and in SVG."""
    from pipecli.output.html.svg import Bar, Row, Series, bar_chart, esc

    nasty = "a\u202eb\x1b[31mc\u2066"
    assert esc(nasty) == "a\\u202eb\\x1b[31mc\\u2066"
    svg = bar_chart("t", [Row(nasty, (Bar(0, 1.0, "1"),))], [Series("s", "#000000")]).svg
    texts = [t.text for t in ET.fromstring(svg).iter("text")]
    assert texts[0] == "a\\u202eb\\x1b[31mc\\u2066"
    assert "\u202e" not in svg and "\x1b" not in svg


def test_funnel_chart_has_the_hand_computed_figures(history, run):
    page, _ = page_of(run, "report")
    assert page.chart("chart-funnel") == [
        "Prospecting", "6", "value 21,200.50",
        "Qualification", "4", "value 17,500.50 · 66.7% converted · 2 dropped off",
        "Proposal", "3", "value 15,000 · 75.0% converted · 1 dropped off",
        "Closed won", "2", "value 5,000 · 66.7% converted · 1 dropped off",
        "Post-purchase", "0", "value 0 · 0.0% converted · 2 dropped off"]


def test_pipeline_chart_has_value_and_weighted_value(history, run):
    page, _ = page_of(run, "report")
    assert page.chart("chart-pipeline") == [
        "Value", "Weighted value",
        "Prospecting", "3,000", "300", "1 deal · 10% probability",
        "Qualification", "0", "0", "0 deals · 20% probability",
        "Proposal", "10,000", "6,000", "1 deal · 60% probability"]


def test_outcomes_chart_has_won_lost_and_each_reason(history, run):
    page, _ = page_of(run, "report")
    assert page.chart("chart-outcomes") == [
        "Won", "Lost", "Won", "5,000", "2 deals", "Lost", "3,200.50",
        "2 deals, by reason below", f"Lost: {PRICEY}", "2,500.50", "1 deal",
        "Lost: no budget", "700", "1 deal"]


def test_cycle_chart_counts_the_won_deals_by_bin(history, run):
    """D1 took 20 days (10-01 to 10-21), D3 75 days (09-01 to 11-15): mean and median 47.5."""
    page, _ = page_of(run, "report")
    texts = page.chart("chart-cycle")
    counts = dict(zip(texts[0::2], texts[1::2]))
    assert counts == {"under 7 days": "0 deals (0.0%)", "7–14 days": "0 deals (0.0%)",
                      "14–30 days": "1 deal (50.0%)", "30–60 days": "0 deals (0.0%)",
                      "60–90 days": "1 deal (50.0%)", "90–180 days": "0 deals (0.0%)",
                      "180–365 days": "0 deals (0.0%)", "365 days or more": "0 deals (0.0%)"}
    title = [s for s in page.svgs if 'id="chart-cycle"' in s][0]
    assert "47.5 days mean, 47.5 days median" in title


def test_by_groups_are_small_multiples_on_one_scale(history, run):
    page, _ = page_of(run, "report", "--by", "owner")
    # Groups in the table's order: (none) last; names sorted ignoring case.
    assert page.chart("chart-group-1")[:6] == ["Open value", "0", "Weighted", "0",
                                               "Won value", "0"]
    assert page.chart("chart-group-2")[:6] == ["Open value", "10,000", "Weighted", "6,000",
                                               "Won value", "5,000"]
    assert page.chart("chart-group-3")[:6] == ["Open value", "3,000", "Weighted", "300",
                                               "Won value", "0"]
    assert " ".join(page.chart("chart-group-2")[6:]) == (  # the note wraps in a panel
        "1 open · 2 won · 0 lost · win rate 100.0% · to won 66.7%")
    # One scale: ann's 10,000 is the longest bar of every panel, Delta's 3,000 is 0.3 of it.
    widths = {}
    for n in (2, 3):
        svg = [s for s in page.svgs if f'id="chart-group-{n}"' in s][0]
        widths[n] = float(ET.fromstring(svg).find("rect").get("width"))
    assert widths[3] / widths[2] == pytest.approx(0.3, abs=0.01)


def test_forecast_chart_by_month(history, run):
    """Open: Gamma closes 2026-12 (10,000, weighted 6,000); Delta has no date. Won in
    2026-11: Beta, 4,000 (Acme's October win is before the horizon)."""
    page, text = page_of(run, "forecast", "--months", "2")
    assert_self_contained(page, text)
    assert page.chart("chart-forecast") == [
        "Best case (every open deal won)", "Weighted value", "Won",
        "2026-11", "0", "0", "4,000", "0 deals open, expected to close · 1 deal won",
        "2026-12", "10,000", "6,000", "0", "1 deal open, expected to close · 0 deals won",
        "No close date", "3,000", "300", "1 deal open"]


def test_probabilities_given_beside_observed(history, run):
    """Closed: D1 and D3 won (both passed proposal), D2 lost in qualification, D6 lost in
    prospecting. Passed prospecting: all four, 2 won; qualification: D1, D2, D3, 2 won;
    proposal: D1, D3, both won. Every sample is below the floor (10): the given one is
    used, starred — as the terminal's table shows it."""
    page, _ = page_of(run, "report")
    texts = page.chart("chart-probabilities")
    assert texts == ["Given in the pipeline file", "Observed: won of the closed",
                     "Prospecting", "10%", "50.0%", "2 won of 4 closed · used 10.0%*",
                     "Qualification", "20%", "66.7%", "2 won of 3 closed · used 20.0%*",
                     "Proposal", "60%", "100.0%", "2 won of 2 closed · used 60.0%*"]
    stages = run("report", "-o", "json").json()["probabilities"]["stages"]
    assert len(texts[2:]) == 4 * len(stages)
    for o, (_, given, observed, note) in zip(stages, zip(*[iter(texts[2:])] * 4)):
        assert given == f"{o['configured']}%"
        assert observed == f"{Decimal(o['won'] * 100) / o['closed']:.1f}%"
        assert note == (f"{o['won']} won of {o['closed']} closed · used "
                        f"{o['used']:.1f}%{'*' if o['fallback'] else ''}")
    shown = " ".join(" ".join(page.text).split())
    assert "Stage probabilities: given and observed" in shown
    assert "* given: fewer closed deals passed the stage than the sample floor (10)" in shown
    plain = run("report", "-o", "plain").out.split("Stage probabilities")[1]
    for line in plain.splitlines()[2:5]:  # the table's rows: each cell on the page too
        assert " ".join(line.split()) in shown
    page, text = page_of(run, "report", "--all")  # one funnel over the file: none
    assert "chart-probabilities" not in text and "Stage probabilities" not in text


def test_forecast_shows_the_probabilities_it_used(history, run):
    """--sample-floor 3: prospecting (4 closed) and qualification (3) use the observed
    share, proposal (2) its given 60 %: Delta (prospecting, 3,000) weighs 1,500, Gamma
    (proposal, 10,000) 6,000."""
    page, text = page_of(run, "forecast", "--months", "2", "--probability", "historical",
                         "--sample-floor", "3")
    assert_self_contained(page, text)
    assert page.chart("chart-forecast")[8:] == [
        "2026-12", "10,000", "6,000", "0", "1 deal open, expected to close · 0 deals won",
        "No close date", "3,000", "1,500", "1 deal open"]
    notes = page.chart("chart-probabilities")[5::4]
    assert notes == ["2 won of 4 closed · used 50.0%", "2 won of 3 closed · used 66.7%",
                     "2 won of 2 closed · used 60.0%*"]
    assert "Stage probabilities used (historical)" in " ".join(page.text)
    _, text = page_of(run, "forecast")  # configured probabilities: no such section
    assert "chart-probabilities" not in text and "Stage probabilities" not in text


def test_board_page(history, run):
    page, text = page_of(run, "board")
    assert_self_contained(page, text)
    assert page.chart("chart-pipeline")[2:] == [
        "Prospecting", "3,000", "300", "1 deal · 10% probability",
        "Qualification", "0", "0", "0 deals · 20% probability",
        "Proposal", "10,000", "6,000", "1 deal · 60% probability"]
    shown = " ".join(" ".join(page.text).split())
    assert "Gamma" in shown and DELTA in shown and "Beta" not in shown  # open deals only
    assert "Open pipeline: 2 deals, value 13,000, weighted 6,300" in shown


def test_the_title_says_pipeline_moment_and_filters(history, run):
    page, _ = page_of(run, "report", "--as-of", "2026-11-01", "--owner", "ann",
                      "--since", "2026-09-01", "-s", "a&b")
    assert page.title == ("Test sales (USD) — as of 2026-11-01 23:59 — funnel: deals "
                          "created 2026-09-01 to …; won/lost: closed in that period; owner "
                          "ann; search “a&b”")
    h1 = "".join(page.text).split("Filters:")[0]
    assert "Test sales (USD) — as of 2026-11-01 23:59" in h1
    page, _ = page_of(run, "report")
    assert "All deals: no filter." in "".join(page.text)


def test_amounts_in_several_currencies_are_charted_apart(history, run):
    """Without rates, EUR and USD are never added: a money chart per currency."""
    add(run, "Euro deal", "--value", "500", "--currency", "EUR", "--at", "2026-10-10")
    page, _ = page_of(run, "report")
    assert page.chart("chart-pipeline-EUR")[2:4] == ["Prospecting", "500"]
    assert page.chart("chart-pipeline-USD")[2:4] == ["Prospecting", "3,000"]
    assert "value 500 EUR; 21,200.50 USD" in page.chart("chart-funnel")[2]
    assert 'id="chart-pipeline"' not in "".join(page.svgs)


def test_an_empty_pipeline_still_makes_a_page(workspace, run):
    page, text = page_of(run, "report")
    assert_self_contained(page, text)
    assert "No deal has entered the funnel." in page.chart("chart-funnel")
    board, _ = page_of(run, "board")
    assert "No open deals." in "".join(board.text)


@pytest.mark.parametrize("command", [["list"], ["stale"], ["next"], ["agenda"], ["stages"],
                                     ["log"], ["templates"]])
def test_other_commands_refuse_html_in_one_sentence(workspace, run, command):
    result = run(*command, "-o", "html")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("pipe: error: -o html is made by pipe report, forecast, "
                                 "board, digest, costs and customers only")
    assert result.err.count("\n") == 1


def test_output_writes_the_file_atomically(history, run):
    page = run("report", "-o", "html").out
    assert run("report", "--output", "report.html").code == 0  # .html: html without -o
    assert (history / "report.html").read_text() == page
    assert run("board", "--output", "board.txt").code == 0  # any other name: plain
    assert (history / "board.txt").read_text() == run("board", "-o", "plain").out
    assert run("forecast", "-o", "json", "--output", "f.json").code == 0
    assert (history / "f.json").read_text() == run("forecast", "-o", "json").out
    assert [p.name for p in history.iterdir() if p.name.endswith(".tmp")] == []


def test_output_never_writes_through_a_link(history, run):
    target = history / "elsewhere.txt"
    target.write_text("keep me")
    (history / "report.html").symlink_to(target)
    assert run("report", "--output", "report.html").code == 0
    assert target.read_text() == "keep me"  # the link was replaced, not followed
    assert not (history / "report.html").is_symlink()


def test_output_failure_is_one_sentence_and_leaves_nothing(history, run):
    result = run("report", "--output", "no/such/folder/r.html")
    assert result.code == 2 and result.err.startswith("pipe: error: cannot write")
    assert result.err.count("\n") == 1
    result = run("report", "--output", str(history))  # a folder
    assert result.code == 2 and result.err.startswith("pipe: error:")
    assert [p for p in os.listdir(history) if p.endswith(".tmp")] == []
    bad = run("report", "--as-of", "tomorrow!", "--output", "r.html")  # fails first
    assert bad.code == 2 and not (history / "r.html").exists()


def test_numbers_are_the_terminals(history, run):
    """Every figure of the funnel chart is the one `-o plain` prints in its stage flow."""
    page, _ = page_of(run, "report")
    plain = run("report", "-o", "plain").out
    for figure in ("21,200.50", "17,500.50", "15,000", "66.7%", "75.0%"):
        assert figure in plain
        assert any(figure in t for t in page.chart("chart-funnel"))


def test_charts_read_the_reports_pure_values(history, run):
    """The page is made from the engine's value, not from text: changing a figure in the
    value changes the chart (and a lost reason of any text is drawn as text)."""
    from pipecli.engine import report as engine
    from pipecli.engine.figures import LostReason
    from pipecli.output.html.report_page import report_page
    from pipecli.pipeline import load_workspace
    from pipecli.store import open_store
    from pipecli.values import now

    ws = load_workspace(history / "pipeline.yaml")
    value = engine.report(open_store(ws.store_path), engine.one_pipeline(ws.pipeline(None), ws),
                          now(), cycles=True)
    odd = replace(value, lost_reasons=(LostReason("</text><script>x</script>", 7,
                                                  Decimal("123456.785")),))
    page = Page(report_page(odd))
    texts = page.chart("chart-outcomes")
    assert texts[-3:] == ["Lost: </text><script>x</script>", "123,456.79", "7 deals"]
