"""`kvpspec check` reports what `kvpspec build` will refuse (issue 10, item 17): a spec that
checks clean is never refused by a generator (GeneratorError), and the one case found
(response rates analysed without a sample field `disposition`) is a located diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.analysis import analysis_source
from kvpspec.compile import compile_file, compile_text
from kvpspec.diagnostics import SpecError

from conftest import CASES, HOUSEHOLD, KVP

SPECS = sorted([KVP, HOUSEHOLD, *CASES.glob("**/*.survey")])

NO_DISPOSITION = '''survey demo "Rates without a disposition field"
interview {
  question q1 single "Er du i jobb?" { 1 "Ja" 2 "Nei" }
}
fieldwork {
  sample { field kommune text "Kommune" }
  dispositions { 1 "Fullført" aapor I  2 "Nekt" aapor R }
  rate svarprosent "Svarprosent" = count(1) / count()
}
analysis tabell1 "Svar" {
  rate svarprosent
}
'''


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(Path(p).relative_to(Path(KVP).parent.parent)))
def test_a_spec_that_checks_clean_generates_its_analysis(path: Path) -> None:
    try:
        compiled = compile_file(path)
    except SpecError:
        return  # refused by check: nothing to build
    if any(d.severity == "error" for d in compiled.diagnostics):
        return
    analysis_source(compiled)  # raises GeneratorError when build would refuse it


def test_rates_without_a_disposition_field_are_refused_by_check() -> None:
    try:
        diagnostics = compile_text(NO_DISPOSITION, "demo.survey").diagnostics
    except SpecError as exc:
        diagnostics = exc.diagnostics
    [d] = [d for d in diagnostics if d.severity == "error"]
    assert (d.code, d.line) == ("no-disposition", 11)
    fixed = NO_DISPOSITION.replace(
        'field kommune text "Kommune" }', 'field kommune text "Kommune"  field disposition single "Status" }'
    )
    analysis_source(compile_text(fixed, "demo.survey"))
