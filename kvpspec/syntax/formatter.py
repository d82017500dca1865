"""The canonical formatter: model (plus comments) back to spec text.

``format_spec(parse_text(s))`` is the canonical form of ``s``: two-space
indentation, one statement per line, body statements in a fixed order,
declarations in their source order, every comment kept. Its promises are
tested with Hypothesis: formatting is idempotent and keeps the meaning
(``ir(parse(fmt(s))) == ir(parse(s))``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lark import Token

from kvpspec import model as m
from kvpspec.syntax.parser import Comment, ParseResult, string_value

_DECIMAL_RE = re.compile(r"^\d+\.\d+$")

# precedence levels of the expression grammar
_OR, _AND, _NOT, _CMP, _SUM, _PROD, _NEG, _ATOM = range(1, 9)
_COND = 0  # `if C then A else B` binds loosest


def quote(text: str) -> str:
    """A string literal for ``text`` that the lexer reads back as ``text``."""
    out = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{out}"'


def number(x: float) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if x.is_integer() and abs(x) < 1e16:
        return f"{int(x)}.0"
    text = repr(abs(x))
    if not _DECIMAL_RE.match(text):
        text = f"{abs(x):.20f}".rstrip("0")
        if text.endswith("."):
            text += "0"
    return ("-" if x < 0 else "") + text


def label(t: m.Text) -> str:
    parts = [quote(t.text)]
    for lang, text in t.translations.items():
        parts.append(f"@{lang} {quote(text)}")
    return " ".join(parts)


def value_spec(v: m.ValueSpec) -> str:
    if v.kind == "single":
        return number(v.low)  # type: ignore[arg-type]
    if v.kind == "range":
        return f"{number(v.low)}..{number(v.high)}"  # type: ignore[arg-type]
    if v.kind == "upto":
        return f"..{number(v.high)}"  # type: ignore[arg-type]
    if v.kind == "from":
        return f"{number(v.low)}.."  # type: ignore[arg-type]
    if v.kind == "string":
        return quote(v.text or "")
    return "else"


def format_expr(e: m.Expr, need: int = 0) -> str:
    """An expression with just the parentheses its tree needs, and those around
    an ``and`` inside an ``or`` (``(a and b) or c``), which the reader needs.

    >>> from kvpspec.syntax.parser import parse_expr
    >>> format_expr(parse_expr("(q1 == 2) and ((q3 + 1) * 2 > 10 or q4 is answered)"))
    'q1 == 2 and ((q3 + 1) * 2 > 10 or q4 is answered)'
    >>> format_expr(parse_expr("a == 1 and b == 2 or c == 3"))
    '(a == 1 and b == 2) or c == 3'
    """
    text, prec = _expr(e)
    return f"({text})" if prec < need else text


def _expr(e: m.Expr) -> tuple[str, int]:
    if isinstance(e, m.Literal_):
        v = e.value
        if isinstance(v, str):
            return quote(v), _ATOM
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
            return number(v), _NEG
        return number(v), _ATOM
    if isinstance(e, m.Ref):
        return e.name, _ATOM
    if isinstance(e, m.Call):
        return f"{e.func}({', '.join(format_expr(a) for a in e.args)})", _ATOM
    if isinstance(e, m.Aggregate):
        return f"{e.func}({format_expr(e.operand)} over {e.roster})", _ATOM
    if isinstance(e, m.Missing_):
        return "missing", _ATOM
    if isinstance(e, m.Conditional):
        # a conditional inside the condition or the `then` branch keeps its parentheses;
        # one in the `else` branch reads as `else if ...`
        return (
            f"if {format_expr(e.condition, _OR)} then {format_expr(e.then, _OR)} "
            f"else {format_expr(e.otherwise)}"
        ), _COND
    if isinstance(e, m.Unary):
        if e.op == "not":
            return f"not {format_expr(e.operand, _NOT)}", _NOT
        return f"-{format_expr(e.operand, _NEG)}", _NEG
    if isinstance(e, m.Binary):
        prec = _SUM if e.op in "+-" else _PROD
        return f"{format_expr(e.left, prec)} {e.op} {format_expr(e.right, prec + 1)}", prec
    if isinstance(e, m.Compare):
        return f"{format_expr(e.left, _SUM)} {e.op} {format_expr(e.right, _SUM)}", _CMP
    if isinstance(e, m.In):
        word = "not in" if e.negated else "in"
        if len(e.values) == 1 and e.values[0].kind == "range":
            group = value_spec(e.values[0])
        else:
            group = "[" + ", ".join(value_spec(v) for v in e.values) + "]"
        return f"{format_expr(e.operand, _SUM)} {word} {group}", _CMP
    if isinstance(e, m.Test):
        word = "is not" if e.negated else "is"
        return f"{format_expr(e.operand, _SUM)} {word} {e.test}", _CMP
    if isinstance(e, m.BoolOp):
        prec = _OR if e.op == "or" else _AND
        # an `and` inside an `or` keeps its parentheses: mixed and/or reads plainly
        need = _AND + 1 if e.op == "or" else prec + 1
        return f" {e.op} ".join(format_expr(o, need) for o in e.operands), prec
    raise TypeError(f"cannot format {type(e).__name__}")


def _codes(read: m.ReadAloud) -> str:
    if read.none:
        return "read none"
    parts = [str(r.low) if r.low == r.high else f"{r.low}..{r.high}" for r in read.ranges]
    return "read " + ", ".join(parts)


class _Comments:
    """Comments attached to the statement that follows them, or that ends on their line;
    a comment after the last statement of a block stays inside it, before its `}`."""

    def __init__(self, comments: list[Comment], nodes: list[m.Node], source: str = ""):
        lines = source.splitlines()
        self.leading: dict[int, list[str]] = {}
        self.trailing: dict[int, list[str]] = {}
        self.closing: dict[int, list[str]] = {}
        self.rest: list[str] = []
        spans = [(n.span.line, n.span.column, n.span.end_line, i, n) for i, n in enumerate(nodes) if n.span and n.span.line]
        starts = sorted(spans, key=lambda s: (s[0], s[1], s[3]))
        for c in comments:
            # a comment after code on the same line trails the innermost statement ending there
            ending = [s for s in spans if s[2] == c.line and (s[0], s[1]) < (c.line, c.column)]
            if ending:
                node = max(ending, key=lambda s: (s[0], s[1]))[4]
                self.trailing.setdefault(id(node), []).append(c.text)
                continue
            after = next((s for s in starts if (s[0], s[1]) > (c.line, c.column)), None)
            inside = [s for s in spans if s[0] < c.line < s[2]]
            if inside:
                block = max(inside, key=lambda s: (s[0], s[1]))
                if after is None or after[0] > block[2]:
                    self.closing.setdefault(id(block[4]), []).append(c.text.rstrip())
                    continue
            blank_after = c.line < len(lines) and not lines[c.line].strip()
            text = c.text.rstrip() + ("\n" if blank_after and after is not None else "")
            if after is None:
                self.rest.append(text)
            else:
                self.leading.setdefault(id(after[4]), []).append(text)


class Formatter:
    def __init__(self, result: ParseResult | m.Spec):
        if isinstance(result, m.Spec):
            self.spec = result
            comments: list[Comment] = []
        else:
            self.spec = result.spec
            comments = result.comments
        source = "" if isinstance(result, m.Spec) else result.source
        self.lines: list[str] = []
        self.depth = 0
        self.comments = _Comments(comments, list(_statements(self.spec)), source)

    # ------------------------------------------------------------ output

    def line(self, text: str, node: m.Node | None = None) -> None:
        if node is not None:
            for c in self.comments.leading.get(id(node), ()):
                self.lines.append("  " * self.depth + c.rstrip("\n"))
                if c.endswith("\n"):
                    self.lines.append("")
        self.lines.append("  " * self.depth + text)

    def trail(self, node: m.Node | None) -> None:
        if node is None:
            return
        for c in self.comments.trailing.get(id(node), ()):
            self.lines[-1] += "  " + c

    def open(self, text: str, node: m.Node | None = None) -> None:
        self.line(text + " {", node)
        self.depth += 1

    def close(self, node: m.Node | None = None) -> None:
        if node is not None:
            while self.lines and self.lines[-1] == "":
                self.lines.pop()
            for c in self.comments.closing.pop(id(node), ()):
                self.lines.append("  " * self.depth + c)
        self.depth -= 1
        self.lines.append("  " * self.depth + "}")
        self.trail(node)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self) -> str:
        # a block's last comments that no `close` took (a block without a node) end the file
        for cs in self.comments.closing.values():
            self.comments.rest.extend(cs)
        self.comments.closing.clear()
        for c in self.comments.rest:
            self.lines.append(c)
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    # ------------------------------------------------------------ spec

    def format(self) -> str:
        spec = self.spec
        self.line(f"survey {spec.name} {label(spec.title)}", spec)
        self.trail(spec)
        decls: list[m.Node] = []
        for part in (spec.study, spec.interview, spec.fieldwork, spec.respondent):
            if part is not None:
                decls.append(part)
        decls.extend(spec.scales)
        decls.extend(spec.recodes)
        decls.extend(spec.derives)
        decls.extend(spec.expectations)
        decls.extend(spec.warnings)
        decls.extend(spec.analyses)
        decls.extend(spec.documents)
        decls.sort(key=lambda n: (n.span.line, n.span.column) if n.span else (10**9, 0))
        for d in decls:
            self.blank()
            getattr(self, "_" + type(d).__name__.lower().rstrip("_"))(d)
        return self.text()

    # ------------------------------------------------------------ study

    def _study(self, s: m.Study) -> None:
        self.open("study", s)
        for key in ("title", "subtitle"):
            self._meta_text(key, getattr(s, key))
        for key in ("sponsor", "client", "institute", "agency"):
            org = getattr(s, key)
            if org is not None:
                self._organisation(key, org)
        if s.period is not None:
            self.line(f"period {s.period.start} .. {s.period.end}", s.period)
            self.trail(s.period)
        if s.minutes is not None:
            self.line(f"minutes {s.minutes}")
        if s.mode is not None:
            self.line(f"mode {_word(s.mode)}")
        for key in ("population", "privacy"):
            self._meta_text(key, getattr(s, key))
        if s.languages:
            self.line("languages " + ", ".join(s.languages))
        self._meta_text("report", s.report)
        if s.version is not None:
            self.line(f"version {_word(s.version)}")
        self.close(s)

    def _meta_text(self, key: str, t: m.Text | None) -> None:
        if t is not None:
            self.line(f"{key} {self._long_or_label(t)}", t)
            self.trail(t)

    def _long_or_label(self, t: m.Text) -> str:
        if "\n" in t.text and not t.translations:
            long = _long_string(t.text, "  " * (self.depth + 1))
            if long is not None:
                return long
        return label(t)

    def _organisation(self, key: str, org: m.Organisation) -> None:
        fields = {k: getattr(org, k) for k in ("name", "short", "department", "address", "contact", "email", "phone", "web")}
        given = {k: v for k, v in fields.items() if v is not None}
        if list(given) == ["name"]:
            self.line(f"{key} {label(org.name)}", org)  # type: ignore[arg-type]
            self.trail(org)
            return
        self.open(key, org)
        for k, v in given.items():
            if isinstance(v, m.Text):
                self._meta_text(k, v)
            else:
                self.line(f"{k} {quote(v)}")
        self.close(org)

    # ------------------------------------------------------------ scales and options

    def _scale(self, s: m.Scale) -> None:
        head = f"scale {s.name}" + (f" {label(s.label)}" if s.label else "")
        self.open(head, s)
        if s.read is not None:
            self.line(_codes(s.read), s.read)
            self.trail(s.read)
        for o in s.options:
            self._option(o)
        self.close(s)

    def _option(self, o: m.Option) -> None:
        parts = [str(o.code), label(o.label)]
        if o.missing:
            parts.append(f"missing {o.missing}")
        if o.specify:
            parts.append(f"specify {o.specify.name}" + (f" {label(o.specify.label)}" if o.specify.label else ""))
        if o.goto:
            parts.append(f"goto {o.goto}")
        if o.end is not None:
            parts.append(f"end {o.end}")
        if o.exclusive:
            parts.append("exclusive")
        self.line(" ".join(parts), o)
        self.trail(o)

    # ------------------------------------------------------------ interview

    def _interview(self, iv: m.Interview) -> None:
        self.open("interview", iv)
        self._items(iv.items)
        self.close(iv)

    def _items(self, items: Iterable[m.Item]) -> None:
        previous = None
        for item in items:
            block = isinstance(item, (m.Question, m.Grid, m.IfBlock, m.Section, m.Intro, m.Closing, m.Roster))
            if previous is not None and (block or previous):
                self.blank()
            getattr(self, "_" + type(item).__name__.lower())(item)
            previous = block

    def _say(self, s: m.Say) -> None:
        self.line(f"say {self._long_or_label(s.text)}", s)
        self.trail(s)

    def _instruction(self, s: m.Instruction) -> None:
        self.line(f"instruction {self._long_or_label(s.text)}", s)
        self.trail(s)

    def _heading(self, s: m.Heading) -> None:
        self.line(f"heading {label(s.text)}", s)
        self.trail(s)

    def _intro(self, b: m.Intro) -> None:
        self.open("intro", b)
        self._items(b.items)
        self.close(b)

    def _closing(self, b: m.Closing) -> None:
        self.open("closing", b)
        self._items(b.items)
        self.close(b)

    def _section(self, b: m.Section) -> None:
        self.open(f"section {label(b.title)}", b)
        self._items(b.items)
        self.close(b)

    def _ifblock(self, b: m.IfBlock) -> None:
        self.open(f"if {format_expr(b.condition)}", b)
        self._items(b.then)
        if b.otherwise is not None:
            self.depth -= 1
            self.lines.append("  " * self.depth + "} else {")
            self.depth += 1
            self._items(b.otherwise)
        self.close(b)

    def _roster(self, r: m.Roster) -> None:
        head = f"roster {r.name} {label(r.label)}"
        if r.count is None:
            self.open(head + " over", r)
            for o in r.options:
                self._option(o)
            self.depth -= 1
            self.lines.append("  " * self.depth + "} {")
            self.depth += 1
        else:
            head += f" for 1..{r.count}" + (f" max {r.max}" if r.max is not None else "")
            self.open(head, r)
        self._items(r.items)
        self.close(r)

    def _body_common(self, q: m.Question | m.Grid) -> None:
        if q.number is not None:
            self.line(f"number {quote(q.number)}")
        if isinstance(q, m.Question) and q.recorded:
            self.line("recorded")
        if q.condition is not None:
            self.line(f"ask if {format_expr(q.condition)}", q.condition)
            self.trail(q.condition)
        for t in q.instructions:
            self.line(f"instruction {self._long_or_label(t)}", t)
            self.trail(t)
        for t in q.notes:
            self.line(f"note {self._long_or_label(t)}", t)
            self.trail(t)
        if q.read is not None:
            self.line(_codes(q.read), q.read)
            self.trail(q.read)

    def _question(self, q: m.Question) -> None:
        head = f"question {q.name}"
        if q.kind:
            head += f" {q.kind}"
        head += f" {label(q.label)}"
        if q.scale:
            head += f" scale {q.scale}"
        has_body = bool(
            q.options or q.read or q.notes or q.instructions or q.range or q.condition is not None
            or q.number is not None or q.recorded
        )
        if not has_body:
            self.line(head, q)
            self.trail(q)
            return
        self.open(head, q)
        self._body_common(q)
        if q.range is not None:
            self.line(f"range {number(q.range.low)}..{number(q.range.high)}", q.range)
            self.trail(q.range)
        for o in q.options:
            self._option(o)
        self.close(q)

    def _grid(self, g: m.Grid) -> None:
        head = f"grid {g.name}" + (f" {label(g.label)}" if g.label else "") + f" scale {g.scale}"
        self.open(head, g)
        self._body_common(g)
        for gi in g.items:
            self.line(f"{gi.name} {label(gi.label)}", gi)
            self.trail(gi)
        self.close(g)

    # ------------------------------------------------------------ fieldwork

    def _fieldwork(self, fw: m.Fieldwork) -> None:
        self.open("fieldwork", fw)
        first = True
        if fw.sample:
            self.open("sample")
            for f in fw.sample:
                self._field(f)
            self.close()
            first = False
        if fw.dispositions:
            if not first:
                self.blank()
            self.open("dispositions")
            for d in fw.dispositions:
                self.line(f"{d.code} {label(d.label)} aapor {d.aapor}", d)
                self.trail(d)
            self.close()
            first = False
        if fw.rates and not first:
            self.blank()
        for r in fw.rates:
            if r.aapor is not None:
                rhs = f"aapor {r.aapor}" + (f" eligibility {number(r.eligibility)}" if r.eligibility is not None else "")
            else:
                rhs = format_expr(r.formula)  # type: ignore[arg-type]
            self.line(f"rate {r.name} {label(r.label)} = {rhs}", r)
            self.trail(r)
        self.close(fw)

    def _field(self, f: m.SampleField) -> None:
        head = f"field {f.name}" + (f" {f.kind}" if f.kind else "") + f" {label(f.label)}"
        if f.personal:
            head += " personal"
        if f.formula is not None:
            head += f" = {format_expr(f.formula)}"
        if f.options:
            self.open(head, f)
            for o in f.options:
                self._option(o)
            self.close(f)
        else:
            self.line(head, f)
            self.trail(f)

    # ------------------------------------------------------------ recodes, derived

    def _recode(self, r: m.Recode) -> None:
        head = f"recode {r.name}" + (f" {label(r.label)}" if r.label else "")
        head += f" from scale {r.source}" if r.source_is_scale else f" from {r.source}"
        self.open(head, r)
        lefts = [", ".join(value_spec(v) for v in rule.values) for rule in r.rules]
        width = max((len(x) for x in lefts), default=0)
        for left, rule in zip(lefts, r.rules):
            text = f"{left.ljust(width)} -> {rule.code} {label(rule.label)}"
            if rule.missing:
                text += f" missing {rule.missing}"
            self.line(text, rule)
            self.trail(rule)
        self.close(r)

    def _derive(self, d: m.Derive) -> None:
        head = f"derive {d.name}" + (f" {label(d.label)}" if d.label else "")
        self.line(f"{head} = {format_expr(d.expr)}", d)
        self.trail(d)

    # ------------------------------------------------------------ data rules

    def _respondent(self, r: m.Respondent) -> None:
        self.line(f"respondent {r.name} {r.kind} {label(r.label)}", r)
        self.trail(r)

    def _expectation(self, e: m.Expectation) -> None:
        self.open(f"expect {e.name} {label(e.label)}", e)
        rule = e.rule
        if rule.kind == "holds":
            text = format_expr(rule.left)
        elif rule.kind == "if":
            text = f"if {format_expr(rule.left)} then {format_expr(rule.right)}"  # type: ignore[arg-type]
        else:
            word = "only when" if rule.kind == "only_when" else "exactly when"
            text = f"{format_expr(rule.left)} {word} {format_expr(rule.right)}"  # type: ignore[arg-type]
        self.line(text, rule)
        self.trail(rule)
        self.close(e)

    def _warning(self, w: m.Warning_) -> None:
        self.line(f"{w.keyword} {w.name} {label(w.label)} if {format_expr(w.condition)}", w)
        self.trail(w)

    # ------------------------------------------------------------ analyses

    def _analysis(self, a: m.Analysis) -> None:
        self.open(f"analysis {a.name} {label(a.label)}", a)
        for s in a.statements:
            if isinstance(s, m.Frequencies):
                text = "frequencies " + ", ".join(t.display for t in s.terms)
            elif isinstance(s, m.Summary):
                text = "summary " + ", ".join(t.display for t in s.terms)
            elif isinstance(s, m.Crosstab):
                text = f"crosstab {s.row.display} by {s.column.display}" + (f" test {s.test}" if s.test else "")
            elif isinstance(s, m.Rates):
                text = "rate " + ", ".join(s.names)
            else:
                text = f"note {label(s.text)}"
            if isinstance(s, (m.Frequencies, m.Summary, m.Crosstab)) and s.chart is not None:
                text += f" chart {s.chart.kind}"
            self.line(text, s)
            self.trail(s)
        self.close(a)

    # ------------------------------------------------------------ documents

    def _document(self, d: m.Document) -> None:
        self.open(f"document {d.name} {label(d.title)}", d)
        if d.kind is not None:
            self.line(f"kind {d.kind}")
        for b in d.blocks:
            if b.kind in ("list", "numbered"):
                self.open(b.kind, b)
                for t in b.texts:
                    self.line(label(t), t)
                    self.trail(t)
                self.close(b)
                continue
            if b.kind == "table":
                text = "table " + ", ".join(b.names)
            elif b.kind == "pagebreak":
                text = "pagebreak"
            elif b.kind == "blanks":
                text = "blanks " + ", ".join(label(t) for t in b.texts)
            elif b.kind == "signature":
                text = "signature " + " ".join(label(t) for t in b.texts)
            else:
                text = f"{b.kind} {self._long_or_label(b.texts[0])}"
            self.line(text, b)
            self.trail(b)
        self.close(d)


def _word(text: str) -> str:
    """A bare word where the grammar reads one back (``mode telephone``), else a string."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and text not in _KEYWORDS:
        return text
    return quote(text)


_KEYWORDS = {
    "survey", "study", "scale", "interview", "fieldwork", "recode", "derive", "analysis",
    "document", "respondent", "expect", "warn", "error",
}


def _long_string(text: str, indent: str) -> str | None:
    """A ``\"\"\"`` literal for multi-line text, if it reads back exactly."""
    if '"""' in text or "\\" in text or text != text.strip() or "\t" in text or "\r" in text:
        return None
    body = "\n".join((indent + ln) if ln else "" for ln in text.split("\n"))
    literal = '"""\n' + body + '"""'
    if string_value(Token("LONG_STRING", literal)) != text:
        return None
    return literal


def _statements(spec: m.Spec) -> Iterable[m.Node]:
    """The nodes comments can attach to, in source order of declaration."""
    yield spec
    if spec.study:
        yield spec.study
        s = spec.study
        for key in ("title", "subtitle", "population", "privacy", "report", "period"):
            v = getattr(s, key)
            if v is not None:
                yield v
        for key in ("sponsor", "client", "institute", "agency"):
            org = getattr(s, key)
            if org is not None:
                yield org
                for k in ("name", "department", "address", "contact"):
                    if getattr(org, k) is not None:
                        yield getattr(org, k)
    for sc in spec.scales:
        yield sc
        if sc.read:
            yield sc.read
        yield from sc.options
    if spec.interview:
        yield spec.interview
        yield from _item_statements(spec.interview.items)
    if spec.fieldwork:
        yield spec.fieldwork
        for f in spec.fieldwork.sample:
            yield f
            yield from f.options
        yield from spec.fieldwork.dispositions
        yield from spec.fieldwork.rates
    for r in spec.recodes:
        yield r
        yield from r.rules
    yield from spec.derives
    if spec.respondent:
        yield spec.respondent
    for e in spec.expectations:
        yield e
        yield e.rule
    yield from spec.warnings
    for a in spec.analyses:
        yield a
        yield from a.statements
    for d in spec.documents:
        yield d
        for b in d.blocks:
            yield b
            if b.kind in ("list", "numbered"):
                yield from b.texts


def _item_statements(items: Iterable[m.Item]) -> Iterable[m.Node]:
    for item in items or ():
        yield item
        if isinstance(item, (m.Question, m.Grid)):
            if item.condition is not None:
                yield item.condition
            yield from item.instructions
            yield from item.notes
            if item.read is not None:
                yield item.read
            if isinstance(item, m.Question):
                if item.range is not None:
                    yield item.range
                yield from item.options
            else:
                yield from item.items
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            yield from _item_statements(item.items)
        elif isinstance(item, m.Roster):
            yield from item.options
            yield from _item_statements(item.items)
        elif isinstance(item, m.IfBlock):
            yield from _item_statements(item.then)
            yield from _item_statements(item.otherwise or ())


def format_spec(result: ParseResult | m.Spec) -> str:
    """The canonical text of a parsed spec, comments included."""
    return Formatter(result).format()

