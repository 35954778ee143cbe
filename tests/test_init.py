"""pipe init, pipe templates, and the bundled templates themselves."""

from __future__ import annotations

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
    expected_store = "deals.csv" if backend == "csv" else "deals.sqlite"
    assert f"store: {expected_store}\n" in text
    assert (tmp_path / expected_store).exists()
    assert "*.csv text eol=lf" in (tmp_path / ".gitattributes").read_text()
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
    assert (tmp_path / "crm" / "deals.csv").exists()
    assert (tmp_path / "crm" / "deals.history.csv").exists()


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
    run("init", "--force")
    text = (tmp_path / ".gitattributes").read_text()
    assert text.startswith("*.png binary\n") and text.count("*.csv text eol=lf") == 1


@pytest.mark.parametrize("name", ["b2b-pipeline", "b2c-pipeline"])
def test_sample_stores_give_a_meaningful_report(run, name):
    report = run("report", "-f", str(SAMPLES / f"{name}.yaml"), "-o", "json").json()
    totals = report["totals"]
    assert totals["open_count"] >= 10 and totals["won_count"] >= 5 and totals["lost_count"] >= 5
    assert all(s["count"] > 0 for s in report["stages"] if s["outcome"] is None)
    check = run("list", "-f", str(SAMPLES / f"{name}.yaml"), "--status", "all", "-o", "json")
    deals = check.json()
    assert len(deals) >= 40
    assert sum(d["value"] for d in deals if d["status"] == "won") == \
        pytest.approx(totals["won_value"])
