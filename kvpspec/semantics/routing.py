"""The routing graph and its one meaning: when is each question asked?

Items are asked in document order. ``if`` blocks and ``ask if`` make them
conditional; an option's ``goto X`` skips every item between its question and
X; an option's ``end N`` skips everything after its question. Because gotos
only jump forward, a question is asked exactly when its *guard* holds:

    guard = (enclosing if-conditions) and (its own ask-if)
            and not (Q in C) for every goto or end of an earlier Q that jumps over it

The guard is an ordinary expression of the language, so every rendering (the
script's "GÅ TIL", the validator, JSON Schema, the strategies) reads this one
definition. An interview in the response data has passed the intro, so the
intro's early ends do not enter the guards of the questions after it.

``steps`` lists the variables in interview order with their guards; ``Walk``
is the one walker that follows an interview through them (and stops at an
``end``), used by the Hypothesis strategies and the property tests; the
simulator applies its rule to whole columns. The static analysis and the
route enumeration below follow every route at once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kvpspec import model as m
from kvpspec.semantics.expr import Evaluator, _show
from kvpspec.semantics.lower import Lowered, MemoKey, Variable, expr_refs


@dataclass(frozen=True)
class Slot:
    """A question or grid at its place in the interview."""

    item: m.Question | m.Grid
    index: int
    guard: m.Expr | None
    in_intro: bool
    #: the variables it asks (a grid asks one per item)
    names: tuple[str, ...]
    #: the terms of the guard with where each comes from: ``("if", block)``,
    #: ``("else", block)``, ``("ask", item)``, ``("goto", question)`` or
    #: ``("end", question)``; the guard is their conjunction
    terms: tuple[tuple[m.Expr, str, m.Node], ...] = ()


@dataclass(frozen=True)
class _Flat:
    item: m.Item
    index: int
    conds: tuple[m.Expr, ...]
    in_intro: bool
    depth_path: tuple[int, ...]  # ids of the enclosing conditional blocks (if / else)
    #: for each of ``conds``: ("if" | "else", the block)
    blocks: tuple[tuple[str, m.IfBlock], ...] = ()


def _neg(e: m.Expr) -> m.Expr:
    """``e`` does not hold (false or UNKNOWN): an `else` block, a goto's or an end's skip."""
    return m.Unary.build(op="not", operand=e, holds=True)


def _and(terms: list[m.Expr]) -> m.Expr | None:
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    return m.BoolOp.build(op="and", operands=tuple(terms))


def code_in(name: str, codes: list[int]) -> m.Expr:
    """``name == c`` for one code, ``name in [a, b]`` for several."""
    ref = m.Ref.build(name=name)
    if len(codes) == 1:
        return m.Compare.build(
            op="==", left=ref, right=m.Literal_.build(value=codes[0])
        )
    values = tuple(m.ValueSpec.build(kind="single", low=c, high=c) for c in codes)
    return m.In.build(operand=ref, values=values, negated=False)


def flatten(items: tuple[m.Item, ...]) -> list[_Flat]:
    out: list[_Flat] = []

    def visit(items, conds, in_intro, path, blocks):
        for item in items or ():
            out.append(_Flat(item, len(out), tuple(conds), in_intro, path, tuple(blocks)))
            if isinstance(item, m.Intro):
                visit(item.items, conds, True, path, blocks)
            elif isinstance(item, (m.Section, m.Closing)):
                visit(item.items, conds, in_intro, path, blocks)
            elif isinstance(item, m.IfBlock):
                visit(item.then, conds + [item.condition], in_intro, path + (id(item),), blocks + [("if", item)])
                if item.otherwise is not None:
                    visit(
                        item.otherwise, conds + [_neg(item.condition)], in_intro, path + (id(item), 1),
                        blocks + [("else", item)],
                    )

    visit(items, [], False, (), [])
    return out


def goto_targets(flat: list[_Flat]) -> dict[str, _Flat]:
    """Where a goto may land: any item that names something, by name."""
    out: dict[str, _Flat] = {}
    for f in flat:
        if isinstance(f.item, (m.Question, m.Grid)):
            out.setdefault(f.item.name, f)
    return out


def slots(low: Lowered) -> list[Slot]:
    """Every question and grid with the guard under which it is asked (computed once)."""
    cached = low.memo.find(_SLOTS)
    if cached is None:
        cached = low.memo.store(_SLOTS, _slots(low))
    return cached


_SLOTS: MemoKey[list[Slot]] = MemoKey("slots")


def _skips(low: Lowered, flat: list[_Flat]) -> list[list[tuple[m.Expr, str, m.Node]]]:
    """For each item of ``flat``: the terms of the gotos and ends that jump over it."""
    targets = goto_targets(flat)
    skips: list[list[tuple[m.Expr, str, m.Node]]] = [[] for _ in flat]
    for f in flat:
        item = f.item
        if not isinstance(item, m.Question):
            continue
        options = low.question_options(item)
        by_target: dict[str, list[int]] = {}
        ends: list[int] = []
        for o in options:
            if o.goto:
                by_target.setdefault(o.goto, []).append(o.code)
            if o.end is not None:
                ends.append(o.code)
        for target, codes in by_target.items():
            t = targets.get(target)
            if t is None or t.index <= f.index:
                continue  # reported by checks
            term = _neg(code_in(item.name, codes))
            for k in range(f.index + 1, t.index):
                skips[k].append((term, "goto", item))
        if ends:
            term = _neg(code_in(item.name, ends))
            for k in range(f.index + 1, len(flat)):
                if f.in_intro and not flat[k].in_intro:
                    break  # data rows have passed the intro
                skips[k].append((term, "end", item))
    return skips


def text_guards(low: Lowered) -> dict[int, m.Expr | None]:
    """For each text of the script (``say``, ``instruction``, ``heading``), by its
    index in ``flatten(low.items)``: when it is read, by the rule of the
    questions' guards (its ``if`` blocks, and no goto or end jumps over it)."""
    flat = flatten(low.items)
    skips = _skips(low, flat)
    out: dict[int, m.Expr | None] = {}
    for f in flat:
        if isinstance(f.item, (m.Say, m.Instruction, m.Heading)):
            out[f.index] = _and(list(f.conds) + [t for t, _, _ in skips[f.index]])
    return out


def _slots(low: Lowered) -> list[Slot]:
    spec = low.spec
    if spec.interview is None:
        return []
    flat = flatten(low.items)
    skips = _skips(low, flat)
    out: list[Slot] = []
    for f in flat:
        item = f.item
        if not isinstance(item, (m.Question, m.Grid)):
            continue
        origins: list[tuple[m.Expr, str, m.Node]] = [
            (cond, kind, block) for cond, (kind, block) in zip(f.conds, f.blocks)
        ]
        if item.condition is not None:
            origins.append((item.condition, "ask", item))
        origins.extend(skips[f.index])
        terms = [t for t, _, _ in origins]
        if isinstance(item, m.Grid):
            names = tuple(item.name + gi.name for gi in item.items)
        else:
            names = (item.name,)
        out.append(Slot(item, f.index, _and(terms), f.in_intro, names, tuple(origins)))
    return out


def asked_conditions(low: Lowered) -> dict[str, m.Expr | None]:
    """For every interview variable, the condition under which it holds an answer.

    ``None`` means always asked. A specify text is asked when its question is
    asked and the option that asks for it is chosen.
    """
    out: dict[str, m.Expr | None] = {}
    for slot in slots(low):
        for name in slot.names:
            out[name] = slot.guard
    for v in low.variables.values():
        if v.role == "specify" and v.parent in out:
            out[v.name] = specify_condition(out[v.parent], v.parent, v.parent_code)  # type: ignore[arg-type]
    return out


def specify_condition(parent_guard: m.Expr | None, parent: str, code: int) -> m.Expr:
    """A specify text is asked when its question is asked and its option chosen."""
    term = code_in(parent, [code])
    return _and([parent_guard, term] if parent_guard is not None else [term])  # type: ignore[return-value]


def positions(low: Lowered) -> dict[str, int]:
    """The interview position of every asked variable (for forward references)."""
    cached = low.memo.find(_POSITIONS)
    if cached is not None:
        return cached
    out = low.memo.store(_POSITIONS, {})
    for slot in slots(low):
        for name in slot.names:
            out.setdefault(name, slot.index)
    for v in low.variables.values():
        if v.parent in out and v.role in ("specify", "screener"):
            out.setdefault(v.name, out[v.parent])
    return out


_POSITIONS: MemoKey[dict[str, int]] = MemoKey("positions")


def iter_conditions(items: tuple[m.Item, ...] | None) -> Iterator[tuple[m.Question | m.Grid | m.IfBlock, m.Expr]]:
    """Each written condition with the item it stands on (if-blocks and ask-ifs)."""
    for item in items or ():
        if isinstance(item, (m.Question, m.Grid)) and item.condition is not None:
            yield item, item.condition
        if isinstance(item, m.IfBlock):
            yield item, item.condition
            yield from iter_conditions(item.then)
            yield from iter_conditions(item.otherwise)
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            yield from iter_conditions(item.items)


# ================================================================ static analysis
#
# Conditions read earlier questions (codes, ranges plus missing codes, or "not
# asked") and sample fields, so routing is a finite problem. Each variable gets
# representative values: one per class of values that the spec's conditions can
# tell apart (for `q11 < 25` on range 18..67: 18, 24, 25, 26, 67). Conditions are
# evaluated on those values by the one interpreter, ``expr.Evaluator``.
#
# ``analyse`` is what ``kvpspec check`` runs: one forward pass that keeps, for
# each variable, the values it can hold in some interview (``None`` when it can
# be skipped). It ignores correlations between different variables, so it
# over-approximates: what it calls unreachable or always true is so in every
# interview, and it is linear in the size of the spec. ``enumerate_routes`` is
# exact (it follows every route, merging interviews that routing can no longer
# tell apart) and bounded; ``kvpspec test`` runs it.

#: Most combinations of representative values tried for one condition.
MAX_COMBINATIONS = 4096


@dataclass(frozen=True)
class Domain:
    """Representative values of a variable, ``None`` (not asked) left out.

    ``exact``: every class of values that the spec's conditions can tell apart
    has a representative, so trying them all decides a condition.
    """

    values: tuple[Any, ...]
    exact: bool = True


def collect_literals(exprs: Iterable[m.Expr]) -> tuple[dict[str, set], set[str]]:
    """For each variable, the literals it is compared with; and the variables
    that occur in anything else (arithmetic, comparisons of two variables)."""
    literals: dict[str, set] = {}
    complex_: set[str] = set()

    def visit(e: m.Expr) -> None:
        if isinstance(e, m.Compare):
            if isinstance(e.left, m.Ref) and isinstance(e.right, m.Literal_):
                literals.setdefault(e.left.name, set()).add(e.right.value)
                return
            if isinstance(e.right, m.Ref) and isinstance(e.left, m.Literal_):
                literals.setdefault(e.right.name, set()).add(e.left.value)
                return
        elif isinstance(e, m.In) and isinstance(e.operand, m.Ref):
            bag = literals.setdefault(e.operand.name, set())
            for v in e.values:
                for x in (v.low, v.high, v.text):
                    if x is not None:
                        bag.add(x)
            return
        elif isinstance(e, m.Test) and isinstance(e.operand, m.Ref):
            return
        elif isinstance(e, m.BoolOp):
            for op in e.operands:
                visit(op)
            return
        elif isinstance(e, m.Unary) and e.op == "not":
            visit(e.operand)
            return
        elif isinstance(e, m.Literal_):
            return
        complex_.update(expr_refs(e))

    for e in exprs:
        if e is not None:
            visit(e)
    return literals, complex_


def value_domain(low: Lowered, var: Variable, literals: Iterable[Any] = (), complex_: bool = False) -> Domain:
    """Representative values of ``var`` for conditions that use ``literals``."""
    lits = [x for x in literals if not isinstance(x, bool)]
    if var.type == "multiple":
        exclusive = [c for c in var.codes if c in var.exclusive]
        normal = [c for c in var.codes if c not in exclusive]
        if len(normal) <= 6:
            subsets = [
                frozenset(c for j, c in enumerate(normal) if mask >> j & 1) for mask in range(1, 1 << len(normal))
            ]
            exact = True
        else:
            full = frozenset(normal)
            subsets = [frozenset([c]) for c in normal] + [full] + [full - {c} for c in normal]
            exact = False
        return Domain(tuple(subsets) + tuple(frozenset([c]) for c in exclusive), exact)
    if var.value_kind == "text":
        texts = sorted({x for x in lits if isinstance(x, str)})
        fresh = "x"
        while fresh in texts:
            fresh += "x"
        return Domain(tuple(texts) + (fresh,), True)
    if var.value_kind == "code":
        if var.values:
            return Domain(var.codes, True)
        return Domain((0,), False)
    # numbers
    missing = sorted(var.missing_codes)
    lo, hi = var.min, var.max
    integer = var.type == "integer" or (
        var.type != "decimal" and all(isinstance(x, int) for x in (lo, hi, *lits) if x is not None and not isinstance(x, str))
    )
    points = sorted({x for x in lits if isinstance(x, (int, float))})

    def inside(x: float) -> bool:
        return (lo is None or x >= lo) and (hi is None or x <= hi) and x not in var.missing_codes

    if complex_:
        if integer and lo is not None and hi is not None and hi - lo <= 200:
            return Domain(tuple(range(int(lo), int(hi) + 1)) + tuple(missing), True)
        exact = False
    else:
        exact = True
    cands: set[float] = {x for x in (lo, hi) if x is not None}
    if integer:
        for p in points:
            for q in {math.floor(p), math.ceil(p)}:
                cands.update((q - 1, q, q + 1))
        cands = {int(x) for x in cands}
    else:
        bounds = sorted(set(points) | cands)
        cands.update(bounds)
        cands.update((a + b) / 2 for a, b in itertools.pairwise(bounds))
        if bounds:
            cands.update((bounds[0] - 1, bounds[-1] + 1))
    if not cands:
        cands = {0}
    values = [x for x in sorted(cands) if inside(x)]
    if not values and lo is not None:
        values = [lo]
    return Domain(tuple(values) + tuple(missing), exact)


@dataclass(frozen=True)
class Finding:
    """A fact about routing worth telling the author, with where to point."""

    code: str  # unreachable | always-true | always-false
    node: m.Node
    message: str


@dataclass
class RoutingFacts:
    """What the forward pass knows about every variable of the interview."""

    #: representative values each variable can hold in some interview; ``None``: not asked
    possible: dict[str, tuple[Any, ...]]
    #: the representative values of each variable, when asked
    domains: dict[str, Domain]
    findings: list[Finding]
    #: variables never asked, asked in every interview, or not decided statically
    never: set[str]
    always: set[str]
    undecided: set[str]


def _components(terms: list[m.Expr]) -> list[list[int]]:
    """Terms that share no variable can be decided one group at a time."""
    refs = [set(expr_refs(t)) for t in terms]
    parent = list(range(len(terms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, names in enumerate(refs):
        for name in names:
            if name in owner:
                parent[find(i)] = find(owner[name])
            else:
                owner[name] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(terms)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


class _Decider:
    """Decides conjunctions of conditions over the possible values of their variables."""

    def __init__(self, low: Lowered, possible: dict[str, tuple[Any, ...]], exact: dict[str, bool], limit: int):
        self.ev = Evaluator(low.variables)
        self.possible = possible
        self.exact = exact
        self.limit = limit
        self.memo: dict[tuple, tuple[bool, bool] | None] = {}
        #: for each variable asked by a slot, the ids of its guard terms
        self.guard_ids: dict[str, frozenset[int]] = {}
        self._alive: list[list[m.Expr]] = []

    def combos(self, names: list[str], asked: frozenset[str] = frozenset()):
        """Every record over ``names``, or None when unknown or too many.

        ``asked``: variables surely asked in the context, so never without a value.
        """
        total = 1
        pools = []
        for n in names:
            vals = self.possible.get(n)
            if vals is None or not self.exact.get(n, False):
                return None
            if n in asked:
                vals = tuple(v for v in vals if v is not None)
            pools.append(vals)
            total *= max(len(vals), 1)
            if total > self.limit:
                return None
        return (dict(zip(names, combo)) for combo in itertools.product(*pools))

    def surely_asked(self, terms: list[m.Expr], context: frozenset[int]) -> frozenset[str]:
        """Variables read by ``terms`` whose every guard term holds in ``context``
        (term ids): wherever the context holds, they have been asked."""
        out = set()
        for t in terms:
            for n in expr_refs(t):
                ids = self.guard_ids.get(n)
                if ids is not None and ids <= context:
                    out.add(n)
        return frozenset(out)

    def outcomes(self, terms: list[m.Expr], context: frozenset[int] = frozenset()) -> tuple[bool, bool] | None:
        """(can be true, can be false) of the conjunction, or None when unknown."""
        asked = self.surely_asked(terms, context) if context else frozenset()
        key = (tuple(id(t) for t in terms), asked)
        if key in self.memo:
            return self.memo[key]
        out = self.memo[key] = self._outcomes(terms, asked)
        self._alive.append(terms)  # ids stay unique while memoised
        return out

    def _outcomes(self, terms: list[m.Expr], asked: frozenset[str] = frozenset()) -> tuple[bool, bool] | None:
        names = sorted({n for t in terms for n in expr_refs(t)})
        records = self.combos(names, asked)
        if records is None:
            return None
        can_true = can_false = False
        try:
            for rec in records:
                if all(self.ev.truth(t, rec) for t in terms):
                    can_true = True
                else:
                    can_false = True
                if can_true and can_false:
                    break
        except (TypeError, ValueError):
            return None
        return can_true, can_false

    def decide(self, terms: list[m.Expr]) -> tuple[bool, bool, int | None, list[int], bool]:
        """(can be true, can be false, index of the term that blocks it, the terms
        before it that it contradicts, decided) of ``and(terms)``."""
        if not terms:
            return True, False, None, [], True
        context = frozenset(id(t) for t in terms)
        can_true, can_false, blocking, before, known = True, False, None, [], True
        for comp in (_components(terms) if len(terms) > 1 else [[0]]):
            out = self.outcomes([terms[i] for i in comp], context)
            if out is None:
                can_false = True
                known = False
                continue
            ct, cf = out
            can_false = can_false or cf
            if not ct and can_true:
                can_true = False
                for k in range(1, len(comp) + 1):
                    sub = self.outcomes([terms[i] for i in comp[:k]], context)
                    if sub is not None and not sub[0]:
                        blocking, before = comp[k - 1], comp[: k - 1]
                        break
        return can_true, can_false, blocking, before, known


def analyse(low: Lowered, limit: int = MAX_COMBINATIONS) -> RoutingFacts:
    """The static facts of routing: unreachable questions, always true or false conditions."""
    cached = low.memo.find(_ROUTING_FACTS)
    if cached is not None:
        return cached
    all_slots = slots(low)
    conditions = asked_conditions(low)
    guards = [c for c in conditions.values() if c is not None]
    literals, complex_ = collect_literals(guards)
    read = set(_refs_of(guards))
    domains = {
        name: value_domain(low, low.variables[name], literals.get(name, ()), name in complex_)
        for name in read
        if name in low.variables
    }
    exact = {name: d.exact for name, d in domains.items()}
    possible: dict[str, tuple[Any, ...]] = {}
    for name in read:
        var = low.variables.get(name)
        if var is not None and var.role == "sample":
            possible[name] = domains[name].values + (None,)
    decider = _Decider(low, possible, exact, limit)
    never: set[str] = set()
    always: set[str] = set()
    undecided: set[str] = set()
    blocked: list[tuple[Slot, int | None, list[int]]] = []

    for slot in all_slots:
        terms = [t for t, _, _ in slot.terms] if slot.terms else ([slot.guard] if slot.guard is not None else [])
        can_true, can_false, blocking, before, known = decider.decide(terms)
        ids = frozenset(id(t) for t in terms)
        for name in slot.names:
            decider.guard_ids[name] = ids
            if name in read:
                dom = domains[name]
                possible[name] = (dom.values if can_true else ()) + ((None,) if can_false else ())
        if not can_true:
            never.update(slot.names)
            blocked.append((slot, blocking, before))
        elif not can_false:
            always.update(slot.names)
        elif not known:
            undecided.update(slot.names)
        if isinstance(slot.item, m.Question):
            for o in low.question_options(slot.item):
                if o.specify and o.specify.name in read:
                    cond = specify_condition(slot.guard, slot.item.name, o.code)
                    out = decider.outcomes([cond]) if can_true else (False, True)
                    ct, cf = out if out is not None else (True, True)
                    possible[o.specify.name] = (domains[o.specify.name].values if ct else ()) + ((None,) if cf else ())

    # written conditions, each on its own: always true or always false wherever it stands
    findings: list[Finding] = []
    verdicts: dict[int, str] = {}
    contexts = {id(s.item): frozenset(id(t) for t, _, _ in s.terms) for s in all_slots}
    for item, cond in iter_conditions(low.items):
        if id(item) in low.roster_guards:
            continue  # a roster's `COUNT >= i`: the roster checks judge COUNT's range
        out = decider.outcomes([cond], contexts.get(id(item), frozenset()) if isinstance(item, (m.Question, m.Grid)) else frozenset())
        if out is None:
            continue
        ct, cf = out
        if not ct:
            verdicts[id(cond)] = "false"
            target = f"`{item.name}` is never asked" if isinstance(item, (m.Question, m.Grid)) else (
                "nothing in this `if` block is asked" + (" and its `else` block always is" if item.otherwise else "")
            )
            findings.append(Finding("always-false", cond, f"this condition is never true, so {target}"))
        elif not cf:
            verdicts[id(cond)] = "true"
            tail = "; its `else` block is never asked" if isinstance(item, m.IfBlock) and item.otherwise else (
                "; it can be left out"
            )
            findings.append(Finding("always-true", cond, f"this condition is true in every interview{tail}"))
    for slot, blocking, before in blocked:
        message = _blocked_message(slot, blocking, before, verdicts)
        if message is not None:
            findings.append(Finding("unreachable", slot.item, message))
    facts = RoutingFacts(possible, domains, findings, never, always, undecided)
    return low.memo.store(_ROUTING_FACTS, facts)


_ROUTING_FACTS: MemoKey[RoutingFacts] = MemoKey("routing_facts")


def _refs_of(exprs: list[m.Expr]) -> Iterator[str]:
    for e in exprs:
        yield from expr_refs(e)


def domain_of(low: Lowered, name: str) -> Domain:
    """The representative values of any variable (those routing reads come from ``analyse``)."""
    facts = analyse(low)
    dom = facts.domains.get(name)
    if dom is None:
        var = low.variables.get(name)
        dom = value_domain(low, var) if var is not None else Domain(("x",), False)
        facts.domains[name] = dom
    return dom


def _blocked_message(slot: Slot, blocking: int | None, before: list[int], verdicts: dict[int, str]) -> str | None:
    """Why a question is never asked, or None when an always-false condition says it already."""
    name = f"`{slot.item.name}` is never asked"
    if blocking is None or not slot.terms:
        return f"{name}: its routing conditions cannot all hold"
    term, kind, node = slot.terms[blocking]
    line = node.span.line if node.span else "?"
    if kind in ("ask", "if") and verdicts.get(id(term)) == "false":
        return None
    context = " and ".join(f"`{_show(slot.terms[i][0])}`" for i in before) or "the routing before it"
    if kind == "ask":
        return f"{name}: its condition `{_show(term)}` cannot hold together with {context}"
    if kind == "if":
        return f"{name}: the condition `{_show(term)}` of the `if` on line {line} cannot hold together with {context}"
    if kind == "else":
        cond = node.condition  # type: ignore[attr-defined]
        return f"{name}: it is in the `else` of the `if` on line {line}, whose condition `{_show(cond)}` always holds"
    if kind == "goto":
        return f"{name}: every interview that reaches `{node.name}` jumps past it with a `goto`"  # type: ignore[attr-defined]
    return f"{name}: every interview ends at `{node.name}` before it (`end`)"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- cycles


def backward_gotos(low: Lowered) -> list[tuple[m.Question, m.Option, list[str]]]:
    """Gotos that jump back, each with the cycle it makes (question names, first repeated)."""
    if low.spec.interview is None:
        return []
    flat = flatten(low.items)
    targets = goto_targets(flat)
    out = []
    for f in flat:
        if not isinstance(f.item, m.Question):
            continue
        for o in low.question_options(f.item):
            t = targets.get(o.goto or "")
            if t is not None and t.index <= f.index:
                names = [
                    g.item.name for g in flat[t.index : f.index + 1] if isinstance(g.item, (m.Question, m.Grid))
                ]
                out.append((f.item, o, names + [t.item.name]))  # type: ignore[union-attr]
    return out


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """One way through the interview: what is asked, in order, and how it ends."""

    #: the variables asked, in order (grid items and specify texts included)
    asked: tuple[str, ...]
    #: the disposition of an early `end`, or None when the interview ran to its end
    end: int | None
    #: True when the interview ended in the intro (it has no response data)
    in_intro: bool
    #: values of the variables routing reads that take this route
    witness: tuple[tuple[str, Any], ...]


@dataclass
class Routes:
    routes: list[Route]
    #: every route was enumerated (the counts are exact)
    complete: bool
    #: variables asked on some enumerated route
    reached: set[str]


@dataclass(frozen=True)
class Step:
    """One variable in interview order with the condition under which it is asked."""

    name: str
    guard: m.Expr | None
    slot: Slot
    #: option code -> disposition, for a question whose options end the interview
    ends: tuple[tuple[int, int], ...] = ()
    in_intro: bool = False


def steps(low: Lowered) -> list[Step]:
    """Every variable the interview asks, in order: a question, then its specify texts."""
    cached = low.memo.find(_STEPS)
    if cached is not None:
        return cached
    out: list[Step] = []
    for slot in slots(low):
        if isinstance(slot.item, m.Grid):
            out.extend(Step(n, slot.guard, slot, (), slot.in_intro) for n in slot.names)
            continue
        options = low.question_options(slot.item)
        ends = tuple((o.code, o.end) for o in options if o.end is not None)
        out.append(Step(slot.item.name, slot.guard, slot, ends, slot.in_intro))
        for o in options:
            if o.specify:
                out.append(
                    Step(o.specify.name, specify_condition(slot.guard, slot.item.name, o.code), slot, (), slot.in_intro)
                )
    return low.memo.store(_STEPS, out)


_STEPS: MemoKey[list[Step]] = MemoKey("steps")


def ended_by(step: Step, value: Any) -> int | None:
    """The disposition when this answer ends the interview."""
    if not step.ends or value is None:
        return None
    chosen = value if isinstance(value, frozenset) else (value,)
    for code, disposition in step.ends:
        if code in chosen:
            return disposition
    return None


class Walk:
    """Follows one interview through ``steps``: the one rule of routing, in order.

    A step is asked when its guard holds on the answers so far and no earlier
    answer ended the interview; an answer whose option has an ``end`` ends it
    with that disposition (``ended_by``). Iterating yields every step with
    whether it is asked; the caller puts the answer of an asked step into
    ``scope`` (the record the guards read) before taking the next step::

        walk = Walk(steps, scope, evaluator)
        for step, asked in walk:
            if asked:
                scope[step.name] = answer(step)
        walk.path, walk.end

    The forward passes over many interviews at once (``enumerate_routes``,
    ``branch_witnesses``) and the simulator's columns apply the same rule: a
    partial interview that ends leaves the pass, an ended row asks nothing more.
    """

    def __init__(self, steps: Iterable[Step], scope: Mapping[str, Any], evaluator: Evaluator) -> None:
        self.steps = steps
        self.scope = scope
        self.evaluator = evaluator
        #: the variables asked so far, in order
        self.path: list[str] = []
        #: the disposition of an early ``end``, once the interview has ended
        self.end: int | None = None

    def __iter__(self) -> Iterator[tuple[Step, bool]]:
        truth = self.evaluator.truth
        for step in self.steps:
            asked = self.end is None and truth(step.guard, self.scope)
            yield step, asked
            if asked:
                self.path.append(step.name)
                self.end = ended_by(step, self.scope.get(step.name))

    def asked(self) -> dict[str, bool]:
        """Follow to the end on the answers in ``scope``: for each step, whether it is asked."""
        return {step.name: asked for step, asked in self}


def _choices(low: Lowered, step: Step, asked: bool, read: set[str]) -> tuple[Any, ...]:
    """The answers a forward pass tries at a step: none when it is not asked; every
    representative value when routing reads it or it can end the interview; else one."""
    if not asked:
        return (None,)
    values = domain_of(low, step.name).values
    if step.name in read or step.ends:
        return values
    return values[:1] or ("x",)


class _TooMany(Exception):
    pass


#: A partial interview of ``enumerate_routes``: the record of the variables later
#: guards read, the names asked (a linked list, newest first) and its witness values.
_Partial = tuple[dict[str, Any], Any, tuple[tuple[str, Any], ...]]


def _reads(all_steps: list[Step]) -> tuple[set[str], list[frozenset[str]]]:
    """What the guards read: all of it, and ``live[i]``, what guards of step i or later read."""
    refs = [set(expr_refs(s.guard)) if s.guard is not None else set() for s in all_steps]
    read = set().union(*refs) if refs else set()
    live: list[frozenset[str]] = [frozenset()] * (len(all_steps) + 1)
    acc: set[str] = set()
    for i in range(len(all_steps) - 1, -1, -1):
        acc |= refs[i]
        live[i] = frozenset(acc)
    return read, live


def enumerate_routes(low: Lowered, limit: int = 10_000, budget: int = 1_000_000) -> Routes:
    """Every route through the interview, with a witness for each, up to ``limit`` routes.

    Interviews are followed forward variable by variable; two partial interviews
    that agree on every variable later conditions read are merged, so the work
    grows with the number of routes, not of interviews. Variables no condition
    reads take one representative value.
    """
    all_steps = steps(low)
    facts = analyse(low)
    ev = Evaluator(low.variables)
    read, live = _reads(all_steps)
    complete = all(domain_of(low, n).exact for n in read)
    sample = [v.name for v in low.variables.values() if v.role == "sample" and v.name in read]
    states: dict[tuple, list[_Partial]] = {}
    start: list[dict[str, Any]] = [{}]
    for name in sample:  # sample fields are given, not asked: every value they can hold
        values = facts.domains[name].values + (None,)
        start = [dict(r, **{name: v}) for r in start for v in values]
        if len(start) > limit:
            raise ValueError("too many sample combinations")
    for rec in start:
        key = tuple(sorted(rec.items(), key=lambda kv: kv[0]))
        states.setdefault(("s", key), []).append((rec, None, tuple((k, v) for k, v in rec.items())))
    finished: list[tuple[Any, int | None, bool, tuple]] = []
    work = 0
    try:
        for i, step in enumerate(all_steps):
            new: dict[tuple, list[_Partial]] = {}
            keep = live[i + 1]
            for group in states.values():
                rec = group[0][0]
                asked = ev.truth(step.guard, rec)
                for value in _choices(low, step, asked, read):
                    work += len(group)
                    if work > budget:
                        raise _TooMany
                    nrec = {k: v for k, v in rec.items() if k in keep}
                    if step.name in keep:
                        nrec[step.name] = value
                    disposition = ended_by(step, value) if asked else None
                    for _, asked_ll, witness in group:
                        a = (step.name, asked_ll) if asked else asked_ll
                        w = witness + ((step.name, value),) if asked and (step.name in read or step.ends) else witness
                        if disposition is not None:
                            finished.append((a, disposition, step.in_intro, w))
                            if len(finished) > limit:
                                raise _TooMany
                            continue
                        key = tuple(sorted(nrec.items(), key=lambda kv: kv[0]))
                        bucket = new.setdefault(key, [])
                        if not bucket:
                            bucket.append((nrec, a, w))
                        else:
                            bucket.append((bucket[0][0], a, w))
                        if len(bucket) > limit:
                            raise _TooMany
            states = new
        for group in states.values():
            for _, a, w in group:
                finished.append((a, None, False, w))
                if len(finished) > limit:
                    raise _TooMany
    except _TooMany:
        complete = False
    seen: dict[tuple, Route] = {}
    for asked_ll, end, in_intro, witness in finished:
        names: list[str] = []
        while asked_ll is not None:
            names.append(asked_ll[0])
            asked_ll = asked_ll[1]
        route = (tuple(reversed(names)), end, in_intro)
        if route not in seen:
            seen[route] = Route(route[0], end, in_intro, witness)
    routes = list(seen.values())
    reached = {n for r in routes for n in r.asked}
    return Routes(routes, complete, reached)


def branch_witnesses(low: Lowered, max_states: int = 64, intro: bool = False) -> dict[tuple, tuple[tuple[str, Any], ...]]:
    """One witness interview per branch: each conditional variable asked and
    skipped, each option with an ``end`` chosen.

    For specs with too many routes to enumerate: the forward pass of
    ``enumerate_routes`` keeping one witness per state instead of every route,
    so its work grows with the states (at most ``max_states`` at a time).
    Keys: ``("asked", name)``, ``("skipped", name)``, ``("end", name, code)``.
    """
    all_steps = [s for s in steps(low) if intro or not s.in_intro]
    ev = Evaluator(low.variables)
    read, live = _reads(all_steps)
    states: dict[tuple, tuple[dict[str, Any], tuple]] = {(): ({}, ())}
    for name in sorted(n for n in read if low.variables.get(n) is not None and low.variables[n].role == "sample"):
        grown: dict[tuple, tuple[dict[str, Any], tuple]] = {}
        for rec, w in states.values():
            for v in domain_of(low, name).values + (None,):
                nrec = dict(rec, **{name: v})
                grown.setdefault(tuple(sorted(nrec.items())), (nrec, w + ((name, v),)))
        states = dict(list(grown.items())[:max_states])
    out: dict[tuple, tuple[tuple[str, Any], ...]] = {}
    for i, step in enumerate(all_steps):
        keep = live[i + 1]
        new: dict[tuple, tuple[dict[str, Any], tuple]] = {}
        for rec, w in states.values():
            asked = ev.truth(step.guard, rec)
            if step.guard is not None:
                out.setdefault(("asked" if asked else "skipped", step.name), w)
            for value in _choices(low, step, asked, read):
                nw = w + ((step.name, value),) if asked and (step.name in read or step.ends) else w
                disposition = ended_by(step, value) if asked else None
                if disposition is not None:
                    code = next(c for c, d in step.ends if d == disposition)
                    out.setdefault(("end", step.name, code), nw)
                    continue
                nrec = {k: v for k, v in rec.items() if k in keep}
                if step.name in keep:
                    nrec[step.name] = value
                key = tuple(sorted(nrec.items(), key=lambda kv: kv[0]))
                if key not in new and len(new) < max_states:
                    new[key] = (nrec, nw)
        states = new
    return out
