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
from kvpspec.data.reader import DataError, number
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
    sheet: str | None = None

    def text(self) -> str:
        where = f"sheet {self.sheet}, " if self.sheet is not None else ""
        if self.column:
            return f"{where}row {self.row}, column {self.column}: {self.message}"
        return f"{where}row {self.row}: {self.message}"


@dataclass
class Loaded:
    file: str
    cases: int = 0
    final: int = 0
    problems: list[Problem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sheet: str | None = None


class SampleInvalid(InputError):
    """The sample file has rows that do not fit the spec's sample fields."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        lines = [p.text() for p in loaded.problems[:50]]
        more = len(loaded.problems) - len(lines)
        where = f" (sheet {loaded.sheet})" if loaded.sheet is not None else ""
        super().__init__(
            f"{loaded.file}{where}: {len(loaded.problems)} problem(s); nothing was loaded\n  "
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


_LISTS_SHEET = "Lister"  # the hidden sheet of the dropdowns' options that `build` writes
_EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}


@dataclass
class _Table:
    """What a sample file holds: the header (and its row), the rows below it, and what is odd."""

    header_row: int
    header: list[str | None]
    body: list[tuple[int, list[str | None]]]
    xlsx: bool
    odd: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column index) -> what the cell holds
    problems: list[Problem] = field(default_factory=list)
    sheet: str | None = None


def _odd(value: Any) -> str | None:
    """What an XLSX cell holds when it is no text nor whole number (a date, 3.5, TRUE), else None."""
    import datetime as dt

    if isinstance(value, bool):
        return f"a truth value ({'TRUE' if value else 'FALSE'})"
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        shown = value.date().isoformat() if isinstance(value, dt.datetime) and value.time() == dt.time() else str(value)
        return f"a date or time ({shown}), not text; format the column as text and type the value again"
    if isinstance(value, float) and not value.is_integer():
        return f"the number {value!r}"
    return None


def _read_xlsx(path: Path, compiled: Compiled, names: set[str]) -> _Table:
    fields = _fields(compiled)
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        wf = load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # noqa: BLE001 (openpyxl raises many kinds for a broken file)
        raise DataError(f"{path}: not a readable XLSX workbook ({type(e).__name__}: {e})") from None
    problems: list[Problem] = []
    try:
        sheet = next((ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"), None)
        if sheet is None:
            raise DataError(f"{path}: the workbook has no visible sheet")
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        formulas = [list(row) for row in wf[sheet.title].iter_rows(values_only=True)]
        for ws in wb.worksheets:
            if ws.title == sheet.title or (ws.title == _LISTS_SHEET and ws.sheet_state != "visible"):
                continue
            for i, row in enumerate(ws.iter_rows(values_only=True), 1):
                j = next((j for j, v in enumerate(row) if _text(v) is not None), None)
                if j is not None:
                    problems.append(Problem(i, _letter(j), f"this sheet holds data, but only the first sheet "
                                                           f"({sheet.title}) is read; move the rows there",
                                            sheet=ws.title))
                    break
    finally:
        wb.close()
        wf.close()
    rows = [(i, [_text(v) for v in row]) for i, row in enumerate(values, 1)]
    header_at = None
    for i, cells in rows:
        hits = sum(1 for c in cells if c is not None and (c in names or _norm(c) in names))
        if hits >= 2 or (hits == 1 and len(fields) == 1):
            header_at = i
            break
    if header_at is None:
        raise DataError(f"{path}: no row holds the sample fields' labels or names; "
                        f"is this the registration form of this spec?")
    table = _Table(header_at, rows[header_at - 1][1], [], True, problems=problems, sheet=sheet.title)
    tallies = _tallies(compiled.spec)
    totals: int | None = None
    for i, cells in rows[header_at:]:
        first = next((c for c in cells if c is not None), None)
        if first is not None and _norm(first) in tallies:
            totals = totals or i
            continue
        for j, raw in enumerate(values[i - 1]):
            formula = formulas[i - 1][j] if i - 1 < len(formulas) and j < len(formulas[i - 1]) else None
            is_formula = (isinstance(formula, str) and formula.startswith("=")) or type(formula).__name__ == "ArrayFormula"
            if raw is None and is_formula:
                shown = formula if isinstance(formula, str) else getattr(formula, "text", "")
                table.problems.append(Problem(i, _letter(j), f"a formula (`{str(shown)[:40]}`) with no saved value; "
                                                             "open and save the file in Excel, or type the value"))
            elif isinstance(raw, str) and raw.strip() in _EXCEL_ERRORS:
                table.odd[(i, j)] = f"the error value {raw.strip()}"
            else:
                odd = _odd(raw)
                if odd is not None:
                    table.odd[(i, j)] = odd
        if totals is not None:
            if any(c is not None for c in cells) or any(raw is not None for raw in formulas[i - 1] if i - 1 < len(formulas)):
                table.problems.append(Problem(i, "", f"this row is below the totals row {totals}; "
                                                     f"move it above the totals"))
            continue
        table.body.append((i, cells))
    return table


def _read_csv(path: Path) -> _Table:
    problems: list[Problem] = []
    body: list[tuple[int, list[str | None]]] = []
    header: list[str | None] | None = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            sample = f.read(4096)
            f.seek(0)
            delimiter = max((",", ";", "\t"), key=lambda d: sample.splitlines()[0].count(d) if sample else 0)
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            last = 0
            while True:
                start = last + 1
                try:
                    raw = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    problems.append(Problem(start, "", f"the CSV cannot be read from here on ({e}); "
                                                       f"is a quote left open?"))
                    break
                last = reader.line_num
                if header is None:
                    header = [_text(c) for c in raw]
                    continue
                if not raw:  # a blank line
                    continue
                for j, c in enumerate(raw):
                    if "\n" in c or "\r" in c:
                        problems.append(Problem(start, str(j + 1), f"the cell runs over lines {start}-{last}; "
                                                                   f"is a quote left open?"))
                body.append((start, [_text(c) for c in raw]))
    except UnicodeDecodeError:
        raise DataError(f"{path}: the file is not UTF-8 text") from None
    if header is None:
        if problems:
            return _Table(1, [], [], False, problems=problems)
        raise DataError(f"{path}: the file is empty; expected a header row with the sample fields")
    for row, cells in body:
        if len(cells) < len(header):
            problems.append(Problem(row, "", f"the row has {len(cells)} cell(s), the header {len(header)}; "
                                             f"is a separator missing?"))
    return _Table(1, header, body, False, problems=problems)


def _required(fields: list[m.SampleField]) -> list[m.SampleField]:
    """The fields whose column must be in the file: the personal ones the file gives (names, phone
    numbers: a case cannot be called without them). Coded and other fields may be left out."""
    return [f for f in fields if f.personal and f.formula is None]


def read_sample(compiled: Compiled, path: str | Path) -> tuple[list[tuple[int, dict[str, Any], dict[str, Any],
                                                                          int | None]], Loaded]:
    """Every row as (row, non-personal fields, personal fields, disposition), and what was found."""
    from kvpspec.semantics.expr import Evaluator

    p = Path(path)
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a sample file (give the XLSX or CSV file)")
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    loaded = Loaded(str(p))
    fields = _fields(compiled)
    by_key: dict[str, m.SampleField] = {}
    for f in fields:
        by_key[f.name.casefold()] = f
        by_key.setdefault(_norm(f.label.text), f)
    xlsx = p.suffix.lower() in (".xlsx", ".xlsm")
    names = {f.name for f in fields} | {_norm(f.label.text) for f in fields}
    table = _read_xlsx(p, compiled, names) if xlsx else _read_csv(p)
    loaded.sheet = table.sheet
    loaded.problems.extend(table.problems)
    header, hrow = table.header, table.header_row
    columns: dict[int, m.SampleField] = {}
    shown: dict[int, str] = {}
    refused: set[int] = set()  # columns whose header is already a problem
    where: dict[str, str] = {}
    for j, cell in enumerate(header):
        if cell is None:
            continue
        letter = _letter(j) if xlsx else cell
        found = by_key.get(cell.casefold()) or by_key.get(_norm(cell))
        refused.add(j)
        if found is None:
            loaded.problems.append(Problem(hrow, letter, f"`{cell[:60]}` is not a sample field of the spec"))
            continue
        if found.formula is not None:
            loaded.problems.append(Problem(hrow, letter, f"`{found.name}` is computed by the spec; leave it out"))
            continue
        label = _letter(j) if xlsx else str(j + 1)
        if found.name in where:
            loaded.problems.append(Problem(hrow, f"{label} ({cell[:40]})" if xlsx else label,
                                           f"`{found.name}` is also column {where[found.name]}; give each field once"))
            continue
        where[found.name] = label
        refused.discard(j)
        columns[j] = found
        shown[j] = f"{letter} ({found.name})" if letter != cell else found.name
    if header:
        for f in _required(fields):
            if f.name not in where:
                loaded.problems.append(Problem(hrow, "", f"no column for `{f.name}` ({f.label.text[:40]}); "
                                                         f"the sample needs it"))
    variables = compiled.lowered.variables
    evaluator = Evaluator(variables)
    personal = {f.name for f in fields if f.personal}
    specified: dict[str, list[int]] = {}
    out = []
    for row, cells in table.body:
        values: dict[str, Any] = {}
        for j, c in enumerate(cells):
            if c is not None and j not in columns and j not in refused:
                loaded.problems.append(Problem(row, _letter(j) if xlsx else str(j + 1),
                                               f"`{c[:40]}` is in a column with no header; "
                                               f"give the column a sample field's name or clear it"))
        if all(c is None for j, c in enumerate(cells) if j in columns):
            continue
        for j, f in columns.items():
            cell = cells[j] if j < len(cells) else None
            if cell is None:
                continue
            odd = table.odd.get((row, j))
            kind = variables[f.name].type if f.name in variables else (f.kind or "text")
            if odd is not None and not (kind == "decimal" and odd.startswith("the number")):
                loaded.problems.append(Problem(row, shown[j], f"`{f.name}` is {kind}; the cell holds {odd}"))
                continue
            value, problem = _value(f, cell, variables.get(f.name))
            if problem is not None:
                loaded.problems.append(Problem(row, shown[j], problem))
                continue
            if isinstance(value, tuple):  # free text for an option with a specify field
                code, specify, text = value
                values[f.name] = code
                values[specify] = text
                specified.setdefault(f.name, []).append(row)
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
    if header and not columns:
        loaded.problems.append(Problem(hrow, "", "the header holds no sample field of the spec"))
    for name, rows in specified.items():
        f = next(f for f in fields if f.name == name)
        other = next(o for o in f.options if o.specify is not None)
        assert other.specify is not None
        listed = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
        loaded.notes.append(f"{len(rows)} row(s) give text that is no option of `{name}`; kept as "
                            f"{other.code} `{other.label.text}` with the text in `{other.specify.name}` "
                            f"(row(s) {listed})")
    required = {f.name for f in _required(fields)}
    left_out = [f.name for f in fields if f.formula is None and f.name not in where and f.name not in required]
    if header and columns and left_out:
        loaded.notes.append(f"no column for {', '.join(f'`{n}`' for n in left_out)}: blank for every case")
    loaded.problems.sort(key=lambda p: (p.sheet is not None, p.sheet or "", p.row))
    return out, loaded


def _letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _value(f: m.SampleField, cell: str, var: Any) -> tuple[Any, str | None]:
    kind = var.type if var is not None else (f.kind or "text")
    if kind == "text":
        return cell, None
    if kind in ("integer", "decimal"):
        # the reader's number rules (ASCII digits, finite, 15 digits for whole numbers)
        x = number(cell.replace(",", ".") if kind == "decimal" else cell, kind == "decimal")
        if x is None:
            return None, f"`{f.name}` must be a {'number' if kind == 'decimal' else 'whole number'}; found `{cell[:40]}`"
        return (x if kind == "decimal" else int(x)), None
    codes = dict(var.values) if var is not None else {o.code: o.label for o in f.options}
    given = number(cell, False)
    if given is not None and int(given) in codes:
        return int(given), None
    wanted = _norm(cell)
    for code, label in codes.items():
        if _norm(label.text) == wanted or any(_norm(t) == wanted for t in label.translations.values()):
            return code, None
    other = next((o for o in f.options if o.specify is not None), None)
    if other is not None and given is None:
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
