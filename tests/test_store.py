"""The stores themselves. The event-log folder: its layout, append-only lines, torn and
unreadable lines, failed writes, symbolic links, the disposable local index, catching up
with what others appended, and git merges. SQLite specifics, locking, refused layouts."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PIPELINE_YAML, add, everything, store_digest
from pipecli.store.codec import LOG_COLUMNS, decode_line, line_crc

LOG_NAME = re.compile(r"^\d{4}-\d\d-[0-9a-z]{8}\.csv$")


pytestmark = pytest.mark.usefixtures("one_month")


@pytest.fixture
def log_workspace(tmp_path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    return tmp_path


@pytest.fixture
def sqlite_workspace(tmp_path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.sqlite"))
    return tmp_path


@pytest.fixture
def nested(tmp_path, monkeypatch) -> Path:
    """A workspace in tmp/ws, so that tmp/outside is outside it (and still in the test's
    own folder)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(ws)
    return ws


def log_files(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "deals").iterdir() if p.suffix == ".csv")


def the_log(folder: Path) -> Path:
    """The one log file of a folder with one writer."""
    files = log_files(folder)
    assert len(files) == 1, files
    return files[0]


def tree_digest(folder: Path) -> dict[str, str]:
    """Every entry under a folder (files by content, symbolic links by target), to prove
    nothing there was read-modified, created or removed."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


def line_of(cells: list[str]) -> bytes:
    """A log line with a correct checksum over the given cells."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    body = buf.getvalue()
    return f"{body},{line_crc(body)}\n".encode()


def cells_of(line: bytes) -> list[str]:
    body = line.decode().rstrip("\n").rpartition(",")[0]
    return next(csv.reader([body]))




def busy_history(run) -> list[str]:
    """A store with every kind of change; returns the deal ids."""
    a = add(run, "Acme", "--value", "500", "--email", "a@acme.co", "--at", "2026-11-01")
    b = add(run, "Beta", "--value", "200", "--at", "2026-11-02")
    c = add(run, "Gone", "--at", "2026-11-02")
    run("move", a, "qualification", "--at", "2026-11-03")
    run("move", a, "proposal", "--at", "2026-11-04")
    run("won", a, "--at", "2026-11-05")
    run("lost", b, "--reason", "price", "--at", "2026-11-06")
    run("reopen", b, "--at", "2026-11-07")
    run("edit", b, "--owner", "dana", "--tag", "vip")
    run("rm", c, "--yes")
    run("move", b, "proposal")
    assert run("undo").code == 0
    return [a, b]


# -- the layout -----------------------------------------------------------------------------

def test_the_log_is_lf_utf8_lines_with_a_checksum_in_one_file_per_writer(run, log_workspace):
    ids = [add(run, f"Déal {i}", "--value", str(i * 100)) for i in range(12)]
    for deal_id in ids[:6]:
        assert run("move", deal_id, "proposal").code == 0
    folder = log_workspace / "deals"
    log = the_log(log_workspace)
    assert {p.name for p in folder.iterdir()} == {".gitattributes", ".local", log.name}
    assert LOG_NAME.match(log.name)
    writer = (folder / ".local" / "writer").read_text().split()[0]
    assert log.name[8:16] == writer
    assert "*.csv merge=union" in (folder / ".gitattributes").read_text()
    assert "*" in (folder / ".local" / ".gitignore").read_text().splitlines()
    data = log.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n") and "Déal 11".encode() in data
    header, *lines = data.decode("utf-8").splitlines()
    assert header == ",".join(LOG_COLUMNS) and len(lines) == 18
    events = [decode_line(line) for line in lines]
    assert len({e.id for e in events}) == 18
    assert [e.recorded for e in events] == sorted({e.recorded for e in events})
    created = {e.deal_id: e for e in events if e.kind == "created"}
    assert sorted(created) == sorted(ids)
    for e in events:
        if e.kind == "moved":
            assert e.prev == created[e.deal_id].id and e.sets["stage"] == "proposal"


def test_a_change_appends_one_line_and_rewrites_nothing(run, log_workspace):
    ids = [add(run, f"Deal {i}") for i in range(10)]
    log = the_log(log_workspace)
    before = log.read_bytes()
    target = ids[4]
    assert run("move", target, "proposal").code == 0
    after = log.read_bytes()
    assert after.startswith(before) and after[len(before):].count(b"\n") == 1
    event = decode_line(after[len(before):-1].decode())
    created = next(decode_line(line) for line in before.decode().splitlines()[1:]
                   if decode_line(line).deal_id == target)
    assert (event.deal_id, event.kind, event.prev, event.sets["stage"]) == \
        (target, "moved", created.id, "proposal")
    # Refused commands and changes that change nothing write nothing.
    for args in (["move", target, "proposal"], ["move", target, "nowhere"],
                 ["lost", target, "--reason", "not a reason"], ["edit", target],
                 ["won", "no-such-deal"]):
        run(*args)
        assert log.read_bytes() == after, args


def test_store_files_are_not_world_writable(run, log_workspace):
    deal_id = add(run, "Acme")
    run("move", deal_id, "proposal")
    folder = log_workspace / "deals"
    for path in [*folder.iterdir(), *(folder / ".local").iterdir()]:
        assert path.stat().st_mode & 0o002 == 0, path
    assert not list(log_workspace.rglob("*.tmp"))


# -- torn and unreadable lines ----------------------------------------------------------------

# Runs one pipe command in a process that dies (as under kill -9 or a power cut) at a chosen
# point of appending its line: half-way through the line, just before its line break, or
# after the line is written and synced but before the index took it in.
CRASHING = r"""
import os, sys
from datetime import datetime, timezone
from pipecli.store import logstore
from pipecli.cli import main

where = sys.argv[1]

class Month(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc).astimezone(tz)

class Crashing:
    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data):
        data = bytes(data)
        if where == "mid-line":
            os.write(fd, data[:len(data) // 2])
            os._exit(9)
        if where == "before-line-break":
            os.write(fd, data[:-1])
            os._exit(9)
        return os.write(fd, data)

    def fsync(self, fd):
        os.fsync(fd)
        if where == "after-sync":
            os._exit(9)

logstore.datetime = Month
logstore.os = Crashing()
sys.argv = ["pipe", *sys.argv[2:]]
main()
"""


def _crash(folder: Path, where: str, *args: str) -> None:
    done = subprocess.run([sys.executable, "-c", CRASHING, where, *args], cwd=folder,
                          capture_output=True, text=True)
    assert done.returncode == 9, done.stderr


@pytest.mark.parametrize("where", ["mid-line", "before-line-break"])
def test_a_line_cut_off_by_a_crash_is_never_read_and_is_reported(run, log_workspace, where):
    deal_id = add(run, "Acme", "--value", "500")
    log = the_log(log_workspace)
    before = log.read_bytes()
    _crash(log_workspace, where, "move", deal_id, "proposal")
    torn = log.read_bytes()
    assert torn.startswith(before) and len(torn) > len(before) and not torn.endswith(b"\n")
    # Not read as data: the move never happened.
    shown = run("show", deal_id, "-o", "json").json()
    assert shown["stage"] == "prospecting"
    assert [e["event"] for e in shown["history"]] == ["created"]
    assert run("report", "-o", "json").json()["totals"]["open_value"] == 500
    digest = store_digest(log_workspace)
    checked = run("check")
    assert checked.code == 1
    assert f"{log}: the last line is incomplete (a write cut off by a crash); it is not " \
           f"read" in checked.out
    assert store_digest(log_workspace) == digest  # check alone never writes
    # This writer's next append cuts the torn part off first: it never joins a line.
    assert run("move", deal_id, "proposal").code == 0
    data = log.read_bytes()
    assert data.startswith(before) and data.endswith(b"\n")
    lines = data.decode().splitlines()[1:]
    assert [decode_line(line).kind for line in lines] == ["created", "moved"]
    assert run("check").code == 0
    assert [e["event"] for e in run("show", deal_id, "-o", "json").json()["history"]] == \
        ["created", "moved"]


def test_a_crash_after_the_line_is_written_loses_nothing(run, log_workspace):
    """The line is in the log, the index never took it in: the log is the truth, and the
    next command catches up with it."""
    deal_id = add(run, "Acme")
    _crash(log_workspace, "after-sync", "move", deal_id, "proposal")
    shown = run("show", deal_id, "-o", "json").json()
    assert shown["stage"] == "proposal"
    assert [e["event"] for e in shown["history"]] == ["created", "moved"]
    assert run("check").code == 0
    assert run("won", deal_id).code == 0
    assert [decode_line(line).kind for line in the_log(log_workspace).read_text().splitlines()
            [1:]] == ["created", "moved", "won"]


def _bad_checksum(lines):
    lines[3] = lines[3].replace(b",proposal,", b",won,")  # edited by hand: the crc fails
    return lines


def _conflict_markers(lines):
    return lines[:3] + [b"<<<<<<< HEAD\n", b"=======\n", b">>>>>>> other\n"] + lines[3:]


def _not_utf8(lines):
    lines[3] = lines[3].replace(b"proposal", b"propos\xffal")
    return lines


def _resigned(mutate_cells):
    def mutate(lines):
        lines[3] = line_of(mutate_cells(cells_of(lines[3])))
        return lines
    return mutate


def _kind(cells):
    cells[LOG_COLUMNS.index("kind")] = "teleported"
    return cells


def _amount(cells):
    cells[LOG_COLUMNS.index("sets")] += " value"
    cells[LOG_COLUMNS.index("value")] = "lots"
    return cells


@pytest.mark.parametrize("mutate, fragment", [
    (_bad_checksum, "the line's checksum does not match (torn by a crash, or edited)"),
    (_conflict_markers, "the line's checksum does not match"),
    (_not_utf8, "not UTF-8 text"),
    (_resigned(_kind), "column kind: 'teleported' is not one of created"),
    (_resigned(lambda cells: cells[:-5]), f"has {len(LOG_COLUMNS) - 6} cells, expected "
                                          f"{len(LOG_COLUMNS) - 1}"),
    (_resigned(_amount), "'lots' is not an amount"),
], ids=["checksum", "conflict-markers", "not-utf8", "kind", "cells", "amount"])
def test_an_unreadable_line_is_skipped_and_reported_with_its_place(run, log_workspace, mutate,
                                                                   fragment):
    """A line that cannot be read (edited, mangled, not pipe's) is never read as data; the
    rest of the log still is, every command works, and `pipe check` names the line. When it
    was an event the index had seen, that event is also reported lost (and --fix appends it
    back; the unreadable line stays as it is: the log is never rewritten)."""
    acme = add(run, "Acme", "--value", "500")
    zeta = add(run, "Zeta", "--value", "100")
    run("move", acme, "proposal")  # line 4 of the file
    moved = run("show", acme, "-o", "json").json()["history"][-1]["id"]
    log = the_log(log_workspace)
    log.write_bytes(b"".join(mutate(log.read_bytes().splitlines(keepends=True))))
    broken = log.read_bytes()
    lost = mutate is not _conflict_markers  # the moved line itself was damaged
    shown = run("show", acme, "-o", "json").json()
    assert shown["value"] == 500
    assert [e["event"] for e in shown["history"]] == (["created"] if lost else
                                                      ["created", "moved"])
    assert run("show", zeta, "-o", "json").json()["value"] == 100
    assert run("report", "-o", "json").json()["totals"]["open_count"] == 2
    digest = store_digest(log_workspace)
    checked = run("check")
    assert checked.code == 1
    assert f"{log}:4: {fragment}" in checked.out
    assert all(line.endswith("; the line is not read") for line in checked.out.splitlines()
               if line.startswith(f"{log}:"))
    assert (f"event {moved} of deal {acme} (moved," in checked.out) == lost
    assert checked.out.count("\n") == (2 if lost else 3)  # the three markers, or two findings
    assert store_digest(log_workspace) == digest
    fixed = run("check", "--fix")
    assert fixed.code == 1 and f"{log}:4: {fragment}" in fixed.out
    data = log.read_bytes()
    assert data.startswith(broken) and data.count(b"\n") == broken.count(b"\n") + lost
    assert run("show", acme, "-o", "json").json()["stage"] == "proposal"
    # Appends carry on after it.
    assert run("won", zeta).code == 0
    assert log.read_bytes().startswith(data)
    assert run("show", zeta, "-o", "json").json()["status"] == "won"


def test_crlf_line_breaks_and_a_byte_order_mark_an_editor_adds_are_read(run, log_workspace):
    ids = busy_history(run)
    seen = everything(run, ids)
    log = the_log(log_workspace)
    log.write_bytes(b"\xef\xbb\xbf" + log.read_bytes().replace(b"\n", b"\r\n"))
    shutil.rmtree(log_workspace / "deals" / ".local")  # read the edited file from scratch
    assert everything(run, ids) == seen
    assert run("check").code == 0
    assert run("edit", ids[1], "--owner", "erin").code == 0
    assert run("show", ids[1], "-o", "json").json()["owner"] == "erin"


def test_a_line_repeated_by_a_merge_counts_once(run, log_workspace):
    ids = busy_history(run)
    seen = everything(run, ids)
    log = the_log(log_workspace)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines + lines[1:4]))
    assert everything(run, ids) == seen
    assert run("check").code == 0


# -- failed writes --------------------------------------------------------------------------

class _Failing:
    """The log store's view of the os module, failing at one point of an append."""

    def __init__(self, where: str, error: OSError):
        self.where, self.error = where, error

    def __getattr__(self, name):
        return getattr(os, name)

    def open(self, path, flags, mode=0o777):
        if self.where == "open" and flags & os.O_APPEND:
            raise self.error
        return os.open(path, flags, mode)

    def write(self, fd, data):
        if self.where == "write":
            os.write(fd, bytes(data)[:20])  # part of it got to the disk
            raise self.error
        return os.write(fd, data)

    def fsync(self, fd):
        if self.where == "fsync":
            raise self.error
        return os.fsync(fd)


@pytest.mark.parametrize("where, error, says", [
    ("write", OSError(28, "No space left on device"), "the disk is full; nothing was changed"),
    # Stands in for a read-only folder (the tests run as root, who may write anywhere).
    ("open", PermissionError(13, "Permission denied"), "Permission denied; nothing was changed"),
    ("fsync", OSError(5, "Input/output error"), "Input/output error; nothing was changed"),
])
def test_a_failed_write_leaves_the_log_as_it_was(run, log_workspace, monkeypatch, where, error,
                                                 says):
    from pipecli.store import logstore

    deal_id = add(run, "Acme")
    log = the_log(log_workspace)
    before = log.read_bytes()
    digest = store_digest(log_workspace)
    monkeypatch.setattr(logstore, "os", _Failing(where, error))
    result = run("move", deal_id, "proposal")
    monkeypatch.setattr(logstore, "os", os)
    assert result.code == 1 and result.err.endswith(f"cannot write {log}: {says}\n")
    assert result.err.count("\n") == 1 and store_digest(log_workspace) == digest
    assert run("show", deal_id, "-o", "json").json()["stage"] == "prospecting"
    # The index did not keep the failed event either: the retry lands it once.
    assert run("move", deal_id, "proposal").code == 0
    after = log.read_bytes()
    assert after.startswith(before) and after[len(before):].count(b"\n") == 1
    assert [e["event"] for e in run("show", deal_id, "-o", "json").json()["history"]] == \
        ["created", "moved"]


# -- symbolic links and what others committed -------------------------------------------------

def _foreign_store(folder: Path, *names: str) -> Path:
    """Another workspace with its own deals (what a hostile link would point pipe at)."""
    folder.mkdir()
    (folder / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    for name in names:
        done = subprocess.run([sys.executable, "-m", "pipecli", "add", name], cwd=folder,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return folder


def test_a_committed_local_folder_link_is_not_followed(run, nested):
    """deals/.local is a symbolic link (it came in a commit) to another store's local
    folder: pipe neither reads that index nor writes there."""
    acme = add(run, "Acme")
    other = _foreign_store(nested.parent / "outside" / "other", "Planted")
    shutil.rmtree(nested / "deals" / ".local")
    (nested / "deals" / ".local").symlink_to(other / "deals" / ".local")
    log_before = the_log(nested).read_bytes()
    outside = tree_digest(nested.parent / "outside")
    listed = run("list", "-o", "json")
    assert listed.code == 0 and [d["id"] for d in listed.json()] == [acme]  # read from the log
    for args in (["add", "Beta"], ["move", acme, "proposal"], ["check"], ["check", "--fix"]):
        result = run(*args)
        assert result.code == 1 and "is not a folder pipe created (a symbolic link" in \
            result.err, (args, result.err)
    assert tree_digest(nested.parent / "outside") == outside
    assert the_log(nested).read_bytes() == log_before
    # Once the link is removed, pipe makes its own local folder again.
    (nested / "deals" / ".local").unlink()
    assert run("move", acme, "proposal").code == 0 and run("check").code == 0


def test_links_inside_a_committed_local_folder_are_not_followed(run, nested):
    """A real deals/.local folder that came in a commit, whose lock, writer, index and
    .gitignore are links out of the workspace: each is replaced or left, never followed."""
    acme = add(run, "Acme")
    outside = nested.parent / "outside"
    other = _foreign_store(outside / "other", "Planted")
    (outside / "victim").write_text("keep me\n")
    local = nested / "deals" / ".local"
    shutil.rmtree(local)
    local.mkdir()
    (local / "lock").symlink_to(outside / "victim")
    (local / "writer").symlink_to(outside / "victim")
    (local / "index.sqlite").symlink_to(other / "deals" / ".local" / "index.sqlite")
    (local / ".gitignore").symlink_to(outside / "planted-gitignore")  # dangling
    before = tree_digest(outside)
    assert [d["id"] for d in run("list", "-o", "json").json()] == [acme]
    beta = add(run, "Beta")
    assert run("move", acme, "proposal").code == 0 and run("check").code == 0
    assert tree_digest(outside) == before
    assert {d["id"] for d in run("list", "-o", "json").json()} == {acme, beta}
    assert not (local / "lock").is_symlink() and not (local / "index.sqlite").is_symlink()


def test_a_linked_store_folder_is_refused(run, nested):
    """deals itself is a link out of the workspace: every command refuses it, and nothing
    is read or written there."""
    other = _foreign_store(nested.parent / "outside" / "other", "Planted")
    (nested / "deals").symlink_to(other / "deals")
    before = tree_digest(nested.parent / "outside")
    for args in (["list"], ["add", "Acme"], ["report"], ["check"], ["check", "--fix"]):
        result = run(*args)
        said = result.out + result.err
        assert result.code != 0 and "outside the folder of pipeline.yaml" in said, (args, said)
        assert "Planted" not in result.out
    assert tree_digest(nested.parent / "outside") == before


def test_a_linked_log_file_is_neither_read_nor_written(run, nested):
    acme = add(run, "Acme")
    outside = nested.parent / "outside"
    other = _foreign_store(outside / "other", "Planted")
    mine = the_log(nested)
    foreign = the_log(other)
    # A link named like a log file, and a dangling .gitattributes link.
    planted = nested / "deals" / "2026-10-aaaaaaaa.csv"
    planted.symlink_to(foreign)
    (nested / "deals" / ".gitattributes").unlink()
    (nested / "deals" / ".gitattributes").symlink_to(outside / "planted-attributes")
    before = tree_digest(outside)
    assert [d["name"] for d in run("list", "-o", "json").json()] == ["Acme"]
    checked = run("check")
    assert checked.code == 1
    assert f"{planted}: is not a log file pipe reads (a symbolic link" in checked.out
    # This writer's own file replaced by a link (to a copy of it, outside): not read, and
    # the append is refused rather than written through the link.
    copy = outside / "copy.csv"
    copy.write_bytes(mine.read_bytes())
    mine.unlink()
    mine.symlink_to(copy)
    before = tree_digest(outside)
    result = run("add", "Beta")
    assert result.code == 1 and f"cannot write {mine}:" in result.err
    assert result.err.endswith("nothing was changed\n")
    assert run("list", "-o", "json").json() == []
    assert tree_digest(outside) == before


def test_a_hostile_index_is_discarded_and_rebuilt(run, log_workspace):
    """An index with an object pipe did not create (a trigger that would rewrite what pipe
    reads) is not used: it is rebuilt from the log."""
    acme = add(run, "Acme", "--value", "100")
    index = log_workspace / "deals" / ".local" / "index.sqlite"
    conn = sqlite3.connect(index)
    conn.execute("CREATE TRIGGER planted AFTER INSERT ON events BEGIN "
                 "UPDATE deals SET name = 'HACKED', value_milli = 1; END")
    conn.execute("UPDATE deals SET name = 'HACKED', value_milli = 999000")
    conn.commit()
    conn.close()
    beta = add(run, "Beta", "--value", "50")
    listed = {d["id"]: (d["name"], d["value"]) for d in run("list", "-o", "json").json()}
    assert listed == {acme: ("Acme", 100), beta: ("Beta", 50)}
    conn = sqlite3.connect(index)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                        ).fetchone()[0] == 0
    conn.close()
    assert run("check").code == 0


def test_an_unreadable_index_is_rebuilt(run, log_workspace):
    ids = busy_history(run)
    seen = everything(run, ids)
    local = log_workspace / "deals" / ".local"
    for path in local.glob("index.sqlite*"):
        path.unlink()
    (local / "index.sqlite").write_bytes(b"not a database" * 500)
    assert everything(run, ids) == seen


def test_a_folder_copied_with_its_local_index_gets_its_own(run, tmp_path, monkeypatch):
    """An index made in another folder (copied with it, or copied in) is not trusted: its
    events would otherwise pass for this log's, and `check --fix` would append them."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    monkeypatch.chdir(a)
    acme = add(run, "Acme")
    shutil.copytree(a, b, symlinks=True)  # .local included
    gamma = add(run, "Gamma")  # only in a's log (and a's index)
    local_b = b / "deals" / ".local"
    for path in local_b.glob("index.sqlite*"):
        path.unlink()
    for path in (a / "deals" / ".local").glob("index.sqlite*"):
        shutil.copy2(path, local_b / path.name)
    monkeypatch.chdir(b)
    log_b = the_log(b).read_bytes()
    checked = run("check")
    assert checked.code == 0, checked.out
    assert [d["id"] for d in run("list", "-o", "json").json()] == [acme]
    fixed = run("check", "--fix")
    assert fixed.code == 0 and "appended" not in fixed.out
    assert the_log(b).read_bytes() == log_b and run("show", gamma).code == 1
    # The copy also writes as a writer of its own: two folders never append to one file.
    beta = add(run, "Beta")
    assert len(log_files(b)) == 2 and the_log(a).name in {p.name for p in log_files(b)}
    assert (b / "deals" / the_log(a).name).read_bytes() == log_b
    assert {d["id"] for d in run("list", "-o", "json").json()} == {acme, beta}


@pytest.mark.parametrize("remove", ["local folder", "index only"])
def test_deleting_the_local_folder_is_safe(run, log_workspace, remove):
    ids = busy_history(run)
    seen = everything(run, ids)
    log = the_log(log_workspace)
    logged = log.read_bytes()
    local = log_workspace / "deals" / ".local"
    if remove == "local folder":
        shutil.rmtree(local)
    else:
        for path in local.glob("index.sqlite*"):
            path.unlink()
    assert everything(run, ids) == seen
    assert run("check").code == 0
    assert run("edit", ids[0], "--owner", "sam").code == 0
    assert log.read_bytes().startswith(logged)
    # A new local folder is a new writer: it starts a file of its own.
    assert len(log_files(log_workspace)) == (2 if remove == "local folder" else 1)
    assert run("show", ids[0], "-o", "json").json()["owner"] == "sam"
    assert run("check").code == 0


# -- catching up with the log ---------------------------------------------------------------

def test_events_another_clone_appended_are_picked_up(run, tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    monkeypatch.chdir(a)
    acme = add(run, "Acme", "--value", "100")
    assert run("list").code == 0  # a's index is up to date
    shutil.copytree(a, b, ignore=shutil.ignore_patterns(".local"))  # a clone: no .local
    monkeypatch.chdir(b)
    assert run("move", acme, "proposal").code == 0
    bob = add(run, "Bob's", "--value", "70")
    (theirs,) = [p for p in log_files(b) if p.name != the_log(a).name]
    # A new file (b's), as git pull brings it.
    shutil.copy2(theirs, a / "deals" / theirs.name)
    monkeypatch.chdir(a)
    shown = run("show", acme, "-o", "json").json()
    assert shown["stage"] == "proposal" and [e["event"] for e in shown["history"]] == \
        ["created", "moved"]
    assert run("show", bob, "-o", "json").json()["value"] == 70
    # The same file grown (b appended again), as the next pull brings it.
    monkeypatch.chdir(b)
    assert run("won", acme).code == 0
    grown = theirs.read_bytes()
    monkeypatch.chdir(a)
    with open(a / "deals" / theirs.name, "ab") as f:
        f.write(grown[len((a / "deals" / theirs.name).read_bytes()):])
    assert run("show", acme, "-o", "json").json()["status"] == "won"
    assert run("check").code == 0
    in_a = run("report", "-o", "json").json()
    monkeypatch.chdir(b)
    assert run("report", "-o", "json").json() == in_a


def test_an_event_another_process_appended_is_seen_by_the_next_read(run, log_workspace):
    acme = add(run, "Acme")
    assert run("show", acme).code == 0
    done = subprocess.run([sys.executable, "-m", "pipecli", "move", acme, "proposal"],
                          cwd=log_workspace, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert run("show", acme, "-o", "json").json()["stage"] == "proposal"


def test_a_log_rewritten_shorter_is_read_again_and_the_lost_event_appended_back(
        run, log_workspace):
    """As after `git checkout -- deals` or a reset: the file lost its last line. Its events
    are read again; the one the index had seen is reported by `pipe check` (the first command
    to run) and appended back, with its id, by `pipe check --fix`."""
    acme = add(run, "Acme", "--value", "100")
    log = the_log(log_workspace)
    old = log.read_bytes()
    assert run("move", acme, "proposal").code == 0
    moved = run("show", acme, "-o", "json").json()["history"][-1]
    log.write_bytes(old)
    digest = store_digest(log_workspace)
    checked = run("check")
    assert checked.code == 1
    assert f"event {moved['id']} of deal {acme} (moved, {moved['at']}) was recorded here but " \
           f"is in no log file" in checked.out and "(pipe check --fix repairs this)" in \
        checked.out
    assert checked.err == "pipe: check: 1 problem, 1 repairable with --fix\n"
    assert store_digest(log_workspace) == digest
    assert run("show", acme, "-o", "json").json()["stage"] == "prospecting"  # the log's truth
    fixed = run("check", "--fix")
    assert fixed.code == 0 and "fixed: appended 1 lost event back to the log" in fixed.out
    data = log.read_bytes()
    assert data.startswith(old) and data.count(b"\n") == old.count(b"\n") + 1
    shown = run("show", acme, "-o", "json").json()
    assert shown["stage"] == "proposal" and shown["history"][-1] == moved
    assert run("check").code == 0


def test_a_log_file_that_went_away_is_reported(run, log_workspace):
    acme = add(run, "Acme")
    the_log(log_workspace).unlink()
    checked = run("check")
    assert checked.code == 1 and f"of deal {acme} (created" in checked.out
    assert run("list", "-o", "json").json() == []
    assert run("check", "--fix").code == 0
    assert [d["id"] for d in run("list", "-o", "json").json()] == [acme]


# -- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["add", "X", "--probability", "1e-200000"],
    ["add", "X", "--probability", "1e200000"],
    ["add", "X", "--value", "1e-200000"],
    ["add", "X", "--value", "9e999999"],
    ["edit", "{id}", "--probability", "1e-200000"],
    ["won", "{id}", "--value", "1e-200000"],
])
def test_absurd_numbers_are_refused_and_nothing_is_written(run, workspace, args):
    deal_id = add(run, "Acme")
    digest = store_digest(workspace)
    result = run(*[a.replace("{id}", deal_id) for a in args])
    assert result.code != 0 and result.err.count("\n") == 1
    assert "is not" in result.err
    assert store_digest(workspace) == digest


# -- SQLite specifics -----------------------------------------------------------------------

def test_sqlite_is_wal_with_exact_money(run, sqlite_workspace):
    add(run, "Acme", "--value", "0.10")
    add(run, "Beta", "--value", "0.20")
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT sum(value_milli) FROM deals").fetchone()[0] == 300
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"format": "pipe-store",
                                                                  "version": "5"}
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    conn.close()
    assert run("report", "-o", "json").json()["totals"]["open_value"] == 0.3


def test_sqlite_that_is_not_a_pipe_store(run, sqlite_workspace):
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    before = store_digest(sqlite_workspace)
    result = run("add", "Acme")
    assert result.code == 1 and "not a pipe store" in result.err
    assert store_digest(sqlite_workspace) == before


def test_a_sqlite_store_with_a_trigger_pipe_did_not_create_is_not_used(run, sqlite_workspace):
    """The SQLite store is the truth, so unlike the log's index it is not rebuilt: it is
    refused, untouched."""
    add(run, "Acme")
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    conn.execute("CREATE TRIGGER planted AFTER INSERT ON events BEGIN "
                 "UPDATE deals SET name = 'HACKED'; END")
    conn.commit()
    conn.close()
    before = store_digest(sqlite_workspace)
    for args in (["list"], ["add", "Beta"], ["check"]):
        result = run(*args)
        assert result.code == 1 and "tables, indexes or triggers pipe did not create" in \
            result.err, (args, result.err)
    assert store_digest(sqlite_workspace) == before


def test_corrupt_sqlite_file(run, sqlite_workspace):
    (sqlite_workspace / "deals.sqlite").write_bytes(b"this is not a database" * 100)
    before = store_digest(sqlite_workspace)
    for args in (["list"], ["add", "Acme"]):
        result = run(*args)
        assert result.code == 1 and "is not a readable SQLite database" in result.err, \
            result.err
        assert result.err.count("\n") == 1
    assert store_digest(sqlite_workspace) == before


# -- earlier layouts: refused until `pipe upgrade` ------------------------------------------

def test_an_sqlite_store_of_an_earlier_version_is_refused_untouched(run, sqlite_workspace):
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", "pipe-store"),
                                                        ("version", "2")])
    conn.execute("CREATE TABLE deals (id TEXT PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = store_digest(sqlite_workspace)
    for args in (["list"], ["add", "Acme"], ["report"]):
        result = run(*args)
        assert result.code == 1 and "run `pipe upgrade`" in result.err, (args, result.err)
    assert store_digest(sqlite_workspace) == before


def test_the_old_two_file_layout_is_refused_untouched(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    (tmp_path / "deals.csv").write_text("id,name\n")
    (tmp_path / "deals.history.csv").write_text("deal_id,seq\n")
    before = tree_digest(tmp_path)
    for args in (["list"], ["add", "Acme"], ["report"]):
        result = run(*args)
        assert result.code == 1 and "run `pipe upgrade`" in result.err, (args, result.err)
    assert tree_digest(tmp_path) == before


# -- locking --------------------------------------------------------------------------------

def test_log_store_busy_after_the_wait(run, log_workspace, monkeypatch):
    deal_id = add(run, "Acme")
    before = store_digest(log_workspace)
    monkeypatch.setenv("PIPE_LOCK_TIMEOUT", "0.2")
    fd = os.open(log_workspace / "deals" / ".local" / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = run("move", deal_id, "proposal")
    finally:
        os.close(fd)
    assert result.code == 1 and "is busy" in result.err and "PIPE_LOCK_TIMEOUT" in result.err
    assert result.err.count("\n") == 1
    assert store_digest(log_workspace) == before
    assert run("move", deal_id, "proposal").code == 0


def test_sqlite_store_busy_after_the_wait(run, sqlite_workspace, monkeypatch):
    deal_id = add(run, "Acme")
    monkeypatch.setenv("PIPE_LOCK_TIMEOUT", "0.2")
    conn = sqlite3.connect(sqlite_workspace / "deals.sqlite", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = run("move", deal_id, "proposal")
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert result.code == 1 and "is busy" in result.err


# -- git ------------------------------------------------------------------------------------

def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_two_branches_appending_to_one_file_merge_cleanly(run, log_workspace):
    """Two branches of one clone both append to this writer's file; the union merge that
    deals/.gitattributes asks for keeps every line of both sides, with no conflict."""
    ids = [add(run, f"Deal {i}", "--at", "2026-11-01") for i in range(8)]
    assert _git(log_workspace, "init", "-q", "-b", "main").returncode == 0
    _git(log_workspace, "add", ".")
    _git(log_workspace, "commit", "-qm", "base")
    assert ".local" not in _git(log_workspace, "ls-files").stdout  # never committed
    _git(log_workspace, "checkout", "-qb", "alice")
    run("move", ids[1], "proposal", "--at", "2026-11-02")
    run("won", ids[5], "--at", "2026-11-03")
    alices = add(run, "Alice's new deal", "--at", "2026-11-04")
    _git(log_workspace, "commit", "-qam", "alice")
    _git(log_workspace, "checkout", "-q", "main")
    run("lost", ids[3], "--reason", "price", "--at", "2026-11-02")
    run("edit", ids[7], "--value", "900", "--at", "2026-11-03")
    bobs = add(run, "Bob's new deal", "--at", "2026-11-04")
    _git(log_workspace, "commit", "-qam", "bob")
    merge = _git(log_workspace, "merge", "-q", "--no-edit", "alice")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    data = the_log(log_workspace).read_bytes()
    assert b"<<<<<<<" not in data and b">>>>>>>" not in data
    assert data.count(b"\n") == 1 + 8 + 6
    deals = {d["id"]: d for d in run("list", "--status", "all", "-o", "json").json()}
    assert len(deals) == 10 and {alices, bobs} <= deals.keys()
    assert deals[ids[1]]["stage"] == "proposal" and deals[ids[5]]["status"] == "won"
    assert deals[ids[3]]["status"] == "lost" and deals[ids[7]]["value"] == 900
    history = run("show", ids[1], "-o", "json").json()["history"]
    assert [e["event"] for e in history] == ["created", "moved"]
    assert run("check").code == 0


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_upgrade_does_not_read_through_a_planted_link(run, tmp_path, target):
    """An old-layout store whose files are links is not read or moved: one sentence, exit
    1, nothing changed. A link out of the workspace is refused by the pipeline loader; one
    inside it (to another file of the repository) by the upgrade itself."""
    work = tmp_path / "work"
    work.mkdir()
    secret = (tmp_path / "secret.csv") if target == "outside" else (work / "notes.csv")
    secret.write_text("not yours\n")
    (work / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    (work / "deals.csv").symlink_to(secret)
    (work / "deals.history.csv").symlink_to(secret)
    before = sorted(p.name for p in work.iterdir())
    result = run("upgrade", "-f", str(work / "pipeline.yaml"))
    assert result.code == 1 and result.err.count("\n") == 1
    expected = ("is outside the folder of pipeline.yaml" if target == "outside"
                else "is a symbolic link; pipe does not read through it")
    assert expected in result.err
    assert secret.read_text() == "not yours\n"
    assert sorted(p.name for p in work.iterdir()) == before
    assert "store: deals.csv" in (work / "pipeline.yaml").read_text()
