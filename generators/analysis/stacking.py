"""Roster variables stacked over their iterations, for ``frequencies c2 over child``.

The analysis generator copies this module's source, from the marker line on, into
an ``analysis.py`` after the runtime, only when the spec analyses a roster variable
(so the analyses of specs without one are unchanged to the byte). Above the marker,
the runtime's names are imported for linting and type-checking only.
"""

from __future__ import annotations

import pandas as pd

from generators.analysis.runtime import Survey, Table, crosstab, frequencies, summary

# ---- embedded below


def stacked(
    survey: Survey,
    frame: pd.DataFrame,
    statement: str,
    roster: str,
    columns: dict[str, list[str]],
    labels: dict[str, str],
    test: bool = False,
) -> Table:
    """``frequencies``, ``summary`` or ``crosstab`` over every answered iteration of a roster.

    ``columns`` gives each variable's column per iteration, outer iteration first; a
    household-level variable has one column, repeated in each of its household's
    iterations. A roster variable's name in the table is the one written (``c2``), its
    kind and codes those of its first column. An iteration counts when one of the roster
    variables holds an answer there; the table says how many iterations and households.
    """
    width = max(len(cols) for cols in columns.values())
    parts = []
    for i in range(width):
        part = pd.DataFrame(
            {n: frame[c[i] if len(c) > 1 else c[0]].reset_index(drop=True) for n, c in columns.items()}
        )
        part["household"] = range(len(frame))
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    varying = [name for name, cols in columns.items() if name in labels]
    rows = rows[rows[varying].notna().any(axis=1)].reset_index(drop=True)
    first = {name: cols[0] for name, cols in columns.items() if name in labels}

    seen = survey._replace(
        kinds={**survey.kinds, **{n: survey.kinds[c] for n, c in first.items()}},
        labels={**survey.labels, **labels},
        value_labels={**survey.value_labels, **{n: survey.value_labels[c] for n, c in first.items()
                                               if c in survey.value_labels}},
        missing_codes={**survey.missing_codes, **{n: survey.missing_codes[c] for n, c in first.items()
                                                 if c in survey.missing_codes}},
    )
    names = list(columns)
    if statement == "crosstab":
        table = crosstab(seen, rows, names[0], names[1], test=test)
    elif statement == "summary":
        table = summary(seen, rows, names[0])
    else:
        table = frequencies(seen, rows, names[0])
    iterations, households = len(rows), int(rows["household"].nunique())
    table["over"] = {"roster": roster, "iterations": iterations, "households": households}
    note = f"{iterations} × {roster}, {households} households"
    if "label" in table:
        table["label"] = f"{table['label']} ({note})"
    else:
        table["row"] = {**table["row"], "label": f"{table['row']['label']} ({note})"}
    return table
