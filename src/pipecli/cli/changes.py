"""What the commands that change deals share: several DEALs or a `--where` filter (bulk
changes, asked for on a terminal), and the next-step options."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Optional

import typer

from pipecli.cli import completion
from pipecli.cli.common import deal_label, say

DealsArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="DEAL...", show_default=False,
    help="Deals: an id, unique id prefix, source-system id, name or unique part of a name "
         "each; `-` reads them from stdin, one per line (the first word). Several deals, or "
         "--where, change them all in one step: one undo takes it back.",
    autocompletion=completion.deals)]
WhereOpt = Annotated[Optional[list[str]], typer.Option(
    "--where", "-w", show_default=False, metavar="FILTER=VALUE",
    help="Change every deal matching (repeatable, all must match): stage, status, owner, "
         "source, tag, company, search, value-min, value-max, close-after, close-before, "
         "pipeline — as `pipe list` takes them.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing several "
                                      "deals (needed when not on a terminal).")]
NextOpt = Annotated[Optional[str], typer.Option(
    "--next", show_default=False, metavar="TEXT",
    help="The deal's next step, e.g. \"Call Ava\" (\"\" takes it away).")]
DueOpt = Annotated[Optional[str], typer.Option(
    "--due", show_default=False, metavar="WHEN",
    help="When the next step is due: friday, +3d, Dec 1, 2026-12-01 or 2026-12-01 14:00.")]
NextOwnerOpt = Annotated[Optional[str], typer.Option(
    "--next-owner", show_default=False, autocompletion=completion.owners,
    help="Who takes the next step (default: the deal's owner).")]

WHERE_KEYS = ("stage", "status", "owner", "source", "tag", "company", "search", "value-min",
              "value-max", "close-after", "close-before", "pipeline")
SHOWN = 10  # deals named before asking; the rest are counted
NO_DEAL = "missing argument 'DEAL' (one or several; `-` reads them from stdin; or --where)"


def selection(ws, refs: list[str] | None, where: list[str] | None):
    """The deals a command was given: references (from stdin for `-`) or a filter set."""
    from pipecli import ops
    from pipecli.errors import UsageError

    refs = list(refs or [])
    if refs == ["-"]:
        refs = stdin_refs(sys.stdin.read())
        if not refs:
            raise UsageError("no deals on stdin (one per line: an id or name first)")
    elif "-" in refs:
        raise UsageError("`-` (deals from stdin) goes alone, without other DEALs")
    if where and refs:
        raise UsageError("give DEALs or --where, not both")
    if not where and not refs:
        raise UsageError(NO_DEAL)
    if not where:
        return ops.Selection(tuple(refs))
    return ops.Selection(criteria=criteria(ws, where))


# Lines of pipe's own plain tables (list, stale) that name no deal: the header, a count
# ("12 deals, 4,000 USD"), an empty result ("No deals match.", "Nothing is stale.") and a
# note in brackets ("(3 more not shown; ...)").
_NOT_A_DEAL = re.compile(r"^(ID\s|\(|No deals match\.$|Nothing is stale\.$|\d[\d,]* deals?\b)")


def stdin_refs(text: str) -> list[str]:
    """The deal references on stdin: the first word of each line, so `pipe list -o plain`
    (or an id per line) can be piped in — less its header and summary lines, whose first
    word ("ID", a count) would otherwise be read as a reference, an id prefix at that."""
    return [line.split()[0] for line in text.splitlines()
            if line.split() and not _NOT_A_DEAL.match(line.strip())]


# Filters whose empty value means something (deals with no owner, no source); any other
# left empty (`--where stage=$UNSET`) would select every deal.
EMPTY_MEANS_NONE = ("owner", "source")


def criteria(ws, where: list[str]) -> dict:
    """--where FILTER=VALUE pairs as the filter set engine.listing takes."""
    from pipecli.cli.common import search_of
    from pipecli.errors import UsageError

    given: dict[str, str] = {}
    for item in where:
        key, eq, value = item.partition("=")
        key = key.strip().lower().replace("_", "-")
        if not eq or key not in WHERE_KEYS:
            raise UsageError(f"--where {item[:60]!r} is not FILTER=VALUE with a filter of: "
                             f"{', '.join(WHERE_KEYS)}")
        if key in given:
            raise UsageError(f"--where {key} is given twice")
        if not value.strip() and key not in EMPTY_MEANS_NONE:
            raise UsageError(f"--where {key}= has no value; it would match every deal")
        given[key] = value
    status = given.get("status", "all").strip().lower()
    if status not in ("open", "won", "lost", "all"):
        raise UsageError(f"--where status={status!r} must be open, won, lost or all")
    pipeline = given.get("pipeline")
    currency = ws.pipeline(pipeline).currency
    return {"status": status, "pipeline": pipeline, "stage": given.get("stage"),
            "owner": given.get("owner"), "source": given.get("source"),
            "tag": given.get("tag"),
            "search": search_of(currency, given.get("search"), given.get("company"),
                                given.get("value-min"), given.get("value-max"),
                                given.get("close-after"), given.get("close-before"))}


def agreed(ws, store, chosen, *, yes: bool, command: str, verb: str,
           always_ask: bool = False):
    """Ask before changing several deals (or, with always_ask, any): on a terminal, name
    them and ask; elsewhere --yes is required. Returns the selection with the ids agreed
    to (the change refuses if they differ under the write lock)."""
    from dataclasses import replace

    from pipecli import ops
    from pipecli.errors import NotFound, PipeError, UsageError
    from pipecli.output import render

    several = chosen.criteria is not None or len(chosen.refs) > 1
    if yes or not (several or always_ask):
        return chosen
    deals = ops.preview(store, ws, chosen)
    if not deals:
        raise NotFound("no deal matches the filter; nothing was changed")
    if len(deals) == 1 and not always_ask:
        return replace(chosen, agreed=(deals[0].id,))
    count = f"{len(deals)} deal{'s' if len(deals) != 1 else ''}"
    if not render.is_terminal(sys.stdin):
        raise UsageError(f"pipe {command} asks before it changes {count}; pass --yes when "
                         f"not on a terminal")
    # The question goes to stderr, as a prompt does: with stdout sent to a file the person
    # at the terminal must still see what they are asked (and the file gets only results).
    # (click's confirm writes a space to stdout even then: read the answer here.)
    lines = [f"  {deal_label(deal)}" for deal in deals[:SHOWN]]
    if len(deals) > SHOWN:
        lines.append(f"  … and {len(deals) - SHOWN} more")
    sys.stderr.write("\n".join([*lines, f"{verb.capitalize()} {count}? [y/N] "]))
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise PipeError("nothing was changed")
    return replace(chosen, agreed=tuple(d.id for d in deals))


def follow_up(next_: str | None, due: str | None, next_owner: str | None, *,
              reschedule: bool = False):
    """The next step the options give (None: not touched), and — with reschedule (edit) —
    a new due date alone for the deal's current step."""
    from pipecli import ops, values
    from pipecli.errors import UsageError

    when = values.parse_due(due) if due else None
    if next_ is None:
        if next_owner is not None:
            raise UsageError("--next-owner goes with --next TEXT")
        if when is not None and not reschedule:
            raise UsageError("--due goes with --next TEXT (to put off a deal's next step: "
                             "`pipe edit DEAL --due WHEN`)")
        return None, when
    if re.match(r"^--?[a-z]", next_):  # `--next --at ...`: click took an option as the text
        raise UsageError(f"--next takes the next step's text, not {next_[:20]!r}; to move a "
                         f"deal one stage on, use --forward")
    text = values.clean_text(next_, what="--next")
    if not text and (when is not None or next_owner):
        raise UsageError("--next \"\" takes the next step away; it has no --due or "
                         "--next-owner")
    owner = values.clean_text(next_owner, what="--next-owner") if next_owner else ""
    return ops.FollowUp(text, when, owner), None


def report(changes, verb: str, one) -> None:
    """Say what a command did: `one(change)` for each deal changed, and for several, how
    many and that one undo takes them back."""
    for change in changes:
        one(change)
    changed = sum(1 for c in changes if c.event is not None)
    if len(changes) > 1 and not changed:  # nothing recorded: undo would take back another
        say(f"None of the {len(changes)} deals changed.")
    elif len(changes) > 1:
        count = f"{changed} of {len(changes)} deals" if changed != len(changes) else \
            f"{changed} deals"
        them = "them all" if changed > 1 else "it"
        say(f"{verb} {count}; `pipe undo` takes {them} back.")
