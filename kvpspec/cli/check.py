"""``kvpspec check SPEC...``: every problem in the specs, with file, line and column."""

from __future__ import annotations

import sys

import click

from kvpspec.cli.common import EXIT_OK, EXIT_SPEC, guard, load


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when a spec is clean.")
@guard
def check(specs: tuple[str, ...], quiet: bool) -> None:
    """Check specs and report every problem found.

    Exit 0 when clean (warnings allowed), 1 when a spec has errors, 2 when a
    file cannot be read.
    """
    worst = EXIT_OK
    errors = warnings = 0
    for path in specs:
        compiled, code = load(path)
        if compiled is not None:
            errors += len(compiled.errors)
            warnings += len(compiled.diagnostics) - len(compiled.errors)
        elif code == EXIT_SPEC:
            errors += 1
        worst = max(worst, code)
    if worst == EXIT_OK:
        if not quiet:
            note = f" ({_plural(warnings, 'warning')})" if warnings else ""
            click.echo(f"Success: no errors in {_plural(len(specs), 'spec')}{note}")
    elif worst == EXIT_SPEC:
        click.echo(f"Found {_plural(errors, 'error')} in {_plural(len(specs), 'spec')}", err=True)
    sys.exit(worst)
