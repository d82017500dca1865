"""The expression language: its types and its one interpreter.

Values: a variable that was not asked (or left empty) has no value, ``None``.
A coded question holds an ``int`` code, a multiple-choice question a
``frozenset`` of codes, a numeric question a number, a text question a string.

Meaning, defined once here and rendered elsewhere (``data/vector.py``, the JSON
Schema, the generated analysis code):

* conditions are three-valued: true, false or UNKNOWN (``None``). A comparison,
  ``in`` or ``not in`` on an operand with no value is UNKNOWN, as is an ordering
  on a missing code; ``not UNKNOWN`` is UNKNOWN; ``and``/``or`` are Kleene's
  (false and x = false, true or x = true, otherwise UNKNOWN if any is);
* ``x in [items]`` is the ``or`` of its items: a single value tests the code
  (definite when x has a value), a range orders (UNKNOWN on a missing code);
  on a multiple-choice question it asks whether a chosen code matches;
* ``if C then A else B``: A when C is true, B when false, missing when UNKNOWN;
  ``missing`` is the value literal with no value;
* aggregates over a list (``AGG(e, ...)``; ``AGG(e over R)`` is lowered to it):
  ``count`` the operands that are true (a number, never missing); ``sum`` of
  the substantive values (0 when none); ``min``/``max`` of them (missing when
  none); ``any``/``all`` are Kleene ``or``/``and``;
* a guard, ``warn`` or ``expect`` holds only when its condition is TRUE;
  routing's "does not hold" (``Unary.holds``: an ``else`` block, a goto's skip)
  is true when the condition is false or UNKNOWN;
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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean, number_text
from kvpspec.semantics.variables import (
    RecodeTable,
    ValueKind,
    Variable,
    computation_order,
    missing_kinds,
    recode_table,
    recode_variable,
)

TESTS = ("answered", "missing", "dont_know", "refused", "not_applicable")
AGGREGATES = m.AGGREGATES


# ---------------------------------------------------------------- types


TypeKind = Literal["code", "number", "text", "bool", "missing", "error"]


@dataclass(frozen=True)
class Type:
    """``code`` (with its variable), ``number``, ``text``, ``bool``, ``missing``
    (the literal, which fits any kind), or ``error``."""

    kind: TypeKind
    var: Variable | None = None

    def value_kind(self) -> ValueKind:
        """The kind of value a derived variable of this type holds (``missing`` or an error: a number)."""
        if self.kind == "code" or self.kind == "text" or self.kind == "bool":
            return self.kind
        return "number"

    def describe(self) -> str:
        if self.kind == "code" and self.var is not None:
            return f"the coded question `{self.var.name}`"
        return {"number": "a number", "text": "text", "bool": "a condition", "code": "a code",
                "missing": "`missing`"}.get(
            self.kind, self.kind
        )


ERROR = Type("error")
NUMBER = Type("number")
TEXT = Type("text")
BOOL = Type("bool")
MISSING = Type("missing")


def _numeric(t: Type) -> bool:
    return t.kind in ("number", "code", "missing", "error")


def _is_condition(t: Type) -> bool:
    return t.kind in ("bool", "missing", "error")


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
        if not _is_condition(t):
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
        if e.func in AGGREGATES:
            return self._aggregate_type(e.func, [(self.infer(a), a) for a in e.args], e)
        names = list(self.functions) + list(self.recodes) + list(AGGREGATES)
        self.report("unknown-function", f"unknown function `{e.func}`{did_you_mean(e.func, names)}", e)
        return ERROR

    def _aggregate(self, e: m.Aggregate) -> Type:
        if e.func not in AGGREGATES:
            self.report(
                "unknown-function",
                f"`{e.func}(... over {e.roster})` is not an aggregate{did_you_mean(e.func, AGGREGATES)} "
                f"(aggregates: {', '.join(AGGREGATES)})",
                e,
            )
            self.infer(e.operand)
            return ERROR
        return self._aggregate_type(e.func, [(self.infer(e.operand), e.operand)], e)

    def _aggregate_type(self, func: str, args: list[tuple[Type, m.Expr]], e: m.Node) -> Type:
        """``count``/``any``/``all`` take conditions; ``sum``/``min``/``max`` numbers or codes."""
        if not args:
            self.report("no-operand", f"`{func}` needs at least one operand, e.g. `{func}(a, b)` or "
                        f"`{func}(x over ROSTER)`", e)
            return ERROR
        conditions = func in ("count", "any", "all")
        for t, a in args:
            if conditions and not _is_condition(t):
                self.report("type", f"`{func}` takes conditions, but this is {t.describe()}; "
                            f"compare it, e.g. `{_show(a)} == 1`", a)
            elif not conditions and (
                not _numeric(t) or (t.kind == "code" and t.var is not None and t.var.type == "multiple")
            ):
                self.report("type", f"`{func}` takes numbers, but this is {t.describe()}", a)
        if func == "count" or func == "sum":
            return NUMBER
        if conditions:
            return BOOL
        kinds = {t.kind for t, _ in args} - {"missing"}
        # min/max of one variable keep its codes (labels, missing codes); of several, a number
        if len(args) == 1 and kinds <= {"code", "number"}:
            return args[0][0]
        return NUMBER

    def _conditional(self, e: m.Conditional) -> Type:
        self.condition(e.condition)
        a, b = self.infer(e.then), self.infer(e.otherwise)
        if "error" in (a.kind, b.kind):
            return ERROR
        if a.kind == "missing":
            return b
        if b.kind == "missing" or a == b:
            return a
        if _numeric(a) and _numeric(b) and "multiple" not in {t.var.type for t in (a, b) if t.var}:
            return NUMBER
        if a.kind != b.kind:
            self.report(
                "type",
                f"the branches of `if` give {a.describe()} and {b.describe()}; both must be the same kind "
                f"of value (or `missing`)",
                e,
            )
            return ERROR
        return Type(a.kind)

    def _missing(self, e: m.Missing_) -> Type:
        return MISSING

    def _unary(self, e: m.Unary) -> Type:
        t = self.infer(e.operand)
        if e.op == "not":
            if not _is_condition(t):
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
        if e.op == "+" and "text" in (lt.kind, rt.kind) and "missing" in (lt.kind, rt.kind):
            return TEXT
        if e.op == "+" and lt.kind == "text" and rt.kind == "text":
            return TEXT
        for t, side in ((lt, e.left), (rt, e.right)):
            if not _numeric(t) or (t.kind == "code" and t.var and t.var.type == "multiple"):
                self.report("type", f"`{e.op}` needs numbers, but this is {t.describe()}", side)
                return ERROR
        return NUMBER

    def _compare(self, e: m.Compare) -> Type:
        lt, rt = self.infer(e.left), self.infer(e.right)
        if "error" in (lt.kind, rt.kind) or "missing" in (lt.kind, rt.kind):
            return BOOL  # comparing with `missing` is always UNKNOWN; allowed, as `x == missing` reads
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
        if t.kind in ("error", "missing"):
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
            if not _is_condition(t):
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
        """Does the condition hold: only when it is true (UNKNOWN does not hold)."""
        if e is None:
            return True
        return _holds(self.value(e, record))

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

    def _missing(self, e: m.Missing_, record):
        return None

    def _conditional(self, e: m.Conditional, record):
        c = self.value(e.condition, record)
        if c is None:
            return None
        return self.value(e.then if c else e.otherwise, record)

    def _aggregate(self, e: m.Aggregate, record):
        raise ValueError(f"`{e.func}(... over {e.roster})` is evaluated after lowering unrolls the roster")

    def aggregate(self, func: str, args: tuple[m.Expr, ...], record: Mapping[str, Any]) -> Any:
        """``count``, ``sum``, ``min``, ``max``, ``any``, ``all`` over a list of operands."""
        if func == "count":
            return sum(1 for a in args if _holds(self.value(a, record)))
        if func == "any":
            return kleene_or(self.value(a, record) for a in args)
        if func == "all":
            return kleene_and(self.value(a, record) for a in args)
        values = [v for a in args if (v := self.substantive(a, record)) is not None]
        if func == "sum":
            return sum(values)
        if not values:
            return None
        return min(values) if func == "min" else max(values)

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
        if e.func in AGGREGATES:
            return self.aggregate(e.func, e.args, record)
        raise ValueError(f"cannot evaluate the call `{e.func}` here")

    def _unary(self, e: m.Unary, record):
        if e.op == "not":
            if e.holds:
                return not self.truth(e.operand, record)
            c = self.value(e.operand, record)
            return None if c is None else not c
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
                return None
            if isinstance(a, frozenset):
                return (b in a) == (e.op == "==")
            if isinstance(b, frozenset):
                return (a in b) == (e.op == "==")
            return (a == b) == (e.op == "==")
        a, b = self.substantive(e.left, record), self.substantive(e.right, record)
        if a is None or b is None:
            return None
        if isinstance(a, frozenset) or isinstance(b, frozenset):
            return False  # a type error that `check` reports
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
            return None
        sub = self.substantive(e.operand, record)
        chosen = raw if isinstance(raw, frozenset) else (raw,)
        hit = False
        # a range cannot order a missing code: unless another item matches, UNKNOWN
        unknown = (
            not isinstance(raw, frozenset) and sub is None
            and any(v.kind in ("range", "upto", "from", "else") for v in e.values)
        )
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
        if not hit and unknown:
            return None
        return hit != e.negated

    def _boolop(self, e: m.BoolOp, record):
        values = (self.value(op, record) for op in e.operands)
        return kleene_and(values) if e.op == "and" else kleene_or(values)

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


# ---------------------------------------------------------------- three-valued logic


def _holds(v: Any) -> bool:
    """A condition holds only when it is true; UNKNOWN (``None``) does not."""
    return v is not None and bool(v)


def kleene_and(values: Iterable[Any]) -> bool | None:
    """False if any is false, else UNKNOWN if any is UNKNOWN, else true (an empty list: true)."""
    unknown = False
    for v in values:
        if v is None:
            unknown = True
        elif not v:
            return False
    return None if unknown else True


def kleene_or(values: Iterable[Any]) -> bool | None:
    """True if any is true, else UNKNOWN if any is UNKNOWN, else false (an empty list: false)."""
    unknown = False
    for v in values:
        if v is None:
            unknown = True
        elif v:
            return True
    return None if unknown else False
