"""``kvpspec analyze SPEC DATA [--sample SAMPLE] -o DIR [--force]``: validate, then run analysis.py."""

from __future__ import annotations

import sys

import click

from kvpspec.analyze import AnalysisFailed, InvalidData
from kvpspec.analyze import analyze as run_analysis
from kvpspec.cli.common import EXIT_SPEC, guard, load_clean, warn
from kvpspec.data.validate import Report


@click.command()
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="DATA")
@click.option("--sample", "sample", metavar="SAMPLE.csv", help="The sample file with each case's disposition.")
@click.option("-o", "--output", "outdir", metavar="DIR", required=True, help="Write the analysis and its outputs here.")
@click.option("--force", is_flag=True, help="Analyse the data even when the validator finds errors.")
@guard
def analyze(spec: str, data: str, sample: str | None, outdir: str, force: bool) -> None:
    """Validate DATA against SPEC, then generate and run analysis.py into DIR.

    DIR receives analysis.py (the code that ran), tables.json, report.html, a
    CSV per table and the figures. Exit 0 when done, 1 when the data are
    invalid (without --force) or the analysis failed, 2 on usage or I/O errors.
    """
    compiled = load_clean(spec, "analysing data")

    def invalid(report: Report) -> None:
        click.echo(report.text(), err=True)
        if force:
            warn("analysing invalid data (--force)")

    failure: str | None = None
    try:
        done = run_analysis(compiled, data, sample, outdir, force=force, on_invalid=invalid)
    except InvalidData as exc:
        failure = str(exc)
    except AnalysisFailed as exc:
        sys.stderr.write(exc.stderr)
        failure = str(exc)
    if failure is not None:
        # Exit outside the handler: the exception's frames (and the data readers
        # they hold) are released first, not during interpreter shutdown.
        click.echo(f"kvpspec: error: {failure}", err=True)
        sys.exit(EXIT_SPEC)
    sys.stderr.write(done.stderr)
    for message in done.warnings:
        warn(f"analysis.py cannot express this: {message}")
    root = done.outdir
    click.echo(
        f"Wrote {done.script}, {root / 'tables.json'}, {root / 'report.html'}, "
        f"{done.figures} figures and the tables as CSV to {outdir}"
    )
