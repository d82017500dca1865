"""Rosters: the count each loops over, its maximum, and the names unrolling makes."""

from __future__ import annotations

from collections.abc import Iterator

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean
from kvpspec.semantics import rosters
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.checks.names import declared_names
from kvpspec.syntax.formatter import format_expr


def check_rosters(ctx: Context) -> None:
    """COUNT an integer question asked before, ``max`` given and not exceeded, names unique."""
    spec = ctx.low.source or ctx.spec
    if spec.interview is None or not ctx.low.rosters:
        return
    items = spec.interview.items
    order = {id(item): k for k, item in enumerate(m.walk_items(items))}
    questions = {
        item.name: item for item in m.walk_items(items) if isinstance(item, m.Question)
    }
    declared = {name: (node, what) for name, node, what in declared_names(ctx)}
    seen_rosters: dict[str, m.Roster] = {}
    for r in (item for item in m.walk_items(items) if isinstance(item, m.Roster)):
        where = m.Node.build(span=r.count_span) if r.count_span is not None else r
        if r.name in seen_rosters:
            ctx.error("roster-name", f"the roster `{r.name}` is already declared", r)
        seen_rosters.setdefault(r.name, r)
        if r.name in declared:
            what = declared[r.name][1]
            ctx.error("roster-name", f"the roster `{r.name}` has the name of a {what}", r)
        if isinstance(r.count, int):
            if r.max is not None and r.count > r.max:
                ctx.error("roster-max", f"the roster `{r.name}` counts to {r.count}, past its `max {r.max}`", r)
            continue
        if r.count is None:
            continue
        q = questions.get(r.count)
        if q is None or q.kind != "integer":
            what = "no question" if q is None else f"a {q.kind or 'single'} question"
            hint = did_you_mean(r.count, questions) if q is None else ""
            ctx.error(
                "roster-count",
                f"`for 1..{r.count}`: `{r.count}` is {what}; a roster counts to an integer question{hint}",
                where,
            )
            continue
        if order[id(q)] > order[id(r)]:
            ctx.error(
                "roster-count",
                f"`for 1..{r.count}`: `{r.count}` is asked after the roster starts; ask it before",
                where,
            )
        if r.max is None:
            ctx.error(
                "roster-max",
                f"the roster `{r.name}` counts to the question `{r.count}`: give its largest number with `max N`",
                r,
            )
        elif q.range is None:
            ctx.warn(
                "roster-unbounded",
                f"`{r.count}` has no range, so its answers can pass the roster's `max {r.max}`; "
                f"give it `range 0..{r.max}`",
                where,
            )
        elif q.range.high > r.max:
            ctx.error(
                "roster-max",
                f"`{r.count}` can be up to {q.range.high}, past the roster's `max {r.max}`",
                where,
            )
    for r, size, which in rosters.oversized(rosters.bounded(items)):
        if which == "roster":
            ctx.error(
                "roster-size",
                f"the roster `{r.name}` unrolls to {size:,} columns (its iterations times the columns of "
                f"its body), more than {rosters.ROSTER_COLUMN_LIMIT:,}; loop over fewer iterations",
                r,
            )
        else:
            ctx.error(
                "roster-size",
                f"the rosters unroll to more than {rosters.TOTAL_COLUMN_LIMIT:,} columns in all "
                f"({size:,} up to the roster `{r.name}`); loop over fewer iterations",
                r,
            )
    for name, (roster, _) in ctx.low.columns.items():
        if name in declared:
            node, what = declared[name]
            ctx.error(
                "roster-column",
                f"the {what} `{name}` has the name of a column of the roster `{roster}`; rename one of them",
                node,
            )
    paths = rosters.enclosing(items)
    for e in _spec_exprs(spec):
        _check_scope(ctx, e, set(), paths)
    for e, path in _item_exprs(items, ()):
        _check_scope(ctx, e, set(path), paths)


def _check_scope(
    ctx: Context,
    e: m.Expr,
    inside: set[str],
    paths: dict[str, tuple[str, ...]],
) -> None:
    """Each aggregate's roster must be visible where it stands: a top-level roster,
    one nested in a roster the expression is inside, or one nested in the roster
    of an aggregate around it (``sum(sum(timer over jobb) over person)``);
    ``inside`` holds the rosters whose iteration is fixed where ``e`` stands."""
    for agg in _direct_aggregates(e):
        path = paths.get(agg.roster)
        if path is not None and all(p in inside for p in path):
            _check_scope(ctx, agg.operand, inside | {agg.roster}, paths)
            continue
        if path is None:
            ctx.error(
                "undefined-ref",
                f"unknown roster `{agg.roster}`{did_you_mean(agg.roster, paths)}",
                agg,
            )
            continue
        outside = tuple(p for p in path if p not in inside)
        nested = format_expr(rosters.nest(agg, outside))
        held = " and ".join(f"`{p}`" for p in outside)
        ctx.error(
            "roster-scope",
            f"`{agg.roster}` is a roster inside {held}: aggregate it per iteration of {held}, "
            f"e.g. `{nested}`",
            agg,
        )


def _direct_aggregates(e: m.Expr) -> list[m.Aggregate]:
    """The aggregates in ``e`` that no other aggregate of ``e`` holds."""
    out: list[m.Aggregate] = []
    for agg in rosters.aggregates_in(e):
        if not any(agg is inner for o in out for inner in rosters.aggregates_in(o.operand)):
            out.append(agg)
    return out


def _item_exprs(
    items: tuple[m.Item, ...] | None, path: tuple[str, ...]
) -> Iterator[tuple[m.Expr, tuple[str, ...]]]:
    """The conditions written in the interview, with the rosters each stands inside."""
    for item in items or ():
        if isinstance(item, (m.Question, m.Grid)) and item.condition is not None:
            yield item.condition, path
        elif isinstance(item, m.IfBlock):
            yield item.condition, path
            yield from _item_exprs(item.then, path)
            yield from _item_exprs(item.otherwise, path)
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            yield from _item_exprs(item.items, path)
        elif isinstance(item, m.Roster):
            yield from _item_exprs(item.items, (*path, item.name))


def _spec_exprs(spec: m.Spec) -> list[m.Expr]:
    out: list[m.Expr] = [d.expr for d in spec.derives]
    out += [w.condition for w in spec.warnings]
    for x in spec.expectations:
        out.append(x.rule.left)
        if x.rule.right is not None:
            out.append(x.rule.right)
    return out
