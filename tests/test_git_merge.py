"""The event-log store under git: two clones (or two branches of one clone) change one store
apart, then git merges, pulls, rebases or cherry-picks the other side's commits in.

Whatever the route, git must finish without a conflict in any pipe file, the merged log must
hold every event of both sides, and the merged store must report exactly what one store that
received both sides' commands in time order reports. Where both sides changed one field of one
deal from the same previous event (won here, lost there; two moves), `pipe check` names the
clash and the later effective time decides, whichever side integrates the other.

Everything happens in the test's folder: a bare repository stands in for the remote; git
reads no global or system configuration.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML


def at(day: int, hour: int = 9) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+00:00"


END = at(28)  # every report is read as of this moment, after every change

# Names with spaces: a deal reference that is not alphanumeric is never read as an id prefix,
# so the same commands address the same deals in every store whatever their random ids.
SEED = [
    (at(1), ("add", "Acme deal", "--value", "1000", "--email", "buyer@acme.test")),
    (at(1, 10), ("add", "Birch deal", "--value", "2000")),
    (at(1, 11), ("add", "Cedar deal", "--value", "3000", "--owner", "cy")),
    (at(1, 12), ("add", "Dune deal", "--value", "4000")),
]


@dataclass(frozen=True)
class Scenario:
    """Both sides' commands, each with the moment it takes effect (PIPE_NOW). A side's first
    `split` commands go in its first commit, the rest in a second one."""

    a: list
    b: list
    split: int = 2
    clashes: dict = field(default_factory=dict)  # deal name -> fields set two ways
    expect: dict = field(default_factory=dict)  # deal name -> fields after the merge
    # Stages whose days-in-stage figures the single store cannot match (see single_store),
    # with what the merged store must show instead: (average, median).
    own_stays: dict = field(default_factory=dict)


# Each side changes deals the other leaves alone, and adds one of its own.
DIFFERENT = Scenario(
    a=[(at(2), ("add", "Alder deal", "--value", "500", "--email", "al@alder.test")),
       (at(4), ("move", "Acme deal", "qualification", "--note", "call booked")),
       (at(6), ("edit", "Birch deal", "--value", "2500", "--owner", "ann", "--tag", "hot")),
       (at(8), ("won", "Acme deal", "--value", "1800")),
       (at(10), ("move", "Alder deal", "qualification"))],
    b=[(at(3), ("add", "Beech deal", "--value", "700")),
       (at(5), ("move", "Cedar deal", "proposal")),
       (at(7), ("lost", "Dune deal", "--reason", "price")),
       (at(9), ("edit", "Cedar deal", "--close-date", "2026-04-30", "--owner", "bob")),
       (at(11), ("won", "Beech deal"))],
    expect={"Acme deal": {"status": "won", "value": 1800},
            "Birch deal": {"owner": "ann", "value": 2500, "tags": ["hot"]},
            "Cedar deal": {"stage": "proposal", "owner": "bob", "close_date": "2026-04-30"},
            "Dune deal": {"status": "lost", "lost_reason": "price"},
            "Beech deal": {"status": "won"}},
)

# Both sides change the same deals from the same previous event: Acme is moved two ways,
# Birch's value edited two ways (tags and the owner do not clash), Dune won on one side and
# lost on the other. The later effective time counts: B's, every time.
SAME = Scenario(
    a=[(at(2), ("add", "Alder deal", "--value", "500")),
       (at(4), ("move", "Acme deal", "qualification")),
       (at(6), ("edit", "Birch deal", "--value", "2500", "--tag", "hot")),
       (at(8), ("won", "Dune deal"))],
    b=[(at(3), ("add", "Beech deal", "--value", "700")),
       (at(5), ("move", "Acme deal", "proposal")),
       (at(7), ("edit", "Birch deal", "--value", "2600", "--owner", "bob", "--tag", "vip")),
       (at(9), ("lost", "Dune deal", "--reason", "price"))],
    clashes={"Acme deal": {"stage": ("qualification", "proposal")},
             "Birch deal": {"value": ("2500", "2600")},
             "Dune deal": {"stage": ("won", "lost"), "status": ("won", "lost")}},
    expect={"Acme deal": {"stage": "proposal", "status": "open"},
            "Birch deal": {"value": 2600, "owner": "bob", "tags": ["hot", "vip"]},
            "Dune deal": {"stage": "lost", "status": "lost", "lost_reason": "price"}},
    # Completed stays at prospecting: Acme 3 days (day 1 9:00 to day 4 9:00), Dune 6.875
    # (day 1 12:00 to its win on day 8 9:00); the others are still there.
    own_stays={"prospecting": (4.94, 4.94)},
)

SCENARIOS = {"different-deals": DIFFERENT, "same-deal": SAME}
ROUTES = ("merge", "pull", "rebase", "cherry-pick")
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


# -- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def git_env(tmp_path, monkeypatch, one_month):
    """git with a fixed identity and no configuration from outside the test's folder."""
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Pipe Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "pipe@example.test")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    # one_month: a log file is named after the month of recording (the real clock), fixed
    # so a run that spans the turn of a month still sees both branches append to one file.


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, (f"git {' '.join(args)} in {repo.name} exited "
                                      f"{done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def configure(repo: Path) -> None:
    git(repo, "config", "user.name", "Pipe Test")
    git(repo, "config", "user.email", "pipe@example.test")


class Pipe:
    """`pipe` run in-process in one folder, with PIPE_NOW set per command."""

    def __init__(self, run, monkeypatch, folder: Path):
        self.run, self.monkeypatch, self.folder = run, monkeypatch, folder

    def __call__(self, *args: str, now: str = END):
        self.monkeypatch.chdir(self.folder)
        self.monkeypatch.setenv("PIPE_NOW", now)
        return self.run(*args)

    def ok(self, *args: str, now: str = END):
        result = self(*args, now=now)
        assert result.code == 0, f"pipe {' '.join(args)} in {self.folder.name}: {result.err}"
        return result

    def play(self, commands) -> None:
        for moment, args in commands:
            self.ok(*args, now=moment)

    def events(self) -> dict[str, dict]:
        lines = self.ok("export", "--history", "-o", "jsonl").out.splitlines()
        return {e["id"]: e for e in map(json.loads, lines)}

    def report(self) -> dict:
        return self.ok("report", "-o", "json").json()

    def deals(self) -> dict[str, dict]:
        """Every deal as it stands, by name, without its (random) id."""
        rows = self.ok("list", "--status", "all", "-o", "json").json()
        return {r["name"]: {k: v for k, v in r.items() if k != "id"} for r in rows}

    def show(self, name: str) -> dict:
        return self.ok("show", name, "-o", "json").json()


def commit(repo: Path, message: str, *, attributes: bool) -> None:
    if not attributes:
        # pipe writes deals/.gitattributes again whenever it is missing; git reads the work
        # tree's copy too, so the "without" case deletes it before git sees it.
        (repo / "deals" / ".gitattributes").unlink(missing_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def side(pipe: Pipe, repo: Path, commands, split: int, name: str, *, attributes: bool) -> None:
    """One side's work: its commands in two commits."""
    pipe.play(commands[:split])
    commit(repo, f"{name}: first changes", attributes=attributes)
    pipe.play(commands[split:])
    commit(repo, f"{name}: more changes", attributes=attributes)


def integrate(repo: Path, route: str, *, url: str, ref: str, fetched: str, base: str,
              attributes: bool) -> subprocess.CompletedProcess:
    """Bring the other side's commits in by `route`; `fetched` names them once fetched
    (pull fetches by itself); `base` is the commit both sides started from."""
    if not attributes:
        (repo / "deals" / ".gitattributes").unlink(missing_ok=True)
        assert git(repo, "ls-files", "deals/.gitattributes").stdout == ""
    if route == "pull":
        return git(repo, "pull", "--no-rebase", "--no-edit", url, ref)
    git(repo, "fetch", "-q", url, ref)
    if route == "merge":
        return git(repo, "merge", "--no-edit", fetched)
    if route == "rebase":
        return git(repo, "rebase", fetched)
    return git(repo, "cherry-pick", f"{base}..{fetched}")


def assert_clean_merge(repo: Path, route: str) -> None:
    """git finished (no merge, rebase or cherry-pick left half-way), nothing unmerged, and
    no pipe file holds a conflict marker."""
    assert git(repo, "status", "--porcelain").stdout == "", "the work tree is not clean"
    assert git(repo, "diff", "--name-only", "--diff-filter=U").stdout == ""
    gitdir = repo / ".git"
    for leftover in ("MERGE_HEAD", "CHERRY_PICK_HEAD", "rebase-merge", "rebase-apply"):
        assert not (gitdir / leftover).exists(), f"{route} left {leftover} behind"
    assert list((repo / "deals").glob("*.csv"))
    for path in [repo / "pipeline.yaml", *(p for p in (repo / "deals").iterdir() if p.is_file())]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not line.startswith(CONFLICT_MARKERS), f"{path.name}:{number}: {line}"
    if route == "rebase" or route == "cherry-pick":
        assert git(repo, "log", "--merges", "--format=%H").stdout == ""


def seed_store(pipe: Pipe, repo: Path, *, attributes: bool) -> str:
    """The shared starting store, committed; returns its commit."""
    (repo / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    pipe.play(SEED)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a shared store")
    tracked = git(repo, "ls-files").stdout.split()
    assert "deals/.gitattributes" in tracked
    assert not any(".local" in name for name in tracked), tracked
    if not attributes:
        git(repo, "rm", "-q", "deals/.gitattributes")
        git(repo, "commit", "-q", "-m", "without pipe's .gitattributes")
    return git(repo, "rev-parse", "HEAD").stdout.strip()


_SINGLE: dict[str, tuple[dict, dict]] = {}


def single_store(which: str, run, monkeypatch, folder: Path) -> tuple[dict, dict]:
    """The report and the deals of one store that received the seed and both sides'
    commands in time order (made once per scenario: the figures depend on nothing else).

    A close the other side's close already made is refused here; the clash rule lets the
    later one count, so it is replayed as reopen-then-close at the same moment. That reopen
    leaves a stay of 0 days at the reopened stage, which the merged store (won, then lost)
    has not: those stages' days-in-stage figures are checked against Scenario.own_stays."""
    if which not in _SINGLE:
        scenario = SCENARIOS[which]
        pipe = Pipe(run, monkeypatch, folder)
        folder.mkdir()
        (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
        pipe.play(SEED)
        for moment, args in sorted(scenario.a + scenario.b, key=lambda c: c[0]):
            result = pipe(*args, now=moment)
            if result.code != 0 and args[0] in ("won", "lost") and "is already" in result.err:
                pipe.ok("reopen", args[1], now=moment)
                result = pipe(*args, now=moment)
            assert result.code == 0, f"pipe {' '.join(args)}: {result.err}"
        assert pipe("check").code == 0
        _SINGLE[which] = pipe.report(), pipe.deals()
    report, deals = _SINGLE[which]
    return json.loads(json.dumps(report)), json.loads(json.dumps(deals))


def check_merged(pipe: Pipe, scenario: Scenario, before: dict[str, dict],
                 single: tuple[dict, dict], sides: dict[str, dict[str, dict]]) -> dict:
    """The merged store holds every event of both sides, reports what the single store
    reports, and `pipe check` names exactly the expected clashes. Returns what it read."""
    events = pipe.events()
    expected_ids = set().union(*(set(s) for s in sides.values()))
    assert set(events) == expected_ids, (
        f"lost: {sorted(expected_ids - set(events))}, extra: "
        f"{sorted(set(events) - expected_ids)}")
    for event_id, event in events.items():  # re-landed exactly as written
        owner = next(s for s in sides.values() if event_id in s)
        assert event == owner[event_id]

    report = pipe.report()
    merged, (single_report, single_deals) = json.loads(json.dumps(report)), single
    for stage, figures in scenario.own_stays.items():
        # the single store's reopen-then-close left a stay of 0 days there
        for row in (merged, single_report):
            found = next(s for s in row["stages"] if s["key"] == stage)
            if row is merged:
                assert (found["avg_days_in_stage"], found["median_days_in_stage"]) == figures
            found["avg_days_in_stage"] = found["median_days_in_stage"] = None
    assert merged == single_report
    deals = pipe.deals()
    assert deals == single_deals
    for name, fields in scenario.expect.items():
        for key, value in fields.items():
            assert deals[name][key] == value, (name, key, deals[name])
    for name, row in before.items():  # deals neither side touched are as they were
        if name not in scenario.expect and name not in scenario.clashes:
            assert deals[name] == row

    result = pipe("check")
    seen = {"events": events, "deals": deals, "report": report, "check": result.out}
    if not scenario.clashes:
        assert result.code == 0, result.out + result.err
        return seen
    assert result.code == 1, result.out + result.err
    lines = [line for line in result.out.splitlines() if line.strip()]
    assert all("clash:" in line for line in lines), result.out
    found = []
    for name, clashing in scenario.clashes.items():
        deal = pipe.show(name)
        new = [e for e in deal["history"] if e["event"] != "created" and e["sets"]]
        for key, (first, last) in clashing.items():
            pair = [e for e in new if key in e["sets"]]
            assert [e["sets"][key] for e in pair] == [first, last]
            early, late = pair
            assert early["prev"] == late["prev"]
            assert early["in_effect"] and late["in_effect"]  # neither side's change is dropped
            assert early["at"] < late["at"]
            assert str(deal[key]) == late["sets"][key]  # the later effective time counts
            line = next(line for line in lines if f"deal {deal['id']}" in line
                        and f"set {key} to" in line)
            assert f"event {early['id']}" in line and f"event {late['id']}" in line
            assert f"made from event {early['prev']}" in line
            assert f"{first!r} and {last!r}; the later one counts" in line
            found.append(line)
    assert len(found) == len(lines), result.out
    return seen


# -- two clones ------------------------------------------------------------------------------

@pytest.mark.parametrize("attributes", [True, False], ids=["gitattributes", "no-gitattributes"])
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("which", SCENARIOS)
def test_two_clones(which, route, attributes, tmp_path, run, monkeypatch, git_env):
    scenario = SCENARIOS[which]
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    a_repo = tmp_path / "a"
    a_repo.mkdir()
    git(a_repo, "init", "-q", "-b", "main")
    configure(a_repo)
    a = Pipe(run, monkeypatch, a_repo)
    base = seed_store(a, a_repo, attributes=attributes)
    before = a.deals()
    git(a_repo, "remote", "add", "origin", str(origin))
    git(a_repo, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(origin), "b")
    b_repo = tmp_path / "b"
    configure(b_repo)
    b = Pipe(run, monkeypatch, b_repo)
    assert b.deals() == before  # the clone reads the committed log into its own index

    side(a, a_repo, scenario.a, scenario.split, "A", attributes=attributes)
    side(b, b_repo, scenario.b, scenario.split, "B", attributes=attributes)
    sides = {"a": a.events(), "b": b.events()}
    files_a = {p.name for p in (a_repo / "deals").glob("*.csv")}
    files_b = {p.name for p in (b_repo / "deals").glob("*.csv")}
    assert files_b - files_a, "the clone writes a log file of its own"
    if not attributes:
        (a_repo / "deals" / ".gitattributes").unlink(missing_ok=True)
        name = sorted(files_a)[0]
        assert "unspecified" in git(a_repo, "check-attr", "merge", f"deals/{name}").stdout
    git(b_repo, "push", "-q", "origin", "main")
    git(a_repo, "branch", "side-a")  # A's work as it was, for B to take the other way round

    single = single_store(which, run, monkeypatch, tmp_path / "single")

    integrate(a_repo, route, url=str(origin), ref="main", fetched="FETCH_HEAD", base=base,
              attributes=attributes)
    assert_clean_merge(a_repo, route)
    seen = check_merged(a, scenario, before, single, sides)

    # The other way round — B takes A's commits — lands on the same store: deterministic.
    integrate(b_repo, route, url=str(a_repo), ref="side-a", fetched="FETCH_HEAD", base=base,
              attributes=attributes)
    assert_clean_merge(b_repo, route)
    assert b.events() == seen["events"]
    assert b.deals() == seen["deals"]
    assert b.report() == seen["report"]
    assert b("check").out == seen["check"].replace(str(a_repo), str(b_repo))


# -- two branches of one clone ----------------------------------------------------------------

@pytest.mark.parametrize("route", ["merge", "rebase", "cherry-pick"])
@pytest.mark.parametrize("which", SCENARIOS)
def test_two_branches_of_one_clone(which, route, tmp_path, run, monkeypatch, git_env):
    """Both branches append to the same log file (one writer); the union merge driver of
    deals/.gitattributes keeps both sides' lines."""
    scenario = SCENARIOS[which]
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    configure(repo)
    pipe = Pipe(run, monkeypatch, repo)
    base = seed_store(pipe, repo, attributes=True)
    before = pipe.deals()
    files = {p.name for p in (repo / "deals").glob("*.csv")}

    git(repo, "checkout", "-q", "-b", "side-b")
    side(pipe, repo, scenario.b, scenario.split, "B", attributes=True)
    events_b = pipe.events()
    git(repo, "checkout", "-q", "main")
    assert pipe.deals() == before  # B's events left with its branch, and are not lost:
    assert pipe("check").code == 0  # a commit holds them
    side(pipe, repo, scenario.a, scenario.split, "A", attributes=True)
    events_a = pipe.events()
    assert {p.name for p in (repo / "deals").glob("*.csv")} == files  # one file, both sides
    assert "union" in git(repo, "check-attr", "merge", f"deals/{sorted(files)[0]}").stdout

    single = single_store(which, run, monkeypatch, tmp_path / "single")

    if route == "merge":
        git(repo, "merge", "--no-edit", "side-b")
    elif route == "rebase":
        git(repo, "rebase", "side-b")
    else:
        git(repo, "cherry-pick", f"{base}..side-b")
    assert_clean_merge(repo, route)
    check_merged(pipe, scenario, before, single, {"a": events_a, "b": events_b})


def test_branches_that_both_start_the_log_file(tmp_path, run, monkeypatch, git_env):
    """Two branches of a fresh clone both create its log file (header and all): git sees an
    add/add, the union driver keeps both, and the header line twice is harmless."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed_repo = tmp_path / "seed"
    seed_repo.mkdir()
    git(seed_repo, "init", "-q", "-b", "main")
    configure(seed_repo)
    seeder = Pipe(run, monkeypatch, seed_repo)
    base = seed_store(seeder, seed_repo, attributes=True)
    git(seed_repo, "push", "-q", str(origin), "main")
    git(tmp_path, "clone", "-q", str(origin), "repo")
    repo = tmp_path / "repo"
    configure(repo)
    pipe = Pipe(run, monkeypatch, repo)
    before = pipe.deals()

    git(repo, "checkout", "-q", "-b", "side-b")
    side(pipe, repo, DIFFERENT.b, DIFFERENT.split, "B", attributes=True)
    events_b = pipe.events()
    git(repo, "checkout", "-q", "main")
    side(pipe, repo, DIFFERENT.a, DIFFERENT.split, "A", attributes=True)
    events_a = pipe.events()
    new = set(git(repo, "diff", "--name-only", "--diff-filter=A", base, "side-b").stdout.split())
    assert new & set(git(repo, "diff", "--name-only", "--diff-filter=A", base,
                         "main").stdout.split()), "both branches add the same log file"

    single = single_store("different-deals", run, monkeypatch, tmp_path / "single")
    git(repo, "merge", "--no-edit", "side-b")
    assert_clean_merge(repo, "merge")
    check_merged(pipe, DIFFERENT, before, single, {"a": events_a, "b": events_b})


# -- a write lost to git checkout ---------------------------------------------------------------

def test_a_write_lost_to_git_checkout_is_reported_and_appended_back(tmp_path, run, monkeypatch,
                                                                   git_env):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    configure(repo)
    pipe = Pipe(run, monkeypatch, repo)
    seed_store(pipe, repo, attributes=True)
    committed = {p.name: p.read_bytes() for p in (repo / "deals").glob("*.csv")}

    deal_id = pipe.ok("add", "Lost deal", "--value", "900", now=at(3)).out.strip()
    event_id = pipe.show(deal_id)["history"][0]["id"]
    assert pipe("check").code == 0
    git(repo, "checkout", "--", "deals/")  # the uncommitted line is gone from the log
    assert {p.name: p.read_bytes() for p in (repo / "deals").glob("*.csv")} == committed

    assert pipe("show", deal_id).code != 0  # the store follows the log...
    result = pipe("check")
    assert result.code == 1
    lost = [line for line in result.out.splitlines() if f"event {event_id}" in line]
    assert len(lost) == 1, result.out
    assert f"deal {deal_id}" in lost[0] and "created" in lost[0]
    assert "lost to a git checkout or reset" in lost[0] and "--fix" in lost[0]
    assert pipe("check").out == result.out  # reported until fixed, not just once

    fixed = pipe("check", "--fix")
    assert fixed.code == 0, fixed.out + fixed.err
    assert "appended 1 lost event back" in fixed.out
    shown = pipe.show(deal_id)  # ...and gets the event back, same id, same moment
    assert shown["name"] == "Lost deal" and shown["value"] == 900
    assert [(e["id"], e["at"]) for e in shown["history"]] == [(event_id, at(3))]
    assert pipe("check").code == 0
    assert event_id in "".join(p.read_text() for p in (repo / "deals").glob("*.csv"))
    assert pipe("check", "--fix").out.strip() == pipe("check").out.strip()  # nothing twice
