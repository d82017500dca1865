"""Lowering: the author's model into flat variables and lookup tables.

A grid becomes one variable per item (``q8`` + ``a`` = ``q8a``), a specify
option becomes a text variable, a recode becomes a lookup table, and every
variable gets one record of what it holds (codes, labels, missing codes,
range). Generators and checks read these instead of re-deriving them.

The records themselves live in ``variables`` (shared with ``expr``); they are
re-exported here, where most readers look for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from kvpspec import model as m
from kvpspec.model import walk_items as walk_items
from kvpspec.semantics import rosters
from kvpspec.semantics.expr import TypeChecker
from kvpspec.semantics.variables import DATA_ROLES as DATA_ROLES
from kvpspec.semantics.variables import RecodeTable as RecodeTable
from kvpspec.semantics.variables import Role as Role
from kvpspec.semantics.variables import ValueKind as ValueKind
from kvpspec.semantics.variables import Variable as Variable
from kvpspec.semantics.variables import VariableType as VariableType
from kvpspec.semantics.variables import computation_order as computation_order
from kvpspec.semantics.variables import dependencies as dependencies
from kvpspec.semantics.variables import expr_refs as expr_refs
from kvpspec.semantics.variables import matches as matches
from kvpspec.semantics.variables import missing_kinds as missing_kinds
from kvpspec.semantics.variables import recode_table as recode_table
from kvpspec.semantics.variables import recode_variable as recode_variable

T = TypeVar("T")


def applied_name(recode: str, variable: str) -> str:
    """The name of a scale recode applied to a variable: ``enig2(q10a)`` is ``q10a_enig2``."""
    return f"{variable}_{recode}"


def intro_names(spec: m.Spec) -> set[str]:
    """The names asked in the intro (screeners): its questions, grids and specify texts."""
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


class MemoKey(Generic[T]):
    """Names one fact derived from a lowered spec; ``T`` is the fact's type."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"MemoKey({self.name!r})"


class Memo:
    """Facts derived from a lowered spec (routing slots, positions, ...), computed once.

    Keyed by ``MemoKey`` objects that carry the fact's type, so mypy checks every use.
    """

    def __init__(self) -> None:
        self._values: dict[MemoKey[Any], Any] = {}

    def find(self, key: MemoKey[T]) -> T | None:
        """The fact if it was stored, else ``None``."""
        value: T | None = self._values.get(key)
        return value

    def store(self, key: MemoKey[T], value: T) -> T:
        """Keep ``value`` as the fact named by ``key``; returns it."""
        self._values[key] = value
        return value


@dataclass
class Lowered:
    """The lowered spec: scales and recodes by name, and the variable table."""

    spec: m.Spec
    scales: dict[str, m.Scale]
    variables: dict[str, Variable] = field(default_factory=dict)
    recodes: dict[str, m.Recode] = field(default_factory=dict)
    #: derived facts computed once per spec (routing slots, positions)
    memo: Memo = field(default_factory=Memo, repr=False, compare=False)
    #: the interview's items with every roster unrolled (``rosters.unroll``): what routing reads
    items: tuple[m.Item, ...] = ()
    #: ids of the ``if COUNT >= i`` blocks unrolling made
    roster_guards: set[int] = field(default_factory=set)
    #: every column unrolled from a roster: its innermost roster and iterations
    columns: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    #: every roster by name (nested ones included), as the author wrote it
    rosters: dict[str, m.Roster] = field(default_factory=dict)
    #: the spec as written (``spec`` has aggregates over rosters in the list form)
    source: m.Spec | None = None

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
        if q.read is None and q.scale is not None and q.scale in self.scales:
            return self.scales[q.scale].read
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


def question_kind(q: m.Question) -> m.QuestionKind:
    """A question's kind; a question without one is single choice."""
    if q.kind:
        return q.kind
    return "single"


def lower(spec: m.Spec) -> Lowered:
    """Build the variable table. Tolerates errors: checks report them."""
    scales: dict[str, m.Scale] = {}
    for s in spec.scales:
        scales.setdefault(s.name, s)
    items = spec.interview.items if spec.interview else ()
    low = Lowered(spec, scales, items=items, source=spec)
    origin: dict[str, rosters.Origin] = {}
    if rosters.has_rosters(spec):
        unrolled = rosters.unroll(items)
        low.items, low.roster_guards, origin = unrolled.items, unrolled.guards, unrolled.origin
        low.columns = origin
        low.rosters = rosters.rosters(items)
        spec = low.spec = rosters.expand_spec(spec, rosters.outer_rosters(items))
    for r in spec.recodes:
        low.recodes.setdefault(r.name, r)
    screener = intro_names(spec)
    variables = low.variables

    def add(v: Variable) -> None:
        variables.setdefault(v.name, v)

    if spec.interview:
        for item in walk_items(low.items):
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

    if origin:
        for name, (roster, iteration) in origin.items():
            var = variables.get(name)
            if var is not None:
                variables[name] = replace(var, roster=roster, iteration=iteration)

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
                    exclusive=frozenset(o.code for o in options if o.exclusive),
                )
            )
            for o in options:
                if o.specify:
                    add(_specify_variable(o, f.name, "sample", f.personal))
    _type_derives(low)
    return low


def _type_derives(low: Lowered) -> None:
    """Give derived variables the kind of value their expression yields."""
    order, _ = computation_order(low.spec)
    derives = {d.name: d for d in low.spec.derives}
    for name in order:
        d = derives.get(name)
        var = low.variables.get(name)
        if d is None or var is None or var.node is not d:
            continue
        checker = TypeChecker(lambda *_: None, lambda ref: low.variables.get(ref.name), low.recodes)
        t = checker.infer(d.expr)
        kind: ValueKind = t.value_kind()
        # a derive that copies a variable (`derive d = q3`, `derive e = enig2(q10a)`)
        # keeps its codes and missing codes: 99 stays "don't know", never a number
        values = t.var.values if kind in ("code", "number") and t.var is not None else ()
        missing = t.var.missing if kind in ("code", "number") and t.var is not None else ()
        low.variables[name] = replace(var, value_kind=kind, values=values, missing=missing)


def _value_kind(kind: str) -> ValueKind:
    if kind in ("integer", "decimal"):
        return "number"
    return "text" if kind == "text" else "code"


def _lower_question(low: Lowered, q: m.Question, add: Callable[[Variable], None], role: Role) -> None:
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


def _specify_variable(o: m.Option, parent: str, role: Role, personal: bool = False) -> Variable:
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


def analysis_terms(a: m.Analysis) -> Iterator[m.Term]:
    """The terms an analysis tabulates, in order."""
    for s in a.statements:
        if isinstance(s, (m.Frequencies, m.Summary)):
            yield from s.terms
        elif isinstance(s, m.Crosstab):
            yield s.row
            yield s.column


def recodes_in_order(low: Lowered) -> list[Variable]:
    """The recoded variables in the order that computes sources first, then any the
    order leaves out (in a cycle) as declared: the one order for every place that
    computes recodes (the labelled exports, analysis.py)."""
    order, _ = computation_order(low.spec)
    variables = low.variables
    recodes = [variables[n] for n in order if n in variables and variables[n].role == "recode"]
    recodes += [v for v in variables.values() if v.role == "recode" and v.name not in order]
    return recodes
