"""Text to model: the LALR parser, its inline transformer and curated syntax errors.

The grammar lives in ``grammar.lark`` and is loaded once, with lark's cache, in
LALR mode with ``strict=True``. The transformer runs inline (no parse tree is
built): each method is named after a grammar rule and receives all tokens
(``keep_all_tokens``), so every node gets a span from its first and last token.

The parser is re-entrant: the loaded grammar and its tables are shared and never
change, and everything one parse collects (diagnostics, comments, open brackets)
lives on that parse's own ``SpecTransformer``. Several threads may parse at once.

Problems that the grammar cannot see but the transformer can (an unknown study
field, an unknown missing kind, a malformed date) are collected as diagnostics
and reported together with the semantic checks; a syntax error stops the parse
and is turned into one curated message.
"""

from __future__ import annotations

import re
import textwrap
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kvpspec import model as m
from kvpspec.diagnostics import Diagnostic, SpecError, did_you_mean
from kvpspec.syntax.lexer import SpecLexer

#: How deep ``{``, ``(`` and ``[`` may nest before the spec is refused.
MAX_DEPTH = 100
#: How deep an expression's operators may nest (``1 + 1 + ...`` nests one per ``+``).
MAX_EXPR_DEPTH = 200


@dataclass
class Comment:
    """A ``#`` comment with its position (the formatter puts it back)."""

    line: int
    column: int
    text: str


@dataclass
class ParseResult:
    """A parsed spec with its source, the problems the parser saw, and its comments."""

    spec: m.Spec
    source: str
    file: str
    diagnostics: list[Diagnostic]
    comments: list[Comment] = field(default_factory=list)


class _Stmt:
    """An intermediate statement inside a body, tagged by kind."""

    __slots__ = ("kind", "span", "value")

    def __init__(self, kind: str, value: Any, span: m.Span):
        self.kind = kind
        self.value = value
        self.span = span


class _Bound:
    """A number with its position (bounds of ranges and value sets)."""

    __slots__ = ("span", "value")

    def __init__(self, value: float, span: m.Span):
        self.value = value
        self.span = span


class _TooDeep(Exception):
    """Nesting beyond the limits; ``token`` is where: a Token or a node with a span."""

    def __init__(self, token: Any):
        self.token = token


def _start(x: Any) -> tuple[int, int]:
    if isinstance(x, Token):
        return x.line or 0, x.column or 0
    return x.span.line, x.span.column


def _end(x: Any) -> tuple[int, int]:
    if isinstance(x, Token):
        return x.end_line or 0, x.end_column or 0
    return x.span.end_line, x.span.end_column


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(lambda mo: _ESCAPES.get(mo.group(1), "\\" + mo.group(1)), body)


def string_value(tok: Token) -> str:
    """The text of a STRING or LONG_STRING token, escapes resolved.

    A long string (triple quotes) is dedented and loses its first and last
    line break, so prose can be indented with the spec.
    """
    if tok.type == "LONG_STRING":
        body = tok.value[3:-3]
        body = body.removeprefix("\n")
        body = textwrap.dedent(body)
        if body.endswith("\n"):
            body = body.rstrip(" \t").removesuffix("\n")
        return _unescape(body)
    return _unescape(tok.value[1:-1])


_STUDY_TEXT = {"title", "subtitle", "population", "privacy", "report"}
_STUDY_ORGS = {"sponsor", "client", "institute", "agency"}
_ORG_TEXT = {"name", "department", "address", "contact"}
_ORG_PLAIN = {"short", "email", "phone", "web"}
_STUDY_FIELDS = sorted(_STUDY_TEXT | _STUDY_ORGS | {"period", "minutes", "mode", "languages", "version"})
_ORG_FIELDS = sorted(_ORG_TEXT | _ORG_PLAIN)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SpecTransformer:
    """Builds model nodes as the parser reduces rules (inline, through ``_Forward``).

    One per parse: it holds everything that parse collects, so parses never
    share state.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.comments: list[Comment] = []
        #: the brackets open at the current token (for "this `{` is never closed")
        self.braces: list[Token] = []
        self._depth: dict[int, int] = {}

    # ------------------------------------------------------------ lexer hooks

    def _on_comment(self, tok: Token) -> Token:
        self.comments.append(Comment(tok.line or 0, tok.column or 0, tok.value))
        return tok

    def _on_open(self, tok: Token) -> Token:
        self.braces.append(tok)
        if len(self.braces) > MAX_DEPTH:
            raise _TooDeep(tok)
        return tok

    def _on_close(self, tok: Token) -> Token:
        if self.braces:
            self.braces.pop()
        return tok

    def _nest(self, node: Any, *children: Any) -> Any:
        """Track how deep an expression nests; refuse more than MAX_DEPTH."""
        depth = 1 + max((self._depth.get(id(c), 0) for c in children), default=0)
        if depth > MAX_EXPR_DEPTH:
            raise _TooDeep(node)
        self._depth[id(node)] = depth
        return node

    # ------------------------------------------------------------ helpers

    def _span(self, children: Sequence[Any]) -> m.Span:
        first = last = None
        for c in children:
            if isinstance(c, Token) or hasattr(c, "span"):
                first = c
                break
        for c in reversed(children):
            if isinstance(c, Token) or hasattr(c, "span"):
                last = c
                break
        if first is None:
            return m.Span(file=self.file, line=0, column=0, end_line=0, end_column=0)
        line, col = _start(first)
        end_line, end_col = _end(last)
        return m.Span(
            file=self.file, line=line, column=col, end_line=end_line, end_column=end_col
        )

    def _tok_span(self, tok: Token) -> m.Span:
        line, column = _start(tok)
        end_line, end_column = _end(tok)
        return m.Span(file=self.file, line=line, column=column, end_line=end_line, end_column=end_column)

    def _error(self, code: str, message: str, span: m.Span | None) -> None:
        if span is None:
            span = m.Span(file=self.file, line=0, column=0, end_line=0, end_column=0)
        self.diagnostics.append(Diagnostic.at(span, code, message))

    @staticmethod
    def _items(children: Sequence[Any]) -> list[Any]:
        """Children that are not punctuation or keyword tokens."""
        return [c for c in children if c is not None and not isinstance(c, Token)]

    # ------------------------------------------------------------ text

    def label(self, ch: list[Any]) -> m.Text:
        translations: dict[str, str] = {}
        for lang, text in ch[1:]:
            if lang in translations:
                self._error("duplicate", f"translation `@{lang}` is given twice", self._span(ch))
            translations[lang] = text
        return m.Text.build(
            text=string_value(ch[0]), translations=translations, span=self._span(ch)
        )

    def translation(self, ch: list[Token]) -> tuple[str, str]:
        return ch[0].value[1:], string_value(ch[1])

    # ------------------------------------------------------------ top level

    def start(self, ch: list[Any]) -> m.Spec:
        name_tok, title = ch[0]
        fields: dict[str, Any] = {}
        lists: dict[str, list[Any]] = {
            "scales": [],
            "recodes": [],
            "derives": [],
            "expectations": [],
            "warnings": [],
            "analyses": [],
            "documents": [],
        }
        singles: dict[type, str] = {
            m.Study: "study",
            m.Interview: "interview",
            m.Fieldwork: "fieldwork",
            m.Respondent: "respondent",
        }
        plural: dict[type, str] = {
            m.Scale: "scales",
            m.Recode: "recodes",
            m.Derive: "derives",
            m.Expectation: "expectations",
            m.Warning_: "warnings",
            m.Analysis: "analyses",
            m.Document: "documents",
        }
        for decl in ch[1:]:
            kind = type(decl)
            if kind in singles:
                key = singles[kind]
                if key in fields:
                    prev = fields[key].span
                    self._error(
                        "duplicate",
                        f"a second `{key}` section; merge it with the one on line {prev.line}",
                        decl.span,
                    )
                    continue
                fields[key] = decl
            else:
                lists[plural[kind]].append(decl)
        return m.Spec.build(
            name=name_tok.value,
            title=title,
            **fields,
            **{k: tuple(v) for k, v in lists.items()},
            span=self._span([name_tok, title]),
        )

    def survey(self, ch: list[Any]) -> tuple[Token, m.Text]:
        return ch[1], ch[2]

    # ------------------------------------------------------------ study

    def study(self, ch: list[Any]) -> m.Study:
        span = self._span(ch)
        values = self._meta_fields(ch[2:-1], _STUDY_FIELDS, "study")
        out: dict[str, Any] = {}
        for key, (value, vspan) in values.items():
            if key in _STUDY_TEXT:
                out[key] = self._want_text(key, value, vspan)
            elif key in _STUDY_ORGS:
                out[key] = self._want_org(key, value, vspan)
            elif key == "period":
                if isinstance(value, m.Period):
                    out[key] = value
                else:
                    self._error("bad-value", "`period` takes two dates: 2009-06-03 .. 2009-09-03", vspan)
            elif key == "minutes":
                if isinstance(value, int) and not isinstance(value, bool):
                    out[key] = value
                else:
                    self._error("bad-value", "`minutes` takes a whole number, e.g. `minutes 10`", vspan)
            elif key == "languages":
                if isinstance(value, tuple):
                    out[key] = value
                else:
                    self._error("bad-value", "`languages` takes language codes: `languages nb, en`", vspan)
            elif key in ("mode", "version"):
                if isinstance(value, m.Text):
                    out[key] = value.text
                elif isinstance(value, tuple) and len(value) == 1:
                    out[key] = value[0]
                else:
                    self._error("bad-value", f"`{key}` takes one word or a string", vspan)
        return m.Study.build(**out, span=span)

    def _meta_fields(
        self, entries: Sequence[Any], allowed: Sequence[str], where: str
    ) -> dict[str, tuple[Any, m.Span]]:
        values: dict[str, tuple[Any, m.Span]] = {}
        for key_tok, value, span in entries:
            key = key_tok.value
            if key not in allowed:
                self._error(
                    "unknown-field",
                    f"`{key}` is not a field of `{where}`{did_you_mean(key, allowed)}",
                    self._tok_span(key_tok),
                )
                continue
            if key in values:
                self._error("duplicate", f"`{key}` is given twice in `{where}`", span)
                continue
            values[key] = (value, span)
        return values

    def _want_text(self, key: str, value: Any, span: m.Span) -> m.Text | None:
        if isinstance(value, m.Text):
            return value
        self._error("bad-value", f'`{key}` takes a string, e.g. `{key} "..."`', span)
        return None

    def _want_org(self, key: str, value: Any, span: m.Span) -> m.Organisation | None:
        if isinstance(value, m.Text):
            return m.Organisation.build(name=value, span=span)
        if isinstance(value, dict):
            return self._organisation(key, value, span)
        self._error("bad-value", f'`{key}` takes a name or a block: `{key} {{ name "..." }}`', span)
        return None

    def _organisation(self, key: str, group: dict[str, Any], span: m.Span) -> m.Organisation:
        values = self._meta_fields(group["entries"], _ORG_FIELDS, key)
        out: dict[str, Any] = {}
        for k, (value, vspan) in values.items():
            if k in _ORG_TEXT:
                out[k] = self._want_text(k, value, vspan)
            elif isinstance(value, m.Text) and not value.translations:
                text = value.text
                if k == "email" and not _EMAIL_RE.match(text):
                    self._error("bad-value", f"`{text}` is not an e-mail address", vspan)
                out[k] = text
            elif isinstance(value, tuple) and len(value) == 1 and k == "short":
                out[k] = value[0]
            else:
                self._error("bad-value", f'`{k}` takes a plain string, e.g. `{k} "..."`', vspan)
        return m.Organisation.build(**out, span=span)

    def meta_entry(self, ch: list[Any]) -> tuple[Token, Any, m.Span]:
        return ch[0], ch[1], self._span(ch)

    def meta_group(self, ch: list[Any]) -> tuple[Token, Any, m.Span]:
        return ch[0], {"entries": ch[2:-1]}, self._span(ch)

    def meta_int(self, ch: list[Token]) -> int:
        return int(ch[0])

    def meta_decimal(self, ch: list[Token]) -> float:
        return float(ch[0])

    def _date(self, tok: Token) -> str:
        try:
            date.fromisoformat(tok.value)
        except ValueError:
            self._error("bad-value", f"`{tok.value}` is not a date (YYYY-MM-DD)", self._tok_span(tok))
        return tok.value

    def meta_date(self, ch: list[Token]) -> m.Text:
        return m.Text.build(text=self._date(ch[0]), translations={}, span=self._tok_span(ch[0]))

    def meta_period(self, ch: list[Token]) -> m.Period:
        start, end = self._date(ch[0]), self._date(ch[2])
        span = self._span(ch)
        if start > end:
            self._error("bad-value", f"the period ends ({end}) before it starts ({start})", span)
        return m.Period.build(start=start, end=end, span=span)

    def meta_names(self, ch: list[Token]) -> tuple[str, ...]:
        return tuple(t.value for t in ch if t.type == "NAME")

    # ------------------------------------------------------------ scales, options

    def scale(self, ch: list[Any]) -> m.Scale:
        options, read = self._options_and_read(ch[4:-1])
        return m.Scale.build(
            name=ch[1].value, label=ch[2], options=options, read=read, span=self._span(ch)
        )

    def _options_and_read(self, stmts: Sequence[Any]) -> tuple[tuple[m.Option, ...], m.ReadAloud | None]:
        options: list[m.Option] = []
        read = None
        for s in stmts:
            if isinstance(s, m.Option):
                options.append(s)
            elif isinstance(s, m.ReadAloud):
                if read is not None:
                    self._error("duplicate", "`read` is given twice; list all codes in one `read`", s.span)
                read = s
        return tuple(options), read

    def code(self, ch: list[Token]) -> Token:
        if len(ch[0].value) > 9:
            self._error("bad-value", f"the code {ch[0].value} is too large: codes have at most 9 digits", self._tok_span(ch[0]))
        return ch[0]

    def option(self, ch: list[Any]) -> m.Option:
        flags: dict[str, Any] = {}
        for flag in ch[2:]:
            key, value, span = flag
            if key in flags:
                self._error("duplicate", f"`{key}` is given twice on this option", span)
                continue
            flags[key] = value
            if key == "goto":
                flags["goto_span"] = m.Span(span.file, span.end_line, span.end_column - len(value), span.end_line, span.end_column)
        return m.Option.build(
            code=int(ch[0]), label=ch[1], span=self._span(ch), **{"missing": None, "specify": None, "goto": None, "end": None, "exclusive": False, **flags}
        )

    def _missing_kind(self, tok: Token) -> str | None:
        if tok.value not in m.MISSING_KINDS:
            kinds = ", ".join(f"`{k}`" for k in m.MISSING_KINDS)
            self._error(
                "bad-value",
                f"`{tok.value}` is not a kind of missing{did_you_mean(tok.value, m.MISSING_KINDS)} (kinds: {kinds})",
                self._tok_span(tok),
            )
            return "dont_know"  # already reported; keep the option a missing code
        return tok.value

    def missing_flag(self, ch: list[Token]) -> tuple[str, Any, m.Span]:
        return "missing", self._missing_kind(ch[1]), self._span(ch)

    def specify_flag(self, ch: list[Any]) -> tuple[str, Any, m.Span]:
        span = self._span(ch)
        return "specify", m.Specify.build(name=ch[1].value, label=ch[2], span=span), span

    def goto_flag(self, ch: list[Token]) -> tuple[str, Any, m.Span]:
        return "goto", ch[1].value, self._span(ch)

    def end_flag(self, ch: list[Token]) -> tuple[str, Any, m.Span]:
        return "end", int(ch[1]), self._span(ch)

    def exclusive_flag(self, ch: list[Token]) -> tuple[str, Any, m.Span]:
        return "exclusive", True, self._span(ch)

    def read_stmt(self, ch: list[Any]) -> m.ReadAloud:
        ranges = tuple(c for c in ch if isinstance(c, m.CodeRange))
        return m.ReadAloud.build(ranges=ranges, none=False, span=self._span(ch))

    def read_none(self, ch: list[Token]) -> m.ReadAloud:
        return m.ReadAloud.build(ranges=(), none=True, span=self._span(ch))

    def code_range(self, ch: list[Token]) -> m.CodeRange:
        low = int(ch[0])
        high = int(ch[-1])
        span = self._span(ch)
        if low > high:
            self._error("bad-range", f"the range {low}..{high} is empty: write the low code first", span)
        return m.CodeRange.build(low=low, high=high, span=span)

    # ------------------------------------------------------------ interview

    def interview(self, ch: list[Any]) -> m.Interview:
        return m.Interview.build(items=tuple(self._items(ch)), span=self._span(ch))

    def intro(self, ch: list[Any]) -> m.Intro:
        return m.Intro.build(items=tuple(self._items(ch)), span=self._span(ch))

    def closing(self, ch: list[Any]) -> m.Closing:
        return m.Closing.build(items=tuple(self._items(ch)), span=self._span(ch))

    def section(self, ch: list[Any]) -> m.Section:
        return m.Section.build(title=ch[1], items=tuple(self._items(ch[2:])), span=self._span(ch))

    def if_block(self, ch: list[Any]) -> m.IfBlock:
        else_block = ch[-1]
        then = tuple(self._items(ch[3:-2]))
        otherwise = tuple(self._items(else_block)) if else_block is not None else None
        end = else_block[-1] if else_block is not None else ch[-2]
        return m.IfBlock.build(
            condition=ch[1], then=then, otherwise=otherwise, span=self._span([ch[0], end])
        )

    def else_block(self, ch: list[Any]) -> list[Any]:
        return ch

    def say(self, ch: list[Any]) -> m.Say:
        return m.Say.build(text=ch[1], span=self._span(ch))

    def instruction(self, ch: list[Any]) -> m.Instruction:
        return m.Instruction.build(text=ch[1], span=self._span(ch))

    def heading(self, ch: list[Any]) -> m.Heading:
        return m.Heading.build(text=ch[1], span=self._span(ch))

    def roster(self, ch: list[Any]) -> m.Roster:
        source: dict[str, Any] = ch[3]
        return m.Roster.build(
            name=ch[1].value, label=ch[2], items=tuple(self._items(ch[5:-1])), span=self._span(ch),
            **source,
        )

    def roster_for(self, ch: list[Any]) -> dict[str, Any]:
        start, count, limit = ch[1], ch[3], ch[4]
        if start.value != "1":
            self._error("roster-start", f"a roster counts from 1, not from {start.value}", self._tok_span(start))
        value: str | int = count.value if count.type == "NAME" else int(count.value)
        return {
            "count": value,
            "max": limit,
            "options": (),
            "count_span": self._tok_span(count),
        }

    def roster_count(self, ch: list[Token]) -> Token:
        return ch[0]

    def roster_max(self, ch: list[Token]) -> int:
        return int(ch[1].value)

    def roster_over(self, ch: list[Any]) -> dict[str, Any]:
        return {"count": None, "max": None, "options": tuple(self._items(ch[2:-1])), "count_span": None}

    def scale_ref(self, ch: list[Token]) -> _Stmt:
        return _Stmt("scale", ch[1].value, self._span(ch))

    def question_body(self, ch: list[Any]) -> list[Any]:
        return ch  # braces kept: the question's span ends at its `}`

    def note(self, ch: list[Any]) -> _Stmt:
        return _Stmt("note", ch[1], self._span(ch))

    def range_stmt(self, ch: list[Any]) -> m.NumRange:
        low, high = ch[1].value, ch[3].value
        span = self._span(ch)
        if low > high:
            self._error("bad-range", f"the range {low}..{high} is empty: write the low end first", span)
        return m.NumRange.build(low=low, high=high, span=span)

    def ask_if(self, ch: list[Any]) -> _Stmt:
        return _Stmt("condition", ch[2], self._span(ch))

    def number_stmt(self, ch: list[Token]) -> _Stmt:
        return _Stmt("number", string_value(ch[1]), self._span(ch))

    def recorded(self, ch: list[Token]) -> _Stmt:
        return _Stmt("recorded", True, self._span(ch))

    def _body(self, stmts: Sequence[Any], where: str) -> dict[str, Any]:
        """Sort a question's or grid's body statements into fields."""
        out: dict[str, Any] = {}
        options: list[m.Option] = []
        items: list[m.GridItem] = []
        notes: list[m.Text] = []
        instructions: list[m.Text] = []
        for s in stmts:
            if isinstance(s, m.Option):
                options.append(s)
            elif isinstance(s, m.GridItem):
                items.append(s)
            elif isinstance(s, m.Instruction):
                instructions.append(s.text)
            elif isinstance(s, _Stmt) and s.kind == "note":
                notes.append(s.value)
            else:
                value: Any
                if isinstance(s, m.ReadAloud):
                    key, value, span = "read", s, s.span
                elif isinstance(s, m.NumRange):
                    key, value, span = "range", s, s.span
                else:
                    key, value, span = s.kind, s.value, s.span
                if key in out:
                    word = {"condition": "ask if"}.get(key, key)
                    self._error("duplicate", f"`{word}` is given twice in {where}", span)
                    continue
                out[key] = value
        out["options"] = tuple(options)
        out["notes"] = tuple(notes)
        out["instructions"] = tuple(instructions)
        if items:
            out["items"] = tuple(items)
        return out

    def question(self, ch: list[Any]) -> m.Question:
        name = ch[1].value
        body = ch[5]
        stmts = list(body[1:-1]) if body else []
        if ch[4] is not None:
            stmts.insert(0, ch[4])
        span = self._span([ch[0], body[-1] if body else ch[4] or ch[3]])
        body = self._body(stmts, f"question `{name}`")
        body.pop("items", None)
        fields = {
            "scale": None,
            "read": None,
            "range": None,
            "condition": None,
            "number": None,
            "recorded": False,
            **body,
        }
        kind = ch[2].value if ch[2] is not None else None
        return m.Question.build(name=name, kind=kind, label=ch[3], span=span, **fields)

    def grid(self, ch: list[Any]) -> m.Grid:
        name = ch[1].value
        scale = ch[3].value
        body = self._body(ch[5:-1], f"grid `{name}`")
        body.pop("options", None)  # the grammar admits no options in a grid
        fields = {"read": None, "condition": None, "number": None, "items": (), **body}
        return m.Grid.build(
            name=name, label=ch[2], scale=scale, span=self._span(ch), **fields
        )

    def grid_item(self, ch: list[Any]) -> m.GridItem:
        return m.GridItem.build(name=ch[0].value, label=ch[1], span=self._span(ch))

    def bound(self, ch: list[Token]) -> _Bound:
        tok = ch[0]
        return _Bound(float(tok) if tok.type == "DECIMAL" else int(tok), self._span(ch))

    def neg_bound(self, ch: list[Token]) -> _Bound:
        tok = ch[1]
        return _Bound(-float(tok) if tok.type == "DECIMAL" else -int(tok), self._span(ch))

    # ------------------------------------------------------------ fieldwork

    def fieldwork(self, ch: list[Any]) -> m.Fieldwork:
        sample: list[m.SampleField] = []
        dispositions: list[m.Disposition] = []
        rates: list[m.Rate] = []
        seen: set[str] = set()
        for s in self._items(ch):
            if isinstance(s, m.Rate):
                rates.append(s)
            else:
                key, values, span = s
                if key in seen:
                    self._error("duplicate", f"a second `{key}` block; merge them into one", span)
                    continue
                seen.add(key)
                (sample if key == "sample" else dispositions).extend(values)
        return m.Fieldwork.build(
            sample=tuple(sample),
            dispositions=tuple(dispositions),
            rates=tuple(rates),
            span=self._span(ch),
        )

    def sample(self, ch: list[Any]) -> tuple[str, list[Any], m.Span]:
        return "sample", self._items(ch), self._span(ch)

    def field(self, ch: list[Any]) -> m.SampleField:
        return m.SampleField.build(
            name=ch[1].value,
            kind=ch[2].value if ch[2] is not None else None,
            label=ch[3],
            personal=ch[4] is not None,
            formula=ch[5],
            options=tuple(ch[6][1:-1]) if ch[6] else (),
            span=self._span([ch[0], ch[6][-1] if ch[6] else (ch[5] or ch[4] or ch[3])]),
        )

    def personal(self, ch: list[Token]) -> Token:
        return ch[0]

    def field_formula(self, ch: list[Any]) -> Any:
        return ch[1]

    def field_body(self, ch: list[Any]) -> list[Any]:
        return ch

    def dispositions(self, ch: list[Any]) -> tuple[str, list[Any], m.Span]:
        return "dispositions", self._items(ch), self._span(ch)

    def disposition(self, ch: list[Any]) -> m.Disposition:
        return m.Disposition.build(
            code=int(ch[0]), label=ch[1], aapor=ch[3].value, span=self._span(ch)
        )

    def rate(self, ch: list[Any]) -> m.Rate:
        kind, value, eligibility = ch[4]
        return m.Rate.build(
            name=ch[1].value,
            label=ch[2],
            aapor=value if kind == "aapor" else None,
            eligibility=eligibility,
            formula=value if kind == "formula" else None,
            span=self._span(ch),
        )

    def aapor_rate(self, ch: list[Any]) -> tuple[str, Any, Any]:
        eligibility = ch[3] if len(ch) > 3 else None
        return "aapor", ch[1].value, float(eligibility.value) if eligibility is not None else None

    def formula_rate(self, ch: list[Any]) -> tuple[str, Any, Any]:
        return "formula", ch[0], None

    # ------------------------------------------------------------ recodes, derived

    def recode(self, ch: list[Any]) -> m.Recode:
        source, is_scale = ch[4]
        rules = tuple(c for c in ch[6:-1] if isinstance(c, m.RecodeRule))
        return m.Recode.build(
            name=ch[1].value,
            label=ch[2],
            source=source,
            source_is_scale=is_scale,
            rules=rules,
            span=self._span(ch),
        )

    def from_variable(self, ch: list[Token]) -> tuple[str, bool]:
        return ch[0].value, False

    def from_scale(self, ch: list[Token]) -> tuple[str, bool]:
        return ch[1].value, True

    def recode_rule(self, ch: list[Any]) -> m.RecodeRule:
        return m.RecodeRule.build(
            values=ch[0], code=int(ch[2]), label=ch[3], missing=ch[4], span=self._span(ch)
        )

    def recode_missing(self, ch: list[Token]) -> str | None:
        return self._missing_kind(ch[1])

    def value_set(self, ch: list[Any]) -> tuple[m.ValueSpec, ...]:
        return tuple(c for c in ch if isinstance(c, m.ValueSpec))

    def _value(self, kind: str, ch: list[Any], low: Any = None, high: Any = None, text: Any = None) -> m.ValueSpec:
        span = self._span(ch)
        low = low.value if isinstance(low, _Bound) else low
        high = high.value if isinstance(high, _Bound) else high
        if kind == "range" and low > high:
            self._error("bad-range", f"the range {low}..{high} is empty: write the low end first", span)
        return m.ValueSpec.build(kind=kind, low=low, high=high, text=text, span=span)

    def value_single(self, ch: list[Any]) -> m.ValueSpec:
        return self._value("single", ch, ch[0], ch[0])

    def value_range(self, ch: list[Any]) -> m.ValueSpec:
        return self._value("range", ch, ch[0], ch[2])

    def value_upto(self, ch: list[Any]) -> m.ValueSpec:
        return self._value("upto", ch, None, ch[1])

    def value_from(self, ch: list[Any]) -> m.ValueSpec:
        return self._value("from", ch, ch[0], None)

    def value_else(self, ch: list[Token]) -> m.ValueSpec:
        return self._value("else", ch)

    def value_string(self, ch: list[Token]) -> m.ValueSpec:
        return self._value("string", ch, text=string_value(ch[0]))

    def derive(self, ch: list[Any]) -> m.Derive:
        return m.Derive.build(name=ch[1].value, label=ch[2], expr=ch[4], span=self._span(ch))

    # ------------------------------------------------------------ data rules

    def respondent(self, ch: list[Any]) -> m.Respondent:
        kind = ch[2].value if ch[2] is not None else "integer"
        span = self._span(ch)
        if kind not in ("integer", "text"):
            self._error("bad-value", f"a respondent id is `integer` or `text`, not `{kind}`", span)
            kind = "integer"
        return m.Respondent.build(name=ch[1].value, kind=kind, label=ch[3], span=span)

    def expect(self, ch: list[Any]) -> m.Expectation:
        return m.Expectation.build(name=ch[1].value, label=ch[2], rule=ch[4], span=self._span(ch))

    def expect_holds(self, ch: list[Any]) -> m.ExpectRule:
        return m.ExpectRule.build(kind="holds", left=ch[0], right=None, span=self._span(ch))

    def expect_if(self, ch: list[Any]) -> m.ExpectRule:
        return m.ExpectRule.build(kind="if", left=ch[1], right=ch[3], span=self._span(ch))

    def expect_only_when(self, ch: list[Any]) -> m.ExpectRule:
        return m.ExpectRule.build(kind="only_when", left=ch[0], right=ch[3], span=self._span(ch))

    def expect_exactly_when(self, ch: list[Any]) -> m.ExpectRule:
        return m.ExpectRule.build(kind="exactly_when", left=ch[0], right=ch[3], span=self._span(ch))

    def warn(self, ch: list[Any]) -> m.Warning_:
        return m.Warning_.build(name=ch[1].value, label=ch[2], condition=ch[4], span=self._span(ch))

    def hard_check(self, ch: list[Any]) -> m.Warning_:
        return m.Warning_.build(name=ch[1].value, label=ch[2], condition=ch[4], hard=True, span=self._span(ch))

    # ------------------------------------------------------------ analyses

    def analysis(self, ch: list[Any]) -> m.Analysis:
        stmts = tuple(
            s.value if isinstance(s, _Stmt) and s.kind == "note" else s for s in ch[4:-1]
        )
        stmts = tuple(
            m.AnalysisNote.build(text=s, span=s.span) if isinstance(s, m.Text) else s
            for s in stmts
        )
        return m.Analysis.build(
            name=ch[1].value, label=ch[2], statements=stmts, span=self._span(ch)
        )

    def frequencies(self, ch: list[Any]) -> m.Frequencies:
        terms = tuple(c for c in ch if isinstance(c, m.Term))
        return m.Frequencies.build(terms=terms, chart=ch[-1], span=self._span(ch))

    def summary(self, ch: list[Any]) -> m.Summary:
        terms = tuple(c for c in ch if isinstance(c, m.Term))
        return m.Summary.build(terms=terms, chart=ch[-1], span=self._span(ch))

    def crosstab(self, ch: list[Any]) -> m.Crosstab:
        return m.Crosstab.build(row=ch[1], column=ch[3], test=ch[4], chart=ch[5], span=self._span(ch))

    def chart(self, ch: list[Token]) -> m.Chart:
        return m.Chart.build(kind=ch[1].value, span=self._span(ch))

    def chi_test(self, ch: list[Token]) -> str:
        return ch[1].value

    def rates(self, ch: list[Token]) -> m.Rates:
        names = tuple(t.value for t in ch[1:] if t.type == "NAME")
        return m.Rates.build(names=names, span=self._span(ch))

    def term(self, ch: list[Token]) -> m.Term:
        return m.Term.build(name=ch[0].value, recode=None, span=self._span(ch))

    def applied_term(self, ch: list[Token]) -> m.Term:
        return m.Term.build(name=ch[2].value, recode=ch[0].value, span=self._span(ch))

    def roster_term(self, ch: list[Token]) -> m.Term:
        return m.Term.build(name=ch[0].value, roster=ch[2].value, span=self._span(ch))

    # ------------------------------------------------------------ documents

    def document(self, ch: list[Any]) -> m.Document:
        kind = None
        blocks: list[m.DocBlock] = []
        for b in ch[4:-1]:
            if isinstance(b, _Stmt):
                if kind is not None:
                    self._error("duplicate", "`kind` is given twice in this document", b.span)
                kind = b.value
            else:
                blocks.append(b)
        return m.Document.build(
            name=ch[1].value, title=ch[2], kind=kind, blocks=tuple(blocks), span=self._span(ch)
        )

    def doc_kind(self, ch: list[Token]) -> _Stmt:
        return _Stmt("kind", ch[1].value, self._span(ch))

    def _block(self, kind: str, ch: list[Any], names: tuple[str, ...] = ()) -> m.DocBlock:
        texts = tuple(c for c in ch if isinstance(c, m.Text))
        return m.DocBlock.build(kind=kind, texts=texts, names=names, span=self._span(ch))

    def doc_title(self, ch: list[Any]) -> m.DocBlock:
        return self._block("title", ch)

    def doc_heading(self, ch: list[Any]) -> m.DocBlock:
        return self._block("heading", ch)

    def doc_paragraph(self, ch: list[Any]) -> m.DocBlock:
        return self._block("paragraph", ch)

    def doc_list(self, ch: list[Any]) -> m.DocBlock:
        return self._block("list", ch)

    def doc_numbered(self, ch: list[Any]) -> m.DocBlock:
        return self._block("numbered", ch)

    def doc_signature(self, ch: list[Any]) -> m.DocBlock:
        return self._block("signature", ch)

    def doc_blanks(self, ch: list[Any]) -> m.DocBlock:
        return self._block("blanks", ch)

    def doc_table(self, ch: list[Token]) -> m.DocBlock:
        return self._block("table", ch, names=tuple(t.value for t in ch[1:] if t.type == "NAME"))

    def doc_tally(self, ch: list[Any]) -> m.DocBlock:
        return self._block("tally", ch)

    def doc_pagebreak(self, ch: list[Token]) -> m.DocBlock:
        return self._block("pagebreak", ch)

    # ------------------------------------------------------------ expressions

    def or_expr(self, ch: list[Any]) -> m.BoolOp:
        operands = tuple(self._items(ch))
        return self._nest(m.BoolOp.build(op="or", operands=operands, span=self._span(ch)), *operands)

    def and_expr(self, ch: list[Any]) -> m.BoolOp:
        operands = tuple(self._items(ch))
        return self._nest(m.BoolOp.build(op="and", operands=operands, span=self._span(ch)), *operands)

    def not_(self, ch: list[Any]) -> m.Unary:
        return self._nest(m.Unary.build(op="not", operand=ch[1], span=self._span(ch)), ch[1])

    def compare(self, ch: list[Any]) -> m.Compare:
        node = m.Compare.build(op=ch[1].value, left=ch[0], right=ch[2], span=self._span(ch))
        return self._nest(node, ch[0], ch[2])

    def in_(self, ch: list[Any]) -> m.In:
        return self._nest(m.In.build(operand=ch[0], values=ch[2], negated=False, span=self._span(ch)), ch[0])

    def not_in(self, ch: list[Any]) -> m.In:
        return self._nest(m.In.build(operand=ch[0], values=ch[3], negated=True, span=self._span(ch)), ch[0])

    def is_test(self, ch: list[Any]) -> m.Test:
        return self._nest(m.Test.build(operand=ch[0], test=ch[2].value, negated=False, span=self._span(ch)), ch[0])

    def is_not_test(self, ch: list[Any]) -> m.Test:
        return self._nest(m.Test.build(operand=ch[0], test=ch[3].value, negated=True, span=self._span(ch)), ch[0])

    def value_group(self, ch: list[Any]) -> tuple[m.ValueSpec, ...]:
        return tuple(c for c in ch if isinstance(c, m.ValueSpec))

    def group_range(self, ch: list[Any]) -> tuple[m.ValueSpec, ...]:
        return (self._value("range", ch, ch[0], ch[2]),)

    def binop(self, ch: list[Any]) -> m.Binary:
        node = m.Binary.build(op=ch[1].value, left=ch[0], right=ch[2], span=self._span(ch))
        return self._nest(node, ch[0], ch[2])

    def neg(self, ch: list[Any]) -> m.Unary:
        return self._nest(m.Unary.build(op="-", operand=ch[1], span=self._span(ch)), ch[1])

    def int_lit(self, ch: list[Token]) -> m.Literal_:
        return m.Literal_.build(value=int(ch[0]), span=self._span(ch))

    def decimal_lit(self, ch: list[Token]) -> m.Literal_:
        return m.Literal_.build(value=float(ch[0]), span=self._span(ch))

    def string_lit(self, ch: list[Token]) -> m.Literal_:
        return m.Literal_.build(value=string_value(ch[0]), span=self._span(ch))

    def true_lit(self, ch: list[Token]) -> m.Literal_:
        return m.Literal_.build(value=True, span=self._span(ch))

    def false_lit(self, ch: list[Token]) -> m.Literal_:
        return m.Literal_.build(value=False, span=self._span(ch))

    def ref(self, ch: list[Token]) -> m.Ref:
        return m.Ref.build(name=ch[0].value, span=self._span(ch))

    def call(self, ch: list[Any]) -> m.Call:
        args = tuple(c for c in ch[2:-1] if c is not None and not isinstance(c, Token))
        return self._nest(m.Call.build(func=ch[0].value, args=args, span=self._span(ch)), *args)

    def aggregate(self, ch: list[Any]) -> m.Aggregate:
        # the function name is checked by typing (`unknown-function`), as a call's is
        node = m.Aggregate.build(func=ch[0].value, operand=ch[2], roster=ch[4].value, span=self._span(ch))
        return self._nest(node, ch[2])

    def conditional(self, ch: list[Any]) -> m.Conditional:
        node = m.Conditional.build(condition=ch[1], then=ch[3], otherwise=ch[5], span=self._span(ch))
        return self._nest(node, ch[1], ch[3], ch[5])

    def missing_lit(self, ch: list[Token]) -> m.Missing_:
        return m.Missing_.build(span=self._span(ch))

    def atom(self, ch: list[Any]) -> Any:
        # only the parenthesised form reaches here: "(" expr ")"
        return ch[1]


# ---------------------------------------------------------------- the parser

#: The ``SpecTransformer`` of the parse running in this thread (or task). lark
#: builds its rule callbacks once, for the one shared parser; they reach the
#: parse's own transformer through this variable, as lark's author advises for
#: per-parse state (lark-parser/lark#913).
_BUILD: ContextVar[SpecTransformer] = ContextVar("kvpspec_parse")

_OPEN = ("LBRACE", "LPAR", "LSQB")
_CLOSE = ("RBRACE", "RPAR", "RSQB")


class _Forward:
    """The transformer lark is given: each rule's callback calls the method of
    the same name on the current parse's ``SpecTransformer``."""

    def __getattr__(self, name: str) -> Callable[[list[Any]], Any]:
        method = None if name.startswith("_") else getattr(SpecTransformer, name, None)
        if method is None:
            raise AttributeError(name)
        current = _BUILD.get

        def forward(children: list[Any]) -> Any:
            return method(current(), children)

        return forward


def _hook(name: str) -> Callable[[Token], Token]:
    """A lexer callback that calls the current parse's ``SpecTransformer._on_...``."""
    method = getattr(SpecTransformer, name)
    current = _BUILD.get

    def hook(tok: Token) -> Token:
        return method(current(), tok)

    return hook


_LOADING = threading.Lock()


def parser() -> Lark:
    """The LALR parser, loaded on first use and shared (it holds no per-parse state)."""
    with _LOADING:  # two threads starting at once load (and write lark's cache) once
        return _load()


@cache
def _load() -> Lark:
    callbacks = {"COMMENT": _hook("_on_comment")}
    callbacks.update({name: _hook("_on_open") for name in _OPEN})
    callbacks.update({name: _hook("_on_close") for name in _CLOSE})
    return Lark.open(
        "grammar.lark",
        rel_to=__file__,
        parser="lalr",
        lexer=SpecLexer,
        # The grammar is proved free of conflicts and token collisions by
        # tests/test_grammar.py, which loads it with strict=True; at run time
        # strict mode would only add the import of interegular.
        strict=False,
        keep_all_tokens=True,
        maybe_placeholders=True,
        transformer=_Forward(),
        lexer_callbacks=callbacks,
        cache=True,
        start=["start", "expr"],
    )


def decode(data: bytes, file: str) -> str:
    """Bytes to text: UTF-8 with an optional BOM; a bad byte is a diagnostic."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise SpecError(
            [
                Diagnostic(
                    "encoding",
                    f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
                    file,
                    line,
                    column,
                    line,
                    column + 1,
                )
            ]
        ) from None


def parse_text(source: str, file: str = "<spec>") -> ParseResult:
    """Parse spec text into a model. Raises ``SpecError`` on a syntax error."""
    source = source.removeprefix("\ufeff")
    if not source.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in source.splitlines()
    ):
        raise SpecError(
            [
                Diagnostic(
                    "empty",
                    'the file holds no spec; a spec starts with `survey <name> "<title>"`',
                    file,
                    1,
                    1,
                    1,
                    1,
                )
            ]
        )
    build = SpecTransformer(file)
    spec = _run(source, "start", build)
    return ParseResult(spec, source, file, build.diagnostics, build.comments)


def parse_expr(text: str, file: str = "<expr>") -> m.Expr:
    """Parse one expression, e.g. ``q4 == 2 and q3 > 10``."""
    expr: m.Expr = _run(text, "expr", SpecTransformer(file))
    return expr


def _run(text: str, start: str, build: SpecTransformer) -> Any:
    """Parse ``text`` from the rule ``start`` with ``build`` collecting; syntax errors raised."""
    file = build.file
    p = parser()
    token = _BUILD.set(build)
    try:
        return p.parse(text, start=start)
    except _TooDeep as exc:
        (line, column), end = _start(exc.token), _end(exc.token)
        if start == "expr":
            raise SpecError(
                [Diagnostic("too-deep", "the expression nests too deeply", file, line, column)]
            ) from None
        message = f"blocks, brackets or operators nest more than {MAX_DEPTH} deep here"
        raise SpecError([Diagnostic("too-deep", message, file, line, column, *end)]) from None
    except UnexpectedInput as exc:
        raise SpecError([syntax_diagnostic(exc, text, file, list(build.braces))]) from None
    except RecursionError:
        if start == "expr":
            raise
        raise SpecError(
            [Diagnostic("too-deep", "the spec nests too deeply to read", file, 1, 1, 1, 1)]
        ) from None
    finally:
        _BUILD.reset(token)


def parse_file(path: str | Path) -> ParseResult:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError([Diagnostic("io", f"cannot read {path}: {reason}", str(path))]) from None
    return parse_text(decode(data, str(path)), str(path))


# ---------------------------------------------------------------- syntax errors

_KEYWORD_RE = re.compile(r"^[a-z_]+$")


def _terminal_text(name: str) -> str:
    """How a terminal looks to a user: `question` for QUESTION, a name for NAME."""
    readable = {
        "NAME": "a name",
        "STRING": "a string",
        "LONG_STRING": "a string",
        "INT": "a number",
        "DECIMAL": "a number",
        "DATE": "a date",
        "LANG": "a translation (@en)",
        "QKIND": "a kind (single, multiple, integer, decimal, text)",
        "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
        "$END": "the end of the file",
    }
    if name in readable:
        return readable[name]
    p = parser()
    for t in p.terminals:
        if t.name == name and t.pattern.type == "str":
            return f"`{t.pattern.value}`"
    return name


def _keywords(expected: set[str]) -> list[str]:
    p = parser()
    out = []
    for t in p.terminals:
        if t.name in expected and t.pattern.type == "str" and _KEYWORD_RE.match(t.pattern.value):
            out.append(t.pattern.value)
    if "QKIND" in expected:
        out.extend(["single", "multiple", "integer", "decimal", "text"])
    return sorted(set(out))


def _expected_list(expected: set[str]) -> str:
    names = sorted({_terminal_text(e) for e in expected if e != "RBRACE"})
    if len(names) > 12:
        names = names[:12] + ["..."]
    if "RBRACE" in expected:
        names.insert(0, "`}`")
    return ", ".join(names)


#: Keywords that begin a declaration or an interview item: seeing one where a
#: block's body should go on usually means that block lacks its `}`.
_STARTERS = {
    "SURVEY", "STUDY", "SCALE", "INTERVIEW", "FIELDWORK", "RECODE", "DERIVE", "ANALYSIS",
    "DOCUMENT", "QUESTION", "GRID", "SECTION", "INTRO", "CLOSING", "IF", "SAY", "HEADING",
    "SAMPLE", "DISPOSITIONS", "FIELD", "RESPONDENT", "EXPECT", "WARN", "ERROR",
}


#: Words that may follow an operand in a condition.
_OPERATOR_WORDS = ("in", "not", "is", "and", "or")
#: A line that holds a condition up to the error: ``ask if``, ``if``, ``warn ... if``,
#: ``expect``, ``derive x =``, ``then``; the last character before it ends an operand.
_CONDITION_LINE = re.compile(r"(\bif\b|\bexpect\b|\bthen\b|\bderive\s+\w+\s*=)[^\n]*[\w)\]]\s+$")


def _after_operand_in_condition(source: str, pos: int | None) -> bool:
    """Is the token at ``pos`` where a condition wants an operator (``a2 includes 1``)?"""
    if pos is None:
        return False
    start = source.rfind("\n", 0, pos) + 1
    return _CONDITION_LINE.search(source[start:pos]) is not None


def _equals_hint(source: str, pos: int | None) -> str:
    after = source[pos + 1 : pos + 2] if pos is not None else ""
    if after == ">":
        return "write `>=` for 'greater than or equal'"
    if after == "<":
        return "write `<=` for 'less than or equal'"
    return "use `==` to compare values"


def syntax_diagnostic(exc: UnexpectedInput, source: str, file: str, open_braces: list[Token]) -> Diagnostic:
    """Turn a lark error into one message a survey researcher can act on."""
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        assert pos is not None  # our lexer always says where it stopped
        ch = source[pos] if pos < len(source) else ""
        if ch == '"' and source[max(pos - 2, 0) : pos + 1] == '"""' and pos >= 2:
            # `"""Hei` never closed: the lexer read `""` as an empty string
            return Diagnostic(
                "unclosed-string",
                'this triple-quoted string is never closed; end it with three double quotes',
                file, line, column - 2, line, column + 1,
            )
        if ch == '"':
            rest = source[pos:]
            if rest.startswith('"""'):
                msg = "this triple-quoted string is never closed; end it with three double quotes"
            else:
                msg = "this string is not closed on its line; end it with a double quote (or use triple quotes for text over several lines)"
            return Diagnostic("unclosed-string", msg, file, line, column, line, column + 1)
        if ch == "=" and "COMP_OP" in (exc.allowed or set()):
            return Diagnostic("syntax", _equals_hint(source, pos), file, line, column, line, column + 1)
        if ch.isalpha() and not ch.isascii():
            return Diagnostic(
                "syntax",
                f"`{ch}` cannot be used in a name: names are written with a-z, A-Z, 0-9 and `_` "
                f"(labels in quotes may use any letter)",
                file, line, column, line, column + 1,
            )
        shown = ch if ch.isprintable() and ch not in " \t" else repr(ch)
        allowed = _expected_list(set(exc.allowed or ()))
        msg = f"unexpected character `{shown}`" + (f"; expected {allowed}" if allowed else "")
        return Diagnostic("syntax", msg, file, line, column, line, column + 1)

    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        if open_braces:
            tok = open_braces[-1]
            closer = {"{": "}", "(": ")", "[": "]"}[tok.value]
            return Diagnostic(
                "unclosed-block",
                f"this `{tok.value}` is never closed; add `{closer}` where the block ends",
                file,
                *_start(tok),
                *_end(tok),
            )
        lines = source.rstrip().splitlines() or [""]
        last = len(lines)
        expected = set(getattr(exc, "expected", ()) or ())
        msg = "the spec ends too early" + (f"; expected {_expected_list(expected)}" if expected else "")
        return Diagnostic("syntax", msg, file, last, len(lines[-1]) + 1, last, len(lines[-1]) + 1)

    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    expected = set(exc.expected or ())
    end_line = getattr(tok, "end_line", line) or line
    end_col = getattr(tok, "end_column", column + 1) or column + 1

    def diag(code: str, msg: str) -> Diagnostic:
        return Diagnostic(code, msg, file, line, column, end_line, end_col)

    if tok.type in ("STRING", "LONG_STRING") and "INT" in expected and "STRING" not in expected:
        return diag(
            "missing-code",
            'this label has no code; write the code first, e.g. `1 "Helt enig"`',
        )
    if tok.type == "NAME" and _after_operand_in_condition(source, getattr(tok, "start_pos", None)):
        return diag(
            "syntax",
            f"`{tok.value}` is not an operator{did_you_mean(tok.value, _OPERATOR_WORDS)}; a condition compares "
            f"with `==`, `!=`, `<`, `<=`, `>`, `>=`, `in [...]`, `not in [...]` or `is answered` "
            f"(`is missing`, `is dont_know`, ...), and joins conditions with `and`, `or`",
        )
    if tok.type == "NAME":
        keywords = _keywords(expected)
        if keywords and "NAME" not in expected:
            hint = did_you_mean(tok.value, keywords)
            if hint:
                return diag("unknown-keyword", f"unknown keyword `{tok.value}`{hint}")
            return diag(
                "unknown-keyword",
                f"`{tok.value}` is not a keyword here; expected {_expected_list(expected)}",
            )
    if tok.type == "RBRACE" and open_braces == [] and "RBRACE" not in expected:
        return diag("syntax", "this `}` closes no block")
    if tok.type == "EQUAL" and "COMP_OP" in expected:
        return diag("syntax", _equals_hint(source, getattr(tok, "start_pos", None)))
    if (
        open_braces
        and "RBRACE" in expected
        and tok.type in _STARTERS
        and tok.type not in expected
    ):
        brace = open_braces[-1]
        return diag(
            "unclosed-block",
            f"unexpected `{tok.value}`: the `{{` on line {brace.line} is not closed; add `}}` before this line",
        )
    shown = tok.value if tok.type != "$END" else "end of file"
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return diag("syntax", f"unexpected `{shown}`; expected {_expected_list(expected)}")
