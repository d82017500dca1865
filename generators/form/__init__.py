"""The interviewing form (issue 12): one self-contained HTML page that runs the
spec's interview in a browser, in CATI mode (interviewers, keyboard first) or
web mode (respondents), with the spec's routing, checks, fills, rosters and
languages.

The page holds four parts, all written here and nothing fetched:

- the runtime (``runtime.js``): every operator with the one meaning of
  ``kvpspec.semantics.expr`` and the routing walker;
- the spec's program (``jscompile.compile_program``): the guards of
  ``routing.steps``, ``complete`` (recodes and derived values), and the
  conditions of the checks and the formulas of computed sample fields;
- the questionnaire as data (``questionnaire``): one screen per question or
  grid item in interview order, texts in every language, options, ranges,
  the checks with the question where each fires (``semantics.checkpoints``),
  the dispositions and the response-data columns of the codebook;
- ``form.js``: the interview's logic (``Interview``, DOM-free, the same code
  the Node tests drive) and its user interface, which builds the page with
  ``createElement``/``textContent`` only.

User text enters the page only as JSON inside ``<script type="application/json">``
written by ``js_value`` (``<`` escaped: no text can close the element) or
through Jinja2's autoescaping; nothing is evaluated at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.base import Context, Generator, GeneratorError, jinja_env
from generators.common import for_language, text_of
from generators.form.jscompile import compile_program, js_value, runtime_js
from kvpspec import model as m
from kvpspec.semantics.checkpoints import checkpoints
from kvpspec.semantics.routing import flatten, steps, text_guards

if TYPE_CHECKING:
    from kvpspec.compile import Compiled

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
FORM_JS = HERE / "form.js"

#: The form's own words; a language not listed uses English, ``nn`` Norwegian.
UI_WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "next": "Neste", "back": "Tilbake", "language": "Språk", "end_call": "Avslutt samtalen",
        "read": "LES OPP", "not_read": "IKKE LES OPP", "missing": "Ikke les opp: ukjent / nekter",
        "instruction": "Til intervjuer", "required": "Et svar trengs for å gå videre.",
        "specify_needed": "Skriv inn teksten for «{label}».", "not_a_code": "{value} er ikke en kode her.",
        "whole": "Skriv et heltall.", "number": "Skriv et tall.",
        "range": "Svaret må være fra {low} til {high}.", "exclusive": "«{label}» kan ikke kombineres med andre svar.",
        "soft": "Sjekk svaret. Trykk Neste for å bekrefte, eller rett svaret.",
        "hard": "Svaret må rettes før du kan gå videre.",
        "done": "Intervjuet er fullført. Takk!", "ended": "Samtalen er avsluttet",
        "download": "Last ned svarene (JSON)", "resume": "Et uavsluttet intervju er lagret. Fortsette?",
        "resume_yes": "Fortsett", "resume_no": "Start på nytt", "sent": "Svarene er sendt.",
        "queued": "Svarene er lagret og sendes når forbindelsen er tilbake.",
        "several": "Flere svar mulig", "recorded": "REGISTRERES AV INTERVJUER",
        "answer": "Svar", "of": "av", "mode_cati": "Telefonintervju", "mode_web": "Spørreskjema",
    },
    "en": {
        "next": "Next", "back": "Back", "language": "Language", "end_call": "End the call",
        "read": "READ OUT", "not_read": "DO NOT READ OUT", "missing": "Do not read: unknown / refused",
        "instruction": "To the interviewer", "required": "An answer is needed to go on.",
        "specify_needed": "Write the text for “{label}”.", "not_a_code": "{value} is not a code here.",
        "whole": "Write a whole number.", "number": "Write a number.",
        "range": "The answer must be from {low} to {high}.", "exclusive": "“{label}” cannot be combined with other answers.",
        "soft": "Please check the answer. Press Next to confirm it, or change it.",
        "hard": "The answer must be corrected before you can go on.",
        "done": "The interview is complete. Thank you!", "ended": "The call has ended",
        "download": "Download the answers (JSON)", "resume": "An unfinished interview is saved. Resume it?",
        "resume_yes": "Resume", "resume_no": "Start again", "sent": "The answers have been sent.",
        "queued": "The answers are saved and will be sent when the connection is back.",
        "several": "Several answers possible", "recorded": "RECORDED BY THE INTERVIEWER",
        "answer": "Answer", "of": "of", "mode_cati": "Telephone interview", "mode_web": "Questionnaire",
    },
}
UI_WORDS["nn"] = UI_WORDS["nb"]
UI_WORDS["no"] = UI_WORDS["nb"]


def ui_words(language: str) -> dict[str, str]:
    return for_language(UI_WORDS, language, "en")


class FormGenerator(Generator):
    """``form/index.html``: the interviewing form, CATI and web in one page."""

    name = "form"
    description = "the interviewing form: one self-contained HTML page (CATI and web) running the spec's routing and checks"

    def generate(self) -> dict[str, bytes]:
        return {"form/index.html": render(self.ctx, None, self.unsupported).encode("utf-8")}


def form_html(compiled: Compiled, *, config: dict[str, Any] | None = None) -> str:
    """The form's page for a compiled spec, with ``config`` (see docs/fielding.md,
    "The form") embedded; ``None`` gives the standalone page's defaults."""
    return render(Context(compiled), config)


# ---------------------------------------------------------------- the page


def render(ctx: Context, config: dict[str, Any] | None, report: Any = None) -> str:
    data, exprs = questionnaire(ctx)
    program = compile_program(ctx.lowered, exprs, report)
    env = jinja_env(TEMPLATES)
    main = ctx.main_language
    title = text_of(_title(ctx.spec), main)
    return env.get_template("page.html").render(
        language=main,
        title=title,
        css=(TEMPLATES / "form.css").read_text(encoding="utf-8"),
        config=js_value(dict(config or {})),
        data=js_value(data),
        runtime=runtime_js(),
        program=program,
        form=FORM_JS.read_text(encoding="utf-8"),
    )


def _title(spec: m.Spec) -> m.Text | None:
    """The study's title, else the spec's."""
    return spec.study.title if spec.study and spec.study.title else spec.title


def _text(t: m.Text | None) -> Any:
    """A text as the page holds it: a string, or ``[text, {language: translation}]``."""
    if t is None:
        return None
    if not t.translations:
        return t.text
    return [t.text, dict(sorted(t.translations.items()))]


def _options(low: Any, q: m.Question | m.Grid) -> list[dict[str, Any]]:
    read_marking = low.read_marking(q)
    read = low.read_codes(q)
    out = []
    for o in low.question_options(q):
        entry: dict[str, Any] = {"code": o.code, "label": _text(o.label)}
        if o.missing:
            entry["missing"] = o.missing
        if read_marking is not None and o.code in read and not o.missing:
            entry["read"] = True
        if o.exclusive:
            entry["exclusive"] = True
        if o.specify:
            entry["specify"] = {"name": o.specify.name, "label": _text(o.specify.label or o.label)}
        out.append(entry)
    return out


def questionnaire(ctx: Context) -> tuple[dict[str, Any], list[m.Expr]]:
    """The questionnaire as the page's data, and the expressions its program
    compiles beside the guards (each referred to by its index)."""
    low = ctx.lowered
    spec = low.spec
    variables = low.variables
    exprs: list[m.Expr] = []
    known: dict[m.Expr, int] = {}

    def compiled(e: m.Expr) -> int:
        # one function for equal expressions (texts after a goto share its guard)
        if e not in known:
            known[e] = len(exprs)
            exprs.append(e)
        return known[e]

    screens: list[dict[str, Any]] = []
    lead: list[dict[str, Any]] = []
    closing: list[dict[str, Any]] = []
    closing_ids = _closing_ids(low)
    text_when = text_guards(low)
    for f in flatten(low.items):
        item = f.item
        if isinstance(item, (m.Say, m.Instruction, m.Heading)):
            entry = {"kind": item.node, "text": _text(item.text)}
            cond = text_when.get(f.index)
            if cond is not None:
                # a text is read by the questions' rule: inside `if` blocks only when
                # they hold, and not when a goto or an end jumps over it
                entry["when"] = compiled(cond)
            if f.in_intro:
                entry["intro"] = True
            (closing if id(item) in closing_ids else lead).append(entry)
        elif isinstance(item, m.Section):
            lead.append({"kind": "section", "text": _text(item.title)})
        elif isinstance(item, m.Question):
            var = variables.get(item.name)
            kind = var.type if var is not None else "single"
            screen: dict[str, Any] = {
                "name": item.name,
                "kind": kind,
                "label": _text(item.label),
                "options": _options(low, item),
            }
            _common(screen, item, low, lead, f.in_intro)
            if item.range is not None:
                screen["range"] = [item.range.low, item.range.high]
            if item.recorded:
                screen["recorded"] = True
            screens.append(screen)
            lead = []
        elif isinstance(item, m.Grid):
            options = _options(low, item)
            for gi in item.items:
                screen = {
                    "name": item.name + gi.name,
                    "kind": "single",
                    "grid": _text(item.label) if item.label else None,
                    "label": _text(gi.label),
                    "options": options,
                }
                _common(screen, item, low, lead, f.in_intro)
                screens.append(screen)
                lead = []
    closing.extend(lead)

    order = {s["name"]: i for i, s in enumerate(screens)}
    specify_parent = {v.name: v.parent for v in variables.values() if v.parent is not None}
    checks = []
    for cp in checkpoints(low):
        if cp.column is None:
            continue
        at = cp.column if cp.column in order else specify_parent.get(cp.column)
        if at not in order:
            continue
        checks.append(
            {
                "name": cp.check.name,
                "hard": cp.check.hard,
                "label": _text(cp.check.label),
                "at": at,
                "expr": compiled(cp.check.condition),
            }
        )

    labels: dict[str, dict[str, Any]] = {}
    for v in variables.values():
        if v.values:
            labels[v.name] = {str(code): _text(text) for code, text in v.values}

    sample = []
    for v in variables.values():
        if v.role != "sample":
            continue
        field: dict[str, Any] = {"name": v.name, "kind": v.type}
        node = v.node
        if isinstance(node, m.SampleField) and node.formula is not None:
            field["formula"] = compiled(node.formula)
        sample.append(field)

    fw = spec.fieldwork
    dispositions = [
        {"code": d.code, "label": _text(d.label), "aapor": d.aapor} for d in (fw.dispositions if fw else ())
    ]
    complete = next((d["code"] for d in dispositions if d["aapor"] == "I"), None)
    rid = spec.respondent
    study = spec.study
    data = {
        "survey": spec.name,
        "title": _text(_title(spec)),
        "languages": list(ctx.languages),
        "words": {lang: ui_words(lang) for lang in ctx.languages},
        "screens": screens,
        "closing": closing,
        "checks": checks,
        "labels": labels,
        "sample": sample,
        "dispositions": dispositions,
        "complete": complete,
        "columns": [v.name for v in low.response_variables()],
        "id": {"name": rid.name, "kind": rid.kind} if rid is not None else None,
        "version": study.version if study and study.version else None,
    }
    # every step of routing must have its screen (a specify text: its question's)
    for step in steps(low):
        if step.name not in order and specify_parent.get(step.name) not in order:
            raise GeneratorError(f"the step `{step.name}` has no screen", "form", internal=True)
    return data, exprs


def _closing_ids(low: Any) -> set[int]:
    out: set[int] = set()
    for item in m.walk_items(low.items):
        if isinstance(item, m.Closing):
            out.update(id(sub) for sub in m.walk_items(item.items))
    return out


def _common(screen: dict[str, Any], item: m.Question | m.Grid, low: Any, lead: list[dict[str, Any]],
            in_intro: bool) -> None:
    if lead:
        screen["lead"] = list(lead)
    if item.notes:
        screen["notes"] = [_text(t) for t in item.notes]
    if item.instructions:
        screen["instructions"] = [_text(t) for t in item.instructions]
    if item.number:
        screen["number"] = item.number
    if in_intro:
        screen["intro"] = True
    marking = low.read_marking(item)
    if marking is not None and marking.none:
        screen["readNone"] = True
    origin = low.columns.get(screen["name"])
    if origin is not None:
        roster, iteration = origin
        r = low.rosters.get(roster)
        if r is not None:
            screen["roster"] = {"label": _text(r.label), "iteration": list(iteration)}
