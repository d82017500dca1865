"""The KVP 2009 spec: it checks clean, says what the questionnaire says, and its
codebook is a golden file."""

from __future__ import annotations

import json
import re

import pytest

from kvpspec.data.codebook import codebook
from kvpspec.compile import compile_file
from kvpspec.semantics.routing import asked_conditions
from kvpspec.semantics.lower import walk_items
from kvpspec import model as m

from conftest import GOLDENS, KVP, check_golden


@pytest.fixture(scope="module")
def kvp():
    return compile_file(KVP)


def test_checks_clean(kvp) -> None:
    assert kvp.diagnostics == []


def test_codebook_golden(kvp, update_goldens) -> None:
    text = json.dumps(codebook(kvp), ensure_ascii=False, indent=2) + "\n"
    check_golden(GOLDENS / "kvp2009.codebook.json", text, update_goldens)


def test_variables_follow_the_questionnaire(kvp) -> None:
    names = [v["name"] for v in codebook(kvp)["variables"] if v["role"] in ("question", "item", "specify")]
    expected = (
        ["q1", "q2", "q3", "q4", "q4_other", "q5", "q5_other", "q6a", "q6b", "q7"]
        + [f"q8{c}" for c in "abcdefghi"]
        + ["q9", "q9_other"]
        + [f"q10{c}" for c in "abcdef"]
        + ["q11", "q12"]
    )
    assert names == expected


def test_q3_has_99_as_missing(kvp) -> None:
    q3 = next(v for v in codebook(kvp)["variables"] if v["name"] == "q3")
    assert q3["type"] == "integer"
    assert q3["missing"] == ["99"]
    assert q3["values"] == {"99": "IKKE SIKKER/UBESVART"}


def test_dispositions_follow_tabell1(kvp) -> None:
    fw = kvp.spec.fieldwork
    assert [d.code for d in fw.dispositions] == list(range(1, 8))
    assert fw.dispositions[0].label.text == "Ubesvart i intervjuperioden"
    assert fw.dispositions[6].label.text == "Fullførte intervju"
    assert fw.dispositions[6].aapor == "I"
    assert {r.name for r in fw.rates} >= {"svarprosent", "rr1", "rr3", "rr5"}


def test_personal_fields_never_in_response_data(kvp) -> None:
    personal = {v["name"] for v in codebook(kvp)["variables"] if v["personal"]}
    assert personal == {"etternavn", "fornavn", "telefon", "navn"}
    roles = {v["name"]: v["role"] for v in codebook(kvp)["variables"]}
    assert all(roles[name] == "sample" for name in personal)


def test_analyses_named_as_in_the_report(kvp) -> None:
    names = [a.name for a in kvp.spec.analyses]
    assert names == ["tabell1", "tabell2", "tabell3"] + [f"figur{i}" for i in range(1, 19)]
    summaries = {
        a.name: [t.name for s in a.statements if isinstance(s, m.Summary) for t in s.terms]
        for a in kvp.spec.analyses
    }
    assert summaries["figur3"] == ["q3"]
    assert summaries["figur4"] == ["q11"]


def test_read_aloud_marking(kvp) -> None:
    variables = kvp.lowered.variables
    assert variables["q1"].read == frozenset(range(1, 7))
    assert variables["q7"].read == frozenset(range(1, 5))
    assert variables["q8i"].read == frozenset(range(1, 5))
    assert variables["q2"].read == frozenset()
    q12 = next(i for i in walk_items(kvp.spec.interview.items) if getattr(i, "name", None) == "q12")
    assert q12.recorded


def test_specify_texts_are_routed(kvp) -> None:
    asked = asked_conditions(kvp.lowered)
    assert asked["q1"] is None
    from kvpspec.syntax.formatter import format_expr

    assert format_expr(asked["q4_other"]) == "q4 == 2"
    assert format_expr(asked["q5_other"]) == "q5 == 8"
    assert format_expr(asked["q9_other"]) == "q9 == 7"


def _norm(text: str) -> str:
    text = text.replace("\u2010", "-").replace("\u2013", "-")
    return re.sub(r"\s+", " ", text).strip()


def test_question_texts_are_the_questionnaires_own(kvp, seed_text: str) -> None:
    seed = _norm(seed_text)
    seed = seed[seed.index("Intervjuskjema") :]
    questionnaire = seed[: seed.index("Brev til NAV lokal")]
    missing = []
    for item in walk_items(kvp.spec.interview.items):
        texts: list[str] = []
        if isinstance(item, m.Question) and item.name.startswith("q"):
            texts = [item.label.text] + [o.label.text for o in item.options] + [n.text for n in item.notes]
        elif isinstance(item, m.Grid):
            texts = [gi.label.text for gi in item.items] + ([item.label.text] if item.label else [])
        elif isinstance(item, (m.Say, m.Instruction, m.Heading)):
            texts = [item.text.text]
        for text in texts:
            probe = _norm(text)
            if probe not in questionnaire and probe.upper() not in questionnaire.upper():
                missing.append(text)
    for scale in kvp.spec.scales:
        for o in scale.options:
            if _norm(o.label.text) not in questionnaire:
                missing.append(o.label.text)
    # texts the questionnaire leaves implicit are marked ADDED in the spec
    added = {"Ja", "Nei", "Nei, feil telefonnummer", "Språkproblemer",
             "Ikke tilgjengelig pga sykdom, behandling og liknende",
             "Er det i orden at vi stiller deg spørsmålene nå?"}
    assert [t for t in missing if t not in added] == []


def test_consent_declaration_words(kvp, seed_text: str) -> None:
    seed = _norm(seed_text)
    doc = next(d for d in kvp.spec.documents if d.name == "vedlegg3")
    for block in doc.blocks:
        for t in block.texts:
            assert _norm(t.text) in seed
