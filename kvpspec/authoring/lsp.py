"""``kvpspec lsp``: a language server for specs (pygls, over standard input and output).

Every edit recompiles the document with ``compile_text``, so the diagnostics
are the ones ``kvpspec check`` prints (same codes, messages and places). The
names come from ``index.build``: definition, references and rename work on one
table, hover reads the lowered variables and the routing guards, formatting
is ``kvpspec fmt``.

The parser is not re-entrant yet: every compile holds ``PARSE_LOCK``, so two
threads never parse at once.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import ServerTextPosition, ServerTextRange, TextDocument

from kvpspec import model as m
from kvpspec.authoring.index import Index, Place, Symbol, build
from kvpspec.authoring.tokens import keywords
from kvpspec.compile import Compiled, compile_text
from kvpspec.diagnostics import Diagnostic, SpecError
from kvpspec.semantics.routing import asked_conditions
from kvpspec.syntax.formatter import format_expr, format_spec
from kvpspec.syntax.parser import parse_text

#: Held while a spec is parsed: the parser is not re-entrant (yet).
PARSE_LOCK = threading.Lock()


@dataclass
class State:
    """What the server knows of one open document."""

    version: int | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: the last compile that parsed (kept while the text has a syntax error)
    compiled: Compiled | None = None
    index: Index | None = None
    _asked: dict[str, m.Expr | None] | None = None

    def asked(self) -> dict[str, m.Expr | None]:
        if self._asked is None:
            self._asked = asked_conditions(self.compiled.lowered) if self.compiled is not None else {}
        return self._asked


def analyse(source: str, file: str, previous: State | None = None) -> State:
    """Compile ``source``: its diagnostics, and its index when it parses."""
    with PARSE_LOCK:
        try:
            compiled = compile_text(source, file)
        except SpecError as exc:
            keep = previous or State()
            return State(None, list(exc.diagnostics), keep.compiled, keep.index)
        except RecursionError:
            keep = previous or State()
            too_deep = Diagnostic("too-deep", "the spec nests too deeply to check", file, 1, 1, 1, 1)
            return State(None, [too_deep], keep.compiled, keep.index)
    return State(None, list(compiled.diagnostics), compiled, build(compiled))


def to_lsp(d: Diagnostic) -> t.Diagnostic:
    """A kvpspec diagnostic as the protocol's (0-based lines and columns)."""
    line = max(d.line - 1, 0)
    col = max(d.column - 1, 0)
    end_line = max(d.end_line - 1, line) if d.end_line else line
    end_col = max(d.end_column - 1, 0) if d.end_line else col + 1
    if (end_line, end_col) <= (line, col):
        end_line, end_col = line, col + 1
    return t.Diagnostic(
        range=t.Range(t.Position(line, col), t.Position(end_line, end_col)),
        message=d.message + "".join(f"\nnote: {n}" for n in d.notes),
        severity=t.DiagnosticSeverity.Error if d.severity == "error" else t.DiagnosticSeverity.Warning,
        code=d.code,
        source="kvpspec",
    )


def _range(p: Place) -> t.Range:
    return t.Range(t.Position(p.line, p.start), t.Position(p.line, p.end))


def _span_range(span: m.Span | None) -> t.Range:
    if span is None:
        return t.Range(t.Position(0, 0), t.Position(0, 0))
    return t.Range(
        t.Position(span.line - 1, span.column - 1), t.Position(span.end_line - 1, max(span.end_column - 1, 0))
    )


# ---------------------------------------------------------------- hover


def hover_text(state: State, name: str) -> str | None:
    """Markdown for a name: its text, codes or rules, and when it is asked."""
    if state.index is None or state.compiled is None:
        return None
    sym = state.index.symbols.get(name)
    if sym is None:
        return None
    low = state.compiled.lowered
    out = [f"**{name}** ({sym.kind})"]
    label = _label_of(sym)
    if label:
        out.append(label)
    if sym.kind == "grid":
        items = [v for v in low.variables.values() if v.node in getattr(sym.node, "items", ())]
        var = items[0] if items else None
        out.append("Items: " + ", ".join(f"`{v.name}`" for v in items))
    else:
        var = low.variables.get(name)
    if sym.kind == "scale" and isinstance(sym.node, m.Scale):
        out.append(_codes([(o.code, o.label, o.missing) for o in sym.node.options]))
    elif isinstance(sym.node, m.Recode):
        rules = [f"- {', '.join(_value(v) for v in r.values)} \u2192 {r.code} {r.label.text}" for r in sym.node.rules]
        out.append(f"From {'scale ' if sym.node.source_is_scale else ''}`{sym.node.source}`:\n" + "\n".join(rules))
    elif var is not None:
        if var.values:
            missing = dict(var.missing)
            out.append(_codes([(c, lab, missing.get(c)) for c, lab in var.values]))
        if var.min is not None or var.max is not None:
            out.append(f"Range: {var.min}..{var.max}")
        out.append(f"Type: {var.type}")
    if isinstance(sym.node, m.Derive):
        out.append(f"`= {format_expr(sym.node.expr)}`")
    asked = state.asked()
    key = var.name if var is not None else name
    if key in asked:
        guard = asked[key]
        out.append("Asked: always" if guard is None else f"Asked when: `{format_expr(guard)}`")
    return "\n\n".join(out)


def _label_of(sym: Symbol) -> str | None:
    label = getattr(sym.node, "label", None)
    if isinstance(label, m.Text):
        return label.text
    return None


def _value(v: m.ValueSpec) -> str:
    if v.kind == "else":
        return "else"
    if v.kind == "single":
        return f"{v.low:g}"
    return f"{'' if v.low is None else f'{v.low:g}'}..{'' if v.high is None else f'{v.high:g}'}"


def _codes(rows: list[tuple[int, m.Text, str | None]]) -> str:
    return "\n".join(f"- `{c}` {lab.text}" + (f" *(missing {k})*" if k else "") for c, lab, k in rows)


# ---------------------------------------------------------------- completion

_CODE_CONTEXT = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:==|!=|<=|>=|<|>|(?:not\s+)?in\s*\[(?:[^\]]*,)?)\s*-?\d*$"
)
_SYMBOL_KIND = {
    "question": t.SymbolKind.Variable, "item": t.SymbolKind.Variable, "specify": t.SymbolKind.Variable,
    "field": t.SymbolKind.Field, "respondent": t.SymbolKind.Key, "grid": t.SymbolKind.Array,
    "scale": t.SymbolKind.Enum, "recode": t.SymbolKind.Function, "derive": t.SymbolKind.Function,
    "expect": t.SymbolKind.Boolean, "warn": t.SymbolKind.Boolean, "analysis": t.SymbolKind.Object,
    "document": t.SymbolKind.File, "rate": t.SymbolKind.Number,
}


def completions(state: State, line_text: str) -> list[t.CompletionItem]:
    """A question's codes after ``q ==`` or inside ``q in [``; else names and keywords."""
    mo = _CODE_CONTEXT.search(line_text)
    if mo and state.compiled is not None:
        var = state.compiled.lowered.variables.get(mo.group(1))
        if var is not None and var.values:
            return [
                t.CompletionItem(label=str(c), kind=t.CompletionItemKind.EnumMember, detail=lab.text,
                                 sort_text=f"{i:04d}")
                for i, (c, lab) in enumerate(var.values)
            ]
    items: list[t.CompletionItem] = []
    if state.index is not None:
        for name, sym in state.index.symbols.items():
            items.append(t.CompletionItem(label=name, kind=t.CompletionItemKind.Variable, detail=sym.kind,
                                          documentation=_label_of(sym)))
    for word in sorted(keywords()):
        items.append(t.CompletionItem(label=word, kind=t.CompletionItemKind.Keyword))
    return items


# ---------------------------------------------------------------- rename, symbols


def rename_edits(index: Index, name: str, new_name: str) -> list[tuple[Place, str]] | None:
    """Every place to rewrite to rename ``name`` (a grid renames its items' variables too)."""
    sym = index.symbols.get(name)
    if sym is None or sym.kind == "item":
        return None
    edits: list[tuple[Place, str]] = []
    if sym.place is not None:
        edits.append((sym.place, new_name))
    edits.extend((p, new_name) for p in index.uses.get(name, ()))
    if sym.kind == "grid":
        for other in index.symbols.values():
            if other.kind == "item" and other.parent == name:
                renamed = new_name + other.name[len(name):]
                edits.extend((p, renamed) for p in index.uses.get(other.name, ()))
    return edits


def document_symbols(index: Index, spec: m.Spec) -> list[t.DocumentSymbol]:
    """The outline: sections with their questions and grids, then the other declarations."""

    def symbol(name: str, kind: t.SymbolKind, node: m.Node, detail: str | None = None,
               children: list[t.DocumentSymbol] | None = None) -> t.DocumentSymbol:
        rng = _span_range(node.span)
        sym = index.symbols.get(name)
        selection = _range(sym.place) if sym is not None and sym.place is not None else rng
        if not (rng.start.line, rng.start.character) <= (selection.start.line, selection.start.character):
            selection = rng
        return t.DocumentSymbol(name=name, kind=kind, range=rng, selection_range=selection, detail=detail,
                                children=children or None)

    def items(nodes: tuple[m.Item, ...]) -> list[t.DocumentSymbol]:
        out: list[t.DocumentSymbol] = []
        for item in nodes:
            if isinstance(item, m.Question):
                out.append(symbol(item.name, t.SymbolKind.Variable, item, item.label.text))
            elif isinstance(item, m.Grid):
                kids = [symbol(item.name + gi.name, t.SymbolKind.Variable, gi, gi.label.text) for gi in item.items]
                out.append(symbol(item.name, t.SymbolKind.Array, item, item.label.text if item.label else None, kids))
            elif isinstance(item, m.Section):
                out.append(symbol(item.title.text, t.SymbolKind.Namespace, item, None, items(item.items)))
            elif isinstance(item, (m.Intro, m.Closing)):
                out.append(symbol(item.node, t.SymbolKind.Namespace, item, None, items(item.items)))
            elif isinstance(item, m.IfBlock):
                kids = items(item.then) + items(item.otherwise or ())
                out.append(symbol(f"if {format_expr(item.condition)}", t.SymbolKind.Namespace, item, None, kids))
        return out

    out: list[t.DocumentSymbol] = []
    for s in spec.scales:
        out.append(symbol(s.name, t.SymbolKind.Enum, s, s.label.text if s.label else None))
    if spec.interview is not None:
        out.append(symbol("interview", t.SymbolKind.Module, spec.interview, None, items(spec.interview.items)))
    groups: list[tuple[str, tuple[Any, ...]]] = [
        ("recode", spec.recodes), ("derive", spec.derives), ("expect", spec.expectations),
        ("warn", spec.warnings), ("analysis", spec.analyses), ("document", spec.documents),
    ]
    for kind, nodes in groups:
        for node in nodes:
            label = node.label.text if getattr(node, "label", None) is not None else None
            if kind == "document":
                label = node.title.text
            out.append(symbol(node.name, _SYMBOL_KIND[kind], node, label))
    return out


# ---------------------------------------------------------------- the server


def _version() -> str:
    try:
        return version("kvpspec")
    except PackageNotFoundError:
        return "unknown"


class SpecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("kvpspec", _version(), text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.states: dict[str, State] = {}

    def refresh(self, doc: TextDocument) -> State:
        path = to_fs_path(doc.uri) or doc.uri
        state = analyse(doc.source, path, self.states.get(doc.uri))
        state.version = doc.version
        self.states[doc.uri] = state
        self.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(
                uri=doc.uri, version=doc.version,
                diagnostics=[_client_diag(doc, d) for d in state.diagnostics],
            )
        )
        return state

    def document(self, uri: str) -> TextDocument | None:
        """An open document; ``None`` for one the client never opened (it is not read from disk)."""
        if uri not in self.workspace.text_documents:
            return None
        return self.workspace.get_text_document(uri)

    def state(self, uri: str) -> State | None:
        doc = self.document(uri)
        if doc is None:
            return None
        state = self.states.get(uri)
        if state is None or state.version != doc.version:
            state = self.refresh(doc)
        return state


def refuse(message: str) -> JsonRpcException:
    """An answer the client shows as it is (LSP's RequestFailed), not an internal error with a traceback."""
    return JsonRpcException(message, code=t.LSPErrorCodes.RequestFailed.value)


def _bom(doc: TextDocument) -> int:
    """1 when the document's text starts with a byte order mark: the parser drops it, so
    the compiler's columns on the first line are one short of the document's."""
    return 1 if doc.source.startswith("\ufeff") else 0


def _client(doc: TextDocument, rng: t.Range) -> t.Range:
    """A range in characters as the client counts (UTF-16 code units unless agreed otherwise)."""
    bom = _bom(doc)

    def at(p: t.Position) -> ServerTextPosition:
        return ServerTextPosition(p.line, p.character + (bom if p.line == 0 else 0))

    return doc.range_to_client_units(ServerTextRange(at(rng.start), at(rng.end)))


def _server(doc: TextDocument, position: t.Position) -> ServerTextPosition:
    """A client's position as the compiler counts: code points, the byte order mark left out."""
    pos = doc.position_from_client_units(position)
    if pos.line == 0 and _bom(doc):
        return ServerTextPosition(0, max(pos.character - 1, 0))
    return pos


def _client_diag(doc: TextDocument, d: Diagnostic) -> t.Diagnostic:
    out = to_lsp(d)
    out.range = _client(doc, out.range)
    return out


def _where(server: SpecServer, uri: str, position: t.Position) -> tuple[State, TextDocument, str, Place] | None:
    doc = server.document(uri)
    state = server.state(uri)
    if doc is None or state is None or state.index is None:
        return None
    pos = _server(doc, position)
    found = state.index.name_at(pos.line, pos.character)
    if found is None:
        return None
    return state, doc, found[0], found[1]


def make_server() -> SpecServer:
    server = SpecServer()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpecServer, params: t.DidOpenTextDocumentParams) -> None:
        ls.refresh(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpecServer, params: t.DidChangeTextDocumentParams) -> None:
        ls.refresh(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpecServer, params: t.DidCloseTextDocumentParams) -> None:
        ls.states.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpecServer, params: t.HoverParams) -> t.Hover | None:
        found = _where(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        state, doc, name, place = found
        text = hover_text(state, name)
        if text is None:
            return None
        return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text),
                       range=_client(doc, _range(place)))

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpecServer, params: t.DefinitionParams) -> t.Location | None:
        found = _where(ls, params.text_document.uri, params.position)
        if found is None or found[0].index is None:
            return None
        state, doc, name, _ = found
        sym = state.index.symbols[name] if state.index is not None else None
        if sym is None or sym.place is None:
            return None
        return t.Location(uri=doc.uri, range=_client(doc, _range(sym.place)))

    @server.feature(t.TEXT_DOCUMENT_REFERENCES)
    def references(ls: SpecServer, params: t.ReferenceParams) -> list[t.Location] | None:
        found = _where(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        state, doc, name, _ = found
        assert state.index is not None
        places = list(state.index.uses.get(name, ()))
        sym = state.index.symbols[name]
        if params.context.include_declaration and sym.place is not None:
            places.insert(0, sym.place)
        return [t.Location(uri=doc.uri, range=_client(doc, _range(p))) for p in places]

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=["=", "[", ",", " "]))
    def completion(ls: SpecServer, params: t.CompletionParams) -> t.CompletionList:
        doc = ls.document(params.text_document.uri)
        state = ls.state(params.text_document.uri)
        if doc is None or state is None:
            return t.CompletionList(is_incomplete=False, items=[])
        pos = doc.position_from_client_units(params.position)
        line = doc.lines[pos.line] if pos.line < len(doc.lines) else ""
        return t.CompletionList(is_incomplete=False, items=completions(state, line[: pos.character]))

    @server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls: SpecServer, params: t.PrepareRenameParams) -> t.Range | None:
        found = _where(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        state, doc, name, place = found
        assert state.index is not None
        if state.index.symbols[name].kind == "item":
            return None
        return _client(doc, _range(place))

    @server.feature(t.TEXT_DOCUMENT_RENAME)
    def rename(ls: SpecServer, params: t.RenameParams) -> t.WorkspaceEdit | None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", params.new_name) or params.new_name in keywords():
            raise refuse(f"`{params.new_name}` is not a name: a name is a letter or `_`, then letters, "
                         "digits or `_`, and no keyword")
        found = _where(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        state, doc, name, _ = found
        assert state.index is not None
        if params.new_name in state.index.symbols and params.new_name != name:
            raise refuse(f"`{params.new_name}` is already declared")
        edits = rename_edits(state.index, name, params.new_name)
        if edits is None:
            return None
        return t.WorkspaceEdit(changes={doc.uri: [
            t.TextEdit(range=_client(doc, _range(p)), new_text=text) for p, text in edits
        ]})

    @server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: SpecServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
        state = ls.state(params.text_document.uri)
        if state is None or state.index is None or state.compiled is None:
            return []
        return document_symbols(state.index, state.compiled.spec)

    @server.feature(t.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: SpecServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
        doc = ls.document(params.text_document.uri)
        if doc is None:
            return None
        with PARSE_LOCK:
            try:
                text = format_spec(parse_text(doc.source, to_fs_path(doc.uri) or doc.uri))
            except (SpecError, RecursionError):
                return None
        text = "\ufeff" * _bom(doc) + text  # the byte order mark stays as the author saved it
        if text == doc.source:
            return []
        end = t.Position(len(doc.lines), 0)
        return [t.TextEdit(range=t.Range(t.Position(0, 0), end), new_text=text)]

    return server


def serve() -> None:
    """Run the server on standard input and output until the client exits."""
    make_server().start_io()
