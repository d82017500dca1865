"""What every check shares: the lowered spec, the diagnostics found so far, and
the ways to report a problem."""

from __future__ import annotations

from collections.abc import Collection

from kvpspec import model as m
from kvpspec.diagnostics import Diagnostic, Severity, did_you_mean
from kvpspec.semantics import rosters
from kvpspec.semantics.lower import Lowered, walk_items


class Context:
    """One run of the checks over one lowered spec; diagnostics collect in ``diags``."""

    def __init__(self, low: Lowered, file: str):
        self.low = low
        self.spec = low.spec
        self.file = file
        self.diags: list[Diagnostic] = []
        self.grids = {
            item.name: item
            for item in walk_items(self.spec.interview.items if self.spec.interview else ())
            if isinstance(item, m.Grid)
        }
        #: each variable a roster's body declares -> its innermost roster
        self.roster_vars: dict[str, str] = {}
        for r in low.rosters.values():
            for name in rosters.declared(r.items):
                self.roster_vars[name] = r.name  # inner rosters come later and win

    def error(self, code: str, message: str, node: m.Node | None, severity: Severity = "error") -> None:
        span = node.span if node is not None else None
        if span is None:
            span = self.spec.span or m.Span(file=self.file)
        self.diags.append(Diagnostic.at(span, code, message, severity))

    def warn(self, code: str, message: str, node: m.Node | None) -> None:
        self.error(code, message, node, "warning")

    def report(self, code: str, message: str, node: m.Node) -> None:
        """An error, in the shape the type checker reports through."""
        self.error(code, message, node)

    def unknown_variable(
        self, name: str, node: m.Node, what: str = "variable", candidates: Collection[str] | None = None
    ) -> None:
        """Report an unknown name; a grid's own name gets pointed at its items, a
        roster's variable at the aggregates that read it from outside."""
        roster = self.roster_vars.get(name)
        if roster is not None:
            self.error(
                "roster-scope",
                f"`{name}` is asked once per iteration of the roster `{roster}`; outside it, "
                f"use an aggregate such as `count({name} is answered over {roster})`",
                node,
            )
            return
        grid = self.grids.get(name)
        if grid is not None and grid.items:
            first = name + grid.items[0].name
            self.error(
                "undefined-ref",
                f"`{name}` is a grid, not a {what}; use one of its items, e.g. `{first}`",
                node,
            )
            return
        pool = self.low.variables if candidates is None else candidates
        self.error("undefined-ref", f"unknown {what} `{name}`{did_you_mean(name, pool)}", node)

    def scale_ref(self, name: str, node: m.Node) -> m.Scale | None:
        """The scale a question, grid or recode names; reported when there is none."""
        scale = self.low.scales.get(name)
        if scale is None:
            self.error(
                "undefined-ref",
                f"unknown scale `{name}`{did_you_mean(name, self.low.scales)}",
                node,
            )
        return scale


def with_article(word: str) -> str:
    """``a text``, ``an integer``."""
    return ("an " if word[:1] in "aeiou" else "a ") + word
