"""The interviewer (CATI) script: HTML for screen and print, PDF, Markdown.

The interview is visited once into a plain view (dicts of raw user text),
which the HTML template (autoescaped) and the Markdown writer (``md_escape``)
both render. Routing is read from the core: options' ``goto``/``end`` and the
guards of ``kvpspec.semantics.routing.slots``, never re-derived, shown in the
interviewer's words by ``kvpspec.semantics.describe`` ("Spørres hvis: A1 = 2 (Nei)").
A soft or hard check is shown at the question where it fires
(``kvpspec.semantics.checkpoints``), its condition in those words and its
message's fills as placeholders.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from generators.base import (
    Generator,
    compress_codes,
    fill_html,
    jinja_env,
    md_escape,
    md_fill,
    render_pdf,
    shared_css,
)
from generators.common import (
    display_number,
    for_language,
    format_period,
    heading_number,
    item_number,
    text_of,
    words,
)
from generators.roster_view import RosterView, loop_text
from kvpspec import model as m
from kvpspec.semantics.checkpoints import Checkpoint, by_question, checkpoints
from kvpspec.semantics.describe import Describer
from kvpspec.semantics.length import SECONDS_PER_ANSWER, WORDS_PER_MINUTE, Length, estimate
from kvpspec.semantics.lower import Lowered
from kvpspec.semantics.routing import slots

TEMPLATES = Path(__file__).parent / "templates"

#: The header's line on the interview's length (``kvpspec.semantics.length``);
#: other languages use their base language's, else ``nb``, as ``words`` does.
LENGTH_WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "line": "Beregnet lengde: korteste {shortest} min, typisk {typical} min, lengste {longest} min "
                "({wpm} ord i minuttet lest høyt, {answer} sekunder per svar)",
        "at_least": "minst ",
        "decimal": ",",
    },
    "en": {
        "line": "Estimated length: shortest {shortest} min, typical {typical} min, longest {longest} min "
                "({wpm} words a minute read aloud, {answer} seconds an answer)",
        "at_least": "at least ",
        "decimal": ".",
    },
}


#: How a check reads at the question where it fires; other languages use their
#: base language's, else ``nb``.
CHECK_WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "soft": "Kontroll (myk):",
        "hard": "Kontroll (hard):",
        "soft_if": "hvis {cond} — si:",
        "hard_if": "hvis {cond}, kan ikke gå videre — si:",
        "open": "«",
        "close": "»",
        "soft_after": "Bekreft svaret, eller gå tilbake og rett det.",
        "hard_after": "Gå tilbake og rett svaret.",
    },
    "en": {
        "soft": "Check (soft):",
        "hard": "Check (hard):",
        "soft_if": "if {cond} — say:",
        "hard_if": "if {cond}, the interview cannot go on — say:",
        "open": "“",
        "close": "”",
        "soft_after": "Confirm the answer, or go back and correct it.",
        "hard_after": "Go back and correct the answer.",
    },
}


def length_line(length: Length, lang: str) -> str:
    """The estimate as the header shows it, in minutes to one decimal."""
    w = for_language(LENGTH_WORDS, lang)

    def minutes(seconds: float) -> str:
        return f"{seconds / 60:.1f}".replace(".", w["decimal"])

    return w["line"].format(
        shortest=minutes(length.shortest),
        typical=minutes(length.typical),
        longest=("" if length.exact else w["at_least"]) + minutes(length.longest),
        wpm=WORDS_PER_MINUTE,
        answer=f"{SECONDS_PER_ANSWER:g}",
    )


class ScriptGenerator(Generator):
    name = "script"
    description = "the interviewer (CATI) script as HTML, PDF and Markdown, one per language"

    def generate(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        langs = self.ctx.languages
        env = jinja_env(TEMPLATES, {"fill": fill_html})
        template = env.get_template("script.html")
        for i, lang in enumerate(langs):
            stem = "script/interviewer" if i == 0 else f"script/interviewer.{lang}"
            view = self.view(lang)
            html = template.render(view=view, css=shared_css(), w=words(lang))
            out[f"{stem}.html"] = html.encode("utf-8")
            out[f"{stem}.pdf"] = render_pdf(html)
            out[f"{stem}.md"] = self.markdown(view).encode("utf-8")
        return out

    # ------------------------------------------------------------ the view

    def view(self, lang: str) -> dict[str, Any]:
        spec = self.ctx.spec
        low = self.ctx.lowered
        self.lang = lang
        self.w = words(lang)
        self.guards = {s.item.name: s.guard for s in slots(low)}
        self.describe = Describer(low, lang)
        self.checks = by_question(low)
        self._rosters(spec, low)
        self.cw = for_language(CHECK_WORDS, lang)
        self.numbers: dict[str, str] = {}
        self.dispositions = {
            d.code: d.label for d in (spec.fieldwork.dispositions if spec.fieldwork else ())
        }
        items = spec.interview.items if spec.interview else ()
        for s in slots(low):
            self.numbers[s.item.name] = display_number(s.item)
        study = spec.study
        return {
            "lang": lang,
            "title": text_of(spec.title, lang),
            "subtitle": text_of(study.title, lang) if study and study.title else "",
            "period": format_period(study.period, lang).upper() if study and study.period else "",
            "created": self.ctx.fixed_date().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": self.ctx.compiled.version,
            "length": length_line(estimate(low), lang) if spec.interview else "",
            "entries": [self.visit(item) for item in items],
        }

    def t(self, text: m.Text | None) -> str:
        return text_of(text, self.lang)

    def visit_Heading(self, node: m.Heading) -> dict[str, Any]:
        return {"type": "heading", "text": self.t(node.text)}

    def visit_Say(self, node: m.Say) -> dict[str, Any]:
        return {"type": "say", "text": self.t(node.text)}

    def visit_Instruction(self, node: m.Instruction) -> dict[str, Any]:
        return {"type": "instruction", "text": self.t(node.text)}

    def visit_Section(self, node: m.Section) -> dict[str, Any]:
        return {"type": "section", "class": "section", "title": self.t(node.title),
                "entries": [self.visit(i) for i in node.items]}

    def visit_Intro(self, node: m.Intro) -> dict[str, Any]:
        return {"type": "section", "class": "intro", "title": "",
                "entries": [self.visit(i) for i in node.items]}

    def visit_Closing(self, node: m.Closing) -> dict[str, Any]:
        return {"type": "section", "class": "closing", "title": "",
                "entries": [self.visit(i) for i in node.items]}

    def visit_IfBlock(self, node: m.IfBlock) -> dict[str, Any]:
        cond = self.describe(node.condition)
        otherwise = self.describe(m.Unary.build(op="not", operand=node.condition))
        return {
            "type": "branch",
            "label": f"{self.w['if']} {cond}:",
            "entries": [self.visit(i) for i in node.then],
            "else_label": f"{self.w['else']} ({otherwise}):",
            "else_entries": [self.visit(i) for i in node.otherwise] if node.otherwise is not None else None,
        }

    def _rosters(self, spec: m.Spec, low: Lowered) -> None:
        """A question in a roster is shown once under its name as written, its guard
        in the roster's names (``generators.roster_view``), with every check that
        fires at any of its iterations (once each, as written: ``sum(c2 over child)``,
        a column ``c2_3`` named as such)."""
        view = RosterView(spec, low)
        if not view:
            return
        self.describe.variables = view.variables()
        for s in slots(low):
            name = view.name(s)
            if name is not None:
                self.guards[name] = view.guard(s)
        written = {w.name: w for w in spec.warnings}
        checks: dict[str, list[Checkpoint]] = {}
        for cp in checkpoints(low):
            if cp.slot is None:
                continue
            key = view.written_name(cp.slot) or cp.slot.item.name
            check = written.get(cp.check.name, cp.check)
            if all(c.check is not check for c in checks.get(key, ())):
                checks.setdefault(key, []).append(replace(cp, check=check))
        self.checks = checks

    def visit_Roster(self, node: m.Roster) -> dict[str, Any]:
        """A roster once, as a loop: "For hver {child} (1 til C1, høyst 10)", then its items."""
        loop = loop_text(node, self.lang, self.describe)
        return {
            "type": "roster",
            "id": node.name,
            "title": self.t(node.label),
            "loop": loop,
            "entries": [self.visit(i) for i in node.items],
        }

    def _common(self, node: m.Question | m.Grid) -> dict[str, Any]:
        guard = self.guards.get(node.name)
        return {
            "id": node.name,
            "number": heading_number(node),
            "instructions": [self.t(t) for t in node.instructions],
            "notes": [self.t(t) for t in node.notes],
            "guard": f"{self.w['asked_if']}: {self.describe(guard)}" if guard is not None else "",
            "checks": [self._check(cp.check) for cp in self.checks.get(node.name, ())],
        }

    def _check(self, w: m.Warning_) -> dict[str, Any]:
        """A check where it fires: "Kontroll (myk): hvis … — si: «Du sa <B2> timer…»"."""
        kind = "hard" if w.hard else "soft"
        cw = self.cw
        return {
            "hard": w.hard,
            "label": f"{cw[kind]} {cw[kind + '_if'].format(cond=self.describe(cast(m.Expr, self._inline(w.condition))))}",
            "open": cw["open"],
            "message": self.t(w.label),
            "close": cw["close"],
            "after": cw[kind + "_after"],
        }

    def _inline(self, e: m.Node, depth: int = 0) -> m.Node:
        """``e`` with each derived variable replaced by its definition: an interviewer
        knows the questions, not the analysis's names."""
        derives = {d.name: d.expr for d in self.ctx.spec.derives}
        if isinstance(e, m.Ref) and e.name in derives and depth < 8:
            return self._inline(derives[e.name], depth + 1)
        update: dict[str, Any] = {}
        for name, value in e:
            if isinstance(value, m.Node):
                new = self._inline(value, depth)
                if new is not value:
                    update[name] = new
            elif isinstance(value, tuple) and any(isinstance(v, m.Node) for v in value):
                items = tuple(self._inline(v, depth) if isinstance(v, m.Node) else v for v in value)
                if any(a is not b for a, b in zip(items, value)):
                    update[name] = items
        return e.model_copy(update=update) if update else e

    def _read_marking(self, node: m.Question | m.Grid) -> tuple[bool, bool]:
        """(is the read-aloud marked at all, is it ``read none``)."""
        read = self.ctx.lowered.read_marking(node)
        return read is not None, bool(read is not None and read.none)

    def _option(self, o: m.Option, read: bool | None) -> dict[str, Any]:
        goto = end = None
        if o.goto:
            goto = {"id": o.goto, "text": f"{self.w['goto']} {self.numbers.get(o.goto, o.goto)}"}
        if o.end is not None:
            label = self.dispositions.get(o.end)
            end = f"{self.w['end']} ({self.w['disposition']} {o.end}" + (f": {self.t(label)})" if label else ")")
        return {
            "code": o.code,
            "label": self.t(o.label),
            "read": read,
            "missing": o.missing,
            "specify": self.t(o.specify.label) if o.specify and o.specify.label else (self.w["specify"] if o.specify else ""),
            "exclusive": o.exclusive,
            "goto": goto,
            "end": end,
        }

    def visit_Question(self, node: m.Question) -> dict[str, Any]:
        low = self.ctx.lowered
        var = low.variables.get(node.name)
        kind = var.type if var is not None else (node.kind or "single")
        marked, none = self._read_marking(node)
        read_codes = low.read_codes(node)
        options = low.question_options(node)
        out = self._common(node)
        read_opts, other_opts = [], []
        for o in options:
            if not marked or node.recorded:
                read_opts.append(self._option(o, None))
            elif o.code in read_codes:
                read_opts.append(self._option(o, True))
            else:
                other_opts.append(self._option(o, False))
        if kind in ("integer", "decimal") and options:
            # a numeric question's options are its missing codes: never read out
            other_opts = [self._option(o, False) for o in options]
            read_opts = []
        read_label = ""
        if marked and not node.recorded and kind not in ("integer", "decimal"):
            read_label = self.w["read_none"] if none or not read_codes else f"{self.w['read']} {compress_codes(read_codes)}"
        rng = ""
        if node.range is not None:
            rng = f"{self.w['range']}: {_num(node.range.low)}–{_num(node.range.high)}"
        out.update(
            type="question",
            kind=kind,
            text=self.t(node.label),
            recorded=node.recorded,
            read_label=read_label,
            options=read_opts,
            not_read=other_opts,
            range=rng,
            multiple=kind == "multiple",
            open=kind in ("text", "integer", "decimal"),
        )
        return out

    def visit_Grid(self, node: m.Grid) -> dict[str, Any]:
        low = self.ctx.lowered
        marked, none = self._read_marking(node)
        read_codes = low.read_codes(node)
        options = low.question_options(node)
        cols = []
        for o in options:
            read = None if not marked else (o.code in read_codes)
            cols.append({"code": o.code, "label": self.t(o.label), "read": read, "missing": o.missing})
        out = self._common(node)
        read_label = ""
        if marked:
            read_label = self.w["read_none"] if none or not read_codes else f"{self.w['read']} {compress_codes(read_codes)}"
        out.update(
            type="grid",
            text=self.t(node.label) if node.label else "",
            read_label=read_label,
            columns=cols,
            items=[
                {"id": node.name + gi.name, "number": item_number(node, gi), "letter": gi.name, "text": self.t(gi.label)}
                for gi in node.items
            ],
        )
        return out

    # ------------------------------------------------------------ Markdown

    def markdown(self, view: dict[str, Any]) -> str:
        w = words(view["lang"])
        lines: list[str] = [f"# {md_escape(view['title'])}", ""]
        if view["subtitle"]:
            lines += [f"**{md_escape(view['subtitle'])}**  ", ""]
        if view["period"]:
            lines += [md_escape(view["period"]), ""]
        lines += [f"*{md_escape(w['script'])}, {w['version']} {view['version']}*", ""]
        if view["length"]:
            lines += [f"*{md_escape(view['length'])}*", ""]
        self._md_entries(view["entries"], lines, w, 2)
        text = "\n".join(lines)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return text.rstrip("\n") + "\n"

    def _md_entries(self, entries: list[dict[str, Any]], lines: list[str], w: dict[str, str], level: int) -> None:
        for e in entries:
            self._md_entry(e, lines, w, level)

    def _md_entry(self, e: dict[str, Any], lines: list[str], w: dict[str, str], level: int) -> None:
        kind = e["type"]
        if kind == "heading":
            lines += [f"{'#' * min(level + 1, 6)} {md_fill(e['text'])}", ""]
        elif kind == "say":
            lines += [md_fill(e["text"]), ""]
        elif kind == "instruction":
            lines += [f"> *{md_fill(e['text'])}*", ""]
        elif kind == "section":
            if e["title"]:
                lines += [f"{'#' * level} {md_fill(e['title'])}", ""]
            self._md_entries(e["entries"], lines, w, level)
        elif kind == "branch":
            lines += [f"**{md_escape(e['label'])}**", ""]
            self._md_entries(e["entries"], lines, w, level)
            if e["else_entries"] is not None:
                lines += [f"**{md_escape(e['else_label'])}**", ""]
                self._md_entries(e["else_entries"], lines, w, level)
        elif kind == "roster":
            lines += [f"**{md_escape(e['title'], False)}** — *{md_fill(e['loop'], False)}*", ""]
            self._md_entries(e["entries"], lines, w, level)
            if lines[-2:] != ["---", ""]:  # a nested roster ending with this one: one rule
                lines += ["---", ""]
        elif kind == "question":
            self._md_question(e, lines, w)
        elif kind == "grid":
            self._md_grid(e, lines, w)
        else:  # pragma: no cover - the view only holds the kinds above
            raise self.error(f"no Markdown rendering for a {kind} entry")

    def _md_head(self, e: dict[str, Any], lines: list[str], w: dict[str, str]) -> None:
        lines.append(f'<a id="{e["id"]}"></a>')
        lines.append("")
        if e["guard"]:
            lines += [f"*{md_escape(e['guard'])}*", ""]
        for t in e["instructions"]:
            lines += [f"> *{md_fill(t)}*", ""]

    def _md_question(self, e: dict[str, Any], lines: list[str], w: dict[str, str]) -> None:
        self._md_head(e, lines, w)
        if e["recorded"]:
            lines += [f"**{md_escape(e['number'], False)}** *{md_fill(e['text'], False)}* ({md_escape(w['recorded'])})", ""]
        else:
            lines += [f"**{md_escape(e['number'], False)}** {md_fill(e['text'], False)}", ""]
        if e["range"]:
            lines += [md_escape(e["range"]), ""]
        for t in e["notes"]:
            lines += [f"*{md_fill(t, False)}*", ""]
        if e["multiple"]:
            lines += [f"*{md_escape(w['multiple'])}*", ""]
        if e["read_label"]:
            lines += [f"**{md_escape(e['read_label'])}**", ""]
        for o in e["options"]:
            lines.append(f"- {self._md_option(o, w)}")
        if e["options"]:
            lines.append("")
        if e["not_read"]:
            lines += [f"*{md_escape(w['not_read'])}:*", ""]
            for o in e["not_read"]:
                lines.append(f"- {self._md_option(o, w)}")
            lines.append("")
        self._md_checks(e, lines)

    def _md_checks(self, e: dict[str, Any], lines: list[str]) -> None:
        for c in e["checks"]:
            lines += [
                f"> **{md_escape(c['label'])}** {md_escape(c['open'])}{md_fill(c['message'], False)}"
                f"{md_escape(c['close'])} {md_escape(c['after'])}",
                "",
            ]

    def _md_option(self, o: dict[str, Any], w: dict[str, str]) -> str:
        text = f"{o['code']}: {md_fill(o['label'], False)}"
        if o["specify"]:
            text += f" \\_\\_\\_\\_ {md_fill(o['specify'], False)}"
        if o["exclusive"]:
            text += f" ({md_escape(w['exclusive'])})"
        if o["goto"]:
            text += f" → [{md_escape(o['goto']['text'])}](#{o['goto']['id']})"
        if o["end"]:
            text += f" → **{md_escape(o['end'])}**"
        return text

    def _md_grid(self, e: dict[str, Any], lines: list[str], w: dict[str, str]) -> None:
        self._md_head(e, lines, w)
        head = f"**{md_escape(e['number'], False)}**"
        lines += [f"{head} {md_fill(e['text'], False)}" if e["text"] else head, ""]
        for t in e["notes"]:
            lines += [f"*{md_fill(t, False)}*", ""]
        if e["read_label"]:
            lines += [f"**{md_escape(e['read_label'])}**", ""]
        header = ["", ""]
        for c in e["columns"]:
            label = f"{c['code']}: {md_fill(c['label'].replace(chr(10), ' '), False)}"
            if c["read"] is False:
                label += f" ({md_escape(w['not_read'])})"
            header.append(label)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] * len(header)) + "|")
        for it in e["items"]:
            row = [f'<a id="{it["id"]}"></a>{md_escape(it["number"], False)}', md_fill(it["text"].replace(chr(10), " "), False)] + ["☐"] * len(e["columns"])
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        self._md_checks(e, lines)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


__all__ = ["ScriptGenerator"]
