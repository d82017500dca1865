"""Analyses of roster variables (`frequencies c3 over child`): every answered
iteration stacked, counted against the wide columns of simulated data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import CASES

SPEC = CASES / "roster.survey"

CROSSED = '''survey hh "Husholdning"

interview {
  question c1 integer "Hvor mange barn?" {
    range 0..4
  }
  question by "Bor dere i by?" {
    1 "Ja"
    2 "Nei"
  }
  roster child "Barn" for 1..c1 max 4 {
    question c3 "Barnehage {child}?" {
      1 "Ja"
      2 "Nei"
    }
    question c6 "Skole {child}?" {
      1 "Ja"
      2 "Nei"
      9 "Vet ikke" missing dont_know
    }
  }
}

respondent id integer "Id"

analysis a "A" {
  crosstab c3 over child by c6 over child
  crosstab c3 over child by by
}
'''


def _kvpspec(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvpspec", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _analyze(spec: Path, data: Path, out: Path) -> dict:
    run = _kvpspec("analyze", spec, data, "-o", out)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((out / "tables.json").read_text(encoding="utf-8"))


def test_stacked_counts_equal_the_wide_columns(tmp_path: Path) -> None:
    data = tmp_path / "sim.csv"
    assert _kvpspec("simulate", SPEC, "-n", "200", "-o", data).returncode == 0
    rows = _rows(data)
    tables = _analyze(SPEC, data, tmp_path / "out")["per_barn"]["tables"]
    c3, c5, c2 = tables
    # c3 over child: one observation per child asked, not per household
    wide = [r[f"c3_{i}"] for r in rows for i in range(1, 11) if r[f"c3_{i}"] != ""]
    assert c3["n"] == len(wide) > len(rows) // 2
    assert {cat["code"]: cat["count"] for cat in c3["categories"]} == {
        code: Counter(wide)[str(code)] for code in (1, 2)
    }
    assert c3["over"] == {
        "roster": "child",
        "iterations": len(wide),
        "households": sum(any(r[f"c3_{i}"] != "" for i in range(1, 11)) for r in rows),
    }
    # the nested c5 over job stacks over both levels: every child's every job
    jobs = [int(r[f"c5_{i}_{j}"]) for r in rows for i in range(1, 11) for j in range(1, 4) if r[f"c5_{i}_{j}"] != ""]
    assert c5["n"] == c5["over"]["iterations"] == len(jobs)
    assert {cat["code"]: cat["count"] for cat in c5["categories"]} == dict(Counter(jobs))
    ages = [int(r[f"c2_{i}"]) for r in rows for i in range(1, 11) if r[f"c2_{i}"] != ""]
    assert c2["kind"] == "summary" and c2["n"] == len(ages)
    assert c2["min"] == min(ages) and c2["max"] == max(ages)
    assert abs(c2["mean"] - sum(ages) / len(ages)) < 1e-6


def test_crosstabs_pair_iterations_and_repeat_the_household_value(tmp_path: Path) -> None:
    spec = tmp_path / "crossed.survey"
    spec.write_text(CROSSED, encoding="utf-8")
    data = tmp_path / "sim.csv"
    run = _kvpspec("simulate", spec, "-n", "150", "-o", data)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = _rows(data)
    both, household = _analyze(spec, data, tmp_path / "out")["a"]["tables"]
    pairs = Counter(
        (r[f"c3_{i}"], r[f"c6_{i}"]) for r in rows for i in range(1, 5) if r[f"c3_{i}"] and r[f"c6_{i}"] not in ("", "9")
    )
    assert both["counts"] == [[pairs[(a, b)] for b in "12"] for a in "12"]
    assert both["over"]["roster"] == "child"
    per_child = Counter((r[f"c3_{i}"], r["by"]) for r in rows for i in range(1, 5) if r[f"c3_{i}"] and r["by"])
    assert household["counts"] == [[per_child[(a, b)] for b in "12"] for a in "12"]
    assert household["total"] == sum(per_child.values()) > len(rows)
