"""The interviewing form in real Chromium (issue 12's browser proof).

The form is built as ``kvpspec build SPEC --only form`` builds it and opened
from ``file://`` in Debian's Chromium through Playwright (``tests/browser.py``).
The tests hold it to the contract in docs/fielding.md:

- KVP interviews by keyboard only (digit keys, typed numbers and texts, Tab to
  a specify box, Enter) along every route of the spec
  (``routing.enumerate_routes``): the question on screen at each step is the
  one the core's walker (``routing.Walk``) asks, the record holds exactly the
  codebook's response columns with the answers typed, and ``kvpspec
  validate`` accepts it; the intro's ``end`` routes set their disposition;
- PageUp keeps answers, a skipped answer leaves the record, end-call buttons
  by Tab and Enter, multiple choice by digits, answers the form refuses;
- soft checks stop and can be confirmed (or fixed), hard checks cannot be passed;
- hostile labels show as text; nothing in them runs;
- axe-core finds no serious or critical violation, in CATI and in web mode;
- 1,000 random KVP interviews (and 60 household interviews, with rosters and
  checks) driven through ``window.kvpspec`` give records that ``validate``
  accepts with 0 errors, asked in the walker's order;
- the language switch changes the question's text; web mode starts after the
  telephone intro; standalone, the page fetches nothing, resumes an unfinished
  interview and downloads the record.

Without Chromium or Playwright the tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from browser import (
    RANDOM_INTERVIEWS_JS,
    answer_domains,
    evaluator,
    expected_interview,
    missing,
    open_form,
)
from conftest import CASES, HOUSEHOLD, KVP

from kvpspec.compile import Compiled, compile_file
from kvpspec.semantics.routing import Route, Walk, enumerate_routes, steps

HOSTILE = CASES / "hostile_form.survey"
DATA_ROLES = ("question", "item", "specify")


@cache
def compiled(spec: Path) -> Compiled:
    c = compile_file(spec)
    assert c.ok, [str(d) for d in c.errors]
    return c


def api(pg: Any, call: str, *args: Any) -> Any:
    """Call ``window.kvpspec.<call>(*args)`` in the page."""
    return pg.evaluate("([f, a]) => window.kvpspec[f](...a)", [call, list(args)])


def current(pg: Any) -> str | None:
    return api(pg, "current")


def response_columns(c: Compiled) -> list[str]:
    return [v.name for v in c.lowered.response_variables()]


# ---------------------------------------------------------------- expected interviews


def plain_answer(c: Compiled, name: str, salt: int) -> Any:
    """A deterministic answer for a variable no route condition reads: a
    substantive code (two-digit codes included), a number inside the range, a text."""
    v = c.lowered.variables[name]
    h = int(hashlib.sha256(f"{name}/{salt}".encode()).hexdigest(), 16)
    codes = [code for code in v.codes if code not in v.missing_codes]
    if v.type == "single":
        return codes[h % len(codes)]
    if v.type == "multiple":
        return [codes[h % len(codes)]]
    if v.type in ("integer", "decimal"):
        lo = 0 if v.min is None else int(v.min)
        hi = lo + 50 if v.max is None else int(v.max)
        return lo + h % (hi - lo + 1)
    return f"tekst {h % 100}"


def route_answers(c: Compiled, route: Route, salt: int) -> dict[str, Any]:
    """Answers for every step: the route's witness, a plain answer elsewhere,
    drawn so that no soft check fires (the checks have their own tests)."""
    for attempt in range(100):
        out = {s.name: plain_answer(c, s.name, salt * 1000 + attempt) for s in steps(c.lowered)}
        out.update(dict(route.witness))
        if not soft_checks_holding(c, expected_interview(c, out)[2]):
            return out
    raise AssertionError("no answers without a soft check")


@cache
def kvp_routes() -> list[Route]:
    routes = enumerate_routes(compiled(KVP).lowered)
    assert routes.complete
    return routes.routes


def soft_checks_holding(c: Compiled, values: dict[str, Any]) -> list[str]:
    """The soft checks (``warn``) whose condition holds on the answers."""
    ev = evaluator(c)
    scope = {n: (frozenset(v) if isinstance(v, list) else v) for n, v in values.items()}
    return [w.name for w in c.spec.warnings if not w.hard and ev.truth(w.condition, scope)]


# ---------------------------------------------------------------- keyboard


def type_answer(pg: Any, c: Compiled, name: str, value: Any) -> None:
    """Answer the question on screen with the keyboard only."""
    v = c.lowered.variables[name]
    if v.type in ("single", "multiple"):
        for code in value if isinstance(value, list) else [value]:
            pg.keyboard.type(str(code))
    else:
        pg.keyboard.type(str(value))


def specify_of(c: Compiled, name: str) -> list[tuple[str, int | None]]:
    """The specify texts of a question: (name, the code that asks for it)."""
    return [(v.name, v.parent_code) for v in c.lowered.variables.values() if v.parent == name]


def is_specify(c: Compiled, name: str) -> bool:
    return c.lowered.variables[name].parent is not None


def keyboard_interview(pg: Any, c: Compiled, answers: dict[str, Any], expected_path: list[str]) -> int:
    """Go through an interview with the keyboard only, checking the question on
    screen at every step: digits pick codes, numbers and texts are typed, Tab
    reaches a specify text's box (on its question's screen), Enter goes on, and
    a soft check is confirmed with a second Enter.
    Returns how many soft checks stopped the interview."""
    soft = 0
    for name in expected_path:
        if is_specify(c, name):
            continue  # typed on its question's screen
        assert current(pg) == name
        type_answer(pg, c, name, answers[name])
        for spec, _ in specify_of(c, name):
            if spec not in expected_path:
                continue
            for _ in range(30):
                if pg.evaluate("() => document.activeElement && document.activeElement.dataset.name") == spec:
                    break
                pg.keyboard.press("Tab")
            else:
                raise AssertionError(f"Tab never reached the specify box of {spec}")
            pg.keyboard.type(str(answers[spec]))
        pg.keyboard.press("Enter")
        if current(pg) == name:  # stopped: it must be a soft check, confirmed by Enter
            alert = pg.locator(alert_selector("soft"))
            assert alert.count() and alert.first.is_visible(), (
                f"Enter did not go on from {name} and shows no soft check: "
                f"{pg.locator('[role=alert]').all_text_contents()}"
            )
            soft += 1
            pg.keyboard.press("Enter")
            assert current(pg) != name, f"a second Enter did not confirm the soft check at {name}"
    assert current(pg) is None, f"the interview went on past the walker's end: at {current(pg)}"
    return soft


def validate_records(c: Compiled, records: list[dict[str, Any]], folder: Path) -> Any:
    """Write the records as CSV with kvpspec.data.records and validate the file."""
    from kvpspec.data.reader import open_data
    from kvpspec.data.records import write_records_csv
    from kvpspec.data.validate import validate

    path = folder / "records.csv"
    write_records_csv(c, records, path)
    return validate(c, open_data(path))


@pytest.mark.parametrize("index", range(12), ids=lambda i: f"route{i}")
def test_keyboard_interview_follows_each_route(page, forms, tmp_path, index: int) -> None:
    """A KVP interview by keyboard only along each route of the spec: the same
    questions in the same order as routing.Walk, the record of the answers given
    (skipped questions null), its disposition, and validate accepts it."""
    c = compiled(KVP)
    routes = kvp_routes()
    assert len(routes) == 12, "the KVP spec's routes changed: update the parametrisation"
    route = routes[index]
    answers = route_answers(c, route, index)
    path, end, given = expected_interview(c, answers)
    assert tuple(path) == route.asked and end == route.end

    open_form(page, forms.url(KVP, mode="cati"))
    soft = keyboard_interview(page, c, answers, path)
    assert soft == len(soft_checks_holding(c, given))

    state = api(page, "state")
    assert state["finished"] is True and state["current"] is None
    assert state["asked"] == path
    result = api(page, "record")
    assert result["paradata"]["disposition"] == state["disposition"]
    if end is not None:  # the intro's `end N`
        assert state["disposition"] == end
        assert result["paradata"]["disposition"] == end
        return
    record = result["record"]
    assert sorted(record) == sorted(response_columns(c)), "the record is not the codebook's response columns"
    roles = {v.name: v.role for v in c.lowered.response_variables()}
    for name, value in record.items():
        if roles[name] in DATA_ROLES:
            assert value == given.get(name), f"{name}: the record holds {value!r}, the interview gave {given.get(name)!r}"
    paradata = result["paradata"]
    assert paradata["backs"] == 0 and paradata["mode"] == "cati" and paradata["language"] == "nb"
    started, ended = (datetime.fromisoformat(paradata[k]) for k in ("started", "ended"))
    assert started <= ended
    assert set(paradata["seconds"]) <= set(path) and all(s >= 0 for s in paradata["seconds"].values())
    report = validate_records(c, [result], tmp_path)
    assert report.error_count == 0, report.text()


def test_keyboard_interview_in_web_mode(page, forms, tmp_path) -> None:
    """The keys work in web mode too (no codes on screen; digits still pick
    them): the longest KVP route, with its specify texts, by keyboard."""
    c = compiled(KVP)
    route = max(kvp_routes(), key=lambda r: len(r.asked))
    answers = route_answers(c, route, 77)
    path, _, given = expected_interview(c, answers)
    open_form(page, forms.url(KVP, mode="web"))
    start = current(page)
    assert start in path
    keyboard_interview(page, c, answers, path[path.index(start):])
    result = api(page, "record")
    assert result["paradata"]["mode"] == "web"
    assert {k: v for k, v in result["record"].items() if v is not None} == {
        k: v for k, v in given.items() if k in result["record"]
    }
    assert validate_records(c, [result], tmp_path).error_count == 0


def test_pageup_goes_back_and_keeps_answers(page, forms) -> None:
    """PageUp (and Alt+Left) go to the previous question with its answer kept;
    Enter goes on with it; the record counts the backs."""
    c = compiled(KVP)
    route = next(r for r in kvp_routes() if r.end is None)
    answers = route_answers(c, route, 99)
    answers.update(q1=3, q2=11)
    path, _, given = expected_interview(c, answers)
    open_form(page, forms.url(KVP))
    for name in path[: path.index("q3")]:
        type_answer(page, c, name, answers[name])
        page.keyboard.press("Enter")
    assert current(page) == "q3"
    page.keyboard.press("PageUp")
    assert current(page) == "q2"
    assert page.locator('#question input[type=radio][value="11"]').is_checked()
    page.keyboard.press("Alt+ArrowLeft")
    assert current(page) == "q1"
    assert page.locator('#question input[type=radio][value="3"]').is_checked()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert current(page) == "q3"
    keyboard_interview(page, c, answers, path[path.index("q3"):])
    result = api(page, "record")
    assert result["record"]["q1"] == 3 and result["record"]["q2"] == 11
    assert {k: v for k, v in result["record"].items() if v is not None} == {
        k: v for k, v in given.items() if k in result["record"]
    }
    assert result["paradata"]["backs"] == 2


def test_skipped_answers_are_cleared(page, forms) -> None:
    """An answer to a question the final route skips is not in the record:
    q4 = 2 asks q4_other; going back and answering q4 = 1 skips it."""
    c = compiled(KVP)
    route = next(r for r in kvp_routes() if dict(r.witness).get("q4") == 2)
    answers = route_answers(c, route, 5)
    open_form(page, forms.url(KVP))
    drive(page, answers, until="q5")
    assert api(page, "state")["answers"].get("q4_other") == answers["q4_other"]
    assert api(page, "state")["asked"][-3:] == ["q4", "q4_other", "q5"]
    api(page, "back")
    assert current(page) == "q4"
    assert api(page, "answer", "q4", 1)["ok"]
    answers["q4"] = 1
    drive(page, answers)
    result = api(page, "record")
    assert result["record"]["q4"] == 1
    assert result["record"]["q4_other"] is None
    assert "q4_other" not in api(page, "state")["asked"]


def drive(pg: Any, answers: dict[str, Any], until: str | None = None, confirm: bool = True) -> None:
    """Answer through the API until the question ``until`` is on screen (or the
    end); a specify text is answered on its question's screen when its option is
    chosen; a soft check is confirmed by a second next()."""
    specify = {v.name: (v.parent, v.parent_code) for c in map(compiled, (KVP, HOUSEHOLD, HOSTILE))
               for v in c.lowered.variables.values() if v.parent is not None}
    for _ in range(2000):
        name = current(pg)
        if name is None or name == until:
            return
        value = answers[name]
        result = api(pg, "answer", name, value)
        assert result["ok"], (name, result)
        for spec, (parent, code) in specify.items():
            if parent == name and spec in answers and (value == code or (isinstance(value, list) and code in value)):
                assert api(pg, "answer", spec, answers[spec])["ok"]
        step = api(pg, "next")
        if not step["ok"] and step.get("soft") and confirm:
            step = api(pg, "next")
        assert step["ok"], (name, step)
    raise AssertionError("the interview does not end")


# ---------------------------------------------------------------- dispositions


def test_screener_end_sets_the_disposition(page, forms) -> None:
    """The intro's `end` routes: rett_person = 2 ends with disposition 3,
    samtykke = 2 with 6, through the API too."""
    open_form(page, forms.url(KVP))
    drive(page, {"rett_person": 1, "husker": 1, "samtykke": 2})
    state = api(page, "state")
    assert state["finished"] is True and state["disposition"] == 6
    assert state["asked"] == ["rett_person", "husker", "samtykke"]
    assert api(page, "record")["paradata"]["disposition"] == 6


def test_end_call_button_by_keyboard(page, forms) -> None:
    """An end-call button is reached with Tab and pressed with Enter: the call
    ends with that disposition."""
    open_form(page, forms.url(KVP, mode="cati"))
    buttons = page.locator("button.disposition")
    codes = sorted(int(b.get_attribute("data-code")) for b in buttons.all())
    assert codes and set(codes) <= {1, 2, 3, 4, 5, 6, 7}, codes
    code = codes[0]
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.dataset.code") == str(code):
            break
    else:
        raise AssertionError(f"Tab never reached the end-call button {code}")
    page.keyboard.press("Enter")
    state = api(page, "state")
    assert state["finished"] is True and state["disposition"] == code


# ---------------------------------------------------------------- checks


def household_answers(**changes: Any) -> dict[str, Any]:
    """A one-person household whose respondent works: reaches timer_1_1, hjemme."""
    base = {
        "rett_person": 1, "samtykke": 1, "antall": 1, "alder_1": 40, "kjonn_1": 1, "relasjon_1": 1,
        "jobber_1": 1, "antall_jobber_1": 2, "timer_1_1": 37, "sektor_1_1": 1, "fast_1_1": 1,
        "timer_1_2": 10, "sektor_1_2": 2, "fast_1_2": 2, "fornoyd_arbeid": 2, "hjemme": 1,
        "flere_timer": 2, "utdanning": 3, "sivilstand": 1, "fodeland": 1, "bolig": 1,
        "inntekt_1": 1, "inntekt_2": 2, "inntekt_3": 2, "inntekt_4": 2, "okonomi": 2,
    }
    base.update(changes)
    return base


def alert_selector(kind: str) -> str:
    """A check's message: the role=alert element has the class, or holds an element with it."""
    return f"[role=alert].{kind}, [role=alert] .{kind}"


def alerts(pg: Any, kind: str) -> list[str]:
    return [t for t in pg.locator(alert_selector(kind)).all_text_contents() if t.strip()]


def test_soft_check_stops_and_can_be_confirmed(page, forms) -> None:
    """hjemmekontor (a `warn`, hjemme > 5): the first next() stops with the
    filled message, a second goes on; by keyboard, Escape stays to fix it."""
    answers = household_answers(hjemme=6)
    open_form(page, forms.url(HOUSEHOLD))
    drive(page, answers, until="hjemme")
    assert api(page, "answer", "hjemme", 6)["ok"]
    first = api(page, "next")
    assert first["ok"] is False and first["current"] == "hjemme"
    assert first["soft"] and not first["hard"]
    assert any("6" in m for m in first["soft"]), first["soft"]
    shown = alerts(page, "soft")
    assert shown and "6" in shown[0]
    second = api(page, "next")
    assert second["ok"] is True and current(page) == "flere_timer"

    # by keyboard: Enter shows the check, Escape stays on the question, a new answer passes
    api(page, "back")
    assert current(page) == "hjemme"
    page.keyboard.press("Enter")
    assert current(page) == "hjemme" and alerts(page, "soft")
    page.keyboard.press("Escape")
    assert current(page) == "hjemme" and not alerts(page, "soft")
    page.keyboard.press("Backspace")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    assert current(page) == "flere_timer"
    drive(page, answers | {"hjemme": 2})
    assert api(page, "record")["record"]["hjemme"] == 2


def test_soft_check_confirmed_by_enter_on_a_number(page, forms) -> None:
    """The keyboard's confirmation (docs/fielding.md: on a soft-check message
    Enter confirms) on a number question: type 6 in hjemme, Enter shows the
    check, a second Enter goes on with the answer kept."""
    open_form(page, forms.url(HOUSEHOLD))
    drive(page, household_answers(), until="hjemme")
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    assert current(page) == "hjemme" and alerts(page, "soft")
    page.keyboard.press("Enter")
    assert current(page) == "flere_timer", "a second Enter did not confirm the soft check on a number question"
    assert api(page, "state")["answers"]["hjemme"] == 6


def test_hard_check_cannot_be_passed(page, forms) -> None:
    """for_mange_timer (an `error`, timer_1_1 + timer_1_2 > 100): next() refuses,
    again and again, by API and by Enter, until the answer changes."""
    answers = household_answers(timer_1_1=60, timer_1_2=50)
    open_form(page, forms.url(HOUSEHOLD))
    drive(page, answers, until="timer_1_2")
    assert api(page, "answer", "timer_1_2", 50)["ok"]
    for _ in range(3):
        result = api(page, "next")
        assert result["ok"] is False and result["hard"], result
        assert current(page) == "timer_1_2"
    assert any("60" in m and "50" in m for m in result["hard"]), result["hard"]
    assert alerts(page, "hard")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert current(page) == "timer_1_2"
    assert api(page, "answer", "timer_1_2", 30)["ok"]
    assert api(page, "next")["ok"] is True
    assert current(page) == "sektor_1_2"


# ---------------------------------------------------------------- hostile text


PWNED = "() => window.__pwned === undefined ? null : String(window.__pwned)"


@pytest.mark.parametrize("mode", ["cati", "web"])
def test_hostile_labels_show_as_text(page, forms, mode: str) -> None:
    """Labels with <script>, markup, {{ }} and quotes reach the page as text:
    shown literally, nothing runs, no element is injected."""
    open_form(page, forms.url(HOSTILE, mode=mode))
    question = page.locator("#question")
    text = question.text_content() or ""
    assert "<script>window.__pwned = 'h1'</script>" in text
    assert "{{ 7*7 }}" in text and "49" not in text
    assert "\"sitat\" 'enkel'" in text
    labels = " ".join(page.locator("#question label").all_text_contents())
    assert "<img src=x onerror=\"window.__pwned='img'\">" in labels
    assert "{{constructor.constructor('window.__pwned=1')()}}" in labels
    assert "</label></section><b id=\"injected\">fet</b>" in labels
    assert page.locator("#injected").count() == 0
    assert "</script><script>" in page.title()

    assert api(page, "answer", "h1", 3)["ok"]  # its specify text is asked on the same screen
    assert "<script>window.__pwned = 'spec'</script>" in (question.text_content() or "")
    assert api(page, "answer", "h1_spec", "<script>window.__pwned='answer'</script>")["ok"]
    assert api(page, "next")["ok"]

    assert current(page) == "h2"
    text = question.text_content() or ""
    assert "${7*7} `backtick` &amp; &lt;b&gt;" in text
    assert api(page, "answer", "h2", 6)["ok"]
    soft = api(page, "next")
    assert soft["soft"] and "<script>window.__pwned = 'warn'</script> {{ x }}" in soft["soft"][0]
    assert "<script>window.__pwned = 'warn'</script>" in " ".join(alerts(page, "soft"))
    assert api(page, "answer", "h2", 9)["ok"]
    hard = api(page, "next")
    assert hard["hard"] and "<b onmouseover=\"window.__pwned='err'\">9</b>" in hard["hard"][0]
    assert "onmouseover" in " ".join(alerts(page, "hard"))
    assert page.locator("[role=alert] b").count() == 0
    assert api(page, "answer", "h2", 1)["ok"] and api(page, "next")["ok"]

    assert current(page) == "h3"
    assert "</label></section><b id=\"injected\">fet</b>" in (question.text_content() or "")
    page.select_option("#language", "en")
    assert "<svg onload=\"window.__pwned='svg-en'\">" in (question.text_content() or "")
    assert page.locator("#question svg, #question img, #question script").count() == 0
    assert page.evaluate(PWNED) is None
    assert page.errors == []


# ---------------------------------------------------------------- accessibility


def serious_violations(pg: Any) -> list[str]:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        missing("axe-playwright-python is not installed (pip install -e '.[test]')")

    results = Axe().run(pg)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.mark.parametrize("mode", ["cati", "web"])
def test_axe_finds_no_serious_violation(page, forms, mode: str) -> None:
    """axe-core on a choice (q1), a number (q3) and a check message (the soft
    check erfaring_alder on q11) of the KVP form: no serious or critical violation."""
    c = compiled(KVP)
    route = next(r for r in kvp_routes() if r.end is None)
    answers = route_answers(c, route, 1) | {"q3": 50, "q11": 30}
    open_form(page, forms.url(KVP, mode=mode))
    assert page.locator("main#kvpspec-form").get_attribute("data-mode") == mode
    found: dict[str, list[str]] = {}
    drive(page, answers, until="q1")
    found["q1 (choice)"] = serious_violations(page)
    drive(page, answers, until="q3")
    found["q3 (number)"] = serious_violations(page)
    drive(page, answers, until="q11")
    assert api(page, "answer", "q11", 30)["ok"]
    assert api(page, "next")["soft"]
    assert alerts(page, "soft")
    found["q11 (soft check)"] = serious_violations(page)
    assert not any(found.values()), json.dumps(found, indent=1)


# ---------------------------------------------------------------- random interviews


def random_interviews(pg: Any, c: Compiled, n: int, seed: int, intro: dict[str, Any]) -> list[dict[str, Any]]:
    """``n`` seeded random interviews through window.kvpspec in this page. The form
    is hidden (``display: none``) while they run: the page still renders every
    screen, but the browser does not lay it out, which halves the time (the
    visible page has the keyboard, hostile-text and axe tests)."""
    pg.evaluate("() => { document.getElementById('kvpspec-form').style.display = 'none'; }")
    return pg.evaluate(
        RANDOM_INTERVIEWS_JS,
        {"n": n, "seed": seed, "domains": answer_domains(c), "intro": intro, "reset": "reset"},
    )


def check_against_walker(c: Compiled, done: list[dict[str, Any]]) -> None:
    """Every interview asked what routing.Walk asks on its answers, in order, and
    its record holds exactly the answers of the asked questions."""
    all_steps = steps(c.lowered)
    ev = evaluator(c)
    roles = {v.name: v.role for v in c.lowered.response_variables()}
    columns = sorted(roles)
    for i, one in enumerate(done):
        state, record = one["state"], one["record"]["record"]
        assert state["finished"] is True and state["current"] is None
        answers = state["answers"]
        scope: dict[str, Any] = {}
        walk = Walk(all_steps, scope, ev)
        for step, asked in walk:
            if asked:
                value = answers.get(step.name)
                scope[step.name] = frozenset(value) if isinstance(value, list) else value
        assert state["asked"] == walk.path, f"interview {i}: asked {state['asked']}, the walker asks {walk.path}"
        assert sorted(record) == columns, f"interview {i}: the record's columns"
        asked = set(walk.path)
        for name, role in roles.items():
            if role not in DATA_ROLES:
                continue
            want = answers.get(name) if name in asked else None
            got = record[name]
            if isinstance(got, list) and isinstance(want, list):
                got, want = sorted(got), sorted(want)
            assert got == want, f"interview {i}, {name}: record {got!r}, answered {want!r}"


@pytest.mark.parametrize("part", range(4))
def test_thousand_random_kvp_interviews_validate(page, forms, tmp_path, part: int) -> None:
    """1,000 seeded random KVP interviews, in four parts of 250 (so that xdist
    runs them side by side), each part in one page with a fresh interview
    between them: asked as the walker asks, and validate finds 0 errors in
    their records (written by kvpspec.data.records.write_records_csv)."""
    c = compiled(KVP)
    open_form(page, forms.url(KVP))
    done = random_interviews(page, c, 250, 2009 + part, {"rett_person": 1, "samtykke": 1})
    assert len(done) == 250
    assert len({d["record"]["id"] for d in done}) == 250, "record ids repeat"
    assert sum(d["soft"] for d in done) > 0, "no soft check fired: the test does not reach them"
    check_against_walker(c, done)
    report = validate_records(c, [d["record"] for d in done], tmp_path)
    assert report.rows_read == 250
    assert report.error_count == 0, report.text()
    assert page.errors == []


def test_random_household_interviews_validate(page, forms, tmp_path) -> None:
    """60 random household interviews: rosters, soft and hard checks, specify texts."""
    c = compiled(HOUSEHOLD)
    open_form(page, forms.url(HOUSEHOLD))
    done = random_interviews(page, c, 60, 26, {"rett_person": 1, "samtykke": 1})
    assert sum(d["soft"] for d in done) > 0 and sum(d["hard"] for d in done) > 0
    check_against_walker(c, done)
    report = validate_records(c, [d["record"] for d in done], tmp_path)
    assert report.rows_read == 60
    assert report.error_count == 0, report.text()
    assert page.errors == []


# ---------------------------------------------------------------- languages


def test_language_switch_changes_the_question_text(page, forms) -> None:
    """The household study has nb and en: the switch changes the text read aloud;
    ?lang=en opens in English."""
    open_form(page, forms.url(HOUSEHOLD))
    drive(page, household_answers(), until="antall")
    read = page.locator("#question .read").first
    assert "Hvor mange personer bor fast" in (read.text_content() or "")
    page.select_option("#language", "en")
    assert "How many people live permanently" in (page.locator("#question .read").first.text_content() or "")
    assert api(page, "state")["language"] == "en"
    assert current(page) == "antall"
    page.select_option("#language", "nb")
    assert "Hvor mange personer bor fast" in (page.locator("#question .read").first.text_content() or "")

    open_form(page, forms.url(HOUSEHOLD, lang="en", mode="web"))
    state = api(page, "state")
    assert state["language"] == "en" and state["mode"] == "web"
    first = compiled(HOUSEHOLD).lowered.variables[current(page)].label
    english = first.get("en").split("{")[0].strip()
    assert english and english in (page.locator("#question").text_content() or "")


# ---------------------------------------------------------------- standalone


def test_page_fetches_nothing(page, forms) -> None:
    """One self-contained file: a whole KVP interview requests nothing but the page."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    url = forms.url(KVP)
    c = compiled(KVP)
    route = next(r for r in kvp_routes() if r.end is None)
    open_form(page, url)
    drive(page, route_answers(c, route, 3))
    assert [u for u in requests if u.split("?")[0] != url.split("?")[0]] == []


def test_unfinished_interview_resumes_after_reload(page, forms) -> None:
    """Standalone, an unfinished interview is kept in local storage: opened again,
    the page offers to resume it, and resuming goes on where it stopped with the
    answers and the interview's id kept."""
    c = compiled(KVP)
    answers = route_answers(c, next(r for r in kvp_routes() if r.end is None), 4)
    open_form(page, forms.url(KVP))
    drive(page, answers, until="q3")
    before = api(page, "record")
    open_form(page, forms.url(KVP))
    assert current(page) == "rett_person"  # a fresh interview until resumed
    page.locator("#resume-yes").focus()
    page.keyboard.press("Enter")
    assert current(page) == "q3"
    after = api(page, "record")
    assert after["id"] == before["id"]
    assert api(page, "state")["answers"]["q2"] == answers["q2"]


def test_the_unfinished_interview_is_saved_when_the_page_is_hidden(page, forms) -> None:
    """Saving is deferred (at most every 300 ms), not done inside next(); when the
    page is hidden (another tab, the phone's home button) a pending save is
    written at once. After a move the focus reaches the new screen's answer in
    the next frame."""
    open_form(page, forms.url(HOSTILE))
    saved = page.evaluate("""() => {
      const keys = () => Object.keys(localStorage).filter(k => k.includes(':unfinished'));
      window.kvpspec.answer('h1', 1);
      window.kvpspec.next();
      const before = keys().length;
      Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
      document.dispatchEvent(new Event('visibilitychange'));
      const kept = keys().map(k => JSON.parse(localStorage.getItem(k)).snapshot.answers);
      return {before: before, kept: kept};
    }""")
    assert saved == {"before": 0, "kept": [{"h1": 1}]}
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'answer-input'")
    assert current(page) == "h2"


def test_reset_starts_a_new_interview_in_the_page(page, forms) -> None:
    """reset() starts a new interview in the same page and API object: a new id,
    no answers, fresh paradata, the language on screen; a pending two-digit
    code and a pending save of the old interview do not reach the new one, and
    the kept copy of the interview given up is gone (a reload offers nothing)."""
    open_form(page, forms.url(HOSTILE))
    api(page, "language", "en")
    drive(page, {"h1": 1, "h2": 1, "h3": "x"}, until="h3")
    assert api(page, "back")["ok"] and current(page) == "h2"
    drive(page, {"h2": 1, "h3": "x"}, until="h4")
    old = api(page, "record")
    assert old["paradata"]["backs"] == 1
    page.locator("#option-h4-1").focus()
    page.keyboard.press("1")  # 1 or 12: pending for a second
    page.evaluate("() => { window.kvpspecBefore = window.kvpspec; }")
    done = api(page, "reset")
    assert done["ok"] and done["id"] != old["id"] and current(page) == done["current"] == "h1"
    assert page.evaluate("() => window.kvpspec === window.kvpspecBefore")
    new = api(page, "record")
    assert new["id"] == done["id"]
    assert new["paradata"]["backs"] == 0 and new["paradata"]["seconds"] == {}
    assert new["paradata"]["language"] == "en" and new["paradata"]["started"] >= old["paradata"]["started"]
    state = api(page, "state")
    assert state["answers"] == {} and state["asked"] == ["h1"] and not state["finished"]
    assert page.locator("#language").input_value() == "en"
    page.wait_for_timeout(1200)  # the old digit's timer and the old save's timer have had their time
    assert api(page, "state")["answers"] == {}
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':unfinished'))") == []
    # the new interview goes on as any other, and ends complete; reset() again from the end
    drive(page, {"h1": 2, "h2": 3, "h3": "y", "h4": [2]})
    assert api(page, "record")["paradata"]["complete"] is True
    assert api(page, "reset")["ok"] and current(page) == "h1"
    assert page.locator("#download").count() == 0


def test_finished_interview_downloads_its_record(page, forms) -> None:
    """Standalone, the end screen's download button gives the record as JSON."""
    c = compiled(KVP)
    open_form(page, forms.url(KVP))
    drive(page, route_answers(c, next(r for r in kvp_routes() if r.end is None), 6))
    with page.expect_download() as info:
        page.locator("#download").click()
    download = info.value
    saved = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert download.suggested_filename == f"kvp2009-{saved['id']}.json"
    assert saved == api(page, "record")


def test_web_mode_skips_the_telephone_intro(page, forms) -> None:
    """Web mode is for respondents: the intro is the telephone call's opening
    (its screener questions route the call and are not data; the core's walk
    of an interview starts after it), so a web respondent starts at the first
    question after the intro and never sees the interviewer's script
    ("... jeg ringer fra RESPONS ...", "Snakker jeg med <NAVN>?")."""
    c = compiled(KVP)
    first = next(s.name for s in steps(c.lowered) if not s.in_intro)
    open_form(page, forms.url(KVP, mode="web"))
    text = page.locator("#kvpspec-form").text_content() or ""
    assert "jeg ringer fra RESPONS" not in text and "Snakker jeg med" not in text
    assert current(page) == first


def test_multiple_choice_by_keyboard(page, forms) -> None:
    """Digits toggle the codes of a multiple choice: a code that cannot grow is
    taken at once, two digits make 12 or 97, an exclusive option clears the
    others and is cleared by them, a pending digit is taken after a second;
    "1" then "3" (13 is not a code) toggles 1 and then 3, losing no key."""
    open_form(page, forms.url(HOSTILE))
    drive(page, {"h1": 1, "h2": 1, "h3": "x"}, until="h4")

    def chosen() -> list[int]:
        return sorted(int(v) for v in page.eval_on_selector_all(
            "#question input[type=checkbox]:checked", "els => els.map(e => e.value)"))

    page.keyboard.press("3")
    assert chosen() == [3]
    page.keyboard.type("12")
    assert chosen() == [3, 12]
    page.keyboard.press("2")
    assert chosen() == [2, 3, 12]
    page.keyboard.type("97")
    assert chosen() == [97]
    page.keyboard.press("1")  # 1 or 12: taken when a second has passed
    page.wait_for_timeout(1200)
    assert chosen() == [1]
    page.keyboard.type("13")
    page.wait_for_timeout(1200)
    assert chosen() == [3], "typing 1 then 3 should toggle 1 off and 3 on"
    page.keyboard.press("Enter")
    assert current(page) is None
    assert api(page, "record")["record"]["h4"] == [3]


def test_a_digit_on_an_option_with_a_specify_text_moves_to_its_box(page, forms) -> None:
    """The digit of an option that asks for a specify text moves the focus to its
    box: digits typed then are text in the box, and Enter goes on with it."""
    c = compiled(KVP)
    answers = route_answers(c, next(r for r in kvp_routes() if r.end is None), 1)
    open_form(page, forms.url(KVP))
    drive(page, answers, until="q4")
    page.locator("#option-q4-1").focus()
    page.keyboard.press("2")
    assert page.evaluate("() => document.activeElement.dataset.name") == "q4_other"
    page.keyboard.type("Land 12")
    assert page.locator("#option-q4-2").is_checked() and not page.locator("#option-q4-1").is_checked()
    page.keyboard.press("Enter")
    assert current(page) == "q5"
    state = api(page, "state")
    assert state["answers"]["q4"] == 2 and state["answers"]["q4_other"] == "Land 12"
    assert state["asked"][-3:] == ["q4", "q4_other", "q5"]
    # back at q4, the digit of an option without a specify text keeps the focus on the options
    page.keyboard.press("PageUp")
    assert current(page) == "q4"
    page.keyboard.press("1")
    assert page.evaluate("() => document.activeElement.id") == "option-q4-1"


def test_answers_the_form_refuses(page, forms) -> None:
    """answer() names the question on screen or throws; a value out of range or
    not a code is refused with a message, and next() does not go on."""
    open_form(page, forms.url(HOUSEHOLD))
    drive(page, household_answers(), until="antall")
    thrown = page.evaluate("() => { try { window.kvpspec.answer('alder_1', 40); return null; } catch (e) { return String(e.message); } }")
    assert thrown and "antall" in thrown
    refused = api(page, "answer", "antall", 13)
    assert refused["ok"] is False and any("12" in m for m in refused["errors"])
    assert api(page, "next")["ok"] is False and current(page) == "antall"
    assert api(page, "answer", "antall", "to")["ok"] is False
    assert api(page, "answer", "antall", 2)["ok"] is True
    assert api(page, "next")["ok"] is True and current(page) == "alder_1"
