"""The compiler is re-entrant: specs compiled in many threads at once give exactly
what a sequential run gives (the model, its spans, comments and diagnostics)."""

from __future__ import annotations

import gc
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, HOUSEHOLD, KVP

from kvpspec import model as m
from kvpspec.compile import compile_file, compile_text
from kvpspec.diagnostics import SpecError
from kvpspec.syntax.parser import parse_expr, parse_file

SPECS = [KVP, HOUSEHOLD, *sorted(CASES.rglob("*.survey"))]
THREADS = 8
ROUNDS = 3


def _spans(node: m.Node) -> list[tuple[str, m.Span | None]]:
    """Every node's class and span, depth first: a span naming another file shows here."""
    out = [(type(node).__name__, node.span)]
    for name in type(node).model_fields:
        value = getattr(node, name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, m.Node):
                out.extend(_spans(child))
    return out


def snapshot(path: Path) -> tuple[Any, ...]:
    """All that compiling one file yields, in a form that compares with ``==``."""
    try:
        compiled = compile_file(path)
    except SpecError as exc:
        return ("error", exc.diagnostics)
    result = compiled.result
    return (
        compiled.ir(),
        _spans(compiled.spec),
        [(c.line, c.column, c.text) for c in result.comments],
        compiled.diagnostics,
        sorted(compiled.lowered.variables),
    )


def test_corpus_is_large_enough() -> None:
    # the test below proves little on a handful of files
    assert len(SPECS) > 40


def test_parallel_compiles_equal_sequential() -> None:
    sequential = {path: snapshot(path) for path in SPECS}
    # switch threads often, so parses interleave inside the parser and the checks
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            for _ in range(ROUNDS):
                work = [path for path in SPECS for _ in range(2)]
                for path, got in zip(work, pool.map(snapshot, work)):
                    assert got == sequential[path], f"{path} differs when compiled in threads"
    finally:
        sys.setswitchinterval(old)


COLD = """
import sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, sys.argv[1])
from test_threads import SPECS, THREADS, snapshot
sys.setswitchinterval(1e-5)
with ThreadPoolExecutor(THREADS) as pool:
    parallel = list(pool.map(snapshot, SPECS))
sequential = [snapshot(path) for path in SPECS]
bad = [str(p) for p, a, b in zip(SPECS, parallel, sequential) if a != b]
sys.exit("differ in threads: " + ", ".join(bad) if bad else 0)
"""


def test_parallel_compiles_in_a_fresh_process() -> None:
    # the first parses of a process load the grammar and build the model classes
    # (pydantic defers that to first use): threads must not trip over each other there
    here = str(Path(__file__).parent)
    run = subprocess.run([sys.executable, "-c", COLD, here], capture_output=True, text=True, cwd=here)
    assert run.returncode == 0, run.stderr[-2000:]


def test_parse_expr_in_threads() -> None:
    texts = [f"q{i} == {i} and (q{i + 1} > {i} or q{i + 2} is missing)" for i in range(200)]
    sequential = [parse_expr(t, f"<expr {i}>") for i, t in enumerate(texts)]
    with ThreadPoolExecutor(THREADS) as pool:
        parallel = list(pool.map(lambda it: parse_expr(it[1], f"<expr {it[0]}>"), enumerate(texts)))
    assert parallel == sequential
    assert [e.span.file if e.span else None for e in parallel] == [f"<expr {i}>" for i in range(200)]


def test_a_failed_parse_leaves_nothing_behind() -> None:
    # a syntax error stops a parse midway: its comments and open brackets stay with it
    outer = parse_file(KVP)
    with pytest.raises(SpecError):
        compile_text('survey s "S" # note\ninterview { question q "Q" {', "<broken>")
    again = parse_file(KVP)
    assert again.comments == outer.comments
    assert again.diagnostics == outer.diagnostics


def test_compiling_gives_the_collector_back() -> None:
    assert gc.isenabled()
    compile_file(KVP)
    assert gc.isenabled()
    with pytest.raises(SpecError):
        compile_text("survey s { nonsense", "<broken>")
    assert gc.isenabled()
    gc.disable()
    try:
        compile_file(KVP)
        assert not gc.isenabled()  # the previous state, not "on"
    finally:
        gc.enable()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(compile_file, [KVP] * 16))
    assert gc.isenabled()
