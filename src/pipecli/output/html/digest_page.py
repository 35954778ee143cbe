"""`pipe digest -o html`: what changed in a period as one self-contained page, for a
weekly mail.

One function per section, each taking the digest's pure value (engine Digest) and
returning its HTML; DIGEST_SECTIONS lists them in page order. The tables are the
terminal's (output.digest_view's views), so every figure is formatted by the same code.
"""

from __future__ import annotations

from pipecli.engine.digest import Digest
from pipecli.engine.figures import Currencies, Filters
from pipecli.output import digest_view
from pipecli.output.html import charts
from pipecli.output.html.blocks import esc, figure, page, section, table, user
from pipecli.output.html.page import footer, lead_lines, title_text
from pipecli.output.render import View

# What an empty list says, by kind of change.
NONE_SEEN = {"new": "No deal was created in the period.",
             "won": "No deal was won in the period.",
             "lost": "No deal was lost in the period.",
             "forward": "No deal moved forward in the period.",
             "back": "No deal moved back in the period.",
             "slipped": "No close date slipped in the period.",
             "overdue": "No next step is overdue at the end of the period."}
MOMENT = "%Y-%m-%d %H:%M"


def heading(d: Digest) -> tuple[str, str, str]:
    """The pipeline and its currency, and the period's start and end, as the terminal's
    first line shows them."""
    p = d.pipeline
    return f"{p.label} ({p.currency})", d.start.strftime(MOMENT), d.end.strftime(MOMENT)


def _table(view: View) -> str:
    return table(view.columns, view.rows, view.currency or "")


def headline_section(d: Digest) -> str:
    """The headline figures at the start and the end of the period, and the change."""
    return section("Headline figures", _table(digest_view.headline_view(d)),
                   note="Start and end: the figures of pipe report --as-of each; a "
                        "rate's change is in percentage points.")


def chart_section(d: Digest) -> str:
    """The changes of the period in counts, a bar for each kind."""
    return section("Changes in the period", figure(charts.digest_changes(d)))


def _changes(d: Digest, kind: str) -> str:
    """The section of one kind of change: its table, or one sentence when there is none."""
    heading, items = next((h, items) for h, items, k in digest_view.change_lists(d)
                          if k == kind)
    if not items:
        return section(heading, f"<p>{esc(NONE_SEEN[kind])}</p>")
    view = digest_view.changes_view(heading, items, kind, d)
    return section(view.title, _table(view))


def new_section(d: Digest) -> str:
    """The deals created in the period, with their stage."""
    return _changes(d, "new")


def won_section(d: Digest) -> str:
    """The deals won in the period, with their values."""
    return _changes(d, "won")


def lost_section(d: Digest) -> str:
    """The deals lost in the period, with their values and reasons."""
    return _changes(d, "lost")


def forward_section(d: Digest) -> str:
    """The open deals moved to a later stage, with the stage they left."""
    return _changes(d, "forward")


def back_section(d: Digest) -> str:
    """The open deals moved to an earlier stage, with the stage they left."""
    return _changes(d, "back")


def slipped_section(d: Digest) -> str:
    """The open deals whose expected close date moved later, with both dates."""
    return _changes(d, "slipped")


def overdue_section(d: Digest) -> str:
    """The open deals whose next step is overdue at the end, earliest due first."""
    if not d.overdue:
        return section(digest_view.OVERDUE, f"<p>{esc(NONE_SEEN['overdue'])}</p>")
    view = digest_view.overdue_view(d)
    return section(view.title, _table(view))


DIGEST_SECTIONS = (headline_section, chart_section, new_section, won_section, lost_section,
                   forward_section, back_section, slipped_section, overdue_section)


def digest_page(d: Digest, filters: Filters | None) -> str:
    """The whole digest as one HTML document: its title names the pipeline, the period
    and the filters."""
    name, start, end = heading(d)
    period = f"what changed, {start} → {end}"
    h1 = (f'{user(name)} — what changed, <span style="white-space:nowrap">{esc(start)}'
          f'</span> → <span style="white-space:nowrap">{esc(end)}</span>')
    cur = Currencies(d.pipeline.currency, (d.pipeline.currency,))
    return page(title_text(f"{name} — {period}", filters, dated=False), h1,
                lead_lines(filters, cur, dated=False), [make(d) for make in DIGEST_SECTIONS],
                footer("pipe digest"))
