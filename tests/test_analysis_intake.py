"""analysis.py's reading of the data against kvpspec's reader: the same verdict on every cell,
ragged rows and bad cells left out with a warning, and spreadsheet-safe CSV tables (issue 10)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import generators.analysis.runtime as runtime
from kvpspec.compile import compile_text
from kvpspec.data import reader, spreadsheet
from kvpspec.data.reader import open_data
from kvpspec.data.validate import validate

from conftest import KVP
from test_testing import MIXED

CELLS = '''survey cells "Cells"
interview {
  question qi integer "I"
  question qd decimal "D"
  question qs single "S" { 1 "a" 2 "b" 9 "vet ikke" missing dont_know }
  question qm multiple "M" { 1 "a" 2 "b" 3 "c" }
}
'''
COLUMNS = {"qi": "integer", "qd": "decimal", "qs": "single", "qm": "multiple"}
CELL_ERRORS = {"type", "code", "range", "duplicate-code", "exclusive"}

#: cells that broke the chain (issue 10, items 3, 8, 12) and more of their families
HOSTILE = [
    "1", "+3", "-2", "007", " 2 ", "\t1\t", "0x10", "0X1F", "nan", "NaN", "inf", "-Infinity", "1e400",
    "1e308", "-1e-400", "1.5", "1,5", ".5", "5.", "1e3", "1E+2", "12345678901234", "123456789012345",
    "1234567890123456", "00000000000000000001", "12345678901234567890", "٣", "１", "1 2", "2 1", "1 1",
    "1  3", "01 03", "1 4", "x", "-1", "1 -2", "TRUE", "1_000", "½", "1\u00a0", "=1+1", "@SUM(1)", "9",
    "2.0", "1e0", "+", "-", ".", "e5", "1e", "3 2 1", "1 2 3 1",
]


def verdicts(tmp_path: Path, cells: list[str]) -> tuple[dict[tuple[int, str], bool], dict[tuple[int, str], bool]]:
    """(row, column) -> the cell was refused: by ``validate``, and left out by analysis.py's reading."""
    path = tmp_path / "cells.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(COLUMNS))
        w.writerows([[cell] * len(COLUMNS) for cell in cells])
    compiled = compile_text(CELLS, "cells.survey")
    report = validate(compiled, open_data(path))
    refused = {(e.row, e.column) for e in report.errors if e.rule in CELL_ERRORS}
    survey = SimpleNamespace(value_labels={"qs": {1: "a", 2: "b", 9: "vet ikke"}, "qm": {1: "a", 2: "b", 3: "c"}})
    data = runtime.load(survey, path, COLUMNS)  # type: ignore[arg-type]  # load reads value_labels only
    want, got = {}, {}
    for i, cell in enumerate(cells):
        if reader.trim(cell) == "":
            continue
        for name in COLUMNS:
            want[(i + 2, name)] = (i + 2, name) in refused
            got[(i + 2, name)] = bool(data[name].isna().iloc[i])
    return want, got


def test_the_runtime_keeps_the_readers_rules() -> None:
    """One definition: the runtime (standalone, it cannot import kvpspec) carries the reader's rules."""
    assert (runtime.INTEGER, runtime.DECIMAL, runtime.CODE, runtime.CODES) == (
        reader.INTEGER, reader.DECIMAL, reader.CODE, reader.CODES
    )
    assert runtime.BLANKS == reader.BLANKS and runtime.DELIMITERS == reader.DELIMITERS
    assert runtime.FORMULA_START == spreadsheet.FORMULA_START


def test_hostile_cells_get_the_validators_verdict(tmp_path: Path, capsys) -> None:
    want, got = verdicts(tmp_path, HOSTILE)
    assert {k: v for k, v in got.items() if v != want[k]} == {}
    assert "left out" in capsys.readouterr().err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="0123456789 +-.eEx\t٣", min_size=1, max_size=8), min_size=1, max_size=40))
def test_generated_cells_get_the_validators_verdict(tmp_path: Path, cells: list[str]) -> None:
    want, got = verdicts(tmp_path, cells)
    assert {k: v for k, v in got.items() if v != want[k]} == {}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="=+-@\t\r abc1\"'", max_size=6))
def test_csv_text_is_the_one_rule(text: str) -> None:
    assert runtime.csv_text(text) == spreadsheet.csv_text(text)


def test_ragged_rows_are_left_out_with_their_row_numbers(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"qi,qd,qs,qm\r1,2,1,1 2\r\n1,2\n\n3,4,2,3,extra\n5,6.5,9,3\r")
    data = runtime.load(SimpleNamespace(value_labels={"qs": {1: 0, 2: 0, 9: 0}, "qm": {1: 0, 2: 0, 3: 0}}),
                        path, COLUMNS)  # type: ignore[arg-type]
    assert data["qi"].tolist() == [1, 5]
    assert data["qm"].tolist() == ["1 2", "3"]
    assert "2 row(s) with the wrong number of cells are left out (row 3, 5)" in capsys.readouterr().err


def test_semicolons_and_a_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_bytes("\ufeffqi;qd;qs;qm\n1;2,5;1;1 3\n".encode())
    data = runtime.load(SimpleNamespace(value_labels={"qs": {1: 0}, "qm": {1: 0, 3: 0}}),
                        path, COLUMNS)  # type: ignore[arg-type]
    assert data["qi"].tolist() == [1] and data["qm"].tolist() == ["1 3"]
    assert data["qd"].isna().all()  # a decimal comma is no number, as for validate


def test_analyze_force_leaves_bad_cells_out_and_writes_safe_tables(tmp_path: Path) -> None:
    """`analyze --force` on ragged rows and unparseable multiple-choice cells finishes (it crashed),
    and no table CSV holds a cell a spreadsheet would run."""
    spec = tmp_path / "mixed.survey"
    spec.write_text(MIXED, encoding="utf-8")
    data = tmp_path / "data.csv"
    r = subprocess.run([sys.executable, "-m", "kvpspec", "simulate", str(spec), "-n", "300", "-o", str(data)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with data.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    j = header.index("q2")
    answered = [row for row in rows[3:] if row[j]]
    answered[0][j] = "x y"
    answered[1][j] = "=HYPERLINK(\"x\")"
    rows[2] = rows[2][:3]
    with data.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "kvpspec", "analyze", str(spec), str(data), "-o", str(out), "--force"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "row(s) with the wrong number of cells are left out (row 4)" in r.stderr
    assert "q2: 2 cell(s) are not codes of the question, each once; they are left out" in r.stderr
    tables = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    assert tables["$meta"]["data"]["rows"] == 299
    for table in (out / "tables").glob("*.csv"):
        with table.open(newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                assert not any(cell.startswith(spreadsheet.FORMULA_START) for cell in row), (table, row)


def test_table_csv_neutralises_formula_like_labels(tmp_path: Path) -> None:
    table = runtime.table_frame({"kind": "frequencies", "categories": [
        {"code": -2, "label": "=HYPERLINK(\"x\")"}, {"code": 1, "label": "+cmd|' /C calc'!A0"},
        {"code": 2, "label": "@SUM(1)"}, {"code": 3, "label": "-2+3"}, {"code": 4, "label": "plain"},
    ]})
    assert table is not None
    frame = runtime.spreadsheet_safe(table)
    assert frame["label"].tolist() == ["'=HYPERLINK(\"x\")", "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3", "plain"]
    assert frame["code"].tolist() == [-2, 1, 2, 3, 4]  # numbers are never changed


@pytest.mark.parametrize("bad", ["", "99", "x"], ids=["blank", "unknown-code", "text"])
def test_analyze_validates_the_sample_file(tmp_path: Path, bad: str) -> None:
    """A blank or unknown disposition gave a response rate silently (issue 10, item 5): now the
    sample file gets validate's report and is refused unless --force."""
    data, sample = tmp_path / "data.csv", tmp_path / "sample.csv"
    kvp = str(KVP)
    r = subprocess.run([sys.executable, "-m", "kvpspec", "simulate", kvp, "-n", "200", "-o", str(data),
                        "--sample", str(sample)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    analyze = [sys.executable, "-m", "kvpspec", "analyze", kvp, str(data), "--sample", str(sample)]
    r = subprocess.run([*analyze, "-o", str(tmp_path / "good")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # a valid sample file passes
    with sample.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    j = header.index("disposition")
    for row in rows:
        row[j] = bad
    with sample.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    r = subprocess.run([*analyze, "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{sample} has {len(rows)} invalid row(s)" in r.stderr
    assert f"{sample}: {len(rows)} rows read, 0 valid" in r.stderr
    assert not (tmp_path / "out" / "tables.json").exists()
    r = subprocess.run([*analyze, "-o", str(tmp_path / "forced"), "--force"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "analysing invalid data (--force)" in r.stderr
