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
import re
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


def readable(out: str) -> str:
    """A report as text lines whatever its format: Markdown's figure table rows
    ("| Win rate | 6.3% |") read back as the lines the other formats print."""
    return re.sub(r"^\| ([^|]+?) \| (.+?) \|$", lambda m: f"{m[1] + ':':<12}{m[2]}", out,
                  flags=re.M)


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
        out = readable(run("report", "-o", fmt).out)
        assert "Win rate:   6.3%" in out, fmt
        flow = next(line for line in out.splitlines() if "Proposal" in line and "421" in line)
        assert "10.5%" in flow, (fmt, flow)  # 10.525 % to one place
    group = readable(run("report", "--by", "owner", "-o", "markdown").out)
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
        out = readable(run("report", "-o", fmt).out)
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
        out = readable(run("report", "--by", "source", "-o", fmt).out)
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
        out = readable(run("report", "-o", fmt).out)
        assert "Deals in EUR and USD and no rate for EUR: amounts are shown per currency, " \
               "never added" in " ".join(out.split()), fmt
        lines = out.splitlines()
        at = next(i for i, line in enumerate(lines) if "Open pipeline" in line)
        if fmt == "table":  # one amount per line in a cell
            assert "2,500.50 EUR" in lines[at] and "1,000 USD" in lines[at + 1], lines[at:]
        else:
            assert "2,500.50 EUR; 1,000 USD" in lines[at], (fmt, lines[at])
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
        out = readable(run("report", "-o", fmt).out)
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


# -- Part 4: amounts of several currencies in every output format --------------------------------

def money_text(amount: str, places: int) -> str:
    """An amount as people read it, written here from its digits: thousands grouped with
    commas, decimals only when it has some (2500.00 → "2,500", 77.7 → "77.70")."""
    exact = Decimal(amount)
    q = half_up(exact, places)
    return f"{q:,.0f}" if q == q.to_integral_value() else f"{q:,.{places}f}"


def whole(text: str, out: str) -> bool:
    """`text` appears in `out` with no digit, comma or point glued to either side: "500 EUR"
    is not found inside "2,500 EUR", nor "1" inside "18.9"."""
    import re

    return re.search(r"(?<![\d,.])" + re.escape(text) + r"(?![\d,.])", out) is not None


PLACES = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}
SPREAD = [  # name, currency, value, created (days after T0), end
    ("usd", "", "1000", 0.3, "prospecting"),
    ("eur", "EUR", "2500", 1.55, "prospecting"),
    ("jpy", "JPY", "100000", 2, "prospecting"),
    ("kwd", "KWD", "1.234", 2.1, "prospecting"),
    ("small", "EUR", "77.77", 3, "won"),
]


@pytest.fixture
def spread(run, folder):
    """Four currencies, one deal won in EUR this month."""
    for name, code, value, days, end in SPREAD:
        at = (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
        args = ["--value", value, "--at", at] + (["--currency", code] if code else [])
        deal_id = add(run, name, *args)
        if end == "won":
            assert run("won", deal_id, "--at", "2026-11-10").code == 0
    return folder


def spread_amounts() -> tuple[list[str], str]:
    """The amounts the report must show whole, and the prospecting deals' average age."""
    open_deals = [(code or "USD", value, days) for _, code, value, days, end in SPREAD
                  if end == "prospecting"]
    texts = []
    for code, value, _ in open_deals:
        texts.append(f"{money_text(value, PLACES[code])} {code}")  # its value
        weighted = Fraction(Decimal(value)) / 10  # prospecting: 10 %
        texts.append(f"{money_text(str(half_up(weighted, PLACES[code])), PLACES[code])} {code}")
    now = datetime.fromisoformat(NOW)
    ages = [Fraction(int((now - (T0 + timedelta(days=d))).total_seconds()), 86400)
            for _, _, d in open_deals]
    return texts, str(half_up(sum(ages) / len(ages), 1))


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_the_table_never_cuts_an_amount(run, spread, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    amounts, age = spread_amounts()
    assert age == "17.9" and "0.123 KWD" in amounts  # 1.234 × 10 % = 0.1234 → 0.123
    report = run("report", "-o", "table").out
    now = report.split("Pipeline now")[1].split("Stage flow")[0]
    for text in amounts:
        assert whole(text, now), (columns, text, now)
    prospecting = next(line for line in now.splitlines() if "Prospecting" in line)
    assert whole(age, prospecting), (columns, prospecting)  # Avg age, whole
    assert "Deals" in now and "Stage" in now
    flow = report.split("Stage flow")[1]
    assert whole("2,577.77 EUR", flow) and whole("77.77 EUR", flow)  # reached value
    forecast = run("forecast", "-o", "table").out
    november = next(line for line in forecast.splitlines() if line.lstrip()
                    .startswith("2026-11"))
    assert whole("77.77 EUR", november), (columns, november)  # won value
    assert all(whole(text, forecast) for text in amounts)
    listed = run("list", "-o", "table").out
    for _, code, value, _, end in SPREAD:
        if end == "prospecting":
            shown = money_text(value, PLACES[code or "USD"])
            assert whole(shown + (f" {code}" if code else ""), listed), (columns, listed)
    total = next(line for line in listed.splitlines() if line.startswith("4 deals"))
    assert whole("2,500 EUR", total) and whole("1,000 USD", total), total
    for out in (report, forecast, listed):
        widest = max(len(line) for line in out.splitlines())
        assert widest <= int(columns), (columns, widest)
    # A column left out for want of room is named.
    said = " ".join(now.split())
    header = next(line for line in now.splitlines() if "Stage" in line)
    assert "Prob." in header or "hidden: prob. (widen the terminal or use -o plain)" \
        in said, now


def test_plain_and_markdown_keep_amounts_on_one_line_whole(run, spread):
    amounts, _ = spread_amounts()
    for fmt in ("plain", "markdown"):
        out = readable(run("report", "-o", fmt).out)
        footer = next(line for line in out.splitlines() if "Open pipeline" in line)
        assert "2,500 EUR; 100,000 JPY; 1.234 KWD; 1,000 USD" in footer, (fmt, footer)
        assert all(whole(text, out) for text in amounts)


def test_a_narrow_table_names_the_columns_it_leaves_out(run, folder, monkeypatch):
    add(run, "A deal with a long name for a narrow terminal", "--value", "12,500",
        "--company", "Northwind Traders", "--owner", "dana", "--close-date", "2026-12-15")
    monkeypatch.setenv("COLUMNS", "60")
    out = run("list", "-o", "table").out
    assert whole("12,500", out)
    note = " ".join(out.split())
    # ID 8 + Name 16 (wrapping) + Stage 11 + Value 6 + Close 10, and 3 a column: over 60;
    # the owner (5) fits once company and close are out.
    assert "hidden: company, close (widen the terminal or use -o plain)" in note, out
    monkeypatch.setenv("COLUMNS", "200")
    wide = run("list", "-o", "table").out
    assert "hidden:" not in wide and "Northwind Traders" in wide


def test_by_currency_shows_each_group_in_its_own_currency(run, folder, monkeypatch):
    write(folder, {"u": Spec("", "1000", "prospecting"), "e": Spec("EUR", "2800.50",
                                                                   "prospecting")})
    rate = Decimal("1.085")
    with_rates(monkeypatch, {"EUR": str(rate)})
    converted = half_up(Fraction(Decimal("2800.50")) * Fraction(rate) + 1000, 2)
    assert f"{converted:,}" == "4,038.54"  # 2,800.50 × 1.085 = 3,038.5425
    for fmt in ("table", "plain", "markdown"):
        out = readable(run("report", "--by", "currency", "-o", fmt).out)
        by = out.split("By currency")[1]
        eur = next(line for line in by.splitlines()
                   if line.strip(" |").split()[:1] == ["EUR"])
        assert whole("2,800.50 EUR", eur) and "3,038" not in eur, (fmt, eur)
        usd = next(line for line in by.splitlines() if whole("1,000 USD", line))
        assert "USD" in usd
        total = next(line for line in by.splitlines() if "Total" in line)
        assert whole(f"{converted:,} USD", total), (fmt, total)
    # The JSON keeps its documented shape: the report's currency, the group's own beside it.
    group = {g["group"]: g for g in run("report", "--by", "currency", "-o", "json")
             .json()["groups"]}["EUR"]
    assert group["open_value_by_currency"]["EUR"] == 2800.5
    assert group["open_value"] == json_number(Fraction(Decimal("2800.50")) * Fraction(rate), 2)


def test_json_numbers_are_exact_digits(run, tmp_path, monkeypatch):
    """An IDR pipeline with a rate for USD: converted sums have more digits than a float
    keeps. Read back as decimals, every digit is there."""
    import json

    (tmp_path / "pipeline.yaml").write_text(YAML.format(store="deals").replace(
        "currency: USD", "currency: IDR"))
    rate = Decimal("16234.5678")
    with_rates(monkeypatch, {"USD": str(rate)})
    add(run, "big", "--value", "98,765,432,109.87", "--currency", "USD")
    add(run, "rupiah", "--value", "1000")
    exact = half_up(Fraction(Decimal("98765432109.87")) * Fraction(rate) + 1000, 2)
    assert str(exact) == "1603414103884981.56"
    assert repr(float(exact)) != str(exact)  # what a float would have written
    text = run("report", "-o", "json").out
    report = json.loads(text, parse_float=Decimal)
    assert report["totals"]["open_value"] == exact
    assert '"open_value": 1603414103884981.56,' in text
    weighted = half_up(Fraction(Decimal("98765432109.87")) * Fraction(rate) / 10 + 100, 2)
    assert report["totals"]["weighted_value"] == weighted
    forecast = json.loads(run("forecast", "-o", "json").out, parse_float=Decimal)
    assert forecast["no_close_date"]["value"] == exact
    # A huge rate: 26 significant digits, none lost, no exponent.
    with_rates(monkeypatch, {"USD": "999999999999.9999999999"})
    text = run("report", "-o", "json").out
    huge = half_up(Fraction(Decimal("98765432109.87")) *
                   Fraction(Decimal("999999999999.9999999999")) + 1000, 2)
    assert json.loads(text, parse_float=Decimal)["totals"]["open_value"] == huge
    assert "e+" not in text.lower()
    # Scores of `pipe next` (a view) and the streamed deal list (stale, list) too.
    ranked = json.loads(run("next", "-o", "json").out, parse_float=Decimal)
    assert {r["score_currency"] for r in ranked} == {"IDR"}
    listed = json.loads(run("list", "-o", "json").out, parse_float=Decimal)
    assert {d["value"] for d in listed} == {Decimal("98765432109.87"), 1000}


def test_list_sorts_values_by_currency_or_converted(run, tmp_path):
    text = YAML.format(store="deals")
    (tmp_path / "pipeline.yaml").write_text(text)
    add(run, "yen", "--value", "100000", "--currency", "JPY")
    add(run, "euro", "--value", "1500", "--currency", "EUR")
    add(run, "dollar", "--value", "1200")
    add(run, "small", "--value", "10")
    add(run, "none")
    # No rates: the pipeline's currency first, then EUR, then JPY; each largest first.
    order = [d["name"] for d in run("list", "--sort", "value", "-o", "json").json()]
    assert order == ["dollar", "small", "euro", "yen", "none"]
    reverse = [d["name"] for d in run("list", "--sort", "value", "--reverse",
                                      "-o", "json").json()]
    assert reverse == list(reversed(order))
    # Rates for both: by the converted value (1,500 EUR = 1,650 USD; 100,000 JPY = 670 USD).
    (tmp_path / "pipeline.yaml").write_text(text.replace(
        "currency: USD\n", "currency: USD\nrates: {EUR: 1.1, JPY: 0.0067}\n"))
    converted = {"yen": Fraction(100000) * Fraction("0.0067"), "euro": Fraction(1500) *
                 Fraction("1.1"), "dollar": Fraction(1200), "small": Fraction(10)}
    expected = sorted(converted, key=lambda n: -converted[n]) + ["none"]
    assert expected == ["euro", "dollar", "yen", "small", "none"]
    order = [d["name"] for d in run("list", "--sort", "value", "-o", "json").json()]
    assert order == expected
    # A rate for EUR only: JPY cannot be converted, so by currency again.
    (tmp_path / "pipeline.yaml").write_text(text.replace(
        "currency: USD\n", "currency: USD\nrates: {EUR: 1.1}\n"))
    order = [d["name"] for d in run("list", "--sort", "value", "-o", "json").json()]
    assert order == ["dollar", "small", "euro", "yen", "none"]


def test_lost_reasons_never_compare_raw_amounts(run, folder, monkeypatch):
    lost = {"j": Spec("JPY", "100000", "lost"), "u": Spec("", "500", "lost")}
    write(folder, lost)
    from pipecli.models import Kind
    from pipecli.pipeline import load_workspace
    from pipecli.store import open_store

    ws = load_workspace(folder / "pipeline.yaml")
    with open_store(ws.store_path).write() as tx:  # the JPY deal was lost for another reason
        tx.append("j", Kind.EDITED, T0 + timedelta(days=6), sets={"lost_reason": "budget"})
    reasons = run("report", "-o", "json").json()["lost_reasons"]
    # Without rates: the pipeline's currency (USD) part first — 500 USD before 0 USD.
    assert [r["reason"] for r in reasons] == ["price", "budget"]  # not by name
    with_rates(monkeypatch, {"JPY": "0.0067"})  # 100,000 JPY = 670 USD > 500 USD
    reasons = run("report", "-o", "json").json()["lost_reasons"]
    assert [(r["reason"], r["value"]) for r in reasons] == [("budget", 670), ("price", 500)]


def test_csv_cells_are_bare_numbers_with_a_currency_column(run, folder):
    add(run, "euro", "--value", "2500", "--currency", "EUR", "--at", "2026-11-03T02:00:00")
    add(run, "odd", "--value", "0.05", "--probability", "10", "--at", "2026-11-05T22:00:00")
    rows = table_rows(run("list", "-o", "csv").out)
    assert rows[0] == ["ID", "Name", "Stage", "Value", "Currency", "Company", "Owner", "Close"]
    cells = {r[1]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert (cells["euro"]["Value"], cells["euro"]["Currency"]) == ("2500", "EUR")
    assert (cells["odd"]["Value"], cells["odd"]["Currency"]) == ("0.05", "USD")
    tsv = [line.split("\t") for line in run("list", "-o", "tsv").out.splitlines()]
    assert tsv[0][4] == "Currency" and all(" " not in r[3] for r in tsv[1:])
    rows = table_rows(run("next", "-o", "csv").out)
    assert rows[0] == ["#", "ID", "Name", "Stage", "Weighted", "Currency", "Idle d", "Close",
                       "Score", "Score currency"]
    cells = {r[2]: dict(zip(rows[0], r)) for r in rows[1:]}
    # 0.05 × 10 % = 0.005 → 0.01, half-up at the cent.
    assert (cells["odd"]["Weighted"], cells["odd"]["Currency"]) == ("0.01", "USD")
    assert (cells["euro"]["Weighted"], cells["euro"]["Score currency"]) == ("250", "EUR")
    now = datetime.fromisoformat(NOW)
    idle = Fraction(int((now - datetime(2026, 11, 3, 2, tzinfo=timezone.utc))
                        .total_seconds()), 86400)
    assert cells["euro"]["Idle d"] == str(half_up(idle, 2)) == "17.33"
    # stale: days to 2 decimals; euro idle 17.33 days past rot_days 14.
    rows = table_rows(run("stale", "-o", "csv").out)
    alert = dict(zip(rows[0], next(r for r in rows if r[1] == "euro")))
    assert alert["Overdue d"] == str(half_up(idle - 14, 2)) == "3.33"


def test_one_currency_lists_have_no_currency_column(run, folder):
    add(run, "plain", "--value", "2500")
    assert table_rows(run("list", "-o", "csv").out)[0] == [
        "ID", "Name", "Stage", "Value", "Company", "Owner", "Close"]
    assert "Currency" not in table_rows(run("next", "-o", "csv").out)[0]


def test_report_by_group_csv_is_the_groups_table(run, folder):
    write(folder, {"a": Spec("", "1000", "prospecting", source="web"),
                   "b": Spec("", "300", "won", source="web", closed_days=4),
                   "c": Spec("", "100", "lost", source="fair", closed_days=3)})
    rows = table_rows(run("report", "--by", "source", "-o", "csv").out)
    assert rows[0][:4] == ["source", "open_count", "open_value", "weighted_value"]
    assert rows[0][-1] == "conversion_to_won"
    lines = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert list(lines) == ["fair", "web", "(total)"]
    assert (lines["web"]["open_value"], lines["web"]["won_value"], lines["web"]["win_rate"]) \
        == ("1000", "300", "1")
    assert (lines["fair"]["lost_value"], lines["fair"]["win_rate"]) == ("100", "0")
    total = lines["(total)"]
    assert (total["open_count"], total["won_count"], total["lost_count"]) == ("1", "1", "1")
    assert total["win_rate"] == str(half_up(Fraction(1, 2), 4).normalize()) == "0.5"
    json_groups = run("report", "--by", "source", "-o", "json").json()["groups"]
    assert [g["group"] for g in json_groups] == ["fair", "web"]
    tsv = run("report", "--by", "source", "-o", "tsv").out.splitlines()
    assert tsv[0].split("\t")[0] == "source" and tsv[-1].split("\t")[0] == "(total)"


def test_next_labels_amounts_not_in_the_pipelines_currency(run, folder):
    add(run, "a", "--value", "1010", "--currency", "JPY")
    add(run, "b", "--value", "1660", "--currency", "JPY")
    for fmt in ("plain", "table", "markdown"):
        out = run("next", "-o", fmt).out
        # 1,660 × 10 % = 166 JPY weighted; idle 0, no close date: score = 166 JPY.
        assert whole("166 JPY", out) and whole("101 JPY", out), (fmt, out)
    assert run("next", "-o", "json").json()[0]["score_currency"] == "JPY"
