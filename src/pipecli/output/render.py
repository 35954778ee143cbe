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
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Sequence

from pipecli.rounding import half_up, percent
from pipecli.values import CONTROL, format_money, guard_formula

FORMATS = ("table", "plain", "csv", "tsv", "json", "markdown")
# -o html is a page of charts made from a command's own values (pipecli.output.html), not
# from a View: only these commands make one, every other refuses it (refuse_html).
HTML_COMMANDS = ("report", "forecast", "board", "digest", "costs", "customers")
NUMERIC = ("money", "number", "percent", "rate", "days")
MACHINE_PLACES = {"days": 2, "rate": 4}  # csv/tsv places of exact figures (docs/metrics.md)


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
    machine: "View | None" = None  # what csv/tsv write instead, when it differs (bare numbers)


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
    # What csv/tsv write instead, when it differs: (columns, row) of bare numbers.
    machine: tuple[Sequence[Column], Callable[[Any], Sequence[Any]]] | None = None


@dataclass
class Chart:
    """Horizontal bars (drawn in the table format only): label, size and the figures beside
    the bar, under `headings`; `short` picks the figures (by position) kept when all of them
    do not fit the terminal; `empty` is said instead of bars that are all 0."""

    title: str
    bars: list[tuple[str, float, Sequence[str]]]
    headings: Sequence[str] = ()
    short: Sequence[int] | None = None
    empty: str = ""


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


def per_currency(amounts: dict, sep: str = "; ") -> str:
    """Amounts kept apart by currency, never added: "1,000 EUR; 2,500.50 USD" (the
    currencies with an amount; "0" when none has one). The table format puts each on its
    own line (sep "\n") so that no amount is ever cut to fit a column."""
    shown_parts = [f"{format_money(a, c)} {c}" for c, a in sorted(amounts.items())
                   if a is not None and a != 0]
    if shown_parts:
        return sep.join(shown_parts)
    if len(amounts) == 1:  # one labelled amount of 0 keeps its code: "0 EUR"
        code, amount = next(iter(amounts.items()))
        if amount is not None:
            return f"{format_money(amount, code)} {code}"
    return "0" if any(a is not None for a in amounts.values()) else ""


def human_text(value: Any, kind: str, currency: str, sep: str = "; ") -> str:
    """A cell for people (table, plain, markdown); amounts per currency joined by `sep`."""
    if value is None or value == "":
        return ""
    if kind == "money":
        return per_currency(value, sep) if isinstance(value, dict) else \
            format_money(value, currency)
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
    if isinstance(value, Fraction):  # exact: rounded once, half-up, as docs/metrics.md says
        value = half_up(value, MACHINE_PLACES.get(kind, 4))
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
    """Payload values as JSON values: dates → ISO strings, tuples → arrays; a Decimal stays
    a Decimal, for json_text to write exactly."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def json_number(value: Decimal) -> str:
    """A Decimal as a JSON number, digit for digit: 2500.50 → 2500.5, 1E+3 → 1000. Never
    through a float, which keeps only about 16 significant digits (a converted sum can have
    more)."""
    text = format(value, "f")  # exact: no context, no exponent
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def json_text(value: Any, level: int = 0) -> str:
    """A payload as JSON text, laid out as json.dumps(indent=2, ensure_ascii=False) lays it
    out, with every Decimal written exactly (json_number)."""
    value = to_json(value)
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict) and value:
        inner = "\n" + "  " * (level + 1)
        items = [f"{json.dumps(k if isinstance(k, str) else json.dumps(k), ensure_ascii=False)}"
                 f": {json_text(v, level + 1)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + "\n" + "  " * level + "}"
    if isinstance(value, list) and value:
        inner = "\n" + "  " * (level + 1)
        items = [json_text(v, level + 1) for v in value]
        return "[" + inner + ("," + inner).join(items) + "\n" + "  " * level + "]"
    return json.dumps(value, ensure_ascii=False)  # str, int, float, bool, None, {} and []


def refuse_html(fmt: str | None) -> None:
    """-o html reaching a View, a Stream or a Document: the command makes no page; one
    sentence, exit 2."""
    if fmt == "html":
        from pipecli.errors import UsageError

        raise UsageError(f"-o html is made by pipe {', '.join(HTML_COMMANDS[:-1])} and "
                         f"{HTML_COMMANDS[-1]} only; this command prints "
                         f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}")


def emit(view: View, fmt: str | None) -> None:
    """Print a view in the chosen format (the default depends on where stdout goes)."""
    refuse_html(fmt)
    fmt = fmt or default_format()
    if fmt == "json":
        out(json_text(view.payload))
    elif fmt in ("csv", "tsv"):
        _emit_delimited(view.machine or view, "," if fmt == "csv" else "\t")
    elif fmt == "table":
        from pipecli.output.terminal import emit_table

        emit_table(view)
    else:
        _emit_tabulate(view, "github" if fmt == "markdown" else "plain")


BUFFERED = 1000  # plain/markdown rows measured for column widths before streaming the rest
TABLE_ROWS = 5000  # a Rich table holds its rows; beyond this, aligned plain text instead


def emit_stream(stream: Stream, fmt: str | None) -> None:
    """Print a stream in the chosen format, holding at most a screenful-sized buffer."""
    refuse_html(fmt)
    import itertools

    fmt = fmt or default_format()
    items = iter(stream.items)
    if fmt == "json":
        first = True
        for item in items:
            text = json_text(stream.payload(item), level=1)
            sys.stdout.write(("[\n" if first else ",\n") + "  " + text)
            first = False
        out("[]" if first else "\n]")
        return
    if fmt in ("csv", "tsv"):
        columns, row = stream.machine or (stream.columns, stream.row)
        _emit_delimited(View(columns, (row(i) for i in items), None),
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
    rows = (tuple(human_text(v, c.kind, stream.currency)
                  for v, c in zip(stream.row(i), columns)) for i in items)
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
    refuse_html(fmt)
    fmt = fmt or default_format()
    if fmt == "json":
        out(json_text(doc.payload))
        return
    if fmt in ("csv", "tsv"):
        _emit_delimited(doc.flat, "," if fmt == "csv" else "\t")
        return
    first = True
    for section in doc.sections:
        if isinstance(section, Chart) and fmt not in ("table", "markdown"):
            continue
        if not first:
            out("")
        first = False
        if isinstance(section, (str, list)):
            lines = [section] if isinstance(section, str) else section
            if fmt == "table":
                from pipecli.output.terminal import emit_lines

                emit_lines([shown(line) for line in lines], bold=isinstance(section, str))
            elif fmt == "markdown":
                out(f"# {shown(section)}" if isinstance(section, str) else
                    markdown_lines([shown(line) for line in lines]))
            else:
                out("\n".join(shown(line) for line in lines))
        elif isinstance(section, Chart):
            if fmt == "markdown":
                emit(chart_view(section), fmt)
            else:
                from pipecli.output.terminal import emit_chart

                emit_chart(section)
        else:
            emit(section, fmt)


_FIGURE = re.compile(r"^\s*([^:|]{1,20}):\s+(\S.*)$")  # "Win rate:   6.3%", a short label


def markdown_lines(lines: list[str]) -> str:
    """Lines of text as Markdown that renders as it reads: "Label: figure" lines as a
    two-column table (one row each — consecutive lines would merge into one paragraph),
    any other lines as paragraphs of their own."""
    found = [_FIGURE.match(line) for line in lines]
    lead = [] if found and found[0] else lines[:1]  # a heading line (`pipe show`'s first)
    found = found[len(lead):]
    if len(found) >= 2 and all(found):
        rows = [f"| {md_cell(m[1].strip())} | {md_cell(' '.join(m[2].split()))} |"
                for m in found]
        table = "\n".join(["| Figure | Value |", "|:--|:--|", *rows])
        return "\n\n".join([*(md_cell(x.strip(), table=False) for x in lead), table])
    return "\n\n".join(md_cell(line.strip(), table=False) for line in lines)


def md_cell(text: str, table: bool = True) -> str:
    """Text safe in Markdown: a `|` cannot end a table cell; no line starts a block."""
    if table:  # an unescaped | ends a cell (one a view escaped itself stays as it is)
        text = re.sub(r"(?<!\\)\|", r"\\|", text)
    if not table and re.match(r"^(#{1,6}(\s|$)|[-+*](\s|$)|>|\d+[.)](\s|$))", text):
        text = "\\" + text  # a name like "# hot" or "1. Acme" is not a heading or list
    return text.replace("\n", " ")


def chart_view(chart: Chart) -> View:
    """A chart's bars as a table (its label, then its figures — already formatted text —
    under their headings): what a format without bars shows."""
    widest = max((len(figures) for _, _, figures in chart.bars), default=0)
    headings = list(chart.headings)[:widest]
    headings += [""] * (widest - len(headings))
    columns = [Column("Stage")] + [Column(h or " ", "number") for h in headings]
    rows = [[label, *figures, *[""] * (widest - len(figures))]
            for label, _, figures in chart.bars]
    return View(columns, rows, None, title=chart.title,
                notes=[chart.empty] if chart.empty and not any(s for _, s, _ in chart.bars)
                else [])


def _emit_delimited(view: View, delimiter: str) -> None:
    import csv

    writer = csv.writer(sys.stdout, delimiter=delimiter, lineterminator="\n")
    writer.writerow([c.header for c in view.columns])
    for row in view.rows:
        writer.writerow([_machine(v, c.kind) for v, c in zip(row, view.columns)])


def _emit_tabulate(view: View, tablefmt: str) -> None:
    from tabulate import tabulate

    rows = [[human_text(v, c.kind, view.currency) for v, c in zip(row, view.columns)]
            for row in view.rows]
    if view.footer is not None:
        rows.append([human_text(v, c.kind, view.currency)
                     for v, c in zip(view.footer, view.columns)])
    align = ["right" if c.kind in NUMERIC else "left"
             for c in view.columns]
    markdown = tablefmt == "github"
    headers = [c.header for c in view.columns]
    if markdown:  # a `|` in a name must not end its cell
        rows = [[md_cell(cell) for cell in row] for row in rows]
        headers = [md_cell(h) for h in headers]
    lines = []
    if view.title:
        lines.append(f"## {shown(view.title)}\n" if markdown else shown(view.title))
    if view.preamble:
        lines.extend([markdown_lines(view.preamble), ""] if markdown else view.preamble + [""])
    if rows or markdown:
        lines.append(tabulate(rows, headers=headers, tablefmt=tablefmt,
                              colalign=align, disable_numparse=True))
    notes = [n for n in view.notes if n.strip()]
    if markdown and notes:  # after a blank line, each its own paragraph: not a row
        lines.extend(["", "\n\n".join(" ".join(n.split()) for n in notes)])  # pipe's own
    else:
        lines.extend(view.notes)
    out("\n".join(lines))


def console(stderr: bool = False, width: int | None = None):
    """A Rich console for pipe's output (`width`: wider than the terminal, for a table that
    cannot be narrowed without cutting a figure)."""
    from rich.console import Console

    # NO_COLOR and COLUMNS are honoured by Rich itself.
    return Console(stderr=stderr, highlight=False, emoji=False, markup=False,
                   soft_wrap=False, width=width)


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

