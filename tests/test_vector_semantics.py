"""The vectorised evaluator means what the record interpreter means (one meaning):
missing codes, recodes of missing codes, multiple choice, text and derived values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kvpspec.compile import compile_text
from kvpspec.data.vector import VectorEvaluator
from kvpspec.semantics.expr import Evaluator
from kvpspec.syntax.parser import parse_expr

#: Every kind of value and expression the one meaning covers (shared with test_jscompile).
SPEC = (Path(__file__).resolve().parent / "cases" / "expressions.survey").read_text(encoding="utf-8")
COMPILED = compile_text(SPEC)
LOW = COMPILED.lowered
EV = Evaluator(LOW.variables, LOW.recodes, COMPILED.spec.derives)
CE = VectorEvaluator(LOW.variables, LOW.recodes, COMPILED.spec.derives)


def test_spec_is_clean() -> None:
    assert COMPILED.diagnostics == []


records = st.fixed_dictionaries(
    {
        "a": st.sampled_from([None, 1, 2, 3, 9]),
        "b": st.sampled_from([None, 0, 5, 20, 21, 60, 98, 99]),
        "c": st.sampled_from([None, frozenset({1}), frozenset({1, 2}), frozenset({8}), frozenset({2})]),
        "d": st.sampled_from(["", "Oslo", "Bergen"]),
        "e": st.sampled_from([None, 0.0, 2.5, 10.0]),
    }
)

atoms = st.sampled_from(
    [
        "a == 1", "a != 2", "a == 9", "a in [1, 2]", "a in 1..3", "a not in [1, 9]", "a > 1",
        "a is missing", "a is answered", "a is dont_know", "b > 20", "b <= 20", "b == 99",
        "b in 0..30", "b not in 0..30", "b is refused", "b is missing", "b + 1 > 21",
        "c == 1", "c != 1", "c in [2, 8]", "c is missing", "c is dont_know", "c is answered",
        'd == "Oslo"', 'd != "Oslo"', 'd in ["Oslo", "Bergen"]', "d is missing",
        "e >= 2.5", "e * 2 < b", "a2(a) == 1", "a2(a) is missing", "a2(a) is dont_know",
        "bb == 2", "bb is missing", "bb is refused", "sum > 20", "sum is missing", "true", "false",
        # issue 11: aggregates, the conditional, `missing`, derived values that can be missing
        "dc", "dc is missing", "dk > 10", "dk is missing", "cnt >= 1", "tot > 20", "a == missing",
        "count(a == 1, b > 20, c == 1) >= 2", "any(a == 1, b > 20, e > 5)", "all(a != 2, b <= 20)",
        "sum(a, b, e) > 10", "min(b, e) < 3", "max(a, missing) >= 2", "(if a == 1 then b else e) > 3",
        "if b > 20 then a == 1 else c == 2", "if e > 1 then missing else true",
    ]
)
conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda x: f"not ({x})", inner),
        st.builds(lambda x, y: f"({x}) and ({y})", inner, inner),
        st.builds(lambda x, y: f"({x}) or ({y})", inner, inner),
    ),
    max_leaves=6,
)


def columns(recs: list[dict]) -> dict[str, np.ndarray]:
    n = len(recs)
    out = {
        "a": np.array([np.nan if r["a"] is None else r["a"] for r in recs], dtype=float),
        "b": np.array([np.nan if r["b"] is None else r["b"] for r in recs], dtype=float),
        "d": np.array([r["d"] or None for r in recs], dtype=object),
        "e": np.array([np.nan if r["e"] is None else r["e"] for r in recs], dtype=float),
    }
    codes = LOW.variables["c"].codes
    multi = np.zeros((n, len(codes)), dtype=bool)
    for i, r in enumerate(recs):
        for code in r["c"] or ():
            multi[i, codes.index(code)] = True
    out["c"] = multi
    return CE.complete(out, n)


@settings(max_examples=200)
@given(st.lists(records, min_size=1, max_size=12), conditions)
def test_same_truth(recs: list[dict], text: str) -> None:
    e = parse_expr(text)
    expected = [EV.truth(e, EV.complete(r)) for r in recs]
    got = CE.truth(e, columns(recs), len(recs)).tolist()
    assert got == expected, text


@settings(max_examples=200)
@given(st.lists(records, min_size=1, max_size=12), conditions)
def test_same_three_valued_value(recs: list[dict], text: str) -> None:
    """Not only where a condition holds: true, false and UNKNOWN agree row by row."""
    e = parse_expr(text)
    expected = [EV.value(e, EV.complete(r)) for r in recs]
    got = CE.as_python(CE.value(e, columns(recs), len(recs)))
    assert got == [None if x is None else bool(x) for x in expected], text


numbers = st.sampled_from(
    [
        "if a == 1 then b else e", "if b > 20 then missing else a", "sum(a, b, e)", "min(b, e, a)",
        "max(a, b)", "max(missing, e)", "count(a == 1, c == 1, d == \"Oslo\")", "dk", "cnt", "tot",
        "if dc then 1 else 0", "if a in [1, 2] then sum(b, e) else max(b, 5)",
    ]
)


@settings(max_examples=100)
@given(st.lists(records, min_size=1, max_size=12), numbers)
def test_same_values(recs: list[dict], text: str) -> None:
    e = parse_expr(text)
    expected = [EV.value(e, EV.complete(r)) for r in recs]
    got = CE.as_python(CE.value(e, columns(recs), len(recs)))
    assert got == expected, text
