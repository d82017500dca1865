"""``kvpspec diff``: golden pairs for every kind of change, the JSON contract,
exit codes, and properties (a spec against itself or its formatted text has no
changes; a generated mutation is reported with the right kind)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CASES, HOUSEHOLD, KVP, check_golden
from hypothesis import given
from hypothesis import strategies as st
from specgen import specs

from kvpspec import Compiled, compile_file, compile_text
from kvpspec import model as m
from kvpspec.authoring.diff import (
    KINDS,
    compare_guards,
    diff,
    render_json,
    render_markdown,
    render_text,
)
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_expr

DIFF_CASES = sorted(p for p in (CASES / "diff").iterdir() if p.is_dir())
BASE = compile_file(KVP)


def _pair(case: Path) -> tuple[Path, Path]:
    old = case / "old.survey"
    return (old if old.exists() else KVP), case / "new.survey"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvpspec", "diff", *args], capture_output=True, text=True, encoding="utf-8"
    )


@pytest.mark.parametrize("case", DIFF_CASES, ids=lambda p: p.name)
def test_golden_pairs(case: Path, update_goldens: bool) -> None:
    old, new = _pair(case)
    result = diff(compile_file(old), compile_file(new))
    check_golden(case / "expected.json", render_json(result), update_goldens)


def test_golden_pairs_cover_every_kind() -> None:
    seen: set[str] = set()
    for case in DIFF_CASES:
        data = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        seen.update(c["kind"] for c in data["changes"])
    assert seen == set(KINDS)


def test_text_and_markdown(update_goldens: bool) -> None:
    old, new = _pair(CASES / "diff" / "options")
    result = diff(compile_file(old), compile_file(new))
    check_golden(CASES / "diff" / "options" / "expected.txt", render_text(result), update_goldens)
    check_golden(CASES / "diff" / "options" / "expected.md", render_markdown(result), update_goldens)


def test_json_shape() -> None:
    old, new = _pair(CASES / "diff" / "routing")
    data = json.loads(render_json(diff(compile_file(old), compile_file(new))))
    assert set(data) == {"old", "new", "changes"}
    assert data["old"] == {"survey": "kvp2009", "version": "2009"}
    assert set(data["new"]) == {"survey", "version"}
    for change in data["changes"]:
        assert set(change) == {"kind", "target", "breaking", "message", "old", "new"}
        assert isinstance(change["breaking"], bool)


def test_routing_by_meaning_says_who_is_now_asked() -> None:
    old, new = _pair(CASES / "diff" / "routing")
    changes = {c.target: c for c in diff(compile_file(old), compile_file(new)).changes}
    assert changes["q5"].kind == "routing-changed"
    assert changes["q5"].message == "q5 is no longer asked when q4 = 1"
    assert changes["q11"].kind == "routing-undecided"
    assert "could not be decided" in changes["q11"].message


def test_cli_exit_codes(tmp_path: Path) -> None:
    breaking = CASES / "diff" / "options" / "new.survey"
    harmless = CASES / "diff" / "analyses" / "new.survey"
    assert _run(str(KVP), str(breaking)).returncode == 0
    assert _run(str(KVP), str(breaking), "--fail-on", "breaking").returncode == 1
    assert _run(str(KVP), str(harmless), "--fail-on", "breaking").returncode == 0
    out = _run(str(KVP), str(breaking), "--format", "json")
    assert json.loads(out.stdout)["changes"]
    assert _run(str(KVP)).returncode == 2  # usage
    assert _run(str(KVP), str(tmp_path / "absent.survey")).returncode == 2
    broken = tmp_path / "broken.survey"
    broken.write_text('survey s "S"\ninterview {\n  question q1 "Q?" scale nope\n}\n', encoding="utf-8")
    proc = _run(str(KVP), str(broken), "--fail-on", "breaking")
    assert proc.returncode == 2
    assert f"{broken}:3:" in proc.stderr  # a located diagnostic
    assert _run(str(KVP), str(KVP), "--format", "yaml").returncode == 2


def test_equal_guards_written_differently() -> None:
    low = BASE.lowered
    a = parse_expr("q5 in [1, 2] and not q1 == 3")
    b = parse_expr("(q5 == 2 or q5 == 1) and q1 != 3")
    assert compare_guards(low, low, a, b).verdict == "same"
    c = parse_expr("q5 in [1, 2, 8]")
    result = compare_guards(low, low, a, c)
    assert result.verdict == "differs"
    assert result.names == ("q1", "q5")


def test_undecided_when_too_many_combinations() -> None:
    low = BASE.lowered
    a = parse_expr("q3 + q11 > 50")
    b = parse_expr("q3 + q11 > 51")
    assert compare_guards(low, low, a, b).verdict == "differs"
    assert compare_guards(low, low, a, b, limit=100).verdict == "undecided"


# ---------------------------------------------------------------- properties


def test_kvp_against_itself_and_its_format() -> None:
    assert diff(BASE, BASE).changes == []
    assert diff(BASE, compile_text(format_spec(BASE.result), "fmt")).changes == []


def test_household_against_itself_and_its_format() -> None:
    """Rosters, aggregates and hard checks: no changes against itself or its formatted text."""
    base = compile_file(HOUSEHOLD)
    assert diff(base, base).changes == []
    assert diff(base, compile_text(format_spec(base.result), "fmt")).changes == []


@given(specs())
def test_no_changes_against_itself_or_formatted(text: str) -> None:
    a = compile_text(text)
    assert diff(a, compile_text(text)).changes == []
    assert diff(a, compile_text(format_spec(a.result))).changes == []


def _questions(items: tuple[m.Item, ...]) -> list[m.Question]:
    out: list[m.Question] = []
    for item in items:
        if isinstance(item, m.Question):
            out.append(item)
        elif isinstance(item, (m.Section, m.Closing)):
            out.extend(_questions(item.items))
    return out


def _replace(items: tuple[m.Item, ...], name: str, new: m.Question) -> tuple[m.Item, ...]:
    out: list[m.Item] = []
    for item in items:
        if isinstance(item, m.Question) and item.name == name:
            out.append(new)
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            out.append(item.model_copy(update={"items": _replace(item.items, name, new)}))
        else:
            out.append(item)
    return tuple(out)


def _with(q: m.Question, **update: object) -> Compiled:
    spec = BASE.spec
    assert spec.interview is not None
    interview = spec.interview.model_copy(
        update={"items": _replace(spec.interview.items, q.name, q.model_copy(update=update))}
    )
    return compile_text(format_spec(spec.model_copy(update={"interview": interview})), "mutated")


MAIN = [q for q in _questions(BASE.spec.interview.items if BASE.spec.interview else ()) if not q.recorded]
WITH_OPTIONS = [q for q in MAIN if q.options]


@given(st.sampled_from(WITH_OPTIONS), st.data(), st.booleans())
def test_a_relabelled_code_is_reported(q: m.Question, data: st.DataObject, same_meaning: bool) -> None:
    option = data.draw(st.sampled_from(q.options))
    if same_meaning:
        label = option.label.text + " " + data.draw(st.sampled_from(["osv.", "(les opp)", "el.l."]))
        kind = "option-relabelled"
    else:
        label = data.draw(st.text("qxzvw", min_size=3, max_size=8)) + " Xyzzy"
        kind = "code-meaning-changed"
    options = tuple(
        o.model_copy(update={"label": m.Text.build(text=label, translations={})}) if o.code == option.code else o
        for o in q.options
    )
    changes = diff(BASE, _with(q, options=options)).changes
    assert [(c.kind, c.target) for c in changes] == [(kind, f"{q.name}={option.code}")]
    assert changes[0].breaking == (kind == "code-meaning-changed")


CODED = [q for q in MAIN if q.kind == "single" and q.options]


@given(st.data())
def test_a_changed_guard_is_reported(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(CODED[:-1]))
    later = [q for q in MAIN if MAIN.index(q) > MAIN.index(source)]
    target = data.draw(st.sampled_from(later))
    code = data.draw(st.sampled_from([o.code for o in source.options]))
    changes = diff(BASE, _with(target, condition=parse_expr(f"{source.name} != {code}"))).changes
    assert [(c.kind, c.target) for c in changes] == [("routing-changed", target.name)]
    assert changes[0].breaking
    assert changes[0].message == f"{target.name} is no longer asked when {source.name} = {code}"


# ---------------------------------------------------------------- hand-written pairs

KVP_TEXT = KVP.read_text(encoding="utf-8")


def _edited(*edits: tuple[str, str]) -> Compiled:
    """The KVP spec with each ``(old, new)`` text replaced once; it must compile."""
    text = KVP_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    compiled = compile_text(text, "edited")
    assert compiled.ok, [d.message for d in compiled.errors]
    return compiled


def test_a_moved_recode_bound_of_a_number_with_labelled_missing_codes() -> None:
    """q3 is a number whose 99 is a labelled missing code: its rules are still compared value by value."""
    new = _edited(("  1..3   -> 2 \"1-3 år\"\n  4..7", "  1..4   -> 2 \"1-3 år\"\n  5..7"))
    changes = diff(BASE, new).changes
    assert [(c.kind, c.target, c.breaking) for c in changes] == [("recode-changed", "erfaring", True)]
    assert changes[0].message == "recode erfaring now maps 4 -> 2 (was 3)"
    shifted = _edited(("  ..24   -> 1", "  ..29   -> 1"), ("  25..35 -> 2", "  30..35 -> 2"))
    assert [c.message for c in diff(BASE, shifted).changes] == ["recode aldersgruppe now maps 25..29 -> 1 (was 2)"]


def test_markdown_keeps_user_text_literal() -> None:
    """A `|` stays in its cell, HTML is shown and not run, and backticks or stars make no markup."""
    hostile = 'Bor du | alene? <script>alert(1)</script> `x` *y* [l](http://e)'
    new = _edited(('"Først litt om husstanden du bor i. Bor du…."', json.dumps(hostile)))
    text = render_markdown(diff(BASE, new))
    row = next(line for line in text.splitlines() if "wording-changed" in line)
    unescaped = [i for i, ch in enumerate(row) if ch == "|" and row[i - 1 : i] != "\\"]
    assert len(unescaped) == 5, row
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\\`x\\`" in row and "\\*y\\*" in row and "\\[l\\]" in row
    assert "| `q1` |" in row  # a name stays a code span, unescaped


WAVE = '''survey w "Wave"

interview {
  question q1 single "Bor du alene?" {
    1 "Ja"
    2 "Nei"
    8 "Vet ikke" missing dont_know
  }
  question q2 integer "Alder?" {
    range 18..67
    99 "Ubesvart" missing refused
  }
  question q3 single "Tilfreds?" {
    ask if q1 != 2
    1 "Ja"
    2 "Nei"
  }
}

recode agegroup "Age groups" from q2 {
  ..30 -> 1 "Young"
  31.. -> 2 "Old"
  99 -> 9 "Refused" missing refused
}
'''


def _wave(text: str = WAVE) -> Compiled:
    compiled = compile_text(text, "wave")
    assert compiled.ok, [d.message for d in compiled.errors]
    return compiled


def test_a_renamed_question_is_one_change_and_routing_follows_it() -> None:
    """q1 renamed hh1 (read by q3's condition), q2 renamed age (a recode's source): two renames, nothing else."""
    new = _wave(WAVE.replace("q1", "hh1").replace("q2", "age"))
    changes = diff(_wave(), new).changes
    assert [(c.kind, c.old, c.new, c.breaking) for c in changes] == [
        ("question-renamed", "q1", "hh1", True),
        ("question-renamed", "q2", "age", True),
    ]
    # the condition still changes by meaning through a rename
    narrower = _wave(WAVE.replace("q1", "hh1").replace("ask if hh1 != 2", "ask if hh1 == 1"))
    assert [(c.kind, c.message) for c in diff(_wave(), narrower).changes][1:] == [
        ("routing-changed", "q3 is no longer asked when hh1 = 8"),
    ]


def test_a_question_with_other_text_is_not_a_rename() -> None:
    new = _wave(WAVE.replace('q2 integer "Alder?"', 'age integer "Hvor gammel?"').replace("from q2", "from age"))
    kinds = [c.kind for c in diff(_wave(), new).changes]
    assert kinds[:2] == ["question-removed", "question-added"]
