"""The XPath that XLSForm authors write, parsed and rendered as spec expressions.

A small recursive-descent parser (XPath 1.0 precedence: ``or`` < ``and`` <
``= !=`` < ``< <= > >=`` < ``+ -`` < ``* div mod`` < unary ``-``) reads
``relevant``, ``constraint``, ``calculation`` and ``repeat_count`` cells into
a tree; nothing is ever evaluated. ``Translator`` renders a tree in the spec's
expression syntax, typed by what each ``${name}`` refers to.

Meaning is kept exactly where the two languages differ:

* XPath is two-valued; an unanswered question is the empty string, which
  compares false with ``= < <= > >=`` and true with ``!=``. The spec is
  three-valued (a comparison with no value is UNKNOWN). Each comparison is
  therefore rendered two-valued where that matters (under ``not``, inside
  ``if()``, in a constraint): ``(C and a is answered)`` or
  ``(C or not (a is answered))``. In a positive position of a guard, where
  UNKNOWN and false both mean "not asked", the plain ``C`` is kept.
* choice names become option codes (``${q} = 'yes'`` is ``q == 1`` when
  ``yes`` is code 1); ``selected(${q}, 'a')`` is ``q == CODE`` and
  ``count-selected(${q})`` counts the chosen codes.

Whatever has no counterpart (``mod``, paths, ``today()``, string functions...)
raises ``Unsupported`` with the reason; the caller turns it into a comment and
a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kvpspec.syntax.formatter import number as _number
from kvpspec.syntax.formatter import quote


class XPathError(ValueError):
    """Text that is not an XPath expression (a syntax error at ``offset``)."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class Unsupported(ValueError):
    """A well-formed expression the spec language cannot say; the message says why."""


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Num:
    value: int | float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Dot:
    pass


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Bin:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Path:
    text: str


Node = Num | Str | Ref | Dot | Call | Bin | Neg | Path

# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{\s*(?P<refname>[^}\s]*)\s*\})
  | (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\|)
  | (?P<path>\.\.(?:/[\w.\-:]+)*|/[\w./\-:]*|\.(?![\w]))
  | (?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)
    """,
    re.VERBOSE,
)

_WORD_OPS = {"and", "or", "div", "mod"}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        mt = _TOKEN.match(text, pos)
        if mt is None:
            raise XPathError(f"unexpected character {text[pos]!r}", pos)
        kind = mt.lastgroup or ""
        if kind == "refname":
            kind = "ref"
        if kind != "ws":
            if kind == "ref":
                name = mt.group("refname")
                if not name:
                    raise XPathError("empty ${} reference", pos)
                out.append(_Tok("ref", name, pos))
            elif kind == "str":
                out.append(_Tok("str", mt.group()[1:-1], pos))
            elif kind == "name" and mt.group() in _WORD_OPS:
                out.append(_Tok("op", mt.group(), pos))
            elif kind == "path":
                tok = mt.group()
                out.append(_Tok("dot" if tok == "." else "path", tok, pos))
            else:
                out.append(_Tok(kind, mt.group(), pos))
        pos = mt.end()
    out.append(_Tok("end", "", len(text)))
    return out


# ---------------------------------------------------------------- the parser

_LEVELS: list[set[str]] = [{"or"}, {"and"}, {"=", "!="}, {"<", "<=", ">", ">="}, {"+", "-"}, {"*", "div", "mod"}]


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind != "op":
            raise XPathError(f"expected {text!r}, found {tok.text or 'the end'!r}", tok.pos)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise XPathError("empty expression", 0)
        node = self.level(0)
        tok = self.peek()
        if tok.kind != "end":
            raise XPathError(f"unexpected {tok.text!r}", tok.pos)
        return node

    def level(self, n: int, depth: int = 0) -> Node:
        if depth > 200:
            raise XPathError("expression nested too deep", self.peek().pos)
        if n == len(_LEVELS):
            return self.unary(depth)
        node = self.level(n + 1, depth + 1)
        while self.peek().kind == "op" and self.peek().text in _LEVELS[n]:
            op = self.take().text
            node = Bin(op, node, self.level(n + 1, depth + 1))
        return node

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "-":
            self.take()
            return Neg(self.unary(depth + 1))
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        tok = self.take()
        if tok.kind == "num":
            text = tok.text
            value: int | float = int(text) if text.isdigit() else float(text)
            return Num(value)
        if tok.kind == "str":
            return Str(tok.text)
        if tok.kind == "ref":
            return Ref(tok.text)
        if tok.kind == "dot":
            return Dot()
        if tok.kind == "path":
            return Path(tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.level(0, depth + 1)
            self.expect(")")
            return node
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                self.take()
                args: list[Node] = []
                if not (self.peek().kind == "op" and self.peek().text == ")"):
                    args.append(self.level(0, depth + 1))
                    while self.peek().kind == "op" and self.peek().text == ",":
                        self.take()
                        args.append(self.level(0, depth + 1))
                self.expect(")")
                return Call(tok.text, tuple(args))
            return Path(tok.text)
        raise XPathError(f"unexpected {tok.text or 'end of expression'!r}", tok.pos)


def parse(text: str) -> Node:
    """The tree of an XPath expression; ``XPathError`` when it is not one."""
    return _Parser(text).parse()


def refs(node: Node) -> list[str]:
    """The ``${name}`` references of a tree, in order."""
    out: list[str] = []

    def visit(n: Node) -> None:
        if isinstance(n, Ref):
            out.append(n.name)
        elif isinstance(n, Call):
            for a in n.args:
                visit(a)
        elif isinstance(n, Bin):
            visit(n.left)
            visit(n.right)
        elif isinstance(n, Neg):
            visit(n.operand)

    visit(node)
    return out


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Var:
    """What a ``${name}`` refers to, as the translator needs it."""

    spec_name: str
    kind: str  # single, multiple, integer, decimal, text
    codes: Mapping[str, int] = field(default_factory=dict)  # choice name -> code
    roster: str | None = None  # the innermost roster holding it


# result kinds of a rendered expression
BOOL, NUM, TEXT, CODE, CODES = "bool", "num", "text", "code", "codes"

_CMP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_ARITH = {"+": "+", "-": "-", "*": "*", "div": "/"}


@dataclass
class _R:
    text: str
    kind: str
    var: Var | None = None  # a bare reference
    maybe_empty: frozenset[str] = frozenset()  # references whose emptiness makes this empty
    precise: bool = True  # empty exactly when one of maybe_empty is (not so after if() or coalesce())


class Translator:
    """Renders XPath trees as spec expressions.

    ``lookup(name)`` gives the ``Var`` of a reference or ``None`` when the
    name is unknown; ``inline(name)`` gives the tree of a calculate, which is
    rendered in its place (a derived variable cannot steer routing, so a
    calculate read by ``relevant`` is inlined). ``current`` is the question
    ``.`` means (in a constraint), ``roster`` the roster the expression is in.
    """

    def __init__(self, lookup: Callable[[str], Var | None], inline: Callable[[str], Node | None] | None = None,
                 current: Var | None = None, rosters: tuple[str, ...] = ()):
        self.lookup = lookup
        self.inline = inline or (lambda name: None)
        self.current = current
        self.rosters = rosters
        self._inlining: list[str] = []

    # -- entry points

    def condition(self, node: Node, exact: bool = False) -> str:
        """A condition. ``exact``: two-valued like XPath (else UNKNOWN may stand for false)."""
        return self._bool(node, exact).text

    def value(self, node: Node) -> str:
        r = self._value(node)
        if r.kind == BOOL:
            return self._bool(node, True).text
        return r.text

    # -- conditions

    def _bool(self, node: Node, exact: bool) -> _R:
        if isinstance(node, Bin) and node.op in ("and", "or"):
            left = self._bool(node.left, exact)
            right = self._bool(node.right, exact)
            return _R(f"({left.text} {node.op} {right.text})", BOOL)
        if isinstance(node, Bin) and node.op in _CMP:
            return self._compare(node, exact)
        if isinstance(node, Call):
            name = node.name
            if name == "not" and len(node.args) == 1:
                inner = self._bool(node.args[0], True)
                return _R(f"not {_paren(inner.text)}", BOOL)
            if name in ("true", "false") and not node.args:
                return _R(name, BOOL)
            if name == "selected" and len(node.args) == 2:
                return self._selected(node, exact)
            if name == "boolean" and len(node.args) == 1:
                return self._bool(Bin("!=", node.args[0], Str("")), exact)
        if isinstance(node, Ref) and self.inline(node.name) is not None:
            return self._inlined(node.name, lambda n: self._bool(n, exact))
        r = self._value(node)
        if r.kind == BOOL:
            return r
        raise Unsupported(f"{_show(node)} is used as a condition but is a value")

    def _selected(self, node: Call, exact: bool) -> _R:
        target, choice = node.args
        var = self._var_of(target)
        if var is None or var.kind not in ("single", "multiple"):
            raise Unsupported("selected() of something that is not a select question")
        if not isinstance(choice, Str | Num):
            raise Unsupported("selected() with a choice that is not written out")
        code = self._code(var, _literal_text(choice))
        text = f"{var.spec_name} == {code}"
        return _R(self._guard(text, {var.spec_name}, False, exact), BOOL)

    def _compare(self, node: Bin, exact: bool) -> _R:
        op = node.op
        left, right = node.left, node.right
        # `${q} = ''` and `'' != ${q}`: answered or not
        for a, b in ((left, right), (right, left)):
            if isinstance(b, Str) and b.value == "" and op in ("=", "!="):
                var = self._var_of(a)
                if var is None:
                    break
                test = f"{var.spec_name} is answered"
                return _R(test if op == "!=" else f"not ({test})", BOOL)
        # a choice name compared with a select question
        for a, b, o in ((left, right, op), (right, left, _FLIP[op])):
            var = self._var_of(a)
            if var is not None and var.kind in ("single", "multiple") and isinstance(b, Str | Num):
                if var.kind == "multiple":
                    raise Unsupported(f"`${{{_xname(a)}}} {op} ...` compares a select_multiple's whole answer; use selected()")
                if o not in ("=", "!="):
                    if isinstance(b, Num) and all(k.lstrip("-").isdigit() for k in var.codes):
                        break
                    raise Unsupported("an ordering comparison of a choice")
                code = self._code(var, _literal_text(b))
                text = f"{var.spec_name} {_CMP[o]} {code}"
                return _R(self._guard(text, {var.spec_name}, o == "!=", exact), BOOL)
        for a, b, o in ((left, right, op), (right, left, _FLIP[op])):
            if isinstance(a, Call) and a.name == "string-length" and len(a.args) == 1 and isinstance(b, Num) \
                    and b.value == 0 and o in ("=", ">", "!=", "<="):
                var = self._var_of(a.args[0])
                if var is not None:
                    test = f"{var.spec_name} is answered"
                    return _R(test if o in (">", "!=") else f"not ({test})", BOOL)
        lv, rv = self._value(left), self._value(right)
        if BOOL in (lv.kind, rv.kind):
            raise Unsupported("a comparison of conditions")
        if CODES in (lv.kind, rv.kind):
            raise Unsupported("a comparison with a select_multiple's whole answer")
        lk = NUM if lv.kind == CODE else lv.kind
        rk = NUM if rv.kind == CODE else rv.kind
        if lk != rk:
            if TEXT in (lk, rk) and op in ("=", "!="):
                # a text literal against a number: compare as numbers when it is one
                lit = right if lk == NUM else left
                if isinstance(lit, Str) and _is_number(lit.value):
                    num = _render_num(float(lit.value))
                    lv, rv = (lv, _R(num, NUM)) if lk == NUM else (_R(num, NUM), rv)
                else:
                    raise Unsupported("a comparison of text with a number")
            elif op not in ("=", "!="):
                raise Unsupported("an ordering comparison of text")
        elif lk == TEXT and op not in ("=", "!="):
            raise Unsupported("an ordering comparison of text")
        text = f"{lv.text} {_CMP[op]} {rv.text}"
        empties = lv.maybe_empty | rv.maybe_empty
        if not (lv.precise and rv.precise):
            # which operand can be empty depends on the data: say "holds" with count(), which is two-valued
            if op == "!=":
                return _R(f"count({lv.text} == {rv.text}) == 0", BOOL)
            return _R(f"count({text}) == 1" if exact else text, BOOL)
        return _R(self._guard(text, empties, op == "!=", exact), BOOL)

    def _guard(self, text: str, empties: set[str] | frozenset[str], true_when_empty: bool, exact: bool) -> str:
        """``text`` made two-valued as XPath's comparison: false (or true) when a reference is empty."""
        names = sorted(empties)
        if not names:
            return text
        if true_when_empty:
            tests = " or ".join(f"not ({n} is answered)" for n in names)
            return f"({text} or {tests})"
        if not exact:
            return text
        tests = " and ".join(f"{n} is answered" for n in names)
        return f"({text} and {tests})"

    # -- values

    def _value(self, node: Node) -> _R:
        if isinstance(node, Num):
            return _R(_render_num(node.value), NUM)
        if isinstance(node, Str):
            return _R(quote(node.value), TEXT)
        if isinstance(node, Dot):
            if self.current is None:
                raise Unsupported("`.` outside a constraint")
            return self._var_value(self.current)
        if isinstance(node, Ref):
            if self.inline(node.name) is not None:
                return self._inlined(node.name, self._value)
            var = self._lookup(node.name)
            return self._var_value(var)
        if isinstance(node, Neg):
            inner = self._value(node.operand)
            if inner.kind not in (NUM, CODE):
                raise Unsupported("a minus sign before something that is not a number")
            return _R(f"-{_paren(inner.text)}", NUM, maybe_empty=inner.maybe_empty, precise=inner.precise)
        if isinstance(node, Bin):
            if node.op in ("and", "or") or node.op in _CMP:
                return self._bool(node, True)
            if node.op == "mod":
                raise Unsupported("`mod` (the spec's expressions have no remainder)")
            left, right = self._value(node.left), self._value(node.right)
            for side in (left, right):
                if side.kind not in (NUM, CODE):
                    raise Unsupported(f"arithmetic `{node.op}` on something that is not a number")
            return _R(f"({left.text} {_ARITH[node.op]} {right.text})", NUM,
                      maybe_empty=left.maybe_empty | right.maybe_empty, precise=left.precise and right.precise)
        if isinstance(node, Call):
            return self._call(node)
        raise Unsupported(f"the path `{node.text}` (write ${{name}} references)")

    def _var_value(self, var: Var) -> _R:
        kind = {"integer": NUM, "decimal": NUM, "text": TEXT, "single": CODE, "multiple": CODES}[var.kind]
        self._check_scope(var)
        return _R(var.spec_name, kind, var, frozenset({var.spec_name}))

    def _check_scope(self, var: Var) -> None:
        if var.roster is not None and var.roster not in self.rosters:
            raise Unsupported(f"`{var.spec_name}` is asked in the repeat `{var.roster}` and read outside it")

    def _call(self, node: Call) -> _R:
        name, args = node.name, node.args
        if name in ("not", "true", "false", "selected", "boolean"):
            return self._bool(node, True)
        if name == "count-selected" and len(args) == 1:
            var = self._var_of(args[0])
            if var is None or var.kind != "multiple":
                raise Unsupported("count-selected() of something that is not a select_multiple")
            codes = sorted(set(var.codes.values()))
            if not codes:
                raise Unsupported("count-selected() of a question without choices")
            parts = ", ".join(f"{var.spec_name} == {c}" for c in codes)
            return _R(f"count({parts})", NUM)
        if name == "if" and len(args) == 3:
            cond = self._bool(args[0], True)
            empty = Str("")
            if args[1] == empty and args[2] == empty:
                raise Unsupported("if() with no value on both sides")
            # '' as a branch is "no value": the spec's `missing`, of the other branch's kind
            a = self._value(args[1]) if args[1] != empty else None
            b = self._value(args[2]) if args[2] != empty else None
            if a is None and b is not None:
                a = _R("missing", b.kind)
            if b is None and a is not None:
                b = _R("missing", a.kind)
            assert a is not None and b is not None
            ka = NUM if a.kind == CODE else a.kind
            kb = NUM if b.kind == CODE else b.kind
            if ka != kb:
                raise Unsupported("if() whose two branches are different kinds of value")
            if ka == BOOL:
                raise Unsupported("if() choosing between conditions")
            if ka == CODES:
                raise Unsupported("if() choosing a select_multiple's answer")
            return _R(f"(if {cond.text} then {a.text} else {b.text})", ka, maybe_empty=a.maybe_empty | b.maybe_empty,
                      precise=False)
        if name == "coalesce" and len(args) == 2:
            var = self._var_of(args[0])
            first, second = self._value(args[0]), self._value(args[1])
            if var is None or first.kind != second.kind or first.kind in (BOOL, CODES):
                raise Unsupported("coalesce() other than of a question and a value of its kind")
            return _R(f"(if {var.spec_name} is answered then {first.text} else {second.text})", first.kind,
                      maybe_empty=first.maybe_empty | second.maybe_empty, precise=False)
        if name == "number" and len(args) == 1:
            inner = self._value(args[0])
            if inner.kind in (NUM, CODE):
                return inner
            raise Unsupported("number() of text")
        if name == "indexed-repeat":
            return self._var_value(self._indexed(node))
        if name in ("sum", "min", "max") and len(args) >= 1:
            return self._aggregate(name, args)
        if name == "string-length" and len(args) == 1:
            raise Unsupported("string-length() other than `string-length(${q}) > 0` or `= 0`")
        raise Unsupported(f"the function {name}() has no counterpart in the spec's expressions")

    def _aggregate(self, name: str, args: tuple[Node, ...]) -> _R:
        if len(args) == 1:
            var = self._lookup(args[0].name) if isinstance(args[0], Ref) else None
            if var is None or var.roster is None or var.roster in self.rosters or var.kind not in ("integer", "decimal"):
                raise Unsupported(f"{name}() of something that is not a number asked in a repeat")
            return _R(f"{name}({var.spec_name} over {var.roster})", NUM)
        raise Unsupported(f"{name}() of several arguments (XPath's {name}() takes one node-set)")

    # -- helpers

    def _inlined(self, name: str, render: Callable[[Node], _R]) -> _R:
        if name in self._inlining:
            cycle = [*self._inlining[self._inlining.index(name):], name]
            if len(cycle) == 2:
                raise Unsupported(f"the calculate `{name}` refers to itself")
            raise Unsupported(f"the calculates refer to each other in a cycle: {' → '.join(f'`{c}`' for c in cycle)}")
        tree = self.inline(name)
        assert tree is not None
        self._inlining.append(name)
        try:
            r = render(tree)
        finally:
            self._inlining.pop()
        return _R(_paren(r.text), r.kind, None, r.maybe_empty, r.precise)

    def _lookup(self, name: str) -> Var:
        var = self.lookup(name)
        if var is None:
            raise Unsupported(f"${{{name}}} names no question of the form that the spec can read")
        return var

    def _indexed(self, node: Call) -> Var:
        """``indexed-repeat(${q}, ${r}, 2[, ${r2}, 1])``: the column of one iteration, ``q_2[_1]``."""
        args = node.args
        if len(args) < 3 or len(args) % 2 == 0 or not isinstance(args[0], Ref):
            raise Unsupported("indexed-repeat() other than of a question with written-out positions")
        var = self._lookup(args[0].name)
        suffix = ""
        for rep, pos in zip(args[1::2], args[2::2], strict=True):
            if not isinstance(rep, Ref) or not isinstance(pos, Num) or not float(pos.value).is_integer() or pos.value < 1:
                raise Unsupported("indexed-repeat() with a position that is not a whole number written out")
            suffix += f"_{int(pos.value)}"
        return Var(var.spec_name + suffix, var.kind, var.codes, None)

    def _var_of(self, node: Node) -> Var | None:
        if isinstance(node, Call) and node.name == "indexed-repeat":
            return self._indexed(node)
        if isinstance(node, Ref) and self.inline(node.name) is None:
            var = self._lookup(node.name)
            self._check_scope(var)
            return var
        if isinstance(node, Dot) and self.current is not None:
            return self.current
        return None

    def _code(self, var: Var, choice: str) -> int:
        if choice not in var.codes:
            raise Unsupported(f"'{choice}' is not a choice of `{var.spec_name}`")
        return var.codes[choice]


def _paren(text: str) -> str:
    if text.startswith("(") and _balanced(text[1:-1]) and text.endswith(")"):
        return text
    if re.fullmatch(r"[\w.]+", text):
        return text
    return f"({text})"


def _balanced(text: str) -> bool:
    depth = 0
    in_str = False
    for i, ch in enumerate(text):
        if in_str:
            if ch == '"' and text[i - 1] != "\\":
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _render_num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _number(value)


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", text.strip()) is not None


def _literal_text(node: Str | Num) -> str:
    if isinstance(node, Str):
        return node.value
    return _render_num(node.value)


def _xname(node: Node) -> str:
    return node.name if isinstance(node, Ref) else "."


def _show(node: Node) -> str:
    if isinstance(node, Ref):
        return f"${{{node.name}}}"
    if isinstance(node, Num):
        return _render_num(node.value)
    if isinstance(node, Str):
        return repr(node.value)
    if isinstance(node, Call):
        return f"{node.name}(...)"
    return "the expression"
