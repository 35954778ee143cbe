"""The file store: an append-only event log in CSV files that git merges without conflict,
and a disposable SQLite index beside it.

For `store: deals` the folder holds:

  deals/2026-11-k3m9x2ab.csv   log files: one per writer (a clone) per month of recording;
                               only that writer ever appends to it, a line per event
  deals/.gitattributes         merge=union for the log files (two branches of one clone)
  deals/.local/                never committed (its own .gitignore says *): the writer id,
                               the index (SQLite, the shared schema) and the lock

Two clones never write the same file, so merges, rebases and cherry-picks between them
touch different files; two branches of one clone append to the same file, which the union
merge driver combines (log lines are unique and order-free: the engine sorts them).

The index remembers how far it has read each file. Every command first catches up: a file
that grew is read from where the index stopped; one that shrank or changed before that
point (rebase, reset, checkout) is read again, and events the index had seen that are now
in no file are kept aside as `missing` for `pipe check` to report and append back.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from pipecli.errors import StoreError
from pipecli.models import Event
from pipecli.store import schema
from pipecli.store.base import Snapshot, Store, Transaction
from pipecli.store.codec import (EVENT_COLUMNS_ADDED, LOG_COLUMNS, decode_line, encode_line,
                                 older_layouts)
from pipecli.store.locking import flocked
from pipecli.store.sqlite_store import (check_format, connect, immediate, snapshot,
                                         sql_error)
from pipecli.values import ID_ALPHABET, new_id

LOG_NAME = re.compile(r"^(\d{4})-(\d{2})-([0-9a-z]{8})\.csv$")
HEADER = ",".join(LOG_COLUMNS) + "\n"
# Header lines a log file may start with: this version's, and each earlier one's (whose
# lines lack the columns added since; codec reads them with those empty).
HEADERS = {HEADER[:-1], *(",".join(layout) for layout in older_layouts(LOG_COLUMNS,
                                                                    EVENT_COLUMNS_ADDED))}
LOCAL = ".local"
TAIL = 256  # bytes of a file's read part remembered to notice a rewrite
CHUNK = 4 << 20  # bytes of a log file read at a time
GITATTRIBUTES = ("# pipe: log lines are unique and order-free, so two branches' appends "
                 "are both kept\n*.csv merge=union text eol=lf\n")

INDEX_EXTRA = """
CREATE TABLE log_files (name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL, tail BLOB NOT NULL);
CREATE INDEX events_by_file ON events (log_file);
CREATE TABLE missing (id TEXT PRIMARY KEY, deal TEXT NOT NULL, source TEXT NOT NULL,
    line TEXT NOT NULL);
CREATE TABLE unreadable (source TEXT NOT NULL, line_number INTEGER NOT NULL,
    problem TEXT NOT NULL);
"""
INDEX_OBJECTS = schema.EXPECTED_OBJECTS | {("table", "log_files"), ("table", "missing"),
                                           ("index", "events_by_file"),
                                           ("table", "unreadable")}


def _is_log_name(name: str) -> bool:
    m = LOG_NAME.match(name)
    return bool(m) and 1 <= int(m[2]) <= 12 and set(m[3]) <= set(ID_ALPHABET)


class LogStore(Store):
    """The event log folder and its index."""

    kind = "csv"

    def __init__(self, path: Path):
        self.path = path
        self.local = path / LOCAL
        self.index_path = self.local / "index.sqlite"

    def exists(self) -> bool:
        return self.path.is_dir()

    def files(self) -> list[Path]:
        return [self.path]

    def log_files(self) -> list[Path]:
        """The log files, by name (a symbolic link or anything else is not one)."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir()
                      if _is_log_name(p.name) and not p.is_symlink() and p.is_file())

    def strays(self) -> list[Path]:
        """Entries of the folder that look like log files but are not read (symlinks...)."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.suffix == ".csv"
                      and (not _is_log_name(p.name) or p.is_symlink() or not p.is_file()))

    def create(self) -> None:
        self._ensure_folder()
        with self.write():
            pass

    # -- the local folder ------------------------------------------------------------------
    def _ensure_folder(self) -> None:
        try:
            if self.path.is_symlink():
                raise StoreError(f"{self.path} is a symbolic link; pipe does not follow it")
            self.path.mkdir(parents=True, exist_ok=True)
            attributes = self.path / ".gitattributes"
            if not attributes.exists() and not attributes.is_symlink():
                _write_new(attributes, GITATTRIBUTES)
            self._ensure_local()
        except OSError as e:
            raise StoreError(f"cannot create the store folder {self.path}: {e.strerror}") \
                from None

    def _ensure_local(self) -> None:
        if self.local.is_symlink() or (self.local.exists() and not self.local.is_dir()):
            raise StoreError(f"{self.local} is not a folder pipe created (a symbolic link or a "
                             f"file); remove it and run the command again")
        self.local.mkdir(exist_ok=True)
        if (self.local / "lock").is_symlink():  # not pipe's: a committed or copied folder
            (self.local / "lock").unlink()
        ignore = self.local / ".gitignore"
        if not ignore.exists() and not ignore.is_symlink():
            _write_new(ignore, "# pipe: this folder is local to the clone; never commit it\n*\n")

    def _folder_identity(self) -> str:
        st = os.lstat(self.local)
        return f"{st.st_dev}:{st.st_ino}"

    def writer(self) -> str:
        """This clone's writer id. It is kept with the identity of the local folder, so a
        copied or committed folder gets a writer of its own."""
        path = self.local / "writer"
        identity = self._folder_identity()
        try:
            text = _read_small(path)
            writer, _, seen = text.strip().partition(" ")
            if seen == identity and len(writer) == 8 and set(writer) <= set(ID_ALPHABET):
                return writer
        except OSError:
            pass
        writer = new_id()
        tmp = self.local / f"writer.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        _write_new(tmp, f"{writer} {identity}\n")
        os.replace(tmp, path)
        return writer

    # -- reading and writing ---------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Snapshot]:
        if not self.path.is_dir():
            from pipecli.store.sqlite_store import _empty

            with _empty() as nothing:
                yield nothing
            return
        try:
            self._ensure_local()
        except (OSError, StoreError):
            with self._in_memory() as snap:  # a read-only checkout still reads
                yield snap
            return
        conn = self._connect()
        try:
            with flocked(self.local / "lock", exclusive=False, name=self.path.name):
                current = self._is_current(conn)
            if not current:
                with flocked(self.local / "lock", exclusive=True, name=self.path.name):
                    self._catch_up(conn)
        except BaseException as e:
            conn.close()
            if isinstance(e, sqlite3.Error):
                raise sql_error(e, self.index_path) from None
            raise
        # The view is taken now; the lock is not held while the command reads.
        with snapshot(conn, self.index_path) as snap:
            yield snap

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        self._ensure_folder()
        with flocked(self.local / "lock", exclusive=True, name=self.path.name):
            conn = self._connect()
            try:
                self._catch_up(conn)
            except BaseException as e:
                conn.close()
                if isinstance(e, sqlite3.Error):
                    raise sql_error(e, self.index_path) from None
                raise
            with immediate(conn, self.index_path):
                target = self._target_file()
                tx = LogTransaction(conn, target.name)
                yield tx
                if tx.appended:  # the log first: the index commits only what it holds
                    self._append(conn, target, tx.appended)

    @contextmanager
    def checking(self):
        """For `pipe check`, under the lock: the index rebuilt from a full read of every log
        file (so it reflects the log exactly), and the findings of that read."""
        from pipecli.store.base import Finding

        self._ensure_folder()
        with flocked(self.local / "lock", exclusive=True, name=self.path.name):
            conn = self._connect()
            try:
                self._catch_up(conn, full=True)  # read every file again, in full
                findings = [Finding(f"{self.path / name}:{number}", f"{problem}; the line "
                                    f"is not read")
                            for name, number, problem in conn.execute(
                                "SELECT * FROM unreadable ORDER BY source, line_number")]
                for path in self.log_files():
                    size = path.stat().st_size
                    if size and _tail_at(path, size)[-1:] != b"\n":
                        findings.append(Finding(str(path), "the last line is incomplete (a "
                                                "write cut off by a crash); it is not read"))
                findings += [Finding(str(p), "is not a log file pipe reads (a symbolic link, "
                                     "or a name not like 2026-11-k3m9x2ab.csv)")
                             for p in self.strays()]
                conn.execute("BEGIN")
                yield conn, findings
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise sql_error(e, self.index_path) from None
            finally:
                conn.close()

    def restore(self, events: list[Event]) -> int:
        """Append events the log lost back to this clone's log (same ids)."""
        if not events:
            return 0
        with self.write() as tx:
            fresh = [e for e in events if tx.event(e.id) is None]
            tx.land(fresh)
            tx.conn.executemany("DELETE FROM missing WHERE id = ?", [(e.id,) for e in events])
        return len(fresh)

    def _target_file(self) -> Path:
        month = datetime.now(timezone.utc).strftime("%Y-%m")
        return self.path / f"{month}-{self.writer()}.csv"

    def _append(self, conn: sqlite3.Connection, target: Path, events: list[Event]) -> None:
        """Append the lines in one write and fsync; on any failure the file is cut back to
        its old length, so a failed command leaves the log as it was."""
        data = "".join(encode_line(e) for e in events).encode("utf-8")
        try:
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise _write_error(target, e) from None
        try:
            size = os.fstat(fd).st_size
            size = _cut_torn_tail(fd, size)
            if size == 0:
                data = HEADER.encode() + data
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException as e:
                os.ftruncate(fd, size)
                if isinstance(e, OSError):
                    raise _write_error(target, e) from None
                raise
            st = os.fstat(fd)
            _remember(conn, target.name, st, _tail_of(fd, st.st_size))
        finally:
            os.close(fd)

    # -- the index -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """The index, created or rebuilt as needed: one that is not a pipe index of this
        version, or was made in another folder (a committed or copied one), is replaced."""
        if self.index_path.is_symlink():
            self.index_path.unlink()
        conn = connect(self.index_path, self.index_path.name)
        try:
            check_format(conn, self.index_path, INDEX_OBJECTS)
            fresh = not schema.objects(conn)
            if not fresh and schema.meta(conn).get("folder") != self._folder_identity():
                raise StoreError("made elsewhere")
            if not fresh and schema.meta(conn).get("version") != schema.VERSION:
                raise StoreError("an index of an earlier version: made again from the log")
        except (StoreError, sqlite3.DatabaseError):
            conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.index_path}{suffix}").unlink(missing_ok=True)
            conn = connect(self.index_path, self.index_path.name)
            fresh = True
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if fresh:
                conn.execute("BEGIN IMMEDIATE")
                if not schema.objects(conn):
                    schema.create_schema(conn, INDEX_EXTRA,
                                         {"folder": self._folder_identity()})
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            conn.close()
            raise sql_error(e, self.index_path) from None
        return conn

    @contextmanager
    def _in_memory(self) -> Iterator[Snapshot]:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            schema.create_schema(conn, INDEX_EXTRA)
            self._catch_up(conn)
            yield Snapshot(conn)
        finally:
            conn.close()

    def _is_current(self, conn: sqlite3.Connection) -> bool:
        known = {name: (size, mtime, inode) for name, size, mtime, inode, _ in
                 conn.execute("SELECT * FROM log_files")}
        found = {}
        for path in self.log_files():
            st = path.stat()
            found[path.name] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return found == known

    def _catch_up(self, conn: sqlite3.Connection, full: bool = False) -> None:
        """Bring the index up to date with the log (the caller holds the lock). `full`
        forgets every event the index holds first (keeping those no file holds any more
        aside as `missing`), reads every file again from its start and derives every deal
        again, so the index holds exactly what the log says."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            touched: set[str] = set()
            if full:
                for (name,) in conn.execute("SELECT DISTINCT log_file FROM events").fetchall():
                    _forget_file(conn, name)
                conn.execute("DELETE FROM log_files")
                conn.execute("DELETE FROM unreadable")
            known = {name: (size, mtime, inode, tail) for name, size, mtime, inode, tail in
                     conn.execute("SELECT * FROM log_files")}
            present = set()
            for path in self.log_files():
                present.add(path.name)
                touched |= self._catch_up_file(conn, path, known.get(path.name))
            for name in set(known) - present:
                touched |= _forget_file(conn, name)
                conn.execute("DELETE FROM log_files WHERE name = ?", (name,))
            if full:
                schema.rebuild_all(conn)
            elif touched:
                schema.refold(conn, sorted(touched))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _catch_up_file(self, conn, path: Path, known) -> set[str]:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror}") from None
        try:
            st = os.fstat(fd)
            if known and (st.st_size, st.st_mtime_ns, st.st_ino) == tuple(known[:3]):
                return set()
            start = 0
            if known and st.st_size >= known[0] and _tail_of(fd, known[0]) == known[3]:
                start = known[0]  # appended to: read the new part only
            touched: set[str] = set()
            if start == 0 and known:
                touched |= _forget_file(conn, path.name, keep_missing=True)
            end, number = self._read_lines(conn, fd, path.name, start, st.st_size, touched)
        finally:
            os.close(fd)
        if touched:
            conn.execute("DELETE FROM missing WHERE id IN (SELECT id FROM events WHERE log_file "
                         "= ?)", (path.name,))
        _remember(conn, path.name, st, _tail_at(path, end), end)
        return touched

    @staticmethod
    def _read_lines(conn, fd: int, name: str, start: int, size: int, touched: set[str]
                    ) -> tuple[int, int]:
        """Read complete lines from `start`, a chunk at a time (memory stays flat however
        big the file), into the events table; returns where reading stopped and the line
        number reached. A last line without its line break is not read."""
        number = _line_number(conn, name, start)
        offset = start
        while offset < size:
            data = os.pread(fd, min(CHUNK, size - offset), offset)
            complete = data.rfind(b"\n") + 1
            if not complete:
                if len(data) < CHUNK:
                    break  # a torn last line
                raise StoreError(f"{name}: a line longer than {CHUNK} bytes; it is not a log "
                                 f"line pipe wrote")
            events = []
            for raw in data[:complete].split(b"\n")[:-1]:
                number += 1
                if raw.endswith(b"\r"):  # a CRLF line break (an editor's): not part of the line
                    raw = raw[:-1]
                if offset == 0 and number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]  # a UTF-8 byte order mark
                try:
                    line = raw.decode("utf-8")
                    if line in HEADERS:
                        continue
                    events.append(decode_line(line))
                except (UnicodeDecodeError, ValueError) as e:
                    conn.execute("INSERT INTO unreadable VALUES (?, ?, ?)",
                                 (name, number, "not UTF-8 text"
                                  if isinstance(e, UnicodeDecodeError) else str(e)))
            schema.insert_events(conn, events, name)
            touched.update(e.deal_id for e in events)
            offset += complete
        return offset, number

def _line_number(conn, name: str, start: int) -> int:
    """Lines before byte `start` (only counted when reading a file from its middle)."""
    if start == 0:
        return 0
    row = conn.execute("SELECT count(*) FROM events WHERE log_file = ?", (name,)).fetchone()
    return row[0] + 1  # the header, then one line per event read so far


def _forget_file(conn, name: str, keep_missing: bool = True) -> set[str]:
    """Drop a file's events from the index before it is read again (or because it is gone);
    events that turn out to be in no file any more are kept in `missing`."""
    from pipecli.store.codec import encode_line as line_of

    deals = set()
    for event in schema.select_events(conn, "WHERE log_file = ?", (name,)):
        deals.add(event.deal_id)
        if keep_missing:
            conn.execute("INSERT INTO missing VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                         (event.id, event.deal_id, name, line_of(event)))
    conn.execute("DELETE FROM events WHERE log_file = ?", (name,))
    conn.execute("DELETE FROM unreadable WHERE source = ?", (name,))
    return deals


def _remember(conn, name: str, st, tail: bytes, size: int | None = None) -> None:
    conn.execute("INSERT INTO log_files VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                 "size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode, "
                 "tail = excluded.tail",
                 (name, st.st_size if size is None else size, st.st_mtime_ns, st.st_ino, tail))


def _tail_of(fd: int, size: int) -> bytes:
    start = max(0, size - TAIL)
    return os.pread(fd, size - start, start)


def _tail_at(path: Path, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return _tail_of(fd, size)
    finally:
        os.close(fd)


def _cut_torn_tail(fd: int, size: int) -> int:
    """A line a crash left without its line break was never acknowledged: cut it off
    before appending, so it cannot join the next line (it is our own file)."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    start = max(0, size - 65536)
    chunk = os.pread(fd, size - start, start)
    keep = start + chunk.rfind(b"\n") + 1 if b"\n" in chunk else 0
    os.ftruncate(fd, keep)
    return keep


def _read_small(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return os.read(fd, 200).decode("ascii", "replace")
    finally:
        os.close(fd)


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _write_error(path: Path, e: OSError) -> StoreError:
    import errno

    reason = "the disk is full" if e.errno == errno.ENOSPC else e.strerror
    return StoreError(f"cannot write {path}: {reason}; nothing was changed")


class LogTransaction(Transaction):
    trusted = True  # the index holds only lines checked when they were read
    keeps_events = True

    def __init__(self, conn: sqlite3.Connection, source: str):
        super().__init__(conn)
        self._source = source

    def source_name(self) -> str:
        return self._source
