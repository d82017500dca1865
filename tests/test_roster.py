"""Rosters: parsed and formatted, unrolled into one column per iteration, and
handled by `test`, `simulate` and `validate` through the unrolled variables."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from conftest import CASES

from kvpspec.compile import compile_file
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text

SPEC = CASES / "roster.survey"


def _kvpspec(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvpspec", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_format_round_trip_and_idempotence() -> None:
    text = format_spec(parse_text(SPEC.read_text(encoding="utf-8")))
    again = parse_text(text)
    assert again.spec.model_dump(mode="json") == parse_text(SPEC.read_text(encoding="utf-8")).spec.model_dump(mode="json")
    assert format_spec(again) == text


def test_columns_iterations_and_guards() -> None:
    c = compile_file(SPEC)
    assert c.ok, [d.headline() for d in c.errors]
    v = c.lowered.variables
    assert [n for n in v if n.startswith("c2_")] == [f"c2_{i}" for i in range(1, 11)]
    assert (v["c5_3_2"].roster, v["c5_3_2"].iteration) == ("job", (3, 2))
    assert (v["p1_2"].roster, v["p1_2"].iteration) == ("parent", (2,))
    assert v["c1"].roster is None
    assert v["c2_4"].label.text == "Hvor gammel er barn nummer 4?"
    assert v["p1_2"].label.text == "Bor Far i husholdningen?"
    assert "c2" not in v and "c5_1" not in v


def test_simulate_validate_and_test(tmp_path: Path) -> None:
    data = tmp_path / "sim.csv"
    assert _kvpspec("simulate", SPEC, "-n", "300", "-o", data).returncode == 0
    report = _kvpspec("validate", SPEC, data)
    assert report.returncode == 0, report.stdout + report.stderr
    assert " 0 errors" in report.stdout
    assert _kvpspec("test", SPEC).returncode == 0
    rows = list(csv.DictReader(data.open(encoding="utf-8")))
    # iterations beyond the count are empty in simulated data, those within answered
    for row in rows:
        if row["c1"] not in ("", None):
            n = int(row["c1"])
            assert all(row[f"c2_{i}"] == "" for i in range(n + 1, 11))
            assert all(row[f"c2_{i}"] != "" for i in range(1, n + 1))
    # an answered iteration beyond the count, an empty one within: both errors
    row = next(r for r in rows if r["c1"] not in ("", "0", "10"))
    n = int(row["c1"])
    bad = dict(row, **{f"c2_{n + 1}": "5", "c2_1": ""})
    path = tmp_path / "bad.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerow(bad)
    out = _kvpspec("validate", SPEC, path)
    assert out.returncode != 0
    assert f"c2_{n + 1}" in out.stdout and "skipped-answered" in out.stdout
    assert "c2_1" in out.stdout


def test_codebook_names_roster_and_iteration() -> None:
    from kvpspec.data.codebook import codebook

    entries = {v["name"]: v for v in codebook(compile_file(SPEC))["variables"]}
    assert (entries["c5_3_2"]["roster"], entries["c5_3_2"]["iteration"]) == ("job", [3, 2])
    assert (entries["c2_10"]["roster"], entries["c2_10"]["iteration"]) == ("child", [10])
    assert (entries["p1_1"]["roster"], entries["p1_1"]["iteration"]) == ("parent", [1])
    assert (entries["c1"]["roster"], entries["c1"]["iteration"]) == (None, [])
