"""Regenerate the checked-in command-line reference from the commands' own help: the
Markdown reference (docs/reference.md, every `pipe COMMAND --help`) and the man page
(docs/pipe.1, shipped in the wheel and printed by `pipe manpage`).

Run it after adding or changing a command, an option or a help text; tests/test_reference.py
fails until the files match again:

    python scripts/make_reference.py          # rewrite the files that changed
    python scripts/make_reference.py --check  # only say which are out of date (exit 1)

It uses the installed pipecli, which must be this checkout (pip install -e .)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def stale_files() -> dict[Path, str]:
    """Each checked-in reference file that differs from what the commands give now, with
    its new content."""
    from pipecli import reference

    made = reference.generated()
    return {DOCS / name: text for name, text in made.items()
            if not (DOCS / name).exists() or (DOCS / name).read_text("utf-8") != text}


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check, list) the out-of-date files; exit 1 when --check finds any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    import pipecli

    source = Path(pipecli.__file__).resolve().parent
    if source != ROOT / "src" / "pipecli":
        print(f"make_reference: pipecli is imported from {source}, not from this checkout; "
              f"run it with the Python of an editable install (pip install -e .)",
              file=sys.stderr)
        return 2
    stale = stale_files()
    for path, text in stale.items():
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.check:
            print(f"{name} is out of date", file=sys.stderr)
        else:
            path.write_text(text, "utf-8")
            print(f"wrote {name}")
    if args.check and stale:
        print("run: python scripts/make_reference.py", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
