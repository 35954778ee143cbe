"""Bulk changes: edit, move, won, lost, rm and done take several DEALs, `-` (ids on stdin)
or --where filters; with more than one deal they ask on a terminal and need --yes
elsewhere; all or nothing; one undo takes the whole change back (and one redo puts it
back)."""

from __future__ import annotations

import pytest

from conftest import add, store_digest


@pytest.fixture
def three(run, workspace):
    ids = [add(run, name, "--value", value, "--owner", owner, "--email", "x@y.co")
           for name, value, owner in (("Acme", "100", "ava"), ("Beta", "200", "ava"),
                                      ("Gamma", "300", "bo"))]
    return ids


def listed(run, *args):
    return {d["name"]: d for d in run("list", "--status", "all", "-o", "json", *args).json()}


def test_several_deals_need_yes_off_a_terminal_and_change_together(run, three, workspace):
    before = store_digest(workspace)
    refused = run("edit", three[0], three[1], "--owner", "cy")
    assert refused.code == 2 and "--yes" in refused.err and "2 deals" in refused.err
    assert store_digest(workspace) == before
    done = run("edit", three[0], three[1], "--owner", "cy", "--yes")
    assert done.code == 0, done.err
    assert "Edited 2 deals; `pipe undo` takes them all back." in done.out
    deals = listed(run)
    assert [deals[n]["owner"] for n in ("Acme", "Beta", "Gamma")] == ["cy", "cy", "bo"]
    assert run("undo").code == 0
    deals = listed(run)
    assert [deals[n]["owner"] for n in ("Acme", "Beta", "Gamma")] == ["ava", "ava", "bo"]
    assert run("redo").code == 0
    assert [listed(run)[n]["owner"] for n in ("Acme", "Beta")] == ["cy", "cy"]


def test_a_filter_selects_the_deals(run, three):
    moved = run("move", "--where", "owner=AVA", "proposal", "--yes")
    assert moved.code == 0, moved.err
    deals = listed(run)
    assert [deals[n]["stage"] for n in ("Acme", "Beta", "Gamma")] == \
        ["proposal", "proposal", "prospecting"]
    won = run("won", "--where", "stage=proposal", "--where", "value-min=150", "--yes")
    assert won.code == 0, won.err
    assert listed(run)["Beta"]["status"] == "won" and listed(run)["Acme"]["status"] == "open"
    lost = run("lost", "-w", "search=gam", "--reason", "price", "--yes")
    assert lost.code == 0 and listed(run)["Gamma"]["status"] == "lost"
    nothing = run("edit", "--where", "owner=nobody", "--tag", "x")
    assert nothing.code == 1 and "no deal matches" in nothing.err
    assert run("edit", "--where", "colour=red", "--tag", "x").code == 2
    assert run("edit", three[0], "--where", "owner=ava", "--tag", "x").code == 2


def test_all_or_nothing_when_one_deal_breaks_a_rule(run, three, workspace):
    run("won", three[2])
    before = store_digest(workspace)
    failed = run("won", *three, "--yes")
    assert failed.code == 1 and three[2] in failed.err and "already won" in failed.err
    assert store_digest(workspace) == before


def test_deals_from_stdin(run, three):
    text = f"{three[0]}  Acme\n{three[2]}  Gamma\n\n"
    result = run("edit", "-", "--tag", "hot", "--yes", stdin=text)
    assert result.code == 0, result.err
    deals = listed(run)
    assert deals["Acme"]["tags"] == ["hot"] and deals["Gamma"]["tags"] == ["hot"]
    assert deals["Beta"]["tags"] == []
    assert run("edit", "-", "--tag", "x", "--yes", stdin="").code == 2


def test_one_undo_takes_back_a_bulk_delete_and_log_shows_the_batch(run, three):
    assert run("rm", three[0], three[1], "--yes").code == 0
    assert set(listed(run)) == {"Gamma"}
    events = run("log", "-n", "2", "-o", "json").json()
    assert events[0]["batch"] == events[1]["batch"]
    undone = run("undo")
    assert undone.code == 0 and undone.out.count("Undid") == 2
    assert set(listed(run)) == {"Acme", "Beta", "Gamma"}


def test_a_move_and_the_handoff_it_set_off_are_one_undo(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text("""\
store: deals
currency: USD
pipelines:
  - name: marketing
    kind: b2b
    stages:
      - {key: mql, probability: 5}
      - {key: sql, probability: 20, handoff: {pipeline: sales}}
      - {key: customer, probability: 100, outcome: won}
      - {key: junk, probability: 0, outcome: lost}
  - name: sales
    kind: b2b
    stages:
      - {key: discovery, probability: 20}
      - {key: won, probability: 100, outcome: won}
      - {key: lost, probability: 0, outcome: lost}
""")
    lead = add(run, "Lead")
    assert run("move", lead, "sql").code == 0
    assert run("show", lead, "-o", "json").json()["pipeline"] == "sales"
    assert run("undo").code == 0
    back = run("show", lead, "-o", "json").json()
    assert (back["pipeline"], back["stage"]) == ("marketing", "mql")


def test_the_single_deal_forms_do_not_ask(run, three):
    assert run("edit", three[0], "--tag", "a").code == 0
    assert run("move", three[0], "proposal").code == 0
    assert run("edit", "--where", "search=acme", "--tag", "b").code == 0  # one match
    assert run("rm", three[0]).code == 2  # rm always asks (or --yes)


def test_a_bulk_edit_checks_each_deals_rules(run, workspace):
    usd = add(run, "Dollar", "--value", "10")
    jpy = add(run, "Yen", "--currency", "JPY", "--value", "1000")
    result = run("edit", usd, jpy, "--value", "12.50", "--yes")
    assert result.code == 2 and "JPY" in result.err  # yen have no minor unit


def test_export_takes_the_list_filters(run, three):
    run("won", three[2])
    open_ones = run("export", "-o", "json", "--status", "open").json()
    assert sorted(d["name"] for d in open_ones) == ["Acme", "Beta"]
    avas = run("export", "-o", "json", "--owner", "AVA", "--value-min", "150").json()
    assert [d["name"] for d in avas] == ["Beta"]
    events = run("export", "--history", "-o", "json", "-s", "gamma").json()
    assert {e["deal"] for e in events} == {three[2]} and len(events) == 2
    assert len(run("export", "-o", "json").json()) == 3  # every deal by default
