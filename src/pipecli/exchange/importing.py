"""`pipe import`: deals from CSV or JSON exports of other tools (or of pipe itself).

Three steps, so that a file goes in whole or not at all:
1. `prepare` reads the file (pipecli.exchange.reading), maps its columns
   (exchange.mapping) and reads every row into typed values (exchange.rows) — no store
   involved; each refused row is kept with its line and column.
2. `plan` (exchange.planning) turns each row into the events it implies against the
   deals the store holds.
3. `write` appends them in the store transaction the plan was made in: the import moment
   is read inside the write lock, and nothing another process wrote meanwhile is planned
   around (`--dry-run` plans in a read snapshot instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipecli import money
from pipecli.errors import UsageError
from pipecli.exchange import mapping as mapping_
from pipecli.exchange.history import read_history
from pipecli.exchange.planning import Plan, Prepared, Rejected, plan
from pipecli.exchange.reading import Table, read_table
from pipecli.exchange.mapping import MOMENT_FIELDS
from pipecli.exchange.rows import Reader, RowError, UnknownStage, column_cells, date_order
from pipecli.models import Pipeline, Workspace
from pipecli.store.codec import EVENT_COLUMNS, EVENT_COLUMNS_ADDED, older_layouts


@dataclass
class Options:
    preset: str | None = None
    maps: tuple[str, ...] = ()
    stage_maps: tuple[str, ...] = ()
    constants: tuple[str, ...] = ()  # --set FIELD=VALUE
    closed_from: str | None = None  # open stage a closed deal without a path was created at
    dayfirst: bool = False
    history: Path | None = None  # stage/amount changes (Salesforce OpportunityHistory)
    encoding: str | None = None
    decimal: money.Mark | None = None  # None: found per column
    round_amounts: bool = False
    clear_empty: bool = False


def prepare(ws: Workspace, pipeline: Pipeline, path: Path, options: Options) -> Prepared:
    """Read, map and type every row (nothing is read from the store)."""
    table = read_table(path, encoding=options.encoding)
    result = Prepared(path, pipelines={p.name: p for p in ws.pipelines},
                      round_amounts=options.round_amounts)
    if table.note:
        result.notes.append(table.note)
    headers = [h.strip() for h in table.headers]
    if tuple(headers) in (EVENT_COLUMNS, *older_layouts(EVENT_COLUMNS, EVENT_COLUMNS_ADDED)):
        result.events = table.records  # read (and checked) as they are planned
        return result
    preset = options.preset or ("pipe" if mapping_.is_pipe_export(table.headers) else None)
    constants = mapping_.constants_of(list(options.constants))
    columns = mapping_.mapping(table.headers, preset, list(options.maps), constants)
    for header in columns:
        if header.strip() in table.twice:
            raise UsageError(f"{path.name}: the header names {header.strip()!r} twice "
                             f"({table.twice[header.strip()]}): which one is the "
                             f"{columns[header]}? Rename one")
    _foreign_pipelines(table, columns, ws, options, result)
    stages = {p.name: mapping_.stage_table(p, list(options.stage_maps)
                                           if p is pipeline else []) for p in ws.pipelines}
    for p in ws.pipelines:
        start = p.stage(options.closed_from) if options.closed_from and p is pipeline else \
            p.open_stages[0]
        if start is None or start.outcome:
            raise UsageError(f"--closed-from must be an open stage of {pipeline.name!r}")
        result.closed_from[p.name] = start.key
    given = set(columns.values()) | set(constants)
    result.has_place = bool({"stage", "status", "is_won", "is_closed"} & given)
    result.has_closing = bool({"won_at", "lost_at", "closed_at"} & given)
    marks, sure = _marks(table, columns, options, result)
    if result.rejected:
        return result
    reader = Reader(columns, constants, {p.name.lower(): p for p in ws.pipelines}, pipeline,
                    stages, marks, sure, _day_first(table, columns, options, result),
                    options.clear_empty,
                    options.round_amounts)
    for record in table.records:
        if record.problem:
            result.rejected.append(Rejected(record.line, record.problem))
            continue
        try:
            result.rows.append(reader.read(record.line, record.cells, record.bad))
        except UnknownStage as e:
            result.unknown_stages.setdefault(e.text, record.line)
        except RowError as e:
            result.rejected.append(Rejected(record.line, str(e), e.column))
    if options.history:
        result.history = read_history(options.history, stages[pipeline.name], options,
                                      result.notes)
    _refuse_twins(result)
    if result.history is not None:
        unused = result.history.unmatched(row.external_id for row in result.rows)
        if unused:
            result.notes.append(f"{options.history.name}: {unused[1]} changes of {unused[0]} "
                                f"deals match no row of {path.name} and were not used")
    return result


def _foreign_pipelines(table: Table, columns: dict[str, str], ws: Workspace, options: Options,
                       result: Prepared) -> None:
    """A column matched as `pipeline` by its name (not by --map) is used only when its
    cells name pipelines of the file: a CRM's own pipeline names ("Sales Pipeline" in a
    HubSpot or Pipedrive export) are not pipe's, so the column is left out, with a note."""
    header = next((h for h, f in columns.items() if f == "pipeline"), None)
    if header is None or any(m.split("=", 1)[0].strip() == header for m in options.maps):
        return
    names = {p.name.lower() for p in ws.pipelines}
    if all((r.cells.get(header) or "").strip().lower() in names | {""}
           for r in table.records if not r.problem):
        return
    del columns[header]
    result.notes.append(f"column {header!r} does not name pipelines of the pipeline file, so "
                        f"it was not used (--map {header}=pipeline uses it, and refuses rows "
                        f"it cannot place)")


def _day_first(table: Table, columns: dict[str, str], options: Options, result: Prepared
               ) -> frozenset[str]:
    """The date columns read day first (DD/MM/YYYY): every one with --dayfirst; else each
    whose cells decide it (a 31/01 in it), with a note — as the decimal mark is found."""
    dated = [h for h, f in columns.items()
             if f in MOMENT_FIELDS or f in ("close_date", "next_due")]
    if options.dayfirst:
        return frozenset(dated)
    found = set()
    for header in dated:
        try:
            order = date_order(column_cells(table.records, header))
        except ValueError as e:
            raise UsageError(f"{result.path.name}: column {header!r}, {e}") from None
        if order:
            found.add(header)
            result.notes.append(f"column {header!r} read day first (DD/MM/YYYY), as its "
                                f"dates are written that way")
    return frozenset(found)


def _marks(table: Table, columns: dict[str, str], options: Options, result: Prepared
           ) -> tuple[dict[str, money.Mark], set[str]]:
    """The decimal mark of each amount column — given, or found from its cells — and the
    columns whose mark is certain (given, or decided by a cell only one mark reads)."""
    marks: dict[str, money.Mark] = {}
    sure: set[str] = set()
    for header, target in columns.items():
        if target != "value":
            continue
        if options.decimal is not None:
            marks[header] = options.decimal
            sure.add(header)
            continue
        try:
            found = money.detect_mark(column_cells(table.records, header))
        except money.AmbiguousAmount as e:
            if table.delimiter not in (",", "json"):
                result.rejected.append(Rejected(e.line, str(e), header))
                continue
            # A comma-separated file (or JSON) writes decimals with a point: its fields are
            # separated by commas (docs/import.md). Not certain, though: a cell that only a
            # decimal comma would make a whole number (2.500) is still refused (money.py).
            found = None
        marks[header] = found or money.Mark.POINT
        if found is not None:
            sure.add(header)
        if found == money.Mark.COMMA:
            result.notes.append(f"column {header!r} read with a decimal comma (1.000,50 = "
                                f"1000.50), as every amount in it is written that way")
    return marks, sure

def _refuse_twins(result: Prepared) -> None:
    """Two rows for one deal would be read in an order the file does not state. A row
    with an id is one deal per id; a row without one is matched by its name."""
    seen: dict[tuple, int] = {}
    kept = []
    for row in result.rows:
        has_id = bool(row.pipe_id or row.external_id)
        key = (row.pipe_id, row.external_id) if has_id else \
            ("", "", row.pipeline.name, (row.fields.get("name") or "").casefold())
        if key in seen:
            what = f"id {row.pipe_id or row.external_id!r}" if has_id else \
                f"the name {row.fields.get('name')!r} (with no id to tell the rows apart)"
            result.rejected.append(Rejected(row.line, f"{what} is on line {seen[key]} too"))
            continue
        seen.setdefault(key, row.line)
        kept.append(row)
    result.rows = kept


def write(tx, result: Plan, advance=None) -> None:
    """Append a plan's events in the transaction it was made in (only when nothing was
    rejected); advance(n) is told how many events were written, for a progress bar."""
    from pipecli.ops import field_sets

    if result.ready:
        batch: list = []
        for event in result.ready_events():
            batch.append(event)
            if len(batch) >= 5000:
                tx.land(batch)
                if advance:
                    advance(len(batch))
                batch = []
        if batch:
            tx.land(batch)
            if advance:
                advance(len(batch))

    def drafts():
        for deal_id, steps in result.added + result.updated:
            for step in steps:
                sets, added, removed = field_sets(step.before, step.after)
                yield deal_id, step.kind, step.at, sets, added, removed, step.note

    tx.append_all(drafts(), advance)


def run(ws: Workspace, pipeline: Pipeline, store, path: Path, options: Options, *,
        at: datetime | None = None, dry_run: bool = False, progress=None) -> Plan:
    """The whole import: prepare the file, plan it against the store and — unless a row
    was refused or it is a dry run — write it, in the one transaction the plan was made
    in (so nothing another process writes meanwhile is planned around). `progress(total)`
    returns an advance(n) callback, or None."""
    from pipecli.errors import ImportRejected
    from pipecli.values import now

    prepared = prepare(ws, pipeline, path, options)
    if prepared.unknown_stages:
        listed = ", ".join(f"{v!r} (line {n})" for v, n in
                           list(prepared.unknown_stages.items())[:20])
        raise ImportRejected(f"{path.name}: stages not in pipeline {pipeline.name!r}: "
                             f"{listed}; map them with --stage-map SOURCE=STAGE_KEY; nothing "
                             f"was imported")
    if dry_run or prepared.rejected or not store.exists():
        # (A store not made yet is only made when the import can go in: planned here
        # first, and again inside the lock below.)
        with store.read() as snapshot:
            result = plan(prepared, snapshot, at or now())
        _no_place_note(prepared, result)
        if dry_run or result.rejected:
            return result
    with store.write() as tx:
        result = plan(prepared, tx, at or now())  # the moment is read inside the lock
        _no_place_note(prepared, result)
        if not result.rejected:
            advance = progress(result.event_count) if progress else None
            write(tx, result, advance)
        return result


def _no_place_note(prepared: Prepared, result: Plan) -> None:
    """A file of known deals without a stage or status changes no outcome: say so when it
    changed something, or has closing dates — it is then often a file of closed deals whose
    meaning is implied."""
    if not prepared.has_place and (result.updated or prepared.has_closing and
                                   result.unchanged) and not result.events:
        result.notes.append(f"{prepared.path.name} has no stage or status column: the deals "
                            f"it updates keep their stage and outcome (to mark every row "
                            f"won, say --set status=won)")
