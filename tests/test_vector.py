"""The vectorised evaluator has the interpreter's meaning: differential property tests.

Random conditions and values over the variables of a spec with every kind of
question are evaluated on a batch of generated interviews, row by row by
``expr.Evaluator`` and column-wise by ``vector.VectorEvaluator``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kvpspec.syntax.parser import parse_expr
from kvpspec.synth.strategies import cases, spec_model
from kvpspec.data.vector import VectorEvaluator

from conftest import KVP
from test_testing import MIXED

SPECS = {"mixed": MIXED, "kvp": str(KVP)}


def atoms(model) -> st.SearchStrategy[str]:
    low = model.low
    options = []
    for v in model.response_variables:
        if v.role == "id":
            continue
        n = v.name
        if v.value_kind == "text":
            options += [f'{n} == "a"', f'{n} != "a"', f'{n} in ["a", "b"]', f"{n} is answered", f"{n} is missing"]
            continue
        codes = list(v.codes) or [0]
        lo = v.min if v.min is not None else min(codes)
        hi = v.max if v.max is not None else max(codes)
        ints = st.integers(int(lo) - 2, int(hi) + 2)
        code = st.sampled_from(codes + [int(lo), int(hi)])
        options.append(st.builds(lambda c, n=n: f"{n} == {c}", code))
        options.append(st.builds(lambda c, n=n: f"{n} != {c}", code))
        options.append(st.builds(lambda a, b, c, n=n: f"{n} in [{a}, {min(b, c)}..{max(b, c)}]", code, ints, ints))
        options.append(st.builds(lambda a, b, n=n: f"{n} not in [{a}, {b}]", code, code))
        options += [f"{n} is answered", f"{n} is missing"]
        if v.missing:
            options.append(f"{n} is {v.missing[0][1]}")
        if v.type != "multiple":
            options.append(st.builds(lambda op, c, n=n: f"{n} {op} {c}", st.sampled_from(["<", "<=", ">", ">="]), ints))
            options.append(st.builds(lambda c, n=n: f"{n} in {c}..{c + 3}", ints))
            options.append(st.builds(lambda c, n=n: f"-{n} + 2 * {n} - {n} / 2 > {c}", ints))
    numbers = [v.name for v in model.response_variables if v.value_kind == "number" and v.role != "id"]
    if len(numbers) >= 2:
        a, b = numbers[:2]
        options.append(f"{a} > {b} - 15")
        options.append(f"{a} / ({b} - {b}) > 1")
    for r in low.spec.recodes:
        if not r.source_is_scale:
            options += [f"{r.name} == {c}" for c in {rule.code for rule in r.rules}]
            options += [f"{r.name} is missing", f"{r.name} > 1"]
    for r in low.spec.recodes:
        if r.source_is_scale:
            users = [v.name for v in model.response_variables if getattr(v.node, "scale", None) == r.source]
            options += [f"{r.name}({u}) == 1" for u in users[:2]]
    return st.one_of([o if isinstance(o, st.SearchStrategy) else st.just(o) for o in options])


def conditions(model) -> st.SearchStrategy[str]:
    base = atoms(model)
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
            st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
            st.builds(lambda a: f"not ({a})", inner),
        ),
        max_leaves=4,
    )


def _check(name: str, data) -> None:
    model = spec_model(SPECS[name])
    low = model.low
    batch = data.draw(st.lists(cases(model, sample=True), min_size=1, max_size=8))
    texts = data.draw(st.lists(conditions(model), min_size=1, max_size=4))
    ve = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    names = {v.name for v in model.response_variables} | set(batch[0].sample)
    table = {n: ve.column(n, [c.record.get(n, c.sample.get(n)) for c in batch]) for n in names}
    full = ve.complete(table, len(batch))
    rows = [model.evaluator.complete({**c.sample, **c.record}) for c in batch]
    for r in low.spec.recodes:
        if not r.source_is_scale:
            assert ve.as_python(ve._ref_vec(r.name, full, len(batch))) == [row[r.name] for row in rows]
    for text in texts:
        e = parse_expr(text)
        got = list(ve.truth(e, full, len(batch)))
        want = [model.evaluator.truth(e, row) for row in rows]
        assert got == want, text


@settings(max_examples=150)
@given(st.data())
def test_vector_agrees_with_interpreter_mixed(data) -> None:
    _check("mixed", data)


@settings(max_examples=60)
@given(st.data())
def test_vector_agrees_with_interpreter_kvp(data) -> None:
    _check("kvp", data)
