"""`kvpspec simulate`: routing-consistent synthetic data, re-checked by the interpreter."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from kvpspec.compile import compile_file, compile_text
from kvpspec.flow import enumerate_routes
from kvpspec.simulate import simulate
from kvpspec.testing import spec_model
from kvpspec.vector import VectorEvaluator

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
