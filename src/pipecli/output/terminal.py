"""The table format on a terminal: Rich tables and the funnel chart, laid out so that a
number or an amount is never cut or split to fit the terminal's width — text columns wrap
first, then optional columns are left out (and a line says which), and a table that still
cannot fit is drawn wider than the terminal rather than cut."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from pipecli.output.render import NUMERIC, Chart, View, console, human_text, shown


def emit_table(view: View) -> None:
    """Draw a view as a Rich table that fits the terminal without cutting a figure."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console()
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
    table = Table(title=Text(shown(view.title), style="bold") if view.title else None,
                  box=box.SIMPLE_HEAD, show_footer=footer is not None,
                  title_justify="left", pad_edge=False)
    for i, width in zip(keep, widths):
        c = view.columns[i]
        fixed = c.kind in NUMERIC or c.kind in ("date", "time")
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
    for line in view.preamble:
        con.print(Text(line))
    con.print(table)
    if hidden:
        names = [view.columns[i].header for i in hidden]
        con.print(Text(f"({_words(names)} not shown: too wide for {terminal} columns; "
                       f"-o plain shows every column)"))
    for note in view.notes:
        con.print(Text(note))


_OVERHEAD = 3  # per column: a space of padding each side and a divider (less 1 in all)
_COMFORTABLE = 24  # text columns narrower than this make optional columns go first
_NARROWEST = 12  # text may wrap down to this (or its longest word, when shorter)
_FOLDED = 6  # and, when nothing else fits, be folded down to this


def _words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _layout(view: View, cells: list, footer: list | None,
            width: int) -> tuple[list[int], list[int], list[int]]:
    """Which columns to show, how wide, and which optional ones were hidden for want of
    room. Figures (numbers, amounts, dates) are never cut or wrapped: their columns are as
    wide as their longest line (a header may wrap onto two lines). Text columns wrap
    first, down to 12 characters; then optional columns go, highest `drop` first; then
    text is folded down to 6; a table still too wide is drawn wider than the terminal."""
    columns = view.columns
    lines = [[line for row in cells for line in row[i].split("\n")] +
             (footer[i].split("\n") if footer is not None else [])
             for i in range(len(columns))]

    def longest(texts) -> int:  # in terminal cells: 名 takes two
        return max((cell_len(t) for t in texts), default=0)

    hi, lo = [], []
    for i, c in enumerate(columns):
        header_words = longest(c.header.split())
        widest = max(longest(lines[i]), cell_len(c.header))
        if c.kind in NUMERIC or c.kind in ("date", "time"):
            lo.append(max(longest(lines[i]), header_words))
        else:
            words = longest(w for line in lines[i] for w in line.split())
            lo.append(min(max(words, header_words), _NARROWEST))
        hi.append(widest)

    def comfortable(i: int) -> int:
        fixed = columns[i].kind in NUMERIC or columns[i].kind in ("date", "time")
        return hi[i] if fixed else min(hi[i], _COMFORTABLE)

    def room(keep) -> int:
        return width - _OVERHEAD * len(keep) + 1

    def empty(i: int) -> bool:
        return all(row[i] in (None, "", ()) for row in view.rows)

    # An optional column with nothing in it is not worth its width.
    keep = [i for i, c in enumerate(columns) if not (c.drop and empty(i))]
    optional = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop and i in keep)
    hidden = []
    while optional and (sum(comfortable(i) for i in keep) > room(keep) or
                        sum(lo[i] for i in keep) > room(keep)):
        dropped = optional.pop()[1]
        keep.remove(dropped)
        hidden.append(dropped)
    widths = {i: hi[i] for i in keep}
    text = [i for i in keep if not (columns[i].kind in NUMERIC or
                                    columns[i].kind in ("date", "time"))]
    # Text gives way first (wrapping between words), then the headers of figures; as a
    # last resort text is folded inside its words, which loses nothing either.
    for floors in ({i: lo[i] for i in text}, {i: lo[i] for i in keep if i not in text},
                   {i: min(lo[i], _FOLDED) for i in text}):
        excess = sum(widths.values()) - room(keep)
        if excess > 0 and floors:
            _shrink(widths, floors, excess)
    return keep, [widths[i] for i in keep], sorted(hidden)


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
    """Draw a chart's bars; the figures beside them are never cut (shorter texts, shorter
    labels, and at worst a line wider than the terminal)."""
    from rich.table import Table
    from rich.text import Text

    con = console()
    labels = [shown(b[0]) for b in chart.bars]
    texts = [b[2] for b in chart.bars]
    text_width = max((cell_len(x) for x in texts), default=0)
    label_width = max((cell_len(x) for x in labels), default=0)
    # Figures are never cut: when label, a short bar and the texts do not fit, the shorter
    # texts (the same figures are in the tables that follow), then shorter labels.
    if chart.short is not None and min(label_width, 12) + text_width + CHART_MIN > con.width:
        texts = chart.short
        text_width = max((cell_len(x) for x in texts), default=0)
    cap = max(12, con.width // 3)  # long labels give way to the bars
    cap = max(6, min(cap, con.width - text_width - CHART_MIN))
    labels = [x if cell_len(x) <= cap else set_cell_size(x, cap - 1) + "…" for x in labels]
    label_width = max((cell_len(x) for x in labels), default=0)
    room = max(10, con.width - label_width - text_width - 6)
    if label_width + room + text_width + 4 > con.width:  # still too wide: run past the edge
        con = console(width=label_width + room + text_width + 4)
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


CHART_MIN = 16  # a chart row's shortest bar (10) and the gaps around it
