"""The only place that prints. A command builds a View (rows of raw values plus a JSON
payload); render turns it into one of the output formats:

  table     a Rich table (default on a terminal)
  plain     aligned columns without borders or colour (default when piped / under cron)
  csv, tsv  raw machine values, one header row; cells that a spreadsheet would run as a
            formula are prefixed with '
  markdown  a GitHub-flavoured table
  json      the view's payload, a documented stable shape

User text is data: it is never read as Rich markup, and control characters are shown
escaped (\\x1b) rather than sent to the terminal.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Sequence

from pipecli.rounding import half_up, percent
from pipecli.values import CONTROL, format_money, guard_formula

FORMATS = ("table", "plain", "csv", "tsv", "json", "markdown")
NUMERIC = ("money", "number", "percent", "rate", "days")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | money | number | percent | rate | days | date | time
    bold: bool = False
    drop: int = 0  # on a narrow terminal, optional columns go, highest number first


@dataclass
class View:
    """A table to show, and the payload `--format json` prints instead."""

    columns: Sequence[Column]
    rows: list[Sequence[Any]]
    payload: Any
    title: str = ""
    currency: str = ""
    footer: Sequence[Any] | None = None  # a totals row, shown in human formats only
    preamble: list[str] = field(default_factory=list)  # lines before the table (human formats)
    notes: list[str] = field(default_factory=list)  # lines after the table (human formats)


@dataclass
class Stream:
    """A table whose rows are produced one at a time (list, stale: possibly a million), so
    nothing holds them all: csv, tsv, json and (past a first screenful) plain text are
    written as the rows come. `notes` is called once every row has been written."""

    columns: Sequence[Column]
    items: Iterable[Any]
    row: Callable[[Any], Sequence[Any]]
    payload: Callable[[Any], Any]
    currency: str = ""
    notes: Callable[[], list[str]] = lambda: []


@dataclass
class Chart:
    """Horizontal bars (drawn in the table format only): label, size, text beside the bar."""

    title: str
    bars: list[tuple[str, float, str]]


@dataclass
class Document:
    """A report of several parts: text lines, charts and tables for people, one flat table
    for csv/tsv, one payload for json."""

    sections: list  # of str (a line of text), Chart, View
    payload: Any
    flat: View


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def default_format() -> str:
    return "table" if is_terminal() else "plain"


def shown(text: str) -> str:
    """User text made safe for a terminal: control characters escaped, nothing else."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def per_currency(amounts: dict) -> str:
    """Amounts kept apart by currency, never added: "1,000 EUR; 2,500.50 USD" (the
    currencies with an amount; "0" when none has one)."""
    shown_parts = [f"{format_money(a, c)} {c}" for c, a in sorted(amounts.items())
                   if a is not None and a != 0]
    if shown_parts:
        return "; ".join(shown_parts)
    return "0" if any(a is not None for a in amounts.values()) else ""


def _human(value: Any, kind: str, currency: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return per_currency(value) if isinstance(value, dict) else format_money(value,
                                                                                currency)
    if kind == "percent":  # a probability in percent, shown as written
        return f"{value}%"
    if kind == "rate":  # a fraction, shown as a percentage to 0.1, half-up from exact
        return percent(value, 1)
    if kind == "days":
        return format(half_up(value, 1), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return shown(", ".join(value))
    return shown(str(value))


def _machine(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Fraction):  # views round their figures; this is a fallback
        value = half_up(value, 4)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):  # amounts per currency: "1000 EUR;2500.5 USD"
        return ";".join(f"{format(a, 'f')} {c}" for c, a in sorted(value.items())
                        if a is not None)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = ";".join(value)
    text = shown(str(value))
    return guard_formula(text) if kind == "text" else text


def to_json(value: Any) -> Any:
    """Payload values as JSON: Decimal → number, dates → ISO strings, tuples → arrays."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def emit(view: View, fmt: str | None) -> None:
    """Print a view in the chosen format (the default depends on where stdout goes)."""
    fmt = fmt or default_format()
    if fmt == "json":
        out(json.dumps(to_json(view.payload), indent=2, ensure_ascii=False))
    elif fmt in ("csv", "tsv"):
        _emit_delimited(view, "," if fmt == "csv" else "\t")
    elif fmt == "table":
        _emit_rich(view)
    else:
        _emit_tabulate(view, "github" if fmt == "markdown" else "plain")


BUFFERED = 1000  # plain/markdown rows measured for column widths before streaming the rest
TABLE_ROWS = 5000  # a Rich table holds its rows; beyond this, aligned plain text instead


def emit_stream(stream: Stream, fmt: str | None) -> None:
    """Print a stream in the chosen format, holding at most a screenful-sized buffer."""
    import itertools

    fmt = fmt or default_format()
    items = iter(stream.items)
    if fmt == "json":
        first = True
        for item in items:
            text = json.dumps(to_json(stream.payload(item)), indent=2, ensure_ascii=False)
            sys.stdout.write(("[\n" if first else ",\n") + "  " + text.replace("\n", "\n  "))
            first = False
        out("[]" if first else "\n]")
        return
    if fmt in ("csv", "tsv"):
        _emit_delimited(View(stream.columns, (stream.row(i) for i in items), None),
                        "," if fmt == "csv" else "\t")
        return
    limit = TABLE_ROWS if fmt == "table" else BUFFERED
    head = list(itertools.islice(items, limit + 1))
    if len(head) <= limit:  # it all fits: the usual renderers, unchanged
        emit(View(stream.columns, [stream.row(i) for i in head], None,
                  currency=stream.currency, notes=stream.notes()), fmt)
        return
    _emit_aligned(stream, itertools.chain(head, items), fmt == "markdown")


def _emit_aligned(stream: Stream, items, markdown: bool) -> None:
    """Aligned text written row by row; widths are measured on the first rows (a longer
    cell later just pushes its line out)."""
    import itertools

    columns = stream.columns
    rows = (tuple(_human(v, c.kind, stream.currency) for v, c in zip(stream.row(i), columns))
            for i in items)
    head = list(itertools.islice(rows, BUFFERED))
    widths = [max([len(c.header)] + [len(r[k]) for r in head]) for k, c in enumerate(columns)]

    def line(cells) -> str:
        padded = [cell.rjust(w) if c.kind in NUMERIC else cell.ljust(w)
                  for cell, w, c in zip(cells, widths, columns)]
        return ("| " + " | ".join(padded) + " |") if markdown else "  ".join(padded).rstrip()

    out(line([c.header for c in columns]))
    if markdown:
        out("|" + "|".join(("-" * (w + 1) + ":") if c.kind in NUMERIC else (":" + "-" * (w + 1))
                           for w, c in zip(widths, columns)) + "|")
    for cells in itertools.chain(head, rows):
        sys.stdout.write(line(cells) + "\n")
    for note in stream.notes():
        out(note)


def emit_document(doc: Document, fmt: str | None) -> None:
    """Print a report document; charts appear in the table format only."""
    fmt = fmt or default_format()
    if fmt == "json":
        out(json.dumps(to_json(doc.payload), indent=2, ensure_ascii=False))
        return
    if fmt in ("csv", "tsv"):
        _emit_delimited(doc.flat, "," if fmt == "csv" else "\t")
        return
    first = True
    for section in doc.sections:
        if isinstance(section, Chart) and fmt != "table":
            continue
        if not first:
            out("")
        first = False
        if isinstance(section, (str, list)):
            lines = [section] if isinstance(section, str) else section
            if fmt == "table":
                from rich.text import Text

                style = "bold" if isinstance(section, str) else None  # a heading
                for line in lines:
                    console().print(Text(shown(line), style=style))
            else:
                prefix = "# " if fmt == "markdown" and isinstance(section, str) else ""
                out("\n".join(prefix + shown(line) for line in lines))
        elif isinstance(section, Chart):
            _emit_chart(section)
        else:
            emit(section, fmt)


def _emit_chart(chart: Chart) -> None:
    from rich.table import Table
    from rich.text import Text

    con = console()
    labels = [shown(b[0]) for b in chart.bars]
    texts = [b[2] for b in chart.bars]
    cap = max(12, con.width // 3)  # long labels give way to the bars
    labels = [x if len(x) <= cap else x[:cap - 1] + "…" for x in labels]
    label_width = max((len(x) for x in labels), default=0)
    text_width = max((len(x) for x in texts), default=0)
    room = max(10, con.width - label_width - text_width - 6)
    largest = max((b[1] for b in chart.bars), default=0) or 1
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for label, (_, size, _), text in zip(labels, chart.bars, texts):
        length = round(size / largest * room) if size else 0
        bar = Text("█" * max(length, 1 if size else 0), style="cyan")
        grid.add_row(Text(label), bar, Text(text))
    if chart.title:
        con.print(Text(chart.title, style="bold"))
    con.print(grid)


def _emit_delimited(view: View, delimiter: str) -> None:
    import csv

    writer = csv.writer(sys.stdout, delimiter=delimiter, lineterminator="\n")
    writer.writerow([c.header for c in view.columns])
    for row in view.rows:
        writer.writerow([_machine(v, c.kind) for v, c in zip(row, view.columns)])


def _emit_tabulate(view: View, tablefmt: str) -> None:
    from tabulate import tabulate

    rows = [[_human(v, c.kind, view.currency) for v, c in zip(row, view.columns)]
            for row in view.rows]
    if view.footer is not None:
        rows.append([_human(v, c.kind, view.currency) for v, c in zip(view.footer, view.columns)])
    align = ["right" if c.kind in NUMERIC else "left"
             for c in view.columns]
    lines = []
    if view.title:
        lines.append(f"## {shown(view.title)}\n" if tablefmt == "github" else shown(view.title))
    if view.preamble:
        lines.extend(view.preamble + [""])
    if rows or tablefmt == "github":
        lines.append(tabulate(rows, headers=[c.header for c in view.columns], tablefmt=tablefmt,
                              colalign=align, disable_numparse=True))
    lines.extend(view.notes)
    out("\n".join(lines))


def console(stderr: bool = False):
    from rich.console import Console

    # NO_COLOR and COLUMNS are honoured by Rich itself.
    return Console(stderr=stderr, highlight=False, emoji=False, markup=False,
                   soft_wrap=False)


def _emit_rich(view: View) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console()
    keep = _fitting_columns(view, con.width)
    columns = [view.columns[i] for i in keep]
    cells = [[_human(row[i], view.columns[i].kind, view.currency) for i in keep]
             for row in view.rows]
    footer_cells = [view.footer[i] for i in keep] if view.footer is not None else None
    table = Table(title=Text(shown(view.title), style="bold") if view.title else None,
                  box=box.SIMPLE_HEAD, show_footer=view.footer is not None,
                  title_justify="left", pad_edge=False)
    for i, c in enumerate(columns):
        numeric = c.kind in NUMERIC
        footer = Text(_human(footer_cells[i], c.kind, view.currency), style="bold") \
            if footer_cells is not None else ""
        # Wrap between words when the terminal is narrow, but never inside a short word:
        # "Prospecting" stays whole and a long deal name takes the wrapping instead.
        longest_word = max((len(w) for row in cells for w in row[i].split()), default=0)
        table.add_column(Text(c.header), footer=footer, justify="right" if numeric else "left",
                         style="bold" if c.bold else None, overflow="fold",
                         min_width=min(max(longest_word, len(c.header)), 12),
                         no_wrap=numeric or c.kind in ("date", "time"))
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    for line in view.preamble:
        con.print(Text(line))
    con.print(table)
    for note in view.notes:
        con.print(Text(note))


def _fitting_columns(view: View, width: int) -> list[int]:
    """Indexes of the columns to show: optional ones are dropped when empty, or while the
    table would be wider than the terminal (text counted at up to 24 characters: it wraps)."""
    def needed(i: int) -> int:
        c = view.columns[i]
        cells = [_human(row[i], c.kind, view.currency) for row in view.rows]
        longest = max([len(c.header)] + [len(x) for x in cells])
        return (min(longest, 24) if c.kind == "text" else longest) + 3  # padding, separator

    def empty(i: int) -> bool:
        return all(row[i] in (None, "", ()) for row in view.rows)

    # An optional column with nothing in it is not worth its width.
    keep = [i for i, c in enumerate(view.columns) if not (c.drop and empty(i))]
    optional = sorted((c.drop, i) for i, c in enumerate(view.columns) if c.drop and i in keep)
    while optional and sum(needed(i) for i in keep) > width:
        keep.remove(optional.pop()[1])
    return keep


def out(text: str) -> None:
    """A line (or lines) of output on stdout."""
    sys.stdout.write(text + "\n")


def write(text: str) -> None:
    """Text exactly as given (an export) on stdout."""
    sys.stdout.write(text)


def message(text: str) -> None:
    """A confirmation for a person; user text in it must already be passed through shown()."""
    sys.stdout.write(text + "\n")


def error(text: str, label: str = "error") -> None:
    """An error sentence on stderr, prefixed so it stands out in cron mail."""
    sys.stderr.write(f"pipe: {label}: {text}\n")


def warn(text: str) -> None:
    sys.stderr.write(f"pipe: {text}\n")

