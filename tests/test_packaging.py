"""The wheel must carry every package: pyproject lists them by hand (the templates package
lives outside src/), so a new subpackage that is not listed would be missing when
installed without -e."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {"pipecli." + ".".join(p.parent.relative_to(ROOT / "src" / "pipecli").parts)
             for p in (ROOT / "src" / "pipecli").rglob("__init__.py")}
    found = {name.rstrip(".") for name in found} | {"pipecli.templates", "pipecli.docs"}
    assert set(config["packages"]) == found
    assert set(config["package-dir"]) == found
