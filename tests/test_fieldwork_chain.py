"""The whole fieldwork chain on the KVP spec, as a supervisor and a call centre
would run it (issue 13's proof):

registration file → ``kvpspec fieldwork load`` → accounts → ``kvpspec serve``
(a real uvicorn process) → interviews through the form in Chromium (CATI, by
keyboard, in the case page's frame), through the API (an interviewer's token)
and through a web link (resumed where the respondent left off) → call outcomes
on the interviewers' pages (no answer up to the maximum, numbers not in use,
wrong numbers, illness, refusals) → the supervisor's live rates →
``kvpspec fieldwork export`` → ``kvpspec validate`` with 0 errors →
``kvpspec analyze`` → ``tables.json`` whose Tabell 1 is the stored
dispositions, with the same rates the supervisor's page showed → purge.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from browser import expected_interview
from conftest import KVP

from kvpspec import compile_file
from kvpspec.compile import Compiled
from kvpspec.data.reader import cell_value
from kvpspec.fieldwork import auth, cases, db, rates
from kvpspec.semantics.routing import enumerate_routes, steps
from kvpspec.synth.simulate import cells, simulate

PASSWORD = "correct horse battery"
MAX_ATTEMPTS = 3
PEOPLE = [  # etternavn, fornavn, telefon, sprak (a code or the dropdown's label)
    ("Hansen", "Kari", "91234501", "1"), ("Olsen", "Per", "91234502", "Engelsk"),
    ("Berg", "Liv", "91234503", "1"), ("Dahl", "Ola", "91234504", "1"),
    ("Lie", "Siri", "91234505", "Somali"), ("Moe", "Arne", "91234506", "1"),
    ("Strand", "Eva", "91234507", "1"), ("Bakke", "Nils", "91234508", "Polsk"),
    ("Haug", "Tone", "91234509", "1"), ("Lund", "Jon", "91234510", "1"),
    ("Vik", "Anne", "91234511", "1"), ("Foss", "Knut", "91234512", "1"),
]


def kvpspec(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kvpspec", *args], capture_output=True, text=True, timeout=300,
                          input=stdin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def full_interview(c: Compiled) -> tuple[list[str], dict[str, Any]]:
    """A complete KVP interview (a route without `end`): the questions the core's
    walker asks and an answer for each, chosen so no code is the first digit of
    another (a typed digit is then a whole code) and numbers lie in range."""
    route = next(r for r in enumerate_routes(c.lowered).routes if r.end is None)
    answers: dict[str, Any] = {}
    for s in steps(c.lowered):
        v = c.lowered.variables[s.name]
        codes = [code for code in v.codes if code not in v.missing_codes]
        plain = [code for code in codes if not any(str(o).startswith(str(code)) and o != code for o in v.codes)]
        if v.type in ("single", "multiple"):
            pick = plain[len(plain) // 2] if plain else codes[0]
            answers[s.name] = [pick] if v.type == "multiple" else pick
        elif v.type in ("integer", "decimal"):
            lo = 0 if v.min is None else int(v.min)
            hi = lo + 40 if v.max is None else int(v.max)
            answers[s.name] = min(hi, lo + 5)  # q3 5 years, q11 23: no soft check (q3 > q11 - 15)
        else:
            answers[s.name] = "tekst"
    answers.update(dict(route.witness))
    path, end, _ = expected_interview(c, answers)
    assert end is None
    return path, answers


class Frame:
    """The form inside the case page's frame, driven with the page's keyboard."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.frame = page.locator("#form-frame").element_handle().content_frame()
        self.frame.wait_for_function("() => window.kvpspec && typeof window.kvpspec.current === 'function'")

    def current(self) -> str | None:
        return self.frame.evaluate("window.kvpspec.current()")

    def type_answer(self, c: Compiled, name: str, value: Any) -> None:
        keyboard = self.page.keyboard
        if c.lowered.variables[name].type in ("single", "multiple"):
            for code in value if isinstance(value, list) else [value]:
                keyboard.type(str(code))
        else:
            keyboard.type(str(value))

    def interview(self, c: Compiled, path: list[str], answers: dict[str, Any]) -> None:
        """Digits and Enter only (Enter again confirms a soft check)."""
        for name in path:
            assert self.current() == name
            self.type_answer(c, name, answers[name])
            self.page.keyboard.press("Enter")
            if self.current() == name:
                assert self.frame.locator("[role=alert]").count(), f"stuck at {name}"
                self.page.keyboard.press("Enter")
                assert self.current() != name, (
                    f"a second Enter did not go on from {name}: "
                    f"{self.frame.locator('[role=alert]').all_text_contents()}, answers {self.frame.evaluate('window.kvpspec.state().answers')}")
        assert self.current() is None


class Site:
    """One signed-in person on the server's pages (httpx, cookies kept)."""

    def __init__(self, base: str, name: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        page = self.http.get("/login")
        self.http.post("/login", data={"csrf": self.csrf(page.text), "name": name, "password": PASSWORD})
        home = self.http.get("/").headers["location"]
        self.token = self.csrf(self.http.get(home).text)

    @staticmethod
    def csrf(html: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, html[:300]
        return found.group(1)

    def next_case(self) -> str | None:
        r = self.http.post("/cati/next", data={"csrf": self.token})
        assert r.status_code == 303
        where = r.headers["location"]
        return None if where.startswith("/cati?none") else where.rsplit("/", 1)[1]

    def outcome(self, case: str, outcome: str, appointment: str = "") -> None:
        r = self.http.post(f"/cati/case/{case}/outcome",
                           data={"csrf": self.token, "outcome": outcome, "appointment": appointment})
        assert r.status_code == 303, r.text[:500]


def simulated_records(c: Compiled, n: int, first_id: int) -> list[dict[str, Any]]:
    """Valid KVP records (the simulator's), numbered ``first_id``, ``first_id + 1``, ..."""
    sim = simulate(c, n, seed=5)
    columns = {v.name: cells(v, sim.data[v.name]) for v in sim.columns}
    kinds = {v.name: v.type for v in sim.columns}
    records = [{k: cell_value(columns[k][i], kinds[k]) for k in columns} for i in range(n)]
    respondent = c.spec.respondent.name if c.spec.respondent else None
    for i, record in enumerate(records):
        if respondent:
            record[respondent] = first_id + i
    return records


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """The sample loaded, the accounts made, ``kvpspec serve`` running."""
    url = f"sqlite:///{tmp_path / 'fieldwork.db'}"
    registration = tmp_path / "registrering.csv"
    with registration.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Etternavn", "Fornavn", "Telefonnummer", "sprak"])
        w.writerows(PEOPLE)
    loaded = kvpspec("fieldwork", "load", str(KVP), "--db", url, str(registration))
    assert loaded.returncode == 0, loaded.stderr
    assert "12 case(s) loaded" in loaded.stdout
    made = kvpspec("fieldwork", "token", "--db", url, "--name", "bo", "--role", "interviewer")
    assert made.returncode == 0, made.stderr
    tokens = {"bo": made.stdout.strip()}
    eng = db.engine(url)
    with eng.begin() as conn:
        for name, role in [("anna", "interviewer"), ("bo", None), ("sara", "supervisor")]:
            auth.set_password(conn, name, PASSWORD, role)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kvpspec", "serve", str(KVP), "--db", url,
                                 "--port", str(port), "--max-attempts", str(MAX_ATTEMPTS), "--no-answer", "1"],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    try:
        yield {"url": url, "base": base, "engine": eng, "tokens": tokens, "folder": tmp_path, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        eng.dispose()


def wait_for_interviews(eng: sa.Engine, case: str, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with eng.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(db.interviews)
                             .where(db.interviews.c.case_id == case)).scalar_one()
        if n or time.monotonic() > deadline:
            return int(n)
        time.sleep(0.1)


def test_kvp_fieldwork_from_registration_to_tabell1(server: dict[str, Any], browser: Any) -> None:
    c = compile_file(KVP)
    eng, base, folder = server["engine"], server["base"], server["folder"]
    rules = cases.rules_for(c.spec, max_attempts=MAX_ATTEMPTS, no_answer=1)
    outcomes: dict[str, int] = {}

    # ---- anna: two calls in Chromium, by keyboard, in the case page's frame
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/")
    page.locator("#name").focus()
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cati")
    page.locator("#next-case").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/cati/case/*")
    case = page.url.rsplit("/", 1)[1]
    assert page.locator(".personal").first.is_visible()  # the interviewer sees whom to call
    form = Frame(page)
    assert "Snakker jeg med" in form.frame.locator("#question").inner_text()
    path, answers = full_interview(c)
    form.interview(c, path, answers)
    assert wait_for_interviews(eng, case) == 1, server["log"].read_text()[-2000:]
    page.reload()
    assert page.locator("#interviews").inner_text() == "1"
    page.select_option("#outcome", "7")
    page.locator("#record-outcome").click()
    page.wait_for_url("**/cati")
    outcomes[case] = 7

    # the next call: consent refused in the intro (samtykke 2 ends with disposition 6)
    page.locator("#next-case").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/cati/case/*")
    case = page.url.rsplit("/", 1)[1]
    form = Frame(page)
    form.interview(c, ["rett_person", "husker", "samtykke"], {"rett_person": 1, "husker": 1, "samtykke": 2})
    assert form.frame.evaluate("window.kvpspec.state().disposition") == 6
    page.select_option("#outcome", "6")
    page.locator("#record-outcome").click()
    page.wait_for_url("**/cati")
    outcomes[case] = 6
    assert not errors, errors
    context.close()

    # ---- bo: interviews through the API with his token, then their call outcomes
    bo = Site(base, "bo")
    records = simulated_records(c, 3, 101)
    api = httpx.Client(base_url=base, timeout=30,
                       headers={"Authorization": f"Bearer {server['tokens']['bo']}"})
    for record in records:
        case = bo.next_case()
        assert case is not None
        body = {"id": str(uuid.uuid4()), "record": record, "paradata": {"case": case, "mode": "cati"}}
        r = api.post("/api/interviews", json=body)
        assert r.status_code == 201, r.text
        assert api.post("/api/interviews", json=body).status_code == 200  # a repeat
        bo.outcome(case, "7")
        outcomes[case] = 7

    # ---- the other outcomes of Tabell 1, and the maximum of unanswered calls
    for code in (2, 3, 4, 5):
        case = bo.next_case()
        assert case is not None
        bo.outcome(case, str(code))
        outcomes[case] = code
    unanswered = bo.next_case()
    assert unanswered is not None
    bo.outcome(unanswered, "appointment", "2099-06-01T10:00")  # not handed out before its time
    for _ in range(2 * rules.max_attempts - 1):  # two cases left, called in turn: one reaches the maximum
        case = bo.next_case()
        assert case is not None and case != unanswered
        bo.outcome(case, "no-answer")
        if case not in outcomes:
            outcomes[case] = 0
    with eng.connect() as conn:
        final_by_max = [k for k in outcomes if outcomes[k] == 0 and cases.get_case(conn, k).status == "final"]
        assert len(final_by_max) == 1 and cases.get_case(conn, final_by_max[0]).disposition == rules.no_answer
        outcomes[final_by_max[0]] = rules.no_answer or 0
        for k in [k for k, v in outcomes.items() if v == 0]:
            del outcomes[k]

    # ---- a web link: the respondent leaves after three answers, comes back, finishes
    made = kvpspec("fieldwork", "links", "--db", server["url"], "--base", base, "-o", str(folder / "links.csv"))
    assert made.returncode == 0, made.stderr
    with (folder / "links.csv").open(encoding="utf-8") as f:
        links = [(row["case"], row["link"]) for row in csv.DictReader(f)]
    assert len(links) == 12 - len([k for k in outcomes if outcomes[k]])  # the cases not final
    web_case, link = links[0]
    token = link.rsplit("/", 1)[1]
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.wait_for_function("() => window.kvpspec && typeof window.kvpspec.current === 'function'")
    first = []
    for _ in range(3):  # three answers (web mode may leave the telephone intro out: whatever comes)
        name = page.evaluate("window.kvpspec.current()")
        first.append(name)
        value = answers[name]
        page.keyboard.type(str(value[0] if isinstance(value, list) else value))
        page.keyboard.press("Enter")
    at = page.evaluate("window.kvpspec.current()")
    assert at not in first
    deadline = time.monotonic() + 10
    while True:
        with eng.connect() as conn:
            partial = cases.load_partial(conn, web_case)
        if (partial or {}).get(first[-1]) is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert partial is not None and partial.get(first[-1]) == answers[first[-1]], partial
    page.close()
    page = context.new_page()
    page.goto(link)
    page.wait_for_function("() => window.kvpspec && typeof window.kvpspec.current === 'function'")
    assert page.evaluate("window.kvpspec.current()") == at  # resumed where they left off
    web = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    body = {"id": str(uuid.uuid4()), "record": simulated_records(c, 1, 201)[0], "paradata": {"mode": "web"}}
    assert web.post("/api/interviews", json=body).status_code == 201
    second = {**body, "id": str(uuid.uuid4())}
    assert web.post("/api/interviews", json=second).status_code == 409  # one interview per link
    page.goto(link)
    assert "completed" in page.content()
    context.close()
    outcomes[web_case] = 7

    # ---- the supervisor's live figures
    sara = Site(base, "sara")
    status = sara.http.get("/supervisor/status.json").json()
    with eng.connect() as conn:
        stored = dict(conn.execute(sa.select(db.cases.c.id, db.cases.c.disposition)
                                   .where(db.cases.c.status == "final")).all())
    assert stored == outcomes
    assert status["dispositions"] == {str(k): v for k, v in sorted(
        {d: list(outcomes.values()).count(d) for d in set(outcomes.values())}.items())}
    assert status["open"] == 12 - len(outcomes)
    live: dict[int | None, int] = {None: 12 - len(outcomes)}
    for d in outcomes.values():
        live[d] = live.get(d, 0) + 1
    assert status["rates"] == rates.rates(c.spec, live)
    assert "<td>anna</td>" in sara.http.get("/supervisor").text

    # ---- export, validate, analyze: Tabell 1 from the stored dispositions
    data, sample, out = folder / "data.csv", folder / "sample.csv", folder / "analysis"
    code = str(rules.no_answer)  # the period is over: cases never finished count as unanswered
    exported = kvpspec("fieldwork", "export", "--db", server["url"], "-o", str(data), "--sample", str(sample),
                       "--unresolved", code)
    assert exported.returncode == 0, exported.stderr
    checked = kvpspec("validate", str(KVP), str(data), "--sample", str(sample))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 errors" in checked.stdout or " 0 error" in checked.stdout, checked.stdout
    analysed = kvpspec("analyze", str(KVP), str(data), "--sample", str(sample), "-o", str(out))
    assert analysed.returncode == 0, analysed.stdout + analysed.stderr
    tables = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    freq, *analysed_rates = tables["tabell1"]["tables"]
    final = dict.fromkeys(rules.dispositions, 0)
    for d in stored.values():
        final[d] += 1
    final[rules.no_answer or 0] += 12 - len(stored)
    assert final[7] == 5  # one in Chromium, three through the API, one through the web link
    assert [cat["count"] for cat in freq["categories"]] == [final[k] for k in rules.dispositions]
    assert analysed_rates == rates.rates(c.spec, final)

    # ---- purge: no name or number is left
    purged = kvpspec("fieldwork", "purge", "--db", server["url"], "--yes")
    assert purged.returncode == 0, purged.stderr
    with eng.connect() as conn:
        everything = repr([tuple(r) for t in db.TABLES for r in conn.execute(sa.select(t)).all()])
    for person in PEOPLE:
        assert person[0] not in everything and person[2] not in everything
