"""Every lifecycle command on both backends: add, move, won, lost, reopen, edit, rm."""

from __future__ import annotations

import pytest

from conftest import add, store_digest


def deal(run, ref):
    result = run("show", ref, "-o", "json")
    assert result.code == 0, result.err
    return result.json()


def test_add_prints_the_id_alone_and_stores_every_field(run, workspace):
    deal_id = add(run, "Acme rollout", "--value", "12,500.50", "--company", "Acme",
                  "--contact", "Bob Stone", "--email", "bob@acme.com", "--owner", "dana",
                  "--source", "webinar", "--close-date", "2026-12-31", "--tag", "enterprise",
                  "--tag", "q4", "--probability", "35", "--note", "met at a fair",
                  "--at", "2026-11-01")
    assert len(deal_id) == 8 and deal_id.isalnum()
    d = deal(run, deal_id)
    assert d["name"] == "Acme rollout"
    assert d["value"] == 12500.5
    assert d["stage"] == "prospecting" and d["status"] == "open"
    assert (d["company"], d["contact"], d["email"], d["owner"], d["source"]) == \
        ("Acme", "Bob Stone", "bob@acme.com", "dana", "webinar")
    assert d["close_date"] == "2026-12-31"
    assert d["tags"] == ["enterprise", "q4"]
    assert d["probability"] == 35
    assert d["weighted_value"] == 4375.18  # 12,500.50 × 35 % = 4,375.175, rounded half up
    assert d["created_at"] == "2026-11-01T00:00:00+00:00"
    assert d["currency"] == "USD"
    assert [(e["event"], e["note"]) for e in d["history"]] == [("created", "met at a fair")]


def test_ids_are_unique(run, workspace):
    ids = {add(run, f"Deal {i}") for i in range(30)}
    assert len(ids) == 30


def test_add_at_a_later_stage_checks_its_requirements(run, workspace):
    result = run("add", "Late lead", "--stage", "qualification")
    assert result.code == 1
    assert "requires email" in result.err
    deal_id = add(run, "Late lead", "--stage", "Qualification", "--email", "x@y.io")
    assert deal(run, deal_id)["stage"] == "qualification"


def test_add_at_a_closing_stage_is_refused(run, workspace):
    result = run("add", "Closed", "--stage", "won")
    assert result.code == 1 and "closing stage" in result.err


def test_move_by_stage_next_and_back(run, workspace):
    deal_id = add(run, "Acme", "--email", "a@acme.com", "--at", "2026-11-01")
    assert run("move", deal_id, "--forward", "--at", "2026-11-02").code == 0
    assert deal(run, deal_id)["stage"] == "qualification"
    assert run("move", deal_id, "proposal", "--at", "2026-11-03", "--note", "sent").code == 0
    assert run("move", deal_id, "--back", "--at", "2026-11-04").code == 0
    d = deal(run, deal_id)
    assert d["stage"] == "qualification"
    assert [e["event"] for e in d["history"]] == ["created", "moved", "moved", "moved"]
    assert [e["sets"]["stage"] for e in d["history"]] == ["prospecting", "qualification",
                                                           "proposal", "qualification"]
    assert d["history"][2]["note"] == "sent"
    # A move sets the deal's place (pipeline, stage, status: always as one, so branches
    # merge to a consistent place) and names the event it follows (the move to proposal).
    assert d["history"][3]["sets"] == {"pipeline": "sales", "stage": "qualification",
                                       "status": "open"}
    assert d["history"][3]["prev"] == d["history"][2]["id"]
    assert all(e["in_effect"] for e in d["history"])


def test_move_enforces_requires_and_names_the_missing_field(run, workspace):
    deal_id = add(run, "No email")
    before = store_digest(workspace)
    result = run("move", deal_id, "qualification")
    assert result.code == 1
    assert "requires email" in result.err and f"pipe edit {deal_id} --email" in result.err
    assert store_digest(workspace) == before


def test_move_to_the_same_stage_changes_nothing(run, workspace):
    deal_id = add(run, "Acme")
    before = store_digest(workspace)
    result = run("move", deal_id, "prospecting")
    assert result.code == 0 and "nothing changed" in result.out
    assert store_digest(workspace) == before


def test_move_past_the_ends_is_refused(run, workspace):
    deal_id = add(run, "Acme")
    assert run("move", deal_id, "--back").code == 1
    run("move", deal_id, "proposal")
    result = run("move", deal_id, "--forward")
    assert result.code == 1 and "last open stage" in result.err


def test_move_needs_exactly_one_target(run, workspace):
    deal_id = add(run, "Acme")
    assert run("move", deal_id).code == 2
    assert run("move", deal_id, "--forward", "--back").code == 2
    # with --forward every word is a deal: a stage is not one
    assert "no deal matches 'proposal'" in run("move", deal_id, "proposal", "--forward").err
    # --next is the next step now: what looks like an option is not taken as its text
    stepped = run("move", deal_id, "--next", "--at", "2026-11-02")
    assert stepped.code == 2 and "--forward" in stepped.err


def test_move_to_won_stage_wins_and_to_lost_stage_points_to_pipe_lost(run, workspace):
    a = add(run, "A")
    b = add(run, "B")
    assert run("move", a, "won").code == 0
    assert deal(run, a)["status"] == "won"
    result = run("move", b, "lost")
    assert result.code == 1 and "pipe lost" in result.err


def test_won_with_final_value(run, workspace):
    deal_id = add(run, "Acme", "--value", "10000", "--at", "2026-11-01")
    result = run("won", deal_id, "--value", "9500", "--at", "2026-11-15")
    assert result.code == 0
    d = deal(run, deal_id)
    assert (d["status"], d["stage"], d["value"]) == ("won", "won", 9500)
    assert d["closed_at"] == "2026-11-15T00:00:00+00:00"
    # The created event holds the expected value, the won event the final one.
    assert d["history"][0]["sets"]["value"] == "10000"
    assert (d["history"][-1]["event"], d["history"][-1]["sets"]) == \
        ("won", {"pipeline": "sales", "stage": "won", "status": "won", "value": "9500"})


def test_won_deal_moves_on_to_post_purchase_and_stays_won(run, workspace):
    deal_id = add(run, "Acme")
    run("won", deal_id)
    assert run("move", deal_id, "post_purchase").code == 0
    d = deal(run, deal_id)
    assert (d["stage"], d["status"]) == ("post_purchase", "won")


def test_closed_deals_need_reopen_before_moving(run, workspace):
    deal_id = add(run, "Acme")
    run("lost", deal_id, "--reason", "price")
    before = store_digest(workspace)
    result = run("move", deal_id, "proposal")
    assert result.code == 1 and f"pipe reopen {deal_id}" in result.err
    assert run("won", deal_id).code == 1
    assert run("lost", deal_id, "--reason", "price").code == 1
    assert store_digest(workspace) == before


def test_lost_reason_is_checked_and_normalised(run, workspace):
    deal_id = add(run, "Acme")
    bad = run("lost", deal_id, "--reason", "bad weather")
    assert bad.code == 1 and "price; chose another vendor" in bad.err
    assert run("lost", deal_id, "--reason", "PRICE").code == 0
    d = deal(run, deal_id)
    assert (d["status"], d["stage"], d["lost_reason"]) == ("lost", "lost", "price")


def test_lost_needs_a_reason(run, workspace):
    deal_id = add(run, "Acme")
    assert run("lost", deal_id).code == 2


def test_reopen_returns_to_the_stage_before_closing(run, workspace):
    deal_id = add(run, "Acme", "--at", "2026-11-01")
    run("move", deal_id, "proposal", "--at", "2026-11-02")
    run("lost", deal_id, "--reason", "price", "--at", "2026-11-03")
    assert run("reopen", deal_id, "--at", "2026-11-04").code == 0
    d = deal(run, deal_id)
    assert (d["status"], d["stage"], d["lost_reason"], d["closed_at"]) == \
        ("open", "proposal", "", None)
    assert run("reopen", deal_id).code == 1  # already open
    run("won", deal_id)
    assert run("reopen", deal_id, "--stage", "prospecting").code == 0
    assert deal(run, deal_id)["stage"] == "prospecting"


def test_edit_changes_fields_and_records_exactly_what_it_set(run, workspace):
    deal_id = add(run, "Acme", "--value", "100", "--tag", "a", "--company", "Acme Inc")
    assert run("edit", deal_id, "--name", "Acme Corp", "--value", "250", "--tag", "b",
               "--untag", "a", "--owner", "lee", "--company", "Acme Inc").code == 0
    d = deal(run, deal_id)
    assert (d["name"], d["value"], d["tags"], d["owner"], d["company"]) == \
        ("Acme Corp", 250, ["b"], "lee", "Acme Inc")
    created, edited = d["history"]
    # The old values stay in the events before; the edit sets only what changed (not the
    # company it was given again), and tags as added / removed.
    assert (created["sets"]["name"], created["sets"]["value"], created["tags_added"]) == \
        ("Acme", "100", ["a"])
    assert edited["event"] == "edited"
    assert edited["sets"] == {"name": "Acme Corp", "value": "250", "owner": "lee"}
    assert (edited["tags_added"], edited["tags_removed"]) == (["b"], ["a"])
    assert edited["prev"] == created["id"]
    assert run("edit", deal_id, "--value", "").code == 0
    d = deal(run, deal_id)
    assert d["value"] is None
    assert d["history"][-1]["sets"] == {"value": ""}  # "" clears the field


def test_edit_with_nothing_to_change_writes_nothing(run, workspace):
    deal_id = add(run, "Acme", "--owner", "lee")
    before = store_digest(workspace)
    result = run("edit", deal_id, "--owner", "lee")
    assert result.code == 0 and "nothing to change" in result.out
    assert store_digest(workspace) == before


def test_edit_cannot_clear_a_field_the_stage_requires(run, workspace):
    deal_id = add(run, "Acme", "--email", "a@b.co")
    run("move", deal_id, "qualification")
    result = run("edit", deal_id, "--email", "")
    assert result.code == 1 and "requires email" in result.err


def test_rm_needs_yes_off_a_terminal_and_keeps_history(run, workspace):
    deal_id = add(run, "Acme")
    result = run("rm", deal_id)
    assert result.code == 2 and "--yes" in result.err
    assert run("rm", deal_id, "--yes").code == 0
    assert run("show", deal_id).code == 1
    assert run("list", "--status", "all", "-o", "json").json() == []
    log = run("log", "-o", "json").json()
    assert [(e["deal_id"], e["event"], e["name"]) for e in log] == \
        [(deal_id, "deleted", "Acme"), (deal_id, "created", "Acme")]


def test_back_dated_history_must_stay_in_order(run, workspace):
    deal_id = add(run, "Acme", "--at", "2026-11-10")
    before = store_digest(workspace)
    result = run("move", deal_id, "proposal", "--at", "2026-11-05")
    assert result.code == 2 and "before the deal's last change" in result.err
    assert store_digest(workspace) == before


def test_at_in_the_future_is_refused(run, workspace):
    result = run("add", "Acme", "--at", "+3d")
    assert result.code == 2 and "in the future" in result.err


@pytest.mark.parametrize("when, expected", [
    ("2026-03-01", "2026-03-01T00:00:00+00:00"),
    ("2026-03-01T09:30:00+02:00", "2026-03-01T09:30:00+02:00"),
    ("2026-03-01 09:30", "2026-03-01T09:30:00+00:00"),
    ("today", "2026-11-20T00:00:00+00:00"),
    ("yesterday", "2026-11-19T00:00:00+00:00"),
    ("-3d", "2026-11-17T10:00:00+00:00"),
    ("-2w", "2026-11-06T10:00:00+00:00"),
    ("now", "2026-11-20T10:00:00+00:00"),
])
def test_at_accepts_dates_words_and_relative_days(run, workspace, when, expected):
    deal_id = add(run, "Acme", "--at", when)
    assert deal(run, deal_id)["created_at"] == expected


@pytest.mark.parametrize("when", ["2026-02-30", "+99999d", "soon", "2026-13-01", ""])
def test_bad_dates_are_one_sentence_and_exit_2(run, workspace, when):
    before = store_digest(workspace)
    result = run("add", "Acme", "--close-date", when) if when else \
        run("add", "Acme", "--at", "someday")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert store_digest(workspace) == before


def test_close_date_accepts_relative_days(run, workspace):
    deal_id = add(run, "Acme", "--close-date", "+14d")
    assert deal(run, deal_id)["close_date"] == "2026-12-04"


@pytest.mark.parametrize("value, expected", [
    ("12500", 12500), ("12,500.50", 12500.5), ("12_500", 12500), ("12.5k", 12500),
    ("1.2m", 1200000), ("$99.99", 99.99), ("0", 0),
])
def test_values_are_parsed_exactly(run, workspace, value, expected):
    deal_id = add(run, "Acme", "--value", value)
    assert deal(run, deal_id)["value"] == expected


@pytest.mark.parametrize("value, fragment", [
    ("-5", "negative"), ("1.000,50", "use a dot for decimals"), ("abc", "not an amount"),
    ("1e309", "not an amount"), ("NaN", "not an amount"), ("12.345", "decimal places"),
    ("1" * 30, "too large"), ("1,00", "not an amount"),
])
def test_bad_values_are_refused(run, workspace, value, fragment):
    before = store_digest(workspace)
    result = run("add", "Acme", "--value", value)
    assert result.code == 2 and fragment in result.err
    assert store_digest(workspace) == before


@pytest.mark.parametrize("probability", ["101", "-1", "x", "nan"])
def test_bad_probability_is_refused(run, workspace, probability):
    assert run("add", "Acme", "--probability", probability).code == 2


def test_ctrl_c_is_one_line_and_exit_130(run, workspace, monkeypatch):
    from pipecli import ops

    deal_id = add(run, "Acme")
    before = store_digest(workspace)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ops, "apply", interrupted)
    result = run("move", deal_id, "proposal")
    assert result.code == 130
    assert result.err == "pipe: error: interrupted; nothing was changed\n"
    assert store_digest(workspace) == before


def test_version_and_help(run):
    assert run("--version").out.startswith("pipe ")
    for command in ("add", "move", "won", "lost", "reopen", "edit", "rm", "list", "show",
                    "report", "init", "templates", "stages"):
        result = run(command, "--help")
        assert result.code == 0 and "Example:" in result.out, command


def test_a_deal_holds_at_most_50_tags(run, workspace):
    """Every value is bounded, so no accepted command can grow a log line without end."""
    deal = add(run, "Tagged", *[f"--tag=t{i}" for i in range(50)])
    before = store_digest(workspace)
    for args in (("add", "Too many", *[f"--tag=t{i}" for i in range(51)]),
                 ("edit", deal, "--tag", "one-more")):
        result = run(*args)
        assert result.code == 2, result
        assert "tags; the limit is 50" in result.err and result.err.count("\n") == 1
        assert store_digest(workspace) == before
