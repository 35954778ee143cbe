"""`pipe costs`: cost per lead, per qualified lead and per won deal, by source and period."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from pipecli.cli.common import (AsOfOpt, FileOpt, FormatOpt, OutputOpt, PipelineOpt, app,
                                format_name, open_workspace, report_filters,
                                report_moment)


class PeriodKind(str, Enum):
    """How `pipe costs` groups costs and leads."""

    month = "month"
    quarter = "quarter"
    year = "year"


@app.command()
def costs(
    *,
    period: Annotated[Optional[PeriodKind], typer.Option(
        "--period", case_sensitive=False, show_default=False,
        help="Group by month, quarter or year (default: the longest period the costs file "
             "uses).")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only the periods that end on or after this day (whole periods).")]
    = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", help="Only the periods that start on or before this day.")] = None,
    as_of: AsOfOpt = None,
    source: Annotated[Optional[str], typer.Option(
        "--source", help="Only this source's costs and leads (any case).")] = None,
    encoding: Annotated[Optional[str], typer.Option(
        "--encoding", show_default=False,
        help="The costs file's text encoding (default: UTF-8 or a byte-order mark, else "
             "Windows-1252, said in a note).")] = None,
    file: FileOpt = None,
    pipeline: PipelineOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Acquisition cost: the pipeline file's costs file (`costs: costs.csv`, rows of
    period, source, amount) beside the leads each source brought in each period — cost
    per lead (CPL), per qualified lead and per won deal (CAC), each source's total and
    the blended total (definitions: `pipe help metrics`). `-o html` charts it in one page.

    Example: pipe costs --period quarter --since 2026-01-01
    """
    from pipecli.engine.costs import costs as engine
    from pipecli.output import render
    from pipecli.output.destination import emit_value

    moment = report_moment(as_of)
    window = report_filters(since=since, until=until)
    ws, store = open_workspace(file)
    result = engine(store, ws, ws.pipeline(pipeline), moment,
                    kind=period.value if period else None, since=window.since,
                    until=window.until, source=source.strip() if source is not None else None,
                    encoding=encoding)
    for note in result.notes:
        render.warn(render.shown(note))
    emit_value(result, format_name(fmt), output, "pipecli.output.html.costs_page:costs_page",
               "pipecli.output.costs_view:costs_document")
