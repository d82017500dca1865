"""``kvpspec simulate``: synthetic, routing-consistent data for piloting.

Whole columns are drawn at once (numpy) in interview order, as
``answers.py`` describes each variable's answers; each step's routing guard
(``routing.steps``) is evaluated column-wise by ``data/vector.py``, which has
the meaning of ``expr.Evaluator``, and the rule of ``routing.Walk`` is applied
to whole columns: rows where the guard does not hold, or that an earlier
answer ended, are left empty. The first rows are route witnesses
(``routing.enumerate_routes``): each takes one route of the interview, so
every goto, end and if-branch that can happen appears in the data (when there
are too many routes, one witness per branch, ``routing.branch_witnesses``). Rows where a soft check (``warn``) holds,
as ``validate`` reads the data file, are replaced by the next candidate
interviews that trip none (``_avoid_soft_checks``), a few rounds at most;
``--allow-warnings`` keeps independent draws. A row where a hard check
(``error``) holds is invalid data and never written, with or without
``--allow-warnings``: it is redrawn until it passes (``_avoid_hard_checks``; a
route witness that cannot pass gives way to a random interview), and a hard
check that nearly every interview trips is an ``InputError``. The same seed
gives the same file.

The data file holds the response variables of the codebook, in its order (the
respondent id first); an empty cell is a question not asked; missing codes are
written as their codes; a multiple-choice answer is its codes separated by
spaces (``1 3``). ``--sample`` also writes the sample file: one row per sampled
person with every sample field (synthetic names and phone numbers for the
personal ones) and ``disposition``. The interviews are its first rows; the rest
did not complete (their dispositions are the other declared ones). Nothing
links the two files: personal data never enter the data file.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.data.vector import VectorEvaluator
from kvpspec.diagnostics import InputError
from kvpspec.semantics.checkpoints import reads_through
from kvpspec.semantics.lower import Lowered, Variable, expr_refs
from kvpspec.semantics.routing import Step, branch_witnesses, enumerate_routes, steps
from kvpspec.synth import answers as answer_book
from kvpspec.synth.answers import Answers, complete_disposition

#: the share of answers that are a missing code, where the variable has any
P_MISSING = 0.05
FIRST_NAMES = np.array(answer_book.FIRST_NAMES, dtype=object)
SURNAMES = np.array(answer_book.SURNAMES, dtype=object)


@dataclass
class Simulated:
    """The simulated columns (``data/vector.py`` layout) and what went into them."""

    n: int
    data: dict[str, Any]
    columns: list[Variable]
    sample: dict[str, Any] = field(default_factory=dict)
    sample_columns: list[Variable] = field(default_factory=list)
    n_sample: int = 0
    #: how many of the first rows are route witnesses
    witnesses: int = 0
    #: the disposition of each interview (an early end, or the complete one)
    disposition: Any = None
    #: too many routes to enumerate: the witnesses take every branch, not every route
    per_branch: bool = False
    #: rows that tripped a soft check in the first draw (and were redrawn)
    redrawn: int = 0
    #: rows that trip a soft check in the data as written (kept after the last round)
    warned: int = 0
    #: rows that tripped a hard check in the first draw (all redrawn: none is written)
    hard_redrawn: int = 0


def _draw(rng: np.random.Generator, a: Answers, n: int) -> Any:
    """A whole column of answers for a variable (everyone asked), as ``a`` describes them."""
    missing = list(a.missing)
    if a.kind == "multiple":
        normal = [j for j, c in enumerate(a.all_codes) if c not in a.alone]
        special = [j for j, c in enumerate(a.all_codes) if c in a.alone]
        mat = np.zeros((n, len(a.all_codes)), dtype=bool)
        if normal:
            mat[:, normal] = rng.random((n, len(normal))) < 0.4
            empty = ~mat.any(axis=1)
            pick = rng.choice(normal, size=n)
            mat[empty, pick[empty]] = True
        if special:
            alone = rng.random(n) < (P_MISSING if normal else 1.0)
            mat[alone] = False
            mat[alone, rng.choice(special, size=int(alone.sum()))] = True
        return mat
    if a.kind == "text":
        words = np.array([f"svar {k}" for k in range(1, 51)] + list(a.edges) * 10, dtype=object)
        return words[rng.integers(0, len(words), size=n)]
    if a.kind == "number":
        lo = a.low if a.low is not None else 0
        hi = a.high if a.high is not None else max(lo, 0) + 100
        if a.decimal:
            col = np.round(rng.uniform(lo, hi, size=n), 1)
            col = np.clip(col, lo, hi)
        else:
            col = rng.integers(int(lo), int(hi) + 1, size=n).astype(float)
        if a.edges:  # the values routing conditions test, so every branch is hit
            at_edge = rng.random(n) < 0.1
            col[at_edge] = rng.choice(np.array(a.edges, dtype=float), size=int(at_edge.sum()))
        if missing:
            miss = rng.random(n) < P_MISSING
            col[miss] = rng.choice(np.array(missing, dtype=float), size=int(miss.sum()))
        return col
    codes = list(a.codes)
    if not codes and not missing:
        return np.zeros(n)
    probs = [(1 - (P_MISSING if missing else 0)) / len(codes)] * len(codes) if codes else []
    if missing:
        probs += [(P_MISSING if codes else 1.0) / len(missing)] * len(missing)
    return rng.choice(np.array(codes + missing, dtype=np.float64), size=n, p=np.array(probs) / sum(probs))


def _blank(col: Any, rows: np.ndarray) -> None:
    """Empty these rows: not asked."""
    if col.ndim == 2:
        col[rows] = False
    elif col.dtype == object:
        col[rows] = None
    else:
        col[rows] = np.nan


def _override(col: Any, rows: list[int], values: list[Any], var: Variable | None) -> None:
    """Put the witnesses' values into their rows."""
    for i, v in zip(rows, values):
        if v is None:
            continue
        if col.ndim == 2 and var is not None:
            col[i] = False
            for c in v:
                col[i, var.codes.index(c)] = True
        elif col.dtype == object:
            col[i] = v
        else:
            col[i] = float(v)


def _sample_columns(rng: np.random.Generator, low: Lowered, ve: VectorEvaluator, n: int) -> dict[str, Any]:
    """Every sample field for ``n`` sampled people: drawn, computed by its formula, or a
    specify text where its option is chosen; personal texts get synthetic values."""
    book = answer_book.answers(low)
    out: dict[str, Any] = {}
    for var in [v for v in low.variables.values() if v.role == "sample"]:
        a = book[var.name]
        if a.parent is not None:
            parent = out.get(a.parent)
            col = np.full(n, None, dtype=object)
            if parent is not None and parent.ndim == 1 and parent.dtype != object:
                chosen = parent == a.parent_code
                col[chosen] = [f"svar {k}" for k in rng.integers(1, 50, size=int(chosen.sum()))]
            out[var.name] = col
        elif a.formula is not None:
            out[var.name] = ve.value(a.formula, out, n).data
        elif a.kind == "text":
            out[var.name] = _personal(rng, a, n)
        else:
            out[var.name] = _draw(rng, a, n)
    return out


def _personal(rng: np.random.Generator, a: Answers, n: int) -> np.ndarray:
    """A sample text column: synthetic names, phone numbers and addresses for personal data."""
    if a.personal == "surname":
        return SURNAMES[rng.integers(0, len(SURNAMES), size=n)]
    if a.personal == "first name":
        return FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), size=n)]
    if a.personal == "phone":
        return rng.integers(40_000_000, 100_000_000, size=n).astype(str).astype(object)
    if a.personal == "email":
        return np.array([f"{x.lower()}@example.org" for x in FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), size=n)]],
                        dtype=object)
    if a.personal == "full name":
        return np.array(
            [f"{x} {y}" for x, y in zip(FIRST_NAMES[rng.integers(0, 10, size=n)], SURNAMES[rng.integers(0, 10, size=n)])],
            dtype=object,
        )
    return np.array([f"tekst {k}" for k in rng.integers(1, 100, size=n)], dtype=object)


#: interviews drawn and written at a time: memory is bounded by the batch, not by ``n``
#: (even, so that the batches' extra sample rows add up to ``n // 2``)
BATCH_ROWS = 50_000


def simulate(compiled: Compiled, n: int, seed: int = 0, with_sample: bool = False,
             soft_checks: bool = True) -> Simulated:
    """``n`` synthetic interviews (and, ``with_sample``, the sample they came from), in memory.

    ``soft_checks``: rows where a ``warn`` condition holds are redrawn (up to
    ``ROUNDS`` times; see ``_avoid_soft_checks``); otherwise every row is an
    independent draw. The batches of ``simulate_batches`` joined: the sample
    file's interviews first, then the cases that did not complete.
    """
    parts = list(simulate_batches(compiled, n, seed, with_sample, soft_checks))
    if len(parts) == 1:
        return parts[0]
    sim = Simulated(n, {}, parts[0].columns, witnesses=parts[0].witnesses, per_branch=parts[0].per_branch,
                    sample_columns=parts[0].sample_columns, n_sample=sum(p.n_sample for p in parts))
    sim.redrawn = sum(p.redrawn for p in parts)
    sim.warned = sum(p.warned for p in parts)
    sim.hard_redrawn = sum(p.hard_redrawn for p in parts)
    sim.data = {k: np.concatenate([p.data[k] for p in parts]) for k in parts[0].data}
    sim.disposition = np.concatenate([p.disposition for p in parts])
    if with_sample:
        sim.sample = {k: np.concatenate([p.sample[k][: p.n] for p in parts] + [p.sample[k][p.n:] for p in parts])
                      for k in parts[0].sample}
    return sim


def simulate_batches(compiled: Compiled, n: int, seed: int = 0, with_sample: bool = False,
                     soft_checks: bool = True) -> Iterator[Simulated]:
    """``n`` interviews as batches of at most ``BATCH_ROWS`` (the first one also
    holds every route witness), each a ``Simulated`` with its own sample rows:
    its interviews' rows first, then ``k // 2`` cases that did not complete.

    Batch ``b`` draws from streams of its own (``[seed, 0]``, ``[seed, 1]`` for
    the first, ``[seed, 0, b]``, ``[seed, 1, b]`` after), so the data are the same
    for a seed whatever the memory, and ``n <= BATCH_ROWS`` gives exactly the file
    of a single draw.
    """
    low = compiled.lowered
    ve = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    data_steps: list[Step] = [s for s in steps(low) if not s.in_intro]
    columns = low.response_variables()

    # route witnesses first: every route that reaches the data, as far as enumerated
    routes = enumerate_routes(low, limit=2_000, budget=200_000) if n else None
    witnesses = [dict(r.witness) for r in routes.routes if not r.in_intro][:n] if routes else []
    if routes is not None and not routes.complete:
        # too many routes: one witness per branch instead (each condition both ways, each end)
        unique = {w: None for w in branch_witnesses(low).values()}
        witnesses = [dict(w) for w in unique][:n]
        per_branch = True
    else:
        per_branch = False
    overrides: dict[str, tuple[list[int], list[Any]]] = {}
    for i, w in enumerate(witnesses):
        for name, value in w.items():
            rows, values = overrides.setdefault(name, ([], []))
            rows.append(i)
            values.append(value)
    sample_vars = [v for v in low.variables.values() if v.role == "sample"]
    draw_sample = bool(sample_vars) and (
        with_sample or any(v.name in overrides for v in sample_vars) or _routing_reads_sample(low, data_steps)
    )
    first = min(n, max(BATCH_ROWS, len(witnesses)))
    done, b = 0, 0
    while True:
        k = first if b == 0 else min(BATCH_ROWS, n - done)
        key = [seed] if b == 0 else [seed, b]
        sim = _batch(low, ve, data_steps, columns, k, done, key, with_sample, soft_checks,
                     overrides if b == 0 else {}, len(witnesses) if b == 0 else 0, sample_vars, draw_sample)
        sim.per_branch = per_branch
        yield sim
        done += k
        b += 1
        if done >= n:
            return


def _batch(low: Lowered, ve: VectorEvaluator, data_steps: list[Step], columns: list[Variable], n: int,
           offset: int, key: list[int], with_sample: bool, soft_checks: bool,
           overrides: dict[str, tuple[list[int], list[Any]]], n_witnesses: int, sample_vars: list[Variable],
           draw_sample: bool) -> Simulated:
    """One batch of ``n`` interviews, numbered from ``offset + 1``; ``key`` names its random streams."""
    seed = key[0]
    # separate streams: the data are the same with or without a sample file
    rng = np.random.default_rng([seed, 0, *key[1:]])
    sample_rng = np.random.default_rng([seed, 1, *key[1:]])
    n_sample = n + n // 2
    sample: dict[str, Any] = {}
    if draw_sample:
        sample = _sample_columns(sample_rng, low, ve, n_sample)
        for name, (rows, values) in overrides.items():
            if name in sample:
                _override(sample[name], rows, values, low.variables.get(name))

    data, disposition, asked = _interviews(rng, low, ve, data_steps, n, {k: c[:n] for k, c in sample.items()}, overrides)
    sim = Simulated(n, {}, columns, witnesses=n_witnesses)
    soft = tuple(w for w in low.spec.warnings if not w.hard)
    hard = tuple(w for w in low.spec.warnings if w.hard)
    shown = {v.name for v in columns}
    if hard and n:
        tripped = _flagged(ve, hard, data, shown, n)
        sim.hard_redrawn = int(tripped.sum())
    if soft and n:
        flagged = _flagged(ve, soft + hard, data, shown, n)
        if soft_checks and flagged.any():
            sim.redrawn = int(flagged.sum())
            _avoid_soft_checks(
                rng, key, low, ve, data_steps, data, disposition, asked, sample, flagged, n_witnesses, shown,
                soft + hard,
            )
    if hard and n:
        _avoid_hard_checks(key, low, ve, data_steps, data, disposition, sample, hard, shown, n)
    if soft and n:
        sim.warned = int(_flagged(ve, soft, data, shown, n).sum())

    rid = low.spec.respondent
    if rid is not None:
        ids = np.arange(offset + 1, offset + n + 1)
        sim.data[rid.name] = ids.astype(float) if rid.kind == "integer" else np.array([f"R{i:06d}" for i in ids], dtype=object)
    sim.data.update(data)
    complete_code = complete_disposition(low)
    if complete_code is not None:
        disposition[np.isnan(disposition)] = complete_code
    sim.disposition = disposition
    if with_sample:
        sim.sample, sim.n_sample = sample, n_sample
        sim.sample_columns = sample_vars
        if "disposition" in sample:
            disp = sample["disposition"]
            disp[:n] = disposition
            fw = low.spec.fieldwork
            others = [d.code for d in fw.dispositions if d.aapor != "I"] if fw else []
            if others and n_sample > n:
                disp[n:] = sample_rng.choice(np.array(others, dtype=float), size=n_sample - n)
    return sim


def _interviews(rng: np.random.Generator, low: Lowered, ve: VectorEvaluator, data_steps: list[Step], n: int,
                table: dict[str, Any], overrides: dict[str, tuple[list[int], list[Any]]]
                ) -> tuple[dict[str, Any], np.ndarray, dict[str, np.ndarray]]:
    """``n`` interviews drawn column by column in interview order, routing applied.

    ``table`` holds the sample columns of these rows (routing may read them).
    Gives the columns, the disposition of an early end (NaN: none) and, per
    step, the rows where it was asked.
    """
    table = dict(table)
    book = answer_book.answers(low)
    # routing.Walk on whole columns: a step is asked where its guard holds and no
    # earlier answer ended the interview; the first of a step's ending codes chosen
    # sets the disposition (``routing.ended_by``)
    ended = np.zeros(n, dtype=bool)
    disposition = np.full(n, np.nan)
    data: dict[str, Any] = {}
    asked_rows: dict[str, np.ndarray] = {}
    for step in data_steps:
        var = low.variables[step.name]
        col = _draw(rng, book[step.name], n)
        if step.name in overrides:
            rows, values = overrides[step.name]
            _override(col, rows, values, var)
        asked = ve.truth(step.guard, table, n) & ~ended
        _blank(col, ~asked)
        table[step.name] = data[step.name] = col
        asked_rows[step.name] = asked
        for code, disp in step.ends:
            hit = asked & (col[:, var.codes.index(code)] if col.ndim == 2 else col == code)
            disposition[hit & ~ended] = disp
            ended |= hit
    return data, disposition, asked_rows


# ---------------------------------------------------------------- soft checks

#: how many times rows that trip a soft check are redrawn before they are kept
ROUNDS = 4
#: fresh draws per round of a route witness's values that no routing reads
WITNESS_TRIES = 16


def _flagged(ve: VectorEvaluator, warnings: tuple[m.Warning_, ...], data: dict[str, Any], shown: set[str],
             n: int) -> np.ndarray:
    """Rows where some ``warn`` condition holds, as ``validate`` sees the data file.

    Only the columns of the data file are read (as the validator reads them),
    with recodes and derived variables computed from them.
    """
    table = ve.complete({k: c for k, c in data.items() if k in shown}, n)
    hit = np.zeros(n, dtype=bool)
    for w in warnings:
        hit |= ve.truth(w.condition, table, n)
    return hit


def _routing_closure(low: Lowered, data_steps: list[Step]) -> set[str]:
    """Every variable whose value can change a route: read by a guard (through
    recodes and derived variables too) or ending the interview."""
    guards = (r for s in data_steps if s.guard is not None for r in expr_refs(s.guard))
    return {s.name for s in data_steps if s.ends} | reads_through(low, guards, applied=True)


def _avoid_soft_checks(rng: np.random.Generator, key: list[int], low: Lowered, ve: VectorEvaluator,
                       data_steps: list[Step], data: dict[str, Any], disposition: np.ndarray,
                       asked: dict[str, np.ndarray], sample: dict[str, Any], flagged: np.ndarray,
                       n_witnesses: int, shown: set[str], checks: tuple[m.Warning_, ...]) -> None:
    """Redraw the rows that trip a soft check, in place; ``flagged`` is left
    holding the rows that still do after ``ROUNDS`` rounds (they are kept;
    the rounds stop early when not one candidate of a round passes).

    A flagged random row is replaced by the next unflagged candidate interview:
    candidates are drawn as whole interviews (every column, routing applied)
    from the continuation of the data stream, so a row stays consistent and
    the result is deterministic; their sample rows (when routing reads the
    sample, or a sample file is written) come from a stream of their own and
    replace the row's sample row, so the two files stay aligned. A flagged
    route witness keeps its route: only its values no routing reads (and that
    end nothing) are redrawn.
    """
    free = [s for s in data_steps if s.name not in _routing_closure(low, data_steps)]
    rest = flagged[n_witnesses:]
    p_ok = 1.0 - float(rest.mean()) if rest.size else 1.0
    for r in range(ROUNDS):
        bad = np.flatnonzero(flagged)
        wbad, bad = bad[bad < n_witnesses], bad[bad >= n_witnesses]
        if p_ok == 0.0:  # not one candidate passed: more rounds would not help
            bad = bad[:0]
        if not bad.size and not (wbad.size and free):
            break
        if bad.size:
            k = int(bad.size)
            # enough candidates that one round usually suffices, bounded when few pass
            size = min(int(np.ceil(k / max(p_ok, 0.05) * 1.25)) + 32, 4 * k + 64)
            cand_sample = (
                _sample_columns(np.random.default_rng([key[0], 2, r, *key[1:]]), low, ve, size) if sample else {}
            )
            cdata, cdisp, _ = _interviews(rng, low, ve, data_steps, size, cand_sample, {})
            cflag = _flagged(ve, checks, cdata, shown, size)
            p_ok = 1.0 - float(cflag.mean())
            take = np.flatnonzero(~cflag)[:k]
            rows = bad[: take.size]
            _replace_rows(rows, take, data, disposition, sample, cdata, cdisp, cand_sample)
            flagged[rows] = False
        if wbad.size and free:
            # WITNESS_TRIES fresh draws of the free values per witness; the first that passes wins
            rows = np.repeat(wbad, WITNESS_TRIES)
            sub = {name: col[rows] for name, col in data.items()}
            book = answer_book.answers(low)
            for step in free:
                col = _draw(rng, book[step.name], rows.size)
                _blank(col, ~asked[step.name][rows])
                sub[step.name] = col
            ok = ~_flagged(ve, checks, sub, shown, rows.size).reshape(wbad.size, WITNESS_TRIES)
            found = ok.any(axis=1)
            pick = np.flatnonzero(found) * WITNESS_TRIES + ok.argmax(axis=1)[found]
            for step in free:
                data[step.name][wbad[found]] = sub[step.name][pick]
            flagged[wbad[found]] = False


def _replace_rows(rows: np.ndarray, take: np.ndarray, data: dict[str, Any], disposition: np.ndarray,
                  sample: dict[str, Any], cdata: dict[str, Any], cdisp: np.ndarray,
                  cand_sample: dict[str, Any]) -> None:
    """Rows ``rows`` of the interviews (answers, disposition, sample) become the
    candidate interviews ``take``."""
    for name, col in data.items():
        col[rows] = cdata[name][take]
    disposition[rows] = cdisp[take]
    for name, col in sample.items():
        if name in cand_sample:
            col[rows] = cand_sample[name][take]


#: rounds of redrawing the rows that trip a hard check before giving up
HARD_ROUNDS = 16


def _avoid_hard_checks(key: list[int], low: Lowered, ve: VectorEvaluator, data_steps: list[Step],
                       data: dict[str, Any], disposition: np.ndarray, sample: dict[str, Any],
                       hard: tuple[m.Warning_, ...], shown: set[str], n: int) -> None:
    """Replace every row that trips a hard check, witnesses included, by the next
    candidate interview that trips none (from a stream of its own, so specs without
    hard checks draw as before); ``InputError`` when rounds find no such candidate."""
    rng = np.random.default_rng([key[0], 3, *key[1:]])
    bad = np.flatnonzero(_flagged(ve, hard, data, shown, n))
    for r in range(HARD_ROUNDS):
        if not bad.size:
            return
        size = 4 * int(bad.size) + 64
        cand_sample = (
            _sample_columns(np.random.default_rng([key[0], 4, r, *key[1:]]), low, ve, size) if sample else {}
        )
        cdata, cdisp, _ = _interviews(rng, low, ve, data_steps, size, cand_sample, {})
        take = np.flatnonzero(~_flagged(ve, hard, cdata, shown, size))[: bad.size]
        _replace_rows(bad[: take.size], take, data, disposition, sample, cdata, cdisp, cand_sample)
        bad = bad[take.size:]
    if bad.size:
        names = ", ".join(f"`{w.name}`" for w in hard)
        raise InputError(
            f"{bad.size} simulated interviews still trip a hard check ({names}) after {HARD_ROUNDS} rounds "
            f"of redrawing: nearly every interview trips it; see `kvpspec test`"
        )


def _routing_reads_sample(low: Lowered, data_steps: list[Step]) -> bool:
    """Whether a guard of the response data reads a sample field."""
    sample = {v.name for v in low.variables.values() if v.role == "sample"}
    return any(s.guard is not None and set(expr_refs(s.guard)) & sample for s in data_steps)


# ---------------------------------------------------------------- CSV


def cells(var: Variable | None, col: Any, whole: bool | None = None) -> list[str]:
    """A column as CSV cells: codes and numbers as written, '' for no value.

    A numeric column whose values are all whole is written without decimals;
    ``whole`` imposes that choice (a later batch follows the first one's)."""
    if col.ndim == 2:
        codes = [str(c) for c in var.codes] if var is not None else []
        return [" ".join(c for c, on in zip(codes, row) if on) for row in col.tolist()]
    if col.dtype == object:
        return ["" if x is None else str(x) for x in col.tolist()]
    empty = np.isnan(col)
    if whole is None:
        whole = is_whole(col)
    values = np.where(empty, 0, col)
    if whole and is_whole(col):
        text = values.astype(np.int64).astype(str).astype(object)
    elif whole:  # a fraction after whole numbers: fractions as such, whole numbers as before
        text = np.array([str(int(x)) if x % 1 == 0 else repr(round(float(x), 6)) for x in values], dtype=object)
    else:
        text = np.array([repr(round(float(x), 6)) for x in values], dtype=object)
    text[empty] = ""
    return text.tolist()


def is_whole(col: Any) -> bool:
    """Whether a numeric column holds whole numbers only (no value counts as whole)."""
    if col.ndim != 1 or col.dtype == object:
        return False
    present = col[~np.isnan(col)]
    return bool(np.all(np.mod(present, 1) == 0)) if present.size else True


class _Table:
    """CSV rows written batch by batch into ``file``; each numeric column keeps the
    style (``whole``) of the first batch that fixed it, shared by tables of one file."""

    def __init__(self, file: IO[str], columns: list[Variable], whole: dict[str, bool]):
        self.columns, self.whole, self.file = columns, whole, file
        self.writer = csv.writer(file, lineterminator="\n")

    def write(self, data: dict[str, Any], rows: slice = slice(None)) -> None:
        for v in self.columns:
            self.whole.setdefault(v.name, is_whole(data[v.name]))
        self.writer.writerows(zip(*[cells(v, data[v.name][rows], self.whole[v.name]) for v in self.columns]))


def write_simulation(sims: Simulated | Iterable[Simulated], output: str | Path,
                     sample_path: str | Path | None = None) -> Simulated:
    """Write the simulated data (and the sample, when asked) as CSV, batch by batch
    (``simulate_batches``), so memory holds one batch; gives what was written, without
    its columns (``data`` and ``sample`` empty). ``InputError`` when a file cannot be written.

    The sample file holds every interview's row first, then the cases that did not
    complete: those wait in a temporary file until the last batch is written.
    """
    batches = [sims] if isinstance(sims, Simulated) else sims
    total: Simulated | None = None
    try:
        with ExitStack() as files:
            rest = files.enter_context(tempfile.TemporaryFile("w+", newline="", encoding="utf-8"))
            out = files.enter_context(open(output, "w", newline="", encoding="utf-8"))
            out_sample = (
                files.enter_context(open(sample_path, "w", newline="", encoding="utf-8")) if sample_path else None
            )
            tables: list[_Table] = []
            for sim in batches:
                if total is None:
                    total = Simulated(0, {}, sim.columns, witnesses=sim.witnesses, per_branch=sim.per_branch,
                                      sample_columns=sim.sample_columns)
                    whole: dict[str, bool] = {}
                    tables = [_Table(out, sim.columns, {})]
                    if out_sample is not None:
                        tables += [_Table(out_sample, sim.sample_columns, whole), _Table(rest, sim.sample_columns, whole)]
                    for t in tables[:2]:
                        t.writer.writerow([v.name for v in t.columns])
                tables[0].write(sim.data)
                if len(tables) == 3:
                    tables[1].write(sim.sample, slice(0, sim.n))
                    tables[2].write(sim.sample, slice(sim.n, None))
                total.n += sim.n
                total.n_sample += sim.n_sample
                total.redrawn += sim.redrawn
                total.hard_redrawn += sim.hard_redrawn
                total.warned += sim.warned
            if out_sample is not None:
                rest.seek(0)
                shutil.copyfileobj(rest, out_sample)
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc
    assert total is not None, "simulate_batches gives at least one batch"
    return total
