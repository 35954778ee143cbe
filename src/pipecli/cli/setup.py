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
    from pipecli import render, scaffold, views

    render.emit(views.templates_view(scaffold.template_pipelines()), format_name(fmt))


@app.command()
def stages(*, file: FileOpt = None, pipeline: PipelineOpt = None, fmt: FormatOpt = None) -> None:
    """Show the pipeline's stages: keys, probabilities, groups and entry rules.

    Example: pipe stages -p marketing
    """
    from pipecli import render, views

    render.emit(views.stages_view(workspace(file).pipeline(pipeline)), format_name(fmt))


# -- the deal lifecycle -------------------------------------------------------------------------
