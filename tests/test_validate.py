"""The validator: planted faults are found, files are read whole, reports are complete."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from kvpspec.cli import cli
from kvpspec.compile import compile_file, compile_text
from kvpspec.data.reader import DataError, open_data
from kvpspec.data.validate import validate

from conftest import KVP

COLUMNS = (
    ["lopenr", "q1", "q2", "q3", "q4", "q4_other", "q5", "q5_other", "q6a", "q6b", "q7"]
    + [f"q8{c}" for c in "abcdefghi"]
    + ["q9", "q9_other"]
    + [f"q10{c}" for c in "abcdef"]
    + ["q11", "q12"]
)


def good_row(i: int) -> dict:
    row = {c: "" for c in COLUMNS}
    row |= {"lopenr": i, "q1": 1 + i % 7, "q2": 1 + i % 12, "q3": [0, 5, 20, 99][i % 4], "q4": 1 + i % 3,
            "q5": 1 + i % 9, "q9": 1 + i % 8, "q11": 18 + i % 50, "q12": 1 + i % 2}
    row["q4_other"] = "Sverige" if row["q4"] == 2 else ""
    row["q5_other"] = "Noe annet" if row["q5"] == 8 else ""
    row["q9_other"] = "Annet" if row["q9"] == 7 else ""
    for c in ["q6a", "q6b", "q7"] + [f"q8{c}" for c in "abcdefghi"] + [f"q10{c}" for c in "abcdef"]:
        row[c] = 1 + i % 5
    return row


def write(path, rows, columns=COLUMNS) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def kvp():
    return compile_file(KVP)


def findings(kvp, path):
    report = validate(kvp, open_data(path))
    return report, sorted((f.row, f.column, f.rule) for f in report.errors)


def test_clean_data(kvp, tmp_path) -> None:
    path = tmp_path / "ok.csv"
    write(path, [good_row(i) for i in range(1, 101)])
    report, errors = findings(kvp, path)
    assert errors == []
    assert (report.rows_read, report.rows_valid) == (100, 100)


PLANTED = [
    ({"q4": 2, "q4_other": ""}, "q4_other", "asked-empty"),
    ({"q4": 1, "q4_other": "Norge"}, "q4_other", "skipped-answered"),
    ({"q1": 8}, "q1", "code"),
    ({"q11": 102}, "q11", "range"),
    ({"q3": 75}, "q3", "range"),
    ({"q3": "tre"}, "q3", "type"),
    ({"q3": "4.5"}, "q3", "type"),
    ({"q7": ""}, "q7", "asked-empty"),
    ({"lopenr": 3}, "lopenr", "duplicate-id"),
]


@pytest.mark.parametrize("change, column, rule", PLANTED, ids=[p[2] + "-" + p[1] for p in PLANTED])
def test_planted_fault_is_found_alone(kvp, tmp_path, change, column, rule) -> None:
    rows = [good_row(i) for i in range(1, 21)]
    rows[9] |= change  # spreadsheet row 11
    path = tmp_path / "data.csv"
    write(path, rows)
    report, errors = findings(kvp, path)
    assert errors == [(11, column, rule)]
    assert report.rows_invalid == 1


def test_missing_code_is_a_value_not_a_number(kvp, tmp_path) -> None:
    rows = [good_row(1) | {"q3": 99}]
    path = tmp_path / "data.csv"
    write(path, rows)
    assert findings(kvp, path)[1] == []


def test_personal_data_and_unknown_columns(kvp, tmp_path) -> None:
    columns = COLUMNS + ["telefon", "aldersgruppe", "q13"]
    rows = [good_row(1) | {"telefon": "92 68 01 08", "aldersgruppe": 3, "q13": 1}]
    path = tmp_path / "data.csv"
    write(path, rows, columns)
    report, errors = findings(kvp, path)
    assert errors == [(1, "aldersgruppe", "unknown-column"), (1, "q13", "unknown-column"), (1, "telefon", "personal-data")]
    assert report.rows_valid == 0


def test_missing_column(kvp, tmp_path) -> None:
    columns = [c for c in COLUMNS if c != "q7"]
    path = tmp_path / "data.csv"
    write(path, [{k: v for k, v in good_row(1).items() if k != "q7"}], columns)
    assert findings(kvp, path)[1] == [(1, "q7", "missing-column")]


def test_soft_checks_are_warnings(kvp, tmp_path) -> None:
    path = tmp_path / "data.csv"
    write(path, [good_row(1) | {"q3": 40, "q11": 30}])
    report, errors = findings(kvp, path)
    assert errors == []
    assert [(w.row, w.rule, w.value) for w in report.warnings] == [(2, "warn:erfaring_alder", "q11=30; q3=40")]


def test_ragged_rows_are_counted_and_reported(kvp, tmp_path) -> None:
    path = tmp_path / "data.csv"
    write(path, [good_row(i) for i in range(1, 4)])
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2] + ",extra"
    lines.append("1,2,3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate(kvp, open_data(path))
    ragged = [(f.row, f.rule) for f in report.errors if f.rule == "ragged"]
    assert ragged == [(3, "ragged"), (5, "ragged")]
    assert report.rows_read == 4 and report.rows_valid == 2


def test_malformed_files(tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty"):
        open_data(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("q1,q2\n1,Bjørn\n".encode("latin-1"))
    with pytest.raises(DataError, match="row 2, character 5: byte 0xf8 is not UTF-8"):
        open_data(latin)
    dup = tmp_path / "dup.csv"
    dup.write_text("q1,q1\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="the column name `q1` is used twice"):
        open_data(dup)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfq1,q2\n1,2\n")
    assert open_data(bom).header == ["q1", "q2"]
    header = tmp_path / "header.csv"
    header.write_text("q1,q2\n", encoding="utf-8")
    source = open_data(header)
    assert sum(b.n for b in source.batches()) == 0 and source.rows_read == 0


def test_xlsx_and_parquet(kvp, tmp_path) -> None:
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [good_row(i) for i in range(1, 6)]
    rows[2] |= {"q1": 9}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([row[c] if row[c] != "" else None for c in COLUMNS])
    book.save(tmp_path / "data.xlsx")
    assert findings(kvp, tmp_path / "data.xlsx")[1] == [(4, "q1", "code")]
    table = pa.table({c: pa.array([str(r[c]) for r in rows]) for c in COLUMNS})
    pq.write_table(table, tmp_path / "data.parquet")
    assert findings(kvp, tmp_path / "data.parquet")[1] == [(4, "q1", "code")]


def test_multiple_choice_cells(tmp_path) -> None:
    compiled = compile_text(
        'survey s "S"\ninterview {\n  question q1 multiple "Hva?" {\n    1 "A"\n    2 "B"\n'
        '    9 "Ingen" exclusive\n  }\n  question q2 text "Hvorfor?" {\n    ask if q1 == 2\n  }\n}\n'
    )
    path = tmp_path / "m.csv"
    path.write_text('q1,q2\n1 2,fordi\n9,\n9 1,\n1 7,\nx,\n2,\n', encoding="utf-8")
    report = validate(compiled, open_data(path))
    assert sorted((f.row, f.column, f.rule) for f in report.errors) == [
        (4, "q1", "exclusive"), (5, "q1", "code"), (6, "q1", "type"), (7, "q2", "asked-empty"),
    ]


def test_cli_exit_codes_and_report(kvp, tmp_path) -> None:
    runner = CliRunner()
    ok = tmp_path / "ok.csv"
    write(ok, [good_row(i) for i in range(1, 4)])
    result = runner.invoke(cli, ["validate", str(KVP), str(ok)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    write(bad, [good_row(1) | {"q1": 8}])
    out = tmp_path / "report.json"
    result = runner.invoke(cli, ["validate", str(KVP), str(bad), "--report", str(out)], catch_exceptions=False)
    assert result.exit_code == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["rows_read"] == 1 and report["summary"]["rows_valid"] == 0
    assert report["errors"] == [
        {"row": 2, "column": "q1", "rule": "code", "value": "8", "message": "`q1` has no code 8 (its codes: 1, 2, 3, 4, 5, 6, 7)"}
    ]
    result = runner.invoke(cli, ["validate", str(KVP), str(tmp_path / "nope.csv")], catch_exceptions=False)
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_routing_on_sample_fields_is_said_not_guessed(tmp_path) -> None:
    compiled = compile_text(
        'survey s "S"\nfieldwork {\n  sample {\n    field kontor single "Kontor" {\n      1 "Oslo"\n'
        '      2 "Bergen"\n    }\n  }\n}\ninterview {\n  question q1 text "Hvorfor?" {\n'
        '    ask if kontor == 1\n  }\n}\n'
    )
    path = tmp_path / "d.csv"
    path.write_text("q1\nfordi\n\n", encoding="utf-8")
    report = validate(compiled, open_data(path))
    assert report.errors == []
    assert [(w.row, w.column, w.rule) for w in report.warnings] == [(1, "q1", "routing-unchecked")]


def test_progress_bar_runs_on_a_terminal(kvp, tmp_path, monkeypatch) -> None:
    import sys

    from kvpspec.cli.validate import progress

    path = tmp_path / "big.csv"
    write(path, [good_row(i) for i in range(1, 50)])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    seen: list[int] = []
    with progress(path, threshold=0) as step:  # as for a file over 5 MB
        report = validate(kvp, open_data(path), lambda done: (seen.append(done), step(done)))
    assert report.ok and report.rows_read == 49
    assert seen and seen[-1] == 49
