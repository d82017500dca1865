"""The variable table's records: one ``Variable`` per column, recodes as lookup tables,
and the order in which recodes and derived variables are computed.

Shared by lowering (which builds them), the expression language (which types
and evaluates over them) and everything downstream. It imports only the model,
so ``lower`` can use the type checker of ``expr`` and ``expr`` can use these
records without the two importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from kvpspec import model as m

#: The codebook types of the design.
VariableType = Literal["single", "multiple", "integer", "decimal", "text", "derived"]
#: Where a variable comes from. ``screener``: asked in the intro, not response data.
Role = Literal["id", "question", "item", "specify", "recode", "derive", "sample", "screener"]
#: What a value is, for expressions.
ValueKind = Literal["code", "number", "text", "bool"]

#: Roles of the variables that are columns of the response data: the respondent
#: id, questions, grid items and specify texts (not recodes, derived variables,
#: sample fields or the intro's questions).
DATA_ROLES: tuple[Role, ...] = ("id", "question", "item", "specify")


@dataclass(frozen=True)
class Variable:
    """One column of the data (or of the sample file, for ``role == "sample"``)."""

    name: str
    label: m.Text
    type: VariableType
    role: Role
    node: m.Node
    values: tuple[tuple[int, m.Text], ...] = ()
    missing: tuple[tuple[int, str], ...] = ()
    min: int | float | None = None
    max: int | float | None = None
    personal: bool = False
    #: for specify texts: the question and the option code that asks for them
    parent: str | None = None
    parent_code: int | None = None
    #: for recodes and their applications: the recode and its source variable
    recode: str | None = None
    source: str | None = None
    #: what a value is, for expressions: code, number, text or bool
    value_kind: ValueKind = "code"
    read: frozenset[int] = frozenset()
    #: codes of ``exclusive`` options (multiple choice): chosen alone or not at all
    exclusive: frozenset[int] = frozenset()
    #: for a column unrolled from a roster: its innermost roster and iterations (outer first)
    roster: str | None = None
    iteration: tuple[int, ...] = ()

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(code for code, _ in self.values)

    @property
    def missing_codes(self) -> frozenset[int]:
        return frozenset(code for code, _ in self.missing)

    def missing_kind(self, code: int) -> str | None:
        for c, kind in self.missing:
            if c == code:
                return kind
        return None

    @property
    def substantive_codes(self) -> tuple[int, ...]:
        miss = self.missing_codes
        return tuple(c for c in self.codes if c not in miss)


def recode_variable(r: m.Recode, name: str, source: str, node: m.Node) -> Variable:
    """The variable a recode makes when applied to ``source``: its codes, labels, missing codes."""
    seen: dict[int, m.Text] = {}
    missing: dict[int, str] = {}
    for rule in r.rules:
        seen.setdefault(rule.code, rule.label)
        if rule.missing:
            missing.setdefault(rule.code, rule.missing)
    label = r.label or m.Text.build(text=r.name, translations={})
    return Variable(
        name=name,
        label=label,
        type="derived",
        role="recode",
        node=node,
        values=tuple(seen.items()),
        missing=tuple(missing.items()),
        recode=r.name,
        source=source,
    )


def missing_kinds(
    e: m.Expr, variables: Mapping[str, Variable], recodes: Mapping[str, m.Recode]
) -> dict[int, str]:
    """The missing codes (code -> kind) of what an expression reads: a variable, or
    a recode applied to one (``enig2(q10a)``); nothing for other expressions."""
    if isinstance(e, m.Ref) and e.name in variables:
        return dict(variables[e.name].missing)
    if isinstance(e, m.Call) and e.func in recodes:
        return {rule.code: rule.missing for rule in recodes[e.func].rules if rule.missing}
    return {}


@dataclass(frozen=True)
class RecodeTable:
    """A recode as a lookup: code for each source value, in rule order."""

    recode: str
    #: (ValueSpec, target code) pairs, tried in order; ``else`` last
    rules: tuple[tuple[m.ValueSpec, int], ...]
    #: the source's missing codes: ranges do not reach them, single values do
    missing: frozenset[int | float] = frozenset()

    def lookup(self, value: float | None) -> int | None:
        if value is None:
            return None
        fallback = None
        is_missing = value in self.missing
        for spec, code in self.rules:
            if spec.kind == "else":
                fallback = code
            elif matches(spec, value, is_missing):
                return code
        return fallback


def matches(spec: m.ValueSpec, value: float, is_missing: bool) -> bool:
    """Does a recode value item take this value? Ranges take substantive values only."""
    if spec.kind == "single":
        return value == spec.low
    if spec.kind in ("range", "upto", "from"):
        return not is_missing and spec.contains(value)
    return spec.kind == "else"


def recode_table(r: m.Recode, missing: frozenset[int | float] = frozenset()) -> RecodeTable:
    """A recode's rules as a lookup table; ``missing``: the source's missing codes."""
    return RecodeTable(r.name, tuple((v, rule.code) for rule in r.rules for v in rule.values), missing)


def dependencies(spec: m.Spec) -> dict[str, set[str]]:
    """For each recode (of a variable) and derived variable, the computed names it reads."""
    computed = {r.name for r in spec.recodes if not r.source_is_scale} | {d.name for d in spec.derives}
    deps: dict[str, set[str]] = {}
    for r in spec.recodes:
        if not r.source_is_scale:
            deps[r.name] = {r.source} & computed
    for d in spec.derives:
        deps[d.name] = {name for name in expr_refs(d.expr) if name in computed}
    return deps


def expr_refs(e: m.Expr) -> Iterator[str]:
    """Every variable name an expression reads."""
    if isinstance(e, m.Ref):
        yield e.name
    for child in _children(e):
        yield from expr_refs(child)


def _children(e: m.Expr) -> tuple[m.Expr, ...]:
    if isinstance(e, m.Call):
        return e.args
    if isinstance(e, m.Unary):
        return (e.operand,)
    if isinstance(e, (m.Binary, m.Compare)):
        return (e.left, e.right)
    if isinstance(e, (m.In, m.Test)):
        return (e.operand,)
    if isinstance(e, m.BoolOp):
        return e.operands
    if isinstance(e, m.Aggregate):
        return (e.operand,)
    if isinstance(e, m.Conditional):
        return (e.condition, e.then, e.otherwise)
    return ()


def computation_order(spec: m.Spec) -> tuple[list[str], list[list[str]]]:
    """Recodes and derived variables in an order that computes sources first,
    and the cycles (each as a path) that make such an order impossible."""
    deps = dependencies(spec)
    order: list[str] = []
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(deps.get(name, ())):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[name] = 2
        order.append(name)

    for name in deps:
        if name not in state:
            visit(name, [name])
    return order, cycles
