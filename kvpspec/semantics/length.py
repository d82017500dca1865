"""How long an interview takes: shortest, typical and longest, from the words read.

The model (written down in ``docs/language.md``, "Interview length"):

* the interviewer reads aloud at ``WORDS_PER_MINUTE`` (150) words a minute: a
  question's text, the options it reads out (``read``), a grid's text, its read
  options once and each item, and every ``say``; instructions, notes, headings,
  recorded questions and options not read out are not read; a fill counts as
  one word;
* every answer (a question, a grid item, a specify text) takes
  ``SECONDS_PER_ANSWER`` (5) seconds more;
* a ``say`` is read when the next question is asked; a ``say`` after the last
  question when the interview runs to its end.

Routes follow ``kvpspec.semantics.routing``: the steps in interview order, each
asked when its guard holds, an ``end`` stopping the interview. One forward pass
follows every route at once, merging partial interviews that agree on every
variable later guards read (as ``routing.enumerate_routes`` does), each keeping
the shortest and longest time so far and its share of the interviews. At a step
routing reads, every kind of answer (each code, each range between the literals
conditions test) is taken as equally likely; *typical* is the mean over the
interviews that run to their end under that assumption. *Shortest* and
*typical* are over interviews that run to their end; *longest* over every route.

Each iteration of a ``for 1..COUNT`` roster (its ``COUNT >= i`` block) is one
unit of the pass: followed once for each start that matters to it (the earlier
answers its guards read besides ``COUNT``), its results (times, shares, and the
answers later guards read) joined to every partial interview whose count
enters it. The iterations so add their times instead of multiplying the
partial interviews: the longest route takes ``COUNT`` at its highest, the
shortest at its lowest, *typical* the mean over counts equally likely; nested
rosters compose the same way.

When the partial interviews outnumber ``max_states`` (256; 1,024 after a
roster iteration's join, which reads no answers) the pass keeps the longest
ones, and once it has examined ``budget`` (5,000) partial interviews it
follows only the longest, so that the estimate costs little on any spec; then
the figures are no longer exact: ``exact`` is false and ``longest`` is a lower
bound (the longest route found), which is what a warning may rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kvpspec import model as m
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.lower import Lowered, MemoKey, expr_refs
from kvpspec.semantics.routing import Step, domain_of, ended_by, slots, steps

WORDS_PER_MINUTE = 150
SECONDS_PER_ANSWER = 5.0
MAX_STATES = 256
#: a roster iteration joins partial interviews without reading their answers: it may keep this many times more
JOIN_FACTOR = 4
#: partial interviews examined before the pass follows only the longest one
BUDGET = 5_000


@dataclass(frozen=True)
class Length:
    """The estimate, in seconds."""

    shortest: float
    typical: float
    longest: float
    #: every route was followed (else ``longest`` is a lower bound)
    exact: bool

    def minutes(self) -> tuple[float, float, float]:
        return self.shortest / 60, self.typical / 60, self.longest / 60


def word_count(text: str) -> int:
    """Words an interviewer reads in a text; a fill (``{navn}``) is one word, a lone
punctuation mark (``–``, ``?``) none."""
    return sum(
        sum(1 for w in v.split() if any(c.isalnum() for c in w)) if k == "text" else 1
        for k, v in m.split_fills(text)
    )


def _read_seconds(words: int) -> float:
    return words * 60.0 / WORDS_PER_MINUTE


def step_seconds(low: Lowered) -> dict[str, float]:
    """Seconds each step takes when asked: its reading, the says before it, its answer."""
    out: dict[str, float] = {}
    spec = low.spec
    says = _says_before(spec.interview.items if spec.interview else ())
    for slot in slots(low):
        item = slot.item
        words = says.get(id(item), 0)
        read = low.read_codes(item)
        options = [o for o in low.question_options(item) if o.code in read]
        if isinstance(item, m.Grid):
            if item.label is not None:
                words += word_count(item.label.text)
            words += sum(word_count(o.label.text) for o in options)
            for k, gi in enumerate(item.items):
                extra = words if k == 0 else 0
                out[item.name + gi.name] = _read_seconds(extra + word_count(gi.label.text)) + SECONDS_PER_ANSWER
            continue
        if not item.recorded:
            words += word_count(item.label.text) + sum(word_count(o.label.text) for o in options)
        out[item.name] = _read_seconds(words) + SECONDS_PER_ANSWER
        for o in item.options:
            if o.specify:
                out[o.specify.name] = SECONDS_PER_ANSWER
    return out


def _says_before(items: tuple[m.Item, ...]) -> dict[int, int]:
    """Words of the says read before each question or grid (by ``id``); key 0: after the last."""
    out: dict[int, int] = {}
    pending = 0
    for item in m.walk_items(items, rosters=False):
        if isinstance(item, m.Say):
            pending += word_count(item.text.text)
        elif isinstance(item, (m.Question, m.Grid)):
            out[id(item)] = pending
            pending = 0
    out[0] = pending
    return out


def estimate(low: Lowered, max_states: int = MAX_STATES, budget: int = BUDGET) -> Length:
    """The shortest, typical and longest interview (computed once per spec)."""
    default = (max_states, budget) == (MAX_STATES, BUDGET)
    if default:
        cached = low.memo.find(_LENGTH)
        if cached is not None:
            return cached
    result = _estimate(low, max_states, budget)
    if default:
        low.memo.store(_LENGTH, result)
    return result


_LENGTH: MemoKey[Length] = MemoKey("length")


@dataclass
class _State:
    rec: dict[str, Any]  # the answers later guards read (shared until it changes)
    key: frozenset
    low: float
    high: float
    weight: float
    mean: float  # the mean time of the interviews it merges, by weight


@dataclass
class _Result:
    """One way through a roster iteration from a given start: the answers it leaves
    that later guards read, its times and its share of the interviews that enter."""

    rec: dict[str, Any]
    low: float
    high: float
    weight: float
    mean: float


def _estimate(low: Lowered, max_states: int, budget: int) -> Length:
    spec = low.spec
    after = _read_seconds(_says_before(spec.interview.items if spec.interview else ())[0])
    p = _Pass(low, max_states, budget)
    states: list[_State] = [_State({}, frozenset(), 0.0, 0.0, 1.0, 0.0)]
    # sample fields are given, not asked: each value they can hold, equally likely
    for name in sorted(n for n in p.read if low.variables.get(n) is not None and low.variables[n].role == "sample"):
        values = domain_of(low, name).values + (None,)
        states = [
            _State(rec, frozenset(rec.items()), 0.0, 0.0, s.weight / len(values), 0.0)
            for s in states
            for rec in (dict(s.rec, **{name: v}) for v in values)
        ]
    states, longest_ended = p.run(0, len(p.steps), 0, states)
    if not states:
        return Length(0.0, 0.0, longest_ended, p.exact)
    weight = sum(s.weight for s in states)
    typical = sum(s.mean * s.weight for s in states) / weight if weight else 0.0
    shortest = min(s.low for s in states) + after
    longest = max(max(s.high for s in states) + after, longest_ended)
    return Length(shortest, typical + after, longest, p.exact)


class _Pass:
    """The forward pass over the steps, with each iteration of a ``for 1..COUNT``
    roster taken as one block: followed once for each start that matters to it
    (the answers before it that its guards read), and joined to every partial
    interview that enters it, so the iterations add their times instead of
    multiplying the partial interviews."""

    def __init__(self, low: Lowered, max_states: int, budget: int) -> None:
        self.low = low
        self.steps = steps(low)
        self.seconds = step_seconds(low)
        self.ev = Evaluator(low.variables)
        refs = [set(expr_refs(s.guard)) if s.guard is not None else set() for s in self.steps]
        self.read: set[str] = set().union(*refs) if refs else set()
        #: the last step whose guard reads a variable
        self.last: dict[str, int] = {}
        for i, names in enumerate(refs):
            for n in names:
                self.last[n] = i
        self.dropped: list[set[str]] = [set() for _ in self.steps]
        for n, i in self.last.items():
            self.dropped[i].add(n)
        #: for each step, the roster iterations (their ``COUNT >= i`` blocks) it stands in, outermost first
        self.chains: list[tuple[m.IfBlock, ...]] = [
            tuple(
                node for _, kind, node in s.slot.terms
                if kind == "if" and isinstance(node, m.IfBlock) and id(node) in low.roster_guards
            )
            for s in self.steps
        ]
        self.max_states = max_states
        self.budget = budget
        self.exact = True
        self.work = 0
        self.domains: dict[str, tuple[Any, ...]] = {}
        self.memo: dict[tuple[int, tuple[Any, ...]], tuple[list[_Result], float]] = {}

    def run(self, lo: int, hi: int, depth: int, states: list[_State]) -> tuple[list[_State], float]:
        """Steps ``lo`` to ``hi`` from ``states``: the states after, and the longest ended interview."""
        longest_ended = 0.0
        i = lo
        while i < hi:
            chain = self.chains[i]
            before = states
            if len(chain) > depth:
                block = chain[depth]
                j = i + 1
                while j < hi and len(self.chains[j]) > depth and self.chains[j][depth] is block:
                    j += 1
                states, ended = self.block(block, i, j, depth, states)
            else:
                states, ended = self.step(i, states, depth)
                j = i + 1
            longest_ended = max(longest_ended, ended)
            if depth == 0 and states and states is not before:
                total = sum(s.weight for s in states)
                for s in states:  # shares of the interviews still going, so they do not underflow
                    s.weight = s.weight / total if total > 0 else 1.0 / len(states)
            i = j
        return states, longest_ended

    def step(self, i: int, states: list[_State], depth: int) -> tuple[list[_State], float]:
        step = self.steps[i]
        ev = self.ev
        cost = self.seconds.get(step.name, SECONDS_PER_ANSWER)
        kept = self.last.get(step.name, -1) > i  # a later guard reads this step
        longest_ended = 0.0
        if step.guard is None and not step.ends and not kept:
            for s in states:  # asked on every route, read by no later guard
                s.low += cost
                s.high += cost
                s.mean += cost
            return states, longest_ended
        drop = self.dropped[i]
        if self.max_states == 1 and len(states) == 1:
            choices = self.choices(step)
            if len(choices) > 1 and (kept or step.ends):
                self.exact = False  # the other answers' routes are not followed
            return states, _single(states[0], step, ev, choices, cost, kept, drop, 0.0)
        new: dict[frozenset, _State] = {}
        self.work += len(states)
        for s in states:
            asked = step.guard is None or ev.truth(step.guard, s.rec)
            choices = self.choices(step) if asked else (None,)
            share = s.weight / len(choices)
            add = cost if asked else 0.0
            base = s.rec
            if drop and not drop.isdisjoint(base):
                base = {k: v for k, v in base.items() if k not in drop}
            for value in choices:
                if asked and ended_by(step, value) is not None:
                    longest_ended = max(longest_ended, s.high + add)
                    continue
                rec = base
                if kept:
                    rec = dict(base)
                    rec[step.name] = value
                key = s.key if rec is s.rec else frozenset(rec.items())
                _merge(new, key, rec, s.low + add, s.high + add, share, s.mean + add)
        return self.bound(list(new.values())), longest_ended

    def block(
        self, block: m.IfBlock, i: int, j: int, depth: int, states: list[_State]
    ) -> tuple[list[_State], float]:
        """Steps ``i`` to ``j``: one roster iteration, asked when its ``COUNT >= i`` holds."""
        inside = {st.name for st in self.steps[i:j]}
        outer: set[str] = set()  # what the iteration's guards read from before it, its own COUNT >= i aside
        for st in self.steps[i:j]:
            for term, _, node in st.slot.terms:
                if node is not block:
                    outer.update(expr_refs(term))
        from_before = tuple(sorted(outer - inside))
        gone = set().union(*self.dropped[i:j])  # read for the last time in the iteration
        passed = {n for n in inside if self.last.get(n, -1) >= j}  # read after it
        reads = tuple(sorted(expr_refs(block.condition)))
        holds: dict[tuple[Any, ...], bool] = {}
        new: dict[frozenset, _State] = {}
        longest_ended = 0.0
        for s in states:
            base = s.rec
            if gone and not gone.isdisjoint(base):
                base = {k: v for k, v in base.items() if k not in gone}
            count = tuple(s.rec.get(n) for n in reads)
            entered = holds.get(count)
            if entered is None:
                self.work += 1
                entered = holds[count] = self.ev.truth(block.condition, s.rec)
            if not entered:
                if passed:  # the iteration is not asked: its answers have no value
                    base = dict(base)
                    base.update(dict.fromkeys(passed))
                key = s.key if base is s.rec else frozenset(base.items())
                _merge(new, key, base, s.low, s.high, s.weight, s.mean)
                continue
            start = tuple(s.rec.get(n) for n in from_before)
            found = self.memo.get((id(block), start))
            if found is None:
                found = self.memo[(id(block), start)] = self.iteration(block, i, j, depth, s.rec, inside)
            results, ended = found
            if ended > 0:
                longest_ended = max(longest_ended, s.high + ended)
            for r in results:
                rec = base
                if r.rec:
                    rec = dict(base)
                    rec.update(r.rec)
                key = s.key if rec is s.rec else frozenset(rec.items())
                _merge(new, key, rec, s.low + r.low, s.high + r.high, s.weight * r.weight, s.mean + r.mean)
        return self.bound(list(new.values()), JOIN_FACTOR), longest_ended

    def iteration(
        self, block: m.IfBlock, i: int, j: int, depth: int, rec: dict[str, Any], inside: set[str]
    ) -> tuple[list[_Result], float]:
        """One iteration followed from one partial interview that enters it (its
        record: only what the iteration's guards read counts, the rest is dropped
        from the results)."""
        start = _State(dict(rec), frozenset(rec.items()), 0.0, 0.0, 1.0, 0.0)
        states, ended = self.run(i, j, depth + 1, [start])
        out = [
            _Result({k: v for k, v in s.rec.items() if k in inside}, s.low, s.high, s.weight, s.mean)
            for s in states
        ]
        return out, ended

    def bound(self, states: list[_State], factor: int = 1) -> list[_State]:
        """At most ``max_states`` (times ``factor``) partial interviews, the longest; past the budget, one."""
        if self.work > self.budget:
            self.max_states = 1  # out of budget: follow the longest partial interview only
        limit = self.max_states * factor if self.max_states > 1 else 1
        if len(states) > limit:
            self.exact = False
            states = sorted(states, key=lambda st: -st.high)[:limit]
            if self.max_states == 1:
                states[0].rec = dict(states[0].rec)  # its own from now on
        return states

    def choices(self, step: Step) -> tuple[Any, ...]:
        """The answers that matter at an asked step: every kind when routing reads it
        or it can end the interview, else one."""
        values = self.domains.get(step.name)
        if values is None:
            values = self.domains[step.name] = domain_of(self.low, step.name).values
        if step.name in self.read or step.ends:
            return values or ("x",)
        return values[:1] or ("x",)


def _merge(
    new: dict[frozenset, _State], key: frozenset, rec: dict[str, Any], low: float, high: float, weight: float,
    mean: float,
) -> None:
    """Add interviews to the partial interview of their key (the times' range widens, the mean by weight)."""
    old = new.get(key)
    if old is None:
        new[key] = _State(rec, key, low, high, weight, mean)
        return
    old.low = min(old.low, low)
    old.high = max(old.high, high)
    both = old.weight + weight
    if both > 0:
        old.mean = (old.mean * old.weight + mean * weight) / both
    old.weight = both


def _single(
    s: _State, step: Step, ev: Evaluator, choices: tuple[Any, ...], cost: float, kept: bool, drop: set[str],
    longest_ended: float,
) -> float:
    """One step of one partial interview, out of budget: it takes the first answer
    that does not end the interview (its record is its own, changed in place)."""
    for k in drop:
        s.rec.pop(k, None)
    if step.guard is not None and not ev.truth(step.guard, s.rec):
        if kept:
            s.rec[step.name] = None
        return longest_ended
    s.low += cost
    s.high += cost
    s.mean += cost
    going = [v for v in choices if ended_by(step, v) is None]
    if len(going) < len(choices):
        longest_ended = max(longest_ended, s.high)
    if kept:
        s.rec[step.name] = going[0] if going else None
    return longest_ended


__all__ = ["SECONDS_PER_ANSWER", "WORDS_PER_MINUTE", "Length", "estimate", "step_seconds", "word_count"]
