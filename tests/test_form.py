"""The interviewing form's logic against the core (issue 12), under Node.js.

``generators/form/form.js`` holds the form's logic (``Interview``: no DOM) and
its page; the page's ``window.kvpspec`` calls the very same ``Interview``. Here
Node runs it on the page's own program and data (``generators.form.questionnaire``
and ``jscompile.compile_program``), driven like the API drives it, and the
tests compare with the Python core:

- generated interviews, in CATI and web mode, of ``specs/kvp2009.survey``
  (in CATI from the intro on, so that its ``end``s set the disposition; web
  respondents start after it), ``specs/household.survey`` (rosters, soft
  and hard checks, two languages) and ``tests/cases/roster.survey``: the form
  asks the questions ``routing.Walk`` asks, in the same order, stops where a
  hard check of ``semantics.checkpoints`` holds, passes a soft one on the
  second ``next()``, ends with the same disposition and gives the record the
  codebook's columns hold (skipped questions empty), also when the
  interviewer goes back and changes an earlier answer;
- the differential catches a wrong guard (one guard replaced by "always");
- the records of those interviews, written by ``kvpspec.data.records``, are
  data ``kvpspec validate`` accepts with 0 errors;
- the page: one file, no network, no eval, user text only as JSON that cannot
  close its script element, under 200 kB for KVP, the same bytes every build.

Without Node.js the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, HOUSEHOLD, KVP, in_ci
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.base import Context
from generators.form import FORM_JS, form_html, questionnaire
from generators.form.jscompile import RUNTIME, compile_program
from kvpspec import model as m
from kvpspec.compile import Compiled, compile_file, compile_text
from kvpspec.data.reader import open_data
from kvpspec.data.records import record_columns, records_to_rows, write_records_csv
from kvpspec.data.validate import validate
from kvpspec.semantics.checkpoints import checkpoints
from kvpspec.semantics.routing import Walk, steps
from kvpspec.synth.strategies import samples, spec_model

SPECS = {"kvp2009": KVP, "household": HOUSEHOLD, "roster": CASES / "roster.survey"}


def node() -> str:
    path = shutil.which("node")
    if path is None:
        if in_ci():
            pytest.fail("Node.js is needed to test the form's JavaScript")
        pytest.skip("Node.js is not installed")
    return path


@cache
def compiled(name: str) -> Compiled:
    c = compile_file(SPECS[name])
    assert c.ok, [str(d) for d in c.errors]
    return c


@cache
def page_parts(name: str) -> tuple[str, dict[str, Any]]:
    """The page's program and data, as ``form_html`` writes them into the page."""
    c = compiled(name)
    data, exprs = questionnaire(Context(c))
    return compile_program(c.lowered, exprs), data


#: Drives ``Interview`` as ``window.kvpspec`` would: answer what is on screen,
#: next(); a soft check is confirmed by a second next(); a hard check stops.
#: ``back``: after that many screens, go back ``back[1]`` screens and answer
#: from ``answers2`` from there on (an interviewer correcting an answer).
DRIVER = r"""
"use strict";
const fs = require("fs");
const K = require(process.argv[2]);
const F = require(process.argv[3]);
const program = require(process.argv[4])(K);
const input = JSON.parse(fs.readFileSync(process.argv[5], "utf8"));
const data = input.data;
if (input.sabotage) {
  program.steps.forEach(function (s) { if (s.name === input.sabotage) s.guard = function () { return true; }; });
}
let clock = 0;
const out = input.cases.map(function (c) {
  const iv = new F.Interview(K, program, data, {sample: c.sample, mode: c.mode, now: function () { return clock += 1000; }});
  const prefix = new Set();
  let phase = 1, screens = 0, blocked = null, softs = 0, guard = 0;
  const specifyOf = {};
  data.screens.forEach(function (s) {
    specifyOf[s.name] = s.options.filter(function (o) { return o.specify; }).map(function (o) { return o.specify.name; });
  });
  function value(name) {
    const src = phase === 2 && !prefix.has(name) ? c.answers2 : c.answers;
    return Object.prototype.hasOwnProperty.call(src, name) ? src[name] : null;
  }
  while (iv.current() !== null && guard++ < 5000) {
    const cur = iv.current();
    if (phase === 1 && c.back && screens === c.back[0]) {
      phase = 2;
      let n = c.back[1];
      while (n-- > 0 && iv.back().ok) {}
      iv.asked().forEach(function (x) { if (x !== iv.current()) prefix.add(x); });
      continue;
    }
    const a = iv.answer(cur, value(cur));
    if (!a.ok) { blocked = {at: cur, errors: a.errors}; break; }
    specifyOf[cur].forEach(function (s) { iv.answer(s, value(s)); });
    let res = iv.next();
    if (!res.ok && res.soft.length && !res.hard.length && !res.errors.length) { softs += 1; res = iv.next(); }
    if (!res.ok) { blocked = {at: cur, hard: res.hard, errors: res.errors}; break; }
    screens += 1;
  }
  const rec = iv.record();
  return {asked: iv.asked(), finished: iv.finished, disposition: iv.disposition, blocked: blocked,
          softs: softs, record: rec.record, paradata: rec.paradata, id: rec.id};
});
process.stdout.write(JSON.stringify(out));
"""


def run_driver(tmp: Path, name: str, cases: list[dict[str, Any]], sabotage: str | None = None) -> list[dict]:
    exe = node()
    program, data = page_parts(name)
    (tmp / "program.js").write_text("module.exports = " + program + ";\n", encoding="utf-8")
    (tmp / "driver.js").write_text(DRIVER, encoding="utf-8")
    (tmp / "input.json").write_text(json.dumps({"data": data, "cases": cases, "sabotage": sabotage}), encoding="utf-8")
    done = subprocess.run(
        [exe, str(tmp / "driver.js"), str(RUNTIME), str(FORM_JS), str(tmp / "program.js"), str(tmp / "input.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def to_json(v: Any) -> Any:
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return a == b


# ---------------------------------------------------------------- the core's expectation


def expected(c: Compiled, sample: dict[str, Any], answers: dict[str, Any], answers2: dict[str, Any] | None,
             prefix: set[str], mode: str = "cati") -> dict[str, Any]:
    """What the form must do, by the core: ``routing.Walk`` over every step from
    the intro on (in web mode from the first step after it), and the checks
    where ``checkpoints`` says they fire (judged on the completed record once
    the question and its specify texts are answered)."""
    low = c.lowered
    model = spec_model(c)
    ev = model.evaluator
    parents = {v.name: v.parent for v in low.variables.values() if v.parent is not None}

    def value(name: str) -> Any:
        if answers2 is not None and name not in prefix:
            return answers2.get(name)
        return answers.get(name)

    scope: dict[str, Any] = dict(sample)
    walk = Walk([s for s in steps(low) if mode == "cati" or not s.in_intro], scope, ev)
    for step, asked in walk:
        if asked:
            scope[step.name] = value(step.name)
    at: dict[str, list[m.Warning_]] = {}
    for cp in checkpoints(low):
        if cp.column is not None:
            at.setdefault(parents.get(cp.column, cp.column), []).append(cp.check)
    path = list(walk.path)
    screens = [n for n in path if n not in parents]
    softs = 0
    for screen in screens:
        fired = [w for w in at.get(screen, ()) if _fires(ev, w, scope, path, screen, parents)]
        if any(w.hard for w in fired):
            upto = path.index(screen)
            return {"asked": path[: upto + 1], "blocked": screen, "softs": softs}
        softs += bool(fired)
    rid = c.spec.respondent
    record = {col: (to_json(scope.get(col)) if col in path else None) for col in record_columns(c)}
    if rid is not None:
        record[rid.name] = None
    return {"asked": path, "blocked": None, "softs": softs, "end": walk.end, "record": record}


def _fires(ev: Any, w: m.Warning_, scope: dict[str, Any], path: list[str], screen: str, parents: dict) -> bool:
    """The check on the record as it stands when ``screen`` is left."""
    upto = path.index(screen)
    known = set(path[: upto + 1]) | {n for n in path if parents.get(n) == screen}
    rec = {k: v for k, v in scope.items() if k not in set(path) or k in known}
    return ev.truth(w.condition, ev.complete(rec))


# ---------------------------------------------------------------- generated interviews


@st.composite
def interviews(draw, name: str, revise: bool) -> dict[str, Any]:
    """Answers for every step (asked or not), the sample, and perhaps a correction."""
    c = compiled(name)
    low = c.lowered
    model = spec_model(c)
    sample = draw(samples(c))
    all_steps = steps(low)
    passes = draw(st.booleans())

    def draw_answers() -> dict[str, Any]:
        out = {}
        for step in all_steps:
            v = draw(model.answer(step.name))
            if passes and step.in_intro and step.ends:
                ending = {code for code, _ in step.ends}
                opts = [o.code for o in low.question_options(step.slot.item) if o.code not in ending]
                v = opts[0] if opts else v
            out[step.name] = to_json(v)
        return out

    answers = draw_answers()
    case: dict[str, Any] = {"sample": sample, "answers": answers, "mode": draw(st.sampled_from(["cati", "web"]))}
    if revise:
        case["answers2"] = draw_answers()
        case["back"] = [draw(st.integers(1, 30)), draw(st.integers(1, 4))]
    return case


def form_sample(c: Compiled, sample: dict[str, Any]) -> dict[str, Any]:
    """The sample as the server gives it to the page: fields computed by a formula left out."""
    computed = {f.name for f in (c.spec.fieldwork.sample if c.spec.fieldwork else ()) if f.formula is not None}
    return {k: to_json(v) for k, v in sample.items() if k not in computed}


def check_batch(name: str, batch: list[dict[str, Any]], tmp: Path) -> list[dict]:
    c = compiled(name)
    cases = [dict(case, sample=form_sample(c, case["sample"])) for case in batch]
    got = run_driver(tmp, name, cases)
    for case, result in zip(batch, got):
        prefix: set[str] = set()
        if "back" in case:
            prefix = _prefix(c, case, result)
        want = expected(c, case["sample"], case["answers"], case.get("answers2"), prefix, case["mode"])
        assert result["asked"] == want["asked"], (name, case)
        if want["blocked"] is not None:
            assert result["blocked"] is not None and result["blocked"]["at"] == want["blocked"], (result, case)
            assert result["blocked"]["hard"], result
            continue
        assert result["blocked"] is None, (result, case)
        assert result["finished"]
        if "back" not in case:  # going back passes a soft check again
            assert result["softs"] == want["softs"]
        complete = next((d.code for d in (c.spec.fieldwork.dispositions if c.spec.fieldwork else ()) if d.aapor == "I"), None)
        assert result["disposition"] == (want["end"] if want["end"] is not None else complete)
        assert list(result["record"]) == record_columns(c)
        for col, v in want["record"].items():
            assert same_value(result["record"][col], v), (col, result["record"][col], v, case)
    return got


def _prefix(c: Compiled, case: dict[str, Any], result: dict[str, Any]) -> set[str]:
    """The names answered from the first answers: those asked before the screen
    the interviewer went back to (recomputed by the core on the first answers)."""
    low = c.lowered
    parents = {v.name: v.parent for v in low.variables.values() if v.parent is not None}
    first = expected(c, case["sample"], case["answers"], None, set(), case["mode"])
    screens = [n for n in first["asked"] if n not in parents]
    reached, back = case["back"]
    if reached >= len(screens) or (first["blocked"] is not None and reached >= screens.index(first["blocked"])):
        return set(first["asked"]) | set(case["answers"])  # never went back: all first answers
    target = max(reached - back, 0)
    keep = set(screens[:target])
    return keep | {n for n in first["asked"] if parents.get(n) in keep}


SETTINGS = settings(max_examples=6, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.mark.parametrize("name", sorted(SPECS))
@SETTINGS
@given(data=st.data())
def test_the_form_asks_what_the_core_asks(tmp_path_factory, name: str, data) -> None:
    tmp = tmp_path_factory.mktemp("form")
    batch = data.draw(st.lists(interviews(name, False), min_size=5, max_size=20))
    got = check_batch(name, batch, tmp)
    # the records, through ``write_records_csv``, are data ``validate`` accepts with 0 errors
    c = compiled(name)
    envelopes = [{"id": r["id"], "record": r["record"], "paradata": r["paradata"]} for r in got]
    written = write_records_csv(c, envelopes, tmp / "data.csv")
    assert written == sum(bool(r["paradata"]["complete"]) for r in got)
    report = validate(c, open_data(tmp / "data.csv"))
    assert report.error_count == 0, [str(f) for f in report.errors][:5]
    assert report.rows_read == written


@pytest.mark.parametrize("name", ["household", "kvp2009"])
@SETTINGS
@given(data=st.data())
def test_going_back_keeps_answers_and_reroutes(tmp_path_factory, name: str, data) -> None:
    """Back a few screens, then other answers from there on: the route and the
    record are the core's for the answers finally given."""
    batch = data.draw(st.lists(interviews(name, True), min_size=5, max_size=15))
    check_batch(name, batch, tmp_path_factory.mktemp("back"))


def test_a_wrong_guard_is_caught(tmp_path) -> None:
    """The differential is a test: one guard replaced by "always" makes it fail."""
    name = "household"
    c = compiled(name)
    batch = [
        {"sample": {}, "answers": _fixed_answers(c, jobber=2)},
        {"sample": {}, "answers": _fixed_answers(c, jobber=1)},
    ]
    honest = run_driver(tmp_path, name, batch)
    sabotaged = run_driver(tmp_path, name, batch, sabotage="antall_jobber_1")
    want = [expected(c, {}, b["answers"], None, set())["asked"] for b in batch]
    assert [r["asked"] for r in honest] == want
    assert [r["asked"] for r in sabotaged] != want


def _fixed_answers(c: Compiled, jobber: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step in steps(c.lowered):
        var = c.lowered.variables[step.name]
        if var.type == "text":
            out[step.name] = "tekst"
        elif var.type in ("integer", "decimal"):
            out[step.name] = 2 if var.min is None or var.min <= 2 <= (var.max or 2) else var.min
        elif var.type == "multiple":
            out[step.name] = [var.codes[0]]
        else:
            out[step.name] = var.codes[0]
    out["alder_1"], out["alder_2"] = 40, 10
    out["jobber_1"] = jobber
    out["relasjon_2"] = 3
    return out


# ---------------------------------------------------------------- records as data


def test_records_to_rows_checks_and_fills_ids() -> None:
    c = compile_text(RECORDS_SPEC)
    rec = {"id": None, "a": 1, "b": [2, 1], "t": "x", "n": 2.0}
    rows = records_to_rows(c, [
        {"id": "u1", "record": rec, "paradata": {"complete": True}},
        {"id": "u2", "record": dict(rec, id=1), "paradata": {"complete": True}},
        {"id": "u3", "record": rec, "paradata": {"complete": False}},
        rec,
    ])
    assert [r["id"] for r in rows] == [2, 1, 3]
    assert rows[0]["b"] == [2, 1] and rows[0]["n"] == 2 and isinstance(rows[0]["n"], int)
    from kvpspec.diagnostics import InputError

    with pytest.raises(InputError, match="record 1: `zz` is not a response-data column"):
        records_to_rows(c, [dict(rec, zz=1)])
    with pytest.raises(InputError, match="record 1: the column `a` is missing"):
        records_to_rows(c, [{k: v for k, v in rec.items() if k != "a"}])
    with pytest.raises(InputError, match="`b` must be a list of codes"):
        records_to_rows(c, [dict(rec, b="1 2")])
    with pytest.raises(InputError, match="`n` must be a whole number"):
        records_to_rows(c, [dict(rec, n=2.5)])


RECORDS_SPEC = """survey r "R"
respondent id integer "Id"
interview {
  question a "A" { 1 "ja" 2 "nei" }
  question b multiple "B" { 1 "x" 2 "y" }
  question t text "T"
  question n integer "N" { range 0..9 }
}"""


def test_records_csv_cells(tmp_path) -> None:
    c = compile_text(RECORDS_SPEC)
    n = write_records_csv(c, [{"id": 7, "a": 2, "b": [1, 2], "t": 'sa "hei", da', "n": 3}], tmp_path / "d.csv")
    assert n == 1
    assert (tmp_path / "d.csv").read_text(encoding="utf-8") == 'id,a,b,t,n\n7,2,1 2,"sa ""hei"", da",3\n'
    assert validate(c, open_data(tmp_path / "d.csv")).error_count == 0


# ---------------------------------------------------------------- the page


def test_page_is_self_contained_and_small() -> None:
    html = form_html(compiled("kvp2009"))
    size = len(html.encode("utf-8"))
    assert size < 200_000, size
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    for bad in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert bad not in html, bad
    assert '<meta name="viewport"' in html


def test_config_and_user_text_cannot_close_the_script() -> None:
    hostile = compile_text(HOSTILE_SPEC)
    assert hostile.ok, hostile.errors
    html = form_html(hostile, config={"mode": "web", "case": "</script><script>alert(1)</script>",
                                      "sample": {"navn": "<img src=x onerror=alert(2)>"}})
    assert html.lower().count("<script") == 5
    assert html.lower().count("</script") == 5
    assert "<img" not in html and "alert(1)</script>" not in html
    config = re.search(r'<script type="application/json" id="kvpspec-config">(.*?)</script>', html, re.DOTALL)
    assert config is not None
    assert json.loads(config.group(1))["case"] == "</script><script>alert(1)</script>"
    data = re.search(r'<script type="application/json" id="kvpspec-data">(.*?)</script>', html, re.DOTALL)
    assert data is not None
    screens = json.loads(data.group(1))["screens"]
    assert screens[0]["label"] == "Er du <script>alert(3)</script> {{ 7*7 }}?"


HOSTILE_SPEC = """survey h "</script><b>H</b>"
interview {
  question q1 "Er du <script>alert(3)</script> {{ 7*7 }}?" { 1 "<img src=x onerror=alert(4)>" 2 "nei" }
}"""


def test_two_builds_are_byte_identical() -> None:
    """The page of the household spec, built in two processes with different hash seeds."""
    code = "import sys; from kvpspec import compile_file; from generators.form import form_html; " \
           "sys.stdout.write(form_html(compile_file(sys.argv[1])))"
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([os.sys.executable, "-c", code, str(HOUSEHOLD)], capture_output=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1]


def test_every_step_has_a_screen() -> None:
    """Every step of routing is on a screen: a question, a grid item, or (a
    specify text) on its question's screen; screens follow the steps' order."""
    for name in SPECS:
        c = compiled(name)
        _, data = page_parts(name)
        names = [s["name"] for s in data["screens"]]
        specify = {o["specify"]["name"]: s["name"] for s in data["screens"] for o in s["options"] if "specify" in o}
        step_names = [s.name for s in steps(c.lowered)]
        assert [n for n in step_names if n not in specify] == names
        assert set(step_names) == set(names) | set(specify)


# ---------------------------------------------------------------- the interview's rules, one by one


UNIT = r"""
"use strict";
const fs = require("fs");
const K = require(process.argv[2]);
const F = require(process.argv[3]);
const program = require(process.argv[4])(K);
const data = JSON.parse(fs.readFileSync(process.argv[5], "utf8")).data;
function make(options) { return new F.Interview(K, program, data, options || {}); }
function drive(iv, answers) {
  for (const [name, value] of answers) {
    if (iv.current() !== name) throw new Error("expected " + name + " on screen, found " + iv.current());
    const a = iv.answer(name, value);
    if (!a.ok) throw new Error(JSON.stringify(a));
    const r = iv.next();
    if (!r.ok) throw new Error(JSON.stringify(r));
  }
  return iv;
}
function attempt(f) { try { return {value: f()}; } catch (e) { return {error: String(e.message)}; } }
const out = (function () { BODY })();
process.stdout.write(JSON.stringify(out));
"""


def run_js(tmp: Path, name: str, body: str, spec: str | None = None) -> Any:
    """Runs ``body`` in Node on the page's program and data of the spec ``name``
    (or of the spec text ``spec``)."""
    exe = node()
    if spec is None:
        program, data = page_parts(name)
    else:
        c = compile_text(spec)
        assert c.ok, [str(d) for d in c.errors]
        data, exprs = questionnaire(Context(c))
        program = compile_program(c.lowered, exprs)
    (tmp / "program.js").write_text("module.exports = " + program + ";\n", encoding="utf-8")
    (tmp / "unit.js").write_text(UNIT.replace("BODY", body), encoding="utf-8")
    (tmp / "input.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    done = subprocess.run(
        [exe, str(tmp / "unit.js"), str(RUNTIME), str(FORM_JS), str(tmp / "program.js"), str(tmp / "input.json")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


KVP_START = '[["rett_person", 1], ["husker", 1], ["samtykke", 1]]'


def test_answers_are_checked(tmp_path) -> None:
    out = run_js(tmp_path, "kvp2009", f"""
      const iv = drive(make(), {KVP_START});
      const r = {{}};
      r.notCode = iv.answer("q1", 42);
      r.text = iv.answer("q1", "x");
      r.nextAfterBad = iv.next();
      r.wrongName = attempt(function () {{ return iv.answer("q2", 1); }});
      drive(iv, [["q1", 1], ["q2", 1]]);
      r.range = iv.answer("q3", 61);
      r.whole = iv.answer("q3", 2.5);
      r.missingCode = iv.answer("q3", 99);
      r.asText = iv.answer("q3", " 12 ");
      r.q3 = iv.state().answers.q3;
      iv.answer("q3", null);
      r.empty = iv.next();
      drive(iv, [["q3", 12]]);
      iv.answer("q4", 2);
      r.noSpecify = iv.next();
      iv.answer("q4_other", "Sverige");
      r.withSpecify = iv.next();
      r.asked = iv.state().asked.slice(-3);
      r.backAtFirst = make().back();
      return r;
    """)
    assert out["notCode"]["ok"] is False and out["notCode"]["errors"]
    assert out["text"]["ok"] is False
    assert out["nextAfterBad"]["ok"] is False and out["nextAfterBad"]["errors"]
    assert "is not the question on screen" in out["wrongName"]["error"]
    assert out["range"]["ok"] is False and "0" in out["range"]["errors"][0] and "60" in out["range"]["errors"][0]
    assert out["whole"]["ok"] is False
    assert out["missingCode"]["ok"] is True
    assert out["asText"]["ok"] is True and out["q3"] == 12
    assert out["empty"]["ok"] is False and out["empty"]["errors"]
    assert out["noSpecify"]["ok"] is False and out["noSpecify"]["errors"]
    assert out["withSpecify"]["ok"] is True and out["withSpecify"]["current"] == "q5"
    assert out["asked"] == ["q4", "q4_other", "q5"]
    assert out["backAtFirst"]["ok"] is False


def test_ends_dispositions_and_fills(tmp_path) -> None:
    out = run_js(tmp_path, "kvp2009", f"""
      const r = {{}};
      const named = make({{sample: {{fornavn: "Kari", etternavn: "Nordmann"}}}});
      r.fill = named.plain(named.screen().label, named.fillRecord());
      const anon = make();
      r.placeholder = anon.plain(anon.screen().label, anon.fillRecord());
      const screened = drive(make(), [["rett_person", 2]]);
      r.screened = screened.record().paradata;
      r.screenedCurrent = screened.current();
      const called = drive(make(), {KVP_START});
      r.badCode = attempt(function () {{ return called.end(99); }});
      called.end(6);
      r.called = called.record().paradata;
      r.calledBack = called.back();
      return r;
    """)
    assert out["fill"] == "Snakker jeg med Kari Nordmann?"
    assert out["placeholder"] == "Snakker jeg med <NAVN>?"
    assert out["screened"]["disposition"] == 3 and out["screened"]["finished"] and not out["screened"]["complete"]
    assert out["screenedCurrent"] is None
    assert "not a disposition" in out["badCode"]["error"]
    assert out["called"]["disposition"] == 6 and not out["called"]["complete"]
    assert out["calledBack"]["ok"] is False


def test_resume_replays_the_route(tmp_path) -> None:
    out = run_js(tmp_path, "household", """
      const first = drive(make(), [["rett_person", 1], ["samtykke", 1], ["antall", 2], ["alder_1", 40],
                                   ["kjonn_1", 1], ["relasjon_1", 1], ["jobber_1", 1], ["antall_jobber_1", 1]]);
      const snap = first.snapshot();
      const again = make();
      again.resume(snap.answers, snap);
      const en = make({language: "en"});
      drive(en, [["rett_person", 1], ["samtykke", 1], ["antall", 2], ["alder_1", 40], ["kjonn_1", 1], ["relasjon_1", 1]]);
      return {first: first.state(), again: again.state(), id: [first.id, again.id],
              en: en.plain(en.screen().label, en.fillRecord())};
    """)
    assert out["again"]["current"] == out["first"]["current"] == "timer_1_1"
    assert out["again"]["asked"] == out["first"]["asked"]
    assert out["id"][0] == out["id"][1]
    assert out["en"] == "Did person 1 (40 years) do paid work last week, for at least one hour?"


def test_hard_check_holds_until_the_answer_changes(tmp_path) -> None:
    out = run_js(tmp_path, "household", """
      const iv = drive(make(), [["rett_person", 1], ["samtykke", 1], ["antall", 2], ["alder_1", 25],
        ["kjonn_1", 1], ["relasjon_1", 1], ["jobber_1", 2], ["skole_1", 2], ["alder_2", 45], ["kjonn_2", 1]]);
      iv.answer("relasjon_2", 3);
      const r = {first: iv.next(), second: iv.next()};
      iv.answer("relasjon_2", 2);
      r.fixed = iv.next();
      return r;
    """)
    assert out["first"]["ok"] is False and out["first"]["hard"] == [
        "Person 2 er barnet ditt, men er 45 år og du 25 år. Rett opp alder eller relasjon."
    ]
    assert out["second"]["ok"] is False and out["second"]["hard"]
    assert out["fixed"]["ok"] is True


GOTO_SPEC = """survey g "G"
interview {
  question a "A" { 1 "ja" 2 "nei" goto c }
  say "Om B"
  question b "B" { 1 "x" 2 "y" }
  say "Om C"
  instruction "Les C"
  question c "C" { 1 "x" 2 "y" }
}"""


def test_texts_a_goto_jumps_over_are_not_shown(tmp_path) -> None:
    # the texts before c lie between a and its goto's target: skipped with b
    out = run_js(tmp_path, "goto", """
      function shown(iv) {
        return iv.screen().lead.filter(function (t) { return iv.shows(t, iv.fillRecord()); })
          .map(function (t) { return t.text; });
      }
      const r = {};
      const jumped = drive(make(), [["a", 2]]);
      r.jumped = [jumped.current(), shown(jumped)];
      const walked = drive(make(), [["a", 1]]);
      r.atB = [walked.current(), shown(walked)];
      drive(walked, [["b", 1]]);
      r.atC = [walked.current(), shown(walked)];
      walked.back(); walked.back();
      drive(walked, [["a", 2]]);
      r.rerouted = [walked.current(), shown(walked)];
      return r;
    """, spec=GOTO_SPEC)
    assert out["jumped"] == ["c", []]
    assert out["atB"] == ["b", ["Om B"]]
    assert out["atC"] == ["c", ["Om C", "Les C"]]
    assert out["rerouted"] == ["c", []]
