"""The funnel's stage counts under each conversion mode (docs/metrics.md, "Conversion modes").

A cohort deal is counted at a set of funnel ranks — its *members* — which the mode decides:

- furthest (the default): every rank up to its furthest stage, so a deal that skipped a
  stage, or was created at a later one, reached the stages before;
- ordered (HubSpot's "all stages, in order"): the ranks of the longest start of the funnel
  it went through one stage after the other, in time — a deal that skipped a stage is
  counted up to the stage before the gap, one created at a later stage nowhere;
- any (HubSpot's "any stage"): each rank it was ever at, on its own.

Under furthest and ordered the members are always a start of the funnel, so the deals of a
stage are among those of every earlier one; under any they are not, and conversions are
counted from the deals the two stages share. One rule for every figure derived from the
members: FunnelCounts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from pipecli.engine.facts import Scope, furthest
from pipecli.engine.figures import add_to
from pipecli.models import ConversionMode


@dataclass
class FunnelCounts:
    """Per funnel rank: the deals counted there, their value per currency, and how many of
    them were also counted at the previous rank, at the first rank, and at a won rank."""

    reached: list[int]
    reached_value: list[dict[str, Decimal]]
    with_previous: list[int]
    with_first: list[int]
    with_won: list[int]
    won_at: int | None  # the rank of the first won stage (every later rank is won too)

    @classmethod
    def empty(cls, ranks: int, won_at: int | None) -> "FunnelCounts":
        return cls([0] * ranks, [{} for _ in range(ranks)], [0] * ranks, [0] * ranks,
                   [0] * ranks, won_at)

    def add(self, members: frozenset[int], count: int, currency: str | None = None,
            value: Decimal | None = None) -> None:
        """Count `count` deals with these members (and, given a currency, their value)."""
        won = self.won_at is not None and any(r >= self.won_at for r in members)
        for r in members:
            self.reached[r] += count
            if currency is not None:
                add_to(self.reached_value[r], currency, value or Decimal(0))
            self.with_previous[r] += count if r and r - 1 in members else 0
            self.with_first[r] += count if 0 in members else 0
            self.with_won[r] += count if won else 0

    def conversion(self, r: int) -> Fraction | None:
        """Of the deals counted at the previous rank, the share also counted at r."""
        before = self.reached[r - 1] if r else 0
        return Fraction(self.with_previous[r], before) if before else None

    def drop_off(self, r: int) -> int | None:
        """Deals counted at the previous rank and not at r."""
        return self.reached[r - 1] - self.with_previous[r] if r else None

    def cumulative(self, r: int) -> Fraction | None:
        """Of the deals counted at the first rank, the share also counted at r."""
        first = self.reached[0] if self.reached else 0
        return Fraction(self.with_first[r], first) if first else None

    def to_won(self, r: int) -> Fraction | None:
        """Of the deals counted at r, the share that reached a won stage."""
        if self.won_at is None or not self.reached[r]:
            return None
        return Fraction(self.with_won[r], self.reached[r])

    def entry(self) -> tuple[int, int, Fraction | None]:
        """(entered, reached won, conversion to won): the first rank's deals, those of them
        that reached a won stage, and the share."""
        if not self.reached:
            return 0, 0, None
        return self.reached[0], self.with_won[0], self.to_won(0)


@dataclass(frozen=True)
class Paths:
    """How a report reads each cohort deal's way through the funnel in its conversion mode:
    `column`, an SQL expression over temp.facts giving a key per deal, and `members`, the
    funnel ranks a key counts at (cached: paths repeat, deals share them)."""

    column: str
    members: Callable[[object], frozenset[int]]


def funnel_paths(conn: sqlite3.Connection, scope: Scope, mode: ConversionMode,
                 moment: int) -> Paths:
    """The Paths of a report at `moment` (fill_facts first). Furthest and any read a deal's
    `visited` places; ordered works out, from each deal's stays begun by the moment, how
    many funnel stages it went through in order, into temp.in_order."""
    rank, cache = scope.rank, {}

    def furthest_members(visited):
        return frozenset(range(furthest(scope, visited or "") + 1))

    def any_members(visited):
        found = set()
        for entry in (visited or "").split():
            pipeline, _, stage = entry.partition("/")
            r = rank.get((pipeline, stage))
            if r is not None:
                found.add(r)
        return frozenset(found)

    def ordered_members(passed):
        return frozenset(range(passed or 0))

    rule = {ConversionMode.FURTHEST: furthest_members, ConversionMode.ANY: any_members,
            ConversionMode.ORDERED: ordered_members}[mode]

    def members(key) -> frozenset[int]:
        if key not in cache:
            cache[key] = rule(key)
        return cache[key]

    if mode is not ConversionMode.ORDERED:
        return Paths("visited", members)
    _fill_in_order(conn, rank, moment)
    return Paths("coalesce((SELECT o.passed FROM temp.in_order AS o WHERE o.id = facts.id), 0)",
                 members)


def _fill_in_order(conn: sqlite3.Connection, rank: dict, moment: int) -> None:
    """temp.in_order: for each facts deal, how many stages of the funnel's start it went
    through one after the other (the greedy match of the funnel order in its stays, which
    finds the longest such start)."""
    conn.execute("DROP TABLE IF EXISTS temp.in_order")
    conn.execute("CREATE TEMP TABLE in_order (id TEXT PRIMARY KEY, passed INTEGER NOT NULL)")
    rows: list[tuple[str, int]] = []
    deal, passed = None, 0
    # A deal's stays in time order (rowid breaks ties of stays entered in the same second:
    # they are written in the order the deal's events apply).
    for deal_id, pipeline, stage in conn.execute(
            "SELECT st.deal_id, st.pipeline, st.stage FROM stays AS st "
            "WHERE st.deal_id IN (SELECT id FROM temp.facts) AND st.started <= :m "
            "ORDER BY st.deal_id, st.started, st.rowid", {"m": moment}):
        if deal_id != deal:
            if deal is not None:
                rows.append((deal, passed))
            deal, passed = deal_id, 0
        if rank.get((pipeline, stage)) == passed:  # the next stage of the funnel, in order
            passed += 1
    if deal is not None:
        rows.append((deal, passed))
    conn.executemany("INSERT INTO temp.in_order (id, passed) VALUES (?, ?)", rows)
