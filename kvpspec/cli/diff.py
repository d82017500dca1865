"""``kvpspec diff OLD NEW``: what changed between two versions of a spec, and what breaks."""

from __future__ import annotations

import sys

import click

from kvpspec.cli.common import EXIT_OK, EXIT_SPEC, EXIT_USAGE, guard, print_diagnostics, source_of
from kvpspec.compile import Compiled, compile_file
from kvpspec.diagnostics import SpecError


def _load(path: str) -> Compiled:
    """A spec without errors, or exit 2 with its located diagnostics."""
    try:
        compiled = compile_file(path)
    except SpecError as exc:
        print_diagnostics(exc.diagnostics, source_of(path))
        sys.exit(EXIT_USAGE)
    if not compiled.ok:
        print_diagnostics(compiled.errors, compiled.result.source)
        click.echo(f"kvpspec: error: {path} has errors; fix them before comparing", err=True)
        sys.exit(EXIT_USAGE)
    return compiled


@click.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the changes.")
@click.option("--fail-on", type=click.Choice(["breaking"]), default=None,
              help="Exit 1 when a change of this class is found (for CI).")
@guard
def diff(old: str, new: str, fmt: str, fail_on: str | None) -> None:
    """Compare two versions of a spec by meaning: questions, options, routing, recodes, checks.

    Exit 0, or 1 with --fail-on breaking when a breaking change is found;
    2 when a spec cannot be read or has errors.
    """
    from kvpspec.authoring.diff import RENDERERS
    from kvpspec.authoring.diff import diff as compare

    result = compare(_load(old), _load(new))
    sys.stdout.write(RENDERERS[fmt](result))
    sys.exit(EXIT_SPEC if fail_on == "breaking" and result.breaking else EXIT_OK)
