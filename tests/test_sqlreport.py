"""Reports on SQLite are computed in SQL (pipecli.sqlreport); on any history they must equal
the Python replay, figure for figure — at the end, in the middle of the history (--as-of,
with later edits, deletions and undos), and under filters."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PIPELINE_YAML, add
from pipecli import analysis, attention, forecast, ops, reports
from pipecli.errors import PipeError
from pipecli.pipeline import load_workspace
from pipecli.replay import replay
from pipecli.store import open_store

T0 = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=1)))
STAGES = ["prospecting", "qualification", "proposal", "won", "post_purchase"]
KINDS = ["add", "move", "won", "lost", "reopen", "edit", "owner", "rm", "undo"]
action = st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.sampled_from(STAGES),
                   st.integers(0, 5000), st.integers(1, 60))


def play(folder: Path, actions):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    ws = load_workspace(folder / "pipeline.yaml")
    store = open_store(ws.store_path)
    p = ws.pipelines[0]
    ids: list[str] = []
    at = T0
    for kind, pick, stage, value, hours in actions:
        at += timedelta(hours=hours)
        try:
            if kind == "add" or not ids:
                ids.append(ops.add(store, p, name=f"deal {len(ids)}",
                                   fields={"value": Decimal(value) / 4, "email": "a@b.co",
                                           "owner": ["Åsa", "lee"][value % 2],
                                           "probability": Decimal(value % 7) if value % 3 else
                                           None}, at=at).deal.id)
                continue
            deal = ids[pick % len(ids)]
            if kind == "move":
                ops.move(store, ws, deal, stage=stage, at=at)
            elif kind == "won":
                ops.win(store, ws, deal, at=at)
            elif kind == "lost":
                ops.lose(store, ws, deal, reason=["price", ""][value % 2], at=at)
            elif kind == "reopen":
                ops.reopen(store, ws, deal, at=at)
            elif kind == "edit":
                ops.edit(store, ws, deal, fields={"value": Decimal(value)}, at=at)
            elif kind == "owner":
                ops.edit(store, ws, deal, fields={"owner": ["ÅSA", "sam"][value % 2]}, at=at)
            elif kind == "rm":
                ops.remove(store, ws, deal, at=at)
            else:
                ops.undo(store, ws, redo=kind == "redo", at=at)
        except PipeError:
            pass  # a rule said no: a valid outcome of a random command
    return ws, store, p, at


def both_ways(store, p, moment, filters):
    by_sql = analysis.report(store, p, moment, filters)
    with store.read() as snapshot:
        by_replay = reports.pipeline_report(p, replay(snapshot.events(), p, moment), moment,
                                            filters)
    return by_sql, by_replay


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(action, min_size=1, max_size=30), st.floats(0.1, 1.2))
def test_sql_reports_equal_the_replay(tmp_path_factory, actions, fraction):
    ws, store, p, end = play(tmp_path_factory.mktemp("s"), actions)
    moment = T0 + (end - T0) * fraction
    for filters in (reports.Filters(), reports.Filters(owner="åsa"),
                    reports.Filters(since=(T0 + (end - T0) / 3).date(), until=moment.date())):
        by_sql, by_replay = both_ways(store, p, moment, filters)
        assert by_sql == by_replay
    open_sql = attention.stale(p, analysis.timelines(store, p, moment, open_only=True), moment)
    with store.read() as snapshot:
        open_replay = attention.stale(p, replay(snapshot.events(), p, moment), moment)
    assert [(a.deal.id, a.kind, a.overdue_days) for a in open_sql] == \
           [(a.deal.id, a.kind, a.overdue_days) for a in open_replay]
    fc_sql = forecast.forecast(p, analysis.timelines(store, p, moment), moment)
    with store.read() as snapshot:
        fc_replay = forecast.forecast(p, replay(snapshot.events(), p, moment), moment)
    assert figures(fc_sql) == figures(fc_replay)


def figures(fc: forecast.Forecast):
    """A forecast's figures and deals (SQL timelines carry only what the forecast reads)."""
    def bucket(b):
        return [t.id for t in b.deals], b.value, b.weighted_value
    return ([(m.month, bucket(m.open), m.won_count, m.won_value) for m in fc.months],
            bucket(fc.slipped), bucket(fc.no_close_date), bucket(fc.later))


def test_a_version_1_store_is_upgraded_when_opened(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    deal = add(run, "Acme", "--value", "100", "--at", "2026-11-01")
    assert run("move", deal, "proposal", "--at", "2026-11-05").code == 0
    add(run, "Beta", "--at", "2026-11-02")
    expected = run("report", "-o", "json").out
    conn = sqlite3.connect(tmp_path / "deals.sqlite")
    stays = conn.execute("SELECT * FROM stays ORDER BY deal_id, seq").fetchall()
    assert len(stays) == 3
    conn.execute("DROP TABLE stays")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    conn.commit()
    conn.close()
    assert run("report", "-o", "json").out == expected
    conn = sqlite3.connect(tmp_path / "deals.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("2",)
    assert conn.execute("SELECT * FROM stays ORDER BY deal_id, seq").fetchall() == stays
