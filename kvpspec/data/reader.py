"""Reading response data: CSV, XLSX and Parquet as batches of text columns.

Every cell is read as text (an empty cell is null: not asked), so nothing is
lost or guessed before the validator looks at it: a numeric column with a
stray word keeps the word for the report. The file is read in batches, so a
large file never sits in memory whole. Problems with the file itself (not
UTF-8, no header, duplicate column names) raise ``DataError`` with the row and
character; a ragged row is kept as a finding, never silently dropped.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first
data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from kvpspec.diagnostics import InputError

BATCH_ROWS = 65_536
#: bytes of CSV per batch: small batches keep memory low, large ones amortise the
#: per-batch work; 2 MiB measured well on the KVP benchmark.
BLOCK_BYTES = 1 << 21


class DataError(InputError):
    """The data file cannot be read as a table; the message says where and why."""


@dataclass
class RaggedRow:
    row: int
    expected: int
    found: int
    text: str


@dataclass
class Batch:
    """Some consecutive data rows: ``start`` is the index of the first among all kept rows."""

    start: int
    columns: dict[str, pa.Array]

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass
class DataSource:
    """A data file opened for reading in batches."""

    path: str
    header: list[str]
    kind: str
    rows_kept: int = 0
    ragged: list[RaggedRow] = field(default_factory=list)
    _kept_rows: np.ndarray | None = None

    @property
    def rows_read(self) -> int:
        return self.rows_kept + len(self.ragged)

    def sheet_row(self, index: int) -> int:
        """The spreadsheet row of the ``index``-th kept data row."""
        if self._kept_rows is not None:
            return int(self._kept_rows[index])
        return index + 2

    def batches(self) -> Iterator[Batch]:
        reader = {"csv": self._csv_batches, "xlsx": self._xlsx_batches, "parquet": self._parquet_batches}
        yield from reader[self.kind]()

    # ------------------------------------------------------------ CSV

    def _csv_batches(self) -> Iterator[Batch]:
        import pyarrow.csv as pcsv

        invalid = [0]

        def on_invalid(row) -> str:
            invalid[0] += 1
            return "skip"

        path = Path(self.path)
        read_options = pcsv.ReadOptions(column_names=self.header, use_threads=True)
        parse_options = pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid)
        convert_options = pcsv.ConvertOptions(
            column_types={name: pa.string() for name in self.header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )
        start = 0
        for chunk in _record_chunks(path, BLOCK_BYTES):
            try:
                table = pcsv.read_csv(
                    pa.py_buffer(chunk),
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
            except pa.ArrowInvalid as exc:
                if "UTF8" in str(exc) or "UTF-8" in str(exc):
                    _check_utf8(path)  # says where the bad byte is
                raise DataError(f"{path}: cannot read as CSV near row {start + 2}: {exc}") from None
            batch = Batch(start, {name: table.column(i).combine_chunks() for i, name in enumerate(self.header)})
            start += batch.n
            yield batch
        self.rows_kept = start
        if invalid[0]:
            # Ragged rows: find each with Python's csv module (this slow path runs
            # only for a broken file) and number the kept rows accordingly.
            self.ragged, kept = _locate_ragged(path, len(self.header))
            if len(kept) == start:
                self._kept_rows = np.asarray(kept, dtype=np.int64)

    # ------------------------------------------------------------ XLSX

    def _xlsx_batches(self) -> Iterator[Batch]:
        import openpyxl

        book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            next(rows, None)
            width = len(self.header)
            kept: list[int] = []
            cells: list[list[str | None]] = [[] for _ in self.header]
            start = 0
            for number, row in enumerate(rows, start=2):
                values = [_cell_text(v) for v in row]
                if not any(values):
                    continue
                extra = [v for v in values[width:] if v]
                if extra:
                    self.ragged.append(RaggedRow(number, width, width + len(extra), ",".join(values)[:80]))
                    continue
                values = (values + [""] * width)[:width]
                for i, v in enumerate(values):
                    cells[i].append(v or None)
                kept.append(number)
                if len(kept) - start >= BATCH_ROWS:
                    yield self._xlsx_batch(start, cells)
                    start = len(kept)
                    cells = [[] for _ in self.header]
            if cells and cells[0]:
                yield self._xlsx_batch(start, cells)
            self.rows_kept = len(kept)
            self._kept_rows = np.asarray(kept, dtype=np.int64)
        finally:
            book.close()

    def _xlsx_batch(self, start: int, cells: list[list[str | None]]) -> Batch:
        return Batch(start, {name: pa.array(col, type=pa.string()) for name, col in zip(self.header, cells)})

    # ------------------------------------------------------------ Parquet

    def _parquet_batches(self) -> Iterator[Batch]:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        start = 0
        for record_batch in pq.ParquetFile(self.path).iter_batches(batch_size=BATCH_ROWS):
            columns = {}
            for i, name in enumerate(self.header):
                col = record_batch.column(i)
                if pa.types.is_floating(col.type):
                    integral = pc.all(pc.equal(col, pc.floor(col))).as_py()
                    if integral is not False:
                        col = pc.cast(col, pa.int64())
                if not pa.types.is_string(col.type):
                    col = pc.cast(col, pa.string())
                col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
                columns[name] = col
            batch = Batch(start, columns)
            start += batch.n
            yield batch
        self.rows_kept = start


def _record_chunks(path: Path, size: int) -> Iterator[bytes]:
    """The data rows of a CSV file in pieces of about ``size`` bytes, cut only
    between records (at a line break outside quotes), the header left out.

    pyarrow's own streaming reader reads far ahead of what is consumed (the
    whole file, measured); reading in bounded pieces keeps memory near one
    piece whatever the file size.
    """
    with path.open("rb") as f:
        head = f.readline()
        carry = b""
        quoted = head.count(b'"') % 2 == 1  # a header cell with a line break
        while True:
            block = f.read(size)
            if not block:
                break
            data = carry + block
            cut = _last_record_end(data, quoted)
            if cut < 0:
                carry = data
                continue
            piece, carry = data[: cut + 1], data[cut + 1 :]
            quoted = False
            if piece.startswith(b"\xef\xbb\xbf"):
                piece = piece[3:]
            yield piece
        if carry.strip():
            yield carry if carry.endswith(b"\n") else carry + b"\n"


def _last_record_end(data: bytes, quoted: bool) -> int:
    """The offset of the last line break in ``data`` that ends a record (-1 if none)."""
    cut = data.rfind(b"\n")
    while cut >= 0:
        if (data.count(b'"', 0, cut) + quoted) % 2 == 0:
            return cut
        cut = data.rfind(b"\n", 0, cut)
    return -1


def open_data(path: str | Path) -> DataSource:
    """Open a data file (by its extension: .csv, .xlsx, .parquet) and read its header."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        header = _xlsx_header(path)
        kind = "xlsx"
    elif suffix in (".parquet", ".pq"):
        header = _parquet_header(path)
        kind = "parquet"
    else:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty; expected a header row with the column names")
        header = _csv_header(path)
        kind = "csv"
    if not header or all(not h.strip() for h in header):
        raise DataError(f"{path}: the first row is empty; expected the column names")
    _check_header(path, header)
    return DataSource(str(path), header, kind)


# ---------------------------------------------------------------- helpers


def _check_utf8(path: Path) -> None:
    """Find the first byte that is not UTF-8, in chunks (no copy of the whole file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, column, offset = 1, 1, 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                good = chunk[: exc.start].decode("utf-8", errors="replace")
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


def _csv_header(path: Path) -> list[str]:
    """The header row; the rest of the file's encoding is checked as it is read."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        try:
            return next(csv.reader(f))
        except StopIteration:
            return []
        except csv.Error as exc:
            raise DataError(f"{path}: row 1: {exc}") from None
        except UnicodeDecodeError:
            _check_utf8(path)
            raise


def _xlsx_header(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a broken file
        raise DataError(f"{path}: cannot read as XLSX: {exc}") from None
    try:
        first = next(book.worksheets[0].iter_rows(values_only=True), None)
    finally:
        book.close()
    if first is None:
        raise DataError(f"{path}: the first sheet is empty; expected a header row")
    header = [_cell_text(v) for v in first]
    while header and header[-1] == "":
        header.pop()
    return header


def _parquet_header(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except Exception as exc:
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from None


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
                ragged.append(RaggedRow(number, width, len(record), ",".join(record)[:80]))
    return ragged, kept


def _check_header(path: Path, header: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name.strip():
            raise DataError(f"{path}: row 1, column {i}: a column has no name")
        if name in seen:
            raise DataError(
                f"{path}: row 1, column {i}: the column name `{name}` is used twice "
                f"(also column {seen[name]})"
            )
        seen[name] = i


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

