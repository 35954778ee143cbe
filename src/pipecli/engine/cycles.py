"""The sales-cycle distribution: how many won deals took how long from creation to their
win, counted in fixed bins of days (docs/metrics.md, "Sales cycle"). Counted in SQL over
the report's facts table, so only one row per bin reaches Python whatever the store's size.

Fixed bins (not ones fitted to the data) keep two reports comparable: the same bar means
the same span of days in this week's report and next week's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecli.engine.figures import SECONDS_PER_DAY

# The bins' edges in days: a cycle of d days is in the bin [low, high) that holds it; the
# last bin (a year or more) has no upper edge.
EDGES = (7, 14, 30, 60, 90, 180, 365)


@dataclass(frozen=True)
class CycleBin:
    """Won deals whose cycle lasted at least `low` days and less than `high` (None: no upper
    edge)."""

    low: int
    high: int | None
    count: int


def cycle_bins(conn, won_deals: str, params: dict) -> tuple[CycleBin, ...]:
    """Every bin (empty ones too, so the chart's axis never moves) with its count of won
    deals; `won_deals` is the report's FROM … WHERE clause choosing them over temp.facts."""
    cases = " ".join(f"WHEN d < {edge * SECONDS_PER_DAY} THEN {i}"
                     for i, edge in enumerate(EDGES))
    counts = dict(conn.execute(
        f"SELECT CASE {cases} ELSE {len(EDGES)} END AS bin, count(*) "
        f"FROM (SELECT closed_s - created_s AS d {won_deals}) GROUP BY bin", params))
    lows = (0, *EDGES)
    highs = (*EDGES, None)
    return tuple(CycleBin(low, high, counts.get(i, 0))
                 for i, (low, high) in enumerate(zip(lows, highs)))
