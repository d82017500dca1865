"""Issue 11's smaller frictions: where carets point, what an unknown operator is
told, the parentheses ``fmt`` keeps, and where the routing picture's "otherwise" goes."""

from __future__ import annotations

from pathlib import Path

from kvpspec.compile import compile_file, compile_text
from kvpspec.syntax.formatter import format_expr
from kvpspec.syntax.parser import parse_expr

from buildutil import build_files

SPEC = '''survey t "x"
interview {
  question q1 single "A" {
    1 "Ja"
    2 "Nei" goto c3
  }
}
'''


def test_the_caret_of_an_unknown_goto_points_at_its_target() -> None:
    [d] = [d for d in compile_text(SPEC).diagnostics if d.code == "undefined-ref"]
    line = SPEC.splitlines()[d.line - 1]
    assert line[d.column - 1 : d.end_column - 1] == "c3"


def test_fmt_keeps_parentheses_around_and_inside_or() -> None:
    for text, shown in [
        ("a == 1 and b == 2 or c == 3", "(a == 1 and b == 2) or c == 3"),
        ("a == 1 or b == 2 and c == 3", "a == 1 or (b == 2 and c == 3)"),
        ("(a == 1 or b == 2) and c == 3", "(a == 1 or b == 2) and c == 3"),
        ("a == 1 and b == 2 and c == 3", "a == 1 and b == 2 and c == 3"),
        ("not (a == 1 and b == 2) or c == 3", "not (a == 1 and b == 2) or c == 3"),
    ]:
        assert format_expr(parse_expr(text)) == shown
        assert format_expr(parse_expr(shown)) == shown  # idempotent
        assert parse_expr(shown).model_dump() == parse_expr(text).model_dump()  # same meaning


NESTED = '''survey t "x"
interview {
  question q1 single "A" {
    1 "Ja"
    2 "Nei"
  }
  question q2 single "B" {
    1 "Ja"
    2 "Nei"
  }
  if q1 == 1 {
    question q3 text "C"
    if q2 == 1 {
      question q4 text "D"
    }
  }
  question q5 text "E" {
    ask if q2 == 2
  }
  question q6 text "F"
}
'''


def test_otherwise_edges_go_past_questions_that_are_skipped_too(tmp_path: Path) -> None:
    spec = tmp_path / "nested.survey"
    spec.write_text(NESTED, encoding="utf-8")
    assert compile_file(spec).ok
    mmd = build_files(str(spec), ("flow",))["flow/routing.mmd"].decode()
    skips = [line.strip() for line in mmd.splitlines() if "-.->" in line]
    # q2 -> q3 is "if q1 = 1": otherwise past q3 and the nested q4 (skipped too),
    # to q5, which has its own condition, and past it to q6
    assert any(s.startswith("n_q2 -.->") and s.endswith("n_q5") and "hvis spm. 2 = 2" in s for s in skips), skips
    assert any(s.startswith("n_q2 -.->") and s.endswith("n_q6") for s in skips), skips
    assert not any(s.startswith("n_q2 -.->") and s.endswith("n_q4") for s in skips), skips
