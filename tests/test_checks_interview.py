"""Interview-time checks: soft (`warn`) and hard (`error`) checks with filled messages,
where they fire (semantics/checkpoints.py), and what check, validate, simulate and
the interviewer script make of them."""

from __future__ import annotations

import pytest

from kvpspec.compile import compile_file, compile_text
from kvpspec.data.reader import open_data
from kvpspec.data.validate import validate
from kvpspec.data.vector import VectorEvaluator
from kvpspec.semantics.checkpoints import by_question, checkpoints
from kvpspec.synth.simulate import simulate, write_simulation
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text

from conftest import KVP

SPEC = """survey demo "Checks"

study {
  languages nb, en
}

interview {
  question b1 single "Jobbet du?" @en "Did you work?" {
    1 "Ja" @en "Yes"
    2 "Nei" @en "No"
  }
  question b2 integer "Hvor mange timer?" @en "How many hours?" {
    range 0..100
    ask if b1 == 1
  }
  question b3 integer "Hvor mange timer overtid?" @en "How many hours of overtime?" {
    range 0..100
    ask if b1 == 1
  }
  question b4 single "Trives du?" @en "Do you enjoy it?" {
    1 "Ja" @en "Yes"
    2 "Nei" @en "No"
  }
}

derive lang_uke = b2 > 60

warn timer "Du sa {b2} timer i uka, stemmer det?" @en "You said {b2} hours a week, is that right?" if lang_uke
error overtid "Overtid ({b3}) kan ikke være mer enn {b2} timer; svar {b1}" @en "Overtime ({b3}) cannot exceed {b2} hours" if b3 > b2
"""


@pytest.fixture(scope="module")
def compiled():
    c = compile_text(SPEC)
    assert c.ok, [d.headline() for d in c.diagnostics]
    return c


def test_error_is_a_hard_check_and_formats_back(compiled) -> None:
    assert [(w.name, w.hard, w.keyword) for w in compiled.spec.warnings] == [
        ("timer", False, "warn"), ("overtid", True, "error")
    ]
    text = format_spec(compiled.spec)
    assert 'error overtid "Overtid ({b3})' in text and 'warn timer "Du sa {b2}' in text
    again = parse_text(text).spec
    assert format_spec(again) == text
    assert [w.hard for w in again.warnings] == [False, True]


def test_error_stays_a_name_elsewhere() -> None:
    c = compile_text(
        'survey s "S"\ninterview {\n  question error single "Feil?" {\n    1 "Ja"\n    2 "Nei"\n  }\n}\n'
        'error e "Feil {error}" if error == 2\n'
    )
    assert c.ok, [d.headline() for d in c.diagnostics]
    assert c.spec.warnings[0].hard and c.spec.warnings[0].name == "e"


def test_a_check_fires_after_the_last_answer_it_reads(compiled) -> None:
    low = compiled.lowered
    # `lang_uke` is derived from b2: read through it
    assert [(cp.check.name, cp.column, cp.reads) for cp in checkpoints(low)] == [
        ("timer", "b2", ("b2",)), ("overtid", "b3", ("b2", "b3")),
    ]
    assert {q: [cp.check.name for cp in cps] for q, cps in by_question(low).items()} == {
        "b2": ["timer"], "b3": ["overtid"],
    }


def test_kvp_soft_check_fires_at_q11() -> None:
    low = compile_file(KVP).lowered
    [cp] = checkpoints(low)
    assert (cp.check.name, cp.column, cp.reads, cp.check.hard) == ("erfaring_alder", "q11", ("q3", "q11"), False)


def _data(tmp_path, rows: list[str]):
    path = tmp_path / "d.csv"
    path.write_text("b1,b2,b3,b4\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return open_data(path)


def test_validate_fills_the_message_per_row(compiled, tmp_path) -> None:
    report = validate(compiled, _data(tmp_path, ["1,70,10,1", "1,40,50,1", "2,,,2", "1,65,70,2"]))
    assert [(f.row, f.column, f.rule, f.message) for f in report.warnings] == [
        (2, "b2", "warn:timer", "Du sa 70 timer i uka, stemmer det?"),
        (5, "b2", "warn:timer", "Du sa 65 timer i uka, stemmer det?"),
    ]
    # hard = error, at the question where it fires; a single choice fills its label
    assert [(f.row, f.column, f.rule, f.value, f.message) for f in report.errors] == [
        (3, "b3", "error:overtid", "b2=40; b3=50", "Overtid (50) kan ikke være mer enn 40 timer; svar Ja"),
        (5, "b3", "error:overtid", "b2=65; b3=70", "Overtid (70) kan ikke være mer enn 65 timer; svar Ja"),
    ]
    assert report.rows_invalid == 2 and not report.ok


def test_validate_keeps_the_first_findings_and_counts_all(compiled, tmp_path) -> None:
    rows = [f"1,{61 + i % 30},{i % 101},1" for i in range(5000)]
    source = _data(tmp_path, rows)
    full = validate(compiled, source)
    kept = validate(compiled, _data(tmp_path, rows), keep=3)
    assert kept.warnings_by_rule == full.warnings_by_rule == {"warn:timer": 5000}
    assert kept.errors_by_rule == full.errors_by_rule
    assert [f.row for f in kept.warnings] == [2, 3, 4]
    assert kept.warnings == full.warnings[:3]
    assert kept.errors == full.errors[:3]
    assert kept.rows_invalid == full.rows_invalid == full.errors_by_rule["error:overtid"]


@pytest.mark.parametrize("soft", [True, False], ids=["soft-checks", "allow-warnings"])
def test_simulate_never_writes_a_row_that_trips_a_hard_check(compiled, tmp_path, soft) -> None:
    sim = simulate(compiled, 3000, seed=4, soft_checks=soft)
    assert sim.hard_redrawn > 0  # b3 > b2 happens often in independent draws
    low = compiled.lowered
    ve = VectorEvaluator(low.variables, low.recodes, compiled.spec.derives)
    table = ve.complete(dict(sim.data), sim.n)
    assert not ve.truth(compiled.spec.warnings[1].condition, table, sim.n).any()
    out = tmp_path / "s.csv"
    write_simulation(sim, out)
    report = validate(compiled, open_data(out))
    assert report.errors == []
    assert (report.warning_count == 0) == soft
    assert report.warning_count == sim.warned


def test_simulate_refuses_a_hard_check_that_always_holds(tmp_path) -> None:
    from kvpspec.diagnostics import InputError

    c = compile_text(SPEC + 'error alltid "Alltid" if b4 == 1 or b4 == 2 or b4 is missing\n')
    assert c.ok
    with pytest.raises(InputError, match="hard check"):
        simulate(c, 50, seed=1)


def test_script_shows_each_check_where_it_fires(compiled) -> None:
    from generators.base import Context
    from generators.script import ScriptGenerator

    gen = ScriptGenerator(Context(compiled))
    md = gen.markdown(gen.view("nb"))
    b2, b3, b4 = (md.index(f'<a id="{q}">') for q in ("b2", "b3", "b4"))
    soft = md.index("Kontroll (myk): hvis")
    hard = md.index("Kontroll (hard): hvis")
    assert b2 < soft < b3 < hard < b4
    assert "«Du sa \\<B2\\> timer i uka, stemmer det?»" in md
    assert "kan ikke gå videre" in md[hard:b4]
    en = gen.markdown(gen.view("en"))
    assert "Check (soft): if" in en and "“You said \\<B2\\> hours a week, is that right?”" in en
    assert "Check (hard): if" in en and "the interview cannot go on" in en
    html = ScriptGenerator(Context(compiled)).generate()["script/interviewer.html"].decode()
    assert '<p class="check hard">' in html and '<span class="fill">&lt;B3&gt;</span>' in html


def test_checks_read_in_the_interviewers_words(compiled) -> None:
    from generators.base import Context
    from generators.script import ScriptGenerator

    gen = ScriptGenerator(Context(compiled))
    view = gen.view("nb")
    checks = [c for e in view["entries"] if e.get("type") == "question" for c in e["checks"]]
    # the derived `lang_uke` is read as its definition
    assert [c["label"] for c in checks] == [
        "Kontroll (myk): hvis b2 > 60 — si:",
        "Kontroll (hard): hvis b3 > b2, kan ikke gå videre — si:",
    ]
