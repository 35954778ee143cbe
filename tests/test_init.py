"""pipe init, pipe templates, and the bundled templates themselves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import store_digest
from pipecli.pipeline import load_workspace

TEMPLATES = ["aida", "b2b-funnel", "b2b-pipeline", "b2c-funnel", "b2c-pipeline",
             "lead-lifecycle", "lead-to-sale", "marketing-funnel"]
SAMPLES = Path(__file__).resolve().parent.parent / "sample_pipelines"


def test_templates_lists_them_all(run):
    result = run("templates", "-o", "json")
    assert result.code == 0
    assert [t["name"] for t in result.json()] == TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_is_valid_and_sensible(name):
    ws = load_workspace(SAMPLES / f"{name}.yaml")
    p = ws.pipelines[0]
    opens = p.open_stages
    assert len(opens) >= 2
    probabilities = [s.probability for s in opens]
    assert probabilities == sorted(probabilities), "win probability rises down the funnel"
    assert all(s.group in ("tofu", "mofu", "bofu") for s in opens)
    assert all(s.rot_days for s in opens)
    assert p.won_stage.probability == 100 and p.lost_stage.probability == 0
    assert p.lost_reasons


def test_lead_lifecycle_mql_needs_contact_info_and_has_a_24h_sla():
    p = load_workspace(SAMPLES / "lead-lifecycle.yaml").pipelines[0]
    mql = p.open_stages[0]
    assert mql.key == "mql" and "email" in mql.requires and mql.sla_hours == 24
    assert [s.key for s in p.open_stages] == ["mql", "sal", "sql"]


@pytest.mark.parametrize("backend", ["csv", "sqlite"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_init_from_every_template_then_use_it(run, tmp_path, name, backend):
    result = run("init", "--template", name, "--store", backend)
    assert result.code == 0, result.err
    text = (tmp_path / "pipeline.yaml").read_text()
    expected_store = "deals" if backend == "csv" else "deals.sqlite"
    assert f"store: {expected_store}\n" in text
    if backend == "csv":  # the event log: a folder with its own merge rule
        assert (tmp_path / "deals").is_dir()
        assert "*.csv merge=union" in (tmp_path / "deals" / ".gitattributes").read_text()
    else:
        assert (tmp_path / "deals.sqlite").is_file()
    assert "*.yaml text eol=lf" in (tmp_path / ".gitattributes").read_text()
    ws = load_workspace(tmp_path / "pipeline.yaml")
    first = ws.pipelines[0].open_stages[0]
    args = ["add", "First deal", "--value", "100"]
    if "email" in first.requires:
        args += ["--email", "lead@example.com"]
    deal_id = run(*args).out.strip()
    assert run("won", deal_id).code == 0
    report = run("report", "-o", "json").json()
    assert report["totals"]["won_value"] == 100


def test_init_into_a_new_folder(run, tmp_path):
    result = run("init", "crm", "--template", "aida")
    assert result.code == 0
    assert (tmp_path / "crm" / "pipeline.yaml").exists()
    assert (tmp_path / "crm" / "deals").is_dir()
    assert sorted(p.name for p in (tmp_path / "crm").iterdir()) == [
        ".gitattributes", ".gitignore", "deals", "pipeline.yaml"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_init_then_git_commits_the_log_but_not_the_local_folder(run, tmp_path):
    """What `git add -A` takes from a fresh workspace with one deal: the pipeline file, the
    helper files and the log files, never deals/.local (the index, writer id and lock)."""
    run("init")
    add_id = run("add", "Acme").out.strip()
    assert add_id
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True, env=env)
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=tmp_path,
                            check=True, env=env, capture_output=True, text=True).stdout.split()
    logs = [name for name in staged if name.startswith("deals/") and name.endswith(".csv")]
    assert len(logs) == 1 and re.fullmatch(r"deals/\d{4}-\d{2}-[0-9a-z]{8}\.csv", logs[0])
    assert sorted(set(staged) - set(logs)) == [".gitattributes", ".gitignore",
                                               "deals/.gitattributes", "pipeline.yaml"]
    attributes = subprocess.run(["git", "check-attr", "merge", "eol", "--", logs[0],
                                 "pipeline.yaml"], cwd=tmp_path, check=True, env=env,
                                capture_output=True, text=True).stdout
    assert f"{logs[0]}: merge: union" in attributes and f"{logs[0]}: eol: lf" in attributes
    assert "pipeline.yaml: eol: lf" in attributes


def test_init_refuses_to_overwrite_and_force_keeps_the_deals(run, tmp_path):
    run("init")
    deal_id = run("add", "Keep me").out.strip()
    before = store_digest(tmp_path)
    yaml_before = (tmp_path / "pipeline.yaml").read_bytes()
    result = run("init", "--template", "b2c-pipeline")
    assert result.code == 1 and "--force" in result.err
    assert (tmp_path / "pipeline.yaml").read_bytes() == yaml_before
    result = run("init", "--template", "b2b-pipeline", "--force")
    assert result.code == 0 and "Kept the existing store" in result.out
    assert store_digest(tmp_path) == before
    assert run("show", deal_id).code == 0


def test_init_unknown_template_lists_the_known_ones(run, tmp_path):
    result = run("init", "--template", "nope")
    assert result.code == 1 and "b2b-pipeline" in result.err
    assert list(tmp_path.iterdir()) == []


def test_init_does_not_duplicate_gitattributes_lines(run, tmp_path):
    (tmp_path / ".gitattributes").write_text("*.png binary\n")
    run("init")
    log_rules = (tmp_path / "deals" / ".gitattributes").read_bytes()
    run("init", "--force")
    text = (tmp_path / ".gitattributes").read_text()
    assert text.startswith("*.png binary\n") and text.count("*.yaml text eol=lf") == 1
    assert (tmp_path / "deals" / ".gitattributes").read_bytes() == log_rules


@pytest.mark.parametrize("name", ["b2b-pipeline", "b2c-pipeline"])
def test_sample_stores_give_a_meaningful_report(run, tmp_path, name):
    # A copy: reading a log folder writes its local index, never into the repository.
    shutil.copytree(SAMPLES / "data" / name, tmp_path / "data" / name,
                    ignore=shutil.ignore_patterns(".local"))
    shutil.copy(SAMPLES / f"{name}.yaml", tmp_path / f"{name}.yaml")
    assert load_workspace(tmp_path / f"{name}.yaml").store_path == tmp_path / "data" / name
    report = run("report", "-f", f"{name}.yaml", "-o", "json").json()
    totals = report["totals"]
    assert totals["open_count"] >= 10 and totals["won_count"] >= 5 and totals["lost_count"] >= 5
    assert all(s["count"] > 0 for s in report["stages"] if s["outcome"] is None)
    check = run("list", "-f", f"{name}.yaml", "--status", "all", "-o", "json")
    deals = check.json()
    assert len(deals) == {"b2b-pipeline": 48, "b2c-pipeline": 60}[name]
    assert sum(d["value"] for d in deals if d["status"] == "won") == \
        pytest.approx(totals["won_value"])
    assert run("check", "-f", f"{name}.yaml").code == 0


def test_make_samples_reproduces_the_committed_samples(tmp_path):
    """scripts/make_samples.py plays the samples through pipe's own lifecycle functions; run
    into a scratch folder, it gives the committed log files byte for byte (48 and 60 deals)."""
    script = SAMPLES.parent / "scripts" / "make_samples.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPE_")}
    result = subprocess.run([sys.executable, str(script), "--into", str(tmp_path / "out")],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("b2b-pipeline", "b2c-pipeline"):
        def files(folder):
            return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        made, committed = files(tmp_path / "out" / name), files(SAMPLES / "data" / name)
        assert sorted(made) == sorted(committed)
        assert made == committed, name


def test_pipe_help_prints_the_installed_docs(run):
    topics = run("help")
    assert topics.code == 0 and "metrics" in topics.out and "exit-codes" in topics.out
    metrics = run("help", "metrics")
    assert metrics.code == 0 and metrics.out.startswith("# ")
    codes = run("help", "exit-codes").out
    assert codes.startswith("## Exit codes") and "| 3 |" in codes and "## " not in codes[3:]
    missing = run("help", "nope")
    assert missing.code == 1 and "no help topic 'nope'" in missing.err


def test_no_help_text_or_template_points_to_a_file_users_do_not_have():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text() for p in (root / "src" / "pipecli" / "cli").glob("*.py")]
    texts += [p.read_text() for p in (root / "sample_pipelines").glob("*.yaml")]
    for text in texts:
        # docstrings and help= strings are what users read; comments in code may cite docs
        users = re.findall(r'help="[^"]*"|"""[^"]*"""', text) if text.lstrip().startswith(
            ('"""', "from", "import")) else [text]
        assert not any("docs/" in u or "DOMAIN.md" in u for u in users)
