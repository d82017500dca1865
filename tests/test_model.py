"""The parser builds nodes without validation for speed; prove they are valid."""

from __future__ import annotations

from kvpspec import model as m
from kvpspec.syntax.parser import parse_file

from conftest import KVP


def test_kvp_model_validates_against_its_schema() -> None:
    spec = parse_file(KVP).spec
    data = spec.model_dump(mode="json")
    again = m.Spec.model_validate(data)
    assert again.model_dump(mode="json") == data


def test_nodes_are_frozen_and_have_spans() -> None:
    spec = parse_file(KVP).spec
    q1 = next(i for i in spec.interview.items if getattr(i, "name", None) == "q1")
    assert q1.span is not None and q1.span.line > 1 and q1.span.file.endswith("kvp2009.survey")
    try:
        q1.name = "x"  # type: ignore[misc]
    except Exception:
        pass
    else:  # pragma: no cover
        raise AssertionError("model nodes must be frozen")
    assert "span" not in q1.model_dump()
