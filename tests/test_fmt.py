"""The formatter keeps meaning and is idempotent, on KVP and on generated specs."""

from __future__ import annotations

from hypothesis import given

from kvpspec.compile import compile_text
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text

from conftest import KVP
from specgen import specs


def ir(text: str) -> dict:
    return parse_text(text).spec.model_dump(mode="json")


def roundtrip(source: str) -> None:
    once = format_spec(parse_text(source))
    assert ir(once) == ir(source), "formatting changed the meaning"
    twice = format_spec(parse_text(once))
    assert twice == once, "formatting is not idempotent"


def test_kvp_is_canonical() -> None:
    source = KVP.read_text(encoding="utf-8")
    assert format_spec(parse_text(source)) == source


def test_kvp_roundtrip() -> None:
    roundtrip(KVP.read_text(encoding="utf-8"))


def test_comments_survive() -> None:
    source = (
        "# header\n\nsurvey s \"S\"\n\n# about the scale\nscale a \"A\" {\n"
        "  1 \"x\"  # trailing\n  # before two\n  2 \"y\"\n}\n# at the end\n"
    )
    out = format_spec(parse_text(source))
    for comment in ("# header", "# about the scale", "# trailing", "# before two", "# at the end"):
        assert comment in out
    assert '1 "x"  # trailing' in out
    roundtrip(source)


def test_a_blocks_last_comment_stays_inside_it() -> None:
    # it used to move out, before the next question, and so under another block
    source = (
        'survey s "S"\n\ninterview {\n  question q1 "Q1?" {\n    1 "Ja"\n    2 "Nei"\n'
        '    # last in q1\n  }\n\n  roster r "R" for 1..2 {\n    question q2 "Q2?" {\n'
        '      1 "Ja"\n    }\n    # last in r\n  }\n  # last in the interview\n}\n'
    )
    assert format_spec(parse_text(source)) == source
    roundtrip(source)


def test_hostile_strings_roundtrip() -> None:
    source = 'survey s "quote \\" backslash \\\\ tab \\t newline \\n end" @en "{{ not a fill }}"\n'
    roundtrip(source)


@given(specs())
def test_generated_specs_are_valid(source: str) -> None:
    compiled = compile_text(source)
    assert compiled.ok, [d.headline() for d in compiled.errors]


@given(specs())
def test_fmt_keeps_meaning_and_is_idempotent(source: str) -> None:
    roundtrip(source)
