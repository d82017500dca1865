"""`kvpspec build`: the generators' outputs, their goldens, determinism, safety."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from buildutil import build_files, flat, golden_dir, golden_text, pdf_text
from click.testing import CliRunner
from conftest import CASES, GOLDENS, KVP, check_golden

from kvpspec import compile_text
from kvpspec.cli import cli

ROUTING = CASES / "build" / "routing.survey"

GOLDEN_CASES = {"kvp2009": KVP, "routing": ROUTING, "roster": CASES / "roster.survey"}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ---------------------------------------------------------------- goldens


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_goldens(case: str, update_goldens: bool) -> None:
    """Every output file of every target, compared as text (PDFs and XLSX by
    their extracted text and cells)."""
    files = build_files(str(GOLDEN_CASES[case]))
    root = golden_dir(GOLDENS, case)
    expected = set()
    for path in sorted(files):
        name, text = golden_text(path, files[path])
        expected.add(name)
        check_golden(root / name, text, update_goldens)
    if root.exists():
        stale = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - expected
        if update_goldens:
            for name in stale:
                (root / name).unlink()
        else:
            assert not stale, f"golden files no output matches: {sorted(stale)}"


def test_kvp_build_writes_every_output() -> None:
    files = build_files(str(KVP))
    for stem in ("script/interviewer",):
        for ext in (".html", ".pdf", ".md"):
            assert stem + ext in files
    for doc in ("brev_direktoratet", "brev_nav", "vedlegg1", "vedlegg2", "vedlegg3", "vedlegg4"):
        assert f"documents/{doc}.html" in files
        assert files[f"documents/{doc}.pdf"].startswith(b"%PDF-")
    assert "documents/vedlegg4.xlsx" in files
    assert "flow/routing.svg" in files and "flow/routing.mmd" in files
    manifest = json.loads(files["manifest.json"])
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["version"])
    assert manifest["kvpspec"]
    listed = {f["path"] for f in manifest["files"]}
    assert listed == set(files) - {"manifest.json"}


# ---------------------------------------------------------------- the script


def _seed_questionnaire(text: str) -> str:
    start = text.index("INTRO:")
    end = text.index("ha en god kveld videre!", start)
    return flat(text[start:end + len("ha en god kveld videre!")])


def test_pdf_script_holds_every_question_text_of_the_seed(seed_text: str) -> None:
    from kvpspec import compile_file
    from kvpspec import model as m
    from kvpspec.semantics.lower import walk_items

    seed = _seed_questionnaire(seed_text)
    pdf = flat(pdf_text(build_files(str(KVP))["script/interviewer.pdf"]))
    spec = compile_file(KVP).spec
    assert spec.interview is not None
    texts = []
    for item in walk_items(spec.interview.items):
        if isinstance(item, m.Question) and "{" not in item.label.text:
            texts.append(item.label.text)
        elif isinstance(item, m.Grid):
            if item.label:
                texts.append(item.label.text)
            texts.extend(gi.label.text for gi in item.items)
    in_seed = [flat(t) for t in texts if flat(t) in seed]  # the spec ADDs a consent question
    # "Kan du huske det?", the nine questions, the stems of grids 8 and 10, 17 grid items
    assert len(in_seed) == 1 + 9 + 2 + 17
    for t in in_seed:
        assert t in pdf, f"missing from the PDF script: {t}"
    # the numbered questions, as the seed numbers them
    for number in ["1.", "2.", "3.", "4:", "5.", "6.", "7.", "8.", "9.", "10.", "11.", "12."]:
        assert f" {number} " in f" {pdf} "
    assert "Snakker jeg med <NAVN>" in pdf
    assert "Det var alt vi hadde å spørre om. Tusen takk for hjelpen, og ha en god kveld videre!" in pdf


def test_script_renders_read_aloud_routing_grids_and_recorded_items() -> None:
    files = build_files(str(KVP))
    md = files["script/interviewer.md"].decode()
    html = files["script/interviewer.html"].decode()
    assert "**LES OPP 1-6**" in md
    assert "*IKKE LES OPP:*\n\n- 7: Ikke sikker/ Ubesvart" in md
    assert "AVSLUTT (disposisjon 3: Feil telefonnummer)" in md
    assert (
        "Spørres hvis: rett\\_person er ikke besvart med 2 (Nei, feil telefonnummer), "
        "3 (Ikke tilgjengelig pga sykdom, behandling og liknende) eller 4 (Språkproblemer)"
    ) in md
    assert "Beregnet lengde: korteste 6,1 min" in md
    assert "Annet land \\_\\_\\_\\_ NOTÉR" in md
    assert "*Registrer kjønn* (REGISTRERES AV INTERVJUER, LES IKKE OPP)" in md
    # each grid is one table with its shared scale
    assert html.count('<table class="grid">') == 3
    assert html.count("I stor grad") == 1
    assert 'id="q8i"' in html
    assert '<span class="fill">&lt;NAVN&gt;</span>' in html
    assert 'class="instruction">Til intervjuer:' in html


def test_routing_links_to_its_target_and_shows_guards() -> None:
    files = build_files(str(ROUTING))
    html = files["script/interviewer.html"].decode()
    assert '<a class="route" href="#q4">&rarr; GÅ TIL 4</a>' in html
    assert 'id="q4"' in html
    assert "Spørres hvis: spm. 1 = 1 (Ja) og spm. 4 er besvart" in html
    assert "Hvis spm. 4 &lt; 30:" in html and "Ellers (ikke (spm. 4 &lt; 30)):" in html
    en = files["script/interviewer.en.html"].decode()
    assert "Asked if: Q1 = 1 (Yes) and Q4 is answered" in en
    assert "FLERE SVAR MULIG" in html
    md = files["script/interviewer.md"].decode()
    assert "[GÅ TIL 4](#q4)" in md


def test_one_script_per_language_with_fallback() -> None:
    files = build_files(str(ROUTING))
    en = files["script/interviewer.en.html"].decode()
    nb = files["script/interviewer.html"].decode()
    assert 'lang="en"' in en and "Am I speaking with" in en and "GO TO 4" in en
    assert "Snakker jeg med" in nb
    # a label without an English translation falls back to the main text
    assert "Feil nummer" in en
    assert "Am I speaking with <NAVN>" in flat(pdf_text(files["script/interviewer.en.pdf"]))


# ---------------------------------------------------------------- documents


def test_consent_declaration_reads_like_vedlegg_3() -> None:
    text = flat(pdf_text(build_files(str(KVP))["documents/vedlegg3.pdf"]))
    expected = [
        "Vedlegg 3",
        "Samtykkeerklæring:",
        "Jeg har mottatt informasjon om brukerundersøkelsen av kvalifiseringsprogrammet og ønsker å stille på intervju.",
        "Navn:",
        "Dato:",
        "Signatur:",
        "Telefonnummer:",
    ]
    pos = -1
    for part in expected:
        found = text.find(part, pos + 1)
        assert found > pos, f"{part!r} missing or out of order in {text!r}"
        pos = found


def test_documents_resolve_study_fills() -> None:
    files = build_files(str(KVP))
    letter = flat(pdf_text(files["documents/brev_nav.pdf"]))
    assert "Arbeidsforskningsinstituttet v/Kristin Reichborn-Kjennerud Boks 6954 St. Olavsplass 0103 Oslo" in letter
    assert "e-post rekr@afi-wri.no eller telefon 92 68 01 08" in letter
    assert "{" not in letter
    html = files["documents/vedlegg2.html"].decode()
    assert "ta ca. 10 minutter" in html
    assert "Personvernombudet for forskning, Norsk samfunnsvitenskapelig datatjeneste A/S" in html
    routing = build_files(str(ROUTING))["documents/skjema.html"].decode()
    assert "1. mars – 30. april 2025" in routing


def test_registration_xlsx_has_the_vedlegg_4_columns() -> None:
    from openpyxl import load_workbook

    data = build_files(str(KVP))["documents/vedlegg4.xlsx"]
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert ws.title == "Registreringsskjema"
    header_row = next(r for r in range(1, 30) if ws.cell(row=r, column=1).value == "Etternavn")
    headers = [ws.cell(row=header_row, column=c).value for c in range(1, 6)]
    assert headers == [
        "Etternavn",
        "Fornavn",
        "Telefonnummer",
        "Kommuniserer bruker tilfredsstillende på norsk? Hvis ikke, oppgi språk som kan anvendes",
        "Årsak oppgitt til ikke å delta",
    ]
    assert ws.freeze_panes == f"A{header_row + 1}"
    values = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert any(str(v).startswith("Her registreres opplysninger") for v in values)
    assert "Antall som ikke ønsket å delta:" in values
    lists = wb["Lister"]
    assert lists.sheet_state == "hidden"
    dropdowns = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            col = re.match(r"[A-Z]+", str(dv.sqref))
            assert col is not None
            _sheet, rng = dv.formula1.split("!")
            cells = lists[rng.replace("$", "")]
            dropdowns[col.group()] = [c[0].value for c in cells]
    assert dropdowns["D"][:3] == ["Kommuniserer tilfredsstillende på norsk", "Engelsk", "Arabisk"]
    assert dropdowns["E"][0] == "Tar ikke telefonen" and dropdowns["E"][-1] == "Annen årsak"
    assert len(dropdowns) == 2


# ---------------------------------------------------------------- determinism


def _build_in_a_new_process(spec: Path, out: Path, hash_seed: str) -> dict[str, bytes]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    proc = subprocess.run(
        [sys.executable, "-m", "kvpspec", "build", str(spec), "-o", str(out)],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_two_builds_in_two_processes_are_byte_identical(tmp_path: Path) -> None:
    """The KVP spec built twice, in two processes more than a second apart (the
    resolution of a font's time stamp) and with different hash seeds: the same
    bytes in every file, the PDFs included."""
    first = _build_in_a_new_process(KVP, tmp_path / "out1", "1")
    finished = time.time()
    time.sleep(1.1)
    assert time.time() - finished > 1
    second = _build_in_a_new_process(KVP, tmp_path / "out2", "2")
    assert first.keys() == second.keys()
    assert sum(k.endswith(".pdf") for k in first) >= 7 and any(k.endswith(".xlsx") for k in first)
    differ = [key for key in first if first[key] != second[key]]
    assert differ == [], f"these files differ between two builds: {differ}"


def test_in_process_builds_are_byte_identical() -> None:
    from kvpspec import compile_file
    from kvpspec.build import run_targets

    before = build_files(str(KVP))  # cached: built at the start of the session, or now
    time.sleep(1.1)
    again = run_targets(compile_file(KVP))[0]
    for path, data in again.items():
        assert before[path] == data, path


def _font(created: int, modified: int) -> bytes:
    """A one-glyph TrueType font with the given ``head`` time stamps."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((0, 500))
    pen.lineTo((500, 0))
    pen.closePath()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef"])
    fb.setupCharacterMap({})
    fb.setupGlyf({".notdef": pen.glyph()})
    fb.setupHorizontalMetrics({".notdef": (500, 0)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Stamp", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.font.recalcTimestamp = False
    fb.font["head"].created = created
    fb.font["head"].modified = modified
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def test_unstamp_font_sets_modified_to_created_and_keeps_the_font_valid() -> None:
    from fontTools.ttLib import TTFont

    from generators.base import unstamp_font

    created = 3_000_000_000  # seconds since 1904: in 1999
    stamped = [_font(created, created + delta) for delta in (1, 86_400)]
    assert stamped[0] != stamped[1]
    a, b = (unstamp_font(font) for font in stamped)
    assert a == b == _font(created, created)
    ttfont = TTFont(io.BytesIO(a), checkChecksums=2)  # a wrong table checksum raises
    ttfont.ensureDecompiled()
    assert ttfont["head"].modified == created
    # the whole font sums to the magic number once checkSumAdjustment is in
    padded = a + bytes(-len(a) % 4)
    total = sum(int.from_bytes(padded[i:i + 4], "big") for i in range(0, len(padded), 4))
    assert total % 2**32 == 0xB1B0AFBA
    assert unstamp_font(a) == a
    assert unstamp_font(b"not a font at all") == b"not a font at all"


# ---------------------------------------------------------------- hostile text

HOSTILE = r'''
survey evil "<script>alert('t')</script> {{{{ 7*7 }}}}"

study {
  title "=1+1 <b>title</b>"
  institute {
    name "<img src=x onerror=alert(1)>"
    contact "{{ config }}"
  }
  languages nb
}

scale s {
  read 1
  1 "=SUM(A1:A2)"
  2 "+cmd|' /C calc'!A0"
}

fieldwork {
  sample {
    field navn text "@navn <i>x</i>" personal
    field kanal single "-2+3 {{% raw %}}" {
      1 "=HYPERLINK(\"http://x\",\"y\")"
      2 "<script>alert(2)</script>"
    }
  }
}

interview {
  intro {
    say "{{% for x in range(3) %}}loop{{% endfor %}} </p><script>alert(3)</script>"
  }
  question q1 single "Hei {navn}! <script>alert(4)</script> {{{{ 7*7 }}}}" {
    instruction "<b onclick=alert(5)>Til intervjuer</b>"
    note "@SUM(1)"
    1 "=1+1" goto q3
    2 "<!-- comment --> | pipe * star _ under [link](http://x)"
  }
  grid q2 "]]> <![CDATA[ x" scale s {
    a "<svg onload=alert(6)>"
    b "\"quotes\" & 'apos'"
  }
  question q3 text "#60; #quot; %% mermaid"
  closing {
    say "-- end --"
  }
}

document d "<title>" {
  title "=1+1"
  paragraph "{institute.name} {institute.contact} <script>alert(7)</script>"
  list {
    "+danger"
  }
  table navn, kanal
  tally "=COUNTA(A:A)"
}
'''


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, bytes]:
    path = tmp_path_factory.mktemp("hostile") / "evil.survey"
    path.write_text(HOSTILE, encoding="utf-8")
    compiled = compile_text(HOSTILE, str(path))
    assert compiled.ok, [d.message for d in compiled.errors]
    return build_files(str(path))


def test_hostile_text_is_escaped_in_html(hostile: dict[str, bytes]) -> None:
    for path, data in hostile.items():
        if not path.endswith(".html"):
            continue
        html = data.decode()
        # the form's page has its own five script elements (config, data, runtime, program,
        # form.js); its user text is JSON with every < escaped (tests/test_form.py)
        own = 5 if path == "form/index.html" else 0
        assert html.lower().count("<script") == own, path
        assert "<img" not in html and "<svg" not in html and "<b " not in html and "<i>" not in html, path
        assert "onerror=alert(1)>" not in html
    script = hostile["script/interviewer.html"].decode()
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in script
    assert "{{ 7*7 }}" in script and "49" not in script
    assert "{% for x in range(3) %}loop{% endfor %}" in script
    doc = hostile["documents/d.html"].decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in doc
    assert "{{ config }}" in doc


def test_hostile_text_is_text_in_pdf(hostile: dict[str, bytes]) -> None:
    text = flat(pdf_text(hostile["script/interviewer.pdf"]))
    assert "<script>alert(4)</script> {{ 7*7 }}" in text
    assert "=1+1" in text
    assert "{% for x in range(3) %}loop{% endfor %}" in text
    doc = flat(pdf_text(hostile["documents/d.pdf"]))
    assert "<img src=x onerror=alert(1)> {{ config }} <script>alert(7)</script>" in doc


def test_hostile_text_is_escaped_in_markdown(hostile: dict[str, bytes]) -> None:
    md = hostile["script/interviewer.md"].decode()
    # the only raw HTML is kvpspec's own anchors; every other < is escaped
    for mo in re.finditer(r"(?<!\\)<", md):
        assert re.match(r'<a id="[A-Za-z_][A-Za-z0-9_]*"></a>|</a>', md[mo.start():]), md[mo.start():mo.start() + 30]
    assert "\\<script\\>alert(4)\\</script\\>" in md
    assert "{{ 7\\*7 }}" in md


def test_hostile_text_is_text_in_svg_and_mermaid(hostile: dict[str, bytes]) -> None:
    svg = hostile["flow/routing.svg"].decode()
    ElementTree.fromstring(svg.encode())  # still well-formed XML
    assert "<script" not in svg and "<svg onload" not in svg
    mmd = hostile["flow/routing.mmd"].decode()
    assert "<" not in mmd.replace("<br>", "") and '"quotes"' not in mmd
    for line in mmd.splitlines()[2:]:
        # every label stays inside its own quotes
        assert line.count('"') % 2 == 0, line


def test_hostile_text_is_never_a_formula_in_xlsx(hostile: dict[str, bytes]) -> None:
    from openpyxl import load_workbook

    data = hostile["documents/d.xlsx"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    wb = load_workbook(io.BytesIO(data))
    risky = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s", cell.coordinate
                    assert cell.quotePrefix, cell.coordinate
                    risky.append(cell.value)
    assert "=1+1" in risky and "=COUNTA(A:A)" in risky and '=HYPERLINK("http://x","y")' in risky
    assert "@navn <i>x</i>" in risky and "-2+3 {{% raw %}}" in risky  # sample labels hold no fills


# ---------------------------------------------------------------- the command


def test_build_command_writes_files_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", str(ROUTING), "-o", str(out), "--only", "flow")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["flow/routing.mmd", "flow/routing.svg"]
    import hashlib

    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert not (out / "script").exists()


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    result = run("build", str(ROUTING), "-o", str(tmp_path / "o"), "--only", "scrip")
    assert result.exit_code == 2
    assert "unknown target `scrip`" in result.stderr and "did you mean `script`" in result.stderr
    assert "Traceback" not in result.output


def test_unwritable_output_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("build", str(ROUTING), "-o", str(blocker / "out"), "--only", "flow")
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.output


def test_spec_with_errors_is_not_built(tmp_path: Path) -> None:
    spec = tmp_path / "bad.survey"
    spec.write_text('survey s "S"\ninterview {\n  question q1 "Q" scale nope\n}\n')
    result = run("build", str(spec), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "undefined-ref" in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_failing_generator_names_its_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kvpspec.build
    from generators.base import Generator

    class Broken(Generator):
        name = "broken"

        def generate(self) -> dict[str, bytes]:
            return {"x.txt": self.visit(object())}

    monkeypatch.setattr(kvpspec.build, "registry", lambda: {"broken": Broken})
    result = run("build", str(ROUTING), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "target `broken` failed: no rendering for a object node" in result.stderr


def test_registry_finds_every_target_through_entry_points() -> None:
    from generators.base import registry

    assert set(registry()) >= {"script", "documents", "registration", "flow"}


def test_check_does_not_import_the_rendering_libraries() -> None:
    code = (
        "import sys\n"
        "from kvpspec.cli import cli\n"
        f"try:\n    cli(['check', '-q', {str(KVP)!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('jinja2', 'weasyprint', 'openpyxl', 'generators') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
