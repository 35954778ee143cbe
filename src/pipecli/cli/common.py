"""What every command shares: the Typer app, the option types, and small helpers that
turn option values into core arguments."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipecli.cli import completion

app = typer.Typer(
    name="pipe",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from pipecli import __version__
        from pipecli.output import render

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
    html = "html"  # report, forecast, board, digest, costs, customers (render.HTML_COMMANDS)


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
    help="Which pipeline of the file (default: the first).",
    autocompletion=completion.pipelines)]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-o", case_sensitive=False, show_default=False,
    help="Output format: table (default on a terminal), plain (default otherwise), csv, tsv, "
         "json, markdown; html for report, forecast, board, digest, costs and customers.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", show_default=False, dir_okay=False,
    help="Write the output to this file (whole or not at all) instead of stdout; without "
         "-o, a name ending in .html gets html, any other plain.")]
AtOpt = Annotated[Optional[str], typer.Option(
    "--at", show_default=False,
    help="When it happened: YYYY-MM-DD, an ISO date-time, today, yesterday, -3d, Dec 1 "
         "(default: now).")]
NoteOpt = Annotated[str, typer.Option(
    "--note", "-m", help="A note kept in the deal's history (-m as in git commit; -n is "
                         "always a count).")]
DealArg = Annotated[str, typer.Argument(
    metavar="DEAL", help="Deal id, unique id prefix, source-system id (as imported), name "
                         "(any case), or a unique part of the name.",
    autocompletion=completion.deals)]


def format_name(fmt: Optional[Format]) -> str | None:
    return fmt.value if fmt else None


def workspace(file: Optional[Path]):
    from pipecli.pipeline import find_pipeline_file, load_workspace

    return load_workspace(find_pipeline_file(str(file) if file else None))


def open_workspace(file: Optional[Path]):
    from pipecli.store import open_store

    ws = workspace(file)
    return ws, open_store(ws.store_path)


def when(at: Optional[str]):
    from pipecli.values import parse_when

    return parse_when(at) if at else None


def say(text: str) -> None:
    from pipecli.output import render

    render.message(text)


def deal_label(deal) -> str:
    from pipecli.output.render import shown

    return f"{deal.id} “{shown(deal.name)}”"


def search_of(currency, text, company, value_min, value_max, close_after, close_before):
    """The list filters beyond stage/status/owner/source/tag, parsed and checked; value
    bounds are amounts in `currency` (the listed pipeline's)."""
    from pipecli import values as v
    from pipecli.engine.listing import Search
    from pipecli.errors import UsageError

    low = v.parse_money(value_min, currency, what="--value-min") if value_min else None
    high = v.parse_money(value_max, currency, what="--value-max") if value_max else None
    after = v.parse_day(close_after, what="--close-after") if close_after else None
    before = v.parse_day(close_before, what="--close-before") if close_before else None
    if low is not None and high is not None and low > high:
        raise UsageError(f"--value-min {low} is more than --value-max {high}")
    if after and before and after > before:
        raise UsageError(f"--close-after {after} is after --close-before {before}")
    return Search(text=v.clean_text(text, what="--search") if text else None,
                  company=company, value_min=low, value_max=high, close_after=after,
                  close_before=before, currency=currency)


# The filters every read command shares beyond owner, source and tag (engine Search).
SearchOpt = Annotated[Optional[str], typer.Option(
    "--search", "-s", help="Only deals with this text in their name, company, contact, email "
                           "or a note (case and accents ignored).")]
CompanyOpt = Annotated[Optional[str], typer.Option("--company", help="Only this company's "
                                                   "deals (any case).")]
ValueMinOpt = Annotated[Optional[str], typer.Option("--value-min", help="Only deals worth at "
                                                    "least this (in the pipeline's currency).")]
ValueMaxOpt = Annotated[Optional[str], typer.Option("--value-max", help="… at most this.")]
CloseAfterOpt = Annotated[Optional[str], typer.Option("--close-after", help="Only deals "
                                                      "expected to close on or after this "
                                                      "day.")]
CloseBeforeOpt = Annotated[Optional[str], typer.Option("--close-before", help="… on or "
                                                       "before this day.")]


def default_owner(folder) -> str:
    """Who a new deal belongs to when --owner is not given: PIPE_OWNER (set but empty:
    nobody), else git's user.name for the workspace's folder, else nobody."""
    import os
    import subprocess

    from pipecli.values import clean_text

    if "PIPE_OWNER" in os.environ:
        return clean_text(os.environ["PIPE_OWNER"], what="PIPE_OWNER", limit=200)
    try:
        found = subprocess.run(["git", "config", "user.name"], cwd=folder, capture_output=True,
                               text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""  # no git here: nobody
    name = found.stdout.strip() if found.returncode == 0 else ""
    try:
        return clean_text(name, what="git's user.name", limit=200)
    except Exception:  # noqa: BLE001 - a strange name is no reason to refuse a deal
        return ""


def value_currency(ws, store, ref: str, value: str | None) -> str | None:
    """The currency a --value for an existing deal is checked against when the text names
    one (£500, 12 EUR): the deal's own, so a contradiction is refused before anything is
    written. None when it names none (the core then checks the decimals)."""
    from pipecli import money, ops

    if not value or money.stated_currencies(value) is None:
        return None
    with store.read() as snapshot:
        deal = ops.resolve(snapshot, ref)
    pipeline = ws.pipeline_of(deal)
    return deal.currency or (pipeline.currency if pipeline else None)


CurrencyOpt = Annotated[Optional[str], typer.Option(
    "--currency", show_default=False,
    help="ISO 4217 code of the deal's amounts, e.g. EUR (default: the pipeline's).")]


def currency_code(text: str | None) -> str | None:
    """--currency checked against ISO 4217 (None when not given; "" clears: the deal's
    amounts are then in its pipeline's currency)."""
    from pipecli import money
    from pipecli.errors import UsageError

    if text is None or not text.strip():
        return None if text is None else ""
    try:
        return money.check_currency(text.strip().upper(), what="--currency")
    except ValueError as e:
        raise UsageError(str(e)) from None


def deal_fields(*, currency: str | None, value=None, probability=None, company=None, contact=None,
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


AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", show_default=False,
    help="Report the pipeline as it stood at the end of this day (from its history).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Only this owner's deals.",
                                                 autocompletion=completion.owners)]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Only deals from this source.")]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only deals with this tag.")]


class GroupBy(str, Enum):
    owner = "owner"
    source = "source"
    company = "company"
    tag = "tag"
    currency = "currency"


def report_moment(as_of: Optional[str]):
    from pipecli.values import end_of_day, now

    return end_of_day(as_of) if as_of else now()


def report_filters(*, since=None, until=None, owner=None, source=None, tag=None,
                   narrow=None):
    from pipecli.engine.figures import Filters
    from pipecli.values import parse_day

    first = parse_day(since, what="--since") if since else None
    last = parse_day(until, what="--until") if until else None
    if first and last and first > last:
        from pipecli.errors import UsageError

        raise UsageError(f"--since {first} is after --until {last}; nothing could match")
    return Filters(since=first, until=last, owner=owner, source=source, tag=tag,
                   **({"narrow": narrow} if narrow is not None else {}))
