"""Loading the sample: the registration form the caseworkers filled in.

The file is the XLSX that ``kvpspec build --only registration`` makes
(Vedlegg 4: title and instructions, a header row of the fields' labels, one
row per participant, a tally line below) or a CSV file whose header holds the
sample fields' names or labels. Each row becomes a case: its personal fields
(``personal`` in the spec, and the computed ones such as ``navn``) go to the
``persons`` table only, the others to ``cases.sample``; a ``disposition``
column, when the file has one, makes the case final with that code.

A coded field takes its code or its option's label (the dropdown writes the
label); other text goes to the option with a ``specify`` field (``Annet
språk``), the text into that field. Every problem names the row and the
column; a file with any is not loaded at all.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.data.reader import DataError
from kvpspec.diagnostics import InputError
from kvpspec.fieldwork import db

_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def text(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Loaded:
    file: str
    cases: int = 0
    final: int = 0
    problems: list[Problem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


class SampleInvalid(InputError):
    """The sample file has rows that do not fit the spec's sample fields."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        lines = [p.text() for p in loaded.problems[:50]]
        more = len(loaded.problems) - len(lines)
        super().__init__(
            f"{loaded.file}: {len(loaded.problems)} problem(s); nothing was loaded\n  "
            + "\n  ".join(lines) + (f"\n  ... and {more} more" if more > 0 else "")
        )


def _fields(compiled: Compiled) -> list[m.SampleField]:
    fw = compiled.spec.fieldwork
    if fw is None or not fw.sample:
        raise InputError("the spec has no `sample` block in its fieldwork: there is nothing to load")
    return list(fw.sample)


def _tallies(spec: m.Spec) -> set[str]:
    out = set()
    for doc in spec.documents:
        for block in doc.blocks:
            if block.kind == "tally":
                out.add(_norm(" ".join(t.text for t in block.texts)))
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _read_rows(path: Path, compiled: Compiled) -> tuple[list[tuple[int, list[str | None]]], list[str | None]]:
    """(row number, cells) for every row after the header, and the header's cells."""
    fields = _fields(compiled)
    names = {f.name for f in fields} | {_norm(f.label.text) for f in fields}
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001 (openpyxl raises many kinds for a broken file)
            raise DataError(f"{path}: not a readable XLSX workbook ({type(e).__name__}: {e})") from None
        try:
            sheet = next((ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"), None)
            if sheet is None:
                raise DataError(f"{path}: the workbook has no visible sheet")
            rows = [(i, [_text(v) for v in row]) for i, row in enumerate(sheet.iter_rows(values_only=True), 1)]
        finally:
            wb.close()
        header_at = None
        for i, cells in rows:
            hits = sum(1 for c in cells if c is not None and (c in names or _norm(c) in names))
            if hits >= 2 or (hits == 1 and len(fields) == 1):
                header_at = i
                break
        if header_at is None:
            raise DataError(f"{path}: no row holds the sample fields' labels or names; "
                            f"is this the registration form of this spec?")
        header = rows[header_at - 1][1]
        tallies = _tallies(compiled.spec)
        body = []
        for i, cells in rows[header_at:]:
            first = next((c for c in cells if c is not None), None)
            if first is not None and _norm(first) in tallies:
                break
            body.append((i, cells))
        return body, header
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            sample = f.read(4096)
            f.seek(0)
            delimiter = max((",", ";", "\t"), key=lambda d: sample.splitlines()[0].count(d) if sample else 0)
            reader = csv.reader(f, delimiter=delimiter)
            all_rows = [[_text(c) for c in row] for row in reader]
    except UnicodeDecodeError:
        raise DataError(f"{path}: the file is not UTF-8 text") from None
    if not all_rows:
        raise DataError(f"{path}: the file is empty; expected a header row with the sample fields")
    return [(i, r) for i, r in enumerate(all_rows[1:], 2)], all_rows[0]


def read_sample(compiled: Compiled, path: str | Path) -> tuple[list[tuple[int, dict[str, Any], dict[str, Any],
                                                                          int | None]], Loaded]:
    """Every row as (row, non-personal fields, personal fields, disposition), and what was found."""
    from kvpspec.semantics.expr import Evaluator

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    loaded = Loaded(str(p))
    fields = _fields(compiled)
    by_key: dict[str, m.SampleField] = {}
    for f in fields:
        by_key[f.name.casefold()] = f
        by_key.setdefault(_norm(f.label.text), f)
    body, header = _read_rows(p, compiled)
    columns: dict[int, m.SampleField] = {}
    shown: dict[int, str] = {}
    for j, cell in enumerate(header):
        if cell is None:
            continue
        found = by_key.get(cell.casefold()) or by_key.get(_norm(cell))
        letter = _letter(j) if p.suffix.lower() in (".xlsx", ".xlsm") else cell
        if found is None:
            loaded.problems.append(Problem(1, letter, f"`{cell[:60]}` is not a sample field of the spec"))
            continue
        if found.formula is not None:
            loaded.problems.append(Problem(1, letter, f"`{found.name}` is computed by the spec; leave it out"))
            continue
        columns[j] = found
        shown[j] = f"{letter} ({found.name})" if letter != cell else found.name
    variables = compiled.lowered.variables
    evaluator = Evaluator(variables)
    personal = {f.name for f in fields if f.personal}
    out = []
    for row, cells in body:
        values: dict[str, Any] = {}
        if all(c is None for j, c in enumerate(cells) if j in columns):
            continue
        for j, f in columns.items():
            cell = cells[j] if j < len(cells) else None
            if cell is None:
                continue
            value, problem = _value(f, cell, variables.get(f.name))
            if problem is not None:
                loaded.problems.append(Problem(row, shown[j], problem))
                continue
            if isinstance(value, tuple):  # free text for an option with a specify field
                code, specify, text = value
                values[f.name] = code
                values[specify] = text
            else:
                values[f.name] = value
        for f in fields:
            if f.formula is not None:
                try:
                    v = evaluator.value(f.formula, values)
                except Exception:  # noqa: BLE001 (a formula over a blank cell)
                    v = None
                values[f.name] = v if isinstance(v, (str, int, float)) else None
        disposition = values.pop("disposition", None)
        private = {k: v for k, v in values.items() if k in personal}
        public = {k: v for k, v in values.items() if k not in personal}
        out.append((row, public, private, disposition))
    if not columns:
        loaded.problems.append(Problem(1, "", "the header holds no sample field of the spec"))
    return out, loaded


def _letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _value(f: m.SampleField, cell: str, var: Any) -> tuple[Any, str | None]:
    kind = var.type if var is not None else (f.kind or "text")
    if kind == "text":
        return cell, None
    if kind in ("integer", "decimal"):
        try:
            x = float(cell.replace(",", ".")) if kind == "decimal" else int(cell)
        except ValueError:
            return None, f"`{f.name}` must be a {'number' if kind == 'decimal' else 'whole number'}; found `{cell[:40]}`"
        return x, None
    codes = dict(var.values) if var is not None else {o.code: o.label for o in f.options}
    if cell.isdigit() and int(cell) in codes:
        return int(cell), None
    wanted = _norm(cell)
    for code, label in codes.items():
        if _norm(label.text) == wanted or any(_norm(t) == wanted for t in label.translations.values()):
            return code, None
    other = next((o for o in f.options if o.specify is not None), None)
    if other is not None and not cell.isdigit():
        assert other.specify is not None
        return (other.code, other.specify.name, cell), None
    listed = ", ".join(f"{c} {lab.text}" for c, lab in list(codes.items())[:6])
    return None, f"`{cell[:40]}` is neither a code nor an option of `{f.name}` ({listed}{', ...' if len(codes) > 6 else ''})"


def load_sample(eng: Engine, compiled: Compiled, path: str | Path, *, append: bool = False) -> Loaded:
    """Load the sample file as cases, all or nothing; ``SampleInvalid`` lists every problem."""
    rows, loaded = read_sample(compiled, path)
    disp = compiled.lowered.variables.get("disposition")
    codes = set(disp.codes) if disp is not None else set()
    for row, _, _, d in rows:
        if d is not None and codes and d not in codes:
            loaded.problems.append(Problem(row, "disposition", f"{d} is not a disposition code of the spec"))
    if loaded.problems:
        raise SampleInvalid(loaded)
    if not rows:
        raise DataError(f"{loaded.file}: the file has no rows under its header; nothing to load")
    with eng.begin() as conn:
        existing = [r[0] for r in conn.execute(sa.select(db.cases.c.id))]
        if existing and not append:
            raise InputError(f"the database holds {len(existing)} case(s) already; give --append to add "
                             f"these as new cases")
        start = max((int(i) for i in existing if i.isdigit()), default=0)
        now = db.now()
        case_rows, person_rows = [], []
        for k, (_, public, private, d) in enumerate(rows, 1):
            cid = str(start + k)
            loaded.ids.append(cid)
            case_rows.append({"id": cid, "status": "final" if d is not None else "open", "holder": None,
                              "held_since": None, "attempts": 0, "appointment": None, "disposition": d,
                              "sample": public, "web_token_hash": None, "created": now})
            person_rows.append({"case_id": cid, "data": private})
            loaded.final += d is not None
        conn.execute(sa.insert(db.cases), case_rows)
        conn.execute(sa.insert(db.persons), person_rows)
    loaded.cases = len(rows)
    return loaded
