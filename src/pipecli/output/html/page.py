"""What every HTML page shares: the lines under its heading (the filters, the currency
rule), its footer, and the stage probabilities (the report's and the historical
forecast's)."""

from __future__ import annotations

from dataclasses import dataclass

from pipecli.engine.figures import Currencies, Filters
from pipecli.engine.probabilities import SAMPLE_FLOOR, Observed
from pipecli.output.html.blocks import NOTE, esc, figure, table, user
from pipecli.output.shown import currency_note
from pipecli.values import format_money


@dataclass(frozen=True)
class Beside:
    """What a command computed beside its main value for its page to show too: the stage
    probabilities given and observed (engine.probabilities.observed; None: not computed,
    as with `report --all` or a forecast by configured probabilities) and their floor."""

    probabilities: tuple[Observed, ...] | None = None
    sample_floor: int = SAMPLE_FLOOR


def probability_parts(beside: Beside) -> list[str]:
    """The stage probabilities as a chart (given beside observed) and the terminal's table
    with its footnote; nothing when there are none."""
    from pipecli.output.html import charts
    from pipecli.output.probability_view import probabilities_view

    if not beside.probabilities:
        return []
    view = probabilities_view(beside.probabilities, beside.sample_floor, title="")
    return [figure(charts.probabilities(beside.probabilities, "Given and observed, by stage",
                                        "chart-probabilities")),
            table(view.columns, view.rows, "", caption="Closed: the sample; used: what "
                  "--probability historical weighs by")] + \
        [f'<p style="{NOTE}">{esc(note)}</p>' for note in view.notes]


# What the report's --since/--until choose, in words ({since} and {until}: the days, or …).
REPORT_WINDOW = "funnel: deals created {since} to {until}; won/lost: closed in that period"


def filter_words(filters: Filters | None, dated: bool = True,
                 window: str = REPORT_WINDOW) -> list[str]:
    """Each filter in words (plain text: escaped where it is written). `dated`: the
    command's --since/--until apply (forecast and board have none), choosing what `window`
    says (a command's own: pipe customers' wins, pipe costs' periods)."""
    if filters is None:
        return []
    f, n = filters, filters.narrow
    words = []
    if dated and (f.since or f.until):
        words.append(window.format(since=f.since or "…", until=f.until or "…"))
    for name in ("owner", "source", "tag"):
        if getattr(f, name) is not None:
            words.append(f"{name} {getattr(f, name)}")
    if n.text is not None:
        words.append(f"search “{n.text}”")
    if n.company is not None:
        words.append(f"company {n.company}")
    code = n.currency or ""
    if n.value_min is not None:
        words.append(f"value at least {format_money(n.value_min, code)} {code}".rstrip())
    if n.value_max is not None:
        words.append(f"value at most {format_money(n.value_max, code)} {code}".rstrip())
    if n.close_after is not None:
        words.append(f"closing on or after {n.close_after}")
    if n.close_before is not None:
        words.append(f"closing on or before {n.close_before}")
    return words


def lead_lines(filters: Filters | None, cur: Currencies, dated: bool = True,
               window: str = REPORT_WINDOW) -> list[str]:
    """The lines under a page's heading: its filters (or that there are none) and how
    amounts of several currencies are shown."""
    words = [user(w) for w in filter_words(filters, dated, window)]
    lines = ["Filters: " + "; ".join(words) + "." if words else "All deals: no filter."]
    return lines + [esc(line) for line in currency_note(cur)]


def title_text(heading: str, filters: Filters | None, dated: bool = True,
               window: str = REPORT_WINDOW) -> str:
    """The page's <title> (a browser tab, a saved file's name): the heading and the
    filters, as plain text (escaped where it is written)."""
    words = filter_words(filters, dated, window)
    return heading + (f" — {'; '.join(words)}" if words else "")


def footer(command: str) -> str:
    """The footer line: what made the page, and where the figures are defined."""
    return (f"Made by <code>{esc(command)}</code>. Every figure is defined in "
            f"<code>pipe help metrics</code>. This file is self-contained: it loads "
            f"nothing (no script, font or image) and prints as it shows.")
