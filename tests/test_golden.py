"""Golden tests of what a person sees: each command of SCREENS run on the bundled B2B
sample, on a terminal 60, 80 and 120 columns wide, compared whole with its expected file
in tests/golden/ (`report-60.txt`, `list-80.txt`, ...).

    pytest tests/test_golden.py --regen-golden    # rewrite the files from today's output

A change to what pipe shows makes these fail with a unified diff. When the change is
meant, regenerate and read `git diff tests/golden/` as a user at that width would: the
review of that diff is the test of the change. The width rules themselves (nothing cut,
text wraps before optional columns go, a `hidden:` line) have focused tests of their own
in tests/test_width.py.

Adding a command is one line in SCREENS (its files are written by the first
--regen-golden run). The output is what a terminal shows: stdout claims to be a
terminal (so pipe picks its table format and sizes it from COLUMNS), no pager, colours off
(NO_COLOR) and Rich's bold escapes removed, the clock frozen and TZ=UTC (conftest)."""

from __future__ import annotations

import difflib
import io
import re
import shutil
import sys
from pathlib import Path

import pytest

from pipecli.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
WIDTHS = (60, 80, 120)

# name (the files are NAME-WIDTH.txt): the command line after `pipe`.
SCREENS = {
    "report": ["report"],
    "list": ["list"],
    "next": ["next"],
    "stale": ["stale"],
    "forecast": ["forecast"],
    "board": ["board"],
    "agenda": ["agenda"],
    "customers": ["customers"],
    "costs": ["costs"],
}


class _Terminal(io.StringIO):
    """stdout as a terminal: pipe chooses the format a person gets."""

    def isatty(self) -> bool:
        return True


_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # bold: invisible in a text file; other escapes stay


@pytest.fixture
def sample(tmp_path, monkeypatch) -> Path:
    """The B2B sample as README's quick start runs it, copied (its log files only: the local
    index is rebuilt) so that nothing is written to the repository."""
    copy = tmp_path / "sample_pipelines"
    copy.mkdir()
    shutil.copy(ROOT / "sample_pipelines" / "b2b-pipeline.yaml", copy)
    (copy / "data").mkdir()
    shutil.copy(ROOT / "sample_pipelines" / "data" / "b2b-pipeline-costs.csv", copy / "data")
    shutil.copytree(ROOT / "sample_pipelines" / "data" / "b2b-pipeline",
                    copy / "data" / "b2b-pipeline", ignore=shutil.ignore_patterns(".local"))
    monkeypatch.setenv("PIPE_FILE", str(copy / "b2b-pipeline.yaml"))
    return copy


def seen(monkeypatch, args: list[str], width: int) -> str:
    """What `pipe ARGS` shows on a terminal WIDTH columns wide: stdout, then stderr and the
    exit code when there are any."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("LINES", "50")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("PIPE_PAGER", "")  # a terminal, but no pager
    monkeypatch.delenv("CI", raising=False)
    out, err = _Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "argv", ["pipe", *args])
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    text = _STYLE.sub("", out.getvalue())
    if err.getvalue():
        text += "[stderr]\n" + err.getvalue()
    if code:
        text += f"[exit {code}]\n"
    return text


def compare(name: str, actual: str, regen: bool) -> None:
    """Compare with the golden file (or rewrite it); a mismatch fails with a unified diff."""
    path = GOLDEN / f"{name}.txt"
    if regen:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path.name} does not exist yet: run pytest {Path(__file__).name} "
                    f"--regen-golden and review it")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(keepends=True),
                                    actual.splitlines(keepends=True),
                                    f"tests/golden/{path.name} (expected)", "pipe printed")
        pytest.fail("output differs from the golden file (if meant: --regen-golden, then "
                    "review the diff):\n" + "".join(diff), pytrace=False)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(SCREENS))
def test_golden(name, width, sample, monkeypatch, request):
    compare(f"{name}-{width}", seen(monkeypatch, SCREENS[name], width),
            request.config.getoption("--regen-golden"))


def test_every_golden_file_belongs_to_a_screen():
    """A file left behind by a renamed or removed screen would never be compared."""
    expected = {f"{name}-{width}.txt" for name in SCREENS for width in WIDTHS}
    present = {p.name for p in GOLDEN.glob("*.txt")}
    assert present - expected == set(), "golden files no screen produces"
    assert expected - present == set(), "screens without a golden file (--regen-golden)"
