"""Customer lifetime value (`pipe customers`): a hand-made history whose figures are worked
out here by hand, on both stores; the definitions' edges (post-purchase, an undone win, a
reopened deal, no value, the lapse boundary, --since/--until, the contact at the report
moment); currencies; hostile names; bad input."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from conftest import NOW, add
from test_maven import DATA, maven  # noqa: F401 - `maven` is a fixture
from test_golden import sample, seen  # noqa: F401 - `sample` is a fixture
from pipecli.models import Kind
from pipecli.store import open_store

AS_OF = "2026-11-20"
MOMENT = datetime(2026, 11, 20, 23, 59, 59, tzinfo=timezone.utc)  # the end of AS_OF, UTC
DAY = 86400


def half_up(exact, places: int) -> float:
    """The exact figure rounded half-up, as pipe's JSON writes it."""
    x = Fraction(exact) * 10 ** places
    return float(Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator))
                 .scaleb(-places))


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T00:00:00+00:00")


def seconds(start: str, end: datetime | str) -> int:
    end = at(end) if isinstance(end, str) else end
    return int((end - at(start)).total_seconds())


def won(run, name: str, day: str, *fields: str) -> str:
    """A deal created on 2024-01-01 and won on `day` (midnight UTC)."""
    deal = add(run, name, *fields, "--at", "2024-01-01")
    result = run("won", deal, "--at", day)
    assert result.code == 0, result.err
    return deal


@pytest.fixture
def history(run, workspace):
    """Acme Corp (spelled three ways): won 2025-01-10 and 2026-03-01 (then moved on to
    post-purchase: still that one win), a third win reopened; Beta: two wins in 2024
    (lapsed); Ava, no company, by email in two cases: two wins in October; Bo Lind, only a
    contact name, a win without a value; a deal with nothing to tell its customer by, won
    2025-10-01 (lapsed); a win undone, a lost and an open deal (no customers)."""
    ids = {}
    ids["a1"] = won(run, "Acme licence", "2025-01-10", "--value", "1000", "--company",
                    "Acme Corp", "--email", "buyer@acme.example")
    ids["a2"] = won(run, "Acme renewal", "2026-03-01", "--value", "2000", "--company",
                    "acme   CORP", "--email", "other@acme.example")
    assert run("move", ids["a2"], "post_purchase", "--at", "2026-04-01").code == 0
    ids["a3"] = won(run, "Acme extra", "2026-06-01", "--value", "500", "--company", "ACME corp")
    assert run("reopen", ids["a3"], "--at", "2026-07-01").code == 0
    won(run, "Beta one", "2024-06-01", "--value", "3000", "--company", "Beta")
    won(run, "Beta two", "2024-09-01", "--value", "700", "--company", "Beta")
    won(run, "Ava starter", "2026-10-01", "--value", "400", "--email", "ava@ex.co",
        "--contact", "Ava Smith")
    won(run, "Ava upgrade", "2026-10-15", "--value", "600", "--email", "AVA@EX.CO",
        "--contact", "A. Smith")
    won(run, "Bo's order", "2026-05-01", "--contact", "Bo  Lind")
    ids["lone"] = won(run, "Lone deal", "2025-10-01", "--value", "250")
    gamma = add(run, "Gamma", "--value", "999", "--company", "Gamma", "--at", "2024-01-01")
    assert run("won", gamma, "--at", "2026-09-01").code == 0
    assert run("undo").code == 0  # never a win
    lost = add(run, "Acme lost", "--value", "800", "--company", "Acme Corp", "--at",
               "2024-01-01")
    assert run("lost", lost, "--reason", "price", "--at", "2026-02-01").code == 0
    add(run, "Delta open", "--value", "5000", "--company", "Delta", "--at", "2024-01-01")
    return ids


def customers(run, *args) -> dict:
    result = run("customers", "--as-of", AS_OF, *args, "-o", "json")
    assert result.code == 0, result.err
    return result.json()


def test_the_figures_of_a_hand_made_history(run, history):
    got = customers(run)
    # Acme: 1,000 + 2,000, active (last win 2026-03-01), lived 2025-01-10 → the moment;
    # Beta: 3,000 + 700, lapsed, lived 2024-06-01 → 2024-09-01 (92 days);
    # Ava: 400 + 600, active, lived 2026-10-01 → the moment; Bo: no value, active;
    # the lone deal: 250, lapsed (415 days since its win), lived 0.
    lived = (seconds("2025-01-10", MOMENT) + 92 * DAY + seconds("2026-10-01", MOMENT)
             + seconds("2026-05-01", MOMENT) + 0)
    revenue, n, deals, lapsed = 7950, 5, 8, 2
    assert (got["customers"], got["won_deals"], got["repeat_customers"], got["lapsed"],
            got["active"]) == (n, deals, 3, lapsed, 3)
    assert got["keyed_by"] == {"company": 2, "email": 1, "contact": 1, "deal": 1}
    assert got["revenue"] == revenue
    assert got["revenue_per_customer"] == 1590
    assert got["avg_order_value"] == 993.75
    assert got["purchases_per_customer"] == 1.6
    assert (got["repeat_rate"], got["churn"]) == (0.6, 0.4)
    assert got["avg_lifetime_days"] == half_up(Fraction(lived, n * DAY), 2)
    assert got["expected_lifetime_days"] == half_up(Fraction(lived, lapsed * DAY), 2)
    assert got["value_per_customer_year"] == half_up(Fraction(revenue * 365 * DAY, lived), 2)
    assert got["clv"] == revenue / lapsed == 3975 and got["clv_note"] == ""
    top = {c["key"]: c for c in got["top"]}
    assert [c["key"] for c in got["top"]] == [
        "company:beta", "company:acme corp", "email:ava@ex.co", f"deal:{history['lone']}",
        "contact:bo lind"]
    acme = top["company:acme corp"]
    assert (acme["customer"], acme["won_deals"], acme["revenue"], acme["status"]) == \
        ("acme CORP", 2, 3000, "active")  # its most recent spelling, spaces made one
    assert (acme["first_win"], acme["last_win"]) == ("2025-01-10T00:00:00+00:00",
                                                     "2026-03-01T00:00:00+00:00")
    assert acme["lifetime_days"] == half_up(Fraction(seconds("2025-01-10", MOMENT), DAY), 2)
    assert (top["company:beta"]["status"], top["company:beta"]["lifetime_days"]) == \
        ("lapsed", 92.0)
    assert top["email:ava@ex.co"]["customer"] == "AVA@EX.CO"
    assert (top["contact:bo lind"]["revenue"], top["contact:bo lind"]["customer"]) == \
        (0, "Bo Lind")
    assert top[f"deal:{history['lone']}"]["customer"] == f"Lone deal (deal {history['lone']})"
    # The won deals are the report's: its won count and value.
    totals = run("report", "--as-of", AS_OF, "-o", "json").json()["totals"]
    assert (totals["won_count"], totals["won_value"]) == (deals, revenue)


def test_per_contact(run, history):
    got = customers(run, "--per", "contact")
    # Acme's two wins have two emails; Beta has only its company; Ava one email.
    assert got["per"] == "contact" and got["customers"] == 6
    assert got["keyed_by"] == {"company": 1, "email": 3, "contact": 1, "deal": 1}
    assert got["repeat_customers"] == 2  # Beta, Ava
    assert got["revenue_per_customer"] == half_up(Fraction(7950, 6), 2)


def test_the_text_says_what_each_figure_is(run, history):
    out = run("customers", "--as-of", AS_OF).out
    lines = {line.split(":")[0]: " ".join(line.split()) for line in out.splitlines()
             if ":" in line}
    assert lines["Customers"] == ("Customers: 5 (2 by company, 1 by email, 1 by contact name, "
                                  "1 a deal of its own)")
    assert lines["Revenue"] == "Revenue: 7,950 USD"
    assert lines["Repeat rate"] == "Repeat rate: 60.0% (3 of 5 won 2 deals or more)"
    assert lines["Lapsed"] == "Lapsed: 2 of 5 (40.0%): no win in the last 365 days; 3 active"
    assert lines["CLV"].startswith("CLV: 3,975 USD (revenue ÷ lapsed customers")
    assert "Top customers, by revenue" in out and "acme CORP" in out


def test_the_lapse_is_more_than_so_many_days(run, history):
    # Ava's last win: 2026-10-15 00:00, 36 days 23:59:59 before the moment.
    assert customers(run, "--lapse", "36")["lapsed"] == 5
    assert customers(run, "--lapse", "37")["lapsed"] == 4
    everyone = customers(run, "--lapse", "30")
    assert everyone["clv"] == everyone["revenue_per_customer"] == 1590
    assert everyone["expected_lifetime_days"] == everyone["avg_lifetime_days"]


def test_since_and_until_choose_the_wins(run, history):
    got = customers(run, "--since", "2026-01-01")
    # Acme's 2026 win alone, Ava's two, Bo's: none lapsed, so no CLV.
    assert (got["customers"], got["won_deals"], got["revenue"], got["repeat_customers"]) == \
        (3, 4, 3000, 1)
    assert got["lapsed"] == 0 and got["clv"] is None and got["expected_lifetime_days"] is None
    assert got["clv_note"] == "no customer has lapsed yet"
    acme = next(c for c in got["top"] if c["key"] == "company:acme corp")
    assert acme["first_win"] == acme["last_win"] == "2026-03-01T00:00:00+00:00"
    assert got["filters"]["since"] == "2026-01-01"
    out = run("customers", "--as-of", AS_OF, "--since", "2026-01-01").out
    assert "CLV: – (no customer has lapsed yet: every one won a deal in the last 365 days)" \
        in " ".join(out.split())
    assert "Filters: won 2026-01-01 to …" in out
    window = customers(run, "--since", "2024-01-01", "--until", "2024-12-31")
    assert (window["customers"], window["revenue"], window["lapsed"]) == (1, 3700, 1)


def test_as_of_replays_the_past(run, history):
    past = run("customers", "--as-of", "2026-06-15", "-o", "json").json()
    # A3 was won then (reopened on 07-01); Ava's deals were not yet won.
    acme = next(c for c in past["top"] if c["key"] == "company:acme corp")
    assert (acme["won_deals"], acme["revenue"], acme["customer"]) == (3, 3500, "ACME corp")
    assert past["customers"] == 4 and "email:ava@ex.co" not in {c["key"] for c in past["top"]}


def test_the_contact_is_the_one_at_the_report_moment(run, workspace):
    deal = won(run, "No company", "2026-10-01", "--value", "100", "--email", "old@a.co")
    assert run("edit", deal, "--email", "new@b.co", "--at", "2026-11-10").code == 0
    before = run("customers", "--as-of", "2026-11-05", "-o", "json").json()
    now = run("customers", "-o", "json").json()
    assert [c["key"] for c in before["top"]] == ["email:old@a.co"]
    assert [c["key"] for c in now["top"]] == ["email:new@b.co"]
    assert run("customers", "--as-of", "2026-11-05", "--per", "contact", "-o",
               "json").json()["top"][0]["key"] == "email:old@a.co"
    gone = won(run, "Deleted since", "2026-10-02", "--contact", "Cy Gone")
    assert run("rm", gone, "--yes").code == 0  # now, after the day reported on
    keys = {c["key"] for c in run("customers", "--as-of", "2026-11-19", "-o",
                                  "json").json()["top"]}
    assert keys == {"email:new@b.co", "contact:cy gone"}


def test_top_n_sort_and_the_rest_counted(run, history):
    got = customers(run, "-n", "2", "--sort", "deals")
    # Two won deals each: Beta (3,700), Acme (3,000), Ava (1,000) — ties by revenue.
    assert [c["key"] for c in got["top"]] == ["company:beta", "company:acme corp"]
    assert (got["more"], got["limit"], got["sort"]) == (3, 2, "deals")
    latest = customers(run, "--sort", "last", "-n", "1")["top"]
    assert latest[0]["key"] == "email:ava@ex.co"
    out = run("customers", "--as-of", AS_OF, "-n", "2").out
    assert "3 more customers (-n 5 lists every one)" in out
    figures_only = run("customers", "--as-of", AS_OF, "-n", "0").out
    assert "5 customers not listed (-n 5 lists them)." in figures_only
    assert "Top customers" not in figures_only


def test_filters_and_an_empty_result(run, history):
    assert run("customers", "--owner", "nobody").out.splitlines()[-1] == \
        "No won deal matches the filters."
    empty = run("customers", "--owner", "nobody", "-o", "json").json()
    assert (empty["customers"], empty["revenue"], empty["clv"], empty["top"]) == (0, 0, None, [])
    assert run("customers", "--company", "beta", "-o", "json").json()["customers"] == 1


def test_csv_one_row_per_customer(run, history):
    text = run("customers", "--as-of", AS_OF, "-o", "csv").out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["customer", "kind", "won_deals", "revenue", "first_win",
                             "last_win", "status", "lifetime_days"]
    assert (rows[0]["customer"], rows[0]["revenue"], rows[0]["status"],
            rows[0]["lifetime_days"]) == ("Beta", "3700", "lapsed", "92")


def test_several_currencies(run, workspace):
    won(run, "A", "2026-10-01", "--value", "100", "--company", "Acme")
    won(run, "B", "2026-10-02", "--value", "50", "--company", "Acme", "--currency", "EUR")
    won(run, "C", "2024-01-02", "--value", "30", "--company", "Beta", "--currency", "EUR")
    split = run("customers", "-o", "json").json()
    assert split["currency"] is None and split["revenue"] is None
    assert split["revenue_by_currency"] == {"EUR": 80, "USD": 100}
    # Each currency's deals alone: EUR has two customers, one lapsed; USD one, active.
    assert split["revenue_per_customer_by_currency"] == {"EUR": 40, "USD": 100}
    assert split["clv_by_currency"] == {"EUR": 80, "USD": None}
    assert split["clv"] is None and split["customers"] == 2 and split["lapsed"] == 1
    # why a currency has no CLV is said, on the terminal and in the JSON
    assert split["clv_note"] == "no USD customer has lapsed yet"
    assert "CLV: 80 EUR (revenue ÷ lapsed customers; no USD customer has lapsed yet)" in \
        " ".join(run("customers").out.split())
    assert split["top"][0]["revenue_by_currency"] == {"EUR": 50, "USD": 100}
    text = " ".join(run("customers").out.split())
    assert "amounts are shown per currency, never added" in text
    assert "Revenue: 80 EUR; 100 USD" in text
    yaml = workspace / "pipeline.yaml"
    yaml.write_text(yaml.read_text().replace("currency: USD\n", "currency: USD\nrates: "
                                                                "{EUR: 1.5}\n"))
    converted = run("customers", "-o", "json").json()
    assert converted["converted"] and converted["revenue"] == 220  # 100 + 80 × 1.5
    assert converted["clv"] == 220 and converted["revenue_per_customer"] == 110
    assert converted["top"][0]["revenue"] == 175


def hostile_store(workspace, backend: str, company: str) -> None:
    """A deal won under a company name `pipe add` would refuse (a hand-edited store)."""
    store = open_store(workspace / ("deals" if backend == "csv" else "deals.sqlite"))
    with store.write() as tx:
        tx.append("hostile1", Kind.CREATED, at("2026-01-01"), sets={
            "pipeline": "sales", "stage": "prospecting", "status": "open", "name": "H",
            "value": "10", "company": company})
        tx.append("hostile1", Kind.WON, at("2026-02-01"), sets={"stage": "won",
                                                                "status": "won"})


def test_names_are_shown_escaped(run, workspace, backend):
    hostile_store(workspace, backend, "Evil\x1b[31m\u202eCorp")
    for fmt in ("table", "plain", "markdown", "csv"):
        out = run("customers", "-o", fmt).out
        assert "\x1b" not in out and "\u202e" not in out, fmt
        assert "Evil\\x1b[31m\\u202eCorp" in out, fmt
    assert run("customers", "-o", "json").json()["top"][0]["customer"] == \
        "Evil\x1b[31m\u202eCorp"


def test_a_formula_is_guarded_in_csv(run, workspace):
    won(run, "F", "2026-10-01", "--value", "10", "--company", "=cmd|' /C calc'!A0")
    rows = list(csv.reader(io.StringIO(run("customers", "-o", "csv").out)))
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
    tsv = run("customers", "-o", "tsv").out.splitlines()[1]
    assert tsv.startswith("'=cmd")


@pytest.mark.parametrize("args, code, words", [
    (["--lapse", "0"], 2, "--lapse"),
    (["--lapse", "-5"], 2, "--lapse"),
    (["--lapse", "soon"], 2, "--lapse"),
    (["--as-of", "2026-02-30"], 2, "--as-of"),
    (["--since", "someday"], 2, "--since"),
    (["--since", "2026-05-01", "--until", "2026-01-01"], 2, "is after --until"),
    (["--per", "account"], 2, "--per"),
    (["--sort", "value"], 2, "--sort"),
    (["-n", "-1"], 2, "--limit"),
    (["-p", "nosuch"], 1, "no pipeline named 'nosuch'"),
])
def test_bad_input_is_one_sentence(run, history, args, code, words):
    result = run("customers", *args)
    assert result.code == code, result.err
    assert result.out == "" and result.err.count("\n") == 1
    assert words in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("width", (40, 54, 60, 67, 80, 100, 120))
def test_the_table_fits_the_terminal_and_cuts_nothing(sample, run, monkeypatch, width):
    """The bundled sample's customers: every name, count, amount and date whole at every
    width, and no line wider than the terminal from 60 columns on."""
    from test_width import money

    data = run("customers", "-o", "json").json()
    out = seen(monkeypatch, ["customers"], width)
    words = {w for c in data["top"] for w in
             (*c["customer"].split(), str(c["won_deals"]), money(c["revenue"]),
              c["last_win"][:10])}
    assert len(words) > 20 and not words - set(out.split()), (width, out)
    assert "…" not in out
    if width >= 60:
        assert max(len(line) for line in out.splitlines()) <= width, (width, out)
    if width >= 80:
        assert "First win" in out and "hidden:" not in out


# -- the Maven CRM data: accounts are companies, close_value the value -----------------------

def maven_expected(as_of: datetime, lapse_days: int) -> dict:
    """The figures straight from the CSV with the csv module: the Won rows closed by the
    end of `as_of`'s day, per account."""
    with open(DATA / "sales_pipeline.csv", newline="", encoding="utf-8") as f:
        wins = [r for r in csv.DictReader(f) if r["deal_stage"] == "Won"
                and at(r["close_date"]) <= as_of]
    accounts: dict[str, list] = {}
    for r in wins:
        accounts.setdefault(r["account"], []).append((at(r["close_date"]), int(r["close_value"])))
    lived = lapsed = repeat = 0
    revenue = {}
    for name, bought in accounts.items():
        first, last = min(d for d, _ in bought), max(d for d, _ in bought)
        gone = (as_of - last).total_seconds() > lapse_days * DAY
        lapsed += gone
        repeat += len(bought) >= 2
        lived += int(((last if gone else as_of) - first).total_seconds())
        revenue[name] = sum(v for _, v in bought)
    total = sum(revenue.values())
    return {"customers": len(accounts), "won_deals": len(wins), "revenue": total,
            "repeat": repeat, "lapsed": lapsed, "lived": lived,
            "top": max(revenue, key=lambda name: revenue[name]),
            "top_revenue": max(revenue.values())}


@pytest.mark.skipif(not (DATA / "sales_pipeline.csv").exists(),
                    reason="../shared/datasets is not beside this checkout")
@pytest.mark.parametrize("as_of, lapse", [("2017-09-30", 14), (None, 365)])
def test_maven_customers(run, maven, as_of, lapse):
    moment = datetime.fromisoformat(f"{as_of}T23:59:59+00:00") if as_of else \
        datetime.fromisoformat(NOW)
    want = maven_expected(moment, lapse)
    args = ["--as-of", as_of] if as_of else []
    got = run("customers", "-f", str(maven), *args, "--lapse", str(lapse), "-n", "1",
              "-o", "json").json()
    c, k = want["customers"], want["lapsed"]
    assert (got["customers"], got["won_deals"], got["repeat_customers"], got["lapsed"]) == \
        (c, want["won_deals"], want["repeat"], k)
    assert k > 0 and got["keyed_by"]["company"] == c
    assert got["revenue"] == want["revenue"]
    assert got["revenue_per_customer"] == half_up(Fraction(want["revenue"], c), 2)
    assert got["avg_order_value"] == half_up(Fraction(want["revenue"], want["won_deals"]), 2)
    assert got["repeat_rate"] == half_up(Fraction(want["repeat"], c), 4)
    assert got["churn"] == half_up(Fraction(k, c), 4)
    assert got["avg_lifetime_days"] == half_up(Fraction(want["lived"], c * DAY), 2)
    assert got["expected_lifetime_days"] == half_up(Fraction(want["lived"], k * DAY), 2)
    assert got["clv"] == half_up(Fraction(want["revenue"], k), 2)
    assert (got["top"][0]["customer"], got["top"][0]["revenue"]) == \
        (want["top"], want["top_revenue"])
    assert got["more"] == c - 1


def test_one_pipeline_or_all(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text("""\
store: deals
currency: USD
pipelines:
  - name: marketing
    kind: b2c
    stages:
      - {key: lead, probability: 5}
      - {key: customer, probability: 100, outcome: won}
      - {key: junk, probability: 0, outcome: lost}
  - name: sales
    kind: b2b
    stages:
      - {key: discovery, probability: 20}
      - {key: won, probability: 100, outcome: won}
      - {key: lost, probability: 0, outcome: lost}
""")
    won(run, "Shop order", "2026-10-01", "--value", "40", "--company", "Acme")
    won(run, "Contract", "2026-10-05", "--value", "900", "--company", "ACME", "-p", "sales")
    won(run, "Other", "2026-10-06", "--value", "100", "--company", "Beta", "-p", "sales")
    first = run("customers", "-o", "json").json()
    sales = run("customers", "-p", "sales", "-o", "json").json()
    every = run("customers", "--all", "-o", "json").json()
    assert (first["pipeline"], first["customers"], first["revenue"]) == ("marketing", 1, 40)
    assert (sales["customers"], sales["repeat_customers"], sales["revenue"]) == (2, 0, 1000)
    assert (every["pipeline"], every["customers"], every["repeat_customers"],
            every["revenue"]) == ("all", 2, 1, 1040)


def test_markdown_renders_as_it_reads(run, history):
    from test_markdown import cells, check_renders_as_it_reads

    text = run("customers", "--as-of", AS_OF, "-o", "markdown").out
    check_renders_as_it_reads(text)
    rows = {cells(line)[0]: cells(line)[1] for line in text.splitlines()
            if line.startswith("| ") and len(cells(line)) == 2}
    assert rows["Revenue"] == "7,950 USD" and rows["Customers"].startswith("5 (")
    assert "## Top customers, by revenue" in text


def test_a_lapse_pipe_cannot_count_is_a_usage_error(run, history):
    for days in ("0", "-3", "36526", "999999999999999999999"):
        result = run("customers", "--lapse", days)
        assert result.code == 2, (days, result.err)
        assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert run("customers", "--lapse", "36525").code == 0


def test_company_filter_takes_a_customer_as_customers_names_it(run, workspace):
    """`--company` compares names as `pipe customers` keys them: without case and with every
    run of spaces as one — so one customer's deals are all found by its shown name."""
    won(run, "X1", "2026-10-01", "--value", "100", "--company", "Acme Corp")
    won(run, "X2", "2026-10-02", "--value", "50", "--company", "acme   CORP")
    won(run, "Y", "2026-10-03", "--value", "7", "--company", "Acme Corporation")
    top = run("customers", "-o", "json").json()["top"]
    acme = next(c for c in top if c["won_deals"] == 2)
    found = run("customers", "--company", acme["customer"], "-o", "json").json()
    assert (found["won_deals"], found["revenue"]) == (2, 150)
    listed = run("list", "--status", "all", "--company", " ACME  corp ", "-o", "json").json()
    assert sorted(d["name"] for d in listed) == ["X1", "X2"]
