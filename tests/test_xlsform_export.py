"""The XLSForm export (issue 14, docs/xlsform.md) against the peer's own tools.

- every example spec's export converts with pyxform with no error and no
  warning, and passes ODK Validate (Java; in CI a missing java fails);
- differential: the ``relevant`` expressions of the XForm that pyxform makes
  from the export, evaluated by elementpath (XPath 1.0 with ODK's functions)
  on interviews Hypothesis draws, ask exactly the steps ``routing.Walk`` asks;
  and a wrong guard is caught;
- goldens of the sheets as text, determinism, the CLI.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

import pytest
from conftest import HOUSEHOLD, KVP, check_golden, in_ci
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generators.xlsform import dump, workbook, workbook_bytes, xlsform
from kvpspec.compile import Compiled, compile_file
from kvpspec.semantics.routing import Walk, steps
from kvpspec.synth.strategies import samples, spec_model

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "cases").glob("*.survey"))
GOLDENS = ROOT / "tests" / "goldens" / "xlsform"


def _convert() -> Any:
    """pyxform's ``convert``. Importing pyxform builds a lark parser; with
    interegular installed (a test extra) lark spends minutes comparing its
    terminals, so that check is off while pyxform is imported."""
    import lark.lexer

    old = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        from pyxform.xls2xform import convert
    finally:
        lark.lexer.has_interegular = old
    return convert


def _clean_specs() -> list[Path]:
    out = [KVP, HOUSEHOLD]
    for path in CASES:
        if compile_file(path).ok:
            out.append(path)
    return out


def _xform(compiled: Compiled, path: Path) -> str:
    """Export, then convert with pyxform (no validation): the XForm, asserting no warning."""
    form = xlsform(compiled)
    path.write_bytes(workbook_bytes(workbook(form)))
    warnings: list[str] = []
    result = _convert()(xlsform=str(path), validate=False, warnings=warnings)
    assert warnings == [], f"{path.name}: pyxform warns: {warnings}"
    return result.xform


# ---------------------------------------------------------------- pyxform and ODK Validate


def test_exports_convert_and_validate(tmp_path: Path) -> None:
    """Every example spec: pyxform converts the export with no error and no warning,
    and ODK Validate (java) accepts the XForm; validations run in parallel."""
    xmls = []
    for spec in _clean_specs():
        xform = _xform(compile_file(spec), tmp_path / f"{spec.stem}.xlsx")
        xml = tmp_path / f"{spec.stem}.xml"
        xml.write_text(xform, encoding="utf-8")
        xmls.append(xml)
    assert len(xmls) >= 6
    if shutil.which("java") is None:
        if in_ci():
            pytest.fail("java is missing: ODK Validate cannot run (CI installs a Java runtime)")
        pytest.skip("java is not installed: ODK Validate not run")
    import pyxform.validators.odk_validate as odk

    jar = Path(odk.__file__).parent / "bin" / "ODK_Validate.jar"
    assert jar.exists(), jar

    def validate(xml: Path) -> tuple[Path, int, str]:
        proc = subprocess.run(["java", "-Djava.awt.headless=true", "-jar", str(jar), str(xml)],
                              capture_output=True, text=True, timeout=300)
        return xml, proc.returncode, proc.stdout + proc.stderr

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(validate, xmls))
    bad = [(x.name, out) for x, code, out in results if code != 0 or "Xform is valid" not in out]
    assert not bad, bad


# ---------------------------------------------------------------- the differential


@functools.cache
def _odk_parser() -> Any:
    """elementpath's XPath 1.0 parser with ODK's ``selected``, ``if`` and ``indexed-repeat``."""
    from elementpath import XPath1Parser

    class ODKParser(XPath1Parser):
        symbol_table: ClassVar[dict[str, Any]] = {**XPath1Parser.symbol_table}

    method, function = ODKParser.method, ODKParser.function

    def text_of(token: Any, context: Any) -> str:
        v = token.evaluate(context)
        if isinstance(v, list):
            v = v[0] if v else ""
        if hasattr(v, "string_value"):
            return str(v.string_value)
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    @method(function("selected", nargs=2, sequence_types=("xs:string", "xs:string", "xs:boolean")))
    def evaluate_selected(self: Any, context: Any = None) -> bool:
        return text_of(self[1], context) in text_of(self[0], context).split()

    @method(function("if", nargs=3, sequence_types=("xs:boolean", "item()*", "item()*", "item()*")))
    def evaluate_if(self: Any, context: Any = None) -> Any:
        chosen = self[1] if self.boolean_value(self[0].evaluate(context)) else self[2]
        return chosen.evaluate(context)

    @method(function("indexed-repeat", nargs=(3, 7),
                     sequence_types=("item()*", "item()*", "xs:double", "item()*", "xs:double",
                                     "item()*", "xs:double", "item()*")))
    def evaluate_indexed_repeat(self: Any, context: Any = None) -> Any:
        targets = [n for n in self[0].evaluate(context)]
        within: Any = None
        for k in range(1, len(self), 2):
            repeats = [n for n in self[k].evaluate(context)]
            if within is not None:
                repeats = [r for r in repeats if _below(r, within)]
            index = int(float(text_of(self[k + 1], context)))
            if index < 1 or index > len(repeats):
                return []
            within = repeats[index - 1]
        return [n for n in targets if _below(n, within)][:1]

    # XPath 1.0's comparisons (section 3.4), which elementpath's XPath1Parser does not
    # follow for a node and a number (it compares `'1' = 1` as false; `'' > 1` raises
    # where XPath 1.0 compares NaN): ODK (JavaRosa) follows the recommendation
    def comparison(op: str) -> Any:
        def evaluate(self: Any, context: Any = None) -> bool:
            return _compare(op, self[0].evaluate(context), self[1].evaluate(context))

        return evaluate

    for op in ("=", "!=", "<", "<=", ">", ">="):
        method(ODKParser.infix(op, bp=30 if op in ("=", "!=") else 35))(comparison(op))
    ODKParser.build()
    return ODKParser


def _number(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, Decimal)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return float("nan")


def _string(v: Any) -> str:
    if hasattr(v, "string_value"):
        return str(v.string_value)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _atomic(op: str, a: Any, b: Any) -> bool:
    import operator

    ops = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            return ops[op](bool(a) if not hasattr(a, "string_value") else bool(_string(a)), bool(b))
        if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
            return bool(ops[op](_number(_string(a) if hasattr(a, "string_value") else a),
                                _number(_string(b) if hasattr(b, "string_value") else b)))
        return bool(ops[op](_string(a), _string(b)))
    x = _number(_string(a) if hasattr(a, "string_value") else a)
    y = _number(_string(b) if hasattr(b, "string_value") else b)
    return bool(ops[op](x, y))


def _compare(op: str, a: Any, b: Any) -> bool:
    """An XPath 1.0 comparison: a node-set compares by any of its nodes' string values."""
    if isinstance(a, list) and len(a) == 1 and not hasattr(a[0], "string_value"):
        a = a[0]
    if isinstance(b, list) and len(b) == 1 and not hasattr(b[0], "string_value"):
        b = b[0]
    a_set, b_set = isinstance(a, list), isinstance(b, list)
    if a_set and isinstance(b, bool):
        return _atomic(op, bool(a), b)
    if b_set and isinstance(a, bool):
        return _atomic(op, a, bool(b))
    if a_set and b_set:
        return any(_atomic(op, _string(x), _string(y)) if op in ("=", "!=") else _atomic(op, x, y)
                   for x in a for y in b)
    if a_set:
        return any(_atomic(op, x, b) for x in a)
    if b_set:
        return any(_atomic(op, a, y) for y in b)
    return _atomic(op, a, b)


_PARENTS: dict[int, ET.Element] = {}


def _below(node: Any, ancestor: Any) -> bool:
    """Is the elementpath node ``node`` inside (or) ``ancestor``?"""
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


XF = "{http://www.w3.org/2002/xforms}"


class XFormRunner:
    """An XForm filled with one interview's answers, its binds evaluated as ODK does."""

    def __init__(self, xform: str) -> None:
        import elementpath

        self.elementpath = elementpath
        self.parser = _odk_parser()
        self._tokens: dict[str, Any] = {}
        doc = ET.fromstring(xform)
        instance = doc.find(f".//{XF}model/{XF}instance")
        assert instance is not None
        self.template = instance[0]
        self.binds: dict[str, dict[str, str]] = {}
        for b in doc.iter(f"{XF}bind"):
            self.binds[b.attrib["nodeset"]] = dict(b.attrib)
        self.counts: dict[str, str] = {}
        for r in doc.iter(f"{XF}repeat"):
            count = r.attrib.get("{http://openrosa.org/javarosa}count")
            if count is not None:
                self.counts[r.attrib["nodeset"]] = count.strip()

    def fill(self, values: dict[str, Any], columns: dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]]) -> None:
        """Build the instance: top-level answers by name; roster answers into their
        repeat instances; as many instances as each ``repeat_count`` gives."""
        self.values = values
        self.columns = {(base, iters): name for name, (base, _, iters) in columns.items()}
        _PARENTS.clear()
        root = ET.Element(_local(self.template.tag))
        self.root = root
        self.doc = ET.ElementTree(root)
        self._root_node: Any = None
        self._build(self.template, root, "/" + root.tag, ())
        self._root_node = None

    def _value(self, tag: str, iters: tuple[int, ...]) -> str:
        name = self.columns.get((tag, iters), tag if not iters else None)
        if name is None:
            return ""
        v = self.values.get(name)
        if v is None:
            return ""
        if isinstance(v, frozenset):
            return " ".join(str(c) for c in sorted(v))
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def _build(self, template: ET.Element, out: ET.Element, path: str, iters: tuple[int, ...]) -> None:
        repeats = []
        for child in template:
            tag = _local(child.tag)
            if "{http://openrosa.org/javarosa}template" in child.attrib:
                repeats.append(child)
                continue
            if tag in {_local(r.tag) for r in repeats} or any(
                _local(r.tag) == tag for r in template if "{http://openrosa.org/javarosa}template" in r.attrib
            ):
                continue  # pyxform's first instance of a repeat: rebuilt from the template
            node = ET.SubElement(out, tag)
            _PARENTS[id(node)] = out
            if len(child):
                self._build(child, node, f"{path}/{tag}", iters)
            else:
                node.text = self._value(tag, iters)
        for rep in repeats:
            tag = _local(rep.tag)
            nodeset = f"{path}/{tag}"
            count_ref = self.counts[nodeset]
            count_bind = self.binds[self._generic(count_ref, nodeset)]
            count_node = self._node_at(out, count_ref, path)
            self._root_node = None  # the tree has grown since elementpath last read it
            n = int(float(self._eval(count_bind["calculate"], count_node) or 0))
            for i in range(1, n + 1):
                node = ET.SubElement(out, tag)
                _PARENTS[id(node)] = out
                self._build(rep, node, nodeset, (*iters, i))

    def _generic(self, ref: str, path: str) -> str:
        if ref.startswith("/"):
            return ref
        parts = path.split("/")
        for step in ref.split("/"):
            if step == "..":
                parts.pop()
            else:
                parts.append(step)
        return "/".join(parts)

    def _node_at(self, parent: ET.Element, ref: str, path: str) -> ET.Element:
        tag = ref.rsplit("/", 1)[-1]
        node = parent.find(tag)
        assert node is not None, ref
        return node

    def _compiled(self, expr: str) -> Any:
        """The parsed expression (parsed once per XForm: the tests evaluate each many times)."""
        token = self._tokens.get(expr)
        if token is None:
            token = self._tokens[expr] = self.parser().parse(expr)
        return token

    def _select(self, expr: str, node: ET.Element) -> Any:
        if self._root_node is None:  # elementpath's node tree of the instance, built once per fill
            self._root_node = self.elementpath.XPathContext(self.doc).root
        context = self.elementpath.XPathContext(self._root_node, item=self._root_node.get_element_node(node))
        return self._compiled(expr).get_results(context)

    def _eval(self, expr: str, node: ET.Element) -> Any:
        result = self._select(expr, node)
        if isinstance(result, list):
            if not result:
                return ""
            result = result[0]
        if hasattr(result, "text"):
            return result.text or ""
        return result

    def relevant(self, node: ET.Element) -> bool:
        """A node is relevant when it and every group around it are (ODK)."""
        current: ET.Element | None = node
        while current is not None and current is not self.root:
            bind = self.binds.get(self._path(current))
            if bind is not None and "relevant" in bind and not self._select(f"boolean({bind['relevant']})", current):
                return False
            current = _PARENTS.get(id(current))
        return True

    def _path(self, node: ET.Element) -> str:
        parts = []
        current: ET.Element | None = node
        while current is not None:
            parts.append(current.tag)
            current = _PARENTS.get(id(current))
        return "/" + "/".join(reversed(parts))

    def find(self, name: str, columns: dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]]) -> ET.Element | None:
        """The instance node of a step (None: its repeat instance does not exist)."""
        if name not in columns:
            for node in self.root.iter(name):
                return node
            raise AssertionError(f"no node for {name}")
        base, chain, iters = columns[name]
        scope: ET.Element = self.root
        for roster, i in zip(chain, iters):
            instances = [n for n in scope.iter(roster)]
            if i > len(instances):
                return None
            scope = instances[i - 1]
        for node in scope.iter(base):
            return node
        return None


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _columns(compiled: Compiled) -> dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]]:
    """Every roster column: its name in the repeat, the rosters around it, its iterations."""
    from generators.xlsform import _Builder

    b = _Builder(compiled, None)
    b.build()
    low = compiled.lowered
    return {name: (base, chain, low.columns[name][1]) for name, (base, chain) in b.columns.items()}


@st.composite
def _interview(draw: Any, compiled: Compiled) -> tuple[dict[str, Any], list[str]]:
    """Answers to every step (intro included) and the steps ``routing.Walk`` asks."""
    model = spec_model(compiled)
    scope: dict[str, Any] = dict(draw(samples(compiled)))
    walk = Walk(steps(compiled.lowered), scope, model.evaluator)
    for step, asked in walk:
        value = draw(model.answer(step.name))
        if asked:
            scope[step.name] = value
    return scope, walk.path


def _disagreements(runner: XFormRunner, compiled: Compiled, columns: Any, values: dict[str, Any],
                   path: list[str]) -> list[str]:
    runner.fill(values, columns)
    asked = set(path)
    out = []
    for step in steps(compiled.lowered):
        node = runner.find(step.name, columns)
        form = node is not None and runner.relevant(node)
        if form != (step.name in asked):
            out.append(f"{step.name}: walker {'asks' if step.name in asked else 'skips'}, form "
                       f"{'asks' if form else 'skips'}")
    return out


SPECS = {"kvp": KVP, "household": HOUSEHOLD, "three_valued": ROOT / "tests" / "cases" / "three_valued.survey",
         "roster": ROOT / "tests" / "cases" / "roster.survey"}
_XFORMS: dict[str, tuple[Compiled, str, Any]] = {}


def _prepared(key: str, tmp: Path) -> tuple[Compiled, str, Any]:
    if key not in _XFORMS:
        compiled = compile_file(SPECS[key])
        _XFORMS[key] = (compiled, _xform(compiled, tmp / f"{key}.xlsx"), _columns(compiled))
    return _XFORMS[key]


@pytest.mark.parametrize("key", sorted(SPECS))
def test_relevant_asks_what_the_walker_asks(key: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    compiled, xform, columns = _prepared(key, tmp_path_factory.mktemp("xf"))
    runner = XFormRunner(xform)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_interview(compiled))
    def check(case: tuple[dict[str, Any], list[str]]) -> None:
        values, path = case
        assert _disagreements(runner, compiled, columns, values, path) == []
        reached.update(columns[n][2][-1] for n in path if n in columns)

    reached: set[int] = set()
    check()
    if columns:  # the interviews reached a second iteration of a roster, not only the first
        assert max(reached, default=0) >= 2


CALCULATED = {"household": HOUSEHOLD, "expressions": ROOT / "tests" / "cases" / "expressions.survey",
              "three_valued": ROOT / "tests" / "cases" / "three_valued.survey"}


@pytest.mark.parametrize("key", sorted(CALCULATED))
def test_calculates_compute_what_the_evaluator_computes(key: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The exported ``calculate`` rows of recodes and derived values, evaluated in the
    XForm on generated interviews, give ``Evaluator.complete``'s values (missing: empty;
    a derived condition: 1 or 0)."""
    SPECS.setdefault(key, CALCULATED[key])
    compiled, xform, columns = _prepared(key, tmp_path_factory.mktemp("xc"))
    runner = XFormRunner(xform)
    low = compiled.lowered
    computed = [v.name for v in low.variables.values() if v.role in ("derive", "recode")]
    model = spec_model(compiled)
    top = [(path, b["calculate"]) for path, b in runner.binds.items()
           if "calculate" in b and path.count("/") == 2]

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_interview(compiled))
    def check(case: tuple[dict[str, Any], list[str]]) -> None:
        values, _ = case
        runner.fill(values, columns)
        for path, expr in top:  # in the XForm's order, which computes sources first
            node = runner.root.find(path.split("/")[2])
            assert node is not None
            node.text = _text(runner._eval(expr, node))
            runner._root_node = None
        expected = model.evaluator.complete(values)
        for name in computed:
            node = runner.root.find(name)
            assert node is not None, name
            want = expected.get(name)
            got = node.text or ""
            if want is None:
                assert got == "", (name, got)
            else:
                assert got != "" and math.isclose(float(got), float(want)), (name, got, want)

    check()


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() else repr(f)
    return str(v)


def test_differential_catches_a_wrong_guard(tmp_path: Path) -> None:
    """Write one exported guard the naive way: household's ``ask if soker != 1`` as
    ``${soker} != 1`` (XPath: true when `soker` was not asked, where the language
    says UNKNOWN) instead of ``${soker} != '' and not(${soker} = 1)``. The
    differential must then find an interview where the form and the walker disagree."""
    compiled, xform, columns = _prepared("household", tmp_path)
    mutated, n = re.subn(r"\( (/data/[\w/]+soker)  != '' and not\( \1  = 1\)\)", r"\1 != 1", xform)
    assert n >= 1, "no guard to mutate"
    runner = XFormRunner(mutated)
    found: list[list[str]] = []

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.generate])
    @given(_interview(compiled))
    def hunt(case: tuple[dict[str, Any], list[str]]) -> None:
        values, path = case
        bad = _disagreements(runner, compiled, columns, values, path)
        if bad:
            found.append(bad)
        assert not bad

    with pytest.raises(AssertionError):
        hunt()
    assert found


# ---------------------------------------------------------------- goldens, determinism, CLI


@pytest.mark.parametrize("spec", [KVP, HOUSEHOLD, ROOT / "tests" / "cases" / "three_valued.survey"],
                         ids=lambda p: Path(p).stem)
def test_golden_dump(spec: Path, update_goldens: bool) -> None:
    form = xlsform(compile_file(spec))
    check_golden(GOLDENS / f"{Path(spec).stem}.txt", dump(form), update_goldens)


def test_workbook_bytes_are_deterministic() -> None:
    compiled = compile_file(HOUSEHOLD)
    a = workbook_bytes(workbook(xlsform(compiled)))
    b = workbook_bytes(workbook(xlsform(compile_file(HOUSEHOLD))))
    assert a == b


def test_formula_like_text_is_text(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    spec = tmp_path / "f.survey"
    spec.write_text('survey f "F"\ninterview {\n  question q1 text "=HYPERLINK(\\"x\\")"\n}\n', encoding="utf-8")
    compiled = compile_file(spec)
    assert compiled.ok, compiled.diagnostics
    out = tmp_path / "f.xlsx"
    out.write_bytes(workbook_bytes(workbook(xlsform(compiled))))
    ws = load_workbook(out)["survey"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("x")']
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_cli_export_xlsform(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kvpspec.cli import cli as main

    runner = CliRunner()
    out = tmp_path / "h.xlsx"
    result = runner.invoke(main, ["export", "xlsform", str(HOUSEHOLD), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    # the unsupported constructs are listed with file:line:col
    assert re.search(r"household\.survey:\d+:\d+: warning: .*\[unsupported\]", result.stderr)
    assert re.search(r"household\.survey:168:9: warning: the read-aloud marking \(`read`\) of `sektor`", result.stderr)
    # no -o: a binary file needs one (usage error)
    result = runner.invoke(main, ["export", "xlsform", str(HOUSEHOLD)])
    assert result.exit_code == 2
    assert "-o" in result.stderr
    # a spec with errors: exit 1, nothing written
    bad = tmp_path / "bad.survey"
    bad.write_text('survey b "B"\ninterview {\n  question q1 integer "x" { ask if nope == 1 }\n}\n', encoding="utf-8")
    out2 = tmp_path / "b.xlsx"
    result = runner.invoke(main, ["export", "xlsform", str(bad), "-o", str(out2)])
    assert result.exit_code == 1
    assert not out2.exists()


def test_cli_export_refuses_to_overwrite_its_input_or_a_non_xlsx_output(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kvpspec.cli import cli as main

    runner = CliRunner()
    spec = tmp_path / "k.survey"
    spec.write_bytes(HOUSEHOLD.read_bytes())
    before = spec.read_bytes()
    for fmt in ("xlsform", "codebook"):
        result = runner.invoke(main, ["export", fmt, str(spec), "-o", str(spec)])
        assert result.exit_code == 2, result.output
        assert "would overwrite its input" in result.stderr
        assert spec.read_bytes() == before
    # the same file by another name (relative path) is the same file
    result = runner.invoke(main, ["export", "xlsform", str(spec), "-o", str(tmp_path / "." / "k.survey")])
    assert result.exit_code == 2 and spec.read_bytes() == before
    # an output that is not .xlsx: refused, nothing written
    csv = tmp_path / "x.csv"
    result = runner.invoke(main, ["export", "xlsform", str(spec), "-o", str(csv)])
    assert result.exit_code == 2 and "ending in .xlsx" in result.stderr
    assert not csv.exists()


def test_cli_export_unknown_language_names_the_study_languages(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kvpspec.cli import cli as main

    runner = CliRunner()
    for args in (["xlsform", str(HOUSEHOLD), "-o", str(tmp_path / "h.xlsx")], ["codebook", str(HOUSEHOLD)]):
        result = runner.invoke(main, ["export", *args, "--language", "zz"])
        assert result.exit_code == 2, result.output
        assert "--language zz" in result.stderr and "nb, en" in result.stderr
    assert not (tmp_path / "h.xlsx").exists()
    result = runner.invoke(main, ["export", "codebook", str(HOUSEHOLD), "--language", "en"])
    assert result.exit_code == 0, result.output
