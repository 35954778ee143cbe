"""`pipe add` is typed dozens of times a day: it must not import what only reports need."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import PIPELINE_YAML

DENY = ("rich", "tabulate", "sqlite3", "pydantic", "pipecli.reports", "pipecli.views",
        "pipecli.analysis", "pipecli.sqlreport", "pipecli.replay", "pipecli.importing")


def imported_modules(folder, *args) -> set[str]:
    env = dict(os.environ, PIPE_NOW="2026-11-20T10:00:00+00:00")
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipecli", *args],
                            cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def test_add_on_a_csv_store_imports_nothing_heavy(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    modules = imported_modules(tmp_path, "add", "Acme", "--value", "100")
    heavy = sorted(m for m in modules if m.split(".")[0] in DENY or m in DENY)
    assert heavy == [], heavy


def test_move_imports_nothing_heavy(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals.csv"))
    subprocess.run([sys.executable, "-m", "pipecli", "add", "Acme"], cwd=tmp_path, check=True,
                   env=dict(os.environ, PIPE_NOW="2026-11-20T10:00:00+00:00"))
    modules = imported_modules(tmp_path, "move", "acme", "proposal")
    assert not [m for m in modules if m.split(".")[0] in DENY or m in DENY]
