"""A semantic diff of two versions of a spec: what changed, and does it break comparability?

Questions, options, recodes, checks, derived values and analyses are matched
by name, never by line, so a reformatted spec has no changes. Each change is
classified ``breaking`` when data collected with the two versions can no
longer be compared as they are: a code now means something else, options
were merged or split, a range narrowed, a question's population changed, a
variable disappeared.

Routing is compared by meaning: the guard of a question in each version (the
one definition in ``kvpspec.semantics.routing``) is evaluated by the core's
interpreter over every combination of representative values of the variables
it reads. When there are too many combinations, or a variable's values cannot
all be represented, the change is reported as undecided rather than guessed.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.diagnostics import number_text
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.lower import Lowered, question_kind
from kvpspec.semantics.routing import Slot, collect_literals, slots, value_domain
from kvpspec.semantics.variables import Variable, expr_refs, recode_table, recode_variable
from kvpspec.syntax.formatter import format_expr

#: Every kind of change: kind -> what it means. ``breaking`` is decided per change.
KINDS: dict[str, str] = {
    "question-added": "a question (or grid item) is new",
    "question-removed": "a question (or grid item) is gone: its variable is no longer collected",
    "question-moved": "a question stands elsewhere in the order of the interview",
    "question-renamed": "a question has a new name but the same kind, text, codes and range",
    "question-kind-changed": "a question changed its kind (single, multiple, integer, grid, ...)",
    "wording-changed": "the text of a question, grid or grid item changed, in one language",
    "option-added": "a question has a new code: the answers of the old codes are split",
    "option-removed": "a code is gone: its answers fall elsewhere (options merged)",
    "option-relabelled": "an option's label was reworded but keeps its meaning",
    "code-meaning-changed": "a code now stands for a different answer",
    "missing-changed": "a code became, stopped being or changed its kind of missing value",
    "range-changed": "the valid range of a numeric question changed (narrowed is breaking)",
    "routing-changed": "the population asked a question changed (compared by meaning)",
    "routing-undecided": "a question's condition changed and the comparison could not be decided",
    "recode-added": "a recode is new",
    "recode-removed": "a recode is gone",
    "recode-changed": "a recode maps some value to another code, reads another source, or was relabelled",
    "derive-added": "a derived variable is new",
    "derive-removed": "a derived variable is gone",
    "derive-changed": "a derived variable is computed differently, or relabelled",
    "check-added": "an expectation or soft check is new",
    "check-removed": "an expectation or soft check is gone",
    "check-changed": "an expectation or soft check says something else",
    "analysis-added": "an analysis is new",
    "analysis-removed": "an analysis is gone",
    "analysis-changed": "an analysis tabulates something else, or was relabelled",
}

#: Most combinations of values tried to compare two guards.
MAX_ASSIGNMENTS = 200_000

#: Two option labels whose words agree at least this much are a rewording, not a new meaning.
SAME_MEANING = 0.5


@dataclass(frozen=True)
class Change:
    kind: str
    target: str
    breaking: bool
    message: str
    old: Any = None
    new: Any = None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, f"unregistered kind of change {self.kind!r}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "breaking": self.breaking,
            "message": self.message,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True)
class Version:
    survey: str
    version: str | None


@dataclass
class Diff:
    old: Version
    new: Version
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def as_json(self) -> dict[str, Any]:
        return {
            "old": {"survey": self.old.survey, "version": self.old.version},
            "new": {"survey": self.new.survey, "version": self.new.version},
            "changes": [c.as_json() for c in self.changes],
        }


def _version(c: Compiled) -> Version:
    study = c.spec.study
    return Version(c.spec.name, study.version if study is not None and study.version else None)


def diff(old: Compiled, new: Compiled, limit: int = MAX_ASSIGNMENTS) -> Diff:
    """Every change from ``old`` to ``new``, in the order of the new spec's constructs."""
    a, b = old.lowered, new.lowered
    changes: list[Change] = []
    renamed = _renames(a, b, _slot_map(a), _slot_map(b))
    changes.extend(_questions(a, b, limit, renamed))
    changes.extend(_recodes(a, b, renamed))
    changes.extend(_derives(a.spec, b.spec))
    changes.extend(_checks(a.spec, b.spec))
    changes.extend(_analyses(a.spec, b.spec))
    return Diff(_version(old), _version(new), changes)


# ---------------------------------------------------------------- words


_WORD_RE = re.compile(r"\S+")


def word_diff(old: str, new: str) -> str:
    """``old`` and ``new`` as one text with ``[-removed-]`` and ``{+added+}`` words."""
    a, b = _WORD_RE.findall(old), _WORD_RE.findall(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(a[i1:i2])
            continue
        if i2 > i1:
            out.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def _similarity(old: str, new: str) -> float:
    a = [w.casefold() for w in re.findall(r"\w+", old)]
    b = [w.casefold() for w in re.findall(r"\w+", new)]
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def _languages(spec: m.Spec) -> str:
    """The name of a text's main language: the study's first, or ``default``."""
    if spec.study is not None and spec.study.languages:
        return spec.study.languages[0]
    return "default"


def _texts(t: m.Text | None, main: str) -> dict[str, str]:
    if t is None:
        return {}
    out = {main: t.text}
    for lang, text in t.translations.items():
        out.setdefault(lang, text)
    return out


def _wording(target: str, what: str, old: m.Text | None, new: m.Text | None,
             main_old: str, main_new: str) -> Iterator[Change]:
    a, b = _texts(old, main_old), _texts(new, main_new)
    for lang in list(a) + [x for x in b if x not in a]:
        x, y = a.get(lang), b.get(lang)
        if x == y:
            continue
        if x is None:
            message = f"{what} {target}: text in {lang} added: {y}"
        elif y is None:
            message = f"{what} {target}: text in {lang} removed"
        else:
            message = f"{what} {target}: wording changed ({lang}): {word_diff(x, y)}"
        yield Change("wording-changed", target, False, message, x, y)


# ---------------------------------------------------------------- questions


def _slot_map(low: Lowered) -> dict[str, Slot]:
    out: dict[str, Slot] = {}
    for s in slots(low):
        out.setdefault(s.item.name, s)
    return out


def _kind(s: Slot) -> str:
    return "grid" if isinstance(s.item, m.Grid) else question_kind(s.item)


def _questions(a: Lowered, b: Lowered, limit: int, renamed: dict[str, str]) -> Iterator[Change]:
    old, new = _slot_map(a), _slot_map(b)
    main_a, main_b = _languages(a.spec), _languages(b.spec)
    for name, s in old.items():
        if name not in new and name not in renamed:
            yield Change("question-removed", name, True, f"question {name} removed", _label(s.item), None)
    for name, s in new.items():
        if name not in old and name not in renamed.values():
            yield Change("question-added", name, False, f"question {name} added", None, _label(s.item))
    for was, now in renamed.items():
        yield Change("question-renamed", now, True,
                     f"question {was} renamed {now} (same kind, text and codes): its data are now under {now}",
                     was, now)
    yield from _moves(list(old), list(new))
    pairs = [(name, name) for name in new if name in old] + list(renamed.items())
    for was, name in pairs:
        s, t = old[was], new[name]
        if _kind(s) != _kind(t):
            yield Change(
                "question-kind-changed", name, True,
                f"question {name} changed from {_kind(s)} to {_kind(t)}", _kind(s), _kind(t),
            )
        yield from _wording(name, "question", s.item.label, t.item.label, main_a, main_b)
        if isinstance(s.item, m.Grid) and isinstance(t.item, m.Grid):
            yield from _grid_items(s.item, t.item, main_a, main_b)
        if _kind(s) == _kind(t) or {_kind(s), _kind(t)} <= {"single", "multiple", "grid"}:
            yield from _options(name, a.question_options(s.item), b.question_options(t.item), main_a, main_b)
        if isinstance(s.item, m.Question) and isinstance(t.item, m.Question):
            yield from _range(name, s.item.range, t.item.range)
        yield from _routing(name, a, b, s.guard, t.guard, limit, renamed)


def _identity(low: Lowered, s: Slot) -> Any:
    """What must agree for a question that changed its name to be the same question."""
    item = s.item
    options = tuple((o.code, o.label.text, o.missing) for o in low.question_options(item))
    rng = json.dumps(_dump(item.range), sort_keys=True) if isinstance(item, m.Question) else None
    return (_kind(s), _label(item), options, rng)


def _renames(a: Lowered, b: Lowered, old: dict[str, Slot], new: dict[str, Slot]) -> dict[str, str]:
    """Old name -> new name of each question gone from ``old`` whose twin (same kind, text,
    codes and range; one on each side) is new in ``new``: renamed, not removed and added."""
    gone: dict[Any, list[str]] = {}
    for name, s in old.items():
        if name not in new and isinstance(s.item, m.Question):
            gone.setdefault(_identity(a, s), []).append(name)
    came: dict[Any, list[str]] = {}
    for name, t in new.items():
        if name not in old and isinstance(t.item, m.Question):
            came.setdefault(_identity(b, t), []).append(name)
    return {
        names[0]: came[key][0]
        for key, names in gone.items()
        if len(names) == 1 and len(came.get(key, ())) == 1 and key[1] is not None
    }


def _label(item: m.Question | m.Grid) -> str | None:
    return item.label.text if item.label is not None else None


def _moves(old: list[str], new: list[str]) -> Iterator[Change]:
    common = set(old) & set(new)
    a = [n for n in old if n in common]
    b = [n for n in new if n in common]
    kept: set[str] = set()
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        kept.update(a[block.a : block.a + block.size])
    for i, name in enumerate(b):
        if name in kept:
            continue
        before_old = a[a.index(name) - 1] if a.index(name) > 0 else None
        before_new = b[i - 1] if i > 0 else None
        where = f"after {before_new}" if before_new else "first"
        was = f"after {before_old}" if before_old else "first"
        yield Change("question-moved", name, False, f"question {name} moved: now {where} (was {was})", was, where)


def _grid_items(s: m.Grid, t: m.Grid, main_a: str, main_b: str) -> Iterator[Change]:
    old = {gi.name: gi for gi in s.items}
    new = {gi.name: gi for gi in t.items}
    for name, gi in old.items():
        if name not in new:
            yield Change("question-removed", s.name + name, True,
                         f"grid item {s.name + name} removed from {s.name}", gi.label.text, None)
    for name, gi in new.items():
        if name not in old:
            yield Change("question-added", t.name + name, False,
                         f"grid item {t.name + name} added to {t.name}", None, gi.label.text)
        else:
            yield from _wording(t.name + name, "grid item", old[name].label, gi.label, main_a, main_b)


def _options(name: str, old: tuple[m.Option, ...], new: tuple[m.Option, ...],
             main_a: str, main_b: str) -> Iterator[Change]:
    a = {o.code: o for o in old}
    b = {o.code: o for o in new}
    for code, o in a.items():
        if code not in b:
            yield Change("option-removed", f"{name}={code}", True,
                         f"{name}: code {code} \u201c{o.label.text}\u201d removed", o.label.text, None)
    for code, o in b.items():
        if code not in a:
            yield Change("option-added", f"{name}={code}", True,
                         f"{name}: code {code} \u201c{o.label.text}\u201d added", None, o.label.text)
            continue
        p = a[code]
        target = f"{name}={code}"
        if p.label.text != o.label.text:
            if _similarity(p.label.text, o.label.text) >= SAME_MEANING:
                yield Change("option-relabelled", target, False,
                             f"{name}: code {code} relabelled: {word_diff(p.label.text, o.label.text)}",
                             p.label.text, o.label.text)
            else:
                yield Change("code-meaning-changed", target, True,
                             f"{name}: code {code} meant \u201c{p.label.text}\u201d, now \u201c{o.label.text}\u201d",
                             p.label.text, o.label.text)
        for change in _wording(target, "option", p.label, o.label, main_a, main_b):
            if change.old != p.label.text or change.new != o.label.text:  # the other languages
                yield Change("option-relabelled", target, False, change.message, change.old, change.new)
        if p.missing != o.missing:
            was = f"missing {p.missing}" if p.missing else "a substantive answer"
            now = f"missing {o.missing}" if o.missing else "a substantive answer"
            yield Change("missing-changed", target, True, f"{name}: code {code} was {was}, now {now}",
                         p.missing, o.missing)


def _range(name: str, old: m.NumRange | None, new: m.NumRange | None) -> Iterator[Change]:
    if _dump(old) == _dump(new):
        return
    lo_a, hi_a = (old.low, old.high) if old else (None, None)
    lo_b, hi_b = (new.low, new.high) if new else (None, None)
    narrowed = (lo_b is not None and (lo_a is None or lo_b > lo_a)) or (
        hi_b is not None and (hi_a is None or hi_b < hi_a)
    )

    def show(lo: Any, hi: Any) -> str:
        return "none" if lo is None and hi is None else f"{number_text(lo)}..{number_text(hi)}"

    how = "narrowed" if narrowed else "widened"
    yield Change("range-changed", name, narrowed,
                 f"{name}: range {how} from {show(lo_a, hi_a)} to {show(lo_b, hi_b)}",
                 show(lo_a, hi_a), show(lo_b, hi_b))


# ---------------------------------------------------------------- routing, by meaning


def _show_guard(g: m.Expr | None) -> str:
    return "always" if g is None else format_expr(g)


def _signature(v: Variable | None) -> Any:
    if v is None:
        return None
    return (v.type, v.codes, v.missing, v.min, v.max, v.value_kind)


@dataclass
class GuardComparison:
    """The outcome of comparing two guards: ``same``, ``differs`` or ``undecided``."""

    verdict: str
    names: tuple[str, ...] = ()
    #: assignments (one value per name, ``None``: no answer) where only the old / new guard holds
    only_old: list[tuple[Any, ...]] = field(default_factory=list)
    only_new: list[tuple[Any, ...]] = field(default_factory=list)
    reason: str = ""


def compare_guards(a: Lowered, b: Lowered, old: m.Expr | None, new: m.Expr | None,
                   limit: int = MAX_ASSIGNMENTS, renamed: dict[str, str] | None = None) -> GuardComparison:
    """Compare two guards by meaning over the finite domains of the variables they read.

    ``renamed``: old name -> new name of renamed questions; ``old`` reads them by
    their old names, and each is one variable (its new name) in the comparison.
    """
    now = renamed or {}
    was = {y: x for x, y in now.items()}
    old_refs = {now.get(n, n) for n in expr_refs(old)} if old is not None else set()
    new_refs = set(expr_refs(new)) if new is not None else set()
    names = tuple(sorted(old_refs | new_refs))
    if not (old_refs & set(now)) and _show_guard(old) == _show_guard(new) and all(
        _signature(a.variables.get(n)) == _signature(b.variables.get(n)) for n in names
    ):
        return GuardComparison("same", names)
    literals: dict[str, set[Any]] = {}
    complex_: set[str] = set()
    for expr, rename in ((old, now), (new, {})):
        if expr is None:
            continue
        lits, cx = collect_literals([expr])
        for n, found in lits.items():
            literals.setdefault(rename.get(n, n), set()).update(found)
        complex_.update(rename.get(n, n) for n in cx)
    asked_a, asked_b = _asked(a), _asked(b)
    domains: list[list[Any]] = []
    size = 1
    for n in names:
        values: list[Any] = []
        for low, asked, own in ((a, asked_a, was.get(n, n)), (b, asked_b, n)):
            var = low.variables.get(own)
            if var is None:
                continue
            dom = value_domain(low, var, literals.get(n, ()), n in complex_)
            if not dom.exact:
                return GuardComparison("undecided", names, reason=f"the values of {n} are too many to try")
            values.extend(v for v in dom.values if v not in values)
            unasked = asked.get(own, True) or var.role not in ("question", "item", "screener")
            if unasked and None not in values:
                values.append(None)
        if not values:
            values = [None]
        domains.append(values)
        size *= len(values)
        if size > limit:
            return GuardComparison("undecided", names, reason=f"more than {limit:,} combinations of values")
    ev_a = Evaluator(a.variables, a.recodes, a.spec.derives)
    ev_b = Evaluator(b.variables, b.recodes, b.spec.derives)
    out = GuardComparison("same", names)
    try:
        for combo in itertools.product(*domains):
            record = {n: v for n, v in zip(names, combo) if v is not None}
            x = ev_a.truth(old, {was.get(n, n): v for n, v in record.items()})
            y = ev_b.truth(new, record)
            if x and not y:
                out.only_old.append(combo)
            elif y and not x:
                out.only_new.append(combo)
    except (ValueError, TypeError, KeyError) as exc:
        return GuardComparison("undecided", names, reason=f"a condition cannot be evaluated: {exc}")
    if out.only_old or out.only_new:
        out.verdict = "differs"
    return out


def _asked(low: Lowered) -> dict[str, bool]:
    """For each asked variable: may it hold no answer (is its guard conditional)?"""
    out: dict[str, bool] = {}
    for s in slots(low):
        for n in s.names:
            out[n] = s.guard is not None
    return out


def _value(v: Any) -> str:
    if v is None:
        return "no answer"
    if isinstance(v, frozenset):
        return "{" + ", ".join(number_text(x) for x in sorted(v)) + "}"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return number_text(v)


def describe(names: tuple[str, ...], combos: list[tuple[Any, ...]], most: int = 3) -> str:
    """Assignments as words: ``q5 = 8 or 9``, or ``q5 = 8, q3 = 2; ... (and 4 more)``."""
    if len(names) == 1:
        values = [_value(c[0]) for c in combos]
        if len(values) > 6:
            values = values[:6] + [f"{len(combos) - 6} more"]
        return f"{names[0]} = " + " or ".join(values)
    parts = [", ".join(f"{n} = {_value(v)}" for n, v in zip(names, c)) for c in combos[:most]]
    more = f" (and {len(combos) - most} more)" if len(combos) > most else ""
    return "; ".join(parts) + more


def _routing(name: str, a: Lowered, b: Lowered, old: m.Expr | None, new: m.Expr | None,
             limit: int, renamed: dict[str, str]) -> Iterator[Change]:
    result = compare_guards(a, b, old, new, limit, renamed)
    was, now = _show_guard(old), _show_guard(new)
    if result.verdict == "undecided":
        yield Change("routing-undecided", name, True,
                     f"{name}: when it is asked changed from `{was}` to `{now}`; whether its population "
                     f"changed could not be decided ({result.reason})", was, now)
        return
    if result.verdict == "same":
        return
    parts = []
    if result.only_new:
        parts.append(f"is now also asked when {describe(result.names, result.only_new)}")
    if result.only_old:
        parts.append(f"is no longer asked when {describe(result.names, result.only_old)}")
    yield Change("routing-changed", name, True, f"{name} " + ", and ".join(parts), was, now)


# ---------------------------------------------------------------- recodes


def _source_values(a: Lowered, p: m.Recode, b: Lowered, r: m.Recode) -> list[Any]:
    """The values the two recodes' source can take where they may map differently.

    Coded sources: every code of either version. Numeric sources (an integer with
    labelled missing codes is still numeric): the missing codes, each rule bound and
    its neighbours (midpoints for decimals), and every whole number of a small range.
    """
    if r.source_is_scale:
        codes: set[Any] = set()
        for low, rec in ((a, p), (b, r)):
            scale = low.scales.get(rec.source)
            if scale is not None:
                codes.update(o.code for o in scale.options)
        return sorted(codes)
    variables = [v for v in (a.variables.get(p.source), b.variables.get(r.source)) if v is not None]
    if not variables:
        return []
    if all(v.value_kind == "code" and v.values for v in variables):
        return sorted({c for v in variables for c in v.codes})
    missing: set[Any] = {c for v in variables for c in v.missing_codes}
    bounds = sorted({x for rec in (p, r) for rule in rec.rules for v in rule.values
                     for x in (v.low, v.high) if x is not None and not isinstance(x, bool)})
    whole = all(v.type == "integer" for v in variables) and all(isinstance(x, int) for x in bounds)
    points: set[Any] = set(bounds)
    if whole:
        points.update(x + d for x in bounds for d in (-1, 1))
    elif bounds:
        points.update((x + y) / 2 for x, y in itertools.pairwise(bounds))
        points.update((bounds[0] - 1, bounds[-1] + 1))
    lows = [v.min for v in variables]
    highs = [v.max for v in variables]
    lo = None if any(x is None for x in lows) else min(x for x in lows if x is not None)
    hi = None if any(x is None for x in highs) else max(x for x in highs if x is not None)
    points.update(x for x in (lo, hi) if x is not None)
    if whole and lo is not None and hi is not None and hi - lo <= 1000:
        points.update(range(int(lo), int(hi) + 1))
    inside = {x for x in points if (lo is None or x >= lo) and (hi is None or x <= hi)}
    return sorted(inside | missing)


def _recodes(a: Lowered, b: Lowered, renamed: dict[str, str]) -> Iterator[Change]:
    """Recodes matched by name; a recode of a renamed question reads the same source."""
    old, new = a.recodes, b.recodes
    for name in old:
        if name not in new:
            yield Change("recode-removed", name, True, f"recode {name} removed", old[name].source, None)
    for name, r in new.items():
        p = old.get(name)
        if p is None:
            yield Change("recode-added", name, False, f"recode {name} added", None, r.source)
            continue
        if (renamed.get(p.source, p.source), p.source_is_scale) != (r.source, r.source_is_scale):
            kind = "scale " if r.source_is_scale else ""
            was = ("scale " if p.source_is_scale else "") + p.source
            yield Change("recode-changed", name, True,
                         f"recode {name} now reads {kind}{r.source} (was {was})", was, kind + r.source)
            continue
        missing_a = _missing_of(a, p)
        missing_b = _missing_of(b, r)
        ta, tb = recode_table(p, missing_a), recode_table(r, missing_b)
        moved = []
        for v in _source_values(a, p, b, r):
            x, y = ta.lookup(v), tb.lookup(v)
            if x != y:
                moved.append((v, x, y))
        if moved:
            runs = _runs(moved)
            shown = ", ".join(f"{span} -> {_code(y)} (was {_code(x)})" for span, x, y in runs[:6])
            more = f" and {len(runs) - 6} more" if len(runs) > 6 else ""
            yield Change("recode-changed", name, True, f"recode {name} now maps {shown}{more}",
                         {number_text(v): x for v, x, _ in moved}, {number_text(v): y for v, _, y in moved})
        la = dict(recode_variable(p, name, p.source, p).values)
        lb = dict(recode_variable(r, name, r.source, r).values)
        for code in sorted(set(la) & set(lb)):
            if la[code].text != lb[code].text:
                kind_breaking = _similarity(la[code].text, lb[code].text) < SAME_MEANING and not moved
                yield Change("recode-changed", f"{name}={code}", kind_breaking,
                             f"recode {name}: code {code} relabelled: {word_diff(la[code].text, lb[code].text)}",
                             la[code].text, lb[code].text)
        ma = {c: k for c, k in recode_variable(p, name, p.source, p).missing}
        mb = {c: k for c, k in recode_variable(r, name, r.source, r).missing}
        if ma != mb:
            yield Change("recode-changed", name, True, f"recode {name}: its missing codes changed",
                         {str(c): k for c, k in ma.items()}, {str(c): k for c, k in mb.items()})


def _runs(moved: list[tuple[Any, int | None, int | None]]) -> list[tuple[str, int | None, int | None]]:
    """Consecutive whole values that moved alike, as one span: ``31..35 -> 1 (was 2)``."""
    out: list[tuple[Any, Any, int | None, int | None]] = []
    for v, x, y in moved:
        if out and isinstance(v, int) and isinstance(out[-1][1], int) and out[-1][1] + 1 == v \
                and out[-1][2:] == (x, y):
            out[-1] = (out[-1][0], v, x, y)
        else:
            out.append((v, v, x, y))
    return [(number_text(a) if a == b else f"{number_text(a)}..{number_text(b)}", x, y) for a, b, x, y in out]


def _missing_of(low: Lowered, r: m.Recode) -> frozenset[int | float]:
    if r.source_is_scale:
        scale = low.scales.get(r.source)
        return frozenset(o.code for o in scale.options if o.missing) if scale is not None else frozenset()
    var = low.variables.get(r.source)
    return frozenset(var.missing_codes) if var is not None else frozenset()


def _code(x: int | None) -> str:
    return "nothing" if x is None else str(x)


# ---------------------------------------------------------------- derived, checks, analyses


def _by_name(nodes: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in nodes:
        out.setdefault(n.name, n)
    return out


def _derives(a: m.Spec, b: m.Spec) -> Iterator[Change]:
    old, new = _by_name(a.derives), _by_name(b.derives)
    for name, d in old.items():
        if name not in new:
            yield Change("derive-removed", name, True, f"derived {name} removed", format_expr(d.expr), None)
    for name, d in new.items():
        p = old.get(name)
        if p is None:
            yield Change("derive-added", name, False, f"derived {name} added", None, format_expr(d.expr))
            continue
        x, y = format_expr(p.expr), format_expr(d.expr)
        if x != y:
            yield Change("derive-changed", name, True, f"derived {name} is now `{y}` (was `{x}`)", x, y)
        elif _dump(p.label) != _dump(d.label):
            yield Change("derive-changed", name, False, f"derived {name} relabelled", _text(p.label), _text(d.label))


def _dump(node: m.Node | None) -> Any:
    """A node as data, its spans left out (nodes compare their spans too)."""
    return None if node is None else node.model_dump(mode="json")


def _text(t: m.Text | None) -> str | None:
    return t.text if t is not None else None


def _rule(e: m.Expectation | m.Warning_) -> str:
    if isinstance(e, m.Warning_):
        return f"warn if {format_expr(e.condition)}"
    r = e.rule
    right = format_expr(r.right) if r.right is not None else ""
    return {
        "holds": format_expr(r.left),
        "if": f"if {format_expr(r.left)} then {right}",
        "only_when": f"{format_expr(r.left)} only when {right}",
        "exactly_when": f"{format_expr(r.left)} exactly when {right}",
    }[r.kind]


def _checks(a: m.Spec, b: m.Spec) -> Iterator[Change]:
    old = _by_name((*a.expectations, *a.warnings))
    new = _by_name((*b.expectations, *b.warnings))
    for name, c in old.items():
        if name not in new:
            yield Change("check-removed", name, False, f"check {name} removed", _rule(c), None)
    for name, c in new.items():
        p = old.get(name)
        if p is None:
            yield Change("check-added", name, False, f"check {name} added", None, _rule(c))
        elif _rule(p) != _rule(c):
            yield Change("check-changed", name, False, f"check {name} is now `{_rule(c)}` (was `{_rule(p)}`)",
                         _rule(p), _rule(c))
        elif _dump(p.label) != _dump(c.label):
            yield Change("check-changed", name, False, f"check {name} relabelled", p.label.text, c.label.text)


def _statements(a: m.Analysis) -> list[str]:
    out = []
    for s in a.statements:
        if isinstance(s, m.Frequencies):
            out.append("frequencies " + ", ".join(t.display for t in s.terms))
        elif isinstance(s, m.Summary):
            out.append("summary " + ", ".join(t.display for t in s.terms))
        elif isinstance(s, m.Crosstab):
            out.append(f"crosstab {s.row.display} by {s.column.display}" + (f" test {s.test}" if s.test else ""))
        elif isinstance(s, m.Rates):
            out.append("rate " + ", ".join(s.names))
        else:
            out.append("note " + json.dumps(s.text.text, ensure_ascii=False))
        if isinstance(s, (m.Frequencies, m.Summary, m.Crosstab)) and s.chart is not None:
            out[-1] += f" chart {s.chart.kind}"
    return out


def _analyses(a: m.Spec, b: m.Spec) -> Iterator[Change]:
    old, new = _by_name(a.analyses), _by_name(b.analyses)
    for name, x in old.items():
        if name not in new:
            yield Change("analysis-removed", name, False, f"analysis {name} removed", _statements(x), None)
    for name, y in new.items():
        x = old.get(name)
        if x is None:
            yield Change("analysis-added", name, False, f"analysis {name} added", None, _statements(y))
            continue
        sx, sy = _statements(x), _statements(y)
        if sx != sy:
            gone = [s for s in sx if s not in sy]
            came = [s for s in sy if s not in sx]
            what = "; ".join([f"- {s}" for s in gone] + [f"+ {s}" for s in came]) or "statements reordered"
            yield Change("analysis-changed", name, False, f"analysis {name} changed: {what}", sx, sy)
        elif _dump(x.label) != _dump(y.label):
            yield Change("analysis-changed", name, False,
                         f"analysis {name}: title changed: {word_diff(x.label.text, y.label.text)}",
                         x.label.text, y.label.text)


# ---------------------------------------------------------------- rendering


def _title(v: Version) -> str:
    return v.survey + (f" (version {v.version})" if v.version else "")


def render_text(d: Diff) -> str:
    lines = [f"{_title(d.old)} -> {_title(d.new)}"]
    for c in d.changes:
        lines.append(f"{'BREAKING' if c.breaking else 'ok      '}  {c.kind:<22} {c.message}")
    lines.append(_summary(d))
    return "\n".join(lines) + "\n"


def _summary(d: Diff) -> str:
    if not d.changes:
        return "no changes"
    n, k = len(d.changes), len(d.breaking)
    return f"{n} change{'s' if n != 1 else ''}, {k} breaking"


_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_SPECIAL = set("\\`*_[]|~")


def _md(text: str) -> str:
    """User text as literal Markdown: no HTML, no emphasis, links or code, one table cell."""
    out = []
    for ch in " ".join(text.splitlines()):
        out.append(_MD_ENTITIES.get(ch) or ("\\" + ch if ch in _MD_SPECIAL else ch))
    return "".join(out)


def _md_code(name: str) -> str:
    """A name as a code span (escapes do not work inside one), or as escaped text when it cannot be."""
    return f"`{name}`" if re.fullmatch(r"[\w.=-]+", name) else _md(name)


def render_markdown(d: Diff) -> str:
    cell = _md
    lines = [f"## {cell(_title(d.old))} \u2192 {cell(_title(d.new))}", ""]
    if d.changes:
        lines += ["| | Kind | Target | Change |", "|---|---|---|---|"]
        for c in d.changes:
            mark = "**breaking**" if c.breaking else ""
            lines.append(f"| {mark} | {c.kind} | {_md_code(c.target)} | {cell(c.message)} |")
        lines.append("")
    lines.append(_summary(d).capitalize() + ".")
    return "\n".join(lines) + "\n"


def render_json(d: Diff) -> str:
    return json.dumps(d.as_json(), ensure_ascii=False, indent=2) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
