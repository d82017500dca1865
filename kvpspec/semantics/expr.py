"""The expression language: its types and its one interpreter.

Values: a variable that was not asked (or left empty) has no value, ``None``.
A coded question holds an ``int`` code, a multiple-choice question a
``frozenset`` of codes, a numeric question a number, a text question a string.

Meaning, defined once here and rendered elsewhere:

* a comparison, ``in`` or ``not in`` on an operand with no value is false;
* ``==``, ``!=`` and single values in ``in [...]`` compare codes, so a missing
  code can be tested (``q3 == 99``); on a multiple-choice question they ask
  whether the code is among those chosen;
* ordering (``<``, ``>=``, ranges ``a..b``) and arithmetic use substantive
  values only: a missing code behaves as no value;
* ``x is answered``: x has a value, missing codes included; ``x is missing``:
  x has no value or holds a missing code; ``x is dont_know`` (``refused``,
  ``not_applicable``): x holds a missing code of that kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean, number_text
from kvpspec.semantics.variables import (
    RecodeTable,
    Variable,
    computation_order,
    missing_kinds,
    recode_table,
    recode_variable,
)

TESTS = ("answered", "missing", "dont_know", "refused", "not_applicable")


# ---------------------------------------------------------------- types


TypeKind = Literal["code", "number", "text", "bool", "error"]


@dataclass(frozen=True)
class Type:
    """``code`` (with its variable), ``number``, ``text``, ``bool``, or ``error``."""

    kind: TypeKind
    var: Variable | None = None

    def describe(self) -> str:
        if self.kind == "code" and self.var is not None:
            return f"the coded question `{self.var.name}`"
        return {"number": "a number", "text": "text", "bool": "a condition", "code": "a code"}.get(
            self.kind, self.kind
        )


ERROR = Type("error")
NUMBER = Type("number")
TEXT = Type("text")
BOOL = Type("bool")


def _numeric(t: Type) -> bool:
    return t.kind in ("number", "code", "error")


Report = Callable[[str, str, m.Node], None]
Resolver = Callable[[m.Ref], "Variable | None"]


class TypeChecker:
    """Infers the type of an expression and reports type errors.

    ``resolve`` turns a reference into a variable (reporting unknown or
    not-yet-asked names itself); ``functions`` maps a call name to a checker.
    """

    def __init__(self, report: Report, resolve: Resolver, recodes: Mapping[str, m.Recode] | None = None,
                 functions: Mapping[str, Callable[[m.Call, TypeChecker], Type]] | None = None):
        self.report = report
        self.resolve = resolve
        self.recodes = recodes or {}
        self.functions = functions or {}

    def condition(self, e: m.Expr) -> None:
        t = self.infer(e)
        if t.kind not in ("bool", "error"):
            self.report("type", f"this is {t.describe()}, not a condition; compare it, e.g. `{_show(e)} == 1`", e)

    def infer(self, e: m.Expr) -> Type:
        method = getattr(self, "_" + type(e).__name__.rstrip("_").lower())
        return method(e)

    def _literal(self, e: m.Literal_) -> Type:
        v = e.value
        if isinstance(v, bool):
            return BOOL
        if isinstance(v, str):
            return TEXT
        return NUMBER

    def _ref(self, e: m.Ref) -> Type:
        var = self.resolve(e)
        return _var_type(var)

    def _call(self, e: m.Call) -> Type:
        if e.func in self.functions:
            return self.functions[e.func](e, self)
        if e.func in self.recodes:
            r = self.recodes[e.func]
            if len(e.args) != 1 or not isinstance(e.args[0], m.Ref):
                self.report("type", f"the recode `{e.func}` takes one variable: `{e.func}(VARIABLE)`", e)
                return ERROR
            self.infer(e.args[0])
            return Type("code", recode_variable(r, f"{e.func}({e.args[0].name})", e.args[0].name, e))
        names = list(self.functions) + list(self.recodes)
        self.report("unknown-function", f"unknown function `{e.func}`{did_you_mean(e.func, names)}", e)
        return ERROR

    def _unary(self, e: m.Unary) -> Type:
        t = self.infer(e.operand)
        if e.op == "not":
            if t.kind not in ("bool", "error"):
                self.report("type", f"`not` needs a condition, but this is {t.describe()}", e.operand)
            return BOOL
        if not _numeric(t):
            self.report("type", f"`-` needs a number, but this is {t.describe()}", e.operand)
            return ERROR
        return NUMBER

    def _binary(self, e: m.Binary) -> Type:
        lt, rt = self.infer(e.left), self.infer(e.right)
        if "error" in (lt.kind, rt.kind):
            return ERROR
        if e.op == "+" and lt.kind == "text" and rt.kind == "text":
            return TEXT
        for t, side in ((lt, e.left), (rt, e.right)):
            if not _numeric(t) or (t.kind == "code" and t.var and t.var.type == "multiple"):
                self.report("type", f"`{e.op}` needs numbers, but this is {t.describe()}", side)
                return ERROR
        return NUMBER

    def _compare(self, e: m.Compare) -> Type:
        lt, rt = self.infer(e.left), self.infer(e.right)
        if "error" in (lt.kind, rt.kind):
            return BOOL
        if lt.kind == "bool" or rt.kind == "bool":
            self.report("type", "conditions cannot be compared with `" + e.op + "`; use `and`, `or`, `not`", e)
            return BOOL
        if (lt.kind == "text") != (rt.kind == "text"):
            other = rt if lt.kind == "text" else lt
            self.report("type", f"cannot compare text with {other.describe()}", e)
            return BOOL
        if e.op not in ("==", "!=") and lt.kind == "text":
            self.report("type", f"text cannot be ordered with `{e.op}`", e)
            return BOOL
        if e.op not in ("==", "!="):
            for t in (lt, rt):
                if t.var is not None and t.var.type == "multiple":
                    self.report(
                        "type",
                        f"`{t.var.name}` is multiple choice and cannot be ordered with `{e.op}`; "
                        f"test codes with `==` or `in`",
                        e,
                    )
                    return BOOL
        for t, side in ((lt, e.right), (rt, e.left)):
            if t.var is not None and isinstance(side, m.Literal_):
                self._check_code(t.var, side.value, side, ordering=e.op not in ("==", "!="))
        return BOOL

    def _check_code(self, var: Variable | None, value: Any, node: m.Node, ordering: bool = False) -> None:
        if var is None or isinstance(value, (str, bool)):
            return
        if var.type in ("single", "multiple", "derived") and var.values:
            if not ordering and value not in var.codes:
                codes = ", ".join(str(c) for c in var.codes)
                self.report(
                    "code-not-in-scale",
                    f"`{var.name}` has no code {number_text(value)} (its codes: {codes})",
                    node,
                )
        elif var.type in ("integer", "decimal") and not ordering:
            inside = (var.min is None or value >= var.min) and (var.max is None or value <= var.max)
            if not inside and value not in var.missing_codes:
                self.report(
                    "code-not-in-scale",
                    f"`{var.name}` cannot be {number_text(value)}: its range is {number_text(var.min)}..{number_text(var.max)}"
                    + (f" and its missing codes {', '.join(map(str, sorted(var.missing_codes)))}" if var.missing else ""),
                    node,
                )

    def _in(self, e: m.In) -> Type:
        t = self.infer(e.operand)
        if t.kind == "error":
            return BOOL
        for v in e.values:
            if v.kind == "string":
                if t.kind != "text":
                    self.report("type", f"cannot compare {t.describe()} with text", v)
            elif t.kind == "text":
                self.report("type", "cannot compare text with a number", v)
            elif t.kind == "bool":
                self.report("type", "a condition cannot be tested with `in`", e)
                break
            elif v.kind == "single" and t.var is not None:
                self._check_code(t.var, v.low, v)
            elif v.kind == "range" and t.kind == "code" and t.var is not None:
                var = t.var
                coded = var.type in ("single", "multiple", "derived") and bool(var.values)
                if coded and not any(v.contains(c) for c in var.substantive_codes):
                    skipped = [c for c in var.missing_codes if v.contains(c)]
                    note = (
                        f" (ranges skip missing codes such as {number_text(min(skipped))}; test it with `==`)"
                        if skipped else ""
                    )
                    self.report(
                        "code-not-in-scale",
                        f"`{var.name}` has no substantive code in {number_text(v.low)}..{number_text(v.high)}{note}",
                        v,
                    )
        return BOOL

    def _boolop(self, e: m.BoolOp) -> Type:
        for op in e.operands:
            t = self.infer(op)
            if t.kind not in ("bool", "error"):
                self.report("type", f"`{e.op}` joins conditions, but this is {t.describe()}", op)
        return BOOL

    def _test(self, e: m.Test) -> Type:
        if e.test not in TESTS:
                self.report(
                "unknown-test",
                f"`is {e.test}` is not a test{did_you_mean(e.test, TESTS)} (tests: {', '.join(TESTS)})",
                e,
            )
        if not isinstance(e.operand, (m.Ref, m.Call)):
            self.report("type", f"`is {e.test}` tests a variable, not an expression", e.operand)
            return BOOL
        t = self.infer(e.operand)
        if e.test in ("dont_know", "refused", "not_applicable") and t.var is not None:
            kinds = {k for _, k in t.var.missing}
            if e.test not in kinds and t.var.role != "derive":
                self.report(
                    "code-not-in-scale",
                    f"`{t.var.name}` has no `{e.test}` code, so this test is never true",
                    e,
                )
        return BOOL


def _var_type(var: Variable | None) -> Type:
    if var is None:
        return ERROR
    if var.value_kind == "bool":
        return BOOL  # a derived condition: `derive ung = q11 < 25`
    if var.value_kind == "number":
        return Type("number", var)
    if var.value_kind == "text":
        return TEXT
    return Type("code", var)


def _show(e: m.Expr) -> str:
    """An expression as the author would write it, for messages."""
    # Imported here, not at the top: only a message needs the formatter, and
    # `kvpspec check` on a clean spec never loads it (start-up time).
    from kvpspec.syntax.formatter import format_expr

    return format_expr(e)


# ---------------------------------------------------------------- the interpreter


class Evaluator:
    """Evaluates expressions over one record: ``{name: value}``.

    >>> from kvpspec.syntax.parser import parse_text
    >>> from kvpspec.semantics.lower import lower
    >>> spec = parse_text('survey s "S" interview { question q3 integer "År" { range 0..60 99 "Vet ikke" missing dont_know } }').spec
    >>> ev = Evaluator(lower(spec).variables)
    >>> from kvpspec.syntax.parser import parse_expr
    >>> ev.truth(parse_expr("q3 > 10"), {"q3": 99}), ev.truth(parse_expr("q3 == 99"), {"q3": 99})
    (False, True)
    >>> ev.truth(parse_expr("q3 is missing"), {}), ev.truth(parse_expr("q3 is answered"), {"q3": 99})
    (True, True)
    """

    def __init__(self, variables: Mapping[str, Variable], recodes: Mapping[str, m.Recode] | None = None,
                 derives: tuple[m.Derive, ...] = ()):
        self.variables = variables
        self.recodes = dict(recodes or {})
        self._derives = {d.name: d for d in derives}
        self._tables: dict[tuple[str, str | None], RecodeTable] = {}
        spec = m.Spec.build(
            name="", title=None, recodes=tuple(self.recodes.values()), derives=tuple(derives)
        )
        self._order, _ = computation_order(spec)

    def table(self, recode: str, source: str | None) -> RecodeTable:
        """The lookup table of a recode applied to ``source`` (its missing codes matter)."""
        key = (recode, source)
        if key not in self._tables:
            var = self.variables.get(source or "")
            missing = var.missing_codes if var is not None else frozenset()
            self._tables[key] = recode_table(self.recodes[recode], missing)
        return self._tables[key]

    def complete(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record with its recodes and derived variables computed."""
        out = dict(record)
        for name, var in self.variables.items():
            if var.role == "recode" and var.recode in self.recodes and name != var.recode:
                # a scale recode applied in an analysis, ``enig2(q10a)`` as ``q10a_enig2``
                out[name] = self.table(var.recode, var.source).lookup(
                    self._raw(m.Ref.build(name=var.source), out)
                )
        for name in self._order:
            r = self.recodes.get(name)
            if r is not None and not r.source_is_scale:
                out[name] = self.table(name, r.source).lookup(self._raw(m.Ref.build(name=r.source), out))
            elif name in self._derives:
                out[name] = self.value(self._derives[name].expr, out)
        return out

    def truth(self, e: m.Expr | None, record: Mapping[str, Any]) -> bool:
        if e is None:
            return True
        return bool(self.value(e, record))

    def value(self, e: m.Expr, record: Mapping[str, Any]) -> Any:
        return getattr(self, "_" + type(e).__name__.rstrip("_").lower())(e, record)

    def _raw(self, e: m.Expr, record: Mapping[str, Any]) -> Any:
        v = self.value(e, record)
        if isinstance(e, m.Ref) and (v == "" or v == frozenset()):
            return None  # an empty text or an empty choice is no answer
        return v

    def substantive(self, e: m.Expr, record: Mapping[str, Any]) -> Any:
        """The value with missing codes turned into no value."""
        v = self._raw(e, record)
        if v is None:
            return None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v in self.missing_kinds(e):
            return None
        return v

    def missing_kinds(self, e: m.Expr) -> dict[int, str]:
        """The missing codes of what an expression reads (``lower.missing_kinds``)."""
        return missing_kinds(e, self.variables, self.recodes)

    def _literal(self, e: m.Literal_, record):
        return e.value

    def _ref(self, e: m.Ref, record):
        v = record.get(e.name)
        if isinstance(v, float) and v != v:  # NaN from a data frame
            return None
        return v

    def _call(self, e: m.Call, record):
        if e.func in self.recodes and len(e.args) == 1:
            arg = e.args[0]
            source = arg.name if isinstance(arg, m.Ref) else None
            return self.table(e.func, source).lookup(self._raw(arg, record))
        raise ValueError(f"cannot evaluate the call `{e.func}` here")

    def _unary(self, e: m.Unary, record):
        if e.op == "not":
            return not self.value(e.operand, record)
        v = self.substantive(e.operand, record)
        return None if v is None else -v

    def _binary(self, e: m.Binary, record):
        a, b = self.substantive(e.left, record), self.substantive(e.right, record)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if b == 0:
            return None
        return a / b

    def _compare(self, e: m.Compare, record):
        if e.op in ("==", "!="):
            a, b = self._raw(e.left, record), self._raw(e.right, record)
            if a is None or b is None:
                return False
            if isinstance(a, frozenset):
                return (b in a) == (e.op == "==")
            if isinstance(b, frozenset):
                return (a in b) == (e.op == "==")
            return (a == b) == (e.op == "==")
        a, b = self.substantive(e.left, record), self.substantive(e.right, record)
        if a is None or b is None or isinstance(a, frozenset) or isinstance(b, frozenset):
            return False
        if e.op == "<":
            return a < b
        if e.op == "<=":
            return a <= b
        if e.op == ">":
            return a > b
        return a >= b

    def _in(self, e: m.In, record):
        raw = self._raw(e.operand, record)
        if raw is None:
            return False
        sub = self.substantive(e.operand, record)
        chosen = raw if isinstance(raw, frozenset) else (raw,)
        hit = False
        for v in e.values:
            for x in chosen:
                if v.kind == "string":
                    hit = x == v.text
                elif v.kind == "single":
                    hit = x == v.low
                else:
                    s = x if isinstance(raw, frozenset) else sub
                    if isinstance(raw, frozenset) and isinstance(e.operand, m.Ref):
                        var = self.variables.get(e.operand.name)
                        if var and x in var.missing_codes:
                            s = None
                    hit = s is not None and not isinstance(s, str) and v.contains(s)
                if hit:
                    break
            if hit:
                break
        return hit != e.negated

    def _boolop(self, e: m.BoolOp, record):
        if e.op == "and":
            return all(self.value(op, record) for op in e.operands)
        return any(self.value(op, record) for op in e.operands)

    def _test(self, e: m.Test, record):
        raw = self._raw(e.operand, record)
        if e.test == "answered":
            result = raw is not None and raw != frozenset()
        elif isinstance(raw, frozenset):
            # multiple choice: missing when nothing substantive is chosen
            kinds = self.missing_kinds(e.operand)
            if e.test == "missing":
                result = not (raw - kinds.keys())
            else:
                result = any(kinds.get(c) == e.test for c in raw)
        elif e.test == "missing":
            result = raw is None or self.substantive(e.operand, record) is None
        else:
            result = raw is not None and self.missing_kinds(e.operand).get(raw) == e.test
        return result != e.negated
