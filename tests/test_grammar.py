"""The grammar is LALR(1) with no conflicts and no colliding tokens (lark strict mode)."""

from __future__ import annotations

from pathlib import Path

from lark import Lark

import kvpspec.syntax.parser


def test_grammar_loads_in_strict_mode() -> None:
    grammar = Path(kvpspec.syntax.parser.__file__).with_name("grammar.lark")
    Lark(grammar.read_text(encoding="utf-8"), parser="lalr", strict=True, start=["start", "expr"])
