"""``kvpspec analyze SPEC DATA [--sample SAMPLE] -o DIR``: validate, then run the analysis code.

The data are validated first (``kvpspec.data.validate``); invalid data are refused,
with the validator's report, unless ``--force``. Then ``analysis.py`` is
generated into DIR (``generators.analysis``) and run as a subprocess with the
same interpreter, ``python DIR/analysis.py DATA [--sample SAMPLE] --out DIR``,
so the file left in DIR is exactly the code that made DIR/tables.json,
DIR/report.html, the CSVs and the figures.

Exit codes: 0 done; 1 invalid data, or the analysis failed; 2 usage or I/O
(the spec has errors, a file cannot be read or written).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str, code: int) -> None:
    click.echo(f"kvpspec: error: {message}", err=True)
    sys.exit(code)


def run_analysis(script: Path, data: Path, sample: Path | None, outdir: Path) -> subprocess.CompletedProcess:
    """Run a generated analysis.py with this interpreter; returns the finished process."""
    command = [sys.executable, str(script), str(data)]
    if sample is not None:
        command += ["--sample", str(sample)]
    command += ["--out", str(outdir)]
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8")


@click.command()
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="DATA")
@click.option("--sample", "sample", metavar="SAMPLE.csv", help="The sample file with each case's disposition.")
@click.option("-o", "--output", "outdir", metavar="DIR", required=True, help="Write the analysis and its outputs here.")
@click.option("--force", is_flag=True, help="Analyse the data even when the validator finds errors.")
def analyze_command(spec: str, data: str, sample: str | None, outdir: str, force: bool) -> None:
    """Validate DATA against SPEC, then generate and run analysis.py into DIR.

    DIR receives analysis.py (the code that ran), tables.json, report.html, a
    CSV per table and the figures. Exit 0 when done, 1 when the data are
    invalid (without --force) or the analysis failed, 2 on usage or I/O errors.
    """
    from kvpspec.cli import _guard

    _guard(_analyze)(spec, data, sample, outdir, force)


def _analyze(spec: str, data: str, sample: str | None, outdir: str, force: bool) -> None:
    from kvpspec.cli import _load
    from kvpspec.data.reader import DataError, open_data
    from kvpspec.data.validate import validate

    compiled, code = _load(spec)
    if compiled is None or code != EXIT_OK:
        _fail("the spec has errors; fix them before analysing data", EXIT_USAGE)
    if sample is not None and not Path(sample).is_file():
        _fail(f"{sample}: no such file", EXIT_USAGE)
    try:
        report = validate(compiled, open_data(data))
    except DataError as exc:
        _fail(str(exc), EXIT_USAGE)
    if not report.ok:
        click.echo(report.text(), err=True)
        if not force:
            _fail(
                f"{data} has {report.rows_invalid} invalid row(s); fix them, or analyse anyway with --force",
                EXIT_FAILED,
            )
        click.echo("kvpspec: warning: analysing invalid data (--force)", err=True)

    from generators.analysis import analysis_source
    from generators.base import GeneratorError

    warnings: list[str] = []
    try:
        source = analysis_source(compiled, None, warnings.append)
    except GeneratorError as exc:
        _fail(f"cannot generate the analysis: {exc}", EXIT_FAILED)
    for message in warnings:
        click.echo(f"kvpspec: warning: analysis.py cannot express this: {message}", err=True)
    root = Path(outdir)
    script = root / "analysis.py"
    try:
        root.mkdir(parents=True, exist_ok=True)
        script.write_text(source, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {exc.filename or outdir}: {exc.strerror or exc}", EXIT_USAGE)
    done = run_analysis(script, Path(data), Path(sample) if sample else None, root)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        _fail(f"the analysis failed (python {script} exited with {done.returncode})", EXIT_FAILED)
    figures = len(list((root / "figures").glob("*.svg"))) if (root / "figures").is_dir() else 0
    click.echo(
        f"Wrote {script}, {root / 'tables.json'}, {root / 'report.html'}, "
        f"{figures} figures and the tables as CSV to {outdir}"
    )
