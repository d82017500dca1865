"""``kvpspec build SPEC -o DIR [--only TARGET...]``: every output target into DIR."""

from __future__ import annotations

import sys

import click

from generators.base import GeneratorError
from kvpspec.build import build as build_targets
from kvpspec.cli.common import EXIT_INTERNAL, EXIT_SPEC, guard, load_clean, warn


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", "outdir", metavar="DIR", required=True, help="Write the outputs into this folder.")
@click.option("--only", "only", metavar="TARGET", multiple=True, help="Build only this target (may be repeated).")
@guard
def build(spec: str, outdir: str, only: tuple[str, ...]) -> None:
    """Build every output target of SPEC into DIR, with DIR/manifest.json.

    Targets: script (interviewer script: HTML, PDF, Markdown), documents
    (letters and forms: HTML, PDF), registration (the registration form as
    XLSX), flow (the routing as SVG and Mermaid), analysis (analysis.py).
    """
    compiled = load_clean(spec)
    try:
        built = build_targets(compiled, outdir, only)
    except GeneratorError as exc:
        click.echo(f"kvpspec: error: target `{exc.target}` failed: {exc.message}", err=True)
        if exc.internal:
            click.echo("This is a bug in kvpspec; run with KVPSPEC_DEBUG=1 for details and report it.", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(EXIT_SPEC)
    for target_name, message in built.warnings:
        warn(f"target `{target_name}` cannot express this: {message}")
    click.echo(f"Wrote {len(built.files) + 1} files to {outdir}")
