"""The household example (specs/household.survey): a real-size spec with a household
roster, a nested roster of jobs, a roster over a fixed list, aggregates, a conditional,
soft and hard checks, run through the whole chain a user runs: check, fmt, test,
simulate -> validate -> analyze (with the sample), and build."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HOUSEHOLD

from kvpspec.compile import compile_file
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text


def _kvpspec(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvpspec", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """2000 simulated interviews and their sample (seed 1), with simulate's summary line."""
    folder = tmp_path_factory.mktemp("household")
    data, sample = folder / "d.csv", folder / "s.csv"
    r = _kvpspec("simulate", HOUSEHOLD, "-n", "2000", "--seed", "1", "-o", data, "--sample", sample)
    assert r.returncode == 0, r.stderr
    return data, sample, r.stderr


def test_checks_clean_and_is_formatted() -> None:
    c = compile_file(HOUSEHOLD)
    assert [d.headline() for d in c.diagnostics] == []
    text = HOUSEHOLD.read_text(encoding="utf-8")
    assert format_spec(parse_text(text)) == text
    r = _kvpspec("fmt", "--check", HOUSEHOLD)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rosters_unroll_to_wide_columns() -> None:
    v = compile_file(HOUSEHOLD).lowered.variables
    assert [n for n in v if n.startswith("alder_")] == [f"alder_{i}" for i in range(1, 13)]
    assert (v["timer_12_3"].roster, v["timer_12_3"].iteration) == ("jobb", (12, 3))
    assert (v["inntekt_4"].roster, v["inntekt_4"].iteration) == ("kilde", (4,))
    assert v["inntekt_2"].label.text == "Har noen i husholdningen hatt inntekt fra pensjon eller trygd det siste året?"
    assert v["jobber_3"].label.text.startswith("Hadde person 3 ({alder_3} år)")
    # a real-size spec: 40-60 variables before unrolling (each roster variable counted once)
    assert 40 <= len([x for x in v.values() if all(i == 1 for i in x.iteration)]) <= 60


def test_test_command_passes() -> None:
    r = _kvpspec("test", HOUSEHOLD, "--examples", "200")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "passed" in r.stdout and "failed" not in r.stdout


def test_simulated_rows_follow_the_rosters_and_checks(simulated: tuple[Path, Path, str]) -> None:
    data, _, summary = simulated
    # hard checks trip in the first draw of this spec; those rows are drawn again, never written
    assert "redrawn for tripping a hard check (none written)" in summary
    rows = list(csv.DictReader(data.open(encoding="utf-8")))
    assert len(rows) == 2000
    for row in rows:
        n = int(row["antall"])
        assert all(row[f"alder_{i}"] != "" for i in range(1, n + 1))
        assert all(row[f"alder_{i}"] == "" for i in range(n + 1, 13))
        for i in range(1, n + 1):
            jobs = int(row[f"antall_jobber_{i}"]) if row[f"antall_jobber_{i}"] else 0
            assert all(row[f"timer_{i}_{j}"] != "" for j in range(1, jobs + 1))
            assert all(row[f"timer_{i}_{j}"] == "" for j in range(jobs + 1, 4))
        # the hard check `barn_eldre` never holds in written data
        if row["relasjon_2"] == "3" and row["alder_2"] not in ("", "998") and row["alder_1"] not in ("", "998"):
            assert int(row["alder_2"]) < int(row["alder_1"])
    assert any(int(r["antall"]) >= 10 for r in rows)
    assert any(r["antall_jobber_1"] == "3" for r in rows)


def test_validate_accepts_simulated_data_and_reports_filled_checks(
    simulated: tuple[Path, Path, str], tmp_path: Path
) -> None:
    data, _, _ = simulated
    r = _kvpspec("validate", HOUSEHOLD, data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 errors" in r.stdout
    # a row changed to trip the soft check and the hard check: a filled warning and a filled error
    rows = list(csv.DictReader(data.open(encoding="utf-8")))
    row = next(x for x in rows if x["antall_jobber_1"] == "2")
    row = dict(row, timer_1_1="65", timer_1_2="45")
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(row)
    r = _kvpspec("validate", HOUSEHOLD, bad)
    assert r.returncode != 0
    assert "Du sa 65 timer i uka i hovedjobben. Stemmer det?" in r.stdout
    assert "Til sammen 65 og 45 timer i uka i to jobber er mer enn 100 timer." in r.stdout


def test_analyze_with_the_sample(simulated: tuple[Path, Path, str], tmp_path: Path) -> None:
    data, sample, _ = simulated
    out = tmp_path / "an"
    r = _kvpspec("analyze", HOUSEHOLD, data, "--sample", sample, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    tables = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    text = json.dumps(tables, ensure_ascii=False)
    for name in ("tabell1", "tabell2", "tabell3", "tabell4", "tabell5", "tabell6"):
        assert name in text
    assert "svarprosent" in text and "chi" in text.lower()


def test_build_script_renders_rosters_as_loops(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _kvpspec("build", HOUSEHOLD, "-o", out, "--only", "script", "--only", "documents",
                 "--only", "registration", "--only", "analysis")
    assert r.returncode == 0, r.stdout + r.stderr
    html = (out / "script" / "interviewer.html").read_text(encoding="utf-8")
    # one loop per roster, never a copy per iteration
    assert "For hver" in html
    assert "høyst 12" in html and "høyst 3" in html
    assert 'id="alder"' in html and 'id="timer"' in html and 'id="inntekt"' in html
    assert 'id="alder_2"' not in html and 'id="timer_1_2"' not in html
    assert (out / "documents" / "forhandsbrev.html").exists()


def test_build_every_target(tmp_path: Path) -> None:
    r = _kvpspec("build", HOUSEHOLD, "-o", tmp_path / "all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list((tmp_path / "all" / "flow").glob("*.svg"))
