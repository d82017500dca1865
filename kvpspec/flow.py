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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from kvpspec import model as m
from kvpspec.lower import Lowered, Variable


@dataclass(frozen=True)
class Slot:
    """A question or grid at its place in the interview."""

    item: m.Question | m.Grid
    index: int
    guard: m.Expr | None
    in_intro: bool
    #: the variables it asks (a grid asks one per item)
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Flat:
    item: m.Item
    index: int
    conds: tuple[m.Expr, ...]
    in_intro: bool
    depth_path: tuple[int, ...]  # ids of the enclosing conditional blocks (if / else)


def _neg(e: m.Expr) -> m.Expr:
    return m.Unary.build(op="not", operand=e)


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

    def visit(items, conds, in_intro, path):
        for item in items or ():
            out.append(_Flat(item, len(out), tuple(conds), in_intro, path))
            if isinstance(item, m.Intro):
                visit(item.items, conds, True, path)
            elif isinstance(item, (m.Section, m.Closing)):
                visit(item.items, conds, in_intro, path)
            elif isinstance(item, m.IfBlock):
                visit(item.then, conds + [item.condition], in_intro, path + (id(item),))
                if item.otherwise is not None:
                    visit(item.otherwise, conds + [_neg(item.condition)], in_intro, path + (id(item), 1))

    visit(items, [], False, ())
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
    cached = low.cache.get("slots")
    if cached is None:
        cached = low.cache["slots"] = _slots(low)
    return cached


def _slots(low: Lowered) -> list[Slot]:
    spec = low.spec
    if spec.interview is None:
        return []
    flat = flatten(spec.interview.items)
    targets = goto_targets(flat)
    skips: list[list[m.Expr]] = [[] for _ in flat]
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
                skips[k].append(term)
        if ends:
            term = _neg(code_in(item.name, ends))
            for k in range(f.index + 1, len(flat)):
                if f.in_intro and not flat[k].in_intro:
                    break  # data rows have passed the intro
                skips[k].append(term)

    out: list[Slot] = []
    for f in flat:
        item = f.item
        if not isinstance(item, (m.Question, m.Grid)):
            continue
        terms = list(f.conds)
        if item.condition is not None:
            terms.append(item.condition)
        terms.extend(skips[f.index])
        if isinstance(item, m.Grid):
            names = tuple(item.name + gi.name for gi in item.items)
        else:
            names = (item.name,)
        out.append(Slot(item, f.index, _and(terms), f.in_intro, names))
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
        if v.role in ("specify",) and v.parent in out:
            parent_guard = out[v.parent]
            term = code_in(v.parent, [v.parent_code])  # type: ignore[list-item]
            out[v.name] = _and([parent_guard, term] if parent_guard is not None else [term])
    return out


def positions(low: Lowered) -> dict[str, int]:
    """The interview position of every asked variable (for forward references)."""
    cached = low.cache.get("positions")
    if cached is not None:
        return cached
    out: dict[str, int] = {}
    low.cache["positions"] = out
    for slot in slots(low):
        for name in slot.names:
            out.setdefault(name, slot.index)
    for v in low.variables.values():
        if v.parent in out and v.role in ("specify", "screener"):
            out.setdefault(v.name, out[v.parent])
    return out


def iter_conditions(items: tuple[m.Item, ...] | None) -> Iterator[tuple[m.Item, m.Expr]]:
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


def variable_of(low: Lowered, name: str) -> Variable | None:
    return low.variables.get(name)
