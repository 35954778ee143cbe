"""The bundled pipeline templates and `pipe init`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipecli.errors import NotFound, PipeError, UsageError
from pipecli.models import Pipeline
from pipecli.pipeline import DEFAULT_NAME, parse_workspace
from pipecli.safefile import append_text, replace_text
from pipecli.store import open_store

_STORE_LINE = re.compile(r"^store:.*$", re.MULTILINE)
# A template's `costs:` names the bundled sample's costs file, which a new workspace does
# not have: `pipe init` leaves the line out (docs/pipeline-yaml.md says how to add one).
_COSTS_LINE = re.compile(r"^[ \t]*costs:.*(?:\n|$)", re.MULTILINE)
STORE_FILES = {"csv": "deals", "sqlite": "deals.sqlite"}
GITATTRIBUTES = ("# pipe: text with LF endings, so diffs and merges work line by line; the "
                 "event log's folder carries its own union merge rule\n*.yaml text eol=lf\n"
                 "*.sqlite binary\n")
GITIGNORE = "# pipe: SQLite's transient files\n*.sqlite-wal\n*.sqlite-shm\n*.sqlite-journal\n"


def template_names() -> list[str]:
    """Names of the bundled templates, sorted."""
    folder = resources.files("pipecli.templates")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def template_text(name: str) -> str:
    names = template_names()
    if name not in names:
        raise NotFound(f"no template named {name!r} (templates: {', '.join(names)})")
    return resources.files("pipecli.templates").joinpath(f"{name}.yaml").read_text("utf-8")


def template_pipelines() -> list[tuple[str, Pipeline]]:
    """Each template with its (first) pipeline, for `pipe templates`."""
    out = []
    for name in template_names():
        ws = parse_workspace(template_text(name), Path(f"{name}.yaml"))
        out.append((name, ws.pipelines[0]))
    return out


@dataclass(frozen=True)
class InitResult:
    pipeline_file: Path
    store_files: list[Path]
    kept_store: bool
    helper_files: list[Path]


def init_workspace(folder: Path, template: str, store_kind: str, *, force: bool) -> InitResult:
    """Write pipeline.yaml from a template and an empty store; never destroys deal data."""
    if store_kind not in STORE_FILES:
        raise UsageError(f"--store must be csv or sqlite, not {store_kind!r}")
    text = _STORE_LINE.sub(f"store: {STORE_FILES[store_kind]}", template_text(template), count=1)
    text = _COSTS_LINE.sub("", text)
    target = folder / DEFAULT_NAME
    if target.exists() and not force:
        raise PipeError(f"{target} already exists; pass --force to overwrite it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ws = parse_workspace(text, target)
        store = open_store(ws.store_path)
        kept = store.exists()
        replace_text(target, text)
        if not kept:
            store.create()
        helpers = [p for p in (_ensure_lines(folder / ".gitattributes", GITATTRIBUTES),
                               _ensure_lines(folder / ".gitignore", GITIGNORE)) if p]
    except OSError as e:
        raise PipeError(f"cannot initialise {folder}: {e.strerror}") from None
    return InitResult(target, store.files(), kept, helpers)


def _ensure_lines(path: Path, block: str) -> Path | None:
    """Add the block's lines that the file lacks; returns the path if it changed."""
    if path.is_symlink():
        raise PipeError(f"{path} is a symbolic link; pipe does not write through it")
    existing = path.read_text("utf-8") if path.exists() else ""
    missing = [line for line in block.splitlines()
               if line and not line.startswith("#") and line not in existing.splitlines()]
    if not missing:
        return None
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    comment = block.splitlines()[0]
    append_text(path, prefix + comment + "\n" + "\n".join(missing) + "\n")
    return path


# `pipe help TOPIC`: topic → (file in pipecli.docs, section heading or None for all of it)
HELP_TOPICS = {
    "cli": ("cli.md", None), "dates": ("cli.md", "Values"), "exit-codes": ("cli.md", "Exit codes"),
    "metrics": ("metrics.md", None), "yaml": ("pipeline-yaml.md", None),
    "json": ("json.md", None), "import": ("import.md", None), "store": ("store.md", None),
    "reliability": ("reliability.md", None), "benchmarks": ("benchmarks.md", None),
}


def help_text(topic: str) -> str:
    """The installed documentation of a topic (a whole file, or one of its sections)."""
    key = topic.strip().lower().replace("_", "-").replace(" ", "-")
    key = {"exit": "exit-codes", "exitcodes": "exit-codes", "pipeline": "yaml",
           "pipeline-yaml": "yaml", "export": "import"}.get(key, key)
    if key not in HELP_TOPICS:
        raise NotFound(f"no help topic {topic[:40]!r} (topics: {', '.join(HELP_TOPICS)})")
    name, section = HELP_TOPICS[key]
    text = resources.files("pipecli.docs").joinpath(name).read_text("utf-8")
    if section is None:
        return text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line == f"## {section}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "\n".join(lines[start:end]).rstrip() + "\n"
