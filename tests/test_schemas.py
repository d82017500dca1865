"""The JSON Schema and the Table Schema of the response data."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from kvpspec.compile import compile_file, compile_text
from kvpspec.data.schemas import json_schema, table_schema

from conftest import GOLDENS, KVP, check_golden


@pytest.fixture(scope="module")
def kvp():
    return compile_file(KVP)


def test_json_schema_is_valid_2020_12(kvp) -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema(kvp).schema)


def test_table_schema_is_valid_v2(kvp) -> None:
    profile = json.loads(resources.files("dplib").joinpath("profiles/2.0/tableschema.json").read_text())
    jsonschema.Draft7Validator(profile).validate(table_schema(kvp))


def test_goldens(kvp, update_goldens) -> None:
    check_golden(
        GOLDENS / "kvp2009.schema.json",
        json.dumps(json_schema(kvp).schema, ensure_ascii=False, indent=2) + "\n",
        update_goldens,
    )
    check_golden(
        GOLDENS / "kvp2009.tableschema.json",
        json.dumps(table_schema(kvp), ensure_ascii=False, indent=2) + "\n",
        update_goldens,
    )


def test_kvp_routing_is_fully_expressed(kvp) -> None:
    assert json_schema(kvp).unsupported == []


def base_record() -> dict:
    record = {"lopenr": 1, "q1": 1, "q2": 4, "q3": 99, "q4": 1, "q5": 2, "q6a": 1, "q6b": 5,
              "q7": 2, "q9": 1, "q11": 40, "q12": 2}
    record |= {f"q8{c}": 1 for c in "abcdefghi"} | {f"q10{c}": 2 for c in "abcdef"}
    return record


def test_records(kvp) -> None:
    validator = jsonschema.Draft202012Validator(json_schema(kvp).schema)
    assert validator.is_valid(base_record())
    assert validator.is_valid(base_record() | {"q4": 2, "q4_other": "Sverige"})
    assert not validator.is_valid(base_record() | {"q4": 2})  # asked, left empty
    assert not validator.is_valid(base_record() | {"q4_other": "Sverige"})  # skipped, answered
    assert validator.is_valid(base_record() | {"q4_other": None})
    assert not validator.is_valid(base_record() | {"q3": 75})  # outside range, not a missing code
    assert not validator.is_valid(base_record() | {"q1": 8})  # not a code
    assert not validator.is_valid({k: v for k, v in base_record().items() if k != "q7"})


def test_unsupported_conditions_are_said(tmp_path) -> None:
    compiled = compile_text(
        'survey s "S"\ninterview {\n  question a integer "A" {\n    range 0..9\n  }\n'
        '  question b integer "B" {\n    range 0..9\n  }\n  question c text "C" {\n    ask if a > b\n  }\n}\n'
    )
    result = json_schema(compiled)
    assert result.unsupported == ["c: `a > b` (compares two expressions)"]
    assert "cannot express" in result.schema["properties"]["c"]["$comment"]
