"""The sample loader loses nothing (issue 13): every row and cell of the registration
workbook or CSV file is loaded or rejected with its place (sheet, row, column), and a
file with any problem loads nothing."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import KVP

from kvpspec import compile_file
from kvpspec.compile import Compiled
from kvpspec.data.reader import DataError
from kvpspec.fieldwork import db, store
from kvpspec.fieldwork.sample import SampleInvalid, load_sample, read_sample


@cache
def kvp() -> Compiled:
    return compile_file(KVP)


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty registration workbook that ``build --only registration`` makes."""
    from kvpspec.build import build

    root = tmp_path_factory.mktemp("blank")
    build(kvp(), root / "build", only=("registration",))
    return root / "build" / "documents" / "vedlegg4.xlsx"


def workbook(blank: Path, tmp_path: Path, cells: dict[tuple[int, int], Any], *, extra: str | None = None) -> Path:
    """The blank form with cells (row offset below the header, column) filled in; the header's row is 0."""
    from openpyxl import load_workbook

    wb = load_workbook(blank)
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 40) if ws.cell(r, 1).value == "Etternavn")
    for (r, c), value in cells.items():
        ws.cell(header + r, c).value = value
    if extra is not None:
        wb.create_sheet(extra)["B3"] = "Nordmann"
    path = tmp_path / "form.xlsx"
    wb.save(path)
    return path


def header_and_totals(path: Path) -> tuple[int, int]:
    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]
    header = next(r for r in range(1, 40) if ws.cell(r, 1).value == "Etternavn")
    totals = next(r for r in range(header + 1, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("Antall"))
    return header, totals


def problems(path: Path) -> list[str]:
    return [p.text() for p in read_sample(kvp(), path)[1].problems]


OK = {(1, 1): "Hansen", (1, 2): "Kari", (1, 3): "92680108", (1, 4): "Engelsk"}


def test_a_clean_workbook_has_no_problem_and_the_lists_sheet_is_not_data(blank: Path, tmp_path: Path) -> None:
    rows, loaded = read_sample(kvp(), workbook(blank, tmp_path, {**OK, (2, 1): "Berg", (2, 3): 41234567}))
    assert loaded.problems == [] and loaded.sheet == "Registreringsskjema"
    assert [(public, private) for _, public, private, _ in rows] == [
        ({"sprak": 2}, {"etternavn": "Hansen", "fornavn": "Kari", "telefon": "92680108", "navn": "Kari Hansen"}),
        ({}, {"etternavn": "Berg", "telefon": "41234567", "navn": None}),
    ]


def test_rows_below_the_totals_are_a_problem_not_dropped(blank: Path, tmp_path: Path) -> None:
    header, totals = header_and_totals(blank)
    path = workbook(blank, tmp_path, {**OK, (totals - header + 42, 1): "Far", (totals - header + 42, 3): "3"})
    assert problems(path) == [f"row {totals + 42}: this row is below the totals row {totals}; move it above the totals"]


def test_a_formula_without_a_saved_value_is_a_problem(blank: Path, tmp_path: Path) -> None:
    header, _ = header_and_totals(blank)
    path = workbook(blank, tmp_path, {**OK, (2, 1): '=B2&"x"', (2, 2): "Ola"})  # openpyxl saves no value
    assert problems(path) == [f'row {header + 2}, column A: a formula (`=B2&"x"`) with no saved value; '
                              "open and save the file in Excel, or type the value"]


def test_a_value_in_a_column_without_a_header_is_a_problem(blank: Path, tmp_path: Path) -> None:
    header, _ = header_and_totals(blank)
    path = workbook(blank, tmp_path, {**OK, (1, 7): "stray note"})
    assert problems(path) == [f"row {header + 1}, column G: `stray note` is in a column with no header; "
                              "give the column a sample field's name or clear it"]


def test_another_sheet_with_data_is_a_problem(blank: Path, tmp_path: Path) -> None:
    path = workbook(blank, tmp_path, OK, extra="Ark2")
    assert problems(path) == ["sheet Ark2, row 3, column B: this sheet holds data, but only the first sheet "
                              "(Registreringsskjema) is read; move the rows there"]
    eng, _ = store.open_database(f"sqlite:///{tmp_path / 'x.db'}", kvp())
    with pytest.raises(SampleInvalid) as e:  # all or nothing; the message names the file and the sheet
        load_sample(eng, kvp(), path)
    assert str(e.value).startswith(f"{path} (sheet Registreringsskjema): 1 problem(s); nothing was loaded")
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.cases)).scalar() == 0
    eng.dispose()


def test_a_date_or_a_fraction_in_a_text_field_is_a_problem(blank: Path, tmp_path: Path) -> None:
    header, _ = header_and_totals(blank)
    path = workbook(blank, tmp_path, {**OK, (1, 3): dt.datetime(2020, 1, 1), (2, 1): "Berg", (2, 2): 3.5,
                                      (2, 3): 41234567, (2, 4): True})
    assert problems(path) == [
        f"row {header + 1}, column C (telefon): `telefon` is text; the cell holds a date or time (2020-01-01), "
        "not text; format the column as text and type the value again",
        f"row {header + 2}, column B (fornavn): `fornavn` is text; the cell holds the number 3.5",
        f"row {header + 2}, column D (sprak): `sprak` is single; the cell holds a truth value (TRUE)",
    ]


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_duplicate_header_ragged_row_and_open_quote_are_problems(tmp_path: Path) -> None:
    assert problems(csv_file(tmp_path, "etternavn,etternavn,fornavn,telefon,sprak\nA,B,Kari,1,1\n")) == [
        "row 1, column 2: `etternavn` is also column 1; give each field once"]
    assert problems(csv_file(tmp_path, "etternavn,fornavn,telefon,sprak\nHansen,Kari,1\nBerg,Ola,2,1,\n")) == [
        "row 2: the row has 3 cell(s), the header 4; is a separator missing?"]  # a trailing empty cell is fine
    assert problems(csv_file(tmp_path, "etternavn,fornavn,telefon,sprak\nA,B,1,2,3\n")) == [
        "row 2, column 5: `3` is in a column with no header; give the column a sample field's name or clear it"]
    assert problems(csv_file(tmp_path, 'etternavn,fornavn,telefon,sprak\nA,B,1,2\n"open,a,b,1\nC,D,2,1\n')) == [
        "row 3: the CSV cannot be read from here on (unexpected end of data); is a quote left open?"]
    assert problems(csv_file(tmp_path, 'etternavn,fornavn,telefon,sprak\n"A\nB",C,1,2\nD,E,2,1\n')) == [
        "row 2, column 1: the cell runs over lines 2-3; is a quote left open?"]
    rows, loaded = read_sample(kvp(), csv_file(tmp_path, 'etternavn,fornavn,telefon,sprak\n"A, jr",B,1,2\n'))
    assert loaded.problems == [] and rows[0][2]["etternavn"] == "A, jr"  # a quoted separator is data


def test_csv_missing_columns(tmp_path: Path) -> None:
    # the personal fields the file gives are needed (no name or number, no call): a missing one is a problem
    assert problems(csv_file(tmp_path, "etternavn,fornavn\nHansen,Kari\n")) == [
        "row 1: no column for `telefon` (Telefonnummer); the sample needs it"]
    # coded fields may be left out: blank for every case, and said in a note
    rows, loaded = read_sample(kvp(), csv_file(tmp_path, "etternavn,fornavn,telefon\nHansen,Kari,1\n"))
    assert loaded.problems == [] and len(rows) == 1
    assert loaded.notes == ["no column for `sprak`, `arsak`, `disposition`: blank for every case"]


def cli(*args: str) -> Any:
    from kvpspec.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_notes_free_text_kept_as_the_specify_option_and_refuses_a_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    (tmp_path / "dir.xlsx").mkdir()
    done = cli("fieldwork", "load", str(KVP), str(tmp_path / "dir.xlsx"), "--db", url)
    assert done.exit_code == 2 and "dir.xlsx: is a directory" in done.stderr, done.stderr
    path = csv_file(tmp_path, "etternavn,fornavn,telefon,sprak,arsak,disposition\n"
                              "A,B,1,Klingon,,\nC,D,2,Engelsk,,\nE,F,3,Tigrinja,,\n")
    done = cli("fieldwork", "load", str(KVP), str(path), "--db", url)
    assert done.exit_code == 0 and "3 case(s) loaded" in done.stdout, done.stderr
    assert ("kvpspec: note: 2 row(s) give text that is no option of `sprak`; kept as 11 `Annet språk` "
            "with the text in `sprak_annet` (row(s) 2, 4)") in done.stderr
    with pytest.raises(DataError, match="is a directory"):
        read_sample(kvp(), tmp_path / "dir.xlsx")


def test_a_code_by_the_readers_number_rules(tmp_path: Path) -> None:
    # `²` passes str.isdigit but is no code: it used to reach int() and end in a traceback
    found = problems(csv_file(tmp_path, "etternavn,fornavn,telefon,disposition\nHansen,Kari,1,²\n"))
    assert len(found) == 1 and "`²` is neither a code nor an option of `disposition`" in found[0], found
    rows, loaded = read_sample(kvp(), csv_file(tmp_path, "etternavn,fornavn,telefon,disposition\nHansen,Kari,1, 6\n"))
    assert loaded.problems == [] and len(rows) == 1
