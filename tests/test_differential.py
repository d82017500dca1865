"""One meaning, three renderings: on generated interviews, valid and with one
planted fault, the interpreter (via ``kvpspec.testing``), the vectorised
validator and the exported JSON Schema give the same verdict."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvpspec.compile import compile_file
from kvpspec.data.reader import open_data
from kvpspec.data.schemas import data_variables, json_schema
from kvpspec.synth.strategies import cases, defective_cases, spec_model
from kvpspec.data.validate import validate

from conftest import CASES, HOUSEHOLD, KVP

SPECS = {
    "kvp2009": KVP,
    "routing": CASES / "build" / "routing.survey",
    # three-valued logic: `not`, `not in` and `or` over questions that may be unasked (issue 11)
    "three_valued": CASES / "three_valued.survey",
    # rosters (nested, over a fixed list), aggregates and hard checks at real size
    "household": HOUSEHOLD,
}


class Renderings:
    def __init__(self, path: Path):
        self.compiled = compile_file(path)
        self.model = spec_model(self.compiled)
        self.columns = [v.name for v in data_variables(self.compiled)]
        self.id = self.compiled.spec.respondent.name if self.compiled.spec.respondent else None
        self.schema = jsonschema.Draft202012Validator(json_schema(self.compiled).schema)


RENDERINGS = {name: Renderings(path) for name, path in SPECS.items()}


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, frozenset):
        return " ".join(str(c) for c in sorted(value))
    return str(value)


def json_record(r: Renderings, record: dict) -> dict:
    out = {}
    for name in r.columns:
        value = record.get(name)
        if isinstance(value, frozenset):
            value = sorted(value)
        if value is not None:
            out[name] = value
    return out


def tripped_hard_checks(r: Renderings, record: dict) -> set[str]:
    """The rules ``error:NAME`` of the hard checks whose condition is true on ``record`` (the interpreter)."""
    row = r.model.evaluator.complete(record)
    return {f"error:{w.name}" for w in r.model.low.spec.warnings
            if w.hard and r.model.evaluator.truth(w.condition, row) is True}


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=25)
@given(data=st.data())
def test_same_verdicts(name: str, data) -> None:
    r = RENDERINGS[name]
    good = data.draw(st.lists(cases(r.compiled), min_size=1, max_size=8), label="valid")
    bad = data.draw(st.lists(defective_cases(r.compiled), min_size=1, max_size=8), label="defective")
    records = [(c.record, None) for c in good] + [(c.record, d) for c, d in bad]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(r.columns)
            for i, (record, _) in enumerate(records, start=1):
                record = dict(record)
                if r.id:
                    record[r.id] = i
                writer.writerow([cell(record.get(c)) for c in r.columns])
        report = validate(r.compiled, open_data(path))
    unchecked = {w.column for w in report.warnings if w.rule == "routing-unchecked"}
    found: dict[int, set] = {}
    for f in report.errors:
        found.setdefault(f.row, set()).add((f.column, f.rule))
    for i, (record, defect) in enumerate(records, start=1):
        row = i + 1
        expected = set() if defect is None else {(defect.column, defect.validator_rule)}
        # hard checks: the interpreter says which a routing-valid interview trips, validate reports each
        # (`error:NAME`, at the question where it fires); a planted defect may change what they read
        hard = {(c, rule) for c, rule in found.get(row, set()) if rule.startswith("error:")}
        if defect is None:
            assert {rule for _, rule in hard} == tripped_hard_checks(r, record), (row, record)
        found[row] = found.get(row, set()) - hard
        routed = defect is not None and defect.column in unchecked and defect.validator_rule in (
            "asked-empty", "skipped-answered"
        )
        if routed:
            expected = set()  # the data cannot tell; the validator says so once
        assert found.get(row, set()) == expected, (row, record, defect)
        if r.id:
            record = dict(record) | {r.id: i}
        schema_ok = r.schema.is_valid(json_record(r, record))
        if not unchecked:
            assert schema_ok == (defect is None), (record, defect)
