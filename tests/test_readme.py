"""The README's cron and scripts examples, run as written (a stand-in `mail` records what
would have been sent)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", body, flags=re.S)


@pytest.fixture
def shell(tmp_path):
    """A bash with `pipe` and a recording `mail` on PATH, and a copy of the B2B sample."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pipe").write_text(f"#!/bin/sh\nexec {sys.executable} -m pipecli \"$@\"\n")
    (bin_dir / "mail").write_text("#!/bin/sh\n{ printf 'SUBJECT %s TO %s\\n' \"$2\" \"$3\"; "
                                  f"cat; }} >> {tmp_path}/mailbox\n")
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    crm = tmp_path / "crm"
    crm.mkdir()
    samples = ROOT / "sample_pipelines"
    text = (samples / "b2b-pipeline.yaml").read_text()
    assert "store: data/b2b-pipeline\n" in text
    (crm / "pipeline.yaml").write_text(text.replace("store: data/b2b-pipeline\n",
                                                    "store: deals\n"))
    # The log files only: the local index is rebuilt in the copy.
    shutil.copytree(samples / "data" / "b2b-pipeline", crm / "deals",
                    ignore=shutil.ignore_patterns(".local"))
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}",
               PIPE_FILE=str(crm / "pipeline.yaml"), PIPE_NOW="2026-11-20T08:00:00+00:00")
    env.pop("PIPE_DEBUG", None)

    def run(script: str) -> subprocess.CompletedProcess:
        # The examples keep their scratch files in /tmp; here they go to the test's folder.
        script = script.replace("/tmp/", f"{tmp_path}/")
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    run.mailbox = tmp_path / "mailbox"
    run.folder = tmp_path
    return run


def test_the_three_examples_are_in_the_readme():
    assert len(readme_blocks("Cron and scripts")) == 3


def test_weekly_digest_is_mailed(shell):
    result = shell(readme_blocks("Cron and scripts")[0])
    assert result.returncode == 0, result.stderr
    mail = shell.mailbox.read_text()
    assert mail.startswith("SUBJECT Pipeline, week ") and "TO team@example.com" in mail
    assert "## Headline figures" in mail and "| Win rate" in mail
    assert (shell.folder / "pipeline-digest.md").read_text() in mail


def test_stale_alert_is_mailed_only_when_something_is_stale(shell):
    script = readme_blocks("Cron and scripts")[1]
    result = shell(script)
    assert result.returncode == 0, result.stderr
    mail = shell.mailbox.read_text()
    assert mail.startswith("SUBJECT Deals need attention") and "past close" in mail
    shell.mailbox.unlink()
    quiet = shell("export PIPE_NOW=2026-05-01T08:00:00+00:00\n" + script)
    assert quiet.returncode == 0 and not shell.mailbox.exists()


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_json_with_jq(shell):
    result = shell(readme_blocks("Cron and scripts")[2])
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    deals = json.loads(shell("pipe list -o json").stdout)
    totals: dict[str, float] = {}
    for d in deals:
        totals[d["owner"]] = totals.get(d["owner"], 0) + (d["value"] or 0)
    assert [(owner, float(value)) for owner, value in lines] == \
        sorted(totals.items(), key=lambda kv: -kv[1])
