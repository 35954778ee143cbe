"""Domain exceptions. Each carries its exit code; only cli.main turns them into exits."""

from __future__ import annotations

from dataclasses import dataclass


class PipeError(Exception):
    """A failure the user can act on: one sentence on stderr, a non-zero exit code."""

    exit_code = 1
    label = "error"  # printed as `pipe: LABEL: message`


class UsageError(PipeError):
    """The command line itself is wrong (a bad flag value, a missing argument)."""

    exit_code = 2


class NotFound(PipeError):
    """A deal, stage, pipeline or template that does not exist."""


class Ambiguous(PipeError):
    """A DEAL reference that matches more than one deal."""


class RuleViolation(PipeError):
    """A lifecycle rule forbids the change (missing required field, closed deal, ...)."""


class StoreBusy(PipeError):
    """Another pipe process held the store lock longer than the wait allows."""


class StoreError(PipeError):
    """The store cannot be read or written (corrupt file, wrong format, I/O error)."""


@dataclass(frozen=True)
class Problem:
    """One validation finding, located in a file (line 0 when the whole file is at fault)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class InvalidConfig(PipeError):
    """The pipeline YAML has one or more mistakes; all of them are reported."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CostsRejected(InvalidConfig):
    """The costs file of `pipe costs` has bad rows; every one is reported, with its line."""


class AttentionNeeded(PipeError):
    """`pipe stale --fail` found deals to act on: exit 3, so cron can raise an alert."""

    exit_code = 3
    label = "attention"


class CheckFailed(PipeError):
    """`pipe check` found problems (listed on stdout)."""

    label = "check"


class ImportRejected(PipeError):
    """An import stopped before writing anything (rejected rows, unknown stages)."""
