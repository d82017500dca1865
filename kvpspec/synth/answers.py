"""One description of each variable's answers, read by every generator of synthetic data.

The Hypothesis strategies (``strategies.py``) and the numpy simulator
(``simulate.py``) draw different distributions (Hypothesis shrinks towards the
first option; the simulator aims at plausible pilot data), but what an answer
may be comes from here: the codes and missing codes in option order, the
codes a multiple-choice answer holds alone (``Variable.exclusive`` and the
missing codes), the declared range, the values the routing conditions test,
and for sample fields where their value comes from (a parent option, a formula,
synthetic personal data). ``valid`` says whether a value is a possible answer;
``simplest`` gives the one shrinking moves to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kvpspec import model as m
from kvpspec.semantics.lower import Lowered, MemoKey, Variable
from kvpspec.semantics.routing import domain_of

#: Synthetic names for personal sample fields (never real data).
FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Lars", "Aisha", "Mohammed", "Nora", "Jonas", "Fatima", "Emil")
SURNAMES = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Ali", "Berg", "Haugen")

#: How an answer is drawn: a set of codes, a text, a number or one code.
Kind = Literal["multiple", "text", "number", "code"]
#: What a personal text field of the sample holds, read from its name and label.
Personal = Literal["surname", "first name", "phone", "email", "full name"]


@dataclass(frozen=True)
class Answers:
    """What the answers of one variable can be."""

    name: str
    kind: Kind
    #: the codes answered in the ordinary way, in option order (missing codes left
    #: out; for multiple choice also the exclusive codes: these combine freely)
    codes: tuple[int, ...] = ()
    #: missing codes, in option order
    missing: tuple[int, ...] = ()
    #: multiple choice: the codes chosen alone (exclusive options and missing codes), in option order
    alone: tuple[int, ...] = ()
    #: every code, in option order
    all_codes: tuple[int, ...] = ()
    #: the declared range; ``None``: open
    low: int | float | None = None
    high: int | float | None = None
    #: numbers: decimals allowed
    decimal: bool = False
    #: the values routing conditions tell apart: for numeric questions and grid
    #: items, the edges of each branch (missing codes left out); for texts asked
    #: in the interview, the texts they are compared with
    edges: tuple[Any, ...] = ()
    #: a specify text of the sample: the field and the option code that asks for it
    parent: str | None = None
    parent_code: int | None = None
    #: a computed sample field: its formula
    formula: m.Expr | None = None
    #: a personal text field of the sample: the kind of synthetic value it gets
    personal: Personal | None = None

    def valid(self, value: Any) -> bool:
        """Whether ``value`` is a possible answer (not ``None``: that is "not asked")."""
        if self.kind == "multiple":
            if not isinstance(value, frozenset) or not value or not value <= set(self.all_codes):
                return False
            return len(value) == 1 or not value & set(self.alone)
        if self.kind == "text":
            return isinstance(value, str) and value != ""
        if self.kind == "number":
            if value in self.missing:
                return True
            return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return value in self.all_codes

    def simplest(self) -> Any:
        """The answer shrinking moves to: the first option, the low end of a range, a short text."""
        substantive = tuple(c for c in self.all_codes if c not in self.missing)
        if self.kind == "multiple":
            return frozenset((substantive or self.all_codes)[:1])
        if self.kind == "text":
            return "a"
        if self.kind == "number":
            if self.low is not None:
                return self.low
            return self.edges[0] if self.edges else 0
        return (substantive or self.all_codes or (0,))[0]


def describe(low: Lowered, var: Variable) -> Answers:
    """The description of ``var``'s answers (see ``answers`` for the memoised table)."""
    codes = var.codes
    missing = tuple(c for c in codes if c in var.missing_codes)
    common: dict[str, Any] = {"name": var.name, "missing": missing, "all_codes": codes}
    if var.role == "sample":
        node = var.node
        common.update(parent=var.parent, parent_code=var.parent_code)
        if isinstance(node, m.SampleField):
            common["formula"] = node.formula
            if var.value_kind == "text":
                common["personal"] = _personal(f"{var.name} {var.label.text}".lower())
    asked = var.role in ("question", "item")
    if var.type == "multiple":
        alone = tuple(c for c in codes if c in var.exclusive or c in var.missing_codes)
        normal = tuple(c for c in codes if c not in alone)
        return Answers(kind="multiple", codes=normal, alone=alone, **common)
    if var.value_kind == "text":
        drawn = asked or var.role == "specify"
        texts = tuple(x for x in domain_of(low, var.name).values if isinstance(x, str) and x != "x") if drawn else ()
        return Answers(kind="text", edges=texts, **common)
    if var.value_kind == "number":
        edges = tuple(x for x in domain_of(low, var.name).values if x not in var.missing_codes) if asked else ()
        return Answers(kind="number", low=var.min, high=var.max, decimal=var.type == "decimal", edges=edges, **common)
    return Answers(kind="code", codes=var.substantive_codes, **common)


def answers(low: Lowered) -> dict[str, Answers]:
    """The description of every variable's answers, computed once per spec."""
    table = low.memo.find(_ANSWERS)
    if table is None:
        table = low.memo.store(_ANSWERS, {name: describe(low, var) for name, var in low.variables.items()})
    return table


_ANSWERS: MemoKey[dict[str, Answers]] = MemoKey("answers")


def _personal(word: str) -> Personal | None:
    """The kind of personal data a sample text field holds, by its name and label."""
    if any(k in word for k in ("etternavn", "surname", "last name", "family name")):
        return "surname"
    if any(k in word for k in ("fornavn", "first name", "given name")):
        return "first name"
    if any(k in word for k in ("telefon", "phone", "mobil", "tlf")):
        return "phone"
    if any(k in word for k in ("e-post", "email", "e-mail")):
        return "email"
    if "navn" in word or "name" in word:
        return "full name"
    return None


def complete_disposition(low: Lowered) -> int | None:
    """The disposition of a complete interview: the first with AAPOR category I."""
    fw = low.spec.fieldwork
    for d in fw.dispositions if fw else ():
        if d.aapor == "I":
            return d.code
    return None
