"""The expression language over whole columns (numpy), for the simulator.

The same meaning as ``expr.Evaluator``, one row at a time there, one column at a
time here; ``tests/test_vector.py`` property-tests that the two agree on every
expression over generated interviews. Columns:

* codes and numbers: ``float64`` with ``NaN`` for no value;
* text: an object array with ``None`` for no value (an empty text is no value);
* multiple choice: a ``bool`` matrix, one column per code of the variable
  (a row with nothing chosen has no value);
* conditions: ``bool`` with ``known``, the rows where the condition is not
  UNKNOWN (three-valued logic, as ``expr``); a derived condition is stored as
  ``float64`` 1.0 / 0.0 / ``NaN`` so that UNKNOWN survives as no value.

Only this module and the simulator import numpy; ``kvpspec check`` never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kvpspec import model as m
from kvpspec.semantics.lower import (
    RecodeTable,
    Variable,
    computation_order,
    missing_kinds,
    recode_table,
)


@dataclass
class Vec:
    """A column of values: kind ``num``, ``text``, ``bool`` or ``set`` (then ``codes``)."""

    kind: str
    data: Any
    codes: tuple[int, ...] = ()
    #: for ``bool``: rows whose truth is known (``None``: every row)
    known: Any = None

    def present(self) -> np.ndarray:
        """Rows that hold a value."""
        if self.kind == "num":
            return ~np.isnan(self.data)
        if self.kind == "text":
            return np.array([x is not None for x in self.data], dtype=bool)
        if self.kind == "set":
            return self.data.any(axis=1)
        if self.known is not None:  # a condition: UNKNOWN is no value
            return self.known
        return np.ones(len(self.data), dtype=bool)


class VectorEvaluator:
    """Evaluates expressions over a table of columns: ``{name: numpy array}``."""

    def __init__(self, variables: Mapping[str, Variable], recodes: Mapping[str, m.Recode] | None = None,
                 derives: tuple[m.Derive, ...] = ()):
        self.variables = variables
        self.recodes = dict(recodes or {})
        self._derives = {d.name: d for d in derives}
        self._tables: dict[tuple[str, str | None], RecodeTable] = {}
        spec = m.Spec.build(name="", title=None, recodes=tuple(self.recodes.values()), derives=tuple(derives))
        self._order, _ = computation_order(spec)

    # ------------------------------------------------------------ columns in and out

    def column(self, name: str, values: list[Any]) -> Any:
        """A Python column (``None`` for no value) as this module stores it."""
        var = self.variables.get(name)
        if var is not None and var.type == "multiple":
            codes = var.codes
            mat = np.zeros((len(values), len(codes)), dtype=bool)
            index = {c: j for j, c in enumerate(codes)}
            for i, v in enumerate(values):
                for c in v or ():
                    mat[i, index[c]] = True
            return mat
        if (var is not None and var.value_kind == "text") or any(isinstance(v, str) for v in values):
            return np.array([v if v != "" else None for v in values], dtype=object)
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)

    def as_python(self, vec: Vec) -> list[Any]:
        """A result column as the values ``Evaluator`` gives (``None`` for no value)."""
        if vec.kind == "bool":
            if vec.known is None:
                return [bool(x) for x in vec.data]
            return [bool(x) if k else None for x, k in zip(vec.data, vec.known)]
        if vec.kind == "text":
            return list(vec.data)
        if vec.kind == "set":
            return [frozenset(c for c, on in zip(vec.codes, row) if on) or None for row in vec.data]
        return [None if np.isnan(x) else (int(x) if float(x).is_integer() else float(x)) for x in vec.data]

    # ------------------------------------------------------------ evaluation

    def truth(self, e: m.Expr | None, table: Mapping[str, Any], n: int) -> np.ndarray:
        if e is None:
            return np.ones(n, dtype=bool)
        v = self.value(e, table, n)
        return self._bool(v)  # holds only when TRUE

    def value(self, e: m.Expr, table: Mapping[str, Any], n: int) -> Vec:
        return getattr(self, "_" + type(e).__name__.rstrip("_").lower())(e, table, n)

    def complete(self, table: Mapping[str, Any], n: int) -> dict[str, Any]:
        """The table with its recodes and derived variables computed (as ``Evaluator.complete``)."""
        out = dict(table)
        for name, var in self.variables.items():
            if var.role == "recode" and var.recode in self.recodes and name != var.recode:
                # a scale recode applied in an analysis, ``enig2(q10a)`` as ``q10a_enig2``
                out[name] = self._lookup(var.recode, var.source, self._raw(m.Ref.build(name=var.source), out, n)).data
        for name in self._order:
            r = self.recodes.get(name)
            if r is not None and not r.source_is_scale:
                out[name] = self._lookup(name, r.source, self._raw(m.Ref.build(name=r.source), out, n)).data
            elif name in self._derives:
                v = self.value(self._derives[name].expr, out, n)
                if v.kind == "bool" and v.known is not None and not v.known.all():
                    out[name] = np.where(v.known, v.data.astype(float), np.nan)
                else:
                    out[name] = v.data
        return out

    def _bool(self, v: Vec) -> np.ndarray:
        """Rows where the condition is TRUE."""
        return self._tv(v)[0]

    def _tv(self, v: Vec) -> tuple[np.ndarray, np.ndarray]:
        """(rows where TRUE, rows where known) of a condition; no value is UNKNOWN."""
        if v.kind == "bool":
            known = np.ones(len(v.data), dtype=bool) if v.known is None else v.known
            return v.data & known, known
        if v.kind == "num":  # a stored derived condition, or `missing`
            known = ~np.isnan(v.data)
            return known & (v.data != 0), known
        if v.kind == "text":
            known = np.array([x is not None for x in v.data], dtype=bool)
            return np.array([bool(x) for x in v.data], dtype=bool), known
        known = v.data.any(axis=1)
        return known, known

    @staticmethod
    def _kleene(op: str, parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> Vec:
        """Kleene ``and``/``or`` over (true, known) pairs, as ``expr.kleene_and``/``kleene_or``."""
        all_known = np.ones(n, dtype=bool)
        if op == "and":
            true = np.ones(n, dtype=bool)
            false_any = np.zeros(n, dtype=bool)
            for t, k in parts:
                true &= t
                false_any |= k & ~t
                all_known &= k
            return Vec("bool", true & all_known, known=false_any | all_known)
        true_any = np.zeros(n, dtype=bool)
        for t, k in parts:
            true_any |= t
            all_known &= k
        return Vec("bool", true_any, known=true_any | all_known)

    def _ref_vec(self, name: str, table: Mapping[str, Any], n: int) -> Vec:
        data = table.get(name)
        var = self.variables.get(name)
        if data is None:
            if var is not None and var.type == "multiple":
                return Vec("set", np.zeros((n, len(var.codes)), dtype=bool), var.codes)
            if var is not None and var.value_kind == "text":
                return Vec("text", np.full(n, None, dtype=object))
            return Vec("num", np.full(n, np.nan))
        if isinstance(data, np.ndarray) and data.ndim == 2:
            return Vec("set", data, var.codes if var is not None else ())
        if isinstance(data, np.ndarray) and data.dtype == object:
            return Vec("text", data)
        if isinstance(data, np.ndarray) and data.dtype == bool:
            return Vec("bool", data)
        if var is not None and var.value_kind == "bool":  # a derived condition stored with NaN
            x = np.asarray(data, dtype=float)
            known = ~np.isnan(x)
            return Vec("bool", known & (x != 0), known=known)
        return Vec("num", np.asarray(data, dtype=float))

    def _raw(self, e: m.Expr, table, n) -> Vec:
        return self.value(e, table, n)

    def missing_kinds(self, e: m.Expr) -> dict[int, str]:
        """The missing codes of what an expression reads (``lower.missing_kinds``)."""
        return missing_kinds(e, self.variables, self.recodes)

    def substantive(self, e: m.Expr, table, n) -> Vec:
        """The values with missing codes turned into no value (a variable or an applied recode)."""
        v = self._raw(e, table, n)
        if v.kind == "num":
            miss = self.missing_kinds(e)
            if miss:
                data = v.data.copy()
                data[np.isin(data, list(miss))] = np.nan
                return Vec("num", data)
        return v

    def _literal(self, e: m.Literal_, table, n) -> Vec:
        x = e.value
        if isinstance(x, bool):
            return Vec("bool", np.full(n, x, dtype=bool))
        if isinstance(x, str):
            return Vec("text", np.full(n, x, dtype=object))  # "" is a value, as in Evaluator
        return Vec("num", np.full(n, float(x)))

    def _ref(self, e: m.Ref, table, n) -> Vec:
        return self._ref_vec(e.name, table, n)

    def _missing(self, e: m.Missing_, table, n) -> Vec:
        return Vec("num", np.full(n, np.nan))

    def _aggregate(self, e: m.Aggregate, table, n) -> Vec:
        raise ValueError(f"`{e.func}(... over {e.roster})` is evaluated after lowering unrolls the roster")

    def _conditional(self, e: m.Conditional, table, n) -> Vec:
        true, known = self._tv(self.value(e.condition, table, n))
        a, b = self.value(e.then, table, n), self.value(e.otherwise, table, n)
        kinds = {a.kind, b.kind}
        if "set" in kinds:
            s = a if a.kind == "set" else b
            empty = Vec("set", np.zeros((n, len(s.codes)), dtype=bool), s.codes)
            a, b = (a if a.kind == "set" else empty), (b if b.kind == "set" else empty)
            pick = np.where(true[:, None], a.data, np.where(known[:, None], b.data, False))
            return Vec("set", pick, s.codes)
        if "bool" in kinds:
            (at, ak), (bt, bk) = self._tv(a), self._tv(b)
            return Vec("bool", np.where(true, at, bt & known),
                       known=np.where(true, ak, np.where(known, bk, False)))
        if "text" in kinds:
            none = np.full(n, None, dtype=object)
            ad = a.data if a.kind == "text" else none
            bd = b.data if b.kind == "text" else none
            return Vec("text", np.where(true, ad, np.where(known, bd, none)))
        return Vec("num", np.where(true, a.data, np.where(known, b.data, np.nan)))

    def aggregate(self, func: str, args: tuple[m.Expr, ...], table, n) -> Vec:
        """``count``, ``sum``, ``min``, ``max``, ``any``, ``all`` as ``Evaluator.aggregate``."""
        if func in ("count", "any", "all"):
            parts = [self._tv(self.value(a, table, n)) for a in args]
            if func == "count":
                return Vec("num", sum((t.astype(float) for t, _ in parts), np.zeros(n)))
            return self._kleene("and" if func == "all" else "or", parts, n)
        cols = [self.substantive(a, table, n).data for a in args]
        stack = np.vstack([np.asarray(c, dtype=float) for c in cols]) if cols else np.full((1, n), np.nan)
        if func == "sum":
            return Vec("num", np.nansum(stack, axis=0))
        present = ~np.isnan(stack).all(axis=0)
        with np.errstate(invalid="ignore"):
            filled = np.where(np.isnan(stack), np.inf if func == "min" else -np.inf, stack)
            out = filled.min(axis=0) if func == "min" else filled.max(axis=0)
        return Vec("num", np.where(present, out, np.nan))

    def _call(self, e: m.Call, table, n) -> Vec:
        if e.func in self.recodes and len(e.args) == 1:
            arg = e.args[0]
            source = arg.name if isinstance(arg, m.Ref) else None
            return self._lookup(e.func, source, self._raw(arg, table, n))
        if e.func in m.AGGREGATES:
            return self.aggregate(e.func, e.args, table, n)
        raise ValueError(f"cannot evaluate the call `{e.func}` here")

    def _lookup(self, recode: str, source: str | None, v: Vec) -> Vec:
        key = (recode, source)
        if key not in self._tables:
            var = self.variables.get(source or "")
            self._tables[key] = recode_table(self.recodes[recode], var.missing_codes if var is not None else frozenset())
        table = self._tables[key]
        if v.kind != "num":
            raise ValueError("only codes and numbers can be recoded")
        x = v.data
        out = np.full(len(x), np.nan)
        done = np.isnan(x)
        is_missing = np.isin(x, list(table.missing)) if table.missing else np.zeros(len(x), dtype=bool)
        fallback = None
        for spec, code in table.rules:
            if spec.kind == "else":
                fallback = code
                continue
            hit = ~done & self._matches(spec, x, is_missing)
            out[hit] = code
            done |= hit
        if fallback is not None:
            out[~done] = fallback
        return Vec("num", out)

    @staticmethod
    def _matches(spec: m.ValueSpec, x: np.ndarray, is_missing: np.ndarray) -> np.ndarray:
        """``lower.matches`` over a column."""
        if spec.kind == "single":
            return x == spec.low
        if spec.kind in ("range", "upto", "from"):
            ok = ~is_missing & ~np.isnan(x)
            if spec.low is not None:
                ok &= x >= spec.low
            if spec.high is not None:
                ok &= x <= spec.high
            return ok
        return np.zeros(len(x), dtype=bool)

    def _unary(self, e: m.Unary, table, n) -> Vec:
        if e.op == "not":
            true, known = self._tv(self.value(e.operand, table, n))
            if e.holds:  # routing's "does not hold"
                return Vec("bool", ~true)
            return Vec("bool", known & ~true, known=known)
        v = self.substantive(e.operand, table, n)
        return Vec("num", -v.data)

    def _binary(self, e: m.Binary, table, n) -> Vec:
        a, b = self.substantive(e.left, table, n), self.substantive(e.right, table, n)
        if a.kind == "text" or b.kind == "text":
            out = np.array(
                [x + y if x is not None and y is not None else None for x, y in zip(a.data, b.data)], dtype=object
            )
            return Vec("text", out)
        x, y = a.data, b.data
        with np.errstate(all="ignore"):
            if e.op == "+":
                r = x + y
            elif e.op == "-":
                r = x - y
            elif e.op == "*":
                r = x * y
            else:
                r = np.where(y == 0, np.nan, x / np.where(y == 0, 1, y))
        return Vec("num", r)

    def _eq(self, a: Vec, b: Vec, n: int) -> np.ndarray:
        """Rows where both have a value and they are equal (a set holds the code)."""
        if a.kind == "set" or b.kind == "set":
            s, o = (a, b) if a.kind == "set" else (b, a)
            if o.kind == "set":  # two multiple choices: equal sets
                return np.zeros(n, dtype=bool)
            out = np.zeros(n, dtype=bool)
            for j, code in enumerate(s.codes):
                out |= s.data[:, j] & (o.data == code) if o.kind == "num" else np.zeros(n, dtype=bool)
            return out
        if a.kind == "text" or b.kind == "text":
            return np.array([x is not None and y is not None and x == y for x, y in zip(a.data, b.data)], dtype=bool)
        if a.kind == "bool" or b.kind == "bool":
            return a.data == b.data
        return a.data == b.data  # NaN never equals

    def _compare(self, e: m.Compare, table, n) -> Vec:
        if e.op in ("==", "!="):
            a, b = self._raw(e.left, table, n), self._raw(e.right, table, n)
            both = a.present() & b.present()
            eq = self._eq(a, b, n)
            return Vec("bool", both & (eq if e.op == "==" else ~eq), known=both)
        a, b = self.substantive(e.left, table, n), self.substantive(e.right, table, n)
        if a.kind != "num" or b.kind != "num":
            return Vec("bool", np.zeros(n, dtype=bool))
        x, y = a.data, b.data
        with np.errstate(invalid="ignore"):
            r = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[e.op]
        known = ~np.isnan(x) & ~np.isnan(y)
        return Vec("bool", r & known, known=known)

    def _in(self, e: m.In, table, n) -> Vec:
        raw = self._raw(e.operand, table, n)
        present = raw.present()
        hit = np.zeros(n, dtype=bool)
        unknown = np.zeros(n, dtype=bool)  # a range cannot order a missing code
        if raw.kind == "set":
            var = self.variables.get(e.operand.name) if isinstance(e.operand, m.Ref) else None
            miss = var.missing_codes if var is not None else frozenset()
            for v in e.values:
                for j, code in enumerate(raw.codes):
                    if v.kind == "single":
                        ok = code == v.low
                    elif v.kind == "string":
                        ok = False
                    else:
                        ok = code not in miss and v.contains(code)
                    if ok:
                        hit |= raw.data[:, j]
        elif raw.kind == "text":
            texts = {v.text for v in e.values if v.kind == "string"}
            hit = np.array([x in texts for x in raw.data], dtype=bool)
        else:
            sub = self.substantive(e.operand, table, n).data if raw.kind == "num" else None
            if sub is not None and any(v.kind in ("range", "upto", "from", "else") for v in e.values):
                unknown = np.isnan(sub)
            for v in e.values:
                if v.kind == "single":
                    hit |= raw.data == v.low
                elif v.kind in ("range", "upto", "from") and sub is not None:
                    ok = ~np.isnan(sub)
                    with np.errstate(invalid="ignore"):
                        if v.low is not None:
                            ok &= sub >= v.low
                        if v.high is not None:
                            ok &= sub <= v.high
                    hit |= ok
                elif v.kind == "else" and sub is not None:
                    hit |= ~np.isnan(sub)
        known = present & ~(unknown & ~hit)
        return Vec("bool", known & (hit != e.negated), known=known)

    def _boolop(self, e: m.BoolOp, table, n) -> Vec:
        return self._kleene(e.op, [self._tv(self.value(op, table, n)) for op in e.operands], n)

    def _test(self, e: m.Test, table, n) -> Vec:
        raw = self._raw(e.operand, table, n)
        kinds = self.missing_kinds(e.operand)
        if e.test == "answered":
            result = raw.present()
        elif raw.kind == "set":
            if e.test == "missing":
                subst = [j for j, c in enumerate(raw.codes) if c not in kinds]
                result = ~raw.data[:, subst].any(axis=1) if subst else np.ones(n, dtype=bool)
            else:
                cols = [j for j, c in enumerate(raw.codes) if kinds.get(c) == e.test]
                result = raw.data[:, cols].any(axis=1) if cols else np.zeros(n, dtype=bool)
        elif e.test == "missing":
            result = ~raw.present() | ~self.substantive(e.operand, table, n).present()
        else:
            result = np.zeros(n, dtype=bool)
            codes = [c for c, kind in kinds.items() if kind == e.test]
            if codes and raw.kind == "num":
                result = np.isin(raw.data, codes)
        return Vec("bool", result != e.negated)
