"""The command-line reference (docs/reference.md) and the man page (docs/pipe.1) are generated
from the commands' help, so they are checked here: the checked-in files are what the
commands give now (CI fails when a help text changes without regenerating), the man page is
valid roff that keeps every character of the help, covers every variable pipe reads and
every exit code, ships in the wheel, and `pipe manpage` prints it. Help texts point users to
`pipe help TOPIC`, never to a file of the repository they do not have."""

from __future__ import annotations

import difflib
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer

from pipecli import reference
from pipecli.scaffold import HELP_TOPICS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REGENERATE = "python scripts/make_reference.py"


@pytest.fixture(scope="module")
def made() -> dict[str, str]:
    return reference.generated()


def all_command_names() -> list[str]:
    """Every command registered on pipe's app, read from Typer's registry (not from the
    click tree the generator walks)."""
    from pipecli.cli import app

    return [c.name or c.callback.__name__.lower().replace("_", "-")
            for c in app.registered_commands]


def section(page: str, name: str) -> str:
    return page.split(f"\n.SH {name}\n", 1)[1].split("\n.SH ", 1)[0]


# -- the checked-in files are current -------------------------------------------------------


@pytest.mark.parametrize("name", [reference.REFERENCE, reference.MAN_PAGE])
def test_checked_in_file_is_what_the_commands_give_now(made, name):
    checked_in = (DOCS / name).read_text("utf-8") if (DOCS / name).exists() else ""
    if checked_in != made[name]:
        diff = "\n".join(list(difflib.unified_diff(
            checked_in.splitlines(), made[name].splitlines(), f"docs/{name} (checked in)",
            f"docs/{name} (from the commands now)", lineterm=""))[:40])
        pytest.fail(f"docs/{name} is out of date with the commands' help; run `{REGENERATE}` "
                    f"and commit the result.\n{diff}")


def test_the_script_finds_a_stale_file_and_says_what_to_run(tmp_path, monkeypatch, capsys):
    """--check must fail on a stale file (else the CI step could not fail) and name the fix;
    run from a copy of the docs folder so the checkout is not touched."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_reference
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for name, text in reference.generated().items():
        (tmp_path / name).write_text(text, "utf-8")
    monkeypatch.setattr(make_reference, "DOCS", tmp_path)
    assert make_reference.main(["--check"]) == 0
    (tmp_path / reference.MAN_PAGE).write_text(".TH OLD 1\n", "utf-8")
    assert make_reference.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "pipe.1 is out of date" in err and REGENERATE in err
    assert make_reference.main([]) == 0  # rewrites it
    assert (tmp_path / reference.MAN_PAGE).read_text("utf-8") == reference.man_page()


def _generate_in_subprocess(env: dict, stdout) -> dict[str, str]:
    code = ("import json, sys; from pipecli import reference; "
            "open(sys.argv[1], 'w', encoding='utf-8').write(json.dumps(reference.generated()))")
    out = Path(env["OUT"])
    subprocess.run([sys.executable, "-c", code, str(out)], env=env, stdout=stdout,
                   stderr=subprocess.PIPE, check=True, timeout=120)
    import json

    return json.loads(out.read_text("utf-8"))


def test_output_does_not_depend_on_the_terminal_or_environment(tmp_path, made):
    """Width, colour and terminal variables, a C locale, and a real terminal as stdout: the
    files come out byte for byte the same (the lead regenerates them wherever they are)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    env.update(COLUMNS="37", LINES="5", TERMINAL_WIDTH="50", FORCE_COLOR="1", PY_COLORS="1",
               GITHUB_ACTIONS="1", TERM="xterm-256color", TTY_COMPATIBLE="1", LANG="C",
               LC_ALL="C", PYTHONIOENCODING="ascii", OUT=str(tmp_path / "a.json"))
    assert _generate_in_subprocess(env, subprocess.DEVNULL) == made
    leader, follower = pty.openpty()
    try:
        env["OUT"] = str(tmp_path / "b.json")
        assert _generate_in_subprocess(env, follower) == made
    finally:
        os.close(leader)
        os.close(follower)


# -- what the files hold --------------------------------------------------------------------


def test_every_command_is_in_both_files(made):
    names = all_command_names()
    assert len(names) >= 20 and "manpage" in names
    for name in names:
        assert f"\n## pipe {name}\n" in made[reference.REFERENCE], name
        assert f"\n.SS \"pipe {name}" in made[reference.MAN_PAGE], name


def test_the_reference_holds_each_commands_help_as_pipe_prints_it(run, made, monkeypatch):
    """The Markdown is what `pipe COMMAND --help` prints at 80 columns, through the real
    entry point (trailing blanks aside)."""
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("report", "init", "manpage"):
        shown = run(name, "--help")
        assert shown.code == 0
        screen = "\n".join(line.rstrip() for line in shown.out.splitlines()).strip("\n")
        assert f"## pipe {name}\n\n```text\n{screen}\n```\n" in made[reference.REFERENCE]


def test_the_man_page_has_the_sections_of_a_man_page_and_no_date(made):
    from pipecli import __version__

    page = made[reference.MAN_PAGE]
    first = page.splitlines()[0]
    assert first == f'.TH PIPE 1 "" "pipe {__version__}" "User Commands"'
    headings = re.findall(r"^\.SH (.+)$", page, flags=re.M)
    assert headings == ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT",
                        "EXIT STATUS", "FILES", "SEE ALSO"]
    assert section(page, "NAME").startswith("pipe \\- track a sales pipeline")
    for topic in HELP_TOPICS:
        assert f"\\fB{topic.replace('-', chr(92) + '-')}\\fR" in section(page, "SEE ALSO")


ENV_READ = re.compile(r"""environ(?:\.get)?[(\[]\s*["']([A-Z][A-Z0-9_]+)["']"""
                      r"""|getenv\(\s*["']([A-Z][A-Z0-9_]+)["']"""
                      r"""|envvar=["']([A-Z][A-Z0-9_]+)["']"""
                      r"""|["']([A-Z][A-Z0-9_]+)["']\s+(?:not\s+)?in\s+(?:os\.environ|env)\b""")


def variables_pipe_reads() -> set[str]:
    found = set()
    for path in (ROOT / "src" / "pipecli").rglob("*.py"):
        for match in ENV_READ.finditer(path.read_text("utf-8")):
            found.add(next(g for g in match.groups() if g))
    return found


def test_the_environment_section_names_every_variable_pipe_reads(made):
    read = variables_pipe_reads()
    assert {"PIPE_FILE", "PIPE_NOW", "PIPE_LOCK_TIMEOUT", "PIPE_PAGER", "PIPE_OWNER"} <= read
    documented = set(re.findall(r"\\fB([A-Z][A-Z0-9_]+)\\fR",
                                section(made[reference.MAN_PAGE], "ENVIRONMENT")))
    assert read - documented == set(), "add them to the Environment table of docs/cli.md"
    assert {"NO_COLOR", "PAGER", "PIPE_PIPELINE"} <= documented


def exit_codes_pipe_uses() -> set[int]:
    from pipecli import errors

    codes = {0}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.PipeError):
            codes.add(value.exit_code)
    main = (ROOT / "src" / "pipecli" / "cli" / "__init__.py").read_text("utf-8")
    codes |= {int(c) for c in re.findall(r"(?:exit\(|code = )(\d+)\)?", main)}
    return codes


def test_the_exit_status_section_names_every_exit_code(made):
    codes = exit_codes_pipe_uses()
    assert {0, 1, 2, 3, 70, 130} <= codes
    listed = {int(c) for c in re.findall(r"^\\fB(\d+)\\fR$",
                                         section(made[reference.MAN_PAGE], "EXIT STATUS"),
                                         flags=re.M)}
    assert listed == codes


# -- roff ---------------------------------------------------------------------------------


REQUESTS = {"TH", "SH", "SS", "PP", "TP", "RS", "RE", "EX", "EE", "nf", "fi", "br", "ad"}


def test_the_roff_source_escapes_what_roff_would_interpret(made):
    """Every line is a known request or text; every backslash starts an escape the page
    means; every hyphen is \\- (an option's dash, never a typographic hyphen); only ASCII."""
    for number, line in enumerate(made[reference.MAN_PAGE].splitlines(), 1):
        assert line.isascii(), (number, line)
        if line.startswith((".", "'")):
            assert line[1:].split(" ")[0] in REQUESTS, (number, line)
        rest = re.sub(r"\\(?:e|-|&|f[BIR]|\(ga|\[u[0-9A-F]{4,5}\])", "", line)
        assert "\\" not in rest, (number, line)
        assert "-" not in rest, (number, line)


def groff(*args: str, text: str) -> subprocess.CompletedProcess:
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed, so the man page's roff is not rendered here "
                    "(the source checks above still ran)")
    return subprocess.run(["groff", "-man", "-Tutf8", "-ww", *args], input=text.encode(),
                          capture_output=True, timeout=60, check=False)


def rendered(page: str) -> str:
    """The page as man shows it, as plain text: no bold/underline, hyphenation undone,
    whitespace collapsed; typographic quotes and minus signs as ASCII (groff versions
    differ there)."""
    result = groff("-P-cbou", text=page)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()[:2000]
    text = result.stdout.decode("utf-8")
    text = re.sub(r"\u2010\n\s*", "", text)
    for fancy, plain in (("\u2212", "-"), ("\u2018", "`"), ("\u2019", "'")):
        text = text.replace(fancy, plain)
    return " ".join(text.split())


def test_groff_reads_the_man_page_without_a_warning_and_shows_every_command(made):
    page = made[reference.MAN_PAGE]
    result = groff("-z", text=page)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()[:2000]
    text = rendered(page)
    for name in all_command_names():
        assert f"pipe {name} " in text, name
    for variable in ("PIPE_FILE", "PIPE_LOCK_TIMEOUT", "PIPE_NOW", "NO_COLOR"):
        assert re.search(rf"\b{variable}\b", text), variable
    assert "pipe report --since 2026-01-01 --by owner" in text  # an example, dashes intact


HOSTILE = [
    ".TH NOT A REQUEST", "'\\\" not a comment", "a \\fB backslash \\n\\e stays",
    "-x --long pre-commit", "quotes \"double\" and 'single'",
    "en – dash … “curly” → ünïcode",
    "100% of $PIPE_FILE; [brackets] {braces} <angles> a|b", "`code -h` in bold",
]


def test_every_character_of_a_help_text_survives_the_man_page():
    """A help text with what roff would interpret (a leading dot or quote, backslashes,
    dashes, non-ASCII, quotes) reads in the rendered page exactly as written."""
    app = typer.Typer(add_completion=False)

    @app.callback()
    def root() -> None:
        """.TH first paragraph\n\n'second paragraph"""

    @app.command()
    def go(
        value: Annotated[str, typer.Option("--x-y", "-x", help=HOSTILE[0] + " " +
                                           HOSTILE[3])] = "",
    ) -> None:
        """.dot first.

        Example: pipe go -x ".dot" 'it' \\back – “q”
        """

    go.__doc__ = go.__doc__.replace(".dot first.", "\n\n".join(HOSTILE))
    text = rendered(reference.man_page(app))
    for sample in HOSTILE:
        expected = sample.replace("`", "")
        assert " ".join(expected.split()) in text, sample
    assert "pipe go -x \".dot\" 'it' \\back – “q”" in text
    assert ".TH first paragraph 'second paragraph" in text
    assert "-x, --x-y str .TH NOT A REQUEST -x --long pre-commit" in text


# -- shipped and printed ---------------------------------------------------------------------


def test_the_wheel_carries_the_man_page_and_the_reference(tmp_path):
    """setuptools' build_py (what a wheel is made of) in a copy of the project: the package
    data it collects for pipecli.docs holds pipe.1 and reference.md, byte for byte."""
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools is not installed in this environment, so no build is tried")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    for folder in ("src", "docs", "sample_pipelines"):
        shutil.copytree(ROOT / folder, project / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    result = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()",
                             "-q", "build_py", "-d", str(tmp_path / "lib")], cwd=project,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    shipped = tmp_path / "lib" / "pipecli" / "docs"
    for name in (reference.MAN_PAGE, reference.REFERENCE, "cli.md"):
        assert (shipped / name).read_bytes() == (DOCS / name).read_bytes(), name


def test_pipe_manpage_prints_the_installed_page(run):
    result = run("manpage")
    assert result.code == 0 and result.err == ""
    assert result.out == (DOCS / reference.MAN_PAGE).read_text("utf-8")


def test_pipe_manpage_without_the_page_is_one_sentence(run, monkeypatch, tmp_path):
    import importlib.resources

    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    result = run("manpage")
    assert result.code == 1 and result.out == ""
    assert result.err == "pipe: error: this copy of pipe was installed without its man page\n"


def test_pipe_manpage_imports_nothing_heavy(tmp_path):
    from test_startup import heavy, imported_modules

    modules = imported_modules(tmp_path, "manpage")
    assert heavy(modules) == [] and "pipecli.reference" not in modules


# -- help texts point to pipe help, not to the repository ------------------------------------


REPOSITORY_PATH = re.compile(r"\b(?:docs|src|tests|scripts|sample_pipelines|benchmarks)/"
                             r"|\b[\w-]+\.md\b|\bDOMAIN\b|\bREADME\b")


def every_help_text() -> list[tuple[str, str]]:
    """(where, text) for the top-level help, each command's help and each parameter's."""
    summary, every = reference.commands()
    texts = [("pipe", summary)]
    for cmd in every:
        texts.append((f"pipe {cmd.name}", cmd.help))
        texts += [(f"pipe {cmd.name} {metavar}", text) for metavar, text, _ in cmd.arguments]
        texts += [(f"pipe {cmd.name} {names}", text) for names, _, text in cmd.options]
    return [(where, " ".join(text.split())) for where, text in texts]


def test_no_help_text_names_a_file_of_the_repository():
    texts = every_help_text()
    assert len(texts) > 200  # every parameter was seen
    offending = [(w, t) for w, t in texts if REPOSITORY_PATH.search(t)]
    assert offending == [], "say `pipe help TOPIC` instead"
    for template in (ROOT / "sample_pipelines").glob("*.yaml"):
        assert not REPOSITORY_PATH.search(template.read_text("utf-8")), template.name


def test_the_pattern_catches_repository_paths():
    for text in ("see docs/metrics.md", "the rules in metrics.md", "as DOMAIN says",
                 "sample_pipelines/b2b.yaml", "see the README"):
        assert REPOSITORY_PATH.search(text), text
    for text in ("see `pipe help metrics`", "pipeline.yaml", "deals.csv + deals.history.csv"):
        assert not REPOSITORY_PATH.search(text), text


def test_every_pipe_help_topic_and_command_a_help_text_names_exists():
    commands = set(all_command_names())
    topics = {m for _, t in every_help_text() for m in re.findall(r"`pipe help ([\w-]+)", t)}
    named = {m for _, t in every_help_text() for m in re.findall(r"`pipe ([\w-]+)", t)}
    assert "metrics" in topics and named  # the scan sees the references
    assert topics - set(HELP_TOPICS) == set()
    assert named - commands == set()
