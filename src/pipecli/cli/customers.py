"""`pipe customers`: customer lifetime value from the won deals."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from pipecli.cli.common import (AsOfOpt, CloseAfterOpt, CloseBeforeOpt, CompanyOpt, FileOpt,
                                FormatOpt, OutputOpt, OwnerOpt, PipelineOpt, SearchOpt,
                                SourceOpt, TagOpt, ValueMaxOpt, ValueMinOpt, app, format_name,
                                open_workspace, report_filters, report_moment, search_of)


class Per(str, Enum):
    """What a customer is (engine.customers.PER)."""

    company = "company"
    contact = "contact"


class CustomerSort(str, Enum):
    """How the top customers are ordered (engine.customers.SORTS)."""

    revenue = "revenue"
    deals = "deals"
    last = "last"


@app.command()
def customers(
    *,
    per: Annotated[Per, typer.Option("--per", case_sensitive=False, help="A customer is a "
                                     "company (deals without one: by email, contact name, "
                                     "else the deal alone) or a contact (email, contact name, "
                                     "company, deal).")] = Per.company,
    lapse: Annotated[int, typer.Option(
        "--lapse", min=1, max=36525, metavar="DAYS",
        help="A customer whose last win is more than this many days before the report "
             "moment has lapsed (at most 36525: 100 years).")] = 365,
    since: Annotated[Optional[str], typer.Option("--since", help="Only deals won on or after "
                                                 "this day.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="… on or before this day.")]
    = None,
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Top customers listed "
                                       "(the rest are counted; 0: the figures alone).")] = 10,
    sort: Annotated[CustomerSort, typer.Option("--sort", case_sensitive=False, help="Order of "
                                               "the customers: revenue (largest first), "
                                               "deals (most won deals first), last (latest "
                                               "win first).")] = CustomerSort.revenue,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    search: SearchOpt = None,
    company: CompanyOpt = None,
    value_min: ValueMinOpt = None,
    value_max: ValueMaxOpt = None,
    close_after: CloseAfterOpt = None,
    close_before: CloseBeforeOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="The won deals of every pipeline of the "
                                       "file.")] = False,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Customer lifetime value from the won deals, per company (or contact): customers,
    revenue per customer, average order, repeat rate, lapsed and active customers, observed
    and expected lifetime, CLV; then the top customers (definitions: `pipe help metrics`).
    `-o html` makes it one self-contained page with a chart of the top customers.

    Example: pipe customers --since 2026-01-01 --lapse 180 -n 20
    """
    from pipecli.engine import customers as engine
    from pipecli.engine.facts import one_pipeline, whole_file
    from pipecli.output.destination import emit_value

    moment = report_moment(as_of)
    ws, store = open_workspace(file)
    scope = whole_file(ws) if all_ else one_pipeline(ws.pipeline(pipeline), ws)
    filters = report_filters(since=since, until=until, owner=owner, source=source, tag=tag,
                             narrow=search_of(scope.pipeline.currency, search, company,
                                              value_min, value_max, close_after,
                                              close_before))
    result = engine.customers(store, scope, moment, filters, per=per.value, lapse_days=lapse,
                              sort=sort.value, limit=limit)
    emit_value(result, format_name(fmt), output,
               "pipecli.output.html.customers_page:customers_page",
               "pipecli.output.customers_view:customers_document")
