"""Docstring examples run as tests."""

from __future__ import annotations

import doctest

import pytest

import kvpspec.expr
import kvpspec.fmt


@pytest.mark.parametrize("module", [kvpspec.expr, kvpspec.fmt])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
