"""A fast lexer for the grammar's terminals, plugged into lark's LALR parser.

lark's contextual lexer matches whitespace and each token separately and tries
a regular expression per parser state; on a large spec lexing was half of the
parse time. This lexer reads the terminals from the loaded grammar (so
``grammar.lark`` stays the one definition), skips whitespace inside the same
match as the token, and keeps lark's one contextual rule that matters here: a
word is a keyword only where the parser can take that keyword, and a name
everywhere else (a grid item may be called ``e``, a study field ``title``).

The token stream is the one lark's contextual lexer produces; the parser tests
run on it, and ``tests/test_lex.py`` compares the two on the KVP spec and on
generated specs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, Token

#: Regex terminals, in the order the master expression tries them (longest
#: forms first where one is a prefix of another).
_REGEX_ORDER = ("COMMENT", "LONG_STRING", "STRING", "DATE", "DECIMAL", "INT", "LANG", "NAME")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SpecLexer(Lexer):
    """Lexes spec text for lark's LALR parser (lark's custom-lexer interface 2)."""

    __future_interface__ = 2

    def __init__(self, conf: Any) -> None:
        self.callbacks: dict[str, Callable[[Token], Token]] = dict(conf.callbacks)
        self.ignore = set(conf.ignore)
        by_name = {t.name: t for t in conf.terminals}
        #: words that are keywords somewhere: value -> terminal name
        self.keywords: dict[str, str] = {}
        punct: list[tuple[str, str]] = []
        for t in conf.terminals:
            if t.pattern.type == "str":
                if _WORD.match(t.pattern.value):
                    self.keywords[t.pattern.value] = t.name
                else:
                    punct.append((t.pattern.value, t.name))
        # terminals that are alternations of words (QKIND: "single" | "multiple" | ...)
        for t in conf.terminals:
            if t.pattern.type == "re" and t.name not in _REGEX_ORDER and t.name not in self.ignore:
                words = [w for w in t.pattern.value.strip("(?:)").split("|")]
                if all(_WORD.match(w) for w in words):
                    for w in words:
                        self.keywords[w] = t.name
                else:
                    punct.extend((w.replace("\\", ""), t.name) for w in words)
        punct.sort(key=lambda p: -len(p[0]))
        self.punct_names = {value: name for value, name in punct}
        parts = [f"(?P<{name}>{by_name[name].pattern.to_regexp()})" for name in _REGEX_ORDER]
        parts.append("(?P<PUNCT>" + "|".join(re.escape(v) for v, _ in punct) + ")")
        ws = by_name["WS"].pattern.to_regexp()
        self.master = re.compile(f"(?:{ws})?(?:" + "|".join(parts) + ")")
        self.trailing_ws = re.compile(f"(?:{ws})?")

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        text = lexer_state.text.text
        end = len(text)
        pos = 0
        line, line_start = 1, 0  # line_start: offset of the current line's first char
        states = parser_state.parse_conf.parse_table.states
        keywords = self.keywords
        punct_names = self.punct_names
        callbacks = self.callbacks
        match = self.master.match
        while True:
            mo = match(text, pos)
            if mo is None:
                skip = self.trailing_ws.match(text, pos)
                if skip is not None and skip.end() > pos:
                    line += text.count("\n", pos, skip.end())
                    if "\n" in skip.group():
                        line_start = text.rindex("\n", pos, skip.end()) + 1
                    pos = skip.end()
                if pos >= end:
                    return
                allowed = {t for t in states[parser_state.position] if t != "$END"}
                raise UnexpectedCharacters(
                    text, pos, line, pos - line_start + 1, allowed=allowed, state=parser_state
                )
            kind = mo.lastgroup
            assert kind is not None  # every alternative of the master expression is a named group
            start = mo.start(kind)
            if start > pos and "\n" in text[pos:start]:
                line += text.count("\n", pos, start)
                line_start = text.rindex("\n", pos, start) + 1
            value = mo.group(kind)
            pos = mo.end()
            if kind == "NAME":
                kw = keywords.get(value)
                if kw is not None and kw in states[parser_state.position]:
                    kind = kw
            elif kind == "PUNCT":
                kind = punct_names[value]
            column = start - line_start + 1
            if kind == "LONG_STRING" and "\n" in value:
                end_line = line + value.count("\n")
                line_start_after = text.rindex("\n", start, pos) + 1
                tok = Token(kind, value, start, line, column, end_line, pos - line_start_after + 1, pos)
                line, line_start = end_line, line_start_after
            else:
                tok = Token(kind, value, start, line, column, line, column + len(value), pos)
            callback = callbacks.get(kind)
            if callback is not None:
                tok = callback(tok)
            if kind in self.ignore:
                continue
            lexer_state.last_token = tok
            yield tok
