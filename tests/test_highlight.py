"""Syntax highlighting: the Pygments lexer (entry point ``kvpspec``) and the
TextMate grammar of the VS Code extension, checked with vscode-textmate under
Node.js on the KVP spec, the test specs and the docs' examples."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CASES, HOUSEHOLD, KVP, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Error, Keyword, Name, Operator, String
from specgen import specs

from kvpspec.authoring.highlight import SurveyLexer
from kvpspec.authoring.tokens import DECLARING, KINDS_OF_QUESTION, keywords
from kvpspec.diagnostics import SpecError
from kvpspec.syntax.parser import parse_text

VSCODE = ROOT / "editors" / "vscode"
FENCE = re.compile(r"```(?:survey|kvpspec)\n(.*?)```", re.DOTALL)


def _parses(path: Path) -> bool:
    try:
        parse_text(path.read_text(encoding="utf-8"))
    except SpecError:
        return False
    return True


#: the specs whose words are all the language's: everything that parses
SPECS = [KVP, HOUSEHOLD] + sorted(p for p in CASES.rglob("*.survey") if _parses(p))


def _doc_examples(tmp: Path) -> list[Path]:
    out = []
    for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for i, mo in enumerate(FENCE.finditer(doc.read_text(encoding="utf-8"))):
            path = tmp / f"{doc.stem}-{i}.survey"
            path.write_text(mo.group(1), encoding="utf-8")
            out.append(path)
    return out


def test_entry_point() -> None:
    assert isinstance(get_lexer_by_name("kvpspec"), SurveyLexer)
    assert isinstance(get_lexer_for_filename("kvp2009.survey"), SurveyLexer)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_pygments_no_error_token(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tokens = list(SurveyLexer().get_tokens_unprocessed(text))
    assert [v for _, kind, v in tokens if kind is Error] == []
    assert "".join(v for _, _, v in tokens) == text


def test_pygments_docs_examples(tmp_path: Path) -> None:
    examples = _doc_examples(tmp_path)
    assert len(examples) > 20
    for path in examples:
        errors = [v for _, kind, v in SurveyLexer().get_tokens_unprocessed(path.read_text()) if kind is Error]
        assert errors == [], path.name


def test_pygments_colours() -> None:
    tokens = list(SurveyLexer().get_tokens('question q1 single "Snakker jeg med {navn}?" { 1 "Ja" }\n"open'))
    kinds = {v: k for k, v in tokens}
    assert kinds["question"] is Keyword
    assert kinds["q1"] is Name.Variable
    assert kinds["{navn}"] is String.Interpol
    assert kinds['"open'] is Error


def test_pygments_colours_rosters_aggregates_and_conditionals() -> None:
    text = (
        'roster person "P" for 1..antall max 12 { question alder integer "Alder?" }\n'
        "derive n = count(alder < 18 over person) + max (a, missing)\n"
        'derive h = if a > 1 then 1 else missing\nerror e "x" if a > 1\n'
        'question q single "Q" { 9 "Nekter" missing refused }\n'
    )
    tokens = [(k, v) for _, k, v in SurveyLexer().get_tokens_unprocessed(text) if v.strip()]
    kinds: dict[str, object] = {}
    for k, v in tokens:
        kinds.setdefault(v, k)  # the first occurrence of each word
    assert kinds["roster"] is Keyword and kinds["person"] is Name.Variable and kinds["for"] is Keyword
    assert kinds["count"] is Name.Builtin and kinds["over"] is Operator.Word
    assert [k for k, v in tokens if v == "max"] == [Keyword, Name.Builtin]  # roster's `max N`, then a call
    assert [k for k, v in tokens if v == "missing"] == [Keyword.Constant, Keyword.Constant, Keyword]
    assert kinds["then"] is Keyword and kinds["error"] is Keyword and kinds["e"] is Name.Variable


# ---------------------------------------------------------------- TextMate


def test_textmate_keywords_are_the_grammars() -> None:
    grammar = json.loads((VSCODE / "syntaxes" / "kvpspec.tmLanguage.json").read_text(encoding="utf-8"))
    repo = grammar["repository"]
    words = set(re.findall(r"[a-z_]+", repo["keyword"]["match"])) | set(
        re.findall(r"[a-z_]+", repo["declaration"]["match"].split(")")[0])
    ) | set(re.findall(r"[a-z_]+", repo["constant"]["match"] + repo["word-operator"]["match"]))
    assert (keywords() | KINDS_OF_QUESTION | DECLARING) <= words


@pytest.fixture(scope="module")
def textmate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the extension's grammar checker and vscode-textmate installed from npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and npm are needed to check the TextMate grammar")
        pytest.skip("Node.js and npm are not installed")
    folder = tmp_path_factory.mktemp("vscode")
    shutil.copytree(VSCODE / "syntaxes", folder / "syntaxes")
    shutil.copy(VSCODE / "check-grammar.js", folder)
    (folder / "package.json").write_text('{"name": "grammar-check", "private": true}', encoding="utf-8")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "vscode-textmate@^9.2.0", "vscode-oniguruma@^2.0.1"],
        cwd=folder, check=True, capture_output=True, timeout=300,
    )
    return folder


def _tokenize(folder: Path, paths: list[Path]) -> dict:
    proc = subprocess.run(
        ["node", str(folder / "check-grammar.js"), *map(str, paths)],
        capture_output=True, text=True, encoding="utf-8", check=True, timeout=120,
    )
    return json.loads(proc.stdout)


def test_textmate_no_invalid_token(textmate: Path, tmp_path: Path) -> None:
    paths = SPECS + _doc_examples(tmp_path)
    result = _tokenize(textmate, paths)
    assert {f: r["invalid"] for f, r in result.items() if r["invalid"]} == {}
    scopes = result[str(KVP)]["scopes"]
    assert scopes["survey"] == "keyword.other.declaration.kvpspec"
    assert scopes["kvp2009"] == "entity.name.kvpspec"
    assert scopes["interview"] == "keyword.control.kvpspec"
    assert scopes["@en"] == "entity.other.attribute-name.language.kvpspec"
    assert scopes["{navn}"] == "variable.other.fill.kvpspec"
    assert scopes["dont_know"] == "constant.language.kvpspec"
    scopes = result[str(HOUSEHOLD)]["scopes"]
    assert scopes["roster"] == "keyword.other.declaration.kvpspec"
    assert scopes["person"] == "entity.name.kvpspec"
    assert scopes["for"] == "keyword.control.kvpspec"
    assert scopes["count"] == "support.function.builtin.kvpspec"
    assert scopes["over"] == "keyword.operator.word.kvpspec"


def test_textmate_marks_what_is_not_the_language(textmate: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.survey"
    bad.write_text('survey s "S"\ninterview { question spørsmål "Q?" }\n', encoding="utf-8")
    invalid = _tokenize(textmate, [bad])[str(bad)]["invalid"]
    assert {line for line, _ in invalid} == {2}
    assert "ø" in {text for _, text in invalid}


# ---------------------------------------------------------------- hostile input

_PIECES = st.sampled_from(['"', '"""', "#", "\\", "{", "}", "{{", "\n", "\r\n", "\ufeff", "ø", "😀", "..", "-",
                           "@en", "1.5", "q1", "question", " ", "\x00", "\t"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=30).map("".join))
def test_pygments_never_raises_and_keeps_every_character(text: str) -> None:
    """Unclosed strings, stray triple quotes, comments, NULs: the lexer yields tokens that cover the text."""
    tokens = list(SurveyLexer().get_tokens_unprocessed(text))
    assert "".join(value for _, _, value in tokens) == text
    assert [offset for offset, _, _ in tokens] == sorted(offset for offset, _, _ in tokens)


@settings(max_examples=50, deadline=None)
@given(specs())
def test_pygments_no_error_token_on_generated_specs(text: str) -> None:
    """A spec that parses has no Error token, whatever its labels hold (quotes, `#`, fills, non-ASCII)."""
    parse_text(text)
    assert [v for _, kind, v in SurveyLexer().get_tokens_unprocessed(text) if kind in Error] == []
