"""`pipe check`: validate the pipeline file and the whole store, every problem at once.

Each validation is a small function returning findings. The log is read again in full,
under the store's lock, so a check never reports a healthy store broken because a writer
was half-way; `--fix` never rewrites the log: it appends events the index saw that the log
lost (a write undone by `git checkout`), and rebuilds the index.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipecli.engine.fold import fold
from pipecli.models import OPEN, Deal, Event, Workspace
from pipecli.store import Store
from pipecli.store.base import Finding, Snapshot
from pipecli.store.codec import decode_line


@dataclass
class CheckResult:
    findings: list[Finding]
    missing: list[Event] = field(default_factory=list)  # what --fix would append back

    @property
    def fixable(self) -> list[Finding]:
        return [f for f in self.findings if f.fixable]


def check_store(ws: Workspace, store: Store) -> CheckResult:
    """Every problem of the store against the workspace's pipelines."""
    from pipecli.store.logstore import LogStore

    findings: list[Finding] = []
    missing: list[Event] = []
    if isinstance(store, LogStore):
        with store.checking() as (conn, scan):
            findings += scan
            missing = _missing(store, conn)
            findings += [Finding(str(store.path), f"event {e.id} of deal {e.deal_id} "
                                 f"({e.kind.value}, {e.at.isoformat()}) was recorded here but "
                                 f"is in no log file: a write lost to a git checkout or reset",
                                 fixable=True) for e in missing]
            findings += _store_findings(ws, Snapshot(conn), str(store.path))
    else:
        with store.read() as snapshot:
            findings += _store_findings(ws, snapshot, str(store.path))
    return CheckResult(findings, missing)


def _store_findings(ws: Workspace, snap: Snapshot, where: str) -> list[Finding]:
    out: list[Finding] = []
    for deal in snap.deals():
        out += _deal_problems(ws, f"{where}: deal {deal.id}", deal)
    for (deal_id,) in snap.conn.execute("SELECT DISTINCT deal FROM events").fetchall():
        out += _history_problems(where, list(snap.events(deal_id)))
    return out


def _history_problems(where: str, events: list[Event]) -> list[Finding]:
    """Events the engine had to leave out, and clashes: two changes made from the same
    previous event (on two branches) that set one field differently."""
    folded = fold(events)
    out = [Finding(f"{where}: deal {e.deal_id}", f"event {e.id} ({e.kind.value}) {why}; it "
                   f"is ignored") for e, why in folded.ignored]
    live = folded.in_effect
    by_prev: dict[str, list[Event]] = {}
    for e in events:
        if e.id in live and not e.kind.is_revert and e.prev:
            by_prev.setdefault(e.prev, []).append(e)
    for siblings in by_prev.values():
        for i, a in enumerate(siblings):
            for b in siblings[i + 1:]:
                for name in sorted(set(a.sets) & set(b.sets)):
                    if a.sets[name] == b.sets[name] or _settled(events, live, name, a, b):
                        continue
                    first, last = sorted((a, b), key=lambda e: (e.at, e.recorded, e.id))
                    out.append(Finding(
                        f"{where}: deal {a.deal_id}",
                        f"clash: {first.kind.value} (event {first.id}) and {last.kind.value} "
                        f"(event {last.id}) were both made from event {a.prev} and set "
                        f"{name} to {first.sets[name]!r} and {last.sets[name]!r}; the later "
                        f"one counts — settle it with the command that states what is true "
                        f"(e.g. `pipe {_settle(name)} {a.deal_id} ...`)"))
    return out


def _settled(events: list[Event], live: set[str], name: str, a: Event, b: Event) -> bool:
    """A newer change of the same field, recorded after both, settles a clash."""
    newest = max(a.order, b.order)
    return any(e.id in live and name in e.sets and e.order > newest for e in events)


def _settle(name: str) -> str:
    return {"stage": "move", "status": "reopen", "pipeline": "move"}.get(name, "edit")


def _deal_problems(ws: Workspace, where: str, deal: Deal) -> list[Finding]:
    pipeline = ws.pipeline_of(deal)
    if pipeline is None:
        known = ", ".join(p.name for p in ws.pipelines)
        return [Finding(where, f"deal {deal.id} is in pipeline {deal.pipeline!r}, which "
                               f"{ws.path.name} does not define (pipelines: {known})")]
    stage = pipeline.stage(deal.stage)
    if stage is None:
        return [Finding(where, f"deal {deal.id} is at stage {deal.stage!r}, which pipeline "
                               f"{pipeline.name!r} does not have")]
    if (stage.outcome or OPEN) != deal.status:
        return [Finding(where, f"deal {deal.id} is {deal.status} but stage {stage.key!r} "
                               f"means {stage.outcome or OPEN}")]
    return []


def _missing(store, conn) -> list[Event]:
    """Events the index saw that no log file holds, less those a commit holds (they are
    on another branch, not lost)."""
    rows = conn.execute("SELECT id, line FROM missing ORDER BY id").fetchall()
    if not rows:
        return []
    committed = _committed_lines(store.path)
    out = []
    for event_id, line in rows:
        if event_id in committed:
            continue
        try:
            out.append(decode_line(line.rstrip("\n")))
        except ValueError:
            continue
    return out


def _committed_lines(folder: Path) -> str:
    """Every line any commit of the repository ever added under the folder (empty when the
    folder is not in a git repository, or git is not installed)."""
    try:
        done = subprocess.run(["git", "log", "--all", "--format=", "-p", "--", "."],
                              cwd=folder, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""


def fix_store(store: Store, result: CheckResult) -> int:
    """Append lost events back and rebuild the index; returns how many were appended."""
    from pipecli.store.logstore import LogStore

    if isinstance(store, LogStore):
        return store.restore(result.missing)
    return 0
