"""Reading an XLSForm: its sheets as rows of named cells, each with its position.

An XLSForm is a workbook with a ``survey`` sheet (and usually ``choices`` and
``settings``). It is read from ``.xlsx`` (openpyxl), ``.xls`` (xlrd, which
pyxform installs), ``.csv`` (pyxform's one-file layout: a row naming a sheet in
the first column, the sheet's rows below it from the second column) or ``.md``
(pyxform's markdown tables, the same layout between ``|``). Every cell keeps
its sheet, row number and column letter so that a note or an error can point
at it. Headers are normalised as pyxform does (``label:English`` is
``label::English``, ``list name`` is ``list_name``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from kvpspec.diagnostics import InputError

SHEETS = ("survey", "choices", "settings")


@dataclass(frozen=True)
class Position:
    sheet: str
    row: int
    column: str  # the column's letter ("C") and, after it, its header ("C (relevant)")

    def __str__(self) -> str:
        return f"{self.sheet}, row {self.row}, column {self.column}"


@dataclass
class Row:
    sheet: str
    number: int
    cells: dict[str, str]
    letters: dict[str, str]
    #: columns whose cell is a formula without a value saved with it (read as empty)
    formulas: set[str] = field(default_factory=set)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def at(self, column: str) -> Position:
        letter = self.letters.get(column)
        if letter is None:
            return Position(self.sheet, self.number, f"({column})")
        return Position(self.sheet, self.number, f"{letter} ({column})")

    @property
    def start(self) -> Position:
        return Position(self.sheet, self.number, "A")


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    #: what reading changed: a repeated header, a formula without a value
    notes: list[tuple[Position, str]] = field(default_factory=list)


@dataclass
class Workbook:
    path: str
    sheets: dict[str, Sheet]

    def sheet(self, name: str) -> Sheet | None:
        return self.sheets.get(name)


_HEADER_ALIASES = {
    "list name": "list_name",
    "list_name": "list_name",
    "repeat count": "repeat_count",
    "jr:count": "repeat_count",
    "count": "repeat_count",
    "calculate": "calculation",
    "relevance": "relevant",
    "constraint message": "constraint_message",
    "jr:constraintmsg": "constraint_message",
    "required message": "required_message",
    "jr:requiredmsg": "required_message",
    "guidance hint": "guidance_hint",
    "choice filter": "choice_filter",
    "read only": "read_only",
    "readonly": "read_only",
    "value": "name",
}


def normalise_header(text: str) -> str:
    text = text.strip()
    base, sep, lang = text.partition("::")
    if not sep:
        base, sep, lang = text.partition(":")
        if sep and base.strip().lower() in ("jr", "bind", "body", "instance", "media"):
            return text.strip().lower()
    base = base.strip().lower()
    base = _HEADER_ALIASES.get(base, base)
    if sep:
        return f"{base}::{lang.strip()}"
    return base


def column_letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_from_grid(name: str, grid: list[list[str]], first_row: int = 1, first_col: int = 0,
                     row_numbers: list[int] | None = None,
                     formulas: dict[tuple[int, int], str] | None = None) -> Sheet:
    """A sheet from its rows of cell texts; the first non-empty row is the header.

    ``formulas``: (row number, column index) of the cells that hold a formula
    without a saved value, with the formula; each is a note, and is read as empty.
    """
    numbers = row_numbers or [first_row + i for i in range(len(grid))]
    formulas = formulas or {}
    headers: list[str] = []
    sheet = Sheet(name, headers)
    header_seen = False
    first_of: dict[str, int] = {}
    for values, number in zip(grid, numbers, strict=True):
        if not any(values) and not any((number, i) in formulas for i in range(len(values))):
            continue
        if not header_seen:
            headers.extend(normalise_header(v) for v in values)
            header_seen = True
            for i, h in enumerate(headers):
                if not h:
                    continue
                if h in first_of:
                    sheet.notes.append((Position(name, number, f"{column_letter(i + first_col)} ({h})"),
                                        f"the header `{h}` repeats column {column_letter(first_of[h] + first_col)}; "
                                        "a cell of this column is read only where that column's cell is empty"))
                else:
                    first_of[h] = i
            continue
        cells: dict[str, str] = {}
        letters: dict[str, str] = {}
        row_formulas: set[str] = set()
        for i, value in enumerate(values):
            if i >= len(headers) or not headers[i]:
                continue
            key = headers[i]
            formula = formulas.get((number, i + first_col))
            if formula is not None:
                letter = column_letter(i + first_col)
                sheet.notes.append((Position(name, number, f"{letter} ({key})"),
                                    f"the formula `{formula}` has no value saved with it (open and save the "
                                    "workbook in a spreadsheet program to compute it); read as empty"))
            if cells.get(key):
                if value and value != cells[key]:
                    sheet.notes.append((Position(name, number, f"{column_letter(i + first_col)} ({key})"),
                                        f"`{_short(value)}` is left out: column {letters[key].split()[0]} "
                                        f"of the same header `{key}` gives `{_short(cells[key])}`"))
                continue
            cells[key] = value
            letters[key] = column_letter(i + first_col)
            if formula is not None:
                row_formulas.add(key)
            else:
                row_formulas.discard(key)
        sheet.rows.append(Row(name, number, cells, letters, row_formulas))
    return sheet


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _read_xlsx_fast(path: Path) -> dict[str, Sheet] | None:
    """The sheets straight from the workbook's XML (shared strings, inline strings, numbers, booleans).

    About ten times faster than openpyxl's reader; None when the file uses
    something this reader does not know, and openpyxl reads it instead.
    """
    import posixpath
    import zipfile
    from xml.etree import ElementTree as ET

    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            wb = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            shared: list[str] = []
            if "xl/sharedStrings.xml" in names:
                for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(f"{_NS}si"):
                    shared.append("".join(t.text or "" for t in si.iter(f"{_NS}t")))
            sheets: dict[str, Sheet] = {}
            for sh in wb.iter(f"{_NS}sheet"):
                title = (sh.get("name") or "").strip()
                target = targets.get(sh.get(_REL) or "", "")
                member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                if member not in names:
                    return None
                grid: dict[int, dict[int, str]] = {}
                formulas: dict[tuple[int, int], str] = {}
                for row in ET.fromstring(z.read(member)).iter(f"{_NS}row"):
                    for c in row.iter(f"{_NS}c"):
                        mt = _CELL_REF.match(c.get("r") or "")
                        if mt is None:
                            return None
                        kind = c.get("t", "n")
                        v = c.find(f"{_NS}v")
                        if kind == "s":
                            text = shared[int(v.text or 0)] if v is not None else ""
                        elif kind == "inlineStr":
                            text = "".join(t.text or "" for t in c.iter(f"{_NS}t"))
                        elif kind == "b":
                            text = "true" if v is not None and v.text == "1" else "false"
                        elif kind in ("str", "e"):
                            text = v.text or "" if v is not None else ""
                        else:
                            text = _cell_text(float(v.text)) if v is not None and v.text else ""
                        f = c.find(f"{_NS}f")
                        if f is not None and (v is None or not v.text) and kind != "inlineStr":
                            formulas[(int(mt.group(2)), _column_index(mt.group(1)))] = "=" + (f.text or "")
                        grid.setdefault(int(mt.group(2)), {})[_column_index(mt.group(1))] = text.strip()
                if not grid:
                    sheets.setdefault(title.lower(), Sheet(title, []))
                    continue
                width = max(max(cols) for cols in grid.values()) + 1
                numbers = sorted(grid)
                rows = [[grid[r].get(i, "") for i in range(width)] for r in numbers]
                sheets.setdefault(title.lower(), _sheet_from_grid(title, rows, row_numbers=numbers, formulas=formulas))
            return sheets
    except (KeyError, ValueError, IndexError, ET.ParseError, zipfile.BadZipFile, OSError):
        return None


def _read_xlsx(path: Path) -> dict[str, Sheet]:
    fast = _read_xlsx_fast(path)
    if fast is not None:
        return fast
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise InputError("reading .xlsx needs openpyxl (pip install openpyxl)") from exc
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(f"{path}: not an .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    sheets: dict[str, Sheet] = {}
    try:
        for ws in wb.worksheets:
            grid = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            sheets.setdefault(ws.title.strip().lower(), _sheet_from_grid(ws.title.strip(), grid))
    finally:
        wb.close()
    return sheets


def _read_xls(path: Path) -> dict[str, Sheet]:
    try:
        import xlrd  # type: ignore[import-untyped]
    except ImportError as exc:
        raise InputError("reading .xls needs xlrd (pip install xlrd), or save the form as .xlsx") from exc
    try:
        book = xlrd.open_workbook(str(path))
    except Exception as exc:
        raise InputError(f"{path}: not an .xls workbook ({exc})") from exc
    sheets: dict[str, Sheet] = {}
    for ws in book.sheets():
        grid = [[_cell_text(ws.cell_value(r, c)) for c in range(ws.ncols)] for r in range(ws.nrows)]
        sheets.setdefault(ws.name.strip().lower(), _sheet_from_grid(ws.name.strip(), grid))
    return sheets


def _read_layout(rows: list[tuple[int, list[str]]]) -> dict[str, Sheet]:
    """pyxform's one-file layout: a sheet's name in column A, its rows below from column B."""
    sheets: dict[str, Sheet] = {}
    current: str | None = None
    grids: dict[str, tuple[list[list[str]], list[int]]] = {}
    for number, values in rows:
        if values and values[0]:
            current = values[0]
            grids.setdefault(current, ([], []))
            rest = values[1:]
            if any(rest):
                grids[current][0].append(rest)
                grids[current][1].append(number)
            continue
        if current is None:
            if any(values):
                raise InputError(f"row {number}: a row before any sheet name (column A names the sheet: survey, choices, settings)")
            continue
        grids[current][0].append(values[1:])
        grids[current][1].append(number)
    for name, (grid, numbers) in grids.items():
        sheets.setdefault(name.strip().lower(), _sheet_from_grid(name.strip(), grid, first_col=1, row_numbers=numbers))
    return sheets


def _read_csv(text: str) -> dict[str, Sheet]:
    rows = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(csv.reader(io.StringIO(text)))]
    return _read_layout(rows)


_MD_ROW = re.compile(r"^\s*\|(.*)\|\s*$")


def read_markdown(text: str) -> dict[str, Sheet]:
    """pyxform's markdown form: ``| survey |`` then ``| | type | name | label |`` rows."""
    rows: list[tuple[int, list[str]]] = []
    for i, line in enumerate(text.splitlines()):
        mt = _MD_ROW.match(line)
        if mt is None:
            continue
        cells = [c.strip() for c in mt.group(1).split("|")]
        if all(re.fullmatch(r":?-+:?|", c) for c in cells):
            continue
        rows.append((i + 1, cells))
    return _read_layout(rows)


def read_workbook(path: str | Path) -> Workbook:
    """The sheets of an XLSForm file; ``InputError`` when it cannot be read as one."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        raise InputError(f"{p}: no such file")
    try:
        if suffix in (".xlsx", ".xlsm"):
            sheets = _read_xlsx(p)
        elif suffix == ".xls":
            sheets = _read_xls(p)
        elif suffix == ".csv":
            sheets = _read_csv(p.read_text(encoding="utf-8-sig"))
        elif suffix == ".md":
            sheets = read_markdown(p.read_text(encoding="utf-8-sig"))
        else:
            raise InputError(f"{p}: not an XLSForm file (expected .xlsx, .xls, .csv or .md)")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    return Workbook(str(p), sheets)
