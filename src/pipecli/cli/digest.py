"""`pipe digest`: what changed in a period, for a weekly mail."""

from __future__ import annotations

from typing import Annotated

import typer

from pipecli.cli.common import (AsOfOpt, FileOpt, FormatOpt, OutputOpt, OwnerOpt,
                                PipelineOpt, SourceOpt, TagOpt, app, format_name,
                                open_workspace, report_filters, report_moment)


@app.command()
def digest(
    *,
    since: Annotated[str, typer.Option("--since", help="The period: a length back from its "
                                       "end (7d, 2w, 1m) or a day (2026-11-01, monday).")]
    = "7d",
    as_of: AsOfOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """What changed in a period: new deals, moves, wins, losses, slipped close dates, next
    steps overdue, and the headline figures at its start and end.

    The figures are those of `pipe report --as-of` the start and the end, and
    their difference. `-o html` makes it one self-contained page with a chart.

    Example: pipe digest --since 7d -o html --output digest.html
    """
    from pipecli.engine.digest import digest as build
    from pipecli.engine.digest import period_start
    from pipecli.errors import UsageError
    from pipecli.output import render
    from pipecli.output.destination import format_for, output_to

    end = report_moment(as_of)
    start = period_start(since, end)
    if start >= end:
        raise UsageError(f"--since {since} is not before the end of the period "
                         f"({end:%Y-%m-%d %H:%M})")
    ws, store = open_workspace(file)
    filters = report_filters(owner=owner, source=source, tag=tag)
    result = build(store, ws, ws.pipeline(pipeline), start, end, filters)
    name = format_for(format_name(fmt), output)
    with output_to(output):
        if name == "html":
            from pipecli.output.html.digest_page import digest_page

            render.write(digest_page(result, filters))
        else:
            from pipecli.output.digest_view import digest_document

            render.emit_document(digest_document(result), name)
