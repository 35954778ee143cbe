"""Reading the pipeline: pipe report, forecast, stale, next, board."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from pipecli.cli.common import (AsOfOpt, CloseAfterOpt, CloseBeforeOpt, CompanyOpt, FileOpt,
                                FormatOpt, GroupBy, OutputOpt, OwnerOpt, PipelineOpt,
                                SearchOpt, SourceOpt, TagOpt, ValueMaxOpt, ValueMinOpt, app,
                                format_name, open_workspace, report_filters, report_moment,
                                search_of)
from pipecli.models import ConversionMode


class Probability(str, Enum):
    configured = "configured"
    historical = "historical"


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
    search: SearchOpt = None,
    company: CompanyOpt = None,
    value_min: ValueMinOpt = None,
    value_max: ValueMaxOpt = None,
    close_after: CloseAfterOpt = None,
    close_before: CloseBeforeOpt = None,
    by: Annotated[Optional[GroupBy], typer.Option("--by", help="Totals per owner, source, "
                                                  "company, tag or currency, side by "
                                                  "side.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="One end-to-end funnel over every "
                                       "pipeline of the file (marketing → sales → won).")]
    = False,
    conversion: Annotated[ConversionMode, typer.Option(
        "--conversion", case_sensitive=False,
        help="Which stages a deal counts at in the funnel: furthest (every stage up to the "
             "furthest it reached), ordered (only the stages it went through in order, "
             "none skipped) or any (each stage it was ever in, on its own).")]
    = ConversionMode.FURTHEST,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The pipeline report: funnel chart, deals per stage, conversion, time in stage, win
    rate, deal size, sales cycle, velocity and lost reasons (see `pipe help metrics`).
    `-o html --output report.html` writes it as one self-contained page with charts.

    Example: pipe report --since 2026-01-01 --by owner --conversion ordered
    """
    from pipecli.output import render
    from pipecli.output.destination import format_for, output_to

    moment = report_moment(as_of)
    from pipecli.engine import report as engine

    ws, store = open_workspace(file)
    scope = engine.whole_file(ws) if all_ else engine.one_pipeline(ws.pipeline(pipeline), ws)
    filters = report_filters(since=since, until=until, owner=owner, source=source, tag=tag,
                             narrow=search_of(scope.pipeline.currency, search, company,
                                              value_min, value_max, close_after,
                                              close_before))
    p = scope.pipeline
    name = format_for(format_name(fmt), output)
    result = engine.report(store, scope, moment, filters, group_by=by.value if by else None,
                           cycles=name == "html",
                           conversion=conversion)
    observed = None
    if not all_:  # the configured stage probabilities beside what the history shows
        from pipecli.engine.probabilities import SAMPLE_FLOOR
        from pipecli.engine.probabilities import observed as observe

        observed = observe(store, p, moment, closed_since=filters.since,
                           closed_until=filters.until, filters=filters, ws=ws)
    with output_to(output):
        if name == "html":
            from pipecli.output.html.page import Beside
            from pipecli.output.html.report_page import report_page

            render.write(report_page(result, Beside(observed)))  # floor: SAMPLE_FLOOR
        else:
            from pipecli.output import report_views

            doc = report_views.report_document(result)
            if observed is not None:
                from pipecli.output.probability_view import with_probabilities

                doc = with_probabilities(doc, observed, SAMPLE_FLOOR,
                                         "Stage probabilities: given in the pipeline file "
                                         "and observed (won of the closed deals that "
                                         "passed the stage)")
            render.emit_document(doc, name)
    if result.strays:
        render.warn(f"{len(result.strays)} deal{'s are' if len(result.strays) != 1 else ' is'} "
                    f"at a stage {p.name!r} does not define and so in no stage row "
                    f"({', '.join(result.strays[:5])}); run `pipe check`")


@app.command()
def forecast(
    *,
    months: Annotated[int, typer.Option("--months", min=1, max=120, help="How many months "
                                        "ahead, starting with the current one.")] = 6,
    deals: Annotated[bool, typer.Option("--deals", help="Also list the slipped and undated "
                                        "deals (sums only by default).")] = False,
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
    probability: Annotated[Probability, typer.Option(
        "--probability", help="Weigh deals by the stages' configured probabilities, or by "
                              "the historical ones: the share of closed deals that passed "
                              "each stage that was won.")] = Probability.configured,
    sample_floor: Annotated[int, typer.Option(
        "--sample-floor", min=1, help="Historical: closed deals a stage needs, else its "
                                      "configured probability is kept (and marked).")] = 10,
    closed_since: Annotated[Optional[str], typer.Option(
        "--closed-since", help="Historical: only deals closed on or after this day.")] = None,
    closed_until: Annotated[Optional[str], typer.Option(
        "--closed-until", help="Historical: only deals closed on or before this day.")]
    = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Open deals by expected close month (count, value, weighted value) beside the value
    won in each month; slipped, undated and later deals are summed, never dropped
    (--deals lists the slipped and undated ones). `-o html` charts it in one page.

    Example: pipe forecast --months 3 --deals
    """
    from pipecli.output import render
    from pipecli.output.destination import format_for, output_to
    from pipecli.engine import lists

    moment = report_moment(as_of)
    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    narrow = search_of(p.currency, search, company, value_min, value_max, close_after,
                       close_before)
    filters = report_filters(owner=owner, source=source, tag=tag, narrow=narrow)
    observed = None
    if probability == Probability.historical:
        from pipecli.engine.probabilities import observed as observe
        from pipecli.engine.probabilities import with_used

        window = report_filters(since=closed_since, until=closed_until)
        observed = observe(store, p, moment, closed_since=window.since,
                           closed_until=window.until, floor=sample_floor, filters=filters,
                           ws=ws)
        p = with_used(p, observed)
    elif closed_since or closed_until:
        from pipecli.errors import UsageError

        raise UsageError("--closed-since and --closed-until choose the deals behind "
                         "--probability historical; give it too")
    result = lists.forecast(store, p, moment, months, filters, with_deals=deals, ws=ws)
    name = format_for(format_name(fmt), output)
    with output_to(output):
        if name == "html":
            from pipecli.output.html.lists_page import forecast_page
            from pipecli.output.html.page import Beside

            render.write(forecast_page(result, filters, Beside(observed, sample_floor)))
        else:
            from pipecli.output import report_views

            doc = report_views.forecast_document(result)
            if observed is not None:
                from pipecli.output.probability_view import with_probabilities

                doc = with_probabilities(doc, observed, sample_floor,
                                         "Stage probabilities used (historical)")
            render.emit_document(doc, name)


@app.command()
def stale(
    *,
    as_of: AsOfOpt = None,
    fail: Annotated[bool, typer.Option("--fail", help="Exit with code 3 when anything is "
                                       "listed (for cron alerts).")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most this "
                                                 "many alerts (the most overdue).")] = None,
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
    fmt: FormatOpt = None,
) -> None:
    """Open deals that need action: idle longer than their stage's rot_days, past their
    close date, or over their stage's SLA; most overdue first.

    Example: pipe stale --fail || mail -s "stale deals" me@example.com
    """
    from pipecli.output import render, views
    from pipecli.engine import lists
    from pipecli.errors import AttentionNeeded

    moment = report_moment(as_of)
    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    filters = report_filters(owner=owner, source=source, tag=tag, narrow=search_of(
        p.currency, search, company, value_min, value_max, close_after, close_before))
    alerts = lists.stale(store, p, moment, filters, limit, ws)
    view = views.stale_view(alerts, p)
    render.emit_stream(view, format_name(fmt))
    found = view.found
    if fail and found["alerts"]:
        n, deals = found["alerts"], len(found["deals"])
        if alerts.matched is not None and alerts.matched > n:  # cut by -n: say the whole
            raise AttentionNeeded(f"{alerts.matched} alerts need attention ({n} shown)")
        raise AttentionNeeded(f"{n} alert{'s' if n != 1 else ''} on "
                              f"{deals} deal{'s' if deals != 1 else ''} need attention")


@app.command("next")
def next_(
    *,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many deals.")] = 10,
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
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Open deals ranked by what most deserves attention now: weighted value, raised by
    staleness and a near or passed close date (formula: `pipe help metrics`).

    Example: pipe next -n 5
    """
    from pipecli.output import render, views
    from pipecli.engine import lists

    moment = report_moment(as_of)
    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    ranked, currencies = lists.ranked(store, p, moment, report_filters(
        owner=owner, source=source, tag=tag, narrow=search_of(
            p.currency, search, company, value_min, value_max, close_after, close_before)),
        limit, ws)
    render.emit(views.next_view(ranked, p, limit, currencies), format_name(fmt))


class BoardSort(str, Enum):
    """How `pipe board` orders the deals of each column (engine.board.SORTS)."""

    value = "value"
    updated = "updated"
    close = "close"
    name = "name"
    created = "created"


@app.command()
def board(
    *,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Deals shown per stage "
                                       "(the rest are counted: +N more).")] = 5,
    sort: Annotated[BoardSort, typer.Option("--sort", case_sensitive=False, help="Order of "
                                            "each stage's deals: value (largest first), "
                                            "updated, created (oldest first), close "
                                            "(soonest first), name.")] = BoardSort.value,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
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
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The open deals as a board of columns, one per open stage, each headed by its deal
    count, value and weighted value, with its top deals by value (or --sort); the columns
    fit the terminal, wrapping into rows when there are more stages than fit. `-o html`
    draws it as one page with a chart.

    Example: pipe board -n 3 --owner dana
    """
    from pipecli.engine import board as engine
    from pipecli.output import board_view, render
    from pipecli.output.destination import format_for, output_to

    moment = report_moment(as_of)
    ws, store = open_workspace(file)
    p = ws.pipeline(pipeline)
    filters = report_filters(owner=owner, source=source, tag=tag, narrow=search_of(
        p.currency, search, company, value_min, value_max, close_after, close_before))
    result = engine.board(store, p, moment, filters, limit=limit, sort=sort.value,
                          reverse=reverse, ws=ws)
    name = format_for(format_name(fmt), output)
    with output_to(output):
        if name == "html":
            from pipecli.output.html.lists_page import board_page

            render.write(board_page(result, filters))
        else:
            board_view.emit_board(result, name)
    if result.stray_count:
        n = result.stray_count
        render.warn(f"{n} open deal{'s are' if n != 1 else ' is'} at a stage {p.name!r} does "
                    f"not define and so on no column ({', '.join(result.strays)}"
                    f"{', …' if n > len(result.strays) else ''}); run `pipe check`")
