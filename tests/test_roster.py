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
        ages = [a for i in range(1, 11) if (a := r[f"c2_{i}"]) is not None]
        assert done["n_small"] == sum(a <= 6 for a in ages)
        assert done["oldest"] == (max(ages) if ages else None)
        # the nested aggregate: every child's jobs, each child's sum then the sum of those
        hours = [h for i in range(1, 11) for j in range(1, 4) if (h := r[f"c5_{i}_{j}"]) is not None]
        assert done["hours"] == sum(hours)  # 0 when no value is left
    ce = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    table = {name: ce.column(name, [r[name] for r in rows]) for name in rows[0]}
    got = ce.complete(table, len(rows))
    assert any(d["hours"] for d in expected)
    for name in ("n_small", "oldest", "hours"):
        vec = [None if x != x else x for x in got[name].tolist()]
        assert vec == [d[name] for d in expected], name
    out = tmp_path / "out"
    run = _kvpspec("analyze", SPEC, data, "-o", out)
    assert run.returncode == 0, run.stdout + run.stderr
    tables = {t["variable"]: t for t in json.loads((out / "tables.json").read_text(encoding="utf-8"))["barn"]["tables"]}
    small = [d["n_small"] for d in expected]
    assert tables["n_small"]["n"] == len(small)
    assert abs(tables["n_small"]["mean"] - sum(small) / len(small)) < 1e-6
    oldest = [d["oldest"] for d in expected if d["oldest"] is not None]
    assert tables["oldest"]["max"] == max(oldest) and tables["oldest"]["n"] == len(oldest)
    hours = [d["hours"] for d in expected]
    assert tables["hours"]["n"] == len(hours) and abs(tables["hours"]["mean"] - sum(hours) / len(hours)) < 1e-6


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


IF_SPEC = """survey g "If around a roster"

interview {
  question a1 "Har du barn?" {
    1 "Ja"
    2 "Nei" goto a3
  }
  if a1 == 1 {
    question c1 integer "Hvor mange?" {
      range 0..4
    }
    roster child "Barn" for 1..c1 max 4 {
      question c2 integer "Alder på barn {child}?" {
        range 0..25
      }
      question c3 "Barnehage?" {
        ask if c2 <= 6
        1 "Ja"
        2 "Nei" goto a3
      }
    }
  }
  question a3 "Takk?" {
    1 "Ja"
    2 "Nei"
  }
}

respondent id integer "Id"
"""


def _flow(text: str) -> tuple[str, str]:
    from kvpspec.build import run_targets

    c = compile_text(text)
    assert c.ok, [d.headline() for d in c.errors]
    files = run_targets(c, ("flow",)).files
    return files["flow/routing.mmd"].decode(), files["flow/routing.svg"].decode()


def test_the_routing_picture_draws_a_roster_once_as_a_loop() -> None:
    from buildutil import build_files

    files = build_files(str(SPEC), only=("flow",))
    mmd, svg = files["flow/routing.mmd"].decode(), files["flow/routing.svg"].decode()
    for text in (mmd, svg):
        assert "c2_" not in text and "c5_1" not in text and "p1_" not in text
    # a header per roster, the questions once, the iteration a placeholder
    assert "For hver &lt;CHILD&gt; (1 til c1, høyst 10)" in svg
    assert "For hver &lt;JOB&gt; (1 til c4, høyst 3)" in svg and "For hver &lt;PARENT&gt;: Mor, Far" in svg
    assert svg.count("Hvor gammel er barn nummer &lt;CHILD&gt;?") == 1
    assert svg.count('<g id="c5">') == 1 and svg.count('<g id="roster_') == 3
    assert svg.count("stroke-dasharray=\"2,3\"") == 3  # a frame around each roster
    # the guard in the roster's names, without COUNT >= 1
    assert "Spørres hvis: c2 ≤ 6" in svg and "c1 ≥ 1" not in svg
    # the nested roster sits in the outer one's subgraph
    assert mmd.index("subgraph r_child") < mmd.index("subgraph r_job") < mmd.index("n_c5[")
    # loops: the body's end goes back to its header; a nested roster's "done" to the outer one's
    assert '  n_c5 -->|"neste #60;JOB#62;"| n_roster_job\n' in mmd
    assert '  n_roster_job -->|"neste #60;CHILD#62;"| n_roster_child\n' in mmd
    assert '  n_roster_child -.->|"ferdig"| n_roster_parent\n' in mmd
    assert '  n_p1 -->|"neste #60;PARENT#62;"| n_roster_parent\n' in mmd
    assert '  n_roster_parent -.->|"ferdig"| n_done\n' in mmd
    # the ask-if's bypass inside the body stays inside
    assert '  n_c2 -.->|"ellers"| n_c4\n' in mmd


def test_the_routing_picture_of_a_roster_in_an_if_block_and_a_goto_out_of_it() -> None:
    mmd, _ = _flow(IF_SPEC)
    # entered under the if block's condition; bypassed when it does not hold
    assert '  n_a1 -->|"hvis a1 = 1 #40;Ja#41;"| n_c1\n' in mmd
    assert '  n_c1 --> n_roster_child\n' in mmd
    # a goto out of the roster leaves the loop; the ask-if's bypass goes to the next iteration
    assert '  n_c3 -.->|"c3 = 2 #40;Nei#41;"| n_a3\n' in mmd
    assert '  n_c2 -->|"ellers, neste #60;CHILD#62;"| n_roster_child\n' in mmd
    assert '  n_roster_child -.->|"ferdig"| n_a3\n' in mmd
    # a goto inside the roster lands on the grid shown once, in the roster's names
    grid, _ = _flow(GRID_SPEC)
    assert '  n_k1 -.->|"k1 = 1 #40;Ja#41;"| n_g1\n' in grid
    assert "Spørres hvis: g1a = 1 #40;Ja#41;" in grid and "_1" not in grid


def test_a_roster_loop_reads_in_each_language() -> None:
    from generators.roster_view import loop_text
    from kvpspec.semantics.describe import Describer

    low = compile_file(SPEC).lowered
    child, parent = low.rosters["child"], low.rosters["parent"]
    assert loop_text(child, "en", Describer(low, "en")) == "For each {child} (1 to c1, at most 10)"
    assert loop_text(child, "nb", Describer(low, "nb")) == "For hver {child} (1 til c1, høyst 10)"
    assert loop_text(parent, "en-GB", Describer(low, "en-GB")) == "For each {parent}: Mor, Far"


CHECKS = """
warn old "Barnet er {c2_2} år, husholdningen har {c1} barn" if c2_2 > 20

error many "Flere i barnehage enn {c1} barn" if count(c3 == 1 over child) > c1

warn hours "Mye jobb" if sum(c5_1_1, c5_1_2) > 100
"""


def test_the_script_shows_checks_in_a_roster_once_where_they_fire() -> None:
    """A check reading an iteration's column or an aggregate over the roster fires
    at an unrolled question (``c2_2``, ``c3_10``, ``c5_1_2``): the script shows it
    once, at the question as written, its message's fills as placeholders."""
    from kvpspec.build import run_targets
    from kvpspec.semantics.checkpoints import checkpoints

    c = compile_text(SPEC.read_text(encoding="utf-8") + CHECKS)
    assert c.ok, [d.headline() for d in c.errors]
    fires = {cp.check.name: cp.column for cp in checkpoints(c.lowered)}
    assert fires == {"old": "c2_2", "many": "c3_10", "hours": "c5_1_2"}
    md = run_targets(c, ("script",)).files["script/interviewer.md"].decode()
    blocks = md.split('<a id="')
    at = {b.split('"')[0]: b for b in blocks[1:]}
    assert at["c2"].count("Kontroll") == 1
    assert "**Kontroll (myk): hvis c2\\_2 \\> 20 — si:** «Barnet er \\<C2\\_2\\> år, husholdningen har \\<C1\\> barn»" in at["c2"]
    # the aggregate as written, not its ten columns
    assert at["c3"].count("Kontroll (hard)") == 1
    assert "count(" in at["c3"] and "c3\\_10" not in at["c3"] and "«Flere i barnehage enn \\<C1\\> barn»" in at["c3"]
    assert at["c5"].count("Kontroll (myk)") == 1 and "«Mye jobb»" in at["c5"]
    assert md.count("Kontroll") == 3


NESTED = """survey n "Nested aggregates"

interview {
  question c1 integer "Hvor mange?" {
    range 0..3
  }
  roster person "Personer" for 1..c1 max 3 {
    question nj integer "Jobber for person {person}?" {
      range 0..2
    }
    roster jobb "Jobber" for 1..nj max 2 {
      question timer integer "Timer for person {person} i jobb {jobb}?" {
        range 1..80
      }
    }
    question mye "Mye jobb for person {person}?" {
      ask if sum(timer over jobb) > 40 and count(timer > 30 over jobb) >= 1
      1 "Ja"
      2 "Nei"
    }
  }
}

respondent id integer "Id"

derive tot "Timer i alt" = sum(sum(timer over jobb) over person)

derive lang "Lengste" = max(max(timer over jobb) over person)
"""


def test_nested_aggregates_lower_outer_iteration_first_then_inner() -> None:
    """An aggregate over the inner roster inside one over the outer, and one in the
    outer roster's body, read the same iteration's columns; outside the outer roster
    a nested one alone is refused with the nesting to write instead."""
    from kvpspec.syntax.formatter import format_expr

    c = compile_text(NESTED)
    assert c.ok, [d.headline() for d in c.errors]
    derives = {d.name: format_expr(d.expr) for d in c.lowered.spec.derives}
    assert derives["tot"] == (
        "sum(sum(timer_1_1, timer_1_2), sum(timer_2_1, timer_2_2), sum(timer_3_1, timer_3_2))"
    )
    assert derives["lang"].startswith("max(max(timer_1_1, timer_1_2), max(timer_2_1")
    mye_2 = next(s.item for s in slots(c.lowered) if getattr(s.item, "name", None) == "mye_2")
    assert isinstance(mye_2, m.Question) and mye_2.condition is not None
    assert format_expr(mye_2.condition) == (
        "sum(timer_2_1, timer_2_2) > 40 and count(timer_2_1 > 30, timer_2_2 > 30) >= 1"
    )
    flat = compile_text(NESTED + '\nderive flat "Flat" = count(timer > 30 over jobb)\n')
    assert [d.headline().split(": ", 1)[1] for d in flat.errors] == [
        "error: `jobb` is a roster inside `person`: aggregate it per iteration of `person`, "
        "e.g. `sum(count(timer > 30 over jobb) over person)` [roster-scope]"
    ]


def test_nested_aggregates_agree_in_the_interpreter_the_vector_evaluator_and_analyze(tmp_path: Path) -> None:
    from kvpspec.data.vector import VectorEvaluator
    from kvpspec.semantics.expr import Evaluator

    spec = tmp_path / "nested.survey"
    spec.write_text(NESTED + "\nanalysis a \"A\" {\n  summary tot, lang\n}\n", encoding="utf-8")
    low = compile_file(spec).lowered
    data = tmp_path / "sim.csv"
    assert _kvpspec("simulate", spec, "-n", "300", "-o", data).returncode == 0
    rows = [
        {k: (int(v) if v not in ("", None) else None) for k, v in r.items()}
        for r in csv.DictReader(data.open(encoding="utf-8"))
    ]
    expected = [Evaluator(low.variables, low.recodes, low.spec.derives).complete(r) for r in rows]
    for r, done in zip(rows, expected):
        hours = [h for i in (1, 2, 3) for j in (1, 2) if (h := r[f"timer_{i}_{j}"]) is not None]
        assert done["tot"] == sum(hours)  # 0 when no value is left
        assert done["lang"] == (max(hours) if hours else None)
    assert any(d["tot"] for d in expected)
    ve = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    got = ve.complete({name: ve.column(name, [r[name] for r in rows]) for name in rows[0]}, len(rows))
    for name in ("tot", "lang"):
        assert [None if x != x else x for x in got[name].tolist()] == [d[name] for d in expected], name
    run = _kvpspec("analyze", spec, data, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stdout + run.stderr
    assert _kvpspec("validate", spec, data).returncode == 0


def _size_errors(source: str) -> list[str]:
    compiled = compile_text(source, "size.survey")
    return [f"{d.line}: {d.message}" for d in compiled.errors if d.code == "roster-size"]


def test_an_unbounded_roster_is_an_error_before_unrolling() -> None:
    import time

    start = time.perf_counter()
    huge = 'survey s "S"\ninterview {\n  roster r "R" for 1..100000000 {\n    question a integer "A"\n  }\n}\n'
    errors = _size_errors(huge)
    assert errors == ["3: the roster `r` unrolls to 100,000,000 columns (its iterations times the columns of its body), "
                      "more than 10,000; loop over fewer iterations"]
    # a count question's `max`, and a nested roster, count too
    nested = ('survey s "S"\ninterview {\n  question n integer "N" { range 0..200 }\n'
              '  roster r "R" for 1..n max 200 {\n    question a integer "A"\n'
              '    roster q "Q" for 1..60 {\n      question b integer "B"\n    }\n  }\n}\n')
    assert [e.split(":")[0] for e in _size_errors(nested)] == ["4"]
    # the total over rosters each within the limit
    many = 'survey s "S"\ninterview {\n' + "".join(
        f'  roster r{k} "R" for 1..1000 {{\n    question a{k} integer "A"\n  }}\n' for k in range(101)) + "}\n"
    assert _size_errors(many) == ["303: the rosters unroll to more than 100,000 columns in all "
                                  "(101,000 up to the roster `r100`); loop over fewer iterations"]
    assert time.perf_counter() - start < 30  # before: 1..100000 alone took ~10 s, 1..100000000 never ended
    # at the limit: no error
    assert _size_errors(huge.replace("100000000", "10000")) == []
