"""Rosters by unrolling: the one definition of what a roster means.

A roster ``child for 1..c1 max 10`` holding ``c2`` becomes ten copies of its
body, one per iteration, with every name the body declares suffixed by the
iteration (``c2_1`` ... ``c2_10``; nested: ``c5_1_2`` = outer 1, inner 2; a
grid ``g1`` becomes ``g1_1`` ..., its items' columns ``g1_1a`` ...),
every reference to such a name and every fill ``{c2}`` rewritten to the same
iteration's column, and the fill ``{child}`` replaced by the iteration number
(the option's label for ``over { ... }``). Iteration ``i`` of a ``for 1..COUNT``
roster is wrapped in ``if COUNT >= i``, so a COUNT without a value asks none.

An aggregate over a roster, ``sum(c2 over child)``, becomes the list form
``sum(c2_1, ..., c2_10)``. Everything downstream (routing, the validator, the
strategies, JSON Schema) reads the unrolled items and needs no roster code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kvpspec import model as m

#: Where an unrolled column comes from: its innermost roster and its iterations (outer first).
Origin = tuple[str, tuple[int, ...]]


@dataclass
class Unrolled:
    """The interview's items with every roster unrolled, and where each column comes from."""

    items: tuple[m.Item, ...]
    #: column name -> (roster, iterations)
    origin: dict[str, Origin] = field(default_factory=dict)
    #: ids of the ``if COUNT >= i`` blocks unrolling made (not written by the author)
    guards: set[int] = field(default_factory=set)


def has_rosters(spec: m.Spec) -> bool:
    """Does the interview hold a roster? (Specs without one are lowered untouched.)"""
    return spec.interview is not None and any(
        isinstance(i, m.Roster) for i in m.walk_items(spec.interview.items)
    )


def rosters(items: tuple[m.Item, ...] | None) -> dict[str, m.Roster]:
    """Every roster by name, nested ones included (the first of a name wins)."""
    out: dict[str, m.Roster] = {}
    for item in m.walk_items(items):
        if isinstance(item, m.Roster):
            out.setdefault(item.name, item)
    return out


def outer_rosters(items: tuple[m.Item, ...] | None) -> dict[str, m.Roster]:
    """The rosters not inside another roster: those an expression outside every roster may aggregate."""
    out: dict[str, m.Roster] = {}
    for item in m.walk_items(items, rosters=False):
        if isinstance(item, m.Roster):
            out.setdefault(item.name, item)
    return out


def declared(items: tuple[m.Item, ...] | None) -> list[str]:
    """The variable names a roster body declares, nested rosters included, in order."""
    out: list[str] = []
    for item in m.walk_items(items):
        if isinstance(item, m.Question):
            out.append(item.name)
            out.extend(o.specify.name for o in item.options if o.specify)
        elif isinstance(item, m.Grid):
            out.extend(item.name + gi.name for gi in item.items)
    return out


def renames(items: tuple[m.Item, ...] | None, i: int) -> dict[str, str]:
    """Iteration ``i``'s name for every name a roster body declares: a question
    ``c2`` becomes ``c2_i``; a grid ``g1`` becomes ``g1_i`` like a question (a
    ``goto g1`` in iteration ``i`` lands in iteration ``i``), so its items'
    columns, the grid's name then the item's, become ``g1_ia``."""
    out: dict[str, str] = {}
    for item in m.walk_items(items):
        if isinstance(item, m.Question):
            for name in (item.name, *(o.specify.name for o in item.options if o.specify)):
                out[name] = f"{name}_{i}"
        elif isinstance(item, m.Grid):
            grid = out[item.name] = f"{item.name}_{i}"
            for gi in item.items:
                out[item.name + gi.name] = grid + gi.name
    return out


def unroll(items: tuple[m.Item, ...]) -> Unrolled:
    """The items with every roster replaced by its iterations (see the module docstring)."""
    result = Unrolled(())
    items = clamped(bounded(items))
    top = outer_rosters(items)
    hidden = {name: path for name, path in enclosing(items).items() if path}
    expanded = tuple(_Rewriter({}, None, None, top, hidden).item(it) for it in items)
    result.items = _unroll(expanded, (), result)
    return result


#: The most columns one roster may unroll to (its iterations times the columns of its
#: body, nested rosters unrolled; a body without columns counts one per iteration) ...
ROSTER_COLUMN_LIMIT = 10_000
#: ... and all the rosters of a spec together. ``check`` reports a roster past either
#: (``roster-size``) before unrolling it; unrolling then takes one iteration of it.
TOTAL_COLUMN_LIMIT = 100_000


def unrolled_size(r: m.Roster) -> int:
    """How many columns the roster unrolls to (at least one per iteration), without unrolling it."""
    per = 0
    for it in _walk_flat(r.items):
        per += unrolled_size(it) if isinstance(it, m.Roster) else len(_columns(it))
    return r.size * max(1, per)


def oversized(items: tuple[m.Item, ...]) -> list[tuple[m.Roster, int, str]]:
    """The rosters past a limit: (roster, its unrolled size, "roster" or "total")."""
    out: list[tuple[m.Roster, int, str]] = []
    for r in m.walk_items(items):
        if isinstance(r, m.Roster) and (size := unrolled_size(r)) > ROSTER_COLUMN_LIMIT:
            out.append((r, size, "roster"))
    total = 0
    for r in outer_rosters(items).values():
        total += unrolled_size(r)
        if total > TOTAL_COLUMN_LIMIT:
            out.append((r, total, "total"))
            break
    return out


def clamped(items: tuple[m.Item, ...]) -> tuple[m.Item, ...]:
    """The items with each roster past a limit (``oversized``) cut to one iteration."""
    if not any(isinstance(r, m.Roster) and r.size > 1 for r in m.walk_items(items)):
        return items
    state = {"total": 0}
    return tuple(_clamp(item, state, True) for item in items)


def _clamp(item: m.Item, state: dict[str, int], outer: bool) -> m.Item:
    if isinstance(item, m.Roster):
        r = item.model_copy(update={"items": tuple(_clamp(i, state, False) for i in item.items)})
        size = unrolled_size(r)
        if size > ROSTER_COLUMN_LIMIT or (outer and state["total"] + size > TOTAL_COLUMN_LIMIT):
            if isinstance(r.count, int):
                r = r.model_copy(update={"count": 1})
            elif r.count is not None or r.max is not None:
                r = r.model_copy(update={"max": 1})
            size = unrolled_size(r)
        if outer:
            state["total"] += size
        return r
    if isinstance(item, (m.Section, m.Intro, m.Closing)):
        return item.model_copy(update={"items": tuple(_clamp(i, state, outer) for i in item.items)})
    if isinstance(item, m.IfBlock):
        update: dict[str, Any] = {"then": tuple(_clamp(i, state, outer) for i in item.then)}
        if item.otherwise is not None:
            update["otherwise"] = tuple(_clamp(i, state, outer) for i in item.otherwise)
        return item.model_copy(update=update)
    return item


#: At most this many iterations stand in for a roster without ``max`` (see ``bounded``).
STAND_IN_LIMIT = 100


def bounded(items: tuple[m.Item, ...]) -> tuple[m.Item, ...]:
    """The items with each roster counted by a question but without ``max`` given
    one: the question's range high (at most ``STAND_IN_LIMIT``), else 1.

    ``check`` reports the missing ``max`` (``roster-max``); unrolling it this way
    gives its aggregates operands and its columns names, so that one error is not
    followed by its consequences (no operands, unknown fills, unknown columns)."""
    highs = _count_highs(items)
    if highs is None:
        return items
    return tuple(_bound(item, highs) for item in items)


def bounded_rosters(items: tuple[m.Item, ...] | None) -> dict[str, m.Roster]:
    """``rosters`` of the ``bounded`` items."""
    return rosters(bounded(items or ()))


def _count_highs(items: tuple[m.Item, ...]) -> dict[str, int] | None:
    """Each integer question's range high, or None when every roster has its size."""
    if all(r.size or not isinstance(r.count, str) for r in m.walk_items(items) if isinstance(r, m.Roster)):
        return None
    return {
        q.name: int(q.range.high)
        for q in m.walk_items(items)
        if isinstance(q, m.Question) and q.range is not None
    }


def _bound(item: m.Item, highs: Mapping[str, int]) -> m.Item:
    if isinstance(item, m.Roster):
        update: dict[str, Any] = {"items": tuple(_bound(i, highs) for i in item.items)}
        if not item.size and isinstance(item.count, str):
            update["max"] = max(1, min(highs.get(item.count, 1), STAND_IN_LIMIT))
        return item.model_copy(update=update)
    if isinstance(item, (m.Section, m.Intro, m.Closing)):
        return item.model_copy(update={"items": tuple(_bound(i, highs) for i in item.items)})
    if isinstance(item, m.IfBlock):
        update = {"then": tuple(_bound(i, highs) for i in item.then)}
        if item.otherwise is not None:
            update["otherwise"] = tuple(_bound(i, highs) for i in item.otherwise)
        return item.model_copy(update=update)
    return item


def _unroll(items: tuple[m.Item, ...], prefix: tuple[int, ...], result: Unrolled) -> tuple[m.Item, ...]:
    out: list[m.Item] = []
    for item in items:
        if isinstance(item, m.Roster):
            out.extend(_iterations(item, prefix, result))
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            out.append(item.model_copy(update={"items": _unroll(item.items, prefix, result)}))
        elif isinstance(item, m.IfBlock):
            update: dict[str, Any] = {"then": _unroll(item.then, prefix, result)}
            if item.otherwise is not None:
                update["otherwise"] = _unroll(item.otherwise, prefix, result)
            out.append(item.model_copy(update=update))
        else:
            out.append(item)
    return tuple(out)


def _iterations(r: m.Roster, prefix: tuple[int, ...], result: Unrolled) -> Iterator[m.Item]:
    for i in range(1, r.size + 1):
        rename = renames(r.items, i)
        fill = _fill_value(r, i)
        rw = _Rewriter(rename, r.name, fill)
        body = tuple(rw.item(it) for it in r.items)
        # aggregates over rosters nested in this body, now renamed for iteration i
        nested = outer_rosters(body)
        if nested:
            body = tuple(_Rewriter({}, None, None, nested).item(it) for it in body)
        iteration = (*prefix, i)
        for it in _walk_flat(body):
            for name in _columns(it):
                result.origin[name] = (r.name, iteration)
        body = _unroll(body, iteration, result)
        if isinstance(r.count, str):
            guard = m.Compare.build(
                op=">=",
                left=m.Ref.build(name=rename.get(r.count, r.count), span=r.count_span),
                right=m.Literal_.build(value=i, span=r.count_span),
                span=r.count_span,
            )
            block = m.IfBlock.build(condition=guard, then=body, otherwise=None, span=r.span)
            result.guards.add(id(block))
            yield block
        else:
            yield from body


def _walk_flat(items: tuple[m.Item, ...]) -> Iterator[m.Item]:
    """Items of a body outside its nested rosters."""
    for item in items:
        yield item
        if isinstance(item, (m.Section, m.Intro, m.Closing)):
            yield from _walk_flat(item.items)
        elif isinstance(item, m.IfBlock):
            yield from _walk_flat(item.then)
            yield from _walk_flat(item.otherwise or ())


def _columns(item: m.Item) -> list[str]:
    if isinstance(item, m.Question):
        return [item.name] + [o.specify.name for o in item.options if o.specify]
    if isinstance(item, m.Grid):
        return [item.name + gi.name for gi in item.items]
    return []


def _fill_value(r: m.Roster, i: int) -> m.Text:
    """What ``{roster}`` shows in iteration ``i``: the number, or the list option's label."""
    if r.options:
        return r.options[i - 1].label
    return m.Text.build(text=str(i), translations={})


class _Rewriter:
    """Renames a body's names for one iteration, fills its texts, expands aggregates."""

    def __init__(
        self,
        rename: Mapping[str, str],
        roster: str | None,
        fill: m.Text | None,
        aggregates: Mapping[str, m.Roster] | None = None,
        hidden: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.rename = rename
        self.roster = roster
        self.fill = fill
        self.aggregates = aggregates or {}
        #: nested rosters aggregated where they are not visible (see ``rewrite``); outside rosters only
        self.hidden = hidden

    # ------------------------------------------------------------ items

    def item(self, item: m.Item) -> m.Item:
        return self._dispatch[type(item).__name__](self, item)

    def _question(self, q: m.Question) -> m.Question:
        return q.model_copy(
            update={
                "name": self.rename.get(q.name, q.name),
                "label": self.text(q.label),
                "options": tuple(self.option(o) for o in q.options),
                "notes": tuple(self.text(t) for t in q.notes),
                "instructions": tuple(self.text(t) for t in q.instructions),
                "condition": self.expr(q.condition) if q.condition is not None else None,
            }
        )

    def _grid(self, g: m.Grid) -> m.Grid:
        return g.model_copy(
            update={
                "name": self.rename.get(g.name, g.name),
                "label": self.text(g.label) if g.label is not None else None,
                "items": tuple(gi.model_copy(update={"label": self.text(gi.label)}) for gi in g.items),
                "notes": tuple(self.text(t) for t in g.notes),
                "instructions": tuple(self.text(t) for t in g.instructions),
                "condition": self.expr(g.condition) if g.condition is not None else None,
            }
        )

    def _text_item(self, s: m.Say | m.Instruction | m.Heading) -> m.Item:
        return s.model_copy(update={"text": self.text(s.text)})

    def _block(self, b: m.Section | m.Intro | m.Closing) -> m.Item:
        update: dict[str, Any] = {"items": tuple(self.item(i) for i in b.items)}
        if isinstance(b, m.Section):
            update["title"] = self.text(b.title)
        return b.model_copy(update=update)

    def _if(self, b: m.IfBlock) -> m.IfBlock:
        return b.model_copy(
            update={
                "condition": self.expr(b.condition),
                "then": tuple(self.item(i) for i in b.then),
                "otherwise": tuple(self.item(i) for i in b.otherwise) if b.otherwise is not None else None,
            }
        )

    def _roster(self, r: m.Roster) -> m.Roster:
        count = self.rename.get(r.count, r.count) if isinstance(r.count, str) else r.count
        body = self if self.hidden is None else _Rewriter(self.rename, self.roster, self.fill, self.aggregates)
        return r.model_copy(
            update={
                "label": self.text(r.label),
                "count": count,
                "options": tuple(self.option(o) for o in r.options),
                "items": tuple(body.item(i) for i in r.items),
            }
        )

    _dispatch: ClassVar[dict[str, Callable[[Any, Any], Any]]] = {
        "Question": _question,
        "Grid": _grid,
        "Say": _text_item,
        "Instruction": _text_item,
        "Heading": _text_item,
        "Section": _block,
        "Intro": _block,
        "Closing": _block,
        "IfBlock": _if,
        "Roster": _roster,
    }

    def option(self, o: m.Option) -> m.Option:
        update: dict[str, Any] = {"label": self.text(o.label)}
        if o.specify is not None:
            update["specify"] = o.specify.model_copy(
                update={
                    "name": self.rename.get(o.specify.name, o.specify.name),
                    "label": self.text(o.specify.label) if o.specify.label is not None else None,
                }
            )
        if o.goto is not None:
            update["goto"] = self.rename.get(o.goto, o.goto)
        return o.model_copy(update=update)

    # ------------------------------------------------------------ texts

    def text(self, t: m.Text) -> m.Text:
        if "{" not in t.text and not any("{" in v for v in t.translations.values()):
            return t
        return t.model_copy(
            update={
                "text": self._fill(t.text, None),
                "translations": {lang: self._fill(v, lang) for lang, v in t.translations.items()},
            }
        )

    def _fill(self, text: str, lang: str | None) -> str:
        out: list[str] = []
        for kind, value in m.split_fills(text):
            if kind == "text":
                out.append(value.replace("{", "{{").replace("}", "}}"))
            elif value == self.roster and self.fill is not None:
                out.append(self.fill.get(lang).replace("{", "{{").replace("}", "}}"))
            else:
                out.append("{" + self.rename.get(value, value) + "}")
        return "".join(out)

    # ------------------------------------------------------------ expressions

    def expr(self, e: m.Expr) -> m.Expr:
        return rewrite(e, self.rename, self.aggregates, self.hidden)


def rewrite(
    e: m.Expr,
    rename: Mapping[str, str],
    aggregates: Mapping[str, m.Roster],
    hidden: Mapping[str, tuple[str, ...]] | None = None,
) -> m.Expr:
    """``e`` with names renamed and aggregates over ``aggregates``' rosters in the list form.

    An aggregate over ``r`` is lowered iteration by iteration: its operand's
    names become iteration ``i``'s columns, and inside it the rosters nested in
    ``r`` (renamed for ``i``) can be aggregated too, so
    ``sum(sum(timer over jobb) over person)`` becomes
    ``sum(sum(timer_1_1, ...), sum(timer_2_1, ...), ...)``. ``hidden`` maps a
    nested roster not visible here to the rosters enclosing it (outermost
    first): ``check`` refuses such an aggregate (``roster-scope``), and it is
    lowered as the nesting the diagnostic proposes, so its operand's names
    resolve and the one error stands alone."""
    if isinstance(e, m.Ref):
        new = rename.get(e.name)
        return e if new is None else e.model_copy(update={"name": new})
    if isinstance(e, m.Aggregate):
        r = aggregates.get(e.roster)
        if r is None:
            if hidden and e.roster in hidden:
                return rewrite(nest(e, hidden[e.roster]), rename, aggregates)
            return e.model_copy(update={"operand": rewrite(e.operand, rename, aggregates, hidden)})
        operand = rewrite(e.operand, rename, {}) if rename else e.operand
        children = outer_rosters(r.items)
        args: list[m.Expr] = []
        for i in range(1, r.size + 1):
            ren = renames(r.items, i)
            inner = dict(aggregates)
            if children and any(True for _ in aggregates_in(operand)):
                rw = _Rewriter(ren, None, None)
                inner.update((name, rw._roster(c)) for name, c in children.items())
            args.append(rewrite(operand, ren, inner))
        return m.Call.build(func=e.func, args=tuple(args), span=e.span)
    if isinstance(e, m.Call):
        return e.model_copy(update={"args": tuple(rewrite(a, rename, aggregates, hidden) for a in e.args)})
    if isinstance(e, (m.Unary, m.In, m.Test)):
        return e.model_copy(update={"operand": rewrite(e.operand, rename, aggregates, hidden)})
    if isinstance(e, (m.Binary, m.Compare)):
        return e.model_copy(
            update={
                "left": rewrite(e.left, rename, aggregates, hidden),
                "right": rewrite(e.right, rename, aggregates, hidden),
            }
        )
    if isinstance(e, m.BoolOp):
        return e.model_copy(update={"operands": tuple(rewrite(o, rename, aggregates, hidden) for o in e.operands)})
    if isinstance(e, m.Conditional):
        return e.model_copy(
            update={
                "condition": rewrite(e.condition, rename, aggregates, hidden),
                "then": rewrite(e.then, rename, aggregates, hidden),
                "otherwise": rewrite(e.otherwise, rename, aggregates, hidden),
            }
        )
    return e


#: The aggregate that combines per-iteration results of an inner one: counts add up.
OUTER_FUNC: dict[str, m.AggregateFunc] = {
    "count": "sum", "sum": "sum", "min": "min", "max": "max", "any": "any", "all": "all"
}


def nest(e: m.Aggregate, enclosing: tuple[str, ...]) -> m.Aggregate:
    """``e`` wrapped in an aggregate over each roster enclosing its own, outermost
    last: ``count(x over jobb)`` in ``person`` -> ``sum(count(x over jobb) over person)``."""
    out = e
    for name in reversed(enclosing):
        out = m.Aggregate.build(func=OUTER_FUNC[e.func], operand=out, roster=name, span=e.span)
    return out


def enclosing(items: tuple[m.Item, ...] | None) -> dict[str, tuple[str, ...]]:
    """Each roster -> the rosters it is nested in, outermost first (``()`` at the top)."""
    out: dict[str, tuple[str, ...]] = {}

    def visit(items: tuple[m.Item, ...] | None, path: tuple[str, ...]) -> None:
        for item in items or ():
            if isinstance(item, m.Roster):
                out.setdefault(item.name, path)
                visit(item.items, (*path, item.name))
            elif isinstance(item, (m.Section, m.Intro, m.Closing)):
                visit(item.items, path)
            elif isinstance(item, m.IfBlock):
                visit(item.then, path)
                visit(item.otherwise, path)

    visit(items, ())
    return out


def aggregates_in(e: m.Expr) -> Iterator[m.Aggregate]:
    """Every ``over`` aggregate in an expression (nested ones included)."""
    if isinstance(e, m.Aggregate):
        yield e
        yield from aggregates_in(e.operand)
    elif isinstance(e, m.Call):
        for a in e.args:
            yield from aggregates_in(a)
    elif isinstance(e, (m.Unary, m.In, m.Test)):
        yield from aggregates_in(e.operand)
    elif isinstance(e, (m.Binary, m.Compare)):
        yield from aggregates_in(e.left)
        yield from aggregates_in(e.right)
    elif isinstance(e, m.BoolOp):
        for o in e.operands:
            yield from aggregates_in(o)
    elif isinstance(e, m.Conditional):
        yield from aggregates_in(e.condition)
        yield from aggregates_in(e.then)
        yield from aggregates_in(e.otherwise)


def expand_spec(spec: m.Spec, visible: Mapping[str, m.Roster]) -> m.Spec:
    """The spec with the aggregates of its derived variables, data rules, rates and
    sample formulas in the list form (the interview items are left as written).
    An aggregate over a nested roster outside the rosters holding it, refused by
    ``check``, is lowered as nested in them (see ``rewrite``)."""

    items = spec.interview.items if spec.interview is not None else ()
    visible = dict(visible)
    visible.update((name, r) for name, r in bounded_rosters(items).items() if name in visible)
    hidden = {name: path for name, path in enclosing(items).items() if path and path[0] in visible}

    def ex(e: m.Expr) -> m.Expr:
        return rewrite(e, {}, visible, hidden)

    update: dict[str, Any] = {
        "derives": tuple(d.model_copy(update={"expr": ex(d.expr)}) for d in spec.derives),
        "warnings": tuple(w.model_copy(update={"condition": ex(w.condition)}) for w in spec.warnings),
        "expectations": tuple(
            x.model_copy(
                update={
                    "rule": x.rule.model_copy(
                        update={
                            "left": ex(x.rule.left),
                            "right": ex(x.rule.right) if x.rule.right is not None else None,
                        }
                    )
                }
            )
            for x in spec.expectations
        ),
    }
    if spec.fieldwork is not None:
        fw = spec.fieldwork
        update["fieldwork"] = fw.model_copy(
            update={
                "sample": tuple(
                    f.model_copy(update={"formula": ex(f.formula)}) if f.formula is not None else f
                    for f in fw.sample
                ),
                "rates": tuple(
                    r.model_copy(update={"formula": ex(r.formula)}) if r.formula is not None else r
                    for r in fw.rates
                ),
            }
        )
    return spec.model_copy(update=update)


def first_iteration_names(items: tuple[m.Item, ...] | None) -> dict[str, str]:
    """Each name a roster body declares -> its column in the first iteration of
    every enclosing roster (``c2`` -> ``c2_1``, nested ``c5`` -> ``c5_1_1``, a
    grid's ``g1a`` -> ``g1_1a``): what renders a roster once reads its guards by."""
    out: dict[str, str] = {}

    def visit(items: tuple[m.Item, ...] | None, depth: int) -> None:
        suffix = "_1" * depth
        for item in items or ():
            if isinstance(item, m.Roster):
                visit(item.items, depth + 1)
            elif isinstance(item, (m.Section, m.Intro, m.Closing)):
                visit(item.items, depth)
            elif isinstance(item, m.IfBlock):
                visit(item.then, depth)
                visit(item.otherwise, depth)
            elif depth and isinstance(item, m.Question):
                for name in (item.name, *(o.specify.name for o in item.options if o.specify)):
                    out[name] = name + suffix
            elif depth and isinstance(item, m.Grid):
                out[item.name] = item.name + suffix
                for gi in item.items:
                    out[item.name + gi.name] = item.name + suffix + gi.name

    visit(items, 0)
    return out


def stacked_columns(
    items: tuple[m.Item, ...] | None,
    columns: Mapping[str, tuple[str, tuple[int, ...]]],
    name: str,
    roster: str,
) -> list[str]:
    """The columns of ``name``, declared in ``roster``, in every iteration, outer first:
    ``c2`` over ``child`` is ``c2_1 ... c2_10``, nested ``c5`` over ``job`` is
    ``c5_1_1, c5_1_2, ..., c5_10_3``: what an analysis stacks (``frequencies c2 over child``)."""
    first = first_iteration_names(items).get(name)
    if first is None:
        return []
    found: list[tuple[tuple[int, ...], str]] = []
    for column, (r, iteration) in columns.items():
        if r != roster:
            continue
        ones = "_1" * len(iteration)
        for k in reversed(range(len(first) - len(ones) + 1)):  # the suffix nearest the end
            head, tail = first[:k], first[k + len(ones):]
            if first[k : k + len(ones)] == ones and head + tail == name:
                if column == head + "".join(f"_{i}" for i in iteration) + tail:
                    found.append((iteration, column))
                break
    return [column for _, column in sorted(found)]
