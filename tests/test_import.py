"""pipe import / export: presets on real exports, the Maven data in one command, rejected
rows, idempotent updates, and round trips that give the same store back."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add, store_digest
from pipecli.store.codec import EVENT_COLUMNS, LOG_COLUMNS
from test_maven import DATA as MAVEN, expected, rows as maven_rows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SF = SHARED / "salesforce-opportunity-exports"
SAMPLES = Path(__file__).resolve().parent.parent / "sample_pipelines"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this "
                                                              "checkout")
MAVEN_YAML = (Path(__file__).resolve().parent.parent / "sample_pipelines" / "maven" /
              "pipeline.yaml").read_text()
MAVEN_IMPORT = ["--map", "engage_date=created_at", "--map", "account=company",
                "--map", "deal_stage=stage", "--map", "close_value=value",
                "--closed-from", "engaging"]
SALESFORCE_YAML = """\
name: salesforce
kind: b2b
currency: USD
store: deals
stages:
  - {key: prospecting, label: Prospecting, probability: 10}
  - {key: qualification, label: Qualification, probability: 10}
  - {key: needs_analysis, label: Needs Analysis, probability: 20}
  - {key: value_proposition, label: Value Proposition, probability: 50}
  - {key: decision_makers, label: Id. Decision Makers, probability: 60}
  - {key: perception_analysis, label: Perception Analysis, probability: 70}
  - {key: proposal, label: Proposal/Price Quote, probability: 75}
  - {key: negotiation, label: Negotiation/Review, probability: 90}
  - {key: won, label: Closed Won, probability: 100, outcome: won}
  - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
"""
WORKSHOP_STAGES = ["--stage-map", "Discovery=needs_analysis", "--stage-map",
                   "Proposal/Quote=proposal"]


def stored_events(folder: Path) -> list:
    """Every event a store holds, exactly as stored: the log lines (checksums included) of
    an event-log folder, or the events rows of an SQLite store; sorted, since the log is
    order-free and a copy may hold it in other files."""
    log = folder / "deals"
    if log.is_dir():
        lines = []
        for path in sorted(log.glob("*.csv")):
            text = path.read_text(encoding="utf-8").splitlines()
            assert text[0] == ",".join(LOG_COLUMNS)
            lines += text[1:]
        return sorted(lines)
    conn = sqlite3.connect(folder / "deals.sqlite")
    try:
        return sorted(conn.execute(f"SELECT {', '.join(EVENT_COLUMNS)}, in_effect FROM events"))
    finally:
        conn.close()


def setup(folder: Path, yaml: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.yaml").write_text(yaml)
    return folder


@needs_shared
def test_maven_in_one_command_gives_the_independent_figures(run, tmp_path):
    source = setup(tmp_path / "source", MAVEN_YAML)
    result = run("import", str(MAVEN / "sales_pipeline.csv"), "-f", str(source),
                 *MAVEN_IMPORT)
    assert result.code == 0, result.err
    assert "8800 added" in result.out
    report = run("report", "-f", str(source), "--by", "owner", "-o", "json").json()
    want = expected(maven_rows())
    totals = report["totals"]
    assert (totals["won_count"], totals["lost_count"]) == (want["won_count"], want["lost_count"])
    assert totals["win_rate"] == pytest.approx(want["win_rate"], abs=5e-5)
    assert totals["avg_won_value"] == pytest.approx(want["avg_won_value"], abs=0.005)
    assert totals["avg_cycle_days"] == pytest.approx(want["avg_cycle_days"], abs=0.005)
    assert totals["median_cycle_days"] == pytest.approx(want["median_cycle_days"], abs=0.005)
    for group in report["groups"]:
        mine = expected([r for r in maven_rows() if r["sales_agent"] == group["group"]])
        assert group["win_rate"] == pytest.approx(mine["win_rate"], abs=5e-5)
    before = store_digest(source)
    again = run("import", str(MAVEN / "sales_pipeline.csv"), "-f", str(source), *MAVEN_IMPORT)
    assert "0 added, 0 updated, 8800 unchanged" in again.out
    assert store_digest(source) == before
    assert run("check", "-f", str(source)).code == 0
    # (the Maven store is imported once, so its round trips are checked here)
    _dataset_round_trips(run, source, tmp_path, ["--closed-from", "engaging"])


@needs_shared
def test_salesforce_opportunities_with_their_history(run, tmp_path):
    setup(tmp_path, SALESFORCE_YAML)
    folder = SF / "earthfink1982-salesforce-in-powerbi"
    result = run("import", str(folder / "Opportunity.csv"), "--preset", "salesforce",
                 "--history", str(folder / "OpportunityHistory.csv"))
    assert result.code == 0, result.err

    history = list(csv.DictReader(open(folder / "OpportunityHistory.csv", encoding="utf-8")))
    opportunities = list(csv.DictReader(open(folder / "Opportunity.csv", encoding="utf-8")))
    deal = opportunities[0]["Id"]  # the deal is found by its Salesforce id, as written
    stages = [h["StageName"] for h in history if h["OpportunityId"] == deal]
    shown = run("show", deal, "-o", "json").json()
    assert shown["stage_label"] == opportunities[0]["StageName"]
    labels = {s["key"]: s["label"] for s in run("stages", "-o", "json").json()["stages"]}
    assert all(e["in_effect"] for e in shown["history"])
    path = [labels[e["sets"]["stage"]] for e in shown["history"] if "stage" in e["sets"]]
    assert [s for i, s in enumerate(path) if i == 0 or s != path[i - 1]] == \
        [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    won = sum(o["StageName"] == "Closed Won" for o in opportunities)
    assert run("report", "-o", "json").json()["totals"]["won_count"] == won
    assert run("check").code == 0


@needs_shared
def test_salesforce_workshop_export_needs_its_stages_mapped(run, tmp_path):
    setup(tmp_path, SALESFORCE_YAML)
    source = str(SF / "sfdc-assets-data-cloud-workshop" / "Opportunity.csv")  # BOM, ISO times
    add(run, "Already here")
    before = store_digest(tmp_path)
    refused = run("import", source, "--preset", "salesforce")
    assert refused.code == 1
    assert "'Discovery' (line " in refused.err and "'Proposal/Quote' (line " in refused.err
    assert store_digest(tmp_path) == before
    result = run("import", source, "--preset", "salesforce", *WORKSHOP_STAGES)
    assert result.code == 0 and "50 added" in result.out
    first = run("show", "006Ec00000AieKFIAZ", "-o", "json").json()
    assert (first["value"], first["created_at"]) == (1124741.15, "2024-01-22T16:14:25+00:00")


HUBSPOT = ("Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Pipeline,Create Date\n"
           "1001,Acme – Annual licence,Appointment scheduled,2026-12-01,Dana,12000,Sales "
           "Pipeline,2026-10-01 09:30\n"
           "1002,Beta pilot,Closed won,2026-10-20,Lee,3000,Sales Pipeline,2026-09-15\n"
           "1003,Gamma,Closed lost,2026-10-22,Lee,500,Sales Pipeline,2026-09-20\n")
PIPEDRIVE = ("Deal - ID;Deal - Title;Deal - Value;Deal - Organization;Deal - Contact person;"
             "Deal - Owner;Deal - Stage;Deal - Status;Deal - Expected close date;"
             "Deal - Deal created;Deal - Won time;Deal - Lost time;Deal - Lost reason\r\n"
             "7;Orbital pilot;6500;Orbital Foods;Ava Smith;Sam;Proposal;open;2026-12-15;"
             "2026-10-01 10:00:00;;;\r\n"
             "8;Helios rollout;24000;Helios Solar;Liam Chen;Sam;Negotiation;won;2026-11-01;"
             "2026-09-01 10:00:00;2026-10-30 16:00:00;;\r\n"
             "9;Kestrel;1200;Kestrel;;Dana;Qualification;lost;;2026-09-05 10:00:00;;"
             "2026-10-02 11:00:00;price\r\n")


@pytest.mark.parametrize("preset, text, name", [("hubspot", HUBSPOT, "hubspot.csv"),
                                                ("pipedrive", PIPEDRIVE, "pipedrive.csv")])
def test_hubspot_and_pipedrive_layouts(run, workspace, preset, text, name):
    source = workspace / name
    source.write_bytes(b"\xef\xbb\xbf" + text.encode())  # exported with a BOM
    maps = ["--stage-map", "Appointment scheduled=prospecting", "--stage-map",
            "Negotiation=proposal"]
    result = run("import", str(source), "--preset", preset, *maps)
    assert result.code == 0, result.out + result.err
    deals = {d["name"]: d for d in run("list", "--status", "all", "-o", "json").json()}
    assert len(deals) == 3
    if preset == "hubspot":
        acme = deals["Acme – Annual licence"]
        assert (acme["external_id"], acme["value"], acme["owner"], acme["close_date"]) == \
            ("1001", 12000, "Dana", "2026-12-01")
        assert acme["created_at"] == "2026-10-01T09:30:00+00:00"
        assert deals["Beta pilot"]["status"] == "won"
        assert deals["Beta pilot"]["closed_at"] == "2026-10-20T00:00:00+00:00"
    else:
        helios = deals["Helios rollout"]
        assert (helios["status"], helios["company"], helios["contact"]) == \
            ("won", "Helios Solar", "Liam Chen")
        assert helios["closed_at"] == "2026-10-30T16:00:00+00:00"
        assert (deals["Kestrel"]["status"], deals["Kestrel"]["lost_reason"]) == ("lost", "price")
    assert run("check").code == 0


def test_a_spreadsheet_is_matched_automatically(run, workspace):
    sheet = workspace / "sheet.csv"
    sheet.write_text("Deal;Amount;Stage;Company;Owner;Close date;Email\n"
                     "Acme;1,200.50;Proposal;Acme Inc;dana;2026-12-01;a@acme.io\n"
                     "Beta;300;qualification;Beta Ltd;lee;;b@beta.io\n")
    result = run("import", str(sheet))
    assert result.code == 0, result.err
    deals = {d["name"]: d for d in run("list", "-o", "json").json()}
    assert deals["Acme"]["value"] == 1200.5 and deals["Acme"]["stage"] == "proposal"
    assert deals["Beta"]["stage"] == "qualification"


def test_bad_rows_are_all_reported_and_nothing_is_written(run, workspace, tmp_path):
    add(run, "Existing")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,value,close_date,stage\n"
                   "a1,Good,100,2026-12-01,prospecting\n"
                   "a2,Negative,-5,2026-12-01,prospecting\n"
                   "a3,Bad date,100,2026-02-30,prospecting\n"
                   "a1,Twice,100,,prospecting\n"
                   "a4,Short row\n")
    before = store_digest(tmp_path)
    result = run("import", str(bad))
    assert result.code == 1
    assert "bad.csv:3: column 'value': value '-5' is negative" in result.out
    assert "bad.csv:4: column 'close_date': '2026-02-30' is not a date" in result.out
    assert "bad.csv:5: id 'a1' is on line 2 too" in result.out
    assert "bad.csv:6: has 2 cells" in result.out
    assert "nothing was imported" in result.err
    assert store_digest(tmp_path) == before
    assert run("import", str(bad), "--dry-run").code == 1


def test_reimport_updates_known_deals_with_history(run, workspace, tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,name,value,stage,created\nx1,Acme,100,prospecting,2026-10-01\n"
                     "x2,Beta,200,prospecting,2026-10-02\n")
    assert run("import", str(leads)).code == 0
    closed = tmp_path / "closed.csv"
    closed.write_text("id,name,value,stage,closed_at,lost_reason\n"
                      "x1,Acme,150,won,2026-11-01,\nx2,Beta,200,lost,2026-11-02,price\n")
    dry = run("import", str(closed), "--dry-run")
    assert "0 to add, 2 to update" in dry.out
    assert run("import", str(closed)).code == 0
    acme = run("show", "x1", "-o", "json").json()
    # the new value comes with the win, on the day of the win
    assert [e["event"] for e in acme["history"]] == ["created", "won"]
    assert acme["history"][1]["sets"]["value"] == "150"
    assert (acme["status"], acme["value"], acme["closed_at"]) == \
        ("won", 150, "2026-11-01T00:00:00+00:00")
    beta = run("show", "x2", "-o", "json").json()
    assert (beta["status"], beta["lost_reason"]) == ("lost", "price")
    before = store_digest(tmp_path)
    assert "0 added, 0 updated, 2 unchanged" in run("import", str(closed)).out
    assert store_digest(tmp_path) == before
    assert run("check").code == 0


def _with_store(yaml: str, store: str) -> str:
    return re.sub(r"(?m)^store: .*$", f"store: {store}", yaml)


def _round_trip(run, source: Path, target: Path, fmt: str, store: str = "deals"):
    """Export source's history in fmt and import it into an empty store (`store` names its
    backend): the same events come back (exactly as stored, when the backend is the same),
    with the same report; importing the file again changes nothing."""
    target.mkdir(parents=True, exist_ok=True)
    exported = target / f"export.{fmt}"
    assert run("export", "-f", str(source), "--history", "-o", fmt, "--output",
               str(exported)).code == 0
    (target / "pipeline.yaml").write_text(_with_store((source / "pipeline.yaml").read_text(),
                                                      store))
    history = run("export", "-f", str(source), "--history").out
    count = len(list(csv.reader(io.StringIO(history)))) - 1
    assert count > 1
    result = run("import", str(exported), "-f", str(target))
    assert result.code == 0, result.out + result.err
    assert f"{count} events added, 0 already there" in result.out
    if (source / store).exists():
        assert stored_events(target) == stored_events(source)
    assert run("export", "-f", str(target), "--history").out == history
    assert run("report", "-f", str(target), "-o", "json").out == \
        run("report", "-f", str(source), "-o", "json").out
    before = store_digest(target)
    again = run("import", str(exported), "-f", str(target))
    assert again.code == 0, again.out + again.err
    assert f"0 events added, {count} already there" in again.out
    assert store_digest(target) == before


def _busy_history(run, folder: Path) -> None:
    """Commands that leave every kind of event and field in the history: formula-like
    text, tags, a cleared field, back-dated changes, a win, a loss, a reopening, undo,
    redo, an undone change made again, a deletion."""
    def pipe(*args):
        result = run(args[0], "-f", str(folder), *args[1:])
        assert result.code == 0, result.err
        return result.out.strip()

    pipe("add", "--tag", "a", "--note", "=cmd|' /C calc'!A0", "--at", "2026-10-01", "--",
         "=HYPERLINK(\"http://x\")")
    acme = pipe("add", "Acme", "--value", "99.5", "--email", "a@b.co", "--owner", "Åsa",
                "--at", "2026-10-02")
    pipe("move", acme, "qualification", "--at", "2026-10-05")
    pipe("edit", acme, "--value", "123456789012.34", "--tag", "big", "--probability", "35")
    pipe("edit", acme, "--probability", "", "--untag", "big", "--company", "Acme; Inc, \"EU\"")
    beta = pipe("add", "Beta", "--value", "10", "--at", "2026-10-03")
    pipe("won", beta, "--at", "2026-10-20")
    pipe("reopen", beta)
    pipe("lost", beta, "--reason", "price", "--note", "multi\u00a0word")
    pipe("undo")
    pipe("redo")
    pipe("undo", "--steps", "2")  # the redo, then the reopening: won again
    pipe("reopen", beta, "--stage", "proposal")
    pipe("won", beta, "--value", "12")
    pipe("rm", pipe("add", "Gone", "--at", "2026-10-04"), "--yes")


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_history_export_round_trips_exactly(run, workspace, backend, fmt):
    _busy_history(run, workspace)
    _round_trip(run, workspace, workspace / "same", fmt,
                "deals" if backend == "csv" else "deals.sqlite")
    _round_trip(run, workspace, workspace / "other", fmt,
                "deals.sqlite" if backend == "csv" else "deals")


def test_a_history_import_adds_only_what_is_missing(run, workspace, backend):
    """A clone that has part of the history (an earlier export) gets the rest, and the
    reverts that refer to events it already had take effect there too."""
    store = "deals" if backend == "csv" else "deals.sqlite"
    clone = setup(workspace / "clone", PIPELINE_YAML.format(store=store))
    deal = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    assert run("move", deal, "proposal", "--at", "2026-11-02").code == 0
    first = workspace / "first.csv"
    first.write_text(run("export", "--history").out)
    assert run("import", str(first), "-f", str(clone)).code == 0
    assert run("undo").code == 0  # the move, which the clone has
    assert run("edit", deal, "--value", "150").code == 0
    add(run, "Beta")
    second = workspace / "second.csv"
    second.write_text(run("export", "--history").out)
    assert "3 events to add, 2 already there, 0 rejected" in \
        run("import", str(second), "-f", str(clone), "--dry-run").out
    result = run("import", str(second), "-f", str(clone))
    assert result.code == 0 and "3 events added, 2 already there" in result.out
    assert stored_events(clone) == stored_events(workspace)
    shown = run("show", deal, "-f", str(clone), "-o", "json").json()
    assert (shown["stage"], shown["value"]) == ("prospecting", 150)
    assert [e["in_effect"] for e in shown["history"]] == [True, False, True, True]
    assert run("report", "-f", str(clone), "-o", "json").out == \
        run("report", "-o", "json").out
    assert run("check", "-f", str(clone)).code == 0


def _kind(cells):
    cells[EVENT_COLUMNS.index("kind")] = "teleported"


def _sets(cells):
    cells[EVENT_COLUMNS.index("sets")] = ""


@pytest.mark.parametrize("tamper, problem", [
    (_kind, "column kind"),
    (lambda cells: cells.append(""), "cells"),
    (_sets, "has a value but `sets` does not name it"),
])
def test_a_tampered_history_file_is_refused_whole(run, workspace, tamper, problem):
    deal = add(run, "Acme", "--at", "2026-11-01")
    assert run("move", deal, "proposal", "--at", "2026-11-02").code == 0
    rows = list(csv.reader(io.StringIO(run("export", "--history").out)))
    assert len(rows) == 3 and rows[2][EVENT_COLUMNS.index("kind")] == "moved"
    tamper(rows[2])
    bad = workspace / "bad.csv"
    with open(bad, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    target = setup(workspace / "copy", PIPELINE_YAML.format(store="deals"))
    result = run("import", str(bad), "-f", str(target))
    assert result.code == 1
    assert "bad.csv:3: " in result.out and problem in result.out
    assert "nothing was imported" in result.err
    assert not (target / "deals").exists() or stored_events(target) == []


@needs_shared
@pytest.mark.parametrize("dataset", ["salesforce-a", "salesforce-b", "b2b-sample",
                                     "b2c-sample"])  # maven: in the test above
def test_every_dataset_round_trips(run, tmp_path, dataset):
    source = tmp_path / "source"
    if dataset.startswith("salesforce"):
        setup(source, SALESFORCE_YAML)
        folder = "earthfink1982-salesforce-in-powerbi" if dataset.endswith("a") else \
            "sfdc-assets-data-cloud-workshop"
        assert run("import", str(SF / folder / "Opportunity.csv"), "-f", str(source),
                   "--preset", "salesforce", *WORKSHOP_STAGES).code == 0
    else:
        name = dataset.replace("-sample", "-pipeline")
        setup(source, _with_store((SAMPLES / f"{name}.yaml").read_text(), "deals"))
        (source / "deals").mkdir()
        logs = sorted((SAMPLES / "data" / name).glob("*.csv"))
        assert len(logs) > 1
        for log in logs:
            (source / "deals" / log.name).write_bytes(log.read_bytes())
        assert run("check", "-f", str(source)).code == 0
    _dataset_round_trips(run, source, tmp_path)


def _dataset_round_trips(run, source: Path, tmp_path: Path, extra=()):
    """The history export gives the same store back; the deals-only export gives the same
    deals back (with a history made of creation and closing)."""
    _round_trip(run, source, tmp_path / "copy", "csv")
    deals_only = tmp_path / "deals.csv"
    assert run("export", "-f", str(source), "--output", str(deals_only)).code == 0
    again = setup(tmp_path / "again", (source / "pipeline.yaml").read_text())
    assert run("import", str(deals_only), "-f", str(again), *extra).code == 0
    assert run("export", "-f", str(again)).out == run("export", "-f", str(source)).out


def test_csv_export_neutralises_formulas_and_import_restores_them(run, workspace):
    deal = add(run, "--company", "@SUM(A1)", "--", "=HYPERLINK(\"http://evil\")")
    exported = run("export").out
    assert "'=HYPERLINK" in exported and "'@SUM(A1)" in exported
    data = json.loads(run("export", "-o", "json").out)
    assert data[0]["name"] == "=HYPERLINK(\"http://evil\")"
    (workspace / "deals-export.csv").write_text(exported)
    copy = setup(workspace / "copy", PIPELINE_YAML.format(store="deals"))
    assert run("import", str(workspace / "deals-export.csv"), "-f", str(copy)).code == 0
    shown = run("show", deal, "-f", str(copy), "-o", "json").json()
    assert (shown["name"], shown["company"]) == ("=HYPERLINK(\"http://evil\")", "@SUM(A1)")
    assert run("export", "-f", str(copy)).out == exported
