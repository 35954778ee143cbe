"""Property-based tests (hypothesis): any sequence of valid commands keeps the report's
invariants, and the event-log and SQLite backends give identical reports; the YAML loader
never fails with anything but a clear error; the importer only ever rejects rows or says
why. (tests/test_engine_model.py checks the report's figures against a model.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PIPELINE_YAML
from pipecli import journal, ops
from pipecli.engine.report import one_pipeline, report
from pipecli.errors import InvalidConfig, PipeError
from pipecli.pipeline import load_workspace, parse_workspace
from pipecli.store import open_store

T0 = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
STAGES = ["prospecting", "qualification", "proposal", "post_purchase"]
action = st.tuples(st.sampled_from(["add", "move", "won", "lost", "reopen", "edit", "rm",
                                    "undo", "redo"]),
                   st.integers(0, 5), st.sampled_from(STAGES), st.integers(0, 5000))


def play(folder: Path, store_file: str, actions):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store_file))
    ws = load_workspace(folder / "pipeline.yaml")
    store = open_store(ws.store_path)
    p = ws.pipelines[0]
    ids: list[str] = []
    for step, (kind, pick, stage, value) in enumerate(actions):
        at = T0 + timedelta(hours=step)
        try:
            if kind == "add" or not ids:
                ids.append(ops.add(store, p, name=f"deal {step}",
                                   fields={"value": Decimal(value), "email": "a@b.co"},
                                   at=at).deal.id)
                continue
            deal = ids[pick % len(ids)]
            if kind == "move":
                ops.move(store, ws, deal, stage=stage, at=at)
            elif kind == "won":
                ops.win(store, ws, deal, at=at)
            elif kind == "lost":
                ops.lose(store, ws, deal, reason="price", at=at)
            elif kind == "reopen":
                ops.reopen(store, ws, deal, at=at)
            elif kind == "rm":
                ops.remove(store, ws, deal, at=at)
            elif kind in ("undo", "redo"):
                journal.undo(store, ws, redo=kind == "redo")
            else:
                ops.edit(store, ws, deal, fields={"value": Decimal(value)}, at=at)
        except PipeError:
            pass  # a rule said no: that is a valid outcome of a random command
    moment = T0 + timedelta(days=400)
    return report(store, one_pipeline(p), moment), len(ids)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(action, min_size=1, max_size=25))
def test_invariants_and_backends_agree(tmp_path_factory, actions):
    folder = tmp_path_factory.mktemp("prop")
    on_csv, added = play(folder / "csv", "deals", actions)
    on_sqlite, _ = play(folder / "sqlite", "deals.sqlite", actions)
    assert on_csv == on_sqlite
    t = on_csv.totals
    present = sum(s.count for s in on_csv.stages)
    assert present == t.open_count + t.won_count + t.lost_count <= added
    assert sum(s.value for s in on_csv.stages) == t.open_value + t.won_value + t.lost_value
    funnel = [s.reached for s in on_csv.stages if s.reached is not None]
    assert funnel == sorted(funnel, reverse=True)
    assert funnel[0] == present  # every deal there reached the first stage
    assert all(0 <= s.conversion <= 1 for s in on_csv.stages if s.conversion is not None)
    assert t.win_rate is None or 0 <= t.win_rate <= 1
    assert not on_csv.strays


yaml_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["name: x", "kind: b2b", "currency: USD", "store: d.csv",
                              "store: d", "store: d.sqlite",
                              "stages:", "  - key: a", "    probability: 10", "  - {key: w, "
                              "probability: 100, outcome: won}", "    outcome: lost", "\t",
                              "- [", "&a [*a]", "!!python/object:os.system", "pipelines:",
                              "  - name: y", "requires: [email]", "key: 1e309", ": :"]),
             max_size=14).map("\n".join))


@settings(max_examples=1500, deadline=None)
@given(yaml_text)
def test_the_yaml_loader_only_ever_says_invalid_config(text):
    try:
        parse_workspace(text, Path("fuzz.yaml"))
    except InvalidConfig as e:
        assert e.problems and all(p.message for p in e.problems)


csv_text = st.lists(
    st.lists(st.one_of(st.sampled_from(["id", "name", "stage", "value", "won", "closed won",
                                        "Proposal", "-5", "1e309", "NaN", "2026-02-30",
                                        "12/31/26", "=cmd", '"', "", "x" * 600, "\x00",
                                        "2026-01-01T00:00:00+0000", "a@b", ";", "\t"]),
                       st.text(max_size=12)), min_size=1, max_size=6),
    min_size=1, max_size=8).map(lambda rows: "\n".join(",".join(r) for r in rows))


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(csv_text)
def test_the_importer_only_ever_rejects_rows_or_says_why(tmp_path_factory, text):
    from pipecli.exchange import importing
    from pipecli.errors import PipeError

    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    ws = load_workspace(folder / "pipeline.yaml")
    source = folder / "in.csv"
    source.write_text(text, encoding="utf-8")
    try:
        plan = importing.run(ws, ws.pipelines[0], open_store(ws.store_path), source,
                             importing.Options())
    except PipeError as e:
        assert str(e)
        return
    assert all(r.reason for r in plan.rejected)
    if not plan.rejected:  # written
        from pipecli.check import check_store

        assert check_store(ws, open_store(ws.store_path)).findings == []


IDS = ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd")
FIELD_TEXTS = {"pipeline": ("sales", "other", ""), "stage": ("prospecting", "proposal", "won",
                                                             "lost", "nowhere", ""),
               "status": ("open", "won", "lost", ""), "name": ("x", ""),
               "value": ("10", "0.5", ""), "probability": ("50", ""),
               "close_date": ("2026-03-01", ""), "lost_reason": ("price", "")}
JUNK = ("", "Bad!", "x y", "2026-02-30", "1e309", "-5", "101", "maybe", "bogus", "nope",
        "2026-01-01", "2026-01-01T00:00:00", "D3", "zz!", "=cmd", "'=cmd", "a;b")


@st.composite
def event_row(draw):
    """A row under pipe's own history header: mostly a well-formed event (creations,
    changes and reverts of a few deals, naming each other), sometimes with one cell junk."""
    from pipecli.store.codec import EVENT_COLUMNS, FIELD_COLUMNS

    kind = draw(st.sampled_from(["created"] * 3 + ["moved", "edited", "won", "lost",
                                                   "reopened", "handed_off", "returned",
                                                   "deleted", "undone", "redone"]))
    cells = dict.fromkeys(EVENT_COLUMNS, "")
    cells.update(id=draw(st.sampled_from(IDS)), deal=draw(st.sampled_from(["d1", "d2"])),
                 recorded=f"2026-01-01T00:00:{draw(st.integers(0, 59)):02d}.000000Z",
                 at=f"2026-01-{draw(st.integers(1, 28)):02d}T00:00:00+00:00", kind=kind,
                 prev=draw(st.sampled_from(("",) + IDS)))
    if kind in ("undone", "redone"):
        cells["target"] = draw(st.sampled_from(IDS))
    else:
        named = draw(st.lists(st.sampled_from(list(FIELD_TEXTS)), unique=True, max_size=4))
        if kind == "created":
            named = list(dict.fromkeys(["pipeline", "stage", "status", "name", *named]))
        cells["sets"] = " ".join(f for f in FIELD_COLUMNS if f in named)
        for f in named:
            cells[f] = draw(st.sampled_from(FIELD_TEXTS[f]))
        cells["tags_added"] = draw(st.sampled_from(["", "a", "a;b"]))
        cells["tags_removed"] = draw(st.sampled_from(["", "b"]))
    cells["note"] = draw(st.sampled_from(["", "=cmd", "'=cmd"]))
    if draw(st.integers(0, 4)) == 0:
        cells[draw(st.sampled_from(EVENT_COLUMNS))] = draw(st.sampled_from(JUNK))
    return [cells[c] for c in EVENT_COLUMNS]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event_row(), min_size=1, max_size=10))
def test_a_forged_history_file_is_rejected_or_lands_and_reads(tmp_path_factory, rows):
    """pipe's own history header: rows are rejected with a reason, or land as events that
    every report and `pipe check` read (check may report findings; nothing may crash), and
    importing the file again adds nothing."""
    import csv
    import io

    from pipecli.exchange import importing
    from pipecli.check import check_store
    from pipecli.store.codec import EVENT_COLUMNS

    assert all(len(r) == len(EVENT_COLUMNS) for r in rows)
    folder = tmp_path_factory.mktemp("forged")
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    ws = load_workspace(folder / "pipeline.yaml")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([EVENT_COLUMNS, *rows])
    source = folder / "history.csv"
    source.write_text(buf.getvalue(), encoding="utf-8")
    store = open_store(ws.store_path)
    result = importing.run(ws, ws.pipelines[0], store, source, importing.Options())
    assert all(r.reason for r in result.rejected)
    if result.rejected:
        return
    report(store, one_pipeline(ws.pipelines[0]), T0 + timedelta(days=30))
    check_store(ws, store)
    again = importing.run(ws, ws.pipelines[0], store, source, importing.Options(),
                          dry_run=True)
    assert not again.ready and not again.rejected

