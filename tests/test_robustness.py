"""Whatever the input, kvpspec answers with diagnostics, never a traceback."""

from __future__ import annotations

import random

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kvpspec.cli import cli
from kvpspec.compile import compile_text
from kvpspec.diagnostics import SpecError
from kvpspec.syntax.parser import decode

from conftest import KVP

KVP_TEXT = KVP.read_text(encoding="utf-8")
KVP_LINES = KVP_TEXT.splitlines(keepends=True)
TOKENS = ['"', "{", "}", "(", ")", "[", "]", "..", "->", "==", "=", "#", "@en", "q1", "99",
          "question", "scale", "if", "goto", "end", "missing", "read", "\n", "\x00", "\ufeff", "é"]


def compiles_or_diagnoses(text: str) -> None:
    try:
        compiled = compile_text(text, "fuzz.survey")
    except SpecError as exc:
        assert exc.diagnostics, "a SpecError must carry diagnostics"
        for d in exc.diagnostics:
            assert d.line >= 0 and d.message
        return
    for d in compiled.diagnostics:
        assert d.message and d.code


@given(st.text(max_size=400))
def test_any_text(text: str) -> None:
    compiles_or_diagnoses(text)


@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    try:
        text = decode(data, "fuzz.survey")
    except SpecError as exc:
        assert exc.diagnostics[0].code == "encoding"
        return
    compiles_or_diagnoses(text)


@st.composite
def kvp_mutations(draw) -> str:
    lines = list(KVP_LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate", "replace"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            lines[i] = line[:k] + draw(st.sampled_from(TOKENS)) + line[k:]
        elif op == "truncate":
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
        else:
            line = lines[i]
            if line.strip():
                k = draw(st.integers(0, len(line) - 1))
                lines[i] = line[:k] + draw(st.sampled_from(TOKENS)) + line[k + 1 :]
        if not lines:
            break
    return "".join(lines)


@settings(max_examples=150)
@given(kvp_mutations())
def test_kvp_mutations(text: str) -> None:
    compiles_or_diagnoses(text)


def test_deep_nesting_is_refused_cleanly() -> None:
    deep = 'survey s "S"\ninterview {\n' + "if true {\n" * 500 + "}\n" * 500 + "}\n"
    try:
        compile_text(deep)
    except SpecError as exc:
        assert exc.diagnostics[0].code == "too-deep"
    else:  # pragma: no cover
        raise AssertionError("expected too-deep")
    parens = 'survey s "S"\nderive x = ' + "(" * 5000 + "1" + ")" * 5000 + "\n"
    try:
        compile_text(parens)
    except SpecError as exc:
        assert exc.diagnostics[0].code == "too-deep"


def test_long_operator_chains() -> None:
    chain = 'survey s "S"\nderive x = ' + " + ".join(["1"] * 3000) + "\nderive y = " + " and ".join(["true"] * 3000) + "\n"
    compiles_or_diagnoses(chain)


def test_cli_on_random_mutations(tmp_path) -> None:
    runner = CliRunner()
    rng = random.Random(2009)
    for n in range(25):
        lines = list(KVP_LINES)
        for _ in range(3):
            i = rng.randrange(len(lines))
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)] + rng.choice(TOKENS)
        path = tmp_path / f"m{n}.survey"
        path.write_text("".join(lines), encoding="utf-8")
        result = runner.invoke(cli, ["check", str(path)], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output


def test_sum_of_many_terms_is_fine() -> None:
    text = 'survey s "S"\ninterview { question a integer "A" { range 0..9 } }\nderive x "X" = ' + " + ".join(["a"] * 150) + "\n"
    assert compile_text(text).ok
