"""The deal lifecycle and reading deals: add, move, won, lost, reopen, edit, rm, list,
show, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipecli.cli import completion
from pipecli.cli.common import (AtOpt, CurrencyOpt, DealArg, FileOpt, FormatOpt, NoteOpt,
                                PipelineOpt, Status, app, currency_code, deal_fields,
                                default_owner, search_of,
                                deal_label, format_name, open_workspace, say, value_currency,
                                when)


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
                                                      "date: YYYY-MM-DD or +30d.")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Win probability %"
                                                       " for this deal, overriding the "
                                                       "stage's.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="A tag (repeatable).")] = None,
    currency: CurrencyOpt = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Add a deal; prints its id (alone, when the output is not a terminal).

    Example: pipe add "Cosmetics set – Ava Smith" --value 250 --email ava@example.com
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
    change = ops.add(store, p, name=values.clean_text(name, what="the deal name", required=True),
                     fields=fields, stage=stage, note=values.clean_text(note, what="--note"),
                     at=when(at))
    deal = change.deal
    if render.is_terminal():
        stage_label = p.stage(deal.stage).label
        say(f"Added {deal_label(deal)} at {stage_label}.")
    else:
        render.out(deal.id)


@app.command()
def move(
    deal: DealArg,
    stage: Annotated[Optional[str], typer.Argument(metavar="[STAGE]",
                                                   help="Target stage key or label.",
                                                   autocompletion=completion.stages)] = None,
    *,
    next_: Annotated[bool, typer.Option("--next", help="Move to the next open stage.")] = False,
    back: Annotated[bool, typer.Option("--back", help="Move to the previous open stage.")]
    = False,
    to_pipeline: Annotated[Optional[str], typer.Option(
        "--pipeline", "-p", help="Move the deal over to this pipeline of the file (at STAGE, "
                                 "or its first stage).")] = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Move a deal to another stage (its entry requirements must be met).

    Example: pipe move 7k2m demo --note "demo booked for Tuesday"
    """
    from pipecli import ops, values
    from pipecli.errors import UsageError

    if sum([stage is not None or to_pipeline is not None, next_, back]) != 1:
        raise UsageError("give exactly one of: a STAGE (or --pipeline), --next, --back")
    ws, store = open_workspace(file)
    change = ops.move(store, ws, deal, stage=stage, step=1 if next_ else -1 if back else 0,
                      to_pipeline=to_pipeline, note=values.clean_text(note, what="--note"),
                      at=when(at))
    _report_move(ws, change)


def _report_move(ws, change) -> None:
    deal = change.deal
    p = ws.pipeline_of(deal)
    label = p.stage(deal.stage).label if p and p.stage(deal.stage) else deal.stage
    if change.event is None:
        say(f"{deal_label(deal)} is already at {label}; nothing changed.")
    elif change.event.kind in ("handed_off", "moved") and change.before.pipeline != deal.pipeline:
        how = "Handed off" if change.event.kind == "handed_off" else "Moved"
        say(f"{how} {deal_label(deal)} to pipeline {deal.pipeline}: {label}.")
    elif change.event.kind == "won":
        say(f"Won {deal_label(deal)}.")
    else:
        before = change.before.stage
        before_label = p.stage(before).label if p and p.stage(before) else before
        say(f"Moved {deal_label(deal)}: {before_label} → {label}.")


@app.command()
def won(
    deal: DealArg,
    *,
    value: Annotated[Optional[str], typer.Option("--value", "-v", help="The final value, if it "
                                                 "differs from the expected one.")] = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Close a deal as won.

    Example: pipe won 7k2m --value 11800 --at 2026-03-14
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    amount = values.parse_money(value, value_currency(ws, store, deal, value),
                                what="--value") if value is not None else None
    change = ops.win(store, ws, deal, value=amount, note=values.clean_text(note, what="--note"),
                     at=when(at))
    d = change.deal
    p = ws.pipeline_of(d)
    code = d.currency or (p.currency if p else "")
    worth = f" ({values.format_money(d.value, code)} {code})" if d.value is not None else ""
    say(f"Won {deal_label(d)}{worth}.")


@app.command()
def lost(
    deal: DealArg,
    *,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it was lost (one of the "
                                        "pipeline's lost_reasons, when it lists them).")],
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Close a deal as lost, with the reason.

    Example: pipe lost 7k2m --reason "chose another vendor"
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    change = ops.lose(store, ws, deal, reason=values.clean_text(reason, what="--reason"),
                      note=values.clean_text(note, what="--note"), at=when(at))
    say(f"Lost {deal_label(change.deal)}: {change.deal.lost_reason}.")


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
    deal: DealArg,
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
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Change a deal's fields; an empty value ("") clears a field.

    Example: pipe edit 7k2m --value 14000 --close-date 2026-04-30 --tag enterprise
    """
    from pipecli import ops, values

    ws, store = open_workspace(file)
    code = currency_code(currency)
    fields = deal_fields(currency=code or value_currency(ws, store, deal, value), value=value,
                          probability=probability, company=company, contact=contact,
                          email=email, owner=owner, source=source, close_date=close_date)
    if code is not None:
        fields["currency"] = code
    if name is not None:
        fields["name"] = values.clean_text(name, what="--name", required=True)
    change = ops.edit(store, ws, deal, fields=fields,
                      add_tags=[values.clean_tag(t) for t in tag or ()],
                      remove_tags=[values.clean_tag(t) for t in untag or ()],
                      note=values.clean_text(note, what="--note"), at=when(at))
    if change.event is None:
        say(f"{deal_label(change.deal)}: nothing to change.")
    else:
        e = change.event
        changed = ", ".join(sorted(e.sets) + (["tags"] if e.tags_added or e.tags_removed
                                              else [])) or "note"
        say(f"Edited {deal_label(change.deal)}: {changed}.")


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


@app.command("rm")
def remove(
    deal: DealArg,
    *,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
    = False,
    file: FileOpt = None,
) -> None:
    """Delete a deal (its history keeps a record of it).

    Example: pipe rm 7k2m --yes
    """
    from pipecli import ops
    from pipecli.output import render
    from pipecli.errors import PipeError, UsageError

    ws, store = open_workspace(file)
    if not yes:
        deal_obj, _, _ = ops.history(store, deal)
        if not render.is_terminal(sys.stdin):
            raise UsageError("pipe rm asks for confirmation; pass --yes when not on a terminal")
        if not typer.confirm(f"Delete {deal_label(deal_obj)}?", default=False):
            raise PipeError("not deleted")
        deal = deal_obj.id
    change = ops.remove(store, ws, deal)
    say(f"Deleted {deal_label(change.deal)}.")


# -- reading ----------------------------------------------------------------------------------

@app.command("list")
def list_(
    *,
    search: Annotated[Optional[str], typer.Option(
        "--search", "-s", help="Only deals with this text in their name, company, contact, "
                               "email or a note (case and accents ignored).")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Only this stage.",
                                                 autocompletion=completion.stages)]
    = None,
    status: Annotated[Status, typer.Option("--status", help="open, won, lost or all.")]
    = Status.open,
    owner: Annotated[Optional[str], typer.Option("--owner",
                                                 autocompletion=completion.owners)] = None,
    source: Annotated[Optional[str], typer.Option("--source")] = None,
    tag: Annotated[Optional[str], typer.Option("--tag")] = None,
    company: Annotated[Optional[str], typer.Option("--company", help="Only this company's "
                                                   "deals (any case).")] = None,
    value_min: Annotated[Optional[str], typer.Option("--value-min", help="Only deals worth "
                                                     "at least this.")] = None,
    value_max: Annotated[Optional[str], typer.Option("--value-max", help="Only deals worth "
                                                     "at most this.")] = None,
    close_after: Annotated[Optional[str], typer.Option("--close-after", help="Only deals "
                                                       "expected to close on or after this "
                                                       "day.")] = None,
    close_before: Annotated[Optional[str], typer.Option("--close-before", help="… on or "
                                                        "before this day.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="stage, value, name, created, updated, "
                                      "close, company, owner or id.")] = "stage",
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", "-n", min=1, help="At most this many deals (the first in the order).")]
    = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """List deals (open ones unless --status says otherwise).

    Example: pipe list -s northwind --value-min 10k --close-before eoq --sort value
    """
    from pipecli.engine import listing
    from pipecli.output import render, views

    ws, store = open_workspace(file)
    deals, hidden = listing.select(ws, store, pipeline=pipeline, stage=stage,
                                   status=status.value, owner=owner, source=source, tag=tag,
                                   sort=sort, reverse=reverse, limit=limit,
                                   search=search_of(ws.pipeline(pipeline).currency, search,
                                                    company, value_min, value_max,
                                                    close_after, close_before))
    render.emit_stream(views.deal_list(ws, deals, hidden), format_name(fmt))


@app.command()
def show(deal: DealArg, *, file: FileOpt = None, fmt: FormatOpt = None) -> None:
    """Show a deal: every field and its dated history.

    Example: pipe show 7k2m
    """
    from pipecli import ops
    from pipecli.output import render, views

    ws, store = open_workspace(file)
    found, events, in_effect = ops.history(store, deal)
    render.emit(views.deal_detail(found, events, in_effect, ws.pipeline_of(found)),
                format_name(fmt))


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="CSV (any delimiter) or "
                                           "JSON file.")],
    *,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Column names of: hubspot, "
                                                  "pipedrive, salesforce, pipe.")] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="SOURCE_COLUMN=FIELD "
                                                      "(repeatable).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="FIELD=VALUE for every "
                                                      "row, e.g. status=won (repeatable).")]
    = None,
    stage_map: Annotated[Optional[list[str]], typer.Option("--stage-map", help="SOURCE_STAGE="
                                                           "STAGE_KEY (repeatable).")] = None,
    history: Annotated[Optional[Path], typer.Option("--history", help="A file of stage and "
                                                    "amount changes (e.g. Salesforce "
                                                    "OpportunityHistory.csv).")] = None,
    closed_from: Annotated[Optional[str], typer.Option("--closed-from", help="The open stage a "
                                                       "closed deal without history started "
                                                       "at (default: the first).")] = None,
    dayfirst: Annotated[bool, typer.Option("--dayfirst", help="Read 03/04/2026 as 3 April.")]
    = False,
    decimal_comma: Annotated[Optional[bool], typer.Option(
        "--decimal-comma/--decimal-point", show_default=False,
        help="Amounts use a decimal comma (1.000,50) or point (1,000.50) (default: found from "
             "each amount column).")] = None,
    round_amounts: Annotated[bool, typer.Option("--round", help="Round amounts with more "
                                                "decimals than the currency has (half up) "
                                                "instead of refusing them.")] = False,
    clear_empty: Annotated[bool, typer.Option("--clear-empty", help="An empty cell clears the "
                                              "field (default: it leaves it as it is).")]
    = False,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="The file's encoding "
                                                    "(default: UTF-8, or Windows-1252 when "
                                                    "it is not UTF-8).")] = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", show_default=False,
        help="The import's moment, for changes the file does not date (default: now); a "
             "date in the file after it is refused.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write "
                                          "nothing.")] = False,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Import deals from a CSV or JSON export (HubSpot, Pipedrive, Salesforce, a
    spreadsheet, or pipe itself). All rows go in, or none: refused rows are listed with
    their line and column. A row for a deal already in the store changes only the fields
    the file gives, so importing the same file again adds nothing.

    Example: pipe import deals.csv --preset hubspot --stage-map "Appointment scheduled=demo"
    """
    from pipecli import money
    from pipecli.errors import ImportRejected
    from pipecli.exchange import importing
    from pipecli.output import render

    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    mark = None if decimal_comma is None else (money.Mark.COMMA if decimal_comma else
                                               money.Mark.POINT)
    options = importing.Options(preset=preset, maps=tuple(map_ or ()),
                                constants=tuple(set_ or ()),
                                stage_maps=tuple(stage_map or ()), closed_from=closed_from,
                                dayfirst=dayfirst, history=history, encoding=encoding,
                                decimal=mark, round_amounts=round_amounts,
                                clear_empty=clear_empty)

    bars = []

    def progress(total: int):
        if total <= 2000 or not render.is_terminal(sys.stderr):
            return None  # silent when piped or run from cron
        from rich.progress import Progress

        bar = Progress(console=render.console(stderr=True), transient=True)
        bars.append(bar)
        bar.start()
        task = bar.add_task(f"Importing {render.shown(source.name)}", total=total)
        return lambda n: bar.advance(task, n)

    try:
        result = importing.run(ws, p, store, source, options, at=when(at), dry_run=dry_run,
                               progress=progress)
    finally:
        for bar in bars:
            bar.stop()
    for rejected in result.rejected:
        say(f"{render.shown(rejected.file or source.name)}:{rejected.line}: "
            f"{render.shown(str(rejected))}")
    for note in [] if result.rejected else result.notes:  # a refusal is its one sentence
        render.warn(render.shown(note))
    if result.events:  # pipe's own history file: counted in events
        summary = (f"{len(result.ready)} events to add, {result.unchanged} already there, "
                   f"{len(result.rejected)} rejected")
    else:
        summary = (f"{len(result.added)} to add, {len(result.updated)} to update, "
                   f"{result.unchanged} unchanged, {len(result.rejected)} rejected "
                   f"({result.event_count} events)")
    if result.rejected:
        raise ImportRejected(f"{summary}; nothing was imported (fix the rejected rows and run "
                             f"it again)")
    if dry_run:
        say(f"Dry run: {summary}.")
    elif result.events:
        say(f"Imported {render.shown(source.name)}: {len(result.ready)} events added, "
            f"{result.unchanged} already there.")
    else:
        say(f"Imported {render.shown(source.name)}: {len(result.added)} added, "
            f"{len(result.updated)} updated, {result.unchanged} unchanged "
            f"({result.event_count} events).")


@app.command()
def export(
    *,
    fmt: Annotated[str, typer.Option("--format", "-o", help="csv, json or jsonl.")] = "csv",
    history: Annotated[bool, typer.Option("--history", help="Export every event instead of "
                                          "the current deals.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", help="Write to this file "
                                                   "(default: stdout).")] = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Export every deal (or every event) in pipe's own columns; `pipe import` of the file
    into an empty store gives the same store back. CSV cells that a spreadsheet would run as
    formulas are prefixed with '.

    Example: pipe export --history -o jsonl --output backup.jsonl
    """
    from pipecli.errors import UsageError
    from pipecli.exchange import exporting

    if fmt not in exporting.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(exporting.FORMATS)}")
    ws, store = open_workspace(file)
    name = ws.pipeline(pipeline).name if pipeline else None
    if output is None:
        exporting.export(store, sys.stdout, fmt=fmt, history=history, pipeline=name)
        return
    exporting.export_to(output, store, fmt=fmt, history=history, pipeline=name)
    say(f"Wrote {output}.")


@app.command()
def log(
    deal: Annotated[Optional[str], typer.Argument(metavar="[DEAL]", help="Only this deal.")]
    = None,
    *,
    count: Annotated[int, typer.Option("--count", "--limit", "-n", min=1,
                                       help="How many changes.")] = 20,
    file: FileOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """The latest changes to the store, newest first (what `pipe undo` would revert).

    Example: pipe log -n 5
    """
    from pipecli import ops
    from pipecli.output import render, views

    ws, store = open_workspace(file)
    render.emit(views.log_view(ops.recent(store, count, deal), ws), format_name(fmt))


@app.command()
def undo(
    *,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many changes to revert, "
                                       "newest first.")] = 1,
    file: FileOpt = None,
) -> None:
    """Revert the latest change (or the latest N), newest first. Every revert is recorded in
    the history; `pipe redo` takes it back.

    Example: pipe undo --steps 2
    """
    _undo(steps=steps, file=file, redo=False)


@app.command()
def redo(
    *,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many undos to take "
                                       "back.")] = 1,
    file: FileOpt = None,
) -> None:
    """Take back the latest `pipe undo` (or the latest N).

    Example: pipe redo
    """
    _undo(steps=steps, file=file, redo=True)


def _undo(*, steps: int, file, redo: bool) -> None:
    from pipecli import ops
    from pipecli.output.render import shown

    ws, store = open_workspace(file)
    reverts = ops.undo(store, ws, steps=steps, redo=redo)
    if not reverts:
        say("Nothing to redo." if redo else "Nothing to undo.")
    for r in reverts:
        deal = r.after or r.before
        name = f"{r.deal_id} “{shown(deal.name)}”" if deal else r.deal_id
        change = r.change or r.target
        what = f"{change.kind.value} event {change.id}"
        say(f"{'Redid' if redo else 'Undid'} {what} of {name}.")
