"""Review of next steps and the agenda (issue 12): a due moment written in another time zone
is placed, ordered and shown on the reader's clock; a due pipe cannot keep is refused on every
way in (typed, imported, a log line) instead of breaking the agenda later; a deal's name in
the agenda's notes never reaches the terminal raw; a stage's default step is held to what
--next takes (else pipe writes log lines it then refuses to read); an imported next_due
column is read day first like the file's other date columns."""

from __future__ import annotations

import re

import pytest

from conftest import PIPELINE_YAML, add, store_digest
from pipecli.values import CONTROL

# The frozen clock (conftest.NOW) is Friday 2026-11-20 10:00 UTC, and TZ is UTC.


def items(run, *args):
    result = run("agenda", "--later", "-o", "json", *args)
    assert result.code == 0, result.err
    return result.json()["items"]


def test_a_moment_due_in_another_time_zone_is_placed_and_shown_on_the_readers_clock(
        run, workspace):
    # 01:00 on the 21st in Tokyo (+09:00) is 16:00 on the 20th here (UTC): due today, at a
    # time, so before the step due all day today — whatever day Tokyo's clock says.
    tokyo = add(run, "Tokyo", "--next", "Call Kenji", "--due", "2026-11-21T01:00+09:00")
    all_day = add(run, "All day", "--next", "Send deck", "--due", "today")
    morning = add(run, "Morning", "--next", "Demo", "--due", "2026-11-21 09:00")
    tomorrow = add(run, "Tomorrow", "--next", "Follow up", "--due", "tomorrow")
    listed = items(run)
    assert [(i["id"], i["when"]) for i in listed] == [
        (tokyo, "today"), (all_day, "today"), (morning, "day"), (tomorrow, "day")]
    assert listed[0]["due"] == "2026-11-21T01:00:00+09:00"  # JSON keeps what was written
    table = run("agenda").out
    assert re.search(rf"today 16:00 +{tokyo}", table)
    # pipe show, the history and the stale alert say the time on this clock too
    assert "Call Kenji (due 2026-11-20 16:00)" in run("show", tokyo).out
    assert "next: Call Kenji (due 2026-11-20 16:00)" in run("log", tokyo).out
    late = [a for a in run("stale", "--as-of", "2026-11-21", "-o", "json").json()
            if a["id"] == tokyo]
    assert [a["limit"] for a in late] == ["next step due 2026-11-20 16:00"]
    # overdue the next day: labelled with the day it was due here, the 20th
    overdue = run("agenda", "--as-of", "2026-11-21").out
    assert re.search(rf"overdue 20 Nov 16:00 +{tokyo}", overdue)
    # scripts get the due as stored (ISO with its offset), not a local wall time
    csv_rows = run("agenda", "-o", "csv").out.splitlines()
    assert f"today,2026-11-21T01:00:00+09:00,{tokyo},Tokyo,Call Kenji" in csv_rows[1]


@pytest.mark.parametrize("due", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00",
                                 "1899-12-31"])
def test_a_due_pipe_cannot_keep_is_refused_when_typed_or_imported(run, workspace, due):
    deal = add(run, "Acme")
    before = store_digest(workspace)
    for args in (("add", "B", "--next", "Call", "--due", due),
                 ("edit", deal, "--next", "Call", "--due", due)):
        refused = run(*args)
        assert refused.code == 2 and refused.err.count("\n") == 1, refused.err
        assert "pipe can keep" in refused.err and "Traceback" not in refused.err
    (workspace / "steps.csv").write_text(f"name,next_step,next_due\nC,Call,{due}\n")
    imported = run("import", "steps.csv")
    assert imported.code != 0 and "next_due" in imported.out + imported.err
    assert store_digest(workspace) == before
    assert run("agenda").code == 0 and run("stale").code == 0


def test_a_log_line_with_a_due_moment_pipe_cannot_keep_is_not_read(run, tmp_path):
    """A line from elsewhere (a merge) whose due moment no clock can show is named by
    `pipe check` and left out, as any malformed cell is; the agenda still works."""
    from datetime import datetime, timezone

    from pipecli.models import Event, Kind
    from pipecli.store.codec import encode_line

    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    deal = add(run, "Acme")
    log = next((tmp_path / "deals").glob("*.csv"))
    first = log.read_text().splitlines()[1].split(",")[0]
    hostile = Event(id="zzzzzzzzzzzz", deal_id=deal, kind=Kind.EDITED,
                    at=datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc),
                    recorded="2026-11-20T10:30:00.000000Z", prev=first,
                    sets={"next_step": "Call", "next_due": "0001-01-01T00:00:00+14:00"})
    with log.open("a") as f:
        f.write(encode_line(hostile))
    agenda = run("agenda", "--later")
    assert agenda.code == 0 and "Traceback" not in agenda.err
    checked = run("check")
    assert checked.code != 0 and "next_due" in checked.out + checked.err
    assert run("show", deal, "-o", "json").json()["next_step"] is None


def test_the_agendas_notes_never_print_a_deals_name_raw(run, tmp_path):
    """Names that did not come through the CLI (a merged log line, a library call) may hold
    terminal escapes and bidi controls: every format shows them escaped."""
    from pipecli import ops
    from pipecli.cli.common import open_workspace

    (tmp_path / "pipeline.yaml").write_text(
        PIPELINE_YAML.format(store="deals").replace("currency: USD",
                                                    "currency: USD\nnext_step: required"))
    ws, store = open_workspace(None)
    pipeline = ws.pipelines[0]
    ops.add(store, pipeline, name="Evil\x1b]0;owned\x07\u202egnp", fields={})
    ops.add(store, pipeline, name="Step\x1b[31m", fields={},
            follow=ops.FollowUp("Call\x1b[2J now"))
    for fmt in ("table", "plain", "markdown", "csv", "tsv"):
        shown = run("agenda", "--later", "-o", fmt)
        assert shown.code == 0, shown.err
        assert not CONTROL.search(shown.out.replace("\n", "").replace("\t", "")), (fmt,
                                                                                   shown.out)
        if fmt in ("table", "plain", "markdown"):
            assert "has no next step" in shown.out and "Evil" in shown.out


@pytest.mark.parametrize("text, problem", [
    ("\"Call \\e[31mnow\"", "control characters"),
    ("\"Call \\u202enow\"", "control characters"),
    ("\"" + "x" * 501 + "\"", "501 characters long"),
])
def test_a_stage_default_step_is_held_to_what_next_takes(run, tmp_path, text, problem):
    yaml = PIPELINE_YAML.format(store="deals").replace(
        "    probability: 60\n", f"    probability: 60\n    next_step: {{text: {text}}}\n")
    (tmp_path / "pipeline.yaml").write_text(yaml)
    refused = run("list")
    assert refused.code != 0 and "next_step text" in refused.err and problem in refused.err


def test_a_default_step_that_pipe_writes_reads_back(run, tmp_path):
    """What a default step writes is a log line pipe reads again: after the index is made
    again from the log, the deal and its step are still there."""
    import shutil

    long = "Send the proposal " + "x" * 482  # 500 characters: the limit
    yaml = PIPELINE_YAML.format(store="deals").replace(
        "    probability: 60\n",
        f"    probability: 60\n    next_step: {{text: '  {long}  ', due: +2d}}\n")
    (tmp_path / "pipeline.yaml").write_text(yaml)
    deal = add(run, "Acme", "--stage", "proposal")
    shutil.rmtree(tmp_path / "deals" / ".local")  # the index is a cache: made again
    step = run("show", deal, "-o", "json").json()["next_step"]
    assert step == {"text": long, "due": "2026-11-22", "owner": ""}
    assert run("check").code == 0


def test_an_imported_next_due_is_read_day_first_like_the_files_other_dates(run, workspace):
    (workspace / "days.csv").write_text("name,next_step,next_due\n"
                                        "A,Call,01/02/2027\nB,Mail,31/01/2027\n")
    imported = run("import", "days.csv")
    assert imported.code == 0, imported.err
    assert "'next_due' read day first" in imported.err
    dues = {d["name"]: d["next_step"]["due"] for d in run("list", "-o", "json").json()}
    assert dues == {"A": "2027-02-01", "B": "2027-01-31"}
    (workspace / "told.csv").write_text("name,next_step,next_due\nC,Call,03/04/2027\n")
    assert run("import", "told.csv", "--dayfirst").code == 0
    told = {d["name"]: d["next_step"]["due"] for d in run("list", "-o", "json").json()}
    assert told["C"] == "2027-04-03"
