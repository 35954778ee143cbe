"""Reports computed in SQL on the SQLite store: the replay of replay.py, pushed down.

One pass over the events (each deal's state at the report moment: its last event up to
then) and one over the stays (where each deal has been: creation, current stay, furthest
funnel stage, closing, hand-offs) fill a temporary `facts` table, one row per deal, without
bringing a single event into Python. The report's Sums are then a few GROUP BY queries over
it; forecast, stale and next read the rows they need from it.

A deal's text fields (owner, tags, close date...) are read from its current row. That is
its state at the report moment unless something touched it since; such deals, and the rare
ones whose history holds a deletion or an undo, are "replayed": their own events go through
replay.py and the result joins the same table. So both paths give the same figures, which
the tests check on random histories.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterator

from pipecli.models import LOST, OPEN, WON, Pipeline
from pipecli.replay import Stay, Timeline, _replay_one, ranks
from pipecli.reports import ZERO, Filters, Outcomes, Spread, StageNow, Sums
from pipecli.store.codec import EVENT_COLUMNS, row_to_event

HUNDRED = Decimal(100)
_MILLI = Decimal(1000)
# Events after the report moment that change only stage, status and value: a deal whose later
# events are all of these kinds still has, at the moment, the text fields of its current row.
_SAFE_LATER = ("moved", "won", "lost", "handed_off", "returned")

_FACTS = """
CREATE TEMP TABLE facts (
    id TEXT PRIMARY KEY, pipeline TEXT, stage TEXT, status TEXT, value_milli INTEGER,
    created_s INTEGER, created_at TEXT, last_at TEXT, stay_start INTEGER,
    closed_s INTEGER, closed_seq INTEGER, furthest INTEGER, handed_off INTEGER,
    returned INTEGER, name TEXT, company TEXT, owner TEXT, source TEXT, tags TEXT,
    probability TEXT, close_date TEXT, lost_reason TEXT)
"""

_PLACE = """
CREATE TEMP TABLE place (deal_id TEXT PRIMARY KEY, created_s, created_at, stay_start, closed,
    furthest, been_here, handed_off, returned) WITHOUT ROWID;
INSERT INTO temp.place
SELECT deal_id, min(start) AS created_s, max(CASE WHEN seq = 1 THEN at END) AS created_at,
             max(start) AS stay_start,
             max(CASE WHEN kind IN ('won', 'lost') THEN start * 1000000 + seq END) AS closed,
             max(CASE WHEN pipeline = :p THEN {rank} ELSE -1 END) AS furthest,
             total(pipeline = :p) > 0 AS been_here,
             total(from_pipeline = :p AND pipeline != :p) > 0 AS handed_off,
             total(pipeline = :p AND from_pipeline != :p) > 0 AS returned
      FROM stays WHERE start <= :m GROUP BY deal_id
"""

_CLEAN = """
INSERT INTO temp.facts
SELECT e.deal_id, e.pipeline, e.stage, e.status, e.value_milli,
       s.created_s, s.created_at, e.at, s.stay_start,
       CASE WHEN e.status != 'open' THEN s.closed / 1000000 END,
       CASE WHEN e.status != 'open' THEN s.closed % 1000000 END,
       s.furthest, s.handed_off, s.returned,
       d.name, d.company, d.owner, d.source, d.tags, d.probability, d.close_date,
       CASE WHEN e.status = 'lost' THEN d.lost_reason ELSE '' END
FROM (SELECT deal_id, max(CASE WHEN t <= :m THEN seq END) AS seq,
             event, pipeline, stage, status, value_milli, at,
             total(event IN ('deleted', 'undone')
                   OR (t > :m AND event NOT IN ({safe}))) AS replayed
      FROM (SELECT deal_id, seq, event, pipeline, stage, status, value_milli, at,
                   {epoch} AS t FROM events)
      GROUP BY deal_id) AS e
JOIN temp.place AS s ON s.deal_id = e.deal_id
JOIN deals AS d ON d.id = e.deal_id
WHERE e.seq IS NOT NULL AND e.replayed = 0 AND s.been_here
"""

_REPLAYED = """
SELECT DISTINCT deal_id FROM events
WHERE event IN ('deleted', 'undone') OR ({epoch} > :m AND event NOT IN ({safe}))
"""


def _epoch_sql() -> str:
    # unixepoch() (SQLite 3.38+) is twice as fast as strftime('%s'), which older ones have.
    if sqlite3.sqlite_version_info >= (3, 38):
        return "unixepoch(at)"
    return "CAST(strftime('%s', at) AS INTEGER)"


def _fold(text):
    return None if text is None else str(text).lower()


def fill_facts(conn: sqlite3.Connection, pipeline: Pipeline, as_of: datetime,
               filters: Filters = Filters()) -> None:
    """The temporary `facts` table: every deal present at `as_of` that has been in the
    pipeline, as it stood then, kept by the owner/source/tag filters."""
    conn.create_function("fold", 1, _fold, deterministic=True)
    for table in ("facts", "place", "done"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(_FACTS)
    order = ranks(pipeline)
    params: dict = {"m": int(as_of.timestamp()), "p": pipeline.name}
    whens = []
    for i, (key, r) in enumerate(order.items()):
        params[f"s{i}"] = key
        whens.append(f"WHEN :s{i} THEN {r}")
    rank = f"CASE stage {' '.join(whens)} ELSE -1 END" if whens else "-1"
    safe = ", ".join(f"'{k}'" for k in _SAFE_LATER)
    epoch = _epoch_sql()
    # Where each deal has been, first, into a table keyed by deal: joining the two grouped
    # passes directly made SQLite build and probe a temporary index (twice as slow at 1M).
    create, fill = _PLACE.format(rank=rank).split(";", 1)
    conn.execute(create)
    conn.execute(fill, params)
    conn.execute(_CLEAN.format(safe=safe, epoch=epoch), params)
    replayed = [row[0] for row in conn.execute(_REPLAYED.format(safe=safe, epoch=epoch),
                                               {"m": params["m"]})]
    rank_of = {(pipeline.name, key): r for key, r in order.items()}
    rows = []
    for deal_id in replayed:
        t = _replay_one(_events_of(conn, deal_id), rank_of, as_of, pipeline.name)
        if t is not None and pipeline.name in t.pipelines:
            rows.append(_row_of(conn, t))
    conn.executemany(f"INSERT INTO temp.facts VALUES ({', '.join('?' * 22)})", rows)
    keep = []
    if filters.owner is not None:
        keep.append(("fold(owner) = :owner", "owner", filters.owner.lower()))
    if filters.source is not None:
        keep.append(("fold(source) = :source", "source", filters.source.lower()))
    if filters.tag is not None:
        keep.append(("instr(';' || fold(tags) || ';', ';' || :tag || ';') > 0", "tag",
                     filters.tag.lower()))
    for condition, name, value in keep:
        conn.execute(f"DELETE FROM temp.facts WHERE NOT ({condition})", {name: value})


def _events_of(conn, deal_id: str):
    columns = ", ".join("value_milli" if c == "value" else c for c in EVENT_COLUMNS)
    for row in conn.execute(f"SELECT {columns} FROM events WHERE deal_id = ? ORDER BY seq",
                            (deal_id,)):
        cells = ["" if v is None else str(v) for v in row]
        milli = row[EVENT_COLUMNS.index("value")]
        cells[EVENT_COLUMNS.index("value")] = "" if milli is None else \
            format((Decimal(milli) / _MILLI).normalize(), "f")
        yield row_to_event(cells)


def _row_of(conn, t: Timeline) -> tuple:
    """A replayed timeline as a facts row."""
    closed_seq = None
    if t.closed_at is not None:
        found = conn.execute("SELECT seq FROM stays WHERE deal_id = ? AND start = ? "
                             "ORDER BY seq DESC", (t.id, int(t.closed_at.timestamp()))).fetchone()
        closed_seq = found[0] if found else None
    stay = t.current_stay
    return (t.id, t.pipeline, t.stage, t.status,
            None if t.value is None else int(t.value * _MILLI),
            int(t.created_at.timestamp()), t.created_at.isoformat(timespec="seconds"),
            t.last_change_at.isoformat(timespec="seconds"),
            int(stay.start.timestamp()) if stay else None,
            int(t.closed_at.timestamp()) if t.closed_at else None, closed_seq,
            t.furthest_rank, int(t.handed_off), int(t.returned), t.name, t.company, t.owner,
            t.source, ";".join(t.tags),
            None if t.probability is None else format(t.probability, "f"),
            t.close_date.isoformat() if t.close_date else None, t.lost_reason)


def _money(milli) -> Decimal:
    return ZERO if milli is None else Decimal(milli) / _MILLI


def report_sums(conn: sqlite3.Connection, pipeline: Pipeline, as_of: datetime,
                filters: Filters, rank: dict[str, int]) -> Sums:
    """The report's Sums from the facts table (fill_facts first), by GROUP BY queries."""
    m, p = int(as_of.timestamp()), pipeline.name
    windowed = bool(filters.since or filters.until)
    since = filters.since.isoformat() if filters.since else "0000-00-00"
    until = filters.until.isoformat() if filters.until else "9999-99-99"
    days = {"since": since, "until": until}
    cohort = "substr(created_at, 1, 10) BETWEEN :since AND :until" if windowed else "1"
    closed_day = ("(SELECT substr(at, 1, 10) FROM stays WHERE deal_id = f.id AND "
                  "seq = f.closed_seq)")
    in_window = f"{closed_day} BETWEEN :since AND :until" if windowed else "1"

    here = {s.key: StageNow() for s in pipeline.stages}
    strays = []
    for stage, count, value, age_n, age_total in conn.execute(
            "SELECT stage, count(*), sum(value_milli), count(stay_start), "
            "sum(:m - stay_start) FROM temp.facts WHERE pipeline = :p GROUP BY stage",
            {"m": m, "p": p}):
        line = here.get(stage)
        if line is None:
            strays.extend(r[0] for r in conn.execute(
                "SELECT id FROM temp.facts WHERE pipeline = :p AND stage = :s",
                {"p": p, "s": stage}))
            continue
        line.count, line.value = count, _money(value)
        if pipeline.stage(stage).outcome is None:
            line.age = Spread(age_n, age_total or 0, _median(
                conn, f"SELECT :m - stay_start AS d FROM temp.facts WHERE pipeline = :p AND "
                      f"stage = :s AND stay_start IS NOT NULL", {"m": m, "p": p, "s": stage},
                age_n))
    outcomes = Outcomes()
    for stage, status, probability, value in conn.execute(
            "SELECT stage, status, probability, sum(value_milli) FROM temp.facts "
            "WHERE pipeline = :p AND value_milli IS NOT NULL "
            "GROUP BY stage, status, probability", {"p": p}):
        line = here.get(stage)
        if line is None:
            continue
        own = Decimal(probability) if probability else pipeline.stage(stage).probability
        w = _money(value) * own / HUNDRED
        line.weighted += w
        if status == OPEN:
            outcomes.open_weighted += w

    reached = [0] * len(rank)
    reached_value = [ZERO] * len(rank)
    handed_off = returned = 0
    for furthest, count, value, handed, back in conn.execute(
            f"SELECT furthest, count(*), sum(value_milli), sum(handed_off), sum(returned) "
            f"FROM temp.facts WHERE {cohort} GROUP BY furthest", days):
        if furthest is not None and 0 <= furthest < len(rank):
            reached[furthest] += count
            reached_value[furthest] += _money(value)
        handed_off += handed or 0
        returned += back or 0

    stays = {s.key: Spread() for s in pipeline.stages}
    conn.execute("DROP TABLE IF EXISTS temp.done")
    conn.execute(f"CREATE TEMP TABLE done AS SELECT st.stage AS stage, st.\"end\" - st.start AS d "
                 f"FROM stays AS st JOIN temp.facts AS f ON f.id = st.deal_id "
                 f"WHERE st.pipeline = :p AND st.\"end\" <= :m AND "
                 f"{cohort.replace('created_at', 'f.created_at')}", {"p": p, "m": m, **days})
    conn.execute("CREATE INDEX temp.done_by_stage ON done (stage, d)")
    for stage, n, total in conn.execute(
            "SELECT stage, count(*), sum(d) FROM temp.done GROUP BY stage"):
        if stage in stays:
            stays[stage] = Spread(n, total, _median(
                conn, "SELECT d FROM temp.done WHERE stage = :s", {"s": stage}, n))

    for status, count, value in conn.execute(
            f"SELECT status, count(*), sum(value_milli) FROM temp.facts AS f "
            f"WHERE pipeline = :p AND (status = 'open' OR {in_window}) GROUP BY status",
            {"p": p, **days}):
        if status == OPEN:
            outcomes.open_count, outcomes.open_value = count, _money(value)
        elif status == WON:
            outcomes.won_count, outcomes.won_value = count, _money(value)
        elif status == LOST:
            outcomes.lost_count, outcomes.lost_value = count, _money(value)
    won = (f"FROM temp.facts AS f WHERE pipeline = :p AND status = 'won' AND "
           f"closed_s IS NOT NULL AND {in_window}")
    n, total = conn.execute(f"SELECT count(*), sum(closed_s - created_s) {won}",
                            {"p": p, **days}).fetchone()
    outcomes.cycles = Spread(n, total or 0, _median(
        conn, f"SELECT closed_s - created_s AS d {won}", {"p": p, **days}, n))

    reasons = {}
    for reason, count, value in conn.execute(
            f"SELECT lost_reason, count(*), sum(value_milli) FROM temp.facts AS f "
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
        f"SELECT d FROM ({select}) ORDER BY d LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}", params)]
    return middle[0] if n % 2 else (middle[0] + middle[1]) / 2


def timelines(conn: sqlite3.Connection, pipeline: Pipeline, as_of: datetime,
              won_since: datetime | None = None) -> Iterator[Timeline]:
    """Open deals (and deals won since `won_since`) from the facts table, as timelines with
    their current stay only — what forecast, stale and next read."""
    won = "OR (status = 'won' AND closed_s >= :since)" if won_since else ""
    sql = (f"SELECT f.*, (SELECT at FROM stays WHERE deal_id = f.id AND seq = f.closed_seq) "
           f"FROM temp.facts AS f WHERE pipeline = :p AND (status = 'open' {won}) ORDER BY id")
    params = {"p": pipeline.name, "since": int(won_since.timestamp()) if won_since else 0}
    for row in conn.execute(sql, params):
        (deal_id, p, stage, status, value, _, created_at, last_at, stay_start, _, _, furthest,
         handed, back, name, company, owner, source, tags, probability, close_date,
         lost_reason, closed_at) = row
        start = datetime.fromtimestamp(stay_start, timezone.utc) if stay_start is not None \
            else None
        t = Timeline(id=deal_id, pipeline=p, created_at=datetime.fromisoformat(created_at),
                     stage=stage, status=status,
                     value=None if value is None else Decimal(value) / _MILLI,
                     last_change_at=datetime.fromisoformat(last_at),
                     closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
                     name=name, company=company, owner=owner, source=source,
                     lost_reason=lost_reason,
                     close_date=_day(close_date),
                     probability=Decimal(probability) if probability else None,
                     tags=tuple(x for x in (tags or "").split(";") if x),
                     furthest_rank=furthest, handed_off=bool(handed), returned=bool(back))
        if start is not None:
            t.stays.append(Stay(stage, start, None, p))
        yield t


def _day(text):
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
