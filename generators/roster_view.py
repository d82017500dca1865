"""A roster shown once, as a loop, by the targets that walk the interview
(the script, the routing picture): never one copy per iteration.

Lowering unrolls a roster into iterations (``c2_1`` ... ``c2_10``); these
targets show the first iteration of every enclosing roster under the names as
written (``c2``), read by ``kvpspec.semantics.rosters.first_iteration_names``.
A guard is that iteration's without the ``COUNT >= 1`` unrolling added, its
names read back to the roster's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from generators.common import for_language
from kvpspec import model as m
from kvpspec.semantics import rosters
from kvpspec.semantics.describe import Describer
from kvpspec.semantics.lower import Lowered
from kvpspec.semantics.routing import Slot
from kvpspec.semantics.variables import Variable

#: How a roster's loop reads, with ``{name}`` as the iteration's placeholder;
#: ``next`` and ``done`` label the routing picture's loop edges. Other languages
#: use their base language's, else ``nb``.
ROSTER_WORDS: dict[str, dict[str, str]] = {
    "nb": {"for": "For hver {name} ({first} til {count}{max})", "max": ", høyst {n}", "over": "For hver {name}: {options}",
           "next": "neste", "done": "ferdig"},
    "en": {"for": "For each {name} ({first} to {count}{max})", "max": ", at most {n}", "over": "For each {name}: {options}",
           "next": "next", "done": "done"},
}


def roster_words(lang: str) -> dict[str, str]:
    return for_language(ROSTER_WORDS, lang)


def loop_text(node: m.Roster, lang: str, describe: Describer) -> str:
    """"For hver {child} (1 til c1, høyst 10)" (a fixed list: "For hver {parent}: Mor, Far");
    ``{child}`` stays a fill, for the target to show as its placeholder."""
    rw = roster_words(lang)
    name = "{" + node.name + "}"
    if node.options:
        return rw["over"].format(name=name, options=", ".join(o.label.get(lang) for o in node.options))
    count = describe.number(node.count) if isinstance(node.count, str) else str(node.count)
    most = rw["max"].format(n=node.max) if node.max is not None and isinstance(node.count, str) else ""
    return rw["for"].format(name=name, first=1, count=count, max=most)


class RosterView:
    """The interview's rosters as written, beside the lowered (unrolled) routing."""

    def __init__(self, spec: m.Spec, low: Lowered) -> None:
        items = spec.interview.items if spec.interview else ()
        self.low = low
        #: name as written -> its column in the first iteration (``c2`` -> ``c2_1``)
        self.first = rosters.first_iteration_names(items)
        #: first-iteration column or question/grid -> name as written
        self.back = {column: name for name, column in self.first.items()}
        #: name as written -> the rosters around it, outermost first
        self.path: dict[str, tuple[m.Roster, ...]] = {}
        #: name as written -> the question or grid as written (fills unfilled)
        self.written: dict[str, m.Question | m.Grid] = {}
        self._visit(items, ())

    def _visit(self, items: tuple[m.Item, ...] | None, path: tuple[m.Roster, ...]) -> None:
        for item in items or ():
            if isinstance(item, m.Roster):
                self._visit(item.items, (*path, item))
            elif isinstance(item, (m.Section, m.Intro, m.Closing)):
                self._visit(item.items, path)
            elif isinstance(item, m.IfBlock):
                self._visit(item.then, path)
                self._visit(item.otherwise, path)
            elif path and isinstance(item, (m.Question, m.Grid)):
                self.path[item.name] = path
                self.written[item.name] = item

    def __bool__(self) -> bool:
        return bool(self.first)

    def variables(self) -> Mapping[str, Variable]:
        """The lowered variables, plus each name as written standing for its first
        iteration's column (so conditions on ``c3`` show ``c3``'s code labels)."""
        out = dict(self.low.variables)
        for name, column in self.first.items():
            if column in self.low.variables:
                out.setdefault(name, replace(self.low.variables[column], name=name))
        return out

    def name(self, slot: Slot) -> str | None:
        """The question's name as written when ``slot`` is the first iteration of a
        roster's question; None outside rosters."""
        return self.back.get(slot.item.name)

    def written_name(self, slot: Slot) -> str | None:
        """The name as written of any iteration's question or grid (``c2_3`` -> ``c2``,
        ``g1_2`` -> ``g1``); None outside rosters."""
        var = self.low.variables.get(slot.names[0]) if slot.names else None
        if var is None or var.roster is None:
            return None
        suffix = "".join(f"_{i}" for i in var.iteration)
        name = slot.item.name
        return name[: -len(suffix)] if name.endswith(suffix) and name[: -len(suffix)] in self.written else None

    def later_iteration(self, slot: Slot) -> bool:
        """Is ``slot`` an iteration after the first of some roster (not shown)?"""
        var = self.low.variables.get(slot.names[0]) if slot.names else None
        return var is not None and var.roster is not None and any(i != 1 for i in var.iteration)

    def terms(self, slot: Slot, origins: tuple[str, ...] | None = None) -> list[m.Expr]:
        """The terms of ``slot``'s guard (of the given origins) without the roster's
        ``COUNT >= i``, in the roster's names when the slot is in a roster."""
        out = [
            t for t, kind, block in slot.terms
            if (origins is None or kind in origins) and not (kind == "if" and id(block) in self.low.roster_guards)
        ]
        if self.name(slot) is None:
            return out
        return [rosters.rewrite(t, self.back, {}) for t in out]

    def guard(self, slot: Slot) -> m.Expr | None:
        """A roster question's guard as shown once (see :meth:`terms`)."""
        terms = self.terms(slot)
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else m.BoolOp.build(op="and", operands=tuple(terms))
