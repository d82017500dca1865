"""Semantic checks: everything the grammar cannot see, reported all at once.

Each check appends diagnostics with a stable code from ``errors.CODES``; none
stops the others. The checks read the author's model and the lowered
variables (``lower.py``) and the routing positions (``flow.py``).
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Iterator

from kvpspec import model as m
from kvpspec.diagnostics import Diagnostic, did_you_mean, number_text
from kvpspec.semantics.expr import ERROR, NUMBER, Type, TypeChecker
from kvpspec.semantics.routing import flatten, goto_targets, positions
from kvpspec.semantics.lower import (
    Lowered,
    Variable,
    computation_order,
    intro_names,
    lower,
    matches,
    walk_items,
)

_FILL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")



def fills(text: str) -> list[str]:
    """The fills in a text: ``"Snakker jeg med {navn}?"`` gives ``["navn"]``."""
    return [value for kind, value in m.split_fills(text) if kind == "fill"]


class Checker:
    def __init__(self, spec: m.Spec, file: str, routing_facts: bool = True):
        self.spec = spec
        self.routing_facts = routing_facts
        self.file = file
        self.diags: list[Diagnostic] = []
        self.low: Lowered = lower(spec)
        self._grids = {
            item.name: item
            for item in walk_items(spec.interview.items if spec.interview else ())
            if isinstance(item, m.Grid)
        }

    # ------------------------------------------------------------ reporting

    def error(self, code: str, message: str, node: m.Node | None, severity: str = "error") -> None:
        span = node.span if node is not None else None
        if span is None:
            span = self.spec.span or m.Span(file=self.file)
        self.diags.append(Diagnostic.at(span, code, message, severity))  # type: ignore[arg-type]

    def warn(self, code: str, message: str, node: m.Node | None) -> None:
        self.error(code, message, node, "warning")

    def unknown_variable(self, name: str, node: m.Node, what: str = "variable", candidates=None) -> None:
        """Report an unknown name; a grid's own name gets pointed at its items."""
        grid = self._grids.get(name)
        if grid is not None and grid.items:
            first = name + grid.items[0].name
            self.error(
                "undefined-ref",
                f"`{name}` is a grid, not a {what}; use one of its items, e.g. `{first}`",
                node,
            )
            return
        pool = self.low.variables if candidates is None else candidates
        self.error("undefined-ref", f"unknown {what} `{name}`{did_you_mean(name, pool)}", node)

    # ------------------------------------------------------------ run

    def run(self) -> list[Diagnostic]:
        self.check_names()
        self.check_scales()
        self.check_questions()
        self.check_routing()
        self.check_fieldwork()
        self.check_recodes()
        self.check_derives()
        self.check_data_rules()
        self.check_analyses()
        self.check_documents()
        self.check_fills()
        if self.routing_facts and not any(d.severity == "error" for d in self.diags):
            self.check_routing_facts()
        return self.diags

    # ------------------------------------------------------------ names

    def declared_names(self) -> Iterator[tuple[str, m.Node, str]]:
        """Every name that makes a variable, with its node and what it is."""
        spec = self.spec
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

    def check_names(self) -> None:
        seen: dict[str, tuple[m.Node, str]] = {}
        for name, node, what in self.declared_names():
            if name in seen:
                prev, prev_what = seen[name]
                if isinstance(node, m.GridItem) and isinstance(prev, m.GridItem) and _same_grid(self._grids, prev, node):
                    grid = _same_grid(self._grids, prev, node)
                    self.error("duplicate", f"item `{node.name}` is used twice in grid `{grid}`", node)
                    continue
                where = f" on line {prev.span.line}" if prev.span else ""
                self.error("duplicate", f"`{name}` is already declared as a {prev_what}{where}", node)
            else:
                seen[name] = (node, what)
        for group, what in (
            (self.spec.scales, "scale"),
            (self.spec.analyses, "analysis"),
            (self.spec.documents, "document"),
            (self.spec.fieldwork.rates if self.spec.fieldwork else (), "rate"),
            (self.spec.expectations, "expectation"),
            (self.spec.warnings, "soft check"),
        ):
            names: dict[str, m.Node] = {}
            for node in group:
                name = node.name  # type: ignore[attr-defined]
                if name in names:
                    prev = names[name]
                    self.error(
                        "duplicate",
                        f"the {what} `{name}` is already declared on line {prev.span.line if prev.span else '?'}",
                        node,
                    )
                else:
                    names[name] = node
        recode_names = {r.name for r in self.spec.recodes if r.source_is_scale}
        for name in recode_names & {s.name for s in self.spec.scales}:
            node = next(r for r in self.spec.recodes if r.name == name)
            self.error("duplicate", f"`{name}` names both a scale and a recode", node)

    # ------------------------------------------------------------ scales and questions

    def check_options(self, options: Iterable[m.Option], where: str) -> None:
        codes: dict[int, m.Option] = {}
        for o in options:
            if o.code in codes:
                self.error("duplicate", f"code {o.code} is used twice in {where}", o)
            codes[o.code] = o

    def check_read(self, read: m.ReadAloud | None, codes: set[int], where: str) -> None:
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
                self.error(
                    "read-unknown-code",
                    f"`read {shown}` names option{'s' if len(unknown) > 1 else ''} "
                    f"{', '.join(map(str, unknown))} that {where} does not have (its codes: {have})",
                    r,
                )

    def check_scales(self) -> None:
        used = set()
        if self.spec.interview:
            for item in walk_items(self.spec.interview.items):
                if isinstance(item, (m.Question, m.Grid)) and item.scale:
                    used.add(item.scale)
        used.update(r.source for r in self.spec.recodes if r.source_is_scale)
        for s in self.spec.scales:
            self.check_options(s.options, f"scale `{s.name}`")
            self.check_read(s.read, {o.code for o in s.options}, f"scale `{s.name}`")
            if not s.options:
                self.error("no-options", f"scale `{s.name}` has no options", s)
            for o in s.options:
                if o.specify or o.goto or o.end is not None:
                    self.error(
                        "option-flag",
                        "a scale's options cannot carry `specify`, `goto` or `end`; put them on a question's own options",
                        o,
                    )
            if s.name not in used:
                self.warn("unused-scale", f"scale `{s.name}` is not used by any question or recode", s)

    def _scale_ref(self, name: str, node: m.Node) -> m.Scale | None:
        scale = self.low.scales.get(name)
        if scale is None:
            self.error(
                "undefined-ref",
                f"unknown scale `{name}`{did_you_mean(name, self.low.scales)}",
                node,
            )
        return scale

    def check_questions(self) -> None:
        if not self.spec.interview:
            return
        for item in walk_items(self.spec.interview.items):
            if isinstance(item, m.Question):
                self.check_question(item)
            elif isinstance(item, m.Grid):
                scale = self._scale_ref(item.scale, item)
                if scale is not None and scale.options:
                    self.check_read(item.read, {o.code for o in scale.options}, f"scale `{scale.name}`")
                if not item.items:
                    self.error("no-options", f"grid `{item.name}` has no items", item)

    def check_question(self, q: m.Question) -> None:
        kind = q.kind or "single"
        where = f"question `{q.name}`"
        scale = self._scale_ref(q.scale, q) if q.scale else None
        if q.scale and q.options:
            self.error(
                "options-and-scale",
                f"{where} has both `scale {q.scale}` and options of its own; keep one",
                q.options[0],
            )
        options = q.options or (scale.options if scale else ())
        self.check_options(q.options, where)
        if kind in ("single", "multiple"):
            if not options and not q.scale:
                self.error(
                    "no-options",
                    f"{where} is a choice question without options; give options, a scale, "
                    f"or a kind such as `integer` or `text`",
                    q,
                )
            if q.range is not None:
                self.error("range-kind", f"`range` is for integer and decimal questions, not {kind}", q.range)
        else:
            if q.scale:
                self.error("range-kind", f"{_a(kind)} question cannot use a scale", q)
            if kind == "text" and q.options:
                self.error("specify-kind", "a text question cannot have options", q.options[0])
            if kind in ("integer", "decimal"):
                for o in q.options:
                    if not o.missing:
                        self.error(
                            "missing-in-range",
                            f"option {o.code} of a numeric question must be a missing code "
                            f"(add `missing dont_know`, `refused` or `not_applicable`)",
                            o,
                        )
                    elif q.range and q.range.low <= o.code <= q.range.high:
                        self.error(
                            "missing-in-range",
                            f"missing code {o.code} lies inside the valid range "
                            f"{q.range.low}..{q.range.high}; a real answer could not be told from it",
                            o,
                        )
                    if o.specify or o.goto or o.end is not None:
                        self.error("specify-kind", "a missing code cannot carry specify, goto or end", o)
                if kind == "integer" and q.range and any(
                    isinstance(x, float) for x in (q.range.low, q.range.high)
                ):
                    self.error("bad-value", "an integer question's range takes whole numbers", q.range)
        if kind == "multiple":
            for o in options:
                if (o.goto or o.end is not None) and not o.exclusive:
                    self.error(
                        "option-flag",
                        "in a multiple-choice question only an `exclusive` option can `goto` or `end`",
                        o,
                    )
        else:
            for o in options:
                if o.exclusive:
                    self.error("option-flag", "`exclusive` is for options of multiple-choice questions", o)
        codes = {o.code for o in options}
        if options or not q.scale:
            self.check_read(q.read, codes, where)
        if q.recorded and q.read is not None and not q.read.none:
            self.error("recorded-condition", f"{where} is recorded by the interviewer, so nothing is read out", q.read)

    # ------------------------------------------------------------ routing

    def check_routing(self) -> None:
        spec = self.spec
        if not spec.interview:
            return
        flat = flatten(spec.interview.items)
        targets = goto_targets(flat)
        pos = positions(self.low)
        intro = intro_names(spec)
        dispositions = {d.code for d in spec.fieldwork.dispositions} if spec.fieldwork else set()
        by_item = {id(f.item): f for f in flat}
        checker_for = self._routing_checker

        for f in flat:
            item = f.item
            if isinstance(item, (m.Question, m.Grid)) and item.condition is not None:
                checker_for(f.index, item, intro, pos, own=item).condition(item.condition)
            if isinstance(item, m.IfBlock):
                checker_for(f.index + 1, item, intro, pos, own=None).condition(item.condition)
            if not isinstance(item, m.Question):
                continue
            for o in self.low.question_options(item):
                if o.goto:
                    t = targets.get(o.goto)
                    if t is None:
                        self.error(
                            "undefined-ref",
                            f"`goto {o.goto}`: there is no question `{o.goto}`{did_you_mean(o.goto, targets)}",
                            o,
                        )
                    elif t.index <= f.index:
                        self.error(
                            "goto-backward",
                            f"`goto {o.goto}` jumps back to a question already asked; "
                            f"this makes a cycle (gotos may only jump forward)",
                            o,
                        )
                    elif not _prefix(t.depth_path, f.depth_path):
                        self.error(
                            "goto-into-block",
                            f"`goto {o.goto}` jumps into an `if` block, past its condition; "
                            f"jump to an item outside the block",
                            o,
                        )
                if o.end is not None and o.end not in dispositions:
                    have = ", ".join(map(str, sorted(dispositions))) or "none are declared"
                    self.error(
                        "end-disposition",
                        f"`end {o.end}`: there is no disposition {o.end} (dispositions: {have})",
                        o,
                    )
        del by_item

    def check_routing_facts(self) -> None:
        """Unreachable questions and conditions that never or always hold (``flow.analyse``).

        Run on a spec without errors only: the analysis evaluates conditions, which
        needs every name known and every type right.
        """
        if not self.spec.interview:
            return
        from kvpspec.semantics.routing import analyse

        for finding in analyse(self.low).findings:
            severity = "warning" if finding.code == "always-true" else "error"
            self.error(finding.code, finding.message, finding.node, severity)

    def _routing_checker(
        self, index: int, item: m.Item, intro: set[str], pos: dict[str, int], own: m.Question | m.Grid | None
    ) -> TypeChecker:
        in_intro = False
        if isinstance(item, (m.Question, m.Grid)):
            in_intro = item.name in intro
        variables = self.low.variables
        own_names = _names_of(own) if own is not None else set()

        def resolve(ref: m.Ref) -> Variable | None:
            var = variables.get(ref.name)
            if var is None:
                self.unknown_variable(ref.name, ref, "question")
                return None
            if var.role == "sample":
                return var
            if var.role in ("recode", "derive"):
                self.error(
                    "forward-ref",
                    f"routing cannot use the {var.role} `{ref.name}`: it is computed after the interview; "
                    f"test its source question instead",
                    ref,
                )
                return None
            if own is not None and ref.name in own_names:
                self.error("self-ref", f"the condition of `{own.name}` refers to `{ref.name}` itself", ref)
                return None
            p = pos.get(ref.name)
            if p is None or p >= index:
                self.error(
                    "forward-ref",
                    f"`{ref.name}` is not asked before this point, so routing cannot depend on it yet",
                    ref,
                )
                return None
            if var.role == "screener" and not in_intro:
                self.error(
                    "forward-ref",
                    f"`{ref.name}` belongs to the intro, whose answers are not response data; "
                    f"routing after the intro cannot depend on it",
                    ref,
                )
                return None
            return var

        return TypeChecker(self._report, resolve, {})

    def _report(self, code: str, message: str, node: m.Node) -> None:
        self.error(code, message, node)

    # ------------------------------------------------------------ fieldwork

    def check_fieldwork(self) -> None:
        fw = self.spec.fieldwork
        if fw is None:
            return
        codes: dict[int, m.Disposition] = {}
        for d in fw.dispositions:
            if d.code in codes:
                self.error("duplicate", f"disposition {d.code} is declared twice", d)
            codes[d.code] = d
            if d.aapor not in m.AAPOR_CATEGORIES:
                cats = ", ".join(m.AAPOR_CATEGORIES)
                self.error(
                    "aapor",
                    f"`{d.aapor}` is not an AAPOR category{_case_hint(d.aapor, m.AAPOR_CATEGORIES)} "
                    f"(categories: {cats})",
                    d,
                )
        if fw.dispositions and not any(d.aapor == "I" for d in fw.dispositions):
            self.error("aapor", "no disposition is a complete interview (`aapor I`)", fw.dispositions[0])
        sample_vars = {f.name: self.low.variables.get(f.name) for f in fw.sample}
        for f in fw.sample:
            self.check_options(f.options, f"sample field `{f.name}`")
            if f.kind in ("integer", "decimal", "text") and f.options:
                self.error("specify-kind", f"{_a(f.kind)} sample field cannot have options", f.options[0])
            if f.formula is not None:
                earlier = {g.name for g in fw.sample[: fw.sample.index(f)]}

                def resolve(ref: m.Ref, earlier=earlier, f=f) -> Variable | None:
                    if ref.name == f.name:
                        self.error("self-ref", f"the formula of `{f.name}` refers to `{f.name}` itself", ref)
                        return None
                    if ref.name not in sample_vars:
                        others = [n for n in sample_vars if n != f.name]
                        self.error(
                            "undefined-ref",
                            f"unknown sample field `{ref.name}`{did_you_mean(ref.name, others)}",
                            ref,
                        )
                        return None
                    if ref.name not in earlier:
                        self.error("forward-ref", f"`{ref.name}` must be declared before `{f.name}`", ref)
                        return None
                    return sample_vars[ref.name]

                TypeChecker(self._report, resolve).infer(f.formula)
        for r in fw.rates:
            if r.aapor is not None:
                if r.aapor not in m.AAPOR_RATES:
                    self.error(
                        "aapor",
                        f"`{r.aapor}` is not an AAPOR response rate{_case_hint(r.aapor, m.AAPOR_RATES)} "
                        f"({', '.join(m.AAPOR_RATES)})",
                        r,
                    )
                if r.eligibility is not None and not 0 <= r.eligibility <= 1:
                    self.error("bad-value", "eligibility is a proportion between 0 and 1", r)
                if not fw.dispositions:
                    self.error("aapor", "AAPOR rates need `dispositions` with their AAPOR categories", r)
            elif r.formula is not None:
                self._check_rate_formula(r.formula, codes)

    def _check_rate_formula(self, formula: m.Expr, codes: dict[int, m.Disposition]) -> None:
        def count(call: m.Call, tc: TypeChecker) -> Type:
            for a in call.args:
                if not (isinstance(a, m.Literal_) and isinstance(a.value, int) and not isinstance(a.value, bool)):
                    self.error("type", "`count` takes disposition codes, e.g. `count(2, 3)`", a)
                elif a.value not in codes:
                    have = ", ".join(map(str, sorted(codes))) or "none are declared"
                    self.error("end-disposition", f"there is no disposition {a.value} (dispositions: {have})", a)
            return NUMBER

        def resolve(ref: m.Ref) -> Variable | None:
            self.error("type", f"a rate is computed from `count(...)` of dispositions, not from `{ref.name}`", ref)
            return None

        t = TypeChecker(self._report, resolve, functions={"count": count}).infer(formula)
        if t.kind not in ("number", "error"):
            self.error("type", "a rate formula must be a number, e.g. `count(7) / count()`", formula)

    # ------------------------------------------------------------ recodes

    def check_recodes(self) -> None:
        for r in self.spec.recodes:
            if r.source_is_scale:
                scale = self._scale_ref(r.source, r)
                if scale is None:
                    continue
                domain_codes = [o.code for o in scale.options]
                missing = {o.code for o in scale.options if o.missing}
                self._check_total(r, domain_codes, missing, None)
            else:
                var = self.low.variables.get(r.source)
                if var is None:
                    self.unknown_variable(r.source, r)
                    continue
                if var.personal:
                    self.error(
                        "personal-data",
                        f"`{r.source}` is personal data (a sample field marked `personal`); "
                        f"it cannot be recoded into data for analysis",
                        r,
                    )
                if var.name == r.name:
                    continue  # a cycle, reported with the others
                if var.value_kind == "text":
                    self.error("recode-source", f"`{r.source}` holds text; only codes and numbers can be recoded", r)
                    continue
                if var.type == "multiple":
                    self.error(
                        "recode-source",
                        f"`{r.source}` is multiple choice: one answer may hold several codes, so it cannot "
                        f"be recoded into one; test its codes with `==` or `in` in a `derive` instead",
                        r,
                    )
                    continue
                if var.type in ("integer", "decimal"):
                    self._check_total(r, None, var.missing_codes, var)
                elif var.values:
                    self._check_total(r, list(var.codes), var.missing_codes, None)
                else:
                    self.error("recode-source", f"`{r.source}` has no codes to recode", r)
            self._check_rule_codes(r)

    def _check_rule_codes(self, r: m.Recode) -> None:
        labels: dict[int, m.RecodeRule] = {}
        for rule in r.rules:
            prev = labels.get(rule.code)
            if prev is not None and (prev.label.text != rule.label.text or prev.missing != rule.missing):
                self.error(
                    "duplicate",
                    f"code {rule.code} is given two different labels in recode `{r.name}`",
                    rule,
                )
            labels.setdefault(rule.code, rule)

    def _check_total(self, r: m.Recode, codes: list[int] | None, missing: Iterable[int], var: Variable | None) -> None:
        """Every value of the source's domain maps to exactly one rule."""
        specs = [(v, rule) for rule in r.rules for v in rule.values]
        elses = [v for v, _ in specs if v.kind == "else"]
        for extra in elses[1:]:
            self.error("recode-overlap", "`else` is given twice", extra)
        if codes is not None:
            domain: list[int | float] = list(codes)
            for v, rule in specs:
                if v.kind == "single" and v.low not in codes:
                    self.error(
                        "code-not-in-scale",
                        f"{number_text(v.low)} is not a code of `{r.source}` (its codes: {', '.join(map(str, codes))})",
                        v,
                    )
                elif v.kind in ("range", "upto", "from") and not any(v.contains(c) for c in codes):
                    self.error("code-not-in-scale", f"no code of `{r.source}` lies in this range", v)
        else:
            assert var is not None
            domain = []
            if var.min is None or var.max is None:
                if not elses:
                    advice = "add an `else` rule" if var.role == "sample" else "give it a `range` or add an `else` rule"
                    self.error(
                        "recode-source",
                        f"`{r.source}` has no `range`, so the recode cannot be checked for gaps; {advice}",
                        r,
                    )
                return
            if var.type == "integer" and var.max - var.min <= 100_000:
                domain = list(range(int(var.min), int(var.max) + 1))
            else:
                self._check_intervals(r, specs, var)
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
            self.error(
                "recode-overlap",
                f"{number_text(value)} is mapped by two rules of recode `{r.name}` (also on line {line})",
                matching[1],
            )
        if not elses:
            gaps = [v for v in domain if not any(matches(s, v, v in miss) for s, _ in specs)]
            if gaps:
                shown = _ranges(gaps)
                note = " (missing codes must be mapped too)" if any(g in miss for g in gaps) else ""
                self.error(
                    "recode-gap",
                    f"recode `{r.name}` leaves {shown} of `{r.source}` unmapped{note}; add rules or `else`",
                    r,
                )

    def _check_intervals(self, r: m.Recode, specs, var: Variable) -> None:
        """Gaps and overlaps of a recode over a continuous range, interval by interval.

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
        cursor = var.min
        started = False
        reach: float | None = None
        for low, high, v in intervals:
            if high < var.min or low > var.max:  # type: ignore[operator]
                continue
            if reach is not None and low <= reach:
                self.error("recode-overlap", f"{number_text(max(low, var.min))} is mapped by two rules of recode `{r.name}`", v)
            if not has_else:
                if (not started and low > var.min) or (started and low > cursor):  # type: ignore[operator]
                    self.error(
                        "recode-gap",
                        f"recode `{r.name}` leaves values between {number_text(cursor)} and {number_text(low)} of `{r.source}` unmapped",
                        r,
                    )
                    return
                started = True
                cursor = max(cursor, high)  # type: ignore[type-var]
            reach = high if reach is None else max(reach, high)
        if not has_else and (not started or cursor < var.max):  # type: ignore[operator]
            self.error("recode-gap", f"recode `{r.name}` leaves values above {number_text(cursor)} of `{r.source}` unmapped", r)

    # ------------------------------------------------------------ derived

    def check_derives(self) -> None:
        variables = self.low.variables
        for d in self.spec.derives:
            refs: set[str] = set()

            def resolve(ref: m.Ref, refs=refs) -> Variable | None:
                var = variables.get(ref.name)
                if var is None:
                    self.unknown_variable(ref.name, ref)
                    return None
                if var.personal:
                    self.error("personal-data", f"`{ref.name}` is personal data and cannot enter derived data", ref)
                refs.add(ref.name)
                return var

            TypeChecker(self._report, resolve, self.low.recodes).infer(d.expr)
        # cycles among recodes and derived variables
        _, cycles = computation_order(self.spec)
        nodes = {r.name: r for r in self.spec.recodes} | {d.name: d for d in self.spec.derives}
        for cycle in cycles:
            node = nodes[cycle[0]]
            if len(cycle) == 2:
                self.error("cycle", f"`{cycle[0]}` is computed from itself", node)
            else:
                self.error("cycle", "computed variables depend on each other: " + " -> ".join(cycle), node)

    # ------------------------------------------------------------ expectations, soft checks

    def _data_resolver(self, what: str):
        variables = self.low.variables

        def resolve(ref: m.Ref) -> Variable | None:
            var = variables.get(ref.name)
            if var is None:
                self.unknown_variable(ref.name, ref)
                return None
            if var.role == "sample":
                self.error(
                    "personal-data" if var.personal else "forward-ref",
                    f"`{ref.name}` is a sample field, not response data; {what} are about interviews",
                    ref,
                )
                return None
            if var.role == "screener":
                self.error(
                    "forward-ref",
                    f"`{ref.name}` belongs to the intro, whose answers are not response data",
                    ref,
                )
                return None
            return var

        return resolve

    def check_data_rules(self) -> None:
        checker = TypeChecker(self._report, self._data_resolver("expectations"), self.low.recodes)
        for e in self.spec.expectations:
            checker.condition(e.rule.left)
            if e.rule.right is not None:
                checker.condition(e.rule.right)
        checker = TypeChecker(self._report, self._data_resolver("soft checks"), self.low.recodes)
        for w in self.spec.warnings:
            checker.condition(w.condition)

    # ------------------------------------------------------------ analyses

    def check_analyses(self) -> None:
        rates = {r.name for r in self.spec.fieldwork.rates} if self.spec.fieldwork else set()
        variables = self.low.variables
        for a in self.spec.analyses:
            for s in a.statements:
                if isinstance(s, m.Rates):
                    for name in s.names:
                        if name not in rates:
                            self.error(
                                "undefined-ref",
                                f"unknown rate `{name}`{did_you_mean(name, rates)}",
                                s,
                            )
                if isinstance(s, m.Crosstab) and s.test is not None and s.test != "chisq":
                    self.error("bad-value", f"unknown test `{s.test}`; the crosstab test is `chisq`", s)
            for s in a.statements:
                terms = list(s.terms) if isinstance(s, (m.Frequencies, m.Summary)) else (
                    [s.row, s.column] if isinstance(s, m.Crosstab) else []
                )
                for term in terms:
                    var = self._term_variable(term)
                    if var is None:
                        continue
                    if var.personal:
                        self.error(
                            "personal-data",
                            f"`{var.name}` is personal data (a sample field marked `personal`); "
                            f"it cannot be analysed",
                            term,
                        )
                    elif isinstance(s, m.Summary):
                        if var.value_kind != "number" and var.type not in ("integer", "decimal"):
                            self.error(
                                "analysis-var",
                                f"`summary` needs a numeric variable, but `{term.display}` holds "
                                f"{'text' if var.value_kind == 'text' else 'codes'}; use `frequencies`",
                                term,
                            )
                    elif var.value_kind == "text":
                        self.error(
                            "analysis-var",
                            f"`{term.display}` is free text; it cannot be tabulated",
                            term,
                        )
                    elif var.role == "screener":
                        self.error(
                            "analysis-var",
                            f"`{term.display}` belongs to the intro; its answers are not response data",
                            term,
                        )
        del variables

    def _term_variable(self, term: m.Term) -> Variable | None:
        variables = self.low.variables
        var = variables.get(term.name)
        if var is None:
            self.unknown_variable(term.name, term)
            return None
        if term.recode is None:
            return var
        r = self.low.recodes.get(term.recode)
        if r is None:
            self.error(
                "undefined-ref",
                f"unknown recode `{term.recode}`{did_you_mean(term.recode, self.low.recodes)}",
                term,
            )
            return None
        if not r.source_is_scale:
            self.error(
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
            scale_name = self._grid_of(term.name)
        if scale_name != r.source:
            self.error(
                "recode-source",
                f"recode `{r.name}` is over scale `{r.source}`, but `{term.name}` "
                f"{'uses scale `' + scale_name + '`' if scale_name else 'has no scale'}",
                term,
            )
            return None
        return variables.get(f"{term.name}_{r.name}", var)

    def _grid_of(self, name: str) -> str | None:
        for item in walk_items(self.spec.interview.items if self.spec.interview else ()):
            if isinstance(item, m.Grid) and any(item.name + gi.name == name for gi in item.items):
                return item.scale
        return None

    # ------------------------------------------------------------ documents

    def check_documents(self) -> None:
        sample = {f.name: f for f in self.spec.fieldwork.sample} if self.spec.fieldwork else {}
        for d in self.spec.documents:
            for b in d.blocks:
                if b.kind == "table":
                    for name in b.names:
                        if name not in sample:
                            self.error(
                                "undefined-ref",
                                f"unknown sample field `{name}`{did_you_mean(name, sample)}",
                                b,
                            )

    # ------------------------------------------------------------ fills

    def check_fills(self) -> None:
        spec = self.spec
        sample = {f.name for f in spec.fieldwork.sample} if spec.fieldwork else set()
        pos = positions(self.low)
        if spec.interview:
            flat = flatten(spec.interview.items)
            for f in flat:
                for text, node in _item_texts(f.item):
                    self._check_text_fills(text, node, sample, pos, f.index)
        for d in spec.documents:
            for text in [d.title] + [t for b in d.blocks for t in b.texts]:
                self._check_doc_fills(text)

    def _check_text_fills(self, text: m.Text, node: m.Node, sample: set[str], pos: dict[str, int], index: int) -> None:
        for t in [text.text, *text.translations.values()]:
            for name in fills(t):
                if not _FILL_NAME_RE.match(name):
                    self.error("fill", f"`{{{name}}}` is not a fill; write `{{{{` for a literal brace", text)
                elif name in sample:
                    continue
                elif name in pos:
                    if pos[name] >= index:
                        self.error("fill", f"the fill `{{{name}}}` uses an answer not given yet at this point", text)
                elif name in self._grids:
                    self.unknown_variable(name, text, "fill")
                else:
                    candidates = sorted(sample | set(pos))
                    self.error(
                        "fill",
                        f"unknown fill `{{{name}}}`: not a sample field or an earlier answer"
                        f"{did_you_mean(name, candidates)}",
                        text,
                    )

    def _check_doc_fills(self, text: m.Text) -> None:
        study = self.spec.study
        for t in [text.text, *text.translations.values()]:
            for name in fills(t):
                try:
                    given = m.study_fact(study, name) is not None
                except KeyError:
                    self.error(
                        "fill",
                        f"unknown fill `{{{name}}}` in a document{did_you_mean(name, sorted(m.STUDY_FACTS))}",
                        text,
                    )
                    continue
                if not given:
                    what = "study fact" if "." in name else "study field"
                    self.error("fill", f"the fill `{{{name}}}` names a {what} that is not given", text)


def _item_texts(item: m.Item) -> Iterator[tuple[m.Text, m.Node]]:
    if isinstance(item, (m.Say, m.Instruction, m.Heading)):
        yield item.text, item
    elif isinstance(item, m.Section):
        yield item.title, item
    elif isinstance(item, m.Question):
        yield item.label, item
        for t in item.notes + item.instructions:
            yield t, item
        for o in item.options:
            yield o.label, o
    elif isinstance(item, m.Grid):
        if item.label:
            yield item.label, item
        for gi in item.items:
            yield gi.label, gi
        for t in item.notes + item.instructions:
            yield t, item


def _same_grid(grids: dict[str, m.Grid], a: m.GridItem, b: m.GridItem) -> str | None:
    for name, grid in grids.items():
        if any(gi is a for gi in grid.items) and any(gi is b for gi in grid.items):
            return name
    return None


def _names_of(item: m.Question | m.Grid) -> set[str]:
    """The variables a question or grid asks: itself, its specify texts, its items."""
    if isinstance(item, m.Grid):
        return {item.name} | {item.name + gi.name for gi in item.items}
    return {item.name} | {o.specify.name for o in item.options if o.specify}


def _prefix(target: tuple[int, ...], source: tuple[int, ...]) -> bool:
    """A goto may land in the block it leaves from or in an enclosing one."""
    return source[: len(target)] == target


def _case_hint(word: str, names) -> str:
    """A hint only for a difference of case (``rr1`` for ``RR1``): short codes mislead otherwise."""
    for name in names:
        if name.lower() == word.lower():
            return f"; did you mean `{name}`?"
    close = difflib.get_close_matches(word.upper(), list(names), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def _a(word: str) -> str:
    """``a text``, ``an integer``."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


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


def check(spec: m.Spec, file: str, prior: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """Run every semantic check; diagnostics sorted by position.

    ``prior`` are the diagnostics found while parsing: when one is an error, the
    static routing analysis (which evaluates conditions) is left out.
    """
    clean = not any(d.severity == "error" for d in prior)
    return sorted(Checker(spec, file, routing_facts=clean).run(), key=lambda d: d.sort_key)


del ERROR
