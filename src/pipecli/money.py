"""Money: the ISO 4217 currencies, and the one parser of amounts people write.

Pure and standard-library only: `pipe add` imports it, so it must stay cheap. Every
refusal is a ValueError carrying one sentence that names what was read and its text; the
command line turns it into a usage error, the importer into a refused row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum

# Largest amount accepted: keeps every figure exact in JSON (at most 15 significant digits).
MAX_VALUE = Decimal("999999999999.99")
STORE_PLACES = 3  # the store keeps amounts as integer thousandths
RATE_PLACES = 10
MAX_TEXT = 100  # longer text is no amount; the bound keeps exact arithmetic cheap
_EXACT = Context(prec=2 * MAX_TEXT + 20)  # wide enough that no step here ever rounds

# ISO 4217 List One, the active codes as of November 2026 → minor units (digits after the
# decimal point), None where the standard says "N.A." (metals, bond-market units, SDR,
# test and "no currency" codes). Withdrawn codes are left out on purpose: HRK (Croatia, euro
# since 2023), SLL (Sierra Leone, SLE since 2022), ZWL (Zimbabwe, ZWG since 2024), ANG
# (Curaçao and Sint Maarten, XCG since 2025) and BGN (Bulgaria, euro since 2026) are refused
# with their replacement named (WITHDRAWN). CUC is still listed by ISO and so accepted.
CURRENCIES: dict[str, int | None] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
    "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2,
    "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2,
    "COP": 2, "COU": 2, "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0,
    "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
    "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2,
    "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2,
    "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2,
    "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2,
    "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2,
    "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2,
    "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2,
    "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2,
    "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2,
    "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2,
    "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2,
    "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2,
    "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XAG": None, "XAU": None,
    "XBA": None, "XBB": None, "XBC": None, "XBD": None, "XCD": 2, "XCG": 2, "XDR": None,
    "XOF": 0, "XPD": None, "XPF": 0, "XPT": None, "XSU": None, "XTS": None, "XUA": None,
    "XXX": None, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

# Codes people still meet in old files → what replaced them (for a useful refusal).
WITHDRAWN = {"HRK": "EUR", "BGN": "EUR", "LTL": "EUR", "LVL": "EUR", "EEK": "EUR",
             "SKK": "EUR", "CYP": "EUR", "MTL": "EUR", "SIT": "EUR", "SLL": "SLE",
             "ZWL": "ZWG", "ANG": "XCG", "VEF": "VES", "MRO": "MRU", "STD": "STN",
             "BYR": "BYN"}

_DOLLARS_PESOS = frozenset({
    "USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP", "CUP",
    "CUC", "DOP", "UYU", "BSD", "BBD", "BMD", "BND", "BZD", "FJD", "GYD", "JMD", "KYD",
    "LRD", "NAD", "SBD", "SRD", "TTD", "XCD"})

_RUPEES = frozenset({"INR", "PKR", "LKR", "NPR", "MUR", "SCR"})
_CROWNS = frozenset({"SEK", "NOK", "DKK", "ISK"})
_YEN_YUAN = frozenset({"JPY", "CNY"})
# Currency signs → (the currencies written with it, how a refusal names them).
SIGNS: dict[str, tuple[frozenset[str], str]] = {
    "$": (_DOLLARS_PESOS, "dollars or pesos"),
    "C$": (frozenset({"CAD", "NIO"}), "CAD or NIO"),
    "£": (frozenset({"GBP", "GIP", "FKP", "SHP"}), "pounds (GBP)"),
    "¥": (_YEN_YUAN, "yen or yuan (JPY, CNY)"), "￥": (_YEN_YUAN, "yen or yuan (JPY, CNY)"),
    "Rs": (_RUPEES, "rupees"), "Rs.": (_RUPEES, "rupees"),
    "₩": (frozenset({"KRW", "KPW"}), "won (KRW)"),
    "lei": (frozenset({"RON", "MDL"}), "lei (RON, MDL)"),
    "kr": (_CROWNS, "kronor or kroner (SEK, NOK, DKK, ISK)"),
    "kr.": (_CROWNS, "kronor or kroner (SEK, NOK, DKK, ISK)"),
    **{sign: (frozenset({code}), code) for sign, code in {
        "US$": "USD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "S$": "SGD",
        "HK$": "HKD", "NT$": "TWD", "MX$": "MXN", "R$": "BRL", "€": "EUR", "円": "JPY",
        "元": "CNY", "₹": "INR", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₫": "VND", "₱": "PHP",
        "₴": "UAH", "₦": "NGN", "₡": "CRC", "₲": "PYG", "₸": "KZT", "₾": "GEL", "₼": "AZN",
        "฿": "THB", "₭": "LAK", "₮": "MNT", "៛": "KHR", "₵": "GHS", "zł": "PLN", "Kč": "CZK",
        "Ft": "HUF", "R": "ZAR", "RM": "MYR", "Rp": "IDR"}.items()},
}


class Mark(StrEnum):
    """The decimal mark amounts are written with."""

    POINT = "."
    COMMA = ","


_MARK_NAME = {Mark.POINT: ("point", "dot"), Mark.COMMA: ("comma", "comma")}
_SPACES = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break space, thin space
_APOSTROPHES = "'\u2019"  # Swiss grouping: 1'234.50 (also typed as a right single quote)
_GROUP_KIND = {**{c: " " for c in _SPACES}, **{c: "'" for c in _APOSTROPHES},
               "_": "_", ",": ",", ".": "."}
_NUMBER_CHARS = re.compile(r"[0-9.,_" + _SPACES + _APOSTROPHES + "]+")
_NOT_SIGN = "0-9.,_()+\\-\u2212" + _SPACES + _APOSTROPHES  # what no sign contains
_LEADING = re.compile(f"[^{_NOT_SIGN}\\s]+")
_TRAILING = re.compile(f"[^{_NOT_SIGN}\\s]+(\\.?)$")
_MINUS = "-\u2212"
_EXPONENT = re.compile(r"[0-9.,]*[0-9][eE][+-]?[0-9]+")
_NOT_NUMBERS = {"nan", "snan", "inf", "infinity"}
_SUFFIX = {"k": 3, "m": 6}  # powers of ten: 12.5k, 1.2m
_RATE = re.compile(r"[0-9]{1,12}(?:\.[0-9]+)?")


class AmountError(ValueError):
    """An amount refused; other_mark is set when the text reads under the other decimal
    mark (so an importer can name its flag)."""

    def __init__(self, message: str, other_mark: Mark | None = None):
        super().__init__(message)
        self.other_mark = other_mark


class AmbiguousAmount(ValueError):
    """A column whose decimal mark cannot be told: .line and .text name the cell."""

    def __init__(self, line: int, text: str, reason: str):
        super().__init__(reason)
        self.line, self.text, self.reason = line, text, reason


# -- currencies ---------------------------------------------------------------------------

def minor_units(code: str) -> int:
    """Digits after the decimal point of an ISO 4217 currency (JPY 0, USD 2, KWD 3).

    Raises ValueError for a code that is not an active currency or has no minor unit."""
    units = CURRENCIES.get(code.upper())
    if units is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency with a minor unit")
    return units


def check_currency(code: str, *, what: str) -> str:
    """The upper-cased code when pipe can keep deals in it; else ValueError, one sentence."""
    raw = code.strip()[:40]  # enough to recognise; a hostile argument is not echoed whole
    upper = code.strip().upper()
    if upper not in CURRENCIES:
        if upper in WITHDRAWN:
            raise ValueError(f"{what} {raw!r} is no longer an ISO 4217 currency code "
                             f"(replaced by {WITHDRAWN[upper]})")
        raise ValueError(f"{what} {raw!r} is not an ISO 4217 currency code (such as USD, "
                         f"EUR or JPY)")
    units = CURRENCIES[upper]
    if units is None:
        raise ValueError(f"{what} {upper} has no minor unit (a metal, fund unit or test "
                         f"code); pipe tracks deals in currencies")
    if units > STORE_PLACES:
        raise ValueError(f"{what} {upper} has {units} decimal places, but pipe stores "
                         f"amounts to {STORE_PLACES}")
    return upper


def check_places(amount: Decimal, currency: str, *, what: str) -> None:
    """Refuse (AmountError) an amount with more decimals than the currency has."""
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places), context=_EXACT):
        raise AmountError(f"{what} {_too_precise(places, currency)}")


def _too_precise(places: int | None, currency: str | None) -> str:
    if currency is None:
        return f"has more than {places} decimal places"
    if places == 0:
        return f"has decimals, but {currency} amounts are whole numbers"
    return f"has more than {places} decimal places for {currency}"


def parse_rate(text: str, *, what: str) -> Decimal:
    """An exchange rate: a positive decimal of at most 10 decimals, read from its text
    (never through a float, so 1.0850 stays exactly 1.085)."""
    raw = text.strip()
    if not _RATE.fullmatch(raw):
        raise ValueError(f"{what} {raw[:40]!r} is not a decimal number such as 1.0850 "
                         f"(digits and a decimal point, below 1,000,000,000,000)")
    if len(raw.partition(".")[2]) > RATE_PLACES:
        raise ValueError(f"{what} {raw!r} has more than {RATE_PLACES} decimal places")
    rate = Decimal(raw)
    if rate == 0:
        raise ValueError(f"{what} must be more than 0")
    return normalize(rate)


def normalize(amount: Decimal) -> Decimal:
    """Canonical form: no exponent, no trailing fractional zeros (12500, 12500.5)."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1), context=_EXACT)
    return amount.normalize(context=_EXACT)


# -- amounts ------------------------------------------------------------------------------

class _Written:
    """What surrounds a number: its currency signs and whether it is written negative."""

    def __init__(self, text: str):
        self.negative = False
        self.signs: list[str] = []
        core = text.strip()
        # Every pass removes something, so this ends; long text (no amount anyway) is not
        # peeled at all, so a hostile cell costs nothing.
        while core and len(core) <= MAX_TEXT:
            if core[0] == "(" and core[-1] == ")" and len(core) > 1:
                self.negative, core = True, core[1:-1].strip()
            elif core[0] in _MINUS or core[-1] in _MINUS:
                self.negative = True
                core = (core[1:] if core[0] in _MINUS else core[:-1]).strip()
            elif len(self.signs) < 2 and (taken := self._sign(core)) is not None:
                core = taken.strip()
            else:
                break
        self.core = core

    def _sign(self, core: str) -> str | None:
        lead = _LEADING.match(core)
        if lead:
            token = lead[0]
            if core[len(token):len(token) + 1] == "." and token + "." in SIGNS:
                token += "."  # Rs.500, kr.12
            if _known(token):
                self.signs.append(token)
                return core[len(token):]
        trail = _TRAILING.search(core)
        if trail and (_known(trail[0]) or _known(trail[0][:-1]) and trail[1]):
            token = trail[0] if _known(trail[0]) else trail[0][:-1]
            self.signs.append(token)
            return core[:len(core) - len(trail[0])]
        return None

    def currencies(self) -> tuple[frozenset[str], str] | None:
        """The currencies the signs allow, and how to name them; None when there are none."""
        if not self.signs:
            return None
        allowed, names = None, []
        for token in self.signs:
            codes, name = SIGNS.get(token) or (frozenset({token.upper()}), token.upper())
            allowed = codes if allowed is None else allowed & codes
            names.append(name)
        return allowed, " and ".join(dict.fromkeys(names))


def _known(token: str) -> bool:
    """A currency sign, or an ISO code in any case ("EUR 12", "12 eur")."""
    return token in SIGNS or (len(token) == 3 and token.upper() in CURRENCIES)


def stated_currencies(text: str) -> frozenset[str] | None:
    """The currencies a written amount names by sign or code ("£5" → GBP and the other
    pounds); None when it names none."""
    found = _Written(text).currencies()
    return found[0] if found else None


def _split(core: str, mark: Mark) -> tuple[str, str, str] | str:
    """(integer digits, fraction digits, digits as written) of a bare number under a
    decimal mark, or why it is not one: form, marks, mixed or grouping."""
    if not _NUMBER_CHARS.fullmatch(core):
        return "form"
    if core.count(mark) > 1:
        return "marks"
    whole, has_mark, fraction = core.partition(mark)
    if has_mark and not (fraction.isascii() and fraction.isdigit()):
        return "form"  # nothing after the mark, or grouping inside the fraction
    if not whole:
        return ("0", fraction, "0" + mark + fraction) if has_mark else "form"
    kinds = {_GROUP_KIND[c] for c in whole if not c.isdigit()}
    if len(kinds) > 1:
        return "mixed"
    if kinds:
        groups = re.split(r"[^0-9]", whole)
        first = groups[0]
        # Thousands only: 1,234,567 — never 1,23,4, nor a group that starts the number at 0.
        if not (1 <= len(first) <= 3 and first[0] != "0"
                and all(len(g) == 3 for g in groups[1:])):
            return "grouping"
        whole = "".join(groups)
    return whole, fraction, whole + (mark + fraction if has_mark else "")


def _other(mark: Mark) -> Mark:
    return Mark.COMMA if mark is Mark.POINT else Mark.POINT


def _reading(parts: tuple[str, str, str]) -> Decimal:
    whole, fraction, _ = parts
    return Decimal(f"{whole}.{fraction or '0'}")


def parse_amount(text: str, *, currency: str | None, mark: Mark = Mark.POINT,
                 round_half_up: bool = False, suffixes: bool = False,
                 mark_known: bool = False, what: str = "value") -> Decimal:
    """THE parser of amounts (command line and import): an exact, normalized Decimal.

    `currency` is the deal's currency: a sign or code in the text must fit it, and the
    decimals must not exceed its minor units (None: any currency, up to 3 decimals).
    `mark` is the decimal mark; the other one, spaces, apostrophes and _ may group
    thousands. `suffixes` allows 12.5k and 1.2m. `round_half_up` rounds extra decimals
    instead of refusing them. Unless `mark_known` (the user or the file said which mark
    is the decimal one), three written decimals beyond the currency's minor units are
    refused even as zeros: "2.500" in EUR may be 2,500 written the European way.
    Raises AmountError (a ValueError) with one sentence."""
    shown = f"{what} {_clip(text)!r}"
    if not text.strip():
        raise AmountError(f"{shown} is not an amount (it is empty)")
    if len(text) > MAX_TEXT:
        raise AmountError(f"{shown} is too long to be an amount")
    code = check_currency(currency, what="the deal's currency") if currency else None
    written = _Written(text)
    core, power = written.core, 0
    if suffixes and core[-1:].lower() in _SUFFIX and core[-2:-1].isdigit():
        core, power = core[:-1], _SUFFIX[core[-1].lower()]
    parts = _split(core, mark)
    if isinstance(parts, str):
        raise _not_an_amount(shown, core, mark, parts)
    if written.negative:
        raise AmountError(f"{shown} is negative; amounts must be 0 or more")
    stated = written.currencies()
    if stated and not stated[0]:
        raise AmountError(f"{shown} names two different currencies ({stated[1]})")
    if stated and code and code not in stated[0]:
        raise AmountError(f"{shown} is in {stated[1]}, but the deal's currency is {code}")
    amount = _reading(parts).scaleb(power, context=_EXACT)
    places = minor_units(code) if code else STORE_PLACES
    if not mark_known and not power and len(parts[1]) == 3 > places:
        other = _split(core, _other(mark))
        if not isinstance(other, str):
            grouped = normalize(_reading(other))
            raise AmountError(
                f"{shown} {_too_precise(places, code)}, or it is {grouped} with the "
                f"{_MARK_NAME[mark][0]} between thousands; write {grouped} or the amount "
                f"with at most {places} decimals", other_mark=_other(mark))
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP,
                              context=_EXACT)
    if (rounded if round_half_up else amount) > MAX_VALUE:
        raise AmountError(f"{shown} is too large (at most {MAX_VALUE:,})")
    if rounded != amount and not round_half_up:
        raise AmountError(f"{shown} {_too_precise(places, code)}")
    return normalize(rounded)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _not_an_amount(shown: str, core: str, mark: Mark, reason: str) -> AmountError:
    """The sentence for a number that does not read under `mark`."""
    other = _other(mark)
    alt = _split(core, other)
    if not isinstance(alt, str):
        name, word = _MARK_NAME[mark]
        written = alt[2].replace(other, mark) if alt[1] else alt[0]
        return AmountError(
            f"{shown} is not an amount with a decimal {name} (with a decimal "
            f"{_MARK_NAME[other][0]} it would be {normalize(_reading(alt))}); use a {word} "
            f"for decimals: {written}", other_mark=other)
    if _EXPONENT.fullmatch(core):
        return AmountError(f"{shown} is not an amount: write the digits, not an exponent")
    if core.lower() in _NOT_NUMBERS:
        return AmountError(f"{shown} is not an amount (NaN and Infinity are not numbers)")
    code = re.search(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])", core)
    if code and code[0] not in CURRENCIES:
        try:
            check_currency(code[0], what="its currency")
        except ValueError as e:
            return AmountError(f"{shown} is not an amount: {e}")
    example = "1,234,567.89" if mark is Mark.POINT else "1.234.567,89"
    detail = {"marks": f": it has more than one decimal {_MARK_NAME[mark][0]}",
              "mixed": ": it groups digits with two different separators",
              "grouping": f": group thousands in threes, as in {example}"}.get(reason, "")
    return AmountError(f"{shown} is not an amount{detail}")


# -- telling the decimal mark of a column -------------------------------------------------

def readings(text: str) -> dict[Mark, Decimal | None]:
    """The value the text has under each decimal mark (None where it is no number).

    Only the number's form counts: signs, a minus, size and decimals are left to
    parse_amount, which refuses what must be refused."""
    core = _Written(text).core
    out: dict[Mark, Decimal | None] = {}
    for mark in Mark:
        parts = _split(core, mark) if len(core) <= MAX_TEXT else "form"
        out[mark] = None if isinstance(parts, str) else normalize(_reading(parts))
    return out


def detect_mark(cells: Iterable[tuple[int, str]]) -> Mark | None:
    """The decimal mark of one column, from its (line, text) cells.

    A cell only one mark reads decides; cells both marks read alike say nothing; cells
    the two read differently (2.500) are settled by the deciding cells. Deciding cells
    that disagree, or a column with only differing cells, raise AmbiguousAmount. None:
    every cell reads the same either way."""
    decided: tuple[Mark, int, str] | None = None
    unsure: tuple[int, str, Decimal, Decimal] | None = None
    for line, text in cells:
        seen = readings(text)
        point, comma = seen[Mark.POINT], seen[Mark.COMMA]
        if point is not None and comma is not None:
            if point != comma and unsure is None:
                unsure = (line, text, point, comma)
            continue
        mark = Mark.POINT if point is not None else Mark.COMMA if comma is not None else None
        if mark is None:
            continue  # no amount at all: parse_amount will say so for its row
        if decided is None:
            decided = (mark, line, text)
        elif decided[0] is not mark:
            first, first_line, first_text = decided
            raise AmbiguousAmount(line, text, (
                f"{text!r} has a decimal {_MARK_NAME[mark][0]}, but {first_text!r} on line "
                f"{first_line} has a decimal {_MARK_NAME[first][0]}; one column must use one "
                f"(say --decimal-comma or --decimal-point)"))
    if decided is not None:
        return decided[0]
    if unsure is not None:
        line, text, point, comma = unsure
        raise AmbiguousAmount(line, text, f"{text!r} could be {point} or {comma}; say "
                                          f"--decimal-comma or --decimal-point")
    return None
