"""Labelled data: SPSS .sav, Stata .dta and a Data Package, read back and compared
with the spec's labels and missing codes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvpspec import compile_file
from kvpspec.cli import cli
from kvpspec.data.schemas import table_schema

from conftest import KVP
from test_analysis import COLUMNS, report_rows, write_csv

pyreadstat = pytest.importorskip("pyreadstat")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("labelled") / "data.csv", report_rows(), COLUMNS)


def export(fmt: str, data: Path, out: Path):
    return CliRunner().invoke(cli, ["export", fmt, str(KVP), str(data), "-o", str(out)])


def test_sav_round_trip(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "kvp.sav"
    result = export("sav", data, out)
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_sav(str(out), user_missing=True)
    low = compile_file(KVP).lowered
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["q3"] == low.variables["q3"].label.text
    assert labels["q10a_enig2"].endswith("Dette tiltaket øker muligheten til å få ordinær jobb")
    assert meta.variable_value_labels["q7"] == {float(c): t.text for c, t in low.variables["q7"].values}
    assert meta.missing_ranges["q3"] == [{"lo": 99.0, "hi": 99.0}]
    assert meta.missing_ranges["q10a"] == [{"lo": 5.0, "hi": 5.0}]
    assert meta.missing_ranges["erfaring"] == [{"lo": 9.0, "hi": 9.0}]
    assert "aldersgruppe" not in meta.missing_ranges
    assert meta.variable_measure["q3"] == "scale" and meta.variable_measure["q1"] == "nominal"
    assert len(frame) == 235
    # the recodes are computed by the core's lookup: 99 -> 9, ages into groups
    assert set(frame.loc[frame["q3"] == 99, "erfaring"]) == {9.0}
    assert set(frame.loc[frame["q11"] == 20, "aldersgruppe"]) == {1.0}
    # without user-missing, SPSS readers leave 99 out of the mean
    plain, _ = pyreadstat.read_sav(str(out))
    q3 = [int(r["q3"]) for r in report_rows()]
    substantive = [x for x in q3 if x != 99]
    assert plain["q3"].mean() == pytest.approx(sum(substantive) / len(substantive))


def test_dta_round_trip(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "kvp.dta"
    result = export("dta", data, out)
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_dta(str(out), user_missing=True)
    low = compile_file(KVP).lowered
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["q8a"] == low.variables["q8a"].label.text
    assert all(len(label) <= 80 for label in meta.column_labels)
    assert meta.missing_user_values["q3"] == ["a"]
    assert meta.variable_value_labels["q3"] == {"a": "IKKE SIKKER/UBESVART"}
    expected = {c: t.text for c, t in low.variables["q10a"].values if c != 5} | {"a": "Ikke sikker/Ubesvart"}
    assert meta.variable_value_labels["q10a"] == expected
    q3 = [int(r["q3"]) for r in report_rows()]
    assert (frame["q3"] == "a").sum() == q3.count(99)
    plain, _ = pyreadstat.read_dta(str(out))
    substantive = [x for x in q3 if x != 99]
    assert plain["q3"].mean() == pytest.approx(sum(substantive) / len(substantive))


def test_datapackage_zip(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "kvp.zip"
    result = export("datapackage", data, out)
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    assert sorted(archive.namelist()) == ["data.csv", "datapackage.json"]
    package = json.loads(archive.read("datapackage.json"))
    resource = package["resources"][0]
    assert resource["path"] == "data.csv"
    assert resource["schema"] == json.loads(json.dumps(table_schema(compile_file(KVP))))
    header = archive.read("data.csv").decode("utf-8").splitlines()[0].split(",")
    assert header == [f["name"] for f in resource["schema"]["fields"]]
    second = tmp_path / "again.zip"
    export("datapackage", data, second)
    assert second.read_bytes() == out.read_bytes()  # deterministic


def test_export_needs_readable_numbers(tmp_path: Path) -> None:
    rows = report_rows()[:5]
    rows[2]["q3"] = "mange"
    bad = write_csv(tmp_path / "bad.csv", rows, COLUMNS)
    result = export("sav", bad, tmp_path / "x.sav")
    assert result.exit_code == 2
    assert "row 4, q3" in result.output and "Traceback" not in result.output
    result = export("dta", tmp_path / "none.csv", tmp_path / "x.dta")
    assert result.exit_code == 2 and "no such file" in result.output
