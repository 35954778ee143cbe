"""The `pipe` command line. Each command parses its options, makes one core call and
hands the result to render; errors become exits in main() and nowhere else."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext

import typer

from pipecli.cli.common import app

# Importing the command modules registers their commands, in this order in `pipe --help`.
from pipecli.cli import setup  # noqa: E402,F401,I001
from pipecli.cli import lifecycle  # noqa: E402,F401,I001
from pipecli.cli import deals  # noqa: E402,F401,I001
from pipecli.cli import reports  # noqa: E402,F401,I001
from pipecli.cli import customers  # noqa: E402,F401,I001
from pipecli.cli import costs  # noqa: E402,F401,I001
from pipecli.cli import digest  # noqa: E402,F401,I001

__all__ = ["app", "main"]


def _commands_needed(args: list[str], every: list) -> list:
    """Only the command being run. Typer turns every registered command's signature into
    click parameters before dispatching; for 23 commands that cost ~30 ms on each run, more
    than `pipe add` itself. `pipe --help`, no command or an unknown name need them all (the
    listing, and click's "did you mean")."""
    name = next((a for a in args if not a.startswith("-")), None)
    chosen = [c for c in every
              if (c.name or c.callback.__name__.lower().replace("_", "-")) == name]
    return chosen or every


def usage_sentence(e: Exception) -> str:
    """Click's usage error (a usage line, a hint and the error, on four lines) as the one
    sentence every pipe error is, pointing to the command's help."""
    text = e.format_message() if hasattr(e, "format_message") else str(e)
    text = " ".join(text.split()).rstrip(".")
    if not text:
        return ""
    text = text[:1].lower() + text[1:] if not text[1:2].isupper() else text
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "pipe"
    return f"{text} (see `{where} -h`)"


def main() -> None:
    """Entry point: run the app, turning every domain error into one line and an exit code."""
    from pipecli.output import render
    from pipecli.errors import InvalidConfig, PipeError

    from pipecli.cli import completion

    unreadable = next((i for i, a in enumerate(sys.argv[1:], 1)
                       if any("\udc80" <= c <= "\udcff" for c in a)), None)
    if unreadable is not None:  # bytes the locale could not decode (os.fsdecode's escapes)
        render.error(f"argument {unreadable} is not valid UTF-8 text")
        sys.exit(2)
    page = nullcontext()
    if sys.stdout.isatty() or "--no-pager" in sys.argv:  # paging costs nothing otherwise
        from pipecli.cli import paging

        sys.argv[1:], wanted = paging.wanted(sys.argv[1:])
        page = paging.paged() if wanted else page
    every = app.registered_commands
    if completion.completing():  # a shell asking what to complete: it needs every command
        completion.enable()
    else:
        app.registered_commands = _commands_needed(sys.argv[1:], every)
    try:
        with page:
            code = app(standalone_mode=False, prog_name="pipe")
    except InvalidConfig as e:
        for problem in e.problems:
            render.error(str(problem))
        sys.exit(e.exit_code)
    except PipeError as e:
        render.error(str(e), e.label)
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as e:  # usage errors: bad option, missing argument
        sentence = usage_sentence(e)
        if sentence:  # `pipe` alone: the help was the answer
            render.error(sentence)
        sys.exit(getattr(e, "exit_code", 2))
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (pipe ... | head): not an error
        sys.exit(0)
    except Exception as e:  # a bug in pipe, not the user's mistake
        if os.environ.get("PIPE_DEBUG"):
            raise
        render.error(f"internal error ({type(e).__name__}: {e}); nothing was changed. "
                     f"Please report it; PIPE_DEBUG=1 shows the details")
        sys.exit(70)
    finally:
        app.registered_commands = every
    if code == 130:
        render.error("interrupted; nothing was changed")
    sys.exit(code if isinstance(code, int) else 0)
