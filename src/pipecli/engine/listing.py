"""Choosing and ordering deals for `pipe list`: filtered and sorted in SQL, streamed."""

from __future__ import annotations

from typing import Iterator

from pipecli.engine.figures import Search
from pipecli.errors import NotFound, UsageError
from pipecli.models import OPEN, Deal, Workspace
from pipecli.ops import find_stage
from pipecli.store import Store
from pipecli.store.base import DEAL_SQL_COLUMNS, deal_of, loose
from pipecli.store.schema import register_functions
from pipecli.values import same_name

SORTS = ("stage", "value", "name", "created", "updated", "close", "company", "owner", "id")


class Listing:
    """The deals to list, streamed (iterate it), and the currencies they are in (ISO codes,
    sorted; known before the first deal is read)."""

    def __init__(self, rows: Iterator[Deal], currencies: tuple[str, ...],
                 matched: int | None = None):
        self._rows = rows
        self.currencies = currencies
        self.matched = matched  # with --limit: how many deals matched in all

    def __iter__(self) -> Iterator[Deal]:
        return self._rows


def search_clauses(search: Search, clauses: list, params: dict, currency: str, home: str,
                   table: str = "deals") -> None:
    """SQL conditions (appended to `clauses`) for a Search over rows of `table` (deals, or
    the report facts): text in name, company, contact, email or a note in effect; company;
    value bounds in `home` currency (`currency`: the SQL of a row's currency); close-date
    bounds."""
    if search.text:
        params["q"] = loose(search.text.strip())
        fields = " OR ".join(f"instr(loose(d.{c}), :q) > 0"
                             for c in ("name", "company", "contact", "email"))
        clauses.append(f"(EXISTS (SELECT 1 FROM deals AS d WHERE d.id = {table}.id AND "
                       f"({fields})) OR EXISTS (SELECT 1 FROM events AS e WHERE e.deal = "
                       f"{table}.id AND e.in_effect = 1 AND e.note != '' AND "
                       f"instr(loose(e.note), :q) > 0))")  # a note taken back is gone
    if search.company is not None:
        clauses.append("same_name(company) = :company")  # the rule pipe customers keys by
        params["company"] = same_name(search.company)
    for name, value, op in (("vmin", search.value_min, ">="), ("vmax", search.value_max, "<=")):
        if value is not None:
            clauses.append(f"value_milli {op} :{name} AND {currency} = :vcur")
            params[name], params["vcur"] = int(value * 1000), home
    for name, day, op in (("cafter", search.close_after, ">="),
                          ("cbefore", search.close_before, "<=")):
        if day is not None:
            clauses.append(f"close_date {op} :{name}")
            params[name] = day.isoformat()


def select(ws: Workspace, store: Store, *, pipeline: str | None, stage: str | None,
           status: str, owner: str | None, source: str | None, tag: str | None,
           sort: str, reverse: bool, limit: int | None = None, search: Search = Search()
           ) -> tuple[Listing, int]:
    """The deals to list, sorted, as a stream (with the currencies they are in); and how
    many closed deals the status filter hid (counted first, so it can be said after the
    rows). Values in several currencies are ordered as docs/metrics.md, "Currencies",
    says: converted at the pipeline's rates when it has one for each, else by currency
    (the pipeline's first), then value."""
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r} is not one of: {', '.join(SORTS)}")
    base, params, home, currency = conditions(ws, pipeline=pipeline, stage=stage, owner=owner,
                                              source=source, tag=tag, search=search)
    shown = base if status == "all" else f"{base} AND status = :status"
    if status != "all":
        params["status"] = status
    found: list = []
    matched: list[int] = []

    def rows() -> Iterator:
        with store.read() as snap:
            register_functions(snap.conn)
            hidden = 0
            if status == OPEN:
                hidden = snap.conn.execute(f"SELECT count(*) FROM deals WHERE {base} AND "
                                           f"status != 'open'", params).fetchone()[0]
            found.extend(sorted(c for (c,) in snap.conn.execute(
                f"SELECT DISTINCT {currency} FROM deals WHERE {shown}", params)))
            order = _order(ws, sort, reverse, params,
                           lambda missing: _value_key(home, found, currency, params, missing))
            sql = f"SELECT {DEAL_SQL_COLUMNS} FROM deals WHERE {shown} ORDER BY {order}"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
                matched.append(snap.conn.execute(f"SELECT count(*) FROM deals WHERE {shown}",
                                                 params).fetchone()[0])
            yield hidden
            for row in snap.conn.execute(sql, params):
                yield deal_of(row)

    stream = rows()
    hidden = next(stream)
    return Listing(stream, tuple(found), matched[0] if matched else None), hidden


def matching(snapshot, ws: Workspace, *, status: str = "all", **criteria) -> list[Deal]:
    """The deals a filter set selects (the criteria of `select`), read in the caller's
    snapshot or transaction — what a bulk change applies to — in id order."""
    base, params, _, _ = conditions(ws, **criteria)
    if status != "all":
        base += " AND status = :status"
        params["status"] = status
    register_functions(snapshot.conn)
    return [deal_of(row) for row in snapshot.conn.execute(
        f"SELECT {DEAL_SQL_COLUMNS} FROM deals WHERE {base} ORDER BY id", params)]


def conditions(ws: Workspace, *, pipeline: str | None = None, stage: str | None = None,
               owner: str | None = None, source: str | None = None, tag: str | None = None,
               search: Search = Search()) -> tuple[str, dict, object, str]:
    """The SQL condition over `deals` rows for a filter set, its parameters, the pipeline
    whose currency and rates order values, and the SQL of a row's resolved currency."""
    chosen = ws.pipeline(pipeline).name if pipeline else None
    stages: tuple[str, ...] = ()
    if stage:
        if chosen:
            stages = (find_stage(ws.pipeline(chosen), stage).key,)
        else:
            stages = tuple({find_stage(p, stage).key for p in ws.pipelines
                            if _has_stage(p, stage)}) or (find_stage(ws.pipelines[0], stage).key,)
    clauses, params = [], {}
    if chosen:
        clauses.append("pipeline = :pipeline")
        params["pipeline"] = chosen
    if stages:
        clauses.append(f"stage IN ({', '.join(f':s{i}' for i in range(len(stages)))})")
        params.update({f"s{i}": s for i, s in enumerate(stages)})
    # Case-insensitive with Python's rules (SQL's lower() folds ASCII only).
    for name, value in (("owner", owner), ("source", source)):
        if value is not None:
            clauses.append(f"fold({name}) = :{name}")
            params[name] = value.lower()
    if tag is not None:
        clauses.append("has_tag(tags, :tag) = 1")
        params["tag"] = tag.lower()
    home = ws.pipeline(chosen)  # whose currency and rates order the values
    currency = _resolved_currency(ws, params)
    search_clauses(search, clauses, params, currency, home.currency)
    return " AND ".join(clauses) or "1 = 1", params, home, currency


def _resolved_currency(ws: Workspace, params: dict) -> str:
    """SQL: a deal's currency, '' (its pipeline's) resolved to its pipeline's code."""
    whens = []
    for i, p in enumerate(ws.pipelines):
        params[f"cp{i}"], params[f"cc{i}"] = p.name, p.currency
        whens.append(f"WHEN :cp{i} THEN :cc{i}")
    params["chome"] = ws.pipelines[0].currency
    return f"(CASE WHEN currency != '' THEN currency ELSE CASE pipeline {' '.join(whens)} " \
           f"ELSE :chome END END)"


def _value_key(home, present: list, currency: str, params: dict, missing: int) -> list[str]:
    """ORDER BY terms for "largest value first" (a deal without a value counts as
    `missing` thousandths): converted into `home`'s currency at its rates when it has one
    for every other currency present (floating point, for the order only); else each
    currency's deals together, home's first."""
    value = f"coalesce(value_milli, {int(missing)})"
    others = [c for c in present if c != home.currency]
    if not others:
        return [f"-{value}"]
    rates = dict(home.rates)
    if all(c in rates for c in others):
        whens = []
        for i, code in enumerate(others):
            params[f"rc{i}"], params[f"rr{i}"] = code, float(rates[code])
            whens.append(f"WHEN :rc{i} THEN value_milli * :rr{i}")
        return [f"-(CASE WHEN value_milli IS NULL THEN {int(missing)} ELSE CASE {currency} "
                f"{' '.join(whens)} ELSE value_milli END END)"]
    params["vhome"] = home.currency
    last = ["value_milli IS NULL"] if missing < 0 else []  # no value: after every currency
    return [*last, f"{currency} != :vhome", currency, f"-{value}"]


def _order(ws: Workspace, sort: str, reverse: bool, params: dict, value) -> str:
    """ORDER BY for a sort key (value(missing): the terms that order values, largest first,
    no value counting as `missing`); --reverse reverses the whole order, as a Python sort
    would."""
    whens = []
    for i, (p, s) in enumerate((p.name, s.key) for p in ws.pipelines for s in p.stages):
        params[f"op{i}"], params[f"os{i}"] = p, s
        whens.append(f"WHEN pipeline = :op{i} AND stage = :os{i} THEN {i}")
    stage_order = f"CASE {' '.join(whens)} ELSE 999999 END"
    keys = {
        "stage": ["pipeline", stage_order, *value(0), "fold(name)", "id"],
        "value": [*value(-1000), "fold(name)", "id"],
        "name": ["fold(name)", "id"],
        "created": ["created_s", "id"],
        "updated": ["updated_s", "id"],
        "close": ["close_date IS NULL", "close_date", "id"],
        "company": ["fold(company)", "fold(name)", "id"],
        "owner": ["fold(owner)", "fold(name)", "id"],
        "id": ["id"],
    }[sort]
    return ", ".join(f"{k} {'DESC' if reverse else 'ASC'}" for k in keys)


def _has_stage(pipeline, ref: str) -> bool:
    try:
        find_stage(pipeline, ref)
        return True
    except NotFound:
        return False
