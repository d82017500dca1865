"""The form's JavaScript means what the Python interpreter means (one meaning).

Differential tests under Node.js: Hypothesis draws expressions and records
(missing codes, multiple choice, texts, derived values, recodes) and the
compiled JavaScript (``generators/form/jscompile.py`` over ``runtime.js``)
must give every value the interpreter gives, UNKNOWN included; on generated
interviews of real specs the runtime's walker asks the same questions in the
same order and ends with the same disposition as ``routing.Walk``. Each batch
of cases runs in one node process. Without node the tests skip, except under
CI, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.form.jscompile import RUNTIME, JSCompileError, JSCompiler, compile_program, js_value
from kvpspec import model as m
from kvpspec.compile import Compiled, compile_file, compile_text
from kvpspec.semantics.expr import Evaluator, TypeChecker
from kvpspec.semantics.routing import Walk
from kvpspec.semantics.routing import steps as routing_steps
from kvpspec.syntax.parser import parse_expr
from kvpspec.synth.strategies import cases, spec_model

ROOT = Path(__file__).resolve().parent.parent

#: Every kind of value and expression the one meaning covers (shared with test_vector_semantics).
SPEC = (ROOT / "tests" / "cases" / "expressions.survey").read_text(encoding="utf-8")
COMPILED = compile_text(SPEC)
LOW = COMPILED.lowered
EV = Evaluator(LOW.variables, LOW.recodes, COMPILED.spec.derives)


def node() -> str:
    """The node executable; without it the test skips, or fails under CI."""
    path = shutil.which("node")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is needed to test the form's JavaScript")
        pytest.skip("Node.js is not installed")
    return path


HARNESS = """
"use strict";
const fs = require("fs");
const K = require(process.argv[2]);
const program = require(process.argv[3])(K);
const input = JSON.parse(fs.readFileSync(process.argv[4], "utf8"));
function attempt(f) {
  try { return {value: f()}; } catch (e) { return {error: String(e.message)}; }
}
const out = {};
out.values = input.records.map(function (rec) {
  const full = program.complete(rec);
  return {complete: full, values: program.exprs.map(function (f) { return attempt(function () { return f(full); }); })};
});
out.walks = input.walks.map(function (w) {
  const steps = program.steps.filter(function (s) { return w.intro || !s.inIntro; });
  const result = K.walk(steps, w.scope, function (step) {
    return Object.prototype.hasOwnProperty.call(w.answers, step.name) ? w.answers[step.name] : null;
  });
  return {path: result.path, end: result.end};
});
process.stdout.write(JSON.stringify(out));
"""


def to_json(v: Any) -> Any:
    """A value of the interpreter as JSON: a multiple choice as a sorted list."""
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def record_json(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: to_json(v) for k, v in rec.items()}


def kind(v: Any) -> tuple[str, Any]:
    """A value with its kind, so that true is not 1 and 1.0 is 1."""
    if v is None:
        return ("none", None)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("number", float(v))
    if isinstance(v, str):
        return ("text", v)
    if isinstance(v, (list, frozenset)):
        return ("set", frozenset(v))
    raise AssertionError(f"unexpected value {v!r}")


def run_node(tmp: Path, program: str, records: Sequence[dict[str, Any]] = (), walks: Sequence[dict] = ()) -> dict:
    """One node process for a whole batch: the program's values and walks."""
    exe = node()
    (tmp / "program.js").write_text("module.exports = " + program + ";\n", encoding="utf-8")
    (tmp / "harness.js").write_text(HARNESS, encoding="utf-8")
    (tmp / "cases.json").write_text(json.dumps({"records": list(records), "walks": list(walks)}), encoding="utf-8")
    done = subprocess.run(
        [exe, str(tmp / "harness.js"), str(RUNTIME), str(tmp / "program.js"), str(tmp / "cases.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# ---------------------------------------------------------------- expressions and records


records = st.fixed_dictionaries(
    {
        "a": st.sampled_from([None, 1, 2, 3, 9]),
        "b": st.sampled_from([None, 0, 5, 20, 21, 60, 98, 99]),
        "c": st.sampled_from([None, frozenset(), frozenset({1}), frozenset({1, 2}), frozenset({8}), frozenset({2})]),
        "d": st.sampled_from([None, "", "Oslo", "Bergen", "</script>"]),
        "e": st.sampled_from([None, 0.0, 2.5, 10.0, 0.1]),
    }
)

NUMBER_ATOMS = ["a", "b", "e", "sum", "dk", "cnt", "tot", "big", "bb", "a2(a)", "0", "1", "2.5", "20", "99",
                "missing"]
ITEMS = ["1", "2", "8", "9", "98", "1..3", "..20", "21..", "0.5..2.5"]
COND_ATOMS = [
    "true", "false", "dc", "c == 1", "c != 8", "c == missing", 'd == "Oslo"', 'd != "</script>"',
    'd in ["Oslo", "Bergen"]', 'd not in ["Oslo"]',
]
TESTS = ["answered", "missing", "dont_know", "refused", "not_applicable"]

@cache
def numbers(depth: int) -> st.SearchStrategy[str]:
    """Numeric expressions nested at most ``depth`` deep."""
    atoms = st.sampled_from(NUMBER_ATOMS)
    if depth == 0:
        return atoms
    n, c = numbers(depth - 1), conditions(depth - 1)
    return st.one_of(
        atoms,
        st.builds(lambda x, op, y: f"({x} {op} {y})", n, st.sampled_from("+-*/"), n),
        st.builds(lambda x: f"-({x})", n),
        st.builds(lambda f, xs: f"{f}({', '.join(xs)})", st.sampled_from(["sum", "min", "max"]),
                  st.lists(n, min_size=1, max_size=3)),
        st.builds(lambda c, x, y: f"(if {c} then {x} else {y})", c, n, n),
    )


@cache
def conditions(depth: int) -> st.SearchStrategy[str]:
    """Conditions nested at most ``depth`` deep."""
    n = numbers(max(depth - 1, 0))
    atoms = st.one_of(
        st.sampled_from(COND_ATOMS),
        st.builds(lambda x, op, y: f"{x} {op} {y}", n, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), n),
        st.builds(lambda v, neg, items: f"{v} {'not in' if neg else 'in'} [{', '.join(items)}]",
                  st.sampled_from(["a", "b", "c", "e", "bb", "a2(a)", "dk", "sum"]), st.booleans(),
                  st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3)),
        st.builds(lambda v, neg, t: f"{v} is {'not ' if neg else ''}{t}",
                  st.sampled_from(["a", "b", "c", "d", "e", "bb", "a2(a)", "dc", "dk"]), st.booleans(),
                  st.sampled_from(TESTS)),
    )
    if depth == 0:
        return atoms
    c = conditions(depth - 1)
    return st.one_of(
        atoms,
        st.builds(lambda x: f"not ({x})", c),
        st.builds(lambda x, op, y: f"({x}) {op} ({y})", c, st.sampled_from(["and", "or"]), c),
        st.builds(lambda f, xs: f"{f}({', '.join(xs)})", st.sampled_from(["any", "all"]),
                  st.lists(c, min_size=1, max_size=3)),
        st.builds(lambda xs, k: f"count({', '.join(xs)}) >= {k}", st.lists(c, min_size=1, max_size=3),
                  st.integers(0, 2)),
        st.builds(lambda x, y, z: f"(if {x} then {y} else {z})", c, c, c),
    )


def well_typed(text: str) -> m.Expr | None:
    """The parsed expression when it has no type error (as `check` accepts it), else None."""
    e = parse_expr(text)
    problems: list[str] = []
    checker = TypeChecker(lambda code, message, node: problems.append(message),
                          lambda ref: LOW.variables.get(ref.name), LOW.recodes)
    checker.infer(e)
    return None if problems else e


def holds_not(e: m.Expr) -> m.Expr:
    """Routing's "does not hold", as guards use it."""
    return m.Unary.build(op="not", operand=e, holds=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records, min_size=5, max_size=20),
       st.lists(st.one_of(conditions(3), numbers(2)), min_size=10, max_size=40))
def test_same_values_as_the_interpreter(tmp_path_factory, recs: list[dict], texts: list[str]) -> None:
    exprs = [e for t in texts if (e := well_typed(t)) is not None]
    # guards read "does not hold" too
    exprs += [holds_not(e) for e in exprs[: len(exprs) // 3]]
    program = compile_program(LOW, exprs)
    out = run_node(tmp_path_factory.mktemp("js"), program, [record_json(r) for r in recs])
    for rec, got in zip(recs, out["values"]):
        full = EV.complete(rec)
        assert {k: kind(v) for k, v in got["complete"].items()} == {k: kind(to_json(v)) for k, v in full.items()}
        for e, result in zip(exprs, got["values"]):
            assert "error" not in result, (e, result)
            assert kind(result["value"]) == kind(to_json(EV.value(e, full))), (_text(e), rec)


def _text(e: m.Expr) -> str:
    from kvpspec.syntax.formatter import format_expr

    return format_expr(e)


def test_every_atom_agrees(tmp_path) -> None:
    """Every atom on every record of a fixed grid: the operators one by one."""
    recs = [
        {"a": a, "b": b, "c": c, "d": d, "e": e}
        for a in (None, 1, 3, 9)
        for b in (None, 20, 21, 98)
        for c in (None, frozenset(), frozenset({1, 2}), frozenset({8}))
        for d in (None, "Oslo")
        for e in (None, 0.0, 2.5)
    ]
    texts = COND_ATOMS + NUMBER_ATOMS + [
        f"{v} {neg}in [{item}]" for v in ("a", "b", "c", "e", "bb") for neg in ("", "not ") for item in ITEMS
    ] + [f"{v} is {t}" for v in ("a", "b", "c", "d", "bb", "a2(a)", "dk") for t in TESTS] + [
        "b / e", "e / 0", "-b", "b - e", "min(b, e, a)", "max(missing, e)", "sum(missing)", "a < 3",
        "b >= 21", "(if a == 1 then b else e) > 3", "any(a == 1, b > 20)", "all(a != 2, b <= 20)",
        "count(a == 1, c == 2, b > 20)",
    ]
    exprs = [e for t in texts if (e := well_typed(t)) is not None]
    assert len(exprs) > 120
    exprs += [holds_not(e) for e in exprs]
    out = run_node(tmp_path, compile_program(LOW, exprs), [record_json(r) for r in recs])
    for rec, got in zip(recs, out["values"]):
        full = EV.complete(rec)
        for e, result in zip(exprs, got["values"]):
            assert "error" not in result, (_text(e), result)
            assert kind(result["value"]) == kind(to_json(EV.value(e, full))), (_text(e), rec, result)


# ---------------------------------------------------------------- routing


SPECS = {
    "kvp2009": ROOT / "specs" / "kvp2009.survey",
    "household": ROOT / "specs" / "household.survey",
    "roster": ROOT / "tests" / "cases" / "roster.survey",
    "three_valued": ROOT / "tests" / "cases" / "three_valued.survey",
}


@cache
def spec(name: str) -> tuple[Compiled, str]:
    compiled = compile_file(SPECS[name])
    assert not [d for d in compiled.diagnostics if d.severity == "error"]
    return compiled, compile_program(compiled.lowered)


def _walk_batch(name: str, batch: list, tmp: Path) -> None:
    compiled, program = spec(name)
    rid = compiled.spec.respondent
    walks = []
    for case in batch:
        scope = dict(case.sample)
        if rid is not None:
            scope[rid.name] = case.record[rid.name]
        walks.append({"scope": record_json(scope), "answers": record_json(case.record)})
    out = run_node(tmp, program, walks=walks)
    for case, got in zip(batch, out["walks"]):
        assert (tuple(got["path"]), got["end"]) == (case.path, case.end), case


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_walks_like_routing(tmp_path_factory, name: str, data) -> None:
    """Generated interviews (``strategies.cases``): the same path and disposition."""
    batch = data.draw(st.lists(cases(SPECS[name]), min_size=5, max_size=25))
    _walk_batch(name, batch, tmp_path_factory.mktemp("walk"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_kvp_walks_like_routing_from_the_intro(tmp_path_factory, data) -> None:
    """From the first question of the intro, whose `end`s set the disposition."""
    compiled, program = spec("kvp2009")
    model = spec_model(compiled)
    all_steps = routing_steps(compiled.lowered)
    expected, walks = [], []
    for _ in range(data.draw(st.integers(5, 25))):
        answers = {step.name: data.draw(model.answer(step.name)) for step in all_steps}
        scope: dict[str, Any] = {}
        walk = Walk(all_steps, scope, model.evaluator)
        for step, asked in walk:
            if asked:
                scope[step.name] = answers[step.name]
        expected.append((tuple(walk.path), walk.end))
        walks.append({"scope": {}, "answers": record_json(answers), "intro": True})
    out = run_node(tmp_path_factory.mktemp("walk"), program, walks=walks)
    assert [(tuple(w["path"]), w["end"]) for w in out["walks"]] == expected


def test_every_step_has_its_guard() -> None:
    """The program lists routing's steps in order, each guard compiled (none dropped)."""
    for name in SPECS:
        compiled, program = spec(name)
        for step in routing_steps(compiled.lowered):
            line = f"{{name: {js_value(step.name)}, guard: "
            assert line in program
            if step.guard is not None:
                assert f"{line}function (r)" in program


# ---------------------------------------------------------------- text stays text


def test_text_is_json_and_cannot_close_a_script() -> None:
    hostile = '</script><script>alert("x")</script>\u2028{{ x }}'
    js = JSCompiler(LOW.variables, LOW.recodes).expr(parse_expr(f"d == {json.dumps(hostile)}"))
    assert "</" not in js and "\u2028" not in js and "<" not in js
    assert json.loads(js_value(hostile)) == hostile


PROTOTYPE_NAMES = """survey s "S"
interview {
  question constructor "A" { 1 "ja" 2 "nei" }
  question __proto__ "B" { ask if constructor == 1  1 "ja" 2 "nei" }
  question toString "C" { ask if __proto__ is missing  1 "ja" 2 "nei" }
}"""


@pytest.mark.parametrize("answers", [{}, {"constructor": 1, "__proto__": 2, "toString": 1}, {"constructor": 2}])
def test_names_of_object_properties_are_ordinary_variables(tmp_path, answers: dict) -> None:
    """`constructor` or `__proto__` as a variable name reads the record, never JavaScript's objects."""
    compiled = compile_text(PROTOTYPE_NAMES)
    assert compiled.diagnostics == []
    low = compiled.lowered
    ev = Evaluator(low.variables, low.recodes)
    exprs = [parse_expr(t) for t in ("constructor == 1", "__proto__ is missing", "toString is answered")]
    out = run_node(tmp_path, compile_program(low, exprs), [answers],
                   [{"scope": {}, "answers": answers, "intro": True}])
    assert [v["value"] for v in out["values"][0]["values"]] == [ev.value(e, answers) for e in exprs]
    scope: dict[str, Any] = {}
    walk = Walk(routing_steps(low), scope, ev)
    for step, asked in walk:
        if asked:
            scope[step.name] = answers.get(step.name)
    assert out["walks"][0]["path"] == walk.path


def test_no_eval_in_runtime_or_program() -> None:
    _, program = spec("kvp2009")
    for text in (RUNTIME.read_text(encoding="utf-8"), program):
        assert "eval(" not in text and "Function(" not in text and "innerHTML" not in text


def test_unsupported_is_reported_never_dropped() -> None:
    over = m.Aggregate.build(func="sum", operand=m.Ref.build(name="b"), roster="hh")
    with pytest.raises(JSCompileError):
        JSCompiler(LOW.variables, LOW.recodes).expr(over)
    reported: list[str] = []
    js = JSCompiler(LOW.variables, LOW.recodes, reported.append).expr(over)
    assert reported and js.startswith("K.fail(")
    big = m.Literal_.build(value=2**60)
    with pytest.raises(JSCompileError):
        JSCompiler(LOW.variables, LOW.recodes).expr(big)
    assert JSCompiler(LOW.variables, LOW.recodes, reported.append).expr(big).startswith("K.fail(")
    with pytest.raises(JSCompileError):
        js_value(2**60)
