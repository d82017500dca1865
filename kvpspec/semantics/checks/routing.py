"""Routing: conditions, gotos and ends, and the static facts of the routing analysis."""

from __future__ import annotations

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.expr import TypeChecker
from kvpspec.semantics.lower import Variable, intro_names
from kvpspec.semantics.routing import analyse, flatten, goto_targets, positions


def check_routing(ctx: Context) -> None:
    """Conditions may use only earlier answers; gotos jump forward, not into blocks; ends name dispositions."""
    spec = ctx.spec
    if not spec.interview:
        return
    flat = flatten(ctx.low.items)
    targets = goto_targets(flat)
    pos = positions(ctx.low)
    intro = intro_names(spec)
    dispositions = {d.code for d in spec.fieldwork.dispositions} if spec.fieldwork else set()
    for f in flat:
        item = f.item
        if isinstance(item, (m.Question, m.Grid)) and item.condition is not None:
            _routing_checker(ctx, f.index, item, intro, pos, own=item).condition(item.condition)
        if isinstance(item, m.IfBlock) and id(item) not in ctx.low.roster_guards:
            _routing_checker(ctx, f.index + 1, item, intro, pos, own=None).condition(item.condition)
        if not isinstance(item, m.Question):
            continue
        for o in ctx.low.question_options(item):
            if o.goto:
                t = targets.get(o.goto)
                if t is None:
                    ctx.error(
                        "undefined-ref",
                        f"`goto {o.goto}`: there is no question `{o.goto}`{did_you_mean(o.goto, targets)}",
                        _GotoTarget.at(o),
                    )
                elif t.index <= f.index:
                    ctx.error(
                        "goto-backward",
                        f"`goto {o.goto}` jumps back to a question already asked; "
                        f"this makes a cycle (gotos may only jump forward)",
                        o,
                    )
                elif not _prefix(t.depth_path, f.depth_path):
                    ctx.error(
                        "goto-into-block",
                        f"`goto {o.goto}` jumps into an `if` block, past its condition; "
                        f"jump to an item outside the block",
                        o,
                    )
            if o.end is not None and o.end not in dispositions:
                have = ", ".join(map(str, sorted(dispositions))) or "none are declared"
                ctx.error(
                    "end-disposition",
                    f"`end {o.end}`: there is no disposition {o.end} (dispositions: {have})",
                    o,
                )


def check_routing_facts(ctx: Context) -> None:
    """Unreachable questions and conditions that never or always hold (``routing.analyse``).

    Run on a spec without errors only: the analysis evaluates conditions, which
    needs every name known and every type right.
    """
    if not ctx.spec.interview:
        return
    for finding in analyse(ctx.low).findings:
        ctx.error(finding.code, finding.message, finding.node, "warning" if finding.code == "always-true" else "error")


def _routing_checker(
    ctx: Context, index: int, item: m.Item, intro: set[str], pos: dict[str, int], own: m.Question | m.Grid | None
) -> TypeChecker:
    in_intro = False
    if isinstance(item, (m.Question, m.Grid)):
        in_intro = item.name in intro
    variables = ctx.low.variables
    own_names = _names_of(own) if own is not None else set()

    def resolve(ref: m.Ref) -> Variable | None:
        var = variables.get(ref.name)
        if var is None:
            ctx.unknown_variable(ref.name, ref, "question")
            return None
        if var.role == "sample":
            return var
        if var.role in ("recode", "derive"):
            ctx.error(
                "forward-ref",
                f"routing cannot use the {var.role} `{ref.name}`: it is computed after the interview; "
                f"test its source question instead",
                ref,
            )
            return None
        if own is not None and ref.name in own_names:
            ctx.error("self-ref", f"the condition of `{own.name}` refers to `{ref.name}` itself", ref)
            return None
        p = pos.get(ref.name)
        if p is None or p >= index:
            ctx.error(
                "forward-ref",
                f"`{ref.name}` is not asked before this point, so routing cannot depend on it yet",
                ref,
            )
            return None
        if var.role == "screener" and not in_intro:
            ctx.error(
                "forward-ref",
                f"`{ref.name}` belongs to the intro, whose answers are not response data; "
                f"routing after the intro cannot depend on it",
                ref,
            )
            return None
        return var

    return TypeChecker(ctx.report, resolve, {})


def _names_of(item: m.Question | m.Grid) -> set[str]:
    """The variables a question or grid asks: itself, its specify texts, its items."""
    if isinstance(item, m.Grid):
        return {item.name} | {item.name + gi.name for gi in item.items}
    return {item.name} | {o.specify.name for o in item.options if o.specify}


class _GotoTarget(m.Node):
    """Where an option's goto target is written: the caret of a diagnostic about it."""

    @classmethod
    def at(cls, o: m.Option) -> m.Node:
        return cls.build(span=o.goto_span) if o.goto_span is not None else o


def _prefix(target: tuple[int, ...], source: tuple[int, ...]) -> bool:
    """A goto may land in the block it leaves from or in an enclosing one."""
    return source[: len(target)] == target
