"""Markdown that renders as it reads (issue 13): every figure its own table row or
paragraph, the funnel as a table, a `|` in a name kept inside its cell, notes after a
table not read as one more row."""

from __future__ import annotations

import re

import pytest

from conftest import add


def blocks(text: str) -> list[list[str]]:
    """Markdown's blocks as a renderer sees them: runs of non-blank lines."""
    out, block = [], []
    for line in text.splitlines():
        if line.strip():
            block.append(line)
        elif block:
            out.append(block)
            block = []
    if block:
        out.append(block)
    return out


def cells(row: str) -> list[str]:
    """A GitHub table row's cells, honouring escaped pipes."""
    inner = row.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def check_renders_as_it_reads(text: str) -> None:
    for block in blocks(text):
        tables = [line.startswith("|") for line in block]
        if any(tables):  # a table: every line a row of the same width
            assert all(tables), block
            widths = {len(cells(line)) for line in block}
            assert len(widths) == 1, block
        elif not block[0].startswith("#"):
            # a paragraph of several lines would be joined into one line by a renderer
            assert len(block) == 1, block


@pytest.fixture
def history(run, workspace):
    a = add(run, "Acme | Widgets", "--value", "1000", "--email", "a@a.co", "--at", "2026-10-01")
    b = add(run, "Beta", "--value", "500", "--at", "2026-10-02")
    run("move", a, "proposal", "--at", "2026-10-05")
    run("won", a, "--at", "2026-10-10")
    run("lost", b, "--reason", "price", "--at", "2026-10-12")
    add(run, "Gamma", "--value", "250")
    return a


def test_the_report_in_markdown_has_each_figure_on_its_own_row(run, history):
    text = run("report", "-o", "markdown").out
    check_renders_as_it_reads(text)
    rows = {cells(line)[0]: cells(line)[1] for line in text.splitlines()
            if line.startswith("| ") and len(cells(line)) == 2}
    assert rows["Won"].startswith("1 deal") and rows["Lost"].startswith("1 deal")
    assert rows["Win rate"] == "50.0%"
    assert "## Funnel" in text  # the funnel as a table, not left out
    funnel = text[text.index("## Funnel"):].split("\n\n")[1].splitlines()
    assert cells(funnel[0])[:2] == ["Stage", "Reached"]
    assert cells(funnel[2])[:2] == ["Prospecting", "3"]


def test_a_pipe_in_a_name_stays_in_its_cell_and_notes_are_paragraphs(run, history):
    text = run("list", "--status", "all", "-o", "markdown").out
    check_renders_as_it_reads(text)
    names = [cells(line)[1] for line in text.splitlines()[2:] if line.startswith("|")]
    assert "Acme | Widgets" in names
    assert not text.splitlines()[-1].startswith("|")  # the totals line is no table row


@pytest.mark.parametrize("command", [["forecast"], ["stale"], ["next"], ["show", "acme"],
                                     ["agenda"], ["log"]])
def test_every_markdown_view_renders_as_it_reads(run, history, command):
    result = run(*command, "-o", "markdown")
    assert result.code == 0, result.err
    check_renders_as_it_reads(result.out)


def test_a_name_that_looks_like_markdown_blocks_stays_text(run, workspace):
    from pipecli.output.render import markdown_lines

    deal = add(run, "# 1. Acme")
    text = run("show", deal, "-o", "markdown").out
    assert not text.startswith("#")  # the id comes first: no heading
    assert markdown_lines(["# hot deal", "1. Acme"]) == "\\# hot deal\n\n\\1. Acme"
