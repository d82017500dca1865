"""The language reference lists every diagnostic code, and its examples parse."""

from __future__ import annotations

import re

import pytest

from kvpspec.diagnostics import CODES
from kvpspec.syntax.parser import parse_text

from conftest import ROOT

LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_documented(code: str) -> None:
    assert f"| `{code}` | {CODES[code]} |" in LANGUAGE


def blocks(text: str) -> list[str]:
    return re.findall(r"```survey\n(.*?)```", text, re.S)


@pytest.mark.parametrize("doc", ["language", "guide"])
def test_complete_examples_parse(doc: str) -> None:
    text = LANGUAGE if doc == "language" else GUIDE
    complete = [b for b in blocks(text) if b.lstrip().startswith("survey ")]
    assert complete, "the docs should show complete specs"
    for block in complete:
        parse_text(block)


def test_every_keyword_is_listed() -> None:
    grammar = (ROOT / "kvpspec" / "syntax" / "grammar.lark").read_text(encoding="utf-8")
    words = set(re.findall(r'"([a-z_]+)"', grammar))
    block = LANGUAGE[LANGUAGE.index("**Keywords.**") : LANGUAGE.index("A keyword is only special")]
    assert sorted(words - set(block.split())) == []
