"""Guards in the interviewer's words (``kvpspec.semantics.describe``)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvpspec import model as m
from kvpspec.compile import compile_file, compile_text
from kvpspec.diagnostics import number_text
from kvpspec.semantics.describe import Describer, describe
from kvpspec.semantics.lower import Lowered, expr_refs
from kvpspec.semantics.routing import slots
from kvpspec.syntax.parser import parse_expr

from conftest import CASES, KVP
from specgen import specs

ROUTING = CASES / "build" / "routing.survey"


def _low() -> Lowered:
    return compile_file(ROUTING).lowered


def test_codes_show_their_labels_and_questions_their_numbers() -> None:
    low = _low()
    assert describe(parse_expr("q1 == 2"), low, "nb") == "spm. 1 = 2 (Nei)"
    assert describe(parse_expr("q1 == 2"), low, "en") == "Q1 = 2 (No)"
    assert describe(parse_expr("not q1 in [1, 9]"), low, "nb") == (
        "spm. 1 er ikke besvart med 1 (Ja) eller 9 (Vet ikke)"
    )
    assert describe(parse_expr("q1 != 2"), low, "en") == "Q1 is answered, but not with 2 (No)"
    assert describe(parse_expr("q3a == 9 or q4 >= 18 and q4 is not missing"), low, "nb") == (
        "spm. 3a = 9 (Vet ikke) eller (spm. 4 ≥ 18 og spm. 4 har gyldig svar)"
    )
    assert describe(parse_expr("q2 in [1, 2]"), low, "en") == "Q2 includes 1 (Borrowed books) or 2 (Read newspapers)"
    assert describe(parse_expr("q4 is refused"), low, "nb") == "spm. 4 = 999 (Vil ikke svare)"
    assert describe(parse_expr("not (q1 == 1 and q4 in 20..30)"), low, "en") == "not (Q1 = 1 (Yes) and Q4 = 20–30)"
    assert describe(parse_expr("rett == 1"), low, "nb") == "rett = 1 (Ja)"


def test_other_languages_fall_back_to_their_base_then_bokmal() -> None:
    low = _low()
    assert describe(parse_expr("q1 == 2"), low, "en-GB") == "Q1 = 2 (No)"
    assert describe(parse_expr("q1 == 2 and q4 is answered"), low, "se") == "spm. 1 = 2 (Nei) og spm. 4 er besvart"


def _tested(e: m.Expr) -> set[str]:
    """The codes and bounds a condition tests, as text."""
    out: set[str] = set()
    if isinstance(e, m.Literal_) and not isinstance(e.value, (bool, str)):
        out.add(number_text(e.value))
    elif isinstance(e, m.In):
        for v in e.values:
            out.update(number_text(x) for x in (v.low, v.high) if x is not None)
    for child in _children(e):
        out |= _tested(child)
    return out


def _children(e: m.Expr) -> list[m.Expr]:
    if isinstance(e, (m.Unary, m.In, m.Test)):
        return [e.operand]
    if isinstance(e, (m.Binary, m.Compare)):
        return [e.left, e.right]
    if isinstance(e, m.BoolOp):
        return list(e.operands)
    if isinstance(e, m.Call):
        return list(e.args)
    return []


def _assert_describes(low: Lowered, e: m.Expr, language: str) -> None:
    d = Describer(low, language)
    text = d(e)
    assert text.strip()
    for name in expr_refs(e):
        assert d.number(name) in text, (name, text)
    for code in _tested(e):
        assert code in text, (code, text)
    if isinstance(e, m.Test) and e.test in ("dont_know", "refused", "not_applicable"):
        var = low.variables.get(e.operand.name) if isinstance(e.operand, m.Ref) else None
        for c, kind in var.missing if var is not None else ():
            if kind == e.test:
                assert str(c) in text


def test_every_guard_of_the_kvp_and_build_specs_is_described() -> None:
    for path in (KVP, ROUTING):
        low = compile_file(path).lowered
        for slot in slots(low):
            if slot.guard is not None:
                for language in ("nb", "en", "se"):
                    _assert_describes(low, slot.guard, language)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.sampled_from(["nb", "en", "so"]))
def test_every_guard_of_generated_specs_is_described(source: str, language: str) -> None:
    compiled = compile_text(source)
    for slot in slots(compiled.lowered):
        if slot.guard is not None:
            _assert_describes(compiled.lowered, slot.guard, language)


_NAMES = ["q1", "q2", "q3a", "q4", "q5", "q7", "kanal", "rett", "q2_annet"]


def _atoms() -> st.SearchStrategy[m.Expr]:
    ref = st.sampled_from(_NAMES).map(lambda n: m.Ref.build(name=n))
    code = st.integers(-3, 1000).map(lambda v: m.Literal_.build(value=v))
    value = st.one_of(
        st.integers(0, 999).map(lambda v: m.ValueSpec.build(kind="single", low=v, high=v)),
        st.tuples(st.integers(0, 50), st.integers(50, 99)).map(
            lambda t: m.ValueSpec.build(kind="range", low=t[0], high=t[1])
        ),
        st.integers(0, 99).map(lambda v: m.ValueSpec.build(kind="upto", high=v)),
        st.integers(0, 99).map(lambda v: m.ValueSpec.build(kind="from", low=v)),
    )
    return st.one_of(
        st.builds(lambda op, r, c: m.Compare.build(op=op, left=r, right=c),
                  st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), ref, code),
        st.builds(lambda r, vs, neg: m.In.build(operand=r, values=tuple(vs), negated=neg),
                  ref, st.lists(value, min_size=1, max_size=3), st.booleans()),
        st.builds(lambda r, t, neg: m.Test.build(operand=r, test=t, negated=neg),
                  ref, st.sampled_from(["answered", "missing", "dont_know", "refused", "not_applicable"]),
                  st.booleans()),
        st.builds(lambda r, c: m.Compare.build(op=">", left=m.Binary.build(op="+", left=r, right=c), right=c),
                  ref, code),
    )


def _conditions() -> st.SearchStrategy[m.Expr]:
    return st.recursive(
        _atoms(),
        lambda inner: st.one_of(
            inner.map(lambda e: m.Unary.build(op="not", operand=e)),
            st.builds(lambda op, es: m.BoolOp.build(op=op, operands=tuple(es)),
                      st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=8,
    )


@settings(max_examples=200, deadline=None)
@given(_conditions(), st.sampled_from(["nb", "en", "en-GB", "ar"]))
def test_any_condition_is_described_with_every_variable_and_code(e: m.Expr, language: str) -> None:
    _assert_describes(_ROUTING_LOW, e, language)


_ROUTING_LOW = _low()
