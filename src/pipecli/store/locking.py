"""The one lock a file store's writers (and catching-up readers) take: flock on a file in
the store's local folder, waited for up to PIPE_LOCK_TIMEOUT seconds."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipecli.errors import StoreBusy


def lock_timeout() -> float:
    """Seconds to wait for another pipe process to finish: PIPE_LOCK_TIMEOUT, default 10."""
    raw = os.environ.get("PIPE_LOCK_TIMEOUT", "10")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 10.0


def busy(name: str) -> StoreBusy:
    return StoreBusy(f"the store {name} is busy: another pipe command held it for more than "
                     f"{lock_timeout():g} s (PIPE_LOCK_TIMEOUT sets the wait)")


@contextmanager
def flocked(path: Path, *, exclusive: bool, name: str) -> Iterator[int]:
    """Hold a lock on `path` (created if needed, never through a symlink)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        from pipecli.errors import StoreError

        raise StoreError(f"cannot open the lock file {path}: {e.strerror}") from None
    try:
        acquire(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, name)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def acquire(fd: int, mode: int, name: str) -> None:
    import fcntl

    deadline = time.monotonic() + lock_timeout()
    delay = 0.002
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise busy(name) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
