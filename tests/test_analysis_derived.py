"""Derived variables in the generated analysis code: each `derive` becomes a
function over the data frame's columns with the meaning of ``expr.Evaluator``.

The property test draws interviews that follow the routing, reads them the way
``analysis.py`` reads a data file (``typed``), runs the generated recodes and
derived variables, and compares every value with ``Evaluator.complete`` row by row.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_analysis import ruff_findings

from generators.analysis import analysis_source
from kvpspec import compile_text
from kvpspec.synth.strategies import cases, spec_model

SPEC = '''survey derived "Derived variables"

scale enig "Enig" {
  1 "Helt enig"
  2 "Delvis enig"
  3 "Delvis uenig"
  4 "Helt uenig"
  5 "Vet ikke" missing dont_know
}

interview {
  question q1 single "Kjønn" {
    1 "Kvinne"
    2 "Mann"
    9 "Vil ikke svare" missing refused
  }
  question q2 multiple "Hva gjorde du?" {
    ask if q1 != 9
    1 "Lånte"
    2 "Leste"
    3 "Annet"
    8 "Vet ikke" missing dont_know exclusive
  }
  question q3 integer "Års erfaring" {
    ask if q1 != 2
    range 0..60
    99 "Ikke sikker" missing dont_know
  }
  question q4 text "Fornavn" {
    ask if q1 != 9
  }
  question q5 integer "Alder" {
    range 18..80
  }
  question q6 single "Enig?" scale enig {
    ask if q5 > 30 or q2 == 1
  }
  question q7 decimal "Timer" {
    ask if q5 < 40
    range 0..10
  }
}

recode enig2 "Enig eller uenig" from scale enig {
  1, 2 -> 1 "Enig"
  3, 4 -> 2 "Uenig"
  5 -> 9 "Vet ikke" missing dont_know
}

recode aldersgruppe "Aldersgruppe" from q5 {
  ..24 -> 1 "Ung"
  25.. -> 2 "Eldre"
}

derive andel "Andel av voksenlivet i arbeid" = q3 / (q5 - 18)
derive sum "Sum" = q3 + q5 * 2 - q7
derive negativ "Negativ" = -q3 + 1
derive null "Delt på null" = q5 / 0
derive konstant "Konstant" = 3
derive ung "Under 25" = q5 < 25 and not (q1 == 9)
derive usikker "Usikker" = q3 is missing or q6 is dont_know or q1 is refused
derive svart "Svart" = q3 is answered and q4 is not missing and q2 is not dont_know
derive valgte "Valgte" = q2 is answered or q6 is not answered
derive enig "Enig" = enig2(q6)
derive enig_ok "Enig eller mangler" = enig2(q6) == 1 or enig2(q6) is missing
derive navn "Navn" = q4 + " «" + "x\\"'" + "»"
derive samme "Samme navn" = q4 == "a" or q4 != "b" and q4 in ["c", "d"] or q4 not in ["e"]
derive valgt "Valgt" = q2 == 2 or q2 in [3, 8] or q2 in 1..3 or q2 is missing
derive ikke "Ikke" = q2 != 1 and q3 not in 10..20 or q3 != 99
derive erfaren "Erfaren" = q3 in [50..] or q3 in [..5] and q3 > 1
derive ulik "Ulik" = q7 != 2.5 or q6 != 5
derive gruppe "Gruppe" = q5 in [18, 30..40, 70..] and aldersgruppe == 1 or q7 >= 2.5
derive dobbel "Dobbel" = andel * 2 + sum / 4
derive kopi "Kopi" = q2
derive alltid "Alltid" = true or false
derive aldri "Aldri" = not true
derive ukjent "Ukjent ved manglende svar" = not (q3 > 5) or q1 == 1
derive jobber "Betinget" = if q1 == 1 then 1 else 0
derive timer "Betinget mangler" = if q7 > 2 then q7 * 2 else missing
derive hvem "Betinget tekst" = if q3 in 0..10 then q4 else "ingen"
derive antall "Antall" = count(q1 == 1, q3 > 10, q2 == 2, q4 == "a")
derive summen "Summen" = sum(q3, q5, q7)
derive minst "Minst" = min(q3, q7)
derive mest "Mest" = max(q3, q6, missing)
derive noen "Noen" = any(q3 > 10, q7 < 1, ukjent)
derive alle "Alle" = all(q3 > 10, not (q6 == 5), ung)
derive betinget "Betinget vilkår" = if q5 > 50 then q3 is missing else q3 < 20

analysis derivert "Deriverte variabler" {
  frequencies ung, enig
  summary andel, sum
  crosstab ung by enig test chisq
}
'''

COMPILED = compile_text(SPEC, "derived.survey")


def _module(source: str, path: Path):
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    assert COMPILED.ok, [str(d) for d in COMPILED.errors]
    warnings: list[str] = []
    source = analysis_source(COMPILED, None, warnings.append)
    assert warnings == []
    return _module(source, tmp_path_factory.mktemp("derived") / "derived_analysis.py")


def cell(value) -> str:
    """A value as a data file holds it."""
    if value is None:
        return ""
    if isinstance(value, frozenset):
        return " ".join(str(c) for c in sorted(value))
    return str(value)


def frame(module, records: list[dict]) -> pd.DataFrame:
    """The records as ``load`` reads a data file, with the recodes and derived variables added."""
    data = pd.DataFrame(index=pd.RangeIndex(len(records)))
    for name, kind in module.COLUMNS.items():
        text = pd.Series([cell(r.get(name)) for r in records], dtype="string")
        data[name] = module.typed(text, name, kind, "test", module.VALUE_LABELS.get(name, {}))
    return module.add_derived(module.add_recodes(data))


def same(got, want) -> bool:
    if want is None:
        return got is pd.NA or got is None
    if isinstance(want, str):
        return got == want
    return got is not pd.NA and float(got) == float(want) and not math.isnan(float(got))


@settings(max_examples=80)
@given(st.lists(cases(COMPILED), min_size=1, max_size=12))
def test_derived_variables_mean_what_the_interpreter_means(generated, batch) -> None:
    model = spec_model(COMPILED)
    records = [c.record for c in batch]
    data = frame(generated, records)
    derives = [d.name for d in COMPILED.spec.derives]
    for i, record in enumerate(records):
        want = model.evaluator.complete(record)
        for name in derives:
            kind = generated.KINDS[name]
            got = data[name].iloc[i]
            if kind == "multiple":
                chosen = frozenset(generated.choices(data[name].iloc[[i]])[0])
                assert (chosen or None) == (want[name] or None), (name, record)
                continue
            if kind == "boolean":  # three-valued: <NA> where the interpreter says UNKNOWN
                if want[name] is None:
                    assert got is pd.NA, (name, record, got)
                else:
                    assert got is not pd.NA and bool(got) is bool(want[name]), (name, record, got)
                continue
            assert same(got, want[name]), (name, record, got, want[name])


def test_every_kind_of_derived_variable(generated) -> None:
    assert {n: generated.KINDS[n] for n in ("andel", "ung", "enig", "navn", "kopi", "konstant")} == {
        "andel": "decimal", "ung": "boolean", "enig": "coded", "navn": "text", "kopi": "multiple",
        "konstant": "decimal",
    }
    assert generated.VALUE_LABELS["ung"] == {True: "Ja", False: "Nei"}
    assert generated.VALUE_LABELS["enig"] == {1: "Enig", 2: "Uenig", 9: "Vet ikke"}
    assert generated.MISSING_CODES["enig"] == {9: "dont_know"}
    assert generated.DERIVED["andel"] == "q3 / (q5 - 18)"
    records = [
        {"q1": 1, "q2": frozenset({1, 3}), "q3": 99, "q4": "a", "q5": 20, "q6": 5, "q7": 2.5},
        {"q1": 9, "q2": frozenset({8}), "q3": 10, "q4": None, "q5": 28, "q6": 1, "q7": None},
    ]
    data = frame(generated, records)
    assert data["andel"].isna().iloc[0] and data["andel"].iloc[1] == 1  # 99 is no value; 10 / 10
    assert str(data["andel"].dtype) == "Int64"  # whole numbers
    assert data["null"].isna().all()  # division by zero
    assert data["konstant"].tolist() == [3, 3]
    assert data["ung"].tolist() == [True, False]
    assert data["enig"].tolist() == [9, 1]
    assert data["navn"].iloc[0] == "a «x\"'»" and data["navn"].isna().iloc[1]
    assert data["alltid"].all() and not data["aldri"].any()


def test_derived_variables_in_tables(generated) -> None:
    records = [
        {"q1": 1, "q2": frozenset({1}), "q3": 2, "q4": "a", "q5": 20 + i, "q6": 1 + i % 5, "q7": 1.5}
        for i in range(20)
    ]
    data = frame(generated, records)
    tables, figure = generated.derivert(generated.THIS_SURVEY, data, None)
    ung, enig, andel, total, cross = tables
    assert ung["kind"] == "frequencies" and [c["code"] for c in ung["categories"]] == [True, False]
    assert [c["count"] for c in ung["categories"]] == [5, 15]  # ages 20..24
    assert enig["categories"][-1] == {
        "code": 9, "label": "Vet ikke", "missing": "dont_know", "count": 4, "percent": 20.0,
        "valid_percent": None,
    }
    assert andel["kind"] == "summary" and andel["n"] == 20
    assert total["mean"] == pytest.approx(sum(2 + (20 + i) * 2 - 1.5 for i in range(20)) / 20)
    assert cross["kind"] == "crosstab" and cross["total"] == 16  # the four "Vet ikke" left out
    assert figure is not None


def test_generated_code_with_derived_variables_is_ruff_clean(tmp_path: Path) -> None:
    pytest.importorskip("ruff")
    script = tmp_path / "analysis.py"
    script.write_text(analysis_source(COMPILED), encoding="utf-8")
    assert ruff_findings(script) == ""


SAMPLE_SPEC = '''survey s "S"
fieldwork {
  sample {
    field kanal single "Kanal" {
      1 "Telefon"
      2 "Web"
    }
    field alder integer "Alder"
  }
  dispositions {
    1 "Nekt" aapor R
    2 "Fullført" aapor I
  }
}
interview {
  question q1 single "Q1" {
    1 "Ja"
    2 "Nei"
  }
}
derive telefon "Telefon" = kanal == 1
derive blandet "Blandet" = kanal + q1
derive videre "Videre" = blandet * 2
analysis a "A" {
  frequencies telefon
  summary blandet, videre
  frequencies q1
}
'''


def test_derived_variables_of_the_sample_file_and_what_cannot_be_computed(tmp_path: Path) -> None:
    compiled = compile_text(SAMPLE_SPEC, "s.survey")
    assert compiled.ok, [str(d) for d in compiled.errors]
    warnings: list[str] = []
    source = analysis_source(compiled, None, warnings.append)
    assert len(warnings) == 2
    assert "`blandet`" in warnings[0] and "both the response data and the sample file" in warnings[0]
    assert "`videre`" in warnings[1] and "reads `blandet`" in warnings[1]
    module = _module(source, tmp_path / "sample_analysis.py")
    sample = pd.DataFrame({"kanal": pd.Series([1, 2, 1], dtype="Int64"), "disposition": [2, 2, 1]})
    sample = module.add_sample_derived(module.add_sample_recodes(sample))
    assert sample["telefon"].tolist() == [True, False, True]
    data = module.add_derived(module.add_recodes(pd.DataFrame({"q1": pd.Series([1, 2], dtype="Int64")})))
    tables, _ = module.a(module.THIS_SURVEY, data, sample)
    telefon, blandet, videre, q1 = tables
    assert [c["count"] for c in telefon["categories"]] == [2, 1]
    assert blandet["kind"] == "skipped" and "both the response data and the sample file" in blandet["reason"]
    assert videre["kind"] == "skipped" and "cannot compute" in videre["reason"]
    assert q1["kind"] == "frequencies"
