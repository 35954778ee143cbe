"""`pipe check`: validate the pipeline file and the whole store, every problem at once.

The history is the record; the current deals are what it implies. So a deal row that
contradicts its history, or that a git merge left in conflict, can be rebuilt from the
history without guessing — that, re-sorting rows, normalising line endings and keeping both
sides of a conflict in the (append-only) history is what --fix does. Anything that would
need a decision (an unknown stage, an unreadable amount, one event changed two ways) is
reported and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from pipecli.models import OPEN, Deal, Event, Workspace
from pipecli.replay import rebuild
from pipecli.store import Store
from pipecli.store.base import Finding, Scan

_COMPARED = [f.name for f in fields(Deal)]


@dataclass
class CheckResult:
    findings: list[Finding]
    repaired_deals: list[Deal] = field(default_factory=list)  # what --fix would write
    repaired_events: list[Event] = field(default_factory=list)
    rebuilt: int = 0
    blocked: str = ""  # why --fix must not rewrite the store (it would lose something)

    @property
    def fixable(self) -> list[Finding]:
        return [f for f in self.findings if f.fixable]

    @property
    def can_fix(self) -> bool:
        return bool(self.fixable) and not self.blocked


def check_store(ws: Workspace, store: Store) -> CheckResult:
    """Every problem of the store against the workspace's pipelines."""
    scan = store.scan()
    findings = list(scan.findings)
    events = _events_by_deal(scan, findings)
    rows: dict[str, list[tuple[str, Deal]]] = {}
    for where, deal in scan.deals:
        rows.setdefault(deal.id, []).append((where, deal))
    repaired: list[Deal] = []
    rebuilt = 0
    for deal_id in sorted(set(rows) | set(events)):
        history = events.get(deal_id, [])
        present = rows.get(deal_id, [])
        implied = rebuild([e for _, e in history]) if history else None
        where = present[0][0] if present else (history[0][0] if history else "")
        findings.extend(_history_problems(ws, deal_id, history))
        if not history:
            for w, d in present:
                findings.append(Finding(w, f"deal {d.id} has no history (no `created` event)"))
                repaired.append(d)
            continue
        if implied is None:
            if present:
                findings.append(Finding(where, f"deal {deal_id} was deleted in its history but "
                                               f"still has a row", fixable=True))
                rebuilt += 1
            continue
        repaired.append(implied)
        findings.extend(_deal_problems(ws, where, implied))
        if not present:
            findings.append(Finding(where, f"deal {deal_id} has a history but no row",
                                    fixable=True))
            rebuilt += 1
        elif len(present) > 1 or present[0][1] != implied:
            rebuilt += 1
            if len(present) > 1:
                findings.append(Finding(where, f"deal {deal_id} has {len(present)} rows "
                                               f"(a merge kept both sides)", fixable=True))
            else:
                field_name = next(n for n in _COMPARED
                                  if getattr(present[0][1], n) != getattr(implied, n))
                findings.append(Finding(
                    where, f"deal {deal_id}'s row says {field_name} = "
                           f"{_text(getattr(present[0][1], field_name))!r} but its history "
                           f"says {_text(getattr(implied, field_name))!r}", fixable=True))
    all_events = [e for history in events.values() for _, e in history]
    blocked = ""
    if scan.unreadable:
        blocked = "some rows cannot be read; fix them by hand first (rewriting would drop them)"
    elif any("changed on two branches" in f.message for f in findings):
        blocked = "a deal was changed on two branches; resolve that by hand first"
    return CheckResult(findings, repaired, all_events, rebuilt, blocked)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ";".join(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _events_by_deal(scan: Scan, findings: list[Finding]) -> dict[str, list[tuple[str, Event]]]:
    """Events per deal by seq; an exact duplicate (both sides of a merge) is dropped, a seq
    with two different events is a real conflict."""
    by_key: dict[tuple[str, int], tuple[str, Event]] = {}
    for where, e in scan.events:
        key = (e.deal_id, e.seq)
        if key in by_key:
            if by_key[key][1] != e:
                findings.append(Finding(where, f"deal {e.deal_id} event {e.seq} differs from "
                                               f"{by_key[key][0]}: the deal was changed on "
                                               f"two branches; keep one and renumber the "
                                               f"other by hand"))
            else:
                findings.append(Finding(where, f"event {e.deal_id}/{e.seq} appears twice",
                                        fixable=True))
            continue
        by_key[key] = (where, e)
    out: dict[str, list[tuple[str, Event]]] = {}
    for key in sorted(by_key):
        out.setdefault(key[0], []).append(by_key[key])
    return out


def _history_problems(ws: Workspace, deal_id: str, history) -> list[Finding]:
    problems = []
    previous = None
    for number, (where, e) in enumerate(history, start=1):
        if e.seq != number:
            problems.append(Finding(where, f"deal {deal_id}: event {e.seq} follows event "
                                           f"{number - 1}; a sequence number is missing"))
            break
        if number == 1 and e.kind != "created":
            problems.append(Finding(where, f"deal {deal_id}: the first event is {e.kind!r}, "
                                           f"not 'created'"))
        if previous is not None and e.at < previous.at:
            problems.append(Finding(where, f"deal {deal_id}: event {e.seq} is dated before "
                                           f"event {previous.seq}"))
        pipeline = next((p for p in ws.pipelines if p.name == e.pipeline), None)
        if pipeline is not None and pipeline.stage(e.stage) is None:
            problems.append(Finding(where, f"deal {deal_id}: event {e.seq} is at stage "
                                           f"{e.stage!r}, which pipeline {e.pipeline!r} "
                                           f"does not have"))
        previous = e
    return problems


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


def fix_store(store: Store, result: CheckResult) -> None:
    """Write the repaired store (only call when result.can_fix)."""
    store.replace_all(result.repaired_deals, result.repaired_events)
