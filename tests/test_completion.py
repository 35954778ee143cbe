"""Shell completion, run as a shell runs it: bash sources `pipe completion bash`, then its
completion function is called with COMP_WORDS as bash would set them, and COMPREPLY must
hold the workspace's stage keys and deal ids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
needs_bash = pytest.mark.skipif(shutil.which("bash") is None or not (BIN / "pipe").exists(),
                                reason="needs bash and the installed pipe script")


def complete(workspace: Path, line: str) -> list[str]:
    """COMPREPLY for the command line `line` (completing its last word)."""
    words = line.split(" ")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PIPE_FILE": str(workspace / "pipeline.yaml")}
    env.pop("PIPE_NOW", None)
    program = (f'source <(pipe completion bash)\n'
               f'COMP_WORDS=({" ".join(repr(w) for w in words)})\n'
               f'COMP_CWORD={len(words) - 1}\n'
               f'_pipe_completion pipe\n'
               f'printf "%s\\n" "${{COMPREPLY[@]}}"\n')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return [w for w in done.stdout.splitlines() if w]


@needs_bash
def test_bash_completes_commands_stages_and_deals(run, workspace):
    acme = run("add", "Acme", "--owner", "ann").out.strip()
    beta = run("add", "Beta").out.strip()
    assert "move" in complete(workspace, "pipe mo")
    assert set(complete(workspace, "pipe move ")) >= {acme, beta}
    assert complete(workspace, f"pipe move {acme[:3]}") == [acme] or \
        acme in complete(workspace, f"pipe move {acme[:3]}")
    stages = complete(workspace, f"pipe move {acme} ")
    assert stages[:3] == ["prospecting", "qualification", "proposal"]
    assert complete(workspace, "pipe add X --stage pro") == ["prospecting", "proposal"]
    assert complete(workspace, "pipe report --owner ") == ["ann"]
    assert complete(workspace, "pipe report -p ") == ["sales"]
    assert "--value" in complete(workspace, "pipe add X --va")


def test_completion_script_for_each_shell_and_a_refusal(run):
    for shell in ("bash", "zsh", "fish"):
        result = run("completion", shell)
        assert result.code == 0 and "_PIPE_COMPLETE" in result.out
    refused = run("completion", "tcsh")
    assert refused.code == 2 and "SHELL must be one of bash, zsh, fish" in refused.err


@needs_bash
def test_bash_completes_names_and_owners_with_spaces_escaped(run, workspace):
    acme = run("add", "Northwind – Annual licence", "--owner", "Ava Smith").out.strip()
    assert complete(workspace, "pipe show nor") == ["nor" + "thwind\\ –\\ Annual\\ licence"]
    assert complete(workspace, "pipe report --owner Av") == ["Ava\\ Smith"]
    assert complete(workspace, "pipe list --owner Av") == ["Ava\\ Smith"]
    shown = run("show", "northwind – Annual licence", "-o", "json").json()
    assert shown["id"] == acme
