"""Reading deals and their history: list, show, agenda, import, export, log, undo, redo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipecli.cli import completion
from pipecli.cli.common import (AsOfOpt, CloseAfterOpt, CloseBeforeOpt, CompanyOpt, DealArg,
                                FileOpt, FormatOpt, OwnerOpt, PipelineOpt, SearchOpt,
                                SourceOpt, Status, TagOpt, ValueMaxOpt, ValueMinOpt, app,
                                format_name, open_workspace, say, search_of, when)


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
def agenda(
    *,
    days: Annotated[int, typer.Option("--days", "-d", min=0, max=366, help="How many days "
                                      "ahead, after today.")] = 7,
    later: Annotated[bool, typer.Option("--later", help="Also list the steps due after "
                                        "those days, and the undated ones.")] = False,
    as_of: AsOfOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    search: SearchOpt = None,
    company: CompanyOpt = None,
    value_min: ValueMinOpt = None,
    value_max: ValueMaxOpt = None,
    close_after: CloseAfterOpt = None,
    close_before: CloseBeforeOpt = None,
    file: FileOpt = None,
    pipeline: Annotated[Optional[str], typer.Option(
        "--pipeline", "-p", envvar="PIPE_PIPELINE", show_default=False,
        help="Only this pipeline's deals (default: every pipeline of the file).",
        autocompletion=completion.pipelines)] = None,
    fmt: FormatOpt = None,
) -> None:
    """Next steps by when they are due: overdue, today, then each coming day.

    Also names the open deals at a stage that needs a next step and have none.

    Example: pipe agenda --days 3 --owner ava
    """
    from pipecli.cli.common import report_filters, report_moment
    from pipecli.engine.agenda import agenda as build
    from pipecli.output import render
    from pipecli.output.agenda_view import agenda_view

    ws, store = open_workspace(file)
    chosen = [ws.pipeline(pipeline)] if pipeline else list(ws.pipelines)
    filters = report_filters(owner=owner, source=source, tag=tag,
                             narrow=search_of(chosen[0].currency, search, company, value_min,
                                              value_max, close_after, close_before))
    result = build(store, ws, chosen, report_moment(as_of), days, filters, show_later=later)
    render.emit(agenda_view(result), format_name(fmt))


@app.command()
def show(deal: DealArg, *, file: FileOpt = None, fmt: FormatOpt = None) -> None:
    """Show a deal: every field and its dated history.

    Example: pipe show 7k2m
    """
    from pipecli import journal
    from pipecli.output import render, views

    ws, store = open_workspace(file)
    found, events, in_effect = journal.history(store, deal)
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
    stage: Annotated[Optional[str], typer.Option("--stage", help="Only this stage.",
                                                 autocompletion=completion.stages)] = None,
    status: Annotated[Status, typer.Option("--status", help="open, won, lost or all.")]
    = Status.all,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    search: SearchOpt = None,
    company: CompanyOpt = None,
    value_min: ValueMinOpt = None,
    value_max: ValueMaxOpt = None,
    close_after: CloseAfterOpt = None,
    close_before: CloseBeforeOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Export deals (or their events) in pipe's own columns, for backup or another tool.

    `pipe import` of the file into an empty store gives the same store back. The filters
    of `pipe list` choose which deals (every deal by default: --status all); with
    --history, their events. CSV cells a spreadsheet would run as formulas are prefixed
    with '.

    Example: pipe export --history -o jsonl --output backup.jsonl
    """
    from pipecli.errors import UsageError
    from pipecli.exchange import exporting

    if fmt not in exporting.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(exporting.FORMATS)}")
    ws, store = open_workspace(file)
    name = ws.pipeline(pipeline).name if pipeline else None
    narrow = search_of(ws.pipeline(pipeline).currency, search, company, value_min, value_max,
                       close_after, close_before)
    filtered = narrow.active or status != Status.all or any(
        x is not None for x in (stage, owner, source, tag))
    criteria = {"stage": stage, "status": status.value, "owner": owner, "source": source,
                "tag": tag, "search": narrow} if filtered else None
    options = dict(fmt=fmt, history=history, pipeline=name, ws=ws, criteria=criteria)
    if output is None:
        exporting.export(store, sys.stdout, **options)
        return
    exporting.export_to(output, store, **options)
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
    from pipecli import journal
    from pipecli.output import render, views

    ws, store = open_workspace(file)
    render.emit(views.log_view(journal.recent(store, count, deal), ws), format_name(fmt))


@app.command()
def undo(
    *,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many commands to take "
                                       "back, newest first.")] = 1,
    file: FileOpt = None,
) -> None:
    """Take back the latest command (or the latest N): every change it recorded.

    A bulk change, a move with its hand-off, or an import is one command. Every undo is
    recorded in the history; `pipe redo` takes it back.

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
    """Put back what the latest `pipe undo` took back (or the latest N undos).

    Example: pipe redo
    """
    _undo(steps=steps, file=file, redo=True)


def _undo(*, steps: int, file, redo: bool) -> None:
    from pipecli import journal
    from pipecli.output.render import shown

    ws, store = open_workspace(file)
    reverts = journal.undo(store, ws, steps=steps, redo=redo)
    if not reverts:
        say("Nothing to redo." if redo else "Nothing to undo.")
    verb = "Redid" if redo else "Undid"
    for r in reverts[:UNDONE_SHOWN]:
        name = f"{r.deal_id} “{shown(r.name)}”" if r.name else r.deal_id
        change = r.change or r.target
        say(f"{verb} {change.kind.value} event {change.id} of {name}.")
    if len(reverts) > UNDONE_SHOWN:  # a bulk change or an import: one command, many events
        deals = len({r.deal_id for r in reverts})
        say(f"… {verb.lower()} {len(reverts)} events of {deals} deal"
            f"{'s' if deals != 1 else ''} in all.")


UNDONE_SHOWN = 20  # events an undo names one by one
