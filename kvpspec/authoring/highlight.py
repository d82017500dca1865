"""A Pygments lexer for specs (``.survey``), registered as the entry point ``kvpspec``.

It colours the tokens of ``tokens.tokenize``, the same words the language
server navigates by, so the keywords are the grammar's own. Fills inside
labels (``{navn}``) are marked as interpolation, aggregates before a call
(``count(``, ``max(``) as built-in functions, and ``missing`` where it is a
value as a constant. Text the language cannot
hold (an unclosed string, a stray character) is an ``Error`` token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

# Pygments ships no type information (types-Pygments is not a dependency).
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.token import (  # type: ignore[import-untyped]
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
    _TokenType,
)

from kvpspec.authoring.tokens import DECLARING, FILL_RE, Token, tokenize

_TYPES: dict[str, _TokenType] = {
    "comment": Comment.Single,
    "string": String.Double,
    "lang": Name.Attribute,
    "date": Number.Other,
    "number": Number,
    "name": Name,
    "keyword": Keyword,
    "operator": Operator,
    "punctuation": Punctuation,
    "space": Whitespace,
    "error": Error,
}
_CONSTANTS = frozenset({"true", "false", "dont_know", "refused", "not_applicable"})
_WORDS = frozenset({"and", "or", "not", "in", "is", "over"})
#: Tokens after which ``missing`` is a value: an operator, an argument's start, a branch.
_BEFORE_VALUE = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "(", ",", "then", "else"})
#: Aggregates, coloured as built-in functions where a call follows (``max`` is also roster's keyword).
_AGGREGATES = frozenset({"count", "sum", "min", "max", "any", "all"})


class SurveyLexer(Lexer):
    """The kvpspec survey language."""

    name = "kvpspec"
    aliases: ClassVar[list[str]] = ["kvpspec", "survey"]
    filenames: ClassVar[list[str]] = ["*.survey"]
    mimetypes: ClassVar[list[str]] = ["text/x-kvpspec"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, _TokenType, str]]:
        previous = ""
        tokens = tokenize(text)
        for k, tok in enumerate(tokens):
            kind = _TYPES[tok.kind]
            if tok.kind in ("name", "keyword") and tok.text in _AGGREGATES and _calls(tokens, k):
                kind = Name.Builtin
            elif tok.text == "missing" and tok.kind == "keyword" and previous in _BEFORE_VALUE:
                kind = Keyword.Constant  # the value `missing` in an expression, not an option's flag
            elif tok.kind == "keyword" and tok.text in _WORDS:
                kind = Operator.Word
            elif tok.kind in ("name", "keyword") and tok.text in _CONSTANTS:
                kind = Keyword.Constant
            elif tok.kind == "name" and (previous in DECLARING or previous == "roster"):
                kind = Name.Function if previous in ("recode", "derive") else Name.Variable
            if tok.kind == "string":
                yield from _string(tok.offset, tok.text)
            else:
                yield tok.offset, kind, tok.text
            if tok.kind not in ("space", "comment"):
                previous = tok.text


def _calls(tokens: list[Token], k: int) -> bool:
    """Whether the token after ``tokens[k]`` (past spaces) opens a call's parenthesis."""
    for tok in tokens[k + 1 :]:
        if tok.kind != "space":
            return tok.text == "("
    return False


def _string(offset: int, text: str) -> Iterator[tuple[int, _TokenType, str]]:
    pos = 0
    for mo in FILL_RE.finditer(text):
        if mo.start() > pos:
            yield offset + pos, String.Double, text[pos : mo.start()]
        yield offset + mo.start(), String.Interpol, mo.group()
        pos = mo.end()
    if pos < len(text):
        yield offset + pos, String.Double, text[pos:]

