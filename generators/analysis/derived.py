"""A derived variable's expression as ``ast`` nodes over the columns of one frame,
with the meaning of ``kvpspec.semantics.expr.Evaluator`` (docs/language.md,
section 13) and the machinery's helpers (``without``, ``chosen``, ...).

The nodes are printed by ``emit.Printer``; parentheses come from the tree,
so Python's precedence (``&`` above ``==``) never changes a meaning.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from generators.analysis import emit as e
from kvpspec import model as m
from kvpspec.codewriter import IDENTIFIER, UnsafeValue
from kvpspec.semantics.lower import Lowered, Variable, applied_name, missing_kinds

#: The kind of a rendered value: ``num`` floats with NaN for no value, ``text`` an
#: object array with None, ``bool`` conditions as truth values (booleans, or floats
#: 1.0 / 0.0 / NaN for UNKNOWN: three-valued logic), ``set`` a multiple-choice column.
ValueKind = Literal["num", "text", "bool", "set"]

#: The kind of a derived variable's column.
DerivedKind = Literal["number", "code", "bool", "text", "multiple"]

#: The machinery's function that turns a derived variable's values into its column.
CONVERT: dict[str, str] = {
    "number": "numbers", "code": "codes", "bool": "conditions", "text": "strings",
    "multiple": "copied",
}

_RANGES = ("range", "upto", "from")


class Unsupported(Exception):
    """An expression analysis.py cannot compute; the message says why."""


def checked(name: str) -> str:
    """A name of the spec, checked against the identifier pattern before it enters code,
    a string key or a docstring (a keyword such as `class` passes: it is never code)."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise UnsafeValue(f"`{name}` cannot be used as a name in Python code")
    return name


def has_ranges(r: m.Recode) -> bool:
    return any(v.kind in _RANGES for rule in r.rules for v in rule.values)


def missing_list(column_name: str) -> ast.expr:
    """``list(MISSING_CODES.get("q3", {}))``: a variable's missing codes, from the survey's table."""
    get = e.call("MISSING_CODES.get", e.value(column_name), e.value({}))
    return e.call("list", get)


def derived_kind(value_kind: str, rendered: ValueKind) -> DerivedKind:
    if rendered == "set":
        return "multiple"
    if rendered == "num":
        return "code" if value_kind == "code" else "number"
    return rendered


@dataclass
class Code:
    """A rendered expression: its node, the kind of its values, and whether it is a
    constant (no column in it)."""

    node: ast.expr
    kind: ValueKind
    const: bool = False


class Render:
    """One derived variable's expression over ``frame`` (``data`` or ``sample``)."""

    def __init__(
        self,
        low: Lowered,
        frame: str,
        derived: dict[str, DerivedKind],
        reserved: Collection[str],
        function: Callable[[str], str],
    ):
        self.frame = frame
        self.variables = low.variables
        self.recodes_of = low.recodes
        self.derived = derived  # the kind of each derived variable computed before this one
        self.reserved = reserved
        self.function = function  # the checked name of a generated function
        self.recodes: list[str] = []  # the recodes it applies, ``enig2(q10a)``
        #: what the expression reads, each once: local name -> its column as values
        self.locals: dict[str, ast.expr] = {}
        self._local_of: dict[str, str] = {}

    # ------------------------------------------------------------ what an expression reads

    def column(self, name: str) -> ast.expr:
        return e.column(self.frame, checked(name))

    def local(self, name: str, node: ast.expr) -> ast.expr:
        """A local variable named as the spec's variable holding ``node`` (``q3 = as_float(data["q3"])``),
        renamed with a trailing ``_`` where it would hide a name the code needs."""
        key = ast.dump(node)
        if key not in self._local_of:
            local = checked(name)
            taken = set(self.reserved) | {self.frame, "data", "sample"} | set(dir(builtins))
            while (local in taken or keyword.iskeyword(local) or keyword.issoftkeyword(local)
                   or local.startswith(("recode_", "derive_", "rate_")) or local in self.locals):
                local += "_"
            self.locals[local] = node
            self._local_of[key] = local
        return e.name(self._local_of[key])

    def _ref_kind(self, var: Variable) -> ValueKind:
        if var.name in self.derived:
            kinds: dict[str, ValueKind] = {
                "number": "num", "code": "num", "bool": "bool", "text": "text", "multiple": "set",
            }
            return kinds[self.derived[var.name]]
        if var.type == "multiple":
            return "set"
        if var.value_kind == "text":
            return "text"
        if var.value_kind == "bool":
            return "bool"
        return "num"

    def empty(self, truth: bool) -> ast.expr:
        """A column of ``truth`` for every row of the frame."""
        length = e.call("len", e.name(self.frame))
        return e.call("np.ones" if truth else "np.zeros", length, dtype=e.name("bool"))

    def negate(self, node: ast.expr) -> ast.expr:
        """``~node``, simplified: ``~~x`` is ``x``, and a constant column its opposite."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return node.operand
        for truth in (False, True):
            if ast.dump(node) == ast.dump(self.empty(truth)):
                return self.empty(not truth)
        return e.unary("~", node)

    # ------------------------------------------------------------ values

    def value(self, x: m.Expr) -> Code:
        if isinstance(x, m.Literal_):
            return self._literal(x)
        if isinstance(x, m.Ref):
            return self._ref(x)
        if isinstance(x, m.Call):
            return self._call(x)
        if isinstance(x, m.Unary):
            return self._unary(x)
        if isinstance(x, m.Binary):
            return self._binary(x)
        if isinstance(x, m.Compare):
            return self._compare(x)
        if isinstance(x, m.In):
            return self._in(x)
        if isinstance(x, m.BoolOp):
            return self._boolop(x)
        if isinstance(x, m.Test):
            return self._test(x)
        if isinstance(x, m.Conditional):
            return self._conditional(x)
        if isinstance(x, m.Missing_):
            return Code(e.dotted("np.nan"), "num", True)
        raise Unsupported("its expression has a part analysis.py cannot compute")

    def substantive(self, x: m.Expr) -> Code:
        """The values with the missing codes of what ``x`` reads turned into no value."""
        v = self.value(x)
        missing = missing_kinds(x, self.variables, self.recodes_of)
        if v.kind == "num" and missing:
            return Code(e.call("without", v.node, e.value(list(missing))), "num", v.const)
        return v

    def _literal(self, x: m.Literal_) -> Code:
        if isinstance(x.value, bool):
            return Code(e.value(x.value), "bool", True)
        if isinstance(x.value, str):
            return Code(e.value(x.value), "text", True)
        return Code(e.value(x.value), "num", True)

    def _ref(self, x: m.Ref) -> Code:
        var = self.variables.get(x.name)
        if var is None:
            raise Unsupported(f"`{checked(x.name)}` is not a variable")
        kind = self._ref_kind(var)
        col = self.column(var.name)
        reader = {"num": "as_float", "text": "texts", "bool": "truths"}
        node = e.call(reader[kind], col) if kind in reader else col
        return Code(self.local(var.name, node), kind)

    def condition(self, x: m.Expr) -> Code:
        """A condition as truth values; ``missing`` is UNKNOWN."""
        if isinstance(x, m.Missing_):
            return Code(e.dotted("np.nan"), "bool", True)
        return self._want(self.value(x), "bool", "a condition")

    def _like(self, x: m.Expr, kind: ValueKind) -> Code:
        """A branch of a conditional; ``missing`` takes the other branch's kind."""
        if not isinstance(x, m.Missing_):
            return self.value(x)
        if kind == "set":
            raise Unsupported("a multiple choice or `missing` cannot be chosen by `if`")
        return Code(e.value(None) if kind == "text" else e.dotted("np.nan"), kind, True)

    def _conditional(self, x: m.Conditional) -> Code:
        c = self.condition(x.condition)
        if isinstance(x.then, m.Missing_):
            b = self.value(x.otherwise)
            a = self._like(x.then, b.kind)
        else:
            a = self.value(x.then)
            b = self._like(x.otherwise, a.kind)
        if a.kind != b.kind or a.kind == "set":
            raise Unsupported("the branches of `if` give values of different kinds")
        return Code(e.call("choose", c.node, a.node, b.node), a.kind)

    def _aggregate_call(self, x: m.Call) -> Code:
        if not x.args:
            raise Unsupported(f"`{x.func}` has nothing to aggregate")
        if x.func in ("count", "any", "all"):
            nodes = [self.condition(a).node for a in x.args]
            func = {"count": "tally", "any": "either_or", "all": "both_and"}[x.func]
            return Code(e.call(func, *nodes), "num" if x.func == "count" else "bool")
        nodes = [
            e.dotted("np.nan") if isinstance(a, m.Missing_)
            else self._want(self.substantive(a), "num", f"`{x.func}`").node
            for a in x.args
        ]
        return Code(e.call({"sum": "total", "min": "least", "max": "most"}[x.func], *nodes), "num")

    def _call(self, x: m.Call) -> Code:
        if x.func in m.AGGREGATES and x.func not in self.recodes_of:
            return self._aggregate_call(x)
        r = self.recodes_of.get(x.func)
        if r is None or len(x.args) != 1 or not isinstance(x.args[0], m.Ref):
            raise Unsupported(f"`{checked(x.func)}(...)` is not a recode applied to a variable")
        arg = x.args[0]
        source = self.variables.get(arg.name)
        if source is None or self._ref_kind(source) != "num":
            raise Unsupported(
                f"`{checked(r.name)}` is applied to `{checked(arg.name)}`, which holds no codes or numbers"
            )
        args = [self.column(arg.name)]
        if has_ranges(r):
            if r.source_is_scale:
                args.append(missing_list(checked(arg.name)))
            else:
                own = self.variables.get(r.source)
                if own is None or own.missing_codes != source.missing_codes:
                    raise Unsupported(
                        f"the recode `{checked(r.name)}` of `{checked(r.source)}` is applied to "
                        f"`{checked(arg.name)}`, whose missing codes differ; declare it `from scale`"
                    )
        if r.name not in self.recodes:
            self.recodes.append(r.name)
        applied = e.call("as_float", e.call(self.function("recode_" + r.name), *args))
        return Code(self.local(applied_name(r.name, arg.name), applied), "num")

    def _unary(self, x: m.Unary) -> Code:
        if x.op == "not":
            if x.holds:
                raise Unsupported("routing's `does not hold` is not an expression of the spec")
            v = self.condition(x.operand)
            # 1 - t: true and false swap, NaN (UNKNOWN) stays UNKNOWN
            return Code(e.binary(e.value(1.0), "-", v.node), "bool", v.const)
        v = self._want(self.substantive(x.operand), "num", "`-`")
        return Code(e.unary("-", v.node), "num", v.const)

    def _binary(self, x: m.Binary) -> Code:
        a, b = self.substantive(x.left), self.substantive(x.right)
        const = a.const and b.const
        if x.op == "+" and a.kind == "text" and b.kind == "text":
            return Code(e.call("join", a.node, b.node), "text")
        a, b = self._want(a, "num", f"`{x.op}`"), self._want(b, "num", f"`{x.op}`")
        if x.op == "/":
            return Code(e.call("quotient", a.node, b.node), "num", const)
        return Code(e.binary(a.node, x.op, b.node), "num", const)

    def _compare(self, x: m.Compare) -> Code:
        if x.op in ("==", "!="):
            # UNKNOWN unless both have a value (three-valued logic)
            a, b = self.value(x.left), self.value(x.right)
            const = a.const and b.const
            same = x.op == "=="
            hit: ast.expr
            if a.kind == "num" and b.kind == "num":
                hit = e.compare(a.node, "==" if same else "!=", b.node)
                return Code(e.call("truth", hit, e.call("known", a.node, b.node)), "bool", const)
            if a.kind == "text" and b.kind == "text":
                answered = e.binary(e.call("has_text", a.node), "&", e.call("has_text", b.node))
                hit = e.call("same_text" if same else "other_text", a.node, b.node)
                return Code(e.call("truth", hit, answered), "bool")
            if a.kind == "set" and b.kind == "set":
                both = e.binary(e.call("chose", a.node), "&", e.call("chose", b.node))
                return Code(e.call("truth", e.value(not same), both), "bool")
            if "set" in (a.kind, b.kind) and "num" in (a.kind, b.kind):
                s, n = (a, b) if a.kind == "set" else (b, a)
                answered = e.binary(e.call("chose", s.node), "&", e.call("known", n.node))
                hit = e.call("holds", s.node, n.node)
                return Code(e.call("truth", hit if same else e.unary("~", hit), answered), "bool")
            raise Unsupported(f"`{x.op}` compares values of different kinds")
        a = self._want(self.substantive(x.left), "num", f"`{x.op}`")
        b = self._want(self.substantive(x.right), "num", f"`{x.op}`")
        order = e.compare(a.node, x.op, b.node)
        return Code(e.call("truth", order, e.call("known", a.node, b.node)), "bool", a.const and b.const)

    def _in(self, x: m.In) -> Code:
        hit: ast.expr
        raw = self.value(x.operand)
        if raw.kind == "text":
            texts = [v.text for v in x.values if v.kind == "string"]
            hit = e.call("among", raw.node, e.value(texts))
            return Code(e.call("truth", e.unary("~", hit) if x.negated else hit, e.call("has_text", raw.node)), "bool")
        if raw.kind == "set":
            var = self.variables[x.operand.name] if isinstance(x.operand, m.Ref) else None
            miss = var.missing_codes if var is not None else frozenset()
            codes = [v.low for v in x.values if v.kind == "single"]
            for v in x.values:
                if v.kind in (*_RANGES, "else"):
                    codes += [c for c in (var.codes if var else ()) if c not in miss and v.contains(c) and c not in codes]
            hit = e.call("chosen", raw.node, e.value(codes))
            return Code(e.call("truth", e.unary("~", hit) if x.negated else hit, e.call("chose", raw.node)), "bool")
        raw = self._want(raw, "num", "`in`")
        sub = self.substantive(x.operand)
        parts: list[ast.expr] = []
        singles = [v.low for v in x.values if v.kind == "single"]
        if len(singles) == 1:
            parts.append(e.compare(raw.node, "==", e.value(singles[0])))
        elif singles:
            parts.append(e.call("np.isin", raw.node, e.value(singles)))
        for v in x.values:
            if v.kind in _RANGES:
                bounds = []
                if v.low is not None:
                    bounds.append(e.compare(sub.node, ">=", e.value(v.low)))
                if v.high is not None:
                    bounds.append(e.compare(sub.node, "<=", e.value(v.high)))
                parts.append(e.chain("&", bounds))
            elif v.kind == "else":
                parts.append(e.unary("~", e.call("np.isnan", sub.node)))
        hit = e.chain("|", parts) if parts else self.empty(False)
        answered: ast.expr = e.call("known", raw.node)
        if any(v.kind in (*_RANGES, "else") for v in x.values):
            # a range cannot order a missing code: UNKNOWN unless another item matches
            answered = e.binary(answered, "&", e.binary(e.call("known", sub.node), "|", hit))
        if x.negated:
            hit = e.call("np.logical_not", hit)
        return Code(e.call("truth", hit, answered), "bool", raw.const)

    def _boolop(self, x: m.BoolOp) -> Code:
        parts = [self.condition(op) for op in x.operands]
        node = e.call("both_and" if x.op == "and" else "either_or", *[p.node for p in parts])
        return Code(node, "bool", all(p.const for p in parts))

    def _test(self, x: m.Test) -> Code:
        raw = self.value(x.operand)
        kinds = missing_kinds(x.operand, self.variables, self.recodes_of)
        codes = [c for c, kind in kinds.items() if kind == x.test]
        node: ast.expr
        if raw.kind == "num":
            if x.test == "answered":
                node = e.unary("~", e.call("np.isnan", raw.node))
            elif x.test == "missing":
                node = e.call("np.isnan", self.substantive(x.operand).node)
            else:
                node = e.call("np.isin", raw.node, e.value(codes)) if codes else self.empty(False)
        elif raw.kind == "set":
            if x.test == "answered":
                node = e.call("chose", raw.node)
            elif x.test == "missing":
                node = e.unary("~", e.call("chose", raw.node, e.value(list(kinds))))
            else:
                node = e.call("chosen", raw.node, e.value(codes))
        elif raw.kind == "text":
            if x.test == "answered":
                node = e.call("has_text", raw.node)
            elif x.test == "missing":
                node = e.unary("~", e.call("has_text", raw.node))
            else:
                node = self.empty(False)
        elif raw.const:  # `true`, `false`
            node = self.empty(x.test == "answered")
        elif x.test in ("answered", "missing"):  # a derived condition: UNKNOWN is no value
            node = e.call("np.isnan", raw.node)
            if x.test == "answered":
                node = e.unary("~", node)
        else:  # a condition has no missing codes
            node = self.empty(False)
        if x.negated:
            node = self.negate(node)
        return Code(node, "bool")

    def _want(self, v: Code, kind: ValueKind, what: str) -> Code:
        if v.kind != kind:
            names = {"num": "numbers", "bool": "conditions", "text": "texts", "set": "codes"}
            raise Unsupported(f"{what} needs {names[kind]}, but is given {names[v.kind]}")
        return v
