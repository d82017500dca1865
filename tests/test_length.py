"""The interview-length estimate (``kvpspec.semantics.length``) against the routes."""

from __future__ import annotations

from conftest import CASES, HOUSEHOLD, KVP
from hypothesis import HealthCheck, given, settings
from specgen import specs

from kvpspec.compile import compile_file, compile_text
from kvpspec.semantics.length import _read_seconds, _says_before, estimate, step_seconds, word_count
from kvpspec.semantics.lower import Lowered
from kvpspec.semantics.routing import enumerate_routes


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


ROSTER_SPEC = """survey r "Rosters"

study {
  title "Rosters"
  minutes %(minutes)d
}

interview {
  question n integer "Hvor mange personer bor i husholdningen?" {
    range 1..%(high)d
  }
  roster person "Personer" for 1..n max %(high)d {
    question alder integer "Hvor gammel er person {person}, i hele år, slik det står i folkeregisteret?" {
      range 0..99
    }
    question jobber "Hadde person {person} inntektsgivende arbeid i forrige uke, minst én time?" {
      ask if alder >= 16
      1 "Ja"
      2 "Nei"
    }
    question jobber_n integer "Hvor mange jobber hadde person {person} i forrige uke?" {
      ask if jobber == 1
      range 1..2
    }
    roster jobb "Jobber" for 1..jobber_n max 2 {
      question timer integer "Hvor mange timer i uka arbeider person {person} vanligvis i jobb nummer {jobb}?" {
        range 1..80
      }
    }
  }
  question slutt "Har du noe mer du vil si om husholdningen din?" {
    ask if jobber_1 == 1
    1 "Ja"
    2 "Nei"
  }
}
"""


def test_a_roster_is_estimated_exactly_against_every_route() -> None:
    compiled = compile_text(ROSTER_SPEC % {"minutes": 60, "high": 2})
    assert not [d for d in compiled.diagnostics if d.severity == "error"]
    low = compiled.lowered
    length = estimate(low)
    assert length.exact
    _agrees(low)
    # the longest route asks every person's every question and both jobs
    seconds = step_seconds(low)
    assert abs(length.longest - sum(seconds.values())) < 1e-6


def test_too_long_fires_only_because_of_the_roster() -> None:
    # one person's questions fit in two minutes; six persons' do not
    one = compile_text(ROSTER_SPEC % {"minutes": 2, "high": 1})
    assert not [d for d in one.diagnostics if d.code == "too-long"]
    six = compile_text(ROSTER_SPEC % {"minutes": 2, "high": 6})
    warnings = [d for d in six.diagnostics if d.code == "too-long"]
    assert len(warnings) == 1
    assert "at least" not in warnings[0].message
    length = estimate(six.lowered)
    assert length.exact and length.longest > 120 >= estimate(one.lowered).longest


def test_household_longest_bounds_the_simulated_interviews() -> None:
    import numpy as np

    from kvpspec.synth.simulate import simulate

    compiled = compile_file(HOUSEHOLD)
    low = compiled.lowered
    length = estimate(low)
    assert length.exact
    seconds = step_seconds(low)
    sim = simulate(compiled, 2000, seed=3)
    total = np.zeros(sim.n)
    for name, cost in seconds.items():
        col = sim.data.get(name)
        if col is None:  # the intro's questions are not in the data: every row passed them
            total += cost
            continue
        total += cost * np.array([not (v is None or v == "" or (isinstance(v, float) and v != v)) for v in col])
    total += _read_seconds(_says_before(low.spec.interview.items)[0])
    simulated = float(total.max())
    assert simulated > 15 * 60  # the roster dominates: far beyond the 6 minutes the estimate once said
    assert simulated - 1e-6 <= length.longest <= 2 * simulated
    assert length.shortest <= float(np.median(total)) <= length.longest
    assert length.longest > 25 * 60  # 12 persons with 3 jobs each: more than the 25 minutes first promised


