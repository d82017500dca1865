"""The expression language's one meaning: missing codes, unanswered variables, types."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvpspec.compile import compile_text
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.lower import lower
from kvpspec.syntax.parser import parse_expr, parse_text

SPEC = """survey s "S"
scale enig "Enig" {
  1 "Helt enig"
  2 "Delvis enig"
  3 "Uenig"
  9 "Vet ikke" missing dont_know
}
interview {
  question q1 "Enig?" scale enig
  question q3 integer "År" {
    range 0..60
    99 "Vet ikke" missing dont_know
  }
  question q5 multiple "Hva?" {
    1 "A"
    2 "B"
    3 "Ingen" exclusive
  }
  question q6 text "Navn?"
}
recode enig2 "E" from scale enig {
  1, 2 -> 1 "Enig"
  3    -> 2 "Uenig"
  9    -> 9 "Vet ikke" missing dont_know
}
recode band "B" from q3 {
  ..10 -> 1 "lav"
  11.. -> 2 "høy"
  99   -> 9 "vet ikke" missing dont_know
}
"""


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    spec = parse_text(SPEC).spec
    low = lower(spec)
    return Evaluator(low.variables, low.recodes)


def truth(ev: Evaluator, text: str, **record) -> bool:
    return ev.truth(parse_expr(text), record)


def test_spec_is_clean() -> None:
    assert compile_text(SPEC).diagnostics == []


def test_missing_codes_are_not_numbers(ev) -> None:
    assert not truth(ev, "q3 > 10", q3=99)
    assert truth(ev, "q3 == 99", q3=99)
    assert not truth(ev, "q3 in 0..200", q3=99)
    assert truth(ev, "q3 is missing", q3=99)
    assert truth(ev, "q3 is dont_know", q3=99)
    assert truth(ev, "q3 is answered", q3=99)
    assert truth(ev, "q3 in [99]", q3=99)


def test_unanswered_comparisons_are_unknown(ev) -> None:
    for text in ("q1 == 1", "q1 != 1", "q1 not in [1, 2]", "not q1 == 1", "q3 > 10", "q3 in 0..200"):
        assert ev.value(parse_expr(text), {}) is None, text
        assert not truth(ev, text)  # a guard holds only when TRUE
    assert ev.value(parse_expr("q3 > 10"), {"q3": 99}) is None  # ordering a missing code
    assert ev.value(parse_expr("q3 in [5, 10..20]"), {"q3": 99}) is None
    assert ev.value(parse_expr("q3 in [99, 10..20]"), {"q3": 99}) is True
    assert truth(ev, "q1 is missing")
    assert not truth(ev, "q1 is answered")
    assert truth(ev, "q6 is missing", q6="")


def test_multiple_choice_membership(ev) -> None:
    chosen = frozenset({1, 2})
    assert truth(ev, "q5 == 2", q5=chosen)
    assert not truth(ev, "q5 == 3", q5=chosen)
    assert truth(ev, "q5 in [2, 3]", q5=chosen)
    assert truth(ev, "q5 is missing", q5=frozenset())


def test_arithmetic_ignores_missing(ev) -> None:
    assert ev.value(parse_expr("q3 + 1"), {"q3": 99}) is None
    assert ev.value(parse_expr("q3 * 2"), {"q3": 4}) == 8
    assert ev.value(parse_expr("q3 / 0"), {"q3": 4}) is None


def test_recodes_map_missing_codes_only_by_value(ev) -> None:
    assert ev.value(parse_expr("enig2(q1)"), {"q1": 2}) == 1
    assert ev.value(parse_expr("enig2(q1)"), {"q1": 9}) == 9
    done = ev.complete({"q3": 99})
    assert done["band"] == 9
    assert ev.complete({"q3": 60})["band"] == 2
    assert ev.complete({})["band"] is None


@given(st.integers(0, 60) | st.just(99))
def test_band_is_missing_exactly_when_q3_is(ev, q3: int) -> None:
    band = ev.complete({"q3": q3})["band"]
    assert (band == 9) == (q3 == 99)


@pytest.mark.parametrize(
    "condition, message",
    [
        ("q1 == 5", "`q1` has no code 5 (its codes: 1, 2, 3, 9)"),
        ("q3 == 75", "`q3` cannot be 75: its range is 0..60 and its missing codes 99"),
        ("q6 == 1", "cannot compare text with a number"),
        ("q1 + 1", "this is a number, not a condition; compare it, e.g. `q1 + 1 == 1`"),
        ("q1 is dontknow", "`is dontknow` is not a test; did you mean `dont_know`? "
         "(tests: answered, missing, dont_know, refused, not_applicable)"),
    ],
)
def test_type_errors(condition: str, message: str) -> None:
    text = SPEC.replace('question q6 text "Navn?"', f'question q6 text "Navn?"\n  question q7 "Z" scale enig {{ ask if {condition} }}')
    compiled = compile_text(text)
    assert [d.message for d in compiled.errors] == [message]


def test_multiple_choice_missing_tests() -> None:
    spec = parse_text(
        'survey s "S"\ninterview {\n  question q2 multiple "Hva?" {\n    1 "A"\n    2 "B"\n'
        '    9 "Vet ikke" missing dont_know exclusive\n  }\n}\n'
    ).spec
    ev = Evaluator(lower(spec).variables)
    assert ev.truth(parse_expr("q2 is dont_know"), {"q2": frozenset({9})})
    assert ev.truth(parse_expr("q2 is missing"), {"q2": frozenset({9})})
    assert not ev.truth(parse_expr("q2 is missing"), {"q2": frozenset({1, 9})})
    assert not ev.truth(parse_expr("q2 is dont_know"), {"q2": frozenset({1})})


DECIMAL = """survey s "S"
interview {
  question q1 decimal "Timer" {
    range 0..10
  }
}
recode t "T" from q1 {
RULES
}
"""


@pytest.mark.parametrize(
    "rules, message",
    [
        ('0..4 -> 1 "lav"\n5..10 -> 2 "høy"', "recode `t` leaves values between 4 and 5 of `q1` unmapped"),
        ('0..5 -> 1 "lav"\n5..10 -> 2 "høy"', "5 is mapped by two rules of recode `t`"),
        ('..5 -> 1 "lav"\n6.5.. -> 2 "høy"', "recode `t` leaves values between 5 and 6.5 of `q1` unmapped"),
        ('2..10 -> 1 "lav"', "recode `t` leaves values between 0 and 2 of `q1` unmapped"),
        ('0..8 -> 1 "lav"', "recode `t` leaves values above 8 of `q1` unmapped"),
        ('..5 -> 1 "lav"\n5.5.. -> 2 "høy"\n', "recode `t` leaves values between 5 and 5.5 of `q1` unmapped"),
    ],
)
def test_decimal_recode_intervals(rules: str, message: str) -> None:
    compiled = compile_text(DECIMAL.replace("RULES", rules))
    assert [d.message for d in compiled.errors] == [message]


def test_decimal_recode_total() -> None:
    assert compile_text(DECIMAL.replace("RULES", '..5 -> 1 "lav"\nelse -> 2 "høy"')).ok


def test_open_ranges_in_brackets(ev) -> None:
    assert truth(ev, "q3 in [..10, 50..]", q3=5)
    assert truth(ev, "q3 in [..10, 50..]", q3=55)
    assert not truth(ev, "q3 in [..10, 50..]", q3=30)
    assert not truth(ev, "q3 in [50..]", q3=99)  # a missing code is no number


def test_applied_scale_recodes_are_computed() -> None:
    text = SPEC + 'analysis a "A" {\n  frequencies enig2(q1)\n}\nexpect e "E" {\n  q1_enig2 == 1 exactly when q1 in [1, 2]\n}\n'
    compiled = compile_text(text)
    assert compiled.ok
    low = compiled.lowered
    evaluator = Evaluator(low.variables, low.recodes)
    assert evaluator.complete({"q1": 2})["q1_enig2"] == 1
    assert evaluator.complete({"q1": 9})["q1_enig2"] == 9
    assert evaluator.complete({})["q1_enig2"] is None


def test_derived_conditions_and_copies() -> None:
    text = SPEC + 'derive ung "U" = q3 < 20\nderive begge "B" = ung and q1 == 1\nderive kopi "K" = q3\n'
    compiled = compile_text(text)
    assert compiled.ok, [d.message for d in compiled.errors]
    low = compiled.lowered
    evaluator = Evaluator(low.variables, low.recodes, compiled.spec.derives)
    done = evaluator.complete({"q1": 1, "q3": 10})
    assert (done["ung"], done["begge"]) == (True, True)
    copy = evaluator.complete({"q3": 99})
    assert copy["kopi"] == 99
    assert evaluator.truth(parse_expr("kopi is dont_know"), copy)
    assert not evaluator.truth(parse_expr("kopi > 50"), copy)  # a missing code is no number


# ---------------------------------------------------------------- three-valued logic, issue 11

#: a true, a false and an UNKNOWN condition (q1 not asked)
T, F, U = "1 == 1", "1 == 2", "q1 == 1"
TRUTH = {T: True, F: False, U: None}


@pytest.mark.parametrize("a", [T, F, U])
@pytest.mark.parametrize("b", [T, F, U])
def test_kleene_truth_table(ev, a, b) -> None:
    x, y = TRUTH[a], TRUTH[b]
    conj = False if False in (x, y) else (None if None in (x, y) else True)
    disj = True if True in (x, y) else (None if None in (x, y) else False)
    assert ev.value(parse_expr(f"({a}) and ({b})"), {}) is conj
    assert ev.value(parse_expr(f"({a}) or ({b})"), {}) is disj
    assert ev.value(parse_expr(f"all({a}, {b})"), {}) is conj
    assert ev.value(parse_expr(f"any({a}, {b})"), {}) is disj
    assert ev.value(parse_expr(f"count({a}, {b})"), {}) == [x, y].count(True)
    assert ev.value(parse_expr(f"not ({a})"), {}) is (None if x is None else not x)
    want = None if x is None else (1 if x else 2)
    assert ev.value(parse_expr(f"if {a} then 1 else 2"), {}) == want


def test_tests_are_never_unknown(ev) -> None:
    for text in ("q1 is answered", "q1 is missing", "q1 is dont_know", "q1 is not missing"):
        assert ev.value(parse_expr(text), {}) in (True, False)


def test_aggregates_over_lists(ev) -> None:
    rec = {"q1": 2, "q3": 99}
    assert ev.value(parse_expr("sum(q1, q3, 4)"), rec) == 6  # 99 is don't know: no value
    assert ev.value(parse_expr("sum(q3)"), rec) == 0
    assert ev.value(parse_expr("min(q1, q3, 4)"), rec) == 2
    assert ev.value(parse_expr("max(q1, q3, 4)"), rec) == 4
    assert ev.value(parse_expr("max(q3, missing)"), rec) is None
    assert ev.value(parse_expr("count(q1 == 2, q3 == 99, q3 > 10, q6 == \"x\")"), rec) == 2


def test_conditional_and_missing_literal(ev) -> None:
    e = parse_expr("if q1 == 1 then 1 else 0")
    assert [ev.value(e, r) for r in ({"q1": 1}, {"q1": 2}, {})] == [1, 0, None]
    assert ev.value(parse_expr("if q1 is missing then missing else q1"), {}) is None
    assert ev.value(parse_expr("missing + 1"), {}) is None


def test_derived_condition_can_be_missing() -> None:
    text = SPEC + """
derive ung = q3 < 25 or q1 == 1
derive d = if q1 == 1 then 1 else 0
"""
    compiled = compile_text(text)
    assert compiled.diagnostics == []
    low = lower(parse_text(text).spec)
    ev2 = Evaluator(low.variables, low.recodes, parse_text(text).spec.derives)
    assert ev2.complete({"q1": 2})["ung"] is None  # q3 not asked: neither true nor false
    assert ev2.complete({"q1": 1})["ung"] is True
    assert ev2.complete({"q3": 40, "q1": 2})["ung"] is False
    assert ev2.complete({"q1": 2})["d"] == 0
    assert low.variables["d"].value_kind == "number"
    assert low.variables["ung"].value_kind == "bool"


@pytest.mark.parametrize(
    ("derive", "code", "words"),
    [
        ("sum(q6)", "type", "`sum` takes numbers"),
        ("sum(q5)", "type", "`sum` takes numbers"),
        ("count(q3)", "type", "`count` takes conditions"),
        ("any(q1, q3 > 1)", "type", "`any` takes conditions"),
        ("count()", "no-operand", "at least one operand"),
        ("if q1 == 1 then q6 else 2", "type", "branches of `if`"),
        ("if q3 then 1 else 2", "type", "not a condition"),
        ("total(q1, q3)", "unknown-function", "unknown function"),
    ],
)
def test_aggregate_and_conditional_misuse(derive, code, words) -> None:
    diags = compile_text(SPEC + f"derive x = {derive}\n").diagnostics
    assert [d.code for d in diags] == [code], [d.headline() for d in diags]
    assert words in diags[0].message
