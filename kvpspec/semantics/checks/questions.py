"""Scales and questions: options, codes, kinds, ranges and what is read aloud."""

from __future__ import annotations

from collections.abc import Iterable

from kvpspec import model as m
from kvpspec.semantics.checks.context import Context, with_article
from kvpspec.semantics.lower import walk_items


def check_options(ctx: Context, options: Iterable[m.Option], where: str) -> None:
    codes: dict[int, m.Option] = {}
    for o in options:
        if o.code in codes:
            ctx.error("duplicate", f"code {o.code} is used twice in {where}", o)
        codes[o.code] = o


def check_read(ctx: Context, read: m.ReadAloud | None, codes: set[int], where: str) -> None:
    if read is None:
        return
    for r in read.ranges:
        if r.low > r.high:
            continue
        wanted = set(range(r.low, r.high + 1))
        unknown = sorted(wanted - codes)
        if unknown:
            shown = f"{r.low}..{r.high}" if r.low != r.high else str(r.low)
            have = ", ".join(str(c) for c in sorted(codes)) or "none"
            ctx.error(
                "read-unknown-code",
                f"`read {shown}` names option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(str, unknown))} that {where} does not have (its codes: {have})",
                r,
            )


def check_scales(ctx: Context) -> None:
    used = set()
    if ctx.spec.interview:
        for item in walk_items(ctx.spec.interview.items):
            if isinstance(item, (m.Question, m.Grid)) and item.scale:
                used.add(item.scale)
    used.update(r.source for r in ctx.spec.recodes if r.source_is_scale)
    for s in ctx.spec.scales:
        check_options(ctx, s.options, f"scale `{s.name}`")
        check_read(ctx, s.read, {o.code for o in s.options}, f"scale `{s.name}`")
        if not s.options:
            ctx.error("no-options", f"scale `{s.name}` has no options", s)
        for o in s.options:
            if o.specify or o.goto or o.end is not None:
                ctx.error(
                    "option-flag",
                    "a scale's options cannot carry `specify`, `goto` or `end`; put them on a question's own options",
                    o,
                )
        if s.name not in used:
            ctx.warn("unused-scale", f"scale `{s.name}` is not used by any question or recode", s)


def check_questions(ctx: Context) -> None:
    if not ctx.spec.interview:
        return
    for item in walk_items(ctx.spec.interview.items):
        if isinstance(item, m.Question):
            check_question(ctx, item)
        elif isinstance(item, m.Grid):
            scale = ctx.scale_ref(item.scale, item)
            if scale is not None and scale.options:
                check_read(ctx, item.read, {o.code for o in scale.options}, f"scale `{scale.name}`")
            if not item.items:
                ctx.error("no-options", f"grid `{item.name}` has no items", item)


def check_question(ctx: Context, q: m.Question) -> None:
    kind = q.kind or "single"
    where = f"question `{q.name}`"
    scale = ctx.scale_ref(q.scale, q) if q.scale else None
    if q.scale and q.options:
        ctx.error(
            "options-and-scale",
            f"{where} has both `scale {q.scale}` and options of its own; keep one",
            q.options[0],
        )
    options = q.options or (scale.options if scale else ())
    check_options(ctx, q.options, where)
    if kind in ("single", "multiple"):
        if not options and not q.scale:
            ctx.error(
                "no-options",
                f"{where} is a choice question without options; give options, a scale, "
                f"or a kind such as `integer` or `text`",
                q,
            )
        if q.range is not None:
            ctx.error("range-kind", f"`range` is for integer and decimal questions, not {kind}", q.range)
    else:
        if q.scale:
            ctx.error("range-kind", f"{with_article(kind)} question cannot use a scale", q)
        if kind == "text" and q.options:
            ctx.error("specify-kind", "a text question cannot have options", q.options[0])
        if kind in ("integer", "decimal"):
            for o in q.options:
                if not o.missing:
                    ctx.error(
                        "missing-in-range",
                        f"option {o.code} of a numeric question must be a missing code "
                        f"(add `missing dont_know`, `refused` or `not_applicable`)",
                        o,
                    )
                elif q.range and q.range.low <= o.code <= q.range.high:
                    ctx.error(
                        "missing-in-range",
                        f"missing code {o.code} lies inside the valid range "
                        f"{q.range.low}..{q.range.high}; a real answer could not be told from it",
                        o,
                    )
                if o.specify or o.goto or o.end is not None:
                    ctx.error("specify-kind", "a missing code cannot carry specify, goto or end", o)
            if kind == "integer" and q.range and any(
                isinstance(x, float) for x in (q.range.low, q.range.high)
            ):
                ctx.error("bad-value", "an integer question's range takes whole numbers", q.range)
    if kind == "multiple":
        for o in options:
            if (o.goto or o.end is not None) and not o.exclusive:
                ctx.error(
                    "option-flag",
                    "in a multiple-choice question only an `exclusive` option can `goto` or `end`",
                    o,
                )
    else:
        for o in options:
            if o.exclusive:
                ctx.error("option-flag", "`exclusive` is for options of multiple-choice questions", o)
    codes = {o.code for o in options}
    if options or not q.scale:
        check_read(ctx, q.read, codes, where)
    if q.recorded and q.read is not None and not q.read.none:
        ctx.error("recorded-condition", f"{where} is recorded by the interviewer, so nothing is read out", q.read)
