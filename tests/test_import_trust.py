"""Imports that can be trusted (issue 11): each case found on real exports, on hand-made
files, against both stores — and the class behind it: merges that keep what other files
set, dates that mean what they say, amounts read one way, re-imports that add nothing."""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import store_digest
from test_import import SALESFORCE_YAML

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EARTHFINK = SHARED / "salesforce-opportunity-exports" / "earthfink1982-salesforce-in-powerbi"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this "
                                                              "checkout")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def deals(run) -> dict:
    """Every deal by name, as `pipe list -o json` shows it."""
    return {d["name"]: d for d in run("list", "--status", "all", "-o", "json").json()}


def events(run) -> int:
    return len(run("log", "-n", "100000", "-o", "json").json())


def imported(run, *args):
    result = run("import", *args)
    assert result.code == 0, result.out + result.err
    return result


# -- a spreadsheet of open deals ---------------------------------------------------------

SHEET = """\
Deal Name,Amount,Stage,Close Date
Acme renewal,"12,000",Proposal,2027-01-15
Beta pilot,"8,500",Prospecting,2027-02-01
"""


def test_open_deals_from_a_sheet_are_created_now_and_counted(run, workspace):
    imported(run, str(write(workspace / "sheet.csv", SHEET)))
    found = deals(run)
    acme = found["Acme renewal"]
    assert acme["value"] == 12000 and acme["stage"] == "proposal"
    assert acme["close_date"] == "2027-01-15"
    assert acme["created_at"].startswith("2026-11-20")  # the import moment, not the close date
    report = run("report", "-o", "json").json()
    now = {s["key"]: s for s in report["stages"]}
    assert now["proposal"]["value"] == 12000 and now["prospecting"]["value"] == 8500
    forecast = run("forecast", "-o", "json").json()
    months = {m["month"]: m for m in forecast["months"]}
    assert months["2027-01"]["open_value"] == 12000
    # the deal takes ordinary changes without --at
    assert run("move", "Acme renewal", "won").code == 0
    assert run("edit", "Beta pilot", "--value", "9000").code == 0


def test_a_creation_date_in_the_future_is_refused_with_its_line(run, workspace):
    path = write(workspace / "f.csv", "Name,Created\nA,2026-01-01\nB,2099-01-01\n")
    before = store_digest(workspace)
    result = run("import", str(path))
    assert result.code != 0
    assert "f.csv:3: column 'Created'" in result.out and "future" in result.out
    assert store_digest(workspace) == before


# -- amounts --------------------------------------------------------------------------------

def test_a_european_file_is_read_with_its_decimal_comma(run, workspace):
    path = write(workspace / "eu.csv", "Name;Amount\nA;1.000,50\nB;2.500\nC;12\n")
    result = imported(run, str(path))
    assert "decimal comma" in result.err
    found = deals(run)
    assert str(found["A"]["value"]) == "1000.5" and found["B"]["value"] == 2500
    assert found["C"]["value"] == 12


def test_an_amount_column_that_could_be_read_two_ways_is_refused(run, workspace):
    path = write(workspace / "amb.csv", "Name;Amount\nA;2.500\nB;3.750\n")
    result = run("import", str(path))
    assert result.code != 0
    assert "amb.csv:2: column 'Amount'" in result.out and "--decimal-comma" in result.out
    imported(run, str(path), "--decimal-comma")
    assert deals(run)["B"]["value"] == 3750


def test_a_flag_that_contradicts_the_file_refuses_the_rows(run, workspace):
    path = write(workspace / "eu.csv", "Name;Amount\nA;1.000,50\nB;2.500\n")
    result = run("import", str(path), "--decimal-point")
    assert result.code != 0 and "eu.csv:2: column 'Amount'" in result.out


def test_more_decimals_than_the_currency_has_are_refused_or_rounded_half_up(run, workspace):
    path = write(workspace / "d.csv", "Name,Amount\nA,7564.6845\nB,0.125\n")
    result = run("import", str(path))
    assert result.code != 0
    assert "d.csv:2: column 'Amount'" in result.out and "d.csv:3" in result.out
    imported(run, str(path), "--round")
    found = deals(run)
    assert str(found["A"]["value"]) == "7564.68"
    assert str(found["B"]["value"]) == "0.13"  # half up, not to even


# -- merges and re-imports ---------------------------------------------------------------------

def olist_like(folder: Path, seed: int = 7) -> tuple[Path, Path, Counter]:
    """Two files shaped like a marketing-funnel export: leads with their origin, and the
    closed deals by lead id (no status column: every row is a win). Returns the expected
    wins per origin, counted from the files alone."""
    rng = random.Random(seed)
    origins = ["organic_search", "paid_search", "social", "email", "referral", ""]
    leads, wins = [], []
    for i in range(300):
        lead = f"{rng.getrandbits(64):016x}"
        start = date(2025, 6, 1) + timedelta(days=rng.randrange(200))
        leads.append((lead, start.isoformat(), f"lp{rng.randrange(30)}", rng.choice(origins)))
        if rng.random() < 0.25:
            won = start + timedelta(days=rng.randrange(1, 90))
            wins.append((lead, f"s{i}", won.isoformat() + " 13:45:00", "pet"))
    lead_file, won_file = folder / "leads.csv", folder / "closed.csv"
    with lead_file.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mql_id", "first_contact_date", "landing_page_id", "origin"])
        w.writerows(leads)
    with won_file.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mql_id", "seller_id", "won_date", "business_segment"])
        w.writerows(rng.sample(wins, len(wins)))
    origin = {lead: o for lead, _, _, o in leads}
    return lead_file, won_file, Counter(origin[w[0]] for w in wins)


def wins_by_source(run) -> Counter:
    return Counter(d["source"] for d in deals(run).values() if d["status"] == "won")


@pytest.mark.parametrize("order", ["leads first", "closed first"])
def test_two_files_joined_by_id_keep_each_others_fields_and_reimport_adds_nothing(
        run, workspace, order):
    leads, closed, expected = olist_like(workspace)
    first = [str(leads)] if order == "leads first" else [str(closed), "--set", "status=won"]
    second = [str(closed), "--set", "status=won"] if order == "leads first" else [str(leads)]
    imported(run, *first)
    imported(run, *second)
    assert wins_by_source(run) == expected
    wins = [d for d in deals(run).values() if d["status"] == "won"]
    assert all(d["closed_at"].endswith("13:45:00+00:00") or "T13:45:00" in d["closed_at"]
               for d in wins)
    before, count = store_digest(workspace), events(run)
    for args in (first, second, first, second):
        result = imported(run, *args)
        assert "(0 events)" in result.out
    assert store_digest(workspace) == before and events(run) == count
    assert run("check").code == 0


def test_a_file_without_status_says_that_it_changes_no_outcome(run, workspace):
    leads, closed, _ = olist_like(workspace)
    imported(run, str(leads))
    result = imported(run, str(closed))
    assert not any(d["status"] == "won" for d in deals(run).values())
    assert "--set status=won" in result.err


def test_an_empty_cell_leaves_the_field_unless_asked_to_clear_it(run, workspace):
    imported(run, str(write(workspace / "a.csv", "Id,Name,Owner,Amount\nx1,A,ann,100\n")))
    imported(run, str(write(workspace / "b.csv", "Id,Name,Owner,Amount\nx1,A,,\n")))
    assert deals(run)["A"]["owner"] == "ann" and deals(run)["A"]["value"] == 100
    imported(run, str(workspace / "b.csv"), "--clear-empty")
    assert deals(run)["A"]["owner"] == "" and deals(run)["A"]["value"] is None


def test_a_closed_deal_with_the_same_outcome_is_untouched_and_a_new_outcome_is_dated(
        run, workspace):
    path = write(workspace / "a.csv", "Id,Name,Status,Won time,Lost time,Update time\n"
                                      "p1,A,won,2026-03-01 10:00,,2026-03-01 10:00\n")
    imported(run, str(path))
    assert "(0 events)" in imported(run, str(path)).out
    path = write(workspace / "b.csv", "Id,Name,Status,Won time,Lost time,Update time\n"
                                      "p1,A,open,,,2026-04-02 09:30\n")
    imported(run, str(path))
    history = run("show", "A", "-o", "json").json()["history"]
    assert [h["event"] for h in history][-1] == "reopened"
    assert history[-1]["at"].startswith("2026-04-02T09:30")
    assert deals(run)["A"]["stage"] == "prospecting"  # the open stage it closed from


def test_pipedrive_won_and_lost_times_date_the_closes(run, workspace):
    path = write(workspace / "pd.csv",
                 "Deal - ID,Deal - Title,Deal - Value,Deal - Stage,Deal - Status,"
                 "Deal - Deal created,Deal - Won time,Deal - Lost time\n"
                 "11,Alpha,100,Proposal,won,2026-01-05 09:00,2026-02-10 16:20,\n"
                 "12,Bravo,200,Qualification,lost,2026-01-06 09:00,,2026-03-01 11:00\n"
                 "13,Charlie,300,Proposal,open,2026-01-07 09:00,,\n")
    imported(run, str(path), "--preset", "pipedrive")
    found = deals(run)
    assert found["Alpha"]["closed_at"].startswith("2026-02-10T16:20")
    assert found["Bravo"]["closed_at"].startswith("2026-03-01T11:00")
    assert found["Charlie"]["status"] == "open" and found["Charlie"]["external_id"] == "13"
    # the stage of a closed Pipedrive deal is where it closed from
    shown = run("show", "Alpha", "-o", "json").json()
    assert shown["history"][0]["sets"]["stage"] == "proposal"


def test_hubspot_close_date_dates_only_closed_deals(run, workspace):
    path = write(workspace / "hs.csv",
                 "Record ID,Deal Name,Deal Stage,Close Date,Create Date,Amount\n"
                 "1,A,Closed won,2026-02-01 12:00,2026-01-01 09:00,100\n"
                 "2,B,Proposal,2027-02-01,2026-01-02 09:00,100\n")
    imported(run, str(path), "--preset", "hubspot")
    found = deals(run)
    assert found["A"]["closed_at"].startswith("2026-02-01T12:00")
    assert found["B"]["created_at"].startswith("2026-01-02") and found["B"]["status"] == "open"
    assert found["B"]["close_date"] == "2027-02-01"


# -- ids, encodings, currencies ---------------------------------------------------------------

def test_case_sensitive_ids_stay_apart_and_are_kept_as_written(run, workspace):
    path = write(workspace / "sf.csv", "Id,Name\n0061a00000AbCdE,A\n0061a00000abcde,B\n")
    imported(run, str(path))
    found = deals(run)
    assert found["A"]["external_id"] == "0061a00000AbCdE"
    assert found["B"]["external_id"] == "0061a00000abcde"
    assert found["A"]["id"] != found["B"]["id"]
    assert run("show", "0061a00000AbCdE", "-o", "json").json()["name"] == "A"
    assert "(0 events)" in imported(run, str(path)).out


def test_a_windows_1252_file_is_read_with_a_note(run, workspace):
    path = write(workspace / "w.csv", "Name,Company\nCafé deal,Société Générale – €\n",
                 encoding="cp1252")
    result = imported(run, str(path))
    assert "Windows-1252" in result.err
    assert deals(run)["Café deal"]["company"] == "Société Générale – €"


def test_each_deal_keeps_its_currency_with_its_minor_units(run, workspace):
    path = write(workspace / "m.csv", "Id,Name,Amount,Currency\n1,A,100.50,EUR\n"
                                      "2,B,5000,JPY\n3,C,20,USD\n")
    imported(run, str(path))
    found = deals(run)
    assert (found["A"]["currency"], str(found["A"]["value"])) == ("EUR", "100.5")
    assert (found["B"]["currency"], found["C"]["currency"]) == ("JPY", "USD")
    bad = write(workspace / "bad.csv", "Id,Name,Amount,Currency\n4,D,12.5,JPY\n5,E,1,XYZ\n")
    result = run("import", str(bad))
    assert result.code != 0
    assert "bad.csv:2: column 'Amount'" in result.out
    assert "bad.csv:3: column 'Currency'" in result.out


# -- Salesforce with its history ------------------------------------------------------------------



@pytest.fixture
def sf_workspace(tmp_path, backend) -> Path:
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(SALESFORCE_YAML.replace("store: deals\n",
                                                                    f"store: {store}\n"))
    return tmp_path


@needs_shared
def test_salesforce_closes_are_dated_by_the_history_closing_row(run, sf_workspace):
    imported(run, str(EARTHFINK / "Opportunity.csv"), "--preset", "salesforce",
             "--history", str(EARTHFINK / "OpportunityHistory.csv"))
    history = list(csv.DictReader((EARTHFINK / "OpportunityHistory.csv").open()))
    opportunities = list(csv.DictReader((EARTHFINK / "Opportunity.csv").open()))
    by_id = {d["external_id"]: d for d in run("list", "--status", "all", "-o", "json").json()}
    assert len(by_id) == len(opportunities)
    for opp in opportunities:
        deal = by_id[opp["Id"]]
        assert deal["status"] == ("won" if opp["IsWon"] == "TRUE" else
                                  "lost" if opp["IsClosed"] == "TRUE" else "open")
        if deal["status"] == "open":
            continue
        # independently: the last history row whose stage is the deal's outcome, after
        # which nothing changed the outcome
        rows = sorted((r for r in history if r["OpportunityId"] == opp["Id"]),
                      key=lambda r: _sf_time(r["CreatedDate"]))
        closing = [r for r in rows if r["StageName"] == opp["StageName"]]
        assert closing, opp["Id"]
        assert deal["closed_at"][:16] == _sf_time(closing[0]["CreatedDate"])
    assert run("check").code == 0
    before = store_digest(sf_workspace)
    again = imported(run, str(EARTHFINK / "Opportunity.csv"), "--preset", "salesforce",
                     "--history", str(EARTHFINK / "OpportunityHistory.csv"))
    assert "(0 events)" in again.out and store_digest(sf_workspace) == before


def _sf_time(text: str) -> str:
    """MM/DD/YY hh:mm AM → YYYY-MM-DDTHH:MM (the tests run in UTC)."""
    day, clock, half = text.split()
    month, dom, year = day.split("/")
    hour, minute = (int(x) for x in clock.split(":"))
    hour = hour % 12 + (12 if half == "PM" else 0)
    return f"20{year}-{month}-{dom}T{hour:02d}:{minute:02d}"


def test_history_amounts_become_value_events_that_as_of_replays(run, sf_workspace):
    opp = write(sf_workspace / "o.csv",
                "Id,Name,StageName,Amount,CloseDate,CreatedDate,IsClosed,IsWon\n"
                "006A,Big,Closed Won,900,2026-05-01,2026-01-01,true,true\n")
    hist = write(sf_workspace / "h.csv",
                 "OpportunityId,CreatedDate,StageName,Amount\n"
                 "006A,2026-01-01T09:00:00Z,Prospecting,500\n"
                 "006A,2026-02-01T09:00:00Z,Proposal/Price Quote,700\n"
                 "006A,2026-04-20T15:00:00Z,Closed Won,900\n")
    imported(run, str(opp), "--preset", "salesforce", "--history", str(hist))
    big = deals(run)["Big"]
    assert big["closed_at"].startswith("2026-04-20T15:00")
    for day, value in (("2026-01-15", 500), ("2026-03-01", 700), ("2026-05-01", 900)):
        listed = run("list", "--status", "all", "--as-of", day, "-o", "json")
        if listed.code == 0:
            assert listed.json()[0]["value"] == value
        report = run("report", "--as-of", day, "-o", "json").json()
        total = sum(s["value"] for s in report["stages"] if s["key"] != "lost")
        assert total == value, day
    assert "(0 events)" in imported(run, str(opp), "--preset", "salesforce", "--history",
                                    str(hist)).out


# -- round trip -----------------------------------------------------------------------------------

def test_export_import_round_trips_currencies_and_value_history(run, workspace, tmp_path):
    path = write(workspace / "m.csv", "Id,Name,Amount,Currency,Created\n"
                                      "1,A,100.50,EUR,2026-01-01\n2,B,5000,JPY,2026-01-02\n")
    imported(run, str(path))
    assert run("edit", "A", "--value", "120", "--at", "2026-02-01").code == 0
    deals_csv = run("export").out
    history_csv = run("export", "--history").out
    for kind, text in (("deals", deals_csv), ("history", history_csv)):
        other = tmp_path / f"copy-{kind}"
        other.mkdir()
        (other / "pipeline.yaml").write_text((workspace / "pipeline.yaml").read_text())
        exported = write(other / "x.csv", text)
        assert run("import", str(exported), "-f", str(other / "pipeline.yaml")).code == 0
        copy = {d["name"]: d for d in run("list", "--status", "all", "-o", "json", "-f",
                                          str(other / "pipeline.yaml")).json()}
        assert copy["A"]["currency"] == "EUR" and copy["A"]["value"] == 120
        assert copy["B"]["currency"] == "JPY" and copy["A"]["external_id"] == "1"
        again = run("import", str(exported), "-f", str(other / "pipeline.yaml"))
        assert again.code == 0 and ("(0 events)" in again.out or "0 events added" in again.out)


def test_add_and_edit_take_a_deal_currency_checked_against_iso_4217(run, workspace):
    assert run("add", "Euro deal", "--value", "100.50", "--currency", "eur").code == 0
    assert run("add", "Yen deal", "--value", "12.5", "--currency", "JPY").code == 2
    assert run("add", "Odd", "--currency", "XYZ").code == 2
    assert run("add", "Dollar deal", "--value", "5", "--currency", "USD").code == 0
    found = deals(run)
    assert (found["Euro deal"]["currency"], str(found["Euro deal"]["value"])) == ("EUR",
                                                                                  "100.5")
    assert found["Dollar deal"]["currency"] == "USD"  # the pipeline's own, shown as such
    assert run("edit", "Euro deal", "--currency", "JPY").code == 2  # 100.5 has decimals
    assert run("edit", "Euro deal", "--value", "100", "--currency", "JPY").code == 0
    assert deals(run)["Euro deal"]["currency"] == "JPY"
    exported = run("export").out.splitlines()
    assert ",currency,external_id," in exported[0]
    assert any(",JPY," in line for line in exported[1:])
    assert not any(",USD," in line for line in exported[1:])  # kept implicitly


# -- the class behind each case found in review ----------------------------------------------

def test_a_pipe_history_file_is_checked_against_this_workspace(run, workspace, tmp_path):
    deal = run("add", "Acme", "--at", "2026-11-01").out.strip()
    assert run("move", deal, "proposal", "--at", "2026-11-02").code == 0
    lines = run("export", "--history").out.splitlines()
    target = tmp_path / "other"
    target.mkdir()
    yaml = (workspace / "pipeline.yaml").read_text()
    cases = {
        "other pipeline": (yaml.replace("name: sales", "name: deals"), lines),
        "unknown stage": (yaml, [lines[0], lines[1], lines[2].replace(",proposal,", ",gone,")]),
        "no creation": (yaml, [lines[0], lines[2]]),
        "future": (yaml, [lines[0], lines[1].replace("2026-11-01T", "2030-11-01T"), lines[2]]),
    }
    for label, (text, rows) in cases.items():
        folder = target / label.replace(" ", "-")
        folder.mkdir()
        (folder / "pipeline.yaml").write_text(text)
        source = write(folder / "h.csv", "\n".join(rows) + "\n")
        result = run("import", str(source), "-f", str(folder / "pipeline.yaml"))
        assert result.code == 1, label
        assert "h.csv:" in result.out and "nothing was imported" in result.err, label
        assert not (folder / "deals").exists() or not list((folder / "deals").glob("*.csv"))


@pytest.fixture
def multi(tmp_path, backend) -> Path:
    from test_multi_pipeline import MULTI

    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(MULTI.format(store=store))
    return tmp_path


def test_a_pipeline_column_chooses_each_rows_pipeline(run, multi):
    path = write(multi / "p.csv", "id,name,pipeline,stage,email\nS1,Sale,sales,proposal,\n"
                                  "M1,Lead,Marketing,sql,l@x.io\n")
    imported(run, str(path))
    found = deals(run)
    assert (found["Sale"]["pipeline"], found["Sale"]["stage"]) == ("sales", "proposal")
    assert (found["Lead"]["pipeline"], found["Lead"]["stage"]) == ("marketing", "sql")
    # a history is read with the stages of -p's pipeline: a row of another one is refused
    history = write(multi / "h.csv", "OpportunityId,CreatedDate,StageName\nS1,2026-01-01,MQL\n")
    result = run("import", str(path), "-p", "marketing", "--history", str(history))
    assert result.code == 1 and "is not a stage of pipeline 'sales'" in result.out


def test_json_numbers_use_a_point_whatever_the_strings_of_their_column_do(run, workspace):
    path = write(workspace / "j.json", '[{"name": "a", "value": 2.500}, '
                                       '{"name": "b", "value": "1.000,50"}]')
    imported(run, str(path))
    found = deals(run)
    assert str(found["a"]["value"]) == "2.5" and str(found["b"]["value"]) == "1000.5"
    path = write(workspace / "k.json", '[{"name": "c", "value": 2.500}]')
    imported(run, str(path), "--decimal-comma")
    assert str(deals(run)["c"]["value"]) == "2.5"


def test_a_stale_file_does_not_move_deals_back_on_every_refresh(run, workspace):
    leads = write(workspace / "leads.csv", "mql_id,first_contact_date,origin,stage\n"
                                           "L1,2026-01-05,search,prospecting\n")
    closed = write(workspace / "closed.csv", "mql_id,won_date,Amount\nL1,2026-04-01,1000\n")
    for _ in range(2):
        imported(run, str(leads))
        imported(run, str(closed), "--set", "status=won")
    lead = deals(run)["L1"]
    assert (lead["status"], lead["closed_at"][:10]) == ("won", "2026-04-01")
    kinds = [h["event"] for h in run("show", "L1", "-o", "json").json()["history"]]
    assert kinds == ["created", "won"]
    # the open-deals sheet, after the deal was won in pipe
    sheet = write(workspace / "sheet.csv", SHEET)
    imported(run, str(sheet))
    assert run("won", "Acme renewal").code == 0
    again = imported(run, str(sheet))
    assert "(0 events)" in again.out and "move a deal back" in again.err
    assert deals(run)["Acme renewal"]["status"] == "won"
    # a row that says when, after the win, does reopen it
    dated = write(workspace / "dated.csv", "Deal Name,Stage,Last Modified Date\n"
                                           "Acme renewal,Proposal,2026-11-20 12:00\n")
    assert imported(run, str(dated), "--at", "2026-11-21").out
    assert deals(run)["Acme renewal"]["status"] == "open"


def test_rows_without_an_id_in_a_file_with_ids_are_matched_by_name(run, workspace):
    path = write(workspace / "t.csv", "id,name,value\n,Acme,100\n,Acme,200\nx1,Beta,5\n")
    result = run("import", str(path))
    assert result.code == 1 and "t.csv:3: the name 'Acme'" in result.out


def test_amounts_are_checked_against_the_deals_own_currency(run, workspace):
    imported(run, str(write(workspace / "a.csv", "id,name,value,currency\nC1,Euro,5,EUR\n"
                                                  "B1,Dollar,10.50,USD\n")))
    result = run("import", str(write(workspace / "b.csv", "id,value\nC1,$7\n")))
    assert result.code == 1 and "b.csv:2: column 'value'" in result.out
    assert "not in EUR" in result.out
    result = run("import", str(write(workspace / "c.csv", "id,currency\nB1,JPY\n")))
    assert result.code == 1 and "c.csv:2: column 'value'" not in result.out
    assert "more than 0 decimals for JPY" in result.out
    assert str(deals(run)["Dollar"]["value"]) == "10.5"


def test_a_change_dated_before_the_deals_last_event_is_dated_at_it_with_a_note(run, workspace):
    imported(run, str(write(workspace / "a.csv", "id,name,created,won time,status\n"
                                                  "X1,X,2026-05-01,2026-06-01,won\n")))
    result = imported(run, str(write(workspace / "b.csv", "id,value,updated_at\n"
                                                          "X1,500,2026-03-01\n")))
    assert "dated at that event" in result.err
    history = run("show", "X1", "-o", "json").json()["history"]
    assert history[-1]["at"].startswith("2026-06-01")


def test_history_rows_for_no_row_of_the_file_are_counted(run, sf_workspace):
    opp = write(sf_workspace / "o.csv", "Id,Name,StageName\n006A,Big,Prospecting\n")
    hist = write(sf_workspace / "h.csv", "OpportunityId,CreatedDate,StageName\n"
                                         "006A,2026-01-01T09:00:00Z,Prospecting\n"
                                         "006B,2026-01-01T09:00:00Z,Prospecting\n"
                                         "006B,2026-01-02T09:00:00Z,Qualification\n")
    result = imported(run, str(opp), "--preset", "salesforce", "--history", str(hist))
    assert "2 changes of 1 deals match no row of o.csv" in result.err


def test_a_note_goes_with_the_change_it_explains_and_alone_changes_nothing(run, workspace):
    imported(run, str(write(workspace / "a.csv", "id,name,value\nN1,Acme,100\n")))
    assert "(0 events)" in imported(run, str(write(workspace / "b.csv",
                                                   "id,note\nN1,called them\n"))).out
    imported(run, str(write(workspace / "c.csv", "id,value,note\nN1,150,new quote\n")))
    assert run("show", "N1", "-o", "json").json()["history"][-1]["note"] == "new quote"


def test_salesforce_15_and_18_character_ids_are_one_deal(run, sf_workspace):
    long = write(sf_workspace / "l.csv", "Id,Name,Amount\n006bm00000LKJNNAA5,Big,10\n")
    short = write(sf_workspace / "s.csv", "Id,Name,Amount\n006bm00000LKJNN,Big,12\n")
    imported(run, str(long), "--preset", "salesforce")
    result = imported(run, str(short), "--preset", "salesforce")
    assert "1 updated" in result.out and "other form of their Salesforce id" in result.err
    assert len(deals(run)) == 1 and deals(run)["Big"]["value"] == 12


def test_a_deal_handed_on_to_another_pipeline_keeps_taking_its_files_fields(run, multi):
    leads = write(multi / "l.csv", "id,name,email,stage,owner\nM1,Lead,l@x.io,sql,ann\n")
    imported(run, str(leads), "-p", "marketing")
    assert run("move", "Lead", "prospecting", "--pipeline", "sales").code == 0
    again = imported(run, str(leads), "-p", "marketing")
    assert "(0 events)" in again.out and "handed on to another pipeline" in again.err
    changed = write(multi / "m.csv", "id,name,email,stage,owner\nM1,Lead,l@x.io,sql,bob\n")
    imported(run, str(changed), "-p", "marketing")
    lead = deals(run)["Lead"]
    assert (lead["pipeline"], lead["stage"], lead["owner"]) == ("sales", "prospecting", "bob")


def test_a_deal_handed_on_keeps_the_currency_of_its_amounts(run, multi):
    # marketing counts in USD, sales (the file's default) in EUR
    assert run("add", "Lead", "-p", "marketing", "--email", "l@x.io", "--value", "100").code == 0
    assert run("move", "Lead", "prospecting", "--pipeline", "sales").code == 0
    lead = deals(run)["Lead"]
    assert (lead["pipeline"], lead["currency"], lead["value"]) == ("sales", "USD", 100)
    assert run("return", "Lead").code == 0
    lead = deals(run)["Lead"]
    assert (lead["pipeline"], lead["currency"]) == ("marketing", "USD")
    shown = run("list", "--status", "all", "-o", "json").json()
    assert shown[0]["currency"] == "USD"
    assert run("export").out.splitlines()[1].endswith(",,")  # its own again: implicit


def test_won_edit_and_codes_speak_of_the_deals_own_currency(run, workspace):
    assert run("add", "Euro", "--value", "eur 1200", "--currency", "EUR").code == 0
    assert "(1,200 EUR)" in run("won", "Euro").out
    assert run("add", "Yen", "--value", "300.50").code == 0
    refused = run("edit", "Yen", "--currency", "JPY")
    assert refused.code == 2 and "the deal's value 300.5" in refused.err
    assert run("edit", "Yen", "--currency", "EUR").code == 0
    assert run("edit", "Yen", "--currency", "").code == 0  # back to the pipeline's
    assert deals(run)["Yen"]["currency"] == "USD"
    long = run("add", "X", "--currency", "Q" * 100_000)
    assert long.code == 2 and len(long.err) < 300
    assert run("add", "Z", "--value", "2.500", "--currency", "EUR").code == 2  # 2.5 or 2500?


def test_history_shows_each_amount_in_the_currency_it_was_in(run, workspace):
    assert run("add", "Y", "--value", "300.50").code == 0  # USD, the pipeline's
    assert run("edit", "Y", "--currency", "JPY", "--value", "7").code == 0
    assert run("edit", "Y", "--currency", "").code == 0
    shown = run("show", "Y").out
    assert "at prospecting, 300.50 USD" in shown.replace("Prospecting", "prospecting")
    assert "value: 7 JPY" in shown and "currency: USD (its pipeline's)" in shown
    log = run("log").out
    assert "300.50 USD" in log and "value: 7 JPY" in log


def test_a_crms_own_pipeline_column_is_left_out_with_a_note(run, workspace):
    path = write(workspace / "pd.csv", "Deal - ID,Deal - Title,Deal - Pipeline,Deal - Stage\n"
                                       "1,Alpha,Sales Pipeline,Proposal\n")
    result = imported(run, str(path), "--preset", "pipedrive")
    assert "'Deal - Pipeline' does not name pipelines" in result.err
    assert deals(run)["Alpha"]["stage"] == "proposal"
    mapped = run("import", str(path), "--map", "Deal - Pipeline=pipeline")
    assert mapped.code == 1 and "no pipeline 'Sales Pipeline'" in mapped.out


def test_a_column_name_given_twice_is_refused_only_when_it_is_used(run, workspace):
    path = write(workspace / "d.csv", "Name,Extra,Amount,Extra\nAcme,a,5,b\n")
    imported(run, str(path))  # Extra is not used: both are left out
    assert deals(run)["Acme"]["value"] == 5
    twice = write(workspace / "e.csv", "Name,Amount,Amount\nBeta,5,6\n")
    result = run("import", str(twice))
    assert result.code == 2 and "names 'Amount' twice (columns 2 and 3)" in result.err


def test_a_date_column_written_day_first_is_read_so_and_a_mixed_one_refused(run, workspace):
    path = write(workspace / "d.csv", "Name,Created\nA,03/04/2026\nB,31/01/2026\n")
    result = imported(run, str(path))
    assert "read day first" in result.err
    found = deals(run)
    assert found["A"]["created_at"][:10] == "2026-04-03"  # not 4 March: B says DD/MM
    assert found["B"]["created_at"][:10] == "2026-01-31"
    us = write(workspace / "u.csv", "Name,Created\nC,03/04/2026\nD,01/31/2026\n")
    imported(run, str(us))
    assert deals(run)["C"]["created_at"][:10] == "2026-03-04"
    mixed = write(workspace / "m.csv", "Name,Created\nE,31/01/2026\nF,01/31/2026\n")
    refused = run("import", str(mixed))
    assert refused.code == 2 and "the column mixes both" in refused.err
