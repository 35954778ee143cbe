"""The domain's values: pipelines, stages, deals and history events. Frozen, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    """Where a deal stands: the outcome of its stage."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


OPEN, WON, LOST = Status.OPEN, Status.WON, Status.LOST
STATUSES = tuple(s.value for s in Status)


class ConversionMode(StrEnum):
    """Which funnel stages a deal counts at (`pipe report --conversion`; engine.funnel)."""

    FURTHEST = "furthest"  # every stage up to the furthest it reached
    ORDERED = "ordered"  # the stages it went through in order, none skipped
    ANY = "any"  # each stage it was ever in, on its own

    @property
    def reached_means(self) -> str:
        """What "reached" means in this mode, as every output says it."""
        return {"furthest": "reached = got this far",
                "ordered": "reached = went through every stage before, in order",
                "any": "reached = was ever in the stage"}[self.value]

# Deal fields a stage may list under `requires`, and `pipe edit` may change.
EDITABLE_FIELDS = ("name", "value", "probability", "company", "contact", "email",
                   "owner", "source", "close_date", "tags")
REQUIRABLE_FIELDS = ("value", "company", "contact", "email", "owner", "source", "close_date")



class Kind(StrEnum):
    """What an event did. UNDONE and REDONE are reverts: they name a target event and set
    nothing themselves (see engine.fold for what they do to the effective history)."""

    CREATED = "created"
    MOVED = "moved"
    EDITED = "edited"
    WON = "won"
    LOST = "lost"
    REOPENED = "reopened"
    HANDED_OFF = "handed_off"
    RETURNED = "returned"
    DELETED = "deleted"
    DONE = "done"  # the deal's next step was carried out (an activity); sets the next one
    UNDONE = "undone"
    REDONE = "redone"

    @property
    def is_revert(self) -> bool:
        return self in (Kind.UNDONE, Kind.REDONE)


EVENT_KINDS = tuple(k.value for k in Kind)
# Fields an event may set (tags change through tags_added / tags_removed instead, so two
# people tagging one deal on two branches both keep their tag).
SETTABLE_FIELDS = ("pipeline", "stage", "status", "name", "value", "probability", "company",
                   "contact", "email", "owner", "source", "close_date", "lost_reason",
                   "currency", "external_id", "next_step", "next_due", "next_owner")


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline, in pipeline order."""

    key: str
    label: str
    probability: Decimal
    group: str | None = None
    rot_days: int | None = None
    requires: tuple[str, ...] = ()
    sla_hours: int | None = None
    outcome: str | None = None  # None for open stages, else "won" or "lost"
    handoff: tuple[str, str | None] | None = None  # (pipeline, stage) a deal moves on to
    needs_next_step: bool | None = None  # an open deal here must have one (None: pipeline's)
    default_next_step: tuple[str, str] | None = None  # (text, due word) given on entering

    @property
    def status(self) -> str:
        return self.outcome or OPEN


@dataclass(frozen=True)
class Pipeline:
    """An ordered list of stages with the rules deals follow through them."""

    name: str
    label: str
    kind: str
    currency: str
    stages: tuple[Stage, ...]
    lost_reasons: tuple[str, ...] = ()
    # Exchange rates into `currency`: (code, units of `currency` one unit of code is worth).
    rates: tuple[tuple[str, Decimal], ...] = ()
    next_step_required: bool = False  # every open deal needs a next step (stages may differ)
    # `pipe costs`: the costs file (a path relative to the pipeline file's folder, checked
    # to stay inside it) and the open stage at which a lead counts as qualified (None: the
    # funnel's second place — a lead that got past the first).
    costs: str | None = None
    qualified_stage: str | None = None

    def stage(self, key: str) -> Stage | None:
        for s in self.stages:
            if s.key == key:
                return s
        return None

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.outcome is None)

    @property
    def won_stage(self) -> Stage:
        """Where `pipe won` puts a deal: the first stage whose outcome is won."""
        return next(s for s in self.stages if s.outcome == WON)

    @property
    def lost_stage(self) -> Stage:
        return next(s for s in self.stages if s.outcome == LOST)

    def index(self, key: str) -> int:
        return [s.key for s in self.stages].index(key)

    def needs_next_step(self, stage: Stage) -> bool:
        """Whether an open deal at this stage without a next step needs attention."""
        if stage.outcome:
            return False
        return self.next_step_required if stage.needs_next_step is None \
            else stage.needs_next_step


@dataclass(frozen=True)
class Workspace:
    """A loaded pipeline file: its pipelines and the one store they share."""

    path: Path
    store_path: Path
    pipelines: tuple[Pipeline, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def pipeline(self, name: str | None) -> Pipeline:
        """The named pipeline (case-insensitive), or the first one when name is None."""
        from pipecli.errors import NotFound

        if name is None:
            return self.pipelines[0]
        for p in self.pipelines:
            if p.name.lower() == name.lower():
                return p
        known = ", ".join(p.name for p in self.pipelines)
        raise NotFound(f"no pipeline named {name!r} in {self.path} (pipelines: {known})")

    def pipeline_of(self, deal: "Deal") -> Pipeline | None:
        for p in self.pipelines:
            if p.name == deal.pipeline:
                return p
        return None


@dataclass(frozen=True)
class Deal:
    """A deal as it stands now. Money is Decimal; times are timezone-aware."""

    id: str
    pipeline: str
    name: str
    stage: str
    status: str
    created_at: datetime
    updated_at: datetime
    value: Decimal | None = None
    probability: Decimal | None = None  # per-deal override of the stage's probability
    company: str = ""
    contact: str = ""
    email: str = ""
    owner: str = ""
    source: str = ""
    close_date: date | None = None
    tags: tuple[str, ...] = ()
    lost_reason: str = ""
    closed_at: datetime | None = None
    currency: str = ""  # ISO 4217 code; "" = the pipeline's currency
    external_id: str = ""  # the id the source system gave it, exactly as written there
    next_step: str = ""  # the one open action that advances the deal ("" = none)
    next_due: "Due | None" = None  # when the next step is due
    next_owner: str = ""  # who takes the next step ("" = the deal's owner)

    def with_changes(self, **changes) -> "Deal":
        return replace(self, **changes)

    def is_set(self, name: str) -> bool:
        value = getattr(self, name)
        return value not in (None, "", ())


DEAL_FIELDS = tuple(f.name for f in fields(Deal))


@dataclass(frozen=True, order=True)
class Due:
    """When a next step is due: a day (due all that day, overdue the day after), or a
    moment when a time of day was given (overdue once it has passed)."""

    day: date
    moment: datetime | None = None  # aware; None = the whole day

    def checked(self, *, day_years: bool = True) -> "Due":
        """This due, if pipe can keep it (else ValueError): in the years an import's dates
        are (rows.parse_moment). Every reader turns a moment into its own time zone and a
        unix time (agenda, stale), which one such as year 1 east of UTC cannot be, so a
        moment is always held to them; a day only with day_years (what is typed or
        imported — a stored line is read as an earlier pipe wrote it)."""
        try:
            utc = self.moment.astimezone(timezone.utc) if self.moment is not None else None
        except (OverflowError, ValueError):
            utc = date.min
        kept = [d for d in (self.day if day_years else None, utc) if d is not None]
        if (self.moment is not None and self.moment.utcoffset() is None) or not all(
                DUE_YEARS[0] <= d.year <= DUE_YEARS[1] for d in kept):
            raise ValueError(f"{self.stored()!r} is not a due date pipe can keep (years "
                             f"{DUE_YEARS[0]} to {DUE_YEARS[1]}, a time with its offset)")
        return self

    @classmethod
    def parse_stored(cls, text: str) -> "Due":
        """A stored due: YYYY-MM-DD, or an ISO date-time with its offset (ValueError)."""
        if len(text) == 10:
            return cls(date.fromisoformat(text))
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{text!r} has no UTC offset")
        return cls(moment.date(), moment)

    def stored(self) -> str:
        return self.day.isoformat() if self.moment is None else \
            self.moment.isoformat(timespec="seconds")

    def overdue(self, at: datetime) -> bool:
        """Past due at `at` (aware): a day once it has ended in at's time zone."""
        if self.moment is not None:
            return self.moment < at
        return self.day < at.date()

    def local_day(self, zone: tzinfo | None = None) -> date:
        """The day it is due in a time zone (local time by default): a moment written in
        another zone may fall on another day here."""
        return self.day if self.moment is None else self.moment.astimezone(zone).date()

    def __str__(self) -> str:
        """For people: the day, or the moment in local time (a colleague's 14:00 in New
        York is due at 19:00 in London)."""
        if self.moment is None:
            return self.day.isoformat()
        return self.moment.astimezone().strftime("%Y-%m-%d %H:%M")


DUE_YEARS = (1900, 9998)


@dataclass(frozen=True)
class Event:
    """One immutable change in a deal's life, as the log holds it.

    `sets` maps each field the event sets to its stored text ("" clears it); `at` is when
    it took effect (--at, or the moment it was recorded); `recorded` orders events totally
    (UTC, microseconds, strictly increasing per writer); `prev` is the deal's latest event
    as the writer saw it, so two writers changing one deal at once can be detected."""

    id: str
    deal_id: str
    at: datetime
    kind: Kind
    recorded: str = ""
    sets: dict = field(default_factory=dict, hash=False, compare=True)
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    prev: str = ""
    target: str = ""  # the event an undone/redone event reverts
    note: str = ""
    batch: str = ""  # the first event of the command that recorded it ("" = that one)

    @property
    def group(self) -> str:
        """The command this event came from (its first event's id): what undo takes back."""
        return self.batch or self.id

    @property
    def order(self) -> tuple:
        """Recording order: what `pipe log` and `pipe undo` go by."""
        return (self.recorded, self.id)
