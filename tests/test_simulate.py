"""`kvpspec simulate`: routing-consistent synthetic data, re-checked by the interpreter."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

from kvpspec.compile import compile_file, compile_text
from kvpspec.data.reader import open_data
from kvpspec.data.validate import validate
from kvpspec.data.vector import VectorEvaluator
from kvpspec.semantics.routing import enumerate_routes
from kvpspec.synth import answers as answer_book
from kvpspec.synth.answers import answers
from kvpspec.synth.simulate import simulate
from kvpspec.synth.strategies import cases, spec_model

from conftest import CASES, KVP
from test_testing import MIXED, violations

PERSONAL = {"etternavn", "fornavn", "telefon", "navn"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kvpspec", *args], capture_output=True, text=True)


def rows_of(compiled, sim) -> list[dict]:
    low = compiled.lowered
    ve = VectorEvaluator(low.variables)
    cols = {n: ve.as_python(ve._ref_vec(n, sim.data, sim.n)) for n in sim.data}
    samples = {n: ve.as_python(ve._ref_vec(n, sim.sample, sim.n)) for n in sim.sample} if sim.sample else {}
    return [({n: c[i] for n, c in cols.items()}, {n: c[i] for n, c in samples.items()}) for i in range(sim.n)]


@pytest.mark.parametrize("spec", [KVP, MIXED], ids=["kvp2009", "mixed"])
def test_every_row_follows_the_routing(spec) -> None:
    compiled = compile_file(spec) if spec == KVP else compile_text(spec)
    model = spec_model(compiled)
    sim = simulate(compiled, 3000, seed=7, with_sample=True)
    for record, sample in rows_of(compiled, sim):
        assert violations(model, record, sample) == []


@pytest.mark.parametrize("spec", [KVP, MIXED], ids=["kvp2009", "mixed"])
def test_first_rows_take_every_route(spec) -> None:
    compiled = compile_file(spec) if spec == KVP else compile_text(spec)
    model = spec_model(compiled)
    routes = enumerate_routes(compiled.lowered)
    want = {
        (tuple(n for n in r.asked if model.low.variables[n].role != "screener"), r.end)
        for r in routes.routes if not r.in_intro
    }
    sim = simulate(compiled, len(want), seed=1, with_sample=True)
    got = set()
    for record, sample in rows_of(compiled, sim):
        asked = model.asked(record, sample)
        path = tuple(s.name for s in model.steps if asked[s.name])
        end = next((d for s in model.steps for c, d in s.ends if record.get(s.name) == c), None)
        got.add((path, end))
    assert got == want


def test_cli_writes_codebook_columns_and_a_sample(tmp_path) -> None:
    data, sample = tmp_path / "data.csv", tmp_path / "sample.csv"
    r = run("simulate", str(KVP), "-n", "300", "--seed", "3", "-o", str(data), "--sample", str(sample))
    assert r.returncode == 0, r.stderr
    model = spec_model(str(KVP))
    with data.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [v.name for v in model.response_variables]
    assert rows[0][0] == "lopenr" and not PERSONAL & set(rows[0])
    assert len(rows) == 301 and [r[0] for r in rows[1:4]] == ["1", "2", "3"]
    with sample.open(encoding="utf-8") as f:
        srows = list(csv.DictReader(f))
    assert len(srows) == 450
    assert all(s["disposition"] == "7" for s in srows[:300])
    assert {s["disposition"] for s in srows[300:]} <= {"1", "2", "3", "4", "5", "6"}
    assert all(s["navn"] == f"{s['fornavn']} {s['etternavn']}" for s in srows)
    # same seed, same bytes
    again = tmp_path / "again.csv"
    run("simulate", str(KVP), "-n", "300", "--seed", "3", "-o", str(again))
    assert again.read_bytes() == data.read_bytes()


def test_cli_errors(tmp_path) -> None:
    r = run("simulate", str(KVP), "-n", "5", "-o", str(tmp_path / "missing" / "x.csv"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    r = run("simulate", str(CASES / "faults" / "cycle.survey"), "-n", "5", "-o", str(tmp_path / "x.csv"))
    assert r.returncode == 1 and "goto-backward" in r.stderr
    r = run("simulate", str(KVP), "-o", str(tmp_path / "x.csv"))
    assert r.returncode == 2


def test_simulated_kvp_data_is_accepted_by_validate(tmp_path) -> None:
    data = tmp_path / "data.csv"
    assert run("simulate", str(KVP), "-n", "400", "-o", str(data)).returncode == 0
    r = run("validate", str(KVP), str(data))
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- soft checks (`warn`)

#: MIXED with soft checks: one on a question whose routing reads a sample field
#: (so redrawn rows must bring their sample rows along), one on a recode
MIXED_WARN = MIXED + '''
warn mange_timer "Mange timer" if q4 > 40
warn ung "Ung" if aldersgruppe == 1 and q1 == 1
'''
#: a soft check that holds on every possible interview
ALWAYS = MIXED + '''
warn alltid "Alltid" if q1 in [1, 2, 9]
'''


def validated(spec, path):
    compiled = compile_file(spec) if spec == KVP else compile_text(spec)
    return validate(compiled, open_data(str(path)))


def test_simulated_kvp_data_trips_no_soft_check(tmp_path) -> None:
    data = tmp_path / "data.csv"
    r = run("simulate", str(KVP), "-n", "3000", "--seed", "5", "-o", str(data))
    assert r.returncode == 0, r.stderr
    assert "no row trips a soft check" in r.stderr
    report = validated(KVP, data)
    assert report.rows_read == 3000
    assert report.errors == [] and report.warnings == []


def test_allow_warnings_keeps_independent_draws(tmp_path) -> None:
    data = tmp_path / "data.csv"
    r = run("simulate", str(KVP), "-n", "2000", "--seed", "5", "-o", str(data), "--allow-warnings")
    assert r.returncode == 0, r.stderr
    report = validated(KVP, data)
    assert report.errors == []
    tripped = [w for w in report.warnings if w.rule == "warn:erfaring_alder"]
    assert len(tripped) > 500  # about half the rows, drawn independently
    assert f"{len(tripped)} rows trip a soft check (--allow-warnings)" in r.stderr


def test_redrawn_rows_are_deterministic_and_aligned_with_the_sample(tmp_path) -> None:
    def once(name: str, *extra: str) -> tuple[bytes, bytes | None]:
        data, sample = tmp_path / f"{name}.csv", tmp_path / f"{name}-sample.csv"
        args = ["--sample", str(sample)] if "sample" in extra else []
        r = run("simulate", str(KVP), "-n", "1500", "--seed", "11", "-o", str(data), *args)
        assert r.returncode == 0, r.stderr
        return data.read_bytes(), sample.read_bytes() if args else None

    a, sa = once("a", "sample")
    b, sb = once("b", "sample")
    c, _ = once("c")
    assert a == b == c and sa == sb  # same seed, same bytes; same data with or without --sample


def test_redrawn_rows_follow_the_routing_with_their_sample_rows() -> None:
    compiled = compile_text(MIXED_WARN)
    model = spec_model(compiled)
    plain = simulate(compiled, 2000, seed=3, with_sample=True, soft_checks=False)
    sim = simulate(compiled, 2000, seed=3, with_sample=True)
    assert plain.warned > 100 and sim.redrawn == plain.warned
    # only route witnesses can still trip one (`ung` reads q1 and q3, which routing reads)
    ve = VectorEvaluator(compiled.lowered.variables, compiled.lowered.recodes)
    done = ve.complete(sim.data, sim.n)
    hit = ve.truth(compiled.spec.warnings[0].condition, done, sim.n) | ve.truth(compiled.spec.warnings[1].condition, done, sim.n)
    assert hit.sum() == sim.warned and not hit[sim.witnesses:].any()
    # the sample rows of redrawn interviews moved with them: routing read from the sample still holds
    for record, sample in rows_of(compiled, sim):
        assert violations(model, record, sample) == []
    # and the same data come out without a sample file (routing reads `kontor`, so it is drawn anyway)
    bare = simulate(compiled, 2000, seed=3)
    assert sim.data.keys() == bare.data.keys()
    for k, col in sim.data.items():
        if col.dtype == object:
            assert col.tolist() == bare.data[k].tolist()
        else:
            assert np.array_equal(col, bare.data[k], equal_nan=True)


def test_witnesses_keep_their_routes_when_redrawn() -> None:
    compiled = compile_text(MIXED_WARN)
    model = spec_model(compiled)
    routes = enumerate_routes(compiled.lowered)
    plain = simulate(compiled, 400, seed=1, with_sample=True, soft_checks=False)
    sim = simulate(compiled, 400, seed=1, with_sample=True)
    k = sim.witnesses
    assert k == plain.witnesses > 0
    for (r1, s1), (r2, s2) in zip(rows_of(compiled, plain)[:k], rows_of(compiled, sim)[:k]):
        a1, a2 = model.asked(r1, s1), model.asked(r2, s2)
        assert a1 == a2 and s1 == s2
        # only values no routing reads may change
        assert all(r1[name] == r2[name] for name in ("q1", "q2", "q3", "q6"))
    assert len(routes.routes) >= k


def test_a_soft_check_that_always_holds_keeps_the_rows_and_says_how_many(tmp_path) -> None:
    compiled = compile_text(ALWAYS)
    model = spec_model(compiled)
    sim = simulate(compiled, 500, seed=2, with_sample=True)
    assert sim.n == 500 and sim.warned == 500
    for record, sample in rows_of(compiled, sim):
        assert violations(model, record, sample) == []
    spec = tmp_path / "always.survey"
    spec.write_text(ALWAYS, encoding="utf-8")
    data = tmp_path / "data.csv"
    r = run("simulate", str(spec), "-n", "500", "-o", str(data))
    assert r.returncode == 0, r.stderr
    assert "500 rows trip a soft check after redrawing (kept)" in r.stderr
    with data.open(encoding="utf-8") as f:
        assert len(list(csv.reader(f))) == 501
    report = validated(ALWAYS, data)
    assert report.errors == [] and len([w for w in report.warnings if w.rule == "warn:alltid"]) == 500


ANSWERED = '''survey answered "Answers"
fieldwork {
  sample {
    field epost text "E-postadresse" personal
    field etternavn text "Etternavn" personal
    field kanal multiple "Kanal" { 1 "Post" 2 "Telefon" 3 "Ingen" exclusive }
  }
  dispositions { 7 "Fullført" aapor I }
}
interview {
  question m multiple "Hva?" { 1 "A" 2 "B" 5 "Ingen" exclusive 9 "Vet ikke" missing dont_know }
  question n integer "Antall" { ask if m == 5  range 1..10 99 "Vet ikke" missing dont_know }
  question t integer "Alder" { range 0..99 }
  question u single "Voksen" { ask if t >= 18  1 "Ja" 2 "Nei" }
}
'''


def test_one_description_of_each_variables_answers() -> None:
    book = answers(compile_text(ANSWERED).lowered)
    m = book["m"]
    # exclusive options (Variable.exclusive) and missing codes are chosen alone
    assert (m.kind, m.codes, m.alone, m.missing) == ("multiple", (1, 2), (5, 9), (9,))
    assert m.valid(frozenset({1, 2})) and m.valid(frozenset({5})) and m.valid(frozenset({9}))
    assert not m.valid(frozenset({1, 5})) and not m.valid(frozenset({2, 9})) and not m.valid(frozenset())
    assert m.simplest() == frozenset({1})
    n = book["n"]
    assert (n.kind, n.low, n.high, n.missing) == ("number", 1, 10, (99,))
    assert n.valid(99) and n.valid(10) and not n.valid(11) and n.simplest() == 1
    assert {17, 18} <= set(book["t"].edges)  # the edge routing tests (`t >= 18`), both sides
    assert (book["epost"].personal, book["etternavn"].personal) == ("email", "surname")
    assert book["kanal"].alone == (3,)  # a sample field's exclusive option too


@pytest.mark.parametrize("spec", [ANSWERED, MIXED], ids=["answered", "mixed"])
def test_both_generators_give_answers_the_description_allows(spec) -> None:
    compiled = compile_text(spec)
    book = answers(compiled.lowered)
    model = spec_model(compiled)
    names = [s.name for s in model.steps]
    for record, _ in rows_of(compiled, simulate(compiled, 500, seed=5)):
        for name in names:
            assert record[name] is None or book[name].valid(record[name]), (name, record[name])

    @settings(max_examples=200, database=None, deadline=None)
    @given(cases(model))
    def generated(case) -> None:
        for name in case.path:
            assert book[name].valid(case.record[name]), (name, case.record[name])

    generated()


def test_simulated_sample_gets_synthetic_addresses() -> None:
    sim = simulate(compile_text(ANSWERED), 20, seed=2, with_sample=True)
    assert all(str(x).endswith("@example.org") for x in sim.sample["epost"])
    assert set(sim.sample["etternavn"]) <= set(answer_book.SURNAMES)
    kanal = sim.sample["kanal"]  # columns: Post, Telefon, Ingen
    assert kanal.any(axis=1).all() and not (kanal[:, 2] & kanal[:, :2].any(axis=1)).any()


# ---------------------------------------------------------------- batches (memory bounded by the batch)

#: `simulate specs/kvp2009.survey -n 5000 --seed 1 [--sample]` before writing in batches
BEFORE_BATCHES = {"data": "55e1d3be8fa9441640684813f19a653b", "sample": "e0ee35d48ffc33b88edce09d770134c1"}


def test_batched_writing_keeps_the_bytes_of_a_single_draw(tmp_path) -> None:
    import hashlib

    data, sample = tmp_path / "data.csv", tmp_path / "sample.csv"
    r = run("simulate", str(KVP), "-n", "5000", "--seed", "1", "-o", str(data), "--sample", str(sample))
    assert r.returncode == 0, r.stderr
    assert hashlib.md5(data.read_bytes()).hexdigest() == BEFORE_BATCHES["data"]
    assert hashlib.md5(sample.read_bytes()).hexdigest() == BEFORE_BATCHES["sample"]


def test_many_batches_are_valid_numbered_and_deterministic(tmp_path, monkeypatch) -> None:
    import gc
    import weakref

    from kvpspec.synth import simulate as sim_module

    monkeypatch.setattr(sim_module, "BATCH_ROWS", 200)
    compiled = compile_file(KVP)
    alive: list[weakref.ref] = []

    def watched(seed: int):
        """The batches, checking that the writer let go of the one before the last."""
        for sim in sim_module.simulate_batches(compiled, 1001, seed, with_sample=True):
            gc.collect()
            assert all(ref() is None for ref in alive[:-1])
            alive.append(weakref.ref(sim))
            yield sim

    outs = []
    for name in ("a", "b"):
        data, sample = tmp_path / f"{name}.csv", tmp_path / f"{name}-sample.csv"
        total = sim_module.write_simulation(watched(3), data, sample)
        assert (total.n, total.n_sample) == (1001, 1001 + 500)
        outs.append((data.read_bytes(), sample.read_bytes()))
    assert outs[0] == outs[1]
    report = validated(KVP, tmp_path / "a.csv")
    assert report.rows_read == 1001 and report.errors == [] and report.warnings == []
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as f:
        ids = [row[0] for row in csv.reader(f)][1:]
    assert ids == [f"R{i:06d}" for i in range(1, 1002)] or ids == [str(i) for i in range(1, 1002)]
    with open(tmp_path / "a-sample.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    complete = {str(d.code) for d in compiled.spec.fieldwork.dispositions if d.aapor == "I"}
    assert len(rows) == 1501
    assert not any(r["disposition"] in complete for r in rows[1001:])  # the rest did not complete
    # the first batch is the file of a single draw of its size
    first = tmp_path / "first.csv"
    sim_module.write_simulation(sim_module.simulate_batches(compiled, 200, 3), first)
    assert outs[0][0].startswith(first.read_bytes())
    # simulate() joins the batches as the files lay them out
    joined = sim_module.simulate(compiled, 1001, 3, with_sample=True)
    assert joined.n == 1001 and joined.n_sample == 1501
    assert list(joined.sample["disposition"][:1001]) == list(joined.disposition)
