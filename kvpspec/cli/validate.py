"""``kvpspec validate SPEC [DATA] [--sample FILE] [--report FILE]``: every row of the data (and of
the sample file) against the spec."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from kvpspec.cli.common import guard, load_clean, usage_error
from kvpspec.compile import Compiled
from kvpspec.data.reader import DataSource, open_data
from kvpspec.data.validate import MAX_SHOWN, Report, ReportWriter, validate_sample
from kvpspec.data.validate import validate as validate_data


@click.command()
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="[DATA]", required=False)
@click.option("--sample", "sample", metavar="FILE", help="Also check the sample file (its fields and dispositions).")
@click.option("--report", "report_path", metavar="FILE", help="Write every finding about DATA as JSON here.")
@click.option("--sample-report", "sample_report", metavar="FILE", help="Write every finding about the sample file here.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
@click.option("--delimiter", metavar="CHAR", help="The CSV delimiter: ',', ';' or a tab (default: as the header shows).")
@guard
def validate(spec: str, data: str | None, sample: str | None, report_path: str | None,
             sample_report: str | None, quiet: bool, delimiter: str | None) -> None:
    """Check that every row of DATA (CSV, XLSX or Parquet) obeys SPEC, and
    with --sample that the sample file does.

    Exit 0 when all rows are valid (warnings allowed), 1 when some are
    invalid, 2 when the spec or a file cannot be read.
    """
    if data is None and sample is None:
        usage_error("give the data file, the sample file (--sample FILE), or both")
    compiled = load_clean(spec, "validating data")
    ok = True
    for path, check, report_to in ((data, validate_data, report_path), (sample, validate_sample, sample_report)):
        if path is None:
            continue
        source = open_data(path, _delimiter(delimiter))
        report = _run(check, compiled, source, report_to)
        text = report.text()
        click.echo(text.splitlines()[0] if quiet else text)
        ok = ok and report.ok
    sys.exit(0 if ok else 1)


def _run(check: Callable[..., Report], compiled: Compiled, source: DataSource, report_path: str | None) -> Report:
    """One file checked, its findings streamed to ``report_path``."""
    writer = None
    if report_path:
        try:
            writer = ReportWriter(report_path)
        except OSError as exc:
            usage_error(f"cannot write {report_path}: {exc.strerror or exc}")
    try:
        with progress(Path(source.path)) as step:
            report = check(compiled, source, step, keep=MAX_SHOWN, sink=writer)
        if writer is not None:
            writer.finish(report)
    except OSError as exc:
        usage_error(f"cannot write {report_path}: {exc.strerror or exc}")
    finally:
        if writer is not None:
            writer.close()
    return report


def _delimiter(text: str | None) -> str | None:
    """``--delimiter`` as given: a character, or ``tab`` / ``\\t`` for a tab."""
    if text is None:
        return None
    return {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(text.lower(), text)


@contextmanager
def progress(path: Path, threshold: int = 5_000_000) -> Iterator[Callable[[Any], None]]:
    """A progress bar on a terminal, for files large enough to wait for.

    The total is the number of rows, estimated from the file size and the
    length of the rows in its first megabyte; the bar fills as batches pass.
    Files of ``threshold`` bytes or fewer get no bar.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if not (sys.stderr.isatty() and size > threshold):
        yield lambda done: None
        return
    with path.open("rb") as f:
        head = f.read(1 << 20)
    total = max(1, int(size * max(head.count(b"\n"), 1) / max(len(head), 1)))
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("validating"), BarColumn(), TextColumn("{task.completed:,.0f} rows"),
        TimeElapsedColumn(), transient=True,
    )
    task = bar.add_task("validating", total=total)

    def step(done: Any) -> None:
        if isinstance(done, int):
            bar.update(task, completed=min(done, total))

    with bar:
        yield step
