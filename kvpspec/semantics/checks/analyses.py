"""Fieldwork, expectations and soft checks, and analyses: what each may name and tabulate."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean
from kvpspec.semantics.checks.context import Context, with_article
from kvpspec.semantics.checks.questions import check_options
from kvpspec.semantics.expr import NUMBER, Type, TypeChecker
from kvpspec.semantics.lower import Variable, walk_items
from kvpspec.semantics.rosters import stacked_columns


def check_fieldwork(ctx: Context) -> None:
    fw = ctx.spec.fieldwork
    if fw is None:
        return
    codes: dict[int, m.Disposition] = {}
    for d in fw.dispositions:
        if d.code in codes:
            ctx.error("duplicate", f"disposition {d.code} is declared twice", d)
        codes[d.code] = d
        if d.aapor not in m.AAPOR_CATEGORIES:
            cats = ", ".join(m.AAPOR_CATEGORIES)
            ctx.error(
                "aapor",
                f"`{d.aapor}` is not an AAPOR category{_case_hint(d.aapor, m.AAPOR_CATEGORIES)} "
                f"(categories: {cats})",
                d,
            )
    if fw.dispositions and not any(d.aapor == "I" for d in fw.dispositions):
        ctx.error("aapor", "no disposition is a complete interview (`aapor I`)", fw.dispositions[0])
    sample_vars = {f.name: ctx.low.variables.get(f.name) for f in fw.sample}
    for f in fw.sample:
        check_options(ctx, f.options, f"sample field `{f.name}`")
        if f.kind in ("integer", "decimal", "text") and f.options:
            ctx.error("specify-kind", f"{with_article(f.kind)} sample field cannot have options", f.options[0])
        if f.formula is not None:
            earlier = {g.name for g in fw.sample[: fw.sample.index(f)]}

            def resolve(ref: m.Ref, earlier=earlier, f=f) -> Variable | None:
                if ref.name == f.name:
                    ctx.error("self-ref", f"the formula of `{f.name}` refers to `{f.name}` itself", ref)
                    return None
                if ref.name not in sample_vars:
                    others = [n for n in sample_vars if n != f.name]
                    ctx.error(
                        "undefined-ref",
                        f"unknown sample field `{ref.name}`{did_you_mean(ref.name, others)}",
                        ref,
                    )
                    return None
                if ref.name not in earlier:
                    ctx.error("forward-ref", f"`{ref.name}` must be declared before `{f.name}`", ref)
                    return None
                return sample_vars[ref.name]

            TypeChecker(ctx.report, resolve).infer(f.formula)
    for r in fw.rates:
        if r.aapor is not None:
            if r.aapor not in m.AAPOR_RATES:
                ctx.error(
                    "aapor",
                    f"`{r.aapor}` is not an AAPOR response rate{_case_hint(r.aapor, m.AAPOR_RATES)} "
                    f"({', '.join(m.AAPOR_RATES)})",
                    r,
                )
            if r.eligibility is not None and not 0 <= r.eligibility <= 1:
                ctx.error("bad-value", "eligibility is a proportion between 0 and 1", r)
            if not fw.dispositions:
                ctx.error("aapor", "AAPOR rates need `dispositions` with their AAPOR categories", r)
        elif r.formula is not None:
            _check_rate_formula(ctx, r.formula, codes)


def _check_rate_formula(ctx: Context, formula: m.Expr, codes: dict[int, m.Disposition]) -> None:
    def count(call: m.Call, tc: TypeChecker) -> Type:
        for a in call.args:
            if not (isinstance(a, m.Literal_) and isinstance(a.value, int) and not isinstance(a.value, bool)):
                ctx.error("type", "`count` takes disposition codes, e.g. `count(2, 3)`", a)
            elif a.value not in codes:
                have = ", ".join(map(str, sorted(codes))) or "none are declared"
                ctx.error("end-disposition", f"there is no disposition {a.value} (dispositions: {have})", a)
        return NUMBER

    def resolve(ref: m.Ref) -> Variable | None:
        ctx.error("type", f"a rate is computed from `count(...)` of dispositions, not from `{ref.name}`", ref)
        return None

    t = TypeChecker(ctx.report, resolve, functions={"count": count}).infer(formula)
    if t.kind not in ("number", "error"):
        ctx.error("type", "a rate formula must be a number, e.g. `count(7) / count()`", formula)


def _case_hint(word: str, names) -> str:
    """A hint only for a difference of case (``rr1`` for ``RR1``): short codes mislead otherwise."""
    for name in names:
        if name.lower() == word.lower():
            return f"; did you mean `{name}`?"
    close = difflib.get_close_matches(word.upper(), list(names), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def _data_resolver(ctx: Context, what: str) -> Callable[[m.Ref], Variable | None]:
    """Resolves names in expectations and soft checks: response data only."""
    variables = ctx.low.variables

    def resolve(ref: m.Ref) -> Variable | None:
        var = variables.get(ref.name)
        if var is None:
            ctx.unknown_variable(ref.name, ref)
            return None
        if var.role == "sample":
            ctx.error(
                "personal-data" if var.personal else "forward-ref",
                f"`{ref.name}` is a sample field, not response data; {what} are about interviews",
                ref,
            )
            return None
        if var.role == "screener":
            ctx.error(
                "forward-ref",
                f"`{ref.name}` belongs to the intro, whose answers are not response data",
                ref,
            )
            return None
        return var

    return resolve


def check_data_rules(ctx: Context) -> None:
    checker = TypeChecker(ctx.report, _data_resolver(ctx, "expectations"), ctx.low.recodes)
    for e in ctx.spec.expectations:
        checker.condition(e.rule.left)
        if e.rule.right is not None:
            checker.condition(e.rule.right)
    checker = TypeChecker(ctx.report, _data_resolver(ctx, "soft checks"), ctx.low.recodes)
    for w in ctx.spec.warnings:
        checker.condition(w.condition)


def check_analyses(ctx: Context) -> None:
    rates = {r.name for r in ctx.spec.fieldwork.rates} if ctx.spec.fieldwork else set()
    disposition = ctx.spec.fieldwork is not None and any(f.name == "disposition" for f in ctx.spec.fieldwork.sample)
    for a in ctx.spec.analyses:
        for s in a.statements:
            if isinstance(s, m.Rates):
                if rates and not disposition:
                    # analysis.py computes every rate from the sample file's `disposition` column
                    ctx.error(
                        "no-disposition",
                        "the response rates need a sample field `disposition` "
                        '(e.g. `field disposition single "Status"`), each case\'s disposition',
                        s,
                    )
                for name in s.names:
                    if name not in rates:
                        ctx.error(
                            "undefined-ref",
                            f"unknown rate `{name}`{did_you_mean(name, rates)}",
                            s,
                        )
            if isinstance(s, m.Crosstab) and s.test is not None and s.test != "chisq":
                ctx.error("bad-value", f"unknown test `{s.test}`; the crosstab test is `chisq`", s)
        for s in a.statements:
            terms = list(s.terms) if isinstance(s, (m.Frequencies, m.Summary)) else (
                [s.row, s.column] if isinstance(s, m.Crosstab) else []
            )
            if isinstance(s, m.Crosstab):
                _check_crossed_rosters(ctx, s)
            for term in terms:
                var = _term_variable(ctx, term)
                if var is None:
                    continue
                if var.personal:
                    ctx.error(
                        "personal-data",
                        f"`{var.name}` is personal data (a sample field marked `personal`); "
                        f"it cannot be analysed",
                        term,
                    )
                elif isinstance(s, m.Summary):
                    if var.value_kind != "number" and var.type not in ("integer", "decimal"):
                        ctx.error(
                            "analysis-var",
                            f"`summary` needs a numeric variable, but `{term.display}` holds "
                            f"{'text' if var.value_kind == 'text' else 'codes'}; use `frequencies`",
                            term,
                        )
                elif var.value_kind == "text":
                    ctx.error(
                        "analysis-var",
                        f"`{term.display}` is free text; it cannot be tabulated",
                        term,
                    )
                elif var.role == "screener":
                    ctx.error(
                        "analysis-var",
                        f"`{term.display}` belongs to the intro; its answers are not response data",
                        term,
                    )
    check_charts(ctx)


def check_charts(ctx: Context) -> None:
    """Each chosen chart fits its statement and variables; an analysis draws one figure."""
    for a in ctx.spec.analyses:
        drawn: m.Chart | None = None
        for s in a.statements:
            if not isinstance(s, (m.Frequencies, m.Crosstab, m.Summary)) or s.chart is None:
                continue
            chart = s.chart
            if chart.kind not in m.CHART_KINDS:
                ctx.error(
                    "bad-value",
                    f"unknown chart `{chart.kind}`{did_you_mean(chart.kind, m.CHART_KINDS)} "
                    f"(charts: {', '.join(m.CHART_KINDS)})",
                    chart,
                )
                continue
            if chart.kind == "none":
                continue
            if drawn is not None and drawn.span is not None:
                ctx.error(
                    "chart-kind",
                    f"an analysis draws one figure, and line {drawn.span.line} already chooses "
                    f"`chart {drawn.kind}`; write `chart none` here, or give this statement an analysis of its own",
                    chart,
                )
                continue
            drawn = chart
            why = _chart_misfit(ctx, s, chart.kind)
            if why:
                ctx.error("chart-kind", f"`chart {chart.kind}` {why}", chart)


def _chart_misfit(ctx: Context, s: m.Frequencies | m.Crosstab | m.Summary, kind: str) -> str | None:
    """Why a chart kind does not fit a statement, or ``None`` when it does."""
    if isinstance(s, m.Crosstab):
        return None if kind == "stacked" else "does not draw a crosstab; it is drawn `stacked` (or `none`)"
    if isinstance(s, m.Summary):
        return None if kind == "histogram" else "does not draw a summary; it is drawn as a `histogram` (or `none`)"
    terms = [(t, _chart_variable(ctx, t)) for t in s.terms]
    if any(v is None for _, v in terms):
        return None  # reported by check_analyses
    if kind in ("bar", "histogram") and len(terms) > 1:
        return (
            f"draws one variable, but this statement has {len(terms)}; draw items on one scale "
            f"`stacked` or `diverging`, or give each an analysis of its own"
        )
    if kind == "histogram":
        t, v = terms[0]
        assert v is not None
        if v.value_kind != "number" and v.type not in ("integer", "decimal"):
            return f"needs a number, but `{t.display}` holds codes; use `chart bar`"
        return None
    if kind == "bar":
        return None
    for t, v in terms:
        assert v is not None
        if v.type == "multiple" or v.value_kind != "code" or not v.values:
            holds = "several codes per answer" if v.type == "multiple" else (
                "numbers" if v.value_kind == "number" else "no categories"
            )
            return f"draws one bar of 100 % per item, but `{t.display}` holds {holds}; use `chart bar`"
    first_t, first = terms[0]
    assert first is not None
    for t, v in terms[1:]:
        assert v is not None
        if _categories(v) != _categories(first):
            return (
                f"needs items with the same categories, but `{first_t.display}` and `{t.display}` differ; "
                f"draw them in analyses of their own"
            )
    if kind == "stacked":
        return None
    for t, v in terms:
        assert v is not None
        if not _on_scale(ctx, t, v):
            return (
                f"needs an ordered scale to split into two halves, but `{t.display}` has "
                f"{'its own categories' if v.role == 'recode' else 'its own options'}; declare them as a "
                f"`scale` to draw it diverging, or use `chart bar`"
            )
    if len(first.substantive_codes) < 2:
        return (
            f"needs at least two answers that are not missing codes to put on either side of the middle, "
            f"but `{first_t.display}` has {len(first.substantive_codes)}; use `chart bar`"
        )
    return None


def _chart_variable(ctx: Context, term: m.Term) -> Variable | None:
    """The variable a term tabulates, or ``None`` when ``check_analyses`` reports it."""
    var = _first_iteration(ctx, term) if term.roster else ctx.low.variables.get(term.name)
    if var is None or var.personal or var.value_kind == "text" or var.role == "screener":
        return None
    if term.recode is None:
        return var
    r = ctx.low.recodes.get(term.recode)
    if r is None or not r.source_is_scale:
        return None
    return ctx.low.variables.get(f"{term.name}_{r.name}")


def _categories(v: Variable) -> tuple[object, ...]:
    return tuple((code, label.text) for code, label in v.values), v.missing


def _on_scale(ctx: Context, term: m.Term, v: Variable) -> bool:
    """Answers on an ordered scale: a question or grid on a ``scale``, or a scale recode of one."""
    if term.recode is not None:
        return True  # _chart_variable only returns recodes declared `from scale`
    return isinstance(v.node, m.GridItem) or (isinstance(v.node, m.Question) and v.node.scale is not None)


def _check_crossed_rosters(ctx: Context, s: m.Crosstab) -> None:
    """A crosstab pairs two roster variables per iteration, so both must be over one roster."""
    r, c = s.row.roster, s.column.roster
    if r and c and r != c and ctx.roster_vars.get(s.row.name) == r and ctx.roster_vars.get(s.column.name) == c:
        ctx.error(
            "roster-analysis",
            f"`{s.row.display}` and `{s.column.display}` are over different rosters; a crosstab pairs "
            f"two roster variables per iteration of one roster (a household-level variable may be crossed "
            f"with either)",
            s.column,
        )


def _roster_term_variable(ctx: Context, term: m.Term) -> Variable | None:
    """``c2 over child``: the first iteration's column stands for the stacked variable."""
    assert term.roster is not None
    declared = ctx.roster_vars.get(term.name)
    if term.roster not in ctx.low.rosters:
        ctx.error(
            "undefined-ref",
            f"unknown roster `{term.roster}`{did_you_mean(term.roster, ctx.low.rosters)}",
            term,
        )
        return None
    if declared is None:
        if term.name in ctx.low.variables:
            ctx.error(
                "roster-analysis",
                f"`{term.name}` is not asked in a roster; write `{term.name}` without `over`",
                term,
            )
        else:
            ctx.unknown_variable(term.name, term)
        return None
    if declared != term.roster:
        ctx.error(
            "roster-analysis",
            f"`{term.name}` is asked in the roster `{declared}`, not `{term.roster}`; "
            f"write `{term.name} over {declared}`",
            term,
        )
        return None
    return _first_iteration(ctx, term)


def _first_iteration(ctx: Context, term: m.Term) -> Variable | None:
    """The variable of a roster term's first column (its labels, kind and codes)."""
    spec = ctx.low.source or ctx.low.spec
    items = spec.interview.items if spec.interview else ()
    columns = stacked_columns(items, ctx.low.columns, term.name, term.roster or "")
    return ctx.low.variables.get(columns[0]) if columns else None


def _term_variable(ctx: Context, term: m.Term) -> Variable | None:
    variables = ctx.low.variables
    if term.roster is not None:
        return _roster_term_variable(ctx, term)
    roster = ctx.roster_vars.get(term.name)
    if roster is not None and term.name not in variables:
        ctx.error(
            "roster-analysis",
            f"`{term.name}` is asked once per iteration of the roster `{roster}`; write "
            f"`{term.name} over {roster}` to count every answered iteration, or name one "
            f"iteration's column (`{term.name}_1`)",
            term,
        )
        return None
    var = variables.get(term.name)
    if var is None:
        ctx.unknown_variable(term.name, term)
        return None
    if term.recode is None:
        return var
    r = ctx.low.recodes.get(term.recode)
    if r is None:
        ctx.error(
            "undefined-ref",
            f"unknown recode `{term.recode}`{did_you_mean(term.recode, ctx.low.recodes)}",
            term,
        )
        return None
    if not r.source_is_scale:
        ctx.error(
            "recode-source",
            f"recode `{r.name}` is of `{r.source}` only; write `{r.name}`, or declare it "
            f"`from scale ...` to apply it to other questions",
            term,
        )
        return None
    if var.personal:
        return var
    node = var.node
    scale_name = getattr(node, "scale", None)
    if isinstance(node, m.GridItem):
        scale_name = _grid_of(ctx, term.name)
    if scale_name != r.source:
        ctx.error(
            "recode-source",
            f"recode `{r.name}` is over scale `{r.source}`, but `{term.name}` "
            f"{'uses scale `' + scale_name + '`' if scale_name else 'has no scale'}",
            term,
        )
        return None
    return variables.get(f"{term.name}_{r.name}", var)


def _grid_of(ctx: Context, name: str) -> str | None:
    for item in walk_items(ctx.spec.interview.items if ctx.spec.interview else ()):
        if isinstance(item, m.Grid) and any(item.name + gi.name == name for gi in item.items):
            return item.scale
    return None
