"""The spec as an XLSForm (issue 14, export): the workbook ODK, KoboToolbox,
SurveyCTO, Ona and Enketo read, checked by pyxform and ODK Validate.

``xlsform_workbook(compiled)`` builds the ``survey``, ``choices`` and
``settings`` sheets; ``write_xlsform`` writes it (byte-identical for the same
spec: fixed workbook properties and zip times). The mapping, and what does
not carry over, is in docs/xlsform.md. In short:

- every question keeps its name and type (select_one, select_multiple,
  integer, decimal, text); options become choices (missing codes included);
  ranges and hard checks (``error``) become ``constraint``; a soft check
  (``warn``) becomes a ``note`` shown when it fires (XLSForm has no soft
  constraint);
- ``relevant`` is the core's routing guard of each step (``routing.steps``),
  rendered by ``xpath.XPathRenderer`` so that the form asks exactly what
  ``routing.Walk`` asks (three-valued logic included);
- a grid is a ``field-list`` group; a roster a ``repeat`` whose
  ``repeat_count`` is its count (an ``over`` list: its length), with a
  ``calculate`` holding the iteration number (and, for a list, its label per
  language) for the fill ``{roster}``;
- recodes and derived variables become ``calculate`` rows.

What the codebook needs and XLSForm has no column for (missing kinds, a numeric
question's missing codes, the intro, ``end`` dispositions, specify texts, grids,
the respondent id, sample fields, recodes, ...) goes into a ``kvpspec`` column
(pyxform ignores it on the survey sheet and keeps it as a choice attribute),
for ``kvpspec import xlsform`` to read back (docs/xlsform.md).

Anything not carried goes through ``report(message, node)``: the CLI prints it
with the construct's line (``unsupported``), and the form is still written.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.base import Context, normalise_zip
from generators.xlsform.xpath import TRUE, XPathRenderer, both, number_literal, string_literal
from kvpspec import model as m
from kvpspec.data.spreadsheet import is_formula_like
from kvpspec.diagnostics import Diagnostic
from kvpspec.semantics.checkpoints import checkpoints
from kvpspec.semantics.routing import code_in, steps
from kvpspec.semantics.variables import computation_order
from kvpspec.syntax.formatter import format_expr

if TYPE_CHECKING:
    from openpyxl import Workbook

    from kvpspec.compile import Compiled

#: How a language is named in the column headers (``label::Norsk (nb)``); others by their code.
LANGUAGE_NAMES: dict[str, str] = {
    "nb": "Norsk", "nn": "Nynorsk", "no": "Norsk", "se": "Davvisámegiella", "en": "English",
    "sv": "Svenska", "da": "Dansk", "fi": "Suomi", "de": "Deutsch", "fr": "Français",
    "es": "Español", "pl": "Polski", "lt": "Lietuvių", "ar": "العربية", "so": "Soomaali",
    "ur": "اردو", "ti": "ትግርኛ", "pt": "Português", "it": "Italiano", "nl": "Nederlands",
}

SURVEY_COLUMNS = ("type", "name", "label", "hint", "guidance_hint", "required", "relevant", "constraint",
                  "constraint_message", "calculation", "repeat_count", "appearance", "kvpspec")
TRANSLATED = ("label", "hint", "guidance_hint", "constraint_message")

Report = Callable[[str, "m.Node | None"], None]


def language_column(code: str) -> str:
    """``Norsk (nb)``: the language as XLSForm names it in ``label::...``."""
    return f"{LANGUAGE_NAMES.get(code, code)} ({code})"


@dataclass
class XLSForm:
    """The three sheets as rows of cells (what the workbook and the golden dump hold)."""

    survey: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    survey_columns: list[str] = field(default_factory=list)
    choices_columns: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def xlsform(compiled: Compiled, report: Report | None = None) -> XLSForm:
    """The spec's XLSForm as sheets of rows; ``report`` hears every construct not carried."""
    return _Builder(compiled, report).build()


def xlsform_workbook(compiled: Compiled, report: Report | None = None) -> Workbook:
    """The spec's XLSForm as an openpyxl workbook."""
    return workbook(xlsform(compiled, report))


def xlsform_bytes(compiled: Compiled, report: Report | None = None) -> bytes:
    """The .xlsx file's bytes, the same for the same spec."""
    return workbook_bytes(xlsform_workbook(compiled, report))


def write_xlsform(compiled: Compiled, path: str | Path, report: Report | None = None) -> list[Diagnostic]:
    """Write the spec's XLSForm to ``path``; the ``unsupported`` diagnostics."""
    form = xlsform(compiled, report)
    Path(path).write_bytes(workbook_bytes(workbook(form)))
    return form.diagnostics


def workbook(form: XLSForm) -> Workbook:
    from openpyxl import Workbook

    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    _sheet(survey, form.survey_columns, form.survey)
    _sheet(wb.create_sheet("choices"), form.choices_columns, form.choices)
    settings_columns = list(form.settings)
    _sheet(wb.create_sheet("settings"), settings_columns, [form.settings])
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    import datetime as dt

    fixed = dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "kvpspec"
    wb.properties.lastModifiedBy = "kvpspec"
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    ExcelWriter(wb, archive).save()  # `Workbook.save` would stamp the time as `modified`
    return normalise_zip(buf.getvalue())


def _sheet(ws: Any, columns: list[str], rows: list[dict[str, str]]) -> None:
    ws.append(columns)
    for r, row in enumerate(rows, start=2):
        for c, col in enumerate(columns, start=1):
            value = row.get(col)
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"
            if is_formula_like(value):
                cell.quotePrefix = True  # user text is text, never a formula


def dump(form: XLSForm) -> str:
    """The sheets as text, one cell per line (the golden files: xlsx bytes do not diff)."""
    out: list[str] = []
    for title, columns, rows in (
        ("survey", form.survey_columns, form.survey),
        ("choices", form.choices_columns, form.choices),
        ("settings", list(form.settings), [form.settings]),
    ):
        out.append(f"== {title}")
        for i, row in enumerate(rows, start=2):
            cells = [f"{c}={row[c]!r}" for c in columns if row.get(c)]
            out.append(f"{i}: " + " | ".join(cells))
    for d in form.diagnostics:
        out.append(f"unsupported {d.line}:{d.column}: {d.message}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, compiled: Compiled, report: Report | None) -> None:
        self.compiled = compiled
        self.low = compiled.lowered
        self.spec = self.low.spec
        self.ctx = Context(compiled)
        self._report = report
        self.form = XLSForm()
        study = self.spec.study
        self.languages: tuple[str, ...] = tuple(study.languages) if study and study.languages else ()
        self.steps = {s.name: s for s in steps(self.low)}
        self.derives = {d.name: d for d in self.spec.derives}
        self.roster_chain: dict[str, tuple[str, ...]] = {}
        #: column -> (base name in its repeat, rosters around it)
        self.columns: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.taken: set[str] = set(self.low.variables) | set(self.low.rosters) | set(self.low.scales)
        self.index_name: dict[str, str] = {}
        #: the calculate that holds one iteration's answer for a fill in a label, by column
        self.fills: dict[str, str] = {}
        self.fill_rows: list[dict[str, str]] = []
        self.label_name: dict[tuple[str, str], str] = {}
        self.lists: dict[tuple[str, str], str] = {}
        self.after: dict[str, list[dict[str, str]]] = {}
        #: hard checks by the step where they fire: (constraint, constraint_message columns)
        self.constraints: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._groups = 0
        self._notes = 0
        self.intro_ends: list[m.Expr] = []
        for s in steps(self.low):
            if s.in_intro and s.ends:
                self.intro_ends.append(
                    m.Unary.build(op="not", operand=code_in(s.name, [c for c, _ in s.ends]), holds=True)
                )

    # ------------------------------------------------------------ reporting

    def report(self, message: str, node: m.Node | None) -> None:
        span = node.span if node is not None else None
        if span is None:
            d = Diagnostic(code="unsupported", message=message, severity="warning")
        else:
            d = Diagnostic.at(span, "unsupported", message, severity="warning")
        if d not in self.form.diagnostics:
            self.form.diagnostics.append(d)
            if self._report is not None:
                self._report(message, node)

    def fresh(self, base: str) -> str:
        name = base
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    # ------------------------------------------------------------ names and references

    def _collect(self, items: tuple[m.Item, ...] | None, chain: tuple[str, ...]) -> None:
        for item in items or ():
            if isinstance(item, m.Roster):
                inner = (*chain, item.name)
                self.roster_chain[item.name] = inner
                self._collect(item.items, inner)
            elif isinstance(item, (m.Section, m.Intro, m.Closing)):
                self._collect(item.items, chain)
            elif isinstance(item, m.IfBlock):
                self._collect(item.then, chain)
                self._collect(item.otherwise, chain)
            elif chain and isinstance(item, (m.Question, m.Grid)):
                sizes = [self.low.rosters[r].size for r in chain]
                for iters in itertools.product(*(range(1, n + 1) for n in sizes)):
                    suffix = "".join(f"_{i}" for i in iters)
                    if isinstance(item, m.Question):
                        names = [item.name, *(o.specify.name for o in self.low.question_options(item) if o.specify)]
                        for n in names:
                            self.columns[n + suffix] = (n, chain)
                    else:
                        for gi in item.items:
                            self.columns[item.name + suffix + gi.name] = (item.name + gi.name, chain)

    def ref(self, name: str, chain: tuple[str, ...], iteration: tuple[int, ...]) -> str:
        """The XPath of an answer read from a row inside ``chain`` at ``iteration``."""
        origin = self.low.columns.get(name)
        if origin is None or name not in self.columns:
            return f"${{{name}}}"
        base, cchain = self.columns[name]
        iters = origin[1]
        k = len(cchain)
        if cchain == chain[:k] and iters == iteration[:k]:
            return f"${{{base}}}"
        args = [f"${{{base}}}"]
        for r, i in zip(cchain, iters):
            args.extend([f"${{{r}}}", str(i)])
        return "indexed-repeat(" + ", ".join(args) + ")"

    def renderer(self, chain: tuple[str, ...], iteration: tuple[int, ...], node: m.Node | None,
                 bases: dict[str, str] | None = None) -> XPathRenderer:
        def ref(name: str) -> str:
            if bases is not None and name in bases:
                return f"${{{bases[name]}}}"
            return self.ref(name, chain, iteration)

        return XPathRenderer(self.low.variables, self.low.recodes, self.derives, ref,
                             lambda message: self.report(message, node))

    # ------------------------------------------------------------ texts

    def _hints(self, row: dict[str, str], item: m.Question | m.Grid, place: tuple[str, ...],
               iteration: tuple[int, ...]) -> None:
        """An item's notes as `hint` and its interviewer instructions as `guidance_hint`."""
        for column, parts in (("hint", item.notes), ("guidance_hint", item.instructions)):
            text = _join(parts)
            if text is not None:
                row.update(self.texts(column, text, place, iteration, item))

    def texts(self, column: str, text: m.Text | None, place: tuple[str, ...], iteration: tuple[int, ...],
              node: m.Node | None) -> dict[str, str]:
        if text is None:
            return {}
        if not self.languages:
            if text.translations:
                self.report(f"the translations ({', '.join(sorted(text.translations))}) of a text: the study "
                            "declares no `languages`", node)
            return {column: self.fill(text.text, place, iteration, node, None)}
        out = {}
        for i, lang in enumerate(self.languages):
            raw = text.text if i == 0 else text.translations.get(lang, text.text)
            out[f"{column}::{language_column(lang)}"] = self.fill(raw, place, iteration, node, lang)
        return out

    def fill(self, text: str, chain: tuple[str, ...], iteration: tuple[int, ...], node: m.Node | None,
             lang: str | None) -> str:
        out: list[str] = []
        for kind, value in m.split_fills(text):
            if kind == "text":
                out.append(value.replace("${", "$ {"))
                continue
            out.append(self._fill_ref(value, chain, iteration, node, lang))
        return "".join(out)

    def _fill_ref(self, name: str, chain: tuple[str, ...], iteration: tuple[int, ...], node: m.Node | None,
                  lang: str | None) -> str:
        if name in self.low.rosters and name in chain:
            r = self.low.rosters[name]
            if r.options:
                return f"${{{self.label_name[(name, lang or '')]}}}"
            return f"${{{self.index_name[name]}}}"
        if name in self.low.variables:
            where = self.ref(name, chain, iteration)
            if where.startswith("indexed-repeat("):
                holder = self.fills.get(name)
                if holder is None:
                    # indexed-repeat reads the same answer from anywhere: one top-level calculate
                    holder = self.fills[name] = self.fresh(f"{name}_fill")
                    self.fill_rows.append({"type": "calculate", "name": holder, "calculation": where,
                                           "kvpspec": f"fill {name}"})
                return f"${{{holder}}}"
            return where
        if chain and any(name == base for base, c in self.columns.values() if c == chain[: len(c)]):
            return f"${{{name}}}"
        try:
            fact = m.study_fact(self.spec.study, name)
        except KeyError:
            fact = None
        if isinstance(fact, m.Text):
            return fact.get(lang)
        if fact is not None:
            return str(fact)
        self.report(f"the fill {{{name}}} has no value in the form", node)
        return "{" + name + "}"

    # ------------------------------------------------------------ the sheets

    def build(self) -> XLSForm:
        spec = self.spec
        items = spec.interview.items if spec.interview is not None else ()
        self._collect(items, ())
        self._checks()
        self._sample()
        self._dispositions()
        self._items(items, (), (), False)
        self._scale_recodes()
        self._computed()
        self.form.survey.extend(self.fill_rows)
        for step in [*self.constraints, *self.after]:  # never dropped silently
            self.report(f"a check that fires at `{step}` found no row to stand on", None)
        self._settings()
        cols = ["type", "name"]
        for c in SURVEY_COLUMNS[2:]:
            if c in TRANSLATED and self.languages:
                cols.extend(f"{c}::{language_column(lang)}" for lang in self.languages)
            else:
                cols.append(c)
        used = {k for row in self.form.survey for k, v in row.items() if v}
        self.form.survey_columns = [c for c in cols if c in used or c in ("type", "name")]
        ccols = ["list_name", "name"] + (
            [f"label::{language_column(lang)}" for lang in self.languages] if self.languages else ["label"]
        )
        if any(row.get("kvpspec") for row in self.form.choices):
            ccols.append("kvpspec")  # a choice attribute: pyxform keeps it in the list's instance
        self.form.choices_columns = ccols
        return self.form

    def _settings(self) -> None:
        study = self.spec.study
        title = study.title if study and study.title else self.spec.title
        settings = {
            "form_title": title.text if title else self.spec.name,
            "form_id": self.spec.name,
            "version": (study.version if study and study.version else "1"),
        }
        if self.languages:
            settings["default_language"] = language_column(self.languages[0])
        self.form.settings = settings

    def _sample(self) -> None:
        """Every sample field as a ``hidden`` row, preloaded by the platform (ODK: from the case or entity)."""
        for v in self.low.variables.values():
            if v.role == "id":
                # the respondent id: a hidden row the platform fills (its instanceID is its own id)
                row = {"type": "hidden", "name": v.name, "kvpspec": f"respondent {v.type}"}
                row.update(self.texts("label", v.label, (), (), v.node))
                self.form.survey.append(row)
                continue
            if v.role != "sample":
                continue
            row = {"type": "hidden", "name": v.name}
            row.update(self.texts("label", v.label, (), (), v.node))
            # kvpspec-only facts in the `kvpspec` column (pyxform ignores it): the field's kind, its
            # codes (a choice list no select uses), the option whose specify text it is, and `personal`
            facts = [f"field {v.type}"]
            if v.parent is not None:
                facts.append(f"specify {v.parent} {v.parent_code}")
            if v.values:
                options = tuple(m.Option.build(code=c, label=t, missing=dict(v.missing).get(c), specify=None,
                                               goto=None, end=None, exclusive=False) for c, t in v.values)
                facts[0] += " " + self._choices(("field", v.name), options, v.node)
            if v.personal:
                facts.append("personal")
            row["kvpspec"] = "; ".join(facts)
            self.form.survey.append(row)

    def _dispositions(self) -> None:
        """The fieldwork's dispositions (what an `end` records) as a choice list no select uses,
        each with its AAPOR class in the `kvpspec` column (`aapor I`), for `kvpspec import xlsform`."""
        fieldwork = self.spec.fieldwork
        if fieldwork is None or not fieldwork.dispositions:
            return
        name = "dispositions"
        while name in self.lists.values():
            name += "_"
        self.lists[("dispositions", "")] = name
        for d in fieldwork.dispositions:
            row = {"list_name": name, "name": str(d.code), "kvpspec": f"aapor {d.aapor}"}
            row.update(self.texts("label", d.label, (), (), d))
            self.form.choices.append(row)

    def _choices(self, key: tuple[str, str], options: tuple[m.Option, ...], node: m.Node) -> str:
        """The choice list of a scale (``("scale", name)``) or of a question's own options."""
        if key in self.lists:
            return self.lists[key]
        name = key[1]
        while name in self.lists.values():
            name += "_"
        self.lists[key] = name
        for o in options:
            row = {"list_name": name, "name": str(o.code)}
            row.update(self.texts("label", o.label, (), (), o))
            if o.missing:
                row["kvpspec"] = f"missing {o.missing}"
            self.form.choices.append(row)
        return name

    def _guard_relevant(self, step_name: str, chain: tuple[str, ...], node: m.Node) -> str:
        """``true(guard)`` of a step, for the row of its template iteration (all 1s)."""
        step = self.steps.get(step_name)
        if step is None:
            self.report(f"`{step_name}` is not a step of the interview", node)
            return TRUE
        iteration = tuple(1 for _ in chain)
        rel = self._render_guard(step_name, chain, iteration, node)
        if chain:
            # the same row stands for every iteration: their guards must agree
            size = self.low.rosters[chain[-1]].size
            if size >= 2:
                other_iteration = (*iteration[:-1], 2)
                other = self._other_name(step_name, chain, other_iteration)
                if other is not None and other in self.steps:
                    other_rel = self._render_guard(other, chain, other_iteration, None)
                    if other_rel != rel:
                        self.report(f"the condition of `{step_name}` differs between the roster's iterations; "
                                    "the repeat asks the first iteration's", node)
        if not self.steps[step_name].in_intro and self.intro_ends:
            r = self.renderer(chain, iteration, node)
            rel = both(rel, *(r.relevant(t) for t in self.intro_ends))
        return rel

    def _other_name(self, name: str, chain: tuple[str, ...], iteration: tuple[int, ...]) -> str | None:
        base, _ = self.columns.get(name, (name, chain))
        for col, (b, c) in self.columns.items():
            if b == base and c == chain and self.low.columns.get(col, ("", ()))[1] == iteration:
                return col
        return None

    def _render_guard(self, step_name: str, chain: tuple[str, ...], iteration: tuple[int, ...],
                      node: m.Node | None) -> str:
        step = self.steps[step_name]
        guard = step.guard
        if chain:
            slot = step.slot
            terms = [t for t, kind, block in slot.terms
                     if not (kind == "if" and id(block) in self.low.roster_guards)]
            guard = m.BoolOp.build(op="and", operands=tuple(terms)) if len(terms) > 1 else (terms[0] if terms else None)
            variable = self.low.variables.get(step_name)
            if variable is not None and variable.role == "specify" and variable.parent is not None:
                term = code_in(variable.parent, [variable.parent_code or 0])
                guard = m.BoolOp.build(op="and", operands=(guard, term)) if guard is not None else term
        report = self.report if node is not None else (lambda message, n: None)
        r = XPathRenderer(self.low.variables, self.low.recodes, self.derives,
                          lambda n: self.ref(n, chain, iteration), lambda message: report(message, node))
        return r.relevant(guard)

    # ------------------------------------------------------------ items

    def _items(self, items: tuple[m.Item, ...] | None, chain: tuple[str, ...], conds: tuple[tuple[m.Expr, bool], ...],
               in_intro: bool) -> None:
        for item in items or ():
            self._item(item, chain, conds, in_intro)

    def _note_relevant(self, chain: tuple[str, ...], conds: tuple[tuple[m.Expr, bool], ...], in_intro: bool,
                       node: m.Node) -> str:
        base_names = {base: base for base, c in self.columns.values() if c == chain[: len(c)] and c}
        r = self.renderer(chain, tuple(1 for _ in chain), node, base_names)
        parts = []
        for cond, positive in conds:
            c = r.cond(cond)
            parts.append(c.true if positive else f"not({c.true})" if c.true != TRUE else "false()")
        if not in_intro:
            parts.extend(r.relevant(t) for t in self.intro_ends)
        return both(*parts)

    def _item(self, item: m.Item, chain: tuple[str, ...], conds: tuple[tuple[m.Expr, bool], ...], in_intro: bool) -> None:
        rows = self.form.survey
        it = tuple(1 for _ in chain)
        if isinstance(item, (m.Say, m.Instruction, m.Heading)):
            self._notes += 1
            row = {"type": "note", "name": self.fresh(f"note{self._notes}")}
            row.update(self.texts("label", item.text, chain, it, item))
            rel = self._note_relevant(chain, conds, in_intro, item)
            if rel != TRUE:
                row["relevant"] = rel
            rows.append(row)
        elif isinstance(item, (m.Section, m.Intro, m.Closing)):
            self._groups += 1
            kind = {"section": "section", "intro": "intro", "closing": "closing"}[item.node]
            name = self.fresh(kind if kind != "section" else f"section{self._groups}")
            row = {"type": "begin_group", "name": name}
            if isinstance(item, m.Section):
                row.update(self.texts("label", item.title, chain, it, item))
            else:
                row["kvpspec"] = kind  # the intro (its questions route the call, not data) and the closing
            rows.append(row)
            self._items(item.items, chain, conds, in_intro or isinstance(item, m.Intro))
            rows.append({"type": "end_group", "name": name})
        elif isinstance(item, m.IfBlock):
            self._items(item.then, chain, (*conds, (item.condition, True)), in_intro)
            if item.otherwise is not None:
                self._items(item.otherwise, chain, (*conds, (item.condition, False)), in_intro)
        elif isinstance(item, m.Roster):
            self._roster(item, chain, conds, in_intro)
        elif isinstance(item, m.Question):
            self._question(item, chain)
        elif isinstance(item, m.Grid):
            self._grid(item, chain)
        else:
            self.report(f"a {type(item).__name__} has no XLSForm row", item)

    def _step_name(self, name: str, chain: tuple[str, ...]) -> str:
        return name + "".join("_1" for _ in chain)

    def _question(self, q: m.Question, chain: tuple[str, ...]) -> None:
        rows = self.form.survey
        it = tuple(1 for _ in chain)
        step = self._step_name(q.name, chain)
        var = self.low.variables.get(step)
        kind = var.type if var is not None else (q.kind or "single")
        row: dict[str, str] = {"name": q.name, "required": "yes"}
        options = self.low.question_options(q)
        if kind in ("single", "multiple"):
            key = ("scale", q.scale) if q.scale and not q.options else ("question", q.name)
            list_name = self._choices(key, options, q)
            row["type"] = f"{'select_one' if kind == 'single' else 'select_multiple'} {list_name}"
        else:
            row["type"] = kind
            if options:
                # the missing codes' labels and kinds: a choice list no select uses, named in `kvpspec`
                row["kvpspec"] = f"missing {self._choices(('missing', q.name), options, q)}"
        row.update(self.texts("label", q.label, chain, it, q))
        self._hints(row, q, chain, it)
        rel = self._guard_relevant(step, chain, q)
        if rel != TRUE:
            row["relevant"] = rel
        constraint, message = self._range(q, kind, options)
        self._constraints(row, step, constraint, message, chain, q)
        if kind == "multiple":
            self._exclusive(row, options)
        for what, present in (("the read-aloud marking (`read`)", q.read is not None),
                              ("`recorded`", q.recorded), (f"the question number `{q.number}`", q.number)):
            if present:
                self.report(f"{what} of `{q.name}` has no XLSForm column", q)
        if any(o.goto for o in options) or any(o.end is not None for o in options):
            ends = [o for o in options if o.end is not None]
            if ends:
                self.report(f"the dispositions of `{q.name}`'s `end` options are not recorded by the form "
                            "(the questions after them are not relevant)", q)
                # for `kvpspec import xlsform`: the options that end the interview, with their dispositions
                facts = [row["kvpspec"]] if row.get("kvpspec") else []
                row["kvpspec"] = "; ".join([*facts, "end " + " ".join(f"{o.code}={o.end}" for o in ends)])
        rows.append(row)
        rows.extend(self.after.pop(step, []))
        for o in options:
            if o.specify is None:
                continue
            sname = self._step_name(o.specify.name, chain)
            srow: dict[str, str] = {"type": "text", "name": o.specify.name, "required": "yes",
                                    "kvpspec": f"specify {q.name} {o.code}"}
            srow.update(self.texts("label", o.specify.label or o.label, chain, it, o))
            rel = self._guard_relevant(sname, chain, o)
            if rel != TRUE:
                srow["relevant"] = rel
            self._constraints(srow, sname, None, None, chain, o)
            rows.append(srow)
            rows.extend(self.after.pop(sname, []))

    def _range(self, q: m.Question, kind: str, options: tuple[m.Option, ...]) -> tuple[str | None, m.Text | None]:
        if kind not in ("integer", "decimal") or q.range is None:
            return None, None
        lo, hi = number_literal(q.range.low), number_literal(q.range.high)
        inside = f". >= {lo} and . <= {hi}"
        codes = [o for o in options]
        if codes:
            inside = f"({inside})" + "".join(f" or . = {o.code}" for o in codes)
        words = f"{lo}–{hi}" + "".join(f", {o.code}" for o in codes)
        return inside, m.Text.build(text=words, translations={})

    def _exclusive(self, row: dict[str, str], options: tuple[m.Option, ...]) -> None:
        excl = [o for o in options if o.exclusive]
        if not excl:
            return
        terms = [f"not(selected(., '{o.code}') and count-selected(.) > 1)" for o in excl]
        existing = row.get("constraint")
        row["constraint"] = both(existing, *terms)

    def _constraints(self, row: dict[str, str], step: str, constraint: str | None, message: m.Text | None,
                     chain: tuple[str, ...], node: m.Node) -> None:
        parts = [constraint] if constraint else []
        texts = [self.texts("constraint_message", message, (), (), node)] if message is not None else []
        for expr, label in self.constraints.pop(step, []):
            parts.append(expr)
            texts.append(label)
        if not parts:
            return
        row["constraint"] = both(*parts)
        for text in texts:
            for column, value in text.items():
                row[column] = f"{row[column]} / {value}" if row.get(column) else value

    def _grid(self, g: m.Grid, chain: tuple[str, ...]) -> None:
        rows = self.form.survey
        it = tuple(1 for _ in chain)
        options = self.low.question_options(g)
        list_name = self._choices(("scale", g.scale), options, g)
        head = {"type": "begin_group", "name": g.name, "appearance": "field-list", "kvpspec": "grid"}
        head.update(self.texts("label", g.label, chain, it, g))
        self._hints(head, g, chain, it)
        if g.items:
            rel = self._guard_relevant(self._grid_step(g, g.items[0], chain), chain, g)
            if rel != TRUE:
                head["relevant"] = rel
        rows.append(head)
        if g.read is not None:
            self.report(f"the read-aloud marking (`read`) of `{g.name}` has no XLSForm column", g)
        if g.number:
            self.report(f"the question number `{g.number}` of `{g.name}` has no XLSForm column", g)
        for gi in g.items:
            step = self._grid_step(g, gi, chain)
            row = {"type": f"select_one {list_name}", "name": g.name + gi.name, "required": "yes"}
            row.update(self.texts("label", gi.label, chain, it, gi))
            self._constraints(row, step, None, None, chain, gi)
            rows.append(row)
            rows.extend(self.after.pop(step, []))
        rows.append({"type": "end_group", "name": g.name})

    def _grid_step(self, g: m.Grid, gi: m.GridItem, chain: tuple[str, ...]) -> str:
        return g.name + "".join("_1" for _ in chain) + gi.name

    def _roster(self, r: m.Roster, chain: tuple[str, ...], conds: tuple[tuple[m.Expr, bool], ...], in_intro: bool) -> None:
        rows = self.form.survey
        inner = (*chain, r.name)
        it = tuple(1 for _ in chain)
        head = {"type": "begin_repeat", "name": r.name}
        head.update(self.texts("label", r.label, chain, it, r))
        if r.options:
            # the list the roster goes over, for `kvpspec import xlsform` (the count is its length)
            head["kvpspec"] = f"over {self._choices(('roster', r.name), r.options, r)}"
        if r.options:
            head["repeat_count"] = str(len(r.options))
        elif isinstance(r.count, int):
            head["repeat_count"] = str(r.count)
        elif isinstance(r.count, str):
            count_name = self._step_name(r.count, chain) if self.low.columns.get(self._step_name(r.count, chain)) else r.count
            rend = self.renderer(chain, it, r)
            v = rend.sub(m.Ref.build(name=count_name))
            top = r.size
            capped = f"if({v.value} > {top}, {top}, {v.value})"
            head["repeat_count"] = f"if({v.defined}, {capped}, 0)" if v.defined else capped
        else:
            self.report(f"the roster `{r.name}` has no count", r)
            head["repeat_count"] = "0"
        rows.append(head)
        index = self.index_name_for(r.name)
        rows.append({"type": "calculate", "name": index, "calculation": "position(..)"})
        if r.options:
            for lang in (self.languages or ("",)):
                key = (r.name, lang if lang != (self.languages[0] if self.languages else "") else "")
                name = self.fresh(f"{r.name}_label" + (f"_{lang}" if key[1] else ""))
                self.label_name[key] = name
                value = "''"
                for i in range(len(r.options), 0, -1):
                    label = r.options[i - 1].label
                    text = label.text if not key[1] else label.get(lang)
                    value = f"if(${{{index}}} = {i}, {string_literal(text)}, {value})"
                rows.append({"type": "calculate", "name": name, "calculation": value, "kvpspec": f"label {r.name}"})
            if self.languages:
                main = self.languages[0]
                self.label_name[(r.name, main)] = self.label_name[(r.name, "")]
        self._items(r.items, inner, conds, in_intro)
        rows.append({"type": "end_repeat", "name": r.name})

    # ------------------------------------------------------------ checks and computed values

    def _checks(self) -> None:
        for cp in checkpoints(self.low):
            w = cp.check
            column = cp.column
            if column is None:
                self.report(f"the check `{w.name}` reads no answer the form asks", w)
                continue
            chain = self.columns.get(column, (column, ()))[1]
            iteration = self.low.columns[column][1] if column in self.low.columns else ()
            r = self.renderer(chain, iteration, w)
            fires = r.fires(w.condition)
            at = [f"${{{self.index_name_for(c)}}} = {i}" for c, i in zip(chain, iteration)]
            fires_here = both(*at, fires)
            host = (self._other_name(column, chain, tuple(1 for _ in chain)) or column) if chain else column
            if w.hard:
                message = self.texts("constraint_message", w.label, chain, iteration, w)
                self.constraints.setdefault(host, []).append((f"not({fires_here})", message))
            else:
                note = {"type": "note", "name": self.fresh(w.name), "relevant": fires_here}
                note.update(self.texts("label", w.label, chain, iteration, w))
                self.after.setdefault(host, []).append(note)

    def index_name_for(self, roster: str) -> str:
        if roster not in self.index_name:
            self.index_name[roster] = self.fresh(f"{roster}_i")
        return self.index_name[roster]

    def _computed(self) -> None:
        order, _ = computation_order(self.spec)
        rows = self.form.survey
        r = self.renderer((), (), None)
        for name in order:
            recode = self.low.recodes.get(name)
            if recode is not None and not recode.source_is_scale:
                v = self.renderer((), (), recode).lookup(recode, m.Ref.build(name=recode.source))
            elif name in self.derives:
                d = self.derives[name]
                rr = self.renderer((), (), d)
                var = self.low.variables.get(name)
                if var is not None and var.value_kind == "bool":
                    c = rr.cond(d.expr)
                    rows.append({"type": "calculate", "name": name,
                                 "calculation": f"if({c.true}, 1, if({c.false}, 0, ''))", **self._calc_label(name)})
                    continue
                if isinstance(d.expr, m.Call) and d.expr.func in ("min", "max") and len(d.expr.args) > 1:
                    self._extreme(name, d.expr, rr)
                    continue
                v = rr.val(d.expr)
            else:
                continue
            calc = v.value if v.defined is None else f"if({v.defined}, {v.value}, '')"
            rows.append({"type": "calculate", "name": name, "calculation": calc, **self._calc_label(name),
                         **self._recode_facts(name)})
        for var in self.low.variables.values():
            if var.role == "recode" and var.recode in self.low.recodes and var.name != var.recode and var.source:
                v = r.lookup(self.low.recodes[var.recode], m.Ref.build(name=var.source))
                calc = v.value if v.defined is None else f"if({v.defined}, {v.value}, '')"
                rows.append({"type": "calculate", "name": var.name, "calculation": calc, **self._calc_label(var.name),
                             **self._recode_facts(var.name)})

    def _calc_label(self, name: str) -> dict[str, str]:
        """The label of a derived variable or recode (the codebook's), on its ``calculate`` row."""
        var = self.low.variables.get(name)
        if var is None or var.label.text == name:
            return {}
        return self.texts("label", var.label, (), (), None)

    def _scale_recodes(self) -> None:
        """A recode over a scale (applied in place, ``a2(a)``) has no row: its codes become a choice
        list no select uses, each choice saying in `kvpspec` the recode, its scale and its rules."""
        for recode in self.low.recodes.values():
            scale = self.lists.get(("scale", recode.source))
            rules = _rules(recode)
            if not recode.source_is_scale or scale is None or rules is None:
                continue
            name = self._choices(("scale-recode", recode.name), _rule_options(recode), recode)
            for row in self.form.choices:
                if row["list_name"] == name:
                    fact = f"recode {recode.name} {scale}; rules {rules}"
                    row["kvpspec"] = f"{row['kvpspec']}; {fact}" if row.get("kvpspec") else fact

    def _recode_facts(self, name: str) -> dict[str, str]:
        """A recode's table for `kvpspec import xlsform` (the calculate carries only its value):
        ``recode SOURCE LIST; rules ..24=1 25..35=2 else=9`` in `kvpspec`, the codes' labels and
        missing kinds a choice list LIST."""
        var = self.low.variables.get(name)
        recode = self.low.recodes.get(var.recode or "") if var is not None else None
        rules = _rules(recode) if recode is not None else None
        if var is None or recode is None or not var.source or rules is None:
            return {}
        lst = self._choices(("recode", name), _rule_options(recode), recode)
        return {"kvpspec": f"recode {var.source} {lst}; rules {rules}"}

    def _extreme(self, name: str, e: m.Call, r: XPathRenderer) -> None:
        """``min``/``max`` of several values: XPath 1.0's have no way past an empty
        answer, so a chain of calculates keeps the best substantive value so far
        (``Evaluator.aggregate``: missing when there is none)."""
        rows = self.form.survey
        better = ">" if e.func == "max" else "<"
        previous: str | None = None
        for k, arg in enumerate(e.args, start=1):
            v = r.sub(arg)
            step = self.fresh(f"{name}_{e.func}{k}") if k < len(e.args) else name
            defined = v.defined or TRUE
            if previous is None:
                calc = v.value if defined == TRUE else f"if({defined}, {v.value}, '')"
            else:
                prev = f"${{{previous}}}"
                take = both(defined, f"({prev} = '' or {v.value} {better} {prev})")
                calc = f"if({take}, {v.value}, {prev})"
            row = {"type": "calculate", "name": step, "calculation": calc}
            if step == name:
                row.update(self._calc_label(name))
                # the import cannot read the chain back (it compares with ''): the expression itself
                text = format_expr(e)
                if ";" not in text:
                    row["kvpspec"] = f"derive {text}"
            else:
                row["kvpspec"] = f"step {name}"  # a step of `name`'s chain, for the import to pass over
            rows.append(row)
            previous = step


def _rules(recode: m.Recode) -> str | None:
    """A recode's rules as the `kvpspec` column writes them: ``..24=1 25..35=2 1,2=3 else=9``
    (None when a rule takes a text value, which has no place among space-separated rules)."""
    rules = []
    for rule in recode.rules:
        items = []
        for v in rule.values:
            if v.kind == "string":
                return None
            lo = number_literal(v.low) if v.low is not None else ""
            hi = number_literal(v.high) if v.high is not None else ""
            items.append({"single": lo, "range": f"{lo}..{hi}", "upto": f"..{hi}", "from": f"{lo}..",
                          "else": "else"}[v.kind])
        rules.append(",".join(items) + f"={rule.code}")
    return " ".join(rules)


def _rule_options(recode: m.Recode) -> tuple[m.Option, ...]:
    """A recode's codes as options (labels, missing kinds), once per code."""
    options: dict[int, m.Option] = {}
    for rule in recode.rules:
        options.setdefault(rule.code, m.Option.build(code=rule.code, label=rule.label, missing=rule.missing,
                                                     specify=None, goto=None, end=None, exclusive=False))
    return tuple(options.values())


def _join(texts: tuple[m.Text, ...]) -> m.Text | None:
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0]
    langs = sorted({lang for t in texts for lang in t.translations})
    return m.Text.build(
        text="\n".join(t.text for t in texts),
        translations={lang: "\n".join(t.get(lang) for t in texts) for lang in langs},
    )
