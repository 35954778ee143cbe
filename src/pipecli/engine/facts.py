"""Each deal as it stood at a moment, in one temporary SQL table: what every report reads.

The `facts` table has one row per deal present at the report moment that has been in the
reported pipeline: its version valid then (versions, see pipecli.engine.fold) joined with
where it had been by then (furthest funnel stage, hand-offs). Reports are GROUP BY
queries over it; forecast, stale, next and list stream rows from it as Timelines.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterator

from pipecli.models import WON, Due, Pipeline, Stage
from pipecli.store.schema import from_milli, register_functions


@dataclass(frozen=True)
class Stay:
    """A continuous period in one stage: entered at `start`, left at `end` (None: still there)."""

    stage: str
    start: datetime
    end: datetime | None
    pipeline: str = ""


@dataclass
class Timeline:
    """A deal as it stood at the report moment (a facts row)."""

    id: str
    pipeline: str
    created_at: datetime
    stage: str
    status: str
    value: Decimal | None
    last_change_at: datetime
    closed_at: datetime | None = None
    name: str = ""
    company: str = ""
    contact: str = ""
    email: str = ""
    owner: str = ""
    source: str = ""
    lost_reason: str = ""
    close_date: date | None = None
    probability: Decimal | None = None
    tags: tuple[str, ...] = ()
    stays: list[Stay] = field(default_factory=list)
    furthest_rank: int = -1
    pipelines: set = field(default_factory=set)
    handed_off: bool = False
    returned: bool = False
    currency: str = ""  # ISO code: the deal's own, or its pipeline's
    next_step: str = ""
    next_due: Due | None = None
    next_owner: str = ""
    real_pipeline: str = ""  # the pipeline it is in (`pipeline` is "all" for --all)

    @property
    def current_stay(self) -> Stay | None:
        return self.stays[-1] if self.stays and self.stays[-1].end is None else None


def ranks(pipeline: Pipeline) -> dict[str, int]:
    """Funnel order: open stages 0..k-1, then won stages k, k+1, ... Lost stages have none:
    being lost is not progress, so a lost deal's furthest stage is where it was before."""
    order = [s for s in pipeline.stages if s.outcome is None] + \
            [s for s in pipeline.stages if s.outcome == WON]
    return {s.key: i for i, s in enumerate(order)}


@dataclass(frozen=True)
class Scope:
    """What a facts table covers: one pipeline (stage keys as they are), or the whole file
    as one funnel (`pipe report --all`: keys "pipeline/stage")."""

    pipeline: Pipeline  # the reported pipeline (for --all, the synthetic one)
    rank: dict[tuple[str, str], int]  # (pipeline, stage) → funnel rank
    whole: bool = False
    # Each pipeline's currency: a deal without one of its own is in its pipeline's.
    currency_of: tuple[tuple[str, str], ...] = ()

    @property
    def stage_rank(self) -> dict[str, int]:
        """Rank by the stage keys the report shows."""
        return {(f"{p}/{s}" if self.whole else s): r for (p, s), r in self.rank.items()}


def one_pipeline(pipeline: Pipeline, ws=None) -> Scope:
    """One pipeline's funnel (with the file, so a deal now in another pipeline of it is
    in that pipeline's currency)."""
    others = tuple((p.name, p.currency) for p in ws.pipelines) if ws is not None else ()
    return Scope(pipeline, {(pipeline.name, k): r for k, r in ranks(pipeline).items()},
                 currency_of=others or ((pipeline.name, pipeline.currency),))


def whole_file(ws) -> Scope:
    """Every pipeline's open stages in file order, then the won, then the lost stages; only
    the last pipeline's won stages end the funnel (an earlier pipeline's win — a marketing
    "customer" — is an outcome of its own, outside the funnel order)."""
    def renamed(p, s):
        return Stage(key=f"{p.name}/{s.key}", label=f"{p.name}: {s.label}",
                     probability=s.probability, group=s.group, rot_days=s.rot_days,
                     outcome=s.outcome)

    stages = [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome is None]
    stages += [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome == WON]
    stages += [renamed(p, s) for p in ws.pipelines for s in p.stages if s.outcome == "lost"]
    first, last = ws.pipelines[0], ws.pipelines[-1]
    whole = Pipeline(name="all", label="All pipelines", kind=first.kind,
                     currency=first.currency, stages=tuple(stages), rates=first.rates)
    order = [(p.name, s.key) for p in ws.pipelines for s in p.stages if s.outcome is None]
    order += [(last.name, s.key) for s in last.stages if s.outcome == WON]
    return Scope(whole, {key: i for i, key in enumerate(order)}, whole=True,
                 currency_of=tuple((p.name, p.currency) for p in ws.pipelines))


def furthest(scope: Scope, visited: str) -> int:
    """The funnel rank of the furthest place in a version's `visited` text (-1: none)."""
    best = -1
    for entry in visited.split():
        pipeline, _, stage = entry.partition("/")
        best = max(best, scope.rank.get((pipeline, stage), -1))
    return best


def _literal(text: str) -> str:
    """A string as an SQL literal (views take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _currency(scope: Scope) -> str:
    """SQL: each version's currency, '' (its pipeline's) resolved to the pipeline's code."""
    whens = " ".join(f"WHEN {_literal(name)} THEN {_literal(code)}"
                     for name, code in scope.currency_of)
    home = _literal(scope.pipeline.currency)
    pipeline = f"CASE v.pipeline {whens} ELSE {home} END" if whens else home
    return f"CASE WHEN v.currency = '' THEN {pipeline} ELSE v.currency END"


def fill_facts(conn: sqlite3.Connection, scope: Scope, as_of: datetime, filters=None) -> None:
    """The temporary `facts` relation at `as_of`: each deal's version valid then. As of now
    and without owner/source/tag filters it is a view (the `current` rows are read in
    place, nothing is copied); otherwise a table (one pass over the versions valid then,
    which the filters are applied to)."""
    kind = conn.execute("SELECT type FROM sqlite_temp_master WHERE name = 'facts'").fetchone()
    if kind:
        conn.execute(f"DROP {'VIEW' if kind[0] == 'view' else 'TABLE'} temp.facts")
    moment = int(as_of.timestamp())
    latest = conn.execute("SELECT max(at_s) FROM events").fetchone()[0]
    # After the newest event, the valid versions are the current ones, kept apart.
    if latest is None or moment >= latest:
        table, when = "current", "1 = 1"
    else:
        table, when = "versions", \
            f"v.valid_from <= {moment} AND (v.valid_to IS NULL OR v.valid_to > {moment})"
    name = scope.pipeline.name
    if scope.whole:
        been, handed, returned = "1 = 1", "v.handoffs > 0", "v.returns > 0"
        shown_pipeline, shown_stage = "'all'", "v.pipeline || '/' || v.stage"
    else:
        been = f"instr(v.visited, {_literal(f' {name}/')}) > 0"
        handed = f"instr(v.handed_from, {_literal(f' {name} ')}) > 0"
        returned = f"instr(v.returned_to, {_literal(f' {name} ')}) > 0"
        shown_pipeline, shown_stage = "v.pipeline", "v.stage"
    select = (
        f"SELECT v.deal_id AS id, {shown_pipeline} AS pipeline, "
        f"{shown_stage} AS stage, v.status AS status, v.value_milli AS value_milli, "
        f"v.created_s AS created_s, v.created_at AS created_at, v.at AS last_at, "
        f"v.stay_start AS stay_start, v.closed_s AS closed_s, v.closed_at AS closed_at, "
        f"v.visited AS visited, CASE WHEN {handed} THEN 1 ELSE 0 END AS handed_off, "
        f"CASE WHEN {returned} THEN 1 ELSE 0 END AS returned, "
        f"v.name AS name, v.company AS company, v.owner AS owner, v.source AS source, "
        f"v.tags AS tags, v.probability AS probability, v.close_date AS close_date, "
        f"v.lost_reason AS lost_reason, v.pipeline AS real_pipeline, v.stage AS real_stage, "
        f"v.valid_from AS last_s, v.close_day AS close_day, "
        f"{_currency(scope)} AS currency, v.next_step AS next_step, v.next_due AS next_due, "
        f"v.next_owner AS next_owner, v.next_due_day AS next_due_day, "
        f"v.next_due_s AS next_due_s "
        f"FROM {table} AS v WHERE {when} AND {been}")
    unfiltered = filters is None or not filters.narrows()
    if unfiltered and table == "current":  # read in place; the past is worth one copy
        conn.execute(f"CREATE TEMP VIEW facts AS {select}")
        return
    conn.execute(f"CREATE TEMP TABLE facts AS {select}")
    conn.execute("CREATE INDEX temp.facts_by_id ON facts (id)")
    _keep(conn, filters)


def _keep(conn: sqlite3.Connection, filters) -> None:
    """Apply the owner/source/tag filters (case-insensitive with Python's full case rules,
    the same rule as every other filter)."""
    register_functions(conn)
    if filters.owner is not None:
        conn.execute("DELETE FROM temp.facts WHERE fold(owner) != ?", (filters.owner.lower(),))
    if filters.source is not None:
        conn.execute("DELETE FROM temp.facts WHERE fold(source) != ?",
                     (filters.source.lower(),))
    if filters.tag is not None:
        conn.execute("DELETE FROM temp.facts WHERE has_tag(tags, ?) = 0", (filters.tag.lower(),))
    if filters.narrow.active:
        from pipecli.engine.listing import search_clauses

        clauses: list = []
        params: dict = {}
        search_clauses(filters.narrow, clauses, params, "currency",
                       filters.narrow.currency or "", table="facts")
        # A deal without a value or close date makes its range clause NULL, not false:
        # coalesce, so it is left out as `pipe list` leaves it out.
        conn.execute(f"DELETE FROM temp.facts WHERE NOT coalesce(({' AND '.join(clauses)}), 0)",
                     params)


def timelines(conn: sqlite3.Connection, scope: Scope, where: str = "", params=None,
              limit: int | None = None, order: str = "id") -> Iterator[Timeline]:
    """Rows of the facts table (fill_facts first) as Timelines with their current stay,
    streamed (in id order unless told otherwise)."""
    sql = f"SELECT * FROM temp.facts WHERE pipeline = :p {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    for row in conn.execute(sql, {"p": scope.pipeline.name, **(params or {})}):
        yield timeline_of(row)


FACT_COLUMNS = 32  # the columns of a facts row, as timeline_of reads them


def timeline_of(row) -> Timeline:
    """A facts row as a Timeline with its current stay."""
    (deal_id, p, stage, status, value, _, created_at, last_at, stay_start, _, closed_at,
     _, handed, back, name, company, owner, source, tags, probability, close_date,
     lost_reason, real_pipeline, _, _, _, currency, next_step, next_due, next_owner, _, _) = row
    t = Timeline(id=deal_id, pipeline=p, created_at=datetime.fromisoformat(created_at),
                 stage=stage, status=status, value=from_milli(value),
                 last_change_at=datetime.fromisoformat(last_at),
                 closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
                 name=name, company=company, owner=owner, source=source,
                 lost_reason=lost_reason,
                 close_date=date.fromisoformat(close_date) if close_date else None,
                 probability=Decimal(probability) if probability else None,
                 tags=tuple(x for x in (tags or "").split(";") if x),
                 handed_off=bool(handed), returned=bool(back), currency=currency,
                 next_step=next_step, next_due=Due.parse_stored(next_due) if next_due else None,
                 next_owner=next_owner, real_pipeline=real_pipeline)
    t.stays.append(Stay(stage, datetime.fromtimestamp(stay_start, timezone.utc), None, p))
    return t
