"""Schemas of the response data: JSON Schema for one interview record, and a
Frictionless Table Schema (v2) for the CSV file.

Both are renderings of the core's definitions: the variables come from
``lower.py`` and each question's routing from ``flow.asked_conditions``,
translated here into JSON Schema ``if``/``then``/``else``. The translation
keeps the meaning of ``expr.py`` (a comparison on no value is false, ranges
skip missing codes, ...), and the differential tests hold the three renderings
(interpreter, validator, JSON Schema) to the same verdict on generated data.

A condition JSON Schema cannot state (arithmetic, comparing two questions) is
not dropped: the schema says so in ``$comment`` and ``unsupported`` lists it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.semantics.lower import DATA_ROLES, Variable
from kvpspec.semantics.routing import asked_conditions
from kvpspec.syntax.formatter import format_expr

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TABLE_SCHEMA_V2 = "https://datapackage.org/profiles/2.0/tableschema.json"

#: the largest whole number a cell may hold (``reader.INTEGER``: 15 digits)
WHOLE_MAX = 10**15 - 1


def data_variables(compiled: Compiled) -> list[Variable]:
    """The columns of the response data, in codebook order."""
    return compiled.lowered.response_variables()


class Unsupported(Exception):
    """A condition JSON Schema cannot express."""


@dataclass
class SchemaResult:
    schema: dict[str, Any]
    unsupported: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- JSON Schema


def _label(text: m.Text, language: str | None) -> str:
    return text.get(language)


def value_schema(v: Variable, language: str | None = None) -> dict[str, Any]:
    """What an answered value of ``v`` may be (null is handled by the routing)."""
    missing = dict(v.missing)
    described = "; ".join(
        f"{code} = {_label(text, language)}" + (f" (missing: {missing[code]})" if code in missing else "")
        for code, text in v.values
    )
    out: dict[str, Any]
    if v.type == "single":
        out = {"enum": [code for code, _ in v.values]}
    elif v.type == "multiple":
        out = {
            "type": "array",
            "items": {"enum": [code for code, _ in v.values]},
            "uniqueItems": True,
            "minItems": 1,
        }
        if v.exclusive:
            # an exclusive option is chosen alone
            out["allOf"] = [
                {"not": {"allOf": [{"contains": {"const": code}}, {"minItems": 2}]}}
                for code in sorted(v.exclusive)
            ]
    elif v.type in ("integer", "decimal"):
        number: dict[str, Any] = {"type": "integer" if v.type == "integer" else "number"}
        if v.min is not None:
            number["minimum"] = v.min
        elif v.type == "integer":
            number["minimum"] = -WHOLE_MAX
        if v.max is not None:
            number["maximum"] = v.max
        elif v.type == "integer":
            number["maximum"] = WHOLE_MAX
        out = {"anyOf": [number, {"enum": [code for code, _ in v.values]}]} if v.values else number
    elif v.type == "text":
        out = {"type": "string", "minLength": 1}
    else:  # pragma: no cover - derived variables are not data columns
        raise ValueError(f"no value schema for {v.type}")
    out["title"] = _label(v.label, language)
    if described:
        out["description"] = described
    if v.missing:
        out["x-missing-codes"] = {str(code): kind for code, kind in v.missing}
    return out


def _present(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _prop(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": [name], "properties": {name: schema}}


def _number_range(spec: m.ValueSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number"}
    if spec.low is not None:
        out["minimum"] = spec.low
    if spec.high is not None:
        out["maximum"] = spec.high
    return out


class ConditionTranslator:
    """An expression of the language as a JSON Schema that a record satisfies
    exactly when the expression is true (``expr.Evaluator.truth``).

    Conditions are three-valued (``expr``): ``translate`` says "true",
    ``falsity`` says "false", and a record satisfying neither is UNKNOWN. An
    author's ``not`` is true where its operand is false; routing's "does not
    hold" (``Unary.holds``) where its operand is not true. Conditionals,
    aggregates and ``missing`` are reported unsupported, never dropped.
    """

    def __init__(self, variables: dict[str, Variable]):
        self.variables = variables

    def translate(self, e: m.Expr) -> dict[str, Any]:
        method = getattr(self, "_" + type(e).__name__.rstrip("_").lower(), None)
        if method is None:
            raise Unsupported(f"`{format_expr(e)}`")
        return method(e)

    def _var(self, e: m.Expr) -> Variable:
        if not isinstance(e, m.Ref) or e.name not in self.variables:
            raise Unsupported(f"`{format_expr(e)}` (only a question compared with a constant)")
        var = self.variables[e.name]
        if var.role not in DATA_ROLES:
            raise Unsupported(f"`{format_expr(e)}` (`{var.name}` is not in the response data)")
        return var

    def _substantive(self, v: Variable, schema: dict[str, Any]) -> dict[str, Any]:
        if v.missing:
            return {"allOf": [schema, {"not": {"enum": [c for c, _ in v.missing]}}]}
        return schema

    def falsity(self, e: m.Expr) -> dict[str, Any]:
        """A JSON Schema that a record satisfies exactly when ``e`` is false (not UNKNOWN)."""
        if isinstance(e, m.Literal_):
            if isinstance(e.value, bool):
                return {"not": {}} if e.value else {}
            raise Unsupported(f"`{format_expr(e)}` as a condition")
        if isinstance(e, m.Unary) and e.op == "not":
            return self.translate(e.operand)  # `not x` is false where x is true
        if isinstance(e, m.BoolOp):
            key = "anyOf" if e.op == "and" else "allOf"
            return {key: [self.falsity(o) for o in e.operands]}
        if isinstance(e, m.Test):
            return {"not": self.translate(e)}  # a test is never UNKNOWN
        if isinstance(e, m.Compare):
            return {"allOf": [self._known(e), {"not": self.translate(e)}]}
        if isinstance(e, m.In):
            positive = m.In.build(operand=e.operand, values=e.values, negated=False)
            return self.translate(positive) if e.negated else self._in_false(positive)
        return self.translate(e)  # raises Unsupported, naming the construct

    def _answered(self, v: Variable) -> dict[str, Any]:
        if v.type == "multiple":
            return _prop(v.name, {"type": "array", "minItems": 1})
        if v.type == "text":
            return _prop(v.name, {"type": "string", "minLength": 1})
        return _present(v.name)

    def _known(self, e: m.Compare) -> dict[str, Any]:
        """Where a comparison with a constant is not UNKNOWN: answered, and for an
        ordering of numbers a substantive value."""
        operand = e.right if isinstance(e.left, m.Literal_) else e.left
        v = self._var(operand)
        answered = self._answered(v)
        if e.op in ("==", "!=") or v.type == "multiple" or not v.missing:
            return answered
        return {"allOf": [answered, _prop(v.name, {"not": {"enum": [c for c, _ in v.missing]}})]}

    def _in_false(self, e: m.In) -> dict[str, Any]:
        """``x in [...]`` is false: answered, no item matches, and a range item did not
        meet a missing code (that is UNKNOWN)."""
        v = self._var(e.operand)
        parts = [self._answered(v), {"not": self.translate(e)}]
        if v.type != "multiple" and v.missing and any(s.kind in ("range", "upto", "from") for s in e.values):
            parts.append(_prop(v.name, {"not": {"enum": [c for c, _ in v.missing]}}))
        return {"allOf": parts}

    def _conditional(self, e: m.Conditional) -> dict[str, Any]:
        raise Unsupported(f"`{format_expr(e)}` (a conditional `if ... then ... else`)")

    def _missing(self, e: m.Missing_) -> dict[str, Any]:
        raise Unsupported("`missing` as a condition")

    def _aggregate(self, e: m.Aggregate) -> dict[str, Any]:
        raise Unsupported(f"`{format_expr(e)}` (an aggregate over a roster)")

    def _call(self, e: m.Call) -> dict[str, Any]:
        what = "an aggregate" if e.func in m.AGGREGATES else "a function call"
        raise Unsupported(f"`{format_expr(e)}` ({what})")

    def _literal(self, e: m.Literal_) -> dict[str, Any]:
        if e.value is True:
            return {}
        if e.value is False:
            return {"not": {}}
        raise Unsupported(f"`{format_expr(e)}` as a condition")

    def _unary(self, e: m.Unary) -> dict[str, Any]:
        if e.op == "not":
            if e.holds:  # routing's "does not hold": false or UNKNOWN
                return {"not": self.translate(e.operand)}
            return self.falsity(e.operand)  # three-valued: `not UNKNOWN` is UNKNOWN
        raise Unsupported(f"`{format_expr(e)}`")

    def _boolop(self, e: m.BoolOp) -> dict[str, Any]:
        key = "allOf" if e.op == "and" else "anyOf"
        return {key: [self.translate(o) for o in e.operands]}

    def _compare(self, e: m.Compare) -> dict[str, Any]:
        left, right = e.left, e.right
        op: str = e.op
        if isinstance(left, m.Literal_) and not isinstance(right, m.Literal_):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        v = self._var(left)
        if not isinstance(right, m.Literal_) or isinstance(right.value, bool):
            raise Unsupported(f"`{format_expr(e)}` (compares two expressions)")
        value = right.value
        if op in ("==", "!="):
            if v.type == "multiple":
                hit: dict[str, Any] = {"contains": {"const": value}}
                if op == "!=":
                    return _prop(v.name, {"type": "array", "minItems": 1, "not": hit})
                return _prop(v.name, hit)
            hit = {"const": value}
            return _prop(v.name, hit if op == "==" else {"not": {"anyOf": [hit, {"type": "null"}]}})
        bound = {"<": "exclusiveMaximum", "<=": "maximum", ">": "exclusiveMinimum", ">=": "minimum"}[op]
        if v.type == "multiple" or isinstance(value, str):
            return {"not": {}}  # ordering never holds there (expr.py)
        return _prop(v.name, self._substantive(v, {"type": "number", bound: value}))

    def _in(self, e: m.In) -> dict[str, Any]:
        v = self._var(e.operand)
        options: list[dict[str, Any]] = []
        for spec in e.values:
            if spec.kind == "single":
                options.append({"const": spec.low})
            elif spec.kind == "string":
                options.append({"const": spec.text})
            else:
                options.append(self._substantive(v, _number_range(spec)))
        if v.type == "multiple":
            options = [{"contains": o} for o in options]
        hit: dict[str, Any] = {"anyOf": options}
        if e.negated:  # `x not in [...]` is `x in [...]` false
            return self._in_false(m.In.build(operand=e.operand, values=e.values, negated=False))
        return _prop(v.name, hit)

    def _test(self, e: m.Test) -> dict[str, Any]:
        v = self._var(e.operand)
        answered = _present(v.name)
        if v.type == "multiple":
            answered = _prop(v.name, {"type": "array", "minItems": 1})
        elif v.type == "text":
            answered = _prop(v.name, {"type": "string", "minLength": 1})
        if e.test == "answered":
            out = answered
        elif e.test == "missing":
            codes = [c for c, _ in v.missing]
            if v.type == "multiple":
                substantive = _prop(v.name, {"contains": {"not": {"enum": codes}}})
            elif codes:
                substantive = {"allOf": [answered, _prop(v.name, {"not": {"enum": codes}})]}
            else:
                substantive = answered
            out = {"not": substantive}
        else:
            codes = [c for c, kind in v.missing if kind == e.test]
            if not codes:
                out = {"not": {}}
            elif v.type == "multiple":
                out = _prop(v.name, {"contains": {"enum": codes}})
            else:
                out = _prop(v.name, {"enum": codes})
        return {"not": out} if e.negated else out


def json_schema(compiled: Compiled, language: str | None = None) -> SchemaResult:
    """JSON Schema (draft 2020-12) for one interview record of the response data."""
    variables = data_variables(compiled)
    by_name = {v.name: v for v in compiled.lowered.variables.values()}
    asked = asked_conditions(compiled.lowered)
    translator = ConditionTranslator(by_name)
    properties: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    required: list[str] = []
    unsupported: list[str] = []
    for v in variables:
        properties[v.name] = {"anyOf": [value_schema(v, language), {"type": "null"}]}
        if v.role == "id":
            properties[v.name] = {
                "type": "integer" if v.type == "integer" else "string",
                "title": v.label.get(language),
            }
            if v.type == "integer":
                properties[v.name] |= {"minimum": -WHOLE_MAX, "maximum": WHOLE_MAX}
            required.append(v.name)
            continue
        guard = asked.get(v.name)
        answered = _present(v.name)
        skipped = {"properties": {v.name: {"type": "null"}}}
        if guard is None:
            required.append(v.name)
            properties[v.name] = value_schema(v, language)
            continue
        try:
            condition = translator.translate(guard)
        except Unsupported as exc:
            unsupported.append(f"{v.name}: {exc}")
            properties[v.name]["$comment"] = (
                f"asked when {format_expr(guard)}; JSON Schema cannot express this, "
                f"so the routing of {v.name} is not checked here"
            )
            continue
        rules.append(
            {
                "$comment": f"{v.name} is asked when {format_expr(guard)}",
                "if": condition,
                "then": answered,
                "else": skipped,
            }
        )
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:kvpspec:{compiled.spec.name}:{compiled.version}:record",
        "title": compiled.spec.title.get(language),
        "description": "One interview of the response data: asked questions are required, "
        "questions the routing skipped are absent or null.",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "allOf": rules,
    }
    if unsupported:
        schema["$comment"] = "routing not expressible in JSON Schema: " + "; ".join(unsupported)
    return SchemaResult(schema, unsupported)


# ---------------------------------------------------------------- Table Schema


def table_schema(compiled: Compiled, language: str | None = None) -> dict[str, Any]:
    """A Frictionless Table Schema (v2) for the response data as CSV.

    Missing codes are declared as field-level ``missingValues`` with their
    labels, so a Table Schema reader treats them as missing, never as numbers.
    """
    fields = []
    for v in data_variables(compiled):
        f: dict[str, Any] = {"name": v.name, "title": v.label.get(language)}
        substantive = [(code, text) for code, text in v.values if code not in v.missing_codes]
        missing = [
            {"value": str(code), "label": text.get(language)}
            for code, text in v.values
            if code in v.missing_codes
        ]
        if v.type == "single":
            f["type"] = "integer"
            f["categories"] = [{"value": code, "label": text.get(language)} for code, text in substantive]
            f["constraints"] = {"enum": [code for code, _ in substantive]}
        elif v.type == "multiple":
            f["type"] = "list"
            f["itemType"] = "integer"
            f["delimiter"] = " "
            f["description"] = "Codes chosen, separated by spaces: " + "; ".join(
                f"{code} = {text.get(language)}" for code, text in v.values
            )
        elif v.type in ("integer", "decimal"):
            f["type"] = "integer" if v.type == "integer" else "number"
            constraints = {}
            if v.min is not None:
                constraints["minimum"] = v.min
            if v.max is not None:
                constraints["maximum"] = v.max
            if constraints:
                f["constraints"] = constraints
        else:
            f["type"] = "string"
        if v.role == "id":
            f.setdefault("constraints", {})
            f["constraints"].update({"required": True, "unique": True})
        if missing:
            f["missingValues"] = [{"value": "", "label": "not asked"}] + missing
        fields.append(f)
    out: dict[str, Any] = {
        "$schema": TABLE_SCHEMA_V2,
        "fields": fields,
        "missingValues": [""],
    }
    if compiled.spec.respondent is not None:
        out["primaryKey"] = [compiled.spec.respondent.name]
    return out
