"""Rosters: parsed and formatted, unrolled into one column per iteration, and
handled by `test`, `simulate` and `validate` through the unrolled variables."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from conftest import CASES

from kvpspec import model as m
from kvpspec.compile import compile_file, compile_text
from kvpspec.semantics.routing import slots
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


GRID_SPEC = """survey g "Grid in a roster"

scale ja "Ja/nei" {
  1 "Ja"
  2 "Nei"
}

interview {
  roster child "Barn" for 1..2 {
    question k1 "Skal vi hoppe, barn {child}?" {
      1 "Ja" goto g1
      2 "Nei"
    }
    question k2 text "Hvorfor ikke?"
    grid g1 "Barn {child}" scale ja {
      a "Sover godt"
      b "Spiser godt"
    }
    question k3 text "Mer om {g1a}?" {
      ask if g1a == 1
    }
  }
}

respondent id integer "Id"
"""


def test_a_grid_is_renamed_per_iteration_and_goto_lands_in_the_same_iteration() -> None:
    c = compile_text(GRID_SPEC)
    assert c.ok, [d.headline() for d in c.errors]
    v = c.lowered.variables
    assert [n for n in v if n.startswith("g1")] == ["g1_1a", "g1_1b", "g1_2a", "g1_2b"]
    assert (v["g1_2b"].roster, v["g1_2b"].iteration) == ("child", (2,))
    grids = [s.item for s in slots(c.lowered) if isinstance(s.item, m.Grid)]
    assert [g.name for g in grids] == ["g1_1", "g1_2"]
    # k1_2 == 1 jumps over k2_2 to the grid of iteration 2, never back to iteration 1's
    k2_2 = next(s for s in slots(c.lowered) if getattr(s.item, "name", None) == "k2_2")
    assert "k1_2" in describe_guard(k2_2.guard)
    k3_2 = next(s.item for s in slots(c.lowered) if getattr(s.item, "name", None) == "k3_2")
    assert isinstance(k3_2, m.Question)
    assert k3_2.label.text == "Mer om {g1_2a}?"
    assert k3_2.condition is not None and "g1_2a" in describe_guard(k3_2.condition)


def describe_guard(e: m.Expr | None) -> str:
    """The names an expression reads, as text (to see which iteration it points at)."""
    return "" if e is None else e.model_dump_json()


def test_aggregates_over_a_roster_end_to_end(tmp_path: Path) -> None:
    """`count(c2 <= 6 over child)` and `max(c2 over child)`: the interpreter, the
    vectorised evaluator and `kvpspec analyze` agree on simulated interviews."""
    import json

    from kvpspec.data.vector import VectorEvaluator
    from kvpspec.semantics.expr import Evaluator

    c = compile_file(SPEC)
    low = c.lowered
    data = tmp_path / "sim.csv"
    assert _kvpspec("simulate", SPEC, "-n", "200", "-o", data).returncode == 0
    rows = [
        {k: (int(v) if v not in ("", None) else None) for k, v in r.items()}
        for r in csv.DictReader(data.open(encoding="utf-8"))
    ]
    ev = Evaluator(low.variables, low.recodes, low.spec.derives)
    expected = [ev.complete(r) for r in rows]
    for r, done in zip(rows, expected):
        ages = [r[f"c2_{i}"] for i in range(1, 11) if r[f"c2_{i}"] is not None]
        assert done["n_small"] == sum(a <= 6 for a in ages)
        assert done["oldest"] == (max(ages) if ages else None)
    ce = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    table = {name: ce.column(name, [r[name] for r in rows]) for name in rows[0]}
    got = ce.complete(table, len(rows))
    for name in ("n_small", "oldest"):
        vec = [None if x != x else x for x in got[name].tolist()]
        assert vec == [d[name] for d in expected], name
    out = tmp_path / "out"
    done = _kvpspec("analyze", SPEC, data, "-o", out)
    assert done.returncode == 0, done.stdout + done.stderr
    tables = {t["variable"]: t for t in json.loads((out / "tables.json").read_text(encoding="utf-8"))["barn"]["tables"]}
    small = [d["n_small"] for d in expected]
    assert tables["n_small"]["n"] == len(small)
    assert abs(tables["n_small"]["mean"] - sum(small) / len(small)) < 1e-6
    oldest = [d["oldest"] for d in expected if d["oldest"] is not None]
    assert tables["oldest"]["max"] == max(oldest) and tables["oldest"]["n"] == len(oldest)


def test_the_script_shows_a_roster_once_as_a_loop() -> None:
    from buildutil import build_files

    files = build_files(str(SPEC), only=("script",))
    md = files["script/interviewer.md"].decode()
    html = files["script/interviewer.html"].decode()
    assert md.count("For hver \\<CHILD\\> (1 til c1, høyst 10)") == 1
    assert "For hver \\<JOB\\> (1 til c4, høyst 3)" in md
    assert "For hver \\<PARENT\\>: Mor, Far" in md
    # the questions once, the iteration a placeholder, guards in the roster's names
    assert md.count("Hvor gammel er barn nummer \\<CHILD\\>?") == 1
    assert "*Spørres hvis: c2 ≤ 6*" in md
    assert "c2_1" not in md and "c2_1" not in html and "c1 ≥ 1" not in md
    assert html.count('class="branch roster"') == 3
