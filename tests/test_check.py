"""pipe check finds every problem with its place; --fix repairs what needs no guessing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import pytest

from conftest import PIPELINE_YAML, add, store_digest


def git(folder, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=folder, env=env, capture_output=True, text=True)


def test_a_clean_store_passes(run, workspace):
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    run("lost", deal_id, "--reason", "price")
    run("reopen", deal_id)
    run("edit", deal_id, "--owner", "dana", "--tag", "x")
    run("rm", add(run, "Gone"), "--yes")
    result = run("check")
    assert result.code == 0 and "consistent" in result.out


def test_a_row_that_contradicts_its_history_is_rebuilt(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    deal_id = add(run, "Acme", "--value", "100")
    path = tmp_path / "deals.csv"
    path.write_text(path.read_text().replace(",prospecting,open,100,", ",proposal,open,100,"))
    before = store_digest(tmp_path)
    result = run("check")
    assert result.code == 1
    assert f"deals.csv:2: deal {deal_id}'s row says stage = 'proposal' but its history says " \
           f"'prospecting' (pipe check --fix repairs this)" in result.out
    assert result.err == "pipe: check: 1 problem, 1 repairable with --fix\n"
    assert store_digest(tmp_path) == before  # check alone never writes
    fixed = run("check", "--fix")
    assert fixed.code == 0 and "fixed: rebuilt 1 deal row from the history" in fixed.out
    assert run("show", deal_id, "-o", "json").json()["stage"] == "prospecting"


def test_sqlite_contradiction_is_found_and_fixed(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    deal_id = add(run, "Acme", "--value", "100")
    conn = sqlite3.connect(tmp_path / "deals.sqlite")
    conn.execute("UPDATE deals SET value_milli = 999000")
    conn.commit()
    conn.close()
    result = run("check")
    assert result.code == 1 and f"deal {deal_id}'s row says value = '999'" in result.out
    assert run("check", "--fix").code == 0
    assert run("show", deal_id, "-o", "json").json()["value"] == 100


def test_unsorted_rows_and_crlf_are_fixed(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    for name in ("A", "B", "C"):
        add(run, name)
    path = tmp_path / "deals.csv"
    header, *rows = path.read_text().splitlines()
    path.write_bytes(("\r\n".join([header] + rows[::-1]) + "\r\n").encode())
    result = run("check")
    assert "rows are not sorted by id" in result.out and "CRLF" in result.out
    assert run("check", "--fix").code == 0
    assert path.read_text().splitlines() == [header] + rows


def test_problems_that_need_a_decision_are_reported_not_fixed(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    other = add(run, "Beta", "--value", "50")
    # The pipeline loses a stage that a deal is in, and a row becomes unreadable.
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE_YAML.format(store="deals.csv").replace("  - key: proposal\n    label: Proposal\n"
                                                        "    probability: 60\n", ""))
    path = tmp_path / "deals.csv"
    path.write_text(path.read_text().replace(",50,", ",fifty,"))
    before = store_digest(tmp_path)
    result = run("check", "--fix")
    assert result.code == 1
    assert f"deal {deal_id} is at stage 'proposal', which pipeline 'sales' does not have" \
        in result.out
    assert "column value" in result.out and other[:8] in path.read_text()
    assert "not fixing anything: some rows cannot be read" in result.err
    assert store_digest(tmp_path) == before


def test_an_invalid_pipeline_file_is_reported_line_by_line(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text("name: x\nkind: retail\n")
    result = run("check")
    assert result.code == 1
    assert "pipeline.yaml:2: kind 'retail' must be one of" in result.out
    assert "the store was not checked" in result.err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_two_clones_merge_and_check_clean_with_the_union_of_their_work(run, tmp_path,
                                                                      monkeypatch):
    """Alice and Bob clone the team's pipeline, work on different deals (add, move, won,
    lost), and merge with plain git: no conflict, `pipe check` clean, and the report equals
    the one of a single store that saw both people's commands."""
    from pipecli import ops

    # Ids are random; planned here so that no row one side adds or changes is next to a row
    # the other side changes (git reports a conflict on adjacent lines: see the next test).
    planned = iter(["10000000", "20000000", "30000000", "40000000", "50000000", "60000000",
                    "25000000", "70000000", "25000000", "70000000"])
    monkeypatch.setattr(ops, "new_id", lambda taken=(): next(planned))
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    monkeypatch.chdir(origin)
    base = [add(run, f"Deal {i}", "--value", str(1000 * (i + 1)), "--email", "a@b.co",
                "--at", "2026-11-01") for i in range(6)]
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "team pipeline")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(origin), str(alice))
    git(tmp_path, "clone", "-q", str(origin), str(bob))

    def alice_work():
        run("move", base[1], "qualification", "--at", "2026-11-02")
        run("won", base[1], "--at", "2026-11-03")
        add(run, "Alice's lead", "--value", "700", "--at", "2026-11-04")  # id 25000000

    def bob_work():
        run("lost", base[4], "--reason", "price", "--at", "2026-11-02")
        run("move", base[5], "proposal", "--at", "2026-11-03")
        add(run, "Bob's lead", "--value", "900", "--at", "2026-11-04")  # id 70000000

    monkeypatch.chdir(alice)
    alice_work()
    git(alice, "commit", "-qam", "alice")
    monkeypatch.chdir(bob)
    bob_work()
    git(bob, "commit", "-qam", "bob")
    git(bob, "pull", "-q", "--no-rebase", "--no-edit", str(alice), "main")
    status = git(bob, "status", "--porcelain")
    assert "UU" not in status.stdout and git(bob, "log", "--oneline").stdout.count("\n") == 4
    assert run("check").code == 0
    merged = run("report", "-o", "json").json()
    # The same commands in one store give the same report.
    monkeypatch.chdir(origin)
    alice_work()
    bob_work()
    assert run("report", "-o", "json").json() == merged
    assert merged["totals"]["won_count"] == 1 and merged["totals"]["lost_count"] == 1
    assert merged["totals"]["open_count"] == 6


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_conflict_between_neighbouring_rows_is_repaired_by_check_fix(run, tmp_path,
                                                                     monkeypatch):
    """Git conflicts on adjacent lines even for different deals; --fix resolves it from the
    merged history, keeping both sides."""
    from pipecli import ops

    planned = iter(["10000000", "20000000", "30000000"])
    monkeypatch.setattr(ops, "new_id", lambda taken=(): next(planned))
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    a, b, c = (add(run, name, "--at", "2026-11-01") for name in ("A", "B", "C"))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "other")
    run("move", b, "proposal", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "b moves")
    git(tmp_path, "checkout", "-q", "main")
    run("won", c, "--at", "2026-11-02")  # C's row is right below B's
    git(tmp_path, "commit", "-qam", "c won")
    assert git(tmp_path, "merge", "-q", "other").returncode != 0  # git: CONFLICT
    broken = run("list")
    assert broken.code == 1 and "conflict marker" in broken.err
    fixed = run("check", "--fix")
    assert fixed.code == 0, fixed.out + fixed.err
    deals = {d["id"]: d for d in run("list", "--status", "all", "-o", "json").json()}
    assert deals[b]["stage"] == "proposal" and deals[c]["status"] == "won"
    assert deals[a]["stage"] == "prospecting"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_same_deal_changed_on_two_branches_needs_a_person(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    deal_id = add(run, "Acme", "--at", "2026-11-01")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "other")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "proposal")
    git(tmp_path, "checkout", "-q", "main")
    run("lost", deal_id, "--reason", "price", "--at", "2026-11-02")
    git(tmp_path, "commit", "-qam", "lost")
    git(tmp_path, "merge", "-q", "other")
    conflicted = (tmp_path / "deals.csv").read_text()
    assert "<<<<<<<" in conflicted and deal_id in conflicted  # a readable hunk
    before = store_digest(tmp_path)
    result = run("check", "--fix")
    assert result.code == 1 and "changed on two branches" in result.out
    assert store_digest(tmp_path) == before


def test_a_deal_at_a_stage_the_yaml_lost_is_not_silently_dropped(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    deal_id = add(run, "Acme", "--value", "100")
    run("move", deal_id, "proposal")
    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE_YAML.format(store="deals.csv").replace("  - key: proposal\n    label: Proposal\n"
                                                        "    probability: 60\n", ""))
    result = run("report")
    assert result.code == 0
    assert f"1 deal is at a stage 'sales' does not define and so in no stage row ({deal_id})" \
        in result.err
