"""The codebook: every variable with its codes, labels, missing codes and range."""

from __future__ import annotations

from typing import Any

from kvpspec.compile import Compiled


def codebook(c: Compiled, language: str | None = None) -> dict[str, Any]:
    """``{"survey", "version", "variables": [...]}`` in interview order.

    Response variables come first (questions, grid items, specify texts), then
    recodes and derived variables, then the sample fields; the intro's screener
    questions route the call and are not data, so they are not listed.
    A column unrolled from a roster names its innermost roster and its
    iterations, outer first (``c5_3_2``: ``"job"``, ``[3, 2]``); other
    variables have ``null`` and ``[]``.
    """
    variables = []
    for v in c.lowered.codebook_variables():
        variables.append(
            {
                "name": v.name,
                "label": v.label.get(language),
                "type": v.type,
                "values": {str(code): text.get(language) for code, text in v.values},
                "missing": [str(code) for code, _ in v.missing],
                "min": v.min,
                "max": v.max,
                "personal": v.personal,
                "role": v.role,
                "roster": v.roster,
                "iteration": list(v.iteration),
            }
        )
    return {"survey": c.spec.name, "version": c.version, "variables": variables}
