"""Planning an import: each read row turned into the events it implies against the deals
a store holds (see pipecli.exchange.importing for the whole import).

A new deal gets a history — created, its stage path (from a history file), its closing;
a known deal gets only what the row changes: fields the file does not give stay as they
are, and a row that says what the deal already says adds nothing, so importing the same
files again, in any order, adds no event. Every event is dated from the file when it says
(never in the future, never before the deal's previous event), else at the import moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterator, Sequence

from pipecli import money
from pipecli.errors import UsageError
from pipecli.exchange.history import History
from pipecli.exchange.rows import Row, RowError
from pipecli.models import LOST, OPEN, WON, Deal, Event, Kind, Pipeline
from pipecli.store.base import Snapshot
from pipecli.store.codec import EVENT_COLUMNS, row_to_event
from pipecli.values import ID_ALPHABET, new_id, normalize_money, unguard_formula


@dataclass(frozen=True)
class Rejected:
    """A refused row: its line (in `file`, else the imported file), column and why."""

    line: int
    reason: str
    column: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = f"column {self.column!r}: " if self.column else ""
        return f"{where}{self.reason}"


@dataclass(frozen=True)
class Step:
    """One event an import will append: the deal before (None: created) and after."""

    kind: Kind
    at: datetime
    before: Deal | None
    after: Deal
    note: str = ""


@dataclass
class Prepared:
    """A file read and mapped: its rows, and what was refused."""

    path: Path
    rows: list[Row] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)  # text → first line
    history: History | None = None
    events: Sequence | None = None  # a pipe history export: its records, read as needed
    notes: list[str] = field(default_factory=list)
    closed_from: dict[str, str] = field(default_factory=dict)  # pipeline → open stage key
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    round_amounts: bool = False
    has_place: bool = True  # the file maps (or --set gives) a stage or a status
    has_closing: bool = False  # ... or a won, lost or closing time


@dataclass
class Plan:
    """What an import does: deals to add and to update, with their events."""

    added: list[tuple[str, list[Step]]] = field(default_factory=list)
    updated: list[tuple[str, list[Step]]] = field(default_factory=list)
    ready: set[str] = field(default_factory=set)  # ids of pipe's own events to land
    source: Sequence | None = None  # the records they are read from again to be landed
    events: bool = False  # a history file: `ready` and `unchanged` count events, not deals
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def event_count(self) -> int:
        return len(self.ready) + sum(len(s) for _, s in self.added + self.updated)

    def ready_events(self) -> Iterator[Event]:
        """The events of a pipe history export to land, read again from its records."""
        for _, event, _ in history_events(self.source or ()):
            if event is not None and event.id in self.ready:
                yield event


# -- planning --------------------------------------------------------------------------------

def plan(prepared: Prepared, view: Snapshot, moment: datetime) -> Plan:
    """The events each row implies against the deals in `view` (a read snapshot, or the
    write transaction they will be appended in); `moment` is the import's time."""
    result = Plan(rejected=list(prepared.rejected), notes=list(prepared.notes))
    if prepared.events is not None:
        _plan_events(prepared, view, moment, result)
        return result
    planner = _Planner(prepared, view, moment, result)
    for row in prepared.rows:
        try:
            planner.row(row)
        except RowError as e:
            result.rejected.append(Rejected(row.line, str(e), e.column))
    result.rejected.sort(key=lambda r: r.line)
    result.notes += planner.notes()
    return result


def history_events(records) -> Iterator[tuple[int, Event | None, str]]:
    """(line, event, why it can't be read) of each record of a pipe history export."""
    for r in records:
        if r.problem:
            yield r.line, None, r.problem
            continue
        cells = [r.cells.get(c, "") for c in EVENT_COLUMNS]
        try:
            yield r.line, row_to_event([unguard_formula(v) if v[:1] == "'" else v
                                        for v in cells]), ""
        except ValueError as e:
            yield r.line, None, str(e)


def _plan_events(prepared: Prepared, view: Snapshot, moment: datetime, result: Plan) -> None:
    """pipe's own history export: its events go in as they were (same ids), so importing
    it twice, or into a clone that has some of them, adds only what is missing — once
    each is checked against this workspace: its pipeline and stage exist, it is not in
    the future, and its deal's creation is in the file or the store. Streamed: only ids
    are kept (a million events plan in flat memory), and the events are read again to
    be landed (importing.write)."""
    result.events, result.source = True, prepared.events
    created: set[str] = set()
    uncreated: list[tuple[int, str]] = []  # (line, deal) of events whose creation is unseen
    batch: list[tuple[int, Event]] = []

    def settle() -> None:
        marks = ", ".join("?" * len(batch))
        there = {i for (i,) in view.conn.execute(f"SELECT id FROM events WHERE id IN "
                                                 f"({marks})", [e.id for _, e in batch])}
        for line, event in batch:
            if event.id in there or event.id in result.ready:
                result.unchanged += 1
                continue
            problem = _event_problem(event, prepared.pipelines, moment)
            if problem:
                result.rejected.append(Rejected(line, problem))
                continue
            result.ready.add(event.id)
            if event.kind == Kind.CREATED:
                created.add(event.deal_id)
            else:
                uncreated.append((line, event.deal_id))
        batch.clear()

    for line, event, problem in history_events(prepared.events):
        if problem:
            result.rejected.append(Rejected(line, problem))
            continue
        batch.append((line, event))
        if len(batch) >= 500:
            settle()
    if batch:
        settle()
    known: dict[str, bool] = {}
    for line, deal in uncreated:
        if deal in created:
            continue
        if deal not in known:
            known[deal] = view.latest(deal) is not None
        if not known[deal]:
            result.rejected.append(Rejected(line, f"deal {deal}'s creation is neither in the "
                                                  f"file nor in the store"))


def _event_problem(event: Event, pipelines: dict[str, Pipeline], moment: datetime
                   ) -> str | None:
    if event.at > moment:
        return (f"the event is dated {event.at:%Y-%m-%d %H:%M}, in the future (the import is "
                f"dated {moment:%Y-%m-%d %H:%M})")
    name = event.sets.get("pipeline")
    if name is not None:
        pipeline = pipelines.get(name)
        if pipeline is None:
            return f"pipeline {name!r} is not in the pipeline file"
        stage = event.sets.get("stage", "")
        if pipeline.stage(stage) is None:
            return f"pipeline {name!r} has no stage {stage!r}"
    return None


class _Planner:
    def __init__(self, prepared: Prepared, view: Snapshot, moment: datetime, result: Plan):
        self.prepared, self.view, self.moment, self.result = prepared, view, moment, result
        self.ids: set[str] = set()  # new deal ids of this import
        self.counts: dict[str, int] = {}
        self.names: dict | None = None
        self.pipelines = prepared.pipelines

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def notes(self) -> list[str]:
        text = {
            "clamped": "closing or change dates before the deal's previous event were dated "
                       "at that event",
            "at_import": "closed deals have no closing date in the file; they are closed at "
                         "the import moment",
            "created_kept": "rows give a creation date other than the deal's; a creation is "
                            "never moved (import the file with creation dates first)",
            "future_close": "closed deals have a close date in the future; it was not used "
                            "as their closing moment",
            "legacy_ids": "deals imported by an earlier pipe were matched by their id and "
                          "given the file's id, exactly as written",
            "held_back": "rows would move a deal back (reopen it, or return it to an earlier "
                         "stage) without a date later than the deal's last change: the deals "
                         "were left where they are (a stage-change or last-modified date "
                         "column says when)",
            "twin_ids": "rows were matched to deals by the other form of their Salesforce "
                        "id (15 or 18 characters)",
            "moved_on": "rows are for deals handed on to another pipeline since: their "
                        "fields were applied, their stage and status were not",
        }
        return [f"{n} {text[k]}" for k, n in sorted(self.counts.items())]

    # -- one row --
    def row(self, row: Row) -> None:
        for name, at in row.moments.items():
            if at > self.moment:
                raise RowError(row.columns.get(name, name),
                               f"{name} {at:%Y-%m-%d %H:%M} is in the future (the import is "
                               f"dated {self.moment:%Y-%m-%d %H:%M})")
        existing = self.match(row)
        changes = self.prepared.history.changes(row.external_id) \
            if self.prepared.history and row.external_id else []
        for change in changes:
            if change.stage and row.pipeline.stage(change.stage) is None:
                raise RowError(None, f"the history's stage {change.stage!r} (line "
                                     f"{change.line}) is not a stage of pipeline "
                                     f"{row.pipeline.name!r}")
        if existing is None:
            deal_id, steps = self.new_deal(row, changes)
            self.result.added.append((deal_id, steps))
            return
        if existing.pipeline != row.pipeline.name:
            if "pipeline" in row.columns or existing.pipeline not in self.pipelines:
                raise RowError(row.columns.get("pipeline"),
                               f"deal {existing.id} is in pipeline {existing.pipeline!r}, "
                               f"not {row.pipeline.name!r}")
            # Handed on to another pipeline since: the row's fields still apply, its stage
            # (of the pipeline it was in) no longer does.
            self.count("moved_on")
            row.pipeline = self.pipelines[existing.pipeline]
            row.stage = row.status = row.closed_from = None
            changes = []
        last = self.view.last_effective(existing.id)
        floor = last.at if last else existing.updated_at
        created = row.moments.get("created_at")
        if created and created != existing.created_at:
            self.count("created_kept")
        steps = self.advance(row, existing, floor, [c for c in changes if c.at > floor])
        if steps:
            self.result.updated.append((existing.id, steps))
        else:
            self.result.unchanged += 1

    def match(self, row: Row) -> Deal | None:
        if row.pipe_id:
            return self.view.get(row.pipe_id)
        if row.external_id:
            found = self.view.by_external_id(row.external_id)
            if len(found) > 1:
                raise RowError(None, f"id {row.external_id!r} is held by {len(found)} deals "
                                     f"({', '.join(d.id for d in found[:5])})")
            if found:
                return found[0]
            twin = self.salesforce_twin(row.external_id)
            if twin is not None:
                self.count("twin_ids")
                return twin
            legacy = self.view.get(row.external_id.lower())
            if legacy is not None and not legacy.external_id:
                self.count("legacy_ids")
                row.fields.setdefault("external_id", row.external_id)
                return legacy
            return None
        name = row.fields.get("name") or ""
        same = self.named(row.pipeline.name, name)
        if len(same) > 1:
            raise RowError(None, f"{len(same)} deals are named {name!r} "
                                 f"({', '.join(d.id for d in same[:5])}); map an id column "
                                 f"to say which")
        return same[0] if same else None

    def salesforce_twin(self, external_id: str) -> Deal | None:
        """The deal imported under the other form of a Salesforce id: the 15-character
        case-sensitive one, or the 18-character one (the 15 plus a checksum)."""
        if not (external_id.isascii() and external_id.isalnum()):
            return None
        if len(external_id) == 18:
            found = self.view.by_external_id(external_id[:15])
        elif len(external_id) == 15:
            found = [d for d in self.view.by_external_id_prefix(external_id)
                     if len(d.external_id) == 18]
        else:
            return None
        return found[0] if len(found) == 1 else None

    def named(self, pipeline: str, name: str) -> list[Deal]:
        """Deals of a pipeline with this name, ignoring case (a file without ids is
        matched by name); the names are read once, not once per row."""
        if self.names is None:
            self.names = {}
            for d in self.view.deals():
                self.names.setdefault((d.pipeline, d.name.casefold()), []).append(d)
        return self.names.get((pipeline, name.casefold()), [])

    def new_id(self, row: Row) -> str:
        if row.pipe_id:
            deal_id = row.pipe_id
        elif row.external_id:
            deal_id = derived_id(row.external_id, lambda i: i in self.ids or
                                 self.view.get(i) is not None)
        else:
            deal_id = new_id(self.ids)
        self.ids.add(deal_id)
        return deal_id

    def new_deal(self, row: Row, changes: list) -> tuple[str, list[Step]]:
        pipeline = row.pipeline
        closed = row.status in (WON, LOST)
        opening = [c for c in changes if c.stage is None or not pipeline.stage(c.stage).outcome]
        created = row.moments.get("created_at") or (changes[0].at if changes else None)
        if created is None:
            created = self.closing(row, None, count=False)[0] if closed else self.moment
        first = next((c.stage for c in opening if c.stage), None) or (
            row.closed_from or self.prepared.closed_from[pipeline.name] if closed else
            row.stage or pipeline.open_stages[0].key)
        deal_id = self.new_id(row)
        # The deal starts open: its lost reason comes with its closing (in advance).
        fields = {k: v for k, v in row.fields.items() if v is not None and k != "lost_reason"}
        fields.setdefault("name", row.external_id or row.pipe_id or deal_id)
        fields.setdefault("external_id", row.external_id)
        if changes and changes[0].value is not None:
            # the history says what it started at
            fields["value"] = self.fit_to(changes[0].value, fields.get("currency") or
                                          pipeline.currency, f"the history's amount "
                                          f"{changes[0].value} (line {changes[0].line})",
                                          None)
        base = Deal(id=deal_id, pipeline=pipeline.name, stage=first, status=OPEN,
                    created_at=created, updated_at=created, **fields)
        steps = [Step(Kind.CREATED, created, None, base, row.note)]
        steps += self.advance(row, base, created, [c for c in changes if c.at >= created],
                              new=True)
        touched = row.moments.get("updated_at")
        if touched and touched > steps[-1].at:
            # The file knows the deal changed later, not how: keep the date, say so.
            last = steps[-1].after
            steps.append(Step(Kind.EDITED, touched, last, last.with_changes(updated_at=touched),
                              "imported: changes before this date are not in the file"))
        return deal_id, steps

    def advance(self, row: Row, deal: Deal, floor: datetime, changes: list, *,
                new: bool = False) -> list[Step]:
        """Steps from `deal` (whose last event is at `floor`) to what the row says: the
        history's changes first, then the row's own. A row moving a known deal back
        (reopening it, or to an earlier stage) must say when, after the deal's last change:
        a file made before that change is stale, and would undo it on every re-import."""
        steps: list[Step] = []
        pipeline = row.pipeline
        for change in changes:
            after = deal
            if change.stage and change.stage != deal.stage:
                after = _placed(after, pipeline, change.stage, max(change.at, floor))
            if change.value is not None and change.value != deal.value:
                after = after.with_changes(value=self.fit(
                    change.value, deal, f"the history's amount {change.value} (line "
                                        f"{change.line})", None))
            if after != deal:
                at = max(change.at, floor)
                steps.append(Step(_kind(deal, after), at, deal, after.with_changes(
                    updated_at=at), "import: history"))
                deal, floor = steps[-1].after, at
        replayed = bool(steps)
        target = deal.with_changes(**_changed_fields(row, deal))
        self.check_value(row, deal, target)
        if target.value is not None and (target.value, target.currency) != (deal.value,
                                                                             deal.currency):
            target = target.with_changes(value=self.fit(target.value, target,
                                                        f"value {target.value}",
                                                        row.columns.get("value")))
        stage = row.stage
        if stage is None and row.status == OPEN and deal.status != OPEN:
            from pipecli.ops import last_open_stage

            stage = last_open_stage(self.view, pipeline, deal).key
        moves = stage is not None and (stage != deal.stage or row.status != deal.status)
        if moves and not new and not replayed and _backward(pipeline, deal, stage, row.status) \
                and not self.evidence(row, floor):
            self.count("held_back")
            moves = False
        if not moves and target == deal:
            return steps
        if moves:
            if row.status in (WON, LOST):
                at, source = self.closing(row, floor)
            else:
                at, source = self.dated(row, floor, ("stage_changed_at", "updated_at"))
            after = _placed(target, pipeline, stage, at)
            kind = _kind(deal, after)
        else:
            at, source = self.dated(row, floor, ("updated_at",))
            after, kind = target, Kind.EDITED
        steps.append(Step(kind, at, deal, after.with_changes(updated_at=at),
                          row.note or "import"))
        return steps

    def check_value(self, row: Row, deal: Deal, target: Deal) -> None:
        """An amount written with a currency sign must be in the deal's own currency."""
        if not row.value_text:
            return
        currency = target.currency or self.pipelines[deal.pipeline].currency
        stated = money.stated_currencies(row.value_text)
        if stated is not None and currency not in stated:
            raise RowError(row.columns.get("value"), f"value {row.value_text!r} is not in "
                                                     f"{currency}, the deal's currency")

    def evidence(self, row: Row, floor: datetime) -> bool:
        """Whether the row dates its place after the deal's last change."""
        names = ("won_at" if row.status == WON else "lost_at", "closed_at",
                 "stage_changed_at", "updated_at")
        return any(floor < row.moments[n] <= self.moment for n in names if n in row.moments)

    def fit(self, value: Decimal, deal: Deal, what: str, column: str | None) -> Decimal:
        """An amount checked against the deal's own currency (or rounded, --round)."""
        return self.fit_to(value, deal.currency or self.pipelines[deal.pipeline].currency,
                           what, column)

    def fit_to(self, value: Decimal, currency: str, what: str, column: str | None
               ) -> Decimal:
        places = money.minor_units(currency)
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if rounded == value:
            return value
        if not self.prepared.round_amounts:
            raise RowError(column, f"{what} has more than {places} decimals for {currency}; "
                                   f"say --round to round it")
        return normalize_money(rounded)

    def dated(self, row: Row, floor: datetime, names) -> tuple[datetime, str]:
        """The first of the row's moments that is not before `floor`; else `floor` when
        the row's dates are all earlier (counted in a note); else the import moment."""
        early = None
        for name in names:
            at = row.moments.get(name)
            if at is None:
                continue
            if at >= floor:
                return at, name
            early = early or (floor, name)
        if early:
            self.count("clamped")
            return early
        return max(self.moment, floor), "import"

    def closing(self, row: Row, floor: datetime | None, *, count: bool = True
                ) -> tuple[datetime, str]:
        """When a closed row's deal closed: its won/lost time, closing time, last stage
        change, close date (a closed deal's close date is its real one), last change —
        the first that is known, not in the future and not before `floor`."""
        outcome = "won_at" if row.status == WON else "lost_at"
        candidates = [(row.moments.get(outcome), outcome),
                      (row.moments.get("closed_at"), "closed_at"),
                      (row.moments.get("stage_changed_at"), "stage_changed_at"),
                      (row.close_moment, "close_date"),
                      (row.moments.get("updated_at"), "updated_at")]
        early = None
        for at, name in candidates:
            if at is None:
                continue
            if at > self.moment:
                if count:
                    self.count("future_close")
                continue
            if floor is not None and at < floor:
                early = early or (floor, name)
                continue
            return at, name
        if early:
            if count:
                self.count("clamped")
            return early
        if count:
            self.count("at_import")
        return (self.moment if floor is None else max(self.moment, floor)), "import"


def _changed_fields(row: Row, deal: Deal) -> dict:
    """The row's fields that differ from the deal's (tags compared as a set)."""
    out = {}
    for name, value in row.fields.items():
        if name == "lost_reason" and (row.status or deal.status) != LOST:
            continue  # only a lost deal has a lost reason (the fold clears it otherwise)
        current = getattr(deal, name)
        empty = value in (None, "", ())
        if name == "tags":
            if set(value or ()) != set(current):
                out[name] = value or ()
        elif (value if not empty else None) != (current if current not in ("", ()) else None):
            out[name] = value if not empty else ("" if isinstance(current, str) else None)
    return out


def _backward(pipeline: Pipeline, deal: Deal, stage: str, status: str | None) -> bool:
    """A move a stale file would make: reopening a closed deal, changing its outcome, or
    returning an open one to an earlier stage (on to a later won stage is forward)."""
    order = {s.key: i for i, s in enumerate(pipeline.stages)}
    if deal.stage not in order:  # at a stage the file no longer has: any place is news
        return False
    if deal.status != OPEN:
        return not (status == deal.status and order[stage] > order[deal.stage])
    return (status or OPEN) == OPEN and order[stage] < order[deal.stage]


def _placed(deal: Deal, pipeline: Pipeline, stage: str, at: datetime) -> Deal:
    status = pipeline.stage(stage).status
    return deal.with_changes(stage=stage, status=status,
                             closed_at=at if status != OPEN else None,
                             lost_reason=deal.lost_reason if status == LOST else "")


def _kind(before: Deal, after: Deal) -> Kind:
    if after.status == before.status and after.stage == before.stage:
        return Kind.EDITED
    if after.status in (WON, LOST) and after.status != before.status:
        return Kind.WON if after.status == WON else Kind.LOST
    if before.status != OPEN and after.status == OPEN:
        return Kind.REOPENED
    return Kind.MOVED


def derived_id(external_id: str, taken) -> str:
    """A deal id that depends only on the source's id, so two clones importing one file
    name the deal alike (and a merge of their work holds one deal, not two)."""
    digest = int.from_bytes(hashlib.sha256(b"pipe-external-id\0" + external_id.encode())
                            .digest()[:25], "big")
    for length in range(10, 41):
        candidate = "".join(ID_ALPHABET[(digest >> (5 * i)) & 31] for i in range(length))
        if not taken(candidate):
            return candidate
    raise UsageError(f"cannot name a deal for id {external_id!r}")  # pragma: no cover


