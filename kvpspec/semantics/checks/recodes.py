"""Recodes and derived variables: sources, totality (no gaps, no overlaps), types and cycles."""

from __future__ import annotations

from collections.abc import Iterable

from kvpspec import model as m
from kvpspec.diagnostics import number_text
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.expr import TypeChecker
from kvpspec.semantics.lower import Variable, computation_order, matches


def check_recodes(ctx: Context) -> None:
    for r in ctx.spec.recodes:
        if r.source_is_scale:
            scale = ctx.scale_ref(r.source, r)
            if scale is None:
                continue
            domain_codes = [o.code for o in scale.options]
            missing = {o.code for o in scale.options if o.missing}
            _check_total(ctx, r, domain_codes, missing, None)
        else:
            var = ctx.low.variables.get(r.source)
            if var is None:
                ctx.unknown_variable(r.source, r)
                continue
            if var.personal:
                ctx.error(
                    "personal-data",
                    f"`{r.source}` is personal data (a sample field marked `personal`); "
                    f"it cannot be recoded into data for analysis",
                    r,
                )
            if var.name == r.name:
                continue  # a cycle, reported with the others
            if var.value_kind == "text":
                ctx.error("recode-source", f"`{r.source}` holds text; only codes and numbers can be recoded", r)
                continue
            if var.type == "multiple":
                ctx.error(
                    "recode-source",
                    f"`{r.source}` is multiple choice: one answer may hold several codes, so it cannot "
                    f"be recoded into one; test its codes with `==` or `in` in a `derive` instead",
                    r,
                )
                continue
            if var.type in ("integer", "decimal"):
                _check_total(ctx, r, None, var.missing_codes, var)
            elif var.values:
                _check_total(ctx, r, list(var.codes), var.missing_codes, None)
            else:
                ctx.error("recode-source", f"`{r.source}` has no codes to recode", r)
        _check_rule_codes(ctx, r)


def _check_rule_codes(ctx: Context, r: m.Recode) -> None:
    labels: dict[int, m.RecodeRule] = {}
    for rule in r.rules:
        prev = labels.get(rule.code)
        if prev is not None and (prev.label.text != rule.label.text or prev.missing != rule.missing):
            ctx.error(
                "duplicate",
                f"code {rule.code} is given two different labels in recode `{r.name}`",
                rule,
            )
        labels.setdefault(rule.code, rule)


def _check_total(ctx: Context, r: m.Recode, codes: list[int] | None, missing: Iterable[int], var: Variable | None) -> None:
    """Every value of the source's domain maps to exactly one rule."""
    specs = [(v, rule) for rule in r.rules for v in rule.values]
    elses = [v for v, _ in specs if v.kind == "else"]
    for extra in elses[1:]:
        ctx.error("recode-overlap", "`else` is given twice", extra)
    if codes is not None:
        domain: list[int | float] = list(codes)
        for v, _ in specs:
            if v.kind == "single" and v.low not in codes:
                ctx.error(
                    "code-not-in-scale",
                    f"{number_text(v.low)} is not a code of `{r.source}` (its codes: {', '.join(map(str, codes))})",
                    v,
                )
            elif v.kind in ("range", "upto", "from") and not any(v.contains(c) for c in codes):
                ctx.error("code-not-in-scale", f"no code of `{r.source}` lies in this range", v)
    else:
        assert var is not None
        domain = []
        if var.min is None or var.max is None:
            if not elses:
                advice = "add an `else` rule" if var.role == "sample" else "give it a `range` or add an `else` rule"
                ctx.error(
                    "recode-source",
                    f"`{r.source}` has no `range`, so the recode cannot be checked for gaps; {advice}",
                    r,
                )
            return
        if var.type == "integer" and var.max - var.min <= 100_000:
            domain = list(range(int(var.min), int(var.max) + 1))
        else:
            _check_intervals(ctx, r, specs, var, var.min, var.max)
            domain = []
        domain += sorted(set(missing))
    # overlaps and gaps over the finite domain
    miss = set(missing)
    hits: dict[int | float, list[m.ValueSpec]] = {}
    for value in domain:
        matching = [v for v, _ in specs if v.kind not in ("else", "string") and matches(v, value, value in miss)]
        if len(matching) > 1:
            hits[value] = matching
    reported: set[tuple[int, int]] = set()
    for value, matching in hits.items():
        key = (id(matching[0]), id(matching[1]))
        if key in reported:
            continue
        reported.add(key)
        first = matching[0]
        line = first.span.line if first.span else "?"
        ctx.error(
            "recode-overlap",
            f"{number_text(value)} is mapped by two rules of recode `{r.name}` (also on line {line})",
            matching[1],
        )
    if not elses:
        gaps = [v for v in domain if not any(matches(s, v, v in miss) for s, _ in specs)]
        if gaps:
            shown = _ranges(gaps)
            note = " (missing codes must be mapped too)" if any(g in miss for g in gaps) else ""
            ctx.error(
                "recode-gap",
                f"recode `{r.name}` leaves {shown} of `{r.source}` unmapped{note}; add rules or `else`",
                r,
            )


def _check_intervals(
    ctx: Context, r: m.Recode, specs: list[tuple[m.ValueSpec, m.RecodeRule]], var: Variable, lo: float, hi: float
) -> None:
    """Gaps and overlaps of a recode over a continuous range ``lo..hi``, interval by interval.

    Intervals are closed, so ``0..4`` and ``5..10`` leave (4, 5) unmapped on a
    decimal question, while ``0..5`` and ``5..10`` overlap at 5.
    """
    intervals = sorted(
        (
            v.low if v.low is not None else float("-inf"),
            v.high if v.high is not None else float("inf"),
            v,
        )
        for v, _ in specs
        if v.kind in ("single", "range", "upto", "from") and v.low not in var.missing_codes
    )
    has_else = any(v.kind == "else" for v, _ in specs)
    cursor = lo
    started = False
    reach: float | None = None
    for low, high, v in intervals:
        if high < lo or low > hi:
            continue
        if reach is not None and low <= reach:
            ctx.error("recode-overlap", f"{number_text(max(low, lo))} is mapped by two rules of recode `{r.name}`", v)
        if not has_else:
            if (not started and low > lo) or (started and low > cursor):
                ctx.error(
                    "recode-gap",
                    f"recode `{r.name}` leaves values between {number_text(cursor)} and {number_text(low)} of `{r.source}` unmapped",
                    r,
                )
                return
            started = True
            cursor = max(cursor, high)
        reach = high if reach is None else max(reach, high)
    if not has_else and (not started or cursor < hi):
        ctx.error("recode-gap", f"recode `{r.name}` leaves values above {number_text(cursor)} of `{r.source}` unmapped", r)


def _ranges(values: list) -> str:
    """``[1, 2, 3, 7]`` as ``1..3, 7``."""
    ints = all(isinstance(v, int) for v in values)
    if not ints:
        return ", ".join(number_text(v) for v in values)
    out: list[str] = []
    start = prev = values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}..{prev}" if prev != start else str(start))
        if v is not None:
            start = prev = v
    word = "values" if len(values) > 1 else "the value"
    shown = ", ".join(out[:6]) + (", ..." if len(out) > 6 else "")
    return f"{word} {shown}"


def check_derives(ctx: Context) -> None:
    variables = ctx.low.variables
    for d in ctx.spec.derives:
        refs: set[str] = set()

        def resolve(ref: m.Ref, refs=refs) -> Variable | None:
            var = variables.get(ref.name)
            if var is None:
                ctx.unknown_variable(ref.name, ref)
                return None
            if var.personal:
                ctx.error("personal-data", f"`{ref.name}` is personal data and cannot enter derived data", ref)
            refs.add(ref.name)
            return var

        TypeChecker(ctx.report, resolve, ctx.low.recodes).infer(d.expr)
    # cycles among recodes and derived variables
    _, cycles = computation_order(ctx.spec)
    nodes = {r.name: r for r in ctx.spec.recodes} | {d.name: d for d in ctx.spec.derives}
    for cycle in cycles:
        node = nodes[cycle[0]]
        if len(cycle) == 2:
            ctx.error("cycle", f"`{cycle[0]}` is computed from itself", node)
        else:
            ctx.error("cycle", "computed variables depend on each other: " + " -> ".join(cycle), node)
