"""The deal lifecycle: add, move, won, lost, return, reopen, edit, note, done, rm. Each
command that changes existing deals takes several DEALs or --where (one batch: one undo)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipecli.cli import completion
from pipecli.cli.changes import (NO_DEAL, DealsArg, DueOpt, NextOpt, NextOwnerOpt, WhereOpt,
                                 YesOpt, agreed, follow_up, report, selection)
from pipecli.cli.common import (AtOpt, CurrencyOpt, DealArg, FileOpt, NoteOpt, PipelineOpt, app,
                                currency_code, deal_fields, deal_label, default_owner,
                                open_workspace, say, value_currency, when)


@app.command()
def add(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="The deal's name, e.g. \"Cosmetics set – Ava Smith\".")],
    *,
    value: Annotated[Optional[str], typer.Option("--value", "-v", help="Expected revenue, e.g. "
                                                 "12500, 12,500.50 or 12.5k.")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Stage key or label "
                                                 "(default: the first stage).",
                                                 autocompletion=completion.stages)] = None,
    company: Annotated[Optional[str], typer.Option("--company")] = None,
    contact: Annotated[Optional[str], typer.Option("--contact")] = None,
    email: Annotated[Optional[str], typer.Option("--email")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", autocompletion=completion.owners,
                                                 help="Who it belongs to "
                                                 "(default: $PIPE_OWNER, else git's "
                                                 "user.name; \"\" for nobody).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Lead source or campaign.")]
    = None,
    close_date: Annotated[Optional[str], typer.Option("--close-date", help="Expected close "
                                                      "date: YYYY-MM-DD, eom, +30d.")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Win probability %"
                                                       " for this deal, overriding the "
                                                       "stage's.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="A tag (repeatable).")] = None,
    currency: CurrencyOpt = None,
    next_: NextOpt = None,
    due: DueOpt = None,
    next_owner: NextOwnerOpt = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Add a deal; prints its id (alone, when the output is not a terminal).

    Example: pipe add "Cosmetics set – Ava Smith" --value 250 --next "Call Ava" --due friday
    """
    from pipecli import ops, values
    from pipecli.output import render

    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    code = currency_code(currency) or p.currency
    if owner is None:
        owner = default_owner(ws.root)
    fields = deal_fields(currency=code, value=value, probability=probability,
                         company=company, contact=contact, email=email, owner=owner,
                         source=source, close_date=close_date, tags=tag)
    if code != p.currency:
        fields["currency"] = code  # a deal in the pipeline's own currency keeps it implicitly
    follow, _ = follow_up(next_, due, next_owner)
    change = ops.add(store, p, name=values.clean_text(name, what="the deal name", required=True),
                     fields=fields, stage=stage, note=values.clean_text(note, what="--note"),
                     at=when(at), follow=follow)
    deal = change.deal
    if render.is_terminal():
        stage_label = p.stage(deal.stage).label
        say(f"Added {deal_label(deal)} at {stage_label}{_next_said(deal)}.")
    else:
        render.out(deal.id)


def _next_said(deal) -> str:
    if not deal.next_step:
        return ""
    from pipecli.output.render import shown

    due = f", due {deal.next_due}" if deal.next_due else ""
    return f"; next: {shown(deal.next_step)}{due}"


@app.command()
def move(
    deals: Annotated[Optional[list[str]], typer.Argument(
        metavar="DEAL... STAGE", show_default=False,
        help="The deals (an id, unique id prefix, source-system id, name or unique part of a "
             "name each; `-` reads them from stdin) and, last, the stage (key or label). "
             "Several deals, or --where, move together: one undo takes it back.",
        autocompletion=completion.deals_then_stages)] = None,
    *,
    forward: Annotated[bool, typer.Option("--forward", help="Move to the next open stage.")]
    = False,
    back: Annotated[bool, typer.Option("--back", help="Move to the previous open stage.")]
    = False,
    to_pipeline: Annotated[Optional[str], typer.Option(
        "--pipeline", "-p", help="Move the deal over to this pipeline of the file (at STAGE, "
                                 "or its first stage).")] = None,
    next_: NextOpt = None,
    due: DueOpt = None,
    next_owner: NextOwnerOpt = None,
    where: WhereOpt = None,
    yes: YesOpt = False,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Move deals to a stage, or one open stage forward or back.

    `pipe move DEAL... STAGE`: the last word is the stage (its key or label). The stage's
    entry requirements must be met.

    Example: pipe move northwind demo --next "Demo with Ava" --due tue -m "call went well"
    """
    from pipecli import ops, values
    from pipecli.errors import UsageError

    words = list(deals or [])
    if not words and not where:
        raise UsageError(NO_DEAL)
    stepping = forward or back
    if forward and back:
        raise UsageError("give --forward or --back, not both")
    stage = None
    if not stepping and (len(words) > 1 or (where and words)):
        stage = words.pop()  # the last word is the stage
    if not stepping and stage is None and to_pipeline is None:
        raise UsageError("give the STAGE after the deal (pipe move DEAL STAGE), or --forward, "
                         "--back or --pipeline")
    if stepping and (to_pipeline is not None):
        raise UsageError("--forward and --back step within a pipeline; --pipeline moves to "
                         "another")
    ws, store = open_workspace(file)
    follow, _ = follow_up(next_, due, next_owner)
    chosen = agreed(ws, store, selection(ws, words, where), yes=yes, command="move",
                    verb="move")
    action = ops.Move(stage=stage, step=1 if forward else -1 if back else 0,
                      to_pipeline=to_pipeline, note=values.clean_text(note, what="--note"),
                      at=when(at), follow=follow)
    report(ops.apply(store, ws, chosen, action), "Moved", lambda c: _said_move(ws, c))


def _said_move(ws, change) -> None:
    deal = change.deal
    p = ws.pipeline_of(deal)
    label = p.stage(deal.stage).label if p and p.stage(deal.stage) else deal.stage
    if change.event is None:
        say(f"{deal_label(deal)} is already at {label}; nothing changed.")
    elif change.event.kind in ("handed_off", "moved") and change.before.pipeline != deal.pipeline:
        how = "Handed off" if change.event.kind == "handed_off" else "Moved"
        say(f"{how} {deal_label(deal)} to pipeline {deal.pipeline}: {label}{_next_said(deal)}.")
    elif change.event.kind == "won":
        say(f"Won {deal_label(deal)}.")
    elif change.before.stage == deal.stage:
        say(f"{deal_label(deal)} stays at {label}{_next_said(deal)}.")
    else:
        before = change.before.stage
        before_label = p.stage(before).label if p and p.stage(before) else before
        say(f"Moved {deal_label(deal)}: {before_label} → {label}{_next_said(deal)}.")


@app.command()
def won(
    deals: DealsArg = None,
    *,
    value: Annotated[Optional[str], typer.Option("--value", "-v", help="The final value, if it "
                                                 "differs from the expected one.")] = None,
    where: WhereOpt = None,
    yes: YesOpt = False,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Close deals as won.

    Example: pipe won 7k2m --value 11800 --at 2026-03-14
    """
    from pipecli import ops, values
    from pipecli.errors import UsageError

    ws, store = open_workspace(file)
    chosen = selection(ws, deals, where)
    amount = None
    if value is not None:
        if len(chosen.refs) != 1:
            raise UsageError("--value closes one deal at its final value; give one DEAL")
        amount = values.parse_money(value, value_currency(ws, store, chosen.refs[0], value),
                                    what="--value")
    chosen = agreed(ws, store, chosen, yes=yes, command="won", verb="win")
    action = ops.Win(amount, values.clean_text(note, what="--note"), when(at))

    def one(change) -> None:
        d = change.deal
        p = ws.pipeline_of(d)
        code = d.currency or (p.currency if p else "")
        worth = f" ({values.format_money(d.value, code)} {code})" if d.value is not None else ""
        say(f"Won {deal_label(d)}{worth}.")

    report(ops.apply(store, ws, chosen, action), "Won", one)


@app.command()
def lost(
    deals: DealsArg = None,
    *,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it was lost (one of the "
                                        "pipeline's lost_reasons, when it lists them).")],
    where: WhereOpt = None,
    yes: YesOpt = False,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Close deals as lost, with the reason.

    Example: pipe lost 7k2m --reason "chose another vendor"
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    chosen = agreed(ws, store, selection(ws, deals, where), yes=yes, command="lost",
                    verb="close as lost")
    action = ops.Lose(values.clean_text(reason, what="--reason"),
                      values.clean_text(note, what="--note"), when(at))
    report(ops.apply(store, ws, chosen, action), "Lost",
           lambda c: say(f"Lost {deal_label(c.deal)}: {c.deal.lost_reason}."))


@app.command("return")
def return_(
    deal: DealArg,
    *,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why sales sent it back.")] = "",
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Stage to return it to "
                                                 "(default: that pipeline's first).",
                                                 autocompletion=completion.stages)] = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Return a handed-off deal to the pipeline it came from (sales sends a lead back to
    marketing).

    Example: pipe return 7k2m --reason "no budget this year"
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    change = ops.return_deal(store, ws, deal, reason=values.clean_text(reason, what="--reason"),
                             stage=stage, note=values.clean_text(note, what="--note"),
                             at=when(at))
    p = ws.pipeline_of(change.deal)
    say(f"Returned {deal_label(change.deal)} to pipeline {p.name}: "
        f"{p.stage(change.deal.stage).label}.")


@app.command()
def reopen(
    deal: DealArg,
    *,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Open stage to reopen at "
                                                 "(default: where it was before it closed).",
                                                 autocompletion=completion.stages)]
    = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Reopen a won or lost deal.

    Example: pipe reopen 7k2m --stage negotiation
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    change = ops.reopen(store, ws, deal, stage=stage, note=values.clean_text(note, what="--note"),
                        at=when(at))
    p = ws.pipeline_of(change.deal)
    say(f"Reopened {deal_label(change.deal)} at {p.stage(change.deal.stage).label}.")


@app.command()
def edit(
    deals: DealsArg = None,
    *,
    name: Annotated[Optional[str], typer.Option("--name", help="New name.")] = None,
    value: Annotated[Optional[str], typer.Option("--value", "-v", help="Expected revenue (\"\" "
                                                 "clears).")] = None,
    company: Annotated[Optional[str], typer.Option("--company")] = None,
    contact: Annotated[Optional[str], typer.Option("--contact")] = None,
    email: Annotated[Optional[str], typer.Option("--email")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner",
                                                 autocompletion=completion.owners)] = None,
    source: Annotated[Optional[str], typer.Option("--source")] = None,
    close_date: Annotated[Optional[str], typer.Option("--close-date")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Win probability "
                                                       "% for this deal (\"\" returns to the "
                                                       "stage's).")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Add a tag (repeatable).")]
    = None,
    untag: Annotated[Optional[list[str]], typer.Option("--untag", help="Remove a tag "
                                                       "(repeatable).")] = None,
    currency: CurrencyOpt = None,
    next_: NextOpt = None,
    due: Annotated[Optional[str], typer.Option(
        "--due", show_default=False, metavar="WHEN",
        help="When the next step is due (alone: puts the deal's next step off to that day).")]
    = None,
    next_owner: NextOwnerOpt = None,
    where: WhereOpt = None,
    yes: YesOpt = False,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Change deals' fields; an empty value ("") clears a field.

    Example: pipe edit 7k2m --value 14000 --close-date eom --next "Send the quote" --due +2d
    """
    from pipecli import ops, values
    from pipecli.errors import UsageError

    ws, store = open_workspace(file)
    chosen = selection(ws, deals, where)
    code = currency_code(currency)
    stated = value_currency(ws, store, chosen.refs[0], value) \
        if value and len(chosen.refs) == 1 else None
    if value and stated is None and code is None and len(chosen.refs) != 1:
        stated = _one_currency(ws, chosen)
    fields = deal_fields(currency=code or stated, value=value, probability=probability,
                         company=company, contact=contact, email=email, owner=owner,
                         source=source, close_date=close_date)
    if code is not None:
        fields["currency"] = code
    if name is not None:
        if len(chosen.refs) != 1:
            raise UsageError("--name renames one deal; give one DEAL")
        fields["name"] = values.clean_text(name, what="--name", required=True)
    follow, later = follow_up(next_, due, next_owner, reschedule=True)
    chosen = agreed(ws, store, chosen, yes=yes, command="edit", verb="edit")
    action = ops.Edit(fields, tuple(values.clean_tag(t) for t in tag or ()),
                      tuple(values.clean_tag(t) for t in untag or ()),
                      values.clean_text(note, what="--note"), when(at), follow, later)

    def one(change) -> None:
        if change.event is None:
            say(f"{deal_label(change.deal)}: nothing to change.")
            return
        e = change.event
        changed = ", ".join(sorted(e.sets) + (["tags"] if e.tags_added or e.tags_removed
                                              else [])) or "note"
        say(f"Edited {deal_label(change.deal)}: {changed}.")

    report(ops.apply(store, ws, chosen, action), "Edited", one)


def _one_currency(ws, chosen) -> str | None:
    """For a --value given to several deals: the pipeline's currency when the deals are
    chosen in one pipeline (each deal's own currency is checked by the core)."""
    pipeline = (chosen.criteria or {}).get("pipeline")
    return ws.pipeline(pipeline).currency if pipeline or len(ws.pipelines) == 1 else None


@app.command()
def note(
    deal: DealArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What happened, in a sentence.")],
    *,
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Add a dated note to a deal's history (a call, a meeting); `pipe show` lists it.

    Example: pipe note northwind "Called Ava: budget approved, waiting for legal"
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    change = ops.edit(store, ws, deal, fields={},
                      note=values.clean_text(text, what="the note", required=True),
                      at=when(at))
    say(f"Noted on {deal_label(change.deal)}.")


@app.command()
def done(
    deals: DealsArg = None,
    *,
    next_: NextOpt = None,
    due: DueOpt = None,
    next_owner: NextOwnerOpt = None,
    where: WhereOpt = None,
    yes: YesOpt = False,
    note: Annotated[str, typer.Option("--note", "-m", help="How it went (kept in the deal's "
                                      "history with the step).")] = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Mark a deal's next step done, with how it went and the step after it.

    The step done is an activity in the deal's history (`pipe show`, `pipe log`).

    Example: pipe done northwind -m "Ava wants a demo" --next "Demo" --due tuesday
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    follow, _ = follow_up(next_, due, next_owner)
    chosen = agreed(ws, store, selection(ws, deals, where), yes=yes, command="done",
                    verb="mark done")
    action = ops.Done(values.clean_text(note, what="--note"), when(at), follow)

    def one(change) -> None:
        from pipecli.output.render import shown

        step = shown(change.before.next_step)
        say(f"Done on {deal_label(change.deal)}: {step}{_next_said(change.deal)}.")

    report(ops.apply(store, ws, chosen, action), "Marked done on", one)


@app.command("rm")
def remove(
    deals: DealsArg = None,
    *,
    where: WhereOpt = None,
    yes: YesOpt = False,
    file: FileOpt = None,
) -> None:
    """Delete deals (their history keeps a record; `pipe undo` brings them back).

    Example: pipe rm 7k2m --yes
    """
    from pipecli import ops

    ws, store = open_workspace(file)
    chosen = agreed(ws, store, selection(ws, deals, where), yes=yes, command="rm",
                    verb="delete", always_ask=True)
    report(ops.apply(store, ws, chosen, ops.Remove()), "Deleted",
           lambda c: say(f"Deleted {deal_label(c.deal)}."))

