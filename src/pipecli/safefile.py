"""Writing files in a workspace that may be hostile: a name a repository planted as a
symbolic link (to a file outside it) is never written through."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from pipecli.errors import PipeError, UsageError


def write_new(path: Path, text: str) -> None:
    """Create `path` with `text`: whatever stands at that name (a leftover temp file, a
    planted link) is removed first, and the file is created, never followed."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_text(path: Path, text: str) -> None:
    """Replace `path` atomically (a temp file beside it, renamed over it)."""
    if path.is_symlink():
        raise PipeError(f"{path} is a symbolic link; pipe does not write through it")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_new(tmp, text)
    os.replace(tmp, path)


def append_text(path: Path, text: str) -> None:
    """Append to `path` (created if missing), refusing a symbolic link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    except OSError:
        if path.is_symlink():
            raise PipeError(f"{path} is a symbolic link; pipe does not write through it") \
                from None
        raise
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text stream whose content replaces `path` when the block succeeds: written to a
    temp file beside it, synced and renamed over it, so a failure leaves no half file (the
    temp file is removed). A symbolic link standing at the name is replaced, never written
    through. A failure to write is one sentence (UsageError, exit 2)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with open(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

