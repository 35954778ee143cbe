"""Next steps: set with --next/--due on add, edit, move and done; completed with `pipe done`
(an activity in the history); listed by `pipe agenda`; counted by `pipe stale` when overdue,
or missing at a stage that requires one; a stage's default step."""

from __future__ import annotations

import json

import pytest

from conftest import add, store_digest

# The frozen clock (conftest.NOW) is Friday 2026-11-20 10:00 UTC.


def deal_json(run, ref):
    shown = run("show", ref, "-o", "json")
    assert shown.code == 0, shown.err
    return shown.json()


def test_a_next_step_is_set_shown_and_done_with_an_outcome(run, workspace):
    deal = add(run, "Northwind – Annual licence", "--value", "12000", "--next", "Call Ava",
               "--due", "monday")
    assert deal_json(run, deal)["next_step"] == {"text": "Call Ava", "due": "2026-11-23",
                                                 "owner": ""}
    shown = run("show", deal)
    assert "Next step:   Call Ava (due 2026-11-23)" in shown.out
    done = run("done", "northwind", "-m", "wants a demo", "--next", "Demo",
               "--due", "2026-11-25 14:00", "--next-owner", "Bo")
    assert done.code == 0, done.err
    assert "Call Ava" in done.out and "Demo" in done.out
    info = deal_json(run, deal)
    assert info["next_step"] == {"text": "Demo", "due": "2026-11-25T14:00:00+00:00",
                                 "owner": "Bo"}
    activity = info["history"][-1]
    assert activity["event"] == "done" and activity["note"] == "wants a demo"
    # show and log both say which step was done
    assert "done: Call Ava; next: Demo (due 2026-11-25 14:00)" in run("show", deal).out
    assert "done: Call Ava" in run("log", "-n", "1").out
    # done without a step to do is refused, with what to do instead
    run("done", deal)
    refused = run("done", deal)
    assert refused.code == 1 and "no next step" in refused.err and "pipe note" in refused.err


def test_done_counts_as_activity_and_clears_the_overdue_alert(run, workspace):
    deal = add(run, "Acme", "--next", "Call", "--due", "2026-11-10", "--at", "2026-11-01")
    stale = run("stale", "-o", "json").json()
    kinds = {a["kind"] for a in stale if a["id"] == deal}
    assert "next_overdue" in kinds
    overdue = next(a for a in stale if a["kind"] == "next_overdue")
    assert overdue["overdue_days"] == 10  # due the 10th, it is the 20th
    assert run("done", deal).code == 0
    after = run("stale", "-o", "json").json()
    assert not [a for a in after if a["id"] == deal and a["kind"] == "next_overdue"]
    assert run("stale", "--fail").code == 0


def test_a_due_moment_is_overdue_once_past_a_due_day_only_the_day_after(run, workspace):
    today = add(run, "Today", "--next", "Call", "--due", "today")
    morning = add(run, "Morning", "--next", "Call", "--due", "2026-11-20 09:00")
    evening = add(run, "Evening", "--next", "Call", "--due", "2026-11-20 18:00")
    late = {a["id"] for a in run("stale", "-o", "json").json() if a["kind"] == "next_overdue"}
    assert late == {morning}
    agenda = run("agenda", "-o", "json").json()
    when = {i["id"]: i["when"] for i in agenda["items"]}
    assert when == {morning: "overdue", today: "today", evening: "today"}


def test_edit_puts_a_step_off_or_takes_it_away(run, workspace):
    deal = add(run, "Acme", "--next", "Call", "--due", "today")
    assert run("edit", deal, "--due", "+1w").code == 0
    assert deal_json(run, deal)["next_step"]["due"] == "2026-11-27"
    assert run("edit", deal, "--next", "").code == 0
    assert deal_json(run, deal)["next_step"] is None
    refused = run("edit", deal, "--due", "friday")
    assert refused.code == 2 and "no next step" in refused.err
    assert run("add", "B", "--due", "friday").code == 2  # --due needs --next on add
    assert run("edit", deal, "--next", "", "--due", "friday").code == 2
    assert run("add", "C", "--next", "--at", "2026-11-01").code == 2  # an option, not text


def test_undo_takes_back_a_done(run, workspace):
    deal = add(run, "Acme", "--next", "Call", "--due", "today")
    run("done", deal, "--next", "Meet", "--due", "+2d")
    assert run("undo").code == 0
    assert deal_json(run, deal)["next_step"]["text"] == "Call"


@pytest.mark.parametrize("text", ["\x1b[31mred", "a\u202eb", "x" * 501])
def test_hostile_next_step_text_is_refused(run, workspace, text):
    deal = add(run, "Acme")
    before = store_digest(workspace)
    for args in (("add", "A", "--next", text), ("edit", deal, "--next", text),
                 ("done", deal, "--next", text), ("move", deal, "proposal", "--next", text)):
        result = run(*args)
        assert result.code == 2 and result.err.count("\n") == 1, args
        assert result.err.startswith("pipe: error: --next"), (args, result.err)
    assert store_digest(workspace) == before


def test_agenda_groups_overdue_today_and_the_coming_days(run, workspace):
    a = add(run, "Overdue deal", "--value", "100", "--next", "Chase", "--due", "2026-11-18")
    b = add(run, "Today deal", "--value", "200", "--next", "Call", "--due", "today")
    c = add(run, "Tomorrow deal", "--next", "Send", "--due", "tomorrow")
    d = add(run, "Next week deal", "--next", "Demo", "--due", "2026-11-26")
    e = add(run, "Far deal", "--next", "Renew", "--due", "2027-03-01")
    f = add(run, "Undated deal", "--next", "Someday")
    add(run, "No step deal")
    agenda = run("agenda", "-o", "json").json()
    assert [(i["id"], i["when"]) for i in agenda["items"]] == [
        (a, "overdue"), (b, "today"), (c, "day"), (d, "day")]
    assert agenda["later"] == 1 and agenda["undated"] == 1
    assert agenda["until"] == "2026-11-27"
    everything = run("agenda", "--later", "-o", "json").json()
    assert [i["id"] for i in everything["items"]][-2:] == [e, f]
    table = run("agenda").out
    assert table.index("overdue") < table.index("today") < table.index("tomorrow")
    assert "Thu 26 Nov" in table
    assert "(2 more next steps: 1 due later and 1 without a date; --later shows them)" in table
    assert run("agenda", "--days", "0", "-o", "json").json()["later"] == 3
    # the shared filters narrow it
    only = run("agenda", "-s", "today deal", "-o", "json").json()
    assert [i["id"] for i in only["items"]] == [b]
    assert run("agenda", "--value-min", "150", "-o", "json").json()["items"][0]["id"] == b


def test_agenda_with_nothing_due_says_so(run, workspace):
    result = run("agenda")
    assert result.code == 0 and result.out.strip() == "No next steps due by 2026-11-27."


@pytest.fixture
def required(workspace):
    """The test pipeline with `next_step: required` and a default step at proposal."""
    path = workspace / "pipeline.yaml"
    text = path.read_text().replace("lost_reasons:", "next_step: required\nlost_reasons:")
    path.write_text(text.replace(
        "    label: Proposal\n    probability: 60\n",
        "    label: Proposal\n    probability: 60\n"
        "    next_step: {text: Follow up on the proposal, due: +3d}\n"))
    return workspace


def test_a_required_next_step_that_is_missing_needs_attention(run, required):
    bare = add(run, "Bare", "--at", "2026-11-15")
    stepped = add(run, "Stepped", "--next", "Call", "--due", "+2d")
    alerts = run("stale", "-o", "json").json()
    missing = [a for a in alerts if a["kind"] == "no_next_step"]
    assert [a["id"] for a in missing] == [bare]
    assert missing[0]["overdue_days"] == 5.42  # idle since the 15th 00:00, now the 20th 10:00
    assert run("stale", "--fail").code == 3
    agenda = run("agenda", "-o", "json").json()
    assert [m["id"] for m in agenda["missing"]] == [bare]
    assert "1 open deal has no next step" in run("agenda").out
    assert stepped not in {a["id"] for a in alerts}
    # a closed deal needs none
    run("lost", bare, "--reason", "price")
    assert not [a for a in run("stale", "-o", "json").json() if a["kind"] == "no_next_step"]


def test_entering_a_stage_with_a_default_step_gives_it(run, required):
    deal = add(run, "Acme", "--email", "a@acme.com", "--next", "Qualify", "--due", "+1d")
    run("done", deal)
    assert run("move", deal, "proposal").code == 0
    assert deal_json(run, deal)["next_step"] == {"text": "Follow up on the proposal",
                                                 "due": "2026-11-23", "owner": ""}
    # a step given on the move wins over the default
    other = add(run, "Beta", "--email", "b@b.co")
    run("move", other, "proposal", "--next", "Send contract", "--due", "tomorrow")
    assert deal_json(run, other)["next_step"]["text"] == "Send contract"


@pytest.mark.parametrize("bad, fragment", [
    ("next_step: sometimes", "must be required or optional"),
    ("next_step: {due: +2d}", "needs a `text:`"),
    ("next_step: {text: Call, due: whenever}", "is not a date word"),
])
def test_a_bad_next_step_rule_is_refused_with_its_line(run, workspace, bad, fragment):
    path = workspace / "pipeline.yaml"
    text = path.read_text().replace("    rot_days: 14\n", f"    rot_days: 14\n    {bad}\n")
    path.write_text(text)
    result = run("list")
    assert result.code != 0 and fragment in result.err and "pipeline.yaml:" in result.err


def test_next_steps_survive_export_and_import(run, workspace, tmp_path):
    add(run, "Acme", "--next", "Call", "--due", "2026-11-25 14:00", "--next-owner", "Bo")
    exported = run("export", "-o", "json")
    rows = json.loads(exported.out)
    assert rows[0]["next_step"] == "Call" and rows[0]["next_due"] == "2026-11-25T14:00:00+00:00"
    csv_file = tmp_path / "deals.csv"
    csv_file.write_text(run("export").out)
    other = tmp_path / "other"
    other.mkdir()
    (other / "pipeline.yaml").write_text((workspace / "pipeline.yaml").read_text())
    imported = run("import", str(csv_file), "-f", str(other / "pipeline.yaml"))
    assert imported.code == 0, imported.err
    there = run("show", rows[0]["id"], "-o", "json", "-f", str(other / "pipeline.yaml"))
    assert there.json()["next_step"] == {"text": "Call", "due": "2026-11-25T14:00:00+00:00",
                                         "owner": "Bo"}
    # a file of a CRM: a next step column and a due date in the file's own form
    crm = tmp_path / "crm.csv"
    crm.write_text("Name,Next Step,Next Due\nGlobex,Send quote,2026-12-01\n")
    result = run("import", str(crm), "--map", "Next Step=next_step", "--map",
                 "Next Due=next_due")
    assert result.code == 0, result.err
    globex = next(d for d in run("list", "-o", "json").json() if d["name"] == "Globex")
    assert globex["next_step"] == {"text": "Send quote", "due": "2026-12-01", "owner": ""}


def test_closing_a_deal_takes_its_next_step_away_and_edit_can_give_one(run, workspace):
    won = add(run, "Won deal", "--next", "Send contract", "--due", "today")
    lost = add(run, "Lost deal", "--next", "Call", "--due", "today")
    run("won", won)
    run("lost", lost, "--reason", "price")
    assert deal_json(run, won)["next_step"] is None
    assert deal_json(run, lost)["next_step"] is None
    assert run("agenda", "-o", "json").json()["items"] == []
    assert run("edit", lost, "--next", "Call again in spring", "--due", "2027-03-01").code == 0
    later = run("agenda", "--later", "-o", "json").json()["items"]
    assert [(i["id"], i["stage"]) for i in later] == [(lost, "lost")]
    assert run("undo").code == 0 and run("undo").code == 0  # the lost comes back: its step too
    assert deal_json(run, lost)["next_step"]["text"] == "Call"
