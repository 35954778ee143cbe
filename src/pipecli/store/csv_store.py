"""The CSV store: deals in one file, their history in another, both sorted by deal id.

Layout, for `store: deals.csv`:
  deals.csv          one row per current deal, sorted by id, fixed columns, UTF-8, LF
  deals.history.csv  one row per event, sorted by (deal id, seq); rows are only ever added

Sorting by random ids scatters each branch's changes over the files, so git merges two
branches that touch different deals line by line. Untouched rows are written back byte for
byte, so a diff shows exactly the rows a command changed.

Writes: the folder is locked with flock (bounded wait), both files are written to temp
files and fsynced, a journal naming them is written, then each is renamed into place. A
crash before the journal leaves the old store; after it, the next command rolls forward.
"""

from __future__ import annotations

import bisect
import csv
import errno
import io
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipecli.errors import StoreBusy, StoreError
from pipecli.models import Deal, Event
from pipecli.store.base import (DealFilter, Finding, Scan, Snapshot, Store, Transaction,
                                lookup_in)
from pipecli.store.codec import (DEAL_COLUMNS, EVENT_COLUMNS, deal_to_row, event_to_row,
                                 row_to_deal, row_to_event)

CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def lock_timeout() -> float:
    """Seconds to wait for another pipe process to finish: PIPE_LOCK_TIMEOUT, default 10."""
    raw = os.environ.get("PIPE_LOCK_TIMEOUT", "10")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 10.0


def _csv_line(cells) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _header(columns) -> str:
    return ",".join(columns) + "\n"


class _Table:
    """A store file as its header plus (key, raw line) pairs, parsed on demand."""

    def __init__(self, path: Path, columns: tuple[str, ...], key_of):
        self.path = path
        self.columns = columns
        self.lines: list[str] = []
        self.keys: list = []
        if not path.exists():
            return
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise StoreError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from None
        except OSError as e:
            raise StoreError(f"{path}: cannot read: {e.strerror}") from None
        if not text:
            return
        if text.startswith("\ufeff"):
            text = text[1:]
        if not text.endswith("\n"):
            raise StoreError(f"{path}: the last line is incomplete (the file does not end with "
                             f"a line break); it may have been cut off")
        lines = text.split("\n")[:-1]
        if lines[0].rstrip("\r") != ",".join(columns):
            raise StoreError(f"{path}:1: the header is not {','.join(columns)!r}; this is not a "
                             f"pipe store file or a column is missing")
        for number, line in enumerate(lines[1:], start=2):
            if line.startswith(CONFLICT_MARKERS):
                raise StoreError(f"{path}:{number}: left-over git conflict marker "
                                 f"{line[:7]!r}; resolve the merge conflict first")
            if not line.strip():
                raise StoreError(f"{path}:{number}: empty line")
            self.lines.append(line.rstrip("\r") + "\n")
            self.keys.append(key_of(line, path, number))
        first_line: dict = {}
        for i, key in enumerate(self.keys):
            if key in first_line:
                raise StoreError(f"{path}:{i + 2}: the row repeats the id of line "
                                 f"{first_line[key]}; each row must be unique")
            first_line[key] = i + 2
            if i and key < self.keys[i - 1]:
                raise StoreError(f"{path}:{i + 2}: the row is out of order; rows must be sorted "
                                 f"by id; was the file edited by hand?")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        for number, cells in enumerate(csv.reader(self.lines), start=2):
            yield number, cells

    def render(self) -> bytes:
        return (_header(self.columns) + "".join(self.lines)).encode("utf-8")


def _deal_key(line: str, path: Path, number: int) -> str:
    key = line.split(",", 1)[0]
    if not key or '"' in key:
        raise StoreError(f"{path}:{number}: the row has no deal id")
    return key


def _event_key(line: str, path: Path, number: int) -> tuple[str, int]:
    parts = line.split(",", 2)
    try:
        return parts[0], int(parts[1])
    except (IndexError, ValueError):
        raise StoreError(f"{path}:{number}: the row has no deal id and sequence number") \
            from None


class CsvSnapshot(Snapshot):
    def __init__(self, store: "CsvStore"):
        self.store = store
        self._deals_table = _Table(store.path, DEAL_COLUMNS, _deal_key)
        self._deals: dict[str, Deal] | None = None
        self._events_table: _Table | None = None

    # Parsed lazily: `pipe add` only needs the ids, not every deal.
    def _all(self) -> dict[str, Deal]:
        if self._deals is None:
            self._deals = {}
            for number, cells in self._deals_table.rows():
                try:
                    deal = row_to_deal(cells)
                except ValueError as e:
                    raise StoreError(f"{self.store.path}:{number}: {e}") from None
                if deal.id in self._deals:
                    raise StoreError(f"{self.store.path}:{number}: deal id {deal.id} appears "
                                     f"twice")
                self._deals[deal.id] = deal
        return self._deals

    def _history(self) -> _Table:
        if self._events_table is None:
            self._events_table = _Table(self.store.history_path, EVENT_COLUMNS, _event_key)
        return self._events_table

    def deals(self, where: DealFilter = DealFilter()) -> Iterator[Deal]:
        return (d for d in self._all().values() if where.matches(d))

    def get(self, deal_id: str) -> Deal | None:
        return self._all().get(deal_id)

    def lookup(self, ref: str) -> list[Deal]:
        return lookup_in(self._all().values(), ref)

    def events(self, deal_id: str | None = None) -> Iterator[Event]:
        table = self._history()
        if deal_id is None:
            lo, hi = 0, len(table.lines)
        else:
            lo = bisect.bisect_left(table.keys, (deal_id, -1))
            hi = bisect.bisect_left(table.keys, (deal_id + "\uffff", -1))
        path = self.store.history_path
        for offset, cells in enumerate(csv.reader(table.lines[lo:hi])):
            try:
                yield row_to_event(cells)
            except ValueError as e:
                raise StoreError(f"{path}:{lo + offset + 2}: {e}") from None


class CsvTransaction(CsvSnapshot, Transaction):
    def __init__(self, store: "CsvStore"):
        super().__init__(store)
        self._changed = False

    def record(self, event: Event, deal: Deal | None) -> None:
        table = self._history()
        key = (event.deal_id, event.seq)
        at = bisect.bisect_left(table.keys, key)
        if at < len(table.keys) and table.keys[at] == key:
            raise StoreError(f"event {key} already exists")
        table.keys.insert(at, key)
        table.lines.insert(at, _csv_line(event_to_row(event)))
        deals = self._deals_table
        at = bisect.bisect_left(deals.keys, event.deal_id)
        present = at < len(deals.keys) and deals.keys[at] == event.deal_id
        if deal is None:
            if present:
                del deals.keys[at], deals.lines[at]
        elif present:
            deals.lines[at] = _csv_line(deal_to_row(deal))
        else:
            deals.keys.insert(at, deal.id)
            deals.lines.insert(at, _csv_line(deal_to_row(deal)))
        if self._deals is not None:
            if deal is None:
                self._deals.pop(event.deal_id, None)
            else:
                self._deals[deal.id] = deal
        self._changed = True

    def last_event(self, deal_id: str) -> Event | None:
        last = None
        for last in self.events(deal_id):
            pass
        return last

    def taken_ids(self):
        return set(self._deals_table.keys) | {k for k, _ in self._history().keys}

    def commit(self) -> None:
        if self._changed:
            self.store._replace({self.store.path: self._deals_table.render(),
                                 self.store.history_path: self._history().render()})


class CsvStore(Store):
    """Deals and history as two sorted CSV files beside the pipeline YAML."""

    kind = "csv"

    def __init__(self, path: Path):
        self.path = path
        self.history_path = path.with_name(path.stem + ".history" + path.suffix)
        self.journal_path = path.with_name("." + path.name + ".journal")

    def exists(self) -> bool:
        return self.path.exists()

    def files(self) -> list[Path]:
        return [self.path, self.history_path]

    def scan(self) -> Scan:
        return scan_csv(self)

    def replace_all(self, deals: list[Deal], events: list[Event]) -> None:
        _replace_all(self, deals, events)

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked(exclusive=True):
            self._replace({self.path: _header(DEAL_COLUMNS).encode(),
                           self.history_path: _header(EVENT_COLUMNS).encode()})

    @contextmanager
    def read(self) -> Iterator[Snapshot]:
        with self._locked(exclusive=False):
            yield CsvSnapshot(self)

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        if not self.path.parent.is_dir():
            raise StoreError(f"the store folder {self.path.parent} does not exist")
        with self._locked(exclusive=True):
            tx = CsvTransaction(self)
            yield tx
            tx.commit()

    # -- locking and atomic replacement ----------------------------------------------------
    @contextmanager
    def _locked(self, *, exclusive: bool):
        import fcntl

        folder = self.path.parent
        if not folder.is_dir():
            yield  # nothing to read yet; writers create the folder under their own lock
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            self._acquire(fd, mode)
            if self.journal_path.exists():
                if not exclusive:
                    self._acquire(fd, fcntl.LOCK_EX)
                self._recover()
                if not exclusive:
                    fcntl.flock(fd, fcntl.LOCK_SH)
            elif exclusive:
                self._sweep()
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _acquire(self, fd: int, mode: int) -> None:
        import fcntl

        deadline = time.monotonic() + lock_timeout()
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"the store {self.path.name} is busy: another pipe command held it for "
                        f"more than {lock_timeout():g} s (PIPE_LOCK_TIMEOUT sets the wait)") \
                        from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _sweep(self) -> None:
        """Remove temp files a killed writer left (we hold the lock: none is in use)."""
        for final in (self.path, self.history_path):
            for orphan in final.parent.glob(f".{final.name}.*.tmp"):
                orphan.unlink(missing_ok=True)

    def _recover(self) -> None:
        """Finish a replacement that a crash interrupted after its journal was written."""
        for line in self.journal_path.read_text("utf-8").splitlines():
            tmp_name, final_name = line.split("\t")
            tmp = self.path.parent / tmp_name
            if tmp.exists():
                os.replace(tmp, self.path.parent / final_name)
        self.journal_path.unlink()
        _fsync_dir(self.path.parent)

    def _replace(self, contents: dict[Path, bytes]) -> None:
        """Replace several files so that a crash leaves all old or (after recovery) all new."""
        folder = self.path.parent
        temps: list[tuple[Path, Path]] = []
        try:
            for final, data in contents.items():
                tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
                _write_synced(tmp, data, mode_from=final)
                temps.append((tmp, final))
            journal_tmp = self.journal_path.with_name(self.journal_path.name + ".tmp")
            _write_synced(journal_tmp, "".join(f"{t.name}\t{f.name}\n" for t, f in temps)
                          .encode(), mode_from=None)
            os.replace(journal_tmp, self.journal_path)
            _fsync_dir(folder)
        except BaseException as e:  # includes Ctrl-C: the old store stays, the temps go
            for tmp, _ in temps:
                tmp.unlink(missing_ok=True)
            if not isinstance(e, OSError):
                raise
            reason = "the disk is full" if e.errno == errno.ENOSPC else e.strerror
            raise StoreError(f"cannot write the store in {folder}: {reason}; nothing was "
                             f"changed") from None
        for tmp, final in temps:
            os.replace(tmp, final)
        self.journal_path.unlink()
        _fsync_dir(folder)


def _write_synced(path: Path, data: bytes, mode_from: Path | None) -> None:
    try:
        mode = mode_from.stat().st_mode & 0o777 if mode_from and mode_from.exists() else 0o644
    except OSError:
        mode = 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode & ~0o002)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _scan_file(path: Path, columns: tuple[str, ...], parse, key_of_row, findings: list
               ) -> tuple[list, bool]:
    """Parse a store file line by line, recording every problem; rows inside git conflict
    blocks are read too (both sides), so --fix can merge them."""
    rows: list = []
    if not path.exists():
        return rows, False
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        findings.append(Finding(str(path), f"not UTF-8 text (bad byte at offset {e.start})"))
        return rows, True
    if text.startswith("\ufeff"):
        findings.append(Finding(f"{path}:1", "starts with a byte-order mark", fixable=True))
        text = text[1:]
    if "\r" in text:
        findings.append(Finding(str(path), "has CRLF line endings", fixable=True))
        text = text.replace("\r\n", "\n")
    unreadable = False
    if text and not text.endswith("\n"):
        findings.append(Finding(str(path), "the last line is incomplete (no final line break); "
                                           "it may have been cut off"))
        unreadable = True
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != ",".join(columns):
        findings.append(Finding(f"{path}:1", f"the header is not {','.join(columns)!r}"))
        return rows, True
    in_base = False
    for number, line in enumerate(lines[1:], start=2):
        where = f"{path}:{number}"
        if line.startswith(CONFLICT_MARKERS):
            findings.append(Finding(where, f"left-over git conflict marker {line[:7]!r}",
                                    fixable=True))
            in_base = line.startswith("|||||||")  # diff3's base section: neither side
            if line.startswith(("=======", ">>>>>>>")):
                in_base = False
            continue
        if in_base:
            continue
        if not line.strip():
            findings.append(Finding(where, "empty line", fixable=True))
            continue
        try:
            cells = next(csv.reader([line]))
            rows.append((where, parse(cells), line))
        except (ValueError, StopIteration) as e:
            findings.append(Finding(where, str(e) or "unreadable row"))
            unreadable = True
    keys = [key_of_row(r[1]) for r in rows]
    if any(b < a for a, b in zip(keys, keys[1:])):
        findings.append(Finding(str(path), "rows are not sorted by id", fixable=True))
    return rows, unreadable


def scan_csv(store: "CsvStore"):
    """The lenient read behind `pipe check` (see Scan)."""
    findings: list = []
    deals, bad_deals = _scan_file(store.path, DEAL_COLUMNS, row_to_deal, lambda d: d.id,
                                  findings)
    events, bad_events = _scan_file(store.history_path, EVENT_COLUMNS, row_to_event,
                                    lambda e: (e.deal_id, e.seq), findings)
    if store.journal_path.exists():
        findings.append(Finding(str(store.journal_path), "an interrupted write; the next pipe "
                                "command finishes it", fixable=True))
    return Scan([(w, d) for w, d, _ in deals], [(w, e) for w, e, _ in events], findings,
                unreadable=bad_deals or bad_events)


def _replace_all(store: "CsvStore", deals, events) -> None:
    with store._locked(exclusive=True):
        deal_lines = "".join(_csv_line(deal_to_row(d)) for d in sorted(deals, key=lambda d: d.id))
        event_lines = "".join(_csv_line(event_to_row(e)) for e in
                              sorted(events, key=lambda e: (e.deal_id, e.seq)))
        store._replace({store.path: (_header(DEAL_COLUMNS) + deal_lines).encode(),
                        store.history_path: (_header(EVENT_COLUMNS) + event_lines).encode()})

