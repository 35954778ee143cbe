"""`pipe upgrade`: a store of pipe's earlier layout becomes the event log (see store.legacy).

CSV: deals.csv + deals.history.csv → the folder `deals/` of log files (the pipeline file's
`store:` line is changed to name it; the old files move to deals/.local/upgrade-backup/).
SQLite version 1 or 2 → version 3 in place (the old file is kept beside it as
NAME.v2-backup). Afterwards every current deal is compared with the old deal rows.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

from pipecli.errors import PipeError, StoreError
from pipecli.pipeline import load_workspace
from pipecli.safefile import replace_text, write_new
from pipecli.store import backend_for, schema
from pipecli.store.codec import encode_line, row_to_deal
from pipecli.store.legacy import UPGRADE_WRITER, LegacyStore, convert, old_sqlite_events
from pipecli.store.logstore import HEADER, LogStore


def upgrade_workspace(yaml_path: Path) -> str:
    """Upgrade the store of this pipeline file; returns what was done, in one sentence."""
    ws = load_workspace(yaml_path)
    path = ws.store_path
    kind = backend_for(path)
    if kind == "legacy":
        return _upgrade_csv(yaml_path, path)
    if kind == "sqlite" and path.exists():
        return _upgrade_sqlite(path)
    return f"{path.name} is already in the current layout; nothing to do."


def _upgrade_csv(yaml_path: Path, path: Path) -> str:
    old = LegacyStore(path)
    if not old.exists():
        raise PipeError(f"{path} does not exist; there is nothing to upgrade")
    for f in old.files():
        if f.is_symlink():
            raise PipeError(f"{f} is a symbolic link; pipe does not read through it")
    events = convert(old.old_events()) if old.history_path.exists() else []
    folder = path.with_suffix("")
    store = LogStore(folder)
    if store.log_files():
        raise PipeError(f"{folder} already holds an event log; not mixing the old store in")
    store._ensure_folder()
    by_month: dict[str, list] = defaultdict(list)
    for e in events:
        by_month[e.recorded[:7]].append(e)
    for month, chunk in sorted(by_month.items()):
        target = folder / f"{month}-{UPGRADE_WRITER}.csv"
        write_new(target, HEADER + "".join(encode_line(e) for e in chunk))
    backup = store.local / "upgrade-backup"
    backup.mkdir(exist_ok=True)
    for f in old.files():
        if f.exists():
            os.replace(f, backup / f.name)
    _point_yaml_at(yaml_path, path, folder)
    differences = _compare(store, backup / path.name)
    kept = f"the old files are in {backup}"
    return (f"Upgraded {path.name}: {len(events)} events in {folder.name}/ "
            f"({differences}); {kept}.")


def _point_yaml_at(yaml_path: Path, old: Path, new: Path) -> None:
    """Change the `store:` line to name the folder (the rest of the file is kept as is)."""
    text = yaml_path.read_text("utf-8")
    old_name = os.path.relpath(old, yaml_path.parent)
    new_name = os.path.relpath(new, yaml_path.parent)
    pattern = re.compile(r"^(store:\s*)(['\"]?)" + re.escape(old_name) + r"\2(\s*(#.*)?)$",
                         re.MULTILINE)
    changed, count = pattern.subn(lambda m: f"{m[1]}{new_name}{m[3]}", text, count=1)
    if count != 1:
        raise StoreError(f"the store was converted to {new_name}/ but the `store:` line of "
                         f"{yaml_path.name} could not be found; set it to `store: {new_name}`")
    replace_text(yaml_path, changed)


def _compare(store, old_deals: Path) -> str:
    """How the derived deals compare with the old store's deal rows."""
    import csv

    if not old_deals.exists():
        return "no deal rows to compare"
    rows = list(csv.reader(old_deals.read_text("utf-8-sig").splitlines()))[1:]
    expected = {}
    for row in rows:
        try:
            deal = row_to_deal(row)
        except ValueError:
            continue
        expected[deal.id] = deal
    with store.read() as snapshot:
        found = {d.id: d for d in snapshot.deals()}
    differ = [i for i in expected if i not in found or
              _essentials(found[i]) != _essentials(expected[i])]
    differ += [i for i in found if i not in expected]
    if differ:
        return f"{len(differ)} deal(s) differ from the old deal rows: {', '.join(differ[:5])}"
    return f"all {len(found)} deals identical to the old deal rows"


def _essentials(d) -> tuple:
    return (d.pipeline, d.name, d.stage, d.status, d.value, d.probability, d.company,
            d.contact, d.email, d.owner, d.source, d.close_date, tuple(sorted(d.tags)),
            d.lost_reason, d.created_at)


def _upgrade_sqlite(path: Path) -> str:
    if path.is_symlink():
        raise PipeError(f"{path} is a symbolic link; pipe does not follow it")
    conn = sqlite3.connect(path)
    try:
        found = dict(conn.execute("SELECT key, value FROM meta"))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        raise StoreError(f"{path} is not a pipe SQLite store") from None
    finally:
        conn.close()
    if found.get("version") == schema.VERSION:
        return f"{path.name} is already in the current layout; nothing to do."
    if found.get("version") not in ("1", "2"):
        raise StoreError(f"{path} is a pipe store of version {found.get('version')}, which "
                         f"this pipe cannot upgrade")
    events = convert(old_sqlite_events(path))
    fresh = path.with_name(path.name + ".upgrading")
    fresh.unlink(missing_ok=True)
    new = sqlite3.connect(fresh, isolation_level=None)
    try:
        new.execute("BEGIN")
        schema.create_schema(new)
        schema.insert_events(new, events)
        schema.rebuild_all(new)
        new.execute("COMMIT")
    finally:
        new.close()
    backup = path.with_name(path.name + f".v{found['version']}-backup")
    os.replace(path, backup)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(fresh, path)
    return f"Upgraded {path.name}: {len(events)} events; the old file is {backup.name}."
