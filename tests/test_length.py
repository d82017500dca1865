"""The interview-length estimate (``kvpspec.semantics.length``) against the routes."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings

from kvpspec.compile import compile_file, compile_text
from kvpspec.semantics.length import _says_before, _read_seconds, estimate, step_seconds, word_count
from kvpspec.semantics.lower import Lowered
from kvpspec.semantics.routing import enumerate_routes

from conftest import CASES, KVP
from specgen import specs


def _by_routes(low: Lowered) -> tuple[float, float, float]:
    """Shortest and mean over completed routes, longest over all, by enumerating every route."""
    seconds = step_seconds(low)
    after = _read_seconds(_says_before(low.spec.interview.items)[0])
    routes = enumerate_routes(low)
    assert routes.complete
    times = [(sum(seconds[n] for n in r.asked) + (after if r.end is None else 0.0), r.end is None) for r in routes.routes]
    done = [t for t, completed in times if completed]
    return min(done), sum(done) / len(done), max(t for t, _ in times)


def _agrees(low: Lowered, must_be_exact: bool = True) -> None:
    length = estimate(low)
    shortest, _, longest = _by_routes(low)
    if not length.exact:
        # Past its bound the estimate follows only the longest routes it found:
        # an "at least" figure, never longer than a real route.
        assert not must_be_exact
        assert length.longest <= longest + 1e-6
        return
    assert abs(length.shortest - shortest) < 1e-6
    assert abs(length.longest - longest) < 1e-6
    assert length.shortest - 1e-6 <= length.typical <= length.longest + 1e-6


def test_kvp_takes_about_six_minutes_within_the_ten_promised() -> None:
    compiled = compile_file(KVP)
    length = estimate(compiled.lowered)
    assert 5 * 60 < length.shortest <= length.typical <= length.longest < 10 * 60
    assert not [d for d in compiled.diagnostics if d.code == "too-long"]
    _agrees(compiled.lowered)


def test_build_spec_agrees_with_its_routes() -> None:
    _agrees(compile_file(CASES / "build" / "routing.survey").lowered)


def test_words_and_fills() -> None:
    assert word_count("Snakker jeg med {navn}?") == 4
    assert word_count("  ") == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_agree_with_their_routes(source: str) -> None:
    compiled = compile_text(source)
    if compiled.lowered.spec.interview is not None and enumerate_routes(compiled.lowered).complete:
        _agrees(compiled.lowered, must_be_exact=False)


def test_a_budget_bounds_the_work_and_says_so() -> None:
    low = compile_file(KVP).lowered
    exact = estimate(low)
    bounded = estimate(low, max_states=1, budget=0)
    assert not bounded.exact
    assert bounded.longest <= exact.longest + 1e-6


def test_the_estimate_costs_a_few_milliseconds_on_kvp() -> None:
    from kvpspec.semantics.length import _estimate, BUDGET, MAX_STATES

    low = compile_file(KVP).lowered
    start = time.perf_counter()
    for _ in range(10):
        _estimate(low, MAX_STATES, BUDGET)
    assert (time.perf_counter() - start) / 10 < 0.01
