"""The HTML report: one self-contained page (inline CSS and SVG; no script, font, image or
link) for `pipe report`, `forecast`, `board`, `digest`, `costs` and `customers` with
`-o html`.

  svg.py          horizontal bar charts as SVG text, every label escaped
  charts.py       one chart per figure, from the engine's pure values
  blocks.py       the page, sections, figures, tables, tiles (inline styles for mail)
  page.py         what every page shares: filters in words, footer, stage probabilities
  report_page.py  pipe report's sections
  lists_page.py   pipe forecast's and pipe board's sections
  digest_page.py  pipe digest's sections
  costs_page.py   pipe costs' sections
  customers_page.py  pipe customers' sections

Imported only when -o html is asked for (tests/test_startup.py keeps it out of pipe add).
"""
