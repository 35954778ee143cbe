"""The stores themselves: file layout, atomicity, locking, broken files, git merges."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add, store_digest
from pipecli.store.codec import DEAL_COLUMNS, EVENT_COLUMNS


@pytest.fixture
def csv_workspace(tmp_path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    return tmp_path


@pytest.fixture
def sqlite_workspace(tmp_path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    return tmp_path


# -- the CSV layout -------------------------------------------------------------------------------

def test_csv_files_are_sorted_lf_utf8_with_fixed_columns(run, csv_workspace):
    ids = [add(run, f"Déal {i}", "--value", str(i * 100)) for i in range(12)]
    for deal_id in ids[:6]:
        run("move", deal_id, "proposal")
    deals = (csv_workspace / "deals.csv").read_bytes()
    history = (csv_workspace / "deals.history.csv").read_bytes()
    for data, columns in ((deals, DEAL_COLUMNS), (history, EVENT_COLUMNS)):
        assert b"\r" not in data and data.endswith(b"\n")
        text = data.decode("utf-8")
        assert text.splitlines()[0] == ",".join(columns)
    rows = deals.decode().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == sorted(ids)
    keys = [(r.split(",")[0], int(r.split(",")[1])) for r in history.decode().splitlines()[1:]]
    assert keys == sorted(keys) and len(keys) == 18


def test_a_change_rewrites_only_its_own_rows(run, csv_workspace):
    ids = [add(run, f"Deal {i}") for i in range(10)]
    deals_before = (csv_workspace / "deals.csv").read_text().splitlines()
    history_before = (csv_workspace / "deals.history.csv").read_text().splitlines()
    target = ids[4]
    run("move", target, "proposal")
    deals_after = (csv_workspace / "deals.csv").read_text().splitlines()
    history_after = (csv_workspace / "deals.history.csv").read_text().splitlines()
    changed = [(a, b) for a, b in zip(deals_before, deals_after) if a != b]
    assert len(deals_after) == len(deals_before) and len(changed) == 1
    assert changed[0][1].startswith(target + ",")
    # History is only added to: the old lines are all still there, in order, plus one.
    assert len(history_after) == len(history_before) + 1
    new = [line for line in history_after if line not in history_before]
    assert len(new) == 1 and new[0].startswith(f"{target},2,")
    assert [line for line in history_after if line in history_before] == history_before


def test_store_files_are_not_world_writable(run, csv_workspace):
    add(run, "Acme")
    for name in ("deals.csv", "deals.history.csv"):
        assert (csv_workspace / name).stat().st_mode & 0o002 == 0
    assert not list(csv_workspace.glob(".*.tmp")) and not list(csv_workspace.glob(".*journal"))


# -- broken CSV stores: one sentence, exit 1, nothing written ------------------------------------

def _break(folder: Path, name: str, mutate) -> None:
    path = folder / name
    path.write_bytes(mutate(path.read_bytes()))


@pytest.mark.parametrize("name, mutate, fragment", [
    ("deals.csv", lambda b: b[:-5], "the last line is incomplete"),
    ("deals.csv", lambda b: b.replace(b",closed_at\n", b"\n", 1), "the header is not"),
    ("deals.csv", lambda b: b + b"<<<<<<< HEAD\n", "left-over git conflict marker"),
    ("deals.csv", lambda b: b + b.splitlines(keepends=True)[1], "repeats the id"),
    ("deals.csv", lambda b: b.replace(b"Acme", b"Ac\xffme"), "not UTF-8"),
    ("deals.csv", lambda b: b.replace(b",prospecting,open,", b",prospecting,maybe,"),
     "is not open, won or lost"),
    ("deals.csv", lambda b: b.replace(b",500,", b",lots,"), "is not an amount"),
    ("deals.history.csv", lambda b: b.replace(b",created,", b",teleported,"),
     "is not one of created"),
    ("deals.history.csv", lambda b: b + b"=======\n", "left-over git conflict marker"),
])
def test_broken_csv_store_is_one_clear_error(run, csv_workspace, name, mutate, fragment):
    deal_id = add(run, "Acme", "--value", "500")
    add(run, "Zeta")
    _break(csv_workspace, name, mutate)
    before = store_digest(csv_workspace)
    commands = [["show", deal_id], ["move", deal_id, "proposal"]]
    if name == "deals.history.csv":
        commands.append(["report"])  # reports replay the history
    for args in commands:
        result = run(*args)
        assert result.code == 1, (args, result.err)
        assert fragment in result.err, (args, result.err)
        assert result.err.count("\n") == 1
        assert store_digest(csv_workspace) == before


def test_csv_row_errors_name_the_file_and_line(run, csv_workspace):
    add(run, "Acme", "--value", "500")
    _break(csv_workspace, "deals.csv", lambda b: b.replace(b",500,", b",lots,"))
    result = run("list")
    assert "deals.csv:2: column value" in result.err


def test_crlf_and_bom_in_a_csv_store_are_read(run, csv_workspace):
    deal_id = add(run, "Acme")
    _break(csv_workspace, "deals.csv", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"))
    assert run("show", deal_id).code == 0
    assert run("move", deal_id, "proposal").code == 0
    assert b"\r" not in (csv_workspace / "deals.csv").read_bytes()


def test_interrupted_write_is_rolled_forward(run, csv_workspace, monkeypatch):
    """A crash after the journal is written but before both renames: the next command
    finishes the job, so the store is never half old, half new."""
    from pipecli.store import csv_store

    deal_id = add(run, "Acme")
    real_replace = os.replace
    calls = []

    def crash_on_second_rename(src, dst):
        calls.append(dst)
        if str(dst).endswith("deals.history.csv"):
            raise SystemExit("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(csv_store.os, "replace", crash_on_second_rename)
    with pytest.raises(SystemExit):
        from pipecli import ops
        from pipecli.pipeline import load_workspace
        from pipecli.store import open_store

        ws = load_workspace(csv_workspace / "pipeline.yaml")
        ops.move(open_store(ws.store_path), ws, deal_id, stage="proposal")
    monkeypatch.setattr(csv_store.os, "replace", real_replace)
    assert (csv_workspace / ".deals.csv.journal").exists()
    shown = run("show", deal_id, "-o", "json").json()
    assert shown["stage"] == "proposal"
    assert [e["event"] for e in shown["history"]] == ["created", "moved"]
    assert not (csv_workspace / ".deals.csv.journal").exists()


@pytest.mark.parametrize("error, says", [
    (OSError(28, "No space left on device"), "the disk is full; nothing was changed"),
    # Stands in for a read-only folder (the tests run as root, who may write anywhere).
    (PermissionError(13, "Permission denied"), "Permission denied; nothing was changed"),
])
def test_a_failed_write_leaves_the_old_store(run, csv_workspace, monkeypatch, error, says):
    """The temp files can't be written: one sentence, exit 1, the store as it was."""
    from pipecli.store import csv_store

    deal_id = add(run, "Acme")
    before = store_digest(csv_workspace)

    def failing(path, data, mode_from):
        raise error

    real = csv_store._write_synced
    monkeypatch.setattr(csv_store, "_write_synced", failing)
    result = run("move", deal_id, "proposal")
    monkeypatch.setattr(csv_store, "_write_synced", real)
    assert result.code == 1 and result.err.endswith(says + "\n")
    assert result.err.count("\n") == 1 and store_digest(csv_workspace) == before
    assert run("show", deal_id, "-o", "json").json()["stage"] == "prospecting"


# -- SQLite specifics -----------------------------------------------------------------------------

def test_sqlite_is_wal_with_exact_money(run, sqlite_workspace):
    add(run, "Acme", "--value", "0.10")
    add(run, "Beta", "--value", "0.20")
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT sum(value_milli) FROM deals").fetchone()[0] == 300
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"format": "pipe-store",
                                                                  "version": "2"}
    conn.close()
    assert run("report", "-o", "json").json()["totals"]["open_value"] == 0.3


def test_sqlite_that_is_not_a_pipe_store(run, sqlite_workspace):
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    before = store_digest(sqlite_workspace)
    result = run("add", "Acme")
    assert result.code == 1 and "not a pipe store" in result.err
    assert store_digest(sqlite_workspace) == before


def test_corrupt_sqlite_file(run, sqlite_workspace):
    (sqlite_workspace / "deals.sqlite").write_bytes(b"this is not a database" * 100)
    before = store_digest(sqlite_workspace)
    for args in (["list"], ["add", "Acme"]):
        result = run(*args)
        assert result.code == 1 and "not a pipe" in result.err, result.err
        assert result.err.count("\n") == 1
    assert store_digest(sqlite_workspace) == before


# -- locking --------------------------------------------------------------------------------------

def test_csv_store_busy_after_the_wait(run, csv_workspace, monkeypatch):
    deal_id = add(run, "Acme")
    before = store_digest(csv_workspace)
    monkeypatch.setenv("PIPE_LOCK_TIMEOUT", "0.2")
    fd = os.open(csv_workspace, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = run("move", deal_id, "proposal")
    finally:
        os.close(fd)
    assert result.code == 1 and "is busy" in result.err and "PIPE_LOCK_TIMEOUT" in result.err
    assert store_digest(csv_workspace) == before


def test_sqlite_store_busy_after_the_wait(run, sqlite_workspace, monkeypatch):
    deal_id = add(run, "Acme")
    monkeypatch.setenv("PIPE_LOCK_TIMEOUT", "0.2")
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = run("move", deal_id, "proposal")
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert result.code == 1 and "is busy" in result.err


def _pipe(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PIPE_LOCK_TIMEOUT="60")
    return subprocess.run([sys.executable, "-m", "pipecli", *args], cwd=folder, env=env,
                          capture_output=True, text=True)


# -- git ------------------------------------------------------------------------------------------

def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_branches_touching_different_deals_merge_cleanly(run, csv_workspace, monkeypatch):
    """Two branches move, win and lose different deals and each adds one; plain git merge
    succeeds and the merged store holds every change of both sides."""
    from pipecli import ops

    # Ids are random; here they are planned, so that no row one branch adds or changes
    # is next to a row the other branch changes (git conflicts on adjacent lines).
    planned = iter(["0a000000", "0b000000", "0c000000", "0d000000", "0e000000", "0f000000",
                    "0g000000", "0h000000", "0f500000", "z0000000"])
    monkeypatch.setattr(ops, "new_id", lambda taken=(): next(planned))
    ids = [add(run, f"Deal {i}", "--at", "2026-11-01") for i in range(8)]
    assert _git(csv_workspace, "init", "-q", "-b", "main").returncode == 0
    _git(csv_workspace, "add", ".")
    _git(csv_workspace, "commit", "-qm", "base")
    _git(csv_workspace, "checkout", "-qb", "alice")
    run("move", ids[1], "proposal", "--at", "2026-11-02")
    run("won", ids[5], "--at", "2026-11-03")
    add(run, "Alice's new deal", "--at", "2026-11-04")  # id 0f500000: next to her own 0f
    _git(csv_workspace, "commit", "-qam", "alice")
    _git(csv_workspace, "checkout", "-q", "main")
    run("lost", ids[3], "--reason", "price", "--at", "2026-11-02")
    run("edit", ids[7], "--value", "900", "--at", "2026-11-03")
    add(run, "Bob's new deal", "--at", "2026-11-04")  # id z0000000
    _git(csv_workspace, "commit", "-qam", "bob")
    merge = _git(csv_workspace, "merge", "-q", "--no-edit", "alice")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    deals = {d["id"]: d for d in run("list", "--status", "all", "-o", "json").json()}
    assert len(deals) == 10
    assert deals[ids[1]]["stage"] == "proposal" and deals[ids[5]]["status"] == "won"
    assert deals[ids[3]]["status"] == "lost" and deals[ids[7]]["value"] == 900
    assert {"0f500000", "z0000000"} <= deals.keys()
    history = run("show", ids[1], "-o", "json").json()["history"]
    assert [e["event"] for e in history] == ["created", "moved"]
