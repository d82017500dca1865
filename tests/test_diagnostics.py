"""The bad-spec corpus: each file under tests/cases/errors/ writes the diagnostics
it expects as comments on the offending line, in the style of mypy's test data:

    question q1 "x" scale enigg   # E: unknown scale `enigg`; did you mean `enig`? [undefined-ref]

``# E:`` is an error, ``# W:`` a warning; the message must match exactly. A line
may carry several, separated by ``  # E:``. A file with no expectations must be
clean.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvpspec.compile import compile_file
from kvpspec.diagnostics import SpecError

from conftest import CASES

EXPECT_RE = re.compile(r"#\s*([EW]):\s*(.*?)\s*\[([a-z-]+)\]\s*(?=#\s*[EW]:|$)")
FILES = sorted((CASES / "errors").glob("*.survey"))


def expected(path: Path) -> list[tuple[int, str, str, str]]:
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for kind, message, code in EXPECT_RE.findall(line):
            out.append((lineno, "error" if kind == "E" else "warning", code, message))
    return out


def actual(path: Path) -> list[tuple[int, str, str, str]]:
    try:
        diags = compile_file(path).diagnostics
    except SpecError as exc:
        diags = exc.diagnostics
    return [(d.line, d.severity, d.code, d.message) for d in diags]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_expected_diagnostics(path: Path) -> None:
    assert sorted(actual(path)) == sorted(expected(path))


def test_corpus_is_not_empty() -> None:
    assert len(FILES) >= 10
