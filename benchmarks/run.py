"""Time pipe's commands as whole processes on generated stores, and print a Markdown table.

    python benchmarks/run.py                          # the full suite (about 15 minutes)
    python benchmarks/run.py --sizes 1000 --runs 1    # a quick look

Each command runs --runs times after one warm-up run (median wall time, largest peak
memory). The stores are generated straight through the store interface: N deals with a
history of about 3.3 events each (created, up to three moves, an edit for one in five,
won or lost for six in ten), over one year. The CSV backend is measured up to --csv-max
deals. Peers, when installed, run in the same process of measurement: the sqlite3 shell
computes per-stage counts and values plus distinct deals reached per stage on the same
SQLite store; taskwarrior (`task`) adds, modifies and summarises on a 10,000-task
database. The ratios pipe / peer close the output.
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
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pipecli.models import Event, Kind  # noqa: E402
from pipecli.store import open_store  # noqa: E402

OPEN = ["prospecting", "qualification", "demo", "proposal", "negotiation"]
START = datetime(2025, 11, 1, 9, tzinfo=timezone.utc)
NOW = "2026-11-01T12:00:00+00:00"
PEER_SQL = """
SELECT d.stage, count(*), sum(d.value_milli) / 1000.0 FROM deals d GROUP BY d.stage;
SELECT stage, count(DISTINCT deal_id) FROM stays GROUP BY stage;
"""


def generate(folder: Path, backend: str, size: int, seed: int = 1) -> list[str]:
    """A pipeline.yaml and a store of `size` deals; returns the ids of open deals."""
    store_name = "deals" if backend == "csv" else "deals.sqlite"
    template = (ROOT / "sample_pipelines" / "b2b-pipeline.yaml").read_text()
    (folder / "pipeline.yaml").write_text(
        template.replace("store: data/b2b-pipeline", f"store: {store_name}"))
    rng = random.Random(seed)
    store = open_store(folder / store_name)
    open_ids = []
    counter = iter(range(10**9))

    def event(deal_id, at, kind, prev, sets):
        n = next(counter)
        recorded = (START + timedelta(microseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return Event(id=f"e{n:011x}"[:12], deal_id=deal_id, at=at, kind=Kind(kind),
                     recorded=recorded, sets=sets, prev=prev)

    with store.write() as tx:
        batch: list[Event] = []
        for n in range(size):
            deal_id = f"{n:08x}"
            at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
            value = str(rng.randrange(10, 900) * 100)
            close = (at + timedelta(days=rng.randrange(20, 120))).date().isoformat()
            history = [event(deal_id, at.replace(microsecond=0), "created", "",
                             {"pipeline": "b2b-pipeline", "stage": "prospecting",
                              "status": "open", "name": f"Deal {n}", "value": value,
                              "owner": rng.choice(["dana", "lee", "sam"]),
                              "close_date": close})]
            for stage in OPEN[1:1 + rng.randrange(0, 4)]:
                at += timedelta(days=rng.uniform(1, 15))
                history.append(event(deal_id, at.replace(microsecond=0), "moved",
                                     history[-1].id, {"pipeline": "b2b-pipeline",
                                                     "stage": stage, "status": "open"}))
            if rng.random() < 0.2:
                at += timedelta(days=rng.uniform(0, 5))
                history.append(event(deal_id, at.replace(microsecond=0), "edited",
                                     history[-1].id,
                                     {"owner": rng.choice(["dana", "lee", "sam"])}))
            roll = rng.random()
            if roll < 0.6:
                at += timedelta(days=rng.uniform(1, 20))
                status = "won" if roll < 0.25 else "lost"
                sets = {"pipeline": "b2b-pipeline", "stage": status, "status": status}
                if status == "lost":
                    sets["lost_reason"] = "no budget"
                history.append(event(deal_id, at.replace(microsecond=0), status,
                                     history[-1].id, sets))
            else:
                open_ids.append(deal_id)
            batch += history
            if len(batch) > 20000:
                tx.land(batch)
                batch = []
        tx.land(batch)
    return open_ids


def pulled(folder: Path, ids: list[str], runs: int) -> tuple[float, float]:
    """`pipe log -n 1` right after another clone's log file with 1,000 new events arrived
    (as a pull brings it), minus the same command on a current index: the catch-up."""
    from pipecli.store.codec import LOG_COLUMNS, encode_line

    figures = []
    for run in range(runs + 1):
        target = folder / "deals" / f"2026-11-zzzzzz{run:02d}.csv"
        lines = [",".join(LOG_COLUMNS) + "\n"]
        for i in range(1000):
            lines.append(encode_line(Event(
                id=f"p{run:02d}{i:09d}", deal_id=ids[i % len(ids)],
                at=START + timedelta(days=300), kind=Kind.EDITED,
                recorded=f"2026-09-01T00:00:{run:02d}.{i:06d}Z", sets={"owner": "pulled"})))
        baseline = once(_pipe() + ["log", "-n", "1"], folder)[0]
        target.write_text("".join(lines))
        ms, mb = once(_pipe() + ["log", "-n", "1"], folder)
        figures.append((ms - baseline, mb))
    figures = figures[1:]  # the first was the warm-up
    return statistics.median(f[0] for f in figures), max(f[1] for f in figures)


def _env() -> dict:
    env = dict(os.environ, PIPE_NOW=NOW)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' pipe runs from compiled bytecode
    return env


def _pipe() -> list[str]:
    """The installed `pipe` script beside this Python (what users type), else -m pipecli."""
    script = Path(sys.executable).with_name("pipe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipecli"]


def timed_command(argv, cwd: Path, runs: int, env: dict | None = None,
                  ok=(0, 3)) -> tuple[float, float]:
    """Median wall milliseconds and peak memory (MB) of a whole process over `runs` runs,
    after one warm-up run (argv may be a function giving each run its own arguments)."""
    times, peak = [], 0.0
    for n in range(runs + 1):
        elapsed, mb = once(argv() if callable(argv) else argv, cwd, env, ok)
        if n:
            times.append(elapsed)
            peak = max(peak, mb)
    return statistics.median(times), peak


def once(command, cwd: Path, env: dict | None = None, ok=(0, 3)) -> tuple[float, float]:
    """Wall milliseconds and peak memory (MB) of one run of a whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env or _env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - started) * 1000
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode()}")
    proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def timed(folder: Path, args, runs: int) -> tuple[float, float]:
    argv = (lambda: _pipe() + args()) if callable(args) else _pipe() + args
    return timed_command(argv, folder, runs)


def sqlite_peer(folder: Path, runs: int) -> float | None:
    shell = shutil.which("sqlite3")
    if not shell:
        return None
    script = folder / "peer.sql"
    script.write_text(PEER_SQL)
    return timed_command([shell, str(folder / "deals.sqlite"), f".read {script}"], folder,
                         runs)[0]


def taskwarrior(runs: int, tasks: int = 10_000) -> list[tuple[str, float, float]]:
    """task add / modify / summary on a database of `tasks` pending tasks, if installed."""
    task = shutil.which("task")
    if not task:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        (folder / "rc").write_text(f"data.location={folder / 'data'}\nconfirmation=off\n"
                                   f"verbose=nothing\nrecurrence=off\n")
        rng = random.Random(3)
        lines = [f'[description:"Task {n}" entry:"1761991200" modified:"1761991200" '
                 f'project:"p{n % 5}" status:"pending" '
                 f'uuid:"{uuid.UUID(int=rng.getrandbits(128), version=4)}"]'
                 for n in range(tasks)]
        (folder / "data" / "pending.data").write_text("\n".join(lines) + "\n")
        env = dict(os.environ, TASKRC=str(folder / "rc"), TASKDATA=str(folder / "data"))
        counter = iter(range(1, tasks))
        return [(f"peer: task {name}",) + timed_command(argv, folder, runs, env, ok=(0, 1))
                for name, argv in (
                    ("add", [task, "add", "Call Acme", "project:sales"]),
                    ("modify", lambda: [task, str(next(counter)), "modify", "+bench"]),
                    ("summary", [task, "summary"]))]


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
            ("move", lambda: ["move", ids[rng.randrange(len(ids))], "negotiation"]),
            ("won", lambda: ["won", ids.pop(rng.randrange(len(ids)))]),
            ("list --status open", ["list", "--status", "open", "-o", "plain"]),
            ("report", ["report", "-o", "plain"]),
            ("report --as-of", ["report", "--as-of", "2026-05-01", "-o", "plain"]),
            ("report --by owner", ["report", "--by", "owner", "-o", "plain"]),
            ("report --conversion ordered", ["report", "--conversion", "ordered", "-o",
                                             "plain"]),
            ("customers", ["customers", "-o", "plain"]),
            ("forecast", ["forecast", "-o", "plain"]),
            ("stale", ["stale", "-o", "plain"]),
            ("next", ["next", "-o", "plain"]),
            ("log -n 5", ["log", "-n", "5", "-o", "plain"]),
            ("undo", ["undo"]),
            ("export --history", ["export", "--history", "--output", "h.csv"]),
        ]
        for name, args in commands:
            rows.append((name,) + timed(folder, args, runs))
        if backend == "csv":
            rows.append(("catch-up: a pull of 1,000 events",) + pulled(folder, ids, runs))
        if backend == "sqlite":
            figure = sqlite_peer(folder, runs)
            if figure is not None:
                rows.append(("peer: sqlite3 shell, stage query", figure, 0.0))
        copy = folder / "copy"
        copy.mkdir()
        shutil.copy(folder / "pipeline.yaml", copy / "pipeline.yaml")
        rows.append(("import (the history export)",) +
                     timed_command(_pipe() + ["import", "../h.csv"], copy, 0 + 1))
    return rows


RATIOS = (  # (what, pipe row, peer row)
    ("pipe add at 10k (sqlite) / task add", (10_000, "sqlite", "add"), "peer: task add"),
    ("pipe add at 10k (csv) / task add", (10_000, "csv", "add"), "peer: task add"),
    ("pipe move at 10k (sqlite) / task modify", (10_000, "sqlite", "move"),
     "peer: task modify"),
    ("pipe report at 10k (sqlite) / task summary", (10_000, "sqlite", "report"),
     "peer: task summary"),
    ("pipe report at 10k (csv) / task summary", (10_000, "csv", "report"),
     "peer: task summary"),
    ("pipe report at 1M (sqlite) / sqlite3 shell", (1_000_000, "sqlite", "report"),
     (1_000_000, "sqlite", "peer: sqlite3 shell, stage query")),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--backends", default="csv,sqlite")
    parser.add_argument("--csv-max", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    print(f"pipe benchmarks — Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"{options.runs} runs after a warm-up, median wall time\n")
    print("| deals | backend | command | ms | peak MB |\n|---:|---|---|---:|---:|", flush=True)
    figures = {}

    def line(size, backend, name, ms, mb):
        figures[(size, backend, name)] = ms
        figures.setdefault(name, ms)
        print(f"| {size:,} | {backend} | {name} | {ms:,.0f} | {f'{mb:,.0f}' if mb else ''} |",
              flush=True)

    for name, ms, mb in taskwarrior(options.runs):
        line(10_000, "taskwarrior", name, ms, mb)
    for size in (int(s) for s in options.sizes.split(",")):
        for backend in options.backends.split(","):
            if backend == "csv" and size > options.csv_max:
                continue
            for name, ms, mb in bench(size, backend, options.runs):
                line(size, backend, name, ms, mb)
    print("\n| ratio | pipe ms | peer ms | pipe / peer |\n|---|---:|---:|---:|")
    for what, ours, theirs in RATIOS:
        if ours in figures and theirs in figures:
            print(f"| {what} | {figures[ours]:,.0f} | {figures[theirs]:,.0f} | "
                  f"{figures[ours] / figures[theirs]:.2f} |")


if __name__ == "__main__":
    main()
