"""The server's pages: login, the interviewer's cases (the CATI form in a
frame beside the case and its call outcome), the supervisor's dashboard, and
the web links ``/w/{token}``; plus ``POST /api/partials`` (resume state).

Every page but the login form needs a session of the right role; every POST
from a page carries the session's CSRF token; pages are rendered by Jinja2
with autoescaping, and send a strict Content-Security-Policy (no script on
our own pages; the form's inline scripts allowed by their hashes only).
Names and phone numbers are shown to the interviewer who holds the case and
never logged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kvpspec.compile import Compiled
from kvpspec.diagnostics import KvpspecError
from kvpspec.fieldwork import auth, cases, db, rates

log = logging.getLogger("kvpspec.fieldwork")

TEMPLATES = Path(__file__).parent / "templates"
PARTIAL_LIMIT = 256 * 1024

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

Handler = Callable[..., Awaitable[Response]]


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _show_time
    env.filters["number"] = _show_number
    return env


def _show_number(value: float | None) -> str:
    """A count as a whole number, other numbers to three decimals, nothing for no value."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _show_time(value: str | None) -> str:
    """A stored time (UTC) as the server's local time, to the minute."""
    if not value:
        return ""
    return db.parse_time(value).astimezone().strftime("%Y-%m-%d %H:%M")


_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)


def _form_csp(html: str) -> str:
    """The page's CSP: its own inline scripts (by hash) and posts to this server only."""
    hashes = []
    for mo in _SCRIPT.finditer(html):
        if "application/json" in mo.group("attrs"):
            continue
        digest = hashlib.sha256(mo.group("body").encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    scripts = " ".join(sorted(set(hashes))) or "'none'"
    return (f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src 'self' data: blob:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")


# Saves the answers so far to the server after every step (web mode's resume state).
# It reads only the page's own config block and window.kvpspec; no user text is in it.
SAVE_SCRIPT = """
(function () {
  var config = JSON.parse(document.getElementById("kvpspec-config").textContent);
  var last = null, timer = null;
  function save() {
    timer = null;
    if (!window.kvpspec || !config.token) return;
    var state = window.kvpspec.state();
    if (state.finished) return;
    var body = JSON.stringify({answers: state.answers, asked: state.asked});
    if (body === last) return;
    last = body;
    fetch("/api/partials", {method: "POST", body: body, credentials: "omit",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + config.token}})
      .catch(function () { last = null; });
  }
  function later() { if (!timer) timer = setTimeout(save, 300); }
  document.addEventListener("click", later, true);
  document.addEventListener("keyup", later, true);
  document.addEventListener("change", later, true);
})();
"""


class Site:
    """The pages of one server: the spec, the database and the secrets they share."""

    def __init__(self, compiled: Compiled, engine: sa.Engine, secret: bytes, *, https: bool = False,
                 rules: cases.CaseRules | None = None, limits: auth.LoginLimits | None = None) -> None:
        self.compiled = compiled
        self.spec = compiled.spec
        self.engine = engine
        self.secret = secret
        self.sessions = auth.Sessions(secret, https=https)
        self.language = self.spec.study.languages[0] if self.spec.study and self.spec.study.languages else None
        self.rules = rules or cases.rules_for(self.spec, language=self.language)
        self.limits = limits or auth.LoginLimits()
        self.env = _environment()
        fw = self.spec.fieldwork
        self.personal = {f.name for f in fw.sample if f.personal} if fw else set()
        #: what resume state may hold: the form's answers, by name, with their type
        self.answer_kinds = {v.name: v.type for v in compiled.lowered.variables.values()
                             if v.role in ("id", "question", "specify", "screener")}

    # ------------------------------------------------------------ plumbing

    def render(self, request: Request, template: str, session: dict[str, Any] | None,
               status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            survey=self.spec.name, csrf=session["c"] if session else "", **context)
        response = HTMLResponse(html, status_code=status)
        self.secure(response, PAGE_CSP)
        return response

    @staticmethod
    def secure(response: Response, csp: str) -> Response:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    def session(self, request: Request) -> dict[str, Any] | None:
        return self.sessions.read(request.cookies.get(auth.SESSION_COOKIE))

    def account(self, session: dict[str, Any] | None) -> auth.Account | None:
        if not session or not isinstance(session.get("a"), int):
            return None
        with db.reading(self.engine) as conn:
            return auth.get_account(conn, session["a"])

    def guarded(self, roles: tuple[str, ...], handler: Handler, *, post: bool = False) -> Handler:
        """``handler(request, session, account)`` for the given roles only; POSTs need the CSRF token."""

        async def endpoint(request: Request) -> Response:
            session = self.session(request)
            account = await run_in_threadpool(self.account, session)
            if account is None:
                if post:
                    return self.refuse(request, 401, "Log in first.")
                return self.secure(RedirectResponse("/login", status_code=303), PAGE_CSP)
            if account.role not in roles:
                log.info("refused: account %s (%s) asked for %s", account.id, account.role, request.url.path)
                return self.refuse(request, 403, "This page is not for your role.", session)
            if post:
                form = await request.form()
                if not auth.csrf_ok(session, form.get("csrf")):
                    log.info("refused: a POST to %s without a valid CSRF token", request.url.path)
                    return self.refuse(request, 403, "The form has expired or did not come from this "
                                       "server. Go back, reload the page and try again.", session)
                request.state.form = form
            try:
                return await handler(request, session, account)
            except cases.NotYours as e:
                return self.refuse(request, 403, str(e), session)
            except KvpspecError as e:
                return self.refuse(request, 409, str(e), session)

        return endpoint

    def refuse(self, request: Request, status: int, message: str,
               session: dict[str, Any] | None = None) -> HTMLResponse:
        return self.render(request, "message.html", session, status=status, message=message,
                           signed_in=session is not None and session.get("a") is not None)

    def form_page(self, config: dict[str, Any], *, extra_script: str = "") -> Response:
        from generators.form import form_html

        html = form_html(self.compiled, config=config)
        if extra_script:
            tag = f"<script>{extra_script}</script>"
            at = html.rfind("</body>")
            html = html[:at] + tag + html[at:] if at >= 0 else html + tag
        return self.secure(HTMLResponse(html), _form_csp(html))

    # ------------------------------------------------------------ login

    async def home(self, request: Request) -> Response:
        account = await run_in_threadpool(self.account, self.session(request))
        target = "/login" if account is None else ("/supervisor" if account.role == "supervisor" else "/cati")
        return self.secure(RedirectResponse(target, status_code=303), PAGE_CSP)

    async def login_form(self, request: Request) -> Response:
        session = self.session(request) or self.sessions.new()
        response = self.render(request, "login.html", session)
        response.set_cookie(**self.sessions.cookie(session))
        return response

    async def login(self, request: Request) -> Response:
        session = self.session(request)
        form = await request.form()
        if not auth.csrf_ok(session, form.get("csrf")):
            return self.refuse(request, 403, "The login form has expired. Reload it and try again.")
        name, password = form.get("name"), form.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            return self.render(request, "login.html", session, status=400, error="Give your name and password.")
        address = request.client.host if request.client else "-"
        wait = self.limits.blocked(name, address)
        if wait:
            log.warning("login refused: too many failed attempts (rate limit)")
            response = self.render(request, "login.html", session, status=429,
                                   error=f"Too many failed logins. Try again in {int(wait // 60) + 1} minutes.")
            response.headers["Retry-After"] = str(int(wait))
            return response

        def check() -> auth.Account | None:
            with db.reading(self.engine) as conn:
                return auth.check_login(conn, name[:200], password[:1000])

        account = await run_in_threadpool(check)
        if account is None:
            self.limits.fail(name, address)
            log.info("login failed")
            return self.render(request, "login.html", session, status=401, error="Wrong name or password.")
        self.limits.succeed(name)
        log.info("login: account %s (%s)", account.id, account.role)
        fresh = self.sessions.new(account.id)
        redirect = RedirectResponse("/", status_code=303)
        redirect.set_cookie(**self.sessions.cookie(fresh))
        return self.secure(redirect, PAGE_CSP)

    async def logout(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        log.info("logout: account %s", account.id)
        response = RedirectResponse("/login", status_code=303)
        response.set_cookie(**self.sessions.cookie(self.sessions.new()))
        return self.secure(response, PAGE_CSP)

    # ------------------------------------------------------------ interviewers

    async def cati_home(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        def read() -> str | None:
            with db.reading(self.engine) as conn:
                return cases.held_case(conn, account.id)

        held = await run_in_threadpool(read)
        return self.render(request, "cati.html", session, account=account, held=held,
                           none_due=request.query_params.get("none") == "1")

    async def cati_next(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        def take() -> str | None:
            with self.engine.begin() as conn:
                return cases.next_case(conn, account.id)

        case_id = await run_in_threadpool(take)
        if case_id is None:
            return self.secure(RedirectResponse("/cati?none=1", status_code=303), PAGE_CSP)
        log.info("case %s held by account %s", case_id, account.id)
        return self.secure(RedirectResponse(f"/cati/case/{case_id}", status_code=303), PAGE_CSP)

    def _sample_value(self, f: Any, value: Any) -> str:
        """A sample value as the interviewer reads it: a code with its option's label."""
        labels = {o.code: o.label.get(self.language) for o in f.options}
        codes = value if isinstance(value, list) else [value]
        return ", ".join(f"{c} {labels[c]}" if c in labels else str(c) for c in codes)

    def _held_by(self, conn: sa.Connection, case_id: str, account: auth.Account) -> Any:
        row = cases.get_case(conn, case_id)
        if row is None or row.status != "held" or row.holder != account.id:
            # the same answer for "no such case" and "someone else's case"
            raise cases.NotYours(f"Case {case_id} is not held by you.")
        return row

    async def cati_case(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        case_id = request.path_params["case"]

        def read() -> dict[str, Any]:
            with db.reading(self.engine) as conn:
                row = self._held_by(conn, case_id, account)
                return {"case": row, "person": cases.personal(conn, case_id),
                        "attempts": cases.case_attempts(conn, case_id),
                        "interviews": conn.execute(sa.select(sa.func.count()).select_from(db.interviews)
                                                   .where(db.interviews.c.case_id == case_id)).scalar_one()}

        data = await run_in_threadpool(read)
        fields = self.spec.fieldwork.sample if self.spec.fieldwork else ()
        person = [(f.label.get(self.language), data["person"].get(f.name)) for f in fields
                  if f.personal and data["person"].get(f.name) not in (None, "")]
        sample = [(f.label.get(self.language), self._sample_value(f, data["case"].sample.get(f.name))) for f in fields
                  if not f.personal and f.name != "disposition" and data["case"].sample.get(f.name) not in (None, "")]
        return self.render(request, "case.html", session, account=account, case=data["case"], person=person,
                           sample=sample, attempts=data["attempts"], interviews=data["interviews"],
                           outcomes=self.rules.outcomes(), max_attempts=self.rules.max_attempts)

    async def cati_form(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        case_id = request.path_params["case"]

        def read() -> tuple[dict[str, Any], dict[str, Any] | None]:
            with db.reading(self.engine) as conn:
                row = self._held_by(conn, case_id, account)
                values = dict(row.sample or {})
                values.update(cases.personal(conn, case_id))
                return values, cases.load_partial(conn, case_id)

        values, partial = await run_in_threadpool(read)
        config = {"mode": "cati", "language": self.language, "submit": "/api/interviews",
                  "token": auth.form_token(self.secret, account.id, case_id), "case": case_id,
                  "sample": values, "resume": partial or None}
        return self.form_page(config, extra_script=SAVE_SCRIPT)

    async def cati_outcome(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        case_id = request.path_params["case"]
        form = request.state.form
        outcome = str(form.get("outcome") or "")
        when = str(form.get("appointment") or "")
        appointment = cases.parse_local_time(when) if outcome == "appointment" and when else None

        def store() -> dict[str, Any]:
            with self.engine.begin() as conn:
                result = cases.record_attempt(conn, self.rules, case_id, account.id, outcome,
                                              appointment=appointment)
                if result["status"] == "final":
                    conn.execute(sa.delete(db.partials).where(db.partials.c.case_id == case_id))
                return result

        result = await run_in_threadpool(store)
        log.info("case %s: call by account %s, outcome %s -> %s", case_id, account.id, outcome, result["status"])
        return self.secure(RedirectResponse("/cati", status_code=303), PAGE_CSP)

    async def cati_release(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        case_id = request.path_params["case"]

        def store() -> None:
            with self.engine.begin() as conn:
                cases.release(conn, case_id, account.id)

        await run_in_threadpool(store)
        return self.secure(RedirectResponse("/cati", status_code=303), PAGE_CSP)

    # ------------------------------------------------------------ supervisors

    def dashboard_data(self) -> dict[str, Any]:
        with db.reading(self.engine) as conn:
            counts = cases.disposition_counts(conn)
            return {
                "progress": cases.progress(conn),
                "counts": counts,
                "rates": rates.rates(self.spec, counts, self.language),
                "interviewers": cases.per_interviewer(conn, self.rules),
                "held": cases.held_cases(conn),
            }

    async def supervisor(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        data = await run_in_threadpool(self.dashboard_data)
        counts = data["counts"]
        total = sum(counts.values())
        dispositions = [
            {"code": code, "label": label, "aapor": self.rules.dispositions[code], "n": counts.get(code, 0),
             "percent": round(100 * counts.get(code, 0) / total, 1) if total else None}
            for code, label in self.rules.labels.items()
        ]
        return self.render(request, "supervisor.html", session, account=account, dispositions=dispositions,
                           open_cases=counts.get(None, 0), total=total, rules=self.rules, **data)

    async def supervisor_json(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        data = await run_in_threadpool(self.dashboard_data)
        body = {
            "progress": data["progress"],
            "dispositions": {str(k): v for k, v in data["counts"].items() if k is not None},
            "open": data["counts"].get(None, 0),
            "rates": data["rates"],
            "interviewers": data["interviewers"],
        }
        return self.secure(JSONResponse(body), "default-src 'none'")

    async def supervisor_release(self, request: Request, session: dict[str, Any], account: auth.Account) -> Response:
        case_id = request.path_params["case"]

        def store() -> None:
            with self.engine.begin() as conn:
                cases.release(conn, case_id, account.id, supervisor=True)

        await run_in_threadpool(store)
        log.info("case %s released by supervisor account %s", case_id, account.id)
        return self.secure(RedirectResponse("/supervisor", status_code=303), PAGE_CSP)

    # ------------------------------------------------------------ web links

    async def web(self, request: Request) -> Response:
        token = request.path_params["token"]

        def read() -> tuple[Any, dict[str, Any] | None]:
            with db.reading(self.engine) as conn:
                case_id = auth.web_case(conn, token)
                if case_id is None:
                    return None, None
                return cases.get_case(conn, case_id), cases.load_partial(conn, case_id)

        row, partial = await run_in_threadpool(read)
        if row is None:
            return self.refuse(request, 404, "This link is not valid. Check that it is complete, "
                               "as it was sent to you.")
        if row.status == "final":
            return self.refuse(request, 410, "This questionnaire has been completed. Thank you!")
        config = {"mode": "web", "language": self.language, "submit": "/api/interviews", "token": token,
                  "case": row.id, "sample": {k: v for k, v in (row.sample or {}).items() if k not in self.personal},
                  "resume": partial or None}
        return self.form_page(config, extra_script=SAVE_SCRIPT)

    def answers_fit(self, answers: dict[str, Any]) -> bool:
        """Resume state holds the spec's questions only, each with a value it can hold."""
        return all(name in self.answer_kinds and _fits(value, self.answer_kinds[name])
                   for name, value in answers.items())

    async def save_partial(self, request: Request) -> Response:
        """``POST /api/partials`` (bearer: a web link's token or a CATI form token):
        ``{"answers": {...}}``, the resume state of the token's case."""
        body = await request.body()
        if len(body) > PARTIAL_LIMIT:
            return JSONResponse({"error": "too large"}, status_code=413)

        def store() -> int:
            with self.engine.begin() as conn:
                principal = auth.authenticate(conn, request.headers.get("authorization"), self.secret)
                if principal is None or principal.case_id is None:
                    return 401
                try:
                    data = json.loads(body)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    return 400
                answers = data.get("answers") if isinstance(data, dict) else None
                if not isinstance(answers, dict) or not self.answers_fit(answers):
                    return 400
                row = cases.get_case(conn, principal.case_id)
                if row is None or row.status == "final":
                    return 409
                cases.save_partial(conn, principal.case_id, answers)
                return 204

        status = await run_in_threadpool(store)
        if status == 204:
            return Response(status_code=204)
        return JSONResponse({"error": {400: "the body is {\"answers\": {...}} with the spec's questions and "
                                            "values they can hold", 401: "no valid token",
                                       409: "the case is final"}[status]}, status_code=status)


def _fits(value: Any, kind: str) -> bool:
    from kvpspec.fieldwork.store import _cell

    try:
        _cell(value, kind)
    except ValueError:
        return False
    return True


def routes(compiled: Compiled, engine: sa.Engine, secret: bytes, *, https: bool = False,
           rules: cases.CaseRules | None = None, limits: auth.LoginLimits | None = None) -> list[BaseRoute]:
    """The pages, for ``app.create_app`` to mount."""
    site = Site(compiled, engine, secret, https=https, rules=rules, limits=limits)
    interviewer, supervisor = ("interviewer",), ("supervisor",)
    anyone = ("interviewer", "supervisor")
    g = site.guarded
    return [
        Route("/", site.home, methods=["GET"]),
        Route("/login", site.login_form, methods=["GET"]),
        Route("/login", site.login, methods=["POST"]),
        Route("/logout", g(anyone, site.logout, post=True), methods=["POST"]),
        Route("/cati", g(interviewer, site.cati_home), methods=["GET"]),
        Route("/cati/next", g(interviewer, site.cati_next, post=True), methods=["POST"]),
        Route("/cati/case/{case}", g(interviewer, site.cati_case), methods=["GET"]),
        Route("/cati/case/{case}/form", g(interviewer, site.cati_form), methods=["GET"]),
        Route("/cati/case/{case}/outcome", g(interviewer, site.cati_outcome, post=True), methods=["POST"]),
        Route("/cati/case/{case}/release", g(interviewer, site.cati_release, post=True), methods=["POST"]),
        Route("/supervisor", g(supervisor, site.supervisor), methods=["GET"]),
        Route("/supervisor/status.json", g(supervisor, site.supervisor_json), methods=["GET"]),
        Route("/supervisor/release/{case}", g(supervisor, site.supervisor_release, post=True), methods=["POST"]),
        Route("/w/{token}", site.web, methods=["GET"]),
        Route("/api/partials", site.save_partial, methods=["POST"]),
    ]
