"""Diagnostics: one error family, one registry of codes, one printer.

A diagnostic is printed as ``path:line:col: error: message [code]`` followed by
the source line and a ``^~~~`` marker under the offending text (mypy's
``--pretty``). Every code a user can see is listed in ``CODES`` with a one-line
description; ``docs/language.md`` lists the same table.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

#: Every diagnostic code, with what it means. Stable: tools and tests match on it.
CODES: dict[str, str] = {
    # reading and syntax
    "io": "the file cannot be read",
    "encoding": "the file is not valid UTF-8",
    "empty": "the file holds no spec",
    "syntax": "the text does not follow the grammar",
    "unclosed-string": "a string is not closed on its line",
    "unclosed-block": "a `{` has no matching `}`",
    "unknown-keyword": "a word that is not a keyword stands where a keyword must",
    "missing-code": "an option or rule has a label but no code",
    "too-deep": "blocks or parentheses nest deeper than the limit",
    # declarations
    "duplicate": "a name, code or declaration is given twice",
    "unknown-field": "a study field that does not exist",
    "bad-value": "a value of the wrong form (date, kind, e-mail, ...)",
    "undefined-ref": "a reference to a name that is not declared",
    # questions and scales
    "no-options": "a choice question without options or scale",
    "options-and-scale": "a question with both a scale and its own options",
    "bad-range": "a range whose low end is above its high end",
    "range-kind": "a range on a question that is not numeric",
    "code-not-in-scale": "a code that the question or scale does not have",
    "missing-in-range": "a missing code inside the valid range of a numeric question",
    "read-unknown-code": "read-aloud names an option that does not exist",
    "specify-kind": "a specify follow-up on a question without options",
    "recorded-condition": "a recorded item cannot have read-aloud options",
    "option-flag": "an option flag where it cannot work (goto on a scale, exclusive on single choice)",
    # routing
    "forward-ref": "routing refers to a question not yet asked",
    "self-ref": "a question's condition refers to itself",
    "goto-backward": "a goto that jumps back would ask questions twice (a cycle)",
    "goto-into-block": "a goto into an `if` or `else` block",
    "end-disposition": "an early end names a disposition that is not declared",
    # rosters
    "roster-start": "a roster that does not count from 1",
    "roster-count": "a roster's count that is not an integer question asked before it",
    "roster-max": "a roster without `max`, or whose count can pass it",
    "roster-size": "a roster that unrolls to too many columns (10,000 per roster, 100,000 in all)",
    "roster-name": "a roster named like a variable or another roster",
    "roster-column": "a declared name that is also a column unrolled from a roster",
    "roster-scope": "a roster's variable used outside it without an aggregate",
    "roster-analysis": "an analysis of a roster's variable without `over` its roster, or crossing two rosters",
    "cycle": "derived variables that depend on each other in a cycle",
    "unreachable": "a question that no interview can reach",
    "always-false": "a routing condition that no interview can make true",
    # expressions
    "type": "an expression whose operands have the wrong type",
    "unknown-test": "an `is` test that does not exist",
    "unknown-function": "a call to a function that does not exist",
    "no-operand": "an aggregate (`count`, `sum`, `min`, `max`, `any`, `all`) with nothing to aggregate",
    # recodes
    "recode-overlap": "two rules of a recode map the same value",
    "recode-gap": "a value of the source that no rule maps",
    "recode-source": "a recode over a variable it cannot recode",
    # fieldwork and analyses
    "aapor": "an AAPOR category or rate that does not exist",
    "personal-data": "a personal-data sample field used in analysis or recode",
    "analysis-var": "an analysis over a variable that cannot be tabulated",
    "no-disposition": "response rates analysed without a sample field `disposition`",
    "chart-kind": "a chart kind that does not fit its statement or variables",
    "fill": "a fill that names an unknown field",
    # warnings
    "unused-scale": "a scale that no question uses",
    "always-true": "a routing condition that holds in every interview",
    "too-long": "an interview longer than the minutes the study promises",
    "roster-unbounded": "a roster's count question without a range",
    # exchange
    "unsupported": "a construct an export or import format cannot carry (reported, never dropped)",
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    file: str = "<spec>"
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    severity: Severity = "error"
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        assert self.code in CODES, f"unregistered diagnostic code {self.code!r}"

    @classmethod
    def at(cls, span, code: str, message: str, severity: Severity = "error") -> Diagnostic:
        """A diagnostic at a span (anything with file, line, column, end_line, end_column)."""
        return cls(
            code=code,
            message=message,
            file=span.file,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
            severity=severity,
        )

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.code)

    def headline(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.code}]"


class KvpspecError(Exception):
    """The base of every error kvpspec raises for a person to read.

    Library functions raise these; only ``kvpspec.cli`` turns them into
    messages and exit codes.
    """


class InputError(KvpspecError):
    """A file or an argument that cannot be used: unreadable, unwritable, unknown (exit 2)."""


class SpecError(KvpspecError):
    """Raised when a spec cannot be turned into a model; carries the diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: d.sort_key)
        super().__init__("\n".join(d.headline() for d in self.diagnostics))


def number_text(x: object) -> str:
    """A number as a message shows it: ``3`` for 3.0, ``2.5``, nothing for no value."""
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` ; did you mean `x`?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def render(diag: Diagnostic, source: str | None) -> str:
    """The headline, the offending source line and a caret under the span."""
    out = [diag.headline()]
    if source is not None and diag.line > 0:
        lines = source.splitlines()
        if diag.line <= len(lines):
            text = lines[diag.line - 1].replace("\t", " ")
            out.append("    " + text)
            start = max(diag.column, 1)
            if diag.end_line == diag.line and diag.end_column > start:
                width = diag.end_column - start
            else:
                width = max(1, len(text) - start + 1) if diag.end_line > diag.line else 1
            width = max(1, min(width, max(1, len(text) - start + 1)))
            out.append("    " + " " * (start - 1) + "^" + "~" * (width - 1))
    for note in diag.notes:
        out.append(f"    note: {note}")
    return "\n".join(out)
