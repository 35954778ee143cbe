"""Reading an import file, safely, for any bytes: a header and rows of text cells.

`read_table` turns a CSV or JSON file into a `Table`, or raises PipeError with one
sentence that starts with the file's name. What it does, and why:

- Only a regular file is read. A symbolic link is refused (lstat, then O_NOFOLLOW, so a
  link swapped in between is refused too); a folder, a FIFO, a device or a socket is
  refused before it is opened (and opened with O_NONBLOCK, so a FIFO can never block).
  Files over MAX_BYTES (1 GiB) are refused: the whole file is held in memory, and no
  pipeline export comes near it (a million deals is ~300 MB).
- Encoding: `encoding=` is used as given (an unknown name is a UsageError). Otherwise a
  byte-order mark decides (UTF-8, UTF-16, UTF-32); without one the file must be UTF-8, or
  it is read as Windows-1252 and `Table.note` says so. A file whose UTF-8 text breaks off
  after non-ASCII characters were read fine is damaged UTF-8, not cp1252: refused. A NUL
  byte means a binary file (or UTF-16 without a mark: the message says which flag to use).
- CSV: the delimiter (, ; TAB |) is the one the header line uses most outside quotes. Quoted
  cells may span lines (Record.line is where a row starts); LF, CRLF and CR all end a line;
  blank rows are skipped. A quote never closed, or text after a closing quote, refuses the
  file (csv's strict mode: nothing is guessed). A row with the wrong cell count is a
  Record.problem, so every bad row is listed; a cell over `max_cell` characters is in
  Record.bad — a problem only if the import uses its column.
  A header without names refuses the file; a name given twice is kept apart ("NAME (2)")
  and listed in Table.twice — the importer refuses to use it; a column without a name is
  left out, unless a row has data in it (refused).
- JSON (reading_json.py): an array of objects, objects one after another (one object is
  one record), or JSON lines (.jsonl/.ndjson, or a first line that is a complete value).
  Numbers stay the text the file wrote ("12.10" stays "12.10"; 1e400 is text for the
  importer to refuse), true/false become "true"/"false", null "", an array of scalars
  ";"-joined (tags). NaN and Infinity, keys given twice and unpaired surrogates are row
  problems; a nested object or list (and an oversized cell) is in Record.bad.
  Headers are the union of the keys, first seen first; a missing key reads as "".
- Control characters are returned unchanged: the importer refuses them in the columns it
  maps, and names the column.

Memory: the decoded text is kept (one byte per character for ASCII and Latin-1 text; two
or four when the file holds characters beyond them, as Python's str does) with 24 bytes of
index per row, and a row is parsed again from the text each time it is read. Measured once
with tracemalloc on a 50 MB, 280,000-row, 20-column ASCII CSV: peak 2.0x the file size while
reading (the bytes and their text, briefly, both), 1.13x held after; reading every record
adds nothing that stays (1.1 s to read, 0.8 s per pass over the records). Parsing every row
into dicts up front, as the reader before this one did, held 7.3x.
"""

from __future__ import annotations

import codecs
import csv
import errno
import os
import re
import stat
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipecli.errors import PipeError, UsageError

MAX_BYTES = 1 << 30
DELIMITERS = (",", ";", "\t", "|")  # in order of preference when a header uses several equally
_FIELD_MAX = 2**31 - 1  # csv's limit must fit a C long everywhere; no cell can be longer
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # csv's own line ends, no others
BLANK = re.compile(r"[ \t\r\n]*")  # JSON's whitespace (and what makes a file empty)
_BREAK = re.compile(r"[\r\n]")
_HIGH = re.compile(rb"[\x80-\xff]")
SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Record:
    """One data row: the line it starts on, its cells by header, or why it can't be read."""

    line: int
    cells: dict[str, str]
    problem: str = ""  # non-empty: the row can't be read (then cells is empty)
    # Cells that can't be read (a nested JSON object, a cell over the size limit): only a
    # problem if the import uses that column. Their text in `cells` is empty.
    bad: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A file's column names and rows, and how it was read."""

    headers: list[str]
    records: Sequence[Record]  # a Records: rows parsed on demand, see the module docstring
    delimiter: str  # ",", ";", "\t", "|", or "json"
    encoding: str  # the codec used
    note: str = ""  # one line for the user (the encoding that was guessed)
    # Names the header gives more than once: the later columns are read as "NAME (2)", …;
    # the importer refuses to use such a name (which column would it be?).
    twice: dict[str, str] = field(default_factory=dict)  # name → "columns 1 and 3"


class Records(Sequence):
    """The rows of a table, each parsed again from the file's text when it is asked for
    (so that a large file is held once, as text, not as millions of cell strings)."""

    def __init__(self, lines: array, problems: dict[int, str], build: Callable[[int], dict],
                 bad: dict[int, dict[str, str]] | None = None):
        self._lines, self._problems, self._build = lines, problems, build
        self._bad = bad or {}

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        line = self._lines[index]  # raises IndexError, and handles negative indices
        index %= len(self)
        problem = self._problems.get(index, "")
        if problem:
            return Record(line, {}, problem)
        bad = self._bad.get(index, {})
        cells = self._build(index)
        if bad:
            cells = {k: ("" if k in bad else v) for k, v in cells.items()}
        return Record(line, cells, "", bad)

    def __iter__(self) -> Iterator[Record]:
        return (self[i] for i in range(len(self)))


def read_table(path: Path, *, encoding: str | None = None, max_cell: int = 131072) -> Table:
    """Read a CSV or JSON import file; any failure is a PipeError naming the file."""
    path = Path(path)
    name = _label(path)
    codec = _codec(encoding) if encoding is not None else None
    raw = _read_bytes(path, name)
    text, used, note = _decode(raw, name, codec)
    del raw  # the text is all that is needed from here on
    first = BLANK.match(text).end()
    if first == len(text):
        raise PipeError(f"{name} is empty")
    if codec is not None and not codec.startswith(("utf-8", "utf-16", "utf-32", "cp1252")):
        found = SURROGATE.search(text)  # only odd codecs (utf-7, ...) can produce them
        if found:
            raise PipeError(f"{name}: character {found.start()} is an unpaired surrogate, "
                            f"which is not text")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson") or text[first] in "[{" or suffix == ".json":
        from pipecli.exchange.reading_json import read_json

        return read_json(text, first, name, used, note, max_cell,
                         lines=suffix in (".jsonl", ".ndjson"))
    return _read_csv(text, name, used, note, max_cell)


def quoted(name: str) -> str:
    """A column name in a message: quoted, escaped, and cut short if long."""
    return repr(name if len(name) <= 60 else name[:60] + "…")


def _label(path: Path) -> str:
    """The file's name as messages start with it (escaped if it can't be shown as is)."""
    label = path.name or str(path)
    return label if label.isprintable() else repr(label)[1:-1]  # no escapes on a terminal


# -- the bytes ---------------------------------------------------------------------------

def _read_bytes(path: Path, name: str) -> bytes:
    """The bytes of a regular file that is not a link, read without ever blocking."""
    try:
        _regular(os.lstat(path).st_mode, name)
    except FileNotFoundError:
        raise PipeError(f"{name} does not exist") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise PipeError(f"{name} cannot be read ({getattr(e, 'strerror', None) or e})"
                        ) from None
    flags = os.O_RDONLY
    for flag in ("O_NOFOLLOW", "O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, flag, 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:  # the name became a link after lstat
            raise PipeError(f"{name} is a symbolic link; give the file it points to") from None
        raise PipeError(f"{name} cannot be read ({e.strerror})") from None
    try:
        with os.fdopen(fd, "rb", buffering=0) as f:
            info = os.fstat(f.fileno())
            _regular(info.st_mode, name)
            if info.st_size > MAX_BYTES:
                raise PipeError(f"{name} is {info.st_size / (1 << 30):.1f} GiB; files over "
                                f"1 GiB are not read (split it)")
            data = f.readall()
    except OSError as e:
        raise PipeError(f"{name} cannot be read ({e.strerror})") from None
    if len(data) > MAX_BYTES:  # it grew while being read
        raise PipeError(f"{name} is over 1 GiB; files over 1 GiB are not read (split it)")
    return data


def _regular(mode: int, name: str) -> None:
    """Refuse anything but a regular file, saying what it is instead."""
    if stat.S_ISREG(mode):
        return
    what = ("a symbolic link; give the file it points to" if stat.S_ISLNK(mode) else
            "a folder, not a file" if stat.S_ISDIR(mode) else
            "a named pipe (FIFO), not a regular file" if stat.S_ISFIFO(mode) else
            "a device, not a regular file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a socket, not a regular file" if stat.S_ISSOCK(mode) else
            "not a regular file")
    raise PipeError(f"{name} is {what}")


# -- the text ----------------------------------------------------------------------------

def _codec(encoding: str) -> str:
    """The codec's canonical name for --encoding, or a UsageError."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        raise UsageError(f"--encoding {encoding!r} is not an encoding Python knows") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13, ...
        raise UsageError(f"--encoding {encoding!r} is not a text encoding")
    return info.name


def _decode(raw: bytes, name: str, codec: str | None) -> tuple[str, str, str]:
    """(text, codec used, note)."""
    if codec is not None:
        if codec == "utf-8" and raw.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"  # the mark is not text
        if not codec.startswith(("utf-16", "utf-32")):
            _refuse_nul(raw, name)
        text = _strict(raw, codec, name, f"{codec} text")
        return _binary_or(text.removeprefix("\ufeff"), name), codec, ""
    for mark, bom_codec, label in ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
                                   (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
                                   (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
                                   (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
                                   (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")):
        if raw.startswith(mark):
            if bom_codec == "utf-8-sig":
                _refuse_nul(raw, name)
            text = _strict(raw, bom_codec, name,
                           f"{label} text (the file starts with a {label} byte-order mark)")
            return _binary_or(text, name), bom_codec, ""
    _refuse_nul(raw, name)
    try:
        return raw.decode("utf-8"), "utf-8", ""
    except UnicodeDecodeError as e:
        bad, cut = e.start, e.reason == "unexpected end of data"
    if _HIGH.search(raw, 0, bad):
        # Non-ASCII text read fine as UTF-8 up to this byte: the file is damaged UTF-8 (or
        # two encodings mixed), and reading it as cp1252 would garble all that came before.
        why = "the file ends inside a character: is it cut short?" if cut else \
            "is the file damaged?"
        raise PipeError(f"{name}: the byte at offset {bad} is not valid UTF-8 text, though "
                        f"the text before it is ({why}); say --encoding if it is not UTF-8")
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise PipeError(f"{name} is neither UTF-8 nor Windows-1252 text (byte at offset "
                        f"{bad}); say --encoding") from None
    return text, "cp1252", (f"{name} is not UTF-8; read as Windows-1252 (cp1252) — say "
                            f"--encoding to choose another")


def _strict(raw: bytes, codec: str, name: str, what: str) -> str:
    """raw decoded, or one sentence naming the first byte that is not `what`."""
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        offset = e.start + (3 if codec == "utf-8-sig" else 0)  # it counts after the mark
        raise PipeError(f"{name}: the byte at offset {offset} is not valid {what}") from None
    except (UnicodeError, ValueError) as e:  # codecs such as idna raise without a position
        raise PipeError(f"{name} is not valid {what} ({e})") from None


def _refuse_nul(raw: bytes, name: str) -> None:
    """No text file holds a NUL byte (unless it is UTF-16 or -32: then say so)."""
    at = raw.find(b"\0")
    if at < 0:
        return
    sample = raw[:4096]
    even, odd = sample[0::2], sample[1::2]
    wide = "utf-16-le" if odd.count(0) > len(odd) // 3 > even.count(0) else \
        "utf-16-be" if even.count(0) > len(even) // 3 > odd.count(0) else ""
    if wide:
        raise PipeError(f"{name} holds NUL bytes, as UTF-16 text without a byte-order mark "
                        f"does; say --encoding {wide} if that is what it is")
    raise PipeError(f"{name} is a binary file (a NUL byte at offset {at}), not CSV or JSON "
                    f"text")


def _binary_or(text: str, name: str) -> str:
    if "\0" in text:
        raise PipeError(f"{name} is a binary file (it holds a NUL character), not CSV or "
                        f"JSON text")
    return text


# -- CSV ---------------------------------------------------------------------------------

@contextmanager
def _field_limit():
    """Let csv read a cell of any length (the length is checked here, per row, as a
    problem); csv's limit is process-wide, so it is put back afterwards."""
    before = csv.field_size_limit(_FIELD_MAX)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _lines(text: str, start: int, end: int, at: list[int]) -> Iterator[str]:
    """The lines of text[start:end], ends kept; at[0] is where the next one starts."""
    for m in LINE.finditer(text, start, end):
        at[0] = m.end()
        yield m.group()


def _sniff(text: str) -> str:
    """The delimiter the header line uses most, outside quoted names; ',' when none."""
    end = _BREAK.search(text)
    line = re.sub(r'"[^"]*"', "", text[:end.start() if end else len(text)])
    counts = [line.count(d) for d in DELIMITERS]
    best = max(counts)
    return DELIMITERS[counts.index(best)] if best else ","


def _read_csv(text: str, name: str, used: str, note: str, max_cell: int) -> Table:
    """Check every row once (cell counts and lengths, quoting), keeping where each starts;
    the records parse a row again when asked for it."""
    delimiter = _sniff(text)
    at = [0]
    reader = csv.reader(_lines(text, 0, len(text), at), delimiter=delimiter, strict=True)
    lines, starts, ends = array("q"), array("q"), array("q")
    problems: dict[int, str] = {}
    bad: dict[int, dict[str, str]] = {}
    with _field_limit():
        try:
            headers = next(reader)
        except csv.Error as e:
            raise _csv_error(name, 1, reader.line_num, e) from None
        width = len(headers)
        named = [(i, h) for i, h in enumerate(headers) if h.strip()]
        unnamed = [i for i, h in enumerate(headers) if not h.strip()]
        named, twice = _check_headers(name, named, max_cell)
        while True:
            start, first = at[0], reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise _csv_error(name, first, reader.line_num, e) from None
            if not any(c.strip() for c in cells):
                continue
            problem = ""
            if len(cells) != width:
                problem = f"has {len(cells)} cells, the header has {width}"
            elif max(map(len, cells)) > max_cell:
                too_long = {headers[i]: f"holds {len(c):,} characters; the limit is "
                                        f"{max_cell:,}"
                            for i, c in enumerate(cells) if len(c) > max_cell}
                if any(not h.strip() for h in too_long):
                    problem = "a cell under a column with no name holds " + \
                              next(iter(too_long.values()))
                else:
                    bad[len(lines)] = too_long
            else:
                for i in unnamed:
                    if cells[i].strip():
                        raise PipeError(f"{name}: column {i + 1} has no name in the header "
                                        f"(line 1), but line {first} has data in it")
            if problem:
                problems[len(lines)] = problem
            lines.append(first)
            starts.append(start)
            ends.append(at[0])

    def build(index: int) -> dict[str, str]:
        start, end = starts[index], ends[index]
        line = text[start:end]
        if '"' in line:
            with _field_limit():
                row = next(csv.reader(_lines(text, start, end, [0]), delimiter=delimiter,
                                      strict=True))
        else:  # what csv makes of a line without quotes, three times as fast
            row = line.rstrip("\r\n").split(delimiter)
        return {h: row[i] for i, h in named}

    return Table([h for _, h in named], Records(lines, problems, build, bad), delimiter, used,
                 note, twice)


def _check_headers(name: str, named: list[tuple[int, str]], max_cell: int
                   ) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """Refuse a header without names or one over the cell limit; a name given twice is
    kept apart as "NAME (2)" (a problem only if the import uses it: see Table.twice)."""
    if not named:
        raise PipeError(f"{name}: the header (line 1) has no column names")
    seen: dict[str, list[int]] = {}
    out = []
    for i, header in named:
        if len(header) > max_cell:
            raise PipeError(f"{name}: the name of column {i + 1} in the header is "
                            f"{len(header):,} characters long; the limit is {max_cell:,}")
        key = header.strip()
        seen.setdefault(key, []).append(i)
        count = len(seen[key])
        out.append((i, header if count == 1 else f"{key} ({count})"))
    twice = {key: "columns " + " and ".join(str(i + 1) for i in where)
             for key, where in seen.items() if len(where) > 1}
    return out, twice


def _csv_error(name: str, first: int, line: int, error: csv.Error) -> PipeError:
    """csv's error as one sentence with its line."""
    message = str(error)
    if "unexpected end of data" in message:
        return PipeError(f"{name}: a quote in the row that starts on line {first} is never "
                         f"closed (the file ends inside it)")
    if "expected after" in message:
        return PipeError(f"{name}: line {line} is not valid CSV: text follows a closing quote "
                         f"(a quote inside a quoted cell is written twice, \"\")")
    return PipeError(f"{name}: line {line} is not valid CSV ({message})")

