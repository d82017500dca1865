"""Docstring examples run as tests."""

from __future__ import annotations

import doctest

import pytest

import kvpspec.semantics.expr
import kvpspec.syntax.formatter


@pytest.mark.parametrize("module", [kvpspec.semantics.expr, kvpspec.syntax.formatter])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
