"""The commands that could print a million rows — forecast, stale, next, list — computed
where the data is: sums and orderings in SQL, rows streamed one at a time, so memory does
not grow with the store (`--limit` bounds what is shown)."""

from __future__ import annotations

import heapq
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Iterator

from pipecli.engine.facts import (FACT_COLUMNS, fill_facts, one_pipeline, timeline_of,
                                  timelines)
from pipecli.engine.forecast import Bucket, Forecast, Month, months_from
from pipecli.models import Pipeline
from pipecli.engine.figures import ZERO, Currencies, Filters, add_to, days_between
from pipecli.rounding import half_up
from pipecli.store.schema import from_milli

HUNDRED = Decimal(100)


def _weighted(pipeline: Pipeline, stage: str, probability, milli) -> Decimal:
    """value × probability (the deal's own, else its stage's) ÷ 100 — reports.weighted's
    rule, on one GROUP BY row."""
    s = pipeline.stage(stage)
    own = Decimal(probability) if probability else (s.probability if s else ZERO)
    return (from_milli(milli) or ZERO) * own / HUNDRED


def currencies_of(conn, pipeline: Pipeline) -> Currencies:
    """The currency rule for the pipeline's deals in the facts table (fill_facts first)."""
    return Currencies.of(pipeline, (c for (c,) in conn.execute(
        "SELECT DISTINCT currency FROM temp.facts WHERE pipeline = :p", {"p": pipeline.name})))


def forecast(store, pipeline: Pipeline, as_of: datetime, months: int = 6,
             filters: Filters = Filters(), with_deals: bool = False, ws=None) -> Forecast:
    """Open deals by close month over `months` months from the as-of month, the value won
    in each, and the slipped, undated and later deals — as sums (per currency, then shown
    as Currencies says); the deals themselves of the slipped and undated buckets only when
    asked for."""
    scope = one_pipeline(pipeline, ws)
    keys = months_from(as_of.date(), months)
    today = as_of.date().isoformat()
    # bucket → [count, {currency: value}, {currency: weighted}]
    sums: dict[str, list] = {k: [0, {}, {}] for k in (*keys, "slipped", "none", "later")}
    won: dict[str, list] = {}
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        cur = currencies_of(conn, pipeline)
        for bucket, stage, probability, currency, count, value in conn.execute(
                "SELECT CASE WHEN close_date IS NULL THEN 'none' WHEN close_date < :today "
                "THEN 'slipped' ELSE substr(close_date, 1, 7) END AS bucket, stage, "
                "probability, currency, count(*), sum(value_milli) FROM temp.facts "
                "WHERE pipeline = :p AND status = 'open' "
                "GROUP BY bucket, stage, probability, currency",
                {"today": today, "p": pipeline.name}):
            line = sums[bucket if bucket in sums else "later"]
            line[0] += count
            add_to(line[1], currency, from_milli(value) or ZERO)
            add_to(line[2], currency, _weighted(pipeline, stage, probability, value))
        for month, currency, count, value in conn.execute(
                "SELECT substr(closed_at, 1, 7), currency, count(*), sum(value_milli) "
                "FROM temp.facts WHERE pipeline = :p AND status = 'won' AND closed_at IS NOT "
                "NULL GROUP BY substr(closed_at, 1, 7), currency", {"p": pipeline.name}):
            line = won.setdefault(month, [0, {}])
            line[0] += count
            add_to(line[1], currency, from_milli(value) or ZERO)
        deals = {}
        for name, condition in (("slipped", "close_date < :today"),
                                ("none", "close_date IS NULL")):
            deals[name] = tuple(timelines(
                conn, scope, f"AND status = 'open' AND {condition}", {"today": today},
                order="close_date, id")) if with_deals else None

    def bucket(key: str, listed=None) -> Bucket:
        count, value, weighted = sums[key]
        parts = {"value": cur.parts(value), "weighted_value": cur.parts(weighted)}
        return Bucket(count, cur.amount(value), cur.amount(weighted), listed,
                      parts if cur.several else {})

    def month(key: str) -> Month:
        count, value = won.get(key, (0, {}))
        return Month(key, bucket(key), count, cur.amount(value),
                     {"won_value": cur.parts(value)} if cur.several else {})

    return Forecast(pipeline, as_of, tuple(month(k) for k in keys),
                    bucket("slipped", deals["slipped"]), bucket("none", deals["none"]),
                    bucket("later"), cur)


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


class Counted:
    """A stream of items (iterate it) and, when it was cut by a limit, how many there were
    in all (`matched`; None when not cut)."""

    def __init__(self, items: Iterator, matched: int | None = None):
        self._items, self.matched = items, matched

    def __iter__(self) -> Iterator:
        return self._items


def stale(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(),
          limit: int | None = None, ws=None) -> Counted:
    """Open deals idle beyond rot_days, past their close date, or over a stage SLA, most
    overdue first, streamed (docs/metrics.md). Each is an attention.Alert; with a limit,
    the alerts there are in all are counted in the same read."""
    matched: list[int] = []
    stream = _stale(store, pipeline, as_of, filters, limit, ws, matched)
    next(stream)  # the read has begun, and the alerts are counted
    return Counted(stream, matched[0] if matched else None)


def _stale(store, pipeline: Pipeline, as_of: datetime, filters: Filters, limit: int | None,
           ws, matched: list) -> Iterator:
    from pipecli.engine.attention import Alert

    scope = one_pipeline(pipeline, ws)
    params: dict = {"m": int(as_of.timestamp()), "p": pipeline.name,
                    "today": as_of.date().toordinal()}
    rot = _by_stage(pipeline, "rot_days", params)
    sla = _by_stage(pipeline, "sla_hours", params)
    # The arithmetic is the definition's, step by step, so floats come out as in Python.
    idle = "((:m - last_s) / 86400.0)"
    hours = "((:m - stay_start) / 86400.0 * 24)"
    needing = [s.key for s in pipeline.stages if pipeline.needs_next_step(s)]
    params.update({f"ns{i}": key for i, key in enumerate(needing)})
    missing = (f"UNION ALL SELECT f.*, 'no_next_step', {idle}, NULL FROM temp.facts AS f "
               f"WHERE next_step = '' AND stage IN "
               f"({', '.join(f':ns{i}' for i in range(len(needing)))}) ") if needing else ""
    sql = (f"SELECT * FROM (SELECT f.*, 'idle' AS kind, {idle} - {rot} AS overdue, {rot} AS "
           f"lim FROM temp.facts AS f WHERE {rot} IS NOT NULL AND {idle} > {rot} "
           f"UNION ALL SELECT f.*, 'past_close', :today - close_day, NULL FROM temp.facts "
           f"AS f WHERE close_day < :today "
           f"UNION ALL SELECT f.*, 'sla', ({hours} - {sla}) / 24.0, {sla} FROM temp.facts "
           f"AS f WHERE {sla} IS NOT NULL AND {hours} > {sla} "
           f"UNION ALL SELECT f.*, 'next_overdue', CASE WHEN next_due_s IS NULL THEN "
           f":today - next_due_day ELSE (:m - next_due_s) / 86400.0 END, NULL FROM temp.facts "
           f"AS f WHERE next_step != '' AND (next_due_day < :today OR next_due_s < :m) "
           f"{missing}) AS alerts "
           f"WHERE pipeline = :p AND status = 'open'")
    with store.read() as snapshot:
        fill_facts(snapshot.conn, scope, as_of, filters)
        if limit is not None:
            matched.append(snapshot.conn.execute(f"SELECT count(*) FROM ({sql})",
                                                 params).fetchone()[0])
            sql += f" ORDER BY overdue DESC, id, kind LIMIT {int(limit)}"
        else:
            sql += " ORDER BY overdue DESC, id, kind"
        yield None
        for row in snapshot.conn.execute(sql, params):
            t = timeline_of(row[:FACT_COLUMNS])
            kind, _, lim = row[FACT_COLUMNS:]
            # SQL found and ordered them; the figures are recomputed here exactly.
            if kind == "idle":
                days = days_between(t.last_change_at, as_of)
                yield Alert(t, kind, days - lim, f"rot_days {lim}",
                            f"idle {half_up(days, 1)} days")
            elif kind == "past_close":
                late = (as_of.date() - t.close_date).days
                yield Alert(t, kind, Fraction(late), f"close date {t.close_date.isoformat()}",
                            f"{late} day{'s' if late != 1 else ''} past")
            elif kind == "next_overdue":
                late = next_step_late(t.next_due, as_of)
                yield Alert(t, kind, late, f"next step due {t.next_due}",
                            f"{t.next_step} — {half_up(late, 1)} days late")
            elif kind == "no_next_step":
                days = days_between(t.last_change_at, as_of)
                yield Alert(t, kind, days, "a next step", f"none; idle {half_up(days, 1)} days")
            else:
                hours = days_between(t.current_stay.start, as_of) * 24
                yield Alert(t, kind, (hours - lim) / 24, f"SLA {lim} h",
                            f"in stage {half_up(hours, 0)} h")


def next_step_late(due, as_of: datetime) -> Fraction:
    """How many days a next step is overdue at as_of: whole days after a due day (the day
    after it is 1), or exact days since a due moment."""
    if due.moment is None:
        return Fraction((as_of.date() - due.day).days)
    return days_between(due.moment, as_of)


# -- next ------------------------------------------------------------------------------------

CANDIDATES = 64  # extra rows SQL's float score hands to the exact Decimal ranking


def ranked(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(),
           limit: int | None = None, ws=None) -> tuple[list, Currencies]:
    """The open deals that most deserve attention (attention.rank_open's score), best
    first, and the currency rule they were ranked under: scores of deals in several
    currencies compare only when converted at the pipeline's rates, so without rates each
    currency is ranked apart (its deals together, currencies in code order). With a limit,
    SQL orders the open deals by the same score in floating point and hands the best (plus
    a margin) to the exact ranking, so only those reach Python."""
    from pipecli.engine.attention import rank_open, sort_key

    scope = one_pipeline(pipeline, ws)
    out: list = []
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        cur = currencies_of(conn, pipeline)
        rates = dict(cur.rates) if cur.converted else {}
        for currency in (cur.present if cur.split else (None,)):
            where = "AND currency = :c" if currency else ""
            if limit is None:
                scored = rank_open(pipeline, timelines(
                    conn, scope, f"AND status = 'open' {where}", {"c": currency}), as_of, rates)
                out += sorted(scored, key=sort_key)
                continue
            candidates = _candidates(conn, pipeline, as_of, limit, where, currency, rates)
            out += heapq.nsmallest(limit, rank_open(pipeline, candidates, as_of, rates),
                                   key=sort_key)
    return out, cur


def _candidates(conn, pipeline: Pipeline, as_of: datetime, limit: int, where: str,
                currency: str | None, rates: dict) -> list:
    """The open deals SQL's floating-point score puts first (limit plus a margin)."""
    from pipecli.engine.attention import CLOSE_HORIZON_DAYS, DEFAULT_ROT_DAYS

    params: dict = {"m": int(as_of.timestamp()), "today": as_of.date().toordinal(),
                    "p": pipeline.name, "c": currency}
    probability = _stage_case(pipeline, params, "prob", lambda s: float(s.probability), 0)
    rot = _stage_case(pipeline, params, "rot", lambda s: s.rot_days or DEFAULT_ROT_DAYS,
                      DEFAULT_ROT_DAYS)
    rate = "1.0"
    if rates:
        whens = []
        for i, (code, r) in enumerate(sorted(rates.items())):
            params[f"code{i}"] = code
            whens.append(f"WHEN :code{i} THEN {float(r)!r}")
        rate = f"(CASE currency {' '.join(whens)} ELSE 1.0 END)"
    weighted = (f"(coalesce(value_milli, 0) / 1000.0 * {rate} * (CASE WHEN probability IS "
                f"NULL THEN {probability} ELSE CAST(probability AS REAL) END) / 100.0)")
    stale = f"((:m - last_s) / 86400.0 / {rot})"
    near = f"(1 - (close_day - :today) / {float(CLOSE_HORIZON_DAYS)})"
    urgency = (f"(CASE WHEN {stale} > 2.0 THEN 2.0 ELSE {stale} END + "
               f"CASE WHEN close_day IS NULL THEN 0 WHEN close_day < :today THEN 2.0 "
               f"WHEN {near} < 0 THEN 0 ELSE {near} END)")
    rows = conn.execute(
        f"SELECT * FROM temp.facts WHERE pipeline = :p AND status = 'open' {where} "
        f"ORDER BY {weighted} * (1 + {urgency}) DESC, {urgency} DESC, id "
        f"LIMIT {int(limit) + CANDIDATES}", params)
    return [timeline_of(row) for row in rows]


def _stage_case(pipeline: Pipeline, params: dict, prefix: str, value, default) -> str:
    """SQL: a per-stage number for each row (CASE stage WHEN ...)."""
    whens = []
    for i, s in enumerate(pipeline.stages):
        params[f"{prefix}{i}"] = s.key
        whens.append(f"WHEN :{prefix}{i} THEN {value(s)}")
    return f"(CASE stage {' '.join(whens)} ELSE {default} END)"
