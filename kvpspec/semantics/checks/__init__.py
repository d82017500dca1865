"""Semantic checks: everything the grammar cannot see, reported all at once.

Each check appends diagnostics with a stable code from ``diagnostics.CODES``;
none stops the others. The checks read the author's model, the lowered
variables and the routing facts, one module per topic:

    names      every declared name once
    questions  scales and questions
    routing    conditions, gotos, ends; the static routing analysis
    length     the interview's length against the minutes promised
    recodes    recodes and derived variables
    analyses   fieldwork, expectations and soft checks, analyses
    texts      fills and documents
    messages   the fills of soft and hard checks' messages
    rosters    rosters' counts, maximums and unrolled names

``check`` is the one entry point.
"""

from __future__ import annotations

from collections.abc import Iterable

from kvpspec.diagnostics import Diagnostic
from kvpspec.semantics.checks import (
    analyses,
    length,
    messages,
    names,
    questions,
    recodes,
    rosters,
    routing,
    texts,
)
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.lower import Lowered


def check(low: Lowered, file: str, prior: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """Run every semantic check on a lowered spec; diagnostics sorted by position.

    ``prior`` are the diagnostics found while parsing: when one is an error, the
    static routing analysis (which evaluates conditions) is left out, as it is
    when a check here finds an error.
    """
    ctx = Context(low, file)
    names.check_names(ctx)
    questions.check_scales(ctx)
    questions.check_questions(ctx)
    routing.check_routing(ctx)
    analyses.check_fieldwork(ctx)
    recodes.check_recodes(ctx)
    recodes.check_derives(ctx)
    analyses.check_data_rules(ctx)
    analyses.check_analyses(ctx)
    texts.check_documents(ctx)
    texts.check_fills(ctx)
    messages.check_messages(ctx)
    rosters.check_rosters(ctx)
    clean = not any(d.severity == "error" for d in prior)
    if clean and not any(d.severity == "error" for d in ctx.diags):
        routing.check_routing_facts(ctx)
        length.check_length(ctx)
    diags = ctx.diags
    if ctx.low.rosters:
        # a roster's body is checked once per iteration: report each problem once
        seen: set[tuple[str, int, int, int, int]] = set()
        diags = []
        for d in ctx.diags:
            key = (d.code, d.line, d.column, d.end_line, d.end_column)
            if key not in seen:
                seen.add(key)
                diags.append(d)
    return sorted(diags, key=lambda d: d.sort_key)
