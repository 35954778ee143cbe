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
    nothing rather than printing into the user's command line. Bash inserts a value as it
    is, so there a space or quote in it is escaped ("Ava\\ Smith")."""
    def complete(ctx: typer.Context, incomplete: str):
        try:
            items = list(produce(ctx, incomplete))[:MAX_ITEMS]
        except Exception:  # noqa: BLE001 - completion must never break the shell
            return []
        if os.environ.get(COMPLETE_VAR, "").endswith("bash"):
            items = [_escaped(i) for i in items]
        return items
    return complete


def _escaped(item):
    import re

    value, help_ = (item, None) if isinstance(item, str) else item
    value = re.sub(r"""([\s'"\\$`!&;|<>()*?\[\]#~{}])""", r"\\\1", value)
    return value if help_ is None else (value, help_)


@_quietly
def deals(ctx, incomplete: str) -> Iterator[tuple[str, str]]:
    """Deal ids starting with what was typed (newest change first), each with its name;
    when no id does, the names that start with it (a name is a DEAL too)."""
    from pipecli.store import open_store

    ws = _workspace(ctx)
    needle = incomplete.lower()
    with open_store(ws.store_path).read() as snap:
        rows = snap.conn.execute(
            "SELECT id, name FROM deals WHERE id >= ? AND id < ? ORDER BY updated_s DESC "
            "LIMIT ?", (needle, needle + "\x7f", MAX_ITEMS)).fetchall()
        if rows or not needle:
            yield from rows
            return
        names = snap.conn.execute(
            "SELECT name, id FROM deals WHERE lower(name) >= ? AND lower(name) < ? "
            "ORDER BY name LIMIT ?", (needle, needle + "\U0010ffff", MAX_ITEMS)).fetchall()
    for name, deal_id in names:
        # The shell keeps only what starts with the typed text, as typed: the name is
        # offered in the case typed so far (a name matches ignoring case).
        yield incomplete + name[len(incomplete):], deal_id


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


def deals_then_stages(ctx, incomplete: str) -> Iterator[tuple[str, str]]:
    """`pipe move DEAL... STAGE`: after a first deal, the stage keys, then more deals."""
    if ctx is not None and ctx.params.get("deals"):
        yield from stages(ctx, incomplete)
    yield from deals(ctx, incomplete)


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
