"""The README's cron and scripts examples, run as written (a stand-in `mail` and a
stand-in `sendmail` record what would have been sent)."""

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
    """A bash with `pipe`, a recording `mail` and a recording `sendmail` (its arguments,
    then the message as it got it) on PATH, and a copy of the B2B sample."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pipe").write_text(f"#!/bin/sh\nexec {sys.executable} -m pipecli \"$@\"\n")
    (bin_dir / "mail").write_text("#!/bin/sh\n{ printf 'SUBJECT %s TO %s\\n' \"$2\" \"$3\"; "
                                  f"cat; }} >> {tmp_path}/mailbox\n")
    (bin_dir / "sendmail").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {tmp_path}/"
                                      f"sendmail-args\ncat >> {tmp_path}/sent\n")
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
    run.sent = tmp_path / "sent"
    run.folder = tmp_path
    return run


def test_the_three_examples_are_in_the_readme():
    assert len(readme_blocks("Cron and scripts")) == 3


def test_weekly_digest_is_mailed_as_html_and_plain_text(shell):
    """One message handed to `sendmail -t`: multipart/alternative, the plain digest first
    and the page second (a mail reader shows the last it can), both in UTF-8 and equal to
    what pipe prints."""
    from email import policy
    from email.parser import BytesParser

    result = shell(readme_blocks("Cron and scripts")[0])
    assert result.returncode == 0, result.stderr
    assert (shell.folder / "sendmail-args").read_text() == "-t\n"
    sent = shell.sent.read_bytes()
    sent.decode("ascii")  # quoted-printable: safe through any mail server
    mail = BytesParser(policy=policy.default).parsebytes(sent)
    assert mail["To"] == "team@example.com" and mail["MIME-Version"] == "1.0"
    assert re.fullmatch(r"Pipeline, week \d{1,2}", mail["Subject"])
    assert mail.get_content_type() == "multipart/alternative"
    text, page = mail.iter_parts()
    assert (text.get_content_type(), page.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == page.get_content_charset() == "utf-8"
    digest = "pipe digest --since 7d --as-of yesterday -o "
    plain, html = shell(digest + "plain").stdout, shell(digest + "html").stdout
    assert "Headline figures" in plain and "–" in plain  # the sample's names: not ASCII
    assert html.startswith("<!DOCTYPE html>") and "chart-changes" in html
    assert text.get_content() == plain
    assert page.get_content() == html


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
