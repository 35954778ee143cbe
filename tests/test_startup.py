"""`pipe add` is typed dozens of times a day: it must not import what only reports need.

SQLite is no longer on the list: the event-log store keeps its index in SQLite, so every
command that touches deals needs it; the report modules, Rich and tabulate stay out."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import PIPELINE_YAML

REPORT_MODULES = ("pipecli.engine.figures", "pipecli.output.report_views",
                  "pipecli.output.shown", "pipecli.engine.report", "pipecli.engine.facts")
# The HTML report: loaded by -o html only (not even by a report in another format).
HTML_MODULES = ("pipecli.output.html", "pipecli.output.html.svg", "pipecli.output.html.charts",
                "pipecli.output.html.blocks", "pipecli.output.html.page",
                "pipecli.output.html.report_page", "pipecli.engine.cycles")
DENY = ("rich", "tabulate", "pydantic", *REPORT_MODULES, *HTML_MODULES,
        "pipecli.output.html.lists_page", "pipecli.output.html.digest_page",
        "pipecli.output.html.costs_page", "pipecli.output.html.customers_page",
        "pipecli.output.destination", "pipecli.output.views",
        "pipecli.engine.forecast", "pipecli.engine.agenda", "pipecli.engine.digest",
        "pipecli.output.agenda_view", "pipecli.output.digest_view",
        "pipecli.engine.customers", "pipecli.output.customers_view",
        "pipecli.engine.attention", "pipecli.engine.lists", "pipecli.engine.listing",
        "pipecli.exchange.importing", "pipecli.exchange.exporting", "pipecli.upgrade",
        "pipecli.store.legacy", "pipecli.engine.costs", "pipecli.engine.periods",
        "pipecli.exchange.costs_file", "pipecli.output.costs_view")


def imported_modules(folder, *args) -> set[str]:
    env = dict(os.environ, PIPE_NOW="2026-11-20T10:00:00+00:00")
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipecli", *args],
                            cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in DENY or m in DENY)


def test_the_deny_list_names_modules_that_exist():
    """A renamed or removed module would make the checks below pass without checking."""
    missing = [m for m in DENY if m.startswith("pipecli.") and importlib.util.find_spec(m) is None]
    assert missing == []


@pytest.mark.parametrize("store", ["deals", "deals.sqlite"])
def test_add_imports_nothing_heavy(tmp_path, store):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store))
    modules = imported_modules(tmp_path, "add", "Acme", "--value", "100")
    assert "pipecli.ops" in modules  # the command did its work
    assert heavy(modules) == []


@pytest.mark.parametrize("store", ["deals", "deals.sqlite"])
def test_move_imports_nothing_heavy(tmp_path, store):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store=store))
    subprocess.run([sys.executable, "-m", "pipecli", "add", "Acme"], cwd=tmp_path, check=True,
                   env=dict(os.environ, PIPE_NOW="2026-11-20T10:00:00+00:00"))
    modules = imported_modules(tmp_path, "move", "acme", "proposal")
    assert "pipecli.ops" in modules
    assert heavy(modules) == []


def test_report_does_import_them(tmp_path):
    """The measurement sees the report modules when a command does load them."""
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    modules = imported_modules(tmp_path, "report")
    assert set(REPORT_MODULES) <= modules


def test_only_html_imports_the_html_modules(tmp_path):
    """-o html loads the HTML modules (so the deny-list checks real names); any other
    format of the same report loads none of them."""
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals"))
    assert set(HTML_MODULES) <= imported_modules(tmp_path, "report", "-o", "html")
    assert not set(HTML_MODULES) & imported_modules(tmp_path, "report", "-o", "plain")
    assert "pipecli.output.html.digest_page" in imported_modules(tmp_path, "digest", "-o",
                                                                 "html")
    assert not {"pipecli.output.html", "pipecli.output.html.digest_page"} & \
        imported_modules(tmp_path, "digest", "-o", "plain")


@pytest.mark.parametrize("command, module", [("costs", "pipecli.output.html.costs_page"),
                                             ("customers",
                                              "pipecli.output.html.customers_page")])
def test_costs_and_customers_import_their_page_for_html_only(tmp_path, command, module):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML.format(store="deals").replace(
        "currency: USD\n", "currency: USD\ncosts: costs.csv\n"))
    (tmp_path / "costs.csv").write_text("period,source,amount\n2026-10,ads,100\n")
    assert module in imported_modules(tmp_path, command, "-o", "html")
    assert not {"pipecli.output.html", module} & \
        imported_modules(tmp_path, command, "-o", "plain")
