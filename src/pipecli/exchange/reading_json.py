"""Reading a JSON import file (see reading.py for the rules): an array of objects, objects
one after another, or JSON lines; every value as the text the file wrote."""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator

from pipecli.errors import PipeError
from pipecli.exchange.reading import BLANK, LINE, SURROGATE, Records, Table, quoted

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # only escapes make them in JSON


class JsonNumber(str):
    """A JSON number, as the text the file wrote (never a float). Cells keep this type, so
    the importer reads them with a decimal point whatever a column's strings use."""


class _NonFinite:
    """NaN, Infinity or -Infinity: Python's json reads them, JSON does not have them."""

    def __init__(self, text: str):
        self.text = text


class _Object(dict):
    """A JSON object that remembers a key it was given twice (json keeps the last)."""

    twice: str | None = None


def _object(pairs: list) -> _Object:
    """object_pairs_hook: a dict that notes a key the object gives twice."""
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.twice = next(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


def _decoder() -> json.JSONDecoder:
    """A decoder that keeps numbers as text, marks NaN/Infinity and keys given twice, and
    returns control characters inside strings as they are (strict=False)."""
    return json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=_NonFinite,
                            object_pairs_hook=_object, strict=False)


class _Nested(Exception):
    """A cell holding a JSON object or a list of them (its message says which)."""


class _Bad(Exception):
    """A JSON row that can't be read (the message is its Record.problem)."""


def _what(value) -> str:
    """What a JSON value that is not an object is, for a message."""
    if isinstance(value, JsonNumber):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, _NonFinite):
        return value.text
    return {True: "true", False: "false", None: "null"}[value]


def _part(key: str, value, listed: bool) -> str:
    """One cell (or one item of a list in a cell) as text; raises _Bad."""
    if isinstance(value, str):
        if listed and ";" in value:
            raise _Bad(f"column {quoted(key)} holds a list item with ';' in it "
                       f"({value[:40]!r}), and ';' separates the items")
        return value if isinstance(value, JsonNumber) and not listed else str(value)
    if value is None or isinstance(value, bool):
        return {True: "true", False: "false", None: ""}[value]
    if isinstance(value, _NonFinite):
        raise _Bad(f"column {quoted(key)} holds {value.text}, which JSON does not allow")
    if isinstance(value, dict):
        raise _Nested("holds a nested object")
    raise _Nested("holds a nested list")


def _cells(item, max_cell: int, surrogates: bool) -> tuple[dict[str, str], dict[str, str]]:
    """A JSON object's cells as text, and the cells that can't be read (column → why: a
    nested value, a cell over the limit — a problem only if the import uses the column);
    raises _Bad for what makes the whole row unreadable."""
    if not isinstance(item, dict):
        raise _Bad(f"is {_what(item)}, not a JSON object")
    if item.twice is not None:
        raise _Bad(f"has the key {quoted(item.twice)} twice")
    cells, bad = {}, {}
    for key, value in item.items():
        if len(key) > max_cell:
            raise _Bad(f"has a key {len(key):,} characters long; the limit is {max_cell:,}")
        try:
            if isinstance(value, list):
                text = ";".join(filter(None, (_part(key, v, True) for v in value)))
            else:
                text = _part(key, value, False)
        except _Nested as e:
            cells[key], bad[key] = "", str(e)
            continue
        if len(text) > max_cell:
            cells[key], bad[key] = "", f"holds {len(text):,} characters; the limit is " \
                                       f"{max_cell:,}"
            continue
        if surrogates and (SURROGATE.search(text) or SURROGATE.search(key)):
            raise _Bad(f"column {quoted(key)} holds an unpaired surrogate (a \\ud800-\\udfff "
                       f"escape alone), which is not text")
        cells[key] = text
    return cells, bad


class _Lines:
    """Line numbers of text positions (CR, LF and CRLF end a line, as in CSV)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        t, a = self.text, self.pos
        self.line += t.count("\n", a, pos) + t.count("\r", a, pos) - t.count("\r\n", a, pos)
        self.pos = pos
        return self.line


def read_json(text: str, first: int, name: str, used: str, note: str, max_cell: int, *,
              lines: bool) -> Table:
    """The table of a JSON file's text (first: where its first value starts)."""
    decoder, where = _decoder(), _Lines(text)
    if not lines and text[first] == "{":
        lines = _complete_line(decoder, LINE.match(text, first).group())
    values = _json_lines(decoder, text) if lines else _json_values(decoder, text, first, name,
                                                                   where)
    surrogates = bool(_ESCAPED_SURROGATE.search(text))
    headers: dict[str, None] = {}
    numbers, starts = array("q"), array("q")
    problems: dict[int, str] = {}
    bad: dict[int, dict[str, str]] = {}
    objects = 0
    for start, item, problem in values:
        if not problem:
            try:
                cells, unreadable = _cells(item, max_cell, surrogates)
                headers.update(dict.fromkeys(cells))
                if unreadable:
                    bad[len(numbers)] = unreadable
            except _Bad as e:
                problem = str(e)
                if isinstance(item, dict):  # its other keys are still columns of the file
                    headers.update((k, None) for k in item if len(k) <= max_cell and
                                   not (surrogates and SURROGATE.search(k)))
            objects += isinstance(item, dict)
        if problem:
            problems[len(numbers)] = problem
        numbers.append(where.at(start))
        starts.append(start)
    if numbers and not objects:
        raise PipeError(f"{name} holds no JSON object to read as a row (line {numbers[0]} "
                        f"{problems[0]})")
    names = list(headers)

    def build(index: int) -> dict[str, str]:
        cells = _cells(decoder.raw_decode(text, starts[index])[0], max_cell, surrogates)[0]
        return {h: cells.get(h, "") for h in names}

    return Table(names, Records(numbers, problems, build, bad), "json", used, note)


def _complete_line(decoder: json.JSONDecoder, line: str) -> bool:
    """Whether a line holds one whole JSON value (then the file is JSON lines)."""
    try:
        end = decoder.raw_decode(line)[1]
    except (ValueError, RecursionError):
        return False
    return BLANK.match(line, end).end() == len(line)


def _json_lines(decoder: json.JSONDecoder, text: str) -> Iterator[tuple[int, object, str]]:
    """(start, value, problem) of each non-blank line: a bad line is a row problem."""
    for m in LINE.finditer(text):
        line = m.group()
        start = BLANK.match(line).end()
        if start == len(line):
            continue
        try:
            value, end = decoder.raw_decode(line, start)
        except ValueError as e:
            yield m.start() + start, None, f"is not valid JSON ({getattr(e, 'msg', e)})"
            continue
        except RecursionError:
            yield m.start() + start, None, "is JSON nested too deeply"
            continue
        extra = BLANK.match(line, end).end() != len(line)
        yield m.start() + start, value, "has text after its JSON value" if extra else ""


def _json_values(decoder: json.JSONDecoder, text: str, first: int, name: str,
                 where: _Lines) -> Iterator[tuple[int, object, str]]:
    """(start, value, "") of each item of a top-level array, or of each value of a file of
    values one after another; a syntax error refuses the file (nothing to resume from)."""

    def value(pos: int):
        try:
            return decoder.raw_decode(text, pos)
        except ValueError as e:
            raise PipeError(f"{name}: line {where.at(getattr(e, 'pos', pos))} is not valid "
                            f"JSON ({getattr(e, 'msg', e)})") from None
        except RecursionError:
            raise PipeError(f"{name}: the JSON on line {where.at(pos)} is nested too deeply"
                            ) from None

    size = len(text)
    if text[first] != "[":
        pos = first
        while pos < size:
            item, end = value(pos)
            yield pos, item, ""
            pos = BLANK.match(text, end).end()
        return
    pos = BLANK.match(text, first + 1).end()
    empty = pos < size and text[pos] == "]"
    while not empty:
        if pos == size:
            raise PipeError(f"{name}: the JSON array that starts on line {where.at(first)} "
                            f"is never closed")
        item, end = value(pos)
        yield pos, item, ""
        pos = BLANK.match(text, end).end()
        if pos < size and text[pos] == "]":
            break
        if pos < size and text[pos] != ",":
            raise PipeError(f"{name}: line {where.at(pos)} is not valid JSON (',' or ']' "
                            f"expected after an item of the array)")
        pos = BLANK.match(text, pos + 1).end() if pos < size else pos
    end = pos + 1
    if BLANK.match(text, end).end() != size:
        raise PipeError(f"{name}: line {where.at(BLANK.match(text, end).end())} has more "
                        f"text after the JSON array")
