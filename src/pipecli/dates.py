"""Dates as people type them on the command line: ISO dates and date-times, words
(today, tomorrow, friday, eom), offsets (+3d, -2w, +1m, +1q, +1y) and month days
(Dec 1, 1 December, Dec 1 2026). Pure: the caller gives "now".

The rules (docs/cli.md, "Values" — `pipe help dates`):
- a weekday name is its next occurrence after today (on a Friday, `friday` is a week on);
- `eow`, `eom`, `eoq`, `eoy` are the last day of this week (Sunday), month, quarter, year;
  `sow`, `som`, `soq`, `soy` the first;
- an offset keeps the time of day; months, quarters and years are calendar ones, and a
  day the target month lacks becomes its last (Jan 31 +1m is Feb 28 or 29);
- a month day without a year is the one nearest today (on 26 Nov, `Jan 15` is next
  January's, `Oct 1` this October's);
- a day (not a date-time) means the start of that day, local time.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
WEEKDAYS.update({"tues": 1, "wednes": 2, "thur": 3, "thurs": 3})
MAX_OFFSET_DAYS = 36500  # a hundred years either way

_OFFSET = re.compile(r"^([+-])(\d{1,5})([dwmqy])$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\.?\s+([a-z]+)\.?(?:,?\s+(\d{4}))?$")


class DateError(ValueError):
    """Text that is not a date pipe reads; the message says which forms are."""


def parse(text: str, current: datetime) -> datetime:
    """The moment `text` names, seen from `current` (an aware local time)."""
    raw = " ".join(text.strip().lower().split())
    if raw == "now":
        return current
    day = _day_word(raw, current.date())
    if day is not None:
        return _start(day, current)
    m = _OFFSET.match(raw)
    if m:
        return _offset(current, int(m[2]) * (1 if m[1] == "+" else -1), m[3], text)
    day = _month_day(raw, current.date())
    if day is not None:
        return _start(day, current)
    try:
        if len(raw) == 10:
            return _start(date.fromisoformat(raw), current)
        moment = datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.astimezone()).replace(microsecond=0)
    except (ValueError, OverflowError, OSError):
        raise DateError(f"{text!r} is not a date") from None


def _start(day: date, current: datetime) -> datetime:
    """The start of a day, local time (as a bare ISO date is read)."""
    try:
        return datetime.combine(day, time()).astimezone()
    except (ValueError, OverflowError, OSError):
        raise DateError(f"{day.isoformat()!r} is not a date pipe can keep") from None


def _day_word(raw: str, today: date) -> date | None:
    fixed = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if raw in fixed:
        return today + timedelta(days=fixed[raw])
    if raw in WEEKDAYS:
        ahead = (WEEKDAYS[raw] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    quarter_start = 3 * ((today.month - 1) // 3) + 1
    bounds = {
        "sow": today - timedelta(days=today.weekday()),
        "eow": today + timedelta(days=6 - today.weekday()),
        "som": today.replace(day=1),
        "eom": today.replace(day=calendar.monthrange(today.year, today.month)[1]),
        "soq": date(today.year, quarter_start, 1),
        "eoq": date(today.year, quarter_start + 2,
                    calendar.monthrange(today.year, quarter_start + 2)[1]),
        "soy": date(today.year, 1, 1),
        "eoy": date(today.year, 12, 31),
    }
    return bounds.get(raw)


def _offset(current: datetime, count: int, unit: str, text: str) -> datetime:
    """Wall-clock arithmetic in local time: +1m from 23:30 in November is 23:30 in
    December, whatever daylight saving did meanwhile (the offset is looked up again)."""
    months = {"m": 1, "q": 3, "y": 12}.get(unit)
    days = count * (7 if unit == "w" else 1) if months is None else count * months * 365 / 12
    if abs(days) > MAX_OFFSET_DAYS:
        raise DateError(f"{text!r} is more than 100 years away")
    wall = current.replace(tzinfo=None)
    if months is None:
        wall += timedelta(days=days)
    else:
        wall = wall.replace(**_months_later(wall.date(), count * months))
    try:
        return wall.astimezone() if current.tzinfo else wall
    except (ValueError, OverflowError, OSError):
        raise DateError(f"{text!r} is not a date pipe can keep") from None


def _months_later(day: date, months: int) -> dict:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return {"year": year, "month": month,
            "day": min(day.day, calendar.monthrange(year, month)[1])}


def _month_day(raw: str, today: date) -> date | None:
    m = _MONTH_DAY.match(raw)
    if m and m[1] in MONTHS:
        month, day, year = MONTHS[m[1]], int(m[2]), m[3]
    else:
        m = _DAY_MONTH.match(raw)
        if not (m and m[2] in MONTHS):
            return None
        month, day, year = MONTHS[m[2]], int(m[1]), m[3]
    try:
        if year:
            return date(int(year), month, day)
        candidates = [date(today.year + k, month, day) for k in range(-4, 5)
                      if day <= calendar.monthrange(today.year + k, month)[1]]
    except ValueError:
        raise DateError(f"{raw!r} is not a date (the month has no day {day})") from None
    if not candidates:
        raise DateError(f"{raw!r} is not a date (the month has no day {day})")
    return min(candidates, key=lambda d: (abs((d - today).days), d < today))
