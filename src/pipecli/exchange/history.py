"""`pipe import --history FILE`: a deal's past stages and amounts, one row per change
(Salesforce's OpportunityHistory: OpportunityId, CreatedDate, StageName, Amount).

Each row is a snapshot of the deal at its date; replayed in date order (rows of one date in
file order) it gives the moves, the real closing moment and the value changes that
`--as-of` and the time-in-stage figures see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pipecli import money
from pipecli.errors import ImportRejected, UsageError
from pipecli.exchange.mapping import StageTable, norm
from pipecli.exchange.reading import read_table
from pipecli.exchange.rows import column_cells, date_order, parse_moment
from pipecli.values import unguard_formula

_DEAL = ("opportunityid", "dealid", "deal", "leadid", "id")
_WHEN = ("createddate", "date", "changedat", "at", "changedate", "time")
_STAGE = ("stagename", "stage", "dealstage")
_VALUE = ("amount", "value")


@dataclass(frozen=True)
class Change:
    """What one history row says a deal was at a moment."""

    at: datetime
    stage: str | None
    value: Decimal | None
    line: int


@dataclass
class History:
    """Changes per source id, oldest first."""

    by_id: dict[str, list[Change]] = field(default_factory=dict)
    by_prefix: dict[str, str] = field(default_factory=dict)  # Salesforce 15-char → 18-char

    def changes(self, external_id: str) -> list[Change]:
        """The deal's changes. Salesforce ids come in a 15-character case-sensitive form
        and an 18-character one (the 15 plus a 3-character checksum); either matches."""
        found = self.by_id.get(external_id)
        if found is None and len(external_id) == 18:
            found = self.by_id.get(external_id[:15])
        if found is None and len(external_id) == 15:
            found = self.by_id.get(self.by_prefix.get(external_id, ""))
        return found or []


    def unmatched(self, external_ids) -> tuple[int, int] | None:
        """(deals, changes) of the history no row's id matches; None when all match."""
        used = set()
        for external_id in external_ids:
            for candidate in (external_id, external_id[:15] if len(external_id) == 18 else
                              self.by_prefix.get(external_id, "")):
                if candidate in self.by_id:
                    used.add(candidate)
                    break
        left = [i for i in self.by_id if i not in used]
        return (len(left), sum(len(self.by_id[i]) for i in left)) if left else None


def read_history(path: Path, stages: StageTable, options, notes: list[str]) -> History:
    """Read and check every row; an unreadable row stops the import with all of them
    listed (ImportRejected)."""
    table = read_table(path, encoding=options.encoding)
    by_norm = {norm(h): h for h in table.headers}

    def column(names) -> str | None:
        return next((by_norm[n] for n in names if n in by_norm), None)

    deal_col, when_col, stage_col = column(_DEAL), column(_WHEN), column(_STAGE)
    value_col = column(_VALUE)
    if not (deal_col and when_col and (stage_col or value_col)):
        raise UsageError(f"{path.name}: a history file needs a deal id, a date and a stage "
                         f"or amount column (e.g. OpportunityId, CreatedDate, StageName, "
                         f"Amount)")
    try:
        dayfirst = options.dayfirst or bool(date_order(column_cells(table.records, when_col)))
    except ValueError as e:
        raise UsageError(f"{path.name}: column {when_col!r}, {e}") from None
    mark = options.decimal
    if value_col and mark is None:
        try:
            mark = money.detect_mark(column_cells(table.records, value_col))
        except money.AmbiguousAmount:
            # a comma-separated file writes a decimal point (not certain: see money.py)
            if table.delimiter not in (",", "json"):
                raise UsageError(f"{path.name}: the amounts in column {value_col!r} could be "
                                 f"read with a decimal point or comma; say --decimal-point or "
                                 f"--decimal-comma") from None
    problems: list[str] = []
    unknown: dict[str, int] = {}
    history = History()
    for record in table.records:
        if record.problem:
            problems.append(f"{path.name}:{record.line}: {record.problem}")
            continue
        cells = {k: unguard_formula(v or "").strip() for k, v in record.cells.items()}
        deal = cells.get(deal_col, "")
        if not deal:
            problems.append(f"{path.name}:{record.line}: column {deal_col!r} is empty")
            continue
        try:
            at = parse_moment(cells.get(when_col, ""), dayfirst=dayfirst)
        except ValueError as e:
            problems.append(f"{path.name}:{record.line}: column {when_col!r}: {e}")
            continue
        stage = None
        if stage_col and cells.get(stage_col):
            stage = stages.resolve(cells[stage_col])
            if stage is None:
                unknown.setdefault(cells[stage_col], record.line)
                continue
        value = None
        if value_col and cells.get(value_col):
            try:
                value = money.parse_amount(cells[value_col], currency=None,
                                           mark=mark or money.Mark.POINT,
                                           mark_known=mark is not None,
                                           round_half_up=options.round_amounts,
                                           what="amount")
            except ValueError as e:
                problems.append(f"{path.name}:{record.line}: column {value_col!r}: {e}")
                continue
        history.by_id.setdefault(deal, []).append(Change(at, stage, value, record.line))
    if unknown:
        listed = ", ".join(f"{v!r} (line {n})" for v, n in unknown.items())
        raise ImportRejected(f"{path.name}: stages not in pipeline {stages.pipeline.name!r}: "
                             f"{listed}; map them with --stage-map SOURCE=STAGE_KEY; nothing "
                             f"was imported")
    if problems:
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise ImportRejected(f"{len(problems)} history rows cannot be read: {shown}{more}; "
                             f"nothing was imported")
    for changes in history.by_id.values():
        changes.sort(key=lambda c: c.at)  # stable: rows of one moment stay in file order
    history.by_prefix = {i[:15]: i for i in history.by_id if len(i) == 18}
    notes.append(f"{path.name}: {sum(len(c) for c in history.by_id.values())} changes of "
                 f"{len(history.by_id)} deals read")
    return history
