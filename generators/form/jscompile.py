"""The model's expressions compiled to JavaScript for the interviewing form.

One method per node kind (``visit_Compare``, ``visit_In``, ...), in the style
of the other targets and of sqlglot's ``Generator``: each method returns a JS
expression that calls the hand-written runtime (``runtime.js``, bound to ``K``)
with the record ``r`` in scope. The runtime gives every operator the one
meaning of ``kvpspec.semantics.expr``; this module only decides, at compile
time, what the interpreter decides per node: which operand is read raw (codes,
``==``) and which substantive (ordering, arithmetic), the missing codes of each,
and the lookup tables of recodes. A node JS cannot express goes through
``unsupported``: it is reported, and the emitted code throws if it is reached;
nothing is dropped.

User text (names, labels, string literals) enters the output only through
``js_value``: JSON with every non-ASCII character and ``<`` escaped, so no
text can close a ``<script>`` element; nothing is evaluated at run time (no
``eval``, no ``Function``).

``compile_program`` writes a spec's whole program, a JS function of the
runtime: its expressions, ``complete`` (recodes and derived variables, as
``Evaluator.complete``) and the interview's ``steps`` with their guards
(``routing.steps``), which the runtime's ``walk`` follows by the rule of
``routing.Walk``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from generators.base import GeneratorError
from kvpspec import model as m
from kvpspec.semantics.lower import Lowered
from kvpspec.semantics.routing import steps as routing_steps
from kvpspec.semantics.variables import Variable, computation_order, missing_kinds, recode_table

RUNTIME = Path(__file__).with_name("runtime.js")
#: integers beyond this lose precision as JavaScript numbers
MAX_SAFE_INTEGER = 2**53 - 1


class JSCompileError(GeneratorError):
    """An expression that the form cannot compute."""


def runtime_js() -> str:
    """The hand-written runtime every compiled program calls."""
    return RUNTIME.read_text(encoding="utf-8")


def js_value(value: Any) -> str:
    """A value as a JSON literal that is also safe inside an HTML ``<script>``:
    ASCII only, ``<`` escaped; integers only within JavaScript's exact range."""
    _check(value)
    text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def _check(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise JSCompileError(f"the number {value} is too large for JavaScript to hold exactly", "form")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JSCompileError(f"the number {value} cannot be written in JavaScript", "form")
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check(v)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise JSCompileError(f"a key {k!r} is not text", "form")
            _check(v)
        return
    raise JSCompileError(f"a {type(value).__name__} cannot be written in JavaScript", "form")


def _item(v: m.ValueSpec) -> list[Any]:
    """A value item of ``in [...]`` or a recode rule as the runtime reads it."""
    return [v.kind, v.low, v.high, v.text]


class JSCompiler:
    """Compiles expressions over ``variables`` (and ``recodes``) to JS.

    ``unsupported(message)`` is called for every construct JS cannot express;
    by default it raises ``JSCompileError``. ``tables`` collects the recode
    tables the compiled code reads as ``T[key]``.
    """

    def __init__(
        self,
        variables: Mapping[str, Variable],
        recodes: Mapping[str, m.Recode] | None = None,
        unsupported: Callable[[str], None] | None = None,
    ) -> None:
        self.variables = variables
        self.recodes = dict(recodes or {})
        self._report = unsupported
        self.tables: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ entry points

    def expr(self, e: m.Expr) -> str:
        """The value of ``e`` (three-valued for a condition)."""
        method = getattr(self, f"visit_{type(e).__name__}", None)
        if method is None:
            return self.unsupported(f"a {type(e).__name__} expression has no JavaScript form")
        return method(e)

    def function(self, e: m.Expr | None) -> str:
        """``function (r) {...}`` giving the value of ``e`` on a record; ``null`` for no expression."""
        if e is None:
            return "null"
        return f"function (r) {{ return {self.expr(e)}; }}"

    def unsupported(self, message: str) -> str:
        """Report a construct JS cannot express; the code emitted in its place throws."""
        if self._report is None:
            raise JSCompileError(message, "form")
        self._report(message)
        return f"K.fail({js_value(message)})"

    # ------------------------------------------------------------ operands

    def raw(self, e: m.Expr) -> str:
        """The value as ``==`` reads it: of a variable, an empty text or choice is no answer."""
        value = self.expr(e)
        return f"K.raw({value})" if isinstance(e, m.Ref) else value

    def sub(self, e: m.Expr) -> str:
        """The substantive value: missing codes of what ``e`` reads become no value."""
        codes = self._kinds(e)
        if not codes:
            return self.raw(e)
        return f"K.sub({self.raw(e)}, {js_value(sorted(codes))})"

    def _kinds(self, e: m.Expr) -> dict[int, str]:
        return missing_kinds(e, self.variables, self.recodes)

    def table(self, recode: str, source: str | None) -> str:
        """``T[key]``: the lookup table of a recode applied to ``source``."""
        key = f"{recode}:{source or ''}"
        if key not in self.tables:
            var = self.variables.get(source or "")
            missing = var.missing_codes if var is not None else frozenset()
            t = recode_table(self.recodes[recode], missing)
            self.tables[key] = {
                "rules": [[_item(spec), code] for spec, code in t.rules],
                "missing": sorted(t.missing),
            }
        return f"T[{js_value(key)}]"

    # ------------------------------------------------------------ nodes

    def visit_Literal_(self, e: m.Literal_) -> str:
        v = e.value
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_SAFE_INTEGER:
            return self.unsupported(f"the number {v} is too large for JavaScript to hold exactly")
        if isinstance(v, float) and not math.isfinite(v):
            return self.unsupported(f"the number {v} cannot be written in JavaScript")
        return js_value(v)

    def visit_Missing_(self, e: m.Missing_) -> str:
        return "null"

    def visit_Ref(self, e: m.Ref) -> str:
        return f"K.ref(r, {js_value(e.name)})"

    def visit_Call(self, e: m.Call) -> str:
        if e.func in self.recodes and len(e.args) == 1:
            arg = e.args[0]
            source = arg.name if isinstance(arg, m.Ref) else None
            return f"K.lookup({self.table(e.func, source)}, {self.raw(arg)})"
        if e.func in m.AGGREGATES:
            if e.func in ("count", "any", "all"):
                operands = [self.expr(a) for a in e.args]
            else:
                operands = [self.sub(a) for a in e.args]
            return f"K.{e.func}([{', '.join(operands)}])"
        return self.unsupported(f"the call `{e.func}` has no JavaScript form")

    def visit_Aggregate(self, e: m.Aggregate) -> str:
        return self.unsupported(
            f"`{e.func}(... over {e.roster})` is computed after lowering unrolls the roster"
        )

    def visit_Conditional(self, e: m.Conditional) -> str:
        return (
            f"K.cond({self.expr(e.condition)}, function () {{ return {self.expr(e.then)}; }}, "
            f"function () {{ return {self.expr(e.otherwise)}; }})"
        )

    def visit_Unary(self, e: m.Unary) -> str:
        if e.op == "not":
            return f"K.{'notHolds' if e.holds else 'not'}({self.expr(e.operand)})"
        return f"K.neg({self.sub(e.operand)})"

    def visit_Binary(self, e: m.Binary) -> str:
        return f"K.arith({js_value(e.op)}, {self.sub(e.left)}, {self.sub(e.right)})"

    def visit_Compare(self, e: m.Compare) -> str:
        if e.op in ("==", "!="):
            negate = "true" if e.op == "!=" else "false"
            return f"K.equals({self.raw(e.left)}, {self.raw(e.right)}, {negate})"
        return f"K.order({js_value(e.op)}, {self.sub(e.left)}, {self.sub(e.right)})"

    def visit_In(self, e: m.In) -> str:
        items = js_value([_item(v) for v in e.values])
        ref_missing = "null"
        if isinstance(e.operand, m.Ref) and e.operand.name in self.variables:
            ref_missing = js_value(sorted(self.variables[e.operand.name].missing_codes))
        negated = "true" if e.negated else "false"
        return f"K.within({self.raw(e.operand)}, {self.sub(e.operand)}, {items}, {negated}, {ref_missing})"

    def visit_BoolOp(self, e: m.BoolOp) -> str:
        return f"K.{e.op}([{', '.join(self.expr(op) for op in e.operands)}])"

    def visit_Test(self, e: m.Test) -> str:
        if e.test not in ("answered", "missing", "dont_know", "refused", "not_applicable"):
            return self.unsupported(f"`is {e.test}` is not a test")
        kinds = js_value([[code, kind] for code, kind in sorted(self._kinds(e.operand).items())])
        negated = "true" if e.negated else "false"
        return (
            f"K.test({js_value(e.test)}, {self.raw(e.operand)}, {self.sub(e.operand)}, {kinds}, {negated})"
        )


# ---------------------------------------------------------------- programs


def complete_function(compiler: JSCompiler, derives: Iterable[m.Derive]) -> str:
    """``function (r) {...}``: a copy of the record with its recodes and derived
    variables computed, in the order of ``Evaluator.complete``."""
    derive_by_name = {d.name: d for d in derives}
    recodes = compiler.recodes
    lines = ["function (r0) {", "    var r = K.copy(r0);"]

    def put(name: str, value: str) -> None:
        lines.append(f"    K.put(r, {js_value(name)}, {value});")

    for name, var in compiler.variables.items():
        if var.role == "recode" and var.recode in recodes and name != var.recode:
            source = m.Ref.build(name=var.source or "")
            put(name, f"K.lookup({compiler.table(var.recode, var.source)}, {compiler.raw(source)})")
    spec = m.Spec.build(name="", title=None, recodes=tuple(recodes.values()), derives=tuple(derive_by_name.values()))
    order, _ = computation_order(spec)
    for name in order:
        recode = recodes.get(name)
        if recode is not None and not recode.source_is_scale:
            source = m.Ref.build(name=recode.source)
            put(name, f"K.lookup({compiler.table(name, recode.source)}, {compiler.raw(source)})")
        elif name in derive_by_name:
            put(name, compiler.expr(derive_by_name[name].expr))
    lines.extend(["    return r;", "  }"])
    return "\n".join(lines)


def compile_program(
    low: Lowered,
    exprs: Sequence[m.Expr] = (),
    unsupported: Callable[[str], None] | None = None,
) -> str:
    """A spec's program: ``function (K) {...}`` returning ``{exprs, complete, steps}``.

    ``exprs`` are extra expressions compiled as functions of a record (the
    differential tests use them); ``steps`` are ``routing.steps`` in interview
    order, each ``{name, guard, ends, inIntro}``.
    """
    compiler = JSCompiler(low.variables, low.recodes, unsupported)
    expr_functions = [compiler.function(e) for e in exprs]
    complete = complete_function(compiler, low.spec.derives)
    step_lines = []
    for step in routing_steps(low):
        ends = js_value([[code, disposition] for code, disposition in step.ends])
        step_lines.append(
            f"    {{name: {js_value(step.name)}, guard: {compiler.function(step.guard)}, "
            f"ends: {ends}, inIntro: {'true' if step.in_intro else 'false'}}}"
        )
    tables = js_value(compiler.tables)
    return "\n".join(
        [
            "function (K) {",
            '  "use strict";',
            f"  var T = {tables};",
            "  return {",
            "  exprs: [" + ",\n    ".join(expr_functions) + "],",
            f"  complete: {complete},",
            "  steps: [\n" + ",\n".join(step_lines) + "\n  ]",
            "  };",
            "}",
        ]
    )
