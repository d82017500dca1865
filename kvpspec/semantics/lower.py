"""Lowering: the author's model into flat variables and lookup tables.

A grid becomes one variable per item (``q8`` + ``a`` = ``q8a``), a specify
option becomes a text variable, a recode becomes a lookup table, and every
variable gets one record of what it holds (codes, labels, missing codes,
range). Generators and checks read these instead of re-deriving them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from kvpspec import model as m

#: Roles of the variables that are columns of the response data: the respondent
#: id, questions, grid items and specify texts (not recodes, derived variables,
#: sample fields or the intro's questions).
DATA_ROLES = ("id", "question", "item", "specify")

#: The codebook types of the design.
VariableType = str  # "single" | "multiple" | "integer" | "decimal" | "text" | "derived"


@dataclass(frozen=True)
class Variable:
    """One column of the data (or of the sample file, for ``role == "sample"``)."""

    name: str
    label: m.Text
    type: VariableType
    role: str  # question, item, specify, recode, derive, sample, screener
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
    value_kind: str = "code"
    read: frozenset[int] = frozenset()
    #: codes of ``exclusive`` options (multiple choice): chosen alone or not at all
    exclusive: frozenset[int] = frozenset()

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


def applied_name(recode: str, variable: str) -> str:
    """The name of a scale recode applied to a variable: ``enig2(q10a)`` is ``q10a_enig2``."""
    return f"{variable}_{recode}"


def walk_items(items: tuple[m.Item, ...] | None) -> Iterator[m.Item]:
    """Every interview item in document order, blocks entered."""
    for item in items or ():
        yield item
        if isinstance(item, (m.Section, m.Intro, m.Closing)):
            yield from walk_items(item.items)
        elif isinstance(item, m.IfBlock):
            yield from walk_items(item.then)
            yield from walk_items(item.otherwise)


def intro_names(spec: m.Spec) -> set[str]:
    names: set[str] = set()
    if spec.interview:
        for item in walk_items(spec.interview.items):
            if isinstance(item, m.Intro):
                for sub in walk_items(item.items):
                    if isinstance(sub, (m.Question, m.Grid)):
                        names.add(sub.name)
                        if isinstance(sub, m.Question):
                            names.update(o.specify.name for o in sub.options if o.specify)
    return names


@dataclass
class Lowered:
    spec: m.Spec
    scales: dict[str, m.Scale]
    variables: dict[str, Variable] = field(default_factory=dict)
    recodes: dict[str, m.Recode] = field(default_factory=dict)
    #: derived facts computed once per spec (routing slots, positions)
    cache: dict[str, Any] = field(default_factory=dict)

    def question_options(self, q: m.Question | m.Grid) -> tuple[m.Option, ...]:
        if isinstance(q, m.Question) and q.options and not q.scale:
            return q.options
        scale = self.scales.get(q.scale or "")
        if scale is None:
            return q.options if isinstance(q, m.Question) else ()
        if isinstance(q, m.Question) and q.options:
            return q.options
        return scale.options

    def read_marking(self, q: m.Question | m.Grid) -> m.ReadAloud | None:
        """The read-aloud marking that applies: the question's own ``read``, else its
        scale's default; ``None`` when nothing is marked (unlike ``read none``)."""
        if q.read is None and q.scale in self.scales:
            return self.scales[q.scale].read  # type: ignore[index]
        return q.read

    def read_codes(self, q: m.Question | m.Grid) -> frozenset[int]:
        """The codes read aloud (empty both for no marking and for ``read none``)."""
        read = self.read_marking(q)
        return frozenset(read.codes()) if read is not None else frozenset()

    def codebook_variables(self) -> list[Variable]:
        """The codebook's variables: response data, derived and sample fields."""
        return [v for v in self.variables.values() if v.role != "screener"]

    def response_variables(self) -> list[Variable]:
        """The columns of the response data, in codebook order (``DATA_ROLES``)."""
        return [v for v in self.variables.values() if v.role in DATA_ROLES]


def question_kind(q: m.Question) -> str:
    if q.kind:
        return q.kind
    return "single"


def lower(spec: m.Spec) -> Lowered:
    """Build the variable table. Tolerates errors: checks report them."""
    scales = {}
    for s in spec.scales:
        scales.setdefault(s.name, s)
    low = Lowered(spec, scales)
    for r in spec.recodes:
        low.recodes.setdefault(r.name, r)
    screener = intro_names(spec)
    variables = low.variables

    def add(v: Variable) -> None:
        variables.setdefault(v.name, v)

    if spec.interview:
        for item in walk_items(spec.interview.items):
            if isinstance(item, m.Question):
                _lower_question(low, item, add, "screener" if item.name in screener else "question")
            elif isinstance(item, m.Grid):
                options = low.question_options(item)
                read = low.read_codes(item)
                for gi in item.items:
                    add(
                        Variable(
                            name=item.name + gi.name,
                            label=gi.label,
                            type="single",
                            role="screener" if item.name in screener else "item",
                            node=gi,
                            values=tuple((o.code, o.label) for o in options),
                            missing=tuple((o.code, o.missing) for o in options if o.missing),
                            read=read,
                        )
                    )

    if spec.respondent is not None:
        rid = spec.respondent
        variables_before = dict(variables)
        variables.clear()
        variables[rid.name] = Variable(
            name=rid.name, label=rid.label, type=rid.kind, role="id", node=rid,
            value_kind="number" if rid.kind == "integer" else "text",
        )
        for key, value in variables_before.items():
            variables.setdefault(key, value)
    for r in spec.recodes:
        if not r.source_is_scale:
            add(recode_variable(r, r.name, r.source, r))
    for d in spec.derives:
        add(
            Variable(
                name=d.name,
                label=d.label or m.Text.build(text=d.name, translations={}),
                type="derived",
                role="derive",
                node=d,
                value_kind="number",
            )
        )
    # scale recodes applied in analyses become variables of their own
    for a in spec.analyses:
        for term in analysis_terms(a):
            if term.recode and term.recode in low.recodes:
                r = low.recodes[term.recode]
                var = recode_variable(r, applied_name(r.name, term.name), term.name, term)
                source = variables.get(term.name)
                if source is not None:
                    # "Dette tiltaket virker positivt for meg (Helt/delvis enig eller uenig)"
                    joined = {
                        lang: f"{source.label.get(lang)} ({var.label.get(lang)})"
                        for lang in set(source.label.translations) | set(var.label.translations)
                    }
                    text = m.Text.build(
                        text=f"{source.label.text} ({var.label.text})", translations=joined
                    )
                    var = replace(var, label=text)
                add(var)
    if spec.fieldwork:
        for f in spec.fieldwork.sample:
            options = f.options
            if not options and f.name == "disposition":
                options = tuple(
                    m.Option.build(
                        code=d.code, label=d.label, missing=None, specify=None, goto=None, end=None,
                        exclusive=False, span=d.span,
                    )
                    for d in spec.fieldwork.dispositions
                )
            kind = f.kind or ("single" if options else "text")
            add(
                Variable(
                    name=f.name,
                    label=f.label,
                    type=kind,
                    role="sample",
                    node=f,
                    values=tuple((o.code, o.label) for o in options),
                    missing=tuple((o.code, o.missing) for o in options if o.missing),
                    personal=f.personal,
                    value_kind=_value_kind(kind),
                )
            )
            for o in options:
                if o.specify:
                    add(_specify_variable(o, f.name, "sample", f.personal))
    _type_derives(low)
    return low


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
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[name] = 2
        order.append(name)

    for name in deps:
        if name not in state:
            visit(name, [name])
    return order, cycles


def _type_derives(low: Lowered) -> None:
    """Give derived variables the kind of value their expression yields."""
    from kvpspec.semantics.expr import TypeChecker  # expr imports this module

    order, _ = computation_order(low.spec)
    derives = {d.name: d for d in low.spec.derives}
    for name in order:
        d = derives.get(name)
        var = low.variables.get(name)
        if d is None or var is None or var.node is not d:
            continue
        checker = TypeChecker(lambda *_: None, lambda ref: low.variables.get(ref.name), low.recodes)
        t = checker.infer(d.expr)
        kind = {"number": "number", "text": "text", "bool": "bool", "code": "code"}.get(t.kind, "number")
        # a derive that copies a variable (`derive d = q3`, `derive e = enig2(q10a)`)
        # keeps its codes and missing codes: 99 stays "don't know", never a number
        values = t.var.values if kind in ("code", "number") and t.var is not None else ()
        missing = t.var.missing if kind in ("code", "number") and t.var is not None else ()
        low.variables[name] = replace(var, value_kind=kind, values=values, missing=missing)


def _value_kind(kind: str) -> str:
    return {"integer": "number", "decimal": "number", "text": "text"}.get(kind, "code")


def _lower_question(low: Lowered, q: m.Question, add, role: str) -> None:
    kind = question_kind(q)
    options = low.question_options(q)
    values = tuple((o.code, o.label) for o in options)
    missing = tuple((o.code, o.missing) for o in options if o.missing)
    add(
        Variable(
            name=q.name,
            label=q.label,
            type=kind,
            role=role,
            node=q,
            values=values,
            missing=missing,
            min=q.range.low if q.range else None,
            max=q.range.high if q.range else None,
            value_kind=_value_kind(kind),
            read=low.read_codes(q),
            exclusive=frozenset(o.code for o in options if o.exclusive),
        )
    )
    for o in options:
        if o.specify:
            add(_specify_variable(o, q.name, "screener" if role == "screener" else "specify"))


def _specify_variable(o: m.Option, parent: str, role: str, personal: bool = False) -> Variable:
    """The text variable of an 'other, specify' option."""
    assert o.specify is not None
    return Variable(
        name=o.specify.name,
        label=o.specify.label or o.label,
        type="text",
        role=role,
        node=o.specify,
        personal=personal,
        parent=parent,
        parent_code=o.code,
        value_kind="text",
    )


def recode_variable(r: m.Recode, name: str, source: str, node: m.Node) -> Variable:
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
    e: m.Expr, variables: dict[str, Variable] | Any, recodes: dict[str, m.Recode] | Any
) -> dict[int, str]:
    """The missing codes (code -> kind) of what an expression reads: a variable, or
    a recode applied to one (``enig2(q10a)``); nothing for other expressions."""
    if isinstance(e, m.Ref) and e.name in variables:
        return dict(variables[e.name].missing)
    if isinstance(e, m.Call) and e.func in recodes:
        return {rule.code: rule.missing for rule in recodes[e.func].rules if rule.missing}
    return {}


def analysis_terms(a: m.Analysis) -> Iterator[m.Term]:
    for s in a.statements:
        if isinstance(s, (m.Frequencies, m.Summary)):
            yield from s.terms
        elif isinstance(s, m.Crosstab):
            yield s.row
            yield s.column


@dataclass(frozen=True)
class RecodeTable:
    """A recode as a lookup: code for each source value, in rule order."""

    recode: str
    #: (ValueSpec, target code) pairs, tried in order; ``else`` last
    rules: tuple[tuple[m.ValueSpec, int], ...]
    #: the source's missing codes: ranges do not reach them, single values do
    missing: frozenset[int | float] = frozenset()

    def lookup(self, value: int | float | None) -> int | None:
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


def matches(spec: m.ValueSpec, value: int | float, is_missing: bool) -> bool:
    """Does a recode value item take this value? Ranges take substantive values only."""
    if spec.kind == "single":
        return value == spec.low
    if spec.kind in ("range", "upto", "from"):
        return not is_missing and spec.contains(value)
    return spec.kind == "else"


def recode_table(r: m.Recode, missing: frozenset[int | float] = frozenset()) -> RecodeTable:
    return RecodeTable(r.name, tuple((v, rule.code) for rule in r.rules for v in rule.values), missing)
