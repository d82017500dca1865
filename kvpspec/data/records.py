"""Records of the interviewing form as response data.

The form (``generators/form``) gives each interview as ``{id, record,
paradata}``: ``record`` holds exactly the response-data columns of the
codebook (``record_columns``), a multiple choice as a list of codes, a
question the route skipped as ``null``. ``records_to_rows`` checks them and
turns them into rows; ``write_records_csv`` writes the CSV file that
``kvpspec validate`` and ``kvpspec analyze`` read (codes of a multiple choice
separated by spaces, an empty cell for no answer).

Only completed interviews are response data: a call ended in the intro (a
screener's ``end``) or by an interviewer's disposition button is left out
(``paradata.complete`` is false); a bare record without paradata is taken as
complete. An interview without a respondent id (a standalone form has no case
number) gets the next free number, or for a text id the form's record id.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kvpspec.compile import Compiled
from kvpspec.diagnostics import InputError


def record_columns(compiled: Compiled) -> list[str]:
    """The response-data columns in codebook order (the respondent id first)."""
    return [v.name for v in compiled.lowered.response_variables()]


def _envelope(item: Any, index: int) -> tuple[str | None, Mapping[str, Any], Mapping[str, Any] | None]:
    if not isinstance(item, Mapping):
        raise InputError(f"record {index}: not a JSON object")
    if "record" in item and isinstance(item["record"], Mapping):
        paradata = item.get("paradata")
        if paradata is not None and not isinstance(paradata, Mapping):
            raise InputError(f"record {index}: `paradata` is not an object")
        rid = item.get("id")
        return (str(rid) if rid is not None else None), item["record"], paradata
    return None, item, None


def _cell(compiled: Compiled, name: str, value: Any, where: str) -> Any:
    """A value as ``validate`` reads it from JSON: checked for its kind only
    (codes, ranges and routing are ``validate``'s to judge)."""
    var = compiled.lowered.variables[name]
    if value is None:
        return None
    if var.type == "multiple":
        if not isinstance(value, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in value):
            raise InputError(f"{where}: `{name}` must be a list of codes; found {value!r}")
        return [int(c) for c in value] or None
    if var.type == "text":
        if not isinstance(value, str):
            raise InputError(f"{where}: `{name}` must be text; found {value!r}")
        return value if value != "" else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: `{name}` must be a number; found {value!r}")
    if var.type == "decimal":
        return value
    if value != int(value):
        raise InputError(f"{where}: `{name}` must be a whole number; found {value!r}")
    return int(value)


def records_to_rows(compiled: Compiled, records: Iterable[Any], *, complete_only: bool = True) -> list[dict[str, Any]]:
    """The completed interviews among ``records`` as rows ``{column: value}``
    (values as ``validate`` reads them from JSON: a number, a text, a list of
    codes, or ``None``). Raises ``InputError`` naming the record for a column
    that is missing or unknown, or a value of the wrong kind."""
    columns = record_columns(compiled)
    expected = set(columns)
    rid = compiled.spec.respondent
    rows: list[dict[str, Any]] = []
    record_ids: list[str | None] = []
    for index, item in enumerate(records, 1):
        form_id, record, paradata = _envelope(item, index)
        where = f"record {index}" + (f" ({form_id})" if form_id else "")
        if complete_only and paradata is not None and not paradata.get("complete", False):
            continue
        missing = [c for c in columns if c not in record and not (rid is not None and c == rid.name)]
        if missing:
            raise InputError(f"{where}: the column `{missing[0]}` is missing" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        unknown = sorted(k for k in record if k not in expected)
        if unknown:
            raise InputError(f"{where}: `{unknown[0]}` is not a response-data column of the spec")
        rows.append({c: _cell(compiled, c, record.get(c), where) for c in columns})
        record_ids.append(form_id)
    if rid is not None:
        _fill_ids(rows, record_ids, rid.name, rid.kind)
    return rows


def _fill_ids(rows: list[dict[str, Any]], record_ids: list[str | None], name: str, kind: str) -> None:
    if kind == "integer":
        used = {row[name] for row in rows if row[name] is not None}
        following = 1
        for row in rows:
            if row[name] is None:
                while following in used:
                    following += 1
                row[name] = following
                used.add(following)
    else:
        for i, row in enumerate(rows):
            if row[name] is None:
                row[name] = record_ids[i] or f"R{i + 1:06d}"


def cell_text(value: Any) -> str:
    """A row's value as a CSV cell: codes of a multiple choice separated by
    spaces, a whole number without a point, no answer as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(c) for c in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def write_records_csv(compiled: Compiled, records: Iterable[Any], path: str | Path, *, complete_only: bool = True) -> int:
    """Write the completed interviews among ``records`` as a CSV file for
    ``kvpspec validate`` (UTF-8, comma-separated, header of the codebook's
    response columns); returns the number of rows written."""
    rows = records_to_rows(compiled, records, complete_only=complete_only)
    columns = record_columns(compiled)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell_text(row[c]) for c in columns])
    return len(rows)
