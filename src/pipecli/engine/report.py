"""Every report figure from the facts table, by GROUP BY queries — the one path for both
stores. The sums feed pipecli.engine.figures.assemble, which derives rates and averages."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal

from pipecli.engine.facts import Scope, fill_facts, furthest, one_pipeline, whole_file
from pipecli.engine.figures import (ZERO, Filters, Outcomes, PipelineReport, Spread, StageNow,
                                    Sums, assemble, totals_of)
from pipecli.models import LOST, OPEN, WON
from pipecli.store.schema import from_milli

HUNDRED = Decimal(100)


def _money(milli) -> Decimal:
    return from_milli(milli) or ZERO


def report(store, scope: Scope, as_of: datetime, filters: Filters = Filters(),
           group_by: str | None = None) -> PipelineReport:
    """The pipeline report at `as_of` (docs/metrics.md)."""
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        rank = scope.stage_rank
        sums = report_sums(conn, scope, as_of, filters, rank)
        groups = _groups(conn, scope, filters, group_by) if group_by else ()
        return assemble(scope.pipeline, as_of, filters, sums, rank, groups, group_by)


def _window(filters: Filters) -> tuple[str, str, dict]:
    """SQL conditions for the cohort (creation day) and the closing window, with params."""
    windowed = bool(filters.since or filters.until)
    days = {"since": filters.since.isoformat() if filters.since else "0000-00-00",
            "until": filters.until.isoformat() if filters.until else "9999-99-99"}
    cohort = "substr(created_at, 1, 10) BETWEEN :since AND :until" if windowed else "1 = 1"
    closed = "substr(closed_at, 1, 10) BETWEEN :since AND :until" if windowed else "1 = 1"
    return cohort, closed, days


def report_sums(conn: sqlite3.Connection, scope: Scope, as_of: datetime, filters: Filters,
                rank: dict[str, int]) -> Sums:
    """The report's Sums from the facts table (fill_facts first)."""
    pipeline = scope.pipeline
    m, p = int(as_of.timestamp()), pipeline.name
    cohort, in_window, days = _window(filters)

    # One pass gives the deals per stage (count, value, age), their weighted value (by
    # probability) and the open/won/lost outcomes (in the closing window).
    here = {s.key: StageNow() for s in pipeline.stages}
    strays: list[str] = []
    outcomes = Outcomes()
    totals = {OPEN: [0, ZERO], WON: [0, ZERO], LOST: [0, ZERO]}
    ages: dict[str, list[int]] = {}
    for stage, status, probability, count, value, aged, age_total, closed_n, closed_value in \
            conn.execute(
                f"SELECT stage, status, probability, count(*), sum(value_milli), "
                f"count(stay_start), sum(:m - stay_start), "
                f"sum(CASE WHEN {in_window} THEN 1 ELSE 0 END), "
                f"sum(CASE WHEN {in_window} THEN value_milli END) "
                f"FROM temp.facts WHERE pipeline = :p GROUP BY stage, status, probability",
                {"m": m, "p": p, **days}):
        line = here.get(stage)
        if line is None:
            strays.extend(r[0] for r in conn.execute(
                "SELECT id FROM temp.facts WHERE pipeline = :p AND stage = :s",
                {"p": p, "s": stage}))
            continue
        amount = _money(value)
        line.count += count
        line.value += amount
        age = ages.setdefault(stage, [0, 0])
        age[0] += aged
        age[1] += age_total or 0
        own = Decimal(probability) if probability else pipeline.stage(stage).probability
        w = amount * own / HUNDRED
        line.weighted += w
        if status == OPEN:
            outcomes.open_weighted += w
            totals[OPEN][0] += count
            totals[OPEN][1] += amount
        elif status in totals:
            totals[status][0] += closed_n or 0
            totals[status][1] += _money(closed_value)
    for stage, (aged, age_total) in ages.items():
        if pipeline.stage(stage).outcome is None:
            here[stage].age = Spread(aged, age_total, _median(
                conn, "SELECT :m - stay_start AS d FROM temp.facts WHERE pipeline = :p AND "
                      "stage = :s", {"m": m, "p": p, "s": stage}, aged))
    outcomes.open_count, outcomes.open_value = totals[OPEN]
    outcomes.won_count, outcomes.won_value = totals[WON]
    outcomes.lost_count, outcomes.lost_value = totals[LOST]

    reached = [0] * len(rank)
    reached_value = [ZERO] * len(rank)
    handed_off = returned = 0
    # Paths are few (deals share them), so the furthest stage is found once per path.
    for visited, count, value, handed, back in conn.execute(
            f"SELECT visited, count(*), sum(value_milli), sum(handed_off), sum(returned) "
            f"FROM temp.facts WHERE {cohort} GROUP BY visited", days):
        r = furthest(scope, visited)
        if 0 <= r < len(rank):
            reached[r] += count
            reached_value[r] += _money(value)
        handed_off += handed or 0
        returned += back or 0

    stays = {s.key: Spread() for s in pipeline.stages}
    stay_key = "st.pipeline || '/' || st.stage" if scope.whole else "st.stage"
    own = "" if scope.whole else "st.pipeline = :p AND"
    conn.execute("DROP TABLE IF EXISTS temp.done")
    # CROSS JOIN keeps SQLite scanning stays in order and probing facts by id.
    conn.execute(f"CREATE TEMP TABLE done AS SELECT {stay_key} AS stage, "
                 f"st.ended - st.started AS d FROM stays AS st "
                 f"CROSS JOIN temp.facts AS f WHERE f.id = st.deal_id AND "
                 f"{own} st.ended <= :m AND "
                 f"{cohort.replace('created_at', 'f.created_at')}", {"p": p, "m": m, **days})
    conn.execute("CREATE INDEX temp.done_by_stage ON done (stage, d)")
    for stage, n, total in conn.execute(
            "SELECT stage, count(*), sum(d) FROM temp.done GROUP BY stage"):
        if stage in stays and pipeline.stage(stage).outcome is None:
            stays[stage] = Spread(n, total, _median(
                conn, "SELECT d FROM temp.done WHERE stage = :s", {"s": stage}, n))

    won = (f"FROM temp.facts WHERE pipeline = :p AND status = 'won' AND "
           f"closed_s IS NOT NULL AND {in_window}")
    n, total = conn.execute(f"SELECT count(*), sum(closed_s - created_s) {won}",
                            {"p": p, **days}).fetchone()
    outcomes.cycles = Spread(n, total or 0, _median(
        conn, f"SELECT closed_s - created_s AS d {won}", {"p": p, **days}, n))

    reasons: dict[str, tuple[int, Decimal]] = {}
    for reason, count, value in conn.execute(
            f"SELECT lost_reason, count(*), sum(value_milli) FROM temp.facts "
            f"WHERE pipeline = :p AND status = 'lost' AND {in_window} GROUP BY lost_reason",
            {"p": p, **days}):
        key = reason or "(none given)"
        before = reasons.get(key, (0, ZERO))
        reasons[key] = (before[0] + count, before[1] + _money(value))
    return Sums(here, reached, reached_value, stays, outcomes, reasons, handed_off, returned,
                tuple(sorted(strays)))


def _median(conn, select: str, params: dict, n: int) -> float | None:
    """The median of column d of `select` (n rows), as statistics.median computes it."""
    if not n:
        return None
    middle = [row[0] for row in conn.execute(
        f"SELECT d FROM ({select}) AS q ORDER BY d LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}",
        params)]
    return middle[0] if n % 2 else (middle[0] + middle[1]) / 2


def _groups(conn, scope: Scope, filters: Filters, by: str) -> tuple:
    """Totals per owner, source, company or tag (one pass over the pipeline's facts rows)."""
    pipeline = scope.pipeline
    cohort, in_window, days = _window(filters)
    groups: dict[str, dict] = {}
    sql = (f"SELECT {'tags' if by == 'tag' else by}, stage, status, probability, value_milli, "
           f"CASE WHEN status = 'open' OR {in_window} THEN 1 ELSE 0 END, "
           f"closed_s - created_s FROM temp.facts WHERE pipeline = :p")
    for key, stage, status, probability, value, counted, cycle in conn.execute(
            sql, {"p": pipeline.name, **days}):
        if not counted:
            continue
        keys = ([t for t in (key or "").split(";") if t] or [""]) if by == "tag" else [key]
        for name in keys:
            g = groups.setdefault(name or "(none)", {"o": Outcomes(), "cycles": []})
            o, amount = g["o"], _money(value)
            if status == OPEN:
                o.open_count += 1
                o.open_value += amount
                s = pipeline.stage(stage)
                own = Decimal(probability) if probability else (s.probability if s else ZERO)
                o.open_weighted += amount * own / HUNDRED
            elif status == WON:
                o.won_count += 1
                o.won_value += amount
                if cycle is not None:
                    g["cycles"].append(cycle)
            elif status == LOST:
                o.lost_count += 1
                o.lost_value += amount
    out = []
    for name, g in groups.items():
        g["o"].cycles = Spread.of(g["cycles"])
        out.append((name, totals_of(g["o"])))
    # Names equal but for case (Åsa, ÅSA) are separate groups: order them by the exact name
    # too, or they would come in whatever order the rows happen to be read.
    return tuple(sorted(out, key=lambda kv: (kv[0] == "(none)", kv[0].lower(), kv[0])))


__all__ = ["report", "one_pipeline", "whole_file"]
