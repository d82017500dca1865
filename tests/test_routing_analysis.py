"""Static routing analysis (flow.analyse) and route enumeration (flow.enumerate_routes)."""

from __future__ import annotations

from kvpspec.compile import compile_file, compile_text
from kvpspec.semantics.routing import analyse, backward_gotos, enumerate_routes, value_domain

from conftest import CASES, KVP

FAULTS = CASES / "faults"


def test_kvp_routes_are_enumerated() -> None:
    low = compile_file(KVP).lowered
    routes = enumerate_routes(low)
    assert routes.complete
    intro = [r for r in routes.routes if r.in_intro]
    data = [r for r in routes.routes if not r.in_intro]
    # rett_person ends three ways, samtykke one; q4, q5 and q9 each may ask a specify text
    assert sorted(r.end for r in intro) == [3, 4, 5, 6]
    assert len(data) == 8
    assert analyse(low).findings == []


def test_every_route_has_a_witness_that_takes_it() -> None:
    from kvpspec.synth.proptest import replay
    from kvpspec.synth.strategies import spec_model

    model = spec_model(str(KVP))
    for route in enumerate_routes(model.low).routes:
        if route.in_intro:
            continue
        case = replay(model, dict(route.witness))
        asked = tuple(n for n in route.asked if model.low.variables[n].role != "screener")
        assert case.path == asked


def test_correlated_unreachable_is_found_by_enumeration_only() -> None:
    compiled = compile_file(FAULTS / "unreachable_correlated.survey")
    assert compiled.ok  # each condition alone can hold: check cannot see it
    routes = enumerate_routes(compiled.lowered)
    assert routes.complete and "q3" not in routes.reached


def test_cycle_is_reported_with_its_path() -> None:
    compiled = compile_file(FAULTS / "cycle.survey")
    [(question, option, path)] = backward_gotos(compiled.lowered)
    assert (question.name, option.goto, path) == ("q2", "q1", ["q1", "q2", "q1"])


def test_domains_split_at_the_literals() -> None:
    spec = compile_text(
        'survey s "S" interview { question q11 integer "Alder" { range 18..67 99 "Vet ikke" missing dont_know }'
        ' question q2 single "X" { ask if q11 < 25 or q11 in 36..55  1 "a" } }'
    )
    low = spec.lowered
    dom = value_domain(low, low.variables["q11"], {25, 36, 55})
    assert dom.exact
    assert dom.values == (18, 24, 25, 26, 35, 36, 37, 54, 55, 56, 67, 99)


def test_analysis_stays_linear_on_long_goto_chains() -> None:
    """Every question skipped by an earlier goto: one pass, no blow-up."""
    lines = ['survey s "S"', "interview {"]
    n = 300
    for i in range(1, n + 1):
        target = f" goto q{i + 2}" if i + 2 <= n else ""
        lines.append(f'  question q{i} single "Q{i}" {{ 1 "a"{target} 2 "b" }}')
    lines.append("}")
    compiled = compile_text("\n".join(lines))
    assert compiled.ok, [d.headline() for d in compiled.errors]
    facts = analyse(compiled.lowered)
    assert not facts.never
