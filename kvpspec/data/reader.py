"""Reading response data: CSV, XLSX and Parquet as batches of text columns,
and the one meaning of a cell that every data command uses.

Every cell is read as text (an empty cell is null: not asked), so nothing is
lost or guessed before the validator looks at it. The file is read in
batches, so a large file never sits in memory whole. Problems with the file
itself (not UTF-8, no header, duplicate column names, an unclosed quote, a
column that is no table column) raise ``DataError`` with the row; a ragged row
is kept as a finding, never silently dropped.

Rows are numbered as a spreadsheet shows them: the header is row 1, every
record after it one row (a blank line too; a quoted cell with line breaks
keeps its record one row).

CSV: line endings LF, CRLF and CR (mixed too); the delimiter ``,``, ``;`` or
tab, sniffed from the header or stated. The record boundaries are found by
``_Scanner`` in one pass over the bytes (numpy over the line breaks and
delimiters, Python only over the quote characters), so a stray quote or a
huge cell costs linear time; pyarrow parses the pieces between boundaries.

The number rules (``INTEGER``, ``DECIMAL``, ``CODES``; ``docs/validation.md``)
live here and nowhere else: ``validate``, the labelled exports and the JSON
rendering of a cell (``cell_value``) all call ``parse_numbers`` or
``number``.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kvpspec.diagnostics import InputError

BATCH_ROWS = 65_536
#: bytes of CSV per batch: small batches keep memory low, large ones amortise the
#: per-batch work; 2 MiB measured well on the KVP benchmark.
BLOCK_BYTES = 1 << 21
DELIMITERS = (",", ";", "\t")

# ---------------------------------------------------------------- the meaning of a cell

#: around a cell, spaces and tabs are ignored (nothing else)
BLANKS = " \t"
#: a whole number: an optional sign, ASCII digits, at most 15 significant
#: digits (exact in a float64, as SPSS and Stata store it)
INTEGER = r"[+-]?0*[0-9]{1,15}"
#: a number: an optional sign, ASCII digits with a point as the decimal mark,
#: an optional exponent; it must be finite as a float64 (``1e400`` is not)
DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
#: the chosen codes of a multiple-choice question: whole numbers without sign,
#: separated by spaces
CODE = r"0*[0-9]{1,15}"
CODES = rf"{CODE}( +{CODE})*"

_INTEGER_RE = re.compile(INTEGER)
_DECIMAL_RE = re.compile(DECIMAL)
_CODES_RE = re.compile(CODES)


def trim(text: str) -> str:
    """A cell without the spaces and tabs around it."""
    return text.strip(BLANKS)


def number(text: str, decimal: bool) -> float | None:
    """The number a cell holds by the rules above, or None (an empty cell too)."""
    text = trim(text)
    if not (_DECIMAL_RE if decimal else _INTEGER_RE).fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def codes(text: str) -> list[int] | None:
    """The codes of a multiple-choice cell (in the cell's order), or None."""
    text = trim(text)
    if not _CODES_RE.fullmatch(text):
        return None
    return [int(c) for c in text.split()]


def cell_value(text: str | None, kind: str) -> Any:
    """A cell as a JSON value for a variable of type ``kind``: a number, a list
    of codes, a text; the cell's text itself when it breaks the rules (so a
    schema sees a string where a number belongs); None when empty."""
    if text is None or trim(text) == "":
        return None
    if kind == "text":
        return text
    if kind == "multiple":
        return codes(text) if codes(text) is not None else text
    x = number(text, kind == "decimal")
    if x is None:
        return text
    return x if kind == "decimal" else int(x)


@dataclass
class Numbers:
    """A column read by the number rules."""

    values: np.ndarray  # float64, NaN where there is no number
    present: np.ndarray  # bool: the cell holds something (not blank)
    bad: np.ndarray  # bool: the cell holds something that is not a number


def _bool(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=bool)


def trimmed(raw: pa.Array) -> pa.Array:
    """The column without the spaces and tabs around each cell."""
    return pc.utf8_trim(raw, BLANKS)


def blank(raw: pa.Array) -> np.ndarray:
    """Cells that are empty or hold only spaces and tabs."""
    if raw.null_count == len(raw):
        return np.ones(len(raw), dtype=bool)
    return _bool(pc.fill_null(pc.equal(trimmed(raw), ""), True))


def parse_numbers(raw: pa.Array, decimal: bool) -> Numbers:
    """A column of cell texts as numbers, by ``INTEGER`` or ``DECIMAL``."""
    n = len(raw)
    if not decimal:
        fast = _whole_numbers(raw)
        if fast is not None:
            return fast
    text = trimmed(raw)
    present = ~_bool(pc.fill_null(pc.equal(text, ""), True))
    pattern = DECIMAL if decimal else INTEGER
    ok = _bool(pc.fill_null(pc.match_substring_regex(text, f"^{pattern}$"), False))
    good = present & ok
    text = pc.replace_substring_regex(text, r"^\+", "")  # pyarrow reads no plus sign
    if good.all():
        numbers = pc.cast(text, pa.float64() if decimal else pa.int64())
    else:
        numbers = pc.cast(pc.if_else(pa.array(good), text, pa.scalar(None, pa.string())),
                          pa.float64() if decimal else pa.int64())
    values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
    if decimal:
        infinite = good & ~np.isfinite(values)
        if infinite.any():
            good &= ~infinite
            values = values.copy()
            values[infinite] = np.nan
    bad = present & ~good
    if n and not good.all():
        values = values.copy()
        values[~good] = np.nan
    return Numbers(values, present, bad)


def _whole_numbers(raw: pa.Array) -> Numbers | None:
    """The common case, fast: every cell empty or plain digits.

    pyarrow's cast reads ``-?[0-9]+`` and hexadecimal ``0x..``; with no ``x``
    in the column and every value under 10**15 what it read is exactly
    ``INTEGER`` (a ``+`` or blanks make the cast fail: the slow path decides).
    """
    try:
        numbers = pc.cast(raw, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.any(pc.match_substring(raw, "x")).as_py() or pc.any(pc.match_substring(raw, "X")).as_py():
        return None
    values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if (np.abs(values) >= 1e15).any():
            return None
    present = np.ones(len(raw), dtype=bool) if raw.null_count == 0 else _bool(raw.is_valid())
    return Numbers(values, present, np.zeros(len(raw), dtype=bool))


# ---------------------------------------------------------------- the source


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
    """Some consecutive data rows: ``rows`` holds each one's spreadsheet row."""

    rows: np.ndarray
    columns: dict[str, pa.Array]

    @property
    def n(self) -> int:
        return len(self.rows)


@dataclass
class DataSource:
    """A data file opened for reading in batches.

    ``rows_read`` counts every data row that holds something (blank lines are
    no rows), the ragged ones included.
    """

    path: str
    header: list[str]
    kind: str
    delimiter: str = ","
    rows_kept: int = 0
    ragged_count: int = 0
    #: the ragged rows met and not yet taken (``take_ragged``)
    ragged: list[RaggedRow] = field(default_factory=list)
    _data_start: int = 0

    @property
    def rows_read(self) -> int:
        return self.rows_kept + self.ragged_count

    def take_ragged(self) -> list[RaggedRow]:
        """The ragged rows met since the last call (so that they need not pile up)."""
        out, self.ragged = self.ragged, []
        return out

    def _add_ragged(self, row: RaggedRow) -> None:
        self.ragged.append(row)
        self.ragged_count += 1

    def batches(self) -> Iterator[Batch]:
        reader = {"csv": self._csv_batches, "xlsx": self._xlsx_batches, "parquet": self._parquet_batches}
        self.rows_kept = 0
        self.ragged_count = 0
        self.ragged = []
        try:
            for batch in reader[self.kind]():
                self.rows_kept += batch.n
                yield batch
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read: {exc.strerror or exc}") from None

    # ------------------------------------------------------------ CSV

    def _csv_batches(self) -> Iterator[Batch]:
        path = Path(self.path)
        with path.open("rb") as f:
            f.seek(self._data_start)
            scanner = _Scanner(self.delimiter.encode(), quoted=False)
            row = 2  # the spreadsheet row of the next record
            for piece in scanner.pieces(f, BLOCK_BYTES):
                batch = self._csv_piece(path, piece, row)
                row += piece.records
                if batch is not None:
                    yield batch
            if scanner.in_quote:
                raise DataError(
                    f"{path}: row {row}: a quoted cell starts here and is never closed "
                    f"(a `\"` without its closing `\"`); the rest of the file would be one cell"
                )

    def _csv_piece(self, path: Path, piece: _Piece, first_row: int) -> Batch | None:
        """The rows of one piece: pyarrow for the common case, Python's csv
        module when the piece has ragged rows (the same reading, row by row)."""
        import pyarrow.csv as pcsv

        width = len(self.header)
        rows = first_row + np.flatnonzero(~piece.blank)
        if rows.size == 0:
            return None
        invalid = [0]

        def on_invalid(row: Any) -> str:
            invalid[0] += 1
            return "skip"

        data = piece.data
        try:
            table = pcsv.read_csv(
                pa.py_buffer(data),
                # One block per batch, parsed on this thread: as fast here (the batch is one
                # block), and pyarrow's worker threads calling `on_invalid` made the
                # process abort at exit now and then ("terminate called without an
                # active exception", 3 in 80 runs of `analyze` on an invalid sample).
                read_options=pcsv.ReadOptions(
                    column_names=self.header, use_threads=False, block_size=max(len(data) + 1, 1 << 20)
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in self.header},
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=[""],
                ),
            )
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) or "UTF-8" in str(exc):
                _check_utf8(path, self.delimiter)  # says where the bad byte is
            table = None
        if table is not None and not invalid[0] and table.num_rows == rows.size:
            return Batch(rows, {name: table.column(i).combine_chunks() for i, name in enumerate(self.header)})
        # the slow path, for a piece with a ragged row: one record at a time
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            _check_utf8(path, self.delimiter)
            raise
        kept: list[int] = []
        cells: list[list[str | None]] = [[] for _ in self.header]
        number = first_row
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=False):
            if len(record) == width:
                kept.append(number)
                for i, value in enumerate(record):
                    cells[i].append(value or None)
            elif record:
                self._add_ragged(RaggedRow(number, width, len(record), self.delimiter.join(record)[:80]))
            number += 1
        if not kept:
            return None
        return Batch(
            np.asarray(kept, dtype=np.int64),
            {name: pa.array(col, type=pa.string()) for name, col in zip(self.header, cells)},
        )

    # ------------------------------------------------------------ XLSX

    def _xlsx_batches(self) -> Iterator[Batch]:
        import openpyxl

        formulas = _xlsx_has_formulas(Path(self.path))
        book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        raw_book = openpyxl.load_workbook(self.path, read_only=True, data_only=False) if formulas else None
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            raw_rows = raw_book.worksheets[0].iter_rows(values_only=True) if raw_book is not None else None
            next(rows, None)
            if raw_rows is not None:
                next(raw_rows, None)
            width = len(self.header)
            kept: list[int] = []
            cells: list[list[str | None]] = [[] for _ in self.header]
            for number, row in enumerate(rows, start=2):
                raw = next(raw_rows, None) if raw_rows is not None else None
                values = [_cell_text(v) for v in row]
                if raw is not None:
                    for i, (value, formula) in enumerate(zip(row, raw)):
                        if value is None and isinstance(formula, str) and formula.startswith("="):
                            column = self.header[i] if i < width else f"column {i + 1}"
                            raise DataError(
                                f"{self.path}: row {number}, {column}: the cell holds the formula "
                                f"`{formula[:40]}` without a computed value (the file was written by a "
                                f"program, not saved by a spreadsheet); open and save it in a "
                                f"spreadsheet, or write values instead of formulas"
                            )
                if not any(values):
                    continue
                extra = [v for v in values[width:] if v]
                if extra:
                    self._add_ragged(RaggedRow(number, width, width + len(extra), ",".join(values)[:80]))
                    continue
                values = (values + [""] * width)[:width]
                for i, v in enumerate(values):
                    cells[i].append(v or None)
                kept.append(number)
                if len(kept) >= BATCH_ROWS:
                    yield self._xlsx_batch(kept, cells)
                    kept, cells = [], [[] for _ in self.header]
            if kept:
                yield self._xlsx_batch(kept, cells)
        finally:
            book.close()
            if raw_book is not None:
                raw_book.close()

    def _xlsx_batch(self, kept: list[int], cells: list[list[str | None]]) -> Batch:
        return Batch(
            np.asarray(kept, dtype=np.int64),
            {name: pa.array(col, type=pa.string()) for name, col in zip(self.header, cells)},
        )

    # ------------------------------------------------------------ Parquet

    def _parquet_batches(self) -> Iterator[Batch]:
        import pyarrow.parquet as pq

        row = 2
        try:
            parquet = pq.ParquetFile(self.path)
            for record_batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                columns = {
                    name: _parquet_text(self.path, name, record_batch.column(i), row)
                    for i, name in enumerate(self.header)
                }
                n = record_batch.num_rows
                yield Batch(np.arange(row, row + n, dtype=np.int64), columns)
                row += n
        except (pa.ArrowException, ValueError) as exc:
            raise DataError(f"{self.path}: cannot read as Parquet after row {row - 1}: {exc}") from None


def _parquet_text(path: str, name: str, col: pa.Array, row: int) -> pa.Array:
    """A Parquet column as cell texts; a column that holds no plain values is refused."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_floating(t):
        finite = pc.is_finite(col)
        whole = pc.and_(finite, pc.equal(col, pc.floor(col)))
        if pc.all(pc.or_kleene(whole, pc.is_null(col))).as_py() is not False and pc.all(
            pc.less(pc.abs(col), 1e15)
        ).as_py() is not False:
            return _no_empty(pc.cast(pc.cast(col, pa.int64()), pa.string()))
        return _no_empty(pc.cast(col, pa.string()))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _no_empty(pc.cast(col, pa.string()))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        try:
            return _no_empty(pc.cast(col, pa.string()))
        except pa.ArrowInvalid:
            raise DataError(
                f"{path}: column `{name}` (rows {row}..): the bytes are not UTF-8 text"
            ) from None
    if pa.types.is_boolean(t):
        return _no_empty(pc.if_else(col, "TRUE", "FALSE"))
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_temporal(t) or pa.types.is_null(t):
        return _no_empty(pc.cast(col, pa.string()))
    raise DataError(
        f"{path}: column `{name}` holds {t} values; a data column holds one plain value per row "
        f"(a number or a text)"
    )


def _no_empty(col: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


# ---------------------------------------------------------------- CSV records


@dataclass
class _Piece:
    """Whole records of a CSV file: their bytes and which of them are blank."""

    data: bytes
    blank: np.ndarray  # bool per record

    @property
    def records(self) -> int:
        return len(self.blank)


class _Scanner:
    """Finds the ends of CSV records in a stream of bytes, in one pass.

    A quote opens a quoted cell only at the start of a cell (after a
    delimiter or a line break); inside one, ``""`` is a quote and a single
    ``"`` closes it; elsewhere a ``"`` is an ordinary character. A line break
    (LF, CRLF or a lone CR) outside quotes ends a record. This is what Python's
    csv module and pyarrow read, so the pieces cut here are whole records to
    both.
    """

    def __init__(self, delimiter: bytes, quoted: bool):
        self.delimiter = delimiter[0]
        self.in_quote = quoted
        self.prev = 10  # the byte before the stream: a line break (a cell starts)
        self.last_close = -2

    def ends(self, data: bytes, final: bool) -> tuple[np.ndarray, np.ndarray, int]:
        """Ends of the records in ``data`` (offset of the last byte of each line
        break), the start of each line break, and how many bytes were looked at
        (a CR at the end of ``data`` waits for the next byte unless ``final``)."""
        size = len(data)
        if not final and size and data[-1] == 13:
            size -= 1
        arr = np.frombuffer(data, dtype=np.uint8, count=size)
        quotes = np.flatnonzero(arr == 34)
        toggles: list[int] = []
        start_state = self.in_quote
        if quotes.size:
            inq = self.in_quote
            last_close = self.last_close
            delim = self.delimiter
            for p in quotes.tolist():
                if inq:
                    toggles.append(p)
                    inq = False
                    last_close = p
                    continue
                before = data[p - 1] if p else self.prev
                if p - 1 == last_close or before == delim or before == 10 or before == 13:
                    toggles.append(p)
                    inq = True
            self.in_quote = inq
            self.last_close = last_close - size
        else:
            self.last_close -= size
        lf = np.flatnonzero(arr == 10)
        cr = np.flatnonzero(arr == 13)
        if cr.size:
            nxt = np.append(arr, np.uint8(0))[cr + 1]
            lone = cr[nxt != 10]
            breaks = np.sort(np.concatenate([lf, lone]))
            starts = breaks.copy()
            crlf_ends = lf[np.isin(lf - 1, cr)]
            starts[np.isin(breaks, crlf_ends)] -= 1
        else:
            breaks, starts = lf, lf
        if toggles:
            t = np.asarray(toggles, dtype=np.int64)
            opened = np.searchsorted(t, starts) + int(start_state)
            outside = opened % 2 == 0
            breaks, starts = breaks[outside], starts[outside]
        elif start_state:
            breaks, starts = breaks[:0], starts[:0]
        if size:
            self.prev = data[size - 1]
        return breaks, starts, size

    def pieces(self, f: Any, size: int) -> Iterator[_Piece]:
        """Whole records from ``f`` in pieces of about ``size`` bytes."""
        held: list[bytes] = []  # bytes not yet ending a record
        held_len = 0
        rest = b""
        while True:
            block = f.read(size)
            final = not block
            data = rest + block
            ends, starts, looked = self.ends(data, final)
            rest = data[looked:]
            if ends.size:
                cut = int(ends[-1]) + 1
                # record boundaries in the joined piece: the held bytes come first
                previous = np.concatenate([[-1], ends[:-1]]) + 1
                blank = starts == previous
                if held_len:
                    blank[0] = False
                piece = b"".join(held) + data[:cut] if held else data[:cut]
                yield _Piece(piece, blank)
                held, held_len = [], 0
                tail = data[cut:looked]
            else:
                tail = data[:looked]
            if tail:
                held.append(tail)
                held_len += len(tail)
            if final:
                break
        if held_len and not self.in_quote:
            last = b"".join(held)
            yield _Piece(last + b"\n", np.zeros(1, dtype=bool))


def _header_record(path: Path) -> tuple[bytes, int]:
    """The bytes of the header record and where the data start."""
    with path.open("rb") as f:
        first = f.read(1 << 16)
        line = re.split(rb"[\r\n]", first, maxsplit=1)[0]
        delimiter = _sniff(line.decode("utf-8", errors="replace"))
        f.seek(0)
        scanner = _Scanner(delimiter.encode(), quoted=False)
        offset = 0
        while True:
            block = f.read(1 << 16)
            ends, _, looked = scanner.ends(block, not block)
            if ends.size:
                end = offset + int(ends[0]) + 1
                f.seek(0)
                return f.read(end), end
            if not block:
                f.seek(0)
                data = f.read()
                return data, len(data)
            offset += looked
            f.seek(offset)


def _sniff(line: str) -> str:
    """The delimiter the header line uses most (a comma when it uses none)."""
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_data(path: str | Path, delimiter: str | None = None) -> DataSource:
    """Open a data file (by its extension: .csv, .xlsx, .parquet) and read its header.

    ``delimiter`` (CSV only) is ``,``, ``;`` or a tab; without it the header decides.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot read the file: permission denied")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise DataError(f"the delimiter must be `,`, `;` or a tab; got `{delimiter}`")
    suffix = path.suffix.lower()
    start = 0
    try:
        if suffix in (".xlsx", ".xlsm"):
            header = _xlsx_header(path)
            kind = "xlsx"
        elif suffix in (".parquet", ".pq"):
            header = _parquet_header(path)
            kind = "parquet"
        else:
            if path.stat().st_size == 0:
                raise DataError(f"{path}: the file is empty; expected a header row with the column names")
            raw, start = _header_record(path)
            with path.open("rb") as f:
                try:  # the start of the file now; the rest as it is read
                    codecs.getincrementaldecoder("utf-8")().decode(f.read(1 << 20))
                except UnicodeDecodeError:
                    _check_utf8(path, delimiter or ",")
            if delimiter is None:
                delimiter = _sniff(raw.decode("utf-8", errors="replace"))
            header = _csv_header(path, raw, delimiter)
            kind = "csv"
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    if not header or all(not h.strip() for h in header):
        raise DataError(f"{path}: the first row is empty; expected the column names")
    _check_header(path, header)
    return DataSource(str(path), header, kind, delimiter or ",", _data_start=start)


# ---------------------------------------------------------------- helpers


def _check_utf8(path: Path, delimiter: str = ",") -> None:
    """Find the first byte that is not UTF-8 and its spreadsheet row."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    scanner = _Scanner(delimiter.encode(), quoted=False)
    records, offset = 0, 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                good = chunk[: exc.start]
                ends, _, _ = scanner.ends(good, True)
                row = records + ends.size + 1
                line_start = max(good.rfind(b"\n"), good.rfind(b"\r")) + 1
                column = len(good[line_start:].decode("utf-8", errors="replace")) + 1
                raise DataError(
                    f"{path}: row {row}, character {column}: byte 0x{chunk[exc.start]:02x} is not UTF-8 "
                    f"(at byte {offset + exc.start}); save the file as UTF-8"
                ) from None
            ends, _, _ = scanner.ends(chunk, True)
            records += ends.size
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(f"{path}: the file ends inside a UTF-8 character; save it as UTF-8") from None


def _csv_header(path: Path, raw: bytes, delimiter: str) -> list[str]:
    """The header row; the rest of the file's encoding is checked as it is read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _check_utf8(path, delimiter)
        raise
    text = text.removeprefix("\ufeff")
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise DataError(f"{path}: row 1: {exc}") from None


def _xlsx_header(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 (openpyxl raises many kinds for a broken file)
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


def _xlsx_has_formulas(path: Path) -> bool:
    """Whether the first sheet holds a formula (only then is it read twice)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            if not names:
                return False
            with archive.open(names[0]) as sheet:
                tail = b""
                while chunk := sheet.read(1 << 20):
                    if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                        return True
                    tail = chunk[-3:]
    except (zipfile.BadZipFile, OSError, KeyError):
        return False
    return False


def _parquet_header(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from None


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
    """An XLSX cell as the text a CSV export of it would hold.

    A boolean stays ``TRUE``/``FALSE`` (it is no code); a whole float is
    written without ``.0``; a date in ISO form.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
