"""The pipeline YAML: every mistake reported with file and line, all at once, never a traceback."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from pipecli.errors import InvalidConfig
from pipecli.pipeline import parse_workspace

GOOD_STAGES = """\
stages:
  - key: lead
    label: Lead
    probability: 10
  - key: won
    label: Won
    probability: 100
    outcome: won
  - key: lost
    label: Lost
    probability: 0
    outcome: lost
"""
HEAD = "name: sales\nkind: b2b\ncurrency: USD\nstore: deals\n"


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(InvalidConfig) as info:
        parse_workspace(text, Path("p.yaml"))
    return [(p.line, p.message) for p in info.value.problems]


def only(text: str) -> tuple[int, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_a_good_file_loads():
    ws = parse_workspace(HEAD + GOOD_STAGES, Path("/x/p.yaml"))
    p = ws.pipelines[0]
    assert (p.name, p.kind, p.currency) == ("sales", "b2b", "USD")
    assert [s.key for s in p.stages] == ["lead", "won", "lost"]
    assert ws.store_path == Path("/x/deals")  # a folder: the event log


@pytest.mark.parametrize("text, line, fragment", [
    (HEAD + "colour: blue\n" + GOOD_STAGES, 5, "unknown key 'colour'"),
    (HEAD + "kind: b2c\n" + GOOD_STAGES, 5, "has the key 'kind' twice"),
    (HEAD.replace("kind: b2b", "kind: retail") + GOOD_STAGES, 2, "kind 'retail' must be one of"),
    (HEAD.replace("USD", "dollars") + GOOD_STAGES, 3,
     "currency 'dollars' is not an ISO 4217 currency code"),
    (HEAD.replace("deals", "deals.txt") + GOOD_STAGES, 4, "must be a folder name (the event "
     "log, e.g. deals) or end in .sqlite / .db"),
    (HEAD.replace("store: deals", "store: ./") + GOOD_STAGES, 4, "must be a folder name"),
    (HEAD.replace("name: sales", "name: Big Sales") + GOOD_STAGES, 1, "name 'Big Sales' is not"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n", "    probability: 110\n"), 8,
     "must be between 0 and 100"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n", "    probability: high\n"), 8,
     "probability must be a number"),
    (HEAD + GOOD_STAGES.replace("    label: Lead\n", "    label: Lead\n    colour: red\n"), 8,
     "unknown key 'colour'"),
    (HEAD + GOOD_STAGES.replace("key: won", "key: lead"), 9, "stage key 'lead' is used twice "
     "(first on line 6)"),
    (HEAD + GOOD_STAGES.replace("key: lead", "key: Lead Stage"), 6, "is not valid"),
    (HEAD + GOOD_STAGES.replace("    outcome: won\n", ""), 6, "need a won stage"),
    (HEAD + GOOD_STAGES.replace("outcome: lost", "outcome: won"), 6, "need a lost stage"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n", "    probability: 10\n    outcome: won\n"),
     6, "need at least one open stage"),
    (HEAD + GOOD_STAGES.replace("    outcome: won\n", "    outcome: maybe\n"), 12,
     "outcome 'maybe' must be won or lost"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n", "    probability: 10\n    group: top\n"),
     9, "group 'top' must be one of"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n", "    probability: 10\n    rot_days: 0\n"),
     9, "rot_days must be at least 1"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n",
                                "    probability: 10\n    rot_days: soon\n"),
     9, "rot_days must be a whole number"),
    (HEAD + GOOD_STAGES.replace("    probability: 10\n",
                                "    probability: 10\n    requires: [phone]\n"),
     9, "requires unknown field 'phone'"),
    (HEAD + GOOD_STAGES.replace("    outcome: won\n", "    outcome: won\n    rot_days: 3\n"),
     13, "closing stage and cannot have rot_days"),
    (HEAD + GOOD_STAGES.replace("    outcome: won\n",
                                "    outcome: won\n    requires: [email]\n"),
     13, "closing stage and cannot have requires"),
    (HEAD + "stages: none\n", 5, "stages must be a non-empty list"),
    (HEAD.replace("store: deals\n", "") + GOOD_STAGES, 1, "has no `store:`"),
    (HEAD.replace("kind: b2b\n", "") + GOOD_STAGES, 1, "has no `kind:`"),
    (HEAD.replace("currency: USD\n", "") + GOOD_STAGES, 1, "has no `currency:`"),
    (HEAD.replace("name: sales\n", "") + GOOD_STAGES, 1, "has no `name:`"),
    (HEAD + GOOD_STAGES.replace("  - key: lead\n    label: Lead\n    probability: 10\n", "") +
     "  - key: late\n    label: Late\n    probability: 50\n", 14, "open stage 'late' is listed "
     "after closing stage 'won'"),
    (HEAD + "lost_reasons: price\n" + GOOD_STAGES, 5, "lost_reasons must be a list"),
    ("- just\n- a list\n", 1, "the file must be a mapping"),
    ("", 1, "the file is empty"),
])
def test_each_mistake_has_its_line(text, line, fragment):
    found = problems(text)
    assert any(ln == line and fragment in msg for ln, msg in found), found


def test_every_mistake_is_reported_at_once(run, tmp_path):
    text = (HEAD.replace("kind: b2b", "kind: retail") + "colour: blue\n" +
            GOOD_STAGES.replace("    probability: 10\n", "    probability: 200\n"))
    (tmp_path / "pipeline.yaml").write_text(text)
    result = run("stages")
    assert result.code == 1
    lines = result.err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("pipe: error: ") and "pipeline.yaml:2: kind 'retail'" in lines[0]
    assert "pipeline.yaml:5: the file has an unknown key 'colour'" in result.err
    assert "pipeline.yaml:9: stage 'lead' probability 200 must be between 0 and 100" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("text, line", [
    (HEAD + "stages:\n\t- key: lead\n", 6),               # a tab for indentation
    (HEAD + "lost_reasons: [price, time\n" + GOOD_STAGES, 6),  # an unclosed bracket
    (HEAD + "label: 'unclosed\n", 6),  # found at the end, started on line 5: both are named
])
def test_yaml_syntax_errors_name_the_line(run, tmp_path, text, line):
    (tmp_path / "pipeline.yaml").write_text(text)
    result = run("report")
    assert result.code == 1
    assert f"pipeline.yaml:{line}: YAML syntax error" in result.err
    if "unclosed" in text:
        assert "on line 5" in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("text", [
    HEAD + GOOD_STAGES.replace("label: Lead",
                               "label: !!python/object/apply:os.system ['touch hacked.txt']"),
    "name: !!python/object/apply:os.system ['touch hacked.txt']\n" + HEAD[12:] + GOOD_STAGES,
    HEAD + "lost_reasons:\n  - !!python/name:os.system\n" + GOOD_STAGES,
])
def test_python_tags_are_refused_and_never_run(run, tmp_path, text):
    (tmp_path / "pipeline.yaml").write_text(text)
    result = run("stages")
    assert result.code == 1 and "unsupported tag" in result.err
    assert not (tmp_path / "hacked.txt").exists()


def test_alias_bomb_is_refused_quickly(run, tmp_path):
    bomb = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        bomb.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = HEAD + "extra:\n" + "\n".join("  " + b for b in bomb) + "\nlost_reasons: *a9\n" + \
        GOOD_STAGES
    (tmp_path / "pipeline.yaml").write_text(text)
    started = time.monotonic()
    result = run("stages")
    assert result.code == 1 and "Traceback" not in result.err
    assert "unknown key 'extra'" in result.err
    assert time.monotonic() - started < 10  # 9**10 strings if expanded; composing is instant


def test_huge_and_non_utf8_files_are_refused(run, tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(HEAD + GOOD_STAGES + "# " + "x" * 1_100_000 + "\n")
    result = run("stages")
    assert result.code == 1 and "a pipeline definition is at most 1,000,000" in result.err
    path.write_bytes((HEAD + GOOD_STAGES).encode().replace(b"Lead", b"L\xe9ad"))
    result = run("stages")
    assert result.code == 1 and "not UTF-8" in result.err and result.err.count("\n") == 1


def test_stages_table_and_json(run, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(HEAD + GOOD_STAGES.replace(
        "    probability: 10\n", "    probability: 10\n    group: tofu\n    rot_days: 7\n"
        "    requires: [email]\n    sla_hours: 24\n"))
    data = run("stages", "-o", "json").json()
    assert data["pipeline"] == "sales" and data["currency"] == "USD" and data["kind"] == "b2b"
    assert data["stages"][0] == {"key": "lead", "label": "Lead", "group": "tofu",
                                 "probability": 10, "rot_days": 7, "sla_hours": 24,
                                 "requires": ["email"], "outcome": None}
    assert [s["outcome"] for s in data["stages"]] == [None, "won", "lost"]
    assert "lead" in run("stages").out


# -- finding the file -------------------------------------------------------------------------

def test_found_in_a_parent_folder(run, tmp_path, monkeypatch):
    (tmp_path / "pipeline.yaml").write_text(HEAD + GOOD_STAGES)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run("add", "From below").code == 0
    assert (tmp_path / "deals").is_dir()  # the store is relative to the YAML
    assert [p.name for p in (tmp_path / "deals").glob("*.csv")] != []
    assert not (sub / "deals").exists()


def test_file_option_env_and_folder(run, tmp_path, monkeypatch):
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "pipeline.yaml").write_text(HEAD + GOOD_STAGES)
    assert run("stages", "-f", str(folder)).code == 0
    assert run("stages", "--file", str(folder / "pipeline.yaml")).code == 0
    monkeypatch.setenv("PIPE_FILE", str(folder / "pipeline.yaml"))
    assert run("stages").code == 0


def test_no_file_anywhere(run, tmp_path):
    result = run("list")
    assert result.code == 1 and "pipe init" in result.err
    result = run("list", "-f", str(tmp_path / "missing.yaml"))
    assert result.code == 1 and "does not exist" in result.err


# -- several pipelines ----------------------------------------------------------------------------

MULTI = """\
store: deals
currency: USD
pipelines:
  - name: sales
    kind: b2b
    stages:
      - {key: lead, label: Lead, probability: 10}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
  - name: sales
    kind: b2c
    stages: []
"""


def test_multi_pipeline_mistakes():
    found = problems(MULTI)
    assert (10, "pipeline name 'sales' is used twice") in found
    assert any(line == 12 and "stages must be a non-empty list" in msg for line, msg in found)
    found = problems(MULTI.replace("store: deals\n", "").replace("sales\n    kind: b2c",
                                                                       "other\n    kind: b2c"))
    assert any("has no `store:`" in msg for _, msg in found)
    found = problems("store: d\npipelines:\n  - name: x\n    kind: b2b\n    store: e\n"
                     "    currency: USD\n" + "    " + GOOD_STAGES.replace("\n", "\n    "))
    assert any(line == 5 and "unknown key 'store'" in msg for line, msg in found)


@pytest.mark.parametrize("store", ["../deals", "/tmp/elsewhere/deals",
                                   "data/../../deals.sqlite"])
def test_a_store_outside_the_workspace_needs_consent(store):
    text = HEAD.replace("store: deals", f"store: {store}") + GOOD_STAGES
    line, message = only(text)
    assert line == 4 and "is outside the folder of p.yaml" in message
    ws = parse_workspace("store_outside: true\n" + text, Path("/x/p.yaml"))
    assert ws.store_path.name.startswith("deals")


# -- the store named by the file ------------------------------------------------------------------

@pytest.mark.parametrize("store, kind", [("deals", "LogStore"), ("data/deals", "LogStore"),
                                         ("deals.sqlite", "SqliteStore"),
                                         ("deals.db", "SqliteStore"),
                                         ("deals.csv", "LegacyStore")])
def test_the_store_line_picks_the_backend(store, kind):
    from pipecli.store import open_store

    ws = parse_workspace(HEAD.replace("store: deals", f"store: {store}") + GOOD_STAGES,
                         Path("/x/p.yaml"))
    assert ws.store_path == Path("/x") / store
    assert type(open_store(ws.store_path)).__name__ == kind


def test_a_store_of_the_old_csv_layout_is_refused_until_upgraded(run, tmp_path):
    """`store: deals.csv` names pipe's old two-file store: the file is valid, but every
    command that reads or writes deals says to run `pipe upgrade`, and nothing is written."""
    (tmp_path / "pipeline.yaml").write_text(HEAD.replace("store: deals", "store: deals.csv") +
                                            GOOD_STAGES)
    (tmp_path / "deals.csv").write_text("id,pipeline,name\n")
    (tmp_path / "deals.history.csv").write_text("deal_id,seq,at,event\n")
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    for command in (["add", "New"], ["list"], ["report"], ["check"]):
        result = run(*command)
        assert result.code == 1, command
        assert "pipe upgrade" in result.err and "Traceback" not in result.err, command
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
    assert run("stages").code == 0  # the pipeline itself is fine


# -- currency and rates ---------------------------------------------------------------------------

@pytest.mark.parametrize("code, fragment", [
    ("XYZ", "currency 'XYZ' is not an ISO 4217 currency code"),
    ("US", "currency 'US' is not an ISO 4217 currency code"),
    ("HRK", "currency 'HRK' is no longer an ISO 4217 currency code (replaced by EUR)"),
    ("XAU", "currency XAU has no minor unit"),
    ("CLF", "currency CLF has 4 decimal places, but pipe stores amounts to 3"),
    ("", "currency must not be empty"),
    ("[USD]", "currency must be a single value"),
])
def test_a_currency_pipe_cannot_keep_is_refused_with_its_line(code, fragment):
    line, message = only(HEAD.replace("USD", code) + GOOD_STAGES)
    assert line == 3 and fragment in message, message


def test_a_lower_case_currency_is_read_upper_case():
    ws = parse_workspace(HEAD.replace("USD", "eur") + GOOD_STAGES, Path("/x/p.yaml"))
    assert ws.pipelines[0].currency == "EUR"


RATES = """rates:
  GBP: 1.1650
  jpy: "0.0061"
  CHF: 1
  USD: 123456789012.1234567891
"""


def test_rates_are_read_exactly_and_sorted():
    p = parse_workspace(HEAD.replace("USD", "EUR") + RATES + GOOD_STAGES,
                        Path("/x/p.yaml")).pipelines[0]
    # From the scalar's text: as a float, the USD rate would be 123456789012.12346.
    assert p.rates == (("CHF", Decimal(1)), ("GBP", Decimal("1.165")),
                       ("JPY", Decimal("0.0061")), ("USD", Decimal("123456789012.1234567891")))
    assert all(type(rate) is Decimal for _, rate in p.rates)
    assert parse_workspace(HEAD + GOOD_STAGES, Path("/x/p.yaml")).pipelines[0].rates == ()


MULTI_RATES = """store: deals
currency: USD
rates: {EUR: 1.08, GBP: 1.27}
pipelines:
  - name: sales
    kind: b2b
    rates: {EUR: 1.10, CHF: 1.13}
    stages: &stages
      - {key: lead, label: Lead, probability: 10}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
  - name: marketing
    kind: b2c
    stages: *stages
  - name: europe
    kind: b2c
    currency: EUR
    rates: {EUR: 1, USD: 0.92, GBP: 1.17}
    stages: *stages
"""


def test_a_pipeline_rate_overrides_the_top_level_one():
    sales, marketing, europe = parse_workspace(MULTI_RATES, Path("/x/p.yaml")).pipelines
    assert sales.rates == (("CHF", Decimal("1.13")), ("EUR", Decimal("1.1")),
                           ("GBP", Decimal("1.27")))
    assert marketing.rates == (("EUR", Decimal("1.08")), ("GBP", Decimal("1.27")))
    # Its own currency at 1 says nothing and is dropped; the top-level rates (into USD)
    # do not reach a pipeline counting in EUR.
    assert europe.rates == (("GBP", Decimal("1.17")), ("USD", Decimal("0.92")))


def test_top_level_rates_reach_only_pipelines_in_the_top_level_currency():
    # The top-level rates are into USD: `EUR: 1.08` is no rate for the EUR pipeline, nor
    # is `GBP: 1.27` (a rate into USD read as one into EUR would be off by 8 %).
    text = MULTI_RATES.replace("rates: {EUR: 1, USD: 0.92, GBP: 1.17}", "rates: {USD: 0.92}")
    ws = parse_workspace(text, Path("p.yaml"))
    europe = ws.pipeline("europe")
    assert europe.rates == (("USD", Decimal("0.92")),)
    assert dict(ws.pipeline("marketing").rates) == {"EUR": Decimal("1.08"),
                                                    "GBP": Decimal("1.27")}


@pytest.mark.parametrize("rates, line, fragment", [
    ("rates: {EUR: 0}", 5, "the rate of EUR must be more than 0"),
    ("rates: {EUR: -1.08}", 5, "the rate of EUR '-1.08' is not a decimal number"),
    ("rates: {EUR: abc}", 5, "the rate of EUR 'abc' is not a decimal number"),
    ("rates: {EUR: 1e3}", 5, "'1e3' is not a decimal number"),
    ("rates: {EUR: .inf}", 5, "is not a decimal number"),
    ("rates: {EUR: true}", 5, "'true' is not a decimal number"),
    ("rates: {EUR: 1.12345678901}", 5, "has more than 10 decimal places"),
    ("rates: {EUR: 1234567890123}", 5, "is not a decimal number"),
    ("rates: {EUR: }", 5, "the rate of EUR must not be empty"),
    ("rates: {EUR: [1]}", 5, "the rate of EUR must be a single value"),
    ("rates: {EUR: !!python/name:os.system 1}", 5, "unsupported tag"),
    ("rates: {XYZ: 1.5}", 5, "rates key 'XYZ' is not an ISO 4217 currency code"),
    ("rates: {XAU: 2000}", 5, "rates key XAU has no minor unit"),
    ("rates: {EUR: 1.08, eur: 1.09}", 5, "rates give EUR twice"),
    ("rates: {USD: 1.01}", 5, "rates give USD as 1.01, but USD is the currency of sales"),
    ("rates: 1.08", 5, "rates must be a mapping of currency codes to rates"),
    ("rates:\n  - EUR", 6, "rates must be a mapping"),
])
def test_each_bad_rate_is_refused_with_its_line(rates, line, fragment):
    text = HEAD + rates + "\n" + GOOD_STAGES
    found = problems(text)
    assert any(ln == line and fragment in msg for ln, msg in found), found


def test_the_pipeline_own_currency_at_rate_one_is_accepted_and_dropped():
    ws = parse_workspace(HEAD + "rates: {USD: 1.000, EUR: 1.08}\n" + GOOD_STAGES,
                         Path("/x/p.yaml"))
    assert ws.pipelines[0].rates == (("EUR", Decimal("1.08")),)
