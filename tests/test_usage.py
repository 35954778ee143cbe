"""Usage mistakes get the same one sentence as every other error (`pipe: error: …`,
exit 2), pointing to the command's help; -n is a count everywhere, -m a note."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, fragment", [
    (("add",), "missing argument 'NAME' (see `pipe add -h`)"),
    (("add", "x", "--bogus"), "no such option: --bogus (see `pipe add -h`)"),
    (("nosuch",), "no such command 'nosuch' (see `pipe -h`)"),
    (("report", "-o", "foo"), "'foo' is not one of 'table'"),
    (("log", "-n", "zero"), "(see `pipe log -h`)"),
    (("log", "-n", "0"), "(see `pipe log -h`)"),
    (("move",), "missing argument 'DEAL'"),
])
def test_a_usage_mistake_is_one_sentence(run, workspace, args, fragment):
    result = run(*args)
    assert result.code == 2
    assert result.err.startswith("pipe: error: ") and result.err.count("\n") == 1
    assert fragment in result.err
    assert result.out == ""


def test_m_is_a_note_and_n_a_count(run, workspace):
    deal = run("add", "Acme", "-m", "met at the fair").out.strip()
    assert run("move", deal, "qualification", "--email", "a@b.io").code == 2  # not an option
    assert run("edit", deal, "--email", "a@acme.io", "-m", "from the card").code == 0
    log = run("log", "-n", "1", "-o", "json").json()
    assert len(log) == 1 and log[0]["note"] == "from the card"
    assert run("show", deal, "-o", "json").json()["history"][0]["note"] == "met at the fair"


def test_a_new_deal_belongs_to_pipe_owner_else_to_gits_user(run, workspace, monkeypatch):
    import subprocess

    monkeypatch.setenv("PIPE_OWNER", "ann")
    assert run("add", "A").code == 0
    assert run("add", "B", "--owner", "").code == 0
    assert run("add", "C", "--owner", "bob").code == 0
    monkeypatch.delenv("PIPE_OWNER")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    subprocess.run(["git", "config", "user.name", "Dana Scully"], cwd=workspace, check=True)
    assert run("add", "D").code == 0
    owners = {d["name"]: d["owner"] for d in run("list", "-o", "json").json()}
    assert owners == {"A": "ann", "B": "", "C": "bob", "D": "Dana Scully"}
    monkeypatch.setenv("PIPE_OWNER", "\x1b[31mred")
    refused = run("add", "E")
    assert refused.code == 2 and "PIPE_OWNER contains control characters" in refused.err


def test_pipe_note_adds_a_dated_note_to_the_history(run, workspace):
    deal = run("add", "Acme", "--at", "2026-11-01").out.strip()
    assert run("note", "acme", "Called Ava: budget approved", "--at", "2026-11-10").code == 0
    history = run("show", deal, "-o", "json").json()["history"]
    assert (history[-1]["event"], history[-1]["note"], history[-1]["at"][:10]) == \
        ("edited", "Called Ava: budget approved", "2026-11-10")
    assert history[-1]["sets"] == {}
    assert run("note", deal, "").code == 2
    assert run("note", deal, "line\nbreak").code == 2


def test_a_cut_list_says_how_many_more_there_are(run, workspace):
    for i in range(5):
        assert run("add", f"Deal {i}").code == 0
    cut = run("list", "--limit", "2")
    assert "2 deals" in cut.out and "(3 more not shown; a larger --limit shows them)" in cut.out
    whole = run("list", "--limit", "5")
    assert "more not shown" not in whole.out
    assert len(run("list", "--limit", "2", "-o", "json").json()) == 2


def test_a_cut_stale_list_says_how_many_more_alerts_there_are(run, workspace):
    for i in range(4):
        assert run("add", f"Old {i}", "--at", "2026-09-01").code == 0  # idle beyond 14 days
    cut = run("stale", "-n", "1")
    assert "(3 more not shown; a larger --limit shows them)" in cut.out
    assert "more not shown" not in run("stale").out


def test_list_searches_text_loosely_and_filters_values_and_close_dates(run, workspace):
    a = run("add", "Northwind – Annual licence", "--company", "Société Générale",
            "--value", "24k", "--close-date", "2026-12-15").out.strip()
    b = run("add", "Orbital pilot", "--contact", "Zoë Brand", "--value", "6500",
            "--close-date", "2027-02-01").out.strip()
    c = run("add", "Helios", "--value", "90000").out.strip()
    assert run("note", c, "Spoke with the CFO of Nordwind").code == 0

    def ids(*args):
        return {d["id"] for d in run("list", *args, "-o", "json").json()}

    assert ids("-s", "NORTHWIND") == {a}
    assert ids("-s", "societe") == {a}  # accents and case ignored
    assert ids("--search", "zoe") == {b}
    assert ids("-s", "nordwind") == {c}  # found in a note
    assert ids("--company", "société générale") == {a}
    assert ids("--value-min", "6,500", "--value-max", "24k") == {a, b}
    assert ids("--close-after", "2027-01-01") == {b}
    assert ids("--close-before", "2026-12-31") == {a}
    assert ids("-s", "100%_") == set()  # no wildcard
    refused = run("list", "--value-min", "10", "--value-max", "5")
    assert refused.code == 2 and "is more than --value-max" in refused.err
    assert run("list", "--close-after", "2027-01-01", "--close-before", "2026-01-01").code == 2


def test_review_of_the_day_to_day_additions(run, workspace):
    deal = run("add", "Support", "--value", "100").out.strip()
    assert run("note", deal, "secretword42").code == 0
    assert len(run("list", "-s", "secretword42", "-o", "json").json()) == 1
    assert run("undo").code == 0
    assert run("list", "-s", "secretword42", "-o", "json").json() == []  # taken back
    assert run("add", "Yen", "--value", "1000000", "--currency", "JPY").code == 0
    assert [d["name"] for d in run("list", "--value-min", "10k", "-o", "json").json()] == []
    assert run("list", "--value-min", "£500").code == 2  # not in the pipeline's USD
    assert len(run("list", "-n", "1", "-o", "json").json()) == 1
    assert len(run("log", "--limit", "1", "-o", "json").json()) == 1
    result = run("list", "--close-after", "0001-01-01T00:00")  # was an internal error
    assert result.code == 2 and result.err.count("\n") == 1
    undecodable = run("list", "-s", "ab\udcff")  # a byte the locale could not decode
    assert undecodable.code == 2 and "argument 3 is not valid UTF-8 text" in undecodable.err


def test_stale_fail_counts_every_alert_when_the_list_is_cut(run, workspace):
    for i in range(3):
        assert run("add", f"Old {i}", "--at", "2026-09-01").code == 0
    result = run("stale", "-n", "1", "--fail")
    assert result.code == 3 and "3 alerts need attention (1 shown)" in result.err


def test_every_read_command_shares_the_search_and_range_filters(run, workspace):
    a = run("add", "Northwind rollout", "--value", "24000", "--close-date", "2026-12-10",
            "--company", "Northwind").out.strip()
    b = run("add", "Orbital pilot", "--value", "6500", "--close-date", "2027-01-20").out.strip()
    run("add", "Helios", "--value", "90000", "--close-date", "2026-12-20")
    assert run("won", b).code == 0
    assert run("note", a, "asked for a discount").code == 0
    for args, expected in ((("-s", "discount"), {a}), (("--company", "northwind"), {a}),
                           (("--value-max", "30k"), {a, b}),
                           (("--close-after", "2027-01-01"), {b})):
        listed = {d["id"] for d in run("list", "--status", "all", *args, "-o",
                                       "json").json()}
        assert listed == expected, args
        totals = run("report", *args, "-o", "json").json()["totals"]
        assert totals["open_count"] + totals["won_count"] == len(expected), args
        months = run("forecast", *args, "-o", "json").json()
        opened = sum(m["open_count"] for m in months["months"]) + sum(
            months[k]["count"] for k in ("slipped", "no_close_date", "later"))
        assert opened == len(expected - {b}), args
        ranked = {d["id"] for d in run("next", *args, "-o", "json").json()}
        assert ranked == expected - {b}, args
