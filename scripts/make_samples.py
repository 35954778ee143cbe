"""Regenerate the sample deal stores in sample_pipelines/data/ (deterministic).

    python scripts/make_samples.py

The deals are invented (fictional companies and people) but move the way real ones do:
created over six months, advanced stage by stage with realistic gaps, some won (sometimes
at a negotiated value), some lost with a reason, the rest open at every stage. They go
through pipe's own lifecycle functions, so the history is exactly what `pipe` would write.
"""

from __future__ import annotations

import os
import random
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ["PIPE_NOW"] = "2026-11-20T17:00:00+00:00"

from pipecli import ops, values  # noqa: E402
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
    def new_id(taken=()):
        while True:
            candidate = "".join(rng.choice(values.ID_ALPHABET) for _ in range(values.ID_LENGTH))
            if candidate not in taken and not candidate.isdigit():
                return candidate
    return new_id


def _play(pipeline_file: Path, *, count: int, seed: int, b2c: bool) -> None:
    rng = random.Random(seed)
    ops.new_id = _ids(random.Random(seed + 1))
    ws = load_workspace(pipeline_file)
    for path in open_store(ws.store_path).files():
        path.unlink(missing_ok=True)
    store = open_store(ws.store_path)
    p = ws.pipelines[0]
    opens = p.open_stages
    reasons = list(p.lost_reasons) or ["no reason given"]
    owners = ["shop"] if b2c else ["dana", "lee", "sam"]
    sources = ["instagram", "email", "google ads", "tiktok", "referral"] if b2c else \
        ["webinar", "referral", "outbound", "inbound", "event"]
    span = (END - START).total_seconds()
    for n in range(count):
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
        deal = ops.add(store, p, name=name, fields=fields, stage=opens[start].key,
                       at=created).deal
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
            step = 2 if (reached + 2 <= last and rng.random() < 0.12) else 1  # a skipped stage
            at += timedelta(days=rng.uniform(*gap), hours=rng.uniform(0, 8))
            if at >= END:
                break
            reached += step
            ops.move(store, ws, deal.id, stage=opens[reached].key, at=at)
        at += timedelta(days=rng.uniform(*gap), hours=rng.uniform(0, 8))
        if fate == "open" or at >= END:
            continue
        if fate == "won":
            final = None
            if not b2c and rng.random() < 0.4:
                final = (value * Decimal(rng.choice(["0.85", "0.9", "0.95", "1.1"]))).quantize(
                    Decimal(100))
            ops.win(store, ws, deal.id, value=final, at=at)
            later = [s for s in p.stages if s.outcome == "won"][1:]
            after = at + timedelta(days=rng.uniform(20, 40))
            if later and rng.random() < 0.5 and after < END:
                ops.move(store, ws, deal.id, stage=later[0].key, at=after)
        else:
            ops.lose(store, ws, deal.id, reason=rng.choice(reasons), at=at,
                     note="" if rng.random() < 0.7 else "followed up twice, no answer")


def main() -> None:
    folder = ROOT / "sample_pipelines"
    (folder / "data").mkdir(exist_ok=True)
    _play(folder / "b2b-pipeline.yaml", count=48, seed=2026, b2c=False)
    _play(folder / "b2c-pipeline.yaml", count=60, seed=1999, b2c=True)


if __name__ == "__main__":
    main()
