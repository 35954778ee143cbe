"""The store interface: what every backend (CSV, SQLite, later a server database) offers.

Reads go through a Snapshot (a consistent view); writes through a Transaction, which
commits all of its changes at once or none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Iterable, Iterator

from pipecli.models import Deal, Event


@dataclass(frozen=True)
class DealFilter:
    """Which deals to read. Empty fields match everything; text matches ignore case."""

    pipeline: str | None = None
    statuses: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    owner: str | None = None
    source: str | None = None
    tag: str | None = None

    def matches(self, deal: Deal) -> bool:
        return ((self.pipeline is None or deal.pipeline == self.pipeline)
                and (not self.statuses or deal.status in self.statuses)
                and (not self.stages or deal.stage in self.stages)
                and (self.owner is None or deal.owner.lower() == self.owner.lower())
                and (self.source is None or deal.source.lower() == self.source.lower())
                and (self.tag is None or self.tag.lower() in (t.lower() for t in deal.tags)))


class Snapshot(ABC):
    """A consistent read-only view of the store."""

    @abstractmethod
    def deals(self, where: DealFilter = DealFilter()) -> Iterator[Deal]:
        """Current deals matching the filter, in id order."""

    @abstractmethod
    def get(self, deal_id: str) -> Deal | None:
        """The deal with exactly this id."""

    @abstractmethod
    def lookup(self, ref: str) -> list[Deal]:
        """Deals a reference may mean (see lookup_in for the rule)."""

    @abstractmethod
    def events(self, deal_id: str | None = None) -> Iterator[Event]:
        """History events, ordered by deal id then sequence number."""


class Transaction(Snapshot):
    """A snapshot that also takes changes; they land together when the block exits cleanly."""

    @abstractmethod
    def record(self, event: Event, deal: Deal | None) -> None:
        """Append event to the history and store deal as current (None deletes it)."""

    @abstractmethod
    def last_event(self, deal_id: str) -> Event | None:
        """The deal's latest event (the next one gets seq + 1)."""

    @abstractmethod
    def taken_ids(self) -> Iterable[str]:
        """Every id in use now or in the history (ids are never reused)."""


class Store(ABC):
    """A deal store. Opening it touches nothing; reading or writing does."""

    kind: str

    @abstractmethod
    def read(self) -> AbstractContextManager[Snapshot]:
        ...

    @abstractmethod
    def write(self) -> AbstractContextManager[Transaction]:
        ...

    @abstractmethod
    def create(self) -> None:
        """Create an empty store; the caller has checked none exists."""

    @abstractmethod
    def exists(self) -> bool:
        ...

    @abstractmethod
    def files(self) -> list:
        """The files that make up the store (for init's refusal to overwrite, and tests)."""

    @abstractmethod
    def scan(self) -> "Scan":
        """Read everything leniently for `pipe check`: never stop at the first problem."""

    @abstractmethod
    def replace_all(self, deals: list[Deal], events: list[Event]) -> None:
        """Atomically replace the whole content (for `pipe check --fix`)."""


def lookup_in(deals: Iterable[Deal], ref: str) -> list[Deal]:
    """Shared resolution rule: an exact id wins; otherwise every deal whose id starts with
    the reference or whose name equals it (ignoring case). More than one is ambiguous."""
    needle = ref.strip().lower()
    if not needle:
        return []
    found = []
    for d in deals:
        if d.id == needle:
            return [d]
        if d.id.startswith(needle) or d.name.lower() == needle:
            found.append(d)
    return found


@dataclass(frozen=True)
class Finding:
    """A problem `pipe check` reports: where, what, and whether --fix can repair it."""

    where: str  # "path:line" or "path: deal <id>"
    message: str
    fixable: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Scan:
    """Everything a store holds, read leniently: rows that parse, and findings for the rest."""

    deals: list[tuple[str, Deal]]
    events: list[tuple[str, Event]]
    findings: list[Finding]
    unreadable: bool = False  # some row could not be parsed: a rewrite would lose it
