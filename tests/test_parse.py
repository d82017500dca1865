"""Parser details: positions, strings, keyword-named study fields, dates."""

from __future__ import annotations

from kvpspec.compile import compile_text
from kvpspec.syntax.parser import parse_text


def test_title_after_another_study_field() -> None:
    spec = parse_text('survey s "S"\nstudy {\n  subtitle "x"\n  title "y"\n}\n').spec
    assert spec.study.title.text == "y"
    assert spec.study.subtitle.text == "x"


def test_impossible_dates_are_reported() -> None:
    compiled = compile_text('survey s "S"\nstudy {\n  period 2009-02-30 .. 2009-06-31\n}\n')
    assert [(d.line, d.column, d.message) for d in compiled.errors] == [
        (3, 10, "`2009-02-30` is not a date (YYYY-MM-DD)"),
        (3, 24, "`2009-06-31` is not a date (YYYY-MM-DD)"),
    ]


def test_spans_point_at_the_construct() -> None:
    spec = parse_text('survey s "S"\n\ninterview {\n  question q1 "Hei" {\n    1 "Ja"\n  }\n}\n').spec
    q1 = spec.interview.items[0]
    assert (q1.span.line, q1.span.column, q1.span.end_line) == (4, 3, 6)
    assert (q1.options[0].span.line, q1.options[0].span.column) == (5, 5)


def test_long_strings_are_dedented() -> None:
    spec = parse_text('survey s "S"\nstudy {\n  privacy """\n    Linje en\n      innrykket\n    Linje to"""\n}\n').spec
    assert spec.study.privacy.text == "Linje en\n  innrykket\nLinje to"


def test_escapes() -> None:
    spec = parse_text('survey s "a \\"b\\" \\\\ c\\nd"\n').spec
    assert spec.title.text == 'a "b" \\ c\nd'
