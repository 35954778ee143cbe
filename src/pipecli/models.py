"""The domain's values: pipelines, stages, deals and history events. Frozen, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

OPEN, WON, LOST = "open", "won", "lost"
STATUSES = (OPEN, WON, LOST)

# Deal fields a stage may list under `requires`, and `pipe edit` may change.
EDITABLE_FIELDS = ("name", "value", "probability", "company", "contact", "email",
                   "owner", "source", "close_date", "tags")
REQUIRABLE_FIELDS = ("value", "company", "contact", "email", "owner", "source", "close_date")

EVENT_KINDS = ("created", "moved", "won", "lost", "reopened", "edited", "deleted",
               "handed_off", "returned", "undone")


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

    def with_changes(self, **changes) -> "Deal":
        return replace(self, **changes)

    def is_set(self, name: str) -> bool:
        value = getattr(self, name)
        return value not in (None, "", ())


DEAL_FIELDS = tuple(f.name for f in fields(Deal))


@dataclass(frozen=True)
class Event:
    """One change in a deal's life. stage/status/value are the deal's state after it."""

    deal_id: str
    seq: int
    at: datetime
    kind: str
    pipeline: str
    stage: str
    status: str
    value: Decimal | None = None
    reason: str = ""
    changes: dict = field(default_factory=dict, hash=False, compare=True)
    note: str = ""
