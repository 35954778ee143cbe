"""Configured and observed stage probabilities side by side (engine.probabilities): a
section of the report and of `pipe forecast --probability historical`."""

from __future__ import annotations

from pipecli.engine.probabilities import Observed
from pipecli.output.render import Column, Document, View
from pipecli.output.shown import json_rate
from pipecli.rounding import half_up

FALLBACK_NOTE = ("* given: fewer closed deals passed the stage than the sample floor "
                 "({floor}), so the pipeline file's probability is used")


def probabilities_view(stages: tuple[Observed, ...], floor: int, *, title: str) -> View:
    """Stage, Given (the configured probability), Won, Closed, Observed, Used — the used
    one starred when it is the configured probability for want of a sample."""
    # "Given" (in the pipeline file): a header as short as its figures, so the table fits
    # 60 columns without splitting a word.
    columns = [Column("Stage"), Column("Given", "percent"), Column("Won", "number"),
               Column("Closed", "number"), Column("Observed", "rate"),
               Column("Used", "number")]
    rows = [[o.label, o.configured, o.won, o.closed, o.observed, used_text(o)]
            for o in stages]
    notes = [FALLBACK_NOTE.format(floor=floor)] if any(o.fallback for o in stages) else []
    return View(columns, rows, None, title=title, notes=notes)


def used_text(o: Observed) -> str:
    """The probability used, to 0.1 %, starred when it is the configured one for want of a
    sample ("27.3%", "80.0%*")."""
    return f"{half_up(o.used, 1)}%" + ("*" if o.fallback else "")


def probabilities_payload(stages: tuple[Observed, ...], floor: int) -> dict:
    """JSON (docs/json.md): the floor and, per open stage, configured (percent), won,
    closed, observed (a fraction to 4 decimals, null without a sample), used (percent to
    4 decimals) and fallback."""
    return {"sample_floor": floor, "stages": [
        {"stage": o.key, "configured": o.configured, "won": o.won, "closed": o.closed,
         "observed": json_rate(o.observed), "used": float(half_up(o.used, 4)),
         "fallback": o.fallback} for o in stages]}


def with_probabilities(doc: Document, stages: tuple[Observed, ...], floor: int,
                       title: str) -> Document:
    """A document with the probabilities section last and `probabilities` in its payload."""
    payload = dict(doc.payload, probabilities=probabilities_payload(stages, floor))
    return Document([*doc.sections, probabilities_view(stages, floor, title=title)],
                    payload, doc.flat)
