"""Hostile and broken pipeline files, kept as a corpus (tests/corpus/yaml): each gives
clear `FILE:LINE: message` lines on stderr, exit 1, no traceback, and never runs code.
(The 50 MB case is generated here rather than stored.)"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = sorted((Path(__file__).parent / "corpus" / "yaml").glob("*.yaml"))


def test_the_corpus_is_there():
    assert len(CORPUS) >= 14


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_each_bad_file_is_a_clear_error(run, tmp_path, path):
    (tmp_path / "pipeline.yaml").write_bytes(path.read_bytes())
    result = run("report")
    assert result.code == 1, path.name
    lines = result.err.splitlines()
    assert lines and all(line.startswith("pipe: error: ") for line in lines), result.err
    assert all("pipeline.yaml" in line for line in lines)
    assert "Traceback" not in result.err and result.out == ""
    # Each file fails for its own mistake, not because of the store it names (a valid
    # event-log folder, except in the file about a store outside the workspace).
    assert "pipe upgrade" not in result.err
    assert ("store '" in result.err) == (path.name == "store-outside.yaml"), result.err
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]  # nothing written


def test_a_50_megabyte_file_is_refused_without_reading_it(run, tmp_path):
    with open(tmp_path / "pipeline.yaml", "wb") as f:
        f.write(b"name: x\n")
        f.truncate(50 * 1024 * 1024)
    result = run("stages")
    assert result.code == 1 and "a pipeline definition is at most" in result.err
