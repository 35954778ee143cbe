"""Time pipe's commands as whole processes on generated stores, and print a Markdown table.

    python benchmarks/run.py                      # 1,000 and 10,000 deals, both backends
    python benchmarks/run.py --sizes 1000 --runs 1

Each command runs --runs times (median wall time, largest peak memory). The stores are
generated straight through the store interface: N deals with a history of about three
events each (created, a move or two, won or lost), over one year. When the sqlite3 shell
is installed, the per-stage counts, values and distinct deals reached per stage are also
computed by one SQL query on the same SQLite store, as a peer figure.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pipecli.models import Deal, Event  # noqa: E402
from pipecli.store import open_store  # noqa: E402
from pipecli.store.codec import deal_snapshot  # noqa: E402

OPEN = ["prospecting", "qualification", "demo", "proposal", "negotiation"]
START = datetime(2025, 11, 1, 9, tzinfo=timezone.utc)
NOW = "2026-11-01T12:00:00+00:00"
PEER_SQL = """
SELECT d.stage, count(*), sum(d.value_milli) / 1000.0 FROM deals d GROUP BY d.stage;
SELECT stage, count(DISTINCT deal_id) FROM events GROUP BY stage;
"""


def generate(folder: Path, backend: str, size: int, seed: int = 1) -> list[str]:
    """A pipeline.yaml and a store of `size` deals; returns the ids of open deals."""
    store_name = "deals.csv" if backend == "csv" else "deals.sqlite"
    template = (ROOT / "sample_pipelines" / "b2b-pipeline.yaml").read_text()
    (folder / "pipeline.yaml").write_text(
        template.replace("store: data/b2b-pipeline.csv", f"store: {store_name}"))
    rng = random.Random(seed)
    store = open_store(folder / store_name)
    open_ids = []
    with store.write() as tx:
        for n in range(size):
            deal_id = f"{n:08x}"
            at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
            value = Decimal(rng.randrange(10, 900) * 100)
            deal = Deal(id=deal_id, pipeline="b2b-pipeline", name=f"Deal {n}",
                        stage="prospecting", status="open", created_at=at, updated_at=at,
                        value=value, owner=rng.choice(["dana", "lee", "sam"]),
                        close_date=(at + timedelta(days=rng.randrange(20, 120))).date())
            seq = 1
            tx.record(Event(deal_id, seq, at, "created", deal.pipeline, deal.stage, "open",
                            value, changes=deal_snapshot(deal)), deal)
            for stage in OPEN[1:1 + rng.randrange(0, 3)]:
                at += timedelta(days=rng.uniform(1, 15))
                seq += 1
                deal = deal.with_changes(stage=stage, updated_at=at)
                tx.record(Event(deal_id, seq, at, "moved", deal.pipeline, stage, "open", value,
                                changes={"stage": ["x", stage]}), deal)
            roll = rng.random()
            if roll < 0.6:
                at += timedelta(days=rng.uniform(1, 20))
                status = "won" if roll < 0.25 else "lost"
                seq += 1
                deal = deal.with_changes(stage=status, status=status, closed_at=at,
                                         updated_at=at,
                                         lost_reason="no budget" if status == "lost" else "")
                tx.record(Event(deal_id, seq, at, status, deal.pipeline, status, status, value,
                                reason=deal.lost_reason), deal)
            else:
                open_ids.append(deal_id)
    return open_ids


def timed(folder: Path, args, runs: int) -> tuple[float, float]:
    """Median wall milliseconds and peak memory (MB) of `pipe ARGS` over `runs` runs (args
    may be a function giving each run its own, e.g. a different deal to win)."""
    env = dict(os.environ, PIPE_NOW=NOW)
    times, peak = [], 0
    for _ in range(runs):
        command = args() if callable(args) else args
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "pipecli", *command], cwd=folder, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append((time.perf_counter() - started) * 1000)
        if os.waitstatus_to_exitcode(status) not in (0, 3):
            raise SystemExit(f"pipe {' '.join(command)} failed: "
                             f"{proc.stderr.read().decode()}")
        peak = max(peak, usage.ru_maxrss / 1024)
    return statistics.median(times), peak


def peer(folder: Path, runs: int) -> float | None:
    shell = shutil.which("sqlite3")
    if not shell:
        return None
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([shell, str(folder / "deals.sqlite")], input=PEER_SQL, text=True,
                       capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(size: int, backend: str, runs: int) -> list[tuple[str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        ids = generate(folder, backend, size)
        rows.append(("(generate the store)", (time.perf_counter() - started) * 1000, 0.0))
        rng = random.Random(2)
        commands = [
            ("add", ["add", "New deal", "--value", "1000"]),
            ("move", ["move", rng.choice(ids), "negotiation", "--note", "bench"]),
            ("won", lambda: ["won", ids.pop(rng.randrange(len(ids)))]),
            ("list --status open", ["list", "--status", "open", "-o", "plain"]),
            ("report", ["report", "-o", "plain"]),
            ("report --as-of", ["report", "--as-of", "2026-05-01", "-o", "plain"]),
            ("forecast", ["forecast", "-o", "plain"]),
            ("stale", ["stale", "-o", "plain"]),
            ("export --history", ["export", "--history", "--output", "h.csv"]),
        ]
        for name, args in commands:
            rows.append((name,) + timed(folder, args, runs))
        copy = folder / "copy"
        copy.mkdir()
        shutil.copy(folder / "pipeline.yaml", copy / "pipeline.yaml")
        rows.append(("import (the history export)",) + timed(copy, ["import", "../h.csv"], 1))
        if backend == "sqlite":
            figure = peer(folder, runs)
            if figure is not None:
                rows.append(("peer: sqlite3 shell, stage query", figure, 0.0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--backends", default="csv,sqlite")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    print(f"pipe benchmarks — Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"{options.runs} runs, median wall time\n")
    print("| deals | backend | command | ms | peak MB |\n|---:|---|---|---:|---:|")
    for size in (int(s) for s in options.sizes.split(",")):
        for backend in options.backends.split(","):
            for name, ms, mb in bench(size, backend, options.runs):
                print(f"| {size:,} | {backend} | {name} | {ms:,.0f} | "
                      f"{mb:,.0f} |" if mb else f"| {size:,} | {backend} | {name} | "
                      f"{ms:,.0f} | |")


if __name__ == "__main__":
    main()
