"""pipe check finds every problem with its place; --fix only appends back what the log lost
(it never rewrites the log); clashes between branches are reported for a person to settle."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add, everything, store_digest

NO_PROPOSAL = "  - key: proposal\n    label: Proposal\n    probability: 60\n"


pytestmark = pytest.mark.usefixtures("one_month")


def git(folder, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=folder, env=env, capture_output=True, text=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def log_workspace(folder: Path) -> Path:
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    return folder


def the_log(folder: Path) -> Path:
    (path,) = [p for p in (folder / "deals").iterdir() if p.suffix == ".csv"]
    return path




def test_a_clean_store_passes(run, workspace):
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    run("lost", deal_id, "--reason", "price")
    run("reopen", deal_id)
    run("edit", deal_id, "--owner", "dana", "--tag", "x")
    run("rm", add(run, "Gone"), "--yes")
    assert run("undo").code == 0 and run("redo").code == 0 and run("undo").code == 0
    before = store_digest(workspace)
    result = run("check")
    assert result.code == 0 and "consistent" in result.out and result.err == ""
    fixed = run("check", "--fix")
    assert fixed.code == 0 and "fixed" not in fixed.out
    assert store_digest(workspace) == before


def test_check_reads_the_whole_log_again_so_the_index_cannot_hide_anything(run, tmp_path):
    """The index is a cache of the log: check throws what it derived away and reads every
    log file from its start, so afterwards it holds exactly what the log says."""
    log_workspace(tmp_path)
    acme = add(run, "Acme", "--value", "100")
    beta = add(run, "Beta", "--value", "50")
    run("move", acme, "proposal")
    conn = sqlite3.connect(tmp_path / "deals" / ".local" / "index.sqlite")
    conn.execute("UPDATE deals SET value_milli = 999000, stage = 'lost' WHERE id = ?", (acme,))
    conn.execute("DELETE FROM deals WHERE id = ?", (beta,))
    columns = [row[1] for row in conn.execute("PRAGMA table_info(deals)")]
    planted = {"id": "'planted1'", "name": "'Planted'"}
    conn.execute(f"INSERT INTO deals ({', '.join(columns)}) SELECT "
                 f"{', '.join(planted.get(c, c) for c in columns)} FROM deals WHERE id = ?",
                 (acme,))
    conn.commit()
    conn.close()
    log_before = store_digest(tmp_path)
    result = run("check")
    assert result.code == 0, result.out
    assert store_digest(tmp_path) == log_before
    listed = {d["id"]: (d["stage"], d["value"]) for d in run("list", "-o", "json").json()}
    assert listed == {acme: ("proposal", 100), beta: ("prospecting", 50)}


def test_the_order_of_log_lines_does_not_matter(run, tmp_path):
    """A union merge interleaves lines; a line break may be CRLF. Nothing to re-sort or fix:
    the same store either way, and check is clean."""
    log_workspace(tmp_path)
    a = add(run, "Acme", "--value", "500", "--email", "a@acme.co", "--at", "2026-11-01")
    b = add(run, "Beta", "--value", "200", "--at", "2026-11-02")
    run("move", a, "proposal", "--at", "2026-11-03")
    run("won", a, "--at", "2026-11-04")
    run("lost", b, "--reason", "price", "--at", "2026-11-05")
    run("reopen", b, "--at", "2026-11-06")
    run("edit", b, "--owner", "dana", "--tag", "vip")
    assert run("undo").code == 0
    seen = everything(run, [a, b])
    log = the_log(tmp_path)
    header, *lines = log.read_bytes().splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    lines[2] = lines[2].replace(b"\n", b"\r\n")
    log.write_bytes(b"".join([header, *lines]))
    assert everything(run, [a, b]) == seen
    before = store_digest(tmp_path)
    assert run("check").code == 0
    assert run("check", "--fix").code == 0 and store_digest(tmp_path) == before


def test_problems_that_need_a_decision_are_reported_not_fixed(run, tmp_path):
    log_workspace(tmp_path)
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    add(run, "Beta", "--value", "50")
    # The pipeline loses a stage that a deal is in, and a line (as a pull brought it) is
    # not one pipe can read.
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE_YAML.format(store="deals").replace(NO_PROPOSAL, ""))
    log = the_log(tmp_path)
    log.write_bytes(log.read_bytes().replace(b",Beta,50,", b",Beta,fifty,"))
    shutil.rmtree(tmp_path / "deals" / ".local")  # this clone never saw the line whole
    before = store_digest(tmp_path)
    for args in (["check"], ["check", "--fix"]):
        result = run(*args)
        assert result.code == 1
        assert f"deal {deal_id} is at stage 'proposal', which pipeline 'sales' does not have" \
            in result.out
        assert f"{log}:4: the line's checksum does not match" in result.out
        assert result.err == "pipe: check: 2 problems\n" and "fixed" not in result.out
        assert store_digest(tmp_path) == before


def test_an_invalid_pipeline_file_is_reported_line_by_line(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text("name: x\nkind: retail\n")
    result = run("check")
    assert result.code == 1
    assert "pipeline.yaml:2: kind 'retail' must be one of" in result.out
    assert "the store was not checked" in result.err


def test_a_deal_at_a_stage_the_yaml_lost_is_not_silently_dropped(run, workspace, backend):
    store = "deals" if backend == "csv" else "deals.sqlite"
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    (workspace / "pipeline.yaml").write_text(
        PIPELINE_YAML.format(store=store).replace(NO_PROPOSAL, ""))
    result = run("report")
    assert result.code == 0
    assert f"1 deal is at a stage 'sales' does not define and so in no stage row ({deal_id})" \
        in result.err
    checked = run("check")
    assert checked.code == 1 and f"deal {deal_id} is at stage 'proposal'" in checked.out


# -- git ------------------------------------------------------------------------------------

@needs_git
def test_two_clones_merge_and_check_clean_with_the_union_of_their_work(run, tmp_path,
                                                                      monkeypatch):
    """Alice and Bob clone the team's pipeline, work on different deals (add, move, won,
    lost), and merge with plain git: each clone writes its own file, so no conflict; `pipe
    check` is clean, and the report equals the one of a single store that saw both people's
    commands."""
    origin = tmp_path / "origin"
    origin.mkdir()
    log_workspace(origin)
    monkeypatch.chdir(origin)
    base = [add(run, f"Deal {i}", "--value", str(1000 * (i + 1)), "--email", "a@b.co",
                "--at", "2026-11-01") for i in range(6)]
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "team pipeline")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(origin), str(alice))
    git(tmp_path, "clone", "-q", str(origin), str(bob))
    assert not (alice / "deals" / ".local").exists()  # never committed

    def alice_work():
        run("move", base[1], "qualification", "--at", "2026-11-02")
        run("won", base[1], "--at", "2026-11-03")
        return add(run, "Alice's lead", "--value", "700", "--at", "2026-11-04")

    def bob_work():
        run("lost", base[4], "--reason", "price", "--at", "2026-11-02")
        run("move", base[5], "proposal", "--at", "2026-11-03")
        return add(run, "Bob's lead", "--value", "900", "--at", "2026-11-04")

    monkeypatch.chdir(alice)
    alices = alice_work()
    git(alice, "add", ".")
    git(alice, "commit", "-qm", "alice")
    monkeypatch.chdir(bob)
    bobs = bob_work()
    git(bob, "add", ".")
    git(bob, "commit", "-qm", "bob")
    pulled = git(bob, "pull", "-q", "--no-rebase", "--no-edit", str(alice), "main")
    assert pulled.returncode == 0, pulled.stderr
    assert git(bob, "status", "--porcelain").stdout == ""
    assert git(bob, "log", "--oneline").stdout.count("\n") == 4
    assert len(list((bob / "deals").glob("*.csv"))) == 3  # origin's, alice's and bob's
    assert run("check").code == 0
    merged = run("report", "-o", "json").json()
    listed = run("list", "--status", "all", "-o", "json").json()
    assert {alices, bobs} <= {d["id"] for d in listed}
    # Alice pulls too: both clones hold the same store.
    monkeypatch.chdir(alice)
    assert git(alice, "pull", "-q", "--no-rebase", "--no-edit", str(bob), "main"
               ).returncode == 0
    assert run("report", "-o", "json").json() == merged
    assert run("list", "--status", "all", "-o", "json").json() == listed
    # The same commands in one store give the same report.
    monkeypatch.chdir(origin)
    alice_work()
    bob_work()
    assert run("report", "-o", "json").json() == merged
    assert merged["totals"]["won_count"] == 1 and merged["totals"]["lost_count"] == 1
    assert merged["totals"]["open_count"] == 6


@needs_git
def test_a_checkout_of_another_branch_hides_events_without_losing_them(run, tmp_path):
    """Switching to a branch that lacks some lines is not a loss: the lines are in a commit.
    Check stays clean, and merging the branch brings them back once."""
    log_workspace(tmp_path)
    deal_id = add(run, "Acme", "--at", "2026-11-01")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "other")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "proposal")
    git(tmp_path, "checkout", "-q", "main")
    checked = run("check")
    assert checked.code == 0, checked.out
    assert run("show", deal_id, "-o", "json").json()["stage"] == "prospecting"
    assert git(tmp_path, "merge", "-q", "--no-edit", "other").returncode == 0
    shown = run("show", deal_id, "-o", "json").json()
    assert shown["stage"] == "proposal"
    assert [e["event"] for e in shown["history"]] == ["created", "moved"]
    assert run("check").code == 0


@needs_git
def test_an_event_a_reset_threw_away_is_reported_and_appended_back(run, tmp_path):
    """`git reset --hard` drops a commit whose line the index had read: the line is in no
    file and no branch. Check (the first command after) reports it; --fix appends it back,
    with its id, for the next commit."""
    log_workspace(tmp_path)
    deal_id = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    run("won", deal_id, "--at", "2026-11-02")
    won = run("show", deal_id, "-o", "json").json()["history"][-1]
    git(tmp_path, "commit", "-qam", "won")
    assert git(tmp_path, "reset", "-q", "--hard", "HEAD~1").returncode == 0
    before = store_digest(tmp_path)
    checked = run("check")
    assert checked.code == 1
    assert f"event {won['id']} of deal {deal_id} (won, {won['at']}) was recorded here but is " \
           f"in no log file: a write lost to a git checkout or reset (pipe check --fix " \
           f"repairs this)" in checked.out
    assert store_digest(tmp_path) == before
    fixed = run("check", "--fix")
    assert fixed.code == 0 and "fixed: appended 1 lost event back to the log" in fixed.out
    shown = run("show", deal_id, "-o", "json").json()
    assert shown["status"] == "won" and shown["history"][-1] == won
    assert git(tmp_path, "status", "--porcelain").stdout.strip() == \
        f"M {the_log(tmp_path).relative_to(tmp_path)}"
    assert run("check").code == 0


@needs_git
def test_the_same_deal_changed_on_two_branches_is_a_clash_to_settle(run, tmp_path):
    """Both branches append to the same file and git's union merge keeps both lines; the
    two changes were made from the same event and disagree: check names the clash, --fix
    leaves it (it needs a person), and a command that states what is true settles it."""
    log_workspace(tmp_path)
    deal_id = add(run, "Acme", "--at", "2026-11-01")
    created = run("show", deal_id, "-o", "json").json()["history"][0]["id"]
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "other")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "proposal")
    git(tmp_path, "checkout", "-q", "main")
    run("lost", deal_id, "--reason", "price", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "lost")
    merged = git(tmp_path, "merge", "-q", "--no-edit", "other")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert b"<<<<<<<" not in the_log(tmp_path).read_bytes()
    history = run("show", deal_id, "-o", "json").json()["history"]
    moved, lost = (next(e["id"] for e in history if e["event"] == kind)
                   for kind in ("moved", "lost"))
    before = store_digest(tmp_path)
    for args in (["check"], ["check", "--fix"]):
        result = run(*args)
        assert result.code == 1
        assert f"clash: moved (event {moved}) and lost (event {lost}) were both made from " \
               f"event {created} and set stage to 'proposal' and 'lost'; the later one " \
               f"counts" in result.out
        assert store_digest(tmp_path) == before
    assert run("show", deal_id, "-o", "json").json()["status"] == "lost"  # the later one
    assert run("reopen", deal_id, "--stage", "proposal").code == 0
    assert run("check").code == 0
    shown = run("show", deal_id, "-o", "json").json()
    assert (shown["stage"], shown["status"]) == ("proposal", "open")
