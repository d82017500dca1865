"""The messages of interview-time checks (``warn`` and ``error``): their fills.

A check's message is read to the respondent where the check fires and
written, filled in, into ``validate``'s report, so a fill must name an answer
given by then (``checkpoints``): a sample field is not in the response data
``validate`` fills from, and a personal one must never reach the report.
"""

from __future__ import annotations

from kvpspec.diagnostics import did_you_mean
from kvpspec.semantics.checkpoints import checkpoints
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.checks.texts import fills
from kvpspec.semantics.routing import steps
from kvpspec.semantics.variables import DATA_ROLES


def check_messages(ctx: Context) -> None:
    order = {s.name: i for i, s in enumerate(steps(ctx.low))}
    variables = ctx.low.variables
    for cp in checkpoints(ctx.low):
        w = cp.check
        kind = "hard check" if w.hard else "soft check"
        fired = order.get(cp.column, -1) if cp.column is not None else -1
        for t in [w.label.text, *w.label.translations.values()]:
            for name in fills(t):
                var = variables.get(name)
                if var is not None and var.personal:
                    ctx.error(
                        "personal-data",
                        f"`{name}` is personal data (a sample field marked `personal`); a {kind}'s message "
                        f"is written into `validate`'s report, which must not hold it",
                        w.label,
                    )
                elif var is not None and var.role in DATA_ROLES and name in order:
                    if order[name] > fired:
                        where = f" (it fires after `{cp.column}`)" if cp.column else ""
                        ctx.error(
                            "fill",
                            f"the fill `{{{name}}}` uses an answer not given yet where the {kind} "
                            f"`{w.name}` fires{where}",
                            w.label,
                        )
                elif var is not None and var.role == "sample":
                    ctx.error(
                        "fill",
                        f"the fill `{{{name}}}` names a sample field; a {kind}'s message is filled from "
                        f"the answers (the response data hold no sample fields)",
                        w.label,
                    )
                elif name in ctx.grids:
                    ctx.unknown_variable(name, w.label, "fill")
                else:
                    answers = [n for n in order if variables.get(n) is not None and variables[n].role in DATA_ROLES]
                    ctx.error(
                        "fill",
                        f"unknown fill `{{{name}}}`: not an answer of the interview{did_you_mean(name, answers)}",
                        w.label,
                    )
