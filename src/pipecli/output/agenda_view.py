"""`pipe agenda` as a View: one row per next step, grouped by when it is due (the group
named on its first row for people, on every row for scripts), and the JSON payload
(docs/json.md, "agenda")."""

from __future__ import annotations

from datetime import datetime

from pipecli.engine.agenda import Agenda, Item, When
from pipecli.output.render import Column, View, shown
from pipecli.output.shown import timeline_brief


def agenda_view(agenda: Agenda) -> View:
    """The agenda: When (the group, or the day for an overdue or later step, with the time
    when one was given — said once for a run of rows), ID, Deal, Next step, Stage, Value,
    Owner. csv/tsv/plain-for-scripts get the group and the due date apart."""
    columns = [Column("When", "date"), Column("ID", bold=True), Column("Deal"),  # never split
               Column("Next step"), Column("Stage", drop=2), Column("Value", "money", drop=1),
               Column("Owner", drop=3)]  # a founder owns every step: owner goes first
    rows, machine_rows, last = [], [], None
    shown_in = _one_currency(agenda)
    for item in agenda.items:
        when = when_label(item, agenda.as_of)
        cells = _cells(item, shown_in)
        rows.append([when if when != last else "", *cells[1:]])
        machine_rows.append([item.when.value, *cells[:5], item.deal.value, cells[6]])
        last = when
    notes = []
    if not agenda.items:
        notes.append(f"No next steps due by {agenda.until.isoformat()}.")
    hidden = [f"{n} {what}" for n, what in ((agenda.later, "due later"),
                                            (agenda.undated, "without a date")) if n]
    if hidden:
        count = agenda.later + agenda.undated
        notes.append(f"({count} more next step{'s' if count != 1 else ''}: "
                     f"{' and '.join(hidden)}; --later shows "
                     f"{'them' if count != 1 else 'it'})")
    if agenda.missing:
        count = len(agenda.missing)
        names = ", ".join(f"{t.id} {shown(t.name)}" for t, _ in agenda.missing[:5])
        more = f" and {count - 5} more" if count > 5 else ""
        notes.append(f"{count} open deal{'s have' if count != 1 else ' has'} no next step: "
                     f"{names}{more} (pipe edit DEAL --next TEXT --due WHEN)")
    machine_columns = [Column("When"), Column("Due"), *columns[1:5], Column("Value", "money"),
                       Column("Currency"), Column("Owner")]
    machine = View(machine_columns,
                   [[*r[:7], _currency(i), r[7]] for r, i in zip(machine_rows, agenda.items)],
                   None)
    return View(columns, rows, payload(agenda), notes=notes, machine=machine,
                currency=shown_in)


def when_label(item: Item, as_of: datetime) -> str:
    """When a step is due, as people read it: `overdue 18 Nov`, `today`, `tomorrow`, a
    weekday and date (`Thu 26 Nov`), a later date with its year, `no date`; a time of day
    when the step has one (`today 14:00`) — the day and time in as_of's time zone."""
    today = as_of.date()
    due = item.deal.next_due
    if due is None:
        return "no date"
    day = item.day
    if item.when == When.OVERDUE:
        text = f"overdue {day.strftime('%d %b')}" if day.year == today.year else \
            f"overdue {day.isoformat()}"
    elif item.when == When.TODAY:
        text = "today"
    elif item.when == When.DAY:
        text = "tomorrow" if (day - today).days == 1 else day.strftime("%a %d %b")
    else:
        text = day.isoformat()
    if due.moment is not None:
        text += " " + due.moment.astimezone(as_of.tzinfo).strftime("%H:%M")
    return text


def _cells(item: Item, shown_in: str) -> list:
    """The row of a step; a value in another currency than the agenda's carries its code."""
    t, p = item.deal, item.pipeline
    stage = p.stage(t.stage)
    label = stage.label if stage else t.stage
    due = t.next_due.stored() if t.next_due else ""  # for scripts: ISO, with the offset
    code = _currency(item)
    value = t.value if code == shown_in or t.value is None else {code: t.value}
    return [due, t.id, t.name, t.next_step, label, value, t.next_owner or t.owner]


def _currency(item: Item) -> str:
    return item.deal.currency or item.pipeline.currency


def _one_currency(agenda: Agenda) -> str:
    codes = {_currency(i) for i in agenda.items}
    return codes.pop() if len(codes) == 1 else ""


def payload(agenda: Agenda) -> dict:
    """The JSON shape of `pipe agenda -o json` (docs/json.md, "agenda")."""
    return {
        "as_of": agenda.as_of, "until": agenda.until,
        "items": [dict(timeline_brief(i.deal, i.pipeline), pipeline=i.pipeline.name,
                       when=i.when.value, due=i.deal.next_due.stored() if i.deal.next_due
                       else None, next_step=i.deal.next_step,
                       next_owner=i.deal.next_owner or i.deal.owner)
                  for i in agenda.items],
        "later": agenda.later, "undated": agenda.undated,
        "missing": [dict(timeline_brief(t, p), pipeline=p.name) for t, p in agenda.missing],
    }
