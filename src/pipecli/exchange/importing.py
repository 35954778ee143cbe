"""`pipe import`: deals from CSV or JSON-lines exports of other tools (or of pipe itself).

Reading, mapping and checking happen first, for every row, so that a file either goes in
whole or not at all (each rejected row reported with its line); then one store transaction
adds new deals and turns changes to known deals into history events. A row whose id is
already in the store updates that deal, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from pipecli.errors import PipeError, UsageError
from pipecli.models import LOST, OPEN, WON, Deal, Event, Kind, Pipeline, Workspace
from pipecli.store import Store
from pipecli.store.codec import DEAL_COLUMNS, EVENT_COLUMNS, row_to_event
from pipecli.values import (MAX_VALUE, normalize_money, now, parse_stored_money,
                            unguard_formula)

FIELDS = ("id", "name", "stage", "status", "value", "probability", "company", "contact",
          "email", "owner", "source", "close_date", "tags", "lost_reason", "created_at",
          "won_at", "lost_at", "closed_at", "note", "pipeline", "updated_at")

# Header names as exported by each tool, normalised (see _norm); values are pipe fields.
PRESETS: dict[str, dict[str, str]] = {
    "hubspot": {"recordid": "id", "dealname": "name", "dealstage": "stage",
                "closedate": "close_date", "dealowner": "owner", "amount": "value",
                "createdate": "created_at", "pipeline": "", "dealtype": "",
                "closedlostreason": "lost_reason", "originalsource": "source"},
    "pipedrive": {"id": "id", "title": "name", "value": "value", "organization": "company",
                  "contactperson": "contact", "owner": "owner", "stage": "stage",
                  "status": "status", "expectedclosedate": "close_date",
                  "dealcreated": "created_at", "wontime": "won_at", "losttime": "lost_at",
                  "lostreason": "lost_reason", "source": "source"},
    "salesforce": {"id": "id", "name": "name", "stagename": "stage", "amount": "value",
                   "closedate": "close_date", "createddate": "created_at",
                   "ownerid": "owner", "accountid": "company", "leadsource": "source",
                   "iswon": "is_won", "isclosed": "is_closed"},
    "pipe": {c: c for c in DEAL_COLUMNS},
}
# What the automatic match understands when no preset is given.
AUTO = {
    "id": "id", "dealid": "id", "recordid": "id", "opportunityid": "id", "externalid": "id",
    "name": "name", "dealname": "name", "title": "name", "deal": "name",
    "opportunityname": "name", "opportunity": "name",
    "stage": "stage", "dealstage": "stage", "stagename": "stage",
    "status": "status", "value": "value", "amount": "value", "dealvalue": "value",
    "closevalue": "value", "revenue": "value", "expectedrevenue": "value",
    "company": "company", "account": "company", "accountname": "company",
    "organization": "company", "organisation": "company",
    "contact": "contact", "contactperson": "contact", "contactname": "contact",
    "email": "email", "emailaddress": "email",
    "owner": "owner", "dealowner": "owner", "salesagent": "owner", "rep": "owner",
    "salesrep": "owner", "source": "source", "leadsource": "source", "channel": "source",
    "campaign": "source",
    "closedate": "close_date", "expectedclosedate": "close_date",
    "createdate": "created_at", "created": "created_at", "createdat": "created_at",
    "createddate": "created_at", "dealcreated": "created_at", "engagedate": "created_at",
    "wontime": "won_at", "wonat": "won_at", "losttime": "lost_at", "lostat": "lost_at",
    "closedat": "closed_at", "updatedat": "updated_at", "lostreason": "lost_reason",
    "tags": "tags",
    "probability": "probability", "note": "note", "notes": "note",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


_unguard = unguard_formula  # the ' pipe's CSV export puts before formula-like text


def _norm(header: str) -> str:
    text = header.strip().lower()
    text = re.sub(r"^deal\s*-\s*", "", text)  # Pipedrive: "Deal - Title"
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass
class Record:
    line: int
    cells: dict[str, str]


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass(frozen=True)
class Step:
    """One event an import will append: the deal before (None: created) and after."""

    kind: Kind
    at: datetime
    before: Deal | None
    after: Deal | None
    note: str = ""


@dataclass
class Plan:
    """What an import would do: deals to add, deals to update, rows rejected."""

    added: list[tuple[Deal, list["Step"]]] = field(default_factory=list)
    updated: list[tuple[Deal, list["Step"]]] = field(default_factory=list)
    ready: list[Event] = field(default_factory=list)  # pipe's own history, as it was
    events: bool = False  # a history file: `ready` and `unchanged` count events, not deals
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)  # value → first line


def read_file(path: Path) -> tuple[list[str], list[Record]]:
    """Headers and rows of a CSV (any delimiter, BOM, CRLF) or JSON-lines file."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PipeError(f"cannot read {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PipeError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or \
            text.lstrip().startswith(("{", "[")):
        return _read_json(path, text)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise PipeError(f"{path} is empty") from None
    records = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = reader.line_num
        if len(cells) != len(headers):
            records.append(Record(line, {"\0bad": f"has {len(cells)} cells, the header has "
                                                  f"{len(headers)}"}))
            continue
        records.append(Record(line, dict(zip(headers, cells))))
    return headers, records


def _read_json(path: Path, text: str) -> tuple[list[str], list[Record]]:
    stripped = text.lstrip()
    items: list[tuple[int, object]] = []
    if stripped.startswith("["):
        try:
            items = [(i + 1, obj) for i, obj in enumerate(json.loads(text))]
        except ValueError as e:
            raise PipeError(f"{path}: not valid JSON ({e})") from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append((number, json.loads(line)))
                except ValueError:
                    items.append((number, None))
    headers: list[str] = []
    records = []
    for number, obj in items:
        if not isinstance(obj, dict):
            records.append(Record(number, {"\0bad": "is not a JSON object"}))
            continue
        cells = {}
        for key, value in obj.items():
            if key not in headers:
                headers.append(key)
            if isinstance(value, list):
                value = ";".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = json.dumps(value, sort_keys=True, ensure_ascii=False,
                                   separators=(",", ":")) if value else ""
            cells[key] = "" if value is None else str(value)
        records.append(Record(number, cells))
    return headers, records


def mapping(headers: list[str], preset: str | None, maps: list[str]) -> dict[str, str]:
    """Source header → pipe field: explicit --map first, then the preset, then AUTO."""
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    table = PRESETS.get(preset, {}) if preset else {}
    out: dict[str, str] = {}
    for header in headers:
        key = _norm(header)
        target = table.get(key) if preset else None
        if target is None:
            target = AUTO.get(key)
        if target:
            out[header] = target
    for item in maps:
        if "=" not in item:
            raise UsageError(f"--map {item!r} must be SOURCE_COLUMN=FIELD")
        source, target = (x.strip() for x in item.split("=", 1))
        if source not in headers:
            raise UsageError(f"--map {item!r}: the file has no column {source!r} (columns: "
                             f"{', '.join(headers)})")
        if target not in FIELDS:
            raise UsageError(f"--map {item!r}: {target!r} is not a field (fields: "
                             f"{', '.join(FIELDS)})")
        out = {h: f for h, f in out.items() if f != target}
        out[source] = target
    if "name" not in out.values() and "id" not in out.values():
        raise UsageError("no column maps to the deal name or id; use --map COLUMN=name")
    return out


# -- values ------------------------------------------------------------------------------------

_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?"
                 r"\s*([AaPp][Mm])?)?$")
_EU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_moment(text: str, *, dayfirst: bool = False) -> datetime:
    """A date or date-time as exports write them; local midnight for a bare date."""
    raw = text.strip()
    m = _US.match(raw)
    if m:
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        month, day = (b, a) if dayfirst else (a, b)
        year += 2000 if year < 100 else 0
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        if m[7]:
            hour = hour % 12 + (12 if m[7].lower() == "pm" else 0)
        return datetime(year, month, day, hour, minute, second).astimezone()
    m = _EU.match(raw)
    if m:
        return datetime(int(m[3]), int(m[2]), int(m[1])).astimezone()
    if len(raw) == 10:
        return datetime.combine(date.fromisoformat(raw), time()).astimezone()
    fixed = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw.replace(" ", "T", 1))
    moment = datetime.fromisoformat(fixed)
    return (moment if moment.tzinfo else moment.astimezone()).replace(microsecond=0)


def parse_amount(text: str) -> Decimal:
    """An amount as exports write it: thousands commas and a currency symbol allowed."""
    raw = text.strip().lstrip("$€£¥").replace(",", "").replace("_", "").strip()
    try:
        return normalize_money(parse_stored_money(raw))
    except ValueError:
        raise ValueError(f"value {text!r} is not an amount between 0 and {MAX_VALUE}") \
            from None


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "y", "t")


# -- stages --------------------------------------------------------------------------------------

def stage_resolver(pipeline: Pipeline, stage_maps: list[str]):
    """A function from a source stage text to a stage key (None when unknown)."""
    table: dict[str, str] = {}
    for s in pipeline.stages:
        table[_norm(s.key)] = s.key
        table[_norm(s.label)] = s.key
    for word in ("won", "closedwon", "closed won"):
        table.setdefault(_norm(word), pipeline.won_stage.key)
    for word in ("lost", "closedlost"):
        table.setdefault(_norm(word), pipeline.lost_stage.key)
    for item in stage_maps:
        if "=" not in item:
            raise UsageError(f"--stage-map {item!r} must be SOURCE_STAGE=STAGE_KEY")
        source, target = (x.strip() for x in item.split("=", 1))
        if pipeline.stage(target) is None:
            raise UsageError(f"--stage-map {item!r}: pipeline {pipeline.name!r} has no stage "
                             f"{target!r}")
        table[_norm(source)] = target
    return lambda text: table.get(_norm(text))


# -- planning ------------------------------------------------------------------------------------

@dataclass
class Options:
    preset: str | None = None
    maps: tuple[str, ...] = ()
    stage_maps: tuple[str, ...] = ()
    closed_from: str | None = None  # open stage a closed deal without history was created at
    dayfirst: bool = False
    history: Path | None = None  # Salesforce OpportunityHistory-style stage changes


def plan(ws: Workspace, pipeline: Pipeline, store: Store, path: Path, options: Options) -> Plan:
    """Read, map and check every row; nothing is written."""
    headers, records = read_file(path)
    if [h.strip() for h in headers] == list(EVENT_COLUMNS):
        return _plan_events(store, records)
    columns = mapping(headers, options.preset, list(options.maps))
    resolve_stage = stage_resolver(pipeline, list(options.stage_maps))
    closed_from = pipeline.stage(options.closed_from) if options.closed_from else \
        pipeline.open_stages[0]
    if closed_from is None or closed_from.outcome:
        raise UsageError(f"--closed-from must be an open stage of {pipeline.name!r}")
    changes = _read_history(options.history, resolve_stage, options.dayfirst) \
        if options.history else {}
    result = Plan()
    parsed = []
    for record in records:
        try:
            parsed.append((record.line, _row(record, columns, resolve_stage, pipeline,
                                             options.dayfirst, result)))
        except ValueError as e:
            result.rejected.append(Rejected(record.line, str(e)))
    if result.unknown_stages:
        return result
    moment = now()
    with store.read() as snapshot:
        seen: set[str] = set()
        for line, row in parsed:
            if row["id"] in seen:
                result.rejected.append(Rejected(line, f"id {row['id']} appears twice in the "
                                                      f"file"))
                continue
            seen.add(row["id"])
            existing = snapshot.get(row["id"])
            try:
                if existing is None:
                    result.added.append(_new_deal(row, pipeline, closed_from,
                                                  changes.get(row["id"], []), moment))
                else:
                    update = _update(existing, row, pipeline,
                                     snapshot.last_effective(existing.id), moment)
                    if update is None:
                        result.unchanged += 1
                    else:
                        result.updated.append(update)
            except ValueError as e:
                result.rejected.append(Rejected(line, str(e)))
    return result


def _row(record: Record, columns: dict[str, str], resolve_stage, pipeline: Pipeline,
         dayfirst: bool, result: Plan) -> dict:
    if "\0bad" in record.cells:
        raise ValueError(record.cells["\0bad"])
    row: dict = {}
    for header, target in columns.items():
        text = _unguard((record.cells.get(header) or "").strip())
        if text and target not in row:
            row[target] = text
    if any(ch in "".join(row.values()) for ch in "\x00\x1b\n\r"):
        raise ValueError("contains control characters")
    deal_id = row.get("id", "").lower()
    if deal_id and not _ID.match(deal_id):
        raise ValueError(f"id {row['id']!r} is not usable as a deal id")
    from pipecli.values import new_id

    row["id"] = deal_id or new_id()
    if not row.get("name"):
        row["name"] = row.get("id")
    status = row.get("status", "").lower()
    if "is_won" in row or "is_closed" in row:
        status = WON if _truthy(row.get("is_won", "")) else (
            LOST if _truthy(row.get("is_closed", "")) else OPEN)
    stage_text = row.get("stage", "")
    key = resolve_stage(stage_text) if stage_text else None
    if stage_text and key is None:
        result.unknown_stages.setdefault(stage_text, record.line)
        raise ValueError(f"unknown stage {stage_text!r}")
    if status in ("won", "lost"):
        if key is None or (pipeline.stage(key).outcome or OPEN) != status:
            key = pipeline.won_stage.key if status == WON else pipeline.lost_stage.key
    elif status not in ("", "open"):
        raise ValueError(f"status {row['status']!r} is not open, won or lost")
    if key is None:
        key = pipeline.open_stages[0].key
    row["stage"] = key
    row["status"] = pipeline.stage(key).outcome or OPEN
    for name in ("created_at", "won_at", "lost_at", "closed_at", "updated_at"):
        if row.get(name):
            try:
                row[name] = parse_moment(row[name], dayfirst=dayfirst)
            except ValueError:
                raise ValueError(f"{name} {row[name]!r} is not a date") from None
    if row.get("close_date"):
        try:
            row["close_date"] = parse_moment(row["close_date"], dayfirst=dayfirst).date()
        except ValueError:
            raise ValueError(f"close date {row['close_date']!r} is not a date") from None
    for name in ("value", "probability"):
        if row.get(name):
            row[name] = parse_amount(row[name])
    if row.get("probability") is not None and row.get("probability", 0) > 100:
        raise ValueError(f"probability {row['probability']} is over 100")
    return row


def _fields(row: dict, pipeline_name: str) -> dict:
    tags = tuple(t.strip() for t in re.split(r"[;,]", row.get("tags", "")) if t.strip())
    return dict(pipeline=pipeline_name, name=row["name"][:500], value=row.get("value"),
                probability=row.get("probability"), company=row.get("company", ""),
                contact=row.get("contact", ""), email=row.get("email", ""),
                owner=row.get("owner", ""), source=row.get("source", ""),
                close_date=row.get("close_date"), tags=tags)


def _closing_time(row: dict) -> datetime | None:
    for name in ("won_at" if row["status"] == WON else "lost_at", "closed_at"):
        if row.get(name):
            return row[name]
    if row.get("close_date"):
        return datetime.combine(row["close_date"], time()).astimezone()
    return None


def _new_deal(row: dict, pipeline: Pipeline, closed_from, history: list, moment: datetime
              ) -> tuple[Deal, list[Step]]:
    closed = row["status"] != OPEN
    # An expected close date is not a creation time: only a closed deal's closing moment
    # bounds when it was created.
    created = row.get("created_at") or (history[0][0] if history else None) or \
        (_closing_time(row) if closed else None) or moment
    path = [(at, stage, value) for at, stage, value in history
            if pipeline.stage(stage) and not pipeline.stage(stage).outcome]
    first_stage = path[0][1] if path else (closed_from.key if closed else row["stage"])
    base = Deal(id=row["id"], stage=first_stage, status=OPEN, created_at=created,
                updated_at=created, **_fields(row, pipeline.name))
    steps = [Step(Kind.CREATED, created, None, base, row.get("note", ""))]
    deal = base
    for at, stage, value in path[1:]:
        if stage != deal.stage:
            at = max(at, steps[-1].at)
            after = deal.with_changes(stage=stage, updated_at=at)
            steps.append(Step(Kind.MOVED, at, deal, after))
            deal = after
    if closed or deal.stage != row["stage"]:
        at = max(_closing_time(row) or created, steps[-1].at)
        kind = {WON: Kind.WON, LOST: Kind.LOST}.get(row["status"], Kind.MOVED)
        after = deal.with_changes(stage=row["stage"], status=row["status"], updated_at=at,
                                  closed_at=at if closed else None,
                                  lost_reason=row.get("lost_reason", "") if kind == Kind.LOST
                                  else "")
        steps.append(Step(kind, at, deal, after))
        deal = after
    touched = row.get("updated_at")
    if touched and touched > steps[-1].at:
        # The file knows the deal changed later, not how: keep the date, say so.
        deal = deal.with_changes(updated_at=touched)
        steps.append(Step(Kind.EDITED, touched, deal, deal,
                          "imported: changes before this date are not in the file"))
    return deal, steps


def _update(existing: Deal, row: dict, pipeline: Pipeline, last: Event | None,
            moment: datetime) -> tuple[Deal, list[Step]] | None:
    fields = _fields(row, existing.pipeline)
    if existing.pipeline != pipeline.name:
        raise ValueError(f"deal {existing.id} belongs to pipeline {existing.pipeline!r}")
    target = existing.with_changes(**{k: v for k, v in fields.items() if k != "pipeline"})
    steps: list[Step] = []
    floor = last.at if last else existing.created_at
    closing = _closing_time(row) if row["status"] != OPEN and row["stage"] != existing.stage \
        else None
    if target != existing:
        # A change of value that comes with a win belongs to the day of the win.
        at = max(row.get("updated_at") or closing or moment, floor)
        steps.append(Step(Kind.EDITED, at, existing, target, "import"))
        floor = at
    if row["stage"] != existing.stage:
        closed = row["status"] != OPEN
        at = max(closing or moment, floor)
        kind = {WON: Kind.WON, LOST: Kind.LOST}.get(row["status"]) or (
            Kind.REOPENED if existing.status != OPEN else Kind.MOVED)
        after = target.with_changes(stage=row["stage"], status=row["status"],
                                    closed_at=at if closed else None,
                                    lost_reason=row.get("lost_reason", "") if kind == Kind.LOST
                                    else "")
        steps.append(Step(kind, at, target, after, "import"))
        target = after
    if not steps:
        return None
    return target.with_changes(updated_at=steps[-1].at), steps


def _read_history(path: Path, resolve_stage, dayfirst: bool) -> dict[str, list]:
    """Stage changes per deal id, oldest first, from an OpportunityHistory-like file."""
    headers, records = read_file(path)
    norm = {_norm(h): h for h in headers}
    deal_col = next((norm[k] for k in ("opportunityid", "dealid", "id") if k in norm), None)
    when_col = next((norm[k] for k in ("createddate", "date", "at", "changedat") if k in norm),
                    None)
    stage_col = next((norm[k] for k in ("stagename", "stage") if k in norm), None)
    value_col = next((norm[k] for k in ("amount", "value") if k in norm), None)
    if not (deal_col and when_col and stage_col):
        raise UsageError(f"{path}: a history file needs deal id, date and stage columns "
                         f"(e.g. OpportunityId, CreatedDate, StageName)")
    out: dict[str, list] = {}
    unknown = set()
    for r in records:
        stage = resolve_stage(r.cells.get(stage_col, ""))
        if stage is None:
            unknown.add(r.cells.get(stage_col, ""))
            continue
        try:
            at = parse_moment(r.cells[when_col], dayfirst=dayfirst)
        except (ValueError, KeyError):
            raise PipeError(f"{path}:{r.line}: {r.cells.get(when_col)!r} is not a date") \
                from None
        value = parse_amount(r.cells[value_col]) if value_col and r.cells.get(value_col) \
            else None
        out.setdefault(r.cells[deal_col].strip().lower(), []).append((at, stage, value))
    if unknown:
        raise PipeError(f"{path}: unknown stages {sorted(unknown)}; map them with --stage-map")
    for changes in out.values():
        changes.sort(key=lambda c: c[0])
    return out


def _plan_events(store: Store, records: list[Record]) -> Plan:
    """pipe's own history export: the events go back as they were (same ids), so
    importing it twice, or into a clone that has some of them, adds only what is missing."""
    result = Plan(events=True)
    events = []
    for r in records:
        if "\0bad" in r.cells:
            result.rejected.append(Rejected(r.line, r.cells["\0bad"]))
            continue
        try:
            events.append(row_to_event([_unguard(r.cells[c]) for c in EVENT_COLUMNS]))
        except ValueError as e:
            result.rejected.append(Rejected(r.line, str(e)))
    with store.read() as snapshot:
        for event in events:
            if snapshot.event(event.id) is not None:
                result.unchanged += 1
            else:
                result.ready.append(event)
    return result


def apply(store: Store, result: Plan, advance=None) -> None:
    """Write a plan in one transaction (call only when nothing was rejected); advance(n) is
    told how many deals were written, for a progress bar."""
    from pipecli.ops import field_sets

    with store.write() as tx:
        if result.ready:
            tx.land(result.ready)
        for i, (deal, steps) in enumerate(result.added + result.updated, start=1):
            for step in steps:
                sets, added, removed = field_sets(step.before, step.after)
                tx.append(deal.id, step.kind, step.at, sets=sets, tags_added=added,
                          tags_removed=removed, note=step.note)
            if advance and i % 500 == 0:
                advance(500)
