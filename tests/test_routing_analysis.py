"""Static routing analysis (routing.analyse), route enumeration (routing.enumerate_routes)
and the one walker of an interview (routing.Walk)."""

from __future__ import annotations

from kvpspec.compile import compile_file, compile_text
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.routing import Walk, analyse, backward_gotos, enumerate_routes, steps, value_domain
from kvpspec.synth.proptest import replay
from kvpspec.synth.strategies import spec_model

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


WALKED = """survey walked "Walk"
fieldwork { dispositions { 2 "Avbrutt" aapor R  7 "Fullført" aapor I } }
interview {
  question q1 single "Fortsette?" { 1 "Ja" 2 "Nei, noe annet" specify q1_other "Hva?" end 2 }
  question q2 integer "Alder" { range 0..99 }
  question q3 single "Voksen" { ask if q2 >= 18  1 "Ja" 2 "Nei" }
}
"""


def walk(answers: dict) -> tuple[dict[str, bool], list[str], int | None]:
    low = compile_text(WALKED).lowered
    scope: dict = {}
    w = Walk(steps(low), scope, Evaluator(low.variables))
    asked = {}
    for step, ask in w:
        asked[step.name] = ask
        if ask:
            scope[step.name] = answers[step.name]
    return asked, w.path, w.end


def test_walk_asks_each_step_whose_guard_holds() -> None:
    asked, path, end = walk({"q1": 1, "q2": 30, "q3": 1})
    assert path == ["q1", "q2", "q3"] and end is None
    assert asked == {"q1": True, "q1_other": False, "q2": True, "q3": True}
    asked, path, _ = walk({"q1": 1, "q2": 12})
    assert path == ["q1", "q2"] and not asked["q3"]


def test_walk_stops_at_an_end_before_the_options_specify_text() -> None:
    # the guard of q1_other holds (q1 == 2), but the interview has ended with q1
    asked, path, end = walk({"q1": 2})
    assert path == ["q1"] and end == 2
    assert asked == {"q1": True, "q1_other": False, "q2": False, "q3": False}


def test_walk_asked_reads_the_answers_in_scope() -> None:
    low = compile_text(WALKED).lowered
    ev = Evaluator(low.variables)
    assert Walk(steps(low), {"q1": 1, "q2": 17}, ev).asked()["q3"] is False
    assert Walk(steps(low), {"q1": 2, "q2": 40}, ev).asked()["q3"] is False
