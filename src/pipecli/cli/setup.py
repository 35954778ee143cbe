"""Setting up: pipe init, pipe templates, pipe stages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipecli.cli.common import (FileOpt, FormatOpt, PipelineOpt, StoreKind, format_name, say,
                                workspace, app)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(metavar="[DIR]",
                                           help="Folder for the pipeline (default: here).")]
    = Path("."),
    *,
    template: Annotated[str, typer.Option("--template", "-t", help="Template name; see "
                                          "`pipe templates`.")] = "b2b-pipeline",
    store: Annotated[StoreKind, typer.Option("--store", help="Store kind: csv (for git) or "
                                             "sqlite.")] = StoreKind.csv,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing pipeline.yaml "
                                        "(an existing store is kept).")] = False,
) -> None:
    """Start a pipeline: write pipeline.yaml from a template and an empty deal store.

    Example: pipe init --template b2b-pipeline --store csv
    """
    from pipecli.scaffold import init_workspace

    result = init_workspace(folder, template, store.value, force=force)
    say(f"Wrote {result.pipeline_file} from template {template}.")
    if result.kept_store:
        say(f"Kept the existing store {result.store_files[0]}.")
    else:
        say("Created an empty store: " + ", ".join(str(p) for p in result.store_files) + ".")
    for helper in result.helper_files:
        say(f"Added pipe's entries to {helper}.")
    say("Next: pipe add \"Deal name\" --value 5000")


@app.command()
def templates(*, fmt: FormatOpt = None) -> None:
    """List the pipeline templates `pipe init` can start from.

    Example: pipe templates
    """
    from pipecli.output import render, views
    from pipecli import scaffold

    render.emit(views.templates_view(scaffold.template_pipelines()), format_name(fmt))


@app.command()
def stages(*, file: FileOpt = None, pipeline: PipelineOpt = None, fmt: FormatOpt = None) -> None:
    """Show the pipeline's stages: keys, probabilities, groups and entry rules.

    Example: pipe stages -p marketing
    """
    from pipecli.output import render, views

    render.emit(views.stages_view(workspace(file).pipeline(pipeline)), format_name(fmt))


# -- the deal lifecycle -------------------------------------------------------------------------


@app.command()
def check(
    *,
    fix: Annotated[bool, typer.Option("--fix", help="Append back events a git checkout or "
                                      "reset lost (the index had seen them), and rebuild the "
                                      "index. The log is never rewritten.")] = False,
    file: FileOpt = None,
) -> None:
    """Validate the pipeline file and the whole store: unreadable or torn log lines, events
    the log lost, clashes between branches (won on one, lost on the other; two moves from the
    same change), deals at stages the file does not define. Exit 0 when clean, 1 otherwise —
    fit for a pre-commit hook or CI.

    Example: pipe check --fix
    """
    from pipecli import check as checking
    from pipecli.output import render
    from pipecli.errors import CheckFailed, InvalidConfig
    from pipecli.pipeline import find_pipeline_file, load_workspace
    from pipecli.store import open_store

    path = find_pipeline_file(str(file) if file else None)
    try:
        ws = load_workspace(path)
    except InvalidConfig as e:
        for problem in e.problems:
            render.out(str(problem))
        raise CheckFailed(f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} "
                          f"in {path.name}; the store was not checked") from None
    store = open_store(ws.store_path)
    result = checking.check_store(ws, store)
    if fix and result.missing:
        appended = checking.fix_store(store, result)
        render.out(f"fixed: appended {appended} lost event{'s' if appended != 1 else ''} back "
                   f"to the log")
        result = checking.check_store(ws, store)
    for finding in result.findings:
        render.out(str(finding) + (" (pipe check --fix repairs this)" if finding.fixable
                                   else ""))
    if result.findings:
        n, m = len(result.findings), len(result.fixable)
        raise CheckFailed(f"{n} problem{'s' if n != 1 else ''}"
                          + (f", {m} repairable with --fix" if m and not fix else ""))
    say(f"{path.name} and its store are consistent.")


@app.command()
def upgrade(*, file: FileOpt = None) -> None:
    """Convert a store of pipe's earlier layout (deals.csv + deals.history.csv, or an SQLite
    store of version 1 or 2) to the event log; the old files are kept as a backup, and the
    pipeline file's `store:` is updated. Reports are the same before and after.

    Example: pipe upgrade
    """
    from pipecli.pipeline import find_pipeline_file
    from pipecli.upgrade import upgrade_workspace

    result = upgrade_workspace(find_pipeline_file(str(file) if file else None))
    say(result)


@app.command()
def completion(
    shell: Annotated[str, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")],
) -> None:
    """Print the shell completion script: commands, options, stage keys, pipeline names,
    owners and deal ids (with their names) complete from the workspace.

    Example: pipe completion bash > ~/.local/share/bash-completion/completions/pipe
    """
    from pipecli.cli import completion as shell_completion
    from pipecli.errors import UsageError
    from pipecli.output import render

    if shell not in shell_completion.SHELLS:
        raise UsageError(f"SHELL must be one of {', '.join(shell_completion.SHELLS)}, not "
                         f"{shell[:40]!r}")
    render.out(shell_completion.script(shell))


@app.command()
def manpage() -> None:
    """Print the man page (roff): every command and option, environment and exit codes.

    Example: pipe manpage > ~/.local/share/man/man1/pipe.1
    """
    from importlib import resources

    from pipecli.errors import PipeError
    from pipecli.output import render

    try:
        page = resources.files("pipecli.docs").joinpath("pipe.1").read_text("utf-8")
    except OSError:  # a copy installed without its package data
        raise PipeError("this copy of pipe was installed without its man page") from None
    render.write(page)


@app.command("help")
def help_(
    topic: Annotated[str, typer.Argument(metavar="[TOPIC]", help="A topic; none lists them.")]
    = "",
) -> None:
    """Print pipe's documentation, as installed: the figures (metrics), the pipeline file
    (yaml), JSON output (json), import and export (import), the store (store), the
    commands and dates (cli), exit codes (exit-codes), reliability, benchmarks.

    Example: pipe help metrics | less
    """
    from pipecli import scaffold
    from pipecli.output import render

    if not topic:
        render.out("Topics: " + ", ".join(scaffold.HELP_TOPICS) + " (pipe help TOPIC); "
                   "each command's options: pipe COMMAND -h; all of it as a man page: "
                   "pipe manpage")
        return
    render.out(scaffold.help_text(topic).rstrip("\n"))
