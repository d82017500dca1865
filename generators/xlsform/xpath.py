"""The model's expressions rendered as XPath 1.0 for XLSForm (``relevant``,
``constraint``, ``calculation``, ``repeat_count``).

The expression language is three-valued (``semantics.expr``): a comparison on
an operand with no value is UNKNOWN, and a guard holds only when its condition
is TRUE. XPath is two-valued, and an empty answer is the empty string, which
XPath 1.0 turns into NaN in a numeric comparison: ``${q} != 3`` is *true* on an
empty ``q``, where the language says UNKNOWN (and the walker does not ask).
So a condition is rendered twice, as two XPath booleans that are never both
true:

* ``true(e)``: the condition is TRUE;
* ``false(e)``: the condition is FALSE.

UNKNOWN is "neither". Then ``not e`` swaps them, ``and``/``or`` are Kleene's
(``true(a and b) = true(a) and true(b)``, ``false(a and b) = false(a) or
false(b)``), routing's "does not hold" (``Unary.holds``) is ``not(true(e))``,
and a guard becomes ``relevant = true(guard)``. A value is rendered as a pair:
``defined`` (an XPath boolean: it has a value; ``None`` when always) and
``value`` (the XPath expression giving it), so an ordering is TRUE only where
both sides are defined: ``${q} != '' and ${q} > 3``.

One method per node kind (``visit_Compare``, ``visit_In``, ...), like
``generators.form.jscompile``; a construct XPath cannot express goes through
``unsupported``: it is reported (the caller attaches the spec line), and the
rendering stands in with ``true()`` for a condition (a question asked more
often, never silently lost) or an empty value.

How a variable is read is the caller's: ``ref(name)`` gives the XPath of its
answer node (``${q}``, or ``indexed-repeat(...)`` for an iteration of a
roster); derived variables and recodes are rendered inline from their
definitions, so every condition reads answers only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kvpspec import model as m
from kvpspec.semantics.variables import Variable, missing_kinds, recode_table

TRUE = "true()"
FALSE = "false()"


@dataclass(frozen=True)
class Val:
    """A value: ``defined`` (XPath boolean, ``None``: always), ``value`` (XPath),
    ``kind`` (number, text, multi: a select_multiple's node), ``node``: a plain
    node reference (compared as a string by XPath unless wrapped in number())."""

    defined: str | None
    value: str
    kind: str = "number"
    node: bool = False
    var: Variable | None = None


@dataclass(frozen=True)
class Cond:
    """A condition: when it is TRUE and when it is FALSE (UNKNOWN: neither)."""

    true: str
    false: str


def string_literal(text: str) -> str:
    """A string as an XPath 1.0 literal (which has no escapes: ``concat`` when it holds both quotes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    pieces = []
    for i, part in enumerate(parts):
        if part:
            pieces.append(f"'{part}'")
        if i < len(parts) - 1:
            pieces.append('"\'"')
    return "concat(" + ", ".join(pieces) + ")"


def number_literal(v: float) -> str:
    """A number as XPath 1.0 writes it (no exponent)."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if v.is_integer():
        return str(int(v))
    text = format(v, ".15f").rstrip("0")
    return text


def both(*parts: str | None) -> str:
    """``and`` of the parts, ``None`` and ``true()`` left out."""
    ps = [p for p in parts if p is not None and p != TRUE]
    if any(p == FALSE for p in ps):
        return FALSE
    if not ps:
        return TRUE
    if len(ps) == 1:
        return ps[0]
    return " and ".join(_paren(p) for p in _unique(ps))


def either(*parts: str | None) -> str:
    """``or`` of the parts, ``false()`` left out."""
    ps = [p for p in parts if p is not None and p != FALSE]
    if any(p == TRUE for p in ps):
        return TRUE
    if not ps:
        return FALSE
    if len(ps) == 1:
        return ps[0]
    return " or ".join(_paren(p) for p in _unique(ps))


def negate(p: str) -> str:
    if p == TRUE:
        return FALSE
    if p == FALSE:
        return TRUE
    return f"not({p})"


def _unique(ps: list[str]) -> list[str]:
    out: list[str] = []
    for p in ps:
        if p not in out:
            out.append(p)
    return out


def _paren(p: str) -> str:
    """Parenthesise a compound so that ``and``/``or`` bind as written."""
    depth = 0
    for i, ch in enumerate(p):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch == " " and (p.startswith("and ", i + 1) or p.startswith("or ", i + 1)):
            return f"({p})"
    return p


class XPathRenderer:
    """Renders expressions over ``variables`` as XPath; ``ref(name)`` reads an answer."""

    def __init__(
        self,
        variables: Mapping[str, Variable],
        recodes: Mapping[str, m.Recode],
        derives: Mapping[str, m.Derive],
        ref: Callable[[str], str],
        unsupported: Callable[[str], None],
    ) -> None:
        self.variables = variables
        self.recodes = dict(recodes)
        self.derives = dict(derives)
        self.ref = ref
        self._report = unsupported

    # ------------------------------------------------------------ entry points

    def relevant(self, guard: m.Expr | None) -> str:
        """When a step is asked: its guard is TRUE."""
        return TRUE if guard is None else self.cond(guard).true

    def fires(self, condition: m.Expr) -> str:
        """When a check fires: its condition is TRUE."""
        return self.cond(condition).true

    def cond(self, e: m.Expr) -> Cond:
        method = getattr(self, f"cond_{type(e).__name__}", None)
        if method is None:
            if isinstance(e, (m.Literal_, m.Ref, m.Call, m.Conditional)):
                pass  # handled below: a condition-valued value
            else:
                self.unsupported(f"a {type(e).__name__} is not a condition XPath can test")
                return Cond(TRUE, FALSE)
        if method is not None:
            return method(e)
        return self._cond_of_value(e)

    def val(self, e: m.Expr) -> Val:
        """The raw value (as ``==`` reads it)."""
        method = getattr(self, f"visit_{type(e).__name__}", None)
        if method is None:
            return self._bad(f"a {type(e).__name__} has no XPath value")
        return method(e)

    def sub(self, e: m.Expr) -> Val:
        """The substantive value: the missing codes of what ``e`` reads are no value."""
        v = self.val(e)
        codes = missing_kinds(e, self.variables, self.recodes)
        if not codes or v.kind in ("text", "multi"):
            return v
        outside = [f"{v.value} != {number_literal(c)}" for c in sorted(codes)]
        return Val(both(v.defined, *outside), v.value, v.kind, v.node, v.var)

    def unsupported(self, message: str) -> None:
        self._report(message)

    def _bad(self, message: str) -> Val:
        self.unsupported(message)
        return Val(FALSE, "''")

    # ------------------------------------------------------------ values

    def visit_Literal_(self, e: m.Literal_) -> Val:
        v = e.value
        if isinstance(v, bool):
            return Val(None, TRUE if v else FALSE, "bool")
        if isinstance(v, str):
            return Val(None, string_literal(v), "text")
        if isinstance(v, float) and not math.isfinite(v):
            return self._bad(f"the number {v} cannot be written in XPath")
        return Val(None, number_literal(v))

    def visit_Missing_(self, e: m.Missing_) -> Val:
        return Val(FALSE, "''")

    def visit_Ref(self, e: m.Ref) -> Val:
        var = self.variables.get(e.name)
        if e.name in self.derives:
            derived = self.derives[e.name].expr
            if var is not None and var.value_kind == "bool":
                c = self.cond(derived)
                return Val(either(c.true, c.false), f"if({c.true}, 1, 0)", "number")
            return self.val(derived)
        recode = self.recodes.get(e.name)
        if recode is not None and not recode.source_is_scale:
            return self.lookup(recode, m.Ref.build(name=recode.source))
        if var is not None and var.role == "recode" and var.recode in self.recodes and var.source:
            return self.lookup(self.recodes[var.recode], m.Ref.build(name=var.source))
        node = self.ref(e.name)
        kind = "number"
        if var is not None:
            if var.type == "multiple":
                kind = "multi"
            elif var.value_kind == "text":
                kind = "text"
        return Val(f"{node} != ''", node, kind, True, var)

    def lookup(self, recode: m.Recode, source: m.Expr) -> Val:
        """A recode applied to ``source``: its rules tried in order (``RecodeTable.lookup``)."""
        raw = self.val(source)
        if raw.kind in ("multi", "text"):
            return self._bad(f"the recode `{recode.name}` of a {raw.kind} value has no XPath form")
        var = self.variables.get(source.name) if isinstance(source, m.Ref) else None
        missing = var.missing_codes if var is not None else frozenset()
        table = recode_table(recode, missing)
        substantive = both(*(f"{raw.value} != {number_literal(c)}" for c in sorted(missing)))
        fallback: int | None = None
        arms: list[tuple[str, int]] = []
        for spec, code in table.rules:
            if spec.kind == "else":
                fallback = code
                continue
            if spec.kind == "single":
                arms.append((f"{raw.value} = {number_literal(spec.low or 0)}", code))
            elif spec.kind in ("range", "upto", "from"):
                bounds = []
                if spec.low is not None:
                    bounds.append(f"{raw.value} >= {number_literal(spec.low)}")
                if spec.high is not None:
                    bounds.append(f"{raw.value} <= {number_literal(spec.high)}")
                arms.append((both(substantive, *bounds), code))
        value = "''" if fallback is None else str(fallback)
        for test, code in reversed(arms):
            value = f"if({test}, {code}, {value})"
        defined = raw.defined if fallback is not None else both(raw.defined, either(*(t for t, _ in arms)))
        return Val(defined, value)

    def visit_Call(self, e: m.Call) -> Val:
        if e.func in self.recodes and len(e.args) == 1:
            return self.lookup(self.recodes[e.func], e.args[0])
        if e.func == "count":
            terms = [f"if({self.cond(a).true}, 1, 0)" for a in e.args]
            return Val(None, "(" + " + ".join(terms) + ")" if terms else "0")
        if e.func == "sum":
            terms = []
            for a in e.args:
                v = self.sub(a)
                terms.append(v.value if v.defined is None else f"if({v.defined}, {v.value}, 0)")
            return Val(None, "(" + " + ".join(terms) + ")" if terms else "0")
        if e.func in ("any", "all"):
            c = self._kleene("or" if e.func == "any" else "and", e.args)
            return Val(either(c.true, c.false), f"if({c.true}, 1, 0)", "number")
        if e.func in ("min", "max") and len(e.args) == 1:
            return self.sub(e.args[0])
        return self._bad(f"`{e.func}` of several values has no XPath form here")

    def visit_Aggregate(self, e: m.Aggregate) -> Val:
        return self._bad(f"`{e.func}(... over {e.roster})` is computed after lowering unrolls the roster")

    def visit_Conditional(self, e: m.Conditional) -> Val:
        c = self.cond(e.condition)
        a, b = self.val(e.then), self.val(e.otherwise)
        defined = either(both(c.true, a.defined), both(c.false, b.defined))
        kind = a.kind if a.kind == b.kind else "number"
        return Val(defined, f"if({c.true}, {a.value}, {b.value})", kind)

    def visit_Unary(self, e: m.Unary) -> Val:
        if e.op == "not":
            c = self.cond(e)
            return Val(either(c.true, c.false), f"if({c.true}, 1, 0)", "number")
        v = self.sub(e.operand)
        return Val(v.defined, f"-({v.value})")

    def visit_Binary(self, e: m.Binary) -> Val:
        a, b = self.sub(e.left), self.sub(e.right)
        if e.op == "+" and "text" in (a.kind, b.kind):
            return Val(both(a.defined, b.defined), f"concat({a.value}, {b.value})", "text")
        op = {"+": "+", "-": "-", "*": "*", "/": "div"}[e.op]
        defined = both(a.defined, b.defined, f"{b.value} != 0" if e.op == "/" else None)
        return Val(defined, f"({a.value} {op} {b.value})")

    # ------------------------------------------------------------ conditions

    def _cond_of_value(self, e: m.Expr) -> Cond:
        if isinstance(e, m.Literal_) and isinstance(e.value, bool):
            return Cond(TRUE, FALSE) if e.value else Cond(FALSE, TRUE)
        if isinstance(e, m.Ref) and e.name in self.derives:
            return self.cond(self.derives[e.name].expr)
        if isinstance(e, m.Call) and e.func in ("any", "all"):
            return self._kleene("or" if e.func == "any" else "and", e.args)
        if isinstance(e, m.Conditional):
            c = self.cond(e.condition)
            a, b = self.cond(e.then), self.cond(e.otherwise)
            return Cond(either(both(c.true, a.true), both(c.false, b.true)),
                        either(both(c.true, a.false), both(c.false, b.false)))
        if isinstance(e, m.Missing_):
            return Cond(FALSE, FALSE)
        self.unsupported("this value is not a condition XPath can test")
        return Cond(TRUE, FALSE)

    def cond_Missing_(self, e: m.Missing_) -> Cond:
        return Cond(FALSE, FALSE)

    def cond_Unary(self, e: m.Unary) -> Cond:
        if e.op != "not":
            self.unsupported("`-` is not a condition")
            return Cond(TRUE, FALSE)
        c = self.cond(e.operand)
        if e.holds:  # routing's "does not hold": false or UNKNOWN
            return Cond(negate(c.true), c.true)
        return Cond(c.false, c.true)

    def cond_BoolOp(self, e: m.BoolOp) -> Cond:
        return self._kleene(e.op, e.operands)

    def _kleene(self, op: str, operands: tuple[m.Expr, ...]) -> Cond:
        cs = [self.cond(o) for o in operands]
        if op == "and":
            return Cond(both(*(c.true for c in cs)), either(*(c.false for c in cs)))
        return Cond(either(*(c.true for c in cs)), both(*(c.false for c in cs)))

    def cond_Compare(self, e: m.Compare) -> Cond:
        if e.op in ("==", "!="):
            a, b = self.val(e.left), self.val(e.right)
            if b.kind == "multi" and a.kind != "multi":
                a, b = b, a
            defined = both(a.defined, b.defined)
            if a.kind == "multi":
                test = f"selected({a.value}, {b.value})"
            elif a.node and b.node:
                test = f"{_num(a)} = {_num(b)}" if a.kind == "number" else f"{a.value} = {b.value}"
            else:
                test = f"{a.value} = {b.value}"
            if e.op == "==":
                return Cond(both(defined, test), both(defined, negate(test)))
            return Cond(both(defined, negate(test)), both(defined, test))
        a, b = self.sub(e.left), self.sub(e.right)
        if "multi" in (a.kind, b.kind) or "text" in (a.kind, b.kind):
            self.unsupported(f"`{e.op}` on a multiple choice or text value has no XPath form")
            return Cond(TRUE, FALSE)
        defined = both(a.defined, b.defined)
        test = f"{a.value} {e.op} {b.value}"
        return Cond(both(defined, test), both(defined, f"not({test})"))

    def cond_In(self, e: m.In) -> Cond:
        raw = self.val(e.operand)
        if raw.kind == "multi":
            var = raw.var
            hits = []
            for v in e.values:
                if v.kind == "single":
                    hits.append(f"selected({raw.value}, {number_literal(v.low or 0)})")
                elif v.kind == "string":
                    continue
                else:
                    codes = var.substantive_codes if var is not None else ()
                    hits.extend(f"selected({raw.value}, {c})" for c in codes if v.contains(c))
            hit = either(*hits)
            if e.negated:
                return Cond(both(raw.defined, negate(hit)), both(raw.defined, hit))
            return Cond(both(raw.defined, hit), both(raw.defined, negate(hit)))
        sub = self.sub(e.operand)
        hits = []
        ranged = False
        for v in e.values:
            if v.kind == "single":
                hits.append(f"{raw.value} = {number_literal(v.low or 0)}")
            elif v.kind == "string":
                hits.append(f"{raw.value} = {string_literal(v.text or '')}")
            else:
                ranged = True
                bounds = []
                if v.kind in ("range", "from") and v.low is not None:
                    bounds.append(f"{sub.value} >= {number_literal(v.low)}")
                if v.kind in ("range", "upto") and v.high is not None:
                    bounds.append(f"{sub.value} <= {number_literal(v.high)}")
                hits.append(both(sub.defined, *bounds))
        hit = either(*hits)
        # a range cannot order a missing code: UNKNOWN unless another item matches
        unknown = both(raw.defined, negate(sub.defined or TRUE)) if ranged else FALSE
        if e.negated:
            return Cond(both(raw.defined, negate(hit), negate(unknown)), both(raw.defined, hit))
        return Cond(both(raw.defined, hit), both(raw.defined, negate(hit), negate(unknown)))

    def cond_Test(self, e: m.Test) -> Cond:
        raw = self.val(e.operand)
        kinds = missing_kinds(e.operand, self.variables, self.recodes)
        if e.test == "answered":
            test = raw.defined or TRUE
        elif raw.kind == "multi":
            var = raw.var
            if e.test == "missing":
                codes = [c for c in (var.codes if var is not None else ()) if c not in kinds]
                test = negate(either(*(f"selected({raw.value}, {c})" for c in codes)))
            else:
                test = either(*(f"selected({raw.value}, {c})" for c, k in sorted(kinds.items()) if k == e.test))
        elif e.test == "missing":
            test = negate(self.sub(e.operand).defined or TRUE)
        elif e.test in ("dont_know", "refused", "not_applicable"):
            test = both(raw.defined, either(
                *(f"{raw.value} = {number_literal(c)}" for c, k in sorted(kinds.items()) if k == e.test)
            ))
        else:
            self.unsupported(f"`is {e.test}` is not a test")
            return Cond(TRUE, FALSE)
        if e.negated:
            test = negate(test)
        return Cond(test, negate(test))


def _num(v: Val) -> str:
    """A numeric operand of ``=`` between two answers: read as a number
    (``number(${q})``), where XPath would compare the two nodes as strings."""
    return f"number({v.value})" if v.node else v.value
