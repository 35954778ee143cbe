"""The costs file of `pipe costs`: found inside the workspace, read with the one reader
(pipecli.exchange.reading) and its amounts with the one parser (pipecli.money).

A costs file is a CSV with the columns period, source and amount, and optionally currency
(docs/pipeline-yaml.md, "The costs file"). Every bad row is reported — all of them, as
`FILE:LINE: column 'X': sentence` — and nothing is computed from a file with one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path, PurePosixPath

from pipecli import money
from pipecli.engine.periods import Period, parse_period
from pipecli.errors import CostsRejected, PipeError, Problem
from pipecli.models import Pipeline, Workspace
from pipecli.values import CONTROL

COLUMNS = ("period", "source", "amount", "currency")  # what is read; currency is optional
REQUIRED = COLUMNS[:3]
MAX_SOURCE = 200  # a source name longer than this is no source name
_CONVERT = Context(prec=60)  # an amount (15 digits) × a rate (22): every digit kept


@dataclass(frozen=True)
class CostRow:
    """One row of the costs file: money spent on a source in a period."""

    line: int
    period: Period
    source: str  # as written, trimmed
    amount: Decimal  # in the pipeline's currency, exact (converted at its rate)
    currency: str  # the currency the row was written in


@dataclass(frozen=True)
class CostsFile:
    """The rows of a costs file, and what to tell the user about how it was read."""

    name: str  # the path as `costs:` gives it, relative to the workspace
    rows: tuple[CostRow, ...]
    notes: tuple[str, ...] = ()


def costs_location(ws: Workspace, pipeline: Pipeline) -> Path:
    """The costs file of a pipeline, checked to be inside the workspace without a symbolic
    link anywhere on the way (the workspace may be a folder someone sent); one sentence
    when there is none."""
    if pipeline.costs is None:
        raise PipeError(f"{ws.path.name} gives pipeline {pipeline.name!r} no costs file; add "
                        f"`costs: costs.csv` (a CSV of period, source, amount beside it; see "
                        f"`pipe help yaml`)")
    here = ws.root
    for part in PurePosixPath(pipeline.costs).parts:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            raise PipeError(f"the costs file {pipeline.costs} (`costs:` in {ws.path.name}) "
                            f"does not exist") from None
        except OSError as e:
            raise PipeError(f"the costs file {pipeline.costs} cannot be read "
                            f"({e.strerror})") from None
        if stat.S_ISLNK(mode):
            through = here.relative_to(ws.root)
            raise PipeError(f"the costs file {pipeline.costs} is reached through a symbolic "
                            f"link ({through}); pipe reads a costs file inside the workspace "
                            f"only, never through a link")
    return here


def read_costs(ws: Workspace, pipeline: Pipeline, encoding: str | None = None) -> CostsFile:
    """Every row of the pipeline's costs file, checked; CostsRejected lists every bad one.
    A file of no bytes at all holds no costs (as one of a header only)."""
    from pipecli.exchange.reading import quoted, read_table

    path = costs_location(ws, pipeline)
    name = path.name if path.name.isprintable() else repr(path.name)[1:-1]
    info = os.lstat(path)
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        return CostsFile(pipeline.costs or name, ())
    table = read_table(path, encoding=encoding)
    columns = _columns(table, name)
    notes = [table.note] if table.note else []
    ignored = [h for h in table.headers if h not in columns.values()]
    if ignored:
        notes.append(f"{name}: column{'s' if len(ignored) > 1 else ''} "
                     f"{', '.join(quoted(h) for h in ignored)} not read (pipe costs reads "
                     f"period, source, amount and currency)")
    rows: list[CostRow] = []
    problems: list[Problem] = []
    for record in table.records:
        if record.problem:
            problems.append(Problem(name, record.line, record.problem))
            continue
        found = [(column, record.bad[header]) for column, header in columns.items()
                 if header in record.bad]
        if found:
            problems += [Problem(name, record.line, f"column {column!r} {why}")
                         for column, why in found]
            continue
        cells = {column: record.cells.get(header, "").strip()
                 for column, header in columns.items()}
        row = _row(record.line, cells, pipeline, ws)
        if isinstance(row, CostRow):
            rows.append(row)
        else:
            problems += [Problem(name, record.line, message) for message in row]
    if problems:
        raise CostsRejected(sorted(problems, key=lambda p: p.line))
    return CostsFile(pipeline.costs or name, tuple(rows), tuple(notes))


def _columns(table, name: str) -> dict[str, str]:
    """{column pipe reads: the header naming it} (any case); refuses a missing or doubled
    one."""
    named: dict[str, list[str]] = {}
    for header in table.headers:
        named.setdefault(header.strip().lower(), []).append(header)
    twice = {key.strip().lower() for key in table.twice}
    for column in COLUMNS:
        if column in twice or len(named.get(column, [])) > 1:
            raise PipeError(f"{name}: the header names {column!r} twice; which one holds the "
                            f"{column}? Keep one")
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        from pipecli.exchange.reading import quoted

        header = ", ".join(quoted(h) for h in table.headers[:8])
        raise PipeError(f"{name}: the header has no {' or '.join(map(repr, missing))} column "
                        f"(a costs file has the columns period, source and amount, and "
                        f"optionally currency; this header reads {header})")
    return {c: named[c][0] for c in COLUMNS if c in named}


def _row(line: int, cells: dict[str, str], pipeline: Pipeline,
         ws: Workspace) -> CostRow | list[str]:
    """One row as a CostRow, or the sentences saying what is wrong with it (each cell)."""
    problems: list[str] = []
    period = None
    if not cells["period"]:
        problems.append("column 'period' is empty")
    else:
        try:
            period = parse_period(cells["period"])
        except ValueError as e:
            problems.append(f"column 'period': {e}")
    source = cells["source"]
    if not source:
        problems.append("column 'source' is empty: name the source the money was spent on")
    elif CONTROL.search(source):
        problems.append("column 'source' holds control characters (escape codes, line "
                        "breaks or bidirectional marks); use plain text")
    elif len(source) > MAX_SOURCE:
        problems.append(f"column 'source' is {len(source):,} characters long; the limit is "
                        f"{MAX_SOURCE}")
    currency = _currency(cells, pipeline, ws, problems)
    amount = _amount(cells["amount"], currency, problems) if currency else None
    if problems or period is None or amount is None or currency is None:
        return problems
    rate = Decimal(1) if currency == pipeline.currency else dict(pipeline.rates)[currency]
    return CostRow(line, period, source, money.normalize(_CONVERT.multiply(amount, rate)),
                   currency)


def _currency(cells: dict[str, str], pipeline: Pipeline, ws: Workspace,
              problems: list[str]) -> str | None:
    """The row's currency: its currency cell, else the one its amount names (€500), else
    the pipeline's; refused when the pipeline file has no rate for it."""
    written = cells.get("currency", "")
    if written:
        try:
            code = money.check_currency(written, what="currency")
        except ValueError as e:
            problems.append(f"column 'currency': {e}")
            return None
    else:
        stated = money.stated_currencies(cells["amount"]) or {pipeline.currency}
        code = pipeline.currency if pipeline.currency in stated else \
            next(iter(stated)) if len(stated) == 1 else None
        if code is None:
            problems.append(f"column 'amount': {cells['amount'][:40]!r} names a currency "
                            f"sign several currencies use; say which in a currency column")
            return None
    if code != pipeline.currency and code not in dict(pipeline.rates):
        column = "currency" if written else "amount"
        problems.append(f"column {column!r}: {code} has no rate in the `rates:` of "
                        f"{ws.path.name}, so the cost cannot be converted to "
                        f"{pipeline.currency}; add one (rates: {{{code}: …}})")
        return None
    return code


def _amount(text: str, currency: str, problems: list[str]) -> Decimal | None:
    """The amount in the row's currency, exactly, by the one parser (a decimal point;
    1.000,50 and 2.500 — which could be read two ways — are refused, never guessed)."""
    if not text:
        problems.append("column 'amount' is empty (write 0 for a source that cost nothing)")
        return None
    stated = money.stated_currencies(text)
    if stated is not None and currency not in stated:
        problems.append(f"column 'amount': {text[:40]!r} names another currency than the "
                        f"row's, {currency}")
        return None
    try:
        return money.parse_amount(text, currency=currency, what="amount")
    except ValueError as e:
        problems.append(f"column 'amount': {e}")
        return None
