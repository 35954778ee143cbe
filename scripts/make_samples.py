"""Regenerate the sample deal stores in sample_pipelines/data/ (deterministic).

    python scripts/make_samples.py [--into FOLDER]

The deals are invented (fictional companies and people) but move the way real ones do:
created over six months, advanced stage by stage with realistic gaps, some won (sometimes
at a negotiated value), some lost with a reason, the rest open at every stage. They go
through pipe's own lifecycle functions, so the log is exactly what `pipe` would write.

Each store is an event-log folder (sample_pipelines/data/b2b-pipeline/, b2c-pipeline/).
The fates of all deals are drawn first; then every step is played in time order, each
with the clock set to its moment, as if it had been typed then: an event's recording time
is its effective time, and it lands in the log file of that month. Deal ids, event ids and
the writer id come from seeded generators, so a run gives the same files byte for byte.
With --into, the stores are written to FOLDER/b2b-pipeline and FOLDER/b2c-pipeline instead
(to compare with the committed ones).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ["PIPE_NOW"] = "2026-11-20T17:00:00+00:00"

import pipecli.store.base  # noqa: E402
import pipecli.store.logstore  # noqa: E402
from pipecli import ops, values  # noqa: E402
from pipecli.models import Due  # noqa: E402
from pipecli.pipeline import load_workspace  # noqa: E402
from pipecli.store import open_store  # noqa: E402

START = datetime(2026, 5, 18, 9, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)

B2B_COMPANIES = ["Northwind Analytics", "Bluefin Logistics", "Cedar & Pine Legal", "Orbital Foods",
                 "Helios Solar", "Quarry Street Media", "Marlow Robotics", "Tessellate Design",
                 "Juniper Health", "Kestrel Security", "Lumen Schools", "Oakridge Dental",
                 "Pellucid Labs", "Riverbend Hotels", "Sable Freight", "Tandem Bikes",
                 "Umber Architects", "Vantage Insurance", "Willow Care Homes", "Xylo Music",
                 "Yardley Farms", "Zephyr Airlines", "Acorn Credit Union", "Brightwater Spa",
                 "Copperleaf Retail", "Driftwood Marine", "Ember Coffee", "Fathom Data",
                 "Granite Construction", "Harbor Clinics", "Ironclad Storage", "Jetstream Travel",
                 "Keystone Accounting", "Lighthouse Realty", "Meridian Pharma", "Nimbus Cloud",
                 "Obsidian Games", "Prairie Seeds", "Quill Publishing", "Redwood Capital"]
B2B_PRODUCTS = ["CRM rollout", "Annual licence", "Pilot", "Support plan", "Data migration",
                "Team seats", "Enterprise plan", "Onboarding package"]
FIRST = ["Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Sofia", "Mateo", "Zoe", "Omar",
         "Chloe", "Yuki", "Priya", "Jonas", "Elena", "Kofi", "Hana", "Diego", "Nora", "Ivan"]
LAST = ["Smith", "Novak", "Haddad", "Chen", "Garcia", "Okafor", "Dubois", "Svoboda", "Tanaka",
        "Rossi", "Nielsen", "Kowalski", "Ahmed", "Silva", "Murphy", "Lindqvist"]
B2C_CAMPAIGNS = ["Cosmetics set", "Skincare bundle", "Running shoes", "Winter jacket",
                 "Coffee subscription", "Yoga mat", "Gift card", "Headphones", "Desk lamp"]


def _ids(rng: random.Random):
    """A seeded stand-in for values.new_id (same alphabet, same rules)."""
    def new_id(taken=(), length: int = values.ID_LENGTH):
        while True:
            candidate = "".join(rng.choice(values.ID_ALPHABET) for _ in range(length))
            if candidate not in taken and not candidate.isdigit():
                return candidate
    return new_id


class _Clock(datetime):
    """The wall clock the store reads (recording time, the log file's month), set to the
    moment of the step being played."""

    moment: datetime = END

    @classmethod
    def now(cls, tz=None):
        return cls.moment.astimezone(tz) if tz else cls.moment


def _steps(pipeline, *, count: int, seed: int, b2c: bool) -> list[tuple]:
    """Every deal's steps, drawn deal by deal: (at, deal number, step number, op, args)."""
    rng = random.Random(seed)
    p = pipeline
    opens = p.open_stages
    reasons = list(p.lost_reasons) or ["no reason given"]
    owners = ["shop"] if b2c else ["dana", "lee", "sam"]
    sources = ["instagram", "email", "google ads", "tiktok", "referral"] if b2c else \
        ["webinar", "referral", "outbound", "inbound", "event"]
    span = (END - START).total_seconds()
    steps = []
    for n in range(count):
        def step(at, op, **args):
            steps.append((at.replace(microsecond=0), n, len(steps), op, args))

        # Earlier deals have had more time: most of them are closed by now.
        created = START + timedelta(seconds=span * (n / count) * rng.uniform(0.9, 1.0))
        created = created.replace(minute=rng.choice([0, 15, 30, 45]), second=0)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if b2c:
            name = f"{rng.choice(B2C_CAMPAIGNS)} – {first} {last}"
            value = Decimal(rng.randrange(25, 400)) + Decimal(rng.choice([0, 0, 50, 99])) / 100
            company = ""
        else:
            company = B2B_COMPANIES[n % len(B2B_COMPANIES)]
            name = f"{company} – {rng.choice(B2B_PRODUCTS)}"
            value = Decimal(rng.randrange(20, 800) * 100)
        fields = {
            "value": value, "company": company, "contact": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}@example.com", "owner": rng.choice(owners),
            "source": rng.choice(sources),
            "close_date": (created + timedelta(days=rng.randrange(20, 90))).date(),
        }
        if not b2c and rng.random() < 0.3:
            fields["tags"] = (rng.choice(["enterprise", "smb", "renewal", "partner"]),)
        # About one lead in six arrives already qualified, entered at the second stage.
        start = 1 if rng.random() < 0.17 else 0
        step(created, "add", name=name, fields=fields, stage=opens[start].key)
        age_days = (END - created).days
        roll = rng.random()
        if age_days < 45:
            fate = "open" if roll < 0.8 else "lost"
        else:
            fate = "won" if roll < 0.32 else "lost" if roll < 0.82 else "open"
        if fate == "won":
            last = len(opens) - 1
        elif fate == "lost":  # most deals fall out early; a few late
            last = min(len(opens) - 1, start + int(rng.expovariate(0.8)))
        else:  # still open: anywhere in the pipeline
            last = rng.randrange(start, len(opens))
        at = created
        gap = (1, 5) if b2c else (3, 18)
        reached = start
        while reached < last:
            skip = 2 if (reached + 2 <= last and rng.random() < 0.12) else 1  # a skipped stage
            at += timedelta(days=rng.uniform(*gap), hours=rng.uniform(0, 8))
            if at >= END:
                break
            reached += skip
            step(at, "move", stage=opens[reached].key)
        at += timedelta(days=rng.uniform(*gap), hours=rng.uniform(0, 8))
        if fate == "open" or at >= END:
            continue
        if fate == "won":
            final = None
            if not b2c and rng.random() < 0.4:
                final = (value * Decimal(rng.choice(["0.85", "0.9", "0.95", "1.1"]))).quantize(
                    Decimal(100))
            step(at, "win", value=final)
            later = [s for s in p.stages if s.outcome == "won"][1:]
            after = at + timedelta(days=rng.uniform(20, 40))
            if later and rng.random() < 0.5 and after < END:
                step(after, "move", stage=later[0].key)
        else:
            step(at, "lose", reason=rng.choice(reasons),
                 note="" if rng.random() < 0.7 else "followed up twice, no answer")
    return steps


B2B_STEPS = ["Call {first}", "Book a demo with {first}", "Send the proposal to {first}",
             "Check the budget with {first}", "Send the contract", "Follow up by email"]
B2C_STEPS = ["Send {first} a discount code", "Answer {first}'s question",
             "Follow up on the cart"]


def _next_steps(steps: list[tuple], *, seed: int, b2c: bool) -> None:
    """Give most deals still open at the end a next step on their last step (as `--next`
    on that add or move), due a few days after it: old ones are overdue by now, recent
    ones due in the coming days. Drawn from a generator of their own, so the deals and
    every other figure are as they were without."""
    rng = random.Random(seed + 3)
    closing = {"win", "lose"}
    last: dict[int, int] = {}
    closed = set()
    contact: dict[int, str] = {}
    for i, (_, n, _, op, args) in enumerate(steps):
        last[n] = i
        if op in closing:
            closed.add(n)
        if op == "add":
            contact[n] = args["fields"]["contact"]
    for n, i in sorted(last.items()):
        at, _, _, op, args = steps[i]
        if n in closed or op not in ("add", "move") or rng.random() < 0.15:
            continue  # closed, or an open deal left without a step
        first = contact[n].split(" ")[0]
        text = rng.choice(B2C_STEPS if b2c else B2B_STEPS).format(first=first)
        due = at.date() + timedelta(days=rng.randrange(2, 10))
        args["follow"] = ops.FollowUp(text, Due(due))


def _play(pipeline_file: Path, target: Path, *, count: int, seed: int, b2c: bool) -> None:
    ws = load_workspace(pipeline_file)
    p = ws.pipelines[0]
    steps = _steps(p, count=count, seed=seed, b2c=b2c)
    _next_steps(steps, seed=seed, b2c=b2c)
    deal_ids, draw = [], _ids(random.Random(seed + 1))
    for _ in range(count):
        deal_ids.append(draw(set(deal_ids)))
    ids = _ids(random.Random(seed + 2))  # the writer id, then the event ids
    pipecli.store.base.new_id = ids
    pipecli.store.logstore.new_id = ids
    if target.exists():
        shutil.rmtree(target)
    store = open_store(target)
    # In time order; steps in the same second by deal id, then as drawn.
    for at, n, _, op, args in sorted(steps, key=lambda s: (s[0], deal_ids[s[1]], s[2])):
        _Clock.moment = at
        ops.new_id = lambda taken=(), length=values.ID_LENGTH, deal_id=deal_ids[n]: deal_id
        if op == "add":
            deal = ops.add(store, p, at=at, **args).deal
            assert deal.id == deal_ids[n]
        else:
            getattr(ops, op)(store, ws, deal_ids[n], at=at, **args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=ROOT / "sample_pipelines" / "data",
                        help="folder to write the two stores into")
    into = parser.parse_args().into.resolve()
    into.mkdir(parents=True, exist_ok=True)
    # The store reads the wall clock for recording times and log file months.
    pipecli.store.base.recorded_stamp = lambda moment=None: values.recorded_stamp(
        moment or _Clock.now(timezone.utc))
    pipecli.store.logstore.datetime = _Clock
    folder = ROOT / "sample_pipelines"
    _play(folder / "b2b-pipeline.yaml", into / "b2b-pipeline", count=48, seed=2026, b2c=False)
    _play(folder / "b2c-pipeline.yaml", into / "b2c-pipeline", count=60, seed=1999, b2c=True)


if __name__ == "__main__":
    main()
