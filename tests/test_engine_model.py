"""The report's figures against an independent model, on random command sequences.

The model below shares no code with pipecli. It is written from docs/metrics.md,
docs/store.md and the lifecycle rules (what each command refuses): it keeps the commands'
events in recording order, decides which are in effect (an undo takes its target out of
the history, a redo puts it back, an undo of a redo takes it out again), folds each deal's
events in effect by effective time into its versions, and computes every figure of
`pipe report` at a moment from them. Random sequences of add, move, won, lost, reopen, edit
(value, owner), hand-off, return, rm, undo and redo — back-dated with --at or not, some
refused by a rule — are run through the real `pipe` on both backends; the model predicts
which commands are refused and which events are in effect, and `pipe report -o json` (now
with --by owner, and at --as-of days in the middle of the history, with the owner filter
and a --since/--until window; of one pipeline, and of the whole file with --all) must give
its figures, identically on both backends.

Where the docs leave a detail open, the model follows what pipe has always done: drop-off
is 0 (not null) after a stage that no deal reached, and a pipeline's `returned` counts
every deal that came into it from another pipeline (so sales' counts the leads marketing
handed on).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PIPELINE_YAML

T0 = datetime(2026, 1, 5, 8, 59, 59, tzinfo=timezone.utc)  # so some changes fall on 23:59:59,
# the very moment `--as-of DAY` reports at
SECONDS_PER_DAY = 86400
REVERTS = ("undone", "redone")

# The test file: marketing hands a lead on to sales when it reaches `sql` (a stage's
# `handoff`); sales is the conftest pipeline. Stage keys repeat across the two pipelines
# (proposal, won, lost): a figure must never mix them up. The model reads the same text
# with PyYAML.
HANDOFF_YAML = """\
store: {store}
currency: USD
pipelines:
  - name: marketing
    kind: b2b
    lost_reasons: [no engagement]
    stages:
      - {{key: mql, label: MQL, probability: 5}}
      - {{key: proposal, label: Offer, probability: 15}}
      - {{key: sql, label: SQL, probability: 30,
         handoff: {{pipeline: sales, stage: qualification}}}}
      - {{key: won, label: Customer, probability: 100, outcome: won}}
      - {{key: lost, label: Dropped, probability: 0, outcome: lost}}
  - name: sales
    kind: b2b
    lost_reasons: [price, chose another vendor]
    stages:
      - {{key: prospecting, label: Prospecting, probability: 10, rot_days: 14}}
      - {{key: qualification, label: Qualification, probability: 20, requires: [email]}}
      - {{key: proposal, label: Proposal, probability: 60}}
      - {{key: won, label: Closed won, probability: 100, outcome: won}}
      - {{key: lost, label: Closed lost, probability: 0, outcome: lost}}
      - {{key: post_purchase, label: Post-purchase, probability: 100, outcome: won}}
"""


# -- the pipelines, as the model sees them ----------------------------------------------------

@dataclass(frozen=True)
class Stage:
    key: str
    probability: Decimal
    outcome: str | None  # None, "won" or "lost"
    requires: tuple[str, ...]
    handoff: tuple[str, str] | None


@dataclass(frozen=True)
class Line:
    """One pipeline: its stages in file order and its lost reasons."""

    name: str
    stages: tuple[Stage, ...]
    reasons: tuple[str, ...]

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    @property
    def opens(self) -> list[str]:
        return [s.key for s in self.stages if s.outcome is None]

    @property
    def rank(self) -> dict[str, int]:
        """Funnel order: the open stages, then the won ones; lost stages have no rank."""
        order = self.opens + [s.key for s in self.stages if s.outcome == "won"]
        return {key: i for i, key in enumerate(order)}


def read_lines(text: str) -> dict[str, Line]:
    data = yaml.safe_load(text.format(store="deals"))
    out = {}
    for p in data.get("pipelines") or [data]:
        stages = tuple(Stage(s["key"], Decimal(str(s["probability"])), s.get("outcome"),
                             tuple(s.get("requires") or ()),
                             (s["handoff"]["pipeline"], s["handoff"]["stage"])
                             if s.get("handoff") else None) for s in p["stages"])
        out[p["name"]] = Line(p["name"], stages, tuple(p.get("lost_reasons") or ()))
    return out


# -- the model ----------------------------------------------------------------------------------

@dataclass
class Ev:
    n: int  # recording order
    deal: int
    kind: str
    at: datetime
    sets: dict = field(default_factory=dict)
    target: int | None = None  # for undone / redone: the event reverted
    batch: int = 0  # the command that recorded it: one undo takes back its every event


@dataclass(frozen=True)
class Version:
    """A deal from one event in effect until the next."""

    start: datetime
    kind: str
    pipeline: str
    stage: str
    status: str
    value: Decimal | None
    owner: str
    email: str
    probability: Decimal | None
    lost_reason: str
    created: datetime
    closed: datetime | None
    entered: datetime  # when it entered its current (pipeline, stage)
    came_from: str | None  # the pipeline of the version before (None for the first)


BLANK = dict(pipeline="", stage="", status="open", value=None, owner="", email="",
             probability=None, lost_reason="")

REFUSED, NOOP = "refused", "noop"


class Model:
    def __init__(self, lines: dict[str, Line]):
        self.lines = lines
        self.events: list[Ev] = []
        self.deals = 0

    # which events count
    def live(self) -> set[int]:
        """In effect: not the target of a revert in effect. Reverts come after their
        targets, so one pass from the newest event decides every one."""
        by_target: dict[int, list[int]] = {}
        for e in self.events:
            if e.kind in REVERTS:
                by_target.setdefault(e.target, []).append(e.n)
        on: dict[int, bool] = {}
        for e in reversed(self.events):
            on[e.n] = not any(on[r] for r in by_target.get(e.n, ()))
        return {n for n, ok in on.items() if ok}

    def versions(self, deal: int, live: set[int]) -> tuple[list[Version], datetime | None]:
        """The deal's versions from its events in effect (by effective time, then recording
        order), and when it was deleted (None if it was not)."""
        mine = sorted((e for e in self.events if e.deal == deal and e.n in live
                       and e.kind not in REVERTS), key=lambda e: (e.at, e.n))
        out: list[Version] = []
        for e in mine:
            if not out and e.kind != "created":
                continue  # before its creation: ignored
            if out and e.kind == "created":
                continue
            if e.kind == "deleted":
                return out, e.at
            before = out[-1] if out else None
            state = dict(BLANK) if before is None else {k: getattr(before, k) for k in BLANK}
            state.update(e.sets)
            closed = None if before is None else before.closed
            if before is not None and state["status"] != before.status:
                closed = e.at if state["status"] in ("won", "lost") else None
            if state["status"] != "lost":
                state["lost_reason"] = ""
            moved = before is None or (state["pipeline"], state["stage"]) != \
                (before.pipeline, before.stage)
            out.append(Version(start=e.at, kind=e.kind, **state,
                               created=before.created if before else e.at, closed=closed,
                               entered=e.at if moved else before.entered,
                               came_from=before.pipeline if before else None))
        return out, None

    def current(self, deal: int, live: set[int] | None = None) -> Version | None:
        versions, deleted = self.versions(deal, self.live() if live is None else live)
        return versions[-1] if versions and deleted is None else None

    def last_at(self, deal: int) -> datetime | None:
        live = self.live()
        times = [e.at for e in self.events if e.deal == deal and e.n in live
                 and e.kind not in REVERTS]
        return max(times) if times else None

    # the commands: each returns REFUSED, NOOP, or the event it records
    def _record(self, deal: int, kind: str, at: datetime, sets: dict, target=None,
                joined: bool = False) -> Ev:
        """An event, of the command that recorded the one before when `joined` (a move and
        the hand-off it sets off; the reverts of one undo), else of a command of its own."""
        batch = self.events[-1].batch if joined and self.events else len(self.events)
        e = Ev(len(self.events), deal, kind, at, sets, target, batch)
        self.events.append(e)
        return e

    def _when(self, deal: int | None, at: datetime | None, now: datetime):
        last = self.last_at(deal) if deal is not None else None
        if at is None:
            return max(now, last) if last else now
        if at > now or (last is not None and at < last):
            return None  # in the future, or before the deal's last change
        return at

    def _unmet(self, cur: Version | None, stage: Stage, **changed) -> bool:
        email = changed.get("email", cur.email if cur else "")
        return "email" in stage.requires and not email

    def add(self, now, at, *, pipeline: str, sets: dict):
        line = self.lines[pipeline]
        at = self._when(None, at, now)
        first = line.stage(line.opens[0])
        if at is None or self._unmet(None, first, **sets):
            return REFUSED
        deal = self.deals
        self.deals += 1
        return self._record(deal, "created", at, dict(pipeline=pipeline, stage=first.key,
                                                      status="open", **sets))

    def move(self, deal, stage_key, now, at):
        cur = self.current(deal)
        if cur is None:
            return REFUSED
        line = self.lines[cur.pipeline]
        target = line.stage(stage_key)
        if target is None:
            return REFUSED
        if target.key == cur.stage:
            return NOOP
        at = self._when(deal, at, now)
        if cur.status == "won" and target.outcome == "won":
            kind, sets = "moved", {"stage": target.key}
        elif cur.status != "open" or target.outcome == "lost":
            return REFUSED
        elif target.outcome == "won":
            kind, sets = "won", {"stage": target.key, "status": "won"}
        else:
            if self._unmet(cur, target):
                return REFUSED
            kind, sets = "moved", {"stage": target.key}
        if at is None:
            return REFUSED
        moved = self._record(deal, kind, at, sets)
        if target.handoff and kind == "moved":
            into = self.lines[target.handoff[0]].stage(target.handoff[1])
            if self._unmet(cur, into):
                self.events.pop()  # one command, one transaction: nothing was written
                return REFUSED
            return self._record(deal, "handed_off", at, {"pipeline": target.handoff[0],
                                                         "stage": into.key}, joined=True)
        return moved

    def transfer(self, deal, pipeline, now, at):
        """`pipe move DEAL --pipeline NAME`: over to another pipeline's first stage."""
        cur = self.current(deal)
        if cur is None:
            return REFUSED
        if pipeline == cur.pipeline:
            return REFUSED  # `--pipeline` its own pipeline, without a stage: a usage error
        at = self._when(deal, at, now)
        into = self.lines[pipeline].stage(self.lines[pipeline].opens[0])
        if at is None or cur.status != "open" or self._unmet(cur, into):
            return REFUSED
        return self._record(deal, "moved", at, {"pipeline": pipeline, "stage": into.key})

    def send_back(self, deal, now, at):
        """`pipe return`: back to the pipeline the deal last arrived from, unless that
        arrival was itself a return."""
        cur = self.current(deal)
        if cur is None:
            return REFUSED
        versions, _ = self.versions(deal, self.live())
        arrivals = [v for v in versions if v.came_from is not None
                    and v.came_from != v.pipeline]
        if not arrivals or arrivals[-1].kind == "returned":
            return REFUSED
        home = self.lines[arrivals[-1].came_from]
        into = home.stage(home.opens[0])
        at = self._when(deal, at, now)
        if at is None or cur.status != "open" or self._unmet(cur, into):
            return REFUSED
        return self._record(deal, "returned", at, {"pipeline": home.name, "stage": into.key})

    def win(self, deal, value, now, at):
        cur = self.current(deal)
        if cur is None or cur.status != "open":
            return REFUSED
        at = self._when(deal, at, now)
        if at is None:
            return REFUSED
        won = next(s.key for s in self.lines[cur.pipeline].stages if s.outcome == "won")
        sets = {"stage": won, "status": "won"}
        if value is not None:
            sets["value"] = value
        return self._record(deal, "won", at, sets)

    def lose(self, deal, reason, now, at):
        cur = self.current(deal)
        if cur is None or cur.status != "open":
            return REFUSED
        line = self.lines[cur.pipeline]
        known = [r for r in line.reasons if r.lower() == reason.lower()]
        if line.reasons and not known:
            return REFUSED
        at = self._when(deal, at, now)
        if at is None:
            return REFUSED
        lost = next(s.key for s in line.stages if s.outcome == "lost")
        return self._record(deal, "lost", at, {"stage": lost, "status": "lost",
                                               "lost_reason": known[0] if known else reason})

    def reopen(self, deal, now, at):
        cur = self.current(deal)
        if cur is None or cur.status == "open":
            return REFUSED
        line = self.lines[cur.pipeline]
        versions, _ = self.versions(deal, self.live())
        been = [v.stage for v in versions if v.pipeline == line.name and v.stage in line.opens]
        target = line.stage(been[-1] if been else line.opens[0])
        at = self._when(deal, at, now)
        if at is None or self._unmet(cur, target):
            return REFUSED
        return self._record(deal, "reopened", at, {"stage": target.key, "status": "open"})

    def edit(self, deal, name, value, now, at):
        cur = self.current(deal)
        if cur is None:
            return REFUSED
        if getattr(cur, name) == value:
            return NOOP
        at = self._when(deal, at, now)
        stage = self.lines[cur.pipeline].stage(cur.stage)
        if at is None or (cur.status == "open" and self._unmet(cur, stage, **{name: value})):
            return REFUSED
        return self._record(deal, "edited", at, {name: value})

    def remove(self, deal, now):
        if self.current(deal) is None:
            return REFUSED
        return self._record(deal, "deleted", self._when(deal, None, now), {})

    def undo(self, now):
        """Take back the latest command in effect, in recording order (a redo included):
        every event of it still in effect."""
        return self._revert("undone", now)

    def redo(self, now):
        """Take back the latest undo in effect — refused when a deal of it changed since."""
        return self._revert("redone", now)

    def _revert(self, kind: str, now):
        live = self.live()
        wanted = (lambda e: e.kind == "undone") if kind == "redone" else \
            (lambda e: e.kind != "undone")
        latest = next((e for e in reversed(self.events) if e.n in live and wanted(e)), None)
        if latest is None:
            return NOOP
        targets = [e for e in self.events
                   if e.n in live and wanted(e) and e.batch == latest.batch]
        if kind == "redone" and any(
                e.deal == undo.deal and e.n > undo.n and e.n in live and e.kind not in REVERTS
                for undo in targets for e in self.events):
            return REFUSED
        for i, t in enumerate(targets):
            last = self._record(t.deal, kind, now, {}, t.n, joined=i > 0)
        return last

    # the figures
    def report(self, pipeline: str | None, moment: datetime, owner: str | None = None,
               since: date | None = None, until: date | None = None,
               by_owner: bool = False) -> dict:
        """`pipe report -p PIPELINE` at a moment (pipeline None: `pipe report --all`)."""
        scope = Scope.of(self.lines, pipeline)
        live = self.live()

        def windowed(moment_or_none):
            if moment_or_none is None:
                return False
            day = moment_or_none.date()
            return (since is None or day >= since) and (until is None or day <= until)

        rows = []  # (version at the moment, furthest rank, handed off, returned, stays, cohort)
        for deal in range(self.deals):
            versions, deleted = self.versions(deal, live)
            seen = [v for v in versions if v.start <= moment]
            if not seen or (deleted is not None and deleted <= moment):
                continue
            if not any(scope.place(v) for v in seen):
                continue  # never been in the pipeline
            now = seen[-1]
            if owner is not None and now.owner.lower() != owner.lower():
                continue
            furthest = max((scope.rank.get(scope.place(v), -1) for v in seen), default=-1)
            stays = []  # (place, seconds) of its completed stays in the scope
            for i, v in enumerate(versions):
                if i and (v.pipeline, v.stage) == (versions[i - 1].pipeline,
                                                   versions[i - 1].stage):
                    continue
                end = next((w.start for w in versions[i + 1:]
                            if (w.pipeline, w.stage) != (v.pipeline, v.stage)), None)
                if scope.place(v) and end is not None and end <= moment:
                    stays.append((scope.place(v), seconds(end - v.start)))
            cohort = since is None and until is None or windowed(now.created)
            rows.append((now, furthest, scope.handed(seen), scope.returned(seen), stays,
                         cohort))

        here = [r for r in rows if scope.here(r[0])]

        def weighted(v: Version) -> Decimal:
            if v.value is None:
                return Decimal(0)
            stage = scope.stages.get(scope.place(v))
            own = v.probability if v.probability is not None else \
                (stage.probability if stage else Decimal(0))
            return v.value * own / 100

        stages = []
        rank = scope.rank
        reached = {key: [r for r in rows if r[5] and r[1] >= i] for key, i in rank.items()}
        keys = sorted(rank, key=rank.get)
        for key, s in scope.stages.items():
            now_here = [r[0] for r in here if scope.place(r[0]) == key]
            completed = [d for r in rows if r[5] for place, d in r[4] if place == key]
            i = rank.get(key)
            got = len(reached[key]) if i is not None else None
            before = len(reached[keys[i - 1]]) if i else None
            stages.append({
                "key": key, "count": len(now_here),
                "value": total(v.value for v in now_here),
                "weighted_value": total(weighted(v) for v in now_here),
                "avg_age_days": mean_days([seconds(moment - v.entered) for v in now_here])
                if s.outcome is None else None,
                "reached": got,
                "reached_value": total(r[0].value for r in reached[key])
                if i is not None else None,
                "conversion": got / before if before else None,
                "drop_off": before - got if i else None,
                "avg_days_in_stage": mean_days(completed) if s.outcome is None else None,
                "median_days_in_stage": median_days(completed) if s.outcome is None else None,
            })
        counted = [r[0] for r in here if r[0].status == "open" or windowed(r[0].closed)]
        totals = self.totals(counted, weighted)
        totals["handed_off"] = sum(1 for r in rows if r[5] and r[2])
        totals["returned"] = sum(1 for r in rows if r[5] and r[3])
        won_rank = min(i for key, i in rank.items() if scope.stages[key].outcome == "won")

        def funnel(cohort_rows) -> dict:
            """Conversion to won: of the cohort deals that entered the funnel (reached its
            first stage), those that reached a won stage."""
            entered = [r for r in cohort_rows if r[5] and r[1] >= 0]
            won = [r for r in entered if r[1] >= won_rank]
            return {"entered": len(entered), "reached_won": len(won),
                    "conversion_to_won": Fraction(len(won), len(entered)) if entered else None}

        totals.update(funnel(rows))
        reasons: dict[str, list] = {}
        for v in counted:
            if v.status == "lost":
                reasons.setdefault(v.lost_reason or "(none given)", []).append(v.value)
        lost = sorted(({"reason": k, "count": len(vs), "value": total(vs)}
                       for k, vs in reasons.items()),
                      key=lambda x: (-x["value"], -x["count"], x["reason"]))
        out = {"stages": stages, "totals": totals, "lost_reasons": lost}
        if by_owner:
            # A group is every owner with a deal in the totals or a cohort deal in the funnel.
            names = {v.owner or "(none)" for v in counted} | \
                {r[0].owner or "(none)" for r in rows if r[5] and r[1] >= 0}
            out["groups"] = {
                name: {**self.totals([v for v in counted if (v.owner or "(none)") == name],
                                     weighted),
                       **funnel([r for r in rows if (r[0].owner or "(none)") == name])}
                for name in names}
        return out

    @staticmethod
    def totals(deals: list[Version], weighted) -> dict:
        opened = [v for v in deals if v.status == "open"]
        won = [v for v in deals if v.status == "won"]
        lost = [v for v in deals if v.status == "lost"]
        cycles = [seconds(v.closed - v.created) for v in won]
        win_rate = Fraction(len(won), len(won) + len(lost)) if won or lost else None
        avg_won = Fraction(total(v.value for v in won)) / len(won) if won else None
        cycle = mean_days(cycles)
        velocity = None
        if avg_won is not None and win_rate is not None and cycle:
            velocity = len(opened) * avg_won * Fraction(len(won), len(won) + len(lost)) * \
                SECONDS_PER_DAY * len(cycles) / sum(cycles)
        return {"open_count": len(opened), "open_value": total(v.value for v in opened),
                "weighted_value": total(weighted(v) for v in opened), "won_count": len(won),
                "won_value": total(v.value for v in won), "lost_count": len(lost),
                "lost_value": total(v.value for v in lost), "win_rate": win_rate,
                "avg_won_value": avg_won, "avg_cycle_days": cycle,
                "median_cycle_days": median_days(cycles), "velocity_per_day": velocity}


@dataclass(frozen=True)
class Scope:
    """What one report covers (docs/metrics.md, "Several pipelines and the hand-off")."""

    stages: dict[str, Stage]  # its stage lines, by the key the report shows
    rank: dict[str, int]  # funnel order, by that key
    pipeline: str | None  # None: the whole file

    @classmethod
    def of(cls, lines: dict[str, Line], pipeline: str | None) -> "Scope":
        if pipeline is not None:
            line = lines[pipeline]
            return cls({s.key: s for s in line.stages}, line.rank, pipeline)
        # --all: every open stage in file order, then the won, then the lost stages; only
        # the last pipeline's won stages end the funnel.
        every = [(f"{p.name}/{s.key}", s) for p in lines.values() for s in p.stages]
        stages = dict([x for x in every if x[1].outcome is None] +
                      [x for x in every if x[1].outcome == "won"] +
                      [x for x in every if x[1].outcome == "lost"])
        last = list(lines.values())[-1]
        order = [k for k, s in every if s.outcome is None] + \
            [f"{last.name}/{s.key}" for s in last.stages if s.outcome == "won"]
        return cls(stages, {k: i for i, k in enumerate(order)}, None)

    def place(self, v: Version) -> str | None:
        """A version's stage as the report names it (None: outside the pipeline)."""
        if self.pipeline is None:
            return f"{v.pipeline}/{v.stage}"
        return v.stage if v.pipeline == self.pipeline else None

    def here(self, v: Version) -> bool:
        return self.pipeline is None or v.pipeline == self.pipeline

    def handed(self, seen: list[Version]) -> bool:
        if self.pipeline is None:
            return any(v.kind == "handed_off" for v in seen)
        return any(v.came_from == self.pipeline and v.pipeline != self.pipeline for v in seen)

    def returned(self, seen: list[Version]) -> bool:
        if self.pipeline is None:
            return any(v.kind == "returned" for v in seen)
        return any(v.pipeline == self.pipeline and v.came_from not in (None, self.pipeline)
                   for v in seen)


def seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def total(values) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def mean_days(durations: list[int]) -> Fraction | None:
    return Fraction(sum(durations), len(durations) * SECONDS_PER_DAY) if durations else None


def median_days(durations: list[int]) -> Fraction | None:
    """statistics.median's middle value(s), averaged exactly (it halves in floating point)."""
    if not durations:
        return None
    ordered, middle = sorted(durations), len(durations) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle], SECONDS_PER_DAY)
    return Fraction(ordered[middle - 1] + ordered[middle], 2 * SECONDS_PER_DAY)


# -- comparing a JSON report with the model's figures -------------------------------------------

MONEY = ("value", "reached_value", "open_value", "won_value", "lost_value")
ROUNDED_MONEY = ("weighted_value", "avg_won_value", "velocity_per_day")
DAYS = ("avg_age_days", "avg_days_in_stage", "median_days_in_stage", "avg_cycle_days",
        "median_cycle_days")
RATES = ("conversion", "win_rate", "conversion_to_won")


def rounded(exact, places: int) -> Decimal:
    """An exact value (Decimal or Fraction) rounded half-up (a tie away from zero, as a
    spreadsheet does) to `places` decimals: floor(x · 10^places + ½) for x ≥ 0."""
    x = Fraction(exact) * 10 ** places
    return Decimal((2 * x.numerator + x.denominator) // (2 * x.denominator)).scaleb(-places)


def cents(amount) -> Decimal:
    return rounded(amount, 2)


def same_figure(name: str, got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if name in MONEY:
        return Decimal(str(got)) == want
    if name in ROUNDED_MONEY:
        return Decimal(str(got)) == cents(want)
    if name in DAYS:  # given to 0.01 day, rounded half-up from the exact figure
        return Decimal(str(got)) == rounded(want, 2)
    if name in RATES:  # given as fractions to 4 decimals, rounded half-up from the exact one
        return Decimal(str(got)) == rounded(want, 4)
    return got == want


def check_figures(got: dict, want: dict, where: str) -> None:
    problems = []

    def compare(prefix, got_part, want_part):
        for name, value in want_part.items():
            if not same_figure(name, got_part.get(name), value):
                problems.append(f"{prefix}{name}: pipe says {got_part.get(name)!r}, the model "
                                f"{value!r}")

    assert [s["key"] for s in got["stages"]] == [s["key"] for s in want["stages"]]
    for g, w in zip(got["stages"], want["stages"]):
        compare(f"stage {w['key']} ", g, w)
    compare("totals ", got["totals"], want["totals"])
    if got["lost_reasons"] != [{**r, "value": to_number(r["value"])}
                               for r in want["lost_reasons"]]:
        problems.append(f"lost reasons: {got['lost_reasons']} vs {want['lost_reasons']}")
    if "groups" in want:
        groups = {g["group"]: g for g in got["groups"]}
        assert sorted(groups) == sorted(want["groups"]), where
        for name, w in want["groups"].items():
            compare(f"group {name} ", groups[name], w)
        names = [g["group"] for g in got["groups"]]
        assert names == sorted(names, key=lambda n: (n == "(none)", n.lower(), n)), names
    assert not problems, f"{where}:\n" + "\n".join(problems)


def to_number(amount: Decimal):
    return int(amount) if amount == amount.to_integral_value() else float(amount)


# -- running the commands on both backends -----------------------------------------------------

COMMANDS = ("add", "add", "add", "move", "move", "move", "won", "lost", "reopen", "value",
            "owner", "rm", "undo", "undo", "redo")
HANDOFF_COMMANDS = COMMANDS + ("transfer", "return", "move")
OWNERS = ("Åsa", "ÅSA", "lee", "")


@dataclass(frozen=True)
class Step:
    command: str
    pick: int  # which deal (of all ever added: deleted ones are refused)
    choice: int  # the stage, owner, reason, email... by its remainders (0 ≤ choice < 420)
    cents: int  # an amount
    hours: int  # the clock moves on this much before the command
    back: float | None  # back-date with --at: how far between the last change and now


def steps(commands):
    return st.lists(st.builds(Step, st.sampled_from(commands), st.integers(0, 9),
                              st.integers(0, 419), st.integers(0, 500000),
                              # from 08:59:59, 15 hours on is 23:59:59: the moment --as-of
                              # reports at
                              st.one_of(st.integers(1, 80), st.sampled_from([15, 24, 39])),
                              st.one_of(st.none(), st.none(), st.floats(-0.25, 1))),
                    min_size=6, max_size=30)


def amount(s: Step) -> Decimal | None:
    return None if s.choice % 5 == 0 else Decimal(s.cents) / 100


class Runner:
    """The same commands on an event-log and an SQLite store, and in the model."""

    def __init__(self, run, monkeypatch, root: Path, text: str):
        self.run, self.monkeypatch = run, monkeypatch
        self.folders = {}
        for backend, store in (("csv", "deals"), ("sqlite", "deals.sqlite")):
            folder = root / backend
            folder.mkdir()
            (folder / "pipeline.yaml").write_text(text.format(store=store))
            self.folders[backend] = folder
        self.lines = read_lines(text)
        self.model = Model(self.lines)
        self.ids: dict[str, list[str]] = {b: [] for b in self.folders}
        self.now = T0

    def pipe(self, *args: str) -> dict:
        """Run on both stores (deal placeholders #N become each store's id)."""
        out = {}
        for backend, folder in self.folders.items():
            real = [self.ids[backend][int(a[1:])] if a.startswith("#") else a for a in args]
            result = self.run(real[0], "-f", str(folder), *real[1:])
            assert "Traceback" not in result.err, result.err
            out[backend] = result
        codes = {b: r.code for b, r in out.items()}
        assert len(set(codes.values())) == 1, (args, {b: r.err for b, r in out.items()})
        return out

    def at_text(self, deal: int | None, back: float | None) -> tuple[list[str], datetime]:
        if back is None:
            return [], None
        if deal is None:  # a new deal: up to 20 days back (a negative share: the future)
            at = self.now - timedelta(days=20) * back
        else:
            last = self.model.last_at(deal) or T0
            at = last + (self.now - last) * back if back >= 0 else \
                last - timedelta(hours=1) + (self.now - last) * back
        at = at.replace(microsecond=0)
        return ["--at", at.isoformat()], at

    def step(self, s: Step) -> None:
        self.now += timedelta(hours=s.hours)
        self.monkeypatch.setenv("PIPE_NOW", self.now.isoformat())
        m = self.model
        present = [d for d in range(m.deals) if m.current(d) is not None]
        # Often the deal changed last (so deals go through whole lives: closed, reopened,
        # closed again), else one that is there, now and then any deal ever added (a
        # deleted one, or one whose creation was undone, is refused).
        if s.pick < 3 and m.events and m.events[-1].deal in present:
            deal = m.events[-1].deal
        elif present and s.pick < 8:
            deal = present[s.pick % len(present)]
        else:
            deal = s.pick % m.deals if m.deals else None
        if s.command == "add" or deal is None:
            s = Step("add", s.pick, s.choice, s.cents, s.hours, s.back)
            extra, at = self.at_text(None, s.back)
            sets, args = {}, []
            value = amount(s)
            if value is not None:
                sets["value"] = value
                args += ["--value", str(value)]
            if OWNERS[s.choice % 4]:
                sets["owner"] = OWNERS[s.choice % 4]
                args += ["--owner", OWNERS[s.choice % 4]]
            if s.choice % 3:
                sets["email"] = "a@b.co"
                args += ["--email", "a@b.co"]
            if s.choice % 7 == 0:
                sets["probability"] = Decimal(s.choice % 101)
                args += ["--probability", str(s.choice % 101)]
            pipeline = list(self.lines)[s.choice % 2] if len(self.lines) > 1 else \
                next(iter(self.lines))
            if len(self.lines) > 1:
                args += ["-p", pipeline]
            predicted = m.add(self.now, at, pipeline=pipeline, sets=sets)
            results = self.pipe("add", *args, *extra, "--", f"deal {m.deals}")
            self.expect(predicted, results, s)
            if predicted not in (REFUSED, NOOP):
                for backend, r in results.items():
                    self.ids[backend].append(r.out.strip())
            return
        ref = f"#{deal}"
        extra, at = self.at_text(deal, s.back)
        cur = m.current(deal)
        line = self.lines[cur.pipeline] if cur else next(iter(self.lines.values()))
        if s.command == "move":
            key = line.stages[s.choice % len(line.stages)].key
            predicted = m.move(deal, key, self.now, at)
            results = self.pipe("move", ref, key, *extra)
        elif s.command == "transfer":
            name = list(self.lines)[s.choice % len(self.lines)]
            predicted = m.transfer(deal, name, self.now, at)
            results = self.pipe("move", ref, "--pipeline", name, *extra)
        elif s.command == "return":
            predicted = m.send_back(deal, self.now, at)
            results = self.pipe("return", ref, "--reason", "not yet", *extra)
        elif s.command == "won":
            value = amount(s) if s.choice % 4 == 0 else None
            predicted = m.win(deal, value, self.now, at)
            results = self.pipe("won", ref,
                                *(["--value", str(value)] if value is not None else []),
                                *extra)
        elif s.command == "lost":
            reasons = line.reasons + (line.reasons[0].upper(), "budget")
            reason = reasons[s.choice % len(reasons)]
            predicted = m.lose(deal, reason, self.now, at)
            results = self.pipe("lost", ref, "--reason", reason, *extra)
        elif s.command == "reopen":
            predicted = m.reopen(deal, self.now, at)
            results = self.pipe("reopen", ref, *extra)
        elif s.command == "value":
            value = None if s.choice % 6 == 0 else amount(s)
            predicted = m.edit(deal, "value", value, self.now, at)
            results = self.pipe("edit", ref, "--value", "" if value is None else str(value),
                                *extra)
        elif s.command == "owner":
            owner = OWNERS[s.choice % 4]
            predicted = m.edit(deal, "owner", owner, self.now, at)
            results = self.pipe("edit", ref, "--owner", owner, *extra)
        elif s.command == "rm":
            predicted = m.remove(deal, self.now)
            results = self.pipe("rm", ref, "--yes")
        else:
            predicted = m.undo(self.now) if s.command == "undo" else m.redo(self.now)
            results = self.pipe(s.command)
            nothing = f"Nothing to {s.command}." in results["csv"].out
            assert nothing == (predicted == NOOP), (s, results["csv"].out)
        self.expect(predicted, results, s)

    def expect(self, predicted, results, s: Step) -> None:
        r = results["csv"]
        assert (r.code != 0) == (predicted == REFUSED), \
            f"{s}: the model says {predicted}, pipe exited {r.code}: {r.out}{r.err}"

    def reports(self, args: list[str]) -> dict:
        results = self.pipe("report", *args, "-o", "json")
        assert results["csv"].code == 0, results["csv"].err
        got = {b: r.json() for b, r in results.items()}
        assert got["csv"] == got["sqlite"], args
        return got["csv"]

    def check_history(self) -> None:
        """`pipe log` lists every event with whether it is in effect, as the model has it."""
        live = self.model.live()
        want = [(e.kind, e.n in live) for e in reversed(self.model.events)]
        for backend in self.folders:
            log = self.run("log", "-f", str(self.folders[backend]), "-n", "1000", "-o", "json")
            assert [(e["event"], e["in_effect"]) for e in log.json()] == want, backend
            assert self.run("check", "-f", str(self.folders[backend])).code == 0, backend


def play_and_compare(runner: Runner, program, moments, owner, window, scopes) -> None:
    """Play the commands, then compare every report (of each scope: a pipeline's name, or
    None for --all) with the model's: now (with --by owner), and at each --as-of moment
    (every other one with the owner filter and the --since/--until window)."""
    for s in program:
        runner.step(s)
    runner.check_history()
    span = runner.now - T0
    for pipeline in scopes:
        p = ["--all"] if pipeline is None else ["-p", pipeline]
        got = runner.reports([*p, "--by", "owner"])
        assert got["as_of"] == runner.now.isoformat()
        check_figures(got, runner.model.report(pipeline, runner.now, by_owner=True),
                      f"{' '.join(p)} now")
        # Days of changes made at 23:59:59 (the moment --as-of DAY reports at), or of any.
        events = [e for e in runner.model.events if e.at.time() == time(23, 59, 59)] or \
            runner.model.events
        for i, (on_event, share) in enumerate(moments):
            if on_event and events:
                day = events[min(int(share * len(events)), len(events) - 1)].at.date()
            else:
                day = (T0 + span * share).date()
            moment = datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)
            args = [*p, "--as-of", day.isoformat()]
            kept = {}
            if i % 2:  # every other moment: the filters too
                if owner:
                    args += ["--owner", owner]
                    kept["owner"] = owner
                if window:
                    since, until = ((T0 + span * x).date() for x in sorted(window))
                    args += ["--since", since.isoformat(), "--until", until.isoformat()]
                    kept.update(since=since, until=until)
            got = runner.reports(args)
            check_figures(got, runner.model.report(pipeline, moment, **kept), " ".join(args))


moments = st.lists(st.tuples(st.booleans(), st.floats(0, 1.05)), min_size=1, max_size=3)
owner_filter = st.sampled_from([None, "åsa", "LEE"])
window = st.one_of(st.none(), st.tuples(st.floats(0, 1), st.floats(0, 1)))
FIXTURES = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=45, **FIXTURES)
@given(steps(COMMANDS), moments, owner_filter, window)
def test_the_report_equals_the_model(run, monkeypatch, tmp_path_factory, program, shares,
                                     owner, window):
    runner = Runner(run, monkeypatch, tmp_path_factory.mktemp("model"), PIPELINE_YAML)
    play_and_compare(runner, program, shares, owner, window, ["sales"])


@settings(max_examples=25, **FIXTURES)
@given(steps(HANDOFF_COMMANDS), moments, owner_filter, window)
def test_hand_offs_and_returns_equal_the_model(run, monkeypatch, tmp_path_factory, program,
                                                shares, owner, window):
    runner = Runner(run, monkeypatch, tmp_path_factory.mktemp("handoff"), HANDOFF_YAML)
    play_and_compare(runner, program, shares, owner, window, ["marketing", "sales", None])


def test_the_model_reads_the_test_pipelines():
    sales = read_lines(PIPELINE_YAML)["sales"]
    assert sales.rank == {"prospecting": 0, "qualification": 1, "proposal": 2, "won": 3,
                          "post_purchase": 4}
    assert sales.stage("qualification").requires == ("email",)
    both = read_lines(HANDOFF_YAML)
    assert list(both) == ["marketing", "sales"] and both["sales"] == sales
    assert both["marketing"].stage("sql").handoff == ("sales", "qualification")
    whole = Scope.of(both, None)
    assert list(whole.stages) == ["marketing/mql", "marketing/proposal", "marketing/sql",
                                  "sales/prospecting", "sales/qualification", "sales/proposal",
                                  "marketing/won", "sales/won", "sales/post_purchase",
                                  "marketing/lost", "sales/lost"]
    assert sorted(whole.rank, key=whole.rank.get) == [
        "marketing/mql", "marketing/proposal", "marketing/sql", "sales/prospecting",
        "sales/qualification", "sales/proposal", "sales/won", "sales/post_purchase"]


def test_a_worked_history(run, monkeypatch, tmp_path):
    """One history by hand, its figures worked out on paper: the model and pipe agree with
    them (so the model is not merely agreeing with pipe)."""
    runner = Runner(run, monkeypatch, tmp_path, PIPELINE_YAML)
    m = runner.model

    def at(day, hour=9):
        return datetime(2026, 1, day, hour, tzinfo=timezone.utc)

    def go(day, *args, expect_code=0):
        runner.now = at(day)
        monkeypatch.setenv("PIPE_NOW", runner.now.isoformat())
        results = runner.pipe(*args)
        assert results["csv"].code == expect_code, results["csv"].err
        return results

    for day, name, value in ((5, "A", "100"), (6, "B", "50"), (7, "C", "30")):
        results = go(day, "add", "--value", value, "--email", "a@b.co", "--", name)
        m.add(runner.now, None, pipeline="sales",
              sets={"value": Decimal(value), "email": "a@b.co"})
        for backend, r in results.items():
            runner.ids[backend].append(r.out.strip())
    go(8, "move", "#0", "proposal")
    m.move(0, "proposal", runner.now, None)
    go(10, "won", "#0")  # A: created the 5th, won the 10th: a 5-day cycle
    m.win(0, None, runner.now, None)
    go(11, "move", "#1", "qualification")
    m.move(1, "qualification", runner.now, None)
    go(12, "won", "#1")  # B won... then undone: B was never won, never reached won
    m.win(1, None, runner.now, None)
    go(13, "undo")
    m.undo(runner.now)
    go(14, "lost", "#2", "--reason", "price")
    m.lose(2, "price", runner.now, None)
    go(15, "reopen", "#0")  # A reopens at proposal, where it was before the win
    m.reopen(0, runner.now, None)
    go(16, "undo")  # ...and that is undone: A is won again
    m.undo(runner.now)
    go(17, "redo")  # ...and redone: A is open at proposal
    m.redo(runner.now)
    go(18, "won", "#0")  # A won again: its cycle runs to this, its last win (13 days)
    m.win(0, None, runner.now, None)
    runner.check_history()
    report = runner.reports(["--as-of", "2026-01-20"])
    moment = datetime(2026, 1, 20, 23, 59, 59, tzinfo=timezone.utc)
    check_figures(report, m.report("sales", moment), "worked")
    stages = {s["key"]: s for s in report["stages"]}
    t = report["totals"]
    assert (t["open_count"], t["won_count"], t["lost_count"]) == (1, 1, 1)
    assert (t["win_rate"], t["avg_cycle_days"], t["median_cycle_days"]) == (0.5, 13.0, 13.0)
    assert [(r["reason"], r["count"], r["value"]) for r in report["lost_reasons"]] == \
        [("price", 1, 30)]
    # A reached won (its furthest, whatever happened after); B qualification (its win was
    # undone); C prospecting.
    assert [stages[k]["reached"] for k in ("prospecting", "qualification", "proposal", "won",
                                           "post_purchase")] == [3, 2, 1, 1, 0]
    assert [stages[k]["reached_value"] for k in ("prospecting", "qualification", "won")] == \
        [180, 150, 100]
    assert stages["lost"]["reached"] is None
    # Completed stays: A's prospecting 5th→8th (3 days), proposal 8th→10th (2) and
    # 15th→18th (3); B's prospecting 6th→11th (5); C's prospecting 7th→14th (7).
    assert (stages["prospecting"]["avg_days_in_stage"],
            stages["prospecting"]["median_days_in_stage"]) == (5.0, 5.0)
    assert stages["proposal"]["avg_days_in_stage"] == 2.5
    assert stages["qualification"]["avg_days_in_stage"] is None  # B is still there
    # B has been in qualification since the 11th at 9:00: 9 days, 14:59:59 hours.
    assert stages["qualification"]["avg_age_days"] == 9.62  # 9 + 53999/86400 = 9.62499
    # Entered the funnel: A, B, C; reached won: A (its win stands; B's was undone).
    assert (t["entered"], t["reached_won"], t["conversion_to_won"]) == (3, 1, 0.3333)
    # Closed on or after the 17th: only A's last win counts; nobody was created then.
    window = runner.reports(["--as-of", "2026-01-20", "--since", "2026-01-17"])
    check_figures(window, m.report("sales", moment, since=date(2026, 1, 17)), "window")
    assert (window["totals"]["won_count"], window["totals"]["lost_count"],
            window["stages"][0]["reached"]) == (1, 0, 0)
    early = runner.reports(["--as-of", "2026-01-12"])  # A won, B won (undone: not counted)
    early_moment = datetime(2026, 1, 12, 23, 59, 59, tzinfo=timezone.utc)
    check_figures(early, m.report("sales", early_moment), "early")
    assert (early["totals"]["won_count"], early["totals"]["avg_cycle_days"]) == (1, 5.0)
    assert early["totals"]["open_count"] == 2


# -- pipe's earlier SQLite layout: refused, then `pipe upgrade` keeps every figure -----------------

OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE deals (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, name TEXT NOT NULL, stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    value_milli INTEGER, probability TEXT, company TEXT NOT NULL, contact TEXT NOT NULL,
    email TEXT NOT NULL, owner TEXT NOT NULL, source TEXT NOT NULL, close_date TEXT,
    tags TEXT NOT NULL, lost_reason TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, closed_at TEXT
);
CREATE TABLE events (
    deal_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, event TEXT NOT NULL,
    pipeline TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, value_milli INTEGER,
    reason TEXT NOT NULL, changes TEXT NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (deal_id, seq)
) WITHOUT ROWID;
"""
# (deal, seq, at, event, stage, status, value_milli, reason, changes) as version 1 wrote them:
# Acme moved to proposal; Beta won, the win undone; Gone added and deleted.
OLD_EVENTS = [
    ("acme0001", 1, "2026-11-01T00:00:00+00:00", "created", "prospecting", "open", 100000, "",
     '{"name": "Acme", "owner": "Lee"}'),
    ("acme0001", 2, "2026-11-05T00:00:00+00:00", "moved", "proposal", "open", 100000, "",
     '{"stage": ["prospecting", "proposal"]}'),
    ("beta0002", 1, "2026-11-02T00:00:00+00:00", "created", "prospecting", "open", 5000, "",
     '{"name": "Beta"}'),
    ("beta0002", 2, "2026-11-06T00:00:00+00:00", "won", "won", "won", 5000, "",
     '{"stage": ["prospecting", "won"]}'),
    ("beta0002", 3, "2026-11-07T00:00:00+00:00", "undone", "prospecting", "open", 5000,
     "undo:2", '{"stage": ["won", "prospecting"]}'),
    ("gone0003", 1, "2026-11-03T00:00:00+00:00", "created", "prospecting", "open", None, "",
     '{"name": "Gone"}'),
    ("gone0003", 2, "2026-11-20T10:00:00+00:00", "deleted", "prospecting", "open", None, "",
     '{"name": "Gone"}'),
]


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_sqlite_store_of_version_1_or_2_upgrades_with_every_figure(run, tmp_path,
                                                                       version):
    old = tmp_path / "old"
    old.mkdir()
    (old / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    conn = sqlite3.connect(old / "deals.sqlite")
    conn.executescript(OLD_SCHEMA + ("" if version == "1" else
                                     "CREATE TABLE stays (deal_id TEXT, seq INTEGER);"))
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", "pipe-store"),
                                                        ("version", version)])
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, 'sales', ?, ?, ?, ?, ?, '')",
                     OLD_EVENTS)
    conn.commit()
    conn.close()
    refused = run("report", "-f", str(old))
    assert refused.code == 1 and "run `pipe upgrade`" in refused.err
    upgraded = run("upgrade", "-f", str(old))
    assert upgraded.code == 0, upgraded.err
    assert (old / f"deals.sqlite.v{version}-backup").exists()
    # The same history typed into a new store.
    new = tmp_path / "new"
    new.mkdir()
    (new / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))

    def pipe(*args):
        result = run(args[0], "-f", str(new), *args[1:])
        assert result.code == 0, result.err
        return result.out.strip()

    acme = pipe("add", "--value", "100", "--owner", "Lee", "--at", "2026-11-01", "--", "Acme")
    beta = pipe("add", "--value", "5", "--at", "2026-11-02", "--", "Beta")
    gone = pipe("add", "--at", "2026-11-03", "--", "Gone")
    pipe("rm", gone, "--yes")
    pipe("move", acme, "proposal", "--at", "2026-11-05")
    pipe("won", beta, "--at", "2026-11-06")
    pipe("undo")
    for args in ([], ["--as-of", "2026-11-05"], ["--as-of", "2026-11-06"], ["--by", "owner"]):
        assert run("report", "-f", str(old), *args, "-o", "json").json() == \
            run("report", "-f", str(new), *args, "-o", "json").json(), args
    shown = run("show", "beta0002", "-f", str(old), "-o", "json").json()
    assert [(e["event"], e["in_effect"]) for e in shown["history"]] == \
        [("created", True), ("won", False), ("undone", True)]
    assert run("check", "-f", str(old)).code == 0
