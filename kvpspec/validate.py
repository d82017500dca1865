"""The validator: does every row of the response data obey the questionnaire?

Whole columns at a time (pyarrow and numpy), never a Python loop per row: the
only loops run over the columns and over the cells that fail. Routing comes
from the core (``flow.asked_conditions``) and is evaluated by the column
evaluator (``vectorised.py``), which means what ``expr.Evaluator`` means.

Rules (the ``rule`` of each finding):

``missing-column``, ``unknown-column``, ``personal-data`` (a personal sample
field in the response data), ``ragged`` (a row with the wrong number of
cells), ``type`` (not a number where one is needed), ``code`` (not a code of
the question), ``range`` (a number outside the range that is not a missing
code), ``exclusive`` (an exclusive option chosen with others),
``asked-empty`` (the routing asked the question, the cell is empty),
``skipped-answered`` (the routing skipped it, the cell holds a value),
``duplicate-id``; soft checks give warnings with the rule ``warn:NAME``.

A cell whose routing depends on a cell that already failed is not judged
again, so one fault gives one finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.data import Table
from kvpspec.flow import asked_conditions
from kvpspec.fmt import format_expr
from kvpspec.lower import Variable, expr_refs
from kvpspec.schemas import DATA_ROLES
from kvpspec.vectorised import ColumnEvaluator

_INT = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_CODES = r"^[0-9]+( +[0-9]+)*$"
MAX_SHOWN = 8


@dataclass
class Finding:
    row: int
    column: str
    rule: str
    value: str
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "rule": self.rule, "value": self.value, "message": self.message}


@dataclass
class Report:
    file: str
    rows_read: int
    rows_invalid: int
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def rows_valid(self) -> int:
        return self.rows_read - self.rows_invalid

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_rule(self, findings: list[Finding]) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in findings:
            out[f.rule] = out.get(f.rule, 0) + 1
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": {
                "file": self.file,
                "rows_read": self.rows_read,
                "rows_valid": self.rows_valid,
                "rows_invalid": self.rows_invalid,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "errors_by_rule": self.by_rule(self.errors),
                "warnings_by_rule": self.by_rule(self.warnings),
            },
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
        }

    def text(self, limit: int = MAX_SHOWN) -> str:
        """A readable summary: counts, then a few examples per rule."""
        lines = [
            f"{self.file}: {self.rows_read} rows read, {self.rows_valid} valid, "
            f"{self.rows_invalid} invalid; {len(self.errors)} error{'s' if len(self.errors) != 1 else ''}, "
            f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}"
        ]
        for severity, findings in (("error", self.errors), ("warning", self.warnings)):
            groups: dict[str, list[Finding]] = {}
            for f in findings:
                groups.setdefault(f.rule, []).append(f)
            for rule, items in sorted(groups.items()):
                lines.append(f"  {severity} [{rule}]: {len(items)}")
                for f in items[:limit]:
                    lines.append(f"    row {f.row}, {f.column}: {f.message}")
                if len(items) > limit:
                    lines.append(f"    ... and {len(items) - limit} more (all of them with --report FILE)")
        return "\n".join(lines)


# ---------------------------------------------------------------- columns


@dataclass
class _Column:
    var: Variable
    present: np.ndarray  # bool: the cell holds something
    invalid: np.ndarray  # bool: the cell failed a check of its own
    values: np.ndarray  # float64 (NaN = no usable value), object (text) or bool matrix (multiple)


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."


class Validator:
    def __init__(self, compiled: Compiled, table: Table, progress: Callable[[str], None] | None = None):
        self.compiled = compiled
        self.low = compiled.lowered
        self.table = table
        self.n = table.n_rows
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.bad_rows = np.zeros(self.n, dtype=bool)
        self.progress = progress or (lambda step: None)

    # ------------------------------------------------------------ findings

    def _cells(self, mask: np.ndarray, column: str, rule: str, raw: pa.ChunkedArray | None,
               message: Callable[[str], str], severity: str = "error") -> None:
        """One finding per true cell of ``mask`` (only failing cells are visited)."""
        index = np.flatnonzero(mask)
        if index.size == 0:
            return
        values = raw.take(pa.array(index)).to_pylist() if raw is not None else [""] * index.size
        rows = self.table.rows[index]
        target = self.errors if severity == "error" else self.warnings
        for row, value in zip(rows.tolist(), values):
            text = "" if value is None else str(value)
            target.append(Finding(row, column, rule, text, message(_shown(text)), severity))
        if severity == "error":
            self.bad_rows[index] = True

    def _column_error(self, column: str, rule: str, message: str) -> None:
        self.errors.append(Finding(1, column, rule, "", message))

    # ------------------------------------------------------------ run

    def run(self) -> Report:
        expected = [v for v in self.low.variables.values() if v.role in DATA_ROLES]
        expected_names = {v.name for v in expected}
        for r in self.table.ragged:
            self.errors.append(
                Finding(r.row, "", "ragged", r.text, f"the row has {r.found} cells; the header has {r.expected}")
            )
        self._check_columns(expected_names)
        self.progress("columns")
        columns: dict[str, _Column] = {}
        for v in expected:
            if v.name in self.table.columns:
                columns[v.name] = self._parse(v, self.table.columns[v.name])
        self.progress("cells")
        self._check_routing(columns)
        self.progress("routing")
        if self.compiled.spec.respondent is not None:
            self._check_ids(self.compiled.spec.respondent.name)
        self._check_soft(columns)
        self.progress("soft checks")
        self.errors.sort(key=lambda f: (f.row, f.column, f.rule))
        self.warnings.sort(key=lambda f: (f.row, f.column, f.rule))
        invalid = int(self.bad_rows.sum()) + len(self.table.ragged)
        if any(f.row == 1 for f in self.errors):
            invalid = self.table.rows_read  # a column problem concerns every row
        return Report(self.table.path, self.table.rows_read, invalid, self.errors, self.warnings)

    def _check_columns(self, expected: set[str]) -> None:
        for v in self.low.variables.values():
            if v.name in expected and v.name not in self.table.columns:
                self._column_error(v.name, "missing-column", f"the column `{v.name}` ({_shown(v.label.text)}) is missing")
        for name in self.table.columns:
            if name in expected:
                continue
            var = self.low.variables.get(name)
            if var is not None and var.personal:
                self._column_error(
                    name,
                    "personal-data",
                    f"`{name}` is personal data (a sample field marked `personal`); it must not be in the "
                    f"response data: the consent promises anonymity",
                )
            elif var is not None and var.role == "sample":
                self._column_error(name, "unknown-column", f"`{name}` is a sample field; it belongs in the sample file")
            elif var is not None and var.role in ("recode", "derive"):
                self._column_error(
                    name, "unknown-column", f"`{name}` is computed from the spec; leave it out of the data"
                )
            elif var is not None and var.role == "screener":
                self._column_error(name, "unknown-column", f"`{name}` belongs to the intro; it is not response data")
            else:
                from kvpspec.errors import did_you_mean

                hint = did_you_mean(name, expected)
                self._column_error(name, "unknown-column", f"`{name}` is not a variable of the spec{hint}")

    # ------------------------------------------------------------ cells

    def _parse(self, v: Variable, raw: pa.ChunkedArray) -> _Column:
        text = pc.utf8_trim_whitespace(raw)
        present = pc.not_equal(text, "").to_numpy(zero_copy_only=False)
        name = v.name
        if v.type == "text":
            return _Column(v, present, np.zeros(self.n, dtype=bool), np.asarray(text.to_numpy(zero_copy_only=False), dtype=object))
        if v.type == "multiple":
            return self._parse_multiple(v, raw, text, present)
        pattern = _DECIMAL if v.type == "decimal" else _INT
        ok = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
        bad_type = present & ~ok
        what = "a number" if v.type == "decimal" else "a whole number"
        self._cells(bad_type, name, "type", raw, lambda x: f"`{name}` must be {what}; found `{x}`")
        cleaned = pc.if_else(pa.array(ok & present), text.combine_chunks(), "0")
        values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False).copy()
        values[~(ok & present)] = np.nan
        invalid = bad_type.copy()
        if v.role == "id":
            return _Column(v, present, invalid, values)
        if v.type == "single":
            bad = present & ok & ~np.isin(values, list(v.codes))
            codes = ", ".join(str(c) for c in v.codes)
            self._cells(bad, name, "code", raw, lambda x: f"`{name}` has no code {x} (its codes: {codes})")
            invalid |= bad
        elif v.type in ("integer", "decimal"):
            inside = np.ones(self.n, dtype=bool)
            if v.min is not None:
                inside &= values >= v.min
            if v.max is not None:
                inside &= values <= v.max
            if v.type == "integer":
                inside &= values == np.floor(values)
            allowed = inside | np.isin(values, list(v.missing_codes))
            bad = present & ok & ~allowed
            span = f"{_num(v.min)}..{_num(v.max)}" if v.min is not None or v.max is not None else "its range"
            extra = f" or a missing code ({', '.join(str(c) for c in sorted(v.missing_codes))})" if v.missing else ""
            self._cells(bad, name, "range", raw, lambda x: f"`{name}` must be in {span}{extra}; found {x}")
            invalid |= bad
        values[invalid] = np.nan
        return _Column(v, present, invalid, values)

    def _parse_multiple(self, v: Variable, raw: pa.ChunkedArray, text: pa.ChunkedArray, present: np.ndarray) -> _Column:
        name = v.name
        ok = pc.match_substring_regex(text, _CODES).to_numpy(zero_copy_only=False)
        bad_type = present & ~ok
        self._cells(bad_type, name, "type", raw, lambda x: f"`{name}` holds codes separated by spaces; found `{x}`")
        known = "|".join(str(c) for c in v.codes)
        allowed = pc.match_substring_regex(text, rf"^({known})( +({known}))*$").to_numpy(zero_copy_only=False)
        bad_code = present & ok & ~allowed
        codes = ", ".join(str(c) for c in v.codes)
        self._cells(bad_code, name, "code", raw, lambda x: f"`{name}` has a code that is not one of {codes}: `{x}`")
        matrix = np.zeros((self.n, len(v.codes)), dtype=bool)
        for j, code in enumerate(v.codes):
            matrix[:, j] = pc.match_substring_regex(text, rf"(^| ){code}( |$)").to_numpy(zero_copy_only=False)
        invalid = bad_type | bad_code
        exclusive = {o.code for o in self._options(v) if o.exclusive}
        if exclusive:
            count = matrix.sum(axis=1)
            for j, code in enumerate(v.codes):
                if code in exclusive:
                    bad = matrix[:, j] & (count > 1) & ~invalid
                    self._cells(bad, name, "exclusive", raw, lambda x, c=code: f"`{name}`: code {c} excludes the others; found `{x}`")
                    invalid |= bad
        matrix[invalid] = False
        return _Column(v, present, invalid, matrix)

    def _options(self, v: Variable) -> tuple[m.Option, ...]:
        node = v.node
        if isinstance(node, m.Question):
            return self.low.question_options(node)
        return ()

    # ------------------------------------------------------------ routing

    def _arrays(self, columns: dict[str, _Column]) -> dict[str, np.ndarray]:
        arrays = {name: col.values for name, col in columns.items()}
        for v in self.low.variables.values():
            if v.role in DATA_ROLES and v.name not in arrays:
                arrays[v.name] = _empty(v, self.n)
        evaluator = ColumnEvaluator(self.low.variables, self.low.recodes)
        return evaluator.complete(arrays, self.n, self.compiled.spec.derives)

    def _check_routing(self, columns: dict[str, _Column]) -> None:
        evaluator = ColumnEvaluator(self.low.variables, self.low.recodes)
        arrays = self._arrays(columns)
        guards = asked_conditions(self.low)
        for name, col in columns.items():
            if col.var.role == "id":
                continue
            guard = guards.get(name)
            asked = evaluator.truth(guard, arrays, self.n)
            uncertain = col.invalid.copy()
            if guard is not None:
                for ref in set(expr_refs(guard)):
                    if ref in columns:
                        uncertain |= columns[ref].invalid
            why = format_expr(guard) if guard is not None else None
            raw = self.table.columns[name]
            empty = asked & ~col.present & ~uncertain
            self._cells(
                empty, name, "asked-empty", raw,
                lambda x: f"`{name}` was asked" + (f" ({why})" if why else "") + " but is empty",
            )
            extra = ~asked & col.present & ~uncertain
            self._cells(
                extra, name, "skipped-answered", raw,
                lambda x: f"`{name}` was not asked ({why} is false) but holds `{x}`",
            )

    def _check_ids(self, name: str) -> None:
        raw = self.table.columns.get(name)
        if raw is None:
            return
        ids = np.asarray(pc.utf8_trim_whitespace(raw).to_numpy(zero_copy_only=False), dtype=object)
        order = np.argsort(ids, kind="stable")
        ranked = ids[order]
        same = np.zeros(self.n, dtype=bool)
        if self.n > 1:
            same[1:] = ranked[1:] == ranked[:-1]
        dup_positions = order[same]
        if dup_positions.size == 0:
            return
        first_row: dict[Any, int] = {}
        for position in order[np.flatnonzero(~same)].tolist():
            first_row.setdefault(ids[position], int(self.table.rows[position]))
        mask = np.zeros(self.n, dtype=bool)
        mask[dup_positions] = True
        mask &= ids != ""
        index = np.flatnonzero(mask)
        for i in index.tolist():
            value = ids[i]
            self.errors.append(
                Finding(
                    int(self.table.rows[i]), name, "duplicate-id", str(value),
                    f"the id `{value}` is also used on row {first_row[value]}",
                )
            )
        self.bad_rows[index] = True

    def _check_soft(self, columns: dict[str, _Column]) -> None:
        if not self.compiled.spec.warnings:
            return
        evaluator = ColumnEvaluator(self.low.variables, self.low.recodes)
        arrays = self._arrays(columns)
        for w in self.compiled.spec.warnings:
            refs = sorted(set(expr_refs(w.condition)))
            hit = evaluator.truth(w.condition, arrays, self.n)
            for ref in refs:
                if ref in columns:
                    hit &= ~columns[ref].invalid
            index = np.flatnonzero(hit)
            shown = [r for r in refs if r in self.table.columns]
            for i in index.tolist():
                value = "; ".join(f"{r}={self.table.columns[r][i].as_py()}" for r in shown)
                self.warnings.append(
                    Finding(int(self.table.rows[i]), ",".join(shown), f"warn:{w.name}", value, w.label.text, "warning")
                )


def _empty(v: Variable, n: int) -> np.ndarray:
    if v.type == "multiple":
        return np.zeros((n, len(v.codes)), dtype=bool)
    if v.value_kind == "text":
        return np.full(n, "", dtype=object)
    return np.full(n, np.nan)


def _num(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def validate(compiled: Compiled, table: Table, progress: Callable[[str], None] | None = None) -> Report:
    """Check every row of ``table`` against the spec; see the module docstring for the rules."""
    return Validator(compiled, table, progress).run()



# ---------------------------------------------------------------- command line

import click  # noqa: E402  (the command sits with the code it runs)


@click.command()
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="DATA")
@click.option("--report", "report_path", metavar="FILE", help="Write every finding as JSON here.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
def validate_command(spec: str, data: str, report_path: str | None, quiet: bool) -> None:
    """Check that every row of DATA (CSV, XLSX or Parquet) obeys SPEC.

    Exit 0 when all rows are valid (warnings allowed), 1 when some are
    invalid, 2 when the spec or the data cannot be read.
    """
    import json
    import sys
    from pathlib import Path

    from kvpspec.cli import EXIT_USAGE, _guard, _load
    from kvpspec.data import DataError, read_table

    @_guard
    def run() -> None:
        compiled, code = _load(spec)
        if compiled is None or code != 0:
            click.echo("kvpspec: error: the spec has errors; fix them before validating data", err=True)
            sys.exit(EXIT_USAGE)
        with _progress(Path(data)) as step:
            try:
                step("reading")
                table = read_table(data)
            except DataError as exc:
                click.echo(f"kvpspec: error: {exc}", err=True)
                sys.exit(EXIT_USAGE)
            report = validate(compiled, table, step)
        if report_path:
            try:
                Path(report_path).write_text(
                    json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
                )
            except OSError as exc:
                click.echo(f"kvpspec: error: cannot write {report_path}: {exc.strerror or exc}", err=True)
                sys.exit(EXIT_USAGE)
        text = report.text()
        click.echo(text.splitlines()[0] if quiet else text)
        sys.exit(0 if report.ok else 1)

    run()


class _progress:
    """A progress bar on a terminal, for files large enough to wait for."""

    STEPS = ("reading", "columns", "cells", "routing", "soft checks")

    def __init__(self, path: Any):
        import sys

        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        self.enabled = sys.stderr.isatty() and size > 5_000_000
        self.bar: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if not self.enabled:
            return lambda step: None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        task = self.bar.add_task("validating", total=len(self.STEPS))

        def step(name: str) -> None:
            self.bar.update(task, description=name, advance=1)

        return step

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()
