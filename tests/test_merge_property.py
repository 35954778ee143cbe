"""The merge property (hypothesis): random commands split over two clones of one event log
— each clone working on its own deals — then merged the way git merges them (each clone's
log files are its own, so a merge is the union of the files), give the same report and the
same deals as one store that received every command in time order."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PIPELINE_YAML
from pipecli import ops
from pipecli.engine.report import one_pipeline, report
from pipecli.errors import PipeError
from pipecli.pipeline import load_workspace

T0 = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
STAGES = ["prospecting", "qualification", "proposal", "post_purchase"]
BASE_DEALS = 4
command = st.tuples(st.sampled_from(["add", "move", "won", "lost", "reopen", "edit", "rm"]),
                    st.integers(0, 50), st.sampled_from(STAGES), st.integers(0, 5000),
                    st.booleans())


class Clone:
    """One workspace folder and the ops it takes."""

    def __init__(self, folder: Path):
        self.ws = load_workspace(folder / "pipeline.yaml")
        self.store = ops_store(self.ws)
        self.pipeline = self.ws.pipelines[0]

    def apply(self, kind: str, name: str, stage: str, value: int, at: datetime) -> None:
        ws, store = self.ws, self.store
        try:
            if kind == "add":
                ops.add(store, self.pipeline, name=name, at=at,
                        fields={"value": Decimal(value), "email": "a@b.co"})
            elif kind == "move":
                ops.move(store, ws, name, stage=stage, at=at)
            elif kind == "won":
                ops.win(store, ws, name, at=at)
            elif kind == "lost":
                ops.lose(store, ws, name, reason="price", at=at)
            elif kind == "reopen":
                ops.reopen(store, ws, name, at=at)
            elif kind == "rm":
                ops.remove(store, ws, name, at=at)
            else:
                ops.edit(store, ws, name, fields={"value": Decimal(value)}, at=at)
        except PipeError:
            pass  # refused by a rule: the same refusal happens in the single store

    def state(self):
        moment = T0 + timedelta(days=60)
        figures = report(self.store, one_pipeline(self.pipeline), moment)
        with self.store.read() as snap:
            deals = sorted((d.name, d.stage, d.status, d.value, d.created_at, d.closed_at)
                           for d in snap.deals())
        return figures, deals


def ops_store(ws):
    from pipecli.store import open_store

    return open_store(ws.store_path)


def workspace(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    return folder


def copy_of(base: Path, folder: Path) -> Path:
    """A clone: the pipeline file and the log files, never the local index or writer."""
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns(".local"))
    return folder


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(st.lists(command, min_size=1, max_size=25))
def test_two_clones_merged_equal_one_store_in_time_order(tmp_path_factory, commands):
    root = tmp_path_factory.mktemp("merge")
    base = workspace(root / "base")
    seed = Clone(base)
    # Names of one width that never hold one another: a DEAL reference by name also matches
    # a part of a name ("deal 1" is in "base deal 1" and "deal 12"), and a clone that
    # lacks one of them would resolve a reference the single store finds ambiguous.
    names = [f"base-{i:03d}" for i in range(BASE_DEALS)]
    for i, name in enumerate(names):
        seed.apply("add", name, "", 1000 * (i + 1), T0 + timedelta(minutes=i))
    a, b, single = (Clone(copy_of(base, root / n)) for n in ("a", "b", "single"))
    side = {name: (a if i % 2 else b) for i, name in enumerate(names)}
    for step, (kind, pick, stage, value, on_a) in enumerate(commands, start=1):
        at = T0 + timedelta(hours=step)
        if kind == "add":
            name = f"deal-{step:03d}"
            side[name] = a if on_a else b
            names.append(name)
        else:
            name = names[pick % len(names)]
        side[name].apply(kind, name, stage, value, at)
        single.apply(kind, name, stage, value, at)
    # The merge: b's log files land beside a's (git brings them; no file is in both).
    for log in sorted((root / "b" / "deals").glob("*.csv")):
        target = root / "a" / "deals" / log.name
        if not target.exists():
            shutil.copy(log, target)
        else:
            assert target.read_bytes() == log.read_bytes()  # the shared base, unchanged
    merged = Clone(root / "a")
    assert merged.state() == single.state()
