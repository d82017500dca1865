"""The Hypothesis strategies of kvpspec.testing: routing-consistent interviews,
labelled defects, sample records, and small counterexamples."""

from __future__ import annotations

import doctest
from random import Random

import pytest
from hypothesis import find, given, settings

import kvpspec.synth.strategies
from kvpspec.testing import (
    DEFECT_RULES,
    cases,
    complete,
    defective_cases,
    defective_interviews,
    interviews,
    samples,
    spec_model,
)

from conftest import KVP

MODEL = spec_model(str(KVP))

MIXED = '''survey mixed "Every kind of question"
fieldwork {
  sample {
    field kontor single "Kontor" { 1 "Oslo" 2 "Bergen" }
    field telefon text "Telefon" personal
  }
  dispositions { 6 "Nekt" aapor R  7 "Fullført" aapor I }
}
respondent id integer "Id"
interview {
  question q1 single "Bor du alene?" { 1 "Ja" 2 "Nei" 9 "Vet ikke" missing dont_know }
  question q2 multiple "Hvem bor du med?" {
    ask if q1 == 2
    1 "Partner" 2 "Barn" 3 "Foreldre" specify q2_other "Hvem?"
    8 "Vil ikke svare" missing refused exclusive
  }
  question q3 integer "Alder" { range 15..80 99 "Vet ikke" missing dont_know }
  question q4 decimal "Timer per uke" { ask if q3 >= 18 and kontor == 1  range 0..60 }
  question q5 text "Kommentar" { ask if q3 < 18 }
  question q6 single "Fortsette?" { 1 "Ja" 2 "Nei" end 6 }
  question q7 single "Siste" { 1 "a" 2 "b" }
}
recode aldersgruppe from q3 { ..29 -> 1 "ung" 30.. -> 2 "eldre" 99 -> 9 "vet ikke" missing dont_know }
'''
MIXED_MODEL = spec_model(MIXED)


def violations(model, record, sample=None) -> list[tuple[str, str]]:
    """A reference checker written from the docs: (column, rule) for every fault."""
    out = []
    asked = model.asked(record, sample)
    for step in model.steps:
        var = model.low.variables[step.name]
        value = record.get(step.name)
        if isinstance(value, str) and var.value_kind != "text":
            out.append((step.name, "text-in-numeric"))
            continue
        if not asked[step.name]:
            if value is not None:
                rule = "specify-without-option" if var.role == "specify" else "skipped-but-answered"
                out.append((step.name, rule))
            continue
        if value is None:
            out.append((step.name, "asked-but-empty"))
        elif var.type == "multiple":
            if not value <= set(var.codes):
                out.append((step.name, "code-outside-scale"))
            elif value & var.exclusive and len(value) > 1:
                out.append((step.name, "exclusive-with-others"))
        elif var.value_kind == "code" and value not in var.codes:
            out.append((step.name, "code-outside-scale"))
        elif var.value_kind == "number" and value not in var.missing_codes:
            if var.type == "integer" and value != int(value):
                out.append((step.name, "not-a-whole-number"))
            elif (var.min is not None and value < var.min) or (var.max is not None and value > var.max):
                out.append((step.name, "number-outside-range"))
    return out


def test_docstring_examples() -> None:
    result = doctest.testmod(kvpspec.synth.strategies)
    assert result.attempted > 0 and result.failed == 0


@given(cases(str(KVP)))
def test_kvp_interviews_follow_the_routing(case) -> None:
    assert violations(MODEL, case.record) == []
    assert set(case.record) == {v.name for v in MODEL.response_variables}
    assert not {"rett_person", "husker", "samtykke", "navn", "telefon"} & set(case.record)
    assert (case.record["q4_other"] is not None) == (case.record["q4"] == 2)
    done = complete(str(KVP), case.record)
    assert (done["aldersgruppe"] is None) == (case.record["q11"] is None)


@given(cases(MIXED, sample=True))
def test_mixed_interviews_follow_the_routing(case) -> None:
    assert violations(MIXED_MODEL, case.record, case.sample) == []
    q2 = case.record["q2"]
    if q2 is not None and 8 in q2:
        assert q2 == frozenset([8])
    assert case.sample["telefon"].isdigit()
    ended = case.record["q6"] == 2
    assert (case.record["q7"] is None) == ended
    assert case.end == (6 if ended else None)


@pytest.mark.parametrize("spec", [str(KVP), MIXED], ids=["kvp2009", "mixed"])
def test_defects_are_exactly_one_labelled_fault(spec) -> None:
    model = spec_model(spec)
    rules_seen = set()

    @settings(max_examples=150)
    @given(defective_cases(spec))
    def check(pair) -> None:
        case, defect = pair
        assert defect.rule in DEFECT_RULES
        found = violations(model, case.record, case.sample)
        assert found == [(defect.column, defect.rule)], (defect, found)
        rules_seen.add(defect.rule)

    check()
    assert {"asked-but-empty", "code-outside-scale", "text-in-numeric"} <= rules_seen


def test_defective_interviews_are_records() -> None:
    record, defect = find(defective_interviews(str(KVP)), lambda p: p[1].rule == "code-outside-scale", random=Random(0))
    assert violations(MODEL, record) == [(defect.column, "code-outside-scale")]


@given(samples(str(KVP)))
def test_sample_records(sample) -> None:
    assert sample["navn"] == sample["fornavn"] + " " + sample["etternavn"]
    assert sample["disposition"] in range(1, 8)
    assert (sample["sprak_annet"] is not None) == (sample["sprak"] == 11)


def test_shrinking_gives_the_simplest_interview() -> None:
    record = find(interviews(str(KVP)), lambda r: r["q4"] == 2, random=Random(0))
    assert record["q4_other"] == "a"
    others = {k: v for k, v in record.items() if k not in ("q4", "q4_other", "lopenr", "q3", "q11")}
    assert all(v in (1, None) for v in others.values()), others
    assert (record["lopenr"], record["q3"], record["q11"]) == (1, 0, 18)
