"""The table format on a terminal: Rich tables and the funnel chart, laid out so that
nothing a person reads is cut. A number, an amount or a date is never cut or split, and a
word only when it is longer than 16 cells (an e-mail address, a URL). Text columns wrap
first (between words), then optional columns are left out and a line names them
("hidden: owner, company (widen the terminal or use -o plain)"); a table that still cannot
fit is drawn wider than the terminal rather than cut. A table without rows is its one
sentence ("No deals match."), never a header over nothing. Lines end without the blanks
Rich pads them with."""

from __future__ import annotations

from rich.cells import cell_len

from pipecli.output.render import NUMERIC, Chart, View, console, human_text, shown

_OVERHEAD = 3  # per column: a space of padding each side and a divider (less 1 in all)
# Text columns keep this width (or what they need, when less) before an optional column
# goes; below it they still wrap, down to their longest word, when nothing else can give.
_COMFORTABLE = 16
_LONG_WORD = 16  # a word longer than this may be folded across lines; a shorter one never
BAR_MIN = 10  # a chart's shortest bar room


def emit_table(view: View) -> None:
    """Draw a view as a Rich table that fits the terminal without cutting a figure."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console()
    if not view.rows:  # nothing to tabulate: the sentence that says so, no bare header
        lines = [Text(shown(view.title), style="bold")] if view.title else []
        _print(con, *lines, *(Text(line) for line in view.preamble + view.notes))
        return
    # Amounts of several currencies go one per line, so a cell is never wider than its
    # widest amount.
    cells = [[human_text(v, c.kind, view.currency, "\n") for v, c in zip(row, view.columns)]
             for row in view.rows]
    footer = [human_text(v, c.kind, view.currency, "\n") for v, c in
              zip(view.footer, view.columns)] if view.footer is not None else None
    terminal = con.width
    keep, widths, hidden = _layout(view, cells, footer, terminal)
    needed = sum(widths) + _OVERHEAD * len(keep) - 1
    if needed > terminal:  # nothing left to drop or wrap: run past the edge, never cut
        con = console(width=needed)
    table = Table(box=box.SIMPLE_HEAD, show_footer=footer is not None, pad_edge=False)
    for i, width in zip(keep, widths):
        c = view.columns[i]
        fixed = _fixed(c)
        table.add_column(Text(c.header, no_wrap=False),
                         footer=Text(footer[i], style="bold", no_wrap=fixed or None)
                         if footer is not None else "",
                         justify="right" if c.kind in NUMERIC else "left",
                         style="bold" if c.bold else None, overflow="fold", width=width,
                         no_wrap=fixed)
    for row in cells:
        # A figure never wraps; a header over a narrow figure may (the Text's own no_wrap
        # beats its column's).
        table.add_row(*(Text(row[i], no_wrap=view.columns[i].kind in NUMERIC or None)
                        for i in keep))
    # The title is its own line, so that it wraps at the terminal's width, not the table's.
    title = [Text(shown(view.title), style="bold")] if view.title else []
    _print(con, *(Text(line) for line in view.preamble), *title, table)
    after = [hidden_line([view.columns[i].header for i in hidden], terminal)] if hidden \
        else []
    if after or view.notes:  # set apart from the table by a blank line
        _print(con, Text(""), *(Text(line) for line in after + view.notes))


def emit_lines(lines: list[str], bold: bool = False) -> None:
    """Lines of text (a heading when bold), wrapped between words at the terminal's width."""
    from rich.text import Text

    _print(console(), *(Text(line, style="bold" if bold else None) for line in lines))


def hidden_line(headers: list[str], width: int) -> str:
    """The line under a table that left columns out, in the order they were left out; a
    shorter wording when the usual one would not fit on one line."""
    names = ", ".join(h.lower() for h in headers)
    for hint in ("widen the terminal or use -o plain", "-o plain shows them"):
        if cell_len(f"hidden: {names} ({hint})") <= width:
            break
    else:
        hint = "see -o plain"
    return f"hidden: {names} ({hint})"


def _print(con, *renderables) -> None:
    """Print without the blanks Rich pads lines with: invisible on screen, they make a
    copied table ragged and wrap it again in a window narrower than the table's line. A
    table loses the empty lines of its box's top and bottom edges: its title sits on its
    header, and one blank line (not two) parts it from what follows."""
    from rich.segment import Segment, Segments
    from rich.table import Table

    segments: list = []
    for renderable in renderables:
        lines = []
        for line in con.render_lines(renderable, pad=False):
            while line and not line[-1].control and not line[-1].text.rstrip():
                line.pop()
            if line and not line[-1].control:
                line[-1] = Segment(line[-1].text.rstrip(), line[-1].style)
            lines.append(line)
        if isinstance(renderable, Table):
            while lines and not lines[0]:
                lines.pop(0)
            while lines and not lines[-1]:
                lines.pop()
        for line in lines:
            segments += line + [Segment.line()]
    if segments:
        con.print(Segments(segments), end="")


def _fixed(column) -> bool:
    """A figure: never wrapped or cut (numbers, amounts, dates, times)."""
    return column.kind in NUMERIC or column.kind in ("date", "time")


def _layout(view: View, cells: list, footer: list | None,
            width: int) -> tuple[list[int], list[int], list[int]]:
    """Which columns to show, how wide, and which optional ones were hidden for want of
    room (in the order they were hidden). Figures are never cut or wrapped: their columns
    are as wide as their longest line (a header may wrap onto two lines). Text columns
    wrap first, down to 16 cells; then optional columns go, highest `drop` first (and come
    back, most wanted first, if the others' going made room); then text wraps on down to
    its longest word (of at most 16: a longer one is folded); a table still too wide is
    drawn wider than the terminal."""
    columns = view.columns
    lines = [[line for row in cells for line in row[i].split("\n")] +
             (footer[i].split("\n") if footer is not None else [])
             for i in range(len(columns))]

    def longest(texts) -> int:  # in terminal cells: 名 takes two
        return max((cell_len(t) for t in texts), default=0)

    hi, lo = [], []
    for i, c in enumerate(columns):
        header_words = longest(c.header.split())
        hi.append(max(longest(lines[i]), cell_len(c.header)))
        if _fixed(c):
            lo.append(max(longest(lines[i]), header_words))
        else:
            words = longest(w for line in lines[i] for w in line.split())
            lo.append(max(min(words, _LONG_WORD), header_words))

    def comfortable(i: int) -> int:
        return hi[i] if _fixed(columns[i]) else max(lo[i], min(hi[i], _COMFORTABLE))

    def fits(keep) -> bool:
        return sum(comfortable(i) for i in keep) <= room(keep)

    def room(keep) -> int:
        return width - _OVERHEAD * len(keep) + 1

    def empty(i: int) -> bool:
        return all(row[i] in (None, "", ()) for row in view.rows)

    # An optional column with nothing in it is not worth its width.
    keep = [i for i, c in enumerate(columns) if not (c.drop and empty(i))]
    optional = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop and i in keep)
    hidden = []
    while optional and not fits(keep):
        dropped = optional.pop()[1]
        keep.remove(dropped)
        hidden.append(dropped)
    for i in sorted(hidden, key=lambda i: columns[i].drop):  # the most wanted first
        if fits(sorted(keep + [i])):
            keep = sorted(keep + [i])
            hidden.remove(i)
    widths = {i: hi[i] for i in keep}
    text = [i for i in keep if not _fixed(columns[i])]
    # Text gives way first (wrapping between words, where it costs the fewest lines), then
    # the headers of figures.
    excess = sum(widths.values()) - room(keep)
    if excess > 0 and text:
        rows = [[row[i] for i in range(len(columns))] for row in cells[:_SAMPLE]] + \
            [[c.header for c in columns]] + ([footer] if footer is not None else [])
        _fit_text(widths, {i: lo[i] for i in text}, rows, excess)
    excess = sum(widths.values()) - room(keep)
    figures = {i: lo[i] for i in keep if i not in text}
    if excess > 0 and figures:
        _shrink(widths, figures, excess)
    return keep, [widths[i] for i in keep], hidden


_SAMPLE = 200  # rows the text widths are balanced on (the rest are wrapped alike)


def _fit_text(widths: dict, floors: dict, rows: list, excess: int) -> None:
    """Narrow the text columns in `floors` by `excess` in all (or down to their floors) so
    that the table takes the fewest lines: from their full widths, the cells are taken
    where they cost the fewest lines per cell (a long name that wraps anyway gives way
    before a short alert that would start wrapping on every row). `rows` are the cells
    (header, a sample of the rows, the footer) the cost is measured on."""
    chosen = {i: widths[i] for i in floors}
    need = min(excess, sum(chosen[i] - floors[i] for i in floors))
    cache: dict = {}

    def lines(i: int, width: int) -> list[int]:
        if (i, width) not in cache:
            cache[i, width] = [sum(len(_wrap(part, width)) for part in row[i].split("\n"))
                               for row in rows]
        return cache[i, width]

    fixed = [max([1] + [row[j].count("\n") + 1 for j in widths if j not in floors])
             for row in rows]
    while need > 0:
        best = None  # (lines per cell, -cells, -width, column, cells)
        for i in chosen:
            # the row heights the other columns make; the table's lines, then (to break
            # ties) the cells' lines: the fewer cells that wrap, the tidier
            others = [max([f] + [lines(j, chosen[j])[k] for j in chosen if j != i])
                      for k, f in enumerate(fixed)]
            now = lines(i, chosen[i])
            before = sum(map(max, others, now)) * _ROW + sum(now)
            for cells in range(1, min(need, chosen[i] - floors[i]) + 1):
                after = lines(i, chosen[i] - cells)
                cost = sum(map(max, others, after)) * _ROW + sum(after) - before
                key = (cost / cells, -cells, -chosen[i], i, cells)
                best = key if best is None or key < best else best
        chosen[best[3]] -= best[4]
        need -= best[4]
    widths.update(chosen)


_ROW = 10 ** 6  # a line more for the table outweighs any number of wrapped cells


def _shrink(widths: dict, floors: dict, excess: int) -> None:
    """Narrow the columns in `floors` by `excess` in all (or as far as their floors allow),
    widest first: each is cut down to a common cap, none below its floor."""
    def total(cap: int) -> int:
        return sum(max(floors[i], min(widths[i], cap)) for i in floors)

    target = sum(widths[i] for i in floors) - excess
    low, high = 0, max(widths[i] for i in floors)
    while low < high:  # the largest cap whose total fits the target
        middle = (low + high + 1) // 2
        low, high = (middle, high) if total(middle) <= target else (low, middle - 1)
    spare = target - total(low)
    for i in floors:
        cut = widths[i] > low
        widths[i] = max(floors[i], min(widths[i], low))
        if cut and spare > 0 and widths[i] == low:  # what the cap left over, one by one
            widths[i] += 1
            spare -= 1


def emit_chart(chart: Chart) -> None:
    """Draw a chart: on each line a label, its bar and the bar's figures, under headings.
    Nothing is cut: when the line does not fit, the figures give way first (to the
    `short` set: the same figures are in the tables that follow), then the labels wrap
    between words, down to their longest; then the line runs past the edge."""
    from rich.text import Text

    con = console()
    title = [Text(chart.title, style="bold")] if chart.title else []
    if chart.empty and not any(size for _, size, _ in chart.bars):
        _print(con, *title, Text(chart.empty))
        return
    labels = [shown(label) for label, _, _ in chart.bars]
    label_width = max((cell_len(x) for x in labels), default=0)
    word_width = max((cell_len(w) for x in labels for w in x.split()), default=0)
    count = len(chart.headings) or max((len(f) for _, _, f in chart.bars), default=0)
    choices = [tuple(range(count))] + ([tuple(chart.short)] if chart.short is not None else [])

    def figure_widths(keep) -> list[int]:
        heads = [cell_len(chart.headings[k]) if chart.headings else 0 for k in keep]
        return [max([h] + [cell_len(f[k]) for _, _, f in chart.bars]) for h, k in
                zip(heads, keep)]

    def spread(widths) -> int:  # the figures' width, two spaces apart
        return sum(widths) + 2 * max(len(widths) - 1, 0)

    for keep in choices:  # whole labels, with all the figures or the short set
        if label_width + BAR_MIN + 2 + spread(figure_widths(keep)) <= con.width:
            wrap = label_width
            break
    else:  # labels wrap between words, as far as their longest word
        wrap = max(word_width, con.width - BAR_MIN - 2 - spread(figure_widths(keep)))
        wrap = min(wrap, label_width)
    widths = figure_widths(keep)
    room = max(BAR_MIN, con.width - wrap - 2 - spread(widths))
    if wrap + room + 2 + spread(widths) > con.width:  # still too wide: run past the edge
        con = console(width=wrap + room + 2 + spread(widths))
    largest = max((size for _, size, _ in chart.bars), default=0) or 1
    lines = []
    if chart.headings:
        heads = "  ".join(_right(chart.headings[k], w) for k, w in zip(keep, widths))
        lines.append(Text(" " * (wrap + room + 2) + heads))
    for label, (_, size, figures) in zip(labels, chart.bars):
        length = max(round(size / largest * room), 1) if size else 0
        parts = _wrap(label, wrap)
        lines += [Text(_right(part, wrap)) for part in parts[:-1]]
        # the bar beside the label's last line, which reads into it
        line = Text(_right(parts[-1], wrap) + " ")
        line.append("█" * length, style="cyan")
        line.append(" " * (room - length + 1) +
                    "  ".join(_right(figures[k], w) for k, w in zip(keep, widths)))
        lines.append(line)
    _print(con, *title, *lines)


def _right(text: str, width: int) -> str:
    return " " * (width - cell_len(text)) + text


def _wrap(text: str, width: int) -> list[str]:
    """Text in lines of at most `width` cells, broken between words (a word longer than
    the width is folded)."""
    lines, line = [], ""
    for word in text.split() or [""]:
        while cell_len(word) > width:  # a long word: folded, cell by cell
            if line:
                lines.append(line)
                line = ""
            cut = 0
            while cell_len(word[:cut + 1]) <= width:
                cut += 1
            lines.append(word[:max(cut, 1)])
            word = word[max(cut, 1):]
        if not word:
            continue
        if line and cell_len(line) + 1 + cell_len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]
