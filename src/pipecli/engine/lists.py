"""The commands that could print a million rows — forecast, stale, next, list — computed
where the data is: sums and orderings in SQL, rows streamed one at a time, so memory does
not grow with the store (`--limit` bounds what is shown)."""

from __future__ import annotations

import heapq
from datetime import datetime
from decimal import Decimal
from typing import Iterator

from pipecli.engine.facts import fill_facts, one_pipeline, timeline_of, timelines
from pipecli.engine.forecast import Bucket, Forecast, Month, months_from
from pipecli.models import Pipeline
from pipecli.engine.figures import ZERO, Filters
from pipecli.store.schema import from_milli

HUNDRED = Decimal(100)


def _weighted(pipeline: Pipeline, stage: str, probability, milli) -> Decimal:
    """value × probability (the deal's own, else its stage's) ÷ 100 — reports.weighted's
    rule, on one GROUP BY row."""
    s = pipeline.stage(stage)
    own = Decimal(probability) if probability else (s.probability if s else ZERO)
    return (from_milli(milli) or ZERO) * own / HUNDRED


def forecast(store, pipeline: Pipeline, as_of: datetime, months: int = 6,
             filters: Filters = Filters(), with_deals: bool = False) -> Forecast:
    """Open deals by close month over `months` months from the as-of month, the value won
    in each, and the slipped, undated and later deals — as sums; the deals themselves of
    the slipped and undated buckets only when asked for."""
    scope = one_pipeline(pipeline)
    keys = months_from(as_of.date(), months)
    today = as_of.date().isoformat()
    sums: dict[str, list] = {k: [0, ZERO, ZERO] for k in (*keys, "slipped", "none", "later")}
    won: dict[str, tuple[int, Decimal]] = {}
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        for bucket, stage, probability, count, value in conn.execute(
                "SELECT CASE WHEN close_date IS NULL THEN 'none' WHEN close_date < :today "
                "THEN 'slipped' ELSE substr(close_date, 1, 7) END AS bucket, stage, "
                "probability, count(*), sum(value_milli) FROM temp.facts "
                "WHERE pipeline = :p AND status = 'open' GROUP BY bucket, stage, probability",
                {"today": today, "p": pipeline.name}):
            line = sums[bucket if bucket in sums else "later"]
            line[0] += count
            line[1] += from_milli(value) or ZERO
            line[2] += _weighted(pipeline, stage, probability, value)
        for month, count, value in conn.execute(
                "SELECT substr(closed_at, 1, 7), count(*), sum(value_milli) FROM temp.facts "
                "WHERE pipeline = :p AND status = 'won' AND closed_at IS NOT NULL "
                "GROUP BY substr(closed_at, 1, 7)", {"p": pipeline.name}):
            won[month] = (count, from_milli(value) or ZERO)
        deals = {}
        for name, condition in (("slipped", "close_date < :today"),
                                ("none", "close_date IS NULL")):
            deals[name] = tuple(timelines(
                conn, scope, f"AND status = 'open' AND {condition}", {"today": today},
                order="close_date, id")) if with_deals else None

    def bucket(key: str, listed=None) -> Bucket:
        count, value, weighted = sums[key]
        return Bucket(count, value, weighted, listed)

    lines = tuple(Month(k, bucket(k), *won.get(k, (0, ZERO))) for k in keys)
    return Forecast(pipeline, as_of, lines, bucket("slipped", deals["slipped"]),
                    bucket("none", deals["none"]), bucket("later"))


# -- stale -----------------------------------------------------------------------------------

def _by_stage(pipeline: Pipeline, attribute: str, params: dict) -> str:
    """SQL: the stage's rot_days / sla_hours for each row (NULL where the stage sets none)."""
    whens = []
    for i, s in enumerate(pipeline.stages):
        limit = getattr(s, attribute)
        if limit:
            params[f"{attribute}{i}"] = s.key
            whens.append(f"WHEN :{attribute}{i} THEN {int(limit)}")
    return f"CASE stage {' '.join(whens)} END" if whens else "NULL"


def stale(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(),
          limit: int | None = None) -> Iterator:
    """Open deals idle beyond rot_days, past their close date, or over a stage SLA, most
    overdue first, streamed (docs/metrics.md). Each is an attention.Alert."""
    from pipecli.engine.attention import Alert

    scope = one_pipeline(pipeline)
    params: dict = {"m": int(as_of.timestamp()), "p": pipeline.name,
                    "today": as_of.date().toordinal()}
    rot = _by_stage(pipeline, "rot_days", params)
    sla = _by_stage(pipeline, "sla_hours", params)
    # The arithmetic is the definition's, step by step, so floats come out as in Python.
    idle = "((:m - last_s) / 86400.0)"
    hours = "((:m - stay_start) / 86400.0 * 24)"
    sql = (f"SELECT * FROM (SELECT f.*, 'idle' AS kind, {idle} - {rot} AS overdue, {rot} AS "
           f"lim FROM temp.facts AS f WHERE {rot} IS NOT NULL AND {idle} > {rot} "
           f"UNION ALL SELECT f.*, 'past_close', :today - close_day, NULL FROM temp.facts "
           f"AS f WHERE close_day < :today "
           f"UNION ALL SELECT f.*, 'sla', ({hours} - {sla}) / 24.0, {sla} FROM temp.facts "
           f"AS f WHERE {sla} IS NOT NULL AND {hours} > {sla}) AS alerts "
           f"WHERE pipeline = :p AND status = 'open' ORDER BY overdue DESC, id, kind")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.read() as snapshot:
        fill_facts(snapshot.conn, scope, as_of, filters)
        for row in snapshot.conn.execute(sql, params):
            t = timeline_of(row[:26])
            kind, overdue, lim = row[26:]
            if kind == "idle":
                days = (as_of - t.last_change_at).total_seconds() / 86400
                yield Alert(t, kind, overdue, f"rot_days {lim}", f"idle {days:.1f} days")
            elif kind == "past_close":
                late = int(overdue)
                yield Alert(t, kind, float(late), f"close date {t.close_date.isoformat()}",
                            f"{late} day{'s' if late != 1 else ''} past")
            else:
                in_stage = (as_of - t.current_stay.start).total_seconds() / 86400 * 24
                yield Alert(t, kind, overdue, f"SLA {lim} h", f"in stage {in_stage:.0f} h")


# -- next ------------------------------------------------------------------------------------

CANDIDATES = 64  # extra rows SQL's float score hands to the exact Decimal ranking


def ranked(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(),
           limit: int | None = None) -> list:
    """The open deals that most deserve attention (attention.rank_open's score), best
    first. With a limit, SQL orders the open deals by the same score in floating point and
    hands the best (plus a margin) to the exact ranking, so only those reach Python."""
    from pipecli.engine.attention import (CLOSE_HORIZON_DAYS, DEFAULT_ROT_DAYS, rank_open,
                                          sort_key)

    scope = one_pipeline(pipeline)
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        if limit is None:
            scored = rank_open(pipeline, timelines(conn, scope, "AND status = 'open'"), as_of)
            return sorted(scored, key=sort_key)
        params: dict = {"m": int(as_of.timestamp()), "today": as_of.date().toordinal(),
                        "p": pipeline.name}
        probability = _stage_case(pipeline, params, "prob", lambda s: float(s.probability), 0)
        rot = _stage_case(pipeline, params, "rot", lambda s: s.rot_days or DEFAULT_ROT_DAYS,
                          DEFAULT_ROT_DAYS)
        weighted = (f"(coalesce(value_milli, 0) / 1000.0 * (CASE WHEN probability IS NULL "
                    f"THEN {probability} ELSE CAST(probability AS REAL) END) / 100.0)")
        stale = f"((:m - last_s) / 86400.0 / {rot})"
        near = f"(1 - (close_day - :today) / {float(CLOSE_HORIZON_DAYS)})"
        urgency = (f"(CASE WHEN {stale} > 2.0 THEN 2.0 ELSE {stale} END + "
                   f"CASE WHEN close_day IS NULL THEN 0 WHEN close_day < :today THEN 2.0 "
                   f"WHEN {near} < 0 THEN 0 ELSE {near} END)")
        rows = conn.execute(
            f"SELECT * FROM temp.facts WHERE pipeline = :p AND status = 'open' "
            f"ORDER BY {weighted} * (1 + {urgency}) DESC, {urgency} DESC, id "
            f"LIMIT {int(limit) + CANDIDATES}", params)
        candidates = [timeline_of(row) for row in rows]
    return heapq.nsmallest(limit, rank_open(pipeline, candidates, as_of), key=sort_key)


def _stage_case(pipeline: Pipeline, params: dict, prefix: str, value, default) -> str:
    """SQL: a per-stage number for each row (CASE stage WHEN ...)."""
    whens = []
    for i, s in enumerate(pipeline.stages):
        params[f"{prefix}{i}"] = s.key
        whens.append(f"WHEN :{prefix}{i} THEN {value(s)}")
    return f"(CASE stage {' '.join(whens)} ELSE {default} END)"
