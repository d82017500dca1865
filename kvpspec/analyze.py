"""Validate data, then generate and run the analysis code.

The data are validated first (``kvpspec.data.validate``), and the sample file
with ``validate_sample`` (a blank or unknown disposition would otherwise give a
wrong response rate silently); invalid files are refused, with the validator's
report, unless ``force``. Then ``analysis.py``
is generated into the output folder (``generators.analysis``) and run as a
subprocess with the same interpreter,
``python DIR/analysis.py [--sample SAMPLE] --out DIR -- DATA``, so the file
left in DIR is exactly the code that made DIR/tables.json, DIR/report.html,
the CSVs and the figures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from generators.analysis import analysis_source
from generators.base import GeneratorError
from kvpspec.compile import Compiled
from kvpspec.data.reader import open_data
from kvpspec.data.validate import Report, validate, validate_sample
from kvpspec.diagnostics import InputError, KvpspecError


class InvalidData(KvpspecError):
    """The data break the spec and ``force`` was not given; carries the validator's report."""

    def __init__(self, data: str | Path, report: Report):
        self.report = report
        super().__init__(
            f"{data} has {report.rows_invalid} invalid row(s); fix them, or analyse anyway with --force"
        )


class AnalysisFailed(KvpspecError):
    """The analysis could not be generated, or the generated analysis.py failed (its stderr kept)."""

    def __init__(self, message: str, stderr: str = ""):
        self.stderr = stderr
        super().__init__(message)


@dataclass
class Analysis:
    """What :func:`analyze` did: the validation report, the script that ran and what it wrote."""

    report: Report
    script: Path
    outdir: Path
    figures: int
    stderr: str
    warnings: list[str] = field(default_factory=list)
    #: the sample file's validation report (None without a sample file)
    sample_report: Report | None = None


def run_analysis(script: Path, data: Path, sample: Path | None, outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run a generated analysis.py with this interpreter; returns the finished process."""
    command = [sys.executable, str(script)]
    if sample is not None:
        command += ["--sample", str(sample)]
    command += ["--out", str(outdir), "--", str(data)]
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", check=False)


def analyze(
    compiled: Compiled,
    data: str | Path,
    sample: str | Path | None,
    outdir: str | Path,
    force: bool = False,
    on_invalid: Callable[[Report], None] | None = None,
) -> Analysis:
    """Validate ``data``, then write ``analysis.py`` into ``outdir`` and run it.

    ``on_invalid`` sees the report of invalid data (and of an invalid sample
    file) before anything else
    happens (with ``force`` the analysis then goes on). Raises ``InputError``
    (a file cannot be read or written), ``InvalidData`` and ``AnalysisFailed``.
    """
    if sample is not None and not Path(sample).is_file():
        raise InputError(f"{sample}: no such file")
    report = validate(compiled, open_data(data))
    checked = [(data, report)]
    if sample is not None:
        sample_report = validate_sample(compiled, open_data(sample))
        checked.append((sample, sample_report))
    for path, found in checked:
        if not found.ok:
            if on_invalid is not None:
                on_invalid(found)
            if not force:
                raise InvalidData(path, found)
    warnings: list[str] = []
    try:
        source = analysis_source(compiled, None, warnings.append)
    except GeneratorError as exc:
        raise AnalysisFailed(f"cannot generate the analysis: {exc}") from exc
    root = Path(outdir)
    script = root / "analysis.py"
    try:
        root.mkdir(parents=True, exist_ok=True)
        script.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or outdir}: {exc.strerror or exc}") from exc
    done = run_analysis(script, Path(data), Path(sample) if sample else None, root)
    if done.returncode != 0:
        raise AnalysisFailed(f"the analysis failed (python {script} exited with {done.returncode})", done.stderr)
    figures = len(list((root / "figures").glob("*.svg"))) if (root / "figures").is_dir() else 0
    return Analysis(report, script, root, figures, done.stderr, warnings,
                    checked[1][1] if sample is not None else None)
