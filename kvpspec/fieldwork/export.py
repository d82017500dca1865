"""``fieldwork export``: the stored interviews as the response data, and the
cases as the sample file with their dispositions, ready for ``kvpspec
validate`` and ``kvpspec analyze --sample``.

The data file has the response columns of the spec the database was made
for (kept in ``meta``), in codebook order, one row per stored interview, in
the order they arrived. A call outcome (``store.call_outcome``: the form's
``paradata.complete`` false, a disposition other than the complete one, or an
intro answer that ended the call) is not response data: it is left out and
counted. An interview without a respondent id gets the next free number (a
text id: the interview's id), as ``kvpspec.data.records`` numbers the form's
records.

The sample file has the non-personal sample fields and each case's final
disposition, one row per case (all of them): the response rates and Tabell 1
come from these real call outcomes. A case with no final disposition yet is
written blank (``kvpspec validate`` refuses it) unless ``unresolved`` gives
the code to write for it (for instance the spec's "no answer in the interview
period").
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kvpspec.data.records import cell_text
from kvpspec.diagnostics import InputError
from kvpspec.fieldwork import db
from kvpspec.fieldwork.store import call_outcome


@dataclass
class Exported:
    interviews: int = 0
    left_out: int = 0
    numbered: int = 0
    duplicate_ids: int = 0
    cases: int = 0
    unresolved: int = 0


def cell(value: Any) -> str:
    """A value as a CSV cell, as ``records.cell_text`` writes the form's records (a truth value as 0/1)."""
    return str(int(value)) if isinstance(value, bool) else cell_text(value)


def _meta(conn: sa.Connection) -> tuple[list[list[Any]], dict[str, Any]]:
    signature, fields = db.get_meta(conn, "signature"), db.get_meta(conn, "fields")
    if signature is None or fields is None:
        raise InputError("the database holds no spec yet: run `kvpspec serve` or `kvpspec fieldwork load` "
                         "with the spec first")
    return json.loads(signature)["columns"], json.loads(fields)


def export(eng: Engine, data: str | Path, sample: str | Path | None = None, *,
           unresolved: int | None = None) -> Exported:
    out = Exported()
    with db.reading(eng) as conn:
        columns, fields = _meta(conn)
        names = [c[0] for c in columns]
        id_name = fields.get("id")
        complete = fields.get("complete")
        codes = fields.get("dispositions")
        if unresolved is not None and codes is not None and unresolved not in codes:
            raise InputError(f"--unresolved {unresolved}: not a disposition code of the spec "
                             f"({', '.join(str(c) for c in codes) or 'none'})")
        id_kind = next((c[1] for c in columns if c[0] == id_name), None)
        rows, ids = [], []
        for r in conn.execute(sa.select(db.interviews.c.id, db.interviews.c.record, db.interviews.c.paradata)
                              .order_by(db.interviews.c.received, db.interviews.c.id)):
            if call_outcome(r.record or {}, r.paradata, fields.get("ends", {}), complete):
                out.left_out += 1
                continue
            rows.append(dict(r.record))
            ids.append(r.id)
        if id_name is not None:  # as kvpspec.data.records numbers the form's records
            taken = [row.get(id_name) for row in rows if row.get(id_name) is not None]
            out.duplicate_ids = len(taken) - len({cell(x) for x in taken})
            used = {cell(x) for x in taken}
            following = 1
            for i, row in enumerate(rows):
                if row.get(id_name) is None:
                    if id_kind == "integer":
                        while str(following) in used:
                            following += 1
                        row[id_name] = following
                        used.add(str(following))
                    else:
                        row[id_name] = ids[i]
                    out.numbered += 1
        _write(data, names, ([cell(row.get(n)) for n in names] for row in rows))
        out.interviews = len(rows)
        if sample is not None:
            sample_names = [f[0] for f in fields.get("sample", [])]
            if "disposition" not in sample_names:
                sample_names.append("disposition")
            cases = list(conn.execute(sa.select(db.cases.c.id, db.cases.c.sample, db.cases.c.disposition)))
            cases.sort(key=lambda c: (0, int(c.id), "") if c.id.isdigit() else (1, 0, c.id))
            lines = []
            for c in cases:
                values = dict(c.sample or {})
                d = c.disposition
                if d is None:
                    out.unresolved += 1
                    d = unresolved
                values["disposition"] = d
                lines.append([cell(values.get(n)) for n in sample_names])
            _write(sample, sample_names, lines)
            out.cases = len(cases)
    return out


def _write(path: str | Path, header: list[str], rows: Any) -> None:
    try:
        with Path(path).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
