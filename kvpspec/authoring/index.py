"""Where every name of a spec is defined and used: what an editor navigates by.

Built from the compiled model (which names exist, of what kind, with what
span) and the tokens of the text (where each word stands), so definition,
references and rename agree on one table. Fills inside labels (``{navn}``)
are references too: renaming a variable rewrites them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from kvpspec import model as m
from kvpspec.authoring.tokens import FILL_RE, Token, tokenize
from kvpspec.compile import Compiled
from kvpspec.semantics.lower import walk_items

_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class Place:
    """A stretch of the text: 0-based line, start and end column (characters)."""

    line: int
    start: int
    end: int

    def contains(self, line: int, column: int) -> bool:
        return self.line == line and self.start <= column <= self.end


@dataclass
class Symbol:
    name: str
    kind: str  # question, grid, item, scale, recode, derive, expect, warn, analysis, document, field, rate, respondent, specify
    node: m.Node
    place: Place | None  # where the name is written (None when not found)
    #: the grid of a grid item
    parent: str | None = None


@dataclass
class Index:
    text: str
    tokens: list[Token]
    symbols: dict[str, Symbol] = field(default_factory=dict)
    #: every use of a name (definitions left out): name -> places
    uses: dict[str, list[Place]] = field(default_factory=dict)
    _line_starts: list[int] = field(default_factory=list)

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column of a span."""
        if line - 1 >= len(self._line_starts):
            return len(self.text)
        return self._line_starts[line - 1] + column - 1

    def token_at(self, line: int, column: int) -> Token | None:
        """The name token at a 0-based position (the cursor may stand just after it)."""
        if line >= len(self._line_starts):
            return None
        pos = self._line_starts[line] + column
        i = bisect.bisect_right(self.tokens, pos, key=lambda t: t.offset) - 1
        for j in (i, i - 1):
            if 0 <= j < len(self.tokens):
                t = self.tokens[j]
                if t.offset <= pos <= t.offset + len(t.text) and t.kind in ("name", "keyword", "string"):
                    return t
        return None

    def name_at(self, line: int, column: int) -> tuple[str, Place] | None:
        """The defined name at a 0-based position: a definition, a use, or a fill in a label."""
        for name, sym in self.symbols.items():
            if sym.place is not None and sym.place.contains(line, column):
                return name, sym.place
        for name, places in self.uses.items():
            for p in places:
                if p.contains(line, column):
                    return name, p
        return None


def build(compiled: Compiled) -> Index:
    """The index of a compiled spec (errors allowed)."""
    text = compiled.result.source
    tokens = tokenize(text)
    index = Index(text, tokens)
    index._line_starts = [0] + [mo.end() for mo in _NEWLINE.finditer(text)]
    meaningful = [t for t in tokens if t.kind not in ("space", "comment")]
    m_offsets = [t.offset for t in meaningful]

    def name_after(node: m.Node, keyword: str | None) -> Place | None:
        """The place of the name declared by ``node``: the first name after ``keyword``."""
        if node.span is None:
            return None
        i = bisect.bisect_left(m_offsets, index.offset(node.span.line, node.span.column))
        end = index.offset(node.span.end_line, node.span.end_column)
        seen_keyword = keyword is None
        while i < len(meaningful) and meaningful[i].offset <= end:
            t = meaningful[i]
            if seen_keyword and t.kind in ("name", "keyword"):
                return Place(t.line, t.column, t.column + len(t.text))
            if t.text == keyword:
                seen_keyword = True
            i += 1
        return None

    def add(name: str, kind: str, node: m.Node, keyword: str | None, parent: str | None = None) -> None:
        if name not in index.symbols:
            index.symbols[name] = Symbol(name, kind, node, name_after(node, keyword), parent)

    spec = compiled.spec
    for s in spec.scales:
        add(s.name, "scale", s, "scale")
    if spec.interview is not None:
        for item in walk_items(spec.interview.items):
            if isinstance(item, m.Question):
                add(item.name, "question", item, "question")
                for o in item.options:
                    if o.specify is not None:
                        add(o.specify.name, "specify", o.specify, "specify", item.name)
            elif isinstance(item, m.Grid):
                add(item.name, "grid", item, "grid")
                for gi in item.items:
                    add(item.name + gi.name, "item", gi, None, item.name)
    if spec.fieldwork is not None:
        for f in spec.fieldwork.sample:
            add(f.name, "field", f, "field")
            for o in f.options:
                if o.specify is not None:
                    add(o.specify.name, "specify", o.specify, "specify", f.name)
        for r in spec.fieldwork.rates:
            add(r.name, "rate", r, "rate")
    if spec.respondent is not None:
        add(spec.respondent.name, "respondent", spec.respondent, "respondent")
    for rc in spec.recodes:
        add(rc.name, "recode", rc, "recode")
    for d in spec.derives:
        add(d.name, "derive", d, "derive")
    for e in spec.expectations:
        add(e.name, "expect", e, "expect")
    for w in spec.warnings:
        add(w.name, "warn", w, "warn")
    for a in spec.analyses:
        add(a.name, "analysis", a, "analysis")
    for doc in spec.documents:
        add(doc.name, "document", doc, "document")

    defined = {(s.place.line, s.place.start) for s in index.symbols.values() if s.place is not None}
    for t in tokens:
        if t.kind in ("name", "keyword") and t.text in index.symbols and (t.line, t.column) not in defined:
            index.uses.setdefault(t.text, []).append(Place(t.line, t.column, t.column + len(t.text)))
        elif t.kind == "string":
            for place, name in _fills(t):
                if name in index.symbols:
                    index.uses.setdefault(name, []).append(place)
    return index


def _fills(t: Token) -> Iterator[tuple[Place, str]]:
    for mo in FILL_RE.finditer(t.text):
        before = t.text[: mo.start(1)]
        line = t.line + before.count("\n")
        column = (len(before) - before.rindex("\n") - 1) if "\n" in before else t.column + len(before)
        yield Place(line, column, column + len(mo.group(1))), mo.group(1)
