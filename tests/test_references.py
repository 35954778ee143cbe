"""DEAL references: exact id, unique id prefix, exact name in any case; ambiguity lists all."""

from __future__ import annotations

from conftest import add


def test_exact_id_prefix_and_name(run, workspace):
    deal_id = add(run, "Acme Rollout")
    for ref in (deal_id, deal_id[:5], "acme rollout", "ACME ROLLOUT", deal_id.upper()):
        result = run("show", ref, "-o", "json")
        assert result.code == 0, (ref, result.err)
        assert result.json()["id"] == deal_id


def test_unknown_reference(run, workspace):
    add(run, "Acme")
    result = run("move", "nothing-like-it", "proposal")
    assert result.code == 1
    assert "no deal matches 'nothing-like-it'" in result.err


def test_ambiguous_name_lists_the_candidates(run, workspace):
    a = add(run, "Twin", "--at", "2026-11-01")
    b = add(run, "twin", "--at", "2026-11-02")
    result = run("won", "TWIN")
    assert result.code == 1
    assert "matches 2 deals" in result.err
    assert a in result.err and b in result.err
    assert result.err.count("\n") == 1


def test_ambiguous_prefix_lists_the_candidates(run, workspace):
    ids = [add(run, f"Deal {i}") for i in range(40)]
    # With 40 random ids over a 32-letter alphabet, some first letter is shared.
    first = max({i[0] for i in ids}, key=lambda c: sum(i.startswith(c) for i in ids))
    sharing = [i for i in ids if i.startswith(first)]
    assert len(sharing) > 1
    result = run("show", first)
    assert result.code == 1 and f"matches {len(sharing)} deals" in result.err
    for deal_id in sharing[:10]:
        assert deal_id in result.err


def test_a_name_that_looks_like_a_prefix_of_another_id_is_ambiguous(run, workspace):
    target = add(run, "Alpha")
    decoy = add(run, target[:3])  # a deal whose name is the first letters of another's id
    result = run("show", target[:3])
    assert result.code == 1 and target in result.err and decoy in result.err
    assert run("show", target).code == 0


def test_sql_wildcards_in_references_are_literal(run, workspace):
    add(run, "Acme")
    for ref in ("%", "_", "_%"):
        result = run("show", ref)
        assert result.code == 1 and "no deal matches" in result.err


def test_a_part_of_the_name_is_enough_when_it_is_unique(run, workspace):
    north = add(run, "Northwind – Annual licence")
    cafe = add(run, "Café Olé – Pilot")
    add(run, "Orbital Foods – Pilot")
    assert run("show", "northwind", "-o", "json").json()["id"] == north
    assert run("show", "CAFE OLE", "-o", "json").json()["id"] == cafe  # accents ignored
    ambiguous = run("won", "pilot")
    assert ambiguous.code == 1 and "matches 2 deals" in ambiguous.err
    assert cafe in ambiguous.err and ambiguous.err.count("\n") == 1
    missing = run("show", "zzz")
    assert missing.code == 1 and "a part of it" in missing.err
