"""The board as a value: the pipeline's open deals as one column per open stage (a kanban),
each with its count, value and weighted value and its first deals in a chosen order.

Computed where the data is, over the same facts as every read command (engine.facts): the
sums are one GROUP BY, and the deals shown are each column's first N by a window function,
so only the shown deals reach Python whatever the size of the store. Money follows
docs/metrics.md, "Currencies", decided from the currencies of the open deals on the board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pipecli.engine.facts import FACT_COLUMNS, Timeline, fill_facts, one_pipeline, timeline_of
from pipecli.engine.figures import ZERO, Currencies, Filters, add_to, weighted
from pipecli.models import Pipeline
from pipecli.store.schema import from_milli, register_functions

SORTS = ("value", "updated", "close", "name", "created")
DEFAULT_LIMIT = 5
STRAYS_NAMED = 5  # the ids of deals at undefined stages a warning names (the count is all)


@dataclass(frozen=True)
class Column:
    """One open stage: how many open deals it holds, their value and weighted value (exact;
    None when amounts of several currencies are shown apart, `parts` then holding them:
    figure → {currency: amount}), and the first `limit` of them in the board's order."""

    key: str
    label: str
    probability: Decimal
    count: int
    value: Decimal | None
    weighted_value: Decimal | None
    deals: tuple[Timeline, ...] = ()
    parts: dict = field(default_factory=dict)

    @property
    def more(self) -> int:
        """Deals in the stage the column does not show (cut by the limit)."""
        return self.count - len(self.deals)


@dataclass(frozen=True)
class Totals:
    """Every open deal on the board: count, value, weighted value (money as in Column)."""

    count: int
    value: Decimal | None
    weighted_value: Decimal | None
    parts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    """The open deals of a pipeline at a moment, by stage, in pipeline order."""

    pipeline: Pipeline
    as_of: datetime
    columns: tuple[Column, ...]
    totals: Totals
    currencies: Currencies
    sort: str = "value"
    reverse: bool = False
    limit: int = DEFAULT_LIMIT
    filtered: bool = False  # a filter left deals out (the empty board says "match")
    strays: tuple[str, ...] = ()  # open deals at a stage the pipeline does not define
    stray_count: int = 0


@dataclass(frozen=True)
class _Group:
    """One GROUP BY row, shaped as figures.weighted reads a deal (value is the group's sum:
    weighting is linear, so the sum of the weighted values is the weighted sum)."""

    stage: str
    value: Decimal | None
    probability: Decimal | None


def board(store, pipeline: Pipeline, as_of: datetime, filters: Filters = Filters(), *,
          limit: int = DEFAULT_LIMIT, sort: str = "value", reverse: bool = False,
          ws=None) -> Board:
    """The board of `pipeline`'s open deals at `as_of` (after the filters): a Column per
    open stage with its sums and its first `limit` deals by `sort` (value: largest first;
    updated, created: oldest first; close: soonest first, undated last; name: A to Z;
    `reverse` turns the whole order round)."""
    if sort not in SORTS:
        from pipecli.errors import UsageError

        raise UsageError(f"--sort {sort!r} is not one of: {', '.join(SORTS)}")
    scope = one_pipeline(pipeline, ws)
    stages = pipeline.open_stages
    params: dict = {"p": pipeline.name, "n": int(limit)}
    params.update({f"s{i}": s.key for i, s in enumerate(stages)})
    on_board = (f"pipeline = :p AND status = 'open' AND stage IN "
                f"({', '.join(f':s{i}' for i in range(len(stages))) or 'NULL'})")
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        register_functions(conn)  # fold(), for the order by name
        cur = Currencies.of(pipeline, (c for (c,) in conn.execute(
            f"SELECT DISTINCT currency FROM temp.facts WHERE {on_board}", params)))
        counts: dict[str, int] = {}
        values: dict[str, dict] = {s.key: {} for s in stages}
        weights: dict[str, dict] = {s.key: {} for s in stages}
        for stage, probability, currency, count, milli in conn.execute(
                f"SELECT stage, probability, currency, count(*), sum(value_milli) "
                f"FROM temp.facts WHERE {on_board} GROUP BY stage, probability, currency",
                params):
            amount = from_milli(milli) or ZERO
            own = Decimal(probability) if probability else None
            counts[stage] = counts.get(stage, 0) + count
            add_to(values[stage], currency, amount)
            add_to(weights[stage], currency, weighted(_Group(stage, amount, own), pipeline))
        order = ", ".join(f"{term} {'DESC' if reverse else 'ASC'}"
                          for term in _order(sort, cur, params))
        shown: dict[str, list] = {s.key: [] for s in stages}
        for row in conn.execute(
                f"SELECT * FROM (SELECT f.*, row_number() OVER (PARTITION BY stage "
                f"ORDER BY {order}) AS place FROM temp.facts AS f WHERE {on_board}) "
                f"WHERE place <= :n ORDER BY stage, place", params):
            t = timeline_of(row[:FACT_COLUMNS])
            shown[t.stage].append(t)
        stray_count = conn.execute(
            f"SELECT count(*) FROM temp.facts WHERE pipeline = :p AND status = 'open' AND "
            f"NOT ({on_board})", params).fetchone()[0]
        strays = tuple(i for (i,) in conn.execute(
            f"SELECT id FROM temp.facts WHERE pipeline = :p AND status = 'open' AND "
            f"NOT ({on_board}) ORDER BY id LIMIT {STRAYS_NAMED}", params))

    def column(s) -> Column:
        return Column(s.key, s.label, s.probability, counts.get(s.key, 0),
                      cur.amount(values[s.key]), cur.amount(weights[s.key]),
                      tuple(shown[s.key]), _parts(cur, values[s.key], weights[s.key]))

    every_value: dict = {}
    every_weight: dict = {}
    for s in stages:
        for code, amount in values[s.key].items():
            add_to(every_value, code, amount)
        for code, amount in weights[s.key].items():
            add_to(every_weight, code, amount)
    totals = Totals(sum(counts.values()), cur.amount(every_value), cur.amount(every_weight),
                    _parts(cur, every_value, every_weight))
    return Board(pipeline, as_of, tuple(column(s) for s in stages), totals, cur, sort,
                 reverse, int(limit), filters.narrows(), strays, stray_count)


def _parts(cur: Currencies, values: dict, weights: dict) -> dict:
    """A column's (or the totals') money per currency, with several currencies."""
    if not cur.several:
        return {}
    return {"value": cur.parts(values), "weighted_value": cur.parts(weights)}


def _order(sort: str, cur: Currencies, params: dict) -> list[str]:
    """ORDER BY terms (ascending; DESC for --reverse) for a board sort. Every order ends
    with the id, so equal deals always come in the same order."""
    if sort == "value":
        return [*_largest_first(cur, params), "fold(name)", "id"]
    return {"name": ["fold(name)", "id"],
            "created": ["created_s", "id"],
            "updated": ["last_s", "id"],  # when the deal's version valid then began
            "close": ["close_date IS NULL", "close_date", "id"]}[sort]


def _largest_first(cur: Currencies, params: dict) -> list[str]:
    """ORDER BY terms putting the largest value first, as `pipe list --sort value` orders
    (docs/metrics.md, "Currencies"): converted at the pipeline's rates when the board's
    amounts are converted (in floating point: for the order only); with a currency without
    a rate, each currency's deals together (the pipeline's first, then by code), since
    values of different currencies do not compare. A deal without a value comes last."""
    if cur.converted:
        whens = []
        for i, (code, rate) in enumerate(cur.rates):
            params[f"rc{i}"], params[f"rr{i}"] = code, float(rate)
            whens.append(f"WHEN :rc{i} THEN value_milli * :rr{i}")
        return ["value_milli IS NULL",
                f"-(CASE currency {' '.join(whens)} ELSE value_milli END)"]
    if cur.split:
        params["home"] = cur.home
        return ["value_milli IS NULL", "currency != :home", "currency", "-value_milli"]
    return ["value_milli IS NULL", "-value_milli"]
