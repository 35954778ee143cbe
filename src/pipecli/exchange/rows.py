"""One import row read into typed values, or refused with the column at fault.

Only the fields a row gives are in it: an empty cell means "the file does not say" (so an
update never clears what another file set) unless --clear-empty asks for it. Amounts go
through the one amount parser (pipecli.money) with the decimal mark found for their column;
dates are read as exports write them and never guessed (03/04/2026 is US order unless
--dayfirst).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from pipecli import money
from pipecli.errors import PipeError
from pipecli.exchange.mapping import CLEARABLE, MOMENT_FIELDS, TEXT_FIELDS, StageTable
from pipecli.exchange.reading_json import JsonNumber
from pipecli.models import LOST, OPEN, WON, Due, Pipeline, Status
from pipecli.store.codec import MAX_TEXT
from pipecli.values import (CONTROL, clean_email, clean_tag, clean_text, parse_probability,
                            unguard_formula)

MAX_TAGS = 50
_PIPE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")  # what the log accepts as a deal id
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class RowError(ValueError):
    """A row refused: the column (header) at fault, if one is, and one sentence."""

    def __init__(self, column: str | None, message: str):
        super().__init__(message)
        self.column = column


@dataclass
class Row:
    """What one row says about one deal."""

    line: int
    pipeline: Pipeline
    pipe_id: str = ""  # pipe's own id (a pipe export)
    external_id: str = ""
    fields: dict = field(default_factory=dict)  # Deal field → value; None clears it
    stage: str | None = None  # the stage the row puts the deal in, when it says
    status: Status | None = None
    closed_from: str | None = None  # the open stage a won/lost row says it closed from
    moments: dict = field(default_factory=dict)  # created_at, won_at, ... → datetime
    close_moment: datetime | None = None  # the close date with its time, when it has one
    value_text: str = ""  # the amount as written, when it names a currency
    columns: dict = field(default_factory=dict)  # field → the header (or --set) it came from
    note: str = ""

    @property
    def key(self) -> str:
        return self.pipe_id or self.external_id or self.fields.get("name", "")


@dataclass(frozen=True)
class Reader:
    """How the rows of one file are read."""

    columns: dict[str, str]  # header → field
    constants: dict[str, str]  # --set field → text
    pipelines: dict[str, Pipeline]  # lower-cased name → pipeline
    default: Pipeline
    stages: dict[str, StageTable]  # pipeline name → its stage table
    marks: dict[str, money.Mark]  # header (or "--set value") → decimal mark of that column
    sure: set[str]  # headers whose mark is certain (given, or decided by the cells)
    dayfirst: frozenset[str] = frozenset()  # headers whose slashed dates are DD/MM
    clear_empty: bool = False
    round_amounts: bool = False

    def cells(self, cells: dict[str, str]) -> list[tuple[str, str, str]]:
        """(field, text, where) of a row: mapped cells, then --set constants."""
        out = [(f, unguard_formula(cells.get(h) or "").strip(), h)
               for h, f in self.columns.items()]
        out += [(f, text, f"--set {f}") for f, text in self.constants.items()]
        return out

    def read(self, line: int, cells: dict[str, str], bad: dict[str, str] | None = None
             ) -> Row:
        """The typed row; raises RowError. `bad`: cells the file could not give (a
        nested JSON value, an oversized cell) — refused only in a mapped column."""
        for header in self.columns:
            if bad and header in bad:
                raise RowError(header, bad[header])
        given: dict[str, tuple[str, str]] = {}
        # A JSON number is written with a decimal point, whatever the column's strings use.
        numbers = {h for h, v in cells.items() if isinstance(v, JsonNumber)}
        for name, text, where in self.cells(cells):
            if CONTROL.search(text):
                raise RowError(where, "contains control characters (such as escape codes or "
                                      "line breaks)")
            if text or (self.clear_empty and name in CLEARABLE):
                given[name] = (text, where)
        row = Row(line, self._pipeline(given))
        row.columns = {name: where for name, (_, where) in given.items()}
        if "id" in given:
            text, where = given.pop("id")
            if not _PIPE_ID.match(text):
                raise RowError(where, f"{text[:40]!r} is not a pipe deal id")
            row.pipe_id = text
        if "external_id" in given:
            text, where = given.pop("external_id")
            if len(text) > MAX_TEXT:
                raise RowError(where, f"the id is {len(text)} characters long (at most "
                                      f"{MAX_TEXT})")
            row.external_id = text
        if "currency" in given:
            text, where = given.pop("currency")
            try:
                code = money.check_currency(text.upper(), what="currency") if text else ""
            except ValueError as e:
                raise RowError(where, str(e)) from None
            row.fields["currency"] = "" if code == row.pipeline.currency else code
        currency = row.fields.get("currency") or row.pipeline.currency
        for name, (text, where) in given.items():
            mark = money.Mark.POINT if where in numbers else \
                self.marks.get(where, money.Mark.POINT)
            known = where in numbers or where in self.sure
            try:
                self._field(row, name, text, currency, where, mark, known)
            except RowError:
                raise
            except (ValueError, PipeError) as e:
                raise RowError(where, str(e)) from None
        self._place(row, given)
        if not (row.pipe_id or row.external_id or row.fields.get("name")):
            named = next((h for h, f in self.columns.items() if f == "name"), None)
            raise RowError(named, "the row has neither a deal name nor an id")
        return row

    def _pipeline(self, given: dict) -> Pipeline:
        if "pipeline" not in given:
            return self.default
        text, where = given.pop("pipeline")
        found = self.pipelines.get(text.lower())
        if found is None:
            raise RowError(where, f"there is no pipeline {text!r} in the pipeline file")
        return found

    def _field(self, row: Row, name: str, text: str, currency: str, where: str,
               mark: money.Mark, mark_known: bool) -> None:
        if name in ("stage", "status", "is_won", "is_closed"):
            return  # read together in _place
        if not text:
            row.fields[name] = None  # --clear-empty
        elif name in TEXT_FIELDS:
            value = clean_email(text) if name == "email" else \
                clean_text(text, what=name.replace("_", " "), limit=MAX_TEXT)
            if name == "note":
                row.note = value
            else:
                row.fields[name] = value
        elif name == "value":
            row.fields["value"] = money.parse_amount(
                text, currency=currency, mark=mark, round_half_up=self.round_amounts,
                mark_known=mark_known, what="value")
            if money.stated_currencies(text) is not None:
                row.value_text = text  # checked again against the deal's own currency
        elif name == "probability":
            row.fields["probability"] = parse_probability(text)
        elif name == "tags":
            tags = tuple(dict.fromkeys(clean_tag(t) for t in re.split(r"[;,]", text)
                                       if t.strip()))
            if len(tags) > MAX_TAGS:
                raise RowError(where, f"{len(tags)} tags; the limit is {MAX_TAGS}")
            row.fields["tags"] = tags
        elif name == "close_date":
            row.close_moment = parse_moment(text, dayfirst=where in self.dayfirst)
            row.fields["close_date"] = row.close_moment.date()
        elif name == "next_due":
            row.fields["next_due"] = _due(text, dayfirst=where in self.dayfirst)
        elif name in MOMENT_FIELDS:
            row.moments[name] = parse_moment(text, dayfirst=where in self.dayfirst)

    def _place(self, row: Row, given: dict) -> None:
        """Stage and status as the row gives them; a contradiction is refused."""
        table = self.stages[row.pipeline.name]
        status = None
        if "status" in given:
            text, where = given["status"]
            status = {"open": OPEN, "won": WON, "lost": LOST}.get(text.lower())
            if status is None and text:
                raise RowError(where, f"status {text!r} is not open, won or lost")
        if "is_closed" in given or "is_won" in given:
            won = _flag(given, "is_won")
            closed = _flag(given, "is_closed") or won
            flagged = WON if won else (LOST if closed else OPEN)
            if status is not None and status != flagged:
                raise RowError(given.get("status")[1], f"status {status} contradicts "
                                                       f"IsWon/IsClosed ({flagged})")
            status = flagged
        stage = None
        if "stage" in given and given["stage"][0]:
            text, where = given["stage"]
            stage = table.resolve(text)
            if stage is None:
                raise UnknownStage(where, text)
            outcome = row.pipeline.stage(stage).status
            if status is None:
                status = outcome
            elif status != outcome:
                if status == OPEN:
                    raise RowError(where, f"stage {text!r} is closed but the row says the "
                                          f"deal is open")
                if outcome != OPEN:
                    raise RowError(where, f"stage {text!r} is {outcome} but the row says "
                                          f"{status}")
                # An open stage with a won/lost status (Pipedrive): it closed from there.
                row.closed_from = stage
                stage = None
        if status in (WON, LOST) and stage is None:
            stage = row.pipeline.won_stage.key if status == WON else \
                row.pipeline.lost_stage.key
        row.stage, row.status = stage, status


class UnknownStage(RowError):
    """A stage text the pipeline does not know (collected: the import lists them all)."""

    def __init__(self, column: str, text: str):
        super().__init__(column, f"unknown stage {text!r}")
        self.text = text


def _flag(given: dict, name: str) -> bool:
    if name not in given:
        return False
    text, where = given[name]
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise RowError(where, f"{text!r} is not true or false")


# -- dates ---------------------------------------------------------------------------------

_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?"
                 r"\s*([AaPp][Mm])?)?$")
_EU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_ISO_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def date_order(cells: list[tuple[int, str]]) -> bool | None:
    """Whether a column's slashed dates are day first: True when some cell can only be
    DD/MM (31/01/2026), False when some can only be MM/DD (01/31/2026), None when no cell
    decides; cells that disagree raise ValueError naming the first that does."""
    decided: tuple[bool, int, str] | None = None
    for line, text in cells:
        m = _US.match(text.strip())
        if not m:
            continue
        a, b = int(m[1]), int(m[2])
        if (a > 12) == (b > 12):
            continue  # both day-like or both month-like: this cell decides nothing
        dayfirst = a > 12
        if decided is None:
            decided = (dayfirst, line, text)
        elif decided[0] != dayfirst:
            order = "DD/MM" if dayfirst else "MM/DD"
            other = "DD/MM" if decided[0] else "MM/DD"
            raise ValueError(f"line {line}: {text.strip()!r} is {order} but line "
                             f"{decided[1]}'s {decided[2].strip()!r} is {other}; the column "
                             f"mixes both")
    return None if decided is None else decided[0]


def _due(text: str, *, dayfirst: bool) -> Due:
    """A next step's due date in a file: pipe's own stored form, or a date (due that day)
    or a date-time as parse_moment reads them."""
    try:
        due = Due.parse_stored(text.strip())
    except ValueError:
        moment = parse_moment(text, dayfirst=dayfirst)
        due = Due(moment.date(), moment) if ":" in text else Due(moment.date())
    return due.checked()


def parse_moment(text: str, *, dayfirst: bool = False) -> datetime:
    """A date or date-time as exports write them: ISO (any offset), US MM/DD/YY[YY] with an
    optional time and AM/PM (DD/MM with dayfirst), DD.MM.YYYY. A bare date is local
    midnight; a time without an offset is local time. Raises ValueError."""
    raw = text.strip()
    try:
        moment = _moment(raw, dayfirst)
    except (ValueError, OverflowError):
        raise ValueError(f"{text[:40]!r} is not a date") from None
    if not 1900 <= moment.year <= 9998:
        raise ValueError(f"{text[:40]!r} is not a date pipe can keep (years 1900 to 9998)")
    return moment


def _moment(raw: str, dayfirst: bool) -> datetime:
    m = _US.match(raw)
    if m:
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        month, day = (b, a) if dayfirst else (a, b)
        year += 2000 if year < 100 else 0
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        if m[7]:
            if not 1 <= hour <= 12:
                raise ValueError(raw)
            hour = hour % 12 + (12 if m[7].lower() == "pm" else 0)
        return datetime(year, month, day, hour, minute, second).astimezone()
    m = _EU.match(raw)
    if m:
        return datetime(int(m[3]), int(m[2]), int(m[1]), int(m[4] or 0), int(m[5] or 0),
                        int(m[6] or 0)).astimezone()
    if len(raw) == 10:
        return datetime.combine(date.fromisoformat(raw), time()).astimezone()
    fixed = _ISO_OFFSET.sub(r"\1:\2", raw.replace(" ", "T", 1))
    if fixed.endswith("Z"):
        fixed = fixed[:-1] + "+00:00"
    moment = datetime.fromisoformat(fixed)
    return (moment if moment.tzinfo else moment.astimezone()).replace(microsecond=0)


def column_cells(records, header: str) -> list[tuple[int, str]]:
    """(line, text) of one column's non-empty written cells, for finding its decimal mark
    or date order (JSON numbers aside: they always use a point)."""
    return [(r.line, unguard_formula(r.cells.get(header) or "").strip()) for r in records
            if not r.problem and (r.cells.get(header) or "").strip()
            and not isinstance(r.cells.get(header), JsonNumber)]

