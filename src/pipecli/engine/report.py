"""Every report figure from the facts table, by GROUP BY queries — the one path for both
stores. The sums feed pipecli.engine.figures.assemble, which derives rates and averages."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from pipecli.engine.facts import Scope, fill_facts, one_pipeline, whole_file
from pipecli.engine.figures import (ZERO, Currencies, Filters, Outcomes, PipelineReport,
                                    Spread, StageNow, Sums, add_to, assemble, combine,
                                    exact_median, won_rank)
from pipecli.engine.funnel import FunnelCounts, Paths, funnel_paths
from pipecli.models import LOST, OPEN, WON, ConversionMode
from pipecli.store.schema import from_milli

HUNDRED = Decimal(100)


def _money(milli) -> Decimal:
    return from_milli(milli) or ZERO


def report(store, scope: Scope, as_of: datetime, filters: Filters = Filters(),
           group_by: str | None = None, cycles: bool = False,
           conversion: ConversionMode = ConversionMode.FURTHEST) -> PipelineReport:
    """The pipeline report at `as_of` (docs/metrics.md), its funnel counted by the
    `conversion` mode (engine.funnel); with `cycles`, also the won deals' sales cycles
    counted in bins (engine.cycles: the HTML report's distribution)."""
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        rank = scope.stage_rank
        paths = funnel_paths(conn, scope, conversion, int(as_of.timestamp()))
        sums = report_sums(conn, scope, as_of, filters, rank, paths)
        groups = _groups(conn, scope, filters, group_by, sums.currencies, paths) \
            if group_by else ()
        result = assemble(scope.pipeline, as_of, filters, sums, rank, groups, group_by,
                          conversion)
        if not cycles:
            return result
        from pipecli.engine.cycles import cycle_bins

        _, in_window, days = window_clauses(filters)
        return replace(result, cycle_bins=cycle_bins(
            conn, won_deals(in_window), {"p": scope.pipeline.name, **days}))


def won_deals(in_window: str) -> str:
    """SQL: the won deals the sales-cycle figures cover (closed in the report's window)."""
    return (f"FROM temp.facts WHERE pipeline = :p AND status = 'won' AND "
            f"closed_s IS NOT NULL AND {in_window}")


def window_clauses(filters: Filters) -> tuple[str, str, dict]:
    """SQL conditions for the cohort (creation day) and the closing window, with params."""
    windowed = bool(filters.since or filters.until)
    days = {"since": filters.since.isoformat() if filters.since else "0000-00-00",
            "until": filters.until.isoformat() if filters.until else "9999-99-99"}
    cohort = "substr(created_at, 1, 10) BETWEEN :since AND :until" if windowed else "1 = 1"
    closed = "substr(closed_at, 1, 10) BETWEEN :since AND :until" if windowed else "1 = 1"
    return cohort, closed, days


def report_sums(conn: sqlite3.Connection, scope: Scope, as_of: datetime, filters: Filters,
                rank: dict[str, int], paths: Paths) -> Sums:
    """The report's Sums from the facts table (fill_facts first), the funnel read by
    `paths` (engine.funnel.funnel_paths: the conversion mode)."""
    pipeline = scope.pipeline
    m, p = int(as_of.timestamp()), pipeline.name
    cohort, in_window, days = window_clauses(filters)

    currencies = Currencies.of(pipeline, (c for (c,) in conn.execute(
        "SELECT DISTINCT currency FROM temp.facts")))

    # One pass gives the deals per stage (count, value, age), their weighted value (by
    # probability) and the open/won/lost outcomes (in the closing window), each currency's
    # money apart.
    here = {s.key: StageNow() for s in pipeline.stages}
    strays: list[str] = []
    outcomes: dict[str, Outcomes] = {}
    ages: dict[str, list[int]] = {}
    for stage, status, probability, currency, count, value, aged, age_total, closed_n, \
            closed_value in conn.execute(
                f"SELECT stage, status, probability, currency, count(*), sum(value_milli), "
                f"count(stay_start), sum(:m - stay_start), "
                f"sum(CASE WHEN {in_window} THEN 1 ELSE 0 END), "
                f"sum(CASE WHEN {in_window} THEN value_milli END) "
                f"FROM temp.facts WHERE pipeline = :p "
                f"GROUP BY stage, status, probability, currency",
                {"m": m, "p": p, **days}):
        line = here.get(stage)
        if line is None:
            strays.extend(r[0] for r in conn.execute(
                "SELECT id FROM temp.facts WHERE pipeline = :p AND stage = :s",
                {"p": p, "s": stage}))
            continue
        amount = _money(value)
        line.count += count
        add_to(line.value, currency, amount)
        age = ages.setdefault(stage, [0, 0])
        age[0] += aged
        age[1] += age_total or 0
        own = Decimal(probability) if probability else pipeline.stage(stage).probability
        w = amount * own / HUNDRED
        add_to(line.weighted, currency, w)
        o = outcomes.setdefault(currency, Outcomes())
        if status == OPEN:
            o.open_weighted += w
            o.open_count += count
            o.open_value += amount
        elif status == WON:
            o.won_count += closed_n or 0
            o.won_value += _money(closed_value)
        elif status == LOST:
            o.lost_count += closed_n or 0
            o.lost_value += _money(closed_value)
    for stage, (aged, age_total) in ages.items():
        if pipeline.stage(stage).outcome is None:
            here[stage].age = Spread(aged, age_total, _median(
                conn, "SELECT :m - stay_start AS d FROM temp.facts WHERE pipeline = :p AND "
                      "stage = :s", {"m": m, "p": p, "s": stage}, aged))

    funnel = FunnelCounts.empty(len(rank), won_rank(rank, pipeline))
    handed_off = returned = 0
    # Paths are few (deals share them), so the stages counted are found once per path.
    for path, currency, count, value, handed, back in conn.execute(
            f"SELECT {paths.column} AS path, currency, count(*), sum(value_milli), "
            f"sum(handed_off), sum(returned) FROM temp.facts WHERE {cohort} "
            f"GROUP BY path, currency", days):
        funnel.add(paths.members(path), count, currency, _money(value))
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

    won = won_deals(in_window)
    cycles = Spread()
    for currency, n, total in conn.execute(
            f"SELECT currency, count(*), sum(closed_s - created_s) {won} GROUP BY currency",
            {"p": p, **days}):
        outcomes.setdefault(currency, Outcomes()).cycles = Spread(n, total or 0)
        cycles.n += n
        cycles.total += total or 0
    cycles.median = _median(conn, f"SELECT closed_s - created_s AS d {won}", {"p": p, **days},
                            cycles.n)

    reasons: dict[str, tuple[int, dict]] = {}
    for reason, currency, count, value in conn.execute(
            f"SELECT lost_reason, currency, count(*), sum(value_milli) FROM temp.facts "
            f"WHERE pipeline = :p AND status = 'lost' AND {in_window} "
            f"GROUP BY lost_reason, currency", {"p": p, **days}):
        key = reason or "(none given)"
        before, parts = reasons.get(key, (0, {}))
        add_to(parts, currency, _money(value))
        reasons[key] = (before + count, parts)
    return Sums(here, funnel, stays, outcomes, cycles, reasons, currencies, handed_off,
                returned, tuple(sorted(set(strays))))


def _median(conn, select: str, params: dict, n: int) -> Fraction | None:
    """The median of column d of `select` (n rows: whole seconds), exactly."""
    if not n:
        return None
    middle = [row[0] for row in conn.execute(
        f"SELECT d FROM ({select}) AS q ORDER BY d LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}",
        params)]
    return exact_median(middle)


def _groups(conn, scope: Scope, filters: Filters, by: str, currencies: Currencies,
            paths: Paths) -> tuple:
    """Totals per owner, source, company, tag or currency (one pass over the facts rows:
    those in the pipeline for the totals, the cohort's for the conversion to won)."""
    pipeline = scope.pipeline
    cohort, in_window, days = window_clauses(filters)
    groups: dict[str, dict] = {}
    column = "tags" if by == "tag" else by
    sql = (f"SELECT {column}, stage, status, probability, value_milli, currency, "
           f"CASE WHEN pipeline = :p AND (status = 'open' OR {in_window}) THEN 1 ELSE 0 END, "
           f"closed_s - created_s, {paths.column}, CASE WHEN {cohort} THEN 1 ELSE 0 END "
           f"FROM temp.facts")
    rank = scope.stage_rank
    won_at = won_rank(rank, pipeline)
    for group, stage, status, probability, value, currency, counted, cycle, path, \
            in_cohort in conn.execute(sql, {"p": pipeline.name, **days}):
        names = ([t for t in (group or "").split(";") if t] or [""]) if by == "tag" \
            else [group]
        counted_at = paths.members(path) if in_cohort else frozenset()
        for name in names:
            g = groups.setdefault(name or "(none)", {
                "parts": {}, "cycles": [], "funnel": FunnelCounts.empty(len(rank), won_at)})
            if counted_at:
                g["funnel"].add(counted_at, 1)
            if not counted:
                continue
            o, amount = g["parts"].setdefault(currency, Outcomes()), _money(value)
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
                    o.cycles.n += 1
                    o.cycles.total += cycle
            elif status == LOST:
                o.lost_count += 1
                o.lost_value += amount
    out = []
    for name, g in groups.items():
        if not any(o.open_count or o.won_count or o.lost_count for o in g["parts"].values()) \
                and not any(g["funnel"].reached):
            continue
        entered, won, to_won = g["funnel"].entry()
        totals = combine(g["parts"], Spread.of(g["cycles"]), currencies)
        out.append((name, replace(totals, entered=entered, reached_won=won,
                                  conversion_to_won=to_won)))
    # Names equal but for case (Åsa, ÅSA) are separate groups: order them by the exact name
    # too, or they would come in whatever order the rows happen to be read.
    return tuple(sorted(out, key=lambda kv: (kv[0] == "(none)", kv[0].lower(), kv[0])))


__all__ = ["report", "one_pipeline", "whole_file"]
