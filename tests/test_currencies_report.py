"""Report figures shown exactly: ratios and days rounded half-up from their exact values in
every format; conversion to won beside the win rate, in the totals and per group; deals in
several currencies never added silently (docs/metrics.md, "Exactness and rounding",
"Currencies"; docs/json.md, "Currencies").

Expectations are computed here from the hand-made histories, with Fraction and Decimal,
never by pipe's own code."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import add

YAML = """\
name: sales
label: Test sales
kind: b2b
currency: USD
store: {store}
lost_reasons: [price]
stages:
  - {{key: prospecting, label: Prospecting, probability: 10, rot_days: 14}}
  - {{key: proposal, label: Proposal, probability: 60}}
  - {{key: won, label: Closed won, probability: 100, outcome: won}}
  - {{key: lost, label: Closed lost, probability: 0, outcome: lost}}
"""
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = "2026-11-20T10:00:00+00:00"
PROBABILITY = {"prospecting": Fraction(10, 100), "proposal": Fraction(60, 100),
               "won": Fraction(1), "lost": Fraction(0)}


def half_up(exact, places: int) -> Decimal:
    """floor(x · 10^places + ½) for x ≥ 0: a tie goes up, as in a spreadsheet."""
    x = Fraction(exact) * 10 ** places
    return Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator)).scaleb(-places)


def json_number(exact, places: int) -> float:
    return float(half_up(exact, places))


@pytest.fixture
def folder(tmp_path, backend, monkeypatch):
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(YAML.format(store=store))
    monkeypatch.setenv("PIPE_NOW", NOW)
    return tmp_path


@dataclasses.dataclass
class Spec:
    """A hand-made deal: its currency ("" = the pipeline's), value, where it ends up
    (prospecting, proposal, won or lost) and when."""

    currency: str
    value: str | None
    end: str
    close: str | None = "2026-12-10"
    created_days: float = 0
    closed_days: float = 5
    source: str = ""


def write(folder: Path, specs: dict[str, Spec]) -> None:
    """The deals' events written through the store's own transaction (pipe add has no
    --currency)."""
    from pipecli.models import Kind
    from pipecli.pipeline import load_workspace
    from pipecli.store import open_store

    ws = load_workspace(folder / "pipeline.yaml")
    with open_store(ws.store_path).write() as tx:
        for deal_id, s in specs.items():
            created = T0 + timedelta(days=s.created_days)
            sets = {"pipeline": "sales", "stage": "prospecting", "status": "open",
                    "name": deal_id}
            sets.update({k: v for k, v in (("value", s.value), ("currency", s.currency),
                                          ("close_date", s.close), ("source", s.source)) if v})
            tx.append(deal_id, Kind.CREATED, created, sets=sets)
            closed = T0 + timedelta(days=s.closed_days)
            if s.end == "proposal":
                tx.append(deal_id, Kind.MOVED, created + timedelta(days=2),
                          sets={"stage": "proposal"})
            elif s.end == "won":
                tx.append(deal_id, Kind.WON, closed, sets={"stage": "won", "status": "won"})
            elif s.end == "lost":
                tx.append(deal_id, Kind.LOST, closed, sets={"stage": "lost", "status": "lost",
                                                            "lost_reason": "price"})


def with_rates(monkeypatch, rates: dict[str, str]) -> None:
    """The pipeline file's `rates:` as the report commands see them (set on the loaded
    pipeline, so this does not depend on how the YAML is read)."""
    from pipecli.cli import reports

    opened = reports.open_workspace

    def patched(file):
        ws, store = opened(file)
        pipelines = tuple(dataclasses.replace(p, rates=tuple(
            (code, Decimal(rate)) for code, rate in rates.items())) for p in ws.pipelines)
        return dataclasses.replace(ws, pipelines=pipelines), store

    monkeypatch.setattr(reports, "open_workspace", patched)


def table_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- Part 1: rates and days half-up from exact values, in every format ---------------------------

def test_a_rate_on_a_tie_rounds_half_up_in_every_format(run, folder):
    """421 of 4000 deals reach proposal: conversion 0.10525 exactly — 0.1053 in JSON and
    csv (a float gives 0.1052). 1 won of 16 closed: win rate 0.0625, 6.3% for people (a
    float's format gives 6.2%)."""
    specs = {f"d{i:05d}": Spec("", None, "prospecting", close=None) for i in range(4000)}
    for i in range(421):
        specs[f"d{i:05d}"].end = "proposal"
    specs["d00000"].end = "won"  # reached proposal first: still one of the 421
    for i in range(421, 436):
        specs[f"d{i:05d}"].end = "lost"
    write(folder, specs)
    conversion = Fraction(421, 4000)
    win_rate = Fraction(1, 1 + 15)
    assert str(half_up(conversion, 4)) == "0.1053" and round(421 / 4000, 4) == 0.1052
    assert f"{half_up(win_rate * 100, 1)}%" == "6.3%" and f"{1 / 16:.1%}" == "6.2%"

    report = run("report", "-o", "json").json()
    proposal = next(s for s in report["stages"] if s["key"] == "proposal")
    assert proposal["conversion"] == json_number(conversion, 4) == 0.1053
    assert report["totals"]["win_rate"] == json_number(win_rate, 4) == 0.0625
    assert report["totals"]["conversion_to_won"] == json_number(Fraction(1, 4000), 4)
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.reader(io.StringIO(run("report", "-o", fmt).out),
                               delimiter=delimiter))
        header, lines = rows[0], {r[0]: r for r in rows[1:]}
        assert lines["proposal"][header.index("conversion")] == "0.1053", fmt
    for fmt in ("table", "plain", "markdown"):
        out = run("report", "-o", fmt).out
        assert "Win rate:   6.3%" in out, fmt
        flow = next(line for line in out.splitlines() if "Proposal" in line and "421" in line)
        assert "10.5%" in flow, (fmt, flow)  # 10.525 % to one place
    group = run("report", "--by", "owner", "-o", "markdown").out
    assert "6.3%" in group.split("By owner")[1]


def test_days_on_a_tie_round_half_up_in_every_format(run, folder):
    """Three deals won 1.875, 2.25 and 2.25 days after their creation: the mean cycle is
    2.125 days (2.13 in JSON, 2.1 for people; a float rounds it to 2.12), the median 2.25
    (2.3 for people; a float's format gives 2.2). Their prospecting stays are the same."""
    cycles = [Fraction(15, 8), Fraction(9, 4), Fraction(9, 4)]
    write(folder, {f"w{i}": Spec("", "100", "won", closed_days=float(c))
                   for i, c in enumerate(cycles)})
    mean, median = sum(cycles) / 3, sorted(cycles)[1]
    assert (mean, median) == (Fraction(17, 8), Fraction(9, 4))
    assert round(2.125, 2) == 2.12 and f"{2.25:.1f}" == "2.2"  # what floats would show

    totals = run("report", "-o", "json").json()["totals"]
    assert totals["avg_cycle_days"] == json_number(mean, 2) == 2.13
    assert totals["median_cycle_days"] == json_number(median, 2) == 2.25
    for fmt in ("table", "plain", "markdown"):
        out = run("report", "-o", fmt).out
        assert "Cycle:      2.1 days mean, 2.3 days median" in out, fmt
        stays = next(line for line in out.splitlines() if "Prospecting" in line
                     and "2.1" in line)  # the stage flow: avg days, median
        assert "2.3" in stays, (fmt, stays)
    rows = table_rows(run("report", "-o", "csv").out)
    prospecting = dict(zip(rows[0], next(r for r in rows if r[0] == "prospecting")))
    assert (prospecting["avg_days_in_stage"], prospecting["median_days_in_stage"]) == \
        ("2.13", "2.25")


# -- Part 2: conversion to won beside the win rate ---------------------------------------------

LEADS = [("webinar", True), ("webinar", False), ("webinar", True), ("webinar", False),
         ("webinar", False), ("webinar", False), ("fair", False), ("fair", False),
         ("fair", False), ("fair", False)]  # (source, won): the rest are never marked lost


def test_leads_never_marked_lost_win_100_percent_but_convert_2_in_10(run, workspace):
    ids = []
    for i, (source, _) in enumerate(LEADS):
        stage = ["--stage", "proposal"] if i == 9 else []  # created late: it entered too
        ids.append(add(run, f"lead {i}", "--source", source, "--value", "100",
                       "--email", "x@y.io", *stage, "--at", "2026-11-01"))
    for deal_id, (_, won) in zip(ids, LEADS):
        if won:
            assert run("won", deal_id, "--at", "2026-11-05").code == 0
    won = sum(1 for _, w in LEADS if w)
    report = run("report", "--by", "source", "-o", "json").json()
    t = report["totals"]
    assert (t["won_count"], t["lost_count"], t["win_rate"]) == (won, 0, 1.0)
    assert (t["entered"], t["reached_won"]) == (len(LEADS), won) == (10, 2)
    assert t["conversion_to_won"] == json_number(Fraction(won, len(LEADS)), 4) == 0.2
    groups = {g["group"]: g for g in report["groups"]}
    for source in ("webinar", "fair"):
        mine = [w for s, w in LEADS if s == source]
        g = groups[source]
        assert (g["entered"], g["reached_won"]) == (len(mine), sum(mine))
        assert g["conversion_to_won"] == json_number(Fraction(sum(mine), len(mine)), 4)
        assert g["win_rate"] == (1.0 if any(mine) else None)
    assert (groups["webinar"]["conversion_to_won"], groups["fair"]["conversion_to_won"]) == \
        (0.3333, 0.0)
    for fmt in ("table", "plain", "markdown"):
        out = run("report", "--by", "source", "-o", fmt).out
        assert "Win rate:   100.0%" in out, fmt
        assert "Conversion: 20.0% to won (2 of the 10 deals that entered the funnel)" in out
        by = out.split("By source")[1]
        assert "To won" in by, fmt
        webinar = next(line for line in by.splitlines() if "webinar" in line)
        fair = next(line for line in by.splitlines() if "fair" in line)
        assert "100.0%" in webinar and "33.3%" in webinar, (fmt, webinar)
        assert "0.0%" in fair, (fmt, fair)


def test_conversion_to_won_per_group_counts_the_cohort(run, workspace):
    """--since: the funnel (and conversion to won) counts deals created in the window."""
    early = add(run, "early", "--owner", "ann", "--at", "2026-10-01")
    add(run, "late", "--owner", "ann", "--at", "2026-11-10")
    run("won", early, "--at", "2026-11-12")
    report = run("report", "--since", "2026-11-01", "--by", "owner", "-o", "json").json()
    ann = report["groups"][0]
    # The win is in the window (closed then) but its deal was created before it.
    assert (ann["won_count"], ann["entered"], ann["reached_won"]) == (1, 1, 0)
    assert ann["conversion_to_won"] == 0.0 and ann["win_rate"] == 1.0


# -- Part 3: deals in several currencies -------------------------------------------------------

DEALS = {  # "": the pipeline's USD; "USD" written out is the same
    "a-usd": Spec("", "1000", "proposal", close="2026-12-10", source="web"),
    "b-eur": Spec("EUR", "2000", "proposal", close="2026-12-20", source="web"),
    "c-eur": Spec("EUR", "500.50", "prospecting", close="2027-01-05", source="fair"),
    "d-usd": Spec("", "300", "won", closed_days=4),
    "e-eur": Spec("EUR", "700", "won", closed_days=6),
    "f-usd": Spec("USD", "100", "lost", closed_days=3),
}


def currency_of(s: Spec) -> str:
    return s.currency or "USD"


def sums(pick) -> dict[str, Fraction]:
    """Per currency: the sum of pick(deal) (None: not counted), exact."""
    out = {"EUR": Fraction(0), "USD": Fraction(0)}
    for s in DEALS.values():
        amount = pick(s)
        if amount is not None:
            out[currency_of(s)] += Fraction(amount)
    return out


OPEN = sums(lambda s: s.value if s.end in ("prospecting", "proposal") else None)
WEIGHTED = sums(lambda s: Fraction(s.value) * PROBABILITY[s.end]
                if s.end in ("prospecting", "proposal") else None)
WON = sums(lambda s: s.value if s.end == "won" else None)
LOST = sums(lambda s: s.value if s.end == "lost" else None)


def test_without_rates_nothing_is_added_across_currencies(run, folder):
    write(folder, DEALS)
    assert OPEN == {"EUR": Fraction("2500.50"), "USD": 1000}
    report = run("report", "-o", "json").json()
    assert (report["currency"], report["currencies"], report["converted"], report["rates"]) \
        == (None, ["EUR", "USD"], False, {})
    t = report["totals"]
    for key, parts in (("open_value", OPEN), ("won_value", WON), ("lost_value", LOST)):
        assert t[key] is None, key
        assert t[f"{key}_by_currency"] == {c: float(v) for c, v in parts.items()}, key
    assert t["weighted_value"] is None
    assert t["weighted_value_by_currency"] == {c: json_number(v, 2)
                                               for c, v in WEIGHTED.items()}
    # Per currency, over that currency's deals alone: one won deal each.
    assert t["avg_won_value_by_currency"] == {"EUR": 700, "USD": 300}
    # Counts and rates stay whole.
    assert (t["open_count"], t["won_count"], t["lost_count"], t["win_rate"]) == \
        (3, 2, 1, json_number(Fraction(2, 3), 4))
    stages = {s["key"]: s for s in report["stages"]}
    assert stages["proposal"]["value"] is None
    assert stages["proposal"]["value_by_currency"] == {"EUR": 2000, "USD": 1000}
    assert stages["prospecting"]["reached_value_by_currency"] == {
        c: float(OPEN[c] + WON[c] + LOST[c]) for c in ("EUR", "USD")}
    assert report["lost_reasons"] == [{"reason": "price", "count": 1, "value": None,
                                       "value_by_currency": {"EUR": 0, "USD": 100}}]
    mixed = ["3,500", "1,000 USD; 2,500", "1,000 EUR", "1,850"]  # sums across currencies
    for fmt in ("table", "plain", "markdown"):
        out = run("report", "-o", fmt).out
        assert "Deals in EUR and USD and no rate for EUR: amounts are shown per currency, " \
               "never added" in " ".join(out.split()), fmt
        footer = next(line for line in out.splitlines() if "Open pipeline" in line)
        assert "2,500.50 EUR; 1,000 USD" in footer, (fmt, footer)
        assert "Won:        2 deals, 700 EUR; 300 USD" in out, fmt
        assert not any(text in out for text in mixed), fmt
    rows = table_rows(run("report", "-o", "csv").out)
    proposal = dict(zip(rows[0], next(r for r in rows if r[0] == "proposal")))
    assert (proposal["value"], proposal["value_EUR"], proposal["value_USD"]) == \
        ("", "2000", "1000")


def test_with_rates_the_totals_are_converted_exactly(run, folder, monkeypatch):
    write(folder, DEALS)
    rate = Decimal("1.0853")
    with_rates(monkeypatch, {"EUR": str(rate)})

    def converted(parts) -> Fraction:
        return Fraction(parts["EUR"]) * Fraction(rate) + Fraction(parts["USD"])

    report = run("report", "-o", "json").json()
    assert (report["currency"], report["converted"], report["rates"]) == \
        ("USD", True, {"EUR": 1.0853})
    t = report["totals"]
    assert t["open_value"] == json_number(converted(OPEN), 2)  # 2,500.50 × 1.0853 + 1,000
    assert t["weighted_value"] == json_number(converted(WEIGHTED), 2)
    # 1,250.05 EUR × 1.0853 = 1,356.679265 → + 600 → 1,956.68 (half-up at the cent)
    assert t["weighted_value"] == 1956.68
    assert t["won_value"] == json_number(converted(WON), 2)
    assert t["lost_value"] == json_number(converted(LOST), 2) == 100
    avg_won = converted(WON) / 2
    assert t["avg_won_value"] == json_number(avg_won, 2)
    mean_cycle = Fraction(4 + 6, 2)  # d won 4 days after creation, e after 6
    velocity = 3 * avg_won * Fraction(2, 3) / mean_cycle
    assert t["velocity_per_day"] == json_number(velocity, 2)
    assert t["open_value_by_currency"] == {"EUR": 2500.5, "USD": 1000}
    proposal = next(s for s in report["stages"] if s["key"] == "proposal")
    assert proposal["value"] == json_number(Fraction(2000) * Fraction(rate) + 1000, 2)
    for fmt in ("table", "plain", "markdown"):
        out = run("report", "-o", fmt).out
        assert "amounts converted to USD at the pipeline file's rates (1 EUR = 1.0853 USD)" \
            in " ".join(out.split()), fmt
        assert f"Won:        2 deals, {half_up(converted(WON), 2):,} USD" in out, fmt


def test_forecast_per_currency_and_converted(run, folder, monkeypatch):
    write(folder, DEALS)
    data = run("forecast", "--months", "3", "-o", "json").json()
    months = {m["month"]: m for m in data["months"]}
    assert data["currency"] is None and data["currencies"] == ["EUR", "USD"]
    december = months["2026-12"]  # a (USD, proposal) and b (EUR, proposal)
    assert december["open_count"] == 2 and december["open_value"] is None
    assert december["open_value_by_currency"] == {"EUR": 2000, "USD": 1000}
    assert december["weighted_value_by_currency"] == {"EUR": 1200, "USD": 600}
    assert months["2026-11"]["won_value_by_currency"] == {"EUR": 700, "USD": 300}
    plain = run("forecast", "--months", "3").out
    assert "2,000 EUR; 1,000 USD" in plain and "3,000" not in plain
    rate = Fraction(Decimal("1.1"))
    with_rates(monkeypatch, {"EUR": "1.1"})
    data = run("forecast", "--months", "3", "-o", "json").json()
    months = {m["month"]: m for m in data["months"]}
    assert (data["currency"], data["converted"]) == ("USD", True)
    assert months["2026-12"]["open_value"] == json_number(2000 * rate + 1000, 2) == 3200
    assert months["2026-12"]["weighted_value"] == json_number(
        Fraction(2000 * 6, 10) * rate + 600, 2) == 1920
    assert months["2027-01"]["weighted_value"] == json_number(
        Fraction("500.50") / 10 * rate, 2) == 55.06  # 55.055 → up
    assert months["2026-11"]["won_value"] == json_number(700 * rate + 300, 2) == 1070


def test_by_currency_groups_each_currency(run, folder):
    write(folder, DEALS)
    report = run("report", "--by", "currency", "-o", "json").json()
    groups = {g["group"]: g for g in report["groups"]}
    assert list(groups) == ["EUR", "USD"]
    for code in ("EUR", "USD"):
        mine = [s for s in DEALS.values() if currency_of(s) == code]
        g = groups[code]
        assert g["open_count"] == sum(s.end in ("prospecting", "proposal") for s in mine)
        assert g["open_value_by_currency"][code] == float(OPEN[code])
        assert g["entered"] == len(mine)
        assert g["reached_won"] == sum(s.end == "won" for s in mine)
    assert "By currency" in run("report", "--by", "currency").out


def test_next_ranks_each_currency_apart_without_rates_and_together_with(run, folder,
                                                                       monkeypatch):
    write(folder, DEALS)
    ranked = run("next", "-o", "json").json()
    assert [(r["currency"], r["rank"]) for r in ranked] == \
        [("EUR", 1), ("EUR", 2), ("USD", 1)]
    assert all(r["score_currency"] == r["currency"] for r in ranked)
    assert "each currency is ranked on its own" in " ".join(run("next").out.split())
    with_rates(monkeypatch, {"EUR": "0.01"})  # a tiny EUR: the USD deal comes first
    ranked = run("next", "-o", "json").json()
    assert [r["id"] for r in ranked][0] == "a-usd"
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert {r["score_currency"] for r in ranked} == {"USD"}
    stale = run("stale", "-o", "json").json()
    assert {(a["id"], a["currency"]) for a in stale} >= {("c-eur", "EUR")}


def test_list_sums_per_currency(run, folder):
    write(folder, DEALS)
    out = run("list").out
    assert "3 deals: 2,500.50 EUR; 1,000 USD" in out
    assert "2,000 EUR" in next(line for line in out.splitlines() if "b-eur" in line)


def test_one_foreign_currency_is_shown_as_it_is(run, folder):
    write(folder, {k: dataclasses.replace(s, currency="EUR") for k, s in DEALS.items()})
    report = run("report", "-o", "json").json()
    assert (report["currency"], report["currencies"], report["converted"]) == \
        ("EUR", ["EUR"], False)
    assert report["totals"]["open_value"] == 3500.5
    assert "open_value_by_currency" not in report["totals"]
    assert run("report").out.startswith("Test sales (EUR)")


def test_the_pipeline_files_rates_key(run, folder):
    """The same conversion read from `rates:` in the pipeline file."""
    text = (folder / "pipeline.yaml").read_text()
    (folder / "pipeline.yaml").write_text(text.replace("currency: USD\n",
                                                       "currency: USD\nrates: {EUR: 1.1}\n"))
    if run("stages").code != 0:
        pytest.skip("this pipeline loader does not read `rates:` yet")
    write(folder, DEALS)
    report = run("report", "-o", "json").json()
    assert (report["converted"], report["rates"]) == (True, {"EUR": 1.1})
    assert report["totals"]["won_value"] == json_number(700 * Fraction("1.1") + 300, 2)
