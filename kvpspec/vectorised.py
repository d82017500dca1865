"""The expression language over whole columns (numpy), for the validator.

The same meaning as ``expr.Evaluator``, one column at a time instead of one
record at a time; ``tests/test_vectorised.py`` holds the two to the same
answer on generated records. A column is given as:

* coded and numeric variables: a float64 array, ``NaN`` where there is no value;
* text variables: an object array of ``str``, ``""`` where there is no value;
* multiple choice: a bool matrix (rows x the variable's codes), all false for
  no answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from kvpspec import model as m
from kvpspec.lower import RecodeTable, Variable, recode_table


@dataclass
class _Val:
    """A column of values: raw (codes incl. missing codes) and substantive."""

    raw: np.ndarray | None = None  # float64, NaN = no value
    num: np.ndarray | None = None  # float64, missing codes -> NaN
    text: np.ndarray | None = None  # object array of str; "" = no value
    multi: np.ndarray | None = None  # bool matrix rows x codes
    codes: tuple[int, ...] = ()
    missing: frozenset[int] = frozenset()
    kinds: Mapping[int, str] | None = None  # missing code -> kind
    scalar: Any = None
    is_scalar: bool = False


class ColumnEvaluator:
    """Evaluates conditions over a table of columns; returns bool arrays."""

    def __init__(self, variables: Mapping[str, Variable], recodes: Mapping[str, m.Recode] | None = None):
        self.variables = variables
        self.recodes = dict(recodes or {})
        self._tables: dict[tuple[str, str], RecodeTable] = {}

    def complete(self, columns: Mapping[str, np.ndarray], n: int, derives: tuple[m.Derive, ...] = ()) -> dict[str, np.ndarray]:
        """The columns with recodes of variables and derived variables added (``Evaluator.complete``)."""
        from kvpspec.lower import computation_order

        out = dict(columns)
        spec = m.Spec.build(name="", title=None, recodes=tuple(self.recodes.values()), derives=derives)
        order, _ = computation_order(spec)
        by_name = {d.name: d for d in derives}
        for name in order:
            r = self.recodes.get(name)
            if r is not None and not r.source_is_scale:
                call = m.Call.build(func=name, args=(m.Ref.build(name=r.source),))
                out[name] = self._call(call, out, n).raw
            elif name in by_name:
                value = self._eval(by_name[name].expr, out, n)
                if isinstance(value, np.ndarray):
                    out[name] = value.astype(np.float64)
                elif value.is_scalar:
                    out[name] = np.full(n, value.scalar, dtype=object if isinstance(value.scalar, str) else np.float64)
                else:
                    out[name] = value.text if value.text is not None else value.raw
        return out

    def truth(self, e: m.Expr | None, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        if e is None:
            return np.ones(n, dtype=bool)
        out = self._eval(e, columns, n)
        if isinstance(out, _Val):
            if out.is_scalar:
                return np.full(n, bool(out.scalar))
            raise TypeError("not a condition")
        return out

    # ------------------------------------------------------------ values

    def _eval(self, e: m.Expr, cols: Mapping[str, np.ndarray], n: int) -> Any:
        return getattr(self, "_" + type(e).__name__.rstrip("_").lower())(e, cols, n)

    def _literal(self, e: m.Literal_, cols, n) -> Any:
        if isinstance(e.value, bool):
            return np.full(n, e.value)
        return _Val(scalar=e.value, is_scalar=True)

    def _ref(self, e: m.Ref, cols, n) -> _Val:
        var = self.variables[e.name]
        data = cols[e.name]
        kinds = dict(var.missing)
        if var.type == "multiple":
            return _Val(multi=data, codes=var.codes, missing=var.missing_codes, kinds=kinds)
        if var.value_kind == "text" or data.dtype == object:
            return _Val(text=data)
        raw = data.astype(np.float64, copy=False)
        num = raw
        if var.missing:
            num = np.where(np.isin(raw, list(var.missing_codes)), np.nan, raw)
        return _Val(raw=raw, num=num, codes=var.codes, missing=var.missing_codes, kinds=kinds)

    def _call(self, e: m.Call, cols, n) -> _Val:
        r = self.recodes[e.func]
        arg = e.args[0]
        source = arg.name if isinstance(arg, m.Ref) else ""
        key = (e.func, source)
        if key not in self._tables:
            var = self.variables.get(source)
            self._tables[key] = recode_table(r, var.missing_codes if var is not None else frozenset())
        table = self._tables[key]
        v = self._eval(arg, cols, n)
        raw = v.raw
        out = np.full(n, np.nan)
        assigned = np.isnan(raw)
        is_missing = np.isin(raw, list(table.missing)) if table.missing else np.zeros(n, dtype=bool)
        fallback = None
        for spec, code in table.rules:
            if spec.kind == "else":
                fallback = code
                continue
            if spec.kind == "single":
                hit = raw == spec.low
            else:
                hit = ~is_missing & _in_range(raw, spec)
            hit &= ~assigned
            out[hit] = code
            assigned |= hit
        if fallback is not None:
            out[~assigned] = fallback
        kinds = {rule.code: rule.missing for rule in r.rules if rule.missing}
        missing = frozenset(kinds)
        num = np.where(np.isin(out, list(missing)), np.nan, out) if missing else out
        codes = tuple(dict.fromkeys(rule.code for rule in r.rules))
        return _Val(raw=out, num=num, codes=codes, missing=missing, kinds=kinds)

    def _unary(self, e: m.Unary, cols, n) -> Any:
        if e.op == "not":
            return ~self.truth(e.operand, cols, n)
        v = self._eval(e.operand, cols, n)
        if v.is_scalar:
            return _Val(scalar=-v.scalar, is_scalar=True)
        return _Val(raw=-v.num, num=-v.num)

    def _binary(self, e: m.Binary, cols, n) -> _Val:
        a, b = self._eval(e.left, cols, n), self._eval(e.right, cols, n)
        if a.is_scalar and b.is_scalar:
            from kvpspec.expr import Evaluator

            return _Val(scalar=Evaluator({}).value(e, {}), is_scalar=True)
        if (a.text is not None or isinstance(a.scalar, str)) and e.op == "+":
            left = a.text if a.text is not None else np.full(n, a.scalar, dtype=object)
            right = b.text if b.text is not None else np.full(n, b.scalar, dtype=object)
            joined = np.array([x + y if x != "" and y != "" else "" for x, y in zip(left, right)], dtype=object)
            return _Val(text=joined)
        x = np.full(n, float(a.scalar)) if a.is_scalar else a.num
        y = np.full(n, float(b.scalar)) if b.is_scalar else b.num
        with np.errstate(divide="ignore", invalid="ignore"):
            if e.op == "+":
                out = x + y
            elif e.op == "-":
                out = x - y
            elif e.op == "*":
                out = x * y
            else:
                out = np.where(y == 0, np.nan, x / np.where(y == 0, 1, y))
        return _Val(raw=out, num=out)

    # ------------------------------------------------------------ conditions

    def _compare(self, e: m.Compare, cols, n) -> np.ndarray:
        a, b = self._eval(e.left, cols, n), self._eval(e.right, cols, n)
        if a.is_scalar and not b.is_scalar:
            a, b = b, a
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(e.op, e.op)
        else:
            op = e.op
        if a.is_scalar:  # two constants
            from kvpspec.expr import Evaluator

            return np.full(n, bool(Evaluator({}).value(e, {})))
        if op in ("==", "!="):
            if a.multi is not None:
                if not b.is_scalar:
                    raise TypeError("a multiple-choice question compares with a code")
                answered = a.multi.any(axis=1)
                hit = a.multi[:, a.codes.index(b.scalar)] if b.scalar in a.codes else np.zeros(n, bool)
                return hit if op == "==" else answered & ~hit
            if a.text is not None:
                other = b.text if b.text is not None else np.full(n, b.scalar, dtype=object)
                present = (a.text != "") & (other != "")
                same = a.text == other
                return present & (same if op == "==" else ~same)
            x = a.raw
            y = np.full(n, float(b.scalar)) if b.is_scalar else b.raw
            present = ~np.isnan(x) & ~np.isnan(y)
            same = x == y
            return present & (same if op == "==" else ~same)
        if a.multi is not None or a.text is not None:
            return np.zeros(n, dtype=bool)
        x = a.num
        y = np.full(n, float(b.scalar)) if b.is_scalar else b.num
        with np.errstate(invalid="ignore"):
            if op == "<":
                out = x < y
            elif op == "<=":
                out = x <= y
            elif op == ">":
                out = x > y
            else:
                out = x >= y
        return out & ~np.isnan(x) & ~np.isnan(y)

    def _in(self, e: m.In, cols, n) -> np.ndarray:
        v = self._eval(e.operand, cols, n)
        if v.multi is not None:
            answered = v.multi.any(axis=1)
            hit = np.zeros(n, dtype=bool)
            for j, code in enumerate(v.codes):
                if any(_spec_takes(spec, code, code in v.missing) for spec in e.values):
                    hit |= v.multi[:, j]
            return answered & (~hit if e.negated else hit)
        if v.text is not None:
            present = v.text != ""
            hit = np.isin(v.text, [s.text for s in e.values if s.kind == "string"])
            return present & (~hit if e.negated else hit)
        present = ~np.isnan(v.raw)
        hit = np.zeros(n, dtype=bool)
        for spec in e.values:
            if spec.kind == "single":
                hit |= v.raw == spec.low
            elif spec.kind in ("range", "upto", "from"):
                hit |= _in_range(v.num, spec)
        return present & (~hit if e.negated else hit)

    def _boolop(self, e: m.BoolOp, cols, n) -> np.ndarray:
        parts = [self.truth(o, cols, n) for o in e.operands]
        out = parts[0].copy()
        for p in parts[1:]:
            if e.op == "and":
                out &= p
            else:
                out |= p
        return out

    def _test(self, e: m.Test, cols, n) -> np.ndarray:
        v = self._eval(e.operand, cols, n)
        if v.multi is not None:
            chosen = v.multi
            if e.test == "answered":
                out = chosen.any(axis=1)
            elif e.test == "missing":
                keep = [j for j, c in enumerate(v.codes) if c not in v.missing]
                out = ~chosen[:, keep].any(axis=1) if keep else np.ones(n, dtype=bool)
            else:
                kinds = v.kinds or {}
                cols_of_kind = [j for j, c in enumerate(v.codes) if kinds.get(c) == e.test]
                out = chosen[:, cols_of_kind].any(axis=1) if cols_of_kind else np.zeros(n, dtype=bool)
        elif v.text is not None:
            present = v.text != ""
            out = present if e.test == "answered" else (~present if e.test == "missing" else np.zeros(n, bool))
        else:
            present = ~np.isnan(v.raw)
            if e.test == "answered":
                out = present
            elif e.test == "missing":
                out = np.isnan(v.num)
            else:
                codes = [c for c, kind in (v.kinds or {}).items() if kind == e.test]
                out = np.isin(v.raw, codes) if codes else np.zeros(n, dtype=bool)
        return ~out if e.negated else out


def _in_range(values: np.ndarray, spec: m.ValueSpec) -> np.ndarray:
    out = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        if spec.low is not None:
            out &= values >= spec.low
        if spec.high is not None:
            out &= values <= spec.high
    return out


def _spec_takes(spec: m.ValueSpec, code: int, is_missing: bool) -> bool:
    if spec.kind == "single":
        return code == spec.low
    if spec.kind in ("range", "upto", "from"):
        return not is_missing and spec.contains(code)
    return False
