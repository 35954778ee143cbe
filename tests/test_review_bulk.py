"""Review of bulk changes and one undo per command (issue 12): a filter that matches nothing
fails even with --yes; an empty --where value is refused rather than read as "every deal";
a bulk change that changed nothing does not offer `pipe undo` (which would take back an
earlier command); `pipe list -o plain` pipes into `-` with its header and summary lines;
a whole import (more events than one landing chunk) goes with one undo and comes back with
one redo; undo --steps and redo over batches and single commands; and concurrent bulk
changes, undos and redos never leave a command half in effect."""

from __future__ import annotations

import collections
import io
import json
import os
import subprocess
import sys

import pytest

from conftest import PIPELINE_YAML, add, everything, store_digest


@pytest.fixture
def three(run, workspace):
    return [add(run, name, "--value", value, "--owner", owner, "--email", "x@y.co",
                "--next", "Call", "--due", "monday")
            for name, value, owner in (("Acme", "100", "ava"), ("Beta", "200", "ava"),
                                       ("Gamma", "300", "bo"))]


COMMANDS = [("edit", "--tag", "x"), ("move", "proposal"), ("won",),
            ("lost", "--reason", "price"), ("done",), ("rm",)]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_filter_that_matches_nothing_fails_even_with_yes(run, three, workspace, command):
    before = store_digest(workspace)
    name, *rest = command
    args = [name, "--where", "owner=nobody", *rest, "--yes"]
    if name == "move":
        args = [name, "--where", "owner=nobody", "--yes", *rest]
    result = run(*args)
    assert result.code == 1 and "no deal matches the filter" in result.err, result
    assert result.out == "" and store_digest(workspace) == before


@pytest.mark.parametrize("key", ["stage", "status", "tag", "company", "search", "value-min",
                                 "value-max", "close-after", "close-before", "pipeline"])
def test_an_empty_where_value_is_refused_not_read_as_every_deal(run, three, workspace, key):
    before = store_digest(workspace)
    result = run("rm", "--where", f"{key}=", "--yes")  # `--where stage=$UNSET` in a script
    assert result.code == 2 and result.err.count("\n") == 1 and key in result.err, result
    assert store_digest(workspace) == before
    assert len(run("list", "-o", "json").json()) == 3


def test_an_empty_owner_or_source_means_deals_without_one(run, three):
    nobody = add(run, "Nobody's")
    assert run("edit", "--where", "owner=", "--tag", "orphan", "--yes").code == 0
    tagged = [d["id"] for d in run("list", "--tag", "orphan", "-o", "json").json()]
    assert tagged == [nobody]


def test_a_bulk_change_that_changed_nothing_does_not_offer_undo(run, three):
    assert run("edit", three[0], three[1], "--tag", "x", "--yes").code == 0
    again = run("edit", three[0], three[1], "--tag", "x", "--yes")
    assert again.code == 0 and "pipe undo" not in again.out
    assert "None of the 2 deals changed." in again.out
    one = run("edit", three[0], three[2], "--tag", "x", "--yes")
    assert "Edited 1 of 2 deals; `pipe undo` takes it back." in one.out
    assert run("undo").code == 0  # takes back the one edit, and only it
    tags = {d["name"]: d["tags"] for d in run("list", "-o", "json").json()}
    assert tags == {"Acme": ["x"], "Beta": ["x"], "Gamma": []}


def test_pipe_lists_plain_output_pipes_into_a_bulk_change(run, three):
    """Every line of `pipe list -o plain` can go to `-`: its header ("ID ...") and its
    summary lines ("2 deals, 300 USD", "(1 won or lost deal not shown; ...)") were read
    as deal references — a count as an id prefix."""
    run("won", three[2])
    listing = run("list", "-o", "plain").out
    assert listing.splitlines()[0].startswith("ID ") and "not shown" in listing
    result = run("edit", "-", "--tag", "q4", "--yes", stdin=listing)
    assert result.code == 0, result.err
    tags = {d["name"]: d["tags"] for d in run("list", "--status", "all", "-o", "json").json()}
    assert tags == {"Acme": ["q4"], "Beta": ["q4"], "Gamma": []}
    empty = run("list", "--owner", "nobody", "-o", "plain").out
    assert run("edit", "-", "--tag", "x", "--yes", stdin=empty).code == 2
    # pipe stale's too: its header, and "Nothing is stale." when nothing is
    assert run("edit", "-", "--tag", "x", "--yes", stdin=run("stale", "-o", "plain").out
               ).code == 2
    late = add(run, "Late", "--next", "Chase", "--due", "yesterday")
    stale = run("stale", "-o", "plain").out
    assert run("edit", "-", "--tag", "late", "--yes", stdin=stale).code == 0
    assert [d["id"] for d in run("list", "--tag", "late", "-o", "json").json()] == [late]


def test_a_whole_import_goes_with_one_undo_and_comes_back_with_one_redo(run, workspace):
    # more rows than one landing chunk (5000 events): the import lands in several, and so
    # do the undo's and the redo's events — still one command each
    first = add(run, "Before the import")
    before = everything(run, [first])
    rows = "\n".join(f"Deal {i},{i},{'Call' if i % 2 else ''},2026-12-0{1 + i % 9}"
                     for i in range(5200))
    (workspace / "big.csv").write_text(f"name,value,next_step,next_due\n{rows}\n")
    assert run("import", "big.csv").code == 0
    after = everything(run, [first])
    assert len(run("list", "-o", "json").json()) == 5201
    undone = run("undo")
    assert undone.code == 0 and "undid 5200 events of 5200 deals in all" in undone.out
    assert everything(run, [first])["list"] == before["list"]
    assert everything(run, [first])["report"] == before["report"]
    redone = run("redo")
    assert redone.code == 0 and "redid 5200 events of 5200 deals in all" in redone.out
    assert "of " in redone.out.splitlines()[0] and "“Deal" in redone.out  # named again
    again = everything(run, [first])
    assert again["list"] == after["list"] and again["report"] == after["report"]
    assert run("undo").code == 0 and run("list", "-o", "json").json()[0]["id"] == first


def test_undo_steps_and_redo_go_command_by_command(run, three):
    a, b, c = three
    assert run("edit", a, b, "--owner", "cy", "--yes").code == 0  # a bulk change
    assert run("edit", c, "--owner", "dee").code == 0  # a single command
    assert run("move", a, c, "proposal", "--yes").code == 0  # another bulk change

    def state():
        return {d["name"]: (d["owner"], d["stage"]) for d in run("list", "-o", "json").json()}

    moved = state()
    single = {**moved, "Acme": ("cy", "prospecting"), "Gamma": ("dee", "prospecting")}
    bulk = {**single, "Gamma": ("bo", "prospecting")}
    # undone one command at a time, they come back one at a time, latest undo first
    assert run("undo").code == 0 and state() == single
    assert run("undo").code == 0 and state() == bulk
    assert run("redo").code == 0 and state() == single
    assert run("redo").code == 0 and state() == moved
    # the two redos are the latest commands now: --steps 2 takes both back in one undo
    undone = run("undo", "--steps", "2")
    assert undone.code == 0 and undone.out.count("Undid") == 3 and state() == bulk
    redone = run("redo")  # one redo puts back what one undo took: both
    assert redone.code == 0 and redone.out.count("Redid") == 3 and state() == moved
    assert run("redo").out.strip() == "Nothing to redo."


def test_redo_of_a_batch_is_refused_whole_when_one_deal_changed_after(run, three, workspace):
    a, b, _ = three
    assert run("edit", a, b, "--owner", "cy", "--yes").code == 0
    assert run("undo").code == 0
    assert run("edit", b, "--source", "web").code == 0
    before = store_digest(workspace)
    refused = run("redo")
    assert refused.code == 1 and b in refused.err and "changed after the undo" in refused.err
    assert store_digest(workspace) == before
    assert {d["owner"] for d in run("list", "-o", "json").json()} == {"ava", "bo"}


def test_moving_a_closed_deal_forward_names_the_option_that_exists(run, three):
    run("won", three[0])
    refused = run("move", three[0], "--forward")
    assert refused.code == 1 and "--forward and --back" in refused.err
    assert "--next" not in refused.err


class Terminal(io.StringIO):
    """stdin as a person at a terminal answers: `before_answer` runs as they read."""

    def __init__(self, answer: str, before_answer=None):
        super().__init__(answer)
        self.before_answer = before_answer

    def isatty(self) -> bool:
        return True

    def readline(self, *args) -> str:
        if self.before_answer:
            self.before_answer()
        return super().readline(*args)


def at_terminal(*args, answer: str, before_answer=None):
    """`pipe ARGS` with a person answering on stdin; returns (code, stdout, stderr)."""
    from pipecli.cli import main

    saved = sys.argv, sys.stdout, sys.stderr, sys.stdin
    out, err = io.StringIO(), io.StringIO()
    sys.argv, sys.stdout, sys.stderr = ["pipe", *args], out, err
    sys.stdin = Terminal(answer, before_answer)
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv, sys.stdout, sys.stderr, sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def test_asking_on_a_terminal_keeps_the_question_off_stdout(run, three, workspace):
    """What is asked goes to stderr, as a prompt does: with stdout sent to a file the
    person still sees the question, and the file gets the results only."""
    before = store_digest(workspace)
    code, out, err = at_terminal("edit", three[0], three[1], "--tag", "x", answer="n\n")
    assert code == 1 and out == "" and "nothing was changed" in err
    assert f"{three[0]} “Acme”" in err and "Edit 2 deals? [y/N]" in err
    assert store_digest(workspace) == before
    code, out, err = at_terminal("edit", three[0], three[1], "--tag", "x", answer="y\n")
    assert code == 0 and "Edit 2 deals?" not in out and "Edit 2 deals? [y/N]" in err
    assert out.splitlines()[-1] == "Edited 2 deals; `pipe undo` takes them all back."


def test_deals_that_change_while_asked_refuse_the_change(run, three, workspace):
    from pipecli import ops
    from pipecli.cli.common import open_workspace

    def another_writer():  # a deal that matches the filter arrives while the person reads
        ws, store = open_workspace(None)
        ops.add(store, ws.pipelines[0], name="Delta", fields={"owner": "ava"})

    code, out, err = at_terminal("won", "--where", "owner=ava", answer="y\n",
                                 before_answer=another_writer)
    assert code == 1 and "changed while you were asked" in err and out == ""
    statuses = {d["name"]: d["status"] for d in run("list", "--status", "all", "-o",
                                                      "json").json()}
    assert statuses == {"Acme": "open", "Beta": "open", "Gamma": "open", "Delta": "open"}


# A writer for the concurrency test: bulk edits and moves of every open deal, undos and
# redos, each command in its own lock; it prints what went wrong, if anything.
WRITER = r"""
import io, random, sys
from pipecli.cli import main
rng = random.Random(int(sys.argv[1]))
def pipe(*args):
    sys.argv = ["pipe", *args]
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code or 0
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return code, err.getvalue().strip()
for i in range(int(sys.argv[2])):
    roll = rng.random()
    if roll < 0.35:
        code, err = pipe("edit", "--where", "status=open", "--tag", f"w{sys.argv[1]}-{i}",
                         "--yes")
    elif roll < 0.55:
        code, err = pipe("move", "--where", "status=open", "--yes",
                         rng.choice(["prospecting", "proposal"]))
    elif roll < 0.8:
        code, err = pipe("undo")
    else:
        code, err = pipe("redo")
    if code and "changed after the undo" not in err:
        print(f"command {i}: exit {code}: {err}")
"""


def test_concurrent_bulk_changes_and_undos_never_leave_a_command_half_in_effect(tmp_path,
                                                                               backend):
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store))
    env = dict(os.environ, PIPE_LOCK_TIMEOUT="60")
    for name in ("PIPE_NOW", "PIPE_DEBUG"):  # real time: the writers interleave for real
        env.pop(name, None)

    def pipe(*args):
        return subprocess.run([sys.executable, "-m", "pipecli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True)

    for i in range(5):
        assert pipe("add", f"Deal {i}").returncode == 0
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(n), "12"], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, text=True)
               for n in range(3)]
    complaints = [w.communicate(timeout=300)[0] for w in writers]
    assert complaints == ["", "", ""]
    events = json.loads(pipe("log", "-n", "100000", "-o", "json").stdout)
    in_effect = collections.defaultdict(set)
    for e in events:
        in_effect[e["batch"]].add(e["in_effect"])
    assert len(in_effect) > 5 + 3  # the adds, and commands of the writers
    half = {batch for batch, states in in_effect.items() if len(states) > 1}
    assert not half
    checked = pipe("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
