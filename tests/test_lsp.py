"""``kvpspec lsp`` driven over JSON-RPC on stdio, as an editor drives it: the
KVP spec and the specs with errors; diagnostics equal ``check``'s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CASES, HOUSEHOLD, KVP

from kvpspec import compile_file, compile_text
from kvpspec.authoring.client import LspClient
from kvpspec.diagnostics import Diagnostic, SpecError
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text

TEXT = KVP.read_text(encoding="utf-8")
LINES = TEXT.splitlines()
ERROR_SPECS = sorted((CASES / "errors").glob("*.survey"))


@pytest.fixture(scope="module")
def client() -> Iterator[LspClient]:
    c = LspClient()
    c.initialize(KVP.parent)
    yield c
    c.close()


def _expected(path: Path) -> list[tuple[int, int, str, str, int]]:
    try:
        diags: list[Diagnostic] = compile_file(path).diagnostics
    except SpecError as exc:
        diags = exc.diagnostics
    return sorted(
        (max(d.line - 1, 0), max(d.column - 1, 0), d.code, d.message, 1 if d.severity == "error" else 2)
        for d in diags
    )


def _got(params: dict) -> list[tuple[int, int, str, str, int]]:
    return sorted(
        (d["range"]["start"]["line"], d["range"]["start"]["character"], d["code"], d["message"], d["severity"])
        for d in params["diagnostics"]
    )


def _diagnostics(client: LspClient, uri: str, version: int) -> dict:
    return client.wait_for(
        "textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == version
    )


def _position(needle: str, nth: int = 0, offset: int = 0) -> dict:
    """The position of the ``nth`` whole-word occurrence of ``needle`` in the KVP spec."""
    hits = [
        (i, mo.start())
        for i, line in enumerate(LINES)
        for mo in re.finditer(rf"(?<![\w]){re.escape(needle)}(?![\w])", line)
    ]
    line, col = hits[nth]
    return {"line": line, "character": col + offset}


def _apply(text: str, edits: list[dict]) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: dict) -> int:
        return starts[p["line"]] + p["character"] if p["line"] < len(starts) else len(text)

    for e in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(e["range"]["start"])] + e["newText"] + text[offset(e["range"]["end"]) :]
    return text


def test_initialize_announces_every_feature() -> None:
    c = LspClient()
    try:
        caps = c.initialize(KVP.parent)["capabilities"]
        for key in ("hoverProvider", "definitionProvider", "referencesProvider", "completionProvider",
                    "renameProvider", "documentSymbolProvider", "documentFormattingProvider"):
            assert caps.get(key), key
    finally:
        c.close()


def test_kvp_diagnostics_equal_check(client: LspClient) -> None:
    uri = client.open(KVP)
    assert _got(_diagnostics(client, uri, 1)) == _expected(KVP)


def test_household_diagnostics_equal_check(client: LspClient) -> None:
    uri = client.open(HOUSEHOLD)
    assert _got(_diagnostics(client, uri, 1)) == _expected(HOUSEHOLD) == []


@pytest.mark.parametrize("path", ERROR_SPECS, ids=lambda p: p.name)
def test_error_spec_diagnostics_equal_check(client: LspClient, path: Path) -> None:
    uri = client.open(path)
    got = _got(_diagnostics(client, uri, 1))
    assert got == _expected(path)
    assert got  # these specs have errors


def test_diagnostics_as_you_type(client: LspClient, tmp_path: Path) -> None:
    path = tmp_path / "typing.survey"
    uri = client.open(path, TEXT)
    assert _got(_diagnostics(client, uri, 1)) == _expected(KVP)
    pos = _position("fornoyd", 1)
    edit = {"range": {"start": pos, "end": {"line": pos["line"], "character": pos["character"] + 7}}, "text": "fornoy"}
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]})
    got = _got(_diagnostics(client, uri, 2))
    broken = TEXT.replace("scale fornoyd {", "scale fornoy {", 1)
    path.write_text(broken, encoding="utf-8")
    assert got == _expected(path)
    assert any(code == "undefined-ref" and line == pos["line"] for line, _, code, _, _ in got)
    # a syntax error: the same diagnostic as check, and navigation keeps the last good parse
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": broken + "\nquestion {"}]})
    got = _got(_diagnostics(client, uri, 3))
    path.write_text(broken + "\nquestion {", encoding="utf-8")
    assert got == _expected(path) and got[0][4] == 1  # an error
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _position("q7", 1)})
    assert hover is not None and "Hvor fornøyd" in hover["contents"]["value"]
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": TEXT}]})
    assert _got(_diagnostics(client, uri, 4)) == _expected(KVP)


def test_hover(client: LspClient) -> None:
    uri = client.open(KVP)
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _position("q7", 1, 1)})
    value = hover["contents"]["value"]
    assert "Hvor fornøyd eller misfornøyd" in value
    assert "`5` Ikke sikker *(missing dont_know)*" in value
    assert "Asked: always" in value
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _position("q4_other", 1)})
    assert "Asked when: `q4 == 2`" in hover["contents"]["value"]
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}) is None


def test_definition_and_references(client: LspClient) -> None:
    uri = client.open(KVP)
    use = _position("q7", 1)
    loc = client.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": use})
    assert loc["uri"] == uri
    assert loc["range"]["start"] == _position("q7", 0)
    refs = client.request("textDocument/references", {"textDocument": {"uri": uri}, "position": _position("q11", 0),
                                                     "context": {"includeDeclaration": True}})
    starts = [r["range"]["start"] for r in refs]
    assert starts == [_position("q11", i) for i in range(len(starts))]
    assert len(starts) == 5  # the question, the recode's source, the check, the warning, the analysis
    # a fill inside a label is a reference too
    refs = client.request("textDocument/references", {"textDocument": {"uri": uri}, "position": _position("navn", 0),
                                                     "context": {"includeDeclaration": False}})
    assert [r["range"]["start"] for r in refs] == [_position("{navn}", 0, 1)]


def test_completion(client: LspClient, tmp_path: Path) -> None:
    text = TEXT.replace("scale fornoyd {\n      read 1..4\n", "scale fornoyd {\n      read 1..4\n      ask if q5 == \n", 1)
    uri = client.open(tmp_path / "complete.survey", TEXT)
    # typed into an open document: the text does not parse, the last good parse answers
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]})
    line = next(i for i, s in enumerate(text.splitlines()) if s.endswith("ask if q5 == "))
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                      "position": {"line": line, "character": 19}})["items"]
    assert [(i["label"], i["detail"]) for i in items][:2] == [("1", "Søke jobber"), ("2", "Prøve seg i ordinær jobb, gjennom praksisplass eller på annen måte")]
    assert len(items) == 9
    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                      "position": {"line": line, "character": 13}})["items"]
    labels = {i["label"] for i in items}
    assert {"q5", "q11", "enig2", "aldersgruppe", "question", "ask", "missing"} <= labels


def test_rename(client: LspClient, tmp_path: Path) -> None:
    uri = client.open(KVP)
    prepared = client.request("textDocument/prepareRename", {"textDocument": {"uri": uri}, "position": _position("q11", 2)})
    assert prepared["start"] == _position("q11", 2)
    edit = client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": _position("q11", 2),
                                                 "newName": "alder"})
    renamed = _apply(TEXT, edit["changes"][uri])
    assert "q11" not in renamed
    compiled = compile_text(renamed)
    assert compiled.ok
    assert "alder" in compiled.lowered.variables
    # a grid: its items' variables follow
    edit = client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": _position("q8", 0),
                                                 "newName": "spm8"})
    renamed = _apply(TEXT, edit["changes"][uri])
    assert compile_text(renamed).ok
    assert re.search(r"\bq8", renamed) is None and "frequencies spm8a" in renamed
    with pytest.raises(RuntimeError):
        client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": _position("q11", 0),
                                               "newName": "q12"})


def test_document_symbols(client: LspClient) -> None:
    uri = client.open(KVP)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    names = [s["name"] for s in symbols]
    assert names[:4] == ["grad", "fornoyd", "bedring", "enig"]
    assert {"interview", "aldersgruppe", "annet_land", "erfaring_alder", "tabell1", "vedlegg4"} <= set(names)
    interview = symbols[names.index("interview")]
    section = next(s for s in interview["children"] if s["name"].startswith("Spørsmål om tiltaket"))
    q8 = next(s for s in section["children"] if s["name"] == "q8")
    assert [c["name"] for c in q8["children"]][:2] == ["q8a", "q8b"]
    assert q8["selectionRange"]["start"] == _position("q8", 0)


def test_formatting(client: LspClient, tmp_path: Path) -> None:
    messy = TEXT.replace("question q1 single", "question   q1    single", 1).replace("  range 0..60", "range 0..60", 1)
    uri = client.open(tmp_path / "messy.survey", messy)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                      "options": {"tabSize": 2, "insertSpaces": True}})
    assert _apply(messy, edits) == format_spec(parse_text(messy))
    uri = client.open(tmp_path / "broken.survey", "survey s \"S\"\ninterview {\n")
    assert client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                     "options": {"tabSize": 2, "insertSpaces": True}}) is None


# ---------------------------------------------------------------- hostile clients

SMALL = 'survey s "S"\ninterview {\n  question q1 single "Ærlig?" {\n    1 "Ja"\n  }\n' \
        '  question q2 single "Q2 {q1}" {\n    ask if "😀ø" == "x" or q1 == 1\n    1 "Ja"\n  }\n}\n'


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_positions_count_utf16_code_units(client: LspClient, tmp_path: Path) -> None:
    """An emoji (two UTF-16 units) and `ø` before a name: hover and rename hit the name, not beside it."""
    uri = client.open(tmp_path / "utf16.survey", SMALL)
    _diagnostics(client, uri, 1)
    line = SMALL.split("\n")[6]
    col = _utf16(line[: line.index("q1 ==")])
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 6, "character": col + 1}})
    assert hover["contents"]["value"].startswith("**q1**")
    assert hover["range"] == {"start": {"line": 6, "character": col}, "end": {"line": 6, "character": col + 2}}
    edit = client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": {"line": 6, "character": col},
                                                 "newName": "hh"})
    assert {"start": {"line": 6, "character": col}, "end": {"line": 6, "character": col + 2}} in [
        e["range"] for e in edit["changes"][uri]
    ]


def test_a_byte_order_mark_does_not_shift_the_first_line(client: LspClient, tmp_path: Path) -> None:
    """The parser drops a BOM; the first line's diagnostics still point at the document's text, and fmt keeps the BOM."""
    uri = client.open(tmp_path / "bom.survey", '\ufeffsurvey 9s "S"\n')
    (diag,) = _diagnostics(client, uri, 1)["diagnostics"]
    assert diag["range"]["start"] == {"line": 0, "character": len('\ufeffsurvey ')}
    text = '\ufeffsurvey  s "S"\r\ninterview {\r\n  question q1 single "Ø?" {\r\n    1 "Ja"\r\n  }\r\n}\r\n'
    uri = client.open(tmp_path / "bom_crlf.survey", text)
    assert _diagnostics(client, uri, 1)["diagnostics"] == []
    (edit,) = client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                        "options": {"tabSize": 2, "insertSpaces": True}})
    assert edit["newText"].startswith('\ufeffsurvey s "S"\n')
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 12}})
    assert hover["contents"]["value"].startswith("**q1**")


def test_a_refused_rename_says_why(client: LspClient, tmp_path: Path) -> None:
    """An invalid or taken name is refused as RequestFailed (-32803) with a message, not an internal error."""
    uri = client.open(tmp_path / "refuse.survey", SMALL)
    _diagnostics(client, uri, 1)
    at = {"line": 2, "character": 12}
    for new_name, why in (("q2", "`q2` is already declared"), ("9x", "`9x` is not a name"),
                          ("question", "`question` is not a name")):
        with pytest.raises(RuntimeError) as err:
            client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": at, "newName": new_name})
        assert "-32803" in str(err.value) and why in str(err.value) and "traceback" not in str(err.value)


def test_a_document_never_opened_gets_empty_answers(client: LspClient, tmp_path: Path) -> None:
    """Requests about a document the client never opened answer nothing; they do not read the disk or fail."""
    uri = (tmp_path / "never.survey").as_uri()
    doc = {"textDocument": {"uri": uri}}
    at = {**doc, "position": {"line": 0, "character": 0}}
    assert client.request("textDocument/hover", at) is None
    assert client.request("textDocument/definition", at) is None
    assert client.request("textDocument/references", {**at, "context": {"includeDeclaration": True}}) is None
    assert client.request("textDocument/prepareRename", at) is None
    assert client.request("textDocument/completion", at)["items"] == []
    assert client.request("textDocument/documentSymbol", doc) == []
    assert client.request("textDocument/formatting", {**doc, "options": {"tabSize": 2, "insertSpaces": True}}) is None
