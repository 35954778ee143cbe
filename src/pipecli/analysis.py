"""Where the reports get their deals: SQL on a SQLite store (pipecli.sqlreport), else a
replay of the history in Python (pipecli.replay). Both give the same figures; SQL reads a
million deals in seconds without loading them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from pipecli.models import Pipeline
from pipecli.replay import Timeline, replay
from pipecli.reports import Filters, PipelineReport, assemble, pipeline_report, ranks


def _sql_connection(snapshot):
    """The snapshot's SQLite connection when reports can run in SQL on it, else None."""
    conn = getattr(snapshot, "conn", None)
    if conn is None:
        return None
    from pipecli.store.sqlite_store import has_stays

    return conn if has_stays(conn) else None


def report(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(),
           group_by: str | None = None) -> PipelineReport:
    """The pipeline report at `as_of` (docs/metrics.md), computed where the data is."""
    with store.read() as snapshot:
        conn = _sql_connection(snapshot)
        if conn is None or group_by:  # --by groups are built from replayed timelines
            return pipeline_report(pipeline, replay(snapshot.events(), pipeline, as_of),
                                   as_of, filters, group_by)
        from pipecli import sqlreport

        rank = ranks(pipeline)
        sqlreport.fill_facts(conn, pipeline, as_of, filters)
        return assemble(pipeline, as_of, filters,
                        sqlreport.report_sums(conn, pipeline, as_of, filters, rank), rank)


def timelines(store, pipeline: Pipeline, as_of: datetime, *, open_only: bool = False
              ) -> Iterator[Timeline]:
    """The deals as they stood at `as_of`, streamed: every deal by replay; on SQLite the
    open deals and those won since the month before as_of's (all forecast, stale and next
    look at), read from SQL."""
    with store.read() as snapshot:
        conn = _sql_connection(snapshot)
        if conn is None:
            yield from replay(snapshot.events(), pipeline, as_of)
            return
        from pipecli import sqlreport

        sqlreport.fill_facts(conn, pipeline, as_of)
        since = None if open_only else (as_of.replace(day=1) - timedelta(days=1))
        yield from sqlreport.timelines(conn, pipeline, as_of, since)
