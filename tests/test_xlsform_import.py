"""`kvpspec import xlsform`: the corpus, the XPath subset against elementpath, the mapping, errors, the round trip."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kvpspec.cli import cli
from kvpspec.compile import compile_file, compile_text
from kvpspec.diagnostics import InputError
from kvpspec.interchange import xpath as xp
from kvpspec.interchange.emit import import_xlsform
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.lower import lower
from kvpspec.syntax.parser import parse_expr, parse_text
from tests.conftest import GOLDENS, HOUSEHOLD, KVP, check_golden

CORPUS = Path(__file__).resolve().parent / "xlsforms"
FORMS = sorted(CORPUS.glob("*.xlsx"))


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write_md(tmp_path: Path, text: str, name: str = "form.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the corpus


def test_corpus_has_twenty_sourced_forms() -> None:
    assert len(FORMS) >= 20
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    for form in FORMS:
        assert (CORPUS / "src" / f"{form.stem}.md").exists(), form
        assert f"`{form.stem}`" in sources, f"{form.name} has no line in SOURCES.md"


@pytest.mark.parametrize("form", FORMS, ids=[f.stem for f in FORMS])
def test_corpus_form_imports_and_passes_check(form: Path) -> None:
    result = import_xlsform(form)
    compiled = compile_text(result.spec, f"{form.stem}.survey")
    assert compiled.ok, [d.headline() for d in compiled.errors]
    # formatted: the formatter leaves the spec as it is
    from kvpspec.syntax.formatter import format_spec

    assert format_spec(parse_text(result.spec)).rstrip("\n") == result.spec.rstrip("\n")
    assert result.spec.endswith("\n")
    # what was not carried is a comment in the spec and a note with its position
    left_out = [line for line in result.spec.splitlines() if "not carried" in line]
    if left_out:
        assert result.notes, f"{form.name}: comments say something was not carried but there are no notes"
    for note in result.notes:
        assert note.position.sheet in ("survey", "choices", "settings")
        assert note.position.row >= 1 and note.position.column


def test_corpus_notes_golden(update_goldens: bool) -> None:
    """The corpus table: every form, whether it carried everything, and its notes (reviewed as a golden)."""
    out = []
    for form in FORMS:
        result = import_xlsform(form)
        out.append(f"## {form.stem}: {len(result.notes)} note(s)")
        out.extend(f"- {note}" for note in result.notes)
        out.append("")
    check_golden(GOLDENS / "xlsform_import" / "corpus_notes.md", "\n".join(out), update_goldens)


def test_corpus_import_is_deterministic() -> None:
    form = CORPUS / "repeat_relative_reference.xlsx"
    assert import_xlsform(form) == import_xlsform(form)


# ---------------------------------------------------------------- the mapping

FORM = """
| survey |
| | type | name | label | label::Français (fr) | hint | relevant | constraint | constraint_message | required | calculation | repeat_count |
| | select_one yn | consent | Do you agree? | D'accord ? | | | | | yes | | |
| | integer | age | How old are you? | Quel âge ? | in years | ${consent} = 'yes' | . >= 15 and . <= 99 | | yes | | |
| | calculate | adult | | | | | | | | if(${age} >= 18, 1, 0) | |
| | select_multiple fruit | fruits | Which fruits? | Quels fruits ? | | ${adult} = 1 | | | yes | | |
| | decimal | kg | How many kilos, ${age}? | Combien de kilos ? | | selected(${fruits}, 'apple') and not(${age} > 90) | . > 0 | Must be positive | yes | | |
| | begin group | hh | Household | Ménage | | ${consent} != 'no' | | | | | |
| | integer | n | How many people? | Combien ? | | | . >= 1 and . <= 8 | | yes | | |
| | begin repeat | person | People | Personnes | | | | | | | ${n} |
| | text | pname | Name of person | Nom | | | | | yes | | |
| | select_one yn | works | Does ${pname} work? | Travaille ? | | | | | yes | | |
| | end repeat | | | | | | | | | | |
| | end group | | | | | | | | | | |
| | select_one yn or_other | again | Again? | Encore ? | | | | | yes | | |
| | note | bye | Thanks! | Merci ! | | | | | | | |
| | geopoint | gps | Where? | Où ? | | | | | | | |
| choices |
| | list_name | name | label | label::Français (fr) |
| | yn | yes | Yes | Oui |
| | yn | no | No | Non |
| | fruit | 1 | Apple | Pomme |
| | fruit | 2 | Pear | Poire |
| settings |
| | form_title | form_id | version | default_language |
| | Mapping test | mapping | 2024-1 | English (en) |
"""


def test_mapping_of_a_form_with_every_construct(tmp_path: Path) -> None:
    form = FORM.replace("'apple'", "'1'")
    result = import_xlsform(write_md(tmp_path, form))
    spec = result.spec
    compiled = compile_text(spec)
    assert compiled.ok, [d.headline() for d in compiled.errors]
    # languages and the survey line
    assert 'survey mapping "Mapping test"' in spec
    assert "languages en, fr" in spec and 'version "2024-1"' in spec
    # a list used by several questions is a scale; names that are not numbers become codes 1..n, recorded
    assert "scale yn" in spec and "1 = yes, 2 = no" in spec
    assert 'question consent single "Do you agree?" @fr "D\'accord ?" scale yn' in spec
    # a two-sided bound is a range, the relevant an ask if, the hint an instruction
    age = _block(spec, "question age")
    assert "range 15..99" in age and "ask if consent == 1" in age and 'instruction "in years"' in age
    # a calculate read by relevant is rendered in place; it is also a derived variable
    assert "ask if (if age >= 18 and age is answered then 1 else 0) == 1" in _block(spec, "question fruits")
    assert "derive adult = if age >= 18 and age is answered then 1 else 0" in spec
    # selected() and not() (two-valued), fills, and a one-sided constraint as a check with its message
    kg = _block(spec, "question kg")
    assert "ask if fruits == 1 and not (age > 90 and age is answered)" in kg
    assert '"How many kilos, {age}?"' in kg
    assert 'error kg_constraint "Must be positive" if kg is answered and not (kg > 0 and kg is answered)' in spec
    # a group with relevant is an if block, its label a section; the repeat a roster counted by n
    assert "if consent != 2 or not consent is answered {" in spec
    assert 'section "Household" @fr "Ménage" {' in spec
    assert 'roster person "People" @fr "Personnes" for 1..n max 8 {' in spec
    assert '"Does {pname} work?"' in spec
    # or_other, note, and what is not carried
    assert 'specify again_other "Specify"' in spec
    assert 'say "Thanks!" @fr "Merci !"' in spec
    assert "# not carried (survey row 18): geopoint gps" in spec
    notes = [str(n) for n in result.notes]
    assert any(n.startswith("survey sheet, row 18, column B (type): `geopoint` gps") for n in notes), notes
    # the codebook: variables and kinds as the form has them
    variables = compiled.lowered.variables
    for name in ("consent", "age", "fruits", "kg", "n", "pname_1", "works_8", "again", "again_other", "adult"):
        assert name in variables, name


def _block(spec: str, start: str) -> str:
    """The formatted statement that starts with ``start`` (statements are separated by blank lines)."""
    return spec[spec.index(start):].split("\n\n")[0]


def test_what_check_refuses_is_degraded_to_a_comment(tmp_path: Path) -> None:
    """A relevant reading a later question, or a constant condition, would fail check: it becomes a comment and a note."""
    form = """
| survey |
| | type | name | label | relevant |
| | integer | a | A | ${b} > 1 |
| | integer | b | B | |
| | select_one yn | c | C | |
| | text | d | D | ${c} = 'yes' and ${c} = 'no' |
| choices |
| | list_name | name | label |
| | yn | yes | Yes |
| | yn | no | No |
"""
    result = import_xlsform(write_md(tmp_path, form))
    assert compile_text(result.spec).ok
    assert "# relevant of a not carried: ${b} > 1" in result.spec
    assert "# relevant of d not carried: ${c} = 'yes' and ${c} = 'no'" in result.spec
    notes = {(n.position.row, n.position.column) for n in result.notes}
    assert (4, "E (relevant)") in notes and (7, "E (relevant)") in notes  # lines of the .md file


# ---------------------------------------------------------------- the command line and bad input


def test_cli_writes_the_spec_and_lists_notes(tmp_path: Path) -> None:
    out = tmp_path / "out.survey"
    result = run("import", "xlsform", str(CORPUS / "translations_russian_kyrgyz.xlsx"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert compile_file(out).ok
    assert "survey sheet, row 1, column E (label::Kyrgyz)" in result.stderr
    check = run("check", str(out))
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("not a workbook", "form.xlsx", "not an .xlsx workbook"),
        ("hello", "form.txt", "not an XLSForm file"),
        ("| choices |\n| | list_name | name | label |\n| | yn | 1 | Yes |\n", "form.md", "no `survey` sheet"),
        ("| survey |\n| | name | label |\n| | q | Q |\n", "form.md", "survey sheet, row 1: no `type` column"),
        ("| survey |\n| | type | name | label | relevant |\n| | integer | a | A | |\n| | integer | b | B | ${a} > > 2 |\n",
         "form.md", "survey sheet, row 4, column E (relevant): not an XPath expression"),
        ("| survey |\n| | type | name | label |\n| | begin group | g | G |\n| | integer | a | A |\n", "form.md",
         "survey sheet, row 3: `begin group` is never closed"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path, content: str, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run("import", "xlsform", str(path), "-o", str(tmp_path / "x.survey"))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    with pytest.raises(InputError):
        import_xlsform(path)


def test_cli_import_refuses_to_overwrite_the_form(tmp_path: Path) -> None:
    form = tmp_path / "self.xlsx"
    form.write_bytes((CORPUS / "translations_russian_kyrgyz.xlsx").read_bytes())
    before = form.read_bytes()
    result = run("import", "xlsform", str(form), "-o", str(form))
    assert result.exit_code == 2, result.output
    assert "would overwrite its input" in result.stderr
    assert form.read_bytes() == before


def test_missing_file(tmp_path: Path) -> None:
    result = run("import", "xlsform", str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 2 and "no such file" in result.stderr


# ---------------------------------------------------------------- XPath subset vs elementpath

CHOICES_A = {"yes": 1, "no": 2, "dk": 3}
CHOICES_M = {"x": 1, "y": 2, "z": 3}
VARS = {
    "a": xp.Var("a", "single", CHOICES_A),
    "m": xp.Var("m", "multiple", CHOICES_M),
    "n": xp.Var("n", "integer"),
    "d": xp.Var("d", "decimal"),
    "t": xp.Var("t", "text"),
}
SPEC = parse_text("""survey p "P"
interview {
  question a single "A" { 1 "yes" 2 "no" 3 "dk" }
  question m multiple "M" { 1 "x" 2 "y" 3 "z" }
  question n integer "N" { range -100..100 }
  question d decimal "D" { range -100.0..100.0 }
  question t text "T"
}""").spec
EVAL = Evaluator(lower(SPEC).variables)


class If:
    """if(c, a, b) in the generated tree: ODK's function, composed around elementpath (XPath 1.0 has none)."""

    def __init__(self, cond, a, b):
        self.cond, self.a, self.b = cond, a, b


NUM_LEAVES = ["${n}", "${d}", "${n}", "${d}", "0", "1", "-2", "3", "0.5", "1.5"]
BOOL_LEAVES = [
    *(f"${{a}} {op} '{c}'" for op in ("=", "!=") for c in CHOICES_A),
    *(f"selected(${{m}}, '{c}')" for c in CHOICES_M),
    *(f"count-selected(${{m}}) {op} {k}" for op in ("=", "!=", ">", "<") for k in (0, 1, 2)),
    "${t} = 'foo'", "${t} != 'foo'", "${t} = ''", "${t} != ''", "${a} = ''", "${n} != ''",
    "string-length(${t}) > 0", "true()", "false()",
]


@st.composite
def num_trees(draw, depth: int = 2):
    kind = draw(st.sampled_from(["leaf", "arith", "div", "neg", "if"] if depth > 0 else ["leaf"]))
    if kind == "leaf":
        return draw(st.sampled_from(NUM_LEAVES))
    if kind == "arith":
        return f"({draw(num_trees(depth - 1))} {draw(st.sampled_from(['+', '-', '*']))} {draw(num_trees(depth - 1))})"
    if kind == "div":
        return f"({draw(num_trees(depth - 1))} div {draw(st.sampled_from(['2', '4', '-2']))})"
    if kind == "neg":
        inner = draw(num_trees(depth - 1))
        return f"-{inner}" if isinstance(inner, str) and not inner.startswith("-") else inner
    return If(draw(bool_trees(depth - 1)), draw(num_trees(depth - 1)), draw(num_trees(depth - 1)))


@st.composite
def bool_trees(draw, depth: int = 2):
    kind = draw(st.sampled_from(["compare", "compare", "leaf", "andor", "not"] if depth > 0 else ["compare", "leaf"]))
    if kind == "compare":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return (draw(num_trees(min(depth, 2))), op, str(draw(st.integers(-4, 4))))
    if kind == "leaf":
        return draw(st.sampled_from(BOOL_LEAVES))
    if kind == "andor":
        return (draw(bool_trees(depth - 1)), draw(st.sampled_from(["and", "or"])), draw(bool_trees(depth - 1)))
    return ("not", draw(bool_trees(depth - 1)))


def render(node) -> str:
    """The XLSForm text of a generated tree."""
    if isinstance(node, str):
        return node
    if isinstance(node, If):
        return f"if({render(node.cond)}, {render(node.a)}, {render(node.b)})"
    if node[0] == "not":
        return f"not({render(node[1])})"
    left, op, right = node
    return f"({render(left)} {op} {render(right)})"


def xpath_value(node, root):
    """elementpath's XPath 1.0 value of a generated tree on a record (if() composed, selected() rewritten)."""
    import elementpath

    def text(n) -> str:
        if isinstance(n, str):
            # XPath 1.0 reads an empty number as NaN; elementpath's comparisons want it said with number()
            s = n.replace("${n} != ''", "string(/data/n) != ''")
            s = re.sub(r"\$\{([nd])\}", r"number(/data/\1)", s)
            s = s.replace("${", "/data/").replace("}", "")
            s = re.sub(r"selected\((/data/\w+), '(\w+)'\)", r"contains(concat(' ', \1, ' '), ' \2 ')", s)
            s = re.sub(
                r"count-selected\((/data/\w+)\)",
                r"(string-length(normalize-space(\1)) - string-length(translate(normalize-space(\1), ' ', ''))"
                r" + number(normalize-space(\1) != ''))",
                s,
            )
            return s
        if isinstance(n, If):
            chosen = n.a if value(n.cond, boolean=True) else n.b
            v = value(chosen)
            return "number('')" if v != v else repr(float(v))
        if n[0] == "not":
            return f"not({text(n[1])})"
        return f"({text(n[0])} {n[1]} {text(n[2])})"

    def value(n, boolean: bool = False):
        expr = text(n)
        if boolean:
            expr = f"boolean({expr})"
        else:
            expr = f"number({expr})"
        return elementpath.select(root, expr, parser=elementpath.XPath1Parser)

    return value(node, boolean=True)


ROWS = st.fixed_dictionaries({
    "a": st.sampled_from([None, "yes", "no", "dk"]),
    "m": st.lists(st.sampled_from(["x", "y", "z"]), unique=True, max_size=3),
    "n": st.one_of(st.none(), st.integers(-8, 8)),
    "d": st.one_of(st.none(), st.integers(-10, 10).map(lambda i: i / 2)),
    "t": st.sampled_from([None, "foo", "bar"]),
})


def _xml(row) -> ET.Element:
    root = ET.Element("data")
    for key in ("a", "m", "n", "d", "t"):
        el = ET.SubElement(root, key)
        v = row[key]
        if key == "m":
            el.text = " ".join(v) if v else None
        elif v is not None:
            el.text = str(v)
    return root


def _record(row) -> dict:
    rec = {}
    if row["a"] is not None:
        rec["a"] = CHOICES_A[row["a"]]
    if row["m"]:
        rec["m"] = frozenset(CHOICES_M[c] for c in row["m"])
    for key in ("n", "d", "t"):
        if row[key] is not None:
            rec[key] = row[key]
    return rec


@settings(max_examples=200)
@given(bool_trees(), st.lists(ROWS, min_size=4, max_size=10))
def test_xpath_subset_means_what_elementpath_says(tree, rows) -> None:
    """Generated XLSForm conditions, translated, hold on exactly the rows where elementpath finds them true.

    Guard form (``ask if``: UNKNOWN counts as not holding) and the exact form
    (never UNKNOWN, used under not(), in if() and in constraints) both.
    """
    source = render(tree)
    tr = xp.Translator(VARS.get)
    guard = parse_expr(tr.condition(xp.parse(source)))
    exact = parse_expr(tr.condition(xp.parse(source), exact=True))
    for row in rows:
        expected = xpath_value(tree, _xml(row))
        rec = _record(row)
        assert EVAL.truth(guard, rec) == expected, (source, row)
        assert EVAL.value(exact, rec) is expected, (source, row)


def test_xpath_parser_refuses_and_explains() -> None:
    tr = xp.Translator(VARS.get)
    for text, reason in [
        ("${n} mod 2 = 0", "`mod`"),
        ("today() > ${d}", "today()"),
        ("${a} = 'maybe'", "'maybe' is not a choice"),
        ("/data/n > 1", "the path"),
        ("${m} = 'x'", "select_multiple"),
        ("${zz} = 1", "${zz} names no question"),
    ]:
        with pytest.raises(xp.Unsupported, match=re.escape(reason)):
            tr.condition(xp.parse(text))
    for text, offset in [("${n} >", 6), ("(1", 2), ("${a} ? 1", 5), ("", 0)]:
        with pytest.raises(xp.XPathError) as info:
            xp.parse(text)
        assert info.value.offset == offset, text


# ---------------------------------------------------------------- round trip through the export


def _codebooks(compiled) -> dict[str | None, dict[str, dict]]:
    """The codebook (`kvpspec export codebook`) in every language of the study, by variable name."""
    from kvpspec.data.codebook import codebook

    study = compiled.spec.study
    langs = [None, *((study.languages[1:]) if study and study.languages else ())]
    return {lang: {v["name"]: v for v in codebook(compiled, lang)["variables"]} for lang in langs}


#: What the round trip does not carry, each with its reason (docs/xlsform.md, "Round trip"): by (spec,
#: variable name or its pattern, the codebook field that differs; "lost" when the variable does not come back).
NOT_CARRIED: dict[tuple[str, str, str], str] = {
    ("hostile_form", "h2", "label"): "`${` in a text is written `$ {` so that it cannot become a reference",
}
#: Variables of the imported spec that SPEC does not have, with the reason.
EXTRA: dict[tuple[str, str], str] = {}


def _not_carried(spec: str, entry: dict, field: str) -> str | None:
    for (s, pattern, f), why in NOT_CARRIED.items():
        if (s, f) == (spec, field) and re.fullmatch(pattern, entry["name"]):
            return why
    return None


ROUND_TRIP = [KVP, HOUSEHOLD, *sorted((Path(__file__).resolve().parent / "cases").glob("*.survey"))]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=[p.stem for p in ROUND_TRIP])
def test_round_trip_keeps_codebook_and_routing(tmp_path: Path, spec: Path) -> None:
    """import(export(SPEC)): every response variable comes back with its kind and codes, and is asked
    in exactly the interviews where SPEC asks it (generated interviews, the walker on both specs)."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hsettings

    from generators.xlsform import write_xlsform
    from kvpspec.synth.strategies import cases, spec_model

    original = compile_file(spec)
    if not original.ok:
        pytest.skip(f"{spec.name} does not pass check (a case of errors)")
    form = tmp_path / "form.xlsx"
    write_xlsform(original, form)
    result = import_xlsform(form)
    back = compile_text(result.spec)
    assert back.ok, [d.headline() for d in back.errors]
    mine, theirs = _codebooks(original), _codebooks(back)
    wrong = _codebook_differences(spec.stem, mine, theirs)
    assert not wrong, f"the codebook differs (not on the allow-list): {wrong[:10]}"
    extra = {n for n in theirs[None] if n not in mine[None]}
    assert extra == {n for s, n in EXTRA if s == spec.stem}, "variables that come back and were not in SPEC"
    a, b = spec_model(original), spec_model(back)
    steps_back = {s.name for s in b.steps}

    @hsettings(max_examples=25, suppress_health_check=list(HealthCheck))
    @given(cases(original))
    def same_routing(case) -> None:
        record = case.record
        asked_back = b.asked(record)
        compared = [name for name in record if name in steps_back and name in mine[None]]
        assert compared, "no question of SPEC to compare"
        for name in compared:
            assert asked_back[name] == (record[name] is not None), (name, record)

    same_routing()


def _codebook_differences(stem: str, mine: dict, theirs: dict) -> list[tuple]:
    """(language, variable, field, SPEC's, the import's) for each difference not on the allow-list."""
    assert mine.keys() == theirs.keys(), "the languages differ"
    wrong = []
    for lang, entries in mine.items():
        for name, entry in entries.items():
            other = theirs[lang].get(name)
            fields = ["lost"] if other is None else [k for k in entry if entry[k] != other[k]]
            for f in fields:
                if _not_carried(stem, entry, f) is None:
                    wrong.append((lang, name, f, entry.get(f), None if other is None else other.get(f)))
    return wrong


def test_round_trip_without_the_kvpspec_column_loses_the_codebook(tmp_path: Path) -> None:
    """The comparison finds what the `kvpspec` column carries: without it (as a platform that drops
    unknown columns would save the form) missing kinds, missing-code labels, sample fields, the
    intro, the specify texts, the grids, the respondent id and the recodes no longer come back."""
    from generators.xlsform import workbook, workbook_bytes, xlsform

    original = compile_file(KVP)
    form = xlsform(original)
    form.survey_columns = [c for c in form.survey_columns if c != "kvpspec"]
    form.choices_columns = [c for c in form.choices_columns if c != "kvpspec"]
    path = tmp_path / "stripped.xlsx"
    path.write_bytes(workbook_bytes(workbook(form)))
    back = compile_text(import_xlsform(path).spec)
    assert back.ok, [d.headline() for d in back.errors]
    wrong = _codebook_differences(KVP.stem, _codebooks(original), _codebooks(back))
    found = {(name, f) for _, name, f, _, _ in wrong}
    assert ("q1", "missing") in found  # the kind of 7 "Ikke sikker/ Ubesvart"
    assert ("q3", "values") in found  # 99's label on a numeric question
    assert ("etternavn", "personal") in found
    assert ("q4_other", "role") in found  # a text question, not q4's specify text
    assert ("q6a", "role") in found  # a question, not an item of the grid q6
    assert ("lopenr", "role") in found  # the respondent id (a sample field without the column)
    assert ("aldersgruppe", "role") in found  # the recode (a derived variable without its table)


def test_dates_duplicates_and_junk_never_traceback(tmp_path: Path) -> None:
    """A date is a text question (noted); a second row of the same name is left out (noted); the spec passes check."""
    form = """
| survey |
| | type | name | label | relevant |
| | date | when | When? | |
| | select_one yn or_other | x | X | |
| | select_one yn or_other | x | X again | ${when} != '' |
| | select_one nolist | y | Y | |
| choices |
| | list_name | name | label |
| | yn | yes | Yes |
"""
    result = import_xlsform(write_md(tmp_path, form))
    assert compile_text(result.spec).ok
    assert 'question when_ text "When?"' in result.spec  # `when` is a keyword of the spec
    notes = [str(n) for n in result.notes]
    assert any("`date` when is a text question" in n for n in notes), notes
    assert result.spec.endswith("\n")
    assert any("the name `x` is taken by an earlier row" in n for n in notes), notes
    assert any("the choice list `nolist` is not on the choices sheet" in n for n in notes), notes


def test_a_wrong_kvpspec_column_never_tracebacks(tmp_path: Path) -> None:
    """The `kvpspec` column is read only where it fits the form: facts naming no list, no question or
    no rule, an expression that does not parse, a grid group of mixed rows: the spec still passes check."""
    form = """
| survey |
| | type | name | label | calculation | kvpspec |
| | hidden | rid | Id | | respondent weird |
| | hidden | f1 | F | | field single nolist; personal; specify zz 1 |
| | begin_group | intro | | | intro |
| | select_one yn | a | A | | end 1=99 2=x; specify |
| | end_group | intro | | | |
| | integer | n | N | | missing nolist |
| | begin_group | g | G | | grid |
| | select_one yn | gx | X | | |
| | text | gy | Y | | |
| | end_group | g | | | |
| | text | t | T | | specify a 1 |
| | begin_repeat | r | R | | over nolist |
| | calculate | r_lab | | 'x' | label r |
| | end_repeat | r | | | |
| | calculate | d1 | | 1 | derive ) ( |
| | calculate | d3 | | 1 | recode n nolist; rules 1=1 |
| | calculate | d4 | | 1 | recode n yn; rules 1=1 zz=3 |
| | calculate | d6 | | 1 | fill |
| choices |
| | list_name | name | label | kvpspec |
| | yn | 1 | Yes | missing bogus; aapor |
| | yn | 2 | No | recode q yn; rules 1=1 |
| | disp | 1 | Done | aapor 1x |
"""
    result = import_xlsform(write_md(tmp_path, form))
    assert compile_text(result.spec).ok
    for name in ("d1", "d3", "d4", "d6"):
        assert f"derive {name} = 1" in result.spec  # read as the calculation, the fact left aside
    assert "grid" not in result.spec and "dispositions" not in result.spec
    assert "missing bogus" not in result.spec


# ---------------------------------------------------------------- what the import changes is a note


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)  # openpyxl saves a formula without a computed value
    return path


def test_changes_and_drops_are_notes_with_their_cell(tmp_path: Path) -> None:
    form = _xlsx(tmp_path / "f.xlsx", {
        "survey": [["type", "name", "label", "type"],
                   ["text", "a", "A", "integer"],
                   ["select_one yn", "名前", "=1+1"],
                   ["text", "ab c", "x"], ["text", "ab_c", "y"], ["text", "question", "q"],
                   ["select_one l", "s", "S"]],
        "choices": [["list_name", "name", "label"], ["yn", "1", "Y"], ["yn", "1", "Y2"], ["yn", "", "empty"],
                    ["yn", "=1+2", "formula"], ["l", "x", "X"], ["l", "y", "Y"]],
        "settings": [["form_id"], ["my form"]],
    })
    notes = [str(n) for n in import_xlsform(form).notes]
    text = "\n".join(notes)
    assert "survey sheet, row 1, column D (type): the header `type` repeats column A" in text
    assert "survey sheet, row 2, column D (type): `integer` is left out" in text
    assert "survey sheet, row 3, column C (label): the formula `=1+1` has no value saved" in text
    assert "choices sheet, row 3, column B (name): the choice name `1` repeats an earlier choice of `yn`" in text
    assert "choices sheet, row 4, column B (name): a choice of `yn` without a name" in text
    assert "choices sheet, row 5, column B (name): the formula `=1+2` has no value saved" in text
    assert "survey sheet, row 3, column B (name): the name `名前` becomes `__`" in text
    assert "survey sheet, row 4, column B (name): the name `ab c` becomes `ab_c`" in text
    assert "survey sheet, row 5, column B (name): the name `ab_c` becomes `ab_c_2`" in text
    assert "survey sheet, row 6, column B (name): the name `question` becomes `question_`" in text
    assert "settings sheet, row 2, column A (form_id): the form id `my form` becomes `my_form`" in text
    assert "choices sheet, row 6, column B (name): the choice names of `l` are not all whole numbers: they become the codes 1 = x, 2 = y" in text


def test_a_formula_name_without_value_is_said_to_be_a_formula(tmp_path: Path) -> None:
    form = _xlsx(tmp_path / "f.xlsx", {"survey": [["type", "name", "label"], ["text", "=B3", "A"]]})
    result = run("import", "xlsform", str(form))
    assert result.exit_code == 2
    assert "row 2, column B: its name is a formula with no value saved" in result.stderr


def test_constraint_bounds_stay_exact_and_beyond_2_53_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_text("| survey |\n| | type | name | label | constraint |\n"
                   "| | integer | d | D | . >= 1 and . <= 99999999999999999999999 |\n"
                   "| | integer | e | E | . >= 1 and . <= 9007199254740991 |\n", encoding="utf-8")
    result = import_xlsform(big)
    assert "range 1..9007199254740991" in result.spec  # exact: a float would give ...992
    assert "99999999999999991611392" not in result.spec and "range 1..9999" not in result.spec
    assert any("row 3, column E (constraint)" in str(n) and "beyond 2^53" in str(n) for n in result.notes)
    assert compile_text(result.spec, "big.survey").ok


def test_a_huge_repeat_count_is_cut_with_a_note(tmp_path: Path) -> None:
    form = write_md(tmp_path, "| survey |\n| | type | name | label | repeat_count |\n"
                              "| | begin repeat | r | R | 100000000 |\n| | text | a | A | |\n| | end repeat | | | |\n")
    result = import_xlsform(form)
    assert "roster r \"R\" for 1..1000 {" in result.spec
    assert any("row 3, column E (repeat_count): the repeat count 100000000 is cut to 1000" in str(n) for n in result.notes)
    assert compile_text(result.spec, "r.survey").ok


def test_circular_calculates_name_the_cycle(tmp_path: Path) -> None:
    form = write_md(tmp_path, "| survey |\n| | type | name | label | calculation |\n"
                              "| | calculate | a | | ${b}+1 |\n| | calculate | b | | ${a}+1 |\n")
    notes = [str(n) for n in import_xlsform(form).notes]
    assert any("row 3, column E (calculation)" in n and "cycle: `b` → `a` → `b`" in n for n in notes), notes
    assert not any("refers to itself" in n for n in notes)
