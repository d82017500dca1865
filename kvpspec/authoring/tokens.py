"""The words of a spec for editors: every token with its place, never an error.

The parser stops at the first syntax error; an editor needs the words of the
whole text as it is being typed (to find a name under the cursor, to colour
it). This tokenizer mirrors the terminals of ``grammar.lark`` and the keywords
are read from the grammar itself, so the two cannot drift apart; text it
cannot read becomes an ``error`` token and tokenizing goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: The token kinds, in the order the expression tries them.
_PATTERNS = (
    ("comment", r"\#[^\n]*"),
    ("string", r'"""(?:[^"\\]|\\.|"(?!""))*"""'),
    ("string", r'"(?:[^"\\\n]|\\.)*"'),
    ("lang", r"@[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?"),
    ("date", r"\d{4}-\d{2}-\d{2}"),
    ("number", r"\d+\.\d+|\d+"),
    ("name", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("operator", r"\.\.|->|==|!=|<=|>=|[<>=+\-*/]"),
    ("punctuation", r"[(){}\[\],]"),
    ("space", r"[ \t\f\r\n\ufeff]+"),
    ("error", r'"[^\n]*|.'),
)
_TOKEN_RE = re.compile("|".join(f"(?P<{kind}{i}>{p})" for i, (kind, p) in enumerate(_PATTERNS)), re.DOTALL)
_KINDS = {f"{kind}{i}": kind for i, (kind, _) in enumerate(_PATTERNS)}

#: A fill inside a label: ``{navn}``, ``{institute.contact}`` (``{{`` is a brace).
FILL_RE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True)
class Token:
    kind: str  # comment, string, lang, date, number, name, keyword, operator, punctuation, space, error
    text: str
    offset: int
    line: int  # 0-based
    column: int  # 0-based, in characters


@cache
def keywords() -> frozenset[str]:
    """Every keyword of the language, read from ``grammar.lark``."""
    grammar = resources.files("kvpspec.syntax").joinpath("grammar.lark").read_text(encoding="utf-8")
    grammar = re.sub(r"//[^\n]*", "", grammar)
    return frozenset(re.findall(r'"([a-z_]+)"', grammar))


#: Keywords that declare a name: the next name token is its definition.
DECLARING = frozenset(
    {"question", "grid", "scale", "recode", "derive", "expect", "warn", "error", "analysis", "document",
     "field", "rate", "respondent", "specify", "survey"}
)
#: Words that are keywords only in some places and names elsewhere; a name after one of
#: these declaring keywords is never a keyword.
KINDS_OF_QUESTION = frozenset({"single", "multiple", "integer", "decimal", "text"})


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, whitespace included, so their texts join to ``text``."""
    out: list[Token] = []
    line, line_start = 0, 0
    words = keywords() | KINDS_OF_QUESTION
    previous = ""
    for mo in _TOKEN_RE.finditer(text):
        kind = _KINDS[mo.lastgroup or ""]
        value = mo.group()
        start = mo.start()
        if kind == "name" and value in words and previous not in DECLARING:
            kind = "keyword"
        out.append(Token(kind, value, start, line, start - line_start))
        if kind not in ("space", "comment"):
            previous = value
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = start + value.rindex("\n") + 1
    return out
