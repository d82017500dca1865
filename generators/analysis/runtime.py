"""The machinery of every generated ``analysis.py``: reading the data, the
tables, the statistics, the figures and the report.

It is the same for every survey and never names a survey's variables: the
generated part of ``analysis.py`` hands its facts over as a ``Survey`` (its
columns, labels, missing codes, rates, analyses, ...). The analysis generator
copies this module's source, from the line after this docstring, into every
``analysis.py`` ahead of the survey's own part, so that file runs with pandas,
numpy, scipy and matplotlib alone; here it is an ordinary typed module, linted
and type-checked with the rest of kvpspec.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import sys
import textwrap
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

matplotlib.use("Agg")  # draw into files, never into a window

# ---------------------------------------------------------------- the machinery
#
# Everything below is the same for every survey: it reads the facts that the
# survey's part hands over as a ``Survey`` and never a survey's own names.

#: A table of results: plain JSON values (see docs/analysis.md for each kind).
Table = dict[str, Any]

#: What an analysis returns: its tables, and its figure (or None).
Result = tuple[list[Table], Figure | None]

#: A named analysis: the response data and the sample file (or None) to its result.
Analysis = Callable[["Survey", pd.DataFrame, pd.DataFrame | None], Result]

#: A step that adds columns to a frame (the recodes, the derived variables).
Step = Callable[[pd.DataFrame], pd.DataFrame]


class Survey(NamedTuple):
    """What the machinery knows of one survey: the facts and the code that the
    survey's generated part defines (its constants of the same names, in capitals).
    A named tuple, not a dataclass: it works in a module loaded without sys.modules."""

    name: str
    title: str
    spec_version: str
    language: str
    #: the words of the tables and figures
    words: dict[str, str]
    #: the columns of the response data and of the sample file, and how each is read
    columns: dict[str, str]
    sample_columns: dict[str, str]
    #: what each variable holds (the columns, recodes and derived variables)
    kinds: dict[str, str]
    labels: dict[str, str]
    #: the codes of each variable and their labels, in the spec's order
    value_labels: dict[str, dict[Any, str]]
    #: code -> kind ("dont_know", ...) of each variable's missing codes
    missing_codes: dict[str, dict[Any, str]]
    aapor_categories: tuple[str, ...]
    #: the AAPOR category of each final disposition
    dispositions: dict[int, str]
    #: name -> {"label", "formula"} of each response rate
    rates: dict[str, dict[str, str]]
    titles: dict[str, str]
    captions: dict[str, str]
    #: grid -> (label, items): the Likert batteries, drawn as diverging bars
    grids: dict[str, tuple[str, list[str]]]
    analyses: dict[str, Analysis]
    add_recodes: Step
    add_sample_recodes: Step
    add_derived: Step
    add_sample_derived: Step


class AnalysisError(Exception):
    """A problem with an input file; ``main`` prints it as one line."""


def warn(message: str) -> None:
    print(f"analysis.py: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------- reading the data


#: The meaning of a cell, the same as kvpspec's reader (``kvpspec.data.reader``;
#: docs/validation.md, "Numbers"): around a cell, spaces and tabs are ignored; a
#: whole number has an optional sign and at most 15 digits; a number has a point
#: as its decimal mark, an optional exponent, and must be finite; the codes of a
#: multiple-choice answer are whole numbers without sign separated by spaces.
#: A test asserts that these are the reader's own.
BLANKS = " \t"
INTEGER = r"[+-]?0*[0-9]{1,15}"
DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
CODE = r"0*[0-9]{1,15}"
CODES = rf"{CODE}( +{CODE})*"
DELIMITERS = (",", ";", "\t")


def cell_text(value: Any) -> str:
    """A cell of an XLSX or Parquet file as the text a CSV export of it holds (as
    kvpspec's reader): a boolean is ``TRUE``/``FALSE`` (no code), a whole float
    has no ``.0``, a date is ISO; no value is the empty text."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file's cells as text, read as kvpspec's reader reads it: UTF-8 (a BOM
    is fine), any line ending (LF, CRLF, CR, mixed), the delimiter ``,``, ``;`` or
    tab that the header uses most; blank lines are skipped. A row with the wrong
    number of cells is left out, with a warning naming its row (the header is row 1)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        first = f.readline()
        counts = {d: first.count(d) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: counts[d])
        f.seek(0)
        records = csv.reader(f, delimiter=delimiter if counts[delimiter] else ",")
        header = next(records, None)
        if header is None:
            raise AnalysisError(f"{path}: the file is empty (no header)")
        rows: list[list[str]] = []
        ragged: list[int] = []
        for row, record in enumerate(records, start=2):
            if len(record) == len(header):
                rows.append(record)
            elif record:
                ragged.append(row)
    if ragged:
        shown = ", ".join(str(r) for r in ragged[:10]) + (", ..." if len(ragged) > 10 else "")
        warn(
            f"{path.name}: {len(ragged)} row(s) with the wrong number of cells are left out "
            f"(row {shown})"
        )
    return pd.DataFrame(rows, columns=header, dtype="string")


def read_table(path: Path) -> pd.DataFrame:
    """Every cell of a data file (.csv, .xlsx or .parquet) as text; an empty cell is <NA>."""
    if not path.is_file():
        raise AnalysisError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".parquet", ".pq"):
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_excel(path, dtype=object)
        cells = {str(name): [cell_text(x) for x in frame[name].tolist()] for name in frame.columns}
        frame = pd.DataFrame(cells, dtype="string")
    else:
        frame = read_csv(path)
    return frame.mask(frame == "")


def load(survey: Survey, path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """The columns the spec declares, each with its type.

    Codes and whole numbers become nullable integers (``Int64``), decimals
    ``Float64``, texts and multiple-choice answers (codes separated by spaces)
    strings. An empty cell, a question that was not asked, is <NA>. A missing
    code such as 99 is kept as it is: the survey's missing codes say it is not a number.
    """
    raw = read_table(path)
    absent = [name for name in columns if name not in raw.columns]
    if absent:
        raise AnalysisError(f"{path}: the column(s) {', '.join(absent)} are missing")
    data = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for name, kind in columns.items():
        codes = survey.value_labels.get(name, {})
        data[name] = typed(raw[name].reset_index(drop=True), name, kind, path.name, codes)
    return data


def numbers_of(text: pd.Series, decimal: bool) -> np.ndarray:
    """Cells (trimmed, <NA> for empty) as numbers by the rules above; NaN where one breaks them."""
    pattern = DECIMAL if decimal else INTEGER
    good = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(text), np.nan)
    if good.any():
        values[good] = text.to_numpy(dtype=object)[good].astype("float64")
    values[~np.isfinite(values)] = np.nan  # 1e400 is no number
    return values


def code_list(text: pd.Series, codes: Collection[Any]) -> pd.Series:
    """Multiple-choice cells as their codes (``"1 4"``); <NA> where a cell is not codes
    separated by spaces, names a code the question lacks, or names a code twice."""
    known = {int(c) for c in codes}

    def cell(x: Any) -> Any:
        if x is pd.NA:
            return pd.NA
        chosen = [int(c) for c in str(x).split()]
        if not set(chosen) <= known or len(set(chosen)) < len(chosen):
            return pd.NA
        return " ".join(str(c) for c in chosen)

    ok = text.str.fullmatch(CODES).fillna(False)
    return pd.Series([cell(x) for x in text.where(ok).tolist()], index=text.index, dtype="string")


def typed(
    column: pd.Series, name: str, kind: str, file: str, codes: Collection[Any] = ()
) -> pd.Series:
    """One column of text as the type ``kind``; cells that do not fit are left out (a warning).
    A ``single`` column keeps only the question's ``codes``, a ``multiple`` one only its codes
    (each once)."""
    text = column.astype("string").str.strip(BLANKS)
    text = text.mask(text == "")
    if kind == "text":
        return text
    if kind == "multiple":
        result = code_list(text, codes)
    elif kind == "decimal":
        result = pd.Series(numbers_of(text, decimal=True), dtype="Float64")
    else:
        numbers = numbers_of(text, decimal=False)
        if kind == "single":
            numbers = np.where(np.isin(numbers, list(codes)), numbers, np.nan)
        result = pd.Series(numbers).astype("Int64")
    dropped = int((text.notna().to_numpy() & result.isna().to_numpy()).sum())
    if dropped:
        what = {"single": "codes of the question", "multiple": "codes of the question, each once"}
        not_what = what.get(kind, "numbers")
        warn(f"{file}: {name}: {dropped} cell(s) are not {not_what}; they are left out")
    return result


def as_float(column: pd.Series) -> np.ndarray:
    """A numeric column as floats, <NA> as NaN (a comparison with NaN is false)."""
    return column.to_numpy(dtype="float64", na_value=np.nan)


def select(
    x: np.ndarray, conditions: list[np.ndarray], codes: list[int], otherwise: float = np.nan
) -> pd.Series:
    """The code of the first condition that holds, else ``otherwise``; no value stays no value."""
    out = (
        np.select(conditions, codes, default=otherwise)
        if conditions
        else np.full(x.shape, otherwise)
    )
    out = np.where(np.isnan(x), np.nan, out)
    return pd.Series(out).astype("Int64")


def labelled(survey: Survey, codes: pd.Series, name: str) -> pd.Series:
    """A coded column as an ordered Categorical of its labels, in the spec's code order.

    Missing codes stay categories: they are answers ("Ikke sikker"), counted in
    frequency tables and left out of every statistic.
    """
    labels = survey.value_labels[name]
    x = as_float(codes)
    positions = np.full(x.shape, -1)
    for i, code in enumerate(labels):
        positions[x == code] = i
    categories = pd.Categorical.from_codes(
        positions, categories=list(labels.values()), ordered=True
    )
    return pd.Series(categories, index=codes.index, name=name)


def substantive(survey: Survey, codes: pd.Series, name: str) -> pd.Series:
    """True where the column holds a value that is not a missing code."""
    return codes.notna() & ~codes.isin(list(survey.missing_codes.get(name, {})))


# ---------------------------------------------------------------- derived variables
#
# A derived variable (``derive``) is computed over whole columns with the
# meaning of the spec's expressions (docs/language.md, section 13). Codes and
# numbers are floats with NaN for no value, texts are Python strings with None,
# conditions are booleans, a multiple-choice answer is its column of codes.
#
# - A comparison or ``in`` on no value is false: numpy's comparisons with NaN
#   already are, ``unequal`` and the text helpers check it.
# - ``==``, ``!=`` and single values in ``in`` compare codes, missing codes
#   included; ordering, ranges and arithmetic use substantive values only:
#   ``without`` turns the missing codes into no value first.
# - Arithmetic on no value gives no value (NaN), and so does ``quotient`` by 0.


def truths(column: pd.Series) -> np.ndarray:
    """A column of conditions (a derived variable) as truth values: 1.0, 0.0, NaN for UNKNOWN."""
    return column.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


# Three-valued logic (docs/language.md): a condition is a truth value, 1.0 true,
# 0.0 false, NaN UNKNOWN; a guard holds only where it is 1.0.


def truth(hit: Any, known: Any = True) -> np.ndarray:
    """Truth values: ``hit`` where ``known``, UNKNOWN elsewhere."""
    hit, known = np.broadcast_arrays(np.asarray(hit, dtype=bool), np.asarray(known, dtype=bool))
    return np.where(known, hit.astype("float64"), np.nan)


def known(*values: Any) -> np.ndarray:
    """Rows where every value (numbers, NaN for none) has one."""
    out = np.asarray(True)
    for v in values:
        out = out & ~np.isnan(np.asarray(v, dtype="float64"))
    return out


def both_and(*parts: Any) -> np.ndarray:
    """Kleene ``and``: false if any is false, else UNKNOWN if any is UNKNOWN, else true."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(p, dtype="float64") for p in parts]))
    return np.where((x == 0).any(axis=0), 0.0, np.where(np.isnan(x).any(axis=0), np.nan, 1.0))


def either_or(*parts: Any) -> np.ndarray:
    """Kleene ``or``: true if any is true, else UNKNOWN if any is UNKNOWN, else false."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(p, dtype="float64") for p in parts]))
    return np.where((x == 1).any(axis=0), 1.0, np.where(np.isnan(x).any(axis=0), np.nan, 0.0))


def tally(*parts: Any) -> np.ndarray:
    """``count(...)``: how many of the conditions are true (never missing)."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(p, dtype="float64") for p in parts]))
    return (x == 1).sum(axis=0).astype("float64")


def total(*values: Any) -> np.ndarray:
    """``sum(...)`` of the values that have one (0 when none has)."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(v, dtype="float64") for v in values]))
    return np.nansum(x, axis=0)


def least(*values: Any) -> np.ndarray:
    """``min(...)`` of the values that have one (no value when none has)."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(v, dtype="float64") for v in values]))
    none = np.isnan(x).all(axis=0)
    return np.where(none, np.nan, np.where(np.isnan(x), np.inf, x).min(axis=0))


def most(*values: Any) -> np.ndarray:
    """``max(...)`` of the values that have one (no value when none has)."""
    x = np.vstack(np.broadcast_arrays(*[np.asarray(v, dtype="float64") for v in values]))
    none = np.isnan(x).all(axis=0)
    return np.where(none, np.nan, np.where(np.isnan(x), -np.inf, x).max(axis=0))


def choose(condition: Any, then: Any, otherwise: Any) -> np.ndarray:
    """``if C then A else B``: A where C is true, B where false, no value where UNKNOWN."""
    c = np.asarray(condition, dtype="float64")
    texts = any(np.asarray(v).dtype == object for v in (then, otherwise))
    if texts:
        a, b, c = np.broadcast_arrays(
            np.asarray(then, dtype=object), np.asarray(otherwise, dtype=object), c
        )
        nothing = np.full(c.shape, None, dtype=object)
        return np.where(c == 1, a, np.where(c == 0, b, nothing))
    return np.where(c == 1, np.asarray(then, dtype="float64"),
                    np.where(c == 0, np.asarray(otherwise, dtype="float64"), np.nan))


def texts(column: pd.Series) -> np.ndarray:
    """A text column as Python strings, None for no value (an empty text is no answer)."""
    return np.array(
        [None if pd.isna(x) or x == "" else str(x) for x in column.tolist()], dtype=object
    )


def without(x: Any, missing: list[int]) -> np.ndarray:
    """The substantive values: missing codes become no value (NaN)."""
    x = np.asarray(x, dtype="float64")
    return np.where(np.isin(x, missing), np.nan, x)


def unequal(a: Any, b: Any) -> np.ndarray:
    """``a != b``: both have a value and they differ."""
    return ~np.isnan(a) & ~np.isnan(b) & (a != b)


def quotient(a: Any, b: Any) -> np.ndarray:
    """``a / b``, no value where ``b`` is 0."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b))


def pairs(a: Any, b: Any) -> list[tuple[Any, Any]]:
    """Two texts (columns, or one text for every row) side by side."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    return list(zip(a.ravel().tolist(), b.ravel().tolist(), strict=True))


def same_text(a: Any, b: Any) -> np.ndarray:
    """``a == b`` for texts: both have a value and they are equal."""
    return np.array(
        [x is not None and y is not None and x == y for x, y in pairs(a, b)], dtype=bool
    )


def other_text(a: Any, b: Any) -> np.ndarray:
    """``a != b`` for texts: both have a value and they differ."""
    return np.array(
        [x is not None and y is not None and x != y for x, y in pairs(a, b)], dtype=bool
    )


def join(a: Any, b: Any) -> np.ndarray:
    """``a + b`` for texts: the two joined, no value when either has none."""
    return np.array(
        [x + y if x is not None and y is not None else None for x, y in pairs(a, b)], dtype=object
    )


def has_text(a: Any) -> np.ndarray:
    """Rows whose text has a value (``q4 is answered``)."""
    return np.array([x is not None for x in np.atleast_1d(np.asarray(a, dtype=object))], dtype=bool)


def among(a: Any, options: list[str]) -> np.ndarray:
    """``a in ["x", "y"]`` for texts."""
    return np.array(
        [x is not None and x in options for x in np.atleast_1d(np.asarray(a, dtype=object))],
        dtype=bool,
    )


def choices(column: pd.Series) -> list[set[int]]:
    """A multiple-choice column (codes separated by spaces) as the codes chosen in each row."""
    return [
        set()
        if pd.isna(cell)
        else {int(c) for c in str(cell).split() if c.lstrip("-").isdigit()}
        for cell in column.tolist()
    ]


def chose(column: pd.Series, missing: list[int] | None = None) -> np.ndarray:
    """Rows where a code other than ``missing`` was chosen (without ``missing``: rows answered)."""
    left_out = set(missing or ())
    return np.array([bool(row - left_out) for row in choices(column)], dtype=bool)


def chosen(column: pd.Series, codes: list[int]) -> np.ndarray:
    """Rows of a multiple-choice column where one of ``codes`` was chosen."""
    wanted = set(codes)
    return np.array([bool(row & wanted) for row in choices(column)], dtype=bool)


def holds(column: pd.Series, value: Any) -> np.ndarray:
    """``q2 == x`` for a multiple-choice ``q2``: the value ``x`` (one per row) was chosen."""
    values = np.broadcast_to(np.asarray(value, dtype="float64"), (len(column),))
    return np.array(
        [not np.isnan(x) and x in row for row, x in zip(choices(column), values, strict=True)],
        dtype=bool,
    )


def lacks(column: pd.Series, value: Any) -> np.ndarray:
    """``q2 != x`` for a multiple-choice ``q2``: answered, ``x`` has a value, not chosen."""
    values = np.broadcast_to(np.asarray(value, dtype="float64"), (len(column),))
    return chose(column) & ~np.isnan(values) & ~holds(column, value)


def numbers(values: Any, frame: pd.DataFrame) -> pd.Series:
    """A derived number as a column: whole numbers as Int64, others Float64, <NA> for no value."""
    x = np.broadcast_to(np.asarray(values, dtype="float64"), (len(frame),))
    present = x[~np.isnan(x)]
    whole = bool(np.all(np.floor(present) == present))
    column = pd.Series(x, index=frame.index, dtype="Float64")
    return column.astype("Int64") if whole else column


def codes(values: Any, frame: pd.DataFrame) -> pd.Series:
    """A derived variable that holds codes (``derive x = enig2(q10a)``), as Int64."""
    x = np.broadcast_to(np.asarray(values, dtype="float64"), (len(frame),))
    return pd.Series(x, index=frame.index, dtype="Float64").astype("Int64")


def conditions(values: Any, frame: pd.DataFrame) -> pd.Series:
    """A derived condition as a column of booleans, <NA> where it is UNKNOWN."""
    x = np.broadcast_to(np.asarray(values, dtype="float64"), (len(frame),))
    return pd.Series(x, index=frame.index, dtype="Float64").astype("boolean")


def strings(values: Any, frame: pd.DataFrame) -> pd.Series:
    """A derived text as a string column, <NA> for no value."""
    x = np.broadcast_to(np.asarray(values, dtype=object), (len(frame),))
    return pd.Series(list(x), index=frame.index, dtype="string")


def copied(values: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """A derived copy of a multiple-choice answer."""
    return values.copy()


# ---------------------------------------------------------------- statistics


def num(x: Any) -> float | None:
    """A number for tables.json: rounded to 6 decimals, None for no value."""
    if x is None:
        return None
    x = float(x)
    return None if np.isnan(x) or np.isinf(x) else round(x, 6)


def percent(part: float, whole: float) -> float | None:
    return num(100 * part / whole) if whole else None


def frequencies(survey: Survey, frame: pd.DataFrame, name: str) -> Table:
    """Counts and percents per category.

    ``percent`` is of every answer, missing codes included (the report's
    "Ikke sikker/ubesvart 3 %"); ``valid_percent`` is of the substantive
    answers only, so a missing code has none. A row without a value (the
    question was not asked) is counted in ``not_asked`` and in no percent.
    """
    kind = survey.kinds[name]
    if kind == "multiple":
        return multiple_frequencies(survey, frame, name)
    codes = frame[name]
    missing = survey.missing_codes.get(name, {})
    if kind in ("integer", "decimal"):
        seen = sorted(set(codes.dropna().tolist()) - set(missing))
        labels = {value: str(value) for value in seen}
        labels.update(survey.value_labels.get(name, {}))
        counts = [int((codes == value).sum()) for value in labels]
    else:
        labels = survey.value_labels[name]
        counts = labelled(survey, codes, name).value_counts(sort=False).tolist()
    answered = int(codes.notna().sum())
    valid = int(substantive(survey, codes, name).sum())
    categories = [
        {
            "code": code,
            "label": label,
            "missing": missing.get(code),
            "count": int(count),
            "percent": percent(count, answered),
            "valid_percent": None if code in missing else percent(count, valid),
        }
        for (code, label), count in zip(labels.items(), counts, strict=True)
    ]
    return {
        "kind": "frequencies",
        "variable": name,
        "label": survey.labels[name],
        "n": answered,
        "valid_n": valid,
        "not_asked": int(codes.isna().sum()),
        "categories": categories,
    }


def multiple_frequencies(survey: Survey, frame: pd.DataFrame, name: str) -> Table:
    """A multiple-choice question: for each code, how many chose it (of those who answered)."""
    chosen = frame[name].str.split()
    answered = int(chosen.notna().sum())
    missing = survey.missing_codes.get(name, {})
    valid = int(chosen.dropna().map(lambda codes: any(int(c) not in missing for c in codes)).sum())
    categories = []
    for code, label in survey.value_labels[name].items():
        count = int(chosen.dropna().map(lambda codes, code=code: str(code) in codes).sum())
        categories.append(
            {
                "code": code,
                "label": label,
                "missing": missing.get(code),
                "count": count,
                "percent": percent(count, answered),
                "valid_percent": None if code in missing else percent(count, valid),
            }
        )
    return {
        "kind": "frequencies",
        "variable": name,
        "label": survey.labels[name],
        "multiple": True,
        "n": answered,
        "valid_n": valid,
        "not_asked": int(chosen.isna().sum()),
        "categories": categories,
    }


def crosstab(
    survey: Survey, frame: pd.DataFrame, row: str, column: str, test: bool = False
) -> Table:
    """Counts and row percents of two coded variables, on the rows where both
    hold a substantive answer.

    With ``test``: Pearson's chi-square without continuity correction (SPSS's
    "Pearson Chi-Square"), its degrees of freedom and p-value, the smallest
    expected count, a warning when more than 20 % of the cells expect fewer
    than 5, and Cramér's V. Categories that no one chose are left out of the
    test, as SPSS does.
    """
    valid = substantive(survey, frame[row], row) & substantive(survey, frame[column], column)
    row_missing = survey.missing_codes.get(row, {})
    column_missing = survey.missing_codes.get(column, {})
    row_codes = [c for c in survey.value_labels[row] if c not in row_missing]
    column_codes = [c for c in survey.value_labels[column] if c not in column_missing]
    counts = pd.crosstab(frame[row][valid], frame[column][valid])
    counts = counts.reindex(index=row_codes, columns=column_codes, fill_value=0)
    observed = counts.to_numpy(dtype="int64")
    row_totals = observed.sum(axis=1)
    column_totals = observed.sum(axis=0)
    total = int(observed.sum())
    table: Table = {
        "kind": "crosstab",
        "row": {"variable": row, "label": survey.labels[row]},
        "column": {"variable": column, "label": survey.labels[column]},
        "row_categories": [{"code": c, "label": survey.value_labels[row][c]} for c in row_codes],
        "column_categories": [
            {"code": c, "label": survey.value_labels[column][c]} for c in column_codes
        ],
        "counts": observed.tolist(),
        "row_totals": row_totals.tolist(),
        "column_totals": column_totals.tolist(),
        "total": total,
        "row_percents": [
            [percent(x, t) for x in r] for r, t in zip(observed.tolist(), row_totals, strict=True)
        ],
        "total_percents": [percent(x, total) for x in column_totals.tolist()],
        "left_out": int(len(frame) - total),
    }
    if test:
        table.update(chi_square(observed))
    return table


def chi_square(observed: np.ndarray) -> Table:
    """Pearson's chi-square test of independence, on the rows and columns that are not empty."""
    kept = observed[observed.sum(axis=1) > 0][:, observed.sum(axis=0) > 0]
    result: Table = {
        "test": "Pearson chi-square",
        "chi2": None,
        "dof": None,
        "p_value": None,
        "min_expected": None,
        "expected_below_5": None,
        "cramers_v": None,
        "warning": None,
    }
    if kept.shape[0] < 2 or kept.shape[1] < 2:
        result["warning"] = "too few non-empty rows or columns for a chi-square test"
        return result
    test = stats.chi2_contingency(kept, correction=False)
    expected = test.expected_freq
    below = int((expected < 5).sum())
    n = kept.sum()
    result.update(
        chi2=num(test.statistic),
        dof=int(test.dof),
        p_value=num(test.pvalue),
        min_expected=num(expected.min()),
        expected_below_5=below,
        cramers_v=num(np.sqrt(test.statistic / (n * (min(kept.shape) - 1)))),
    )
    if below > 0.2 * expected.size:
        result["warning"] = (
            f"{below} of {expected.size} cells ({100 * below / expected.size:.0f} %) expect fewer "
            f"than 5 (the smallest {expected.min():.1f}); the chi-square test may be unreliable"
        )
    return result


def summary(survey: Survey, frame: pd.DataFrame, name: str) -> Table:
    """n, mean, median, standard deviation (n - 1), minimum and maximum of the
    substantive values: missing codes (99 = "ikke sikker") are counted apart,
    never averaged in."""
    values = frame[name]
    missing = survey.missing_codes.get(name, {})
    x = as_float(values[substantive(survey, values, name)])
    n = int(x.size)
    return {
        "kind": "summary",
        "variable": name,
        "label": survey.labels[name],
        "n": n,
        "mean": num(x.mean()) if n else None,
        "median": num(np.median(x)) if n else None,
        "sd": num(x.std(ddof=1)) if n > 1 else None,
        "min": num(x.min()) if n else None,
        "max": num(x.max()) if n else None,
        "missing": [
            {
                "code": code,
                "label": survey.value_labels.get(name, {}).get(code),
                "missing": kind,
                "count": int((values == code).sum()),
            }
            for code, kind in missing.items()
        ],
        "not_asked": int(values.isna().sum()),
    }


def not_computed(name: str, why: str) -> Table:
    return {"kind": "skipped", "variable": name, "reason": why}


def needs_sample(analysis: str) -> tuple[list[Table], None]:
    why = "needs the sample file with the dispositions: --sample SAMPLE.csv"
    return [{"kind": "skipped", "analysis": analysis, "reason": why}], None


# ---------------------------------------------------------------- response rates


def count(disposition: pd.Series, *codes: int) -> int:
    """The number of cases whose disposition is one of ``codes``; ``count()`` is every case."""
    if not codes:
        return len(disposition)
    return int(disposition.isin(codes).sum())


def divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else np.nan


def rate(
    survey: Survey, name: str, numerator: float, denominator: float | None, **details: Any
) -> Table:
    value = divide(numerator, denominator) if denominator is not None else numerator
    return {
        "kind": "rate",
        "name": name,
        "label": survey.rates[name]["label"],
        "formula": survey.rates[name]["formula"],
        "numerator": numerator if isinstance(numerator, int) else num(numerator),
        "denominator": num(denominator),
        "rate": num(value),
        "percent": num(100 * value),
        **details,
    }


def aapor_counts(survey: Survey, disposition: pd.Series) -> dict[str, int]:
    """The number of cases in each AAPOR category, from the dispositions' categories."""
    counts = dict.fromkeys(survey.aapor_categories, 0)
    for code, category in survey.dispositions.items():
        counts[category] += count(disposition, code)
    return counts


def aapor_rate(
    survey: Survey,
    name: str,
    disposition: pd.Series,
    definition: str,
    eligibility: float | None = None,
) -> Table:
    """An AAPOR response rate (Standard Definitions), stating the eligibility estimate e.

    RR1/RR2 count every case of unknown eligibility as eligible (e = 1), RR5/RR6
    none (e = 0); RR3/RR4 use the given e, or estimate it by the proportional
    method: the eligible share of the cases whose eligibility is known.
    """
    c = aapor_counts(survey, disposition)
    interviews = c["I"] + (c["P"] if definition in ("RR2", "RR4", "RR6") else 0)
    eligible = c["I"] + c["P"] + c["R"] + c["NC"] + c["O"]
    unknown = c["UH"] + c["UO"]
    if definition in ("RR1", "RR2"):
        e, method = 1.0, "all cases of unknown eligibility counted as eligible"
    elif definition in ("RR5", "RR6"):
        e, method = 0.0, "no case of unknown eligibility counted as eligible"
    elif eligibility is not None:
        e, method = eligibility, "given in the spec"
    else:
        known = eligible + c["NE"]
        e = eligible / known if known else np.nan
        method = "proportional: (I+P+R+NC+O) / (I+P+R+NC+O+NE)"
    denominator = eligible + e * unknown if unknown else eligible
    return rate(
        survey,
        name,
        interviews,
        denominator,
        definition=definition,
        eligibility=num(e),
        eligibility_method=method,
        categories=c,
    )


# ---------------------------------------------------------------- figures

BLUE, GREY = "#2f6690", "#9e9e9e"
AGREE = ["#08306b", "#2171b5", "#6baed6", "#c6dbef"]
DISAGREE = ["#7f2704", "#d94801", "#fd8d3c", "#fdd0a2"]
MIDDLE = "#d9d9d9"


def style() -> None:
    """Fixed fonts and metadata, so the same data give the same image files."""
    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "svg.fonttype": "none",
            "svg.hashsalt": "kvpspec",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def wrap(text: str, width: int = 45) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def titled(fig: Figure, caption: str) -> Figure:
    fig.suptitle(wrap(caption, 90), x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


def percent_bars(survey: Survey, table: Table, caption: str) -> Figure:
    """Horizontal bars: the percent of answers in each category, missing codes in grey."""
    categories = table["categories"]
    values = [c["percent"] or 0 for c in categories]
    colours = [GREY if c["missing"] else BLUE for c in categories]
    y = np.arange(len(categories))
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.4 * len(categories)), layout="constrained")
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, [wrap(c["label"]) for c in categories])
    ax.invert_yaxis()
    for yi, value in enumerate(values):
        ax.text(value + 0.5, yi, f"{value:.0f} %", va="center")
    ax.set_xlim(0, max(values + [1]) * 1.15)
    ax.set_xlabel(f"{survey.words['percent']} (n = {table['n']})")
    return titled(fig, caption)


def diverging_bars(survey: Survey, tables: list[Table], caption: str) -> Figure:
    """Likert items as diverging stacked bars around zero: the first half of
    the scale (agree, improved) to the right, the second half to the left, a
    middle category across zero; missing codes in a panel of their own."""
    first = [c for c in tables[0]["categories"] if not c["missing"]]
    k = len(first)
    right, left = list(range(k // 2)), list(range((k + 1) // 2, k))
    middle = k // 2 if k % 2 else None
    fig, (ax, side) = plt.subplots(
        1,
        2,
        figsize=(9, 1.6 + 0.5 * len(tables)),
        width_ratios=[5, 1],
        sharey=True,
        layout="constrained",
    )
    y = np.arange(len(tables))
    for yi, table in zip(y, tables, strict=True):
        shares = [c["percent"] or 0 for c in table["categories"] if not c["missing"]]
        start = shares[middle] / 2 if middle is not None else 0
        if middle is not None:
            ax.barh(
                yi,
                shares[middle],
                left=-start,
                color=MIDDLE,
                label=first[middle]["label"] if yi == 0 else None,
            )
        edge = start
        for rank, i in enumerate(reversed(right)):
            colour = AGREE[len(right) - 1 - rank] if len(right) <= len(AGREE) else BLUE
            ax.barh(
                yi, shares[i], left=edge, color=colour, label=first[i]["label"] if yi == 0 else None
            )
            edge += shares[i]
        edge = -start
        for rank, i in enumerate(left):
            colour = DISAGREE[len(left) - 1 - rank] if len(left) <= len(DISAGREE) else GREY
            ax.barh(
                yi,
                shares[i],
                left=edge - shares[i],
                color=colour,
                label=first[i]["label"] if yi == 0 else None,
            )
            edge -= shares[i]
        unsure = sum(c["percent"] or 0 for c in table["categories"] if c["missing"])
        side.barh(yi, unsure, color=GREY)
        side.text(unsure + 1, yi, f"{unsure:.0f} %", va="center")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [wrap(t["label"], 40) for t in tables])
    ax.invert_yaxis()
    ax.set_xlim(-100, 100)
    ax.set_xticks([-100, -50, 0, 50, 100], ["100", "50", "0", "50", "100"])
    ax.set_xlabel(survey.words["percent"])
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: [c["label"] for c in first].index(labels[i]))
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="outside lower center",
        ncols=min(k, 4),
        frameon=False,
    )
    missing_labels = sorted({c["label"] for c in tables[0]["categories"] if c["missing"]})
    side.set_title(wrap(", ".join(missing_labels) or survey.words["missing"], 18), fontsize=8)
    side.set_xlim(0, 100)
    side.set_xticks([0, 50, 100])
    return titled(fig, caption)


def share_of(table: Table, code: Any) -> float:
    """The percent of a frequencies table's answers in one category (0 if it has none)."""
    return next((c["percent"] or 0 for c in table["categories"] if c["code"] == code), 0)


def stacked_bars(survey: Survey, tables: list[Table], caption: str) -> Figure:
    """Items with the same categories (a grid, a battery) as bars of 100 % each:
    the categories in the scale's order, the missing codes last, in grey."""
    categories = tables[0]["categories"]
    substantive = [c for c in categories if not c["missing"]]
    palette = AGREE if len(substantive) <= len(AGREE) else AGREE + DISAGREE[::-1]
    colours = [palette[i % len(palette)] for i in range(len(substantive))]
    fig, ax = plt.subplots(figsize=(9, 1.8 + 0.5 * len(tables)), layout="constrained")
    y = np.arange(len(tables))
    edge = np.zeros(len(tables))
    shown = substantive + [c for c in categories if c["missing"]]
    for j, category in enumerate(shown):
        shares = np.array([share_of(t, category["code"]) for t in tables], dtype=float)
        colour = GREY if category["missing"] else colours[j]
        ax.barh(y, shares, left=edge, color=colour, label=category["label"])
        dark = colour in (AGREE[0], AGREE[1], DISAGREE[0], DISAGREE[1])
        for yi, (start, share) in enumerate(zip(edge, shares, strict=True)):
            if share >= 6:
                ax.text(
                    start + share / 2,
                    yi,
                    f"{share:.0f}",
                    ha="center",
                    va="center",
                    color="white" if dark else "black",
                )
        edge += shares
    ax.set_yticks(y, [wrap(t["label"], 40) for t in tables])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(survey.words["percent"])
    fig.legend(loc="outside lower center", ncols=min(len(shown), 4), frameon=False)
    return titled(fig, caption)


def crosstab_bars(survey: Survey, table: Table, caption: str) -> Figure:
    """The row percents of a crosstab as stacked bars, one per row category and the total."""
    rows = [c["label"] for c in table["row_categories"]] + [survey.words["total"]]
    shares = np.array(table["row_percents"] + [table["total_percents"]], dtype=float)
    shares = np.nan_to_num(shares)
    colours = [AGREE[1], DISAGREE[1], AGREE[2], DISAGREE[2], AGREE[0], DISAGREE[0], MIDDLE, GREY]
    fig, ax = plt.subplots(figsize=(8, 1.8 + 0.45 * len(rows)), layout="constrained")
    y = np.arange(len(rows))
    edge = np.zeros(len(rows))
    for j, column in enumerate(table["column_categories"]):
        ax.barh(
            y,
            shares[:, j],
            left=edge,
            color=colours[j % len(colours)],
            label=column["label"],
        )
        for yi, (start, share) in enumerate(zip(edge, shares[:, j], strict=True)):
            if share >= 6:
                ax.text(
                    start + share / 2, yi, f"{share:.0f}", ha="center", va="center", color="white"
                )
        edge += shares[:, j]
    ax.set_yticks(y, [wrap(r, 30) for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(survey.words["percent"])
    fig.legend(
        loc="outside lower center", ncols=min(len(table["column_categories"]), 4), frameon=False
    )
    if table.get("p_value") is not None:
        ax.set_title(
            f"χ² = {table['chi2']:.2f}, df = {table['dof']}, p = {table['p_value']:.3f}",
            loc="right",
            fontsize=8,
        )
    return titled(fig, caption)


def histogram(survey: Survey, frame: pd.DataFrame, name: str, caption: str) -> Figure:
    """The substantive values of a number (missing codes left out) as a histogram."""
    x = as_float(frame[name][substantive(survey, frame[name], name)])
    fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
    ax.hist(x, bins=min(30, max(len(np.unique(x)), 1)), color=BLUE)
    ax.set_xlabel(wrap(survey.labels[name], 80))
    ax.set_ylabel(survey.words["count"])
    return titled(fig, caption)


def grid_figures(survey: Survey, data: pd.DataFrame) -> dict[str, Figure]:
    """Each grid of the questionnaire (a Likert battery) as one diverging bar chart."""
    figures = {}
    for grid, (label, items) in survey.grids.items():
        tables = [frequencies(survey, data, item) for item in items]
        figures[f"grid_{grid}"] = diverging_bars(survey, tables, label)
    return figures


def save_figure(fig: Figure, folder: Path, name: str) -> list[str]:
    """The figure as SVG and PNG, without dates or version stamps in the files."""
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.svg", metadata={"Date": None, "Creator": None})
    fig.savefig(folder / f"{name}.png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return [f"figures/{name}.svg", f"figures/{name}.png"]


# ---------------------------------------------------------------- tables as CSV


def table_frame(table: Table) -> pd.DataFrame | None:
    """One table of results as rows and columns, for its CSV file."""
    if table["kind"] == "frequencies":
        return pd.DataFrame(table["categories"])
    if table["kind"] == "crosstab":
        rows = []
        for category, counts, shares in zip(
            table["row_categories"], table["counts"], table["row_percents"], strict=True
        ):
            for column, n, share in zip(table["column_categories"], counts, shares, strict=True):
                rows.append(
                    {
                        "row_code": category["code"],
                        "row_label": category["label"],
                        "column_code": column["code"],
                        "column_label": column["label"],
                        "count": n,
                        "row_percent": share,
                    }
                )
        return pd.DataFrame(rows)
    if table["kind"] == "summary":
        keys = ["variable", "n", "mean", "median", "sd", "min", "max", "not_asked"]
        return pd.DataFrame([{key: table[key] for key in keys}])
    if table["kind"] == "rate":
        keys = ["name", "label", "numerator", "denominator", "rate", "percent"]
        return pd.DataFrame([{key: table.get(key) for key in keys + ["eligibility"]}])
    return None


#: A text cell starting with one of these is taken for a formula by a spreadsheet
#: that opens the CSV file (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``); the same
#: rule as ``kvpspec.data.spreadsheet`` (a test asserts it).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text cell for a CSV file: with an apostrophe in front when it looks like a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell made safe (``csv_text``); numbers are never changed."""
    return frame.apply(lambda col: col.map(lambda x: csv_text(x) if isinstance(x, str) else x))


def csv_name(analysis: str, table: Table) -> str:
    if table["kind"] == "crosstab":
        return f"{analysis}-{table['row']['variable']}-by-{table['column']['variable']}.csv"
    if table["kind"] == "rate":
        return f"{analysis}-rate-{table['name']}.csv"
    if table["kind"] == "summary":
        return f"{analysis}-summary-{table['variable']}.csv"
    return f"{analysis}-{table.get('variable', 'skipped')}.csv"


# ---------------------------------------------------------------- report.html


def h(value: Any) -> str:
    """Text escaped for HTML: user text is never read as markup."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_html(survey: Survey, table: Table) -> str:
    kind = table["kind"]
    out = []
    if kind == "frequencies":
        out.append(f"<h3>{h(table['label'])} <code>{h(table['variable'])}</code></h3>")
        out.append(
            f"<table><tr><th></th><th>{h(survey.words['count'])}</th><th>{h(survey.words['percent'])}</th>"
            f"<th>{h(survey.words['valid_percent'])}</th></tr>"
        )
        for c in table["categories"]:
            cls = ' class="missing"' if c["missing"] else ""
            out.append(
                f"<tr{cls}><td>{h(c['label'])}</td><td>{c['count']}</td><td>{fmt(c['percent'])}</td>"
                f"<td>{fmt(c['valid_percent'])}</td></tr>"
            )
        out.append(
            f'<tr class="total"><td>{h(survey.words["total"])}</td><td>{table["n"]}</td>'
            "<td>100.0</td><td>100.0</td></tr>"
        )
        out.append("</table>")
        if table["not_asked"]:
            out.append(f'<p class="note">{h(survey.words["not_asked"])}: {table["not_asked"]}</p>')
    elif kind == "crosstab":
        columns = table["column_categories"]
        out.append(f"<h3>{h(table['row']['label'])} × {h(table['column']['label'])}</h3>")
        head = "".join(f"<th>{h(c['label'])}</th>" for c in columns)
        out.append(f"<table><tr><th></th><th></th>{head}<th>{h(survey.words['total'])}</th></tr>")
        rows = list(
            zip(
                table["row_categories"],
                table["counts"],
                table["row_percents"],
                table["row_totals"],
                strict=True,
            )
        )
        rows.append(
            (
                {"label": survey.words["total"]},
                table["column_totals"],
                table["total_percents"],
                table["total"],
            )
        )
        for category, counts, shares, total in rows:
            cells = "".join(f"<td>{n}</td>" for n in counts)
            out.append(
                f'<tr><th rowspan="2">{h(category["label"])}</th>'
                f'<td>{h(survey.words["count"])}</td>{cells}<td>{total}</td></tr>'
            )
            cells = "".join(f"<td>{fmt(s)}</td>" for s in shares)
            out.append(
                f'<tr class="share"><td>{h(survey.words["percent"])}</td>{cells}<td>100.0</td></tr>'
            )
        out.append("</table>")
        if table.get("test"):
            out.append(
                f"<p>{h(table['test'])}: χ² = {fmt(table['chi2'], 3)}, df = {fmt(table['dof'])}, "
                f"p = {fmt(table['p_value'], 3)}, {h(survey.words['min_expected'])} = "
                f"{fmt(table['min_expected'], 1)}, Cramér's V = {fmt(table['cramers_v'], 3)}</p>"
            )
        if table.get("warning"):
            out.append(f'<p class="warning">{h(table["warning"])}</p>')
    elif kind == "summary":
        out.append(f"<h3>{h(table['label'])} <code>{h(table['variable'])}</code></h3>")
        out.append(
            "<table><tr><th>n</th><th>mean</th><th>median</th><th>sd</th><th>min</th><th>max</th></tr>"
        )
        cells = "".join(
            f"<td>{fmt(table[k])}</td>" for k in ("n", "mean", "median", "sd", "min", "max")
        )
        out.append(f"<tr>{cells}</tr></table>")
        for m in table["missing"]:
            out.append(
                f'<p class="note">{h(m["label"])} ({m["code"]}): {m["count"]}, '
                f"{h(survey.words['left_out'])}</p>"
            )
    elif kind == "rate":
        extra = ""
        if table.get("eligibility") is not None:
            extra = f", e = {fmt(table['eligibility'], 3)} ({h(table['eligibility_method'])})"
        out.append(
            f'<p class="rate"><b>{h(table["label"])}</b>: {fmt(table["percent"])} % '
            f"= {fmt(table['numerator'], 2)} / {fmt(table['denominator'], 2)}{extra}</p>"
        )
    elif kind == "note":
        out.append(f'<p class="note">{h(table["text"])}</p>')
    else:
        out.append(
            f'<p class="warning">{h(table.get("variable") or table.get("analysis"))}: '
            f"{h(table['reason'])}</p>"
        )
    return "\n".join(out)


CSS = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 { border-top: 1px solid #ccc; padding-top: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.missing td { color: #666; font-style: italic; }
tr.total td { font-weight: bold; }
tr.share td { color: #555; }
p.warning { color: #8a4b00; }
p.note { color: #555; }
img { max-width: 100%; }
"""


def report_html(survey: Survey, results: dict[str, Any], figures: dict[str, list[str]]) -> str:
    meta = results["$meta"]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{h(survey.language)}"><head><meta charset="utf-8">',
        f"<title>{h(survey.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{h(survey.title)}</h1>",
        f"<p>{h(meta['data']['file'])}: {meta['data']['rows']} {h(survey.words['rows'])}"
        + (
            f"; {h(meta['sample']['file'])}: {meta['sample']['rows']} {h(survey.words['rows'])}"
            if meta["sample"]
            else ""
        )
        + f". {h(survey.name)}, spec {h(survey.spec_version)}.</p>",
    ]
    for name, result in results.items():
        if name == "$meta":
            continue
        parts.append(f'<section id="{h(name)}"><h2>{h(result["caption"])}</h2>')
        if name in figures:
            parts.append(f'<img src="{h(figures[name][0])}" alt="{h(result["caption"])}">')
        parts.extend(table_html(survey, table) for table in result["tables"])
        parts.append("</section>")
    grids = [name for name in figures if name not in results]
    if grids:
        parts.append(f'<section id="grids"><h2>{h(survey.words["grids"])}</h2>')
        parts.extend(f'<img src="{h(figures[name][0])}" alt="{h(name)}">' for name in grids)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- running it


def run(survey: Survey, data_path: Path, sample_path: Path | None, out: Path) -> dict[str, Any]:
    """Run every analysis; write tables.json, tables/, figures/ and report.html into ``out``."""
    style()
    data = survey.add_derived(survey.add_recodes(load(survey, data_path, survey.columns)))
    sample = (
        survey.add_sample_derived(
            survey.add_sample_recodes(load(survey, sample_path, survey.sample_columns))
        )
        if sample_path
        else None
    )
    results: dict[str, Any] = {
        "$meta": {
            "survey": survey.name,
            "spec_version": survey.spec_version,
            "data": {"file": data_path.name, "rows": len(data)},
            "sample": {"file": sample_path.name, "rows": len(sample)}
            if sample_path is not None and sample is not None
            else None,
        }
    }
    figures: dict[str, list[str]] = {}
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)
    for name, analysis in survey.analyses.items():
        tables, figure = analysis(survey, data, sample)
        results[name] = {
            "caption": survey.captions[name],
            "title": survey.titles[name],
            "tables": tables,
        }
        if figure is not None:
            figures[name] = save_figure(figure, out / "figures", name)
        for table in tables:
            frame = table_frame(table)
            if frame is not None:
                spreadsheet_safe(frame).to_csv(
                    out / "tables" / csv_name(name, table), index=False, lineterminator="\n"
                )
    for name, figure in grid_figures(survey, data).items():
        figures[name] = save_figure(figure, out / "figures", name)
    text = json.dumps(results, ensure_ascii=False, indent=2, default=json_value)
    (out / "tables.json").write_text(text + "\n", encoding="utf-8")
    (out / "report.html").write_text(report_html(survey, results, figures), encoding="utf-8")
    return results


def json_value(value: Any) -> Any:
    """numpy numbers as plain JSON numbers."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return num(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def main(survey: Survey, default_out: Path, argv: list[str] | None = None) -> int:
    """The command line: ``python analysis.py DATA [--sample SAMPLE] [--out DIR]``;
    ``default_out`` is the folder beside analysis.py."""
    parser = argparse.ArgumentParser(description=f"The analyses of the survey {survey.name}.")
    parser.add_argument("data", type=Path, help="the response data (.csv, .xlsx or .parquet)")
    parser.add_argument("--sample", type=Path, help="the sample file, with each case's disposition")
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out,
        help="the folder to write into (default: beside this file)",
    )
    args = parser.parse_args(argv)
    try:
        run(survey, args.data, args.sample, args.out)
    except (AnalysisError, OSError, ValueError, pd.errors.ParserError) as exc:
        print(f"analysis.py: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote tables.json, report.html, tables/ and figures/ to {args.out}")
    return 0
