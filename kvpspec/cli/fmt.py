"""``kvpspec fmt SPEC... [--check | --stdout]``: the canonical layout, comments kept."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kvpspec.cli.common import EXIT_OK, EXIT_SPEC, EXIT_USAGE, guard, print_diagnostics, source_of
from kvpspec.diagnostics import SpecError
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_file


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the formatted spec instead of rewriting it.")
@guard
def fmt(specs: tuple[str, ...], check_only: bool, to_stdout: bool) -> None:
    """Rewrite specs in the canonical layout, keeping every comment."""
    worst = EXIT_OK
    for path in specs:
        try:
            result = parse_file(path)
        except SpecError as exc:
            print_diagnostics(exc.diagnostics, source_of(path))
            worst = max(worst, EXIT_USAGE if any(d.code == "io" for d in exc.diagnostics) else EXIT_SPEC)
            continue
        text = format_spec(result)
        if to_stdout:
            sys.stdout.write(text)
        elif text != result.source:
            if check_only:
                click.echo(f"would reformat {path}", err=True)
                worst = max(worst, EXIT_SPEC)
            else:
                try:
                    Path(path).write_text(text, encoding="utf-8")
                except OSError as exc:
                    click.echo(f"kvpspec: error: cannot write {path}: {exc.strerror or exc}", err=True)
                    worst = max(worst, EXIT_USAGE)
                    continue
                click.echo(f"reformatted {path}", err=True)
    sys.exit(worst)
