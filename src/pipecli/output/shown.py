"""Figures as people and scripts see them: ratios and durations rounded half-up from their
exact values once, to the places of the format, and money of several currencies shown as
docs/metrics.md, "Currencies", says — converted at the pipeline file's rates, or kept apart
per currency, never added. Used by the report, forecast, stale and next views."""

from __future__ import annotations

from pipecli.engine.figures import Currencies, to_money, weighted
from pipecli.models import Pipeline
from pipecli.output.render import Column, View, per_currency
from pipecli.rounding import half_up, percent
from pipecli.values import format_money, round_money

# Every ratio and duration arrives exact (a Fraction) and is rounded half-up once, here, to
# the places of the format: rates 0.1 % for people and 4 decimals (a fraction) in JSON and
# CSV, days 0.1 for people and 2 decimals in JSON and CSV.

RATE_PLACES, DAY_PLACES = 4, 2
COMPUTED = ("weighted_value", "avg_won_value", "velocity_per_day")  # rounded, not summed


def json_rate(value) -> float | None:
    """A fraction for JSON: half-up to 4 decimals (0.10525 → 0.1053)."""
    return None if value is None else float(half_up(value, RATE_PLACES))


def json_days(value) -> float | None:
    """Days for JSON: half-up to 2 decimals."""
    return None if value is None else float(half_up(value, DAY_PLACES))


def pct_text(value) -> str:
    """A rate for people: a percentage to 0.1, half-up; "–" when undefined."""
    return "–" if value is None else percent(value, 1)


def days_text(value) -> str:
    """Days for people: to 0.1, half-up; "–" when undefined."""
    return "–" if value is None else f"{half_up(value, 1)} days"


def json_money(amount, name: str, cur: Currencies):
    """A money figure for JSON: rounded to minor units when computed or converted; an
    exact sum in its currency as it is."""
    if amount is None:
        return None
    return to_money(amount, cur.label) if name in COMPUTED or cur.converted else amount


def put_money(out: dict, name: str, amount, parts: dict, cur: Currencies,
               key: str | None = None) -> None:
    """out[key] = the figure, and with several currencies out[key + "_by_currency"] =
    {code: the figure over that currency's deals} (docs/json.md, "Currencies")."""
    key = key or name
    out[key] = json_money(amount, name, cur)
    if name in parts:
        out[f"{key}_by_currency"] = {c: to_money(a, c) if name in COMPUTED else a
                                     for c, a in parts[name].items()}


def money_cell(amount, parts: dict, name: str, cur: Currencies):
    """A money cell for people: the amount (computed ones rounded), or when amounts are not
    added, {currency: amount} for the renderer to list."""
    if amount is not None:
        return to_money(amount, cur.label) if name in COMPUTED else amount
    return {c: to_money(a, c) if name in COMPUTED else a
            for c, a in parts.get(name, {}).items()}


def money_text(value, currency: str) -> str:
    """An amount with its currency ("1,070 USD"), or the amounts per currency."""
    if value is None:
        return "–"
    return per_currency(value) if isinstance(value, dict) else \
        f"{format_money(value, currency)} {currency}"


def currency_note(cur: Currencies, what: str = "amounts") -> list[str]:
    """The line saying how amounts of several currencies are shown (none for one)."""
    if cur.split:
        missing = listed(cur.missing)
        return [f"Deals in {listed(cur.present)} and no rate for {missing}: {what} are shown "
                f"per currency, never added; add `rates:` to the pipeline file to convert "
                f"them to {cur.home}."]
    if cur.converted:
        rates = ", ".join(f"1 {c} = {format(r, 'f')} {cur.home}" for c, r in cur.rates)
        return [f"Deals in {listed(cur.present)}: {what} converted to {cur.home} at the "
                f"pipeline file's rates ({rates})."]
    return []


def listed(codes) -> str:
    """Codes in words: "EUR", "EUR and USD", "EUR, GBP and USD"."""
    codes = list(codes)
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]


def currency_payload(cur: Currencies) -> dict:
    """The JSON keys every report and forecast carries about currencies."""
    return {"currencies": list(cur.present), "converted": cur.converted,
            "rates": {c: r for c, r in cur.rates}}


def money_plain(value, currency: str) -> str:
    """An amount without its code (the table's currency), or the amounts per currency."""
    return per_currency(value) if isinstance(value, dict) else format_money(value, currency)


def flat_view(cur: Currencies, fields: list, items, of=lambda x: x) -> View:
    """The csv/tsv table: one column per field; a money field (getter None: read by name
    from of(item), rounded as in JSON) gets, with several currencies, a column per currency
    beside it (`value_EUR`: that currency's deals alone), and is empty when amounts are not
    added."""
    columns, getters = [], []
    for name, kind, get in fields:
        if get is not None:
            columns.append(Column(name, kind))
            getters.append(get)
            continue
        columns.append(Column(name, "money"))
        getters.append(lambda x, name=name: json_money(getattr(of(x), name), name, cur))
        for code in cur.present if cur.several else ():
            columns.append(Column(f"{name}_{code}", "money"))
            getters.append(lambda x, name=name, code=code: part_of(of(x), name, code))
    return View(columns, [[get(x) for get in getters] for x in items], None,
                currency=cur.label or "")


def part_of(x, name: str, code: str):
    """One currency's part of a money figure of a stage, bucket or totals (rounded when
    computed)."""
    amount = x.parts.get(name, {}).get(code)
    return to_money(amount, code) if name in COMPUTED else amount


def timeline_brief(t, pipeline: Pipeline) -> dict:
    """The JSON object of a deal in stale, next and the forecast's lists: its value in its
    own currency."""
    stage = pipeline.stage(t.stage)
    currency = t.currency or pipeline.currency
    return {"id": t.id, "name": t.name, "stage": t.stage,
            "stage_label": stage.label if stage else t.stage, "value": t.value,
            "currency": currency,
            "weighted_value": round_money(weighted(t, pipeline), currency),
            "close_date": t.close_date, "owner": t.owner}


def flat_parts(cur: Currencies, name: str, get) -> list:
    """Per-currency csv columns with their own getter (get(item, code))."""
    return [(f"{name}_{code}", "money", lambda x, code=code: get(x, code))
            for code in (cur.present if cur.several else ())]


def deal_value(t, cur: Currencies):
    """A deal's value for people: with several currencies, with its currency beside it."""
    if t.value is None or not cur.several:
        return t.value
    return {t.currency: t.value}


