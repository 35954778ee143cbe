"""Where a read command's output goes: stdout, or with --output a file written whole or
not at all (a temp file beside it, renamed over it; a symbolic link standing at the name
is replaced, never written through — as `pipe export --output` writes)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Iterator



def write_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (safefile.replacing); a failure leaves no half
    file and is one sentence (exit 2)."""
    from pipecli.safefile import replacing

    with replacing(path) as out:
        out.write(text)


@contextlib.contextmanager
def output_to(path: Path | None) -> Iterator[None]:
    """Everything printed inside goes to `path` (when given) once the block succeeds;
    nothing is written when it fails."""
    if path is None:
        yield
        return
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        yield
    write_file(path, captured.getvalue())


def format_for(fmt: str | None, path: Path | None) -> str | None:
    """The output format: the one asked for; else, writing to a file, html for a name
    ending in .html or .htm and plain for any other (a file is not a terminal); else
    None (render decides: table on a terminal, plain otherwise)."""
    if fmt or path is None:
        return fmt
    return "html" if path.suffix.lower() in (".html", ".htm") else "plain"


def emit_value(value, fmt: str | None, path: Path | None, page: str, document: str) -> None:
    """A command's value as a page (-o html, or a .html --output) or as a Document in any
    other format, to stdout or `path`. `page` and `document` name their functions as
    "module:function", imported only on their own path (no HTML module loads for another
    format)."""
    from pipecli.output import render

    def load(where: str):
        # __import__, as an import statement does (-X importtime sees it: test_startup)
        module, _, function = where.partition(":")
        return getattr(__import__(module, fromlist=[function]), function)

    name = format_for(fmt, path)
    with output_to(path):
        if name == "html":
            render.write(load(page)(value))
        else:
            render.emit_document(load(document)(value), name)
