"""The validator: does every row of the response data obey the questionnaire?

Whole columns at a time (pyarrow and numpy), never a Python loop per row: the
only loops run over the columns and over the cells that fail. Routing comes
from the core (``flow.asked_conditions``) and is evaluated by the vectorised
evaluator (``vector.py``), which means what ``expr.Evaluator`` means.

Rules (the ``rule`` of each finding):

``missing-column``, ``unknown-column``, ``personal-data`` (a personal sample
field in the response data), ``ragged`` (a row with the wrong number of
cells), ``type`` (not a number where one is needed), ``code`` (not a code of
the question), ``range`` (a number outside the range that is not a missing
code), ``exclusive`` (an exclusive option chosen with others),
``asked-empty`` (the routing asked the question, the cell is empty),
``skipped-answered`` (the routing skipped it, the cell holds a value),
``duplicate-id``, ``duplicate-code`` (a multiple-choice code twice in one
cell); a soft check (``warn``) that fires gives a warning with the rule
``warn:NAME``, a hard check (``error``) an error with the rule
``error:NAME``, each at the column of the question where it fires
(``semantics.checkpoints``) with its message filled in from the row; a
question whose routing reads a sample field gets one ``routing-unchecked``
warning (the data cannot tell whether it was asked).

A cell whose routing depends on a cell that already failed is not judged
again, so one fault gives one finding.

Cells are read by the rules of ``reader.py`` (``parse_numbers``, ``CODES``),
the same rules the exports use. The report keeps counts per rule and the
first ``keep`` findings of each rule (all of them by default); with a
``sink`` every finding is also handed over as it is found (the CLI streams
them to the ``--report`` file), so memory is bounded by the batch, not by
the number of findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kvpspec.compile import Compiled
from kvpspec.data.reader import CODE, DELIMITERS, Batch, DataSource, blank, parse_numbers, trimmed
from kvpspec.data.vector import VectorEvaluator
from kvpspec.diagnostics import number_text
from kvpspec.model import split_fills
from kvpspec.semantics.checkpoints import checkpoints
from kvpspec.semantics.lower import DATA_ROLES, Variable, expr_refs
from kvpspec.semantics.routing import asked_conditions
from kvpspec.syntax.formatter import format_expr

_CODES = rf"^{CODE}( +{CODE})*$"
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
    """What the validator found: counts per rule and the findings kept.

    ``errors`` and ``warnings`` hold every finding unless the validator was
    asked to keep only the first few of each rule (``keep``); the counts are
    always complete.
    """

    file: str
    rows_read: int
    rows_invalid: int
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    errors_by_rule: dict[str, int] = field(default_factory=dict)
    warnings_by_rule: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.errors_by_rule and self.errors:
            self.errors_by_rule = self.by_rule(self.errors)
        if not self.warnings_by_rule and self.warnings:
            self.warnings_by_rule = self.by_rule(self.warnings)

    @property
    def rows_valid(self) -> int:
        return self.rows_read - self.rows_invalid

    @property
    def error_count(self) -> int:
        return sum(self.errors_by_rule.values())

    @property
    def warning_count(self) -> int:
        return sum(self.warnings_by_rule.values())

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @staticmethod
    def by_rule(findings: list[Finding]) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in findings:
            out[f.rule] = out.get(f.rule, 0) + 1
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_invalid": self.rows_invalid,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "errors_by_rule": dict(sorted(self.errors_by_rule.items())),
            "warnings_by_rule": dict(sorted(self.warnings_by_rule.items())),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
        }

    def text(self, limit: int = MAX_SHOWN) -> str:
        """A readable summary: counts, then a few examples per rule."""
        errors, warnings = self.error_count, self.warning_count
        lines = [
            f"{self.file}: {self.rows_read} row{'s' if self.rows_read != 1 else ''} read, {self.rows_valid} valid, "
            f"{self.rows_invalid} invalid; {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}"
        ]
        for severity, findings, counts in (
            ("error", self.errors, self.errors_by_rule),
            ("warning", self.warnings, self.warnings_by_rule),
        ):
            groups: dict[str, list[Finding]] = {}
            for f in findings:
                groups.setdefault(f.rule, []).append(f)
            for rule, count in sorted(counts.items()):
                items = groups.get(rule, [])
                lines.append(f"  {severity} [{rule}]: {count}")
                for f in items[:limit]:
                    lines.append(f"    row {f.row}, {f.column}: {f.message}")
                if count > limit:
                    lines.append(f"    ... and {count - limit} more (all of them with --report FILE)")
        return "\n".join(lines)


Sink = Callable[[Finding], None]


class Collector:
    """Counts findings per rule, keeps the first ``keep`` of each rule (all
    when ``keep`` is None) and hands each to ``sink``."""

    def __init__(self, keep: int | None = None, sink: Sink | None = None):
        self.keep = keep
        self.sink = sink
        self.kept: dict[str, list[Finding]] = {"error": [], "warning": []}
        self.counts: dict[str, dict[str, int]] = {"error": {}, "warning": {}}

    def add(self, f: Finding) -> None:
        counts = self.counts[f.severity]
        seen = counts.get(f.rule, 0)
        counts[f.rule] = seen + 1
        if self.keep is None or seen < self.keep:
            self.kept[f.severity].append(f)
        if self.sink is not None:
            self.sink(f)

    def room(self, severity: str, rule: str) -> int | None:
        """How many more findings of ``rule`` are wanted in full (None: all of them)."""
        if self.keep is None or self.sink is not None:
            return None
        return max(0, self.keep - self.counts[severity].get(rule, 0))

    def tally(self, severity: str, rule: str, n: int) -> None:
        """Count ``n`` findings of ``rule`` that are neither kept nor handed over."""
        if n:
            counts = self.counts[severity]
            counts[rule] = counts.get(rule, 0) + n

    def report(self, file: str, rows_read: int, rows_invalid: int) -> Report:
        return Report(
            file, rows_read, rows_invalid, self.kept["error"], self.kept["warning"],
            dict(sorted(self.counts["error"].items())), dict(sorted(self.counts["warning"].items())),
        )


class ReportWriter:
    """Streams findings into a JSON report file: errors as they come, warnings
    spooled to a temporary file, the summary last. Use as a context manager;
    ``finish`` writes the end."""

    def __init__(self, path: str):
        import tempfile

        self.path = path
        self.out: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.first = {"error": True, "warning": True}
        self.out.write('{\n  "errors": [')

    def __call__(self, f: Finding) -> None:
        target = self.out if f.severity == "error" else self.spool
        target.write(("\n    " if self.first[f.severity] else ",\n    ")
                     + json.dumps(f.as_dict(), ensure_ascii=False))
        self.first[f.severity] = False

    def finish(self, report: Report) -> None:
        self.out.write("\n  ],\n  \"warnings\": [" if not self.first["error"] else "],\n  \"warnings\": [")
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 20):
            self.out.write(chunk)
        self.out.write("\n  ],\n" if not self.first["warning"] else "],\n")
        summary = json.dumps(report.summary(), ensure_ascii=False, indent=2).replace("\n", "\n  ")
        self.out.write(f'  "summary": {summary}\n}}\n')

    def close(self) -> None:
        self.spool.close()
        self.out.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- columns


@dataclass
class _Column:
    """One variable in one batch."""

    var: Variable
    present: np.ndarray  # bool: the cell holds something
    invalid: np.ndarray  # bool: the cell failed a check of its own
    values: np.ndarray  # float64 (NaN = no usable value), object (text) or bool matrix (multiple)


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."


def _numpy_bool(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=bool)


class Validator:
    """Validates a data source batch by batch; routing is row-local, ids are gathered."""

    def __init__(self, compiled: Compiled, source: DataSource, progress: Callable[[Any], None] | None = None,
                 keep: int | None = None, sink: Sink | None = None):
        self.compiled = compiled
        self.low = compiled.lowered
        self.source = source
        self.collector = Collector(keep, sink)
        self.pending: list[Finding] = []  # the findings of the batch at hand, sorted before they go
        self.untold: list[tuple[str, str, int]] = []  # findings of the batch only counted (past ``keep``)
        self.progress = progress or (lambda step: None)
        self.expected = self.low.response_variables()
        self.present_columns = [v for v in self.expected if v.name in source.header]
        self.guards = asked_conditions(self.low)
        self.evaluator = VectorEvaluator(self.low.variables, self.low.recodes, self.low.spec.derives)
        # the variables whose values routing, recodes and soft checks read
        needed: set[str] = set()
        for guard in self.guards.values():
            if guard is not None:
                needed.update(expr_refs(guard))
        for w in self.low.spec.warnings:
            needed.update(expr_refs(w.condition))
        for r in compiled.spec.recodes:
            if not r.source_is_scale:
                needed.add(r.source)
        for d in self.low.spec.derives:
            needed.update(expr_refs(d.expr))
        self.needed = needed
        # routing that reads what the response data do not hold (a sample field)
        # cannot be judged from the data: say so once, and do not guess
        self.unchecked: dict[str, list[str]] = {}
        for name, guard in self.guards.items():
            var = self.low.variables.get(name)
            if guard is None or var is None or var.role not in DATA_ROLES:
                continue
            outside = sorted(
                ref for ref in set(expr_refs(guard))
                if ref in self.low.variables and self.low.variables[ref].role not in DATA_ROLES
            )
            if outside:
                self.unchecked[name] = outside
        self._bad: list[np.ndarray] = []  # per batch: rows with an error
        self._ids: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []  # per batch: the spreadsheet rows (for duplicate ids)

    # ------------------------------------------------------------ findings

    def _cells(self, batch: Batch, mask: np.ndarray, column: str, rule: str,
               message: Callable[[str], str], severity: str = "error") -> None:
        """One finding per true cell of ``mask`` (only failing cells are visited)."""
        index = np.flatnonzero(mask)
        if index.size == 0:
            return
        raw = batch.columns[column]
        values = raw.take(pa.array(index)).to_pylist()
        rows = batch.rows[index].tolist()
        for row, value in zip(rows, values):
            text = "" if value is None else str(value)
            self.pending.append(Finding(row, column, rule, text, message(_shown(text)), severity))
        if severity == "error":
            self._bad[-1][index] = True

    def _column_error(self, column: str, rule: str, message: str) -> None:
        self.pending.append(Finding(1, column, rule, "", message))

    def _flush(self) -> None:
        self.pending.sort(key=lambda f: (f.row, f.column, f.rule))
        for f in self.pending:
            self.collector.add(f)
        self.pending = []
        for severity, rule, n in self.untold:
            self.collector.tally(severity, rule, n)
        self.untold = []

    # ------------------------------------------------------------ run

    def run(self) -> Report:
        self._check_columns({v.name for v in self.expected})
        column_errors = len(self.pending)
        for name, outside in self.unchecked.items():
            self.pending.append(
                Finding(
                    1, name, "routing-unchecked", "",
                    f"the routing of `{name}` reads {', '.join(f'`{o}`' for o in outside)}, which the "
                    f"response data do not hold; whether it was asked is not checked",
                    "warning",
                )
            )
        self._flush()
        self.progress("columns")
        source = self.source
        invalid = 0
        for batch in source.batches():
            self._bad.append(np.zeros(batch.n, dtype=bool))
            self._rows.append(batch.rows)
            columns = {v.name: self._parse(batch, v) for v in self.present_columns}
            arrays = self._arrays(batch, columns)
            self._check_routing(batch, columns, arrays)
            self._check_checks(batch, columns, arrays)
            invalid += self._take_ragged()
            self._flush()
            self.progress(source.rows_kept)
        invalid += self._take_ragged()
        self._flush()
        if self.compiled.spec.respondent is not None:
            self._check_ids(self.compiled.spec.respondent.name)
            self._flush()
        bad = np.concatenate(self._bad) if self._bad else np.zeros(0, dtype=bool)
        invalid += int(bad.sum())
        if column_errors:
            invalid = source.rows_read  # a column problem concerns every row
        return self.collector.report(source.path, source.rows_read, invalid)

    def _take_ragged(self) -> int:
        """The ragged rows the reader met so far, as findings; how many."""
        ragged = self.source.take_ragged()
        for r in ragged:
            self.pending.append(
                Finding(r.row, "", "ragged", r.text, f"the row has {r.found} cells; the header has {r.expected}")
            )
        return len(ragged)

    def _check_columns(self, expected: set[str]) -> None:
        for v in self.expected:
            if v.name not in self.source.header:
                self._column_error(v.name, "missing-column", f"the column `{v.name}` ({_shown(v.label.text)}) is missing")
        for name in self.source.header:
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
                from kvpspec.diagnostics import did_you_mean

                hint = did_you_mean(name, expected)
                other = [d for d in DELIMITERS if d != self.source.delimiter and d in name]
                if other and self.source.kind == "csv":
                    shown = "tab" if other[0] == "\t" else f"`{other[0]}`"
                    flag = "$'\\t'" if other[0] == "\t" else f"'{other[0]}'"
                    hint = (f"; the header looks delimited by {shown}, not `{self.source.delimiter}`: "
                            f"give --delimiter {flag}")
                self._column_error(name, "unknown-column", f"`{name}` is not a variable of the spec{hint}")

    # ------------------------------------------------------------ cells

    def _parse(self, batch: Batch, v: Variable) -> _Column:
        raw = batch.columns[v.name]
        n = batch.n
        name = v.name
        if v.type == "multiple":
            return self._parse_multiple(batch, v, raw)
        if v.type == "text":
            present = ~blank(raw)
            values = np.asarray(raw.to_numpy(zero_copy_only=False), dtype=object) if name in self.needed else np.empty(0)
            if values.size:
                values[~present] = None
            if v.role == "id":
                ids = values if values.size else np.asarray(raw.to_numpy(zero_copy_only=False), dtype=object)
                ids = ids.copy()
                ids[~present] = None
                self._ids.append(ids)
            return _Column(v, present, np.zeros(n, dtype=bool), values)
        parsed = parse_numbers(raw, v.type == "decimal")
        present, invalid, values = parsed.present, parsed.bad.copy(), parsed.values
        if invalid.any():
            what = "a number (digits, a point for decimals)" if v.type == "decimal" else "a whole number"
            self._cells(batch, invalid, name, "type", lambda x: f"`{name}` must be {what}; found `{x}`")
        if v.role == "id":
            self._ids.append(values)
            return _Column(v, present, invalid, values)
        ok_cells = present & ~invalid
        if v.type == "single":
            bad = ok_cells & ~_is_code(values, v.codes)
            codes = ", ".join(str(c) for c in v.codes)
            self._cells(batch, bad, name, "code", lambda x: f"`{name}` has no code {x} (its codes: {codes})")
            invalid |= bad
        elif v.type in ("integer", "decimal"):
            inside = np.ones(n, dtype=bool)
            with np.errstate(invalid="ignore"):
                if v.min is not None:
                    inside &= values >= v.min
                if v.max is not None:
                    inside &= values <= v.max
            if v.missing:
                inside |= _is_code(values, tuple(v.missing_codes))
            bad = ok_cells & ~inside
            span = f"{number_text(v.min)}..{number_text(v.max)}"
            extra = f" or a missing code ({', '.join(str(c) for c in sorted(v.missing_codes))})" if v.missing else ""
            self._cells(batch, bad, name, "range", lambda x: f"`{name}` must be in {span}{extra}; found {x}")
            invalid |= bad
        if name not in self.needed:
            return _Column(v, present, invalid, np.empty(0))  # only routing, recodes and soft checks read values
        if invalid.any():
            values = values.copy()
            values[invalid] = np.nan
        return _Column(v, present, invalid, values)

    def _parse_multiple(self, batch: Batch, v: Variable, raw: pa.Array) -> _Column:
        name = v.name
        text = pc.fill_null(trimmed(raw), "")
        present = _numpy_bool(pc.not_equal(text, ""))
        ok = _numpy_bool(pc.match_substring_regex(text, _CODES))
        bad_type = present & ~ok
        self._cells(batch, bad_type, name, "type", lambda x: f"`{name}` holds codes separated by spaces; found `{x}`")
        known = "|".join(str(c) for c in v.codes)
        allowed = _numpy_bool(pc.match_substring_regex(text, rf"^0*({known})( +0*({known}))*$"))
        bad_code = present & ok & ~allowed
        codes = ", ".join(str(c) for c in v.codes)
        self._cells(batch, bad_code, name, "code", lambda x: f"`{name}` has a code that is not one of {codes}: `{x}`")
        matrix = np.zeros((batch.n, len(v.codes)), dtype=bool)
        for j, code in enumerate(v.codes):
            matrix[:, j] = _numpy_bool(pc.match_substring_regex(text, rf"(^| )0*{code}( |$)"))
        invalid = bad_type | bad_code
        tokens = np.asarray(pc.count_substring_regex(text, "[0-9]+").to_numpy(zero_copy_only=False))
        twice = present & ~invalid & (tokens > matrix.sum(axis=1))
        self._cells(batch, twice, name, "duplicate-code",
                    lambda x: f"`{name}` has a code more than once: `{x}`")
        invalid |= twice
        exclusive = v.exclusive
        if exclusive:
            count = matrix.sum(axis=1)
            for j, code in enumerate(v.codes):
                if code in exclusive:
                    bad = matrix[:, j] & (count > 1) & ~invalid
                    self._cells(batch, bad, name, "exclusive",
                                ("`" + name + f"`: code {code} excludes the others; found `{{}}`").format)
                    invalid |= bad
        matrix[invalid] = False
        return _Column(v, present, invalid, matrix)

    # ------------------------------------------------------------ routing and soft checks

    def _arrays(self, batch: Batch, columns: dict[str, _Column]) -> dict[str, np.ndarray]:
        arrays = {}
        for name in self.needed:
            var = self.low.variables.get(name)
            if var is None or var.role not in DATA_ROLES:
                continue
            col = columns.get(name)
            arrays[name] = col.values if col is not None and col.values.size else _empty(var, batch.n)
        return self.evaluator.complete(arrays, batch.n)

    def _check_routing(self, batch: Batch, columns: dict[str, _Column], arrays: dict[str, Any]) -> None:
        for name, col in columns.items():
            if col.var.role == "id" or name in self.unchecked:
                continue
            guard = self.guards.get(name)
            if guard is None:
                asked = None
                uncertain = col.invalid
            else:
                asked = self.evaluator.truth(guard, arrays, batch.n)
                uncertain = col.invalid.copy()
                for ref in set(expr_refs(guard)):
                    if ref in columns:
                        uncertain |= columns[ref].invalid
            why = format_expr(guard) if guard is not None else None
            if asked is None:
                empty = ~col.present & ~uncertain
                self._cells(batch, empty, name, "asked-empty", f"`{name}` was asked but is empty".format)
                continue
            empty = asked & ~col.present & ~uncertain
            self._cells(batch, empty, name, "asked-empty", f"`{name}` was asked ({why}) but is empty".format)
            extra = ~asked & col.present & ~uncertain
            self._cells(batch, extra, name, "skipped-answered",
                        ("`" + name + "` was not asked (" + str(why) + " is false) but holds `{}`").format)

    def _check_checks(self, batch: Batch, columns: dict[str, _Column], arrays: dict[str, Any]) -> None:
        """Soft and hard checks: whole columns for the truth; the findings (value and the
        message filled in) built only for the rows the report keeps or streams."""
        for cp in checkpoints(self.low):
            w = cp.check
            refs = sorted(set(expr_refs(w.condition)))
            hit = self.evaluator.truth(w.condition, arrays, batch.n)
            for ref in refs:
                if ref in columns:
                    hit &= ~columns[ref].invalid
            index = np.flatnonzero(hit)
            if index.size == 0:
                continue
            severity = "error" if w.hard else "warning"
            rule = f"{w.keyword}:{w.name}"
            if w.hard:
                self._bad[-1][index] = True
            room = self.collector.room(severity, rule)
            if room is not None and room < index.size:
                self.untold.append((severity, rule, int(index.size) - room))
                index = index[:room]
            if index.size == 0:
                continue
            take = pa.array(index)
            shown = [r for r in refs if r in batch.columns]
            value_parts: list[Any] = []
            for r in shown:
                value_parts += [pa.scalar(("; " if value_parts else "") + f"{r}="),
                                pc.fill_null(batch.columns[r].take(take).cast(pa.string()), "None")]
            values = _join(value_parts, index.size)
            messages = _join(self._message_parts(w.label.text, batch, take), index.size)
            column = cp.column or ",".join(shown)
            for row, value, message in zip(batch.rows[index].tolist(), values, messages):
                self.pending.append(Finding(int(row), column, rule, value, message, severity))

    def _message_parts(self, text: str, batch: Batch, take: pa.Array) -> list[Any]:
        """A check's message as literal and per-row parts: a fill is the row's answer
        (a single choice's option label), blank when the cell is."""
        parts: list[Any] = []
        for kind, value in split_fills(text):
            if kind == "text":
                parts.append(pa.scalar(value))
                continue
            if value not in batch.columns:
                parts.append(pa.scalar(""))
                continue
            cells = pc.fill_null(trimmed(batch.columns[value].take(take).cast(pa.string())), "")
            var = self.low.variables.get(value)
            if var is not None and var.type == "single":
                for code, label in var.values:
                    cells = pc.if_else(pc.equal(cells, str(code)), label.text, cells)
            parts.append(cells)
        return parts

    def _check_ids(self, name: str) -> None:
        if not self._ids:
            return
        ids = np.concatenate(self._ids)
        rows = np.concatenate(self._rows)
        if ids.dtype == object:
            present = np.array([x is not None for x in ids], dtype=bool)
            texts = np.where(present, ids, "").astype(str)
            keys, inverse, counts = np.unique(texts, return_inverse=True, return_counts=True)
            dup = (counts[inverse] > 1) & present
        else:
            known = ~np.isnan(ids)
            low, high = (ids[known].min(), ids[known].max()) if known.any() else (0, 0)
            if known.any() and high - low < 50_000_000 and np.all(ids[known] == np.floor(ids[known])):
                # whole-number ids in a modest span: count them directly, O(n)
                slots = np.where(known, ids - low, 0).astype(np.int64)
                counts = np.bincount(slots[known], minlength=int(high - low) + 1)
                keys, inverse = None, slots
                dup = known & (counts[slots] > 1)
            else:
                keys, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
                dup = (counts[inverse] > 1) & known
        if not dup.any():
            return
        first: dict[Any, int] = {}
        bad = np.concatenate(self._bad)
        for i in np.flatnonzero(dup).tolist():
            key = keys[inverse[i]] if keys is not None else ids[i]
            if key not in first:
                first[key] = i
                continue
            value = number_text(float(key)) if ids.dtype != object else str(key)
            self.pending.append(
                Finding(int(rows[i]), name, "duplicate-id", value,
                        f"the id `{value}` is also used on row {int(rows[first[key]])}")
            )
            bad[i] = True
        self._bad = [bad]


def _is_code(values: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(values.shape, dtype=bool)
    for c in codes:
        out |= values == c
    return out


def _join(parts: list[Any], n: int) -> list[str]:
    """Parts (scalars and arrays of ``n`` strings) joined row by row."""
    if not any(isinstance(p, (pa.Array, pa.ChunkedArray)) for p in parts):
        return ["".join(p.as_py() for p in parts)] * n
    return pc.binary_join_element_wise(*parts, "").to_pylist()


def _empty(v: Variable, n: int) -> np.ndarray:
    if v.type == "multiple":
        return np.zeros((n, len(v.codes)), dtype=bool)
    if v.value_kind == "text":
        return np.full(n, None, dtype=object)
    return np.full(n, np.nan)


def validate(compiled: Compiled, source: DataSource, progress: Callable[[Any], None] | None = None,
             *, keep: int | None = None, sink: Sink | None = None) -> Report:
    """Check every row of ``source`` against the spec; see the module docstring for the rules.

    ``keep``: how many findings of each rule the report holds (all when None);
    ``sink``: called with every finding as it is found."""
    return Validator(compiled, source, progress, keep, sink).run()


# ---------------------------------------------------------------- the sample file


class SampleValidator(Validator):
    """Checks the sample file (one row per case drawn, with its disposition)
    against the spec's ``fieldwork { sample {...} }``.

    Rules: ``missing-column`` (the ``disposition`` column, which the rates
    need, is an error; another sample field a warning), ``unknown-column`` (a
    warning: a sample file may carry the agency's own columns), ``type`` and
    ``code`` for coded fields, ``asked-empty`` for a blank disposition, and
    ``personal-data`` (a warning: the analysis needs no personal field;
    leave them out of what you share).
    """

    def run(self) -> Report:
        spec = self.compiled.spec
        fields = [v for v in self.low.variables.values() if v.role == "sample"]
        computed = {f.name for f in (spec.fieldwork.sample if spec.fieldwork else ()) if f.formula is not None}
        header = set(self.source.header)
        column_errors = 0
        for v in fields:
            if v.name in header:
                if v.personal:
                    self.pending.append(Finding(
                        1, v.name, "personal-data", "",
                        f"`{v.name}` is personal data; the analysis does not need it: leave it out of "
                        f"the files you share", "warning"))
                continue
            if v.name in computed or v.personal:
                continue
            severity = "error" if v.name == "disposition" else "warning"
            why = " (the response rates need it)" if v.name == "disposition" else ""
            self.pending.append(Finding(
                1, v.name, "missing-column", "", f"the sample field `{v.name}` has no column{why}", severity))
            column_errors += severity == "error"
        known = {v.name for v in fields}
        for name in self.source.header:
            if name not in known:
                self.pending.append(Finding(
                    1, name, "unknown-column", "", f"`{name}` is not a sample field of the spec", "warning"))
        self._flush()
        coded = [v for v in fields if v.name in header and v.type == "single" and v.values]
        for batch in self.source.batches():
            self._bad.append(np.zeros(batch.n, dtype=bool))
            for v in coded:
                raw = batch.columns[v.name]
                parsed = parse_numbers(raw, False)
                name = v.name
                self._cells(batch, parsed.bad, name, "type", ("`" + name + "` must be a code; found `{}`").format)
                bad = parsed.present & ~parsed.bad & ~_is_code(parsed.values, v.codes)
                codes = ", ".join(str(c) for c in v.codes)
                self._cells(batch, bad, name, "code", ("`" + name + "` has no code {} (its codes: " + codes + ")").format)
                if name == "disposition":
                    self._cells(batch, ~parsed.present, name, "asked-empty",
                                "the disposition is empty; every case drawn has one".format)
            invalid_ragged = self._take_ragged()
            del invalid_ragged
            self._flush()
            self.progress(self.source.rows_kept)
        self._take_ragged()
        self._flush()
        bad_rows = np.concatenate(self._bad) if self._bad else np.zeros(0, dtype=bool)
        invalid = int(bad_rows.sum()) + self.source.ragged_count
        if column_errors:
            invalid = self.source.rows_read
        return self.collector.report(self.source.path, self.source.rows_read, invalid)


def validate_sample(compiled: Compiled, source: DataSource, progress: Callable[[Any], None] | None = None,
                    *, keep: int | None = None, sink: Sink | None = None) -> Report:
    """Check the sample file against the spec's sample fields and dispositions (``SampleValidator``)."""
    return SampleValidator(compiled, source, progress, keep, sink).run()
