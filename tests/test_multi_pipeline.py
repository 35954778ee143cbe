"""Several pipelines in one file share one store; --pipeline picks, deals keep theirs."""

from __future__ import annotations

import pytest

MULTI = """\
store: {store}
currency: EUR
pipelines:
  - name: sales
    kind: b2b
    stages:
      - {{key: prospecting, label: Prospecting, probability: 10}}
      - {{key: proposal, label: Proposal, probability: 50}}
      - {{key: won, label: Won, probability: 100, outcome: won}}
      - {{key: lost, label: Lost, probability: 0, outcome: lost}}
  - name: marketing
    kind: b2c
    currency: USD
    lost_reasons: [unsubscribed]
    stages:
      - {{key: mql, label: MQL, probability: 5, requires: [email], sla_hours: 24}}
      - {{key: sql, label: SQL, probability: 30}}
      - {{key: customer, label: Customer, probability: 100, outcome: won}}
      - {{key: dropped, label: Dropped, probability: 0, outcome: lost}}
"""


@pytest.fixture
def multi(tmp_path, backend):
    store = "deals" if backend == "csv" else "deals.sqlite"
    (tmp_path / "pipeline.yaml").write_text(MULTI.format(store=store))
    return tmp_path


def test_deals_go_to_the_chosen_pipeline_and_follow_its_rules(run, multi, monkeypatch):
    sale = run("add", "Big sale", "--value", "1000").out.strip()
    assert run("add", "Lead", "-p", "marketing").code == 1  # the MQL stage requires email
    lead = run("add", "Lead", "-p", "MARKETING", "--email", "l@x.io", "--value", "50").out.strip()
    assert run("move", lead, "sql").code == 0  # the deal's own pipeline, no -p needed
    assert run("move", sale, "sql").code == 1
    result = run("lost", lead, "--reason", "price")
    assert result.code == 1 and "unsubscribed" in result.err
    assert run("lost", lead, "--reason", "unsubscribed").code == 0
    sales = run("report", "-o", "json").json()
    marketing = run("report", "-p", "marketing", "-o", "json").json()
    assert (sales["pipeline"], sales["currency"], sales["totals"]["open_value"]) == \
        ("sales", "EUR", 1000)
    assert (marketing["currency"], marketing["totals"]["lost_value"]) == ("USD", 50)
    monkeypatch.setenv("PIPE_PIPELINE", "marketing")
    assert run("report", "-o", "json").json()["pipeline"] == "marketing"


def test_list_spans_pipelines_with_a_pipeline_column(run, multi):
    run("add", "Big sale")
    run("add", "Lead", "-p", "marketing", "--email", "l@x.io")
    plain = run("list").out
    assert plain.splitlines()[0].split()[:4] == ["ID", "Name", "Pipeline", "Stage"]
    everything = run("list", "-o", "json").json()
    assert sorted(d["pipeline"] for d in everything) == ["marketing", "sales"]
    only = run("list", "-p", "marketing", "-o", "json").json()
    assert [d["name"] for d in only] == ["Lead"]
    assert [d["currency"] for d in only] == ["USD"]


def test_unknown_pipeline(run, multi):
    result = run("add", "X", "-p", "support")
    assert result.code == 1 and "sales, marketing" in result.err
