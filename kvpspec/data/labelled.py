"""Labelled data for SPSS, Stata and R: ``kvpspec export sav|dta|datapackage SPEC DATA -o FILE``.

The spec knows every variable's label, its codes' labels and its missing
codes; these exporters write them into the data file, so no one types value
labels by hand again.

* **SPSS** (``.sav``): variable labels, value labels (missing codes
  included), and the missing codes declared as *user-missing* values, so
  SPSS leaves them out of every statistic while still showing them in
  frequency tables. SPSS takes at most three discrete missing values per
  variable; a variable with more gets one range (lowest to highest missing
  code) when no substantive code lies inside it.
* **Stata** (``.dta``): variable labels (Stata keeps 80 characters), value
  labels, and each missing code as an *extended missing value*: the
  variable's missing codes in code order become ``.a``, ``.b``, ... (99 in
  ``q3`` is ``.a``), each labelled with the code's label. Stata never
  averages ``.a``; ``tab q3, missing`` still counts it.
* **Data Package** (a zip holding ``data.csv`` and ``datapackage.json``):
  the CSV as given and its Table Schema (``kvpspec.data.schemas.table_schema``),
  where missing codes are ``missingValues`` with labels. R reads it with
  ``frictionless::read_package()``; the SPSS and Stata files with
  ``haven::read_sav(user_na = TRUE)`` and ``haven::read_dta()``.

The data columns are those of ``schemas.data_variables``; the recodes of the
spec are computed (``lower.recode_table``, the core's one meaning) and added
after them. A multiple-choice question becomes one 0/1 column per code,
``NAME_CODE`` (SPSS's multiple dichotomy set).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvpspec.data.exports import ExportOptions
from kvpspec.diagnostics import InputError
from kvpspec.semantics.lower import Variable, recode_table, recodes_in_order

STATA_LABEL = 80
SAV_FILE_LABEL = 64
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ExportError(InputError):
    """The data cannot be exported as asked (a file is missing or unreadable, a name too long)."""


@dataclass
class Column:
    """One column of the labelled data."""

    name: str
    label: str
    kind: str  # coded, number, text
    values: dict[int, str] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)


@dataclass
class _Data:
    """The data file read by ``reader.open_data``: each column's cells (None when
    empty) and each row's spreadsheet row."""

    path: str
    columns: dict[str, Any]  # pa.Array of strings
    rows: Any  # np.ndarray of spreadsheet rows

    def refuse(self, index: int, column: str, why: str, count: int) -> ExportError:
        more = f" ({count} such cells)" if count > 1 else ""
        return ExportError(
            f"{self.path}: row {int(self.rows[index])}, {column}: {why}{more}; check the data with kvpspec validate"
        )


def _read(path: str, names: list[str]) -> _Data:
    """The columns ``names`` of a data file, read as ``kvpspec validate`` reads it."""
    import numpy as np
    import pyarrow as pa

    from kvpspec.data.reader import DataError, open_data

    try:
        source = open_data(path)
        absent = [n for n in names if n not in source.header]
        if absent:
            raise ExportError(f"{path}: the column(s) {', '.join(absent)} are missing; check it with kvpspec validate")
        parts: dict[str, list[Any]] = {n: [] for n in names}
        rows: list[Any] = []

        def refuse_ragged() -> None:
            for r in source.take_ragged():
                raise ExportError(
                    f"{path}: row {r.row}: the row has {r.found} cells; the header has {r.expected}; "
                    f"check the data with kvpspec validate"
                )

        for batch in source.batches():
            refuse_ragged()
            for n in names:
                parts[n].append(batch.columns[n])
            rows.append(batch.rows)
        refuse_ragged()
    except DataError as exc:
        raise ExportError(str(exc)) from None
    columns = {
        n: pa.concat_arrays(parts[n]) if parts[n] else pa.array([], type=pa.string()) for n in names
    }
    return _Data(path, columns, np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64))


def labelled_data(compiled: Any, path: str, language: str | None = None) -> tuple[Any, list[Column]]:
    """The data as numbers and texts, with a ``Column`` describing each column."""
    from kvpspec.data.schemas import data_variables

    return _labelled(compiled, _read(path, [v.name for v in data_variables(compiled)]), language)


def _labelled(compiled: Any, raw: _Data, language: str | None) -> tuple[Any, list[Column]]:
    """``labelled_data`` of columns already read (``_read`` of ``data_variables``)."""
    import numpy as np
    import pandas as pd

    from kvpspec.data.reader import blank, codes, parse_numbers, trim
    from kvpspec.data.schemas import data_variables

    variables = data_variables(compiled)
    out: dict[str, Any] = {}
    columns: list[Column] = []
    numbers: dict[str, Any] = {}
    for v in variables:
        label = v.label.get(language)
        cells = raw.columns[v.name]
        if v.type == "multiple":
            chosen: list[list[int] | None] = []
            known = set(v.codes)
            for i, cell in enumerate(cells.to_pylist()):
                if cell is None or trim(cell) == "":
                    chosen.append(None)
                    continue
                got = codes(cell)
                if got is None or not set(got) <= known or len(set(got)) != len(got):
                    raise raw.refuse(i, v.name, f"`{cell}` is not a set of codes of the question", 1)
                chosen.append(got)
            for code, text in v.values:
                name = f"{v.name}_{code}"
                out[name] = np.array([np.nan if c is None else float(code in c) for c in chosen], dtype="float64")
                columns.append(Column(name, f"{label}: {text.get(language)}", "coded", {0: "Ikke valgt", 1: "Valgt"}))
            continue
        if v.value_kind == "text" or v.type == "text":
            empty = blank(cells)
            texts = np.asarray(cells.to_numpy(zero_copy_only=False), dtype=object)
            texts[empty] = ""
            out[v.name] = texts
            columns.append(Column(v.name, label, "text"))
            continue
        parsed = parse_numbers(cells, v.type == "decimal")
        bad = np.flatnonzero(parsed.bad)
        if bad.size:
            raise raw.refuse(int(bad[0]), v.name, f"`{cells[int(bad[0])].as_py()}` is not a number", bad.size)
        x = parsed.values
        out[v.name] = x
        numbers[v.name] = x
        kind = "coded" if v.type == "single" else "number"
        columns.append(Column(v.name, label, kind, _labels(v, language), sorted(v.missing_codes)))
    low = compiled.lowered
    for v in recodes_in_order(low):
        source = low.variables.get(v.source or "")
        recode = low.recodes.get(v.recode or "")
        if source is None or recode is None or source.name not in numbers:
            continue
        table = recode_table(recode, frozenset(source.missing_codes))
        x = numbers[source.name]
        result = np.full(x.shape, np.nan)
        for value in np.unique(x[~np.isnan(x)]).tolist():
            found = table.lookup(int(value) if float(value).is_integer() else value)
            if found is not None:
                result[x == value] = found
        out[v.name] = result
        numbers[v.name] = result
        label = v.label.get(language)
        if v.node is not None and not isinstance(v.node, type(recode)):
            label = f"{label}: {source.label.get(language)}"  # enig2(q10a): which item
        columns.append(Column(v.name, label, "coded", _labels(v, language), sorted(v.missing_codes)))
    return pd.DataFrame(out), columns


def _labels(v: Variable, language: str | None) -> dict[int, str]:
    return {code: text.get(language) for code, text in v.values}


def _written(write: Any, suffix: str) -> bytes:
    """Run a pyreadstat writer into a temporary file and return its bytes."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"data{suffix}"
        write(str(target))
        return target.read_bytes()


# ---------------------------------------------------------------- SPSS


def export_sav(compiled: Any, data: str | None, options: ExportOptions) -> bytes:
    import pyreadstat

    frame, columns = labelled_data(compiled, data or "", options.language)
    value_labels = {c.name: {float(k): v for k, v in c.values.items()} for c in columns if c.values}
    missing = {c.name: spss_missing(c) for c in columns if c.missing}
    measure = {c.name: ("scale" if c.kind == "number" else "nominal") for c in columns}
    title = compiled.spec.title.get(options.language)[:SAV_FILE_LABEL]
    return _written(
        lambda target: pyreadstat.write_sav(
            frame,
            target,
            file_label=title,
            column_labels=[c.label for c in columns],
            variable_value_labels=value_labels,
            missing_ranges=missing,
            variable_measure=measure,
        ),
        ".sav",
    )


def spss_missing(c: Column) -> list[Any]:
    """SPSS user-missing values: up to three codes, or one range that holds no substantive code."""
    codes = sorted(c.missing)
    if len(codes) <= 3:
        return [float(code) for code in codes]
    low, high = codes[0], codes[-1]
    substantive = [code for code in c.values if code not in c.missing]
    if any(low <= code <= high for code in substantive):
        raise ExportError(
            f"`{c.name}` has {len(codes)} missing codes with substantive codes between them; "
            "SPSS takes three missing values or one range"
        )
    return [{"lo": float(low), "hi": float(high)}]


# ---------------------------------------------------------------- Stata

_STATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}\Z")


def stata_missing(c: Column) -> dict[int, str]:
    """Each missing code of a column and its extended missing value: ``{99: "a"}``."""
    if len(c.missing) > 26:
        raise ExportError(f"`{c.name}` has more than 26 missing codes; Stata has .a to .z")
    return {code: chr(ord("a") + i) for i, code in enumerate(sorted(c.missing))}


def export_dta(compiled: Any, data: str | None, options: ExportOptions) -> bytes:
    import pyreadstat

    frame, columns = labelled_data(compiled, data or "", options.language)
    value_labels: dict[str, dict[Any, str]] = {}
    user_missing: dict[str, list[str]] = {}
    for c in columns:
        if not _STATA_NAME.match(c.name):
            raise ExportError(f"`{c.name}` is not a Stata variable name (at most 32 letters, digits, _)")
        letters = stata_missing(c)
        if letters:
            column = frame[c.name].astype(object)
            for code, letter in letters.items():
                column[frame[c.name] == code] = letter
            frame[c.name] = column
            user_missing[c.name] = list(letters.values())
        if c.values:
            value_labels[c.name] = {letters.get(k, k): v for k, v in c.values.items()}
    title = compiled.spec.title.get(options.language)[:STATA_LABEL]
    return _written(
        lambda target: pyreadstat.write_dta(
            frame,
            target,
            file_label=title,
            column_labels=[c.label[:STATA_LABEL] for c in columns],
            variable_value_labels=value_labels,
            missing_user_values=user_missing,
        ),
        ".dta",
    )


# ---------------------------------------------------------------- Data Package


def export_datapackage(compiled: Any, data: str | None, options: ExportOptions) -> bytes:
    """A zipped Data Package: ``data.csv`` (the data columns as given) and ``datapackage.json``."""
    from kvpspec.data.reader import trim
    from kvpspec.data.schemas import data_variables, table_schema
    from kvpspec.data.spreadsheet import csv_text

    variables = data_variables(compiled)
    names = [v.name for v in variables]
    raw = _read(data or "", names)
    _labelled(compiled, raw, options.language)  # refuses what validate calls no number
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([csv_text(n) for n in names])
    is_text = [v.value_kind == "text" or v.type == "text" for v in variables]
    cells = [raw.columns[n].to_pylist() for n in names]
    for i in range(len(raw.rows)):
        writer.writerow([
            "" if col[i] is None else (csv_text(col[i]) if textual else trim(col[i]))
            for col, textual in zip(cells, is_text)
        ])
    spec = compiled.spec
    language = options.language
    package = {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": re.sub(r"[^a-z0-9._-]", "-", spec.name.lower()),
        "title": spec.title.get(language),
        "version": compiled.version,
        "resources": [
            {
                "name": "data",
                "type": "table",
                "path": "data.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": table_schema(compiled, language),
            }
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in (
            ("datapackage.json", json.dumps(package, ensure_ascii=False, indent=2) + "\n"),
            ("data.csv", text.getvalue()),
        ):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, body.encode("utf-8"))
    return out.getvalue()
