"""Customer lifetime value: the deals won at the report moment grouped by customer, in SQL
over the facts table (docs/metrics.md, "Customer lifetime value — `pipe customers`").

A won deal's customer is its company, else its contact's email, else its contact's name,
else the deal itself (`per="company"`); or its email, contact, company, deal
(`per="contact"`). Per customer: won deals, revenue per currency, first and last win, and
whether it has lapsed (no win for more than `lapse_days` before the report moment)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from pipecli.engine.facts import Scope, fill_facts
from pipecli.engine.figures import SECONDS_PER_DAY, ZERO, Currencies, Filters
from pipecli.engine.fold import fold
from pipecli.engine.report import window_clauses, won_deals
from pipecli.models import Pipeline
from pipecli.values import same_name
from pipecli.store.codec import FIELD_SEPARATOR
from pipecli.store.schema import from_milli, select_events

PER = ("company", "contact")
SORTS = ("revenue", "deals", "last")
LAPSE_DAYS = 365  # the default: a customer without a win for longer has lapsed
YEAR_DAYS = 365  # a customer-year
KINDS = ("company", "email", "contact", "deal")  # what can identify a customer
_ORDER = {"company": ("company", "email", "contact"), "contact": ("email", "contact", "company")}
MONEY = ("revenue", "revenue_per_customer", "avg_order_value", "value_per_customer_year",
         "clv")


def identity(per: str, company: str, email: str, contact: str, deal_id: str) -> str:
    """A won deal's customer key, "kind:text": its first field (in `per`'s order) that is
    set, compared without case and runs of spaces (an email without case); "deal:ID" when
    none is."""
    found = {"company": same_name(company), "email": email.strip().lower(),
             "contact": same_name(contact)}
    kind = next((k for k in _ORDER[per] if found[k]), None)
    return f"{kind}:{found[kind]}" if kind else f"deal:{deal_id}"


def spelling(key: str, company: str, email: str, contact: str, name: str, deal_id: str) -> str:
    """How a customer is shown, from one of its won deals: the field that identified it as
    written there, runs of spaces made one (a deal of its own: its name and id)."""
    kind = key.partition(":")[0]
    if kind == "deal":
        return f"{name} (deal {deal_id})"
    return " ".join({"company": company, "email": email, "contact": contact}[kind].split())


@dataclass(frozen=True)
class Figures:
    """The lifetime figures of a set of customers: counts, lifetimes in whole seconds and
    their revenue (None when deals of several currencies without rates are not added)."""

    customers: int = 0
    won_deals: int = 0
    repeat: int = 0  # customers with 2 won deals or more
    lapsed: int = 0
    lived_seconds: int = 0  # T: the sum of the observed lifetimes
    revenue: Decimal | None = ZERO

    @property
    def active(self) -> int:
        """Customers that have not lapsed: C − K."""
        return self.customers - self.lapsed

    def _money(self, divisor) -> Fraction | None:
        """R ÷ divisor, exactly; None when there is nothing to divide by or R is not added."""
        return Fraction(self.revenue) / divisor if divisor and self.revenue is not None \
            else None

    @property
    def revenue_per_customer(self) -> Fraction | None:
        """R ÷ C."""
        return self._money(self.customers)

    @property
    def avg_order_value(self) -> Fraction | None:
        """R ÷ D."""
        return self._money(self.won_deals)

    @property
    def purchases_per_customer(self) -> Fraction | None:
        """D ÷ C."""
        return Fraction(self.won_deals, self.customers) if self.customers else None

    @property
    def repeat_rate(self) -> Fraction | None:
        """Repeat customers ÷ C."""
        return Fraction(self.repeat, self.customers) if self.customers else None

    @property
    def churn(self) -> Fraction | None:
        """Lapsed customers ÷ customers."""
        return Fraction(self.lapsed, self.customers) if self.customers else None

    @property
    def avg_lifetime_days(self) -> Fraction | None:
        """The mean observed lifetime, T ÷ C."""
        return Fraction(self.lived_seconds, self.customers * SECONDS_PER_DAY) \
            if self.customers else None

    @property
    def expected_lifetime_days(self) -> Fraction | None:
        """T ÷ K: time observed per departure (the censored-exponential estimate)."""
        return Fraction(self.lived_seconds, self.lapsed * SECONDS_PER_DAY) \
            if self.lapsed else None

    @property
    def value_per_customer_year(self) -> Fraction | None:
        """R ÷ T, in years of YEAR_DAYS days."""
        return self._money(Fraction(self.lived_seconds, YEAR_DAYS * SECONDS_PER_DAY))

    @property
    def clv(self) -> Fraction | None:
        """Value per customer-year × expected lifetime in years, which is R ÷ K exactly."""
        return self._money(self.lapsed)


@dataclass(frozen=True)
class Customer:
    """One customer: its won deals at the report moment, their revenue, first and last win."""

    key: str  # "kind:text", see identity()
    name: str  # its most recent spelling
    won_deals: int
    revenue: Decimal | None  # as Currencies says (None: per currency only, in parts)
    first_win: datetime
    last_win: datetime
    lapsed: bool
    lifetime_days: Fraction  # observed: first → last win if lapsed, first win → the moment
    parts: dict = field(default_factory=dict)  # {"revenue": {currency: amount}}

    @property
    def kind(self) -> str:
        """What identified it: company, email, contact or deal."""
        return self.key.partition(":")[0]


@dataclass(frozen=True)
class CustomerReport:
    """`pipe customers`: the figures over every customer, per currency with several, and
    the first `limit` customers in `sort` order."""

    pipeline: Pipeline
    as_of: datetime
    filters: Filters
    per: str
    lapse_days: int
    sort: str
    limit: int
    figures: Figures
    currencies: Currencies
    by_currency: dict[str, Figures]  # each currency's deals alone, in it (several only)
    keyed_by: dict[str, int]  # customers per identifying field (KINDS)
    top: tuple[Customer, ...]

    @property
    def more(self) -> int:
        """Customers not listed."""
        return self.figures.customers - len(self.top)


# A customer (or its deals in one currency) from the first and last win of its rows: lapsed
# when its last win is more than :lapse seconds before the moment :m; its observed
# lifetime runs to its last win then, else to the moment.
_LIFE = ("CASE WHEN :m - last_s > :lapse THEN 1 ELSE 0 END AS lapsed, "
         "CASE WHEN :m - last_s > :lapse THEN last_s - first_s ELSE :m - first_s END AS lived")
_FIGURES = ("count(*), sum(n), sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END), sum(lapsed), "
            "sum(lived)")


def customers(store, scope: Scope, as_of: datetime, filters: Filters = Filters(), *,
              per: str = "company", lapse_days: int = LAPSE_DAYS, sort: str = "revenue",
              limit: int = 10) -> CustomerReport:
    """The customers of the deals won at `as_of` in the scope's pipeline (or every one),
    won on a day from filters.since to filters.until when given; see docs/metrics.md."""
    if per not in PER or sort not in SORTS:
        raise ValueError(f"per {per!r} / sort {sort!r}")
    pipeline = scope.pipeline
    m = int(as_of.timestamp())
    with store.read() as snapshot:
        conn = snapshot.conn
        fill_facts(conn, scope, as_of, filters)
        _won_table(conn, pipeline.name, filters, per, m)
        params = {"m": m, "lapse": lapse_days * SECONDS_PER_DAY}
        for name in ("customer_parts", "customer_life"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        conn.execute(f"CREATE TEMP TABLE customer_parts AS SELECT *, {_LIFE} FROM ("
                     f"SELECT key, currency, count(*) AS n, "
                     f"coalesce(sum(value_milli), 0) AS milli, min(closed_s) AS first_s, "
                     f"max(closed_s) AS last_s FROM temp.customer_wins GROUP BY key, currency)",
                     params)
        conn.execute(f"CREATE TEMP TABLE customer_life AS SELECT *, {_LIFE} FROM ("
                     f"SELECT key, sum(n) AS n, min(first_s) AS first_s, max(last_s) AS last_s "
                     f"FROM temp.customer_parts GROUP BY key)", params)
        revenue = {c: from_milli(milli) for c, milli in conn.execute(
            "SELECT currency, sum(milli) FROM temp.customer_parts GROUP BY currency")}
        cur = Currencies.of(pipeline, revenue)
        whole = _figures(conn.execute(f"SELECT {_FIGURES} FROM temp.customer_life")
                         .fetchone(), cur.amount(revenue))
        by_currency = {c: _figures(rest, revenue[c]) for c, *rest in conn.execute(
            f"SELECT currency, {_FIGURES} FROM temp.customer_parts GROUP BY currency")} \
            if cur.several else {}
        every = _customers(conn, cur)
    keyed_by = {k: 0 for k in KINDS}
    for c in every:
        keyed_by[c.kind] += 1
    ranked = sorted(every, key=_sort_key(sort, cur))
    return CustomerReport(pipeline, as_of, filters, per, lapse_days, sort, limit, whole, cur,
                          by_currency, keyed_by, tuple(ranked[:limit]))


def _figures(row, revenue: Decimal | None) -> Figures:
    count, deals, repeat, lapsed, lived = row
    return Figures(count, deals or 0, repeat or 0, lapsed or 0, lived or 0, revenue)


def _won_table(conn: sqlite3.Connection, pipeline: str, filters: Filters, per: str,
               m: int) -> None:
    """temp.customer_wins: the won deals the figures cover (the report's: won at the
    moment, closed in the window), each with its customer's key and spelling."""
    _, in_window, days = window_clauses(filters)
    conn.execute("DROP TABLE IF EXISTS temp.customer_wins")
    conn.execute(f"CREATE TEMP TABLE customer_wins AS SELECT id, name, company, "
                 f"'' AS contact, '' AS email, currency, value_milli, closed_s, closed_at, "
                 f"'' AS key, '' AS shown {won_deals(in_window)}", {"p": pipeline, **days})
    conn.execute("CREATE INDEX temp.customer_wins_by_id ON customer_wins (id)")
    wanting = [deal_id for deal_id, company in conn.execute(
        "SELECT id, company FROM temp.customer_wins")
        if per == "contact" or not company.split()]
    conn.executemany("UPDATE temp.customer_wins SET contact = ?, email = ? WHERE id = ?",
                     ((contact, email, deal_id)
                      for deal_id, (contact, email) in _people(conn, wanting, m).items()))
    conn.create_function("customer_key", 5, identity, deterministic=True)
    conn.create_function("customer_spelling", 6, spelling, deterministic=True)
    conn.execute("UPDATE temp.customer_wins SET key = customer_key(?, company, email, "
                 "contact, id)", (per,))
    conn.execute("UPDATE temp.customer_wins SET shown = customer_spelling(key, company, "
                 "email, contact, name, id)")


def _people(conn: sqlite3.Connection, ids: list[str], m: int) -> dict[str, tuple[str, str]]:
    """Each deal's contact and email in its version valid at the moment `m`. The versions
    table keeps the fields reports filter on, not these two: they are the deal's as it
    stands now unless an event in effect after `m` set one (or the deal is gone since);
    then its events are folded again (engine.fold, the one rule) for its version at `m`."""
    if not ids:
        return {}
    conn.execute("DROP TABLE IF EXISTS temp.customer_people")
    conn.execute("CREATE TEMP TABLE customer_people (id TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO temp.customer_people VALUES (?)", ((i,) for i in ids))
    found = {deal_id: (contact, email) for deal_id, contact, email in conn.execute(
        "SELECT d.id, d.contact, d.email FROM deals AS d "
        "JOIN temp.customer_people AS p ON p.id = d.id")}
    # What is left to fold: the deals gone since, and those an event after `m` changed.
    conn.execute("DELETE FROM temp.customer_people WHERE id IN (SELECT id FROM deals) AND "
                 "NOT EXISTS (SELECT 1 FROM events AS e WHERE e.deal = customer_people.id AND "
                 "e.at_s > :m AND e.in_effect = 1 AND "
                 "(instr(:sep || e.sets || :sep, :contact) > 0 OR "
                 "instr(:sep || e.sets || :sep, :email) > 0))",
                 {"m": m, "sep": FIELD_SEPARATOR, "contact": f"{FIELD_SEPARATOR}contact"
                  f"{FIELD_SEPARATOR}", "email": f"{FIELD_SEPARATOR}email{FIELD_SEPARATOR}"})
    batch: list = []

    def settle() -> None:
        versions = [v for v in fold(batch).versions if int(v.start.timestamp()) <= m]
        if versions:
            found[batch[0].deal_id] = (versions[-1].deal.contact, versions[-1].deal.email)

    for event in select_events(conn, "WHERE deal IN (SELECT id FROM temp.customer_people)",
                               order="deal, recorded, id"):
        if batch and event.deal_id != batch[0].deal_id:
            settle()
            batch = []
        batch.append(event)
    if batch:
        settle()
    return found


def _customers(conn: sqlite3.Connection, cur: Currencies) -> list[Customer]:
    """Every customer, with its spelling and first and last win from its deals (the most
    recent win's spelling; ties by deal id)."""
    parts: dict[str, dict] = {}
    for key, currency, milli in conn.execute(
            "SELECT key, currency, milli FROM temp.customer_parts"):
        parts.setdefault(key, {})[currency] = from_milli(milli)
    ends: dict[str, dict] = {}
    for key, shown, closed_at, latest, earliest in conn.execute(
            "SELECT key, shown, closed_at, latest, earliest FROM (SELECT key, shown, closed_at, "
            "row_number() OVER (PARTITION BY key ORDER BY closed_s DESC, id DESC) AS latest, "
            "row_number() OVER (PARTITION BY key ORDER BY closed_s, id) AS earliest "
            "FROM temp.customer_wins) AS ranked WHERE latest = 1 OR earliest = 1"):
        end = ends.setdefault(key, {})
        if latest == 1:
            end.update(name=shown, last=datetime.fromisoformat(closed_at))
        if earliest == 1:
            end["first"] = datetime.fromisoformat(closed_at)
    out = []
    for key, n, lapsed, lived in conn.execute(
            "SELECT key, n, lapsed, lived FROM temp.customer_life"):
        end, amounts = ends[key], parts[key]
        out.append(Customer(key, end["name"], n, cur.amount(amounts), end["first"],
                            end["last"], bool(lapsed), Fraction(lived, SECONDS_PER_DAY),
                            {"revenue": cur.parts(amounts)} if cur.several else {}))
    return out


def _sort_key(sort: str, cur: Currencies):
    """Largest revenue first (amounts of different currencies never compared: without rates,
    by the pipeline currency's part, then each other currency's in code order), most won
    deals first, or the latest last win first; ties by the other two, then the name."""
    codes = sorted(cur.present, key=lambda c: (c != cur.home, c))

    def revenue(c: Customer) -> tuple:
        if c.revenue is not None:
            return (-c.revenue,)
        return tuple(-c.parts["revenue"].get(code, ZERO) for code in codes)

    def key(c: Customer) -> tuple:
        latest = -c.last_win.timestamp()
        first = {"revenue": (revenue(c), -c.won_deals, latest),
                 "deals": (-c.won_deals, revenue(c), latest),
                 "last": (latest, revenue(c), -c.won_deals)}[sort]
        return (*first, c.name.lower(), c.key)

    return key
