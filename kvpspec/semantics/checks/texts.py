"""Texts: fills in question texts and documents, and the sample fields documents list."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kvpspec import model as m
from kvpspec.diagnostics import did_you_mean
from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.routing import flatten, positions

_FILL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def check_documents(ctx: Context) -> None:
    sample = {f.name: f for f in ctx.spec.fieldwork.sample} if ctx.spec.fieldwork else {}
    for d in ctx.spec.documents:
        for b in d.blocks:
            if b.kind == "table":
                for name in b.names:
                    if name not in sample:
                        ctx.error(
                            "undefined-ref",
                            f"unknown sample field `{name}`{did_you_mean(name, sample)}",
                            b,
                        )


def check_fills(ctx: Context) -> None:
    spec = ctx.spec
    sample = {f.name for f in spec.fieldwork.sample} if spec.fieldwork else set()
    pos = positions(ctx.low)
    if spec.interview:
        flat = flatten(ctx.low.items)
        for f in flat:
            for text, node in _item_texts(f.item):
                _check_text_fills(ctx, text, node, sample, pos, f.index)
    for d in spec.documents:
        for text in [d.title] + [t for b in d.blocks for t in b.texts]:
            _check_doc_fills(ctx, text)


def _check_text_fills(ctx: Context, text: m.Text, node: m.Node, sample: set[str], pos: dict[str, int], index: int) -> None:
    for t in [text.text, *text.translations.values()]:
        for name in fills(t):
            if not _FILL_NAME_RE.match(name):
                ctx.error("fill", f"`{{{name}}}` is not a fill; write `{{{{` for a literal brace", text)
            elif name in sample:
                continue
            elif name in pos:
                if pos[name] >= index:
                    ctx.error("fill", f"the fill `{{{name}}}` uses an answer not given yet at this point", text)
            elif name in ctx.grids:
                ctx.unknown_variable(name, text, "fill")
            else:
                candidates = sorted(sample | set(pos))
                ctx.error(
                    "fill",
                    f"unknown fill `{{{name}}}`: not a sample field or an earlier answer"
                    f"{did_you_mean(name, candidates)}",
                    text,
                )


def _check_doc_fills(ctx: Context, text: m.Text) -> None:
    study = ctx.spec.study
    for t in [text.text, *text.translations.values()]:
        for name in fills(t):
            try:
                given = m.study_fact(study, name) is not None
            except KeyError:
                ctx.error(
                    "fill",
                    f"unknown fill `{{{name}}}` in a document{did_you_mean(name, sorted(m.STUDY_FACTS))}",
                    text,
                )
                continue
            if not given:
                what = "study fact" if "." in name else "study field"
                ctx.error("fill", f"the fill `{{{name}}}` names a {what} that is not given", text)


def fills(text: str) -> list[str]:
    """The fills in a text: ``"Snakker jeg med {navn}?"`` gives ``["navn"]``."""
    return [value for kind, value in m.split_fills(text) if kind == "fill"]


def _item_texts(item: m.Item) -> Iterator[tuple[m.Text, m.Node]]:
    if isinstance(item, (m.Say, m.Instruction, m.Heading)):
        yield item.text, item
    elif isinstance(item, m.Section):
        yield item.title, item
    elif isinstance(item, m.Question):
        yield item.label, item
        for t in item.notes + item.instructions:
            yield t, item
        for o in item.options:
            yield o.label, o
    elif isinstance(item, m.Grid):
        if item.label:
            yield item.label, item
        for gi in item.items:
            yield gi.label, gi
        for t in item.notes + item.instructions:
            yield t, item
