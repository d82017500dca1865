"""Hypothesis strategies for a spec: interviews that follow its routing.

Use them in your own pytest suite to test anything that reads survey data (a
cleaning script, an analysis, a validator) on every route the questionnaire
allows::

    from hypothesis import given
    from kvpspec.testing import interviews

    @given(interviews("specs/kvp2009.survey"))
    def test_age_is_adult(record):
        assert record["q11"] is None or record["q11"] >= 18

Every strategy takes a spec as a path, as spec text or as a ``Compiled``:

- ``interviews(spec)``: response-data records, ``{variable: value}``, one per
  interview that passed the intro, followed by ``routing.Walk``: each question
  is asked exactly when its routing guard holds on the answers so far (and no
  earlier answer ended the interview), evaluated by the one interpreter
  (``expr.Evaluator``); answers are drawn as ``answers.py`` describes them
  (kinds, ranges, codes, missing codes, exclusive options); a specify text is
  filled exactly when its option is chosen.
  A question not asked holds ``None``. ``complete(spec, record)`` adds the
  recodes and derived variables.
- ``cases(spec)``: the same interviews as ``Case`` objects, with the sample
  fields of the case, the path (the variables asked, in order) and the
  disposition of an early ``end``.
- ``defective_interviews(spec)``: ``(record, defect)`` pairs, each record with
  exactly one planted fault, labelled, for testing validators
  (``defective_cases`` gives the whole ``Case``, sample record included).
- ``samples(spec)``: sample records (registration-form rows with synthetic
  names and phone numbers, and ``disposition``), for documents and fills.

Shrinking moves towards the first option, the low end of a range and short
texts, so a failing example is small: ``format_case`` prints it as a table.

>>> from hypothesis import find
>>> spec = '''survey demo "Demo"
... interview {
...   question q1 single "Bor du alene?" { 1 "Ja" 2 "Nei" }
...   question q2 integer "Hvor mange bor du med?" { ask if q1 == 2  range 1..20 }
... }'''
>>> find(interviews(spec), lambda r: r["q2"] is not None)
{'q1': 2, 'q2': 1}
>>> find(interviews(spec), lambda r: r["q2"] is None)
{'q1': 1, 'q2': None}
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from kvpspec.compile import Compiled, compile_file, compile_text
from kvpspec.diagnostics import SpecError
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.lower import Lowered, Variable, expr_refs
from kvpspec.semantics.routing import Step, Walk, asked_conditions, steps
from kvpspec.synth.answers import FIRST_NAMES, SURNAMES, Answers, answers, complete_disposition

__all__ = [
    "DEFECT_RULES",
    "Case",
    "Defect",
    "SpecModel",
    "cases",
    "complete",
    "defective_cases",
    "defective_interviews",
    "format_case",
    "interviews",
    "load",
    "samples",
    "spec_model",
]


_WORDS = string.ascii_lowercase


def load(spec: Any) -> Compiled:
    """A compiled spec from a path, spec text or a ``Compiled``; raises ``SpecError`` on errors."""
    if isinstance(spec, Compiled):
        compiled = spec
    elif isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and not spec.lstrip().startswith("survey ")):
        compiled = compile_file(spec)
    else:
        compiled = compile_text(str(spec))
    if not compiled.ok:
        raise SpecError(compiled.errors)
    return compiled


_MODELS: dict[int, SpecModel] = {}
_BY_SOURCE: dict[tuple, SpecModel] = {}


def _compile_any(spec: Any, allow_errors: bool) -> Compiled:
    if not allow_errors:
        return load(spec)
    if isinstance(spec, Path) or ("\n" not in str(spec) and not str(spec).lstrip().startswith("survey ")):
        return compile_file(spec)
    return compile_text(str(spec))


def spec_model(spec: Any, *, allow_errors: bool = False) -> SpecModel:
    """The (cached) ``SpecModel`` of a spec."""
    if isinstance(spec, SpecModel):
        return spec
    if not isinstance(spec, Compiled):
        # the same path or text gives the same model (a file is re-read when it changes)
        try:
            stamp = Path(spec).stat().st_mtime_ns if "\n" not in str(spec) else 0
        except OSError:
            stamp = 0
        source = (str(spec), stamp, allow_errors)
        model = _BY_SOURCE.get(source)
        if model is None:
            model = _BY_SOURCE[source] = spec_model(_compile_any(spec, allow_errors), allow_errors=allow_errors)
        return model
    if isinstance(spec, Compiled):
        compiled = spec
        if not allow_errors and not compiled.ok:
            raise SpecError(compiled.errors)
    key = id(compiled)
    model = _MODELS.get(key)
    if model is None or model.compiled is not compiled:
        model = _MODELS[key] = SpecModel(compiled)
    return model


@dataclass
class SpecModel:
    """What the strategies need of a spec, computed once: its variables and steps."""

    compiled: Compiled
    _strategies: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict, init=False, repr=False)

    @property
    def low(self) -> Lowered:
        return self.compiled.lowered

    @cached_property
    def evaluator(self) -> Evaluator:
        low = self.low
        return Evaluator(low.variables, low.recodes, low.spec.derives)

    @cached_property
    def steps(self) -> list[Step]:
        """The interview's steps after the intro: what response data records."""
        return [s for s in steps(self.low) if not s.in_intro]

    @cached_property
    def response_variables(self) -> list[Variable]:
        """The response-data columns in codebook order (respondent id first)."""
        return self.low.response_variables()

    @cached_property
    def sample_fields(self) -> list[Variable]:
        return [v for v in self.low.variables.values() if v.role == "sample"]

    @cached_property
    def routing_reads(self) -> set[str]:
        """Variables that some routing condition reads."""
        out: set[str] = set()
        for cond in asked_conditions(self.low).values():
            if cond is not None:
                out.update(expr_refs(cond))
        return out

    @cached_property
    def answers(self) -> dict[str, Answers]:
        """What each variable's answers can be (``answers.describe``)."""
        return answers(self.low)

    def asked(self, record: Mapping[str, Any], sample: Mapping[str, Any] | None = None) -> dict[str, bool]:
        """For each step, whether the routing asks it given this record (``routing.Walk``:
        an interview that ended early asks nothing after its end)."""
        return Walk(self.steps, {**(sample or {}), **record}, self.evaluator).asked()

    # ------------------------------------------------------------ answers

    def answer(self, name: str) -> st.SearchStrategy[Any]:
        """The values a variable may hold when it is asked."""
        strategy = self._strategies.get(name)
        if strategy is None:
            strategy = self._strategies[name] = _answer(self.answers[name])
        return strategy

    def sample_value(self, var: Variable) -> st.SearchStrategy[Any]:
        """A sample field's value: synthetic names and numbers for personal text fields."""
        a = self.answers[var.name]
        if a.kind == "text":
            return _personal(a)
        if a.kind == "number":
            lo = int(a.low) if a.low is not None else 0
            hi = int(a.high) if a.high is not None else 1000
            return st.integers(lo, hi)
        if a.kind == "multiple":
            return self.answer(var.name) if a.all_codes else st.just(None)
        return st.sampled_from(a.all_codes) if a.all_codes else st.just(None)


def _answer(a: Answers) -> st.SearchStrategy[Any]:
    """An answer when asked: codes in option order, the range, missing codes, and the
    values the routing conditions test (so every branch is hit)."""
    if a.kind == "multiple":
        parts: list[st.SearchStrategy[Any]] = []
        if a.codes:
            parts.append(st.lists(st.sampled_from(a.codes), min_size=1, max_size=len(a.codes), unique=True).map(frozenset))
        if a.alone:
            parts.append(st.sampled_from(a.alone).map(lambda c: frozenset([c])))
        return _pick(parts) if parts else st.just(frozenset())
    if a.kind == "text":
        texts = st.text(alphabet=_WORDS, min_size=1, max_size=12)
        return _pick([texts, st.sampled_from(a.edges)]) if a.edges else texts
    if a.kind == "number":
        lo, hi = a.low, a.high
        base: st.SearchStrategy[Any]
        if a.decimal:
            base = st.floats(
                min_value=lo if lo is not None else -1e6, max_value=hi if hi is not None else 1e6,
                allow_nan=False, allow_infinity=False,
            ).map(lambda x: _round(x, lo, hi))
        else:
            base = st.integers(
                min_value=int(lo) if lo is not None else None, max_value=int(hi) if hi is not None else None
            )
        parts = [base]
        if a.edges:
            parts.append(st.sampled_from(a.edges))
        if a.missing:
            parts.append(st.sampled_from(a.missing))
        return _pick(parts)
    codes = a.codes + a.missing
    return st.sampled_from(codes) if codes else st.just(0)


def _personal(a: Answers) -> st.SearchStrategy[str]:
    """A sample text field's value: synthetic names, phone numbers and addresses for personal data."""
    if a.personal == "surname":
        return st.sampled_from(SURNAMES)
    if a.personal == "first name":
        return st.sampled_from(FIRST_NAMES)
    if a.personal == "phone":
        return st.integers(40_000_000, 99_999_999).map(str)
    if a.personal == "email":
        return st.sampled_from(FIRST_NAMES).map(lambda n: f"{n.lower()}@example.org")
    if a.personal == "full name":
        return st.tuples(st.sampled_from(FIRST_NAMES), st.sampled_from(SURNAMES)).map(" ".join)
    return st.text(alphabet=_WORDS, min_size=1, max_size=12)


@st.composite
def _pick(draw, parts: list[st.SearchStrategy]) -> Any:
    """One of ``parts``, drawing from all of them every time.

    Unlike ``one_of``, the draws have a fixed shape, so the shrinker can move
    to the first part (the plain answers) without inventing a new draw.
    """
    if len(parts) == 1:
        return draw(parts[0])
    which = draw(st.integers(0, len(parts) - 1))
    values = [draw(p) for p in parts]
    return values[which]


def _round(x: float, lo: float | None, hi: float | None) -> float:
    """Two decimals, kept inside the range."""
    y = round(x, 2)
    if lo is not None and y < lo:
        y = lo
    if hi is not None and y > hi:
        y = hi
    return y


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One generated interview: its response data, sample record, path and end."""

    record: dict[str, Any]
    sample: dict[str, Any] = field(default_factory=dict)
    #: the response variables asked, in order
    path: tuple[str, ...] = ()
    #: the disposition of an early `end` in the interview, or None
    end: int | None = None


@st.composite
def _sample_record(draw, model: SpecModel, only: set[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ev = model.evaluator
    for var in model.sample_fields:
        if only is not None and var.name not in only:
            continue
        a = model.answers[var.name]
        if a.parent is not None:
            out[var.name] = draw(st.text(alphabet=_WORDS, min_size=1, max_size=12)) if out.get(a.parent) == a.parent_code else None
        elif a.formula is not None:
            out[var.name] = ev.value(a.formula, out)
        else:
            out[var.name] = draw(model.sample_value(var))
    return out


@st.composite
def _cases(draw, model: SpecModel, with_sample: bool) -> Case:
    sample_needed = {n for n in model.routing_reads if model.low.variables.get(n) and model.low.variables[n].role == "sample"}
    if with_sample:
        sample = draw(_sample_record(model))
    elif sample_needed:
        # a computed field needs the fields it is computed from
        sample = draw(_sample_record(model, None))
        sample = {k: v for k, v in sample.items() if k in sample_needed}
    else:
        sample = {}
    record: dict[str, Any] = {v.name: None for v in model.response_variables}
    rid = model.low.spec.respondent
    if rid is not None:
        record[rid.name] = draw(st.integers(1, 999_999)) if rid.kind == "integer" else draw(
            st.integers(1, 999_999).map(lambda i: f"R{i:06d}")
        )
    scope = {**sample, **record}
    walk = Walk(model.steps, scope, model.evaluator)
    for step, asked in walk:
        # every step draws an answer, asked or not, so that the draws keep their
        # places when shrinking changes the route: shrinking then stays local
        value = draw(model.answer(step.name))
        if asked:
            record[step.name] = scope[step.name] = value
    if with_sample and "disposition" in sample:
        sample["disposition"] = walk.end if walk.end is not None else complete_disposition(model.low)
    return Case(record, sample, tuple(walk.path), walk.end)


def cases(spec: Any, *, sample: bool = False) -> st.SearchStrategy[Case]:
    """Interviews as ``Case`` objects; ``sample=True`` also draws the whole sample record
    (its ``disposition`` that of the interview: complete, or its early end)."""
    return _cases(spec_model(spec), sample)


def interviews(spec: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Response-data records of interviews that follow the spec's routing."""
    return cases(spec).map(lambda c: c.record)


def samples(spec: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Sample records: every sample field, personal ones with synthetic values."""
    return _sample_record(spec_model(spec))


def complete(spec: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its recodes and derived variables computed (``Evaluator.complete``)."""
    return spec_model(spec).evaluator.complete(record)


# ---------------------------------------------------------------- defects

#: The faults ``defective_interviews`` plants, one per record.
DEFECT_RULES = (
    "asked-but-empty",
    "skipped-but-answered",
    "code-outside-scale",
    "number-outside-range",
    "not-a-whole-number",
    "specify-without-option",
    "text-in-numeric",
    "exclusive-with-others",
)


#: The validator's rule (``kvpspec.data.validate``) for each kind of planted fault.
VALIDATOR_RULES = {
    "asked-but-empty": "asked-empty",
    "skipped-but-answered": "skipped-answered",
    "specify-without-option": "skipped-answered",
    "code-outside-scale": "code",
    "exclusive-with-others": "exclusive",
    "number-outside-range": "range",
    "not-a-whole-number": "type",
    "text-in-numeric": "type",
}


@dataclass(frozen=True)
class Defect:
    """One planted fault: the column and the rule it breaks."""

    column: str
    rule: str
    detail: str

    @property
    def validator_rule(self) -> str:
        """The rule ``kvpspec validate`` reports for this fault."""
        return VALIDATOR_RULES[self.rule]

    def __str__(self) -> str:
        return f"{self.column}: {self.rule} ({self.detail})"


def _plants(model: SpecModel, case: Case, asked: dict[str, bool]) -> list[tuple[str, str, Any, str]]:
    """Every single fault that can be planted in this interview: (column, rule, value, detail)."""
    out: list[tuple[str, str, Any, str]] = []
    rec = case.record
    for step in model.steps:
        name = step.name
        var = model.low.variables[name]
        value = rec.get(name)
        if asked.get(name):
            if value is not None:
                out.append((name, "asked-but-empty", None, "asked, but holds no answer"))
            if var.value_kind == "code" and var.codes:
                bad = max(var.codes) + 1
                if var.type == "multiple":
                    out.append((name, "code-outside-scale", frozenset([bad]), f"code {bad} is not an option"))
                    exclusive = var.exclusive
                    normal = [c for c in var.codes if c not in exclusive]
                    if exclusive and normal:
                        both = frozenset([min(exclusive), normal[0]])
                        out.append((name, "exclusive-with-others", both, "an exclusive option chosen with another"))
                else:
                    out.append((name, "code-outside-scale", bad, f"code {bad} is not an option"))
            if var.value_kind == "number":
                if var.max is not None:
                    above = var.max + 1
                    while above in var.missing_codes:
                        above += 1
                    out.append((name, "number-outside-range", above, f"{above} is above the range {var.min}..{var.max}"))
                if var.type == "integer":
                    lo = var.min if var.min is not None else 0
                    if var.max is None or lo + 1 <= var.max:
                        out.append((name, "not-a-whole-number", lo + 0.5, "a whole number is expected"))
            if var.value_kind in ("number", "code") and var.type != "multiple":
                out.append((name, "text-in-numeric", "abc", "text where a number is expected"))
        elif value is None:
            if var.role == "specify" and asked.get(var.parent or "") and rec.get(var.parent or "") is not None:
                out.append((name, "specify-without-option", "tekst", f"filled, but `{var.parent}` is not {var.parent_code}"))
            elif var.role != "specify":
                filler = _first_value(var)
                if filler is not None:
                    out.append((name, "skipped-but-answered", filler, "answered, but the routing skips it"))
    return out


def _first_value(var: Variable) -> Any:
    if var.type == "multiple":
        return frozenset(var.codes[:1]) if var.codes else None
    if var.value_kind == "code":
        return var.codes[0] if var.codes else None
    if var.value_kind == "number":
        return var.min if var.min is not None else 1
    return "tekst"


@st.composite
def _defective(draw, model: SpecModel) -> tuple[Case, Defect]:
    case = draw(_cases(model, False))
    asked = model.asked(case.record, case.sample)
    plants = _plants(model, case, asked)
    if not plants:
        reject()
    start = draw(st.integers(0, len(plants) - 1))
    for k in range(len(plants)):
        column, rule, value, detail = plants[(start + k) % len(plants)]
        record = dict(case.record)
        record[column] = value
        if _only_fault(model, case, record, column, rule):
            return Case(record, case.sample, case.path, case.end), Defect(column, rule, detail)
    reject()


def _only_fault(model: SpecModel, case: Case, record: dict[str, Any], column: str, rule: str) -> bool:
    """Planting must not change whether any other variable is asked."""
    if column not in model.routing_reads:
        return True
    if rule in ("text-in-numeric", "not-a-whole-number"):
        return False
    try:
        before = model.asked(case.record, case.sample)
        after = model.asked(record, case.sample)
    except (TypeError, ValueError):
        return False
    return all(before[k] == after[k] for k in before if k != column)


def defective_interviews(spec: Any) -> st.SearchStrategy[tuple[dict[str, Any], Defect]]:
    """``(record, defect)``: an interview with exactly one planted fault, named by
    ``defect.column`` and ``defect.rule`` (one of ``DEFECT_RULES``).

    Only faults that leave the routing of every other variable as it was are
    planted, so a validator should report this one column and no other. When
    routing reads sample fields, use ``defective_cases`` to get them too.
    """
    return _defective(spec_model(spec)).map(lambda pair: (pair[0].record, pair[1]))


def defective_cases(spec: Any) -> st.SearchStrategy[tuple[Case, Defect]]:
    """``(case, defect)``: as ``defective_interviews``, with the case's sample record."""
    return _defective(spec_model(spec))


# ---------------------------------------------------------------- printing


def show_value(var: Variable | None, value: Any) -> str:
    """A value with its label: ``2 (Annet land)``; an empty cell for no value."""
    if value is None:
        return ""
    if var is None:
        return repr(value)
    labels = {code: text.text for code, text in var.values}
    if isinstance(value, frozenset):
        return "; ".join(show_value(var, c) for c in sorted(value))
    if isinstance(value, (bool, str)):
        return repr(value) if isinstance(value, str) else str(value).lower()
    if isinstance(value, float) and value.is_integer() and value not in labels:
        value = int(value)
    label = labels.get(value)
    if label is not None:
        kind = var.missing_kind(value) if not isinstance(value, float) else None
        return f"{value} ({_short(label)}{', missing ' + kind if kind else ''})"
    return str(value)


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_case(spec: Any, record: Mapping[str, Any], path: tuple[str, ...] | None = None,
                names: list[str] | None = None) -> str:
    """A record as a readable table: variable, label, value with its label.

    ``names`` limits the rows (default: every variable with a value); ``path``
    adds the questions asked, in order.
    """
    model = spec_model(spec, allow_errors=True)
    variables = model.low.variables
    if names is None:
        names = [n for n, v in record.items() if v is not None]
    rows = [(n, _short(variables[n].label.text, 44) if n in variables else "", show_value(variables.get(n), record.get(n)))
            for n in names]
    w0 = max([len("variable")] + [len(r[0]) for r in rows])
    w1 = max([len("label")] + [len(r[1]) for r in rows])
    lines = [f"  {'variable':<{w0}}  {'label':<{w1}}  value", f"  {'-' * w0}  {'-' * w1}  {'-' * 5}"]
    lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    if path is not None:
        lines.append(f"  path: {' -> '.join(path) if path else '(nothing asked)'}")
    return "\n".join(lines)
