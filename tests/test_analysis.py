"""The generated analysis code: it reproduces the 2009 report's published figures
from data rebuilt from the report's counts, keeps missing codes out of every
statistic, is ruff-clean and deterministic, and ``kvpspec analyze`` runs it."""

from __future__ import annotations

import ast
import copy
import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import KVP, ROOT

from generators.analysis import RUNTIME, analysis_source, caption
from kvpspec import compile_file, compile_text
from kvpspec.cli import cli
from kvpspec.semantics.lower import recode_table

COLUMNS = (
    ["lopenr", "q1", "q2", "q3", "q4", "q4_other", "q5", "q5_other", "q6a", "q6b", "q7"]
    + [f"q8{c}" for c in "abcdefghi"]
    + ["q9", "q9_other"]
    + [f"q10{c}" for c in "abcdef"]
    + ["q11", "q12"]
)

#: Tabell 3: (age used for the group, helt/delvis enig, helt/delvis uenig).
TABELL3 = [(20, 34, 8), (30, 63, 8), (45, 86, 8), (60, 12, 5)]
#: Tabell 1: the number of cases with each disposition, 1 to 7.
TABELL1 = [83, 46, 14, 5, 6, 33, 235]
DONT_KNOW_Q10A = 11  # 235 - 224: "Ikke sikker/ubesvart 5 %"
Q3_YOUNG = [0, 2, 5]
Q3_OLDER = [7, 10, 34, 1, 99, 7, 3]


def report_rows() -> list[dict[str, str]]:
    """235 interviews whose q10a, q10b and ages give the report's Tabell 2 and 3."""
    people: list[tuple[int, int]] = []  # (age, q10a)
    for age, agree, disagree in TABELL3:
        people += [(age, 1 if i % 3 else 2) for i in range(agree)]
        people += [(age, 3 if i % 2 else 4) for i in range(disagree)]
    people += [(30, 5)] * DONT_KNOW_Q10A
    assert len(people) == 235
    q10b = [1] * 214 + [3] * 14 + [5] * 7  # 91 / 6 / 3 %
    rows = []
    for i, (age, q10a) in enumerate(people):
        q3 = Q3_YOUNG[i % len(Q3_YOUNG)] if age < 25 else Q3_OLDER[i % len(Q3_OLDER)]
        row = dict.fromkeys(COLUMNS, "1")
        row.update(
            lopenr=str(i + 1), q1="4", q2=str(1 + i % 12), q3=str(q3), q4_other="", q5_other="",
            q9_other="", q10a=str(q10a), q10b=str(q10b[i]), q11=str(age), q12=str(1 + i % 2),
        )
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def sample_rows() -> list[dict[str, str]]:
    rows = []
    for code, n in enumerate(TABELL1, start=1):
        rows += [{"disposition": str(code), "sprak": "1"}] * n
    return rows


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    """``kvpspec analyze`` on the rebuilt data and sample, once for the module."""
    root = tmp_path_factory.mktemp("report")
    data = write_csv(root / "data.csv", report_rows(), COLUMNS)
    sample = write_csv(root / "sample.csv", sample_rows(), ["sprak", "disposition"])
    out = root / "out"
    result = CliRunner().invoke(
        cli, ["analyze", str(KVP), str(data), "--sample", str(sample), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def tables(report_run: Path) -> dict:
    return json.loads((report_run / "tables.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the report's figures


def test_tabell3_row_percents_total_and_p(tables: dict) -> None:
    t = tables["tabell3"]["tables"][0]
    assert t["kind"] == "crosstab"
    assert t["counts"] == [[34, 8], [63, 8], [86, 8], [12, 5]]
    assert t["total"] == 224
    assert [round(r[0]) for r in t["row_percents"]] == [81, 89, 91, 71]
    assert round(t["total_percents"][0]) == 87
    assert round(t["p_value"], 3) == 0.063
    assert t["dof"] == 3
    assert round(t["min_expected"], 1) == 2.2
    assert t["expected_below_5"] == 1 and t["warning"] is None  # 1 of 8 cells: 12.5 %, under 20 %
    assert 0 < t["cramers_v"] < 1
    assert tables["tabell3"]["caption"].startswith("Tabell 3 Betydningen av alder")


def test_tabell1_response_rates(tables: dict) -> None:
    freq, svar, rr1, rr3, rr5 = tables["tabell1"]["tables"]
    assert [c["count"] for c in freq["categories"]] == TABELL1
    assert [round(c["percent"]) for c in freq["categories"]] == [20, 11, 3, 1, 1, 8, 56]
    assert (svar["numerator"], svar["denominator"]) == (235, 357)  # 422 - 46 - 14 - 5
    assert round(svar["percent"]) == 66
    # I = 235, R = 33, O = 5 + 6, UH = 83, NE = 46 + 14
    assert rr1["denominator"] == 235 + 33 + 11 + 83 and rr1["eligibility"] == 1.0
    assert rr5["denominator"] == 235 + 33 + 11 and rr5["eligibility"] == 0.0
    e = (235 + 33 + 11) / (235 + 33 + 11 + 60)
    assert rr3["eligibility"] == pytest.approx(e, abs=1e-6)
    assert rr3["rate"] == pytest.approx(235 / (279 + e * 83), abs=1e-6)
    assert "proportional" in rr3["eligibility_method"]


def test_tabell2_rows(tables: dict) -> None:
    by_var = {t["variable"]: t for t in tables["tabell2"]["tables"]}
    q10a = by_var["q10a_enig2"]
    assert [round(c["percent"]) for c in q10a["categories"]] == [83, 12, 5]
    assert q10a["categories"][2]["missing"] == "dont_know"
    assert q10a["categories"][2]["valid_percent"] is None
    assert q10a["valid_n"] == 224 and q10a["n"] == 235
    assert [round(c["percent"]) for c in by_var["q10b_enig2"]["categories"]] == [91, 6, 3]
    assert q10a["label"] == "Dette tiltaket øker muligheten til å få ordinær jobb"


def test_q3_mean_leaves_the_99_codes_out(tables: dict) -> None:
    q3 = np.array([int(r["q3"]) for r in report_rows()])
    substantive = q3[q3 != 99]
    summary = next(t for t in tables["figur3"]["tables"] if t["kind"] == "summary")
    assert summary["n"] == substantive.size
    assert summary["mean"] == pytest.approx(substantive.mean(), abs=1e-6)
    assert summary["mean"] != pytest.approx(q3.mean(), abs=0.5)  # the 2009 report's mistake
    assert summary["sd"] == pytest.approx(substantive.std(ddof=1), abs=1e-6)
    assert summary["median"] == np.median(substantive) and summary["max"] == 34
    assert summary["missing"] == [
        {"code": 99, "label": "IKKE SIKKER/UBESVART", "missing": "dont_know", "count": int((q3 == 99).sum())}
    ]
    erfaring = next(t for t in tables["figur3"]["tables"] if t["kind"] == "frequencies")
    assert erfaring["categories"][-1]["count"] == int((q3 == 99).sum())  # 99 -> 9, counted, not averaged


def test_every_named_analysis_and_output_file(report_run: Path, tables: dict) -> None:
    spec = compile_file(KVP).spec
    assert [n for n in tables if n != "$meta"] == [a.name for a in spec.analyses]
    for name in ("tabell2", "tabell3", "figur5", "grid_q8", "grid_q10"):
        assert (report_run / "figures" / f"{name}.svg").is_file()
        assert (report_run / "figures" / f"{name}.png").is_file()
    assert (report_run / "tables" / "tabell3-aldersgruppe-by-q10a_enig2.csv").is_file()
    assert (report_run / "tables" / "tabell1-rate-svarprosent.csv").is_file()
    html = (report_run / "report.html").read_text(encoding="utf-8")
    assert "Figur 5 Oppfatning av hjelpen" in html and 'src="figures/figur5.svg"' in html
    assert "http://" not in html and "https://" not in html  # opens offline
    assert (report_run / "analysis.py").read_text(encoding="utf-8") == analysis_source(compile_file(KVP))


def test_standalone_run_is_the_same_and_deterministic(report_run: Path, tmp_path: Path) -> None:
    """`python analysis.py DATA` on its own gives byte-identical outputs."""
    script = tmp_path / "analysis.py"
    script.write_text((report_run / "analysis.py").read_text(encoding="utf-8"), encoding="utf-8")
    data = report_run.parent / "data.csv"
    sample = report_run.parent / "sample.csv"
    done = subprocess.run([sys.executable, str(script), str(data), "--sample", str(sample)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("tables.json", "report.html", "figures/tabell2.svg", "figures/tabell2.png",
                 "tables/figur1-q1.csv"):
        assert (tmp_path / name).read_bytes() == (report_run / name).read_bytes(), name


# ---------------------------------------------------------------- the code itself


RUFF_RULES = [
    ["--isolated"],  # ruff's default rules
    ["--isolated", "--line-length", "100", "--select", "E,F,W,I,B"],  # and lines within 100
    ["--config", str(ROOT / "pyproject.toml")],  # the project's rules
]


def ruff_findings(path: Path) -> str:
    """What ruff finds in ``path`` under each set of rules in RUFF_RULES (empty: nothing)."""
    found = ""
    for rules in RUFF_RULES:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", *rules, str(path)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            found += " ".join(rules) + ":\n" + done.stdout + done.stderr
    return found


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    pytest.importorskip("ruff")
    script = tmp_path / "analysis.py"
    script.write_text(analysis_source(compile_file(KVP)), encoding="utf-8")
    assert ruff_findings(script) == ""
    hostile = tmp_path / "hostile.py"
    hostile.write_text(analysis_source(compile_text(HOSTILE, "hostile.survey")), encoding="utf-8")
    assert ruff_findings(hostile) == ""


def test_generated_code_embeds_the_runtime_and_needs_no_kvpspec() -> None:
    """analysis.py is its docstring, runtime.py from the line after its docstring, then
    the survey's part; it imports only the standard library and the four packages."""
    source = analysis_source(compile_file(KVP))
    runtime = RUNTIME.read_text(encoding="utf-8")
    body = runtime[runtime.index('"""', 3) + 3 :].lstrip("\n")
    assert body in source and source.index(body) < source.index("\nSURVEY = ")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "matplotlib", "numpy", "pandas", "scipy"}


def _module(source: str, tmp_path: Path):
    path = tmp_path / "generated_analysis.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("generated_analysis", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_recodes_mean_what_the_core_means(tmp_path: Path) -> None:
    """Every recode of the KVP spec, generated as code, against ``RecodeTable.lookup``."""
    compiled = compile_file(KVP)
    module = _module(analysis_source(compiled), tmp_path)
    low = compiled.lowered
    values = [None, *range(-2, 101), 99]
    for name in ("aldersgruppe", "utdanning", "erfaring"):
        v = low.variables[name]
        source = low.variables[v.source]
        table = recode_table(low.recodes[name], frozenset(source.missing_codes))
        got = getattr(module, f"recode_{name}")(pd.Series(values, dtype="Int64")).tolist()
        want = [table.lookup(x) for x in values]
        assert [None if g is pd.NA else g for g in got] == want, name
    table = recode_table(low.recodes["enig2"], frozenset({5}))
    got = module.recode_enig2(pd.Series([None, 1, 2, 3, 4, 5], dtype="Int64")).tolist()
    assert [None if g is pd.NA else g for g in got] == [table.lookup(x) for x in [None, 1, 2, 3, 4, 5]]


HOSTILE = "\n".join(
    [
        'survey hostile "T\\"\\"\\" \' + __import__(\\"os\\") <script>x</script>"',
        'scale s "S" {',
        '  1 "\\"\\"\\"; import os; os.system(\\"echo pwned\\") #"',
        '  2 "line\\nbreak {fill} </td><script>alert(1)</script>"',
        '  9 "\'\'\'\\\\" missing dont_know',
        "}",
        "interview {",
        '  question q1 "Q1 \\"\\"\\" \'\'\' " scale s',
        '  question q2 integer "Alder" {',
        "    range 0..99",
        "  }",
        "}",
        'recode g "G" from q2 {',
        '  ..30 -> 1 "young"',
        '  31.. -> 2 "old"',
        "}",
        'analysis class "\\"\\"\\" <b>bold</b>" {',
        "  frequencies q1",
        "  crosstab g by q1 test chisq",
        "  summary q2",
        "}",
        "",
    ]
)


def test_user_text_is_data(tmp_path: Path) -> None:
    """Hostile labels enter the code only as literals and the report only escaped."""
    compiled = compile_text(HOSTILE, "hostile.survey")
    assert compiled.ok, [str(d) for d in compiled.errors]
    source = analysis_source(compiled)
    tree = ast.parse(source)
    assigned = {
        node.targets[0].id: node.value for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    labels = ast.literal_eval(assigned["VALUE_LABELS"])
    assert labels["q1"][2] == "line\nbreak {fill} </td><script>alert(1)</script>"
    assert ast.literal_eval(assigned["TITLES"])["class"] == '""" <b>bold</b>'
    assert "def analysis_class(" in source  # a keyword is never a name
    assert not any(isinstance(n, ast.Import) and any(a.name == "os" for a in n.names) for n in ast.walk(tree))
    rows = [{"q1": str([1, 2, 9][i % 3]), "q2": str(20 + i % 30)} for i in range(40)]
    data = write_csv(tmp_path / "data.csv", rows, ["q1", "q2"])
    script = tmp_path / "analysis.py"
    script.write_text(source, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pwned" not in done.stdout + done.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>bold</b>" not in html


def test_chi_square_warns_on_small_expected_counts(tmp_path: Path) -> None:
    module = _module(analysis_source(compile_file(KVP)), tmp_path)
    sparse = module.chi_square(np.array([[10, 2], [3, 1], [0, 0]]))
    assert sparse["dof"] == 1  # the empty row is left out, as SPSS does
    assert sparse["expected_below_5"] == 3 and "fewer than 5" in sparse["warning"]
    assert module.chi_square(np.array([[5, 0], [3, 0]]))["chi2"] is None


def test_codewriter_examples() -> None:
    import doctest

    import kvpspec.codewriter

    result = doctest.testmod(kvpspec.codewriter)
    assert result.attempted > 0 and result.failed == 0


def test_codewriter_wraps_long_text_exactly() -> None:
    from kvpspec.codewriter import CodeWriter

    text = "Når det gjelder " * 20 + "«" + "x" * 150 + "» 'quote' \"dq\" \\ end"
    w = CodeWriter(width=60)
    w.assign("LABEL", {"q1": text})
    namespace: dict = {}
    exec(compile(w.text(), "<generated>", "exec"), namespace)  # our own output, for the test
    assert namespace["LABEL"] == {"q1": text}


def test_caption_numbering() -> None:
    assert caption("figur5", "Oppfatning") == "Figur 5 Oppfatning"
    assert caption("tabell12", "X") == "Tabell 12 X"
    assert caption("table_3", "X") == "Table 3 X"
    assert caption("extra", "X") == "X"


# ---------------------------------------------------------------- kvpspec analyze


def test_analyze_refuses_invalid_data_unless_forced(tmp_path: Path) -> None:
    rows = report_rows()[:20]
    rows[3]["q1"] = "8"
    data = write_csv(tmp_path / "bad.csv", rows, COLUMNS)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["analyze", str(KVP), str(data), "-o", str(out)])
    assert result.exit_code == 1
    assert "q1" in result.output and "--force" in result.output and "Traceback" not in result.output
    assert not (out / "tables.json").exists()
    result = CliRunner().invoke(cli, ["analyze", str(KVP), str(data), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    tables = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    assert tables["figur1"]["tables"][0]["n"] == 19  # the bad code is left out
    assert tables["tabell1"]["tables"][0]["kind"] == "skipped"  # no sample file


def test_analyze_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(KVP), str(tmp_path / "none.csv"), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output
    data = write_csv(tmp_path / "d.csv", report_rows()[:5], COLUMNS)
    result = CliRunner().invoke(
        cli, ["analyze", str(KVP), str(data), "--sample", str(tmp_path / "nope.csv"), "-o", str(tmp_path)]
    )
    assert result.exit_code == 2 and "nope.csv" in result.output
    bad = tmp_path / "bad.survey"
    bad.write_text(
        'survey x "X"\ninterview {\n  question q1 "Q" {\n  1 "a"\n  }\n}\n'
        'analysis a "A" {\n  frequencies q9\n}\n'
    )
    result = CliRunner().invoke(cli, ["analyze", str(bad), str(data), "-o", str(tmp_path)])
    assert result.exit_code == 2


def test_analysis_failure_is_a_clean_message(tmp_path: Path) -> None:
    """A sample file without the disposition column: analysis.py fails with one line, exit 1."""
    data = write_csv(tmp_path / "d.csv", report_rows()[:5], COLUMNS)
    sample = write_csv(tmp_path / "s.csv", [{"x": "1"}], ["x"])
    result = CliRunner().invoke(cli, ["analyze", str(KVP), str(data), "--sample", str(sample), "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "disposition" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- the printer of generated code


def _expressions():
    """Trees of the nodes the generator builds: names, numbers, texts, lists, calls,
    subscripts, arithmetic, ``&``/``|``, comparisons and the signs."""
    from hypothesis import strategies as st

    from generators.analysis import emit as e

    leaves = st.one_of(
        st.sampled_from(["q1", "x", "substantive", "data"]).map(e.name),
        st.integers(-5, 120).map(e.value),
        st.sampled_from([2.5, -0.5]).map(e.value),
        st.text("ab «\"'\\", max_size=6).map(e.value),
        st.lists(st.integers(0, 99), max_size=4).map(e.value),
    )

    def grow(inner):
        return st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*", "/", "&", "|"]), inner, inner).map(
                lambda t: e.binary(t[1], t[0], t[2])
            ),
            st.tuples(st.sampled_from(["==", "!=", "<", ">="]), inner, inner).map(
                lambda t: e.compare(t[1], t[0], t[2])
            ),
            st.tuples(st.sampled_from(["~", "-", "not"]), inner).map(lambda t: e.unary(t[0], t[1])),
            st.tuples(st.sampled_from(["without", "np.isin", "chosen"]), st.lists(inner, max_size=3)).map(
                lambda t: e.call(t[0], *t[1])
            ),
            inner.map(lambda x: e.call("conditions", x, e.name("data"), dtype=e.name("bool"))),
            inner.map(lambda x: e.item(x, e.value("q1"))),
        )

    return st.recursive(leaves, grow, max_leaves=14)


def test_printed_code_parses_back_to_the_tree() -> None:
    """Whatever the nesting and however narrow the lines (wrapped or not), the printed
    code parses back to the tree it was built from (a negative number reads as a sign).
    (That lines keep within 100 columns, ruff checks on the generated files.)"""
    from hypothesis import given, settings

    from generators.analysis import emit as e
    from kvpspec.codewriter import CodeWriter

    @settings(max_examples=300, deadline=None)
    @given(_expressions(), _widths())
    def check(node, width) -> None:
        printer = e.Printer(CodeWriter(width=width))
        lines = printer.statement(e.assign(e.name("result"), node), 4)
        printed = "\n".join(lines)
        want = ast.dump(_signed(copy.deepcopy(node)))
        got = ast.parse(printed).body[0]
        assert isinstance(got, ast.Assign) and ast.dump(got.value) == want, printed

    check()


class _Signs(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and node.value < 0:
            return ast.UnaryOp(ast.USub(), ast.Constant(-node.value))
        return node


def _signed(node: ast.expr) -> ast.expr:
    """The tree as Python reads its source back: -1 is the sign of 1."""
    return _Signs().visit(node)


def _widths():
    from hypothesis import strategies as st

    return st.sampled_from([20, 40, 60, 99])
