"""``kvpspec test SPEC [--examples N] [--seed S]``: property checks of routing, recodes and expectations."""

from __future__ import annotations

import sys

import click

from kvpspec.cli.common import EXIT_SPEC, EXIT_USAGE, guard, load
from kvpspec.synth.proptest import DEFAULT_EXAMPLES, TESTED_ERRORS, run


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--examples", type=click.IntRange(min=0), default=DEFAULT_EXAMPLES, show_default=True,
              help="Generated interviews per property run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same result).")
@guard
def test(spec: str, examples: int, seed: int) -> None:
    """Check the routing, recodes and expectations of SPEC on generated interviews.

    Exit 0 when every property holds, 1 when one fails or the spec has errors,
    2 on usage or I/O errors.
    """
    compiled, code = load(spec)
    if compiled is None or code == EXIT_USAGE:
        sys.exit(code)
    blocking = [d for d in compiled.errors if d.code not in TESTED_ERRORS]
    if blocking:
        click.echo(f"kvpspec test: fix the errors in {spec} first", err=True)
        sys.exit(EXIT_SPEC)
    report = run(compiled, examples, seed)
    click.echo(report.render())
    sys.exit(EXIT_SPEC if report.failed or compiled.errors else 0)
