"""Security of the collection server's pages and tokens (kvpspec/fieldwork/
auth.py, pages.py): every route refuses a request without a session or token;
an interviewer reaches neither the supervisor's pages nor another
interviewer's cases; a POST without the session's CSRF token is refused;
logins are rate limited per name and per address; passwords are argon2id
hashes and tokens are stored only as hashes; cookies are HttpOnly and
SameSite=Strict; no name or phone number reaches the logs; user text is
escaped. The API's own contract (201/409/422/413...) is tested in
test_fieldwork_store.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import KVP
from starlette.routing import Route
from starlette.testclient import TestClient

from kvpspec import compile_file
from kvpspec.fieldwork import auth, cases, db
from kvpspec.fieldwork.app import create_app

COMPILED = compile_file(KVP)
PASSWORD = "correct horse battery"
PERSONAL = {"fornavn": "Ingeborg", "etternavn": "Østerdal<script>alert(1)</script>", "telefon": "41234567"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id still, at a test's cost (1 MiB, t=1); the server's own cost is checked below."""
    from argon2 import PasswordHasher

    assert (auth.HASHER.memory_cost, auth.HASHER.time_cost) == (65536, 3)
    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path / 'fieldwork.db'}"
    app = create_app(COMPILED, url, limits=auth.LoginLimits(clock=clock))
    eng: sa.Engine = app.state.engine
    with eng.begin() as conn:
        conn.execute(sa.insert(db.cases), [
            {"id": f"{i}", "status": "open", "attempts": 0, "sample": {"sprak": 1}, "created": db.now()}
            for i in (1, 2, 3)
        ])
        conn.execute(sa.insert(db.persons), [
            {"case_id": f"{i}", "data": {k: v + str(i) for k, v in PERSONAL.items()}} for i in (1, 2, 3)
        ])
        tokens = {name: auth.create_token(conn, name, role) for name, role in
                  [("anna", "interviewer"), ("bo", "interviewer"), ("sara", "supervisor")]}
        for name in tokens:
            auth.set_password(conn, name, PASSWORD)
        links = dict(cases.issue_web_links(conn, "http://testserver"))
    yield {"app": app, "engine": eng, "tokens": tokens, "links": links}
    app.state.server.stop()
    eng.dispose()


def client(server: dict[str, Any]) -> TestClient:
    return TestClient(server["app"], follow_redirects=False)


def csrf_of(c: TestClient, path: str = "/login") -> str:
    page = c.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def login(server: dict[str, Any], name: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    c = client(server)
    r = c.post("/login", data={"csrf": csrf_of(c), "name": name, "password": password})
    assert r.status_code == 303, r.text[:300]
    home = c.get("/")
    target = home.headers["location"]
    return c, csrf_of(c, target)


# ---------------------------------------------------------------- every route refused without credentials

PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("GET", "/")}


def concrete(path: str) -> str:
    return path.replace("{case}", "1").replace("{token}", "kvw_not-a-token")


def test_every_route_refuses_a_request_without_session_or_token(server: dict[str, Any]) -> None:
    """Each route of the app (read from the app itself, so a new route is covered):
    GET pages redirect to the login, POSTs and the API answer 401/403, a made-up
    web token 404; nothing is rendered or stored. The public ones are listed."""
    c = client(server)
    seen = set()
    for route in server["app"].routes:
        assert isinstance(route, Route)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            key = (method, route.path)
            seen.add(key)
            if key in PUBLIC:
                continue
            r = c.request(method, concrete(route.path), data={"outcome": "6"} if method == "POST" else None)
            if route.path.startswith("/w/"):
                assert r.status_code == 404, key
            elif method == "GET":
                assert r.status_code == 303 and r.headers["location"] == "/login", key
            else:
                assert r.status_code in (401, 403), (key, r.status_code)
    assert ("POST", "/api/interviews") in seen and ("GET", "/supervisor") in seen and len(seen) >= 17
    assert c.get("/").headers["location"] == "/login"
    with server["engine"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.attempts)).scalar_one() == 0
        assert conn.execute(sa.select(db.cases.c.status)).scalars().all() == ["open"] * 3


def test_bearer_tokens_open_the_api_only(server: dict[str, Any]) -> None:
    """An API token is no session: the pages still send it to the login."""
    c = client(server)
    headers = {"Authorization": f"Bearer {server['tokens']['sara']}"}
    assert c.get("/supervisor", headers=headers).status_code == 303
    assert c.post("/api/partials", json={"answers": {}}, headers=headers).status_code == 401  # no case
    for bad in ("Bearer", "Bearer kvp_wrong", "Basic abc", "Bearer kvf.forged.token", "bearer  "):
        assert c.post("/api/interviews", json={}, headers={"Authorization": bad}).status_code == 401, bad


def test_a_tampered_or_foreign_session_cookie_is_no_session(server: dict[str, Any]) -> None:
    c, _ = login(server, "sara")
    cookie = c.cookies[auth.SESSION_COOKIE]
    assert c.get("/supervisor").status_code == 200
    other = client(server)
    other.cookies.set(auth.SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert other.get("/supervisor").status_code == 303
    forged = auth.Sessions(b"another server's secret " * 2)
    other.cookies.set(auth.SESSION_COOKIE, forged.cookie(forged.new(1))["value"])
    assert other.get("/supervisor").status_code == 303


# ---------------------------------------------------------------- roles and other interviewers' cases


def test_an_interviewer_cannot_reach_the_supervisor_pages(server: dict[str, Any]) -> None:
    c, csrf = login(server, "anna")
    assert c.get("/supervisor").status_code == 403
    assert c.get("/supervisor/status.json").status_code == 403
    assert c.post("/supervisor/release/1", data={"csrf": csrf}).status_code == 403
    s, _ = login(server, "sara")
    assert s.get("/cati").status_code == 403  # and a supervisor does not take cases
    assert s.post("/cati/next", data={"csrf": csrf}).status_code == 403


def test_an_interviewer_cannot_reach_another_interviewers_case(server: dict[str, Any]) -> None:
    anna, anna_csrf = login(server, "anna")
    bo, bo_csrf = login(server, "bo")
    r = anna.post("/cati/next", data={"csrf": anna_csrf})
    assert r.status_code == 303
    case = r.headers["location"].rsplit("/", 1)[1]
    page = anna.get(f"/cati/case/{case}")
    assert page.status_code == 200 and PERSONAL["fornavn"] + case in page.text
    for path in (f"/cati/case/{case}", f"/cati/case/{case}/form"):
        r = bo.get(path)
        assert r.status_code == 403 and PERSONAL["fornavn"] not in r.text, path
    for action in ("outcome", "release"):
        assert bo.post(f"/cati/case/{case}/{action}", data={"csrf": bo_csrf, "outcome": "6"}).status_code == 403
    assert bo.get("/cati/case/3").status_code == 403  # open, nobody's: not reachable either
    # bo gets another case, never anna's
    r = bo.post("/cati/next", data={"csrf": bo_csrf})
    assert r.headers["location"] != f"/cati/case/{case}"
    with server["engine"].connect() as conn:
        assert cases.get_case(conn, case).holder == auth.find_account(conn, "anna").id


def test_a_form_token_dies_with_the_hold(server: dict[str, Any]) -> None:
    """The CATI form's token posts for its case only while the interviewer holds it."""
    anna, csrf = login(server, "anna")
    case = anna.post("/cati/next", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
    secret = server["app"].state.server.secret
    with server["engine"].connect() as conn:
        anna_id = auth.find_account(conn, "anna").id
        token = auth.form_token(secret, anna_id, case)
        assert auth.authenticate(conn, f"Bearer {token}", secret) == auth.Principal(anna_id, "interviewer", case)
        assert auth.authenticate(conn, f"Bearer {auth.form_token(secret, anna_id, '2')}", secret) is None
    assert anna.post(f"/cati/case/{case}/release", data={"csrf": csrf}).status_code == 303
    with server["engine"].connect() as conn:
        assert auth.authenticate(conn, f"Bearer {token}", secret) is None


# ---------------------------------------------------------------- CSRF


def test_posts_without_the_csrf_token_are_refused(server: dict[str, Any]) -> None:
    c = client(server)
    csrf_of(c)
    assert c.post("/login", data={"name": "anna", "password": PASSWORD}).status_code == 403
    assert c.post("/login", data={"csrf": "guess", "name": "anna", "password": PASSWORD}).status_code == 403
    anna, csrf = login(server, "anna")
    _, bo_csrf = login(server, "bo")
    for data in ({}, {"csrf": ""}, {"csrf": "x" * 32}, {"csrf": bo_csrf}):
        r = anna.post("/cati/next", data=data)
        assert r.status_code == 403 and "did not come from this server" in r.text, data
    assert anna.post("/logout", data={}).status_code == 403
    with server["engine"].connect() as conn:
        assert conn.execute(sa.select(db.cases.c.status)).scalars().all() == ["open"] * 3
    assert anna.post("/cati/next", data={"csrf": csrf}).status_code == 303


def test_logging_in_gives_a_new_csrf_token_and_logging_out_ends_the_session(server: dict[str, Any]) -> None:
    c = client(server)
    before = csrf_of(c)
    c.post("/login", data={"csrf": before, "name": "anna", "password": PASSWORD})
    after = csrf_of(c, "/cati")
    assert after != before
    assert c.post("/logout", data={"csrf": after}).status_code == 303
    assert c.get("/cati").status_code == 303


# ---------------------------------------------------------------- login rate limit


def test_login_rate_limit_per_name(server: dict[str, Any], clock: Clock) -> None:
    c = client(server)
    for _ in range(5):
        r = c.post("/login", data={"csrf": csrf_of(c), "name": "anna", "password": "wrong password"})
        assert r.status_code == 401
    r = c.post("/login", data={"csrf": csrf_of(c), "name": "anna", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right password
    assert login(server, "bo")  # another name from the same address still may
    clock.now += 901
    assert c.post("/login", data={"csrf": csrf_of(c), "name": "anna", "password": PASSWORD}).status_code == 303


def test_login_rate_limit_per_address(server: dict[str, Any], clock: Clock) -> None:
    c = client(server)
    for i in range(20):
        r = c.post("/login", data={"csrf": csrf_of(c), "name": f"nobody{i}", "password": "wrong password"})
        assert r.status_code == 401
    assert c.post("/login", data={"csrf": csrf_of(c), "name": "sara", "password": PASSWORD}).status_code == 429
    clock.now += 901
    assert c.post("/login", data={"csrf": csrf_of(c), "name": "sara", "password": PASSWORD}).status_code == 303


# ---------------------------------------------------------------- what is stored, what is sent


def test_passwords_are_argon2id_and_tokens_only_hashes(server: dict[str, Any]) -> None:
    with server["engine"].connect() as conn:
        rows = conn.execute(sa.select(db.accounts)).all()
        everything = repr([tuple(r) for t in db.TABLES for r in conn.execute(sa.select(t)).all()])
    assert all(r.password_hash.startswith("$argon2id$") for r in rows)
    assert PASSWORD not in everything
    for token in [*server["tokens"].values(), *(u.rsplit("/", 1)[1] for u in server["links"].values())]:
        assert token not in everything
    assert {r.token_hash for r in rows} == {auth.token_hash(t) for t in server["tokens"].values()}
    assert auth.verify_password(rows[0].password_hash, PASSWORD)
    assert not auth.verify_password(rows[0].password_hash, PASSWORD + "x")
    assert not auth.verify_password(None, PASSWORD)


def test_session_cookie_flags(tmp_path: Path) -> None:
    sessions = auth.Sessions(b"k" * 32, https=True)
    assert sessions.cookie(sessions.new(1))["secure"] is True
    app = create_app(COMPILED, f"sqlite:///{tmp_path / 'f.db'}", https=True)
    try:
        header = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"]
    finally:
        app.state.server.stop()
    assert "HttpOnly" in header and "SameSite=strict" in header and "Secure" in header and "Path=/" in header


def test_pages_send_a_strict_policy_and_escape_user_text(server: dict[str, Any]) -> None:
    c, csrf = login(server, "anna")
    case = c.post("/cati/next", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
    page = c.get(f"/cati/case/{case}")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers or "HttpOnly" in page.headers["set-cookie"]


def test_no_name_or_phone_number_in_the_logs(server: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """A day's work at DEBUG level on every logger: logins (good and bad), a case
    with its person on screen, outcomes, the supervisor's page, a web link: the
    log holds no name, phone number, password or token."""
    caplog.set_level(logging.DEBUG)
    anna, csrf = login(server, "anna")
    bad = client(server)
    bad.post("/login", data={"csrf": csrf_of(bad), "name": "anna", "password": "not it at all"})
    case = anna.post("/cati/next", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
    assert PERSONAL["telefon"] + case in anna.get(f"/cati/case/{case}").text
    anna.post(f"/cati/case/{case}/outcome", data={"csrf": csrf, "outcome": "appointment",
                                                   "appointment": "2099-01-01T10:00"})
    case = anna.post("/cati/next", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
    anna.post(f"/cati/case/{case}/outcome", data={"csrf": csrf, "outcome": "6"})
    sara, _ = login(server, "sara")
    assert sara.get("/supervisor").status_code == 200
    # a record that carries a person's name and number to the API: refused, and not logged
    api = client(server)
    hostile = {"id": "00000000-0000-4000-8000-0000000000aa", "paradata": {},
               "record": {"q1": 1, "fornavn": PERSONAL["fornavn"] + "1", "telefon": PERSONAL["telefon"] + "1"}}
    r = api.post("/api/interviews", json=hostile, headers={"Authorization": f"Bearer {server['tokens']['anna']}"})
    assert r.status_code == 422
    link = next(iter(server["links"].values()))
    token = link.rsplit("/", 1)[1]
    client(server).post("/api/partials", json={"answers": {"q1": 1}}, headers={"Authorization": f"Bearer {token}"})
    assert caplog.records, "the server logs what it does"
    text = caplog.text + repr([r.args for r in caplog.records])
    secrets = [PASSWORD, token, *server["tokens"].values(), "anna", "sara"]
    for i in (1, 2, 3):
        secrets += [v + str(i) for v in PERSONAL.values()]
    for s in secrets:
        assert s not in text, s


# ---------------------------------------------------------------- fresh-eyes findings (FX1)


def _web_post(c: TestClient, link: str, record: dict[str, Any], paradata: Any) -> Any:
    import uuid

    token = link.rsplit("/", 1)[1]
    return c.post("/api/interviews", headers={"Authorization": f"Bearer {token}"},
                  json={"id": str(uuid.uuid4()), "record": record, "paradata": paradata})


def test_a_web_link_cannot_make_its_case_complete_with_hostile_paradata(server: dict[str, Any]) -> None:
    """H2: a disposition that is no code, or a string `complete`, is 422; an interview the
    intro ended (or marked not complete) never gets the complete disposition."""
    c, links = client(server), server["links"]
    for paradata in ({"complete": False, "disposition": "<b>x</b>"}, {"complete": "false"},
                     {"disposition": 99}, {"complete": False, "disposition": 7}, {"disposition": True}):
        r = _web_post(c, links["1"], {"rett_person": 2}, paradata)
        assert r.status_code == 422, (paradata, r.text)
        assert any(e["rule"] == "paradata" for e in r.json()["errors"]), r.json()
    with server["engine"].connect() as conn:
        row = cases.get_case(conn, "1")
        assert row is not None and row.status == "open" and row.disposition is None
    # the intro ended it (rett_person 2 → disposition 3) without a disposition in the paradata
    r = _web_post(c, links["1"], {"rett_person": 2}, {"complete": False})
    assert r.status_code == 201, r.text
    r = _web_post(c, links["2"], {"rett_person": 2}, {})
    assert r.status_code == 201, r.text
    # not complete and no disposition at all: a call outcome, the case stays open
    r = _web_post(c, links["3"], {}, {"complete": False, "disposition": None})
    assert r.status_code == 201, r.text
    with server["engine"].connect() as conn:
        got = {i: (cases.get_case(conn, i).status, cases.get_case(conn, i).disposition)  # type: ignore[union-attr]
               for i in ("1", "2", "3")}
    assert got == {"1": ("final", 3), "2": ("final", 3), "3": ("open", None)}


def test_deeply_nested_json_is_refused_without_a_traceback(server: dict[str, Any],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """H3: 20,000 '[' → 422 quarantined (interviews), 400 (partials); no RecursionError."""
    c = client(server)
    deep = b"[" * 20000
    token = server["tokens"]["anna"]
    with caplog.at_level(logging.DEBUG):
        r = c.post("/api/interviews", content=deep, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["rule"] == "body"
        web = server["links"]["1"].rsplit("/", 1)[1]
        r = c.post("/api/partials", content=b'{"answers": ' + deep, headers={"Authorization": f"Bearer {web}"})
        assert r.status_code == 400, r.text
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text
    with server["engine"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.quarantine)).scalar_one() == 1


def test_paradata_case_must_be_the_tokens_or_an_existing_case(server: dict[str, Any]) -> None:
    """LOW: a link's token with paradata.case of another case, or an API token with a
    case that does not exist: 422 (quarantined); the right case is taken."""
    import uuid

    c, links = client(server), server["links"]
    assert _web_post(c, links["1"], {"rett_person": 2}, {"case": "2"}).status_code == 422
    api = {"Authorization": f"Bearer {server['tokens']['anna']}"}
    r = c.post("/api/interviews", headers=api,
               json={"id": str(uuid.uuid4()), "record": {"rett_person": 2}, "paradata": {"case": "no-such"}})
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "paradata.case", r.text
    assert _web_post(c, links["1"], {"rett_person": 2}, {"case": "1"}).status_code == 201
    r = c.post("/api/interviews", headers=api,
               json={"id": str(uuid.uuid4()), "record": {"rett_person": 2}, "paradata": {"case": "2"}})
    assert r.status_code == 201, r.text


def test_partials_hold_only_the_specs_questions(server: dict[str, Any]) -> None:
    """LOW: unknown names, __proto__, values a question cannot hold: 400, nothing kept."""
    c = client(server)
    web = {"Authorization": "Bearer " + server["links"]["1"].rsplit("/", 1)[1]}
    for answers in ({"__proto__": {"x": 1}}, {"nope": 1}, {"rett_person": {"a": 1}}, {"rett_person": True},
                    {"etternavn": "Nordmann"}):
        r = c.post("/api/partials", json={"answers": answers}, headers=web)
        assert r.status_code == 400, (answers, r.text)
    with server["engine"].connect() as conn:
        assert cases.load_partial(conn, "1") is None
    assert c.post("/api/partials", json={"answers": {"rett_person": 1}}, headers=web).status_code == 204
