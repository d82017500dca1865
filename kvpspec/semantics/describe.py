"""A guard in the interviewer's words: the questionnaire's numbers and option labels.

``describe(expr, low, language)`` renders a routing condition as the text an
interviewer reads in the script and the routing picture, e.g. ``not a1 in [1, 8]``
as "spm. 1 er ikke besvart med 1 (Ja) eller 8 (Vet ikke)". Variables are shown by
their number in the questionnaire (``number`` on the question, else the name without
a leading ``q``; a grid item as ``8a``; "spm. 8a" or "Q8a" when the number starts
with a digit); codes with their option label in the
language; ``and``, ``or`` and ``not`` in words of the language.

The wording keeps the meaning of ``kvpspec.semantics.expr`` where it differs on
unanswered questions: ``not a1 == 2`` (true when A1 was not asked) reads
"A1 er ikke besvart med 2 (Nei)", while ``a1 != 2`` (false then) reads
"A1 er besvart, men ikke med 2 (Nei)". Comparisons of numbers keep their symbols
(``<``, ``≤``, ``≠``). Languages: ``nb`` and ``en``; any other language uses the
words of its base language (``en-GB`` → ``en``), else Norwegian bokmål, as the
script's own words do (``generators.common.words``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kvpspec import model as m
from kvpspec.diagnostics import number_text
from kvpspec.semantics.lower import Lowered, MemoKey
from kvpspec.semantics.routing import slots
from kvpspec.semantics.variables import Variable

#: The words of the rendering, per language.
WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "and": "og",
        "or": "eller",
        "not": "ikke",
        "not_with": "er ikke besvart med",
        "but_not": "er besvart, men ikke med",
        "includes": "omfatter",
        "not_includes": "omfatter ikke",
        "answered": "er besvart",
        "not_answered": "er ikke besvart",
        "missing": "mangler gyldig svar",
        "not_missing": "har gyldig svar",
        "is": "er",
        "is_not": "er ikke",
        "dont_know": "«vet ikke»",
        "refused": "«nekter»",
        "not_applicable": "«ikke aktuelt»",
        "upto": "høyst",
        "from": "minst",
        "else": "alt annet",
        "question": "spm. {}",
        "no_value": "ingen verdi",
        "over": "for hver",
        "if": "hvis",
        "then": "så",
        "else_": "ellers",
    },
    "en": {
        "and": "and",
        "or": "or",
        "not": "not",
        "not_with": "is not answered with",
        "but_not": "is answered, but not with",
        "includes": "includes",
        "not_includes": "does not include",
        "answered": "is answered",
        "not_answered": "is not answered",
        "missing": "has no valid answer",
        "not_missing": "has a valid answer",
        "is": "is",
        "is_not": "is not",
        "dont_know": "“don't know”",
        "refused": "“refused”",
        "not_applicable": "“not applicable”",
        "upto": "at most",
        "from": "at least",
        "else": "anything else",
        "question": "Q{}",
        "no_value": "no value",
        "over": "for each",
        "if": "if",
        "then": "then",
        "else_": "else",
    },
}

_SYMBOL = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def words(language: str | None) -> dict[str, str]:
    """The words for a language: its own, its base language's, else ``nb``."""
    lang = language or "nb"
    return WORDS.get(lang) or WORDS.get(lang.split("-")[0]) or WORDS["nb"]


def numbers(low: Lowered) -> dict[str, str]:
    """The number an interviewer sees for each variable the interview asks
    (``A1``, ``8a``); names not listed (sample fields, specify texts) show as written."""
    cached = low.memo.find(_NUMBERS)
    if cached is not None:
        return cached
    out: dict[str, str] = {}
    for slot in slots(low):
        item = slot.item
        number = _number(item)
        if isinstance(item, m.Grid):
            for gi in item.items:
                out[item.name + gi.name] = number + gi.name
        else:
            out[item.name] = number
    return low.memo.store(_NUMBERS, out)


_NUMBERS: MemoKey[dict[str, str]] = MemoKey("describe.numbers")


def _number(item: m.Question | m.Grid) -> str:
    """As ``generators.common.display_number``, without a trailing ``.``, ``:`` or ``)``."""
    if item.number:
        return item.number.rstrip(".:) ") or item.number
    if re.match(r"^q\d", item.name):
        return item.name[1:]
    return item.name


def describe(e: m.Expr, low: Lowered, language: str | None = None) -> str:
    """A condition as interviewer text in ``language`` (see the module docstring)."""
    return Describer(low, language)(e)


class Describer:
    """Renders conditions for one spec and language; reuse it for many conditions."""

    def __init__(self, low: Lowered, language: str | None = None) -> None:
        self.variables: Mapping[str, Variable] = low.variables
        self.numbers = numbers(low)
        self.language = language
        self.w = words(language)

    def __call__(self, e: m.Expr) -> str:
        return self._expr(e)

    def number(self, name: str) -> str:
        """How the variable ``name`` is shown: its number, as ``spm. 4`` (``Q4``)
        when the number starts with a digit, so that it is not read as a code."""
        number = self.numbers.get(name, name)
        return self.w["question"].format(number) if number[:1].isdigit() else number

    # ------------------------------------------------------------ pieces

    def _var(self, e: m.Expr) -> Variable | None:
        return self.variables.get(e.name) if isinstance(e, m.Ref) else None

    def _code(self, var: Variable | None, code: object) -> str:
        """``2 (Nei)``: a code with its label when the variable has one."""
        text = _value(code)
        if var is None or not isinstance(code, int) or isinstance(code, bool):
            return text
        for c, label in var.values:
            if c == code:
                words_ = " ".join(self._text(label).split())
                return f"{text} ({words_})" if words_ else text
        return text

    def _text(self, text: m.Text) -> str:
        """A label in the language, else its base language (``en`` for ``en-GB``), else the main text."""
        lang = self.language or ""
        if lang not in text.translations and lang.split("-")[0] in text.translations:
            lang = lang.split("-")[0]
        return text.get(lang)

    def _list(self, items: list[str]) -> str:
        """``a``, ``a eller b``, ``a, b eller c``."""
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + f" {self.w['or']} " + items[-1]

    def _values(self, var: Variable | None, values: tuple[m.ValueSpec, ...]) -> str:
        parts: list[str] = []
        for v in values:
            if v.kind == "single":
                parts.append(self._code(var, v.low))
            elif v.kind == "range":
                parts.append(f"{_value(v.low)}–{_value(v.high)}")
            elif v.kind == "upto":
                parts.append(f"{self.w['upto']} {_value(v.high)}")
            elif v.kind == "from":
                parts.append(f"{self.w['from']} {_value(v.low)}")
            elif v.kind == "string":
                parts.append(_quote(v.text or ""))
            else:
                parts.append(self.w["else"])
        return self._list(parts)

    def _operand(self, e: m.Expr) -> str:
        if isinstance(e, m.Ref):
            return self.number(e.name)
        if isinstance(e, m.Literal_):
            return _value(e.value)
        if isinstance(e, m.Call):
            return f"{e.func}({', '.join(self._operand(a) for a in e.args)})"
        if isinstance(e, m.Unary) and e.op == "-":
            return f"-{self._operand(e.operand)}"
        if isinstance(e, m.Binary):
            return f"{self._operand(e.left)} {e.op} {self._operand(e.right)}"
        if isinstance(e, m.Missing_):
            return self.w["no_value"]
        if isinstance(e, m.Aggregate):
            return f"{e.func}({self._operand(e.operand)} {self.w['over']} {e.roster})"
        if isinstance(e, m.Conditional):
            w = self.w
            return (
                f"({w['if']} {self._expr(e.condition)} {w['then']} {self._operand(e.then)} "
                f"{w['else_']} {self._operand(e.otherwise)})"
            )
        if isinstance(e, (m.Compare, m.In, m.Test, m.BoolOp, m.Unary)):
            return f"({self._expr(e)})"
        return type(e).__name__  # pragma: no cover - a node this renderer does not know yet

    # ------------------------------------------------------------ conditions

    def _expr(self, e: m.Expr, negated: bool = False) -> str:
        """The text of ``e`` (of ``not e`` when ``negated``)."""
        w = self.w
        if isinstance(e, m.Unary) and e.op == "not":
            return self._expr(e.operand, negated=not negated)
        if isinstance(e, m.BoolOp):
            op = w[e.op]
            parts = []
            for o in e.operands:
                text = self._expr(o)
                if isinstance(o, m.BoolOp) and o.op != e.op:
                    text = f"({text})"
                parts.append(text)
            text = f" {op} ".join(parts)
            return f"{w['not']} ({text})" if negated else text
        if isinstance(e, m.Compare):
            return self._compare(e, negated)
        if isinstance(e, m.In):
            return self._in(e, negated)
        if isinstance(e, m.Test):
            return self._test(e, negated)
        text = self._operand(e)
        return f"{w['not']} {text}" if negated else text

    def _compare(self, e: m.Compare, negated: bool) -> str:
        w = self.w
        var, other = self._var(e.left), e.right
        if var is None and self._var(e.right) is not None:
            var, other = self._var(e.right), e.left
        coded = var is not None and var.value_kind == "code" and isinstance(other, m.Literal_)
        if coded and e.op in ("==", "!=") and var is not None and isinstance(other, m.Literal_):
            name, code = self.number(var.name), self._code(var, other.value)
            if var.type == "multiple":
                include = (e.op == "==") != negated
                return f"{name} {w['includes'] if include else w['not_includes']} {code}"
            if e.op == "==":
                return f"{name} {w['not_with']} {code}" if negated else f"{name} = {code}"
            text = f"{name} {w['but_not']} {code}"
            return f"{w['not']} ({text})" if negated else text
        text = f"{self._operand(e.left)} {_SYMBOL[e.op]} {self._operand(e.right)}"
        return f"{w['not']} ({text})" if negated else text

    def _in(self, e: m.In, negated: bool) -> str:
        w = self.w
        var = self._var(e.operand)
        name = self._operand(e.operand)
        values = self._values(var, e.values)
        if var is not None and var.type == "multiple":
            include = (not e.negated) != negated
            return f"{name} {w['includes'] if include else w['not_includes']} {values}"
        if not e.negated:
            return f"{name} {w['not_with']} {values}" if negated else f"{name} = {values}"
        text = f"{name} {w['but_not']} {values}"
        return f"{w['not']} ({text})" if negated else text

    def _test(self, e: m.Test, negated: bool) -> str:
        w = self.w
        flip = e.negated != negated
        var = self._var(e.operand)
        name = self._operand(e.operand)
        if e.test == "answered":
            return f"{name} {w['not_answered' if flip else 'answered']}"
        if e.test == "missing":
            return f"{name} {w['not_missing' if flip else 'missing']}"
        codes = [c for c, kind in var.missing if kind == e.test] if var is not None else []
        if codes:
            values = self._list([self._code(var, c) for c in codes])
            if var is not None and var.type == "multiple":
                return f"{name} {w['not_includes' if flip else 'includes']} {values}"
            return f"{name} {w['not_with']} {values}" if flip else f"{name} = {values}"
        return f"{name} {w['is_not' if flip else 'is']} {w.get(e.test, e.test)}"


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number_text(v)
    if isinstance(v, str):
        return _quote(v)
    return str(v)


def _quote(text: str) -> str:
    return f"«{text}»"


__all__ = ["WORDS", "Describer", "describe", "numbers", "words"]
