"""Long output on a terminal goes through a pager, as git's does: `$PIPE_PAGER`, else
`$PAGER`, else `less -FRX` (-F: quit at once when it fits on one screen, so short output
reads as if there were no pager; -R: keep colours; -X: leave it on the screen). Never when
stdout is not a terminal (a pipe, a file, cron), never for commands that write or ask, and
never with `--no-pager` anywhere on the line or an empty `PIPE_PAGER`."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

# Commands whose output is read, not acted on (and which never ask a question).
PAGED = frozenset({"list", "show", "log", "report", "forecast", "stale", "next", "board",
                   "customers", "costs", "agenda", "digest", "stages", "templates", "help"})
FLAG = "--no-pager"


def wanted(args: list[str]) -> tuple[list[str], bool]:
    """The arguments without --no-pager, and whether this command's output may be paged."""
    rest = [a for a in args if a != FLAG]
    if len(rest) != len(args):
        return rest, False
    command = next((a for a in rest if not a.startswith("-")), None)
    return rest, command in PAGED and sys.stdout.isatty() and not os.environ.get("CI")


def command_line() -> list[str] | None:
    """The pager to run, or None (none configured, or `less` is not installed)."""
    if "PIPE_PAGER" in os.environ:
        chosen = os.environ["PIPE_PAGER"].strip()
    else:
        chosen = os.environ.get("PAGER", "").strip()
    if not chosen:
        if "PIPE_PAGER" in os.environ or "PAGER" in os.environ:
            return None  # set but empty: no pager, as asked
        return ["less", "-FRX"] if shutil.which("less") else None
    try:
        words = shlex.split(chosen)
    except ValueError:
        return None
    return words if words and shutil.which(words[0]) else None


class _ToPager(io.TextIOWrapper):
    """The pager's stdin, seen by Rich as the terminal it stands for."""

    def isatty(self) -> bool:
        return True


@contextmanager
def paged() -> Iterator[None]:
    """Send stdout through the pager for the block (stderr stays on the terminal, so an
    error is seen at once)."""
    line = command_line()
    if line is None:
        yield
        return
    size = shutil.get_terminal_size()
    env = dict(os.environ)
    if line[0].endswith("less") and "LESS" not in env:
        env["LESS"] = "FRX"  # as git does: quit when it fits, keep colours, keep the screen
    # Rich sizes its tables from these; the pager's pipe has no size of its own.
    os.environ.setdefault("COLUMNS", str(size.columns))
    os.environ.setdefault("LINES", str(size.lines))
    try:
        pager = subprocess.Popen(line, stdin=subprocess.PIPE, env=env)
    except OSError:
        yield
        return
    real = sys.stdout
    sys.stdout = _ToPager(pager.stdin, encoding="utf-8", errors="replace",
                          line_buffering=False)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
            sys.stdout.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader quit the pager early: not an error
        sys.stdout = real
        pager.wait()
