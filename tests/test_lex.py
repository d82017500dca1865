"""The fast lexer gives the token stream of lark's own contextual lexer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from lark import Lark, Token

import kvpspec.syntax.parser
from kvpspec.syntax.lexer import SpecLexer

from conftest import CASES, KVP
from specgen import specs

GRAMMAR = Path(kvpspec.syntax.parser.__file__).with_name("grammar.lark").read_text(encoding="utf-8")
OPTIONS = dict(parser="lalr", keep_all_tokens=True, start="start")
OURS = Lark(GRAMMAR, lexer=SpecLexer, **OPTIONS)
LARKS = Lark(GRAMMAR, lexer="contextual", **OPTIONS)


def tokens(parser: Lark, text: str) -> list[tuple]:
    tree = parser.parse(text)
    return [
        (t.type, str(t), t.line, t.column, t.end_line, t.end_column, t.start_pos, t.end_pos)
        for t in tree.scan_values(lambda v: isinstance(v, Token))
    ]


def same(text: str) -> None:
    try:
        expected = tokens(LARKS, text)
    except Exception as exc:  # lark rejects it: so must we, at the same place
        with pytest.raises(type(exc)) as ours:
            tokens(OURS, text)
        assert (ours.value.line, ours.value.column) == (exc.line, exc.column)
        return
    assert tokens(OURS, text) == expected


def test_kvp_spec() -> None:
    same(KVP.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((CASES / "errors").glob("*.survey")), ids=lambda p: p.stem)
def test_error_corpus(path: Path) -> None:
    same(path.read_text(encoding="utf-8"))


@given(specs())
def test_generated_specs(text: str) -> None:
    same(text)
