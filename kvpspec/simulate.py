"""``kvpspec simulate``: synthetic, routing-consistent data for piloting.

Whole columns are drawn at once (numpy) in interview order; each question's
routing guard (``flow.steps``) is evaluated column-wise by ``vector.py``, which
has the meaning of ``expr.Evaluator``; rows where it does not hold are left
empty. The first rows are route witnesses (``flow.enumerate_routes``): each
takes one route of the interview, so every goto, end and if-branch that can
happen appears in the data (when there are too many routes, one witness per
branch, ``flow.branch_witnesses``). The same seed gives the same file.

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
import sys
from dataclasses import dataclass, field
from typing import Any

import click
import numpy as np

from kvpspec import model as m
from kvpspec.compile import Compiled
from kvpspec.flow import Step, branch_witnesses, domain_of, enumerate_routes, steps
from kvpspec.lower import Lowered, Variable
from kvpspec.vector import VectorEvaluator

#: The roles of the response-data columns (``testing.RESPONSE_ROLES``).
RESPONSE_ROLES = ("id", "question", "item", "specify")
P_MISSING = 0.05
FIRST_NAMES = np.array(["Kari", "Ola", "Ingrid", "Lars", "Aisha", "Mohammed", "Nora", "Jonas", "Fatima", "Emil"], dtype=object)
SURNAMES = np.array(["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Ali", "Berg", "Haugen"], dtype=object)


@dataclass
class Simulated:
    """The simulated columns (``vector.py`` layout) and what went into them."""

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


def _complete_code(low: Lowered) -> int | None:
    fw = low.spec.fieldwork
    for d in fw.dispositions if fw else ():
        if d.aapor == "I":
            return d.code
    return None


def _draw(rng: np.random.Generator, low: Lowered, var: Variable, n: int) -> Any:
    """A whole column of answers for a variable (everyone asked)."""
    missing = [c for c in var.codes if c in var.missing_codes]
    if var.type == "multiple":
        node = var.node
        options = low.question_options(node) if isinstance(node, m.Question) else getattr(node, "options", ())
        exclusive = {o.code for o in options if o.exclusive} | set(var.missing_codes)
        codes = var.codes
        normal = [j for j, c in enumerate(codes) if c not in exclusive]
        special = [j for j, c in enumerate(codes) if c in exclusive]
        mat = np.zeros((n, len(codes)), dtype=bool)
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
    if var.value_kind == "text":
        literals = [x for x in domain_of(low, var.name).values if isinstance(x, str) and x != "x"]
        words = np.array([f"svar {k}" for k in range(1, 51)] + literals * 10, dtype=object)
        return words[rng.integers(0, len(words), size=n)]
    if var.value_kind == "number":
        lo = var.min if var.min is not None else 0
        hi = var.max if var.max is not None else max(lo, 0) + 100
        if var.type == "decimal":
            col = np.round(rng.uniform(lo, hi, size=n), 1)
            col = np.clip(col, lo, hi)
        else:
            col = rng.integers(int(lo), int(hi) + 1, size=n).astype(float)
        edges = [x for x in domain_of(low, var.name).values if x not in var.missing_codes]
        if edges and var.role in ("question", "item"):
            at_edge = rng.random(n) < 0.1
            col[at_edge] = rng.choice(np.array(edges, dtype=float), size=int(at_edge.sum()))
        if missing:
            miss = rng.random(n) < P_MISSING
            col[miss] = rng.choice(np.array(missing, dtype=float), size=int(miss.sum()))
        return col
    codes = [c for c in var.codes if c not in var.missing_codes]
    if not codes and not missing:
        return np.zeros(n)
    probs = [(1 - (P_MISSING if missing else 0)) / len(codes)] * len(codes) if codes else []
    if missing:
        probs += [(P_MISSING if codes else 1.0) / len(missing)] * len(missing)
    return rng.choice(np.array(codes + missing, dtype=float), size=n, p=np.array(probs) / sum(probs))


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


def _sample_columns(rng, low: Lowered, ve: VectorEvaluator, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var in [v for v in low.variables.values() if v.role == "sample"]:
        node = var.node
        word = f"{var.name} {var.label.text}".lower()
        if var.parent is not None:
            parent = out.get(var.parent)
            col = np.full(n, None, dtype=object)
            if parent is not None and parent.ndim == 1 and parent.dtype != object:
                chosen = parent == var.parent_code
                col[chosen] = [f"svar {k}" for k in rng.integers(1, 50, size=int(chosen.sum()))]
            out[var.name] = col
        elif isinstance(node, m.SampleField) and node.formula is not None:
            out[var.name] = ve.value(node.formula, out, n).data
        elif var.value_kind == "text":
            if any(k in word for k in ("etternavn", "surname", "last name", "family name")):
                col = SURNAMES[rng.integers(0, len(SURNAMES), size=n)]
            elif any(k in word for k in ("fornavn", "first name", "given name")):
                col = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), size=n)]
            elif any(k in word for k in ("telefon", "phone", "mobil", "tlf")):
                col = rng.integers(40_000_000, 100_000_000, size=n).astype(str).astype(object)
            elif "navn" in word or "name" in word:
                col = np.array(
                    [f"{a} {b}" for a, b in zip(FIRST_NAMES[rng.integers(0, 10, size=n)], SURNAMES[rng.integers(0, 10, size=n)])],
                    dtype=object,
                )
            else:
                col = np.array([f"tekst {k}" for k in rng.integers(1, 100, size=n)], dtype=object)
            out[var.name] = col
        else:
            out[var.name] = _draw(rng, low, var, n)
    return out


def simulate(compiled: Compiled, n: int, seed: int = 0, with_sample: bool = False) -> Simulated:
    """``n`` synthetic interviews (and, ``with_sample``, the sample they came from)."""
    low = compiled.lowered
    # separate streams: the data are the same with or without a sample file
    rng = np.random.default_rng([seed, 0])
    sample_rng = np.random.default_rng([seed, 1])
    ve = VectorEvaluator(low.variables, low.recodes, low.spec.derives)
    data_steps: list[Step] = [s for s in steps(low) if not s.in_intro]
    columns = [v for v in low.variables.values() if v.role in RESPONSE_ROLES]

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
    n_sample = n + n // 2
    sample: dict[str, Any] = {}
    if sample_vars and (with_sample or any(v.name in overrides for v in sample_vars) or _routing_reads_sample(low, data_steps)):
        sample = _sample_columns(sample_rng, low, ve, n_sample)
        for name, (rows, values) in overrides.items():
            if name in sample:
                _override(sample[name], rows, values, low.variables.get(name))
    table: dict[str, Any] = {name: col[:n] for name, col in sample.items()}

    ended = np.zeros(n, dtype=bool)
    disposition = np.full(n, np.nan)
    data: dict[str, Any] = {}
    rid = low.spec.respondent
    if rid is not None:
        ids = np.arange(1, n + 1)
        data[rid.name] = ids.astype(float) if rid.kind == "integer" else np.array([f"R{i:06d}" for i in ids], dtype=object)
    for step in data_steps:
        var = low.variables[step.name]
        col = _draw(rng, low, var, n)
        if step.name in overrides:
            rows, values = overrides[step.name]
            _override(col, rows, values, var)
        asked = ve.truth(step.guard, table, n) & ~ended
        _blank(col, ~asked)
        table[step.name] = data[step.name] = col
        for code, disp in step.ends:
            if col.ndim == 2:
                hit = asked & col[:, var.codes.index(code)]
            else:
                hit = asked & (col == code)
            disposition[hit & ~ended] = disp
            ended |= hit
    complete_code = _complete_code(low)
    if complete_code is not None:
        disposition[np.isnan(disposition)] = complete_code
    sim = Simulated(n, data, columns, witnesses=len(witnesses), disposition=disposition, per_branch=per_branch)
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


def _routing_reads_sample(low: Lowered, data_steps: list[Step]) -> bool:
    from kvpspec.lower import expr_refs

    sample = {v.name for v in low.variables.values() if v.role == "sample"}
    return any(s.guard is not None and set(expr_refs(s.guard)) & sample for s in data_steps)


# ---------------------------------------------------------------- CSV


def cells(var: Variable | None, col: Any) -> list[str]:
    """A column as CSV cells: codes and numbers as written, '' for no value."""
    if col.ndim == 2:
        codes = [str(c) for c in var.codes] if var is not None else []
        return [" ".join(c for c, on in zip(codes, row) if on) for row in col.tolist()]
    if col.dtype == object:
        return ["" if x is None else str(x) for x in col.tolist()]
    empty = np.isnan(col)
    whole = np.all(np.mod(col[~empty], 1) == 0) if (~empty).any() else True
    if whole:
        text = np.where(empty, 0, col).astype(np.int64).astype(str).astype(object)
    else:
        text = np.array([repr(round(float(x), 6)) for x in np.where(empty, 0, col)], dtype=object)
    text[empty] = ""
    return text.tolist()


def write_csv(path: str, names: list[str], columns: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(zip(*columns))


# ---------------------------------------------------------------- the command


@click.command("simulate")
@click.argument("spec", metavar="SPEC")
@click.option("-n", "count", type=click.IntRange(min=0), required=True, help="How many interviews.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same file).")
@click.option("-o", "--output", metavar="DATA.csv", required=True, help="Where to write the data.")
@click.option("--sample", "sample_path", metavar="SAMPLE.csv", help="Also write a sample file with dispositions.")
def simulate_command(spec: str, count: int, seed: int, output: str, sample_path: str | None) -> None:
    """Write N synthetic interviews that follow the routing of SPEC.

    The first rows take every route of the interview; the rest are random.
    Exit 0 on success, 1 when the spec has errors, 2 on usage or I/O errors.
    """
    from kvpspec.cli import EXIT_OK, _guard, _load, _usage_error

    @_guard
    def run() -> None:
        compiled, code = _load(spec)
        if compiled is None or code != EXIT_OK:
            sys.exit(code)
        sim = simulate(compiled, count, seed, with_sample=sample_path is not None)
        try:
            write_csv(output, [v.name for v in sim.columns], [cells(v, sim.data[v.name]) for v in sim.columns])
            if sample_path is not None:
                cols = sim.sample_columns
                write_csv(sample_path, [v.name for v in cols], [cells(v, sim.sample[v.name]) for v in cols])
        except OSError as exc:
            _usage_error(f"cannot write {exc.filename}: {exc.strerror or exc}")
        what = "branch (each condition both ways, each end)" if sim.per_branch else "route"
        note = f"; the first {sim.witnesses} take every {what}" if sim.witnesses else ""
        click.echo(f"wrote {count} interviews to {output}{note}", err=True)
        if sample_path is not None:
            click.echo(f"wrote {sim.n_sample} sample records to {sample_path}", err=True)

    run()
