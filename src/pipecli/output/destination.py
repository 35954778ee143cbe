"""Where a read command's output goes: stdout, or with --output a file written whole or
not at all (a temp file beside it, renamed over it; a symbolic link standing at the name
is replaced, never written through — as `pipe export --output` writes)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Iterator

from pipecli.errors import UsageError


def write_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically; a failure leaves no half file and is one
    sentence (exit 2)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with open(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
