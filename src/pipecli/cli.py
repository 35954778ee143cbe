"""The `pipe` command line. Each command parses its options, makes one core call and
hands the result to render; errors become exits in main() and nowhere else."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="pipe",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from pipecli import __version__, render

        render.out(f"pipe {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show pipe's version and exit.")] = False,
) -> None:
    """Track a sales pipeline in plain files: a YAML pipeline and a CSV or SQLite deal store.

    Start with `pipe init --template b2b-pipeline`, then add, move, won, lost, list, report.
    """


class Format(str, Enum):
    table = "table"
    plain = "plain"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    markdown = "markdown"


class Status(str, Enum):
    open = "open"
    won = "won"
    lost = "lost"
    all = "all"


class StoreKind(str, Enum):
    csv = "csv"
    sqlite = "sqlite"


# Options every command shares, declared once.
FileOpt = Annotated[Optional[Path], typer.Option(
    "--file", "-f", envvar="PIPE_FILE", show_default=False, dir_okay=True,
    help="Pipeline YAML (default: pipeline.yaml here or in a parent folder).")]
PipelineOpt = Annotated[Optional[str], typer.Option(
    "--pipeline", "-p", envvar="PIPE_PIPELINE", show_default=False,
    help="Which pipeline of the file (default: the first).")]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-o", case_sensitive=False, show_default=False,
    help="Output format: table (default on a terminal), plain (default otherwise), csv, tsv, "
         "json, markdown.")]
AtOpt = Annotated[Optional[str], typer.Option(
    "--at", show_default=False,
    help="When it happened: YYYY-MM-DD, an ISO date-time, today, yesterday, -3d (default: now).")]
NoteOpt = Annotated[str, typer.Option("--note", "-n", help="A note kept in the deal's history.")]
DealArg = Annotated[str, typer.Argument(
    metavar="DEAL", help="Deal id, unique id prefix, or exact name (any case).")]


def _fmt(fmt: Optional[Format]) -> str | None:
    return fmt.value if fmt else None


def _workspace(file: Optional[Path]):
    from pipecli.pipeline import find_pipeline_file, load_workspace

    return load_workspace(find_pipeline_file(str(file) if file else None))


def _open(file: Optional[Path]):
    from pipecli.store import open_store

    ws = _workspace(file)
    return ws, open_store(ws.store_path)


def _when(at: Optional[str]):
    from pipecli.values import parse_when

    return parse_when(at) if at else None


def _say(text: str) -> None:
    from pipecli import render

    render.message(text)


def _name(deal) -> str:
    from pipecli.render import shown

    return f"{deal.id} “{shown(deal.name)}”"


def _deal_fields(*, currency: str | None, value=None, probability=None, company=None, contact=None,
                 email=None, owner=None, source=None, close_date=None, tags=None) -> dict:
    """Parse the deal fields given on the command line (None = not given; "" clears)."""
    from pipecli import values as v

    out: dict = {}
    if value is not None:
        out["value"] = v.parse_money(value, currency, what="--value") if value.strip() else None
    if probability is not None:
        out["probability"] = v.parse_probability(probability) if probability.strip() else None
    for name, text in (("company", company), ("contact", contact), ("owner", owner),
                       ("source", source)):
        if text is not None:
            out[name] = v.clean_text(text, what=f"--{name}")
    if email is not None:
        out["email"] = v.clean_email(email)
    if close_date is not None:
        out["close_date"] = v.parse_day(close_date) if close_date.strip() else None
    if tags is not None:
        out["tags"] = tuple(dict.fromkeys(v.clean_tag(t) for t in tags))
    return out


# -- set-up -----------------------------------------------------------------------------------

@app.command()
def init(
    folder: Annotated[Path, typer.Argument(metavar="[DIR]",
                                           help="Folder for the pipeline (default: here).")]
    = Path("."),
    *,
    template: Annotated[str, typer.Option("--template", "-t", help="Template name; see "
                                          "`pipe templates`.")] = "b2b-pipeline",
    store: Annotated[StoreKind, typer.Option("--store", help="Store kind: csv (for git) or "
                                             "sqlite.")] = StoreKind.csv,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing pipeline.yaml "
                                        "(an existing store is kept).")] = False,
) -> None:
    """Start a pipeline: write pipeline.yaml from a template and an empty deal store.

    Example: pipe init --template b2b-pipeline --store csv
    """
    from pipecli.scaffold import init_workspace

    result = init_workspace(folder, template, store.value, force=force)
    _say(f"Wrote {result.pipeline_file} from template {template}.")
    if result.kept_store:
        _say(f"Kept the existing store {result.store_files[0]}.")
    else:
        _say("Created an empty store: " + ", ".join(str(p) for p in result.store_files) + ".")
    for helper in result.helper_files:
        _say(f"Added pipe's entries to {helper}.")
    _say("Next: pipe add \"Deal name\" --value 5000")


@app.command()
def templates(*, fmt: FormatOpt = None) -> None:
    """List the pipeline templates `pipe init` can start from.

    Example: pipe templates
    """
    from pipecli import render, scaffold, views

    render.emit(views.templates_view(scaffold.template_pipelines()), _fmt(fmt))


@app.command()
def stages(*, file: FileOpt = None, pipeline: PipelineOpt = None, fmt: FormatOpt = None) -> None:
    """Show the pipeline's stages: keys, probabilities, groups and entry rules.

    Example: pipe stages -p marketing
    """
    from pipecli import render, views

    render.emit(views.stages_view(_workspace(file).pipeline(pipeline)), _fmt(fmt))


# -- the deal lifecycle -------------------------------------------------------------------------

@app.command()
def add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The deal's name, e.g. \"Cosmetics set – Ava "
                                        "Smith\".")],
    *,
    value: Annotated[Optional[str], typer.Option("--value", "-v", help="Expected revenue, e.g. "
                                                 "12500, 12,500.50 or 12.5k.")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Stage key or label "
                                                 "(default: the first stage).")] = None,
    company: Annotated[Optional[str], typer.Option("--company")] = None,
    contact: Annotated[Optional[str], typer.Option("--contact")] = None,
    email: Annotated[Optional[str], typer.Option("--email")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Lead source or campaign.")]
    = None,
    close_date: Annotated[Optional[str], typer.Option("--close-date", help="Expected close "
                                                      "date: YYYY-MM-DD or +30d.")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Win probability %"
                                                       " for this deal, overriding the "
                                                       "stage's.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="A tag (repeatable).")] = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
) -> None:
    """Add a deal; prints its id (alone, when the output is not a terminal).

    Example: pipe add "Cosmetics set – Ava Smith" --value 250 --email ava@example.com
    """
    from pipecli import ops, render, values

    ws, store = _open(file)
    p = ws.pipeline(pipeline)
    fields = _deal_fields(currency=p.currency, value=value, probability=probability,
                          company=company, contact=contact, email=email, owner=owner,
                          source=source, close_date=close_date, tags=tag)
    change = ops.add(store, p, name=values.clean_text(name, what="the deal name", required=True),
                     fields=fields, stage=stage, note=values.clean_text(note, what="--note"),
                     at=_when(at))
    deal = change.deal
    if render.is_terminal():
        stage_label = p.stage(deal.stage).label
        _say(f"Added {_name(deal)} at {stage_label}.")
    else:
        render.out(deal.id)


@app.command()
def move(
    deal: DealArg,
    stage: Annotated[Optional[str], typer.Argument(metavar="[STAGE]",
                                                   help="Target stage key or label.")] = None,
    *,
    next_: Annotated[bool, typer.Option("--next", help="Move to the next open stage.")] = False,
    back: Annotated[bool, typer.Option("--back", help="Move to the previous open stage.")]
    = False,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Move a deal to another stage (its entry requirements must be met).

    Example: pipe move 7k2m demo --note "demo booked for Tuesday"
    """
    from pipecli import ops, values
    from pipecli.errors import UsageError

    if sum([stage is not None, next_, back]) != 1:
        raise UsageError("give exactly one of: a STAGE, --next, --back")
    ws, store = _open(file)
    change = ops.move(store, ws, deal, stage=stage, step=1 if next_ else -1 if back else 0,
                      note=values.clean_text(note, what="--note"), at=_when(at))
    _report_move(ws, change)


def _report_move(ws, change) -> None:
    deal = change.deal
    p = ws.pipeline_of(deal)
    label = p.stage(deal.stage).label if p and p.stage(deal.stage) else deal.stage
    if change.event is None:
        _say(f"{_name(deal)} is already at {label}; nothing changed.")
    elif change.event.kind == "won":
        _say(f"Won {_name(deal)}.")
    else:
        before = change.before.stage
        before_label = p.stage(before).label if p and p.stage(before) else before
        _say(f"Moved {_name(deal)}: {before_label} → {label}.")


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

    ws, store = _open(file)
    amount = values.parse_money(value, None, what="--value") if value is not None else None
    change = ops.win(store, ws, deal, value=amount, note=values.clean_text(note, what="--note"),
                     at=_when(at))
    d = change.deal
    p = ws.pipeline_of(d)
    worth = f" ({values.format_money(d.value, p.currency)} {p.currency})" if d.value is not None \
        else ""
    _say(f"Won {_name(d)}{worth}.")


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

    ws, store = _open(file)
    change = ops.lose(store, ws, deal, reason=values.clean_text(reason, what="--reason"),
                      note=values.clean_text(note, what="--note"), at=_when(at))
    _say(f"Lost {_name(change.deal)}: {change.deal.lost_reason}.")


@app.command()
def reopen(
    deal: DealArg,
    *,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Open stage to reopen at "
                                                 "(default: where it was before it closed).")]
    = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Reopen a won or lost deal.

    Example: pipe reopen 7k2m --stage negotiation
    """
    from pipecli import ops, values

    ws, store = _open(file)
    change = ops.reopen(store, ws, deal, stage=stage, note=values.clean_text(note, what="--note"),
                        at=_when(at))
    p = ws.pipeline_of(change.deal)
    _say(f"Reopened {_name(change.deal)} at {p.stage(change.deal.stage).label}.")


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
    owner: Annotated[Optional[str], typer.Option("--owner")] = None,
    source: Annotated[Optional[str], typer.Option("--source")] = None,
    close_date: Annotated[Optional[str], typer.Option("--close-date")] = None,
    probability: Annotated[Optional[str], typer.Option("--probability", help="Win probability "
                                                       "% for this deal (\"\" returns to the "
                                                       "stage's).")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Add a tag (repeatable).")]
    = None,
    untag: Annotated[Optional[list[str]], typer.Option("--untag", help="Remove a tag "
                                                       "(repeatable).")] = None,
    note: NoteOpt = "",
    at: AtOpt = None,
    file: FileOpt = None,
) -> None:
    """Change a deal's fields; an empty value ("") clears a field.

    Example: pipe edit 7k2m --value 14000 --close-date 2026-04-30 --tag enterprise
    """
    from pipecli import ops, values

    ws, store = _open(file)
    fields = _deal_fields(currency=None, value=value,  # the core checks the deal's currency
                          probability=probability, company=company, contact=contact,
                          email=email, owner=owner, source=source, close_date=close_date)
    if name is not None:
        fields["name"] = values.clean_text(name, what="--name", required=True)
    change = ops.edit(store, ws, deal, fields=fields,
                      add_tags=[values.clean_tag(t) for t in tag or ()],
                      remove_tags=[values.clean_tag(t) for t in untag or ()],
                      note=values.clean_text(note, what="--note"), at=_when(at))
    if change.event is None:
        _say(f"{_name(change.deal)}: nothing to change.")
    else:
        changed = ", ".join(sorted(change.event.changes)) or "note"
        _say(f"Edited {_name(change.deal)}: {changed}.")


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
    from pipecli import ops, render
    from pipecli.errors import PipeError, UsageError

    ws, store = _open(file)
    if not yes:
        deal_obj, _ = ops.history(store, deal)
        if not render.is_terminal(sys.stdin):
            raise UsageError("pipe rm asks for confirmation; pass --yes when not on a terminal")
        if not typer.confirm(f"Delete {_name(deal_obj)}?", default=False):
            raise PipeError("not deleted")
        deal = deal_obj.id
    change = ops.remove(store, ws, deal)
    _say(f"Deleted {_name(change.deal)}.")


# -- reading ----------------------------------------------------------------------------------

@app.command("list")
def list_(
    *,
    stage: Annotated[Optional[str], typer.Option("--stage", "-s", help="Only this stage.")]
    = None,
    status: Annotated[Status, typer.Option("--status", help="open, won, lost or all.")]
    = Status.open,
    owner: Annotated[Optional[str], typer.Option("--owner")] = None,
    source: Annotated[Optional[str], typer.Option("--source")] = None,
    tag: Annotated[Optional[str], typer.Option("--tag")] = None,
    sort: Annotated[str, typer.Option("--sort", help="stage, value, name, created, updated, "
                                      "close, company, owner or id.")] = "stage",
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """List deals (open ones unless --status says otherwise).

    Example: pipe list --status all --owner dana --sort value -o csv
    """
    from pipecli import listing, render, views

    ws, store = _open(file)
    deals, hidden = listing.select(ws, store, pipeline=pipeline, stage=stage,
                                   status=status.value, owner=owner, source=source, tag=tag,
                                   sort=sort, reverse=reverse)
    render.emit(views.deal_list(ws, deals, hidden), _fmt(fmt))


@app.command()
def show(deal: DealArg, *, file: FileOpt = None, fmt: FormatOpt = None) -> None:
    """Show a deal: every field and its dated history.

    Example: pipe show 7k2m
    """
    from pipecli import ops, render, views

    ws, store = _open(file)
    found, events = ops.history(store, deal)
    render.emit(views.deal_detail(found, events, ws.pipeline_of(found)), _fmt(fmt))


AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", show_default=False,
    help="Report the pipeline as it stood at the end of this day (replays the history).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Only this owner's deals.")]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Only deals from this source.")]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only deals with this tag.")]


class GroupBy(str, Enum):
    owner = "owner"
    source = "source"
    company = "company"
    tag = "tag"


def _moment(as_of: Optional[str]):
    from pipecli.values import end_of_day, now

    return end_of_day(as_of) if as_of else now()


def _filters(*, since=None, until=None, owner=None, source=None, tag=None):
    from pipecli.reports import Filters
    from pipecli.values import parse_day

    return Filters(since=parse_day(since, what="--since") if since else None,
                   until=parse_day(until, what="--until") if until else None,
                   owner=owner, source=source, tag=tag)


def _timelines(file, pipeline, moment):
    from pipecli import replay

    ws, store = _open(file)
    p = ws.pipeline(pipeline)
    return p, replay.load(store, p, moment)


@app.command()
def report(
    *,
    as_of: AsOfOpt = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Funnel: deals created on or "
                                                 "after this day; won/lost: closed on or "
                                                 "after it.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Same, on or before this "
                                                 "day.")] = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    by: Annotated[Optional[GroupBy], typer.Option("--by", help="Totals per owner, source, "
                                                  "company or tag, side by side.")] = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """The pipeline report: funnel chart, deals per stage, conversion, time in stage, win
    rate, deal size, sales cycle, velocity and lost reasons (see docs/metrics.md).

    Example: pipe report --since 2026-01-01 --by owner
    """
    from pipecli import render, reports, views

    moment = _moment(as_of)
    filters = _filters(since=since, until=until, owner=owner, source=source, tag=tag)
    p, timelines = _timelines(file, pipeline, moment)
    result = reports.pipeline_report(p, timelines, moment, filters,
                                     group_by=by.value if by else None)
    render.emit_document(views.report_document(result), _fmt(fmt))


@app.command()
def forecast(
    *,
    months: Annotated[int, typer.Option("--months", min=1, max=120, help="How many months "
                                        "ahead, starting with the current one.")] = 6,
    as_of: AsOfOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Open deals by expected close month (count, value, weighted value) beside the value
    won in each month; slipped and undated deals are listed, never dropped.

    Example: pipe forecast --months 3
    """
    from pipecli import forecast as fc, render, views

    moment = _moment(as_of)
    p, timelines = _timelines(file, pipeline, moment)
    result = fc.forecast(p, timelines, moment, months,
                         _filters(owner=owner, source=source, tag=tag))
    render.emit_document(views.forecast_document(result), _fmt(fmt))


@app.command()
def stale(
    *,
    as_of: AsOfOpt = None,
    fail: Annotated[bool, typer.Option("--fail", help="Exit with code 3 when anything is "
                                       "listed (for cron alerts).")] = False,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Open deals that need action: idle longer than their stage's rot_days, past their
    close date, or over their stage's SLA; most overdue first.

    Example: pipe stale --fail || mail -s "stale deals" me@example.com
    """
    from pipecli import attention, render, views
    from pipecli.errors import AttentionNeeded

    moment = _moment(as_of)
    p, timelines = _timelines(file, pipeline, moment)
    alerts = attention.stale(p, timelines, moment, _filters(owner=owner, source=source,
                                                             tag=tag))
    render.emit(views.stale_view(alerts, p), _fmt(fmt))
    if fail and alerts:
        deals = len({a.deal.id for a in alerts})
        raise AttentionNeeded(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''} on "
                              f"{deals} deal{'s' if deals != 1 else ''} need attention")


@app.command("next")
def next_(
    *,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many deals.")] = 10,
    as_of: AsOfOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Open deals ranked by what most deserves attention now: weighted value, raised by
    staleness and a near or passed close date (formula in docs/metrics.md).

    Example: pipe next -n 5
    """
    from pipecli import attention, render, views

    moment = _moment(as_of)
    p, timelines = _timelines(file, pipeline, moment)
    ranked = attention.rank_open(p, timelines, moment, _filters(owner=owner, source=source,
                                                                 tag=tag))
    render.emit(views.next_view(ranked, p, limit), _fmt(fmt))


def main() -> None:
    """Entry point: run the app, turning every domain error into one line and an exit code."""
    from pipecli import render
    from pipecli.errors import InvalidConfig, PipeError

    try:
        code = app(standalone_mode=False, prog_name="pipe")
    except InvalidConfig as e:
        for problem in e.problems:
            render.error(str(problem))
        sys.exit(e.exit_code)
    except PipeError as e:
        render.error(str(e), e.label)
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as e:  # usage errors: bad option, missing argument
        e.show()
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (pipe ... | head): not an error
        sys.exit(0)
    except Exception as e:  # a bug in pipe, not the user's mistake
        if os.environ.get("PIPE_DEBUG"):
            raise
        render.error(f"internal error ({type(e).__name__}: {e}); nothing was changed. "
                     f"Please report it; PIPE_DEBUG=1 shows the details")
        sys.exit(70)
    if code == 130:
        render.error("interrupted; nothing was changed")
    sys.exit(code if isinstance(code, int) else 0)
