"""`pipe costs -o html` and `pipe customers -o html`: one self-contained page each, read
back with test_html's reader, on hand-made histories whose every figure was worked out by
hand. Sources and companies are hostile (markup; control and bidi characters from a
hand-edited store); undefined figures must show "–", never a bar of 0."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from conftest import add
from pipecli.models import Kind
from pipecli.store import open_store
from test_customers import hostile_store
from test_html import ACME, Page, assert_self_contained
from test_html_digest import SHALOM, Sections

COSTS = "period,source,amount\n2026-10,webinar,1000\n2026-10,ads,300\n2026-11,webinar,500\n"
SOURCE = "<b>src</b> & 'co' \"q\""  # markup: no cost row, so its CPL and CAC are unknown
NASTY = "Evil\x1b[31m\u202eSrc"  # what pipe add refuses: in the store by hand
CPL, CAC, REVENUE = "#ed64a6", "#97266d", "#6b46c1"  # the charts' colours (charts.py)


def ok(run, *args) -> None:
    result = run(*args)
    assert result.code == 0, result.err


def page_of(run, *args) -> tuple[Page, Sections, str]:
    result = run(*args, "-o", "html")
    assert result.code == 0, result.err
    return Page(result.out), Sections(result.out), result.out


def following(texts: list[str], first: str, n: int) -> list[str]:
    """The chart's texts from `first` on, n of them."""
    return texts[texts.index(first):texts.index(first) + n]


@pytest.fixture
def costs(run, workspace):
    """October: webinar W1 (won at 1,000) and W2, ads A1 (lost), A2, A3, SOURCE S1 (won at
    2,000); November: webinar W3. Costs: webinar 1,000 + 500, ads 300; none for SOURCE.

    Per source over 2026-10..11: webinar 1,500 ÷ 3 leads = 500 a lead, ÷ 1 won = 1,500;
    ads 300 ÷ 3 = 100 a lead, no win (CAC –); SOURCE: cost unknown (–, –). Blended: 1,800
    ÷ 7 leads = 257.14, ÷ 2 won = 900 (and ÷ 2 qualified: the won ones)."""
    text = (workspace / "pipeline.yaml").read_text()
    (workspace / "pipeline.yaml").write_text(text.replace("currency: USD\n",
                                                          "currency: USD\ncosts: costs.csv\n"))
    (workspace / "costs.csv").write_text(COSTS)
    w1 = add(run, "W1", "--source", "webinar", "--value", "1000", "--email", "w@x.example",
             "--at", "2026-10-02")
    ok(run, "won", w1, "--at", "2026-10-20")
    add(run, "W2", "--source", "webinar", "--at", "2026-10-05")
    add(run, "W3", "--source", "webinar", "--at", "2026-11-03")
    a1 = add(run, "A1", "--source", "ads", "--at", "2026-10-03")
    ok(run, "lost", a1, "--reason", "price", "--at", "2026-10-09")
    add(run, "A2", "--source", "ads", "--at", "2026-10-04")
    add(run, "A3", "--source", "ads", "--at", "2026-10-06")
    s1 = add(run, "S1", "--source", SOURCE, "--value", "2000", "--at", "2026-10-07")
    ok(run, "won", s1, "--at", "2026-10-25")
    return workspace


def test_costs_page_is_self_contained_with_its_sections(costs, run):
    page, sections, text = page_of(run, "costs")
    assert_self_contained(page, text)
    assert list(sections.found) == ["Cost per lead and per won deal", "By month and source",
                                    "Totals, 2026-10 to 2026-11"]
    assert page.title == "Test sales: acquisition cost by month (USD) — as of 2026-11-20 10:00"
    assert "Costs: costs.csv; 2026-10 to 2026-11" in page.text
    # The terminal's note on the missing cost row, and its legend under the totals.
    words = " ".join(" ".join(page.text).split())
    assert f"Leads without a cost row: {SOURCE} (2026-10)" in words
    assert "– = unknown or nothing to divide by." in sections.found[
        "Totals, 2026-10 to 2026-11"]["text"]


def test_costs_chart_has_the_hand_computed_figures(costs, run):
    page, _, _ = page_of(run, "costs")
    texts = page.chart("chart-costs")
    assert texts[0:2] == ["Cost per lead (CPL)", "Cost per won deal (CAC)"]
    assert following(texts, "ads", 4) == ["ads", "100", "–", "cost 300 · 3 leads · 0 won"]
    assert following(texts, "webinar", 4) == ["webinar", "500", "1,500",
                                              "cost 1,500 · 3 leads · 1 won"]
    assert following(texts, SOURCE, 4) == [SOURCE, "–", "–", "cost – · 1 lead · 1 won · "
                                                             "no cost row for 2026-10"]
    assert texts[-4:] == ["All (blended)", "257.14", "900", "cost 1,800 · 7 leads · 2 won"]
    # An undefined figure has no bar: CPL bars for ads, webinar and blended (and the
    # legend's swatch); CAC bars for webinar and blended only.
    svg = next(s for s in page.svgs if 'id="chart-costs"' in s)
    assert svg.count(f'fill="{CPL}"') == 1 + 3 and svg.count(f'fill="{CAC}"') == 1 + 2


def test_costs_tables_are_the_terminals(costs, run):
    _, sections, _ = page_of(run, "costs")
    totals = sections.found["Totals, 2026-10 to 2026-11"]["rows"]
    assert totals[0] == ["Source", "Cost", "Leads", "CPL", "Qual.", "CPQL", "Won", "CAC",
                         "Won value", "Won ÷ cost"]
    assert totals[-1] == ["All (blended)", "1,800", "7", "257.14", "2", "900", "2", "900",
                          "3,000", "1.67"]
    plain = run("costs", "-o", "plain").out
    for row in totals[1:] + sections.found["By month and source"]["rows"][1:]:
        assert re.search(r"\s+".join(re.escape(cell) for cell in row), plain), row


def test_costs_with_filters_and_a_hostile_source(costs, run, backend):
    store = open_store(costs / ("deals" if backend == "csv" else "deals.sqlite"))
    with store.write() as tx:
        tx.append("nasty1", Kind.CREATED, datetime(2026, 10, 8, tzinfo=timezone.utc), sets={
            "pipeline": "sales", "stage": "prospecting", "status": "open", "name": "N",
            "source": NASTY})
    page, _, text = page_of(run, "costs", "--since", "2026-10-15", "--source", "ads")
    assert_self_contained(page, text)
    assert page.title.endswith("— whole months overlapping 2026-10-15 to …; source ads")
    assert [t for t in page.chart("chart-costs") if t in ("ads", "webinar")] == ["ads"]
    page, _, text = page_of(run, "costs")
    assert "\x1b" not in text and "\u202e" not in text
    assert "Evil\\x1b[31m\\u202eSrc" in page.chart("chart-costs")
    assert "<b>" not in text and "&lt;b&gt;src&lt;/b&gt; &amp; &#x27;co&#x27;" in text


def test_costs_without_costs_is_a_page_with_one_sentence(workspace, run):
    text = (workspace / "pipeline.yaml").read_text()
    (workspace / "pipeline.yaml").write_text(text.replace("currency: USD\n",
                                                          "currency: USD\ncosts: costs.csv\n"))
    (workspace / "costs.csv").write_text("period,source,amount\n")
    page, sections, text = page_of(run, "costs")
    assert_self_contained(page, text)
    assert list(sections.found) == ["By month and source"]
    assert sections.found["By month and source"]["text"] == \
        "costs.csv holds no costs yet: nothing to report."
    assert page.svgs == []


@pytest.fixture
def customers(run, workspace):
    """ACME won 2026-03-01 (1,000) and 2026-06-01 (2,000); SHALOM won 2026-10-01 (500).
    At the moment, 2026-11-20 10:00: 2 customers, 3,500, 1,750 each; 1 of 2 repeat (50.0%);
    lifetimes 264 and 50 days and 10 hours: 157.4 days on average; nobody lapsed, so no
    CLV. With --lapse 100 ACME (last win 172 days before) has lapsed: its lifetime is 92
    days, the mean 71.2 days, CLV 3,500 ÷ 1."""
    for name, value, day in (("Acme one", "1000", "2026-03-01"),
                             ("Acme two", "2000", "2026-06-01"),
                             ("Shalom one", "500", "2026-10-01")):
        company = ACME if name.startswith("Acme") else SHALOM
        deal = add(run, name, "--value", value, "--company", company, "--at", "2026-01-01")
        ok(run, "won", deal, "--at", day)
    return workspace


def tile_texts(text: str) -> dict[str, list[str]]:
    """The tiles' label → [figure, detail], read from the page's source."""
    out = {}
    for body in re.findall(r'<div class="tile"[^>]*>(.*?)</div></div>', text + "</div>",
                           flags=re.S):
        parts = [re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<div[^>]*>(.*?)</div>",
                                                                body + "</div>", flags=re.S)]
        out[parts[0]] = parts[1:]
    return out


def test_customers_page_has_the_hand_computed_figures(customers, run):
    page, sections, text = page_of(run, "customers")
    assert_self_contained(page, text)
    assert list(sections.found) == ["Customer lifetime value", "Top customers, by revenue"]
    assert page.title == "Customers of Test sales (USD), per company — as of 2026-11-20 10:00"
    assert "All deals: no filter." in page.text
    got = tile_texts(text)
    assert list(got)[:5] == ["Customers", "Revenue per customer", "Repeat rate",
                             "Average lifetime", "Lifetime value (CLV)"]
    assert got["Customers"] == ["2", "by company"]
    assert got["Revenue per customer"] == ["1,750 USD"]
    assert got["Repeat rate"] == ["50.0%", "1 of 2 won 2 deals or more"]
    assert got["Average lifetime"] == ["157.4 days", "observed on average; expected –"]
    assert got["Lifetime value (CLV)"] == [
        "–", "no customer has lapsed yet: every one won a deal in the last 365 days"]
    assert got["Revenue"] == ["3,500 USD"]
    texts = page.chart("chart-customers")
    assert texts == [ACME, "3,000", "2 deals won · last win 2026-06-01 · active",
                     SHALOM, "500", "1 deal won · last win 2026-10-01 · active"]
    rows = sections.found["Top customers, by revenue"]["rows"]
    assert rows[1:] == [[ACME, "2", "3,000", "2026-03-01", "2026-06-01", "active"],
                        [SHALOM, "1", "500", "2026-10-01", "2026-10-01", "active"]]
    assert "<script>" not in text and "<bdi>Acme &lt;script&gt;" in text


def test_customers_clv_once_a_customer_lapsed_and_the_filters(customers, run):
    page, _, text = page_of(run, "customers", "--lapse", "100", "--since", "2026-02-01",
                            "--per", "contact")
    got = tile_texts(text)
    assert got["Lifetime value (CLV)"] == ["3,500 USD", "revenue ÷ lapsed customers"]
    assert got["Average lifetime"] == ["71.2 days", "observed on average; expected 142.4 days"]
    assert got["Lapsed"] == ["1 of 2 (50.0%)", "no win in the last 100 days; 1 active"]
    assert page.title == ("Customers of Test sales (USD), per contact — as of 2026-11-20 "
                          "10:00 — won 2026-02-01 to …")
    assert page.chart("chart-customers")[2] == "2 deals won · last win 2026-06-01 · lapsed"


def test_customers_with_control_and_bidi_characters(workspace, run, backend):
    hostile_store(workspace, backend, "Evil\x1b[31m\u202eCorp")
    page, _, text = page_of(run, "customers")
    assert_self_contained(page, text)
    assert "\x1b" not in text and "\u202e" not in text
    assert page.chart("chart-customers")[:2] == ["Evil\\x1b[31m\\u202eCorp", "10"]


def test_customers_with_nothing_won_or_nothing_listed(customers, workspace, run):
    page, sections, _ = page_of(run, "customers", "-n", "0")
    assert sections.found["Top customers"]["text"] == "2 customers not listed (-n 2 lists them)."
    assert page.svgs == []
    _, sections, _ = page_of(run, "customers", "--owner", "nobody")
    assert list(sections.found) == ["Customers"]
    assert sections.found["Customers"]["text"] == "No won deal matches the filters."


def test_output_file_and_the_html_name(costs, run):
    assert run("costs", "--output", "costs.html").code == 0
    assert (costs / "costs.html").read_text() == run("costs", "-o", "html").out
    assert run("customers", "--output", "customers.htm").code == 0
    assert (costs / "customers.htm").read_text() == run("customers", "-o", "html").out
    assert run("customers", "--output", "customers.txt").code == 0
    assert (costs / "customers.txt").read_text() == run("customers", "-o", "plain").out
    assert [p.name for p in costs.iterdir() if p.name.endswith(".tmp")] == []
