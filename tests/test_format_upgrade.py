"""Stores written by earlier versions keep working — 3 (before deals had a currency and an
external id) and 4 (before next steps and batches): the event log's old lines are read as
they are (new lines are written beside them, in the new layout), and an SQLite store is
migrated in place the first time it is opened."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from pipecli.store import schema

FIXTURES = Path(__file__).parent / "fixtures"  # v3: made by pipe at 7856587; v4: at 0450102


@pytest.fixture(params=["v3", "v4"])
def version(request) -> str:
    return request.param


@pytest.fixture
def old_store(tmp_path, request, version) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(FIXTURES / version, folder)
    if request.param == "log":
        text = (folder / "pipe.yaml").read_text().replace("deals.sqlite", "deals")
        (folder / "pipe.yaml").write_text(text)
    return folder / "pipe.yaml"


@pytest.mark.parametrize("old_store", ["log", "sqlite"], indirect=True)
def test_a_store_written_by_an_earlier_pipe_reads_the_same_and_takes_new_fields(
        run, old_store, version):
    report = run("report", "-f", str(old_store), "-o", "json", "--as-of", "2026-11-01")
    assert report.code == 0, report.err
    figures = report.json()
    assert figures["totals"]["won_count"] == 1
    assert run("add", "Gamma", "--value", "5", "-f", str(old_store), "--next", "Call",
               "--due", "2026-12-01").code == 0
    listed = run("list", "--status", "all", "-f", str(old_store), "-o", "json").json()
    names = {"v3": (["Acme", "Beta", "Gamma"] if "sqlite" in old_store.read_text()
                    else ["Acme", "Gamma"]),
             "v4": ["Acme", "Beta", "Gamma", "Gone"]}[version]
    assert sorted(d["name"] for d in listed) == names
    by_name = {d["name"]: d for d in listed}
    assert by_name["Acme"]["currency"] == "USD" and by_name["Acme"]["external_id"] == ""
    assert by_name["Gamma"]["next_step"] == {"text": "Call", "due": "2026-12-01", "owner": ""}
    assert by_name["Acme"]["next_step"] is None
    if version == "v4":
        assert by_name["Beta"]["currency"] == "EUR" and by_name["Beta"]["value"] == 250.5
    assert run("check", "-f", str(old_store)).code == 0
    assert run("undo", "-f", str(old_store)).code == 0  # an old line is undone like a new one
    assert run("undo", "-f", str(old_store)).code == 0


@pytest.mark.parametrize("old_store", ["sqlite"], indirect=True)
def test_an_sqlite_store_of_an_earlier_version_is_migrated_in_place(run, old_store):
    db = old_store.parent / "deals.sqlite"
    before = sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone()[0]
    assert run("list", "-f", str(old_store)).code == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == (schema.VERSION,)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == before
    columns = [r[1] for r in conn.execute("PRAGMA table_info(deals)")]
    assert {"currency", "external_id", "next_step", "next_due"} <= set(columns)


@pytest.mark.parametrize("old_store", ["log"], indirect=True)
def test_old_log_lines_stay_as_they_were(run, old_store):
    log = next((old_store.parent / "deals").glob("*.csv"))
    old = log.read_bytes()
    assert run("add", "Gamma", "-f", str(old_store)).code == 0
    assert run("report", "-f", str(old_store)).code == 0
    assert log.read_bytes() == old  # another writer's file: never rewritten
