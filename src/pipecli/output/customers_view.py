"""`pipe customers` as a Document: the lifetime figures, then the top customers. Its JSON
shape is in docs/json.md ("Customers"); every figure is defined in docs/metrics.md."""

from __future__ import annotations

from pipecli.engine.customers import MONEY, Customer, CustomerReport
from pipecli.engine.figures import to_money
from pipecli.output.render import Column, Document, View
from pipecli.output.shown import (currency_note, currency_payload, days_text, flat_view,
                                  json_days, json_rate, money_cell, money_text, pct_text,
                                  put_money)
from pipecli.rounding import half_up

SORTED_BY = {"revenue": "revenue", "deals": "won deals", "last": "last win"}
KIND_WORDS = {"company": "by company", "email": "by email", "contact": "by contact name",
              "deal": "a deal of its own"}


def _money_figures(r: CustomerReport) -> tuple[dict, dict]:
    """Each money figure rounded half-up to minor units once, for showing: the figure (None
    when not added) and, with several currencies, {figure: {code: that currency's}}."""
    cur = r.currencies
    whole = {name: to_money(getattr(r.figures, name), cur.label) if cur.label else None
             for name in MONEY}
    parts = {name: {c: to_money(getattr(f, name), c) for c, f in r.by_currency.items()}
             for name in MONEY} if r.by_currency else {}
    return whole, parts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def keyed_words(r: CustomerReport) -> str:
    """How the customers were told apart: "by company", "10 by company, 2 by email"."""
    kinds = [(n, KIND_WORDS[k]) for k, n in r.keyed_by.items() if n]
    if len(kinds) == 1:
        return kinds[0][1]
    return ", ".join(f"{n} {words}" for n, words in kinds)


def clv_reasons(r: CustomerReport) -> str:
    """Why the CLV is undefined, overall or in some currency ("" when it never is): no
    customer has lapsed (in that currency's deals)."""
    def why(f, label: str = "") -> str:
        if not f.customers:
            return f"no {label}won deal"
        return "" if f.lapsed else f"no {label}customer has lapsed yet"

    reasons = [why(r.figures)] if not r.figures.lapsed or not r.currencies.split else []
    if r.currencies.split:  # never added: each currency's own figure, and why it lacks one
        reasons += [why(f, f"{code} ") for code, f in sorted(r.by_currency.items())]
    return "; ".join(x for x in reasons if x)


def summary_figures(r: CustomerReport) -> list[tuple[str, str, str]]:
    """The figures for people: (label, the figure, what follows it on its line — its
    detail, in brackets or after a colon)."""
    f, cur = r.figures, r.currencies
    whole, parts = _money_figures(r)
    c = cur.label or ""

    def money(name: str) -> str:
        return money_text(money_cell(whole[name], parts, name, cur), c) or "–"

    reasons = clv_reasons(r)
    if f.lapsed:
        clv = (money("clv"), " (revenue ÷ lapsed customers" +
               (f"; {reasons})" if reasons else ")"))
    elif f.customers:
        clv = ("–", f" (no customer has lapsed yet: every one won a deal in the last "
                    f"{r.lapse_days} days)")
    else:
        clv = ("–", " (no won deal)")
    return [
        ("Customers", str(f.customers), f" ({keyed_words(r)})"),
        ("Won deals", str(f.won_deals), f" ({half_up(f.purchases_per_customer, 2)} per "
                                        f"customer)"),
        ("Revenue", money("revenue"), ""),
        ("Per customer", money("revenue_per_customer"), ""),
        ("Avg order", money("avg_order_value"), ""),
        ("Repeat rate", pct_text(f.repeat_rate), f" ({f.repeat} of {f.customers} won 2 "
                                                 f"deals or more)"),
        ("Lapsed", f"{f.lapsed} of {f.customers} ({pct_text(f.churn)})",
         f": no win in the last {r.lapse_days} days; {f.active} active"),
        ("Lifetime", days_text(f.avg_lifetime_days), f" observed on average; expected "
                                                     f"{days_text(f.expected_lifetime_days)}"),
        ("Value/year", *((money("value_per_customer_year"), " per customer-year")
                         if f.lived_seconds else ("–", " (no time observed yet)"))),
        ("CLV", *clv),
    ]


def summary_lines(r: CustomerReport) -> list[str]:
    """The figures for people, one "Label:  figure" line each."""
    return [f"{label + ':':<14}{figure}{detail}" for label, figure, detail in
            summary_figures(r)]


def _describe_filters(r: CustomerReport) -> str:
    f = r.filters
    parts = [f"won {f.since or '…'} to {f.until or '…'}"] if f.since or f.until else []
    parts += [f"{name} {getattr(f, name)}" for name in ("owner", "source", "tag")
              if getattr(f, name)]
    return "; ".join(parts)


def top_view(r: CustomerReport) -> View:
    """The top customers' table, with the count of those not listed under it."""
    cur = r.currencies
    rows = [[c.name, c.won_deals, money_cell(c.revenue, c.parts, "revenue", cur),
             c.first_win.date(), c.last_win.date(), "lapsed" if c.lapsed else "active"]
            for c in r.top]
    notes = [f"{_plural(r.more, 'more customer')} (-n {r.figures.customers} lists every "
             f"one)"] if r.more else []
    return View([Column("Customer", bold=True), Column("Deals", "number"),
                 Column("Revenue", "money"), Column("First win", "date", drop=2),
                 Column("Last win", "date"), Column("Status", drop=1)],
                rows, None, title=f"Top customers, by {SORTED_BY[r.sort]}",
                currency=cur.label or "", notes=notes)


def customer_payload(c: Customer, r: CustomerReport) -> dict:
    """One customer in the JSON (docs/json.md)."""
    out = {"customer": c.name, "key": c.key, "kind": c.kind, "won_deals": c.won_deals}
    put_money(out, "revenue", c.revenue, c.parts, r.currencies)
    out.update(first_win=c.first_win, last_win=c.last_win,
               status="lapsed" if c.lapsed else "active",
               lifetime_days=json_days(c.lifetime_days))
    return out


def payload(r: CustomerReport) -> dict:
    """The JSON object of `pipe customers -o json` (docs/json.md, "Customers")."""
    f, cur = r.figures, r.currencies
    whole, parts = _money_figures(r)
    out = {"pipeline": r.pipeline.name, "label": r.pipeline.label, "currency": cur.label,
           **currency_payload(cur), "as_of": r.as_of, "per": r.per, "lapse_days": r.lapse_days,
           "filters": {"since": r.filters.since, "until": r.filters.until,
                       "owner": r.filters.owner, "source": r.filters.source,
                       "tag": r.filters.tag},
           "customers": f.customers, "keyed_by": dict(r.keyed_by), "won_deals": f.won_deals,
           "repeat_customers": f.repeat, "active": f.active, "lapsed": f.lapsed}
    put_money(out, "revenue", whole["revenue"], parts, cur)
    put_money(out, "revenue_per_customer", whole["revenue_per_customer"], parts, cur)
    put_money(out, "avg_order_value", whole["avg_order_value"], parts, cur)
    out.update(purchases_per_customer=json_rate(f.purchases_per_customer),
               repeat_rate=json_rate(f.repeat_rate), churn=json_rate(f.churn),
               avg_lifetime_days=json_days(f.avg_lifetime_days),
               expected_lifetime_days=json_days(f.expected_lifetime_days))
    put_money(out, "value_per_customer_year", whole["value_per_customer_year"], parts, cur)
    put_money(out, "clv", whole["clv"], parts, cur)
    out["clv_note"] = clv_reasons(r)
    out.update(sort=r.sort, limit=r.limit,
               top=[customer_payload(c, r) for c in r.top], more=r.more)
    return out


def heading(r: CustomerReport) -> tuple[str, str]:
    """The report's title in two parts, as the terminal's first line joins them: the
    pipeline and its currency; the moment."""
    p, cur = r.pipeline, r.currencies
    return (f"Customers of {p.label} ({cur.label or ', '.join(cur.present) or p.currency})",
            f"as of {r.as_of.strftime('%Y-%m-%d %H:%M')}")


def empty_sentence(r: CustomerReport) -> str:
    """What is shown instead of the figures when no won deal is covered; "" when one is."""
    if r.figures.customers:
        return ""
    filtered = _describe_filters(r) or r.filters.narrows()
    return "No won deal matches the filters." if filtered else \
        "No deal is won at the report moment."


def unlisted_sentence(r: CustomerReport) -> str:
    """With -n 0: the customers counted, none listed."""
    return f"{_plural(r.figures.customers, 'customer')} not listed (-n " \
           f"{r.figures.customers} lists them)."


def customers_document(r: CustomerReport) -> Document:
    """Everything `pipe customers` shows, for every output format."""
    cur = r.currencies
    sections: list = [" — ".join(heading(r))]
    described = _describe_filters(r)
    sections += [f"Filters: {described}"] if described else []
    sections += [currency_note(cur)] if cur.several else []
    if not r.figures.customers:
        sections.append([empty_sentence(r)])
    else:
        sections.append(summary_lines(r))
        sections.append(top_view(r) if r.top else [unlisted_sentence(r)])
    flat = flat_view(cur, [
        ("customer", "text", lambda c: c.name), ("kind", "text", lambda c: c.kind),
        ("won_deals", "number", lambda c: c.won_deals), ("revenue", "money", None),
        ("first_win", "time", lambda c: c.first_win), ("last_win", "time", lambda c: c.last_win),
        ("status", "text", lambda c: "lapsed" if c.lapsed else "active"),
        ("lifetime_days", "days", lambda c: json_days(c.lifetime_days))], r.top)
    return Document(sections, payload(r), flat)
