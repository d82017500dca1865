"""Declared names: each variable, scale, analysis, document and rate named once."""

from __future__ import annotations

from collections.abc import Iterator

from kvpspec import model as m
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.lower import walk_items


def declared_names(ctx: Context) -> Iterator[tuple[str, m.Node, str]]:
    """Every name that makes a variable, with its node and what it is."""
    spec = ctx.spec
    if spec.interview:
        for item in walk_items(spec.interview.items):
            if isinstance(item, m.Question):
                yield item.name, item, "question"
                for o in item.options:
                    if o.specify:
                        yield o.specify.name, o.specify, "specify text"
            elif isinstance(item, m.Grid):
                yield item.name, item, "grid"
                for gi in item.items:
                    yield item.name + gi.name, gi, "grid item"
    if spec.fieldwork:
        for f in spec.fieldwork.sample:
            yield f.name, f, "sample field"
            for o in f.options:
                if o.specify:
                    yield o.specify.name, o.specify, "specify text"
    for r in spec.recodes:
        yield r.name, r, "recode"
    for d in spec.derives:
        yield d.name, d, "derived variable"
    if spec.respondent is not None:
        yield spec.respondent.name, spec.respondent, "respondent id"


def check_names(ctx: Context) -> None:
    seen: dict[str, tuple[m.Node, str]] = {}
    for name, node, what in declared_names(ctx):
        if name in seen:
            prev, prev_what = seen[name]
            if isinstance(node, m.GridItem) and isinstance(prev, m.GridItem) and _same_grid(ctx.grids, prev, node):
                grid = _same_grid(ctx.grids, prev, node)
                ctx.error("duplicate", f"item `{node.name}` is used twice in grid `{grid}`", node)
                continue
            where = f" on line {prev.span.line}" if prev.span else ""
            ctx.error("duplicate", f"`{name}` is already declared as a {prev_what}{where}", node)
        else:
            seen[name] = (node, what)
    for group, what in (
        (ctx.spec.scales, "scale"),
        (ctx.spec.analyses, "analysis"),
        (ctx.spec.documents, "document"),
        (ctx.spec.fieldwork.rates if ctx.spec.fieldwork else (), "rate"),
        (ctx.spec.expectations, "expectation"),
        (ctx.spec.warnings, "soft check"),
    ):
        names: dict[str, m.Node] = {}
        for node in group:
            name = node.name
            if name in names:
                prev = names[name]
                # soft and hard checks share one set of names; say which this one is
                kind = "hard check" if isinstance(node, m.Warning_) and node.hard else what
                ctx.error(
                    "duplicate",
                    f"the {kind} `{name}` is already declared on line {prev.span.line if prev.span else '?'}",
                    node,
                )
            else:
                names[name] = node
    recode_names = {r.name for r in ctx.spec.recodes if r.source_is_scale}
    for name in recode_names & {s.name for s in ctx.spec.scales}:
        node = next(r for r in ctx.spec.recodes if r.name == name)
        ctx.error("duplicate", f"`{name}` names both a scale and a recode", node)


def _same_grid(grids: dict[str, m.Grid], a: m.GridItem, b: m.GridItem) -> str | None:
    for name, grid in grids.items():
        if any(gi is a for gi in grid.items) and any(gi is b for gi in grid.items):
            return name
    return None
