"""Nothing lost, nothing half-written: concurrent writers (with undos and `check --fix`
among them), processes killed mid-write, and Ctrl-C — on both backends. CI runs small
numbers; PIPE_STRESS=1 runs the big ones (8 writers × 1,000 commands, 300 kills) and prints
the counts for docs/reliability.md."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, store_digest

STRESS = bool(os.environ.get("PIPE_STRESS"))
WRITERS = 8
COMMANDS = 1000 if STRESS else 50
KILLS = 300 if STRESS else 12

# A writer: runs pipe's entry point in a loop (one process, many commands, each taking and
# releasing the store lock). Every command that records an event carries a note naming the
# writer and the command, so the log can be matched against what each writer was told.
# `pipe undo` takes back the store's latest change, whoever made it: a writer's later
# command on a deal whose creation another writer undid is refused ("no deal matches"),
# which is recorded and must be explained by such an undo.
WORKER = r"""
import io, json, random, re, sys
from pipecli.cli import main
rng = random.Random(int(sys.argv[1]))
me, commands = sys.argv[1], int(sys.argv[2])
deals = {}  # my deals: id -> "open" or closed, as far as my own commands know
acked, undid, refused = [], [], []
attempted = succeeded = checks = 0
def pipe(*args):
    sys.argv = ["pipe", *args]
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code or 0
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return code, out.getvalue().strip(), err.getvalue().strip()
for i in range(commands):
    note = f"w{me}-{i}"
    open_deals = [d for d, s in deals.items() if s == "open"]
    roll, deal, kind = rng.random(), None, None
    if roll < 0.06:
        code, out, err = pipe("undo")
        if code == 0 and out != "Nothing to undo.":
            m = re.match(r"Undid \w+ event ([0-9a-z]{12}) of [0-9a-z]{8}\b", out)
            if m:
                undid.append(m[1])
            else:
                code, err = 98, "pipe undo said: " + out
    elif roll < 0.09:
        code, out, err = pipe("check", "--fix")
        if code == 0:
            checks += 1
            if "fixed" in out:
                code, err = 99, "check --fix found something to fix: " + out
    elif roll < 0.35 or not open_deals:
        code, out, err = pipe("add", f"w{me}-{i}", "--value", str(rng.randrange(1, 999)),
                              "--note", note)
        if code == 0:
            deal, kind = out, "created"
            deals[deal] = "open"
    else:
        deal = rng.choice(open_deals)
        if roll < 0.6:
            code, out, err = pipe("move", deal, rng.choice(["prospecting", "proposal"]),
                                  "--note", note)
            kind = None if "nothing changed" in out else "moved"
        elif roll < 0.7:
            code, out, err = pipe("won", deal, "--note", note)
            kind = "won"
            deals[deal] = "won" if code == 0 else deals[deal]
        elif roll < 0.8:
            code, out, err = pipe("lost", deal, "--reason", "price", "--note", note)
            kind = "lost"
            deals[deal] = "lost" if code == 0 else deals[deal]
        else:
            code, out, err = pipe("edit", deal, "--owner", f"o{i}", "--note", note)
            kind = None if "nothing to change" in out else "edited"
        if code != 0 and err == f"pipe: error: no deal matches {deal!r} (give an id, an id " \
                                 f"prefix, the name or a part of it)":
            refused.append(deal)
            del deals[deal]
            code = 0
            kind = None
    if code != 0 and "is busy" not in err:
        print(json.dumps({"unexpected": [i, code, err]}))
        sys.exit(1)
    if code == 0 and kind:
        acked.append({"note": note, "deal": deal, "kind": kind})
    attempted += 1
    succeeded += code == 0
print(json.dumps({"attempted": attempted, "succeeded": succeeded, "acked": acked,
                  "undid": undid, "refused": refused, "checks": checks}))
"""


def _env(**extra) -> dict:
    env = dict(os.environ, PIPE_LOCK_TIMEOUT="60", **extra)
    env.pop("PIPE_NOW", None)  # real time: writers interleave for real
    env.pop("PIPE_DEBUG", None)
    return env


def _pipe(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipecli", *args], cwd=folder, env=_env(),
                          capture_output=True, text=True)


def _workspace(folder: Path, backend: str) -> None:
    store = "deals" if backend == "csv" else "deals.sqlite"
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store))


def test_concurrent_writers_lose_nothing(tmp_path, backend):
    _workspace(tmp_path, backend)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(n), str(COMMANDS)],
                              cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, text=True)
             for n in range(WRITERS)]
    outputs = [p.communicate()[0].strip() for p in procs]
    results = [json.loads(o.splitlines()[-1]) if o else {"unexpected": "no output"}
               for o in outputs]
    assert all("unexpected" not in r for r in results), results
    exported = _pipe(tmp_path, "export", "--history", "-o", "json")
    assert exported.returncode == 0, exported.stderr
    events = sorted(json.loads(exported.stdout), key=lambda e: (e["recorded"], e["id"]))
    by_id = {e["id"]: e for e in events}
    by_note: dict[str, list] = {}
    for e in events:
        by_note.setdefault(e["note"], []).append(e)
    acked = [a for r in results for a in r["acked"]]
    undid = [target for r in results for target in r["undid"]]

    # 1. Every change a writer was told succeeded is in the log exactly once, as made;
    # nothing else is, but the undos, one per undo a writer was told about.
    lost = sum(1 for a in acked
               if [(e["deal"], e["kind"]) for e in by_note.get(a["note"], [])] !=
               [(a["deal"], a["kind"])])
    assert set(by_note) - {""} == {a["note"] for a in acked}
    undos = [e for e in events if e["kind"] == "undone"]
    assert by_note.get("", []) == undos
    assert sorted(e["target"] for e in undos) == sorted(undid)
    # 2. One total recording order, in which each writer's changes are in its own order.
    assert len({e["recorded"] for e in events}) == len(events)
    for r in results:
        mine = [by_note[a["note"]][0]["recorded"] for a in r["acked"]
                if a["note"] in by_note]
        assert mine == sorted(mine)
    # 3. No change was made from a stale view: each names the deal's previous event.
    latest: dict[str, str] = {}
    for e in events:
        assert e["prev"] == latest.get(e["deal"], ""), e
        latest[e["deal"]] = e["id"]
    # 4. Each undo took back the latest change still in effect, in recording order.
    in_effect: list[str] = []
    for e in events:
        if e["kind"] == "undone":
            assert in_effect and in_effect[-1] == e["target"], e
            in_effect.pop()
        else:
            in_effect.append(e["id"])
    # 5. Refusals are explained: the deal's creation was undone.
    created = {e["deal"]: e["id"] for e in events if e["kind"] == "created"}
    assert all(created[deal] in undid for r in results for deal in r["refused"])
    # 6. Every deal is what its changes in effect make it.
    expected: dict[str, dict] = {}
    for e in sorted((by_id[i] for i in in_effect),
                    key=lambda e: (e["at"], e["recorded"], e["id"])):  # effective order
        if e["kind"] == "created":
            expected[e["deal"]] = {}
        for field in ("stage", "status", "owner"):
            if field in e["sets"].split():
                expected[e["deal"]][field] = e[field]
    listed = json.loads(_pipe(tmp_path, "list", "--status", "all", "-o", "json").stdout)
    got = {d["id"]: {"stage": d["stage"], "status": d["status"], **(
        {"owner": d["owner"]} if d["owner"] else {})} for d in listed}
    wrong = sum(1 for d in expected.keys() | got.keys() if expected.get(d) != got.get(d))
    attempted = sum(r["attempted"] for r in results)
    succeeded = sum(r["succeeded"] for r in results)
    checks = sum(r["checks"] for r in results)
    print(f"\n[{backend}] writers {WRITERS} × {COMMANDS}: attempted {attempted}, succeeded "
          f"{succeeded} ({len(acked)} changes, {len(undid)} undos, {checks} check --fix), "
          f"{sum(len(r['refused']) for r in results)} refused after an undo, lost {lost}, "
          f"deals wrong {wrong}")
    assert lost == 0 and wrong == 0 and len(got) == len(expected)
    checked = _pipe(tmp_path, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


KILLED_WRITER = r"""
import sys
from pipecli.cli import main
for i in range(10**6):
    sys.argv = ["pipe", "add", f"deal {i}", "--value", "10"]
    try:
        main()
    except SystemExit:
        pass
"""

TORN = "the last line is incomplete (a write cut off by a crash); it is not read"


def test_kill_minus_9_mid_write_never_corrupts(tmp_path, backend):
    _workspace(tmp_path, backend)
    rng = random.Random(7)
    corrupt = torn = 0
    for trial in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER], cwd=tmp_path,
                                env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.15, 0.45))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # What the killed one left reads back whole: every line parses, every deal is what
        # its events make it. A line cut short (only if the kernel split the one write) is
        # not read, is reported, and the next append cuts it off: not corruption.
        listed = _pipe(tmp_path, "list", "--status", "all", "-o", "json")
        checked = _pipe(tmp_path, "check")
        findings = checked.stdout.splitlines() if checked.returncode else []
        if all(f.endswith(TORN) for f in findings) and findings:
            torn += 1
        if listed.returncode != 0 or not all(f.endswith(TORN) for f in findings):
            corrupt += 1
            print(listed.stderr, checked.stdout, checked.stderr)
    print(f"\n[{backend}] kill -9 trials {KILLS}: corrupt stores {corrupt}, torn last lines "
          f"{torn}")
    assert corrupt == 0
    assert _pipe(tmp_path, "add", "After").returncode == 0
    assert _pipe(tmp_path, "check").returncode == 0
    listed = json.loads(_pipe(tmp_path, "list", "-o", "json").stdout)
    exported = json.loads(_pipe(tmp_path, "export", "--history", "-o", "json").stdout)
    assert len(listed) == len(exported) and "After" in {d["name"] for d in listed}
    # Nothing is left behind: no temp files, only the store's own.
    if backend == "csv":
        assert {p.name for p in tmp_path.iterdir()} == {"pipeline.yaml", "deals"}
        assert {p.suffix for p in (tmp_path / "deals").iterdir()} <= {"", ".csv"}
        assert not [p for p in (tmp_path / "deals" / ".local").iterdir()
                    if p.name.endswith(".tmp")]
    else:
        assert {p.name for p in tmp_path.iterdir()} <= {"pipeline.yaml", "deals.sqlite",
                                                        "deals.sqlite-wal", "deals.sqlite-shm"}


def test_ctrl_c_during_a_long_import_changes_nothing(tmp_path, backend):
    _workspace(tmp_path, backend)
    assert _pipe(tmp_path, "add", "Before").returncode == 0
    big = tmp_path / "big.csv"
    big.write_text("name,value\n" + "".join(f"Deal {i},{i}\n" for i in range(40000)))
    before = store_digest(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pipecli", "import", str(big)], cwd=tmp_path,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(0.8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    if proc.returncode == 0:
        pytest.skip("the import finished before the signal; nothing to interrupt")
    assert proc.returncode == 130, err
    assert err == "pipe: error: interrupted; nothing was changed\n"
    assert store_digest(tmp_path) == before
    assert _pipe(tmp_path, "check").returncode == 0
    listed = json.loads(_pipe(tmp_path, "list", "-o", "json").stdout)
    assert [d["name"] for d in listed] == ["Before"]
