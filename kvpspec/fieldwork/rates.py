"""The spec's response rates, live, from the dispositions stored so far.

Pure Python with the meaning of the analysis (``generators/analysis/runtime.py``:
``count``, ``rate``, ``aapor_counts``, ``aapor_rate``); ``tests/test_fieldwork_cases``
holds the two to the same numbers on the same dispositions.

``count()`` with no codes is every case of the sample, the ones still open
included (the analysis counts every row of the sample file, blank dispositions
too); ``count(2, 3)`` is the cases with a final disposition 2 or 3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kvpspec import model as m
from kvpspec.syntax.formatter import format_expr


def _num(x: float | None) -> float | None:
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return round(float(x), 6)


def _divide(a: float, b: float) -> float:
    return a / b if b else math.nan


def count(counts: Mapping[int | None, int], *codes: int) -> int:
    if not codes:
        return sum(counts.values())
    return sum(n for code, n in counts.items() if code in codes)


def aapor_counts(spec: m.Spec, counts: Mapping[int | None, int]) -> dict[str, int]:
    result = dict.fromkeys(m.AAPOR_CATEGORIES, 0)
    for d in spec.fieldwork.dispositions if spec.fieldwork else ():
        result[d.aapor] += count(counts, d.code)
    return result


def _value(x: m.Expr | None, counts: Mapping[int | None, int]) -> float:
    if isinstance(x, m.Literal_) and isinstance(x.value, (int, float)) and not isinstance(x.value, bool):
        return x.value
    if isinstance(x, m.Call) and x.func == "count":
        codes = []
        for a in x.args:
            if not (isinstance(a, m.Literal_) and isinstance(a.value, int) and not isinstance(a.value, bool)):
                raise ValueError("count() takes disposition codes")
            codes.append(a.value)
        return count(counts, *codes)
    if isinstance(x, m.Unary) and x.op == "-":
        return -_value(x.operand, counts)
    if isinstance(x, m.Binary):
        left, right = _value(x.left, counts), _value(x.right, counts)
        if x.op == "/":
            return _divide(left, right)
        if x.op == "+":
            return left + right
        if x.op == "-":
            return left - right
        return left * right
    raise ValueError("a response-rate formula may use count(), numbers and arithmetic")


def _label(text: m.Text, language: str | None) -> str:
    return text.get(language)


def rate(spec: m.Spec, r: m.Rate, counts: Mapping[int | None, int], language: str | None = None) -> dict[str, Any]:
    """One rate as the analysis' tables.json writes it (kind "rate")."""
    details: dict[str, Any] = {}
    if r.aapor:
        c = aapor_counts(spec, counts)
        definition = r.aapor
        numerator: float = c["I"] + (c["P"] if definition in ("RR2", "RR4", "RR6") else 0)
        eligible = c["I"] + c["P"] + c["R"] + c["NC"] + c["O"]
        unknown = c["UH"] + c["UO"]
        if definition in ("RR1", "RR2"):
            e, method = 1.0, "all cases of unknown eligibility counted as eligible"
        elif definition in ("RR5", "RR6"):
            e, method = 0.0, "no case of unknown eligibility counted as eligible"
        elif r.eligibility is not None:
            e, method = float(r.eligibility), "given in the spec"
        else:
            known = eligible + c["NE"]
            e = eligible / known if known else math.nan
            method = "proportional: (I+P+R+NC+O) / (I+P+R+NC+O+NE)"
        denominator: float | None = eligible + e * unknown if unknown else eligible
        formula = f"aapor {r.aapor}" + (f" eligibility {r.eligibility}" if r.eligibility is not None else "")
        details = {"definition": definition, "eligibility": _num(e), "eligibility_method": method,
                   "categories": c}
    else:
        formula = format_expr(r.formula) if r.formula is not None else ""
        if isinstance(r.formula, m.Binary) and r.formula.op == "/":
            numerator, denominator = _value(r.formula.left, counts), _value(r.formula.right, counts)
        else:
            numerator, denominator = _value(r.formula, counts), None
    value = _divide(numerator, denominator) if denominator is not None else numerator
    return {
        "kind": "rate",
        "name": r.name,
        "label": _label(r.label, language),
        "formula": formula,
        "numerator": numerator if isinstance(numerator, int) else _num(numerator),
        "denominator": _num(denominator),
        "rate": _num(value),
        "percent": _num(100 * value),
        **details,
    }


def rates(spec: m.Spec, counts: Mapping[int | None, int], language: str | None = None) -> list[dict[str, Any]]:
    """Every rate of the spec, in its order. ``counts``: disposition code → cases,
    ``None`` → the cases without a final disposition yet."""
    return [rate(spec, r, counts, language) for r in (spec.fieldwork.rates if spec.fieldwork else ())]
