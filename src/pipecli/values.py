"""Parsing and formatting of the values users type: money, dates, times, ids, free text.

Every parser raises UsageError with one sentence naming the bad input.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pipecli import money
from pipecli.errors import UsageError
from pipecli.money import MAX_VALUE

ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u
ID_LENGTH = 8
# The one rule: refused on input, escaped on output. C0 and C1 controls (escape codes,
# line breaks), and the invisible Unicode formatting characters that reorder or hide text
# on a terminal: bidi embeddings, overrides and isolates, directional marks, line and
# paragraph separators. (Zero-width spaces and joiners stay: scripts such as Thai and
# emoji sequences need them.)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def same_name(text: str) -> str:
    """A company's (or contact's) name as pipe compares it: without case and with every run
    of spaces as one — "Acme Corp" and "acme   CORP" are one company (`--company`, `pipe
    customers`)."""
    return " ".join(text.split()).lower()


def guard_formula(cell: str) -> str:
    """A spreadsheet must never run a cell as a formula: such text gets a leading '."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def unguard_formula(cell: str) -> str:
    """Undo guard_formula (what pipe's own CSV export wrote)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def parse_money(text: str, currency: str | None, *, what: str = "value") -> Decimal:
    """An amount typed on the command line (12500, 12,500.50, 1 234.50, $99, 12.5k): the
    one parser of money.parse_amount with a decimal point and k/m suffixes, refusals as
    usage errors. With currency None the decimals are checked later, against the deal's
    own currency (up to 3 places are accepted here, the most any currency has)."""
    try:
        return money.parse_amount(text, currency=currency, mark=money.Mark.POINT,
                                  suffixes=True, what=what)
    except ValueError as e:
        raise UsageError(str(e)) from None


def normalize_money(amount: Decimal) -> Decimal:
    """Canonical form: no exponent, no trailing fractional zeros (12500, 12500.5)."""
    return money.normalize(amount)


def _places(currency: str) -> int:
    """The decimals to show and round to: the currency's minor units; for a code pipe
    cannot vouch for (a hand-edited store), the store's 3, so nothing stored is hidden."""
    try:
        return money.minor_units(currency)
    except ValueError:
        return money.STORE_PLACES


_STORED_MONEY = re.compile(r"^\d{1,15}(?:\.\d{1,3})?$")


def parse_stored_money(text: str) -> Decimal:
    """Parse an amount as the store writes it (plain decimal string); raises ValueError."""
    if not _STORED_MONEY.match(text):
        raise ValueError(f"{text[:40]!r} is not an amount (digits, at most 3 decimals)")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise ValueError(f"{text!r} is not an amount between 0 and {MAX_VALUE}")
    return amount


def format_money(amount: Decimal | None, currency: str = "") -> str:
    """Human display: 12,500 or 12,500.50 (minor units shown only when there are some)."""
    if amount is None:
        return ""
    places = _places(currency) if currency else 2
    q = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == q.to_integral_value():
        return f"{q:,.0f}"
    return f"{q:,.{places}f}"


_PROBABILITY = re.compile(r"^\d{1,3}(?:\.\d{1,4})?$")
PROBABILITY_PLACES = 4


def parse_probability(text: str) -> Decimal:
    """A win probability in percent, 0-100 with at most 4 decimals (a trailing % is allowed).
    Bounded so that no accepted value can grow a store cell beyond reason (1e-200000)."""
    raw = text.strip().removesuffix("%").strip()
    if not _PROBABILITY.match(raw):
        raise UsageError(f"probability {text!r} is not a percentage between 0 and 100 with at "
                         f"most {PROBABILITY_PLACES} decimals (e.g. 35 or 12.5)")
    p = Decimal(raw)
    if p > 100:
        raise UsageError(f"probability {text!r} must be between 0 and 100")
    return normalize_money(p)


def parse_stored_probability(text: str) -> Decimal:
    """A probability as the store writes it; raises ValueError."""
    if not _PROBABILITY.match(text) or Decimal(text) > 100:
        raise ValueError(f"{text[:40]!r} is not a probability between 0 and 100")
    return normalize_money(Decimal(text))


# -- time ---------------------------------------------------------------------------------

def now() -> datetime:
    """The current local time, aware, to the second. PIPE_NOW freezes it (tests, replays)."""
    frozen = os.environ.get("PIPE_NOW")
    if frozen:
        try:
            return _as_local(datetime.fromisoformat(frozen))
        except ValueError:
            raise UsageError(f"PIPE_NOW={frozen!r} is not an ISO date-time") from None
    return datetime.now().astimezone().replace(microsecond=0)


def _as_local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.astimezone()  # interpret a naive time as local time
    return dt.replace(microsecond=0)


def parse_when(text: str, *, what: str = "--at") -> datetime:
    """A moment as typed: an ISO date or date-time, now, today, yesterday, tomorrow, a
    weekday, sow/eow, som/eom, soq/eoq, soy/eoy, +3d/-2w/+1m/+1q/+1y, Dec 1, 1 Dec 2026
    (pipecli.dates has the rules). A day means its start in local time."""
    from pipecli import dates

    try:
        return _as_local(dates.parse(text, now()))
    except dates.DateError as e:
        hint = " (use YYYY-MM-DD, an ISO date-time, today, tomorrow, a weekday, " \
               "eow/eom/eoq/eoy, +3d/-2w/+1m/+1q/+1y, or Dec 1)" \
            if str(e).endswith("is not a date") else ""
        raise UsageError(f"{what} {str(e)[:120]}{hint}") from None


def parse_due(text: str, *, what: str = "--due"):
    """When a next step is due, as typed: a day in any form parse_when reads (due all that
    day), or a date-time with a time of day (`2026-12-01 14:00`: due at that moment)."""
    from pipecli.models import Due

    moment = parse_when(text, what=what)
    try:
        if ":" in text:  # a time of day was given
            return Due(moment.date(), moment).checked()
        return Due(moment.date()).checked()
    except ValueError as e:
        raise UsageError(f"{what} {e}") from None


def parse_day(text: str, *, what: str = "--close-date") -> date:
    """A calendar day, accepting the same words as parse_when."""
    return parse_when(text, what=what).date()


def end_of_day(text: str, *, what: str = "--as-of") -> datetime:
    """The last second of a day, local time: what `--as-of DAY` reports at."""
    try:
        return _as_local(datetime.combine(parse_day(text, what=what), time(23, 59, 59)))
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"{what} {text[:40]!r} is not a day pipe can report on") from None


def recorded_stamp(moment: datetime | None = None) -> str:
    """A recording time: UTC with microseconds, fixed width, so text order is time order."""
    from datetime import timezone

    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(dt: datetime) -> str:
    """ISO 8601 with the offset, to the second: 2026-03-01T09:30:00+01:00."""
    return dt.isoformat(timespec="seconds")


def parse_stored_time(text: str) -> datetime:
    """Parse a stored timestamp; raises ValueError unless it is ISO 8601 with an offset."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return dt


# -- ids and text -------------------------------------------------------------------------

def new_id(taken=(), length: int = ID_LENGTH) -> str:
    """A short random id: 8 base32 characters (40 bits) for deals, so branches never pick
    the same; events use 12 (60 bits)."""
    while True:
        bits = int.from_bytes(os.urandom((length * 5 + 7) // 8), "big")
        candidate = "".join(ID_ALPHABET[(bits >> (5 * i)) & 31] for i in range(length))
        if candidate not in taken and not candidate.isdigit():
            return candidate


def clean_text(text: str, *, what: str, required: bool = False, limit: int = 500) -> str:
    """Trimmed single-line user text; control characters (terminal escapes) are refused."""
    value = text.strip()
    if required and not value:
        raise UsageError(f"{what} must not be empty")
    if CONTROL.search(value):
        raise UsageError(f"{what} contains control characters (such as escape codes or line "
                         f"breaks); use plain text")
    if len(value) > limit:
        raise UsageError(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value


def clean_tag(text: str) -> str:
    tag = clean_text(text, what="tag", required=True, limit=50)
    if ";" in tag:
        raise UsageError(f"tag {text!r} contains ';', which separates tags in the store")
    return tag


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(text: str) -> str:
    value = clean_text(text, what="email", limit=254)
    if value and not _EMAIL.match(value):
        raise UsageError(f"email {text!r} is not an email address")
    return value


def round_money(amount: Decimal | None, currency: str) -> Decimal | None:
    """Round a computed amount (e.g. a weighted value) to the currency's minor units."""
    if amount is None:
        return None
    return normalize_money(amount.quantize(Decimal(1).scaleb(-_places(currency)),
                                           rounding=ROUND_HALF_UP))
