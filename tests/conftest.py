"""Shared fixtures: every test gets its own folder, a frozen clock, UTC, and a fixed width."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipecli.cli import main

NOW = "2026-11-20T10:00:00+00:00"


def pytest_addoption(parser):
    """`pytest --regen-golden` rewrites tests/golden/ from what pipe prints now (test_golden)."""
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="rewrite the expected files of tests/golden/ instead of comparing "
                          "(then review the diff)")


PIPELINE_YAML = """\
name: sales
label: Test sales
kind: b2b
currency: USD
store: {store}
lost_reasons:
  - price
  - chose another vendor
stages:
  - key: prospecting
    label: Prospecting
    probability: 10
    group: tofu
    rot_days: 14
  - key: qualification
    label: Qualification
    probability: 20
    requires: [email]
  - key: proposal
    label: Proposal
    probability: 60
  - key: won
    label: Closed won
    probability: 100
    outcome: won
  - key: lost
    label: Closed lost
    probability: 0
    outcome: lost
  - key: post_purchase
    label: Post-purchase
    probability: 100
    outcome: won
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """A private folder and a frozen clock in UTC for every test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIPE_NOW", NOW)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("PIPE_DEBUG", "1")  # a bug surfaces as its traceback, not a message
    monkeypatch.setenv("PIPE_OWNER", "")  # new deals belong to nobody, not to git's user
    for name in ("PIPE_FILE", "PIPE_PIPELINE", "PIPE_LOCK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def run(monkeypatch):
    """Run `pipe ARGS...` in-process through the real entry point; returns code/out/err."""

    def _run(*args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "argv", ["pipe", *args])
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        return Result(code, out.getvalue(), err.getvalue())

    return _run


@pytest.fixture(params=["csv", "sqlite"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def workspace(tmp_path, backend) -> Path:
    """A folder with the test pipeline and an empty store of the backend under test."""
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store))
    return tmp_path


class _OneMonth(datetime):
    """Log files are named by the month of recording, from the real clock."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc).astimezone(tz)


@pytest.fixture
def one_month(monkeypatch):
    """Fix the month log files are named by, so a test that runs across a month's end
    still sees one file per writer."""
    from pipecli.store import logstore

    monkeypatch.setattr(logstore, "datetime", _OneMonth)


def store_digest(folder: Path) -> dict[str, str]:
    """Hashes of every store file in a folder (the log files of an event-log folder, an
    SQLite store and its WAL), to prove a command changed nothing. The log folder's local
    index is a cache and not part of the store."""
    files = [p for p in sorted(folder.iterdir())
             if p.suffix in (".sqlite",) or p.name.endswith((".sqlite-wal",))]
    log = folder / "deals"
    if log.is_dir():
        files += [p for p in sorted(log.iterdir()) if p.suffix == ".csv"]
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


def add(run, *args) -> str:
    """`pipe add ARGS...` that must succeed; returns the new id."""
    result = run("add", *args)
    assert result.code == 0, result.err
    return result.out.strip()


def everything(run, ids=()) -> dict:
    """All a user can see of a store: deals, report, log, and each deal with its history."""
    seen = {"list": run("list", "--status", "all", "-o", "json").json(),
            "report": run("report", "-o", "json").json(),
            "log": run("log", "-n", "100", "-o", "json").json()}
    for deal_id in ids:
        seen[deal_id] = run("show", deal_id, "-o", "json").json()
    return seen
