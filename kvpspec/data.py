"""Reading response data: CSV, XLSX and Parquet into columns of text.

Every cell is read as text first, so nothing is lost or guessed before the
validator looks at it: an empty cell is ``""`` (not asked), and a numeric
column with a stray word keeps the word for the report. Problems with the
file itself (not UTF-8, ragged rows, no header, duplicate column names) are
``DataError``s located by row and column; a ragged row is also kept as a
finding, never silently dropped.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first
data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa


class DataError(Exception):
    """The data file cannot be read as a table; the message says where and why."""


@dataclass
class RaggedRow:
    row: int
    expected: int
    found: int
    text: str


@dataclass
class Table:
    """A data file as text columns."""

    path: str
    columns: dict[str, pa.ChunkedArray]
    n_rows: int
    #: the spreadsheet row of each kept data row (header is row 1)
    rows: np.ndarray
    ragged: list[RaggedRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.n_rows + len(self.ragged)


def read_table(path: str | Path) -> Table:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    return _read_csv(path)


# ---------------------------------------------------------------- CSV


def _check_utf8(path: Path) -> None:
    """Find the first byte that is not UTF-8, in chunks (no copy of the whole file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, column, offset = 1, 1, 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                before = chunk[: exc.start]
                good = before.decode("utf-8", errors="replace")
                nl = good.count("\n")
                if nl:
                    line += nl
                    column = len(good) - good.rfind("\n")
                else:
                    column += len(good)
                raise DataError(
                    f"{path}: row {line}, character {column}: byte 0x{chunk[exc.start]:02x} is not UTF-8 "
                    f"(at byte {offset + exc.start}); save the file as UTF-8"
                ) from None
            nl = text.count("\n")
            if nl:
                line += nl
                column = len(text) - text.rfind("\n")
            else:
                column += len(text)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(f"{path}: the file ends inside a UTF-8 character; save it as UTF-8") from None


def _read_csv(path: Path) -> Table:
    import pyarrow.csv as pcsv

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected a header row with the column names")
    _check_utf8(path)
    header = _csv_header(path)
    if not header or header == [""]:
        raise DataError(f"{path}: the first row is empty; expected the column names")
    _check_header(path, header)
    invalid: list[int] = []

    def on_invalid(row) -> str:
        invalid.append(row.actual_columns)
        return "skip"

    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=header, skip_rows=1, use_threads=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: cannot read as CSV: {exc}") from None
    columns = {name: table.column(name) for name in header}
    if not invalid:
        rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
        return Table(str(path), columns, table.num_rows, rows)
    # Ragged rows: find each one's row with Python's csv module (the slow path
    # runs only for a broken file) and number the kept rows accordingly.
    ragged, kept = _locate_ragged(path, len(header))
    if len(kept) != table.num_rows:  # pragma: no cover - the two readers disagree
        raise DataError(f"{path}: ragged rows could not be located; check the quoting")
    return Table(str(path), columns, table.num_rows, np.asarray(kept, dtype=np.int64), ragged)


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        try:
            return next(csv.reader(f))
        except StopIteration:
            return []
        except csv.Error as exc:
            raise DataError(f"{path}: row 1: {exc}") from None


def _locate_ragged(path: Path, width: int) -> tuple[list[RaggedRow], list[int]]:
    ragged: list[RaggedRow] = []
    kept: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for number, record in enumerate(reader, start=2):
            if len(record) == width:
                kept.append(number)
            elif record:  # a blank line is no row for pyarrow either
                text = ",".join(record)
                ragged.append(RaggedRow(number, width, len(record), text[:80]))
    return ragged, kept


def _check_header(path: Path, header: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"{path}: row 1, column {i}: the column name `{name}` is used twice "
                f"(also column {seen[name]})"
            )
        if not name.strip():
            raise DataError(f"{path}: row 1, column {i}: a column has no name")
        seen[name] = i


# ---------------------------------------------------------------- XLSX and Parquet


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return str(value)


def _read_xlsx(path: Path) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a broken file
        raise DataError(f"{path}: cannot read as XLSX: {exc}") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        raise DataError(f"{path}: the first sheet is empty; expected a header row")
    header = [_cell_text(v) for v in header_row]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise DataError(f"{path}: the first row is empty; expected the column names")
    _check_header(path, header)
    width = len(header)
    cells: list[list[str]] = [[] for _ in header]
    numbers: list[int] = []
    ragged: list[RaggedRow] = []
    for number, row in enumerate(rows, start=2):
        values = [_cell_text(v) for v in row]
        if not any(values):
            continue
        extra = [v for v in values[width:] if v != ""]
        if extra:
            ragged.append(RaggedRow(number, width, width + len(extra), ",".join(values)[:80]))
            continue
        values = (values + [""] * width)[:width]
        for i, v in enumerate(values):
            cells[i].append(v)
        numbers.append(number)
    book.close()
    columns = {name: pa.chunked_array([pa.array(col, type=pa.string())]) for name, col in zip(header, cells)}
    return Table(str(path), columns, len(numbers), np.asarray(numbers, dtype=np.int64), ragged)


def _read_parquet(path: Path) -> Table:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from None
    _check_header(path, table.column_names)
    columns = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_floating(col.type):
            integral = pc.all(pc.equal(col, pc.floor(col))).as_py()
            if integral is not False:
                col = pc.cast(col, pa.int64())
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        columns[name] = pc.fill_null(col, "")
    return Table(str(path), columns, table.num_rows, np.arange(2, table.num_rows + 2, dtype=np.int64))
