"""Shell completion: `pipe completion bash|zsh|fish` prints the script, and these functions
complete what only the workspace knows — deal ids (with their names), stage keys,
pipeline names, owners. Each reads the pipeline file and one indexed query, and never
fails: a completion that cannot be computed offers nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import typer

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_PIPE_COMPLETE"
MAX_ITEMS = 50


def script(shell: str) -> str:
    """The completion script for a shell (Typer's, with pipe's names)."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="pipe", complete_var=COMPLETE_VAR, shell=shell)


def enable() -> None:
    """Register Typer's completion classes (done before click looks at COMPLETE_VAR)."""
    from typer.completion import completion_init

    completion_init()


def completing() -> bool:
    return COMPLETE_VAR in os.environ


def _workspace(ctx):
    from pipecli.pipeline import find_pipeline_file, load_workspace

    root = ctx.find_root() if ctx is not None else None
    file = None
    for c in (ctx, root):
        if c is not None and c.params.get("file"):
            file = c.params["file"]
    return load_workspace(find_pipeline_file(str(file) if file else None))


def _quietly(produce):
    """Run a completion; anything going wrong (no pipeline file, a busy store) offers
    nothing rather than printing into the user's command line."""
    def complete(ctx: typer.Context, incomplete: str):
        try:
            return list(produce(ctx, incomplete))[:MAX_ITEMS]
        except Exception:  # noqa: BLE001 - completion must never break the shell
            return []
    return complete


@_quietly
def deals(ctx, incomplete: str) -> Iterator[tuple[str, str]]:
    """Deal ids starting with what was typed (newest change first), each with its name;
    then deals whose name starts with it."""
    from pipecli.store import open_store

    ws = _workspace(ctx)
    needle = incomplete.lower()
    with open_store(ws.store_path).read() as snap:
        rows = snap.conn.execute(
            "SELECT id, name FROM deals WHERE id >= ? AND id < ? ORDER BY updated_s DESC "
            "LIMIT ?", (needle, needle + "\x7f", MAX_ITEMS)).fetchall()
        if needle and len(rows) < MAX_ITEMS:
            rows += snap.conn.execute(
                "SELECT id, name FROM deals WHERE lower(name) >= ? AND lower(name) < ? "
                "LIMIT ?", (needle, needle + "\x7f", MAX_ITEMS)).fetchall()
    seen = set()
    for deal_id, name in rows:
        if deal_id not in seen:
            seen.add(deal_id)
            yield deal_id, name


@_quietly
def stages(ctx, incomplete: str) -> Iterator[tuple[str, str]]:
    """Stage keys of the chosen pipeline (or every pipeline's), with their labels."""
    ws = _workspace(ctx)
    chosen = ctx.params.get("pipeline") if ctx is not None else None
    pipelines = [ws.pipeline(chosen)] if chosen else ws.pipelines
    seen = set()
    for p in pipelines:
        for s in p.stages:
            if s.key.startswith(incomplete.lower()) and s.key not in seen:
                seen.add(s.key)
                yield s.key, s.label


@_quietly
def pipelines(ctx, incomplete: str) -> Iterator[tuple[str, str]]:
    for p in _workspace(ctx).pipelines:
        if p.name.startswith(incomplete.lower()):
            yield p.name, p.label


@_quietly
def owners(ctx, incomplete: str) -> Iterator[str]:
    from pipecli.store import open_store

    ws = _workspace(ctx)
    with open_store(ws.store_path).read() as snap:
        for (owner,) in snap.conn.execute(
                "SELECT DISTINCT owner FROM deals WHERE owner != '' AND owner >= ? AND "
                "owner < ? ORDER BY owner LIMIT ?", (incomplete, incomplete + "\U0010ffff",
                                                    MAX_ITEMS)):
            yield owner
