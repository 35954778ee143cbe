"""Long output on a terminal goes through the pager; never when piped, nor with
--no-pager, nor for a command that writes. Run in a real pseudo-terminal, with a pager
that records what it was given."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
needs_script = pytest.mark.skipif(not (BIN / "pipe").exists(), reason="needs the pipe script")


def in_terminal(args: list[str], folder: Path, pager: str | None) -> tuple[str, str]:
    """(what the terminal showed, what the pager was given) for `pipe ARGS` run in a pty."""
    got = folder / "paged.txt"
    got.unlink(missing_ok=True)
    recorder = folder / "pager.py"
    recorder.write_text(f"import sys\nopen({str(got)!r}, 'w').write(sys.stdin.read())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PIPE_PAGER", "PAGER", "CI")}
    env.update(COLUMNS="100", LINES="20", PIPE_FILE=str(folder / "pipeline.yaml"))
    if pager is not None:
        env["PIPE_PAGER"] = pager.replace("RECORDER", f"{sys.executable} {recorder}")
    main, child = pty.openpty()
    process = subprocess.Popen([str(BIN / "pipe"), *args], stdin=child, stdout=child,
                               stderr=child, env=env, cwd=folder, close_fds=True)
    os.close(child)
    shown = b""
    while True:
        ready, _, _ = select.select([main], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=30)
    os.close(main)
    return shown.decode("utf-8", "replace"), got.read_text() if got.exists() else ""


@needs_script
def test_a_terminal_pages_read_commands_only(run, workspace):
    for i in range(30):
        assert run("add", f"Deal {i:02d}", "--value", str(100 + i)).code == 0
    shown, paged = in_terminal(["list"], workspace, "RECORDER")
    assert "Deal 29" in paged and "Deal 29" not in shown
    shown, paged = in_terminal(["list", "--no-pager"], workspace, "RECORDER")
    assert "Deal 29" in shown and paged == ""
    shown, paged = in_terminal(["help", "exit-codes"], workspace, "RECORDER")
    assert "Exit codes" in paged
    shown, paged = in_terminal(["add", "Another"], workspace, "RECORDER")
    assert paged == "" and "Another" in shown
    shown, paged = in_terminal(["list"], workspace, "")  # PIPE_PAGER empty: no pager
    assert "Deal 29" in shown and paged == ""


def test_piped_output_is_never_paged(run, workspace, monkeypatch):
    monkeypatch.setenv("PIPE_PAGER", "false")  # would fail the command if it ran
    assert run("add", "Acme").code == 0
    listed = run("list")
    assert listed.code == 0 and "Acme" in listed.out
    assert run("list", "--no-pager").code == 0
