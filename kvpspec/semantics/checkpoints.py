"""Where an interview-time check fires: the one definition.

A check (``warn`` soft, ``error`` hard) can be judged once every variable its
condition reads is known, so it fires right after the last of them in
interview order (``routing.steps``): the interviewer script shows it at that
question, ``validate`` reports it at that column, the simulator redraws from
there. A derived variable or a recode is read through what it is computed
from; a sample field is known before the interview starts. A check that reads
no answer at all fires at the first question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kvpspec import model as m
from kvpspec.semantics.lower import Lowered, MemoKey, expr_refs
from kvpspec.semantics.routing import Slot, Step, steps


@dataclass(frozen=True)
class Checkpoint:
    """A check at the place it fires."""

    check: m.Warning_
    #: the variable after which it fires (the column ``validate`` reports), or
    #: None when the interview asks nothing
    column: str | None
    #: that variable's question or grid
    slot: Slot | None
    #: the interview variables the condition reads, in interview order
    reads: tuple[str, ...]


def reads_through(low: Lowered, names: Iterable[str], *, applied: bool = False) -> set[str]:
    """``names`` and every variable they are computed from: derived variables
    and (non-scale) recodes are followed to what they read; with ``applied``, a
    recode's application (``q10a_enig2``) to its source too."""
    derives = {d.name: d.expr for d in low.spec.derives}
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in derives:
            todo.extend(expr_refs(derives[name]))
        r = low.recodes.get(name)
        if r is not None and not r.source_is_scale:
            todo.append(r.source)
        if applied:
            var = low.variables.get(name)
            if var is not None and var.source:
                todo.append(var.source)
    return seen


def answers_read(low: Lowered, expr: m.Expr) -> set[str]:
    """The interview variables ``expr`` reads, through derived variables and recodes."""
    derives = {d.name for d in low.spec.derives}
    return {
        n
        for n in reads_through(low, expr_refs(expr))
        if n not in derives and not (n in low.recodes and not low.recodes[n].source_is_scale)
    }


def checkpoints(low: Lowered) -> list[Checkpoint]:
    """Every check of the spec, in declaration order, with where it fires (computed once)."""
    cached = low.memo.find(_CHECKPOINTS)
    if cached is None:
        cached = low.memo.store(_CHECKPOINTS, [_checkpoint(low, w, _order(low)) for w in low.spec.warnings])
    return cached


def by_question(low: Lowered) -> dict[str, list[Checkpoint]]:
    """The checks that fire at each question or grid, by its name, in declaration order."""
    out: dict[str, list[Checkpoint]] = {}
    for cp in checkpoints(low):
        if cp.slot is not None:
            out.setdefault(cp.slot.item.name, []).append(cp)
    return out


def _order(low: Lowered) -> dict[str, tuple[int, Step]]:
    return {s.name: (i, s) for i, s in enumerate(steps(low))}


def _checkpoint(low: Lowered, w: m.Warning_, order: dict[str, tuple[int, Step]]) -> Checkpoint:
    known = sorted((order[n] for n in answers_read(low, w.condition) if n in order), key=lambda p: p[0])
    reads = tuple(s.name for _, s in known)
    if known:
        last = known[-1][1]
        return Checkpoint(w, last.name, last.slot, reads)
    first = min(order.values(), key=lambda p: p[0], default=None)
    if first is None:
        return Checkpoint(w, None, None, ())
    return Checkpoint(w, first[1].name, first[1].slot, ())


_CHECKPOINTS: MemoKey[list[Checkpoint]] = MemoKey("checkpoints")
