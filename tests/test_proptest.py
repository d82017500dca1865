"""`kvpspec test`: the KVP spec passes, and every planted fault is caught."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kvpspec.compile import compile_file
from kvpspec.synth.proptest import run as run_properties

from conftest import CASES, KVP

FAULTS = CASES / "faults"


def kvpspec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kvpspec", *args], capture_output=True, text=True)


def test_kvp_passes_with_default_settings() -> None:
    r = kvpspec("test", str(KVP))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "paths        12 enumerated: 4 end in the intro, 8 reach the data" in out
    assert "coverage     8/8 data routes" in out
    assert "FAIL" not in out and "properties:" in out
    for name in ("annet_land", "aldersgruppe_mangler", "erfaring_ikke_sikker", "enig2_folger_q10a"):
        assert f"ok    {name}:" in out
    assert "erfaring: total and disjoint over `q3`: 62 values, proved by enumeration" in out


def test_output_is_deterministic() -> None:
    a = kvpspec("test", str(FAULTS / "false_expectation.survey"), "--examples", "150", "--seed", "4")
    b = kvpspec("test", str(FAULTS / "false_expectation.survey"), "--examples", "150", "--seed", "4")
    assert a.stdout == b.stdout


FAULT_CASES = {
    "unreachable": "FAIL  every question can be asked: `q2` is never asked",
    "unreachable_correlated": "FAIL  every question can be asked: `q3` is never asked: no route reaches it",
    "cycle": "FAIL  every path ends; no question is asked twice: `goto q1` on `q2` jumps back: q1 -> q2 -> q1",
    "recode_overlap": "FAIL  aldersgruppe: total and disjoint over `alder`: the value 25 of `alder` is mapped by 2 rules",
    "recode_gap": "FAIL  erfaring: total and disjoint over `q3`: the value 99 (a missing code) of `q3` is mapped by no rule",
    "false_expectation": "FAIL  voksne: Bare voksne får spørsmålet om botid: broken by this interview (shrunk)",
}


@pytest.mark.parametrize("name", sorted(FAULT_CASES))
def test_planted_faults_are_caught(name: str) -> None:
    r = kvpspec("test", str(FAULTS / f"{name}.survey"), "--examples", "200")
    assert r.returncode == 1, r.stdout + r.stderr
    assert FAULT_CASES[name] in r.stdout, r.stdout
    assert "Traceback" not in r.stderr


def test_false_expectation_shows_the_shrunk_interview_and_its_path() -> None:
    report = run_properties(compile_file(FAULTS / "false_expectation.survey"), examples=200, simulated=0)
    [failure] = report.failed
    table = failure.counterexample
    assert "q1        Alder" in table and "  15" in table  # the smallest age below 18
    assert "2 (Annet land)" in table
    assert "path: q1 -> q4 -> q4_other -> q5" in table


def test_spec_errors_stop_the_run(tmp_path) -> None:
    bad = tmp_path / "bad.survey"
    bad.write_text('survey s "S"\ninterview { question q1 single "A" scale nope }\n', encoding="utf-8")
    r = kvpspec("test", str(bad))
    assert r.returncode == 1 and "undefined-ref" in r.stderr
    r = kvpspec("test", str(tmp_path / "nothing.survey"))
    assert r.returncode == 2
