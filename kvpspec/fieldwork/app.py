"""The collection server as an ASGI application (Starlette).

``create_app(compiled, url)`` opens the database (migrating it and binding the
spec: an incompatible spec raises ``store.IncompatibleSpec`` before anything
listens), starts the one writer of interviews and gives the application:

- ``GET /healthz`` → 200 ``{"status": "ok", "survey": NAME, "version": HASH}``
  (503 when the database does not answer);
- ``POST /api/interviews`` with ``Authorization: Bearer TOKEN`` and
  ``{"id": UUID, "record": {...}, "paradata": {...}}`` → 201 once committed,
  200 for an identical repeat, 409 for the same id with other content, 422
  with the findings in ``kvpspec validate``'s report shape (quarantined), 401
  without a valid token (nothing kept), 413 for a body over ``max_body`` bytes
  (quarantined, truncated), 503 when the database failed (send again);
- the pages of ``pages.routes`` (sign-in, CATI, supervisor, web links).

Nothing here logs a request body, a name or a token.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from kvpspec.compile import Compiled
from kvpspec.fieldwork import auth, db, store

#: how long a plain API token's account is remembered (seconds); a replaced token
#: stops working within this time
TOKEN_CACHE_SECONDS = 10.0


class Server:
    def __init__(self, compiled: Compiled, eng: Engine, *, max_body: int = store.MAX_BODY,
                 rules: Any = None):
        self.compiled = compiled
        self.eng = eng
        self.max_body = max_body
        self.checker = store.RecordChecker(compiled)
        self.secret = auth.server_secret(eng)
        self.rules = rules
        self.writer: store.Writer | None = None
        self._tokens: dict[str, tuple[float, auth.Principal]] = {}

    def start(self) -> None:
        if self.writer is None:
            from kvpspec.fieldwork import cases

            rules = self.rules

            checker = self.checker

            def hook(conn: sa.Connection, s: store.Submission) -> None:
                paradata = dict(s.paradata)
                ended = store.ended_in_intro(s.record, checker.ends)
                if ended is not None:  # the intro ended it: not complete, whatever the paradata say
                    paradata["complete"] = False
                    if paradata.get("disposition") is None:
                        paradata["disposition"] = ended
                cases.interview_stored(conn, s.principal, s.id, paradata, rules)

            self.writer = store.Writer(self.eng, self.checker, hook)

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    # ------------------------------------------------------------ routes

    async def healthz(self, request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(self._ping)
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "survey": self.compiled.spec.name,
                                 "version": self.compiled.version}, status_code=503)
        return JSONResponse({"status": "ok", "survey": self.compiled.spec.name, "version": self.compiled.version})

    def _ping(self) -> None:
        with db.reading(self.eng) as conn:
            conn.execute(sa.text("SELECT 1"))

    def _authenticate(self, header: str) -> auth.Principal | None:
        with db.reading(self.eng) as conn:
            return auth.authenticate(conn, header, self.secret)

    async def principal(self, header: str | None) -> auth.Principal | None:
        if not header:
            return None
        cached = self._tokens.get(header)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await run_in_threadpool(self._authenticate, header)
        plain = not header.split(" ", 1)[-1].strip().startswith((auth.FORM_TOKEN_PREFIX, auth.WEB_TOKEN_PREFIX))
        if found is not None and plain and found.role in db.ROLES:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[header] = (now + TOKEN_CACHE_SECONDS, found)
        return found

    async def submit(self, request: Request) -> JSONResponse:
        """The Starlette endpoint (for a caller that routes through Starlette); the
        application itself answers the POST with :meth:`asgi_submit`."""
        status, body, headers = await self.take(request.headers.get("authorization"),
                                                request.headers.get("content-length"), request.stream())
        return JSONResponse(body, status_code=status, headers=headers)

    async def asgi_submit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /api/interviews`` as a plain ASGI handler: no routing, middleware or
        request object (about a third of a submission's HTTP cost in Starlette)."""
        authorization = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        try:
            status, body, headers = await self.take(authorization, length, chunks())
        except ClientDisconnect:
            return
        data = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode("ascii"))]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})

    async def take(self, authorization: str | None, length: str | None,
                   chunks: AsyncIterator[bytes]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A submission's answer: status, JSON body, extra headers."""
        who = await self.principal(authorization)
        if who is None:
            return 401, {"error": "a valid token is needed: Authorization: Bearer TOKEN"}, {"WWW-Authenticate": "Bearer"}
        body, whole = await self._read(length, chunks)
        if not whole:
            text = body.decode("utf-8", errors="replace")
            rep = store.report("request body", [store.finding(
                "size", f"the body is larger than {self.max_body} bytes; it was not read to the end")])
            row = store.quarantine_row(None, text, None, who.account_id, rep)
            await run_in_threadpool(store.quarantine, self.eng, [row])
            return 413, {"error": f"the body is larger than {self.max_body} bytes", **rep}, {}
        sid, record, paradata, errors = store.parse_body(body)
        text = body.decode("utf-8", errors="replace")
        if not errors and paradata is not None and paradata.get("case") is not None:
            errors = await run_in_threadpool(self._check_case, who, paradata["case"])
        if errors or sid is None or record is None or paradata is None:
            rep = store.report(f"interview {sid}" if sid else "request body", errors)
            row = store.quarantine_row(self.checker, text, sid, who.account_id, rep)
            await run_in_threadpool(store.quarantine, self.eng, [row])
            return 422, rep, {}
        sub = store.Submission(sid, record, paradata, text, who.account_id, who.case_id, who)
        if self.writer is None:
            self.start()
        assert self.writer is not None
        answer = await self.writer.submit(sub)
        return answer.status, answer.body, {}

    def _check_case(self, who: auth.Principal, case: Any) -> list[dict[str, Any]]:
        """``paradata.case``: the case of a link's or form's token, or (an API token)
        a case that exists."""
        shown = store.canonical(case)[:40]
        if not isinstance(case, (str, int)) or isinstance(case, bool):
            return [store.finding("paradata", "`paradata.case` must be a case id", "paradata.case", shown)]
        if who.case_id is not None:
            if str(case) != who.case_id:
                return [store.finding("paradata", f"`paradata.case` is not the case of this token ({who.case_id})",
                                      "paradata.case", shown)]
            return []
        with db.reading(self.eng) as conn:
            found = conn.execute(sa.select(db.cases.c.id).where(db.cases.c.id == str(case))).first()
        if found is None:
            return [store.finding("paradata", "`paradata.case` is not a case of the sample", "paradata.case", shown)]
        return []

    async def _read(self, length: str | None, chunks: AsyncIterator[bytes]) -> tuple[bytes, bool]:
        """The body, and whether it is whole (False: over the limit; the start is given)."""
        limit = self.max_body
        whole = not (length is not None and length.isdigit() and int(length) > limit)
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                whole = False
                break
        data = b"".join(parts)
        return (data if whole else data[: store.QUARANTINE_BODY_LIMIT]), whole


class App(Starlette):
    """Starlette, with ``POST /api/interviews`` answered before routing."""

    server: Server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/interviews":
            await self.server.asgi_submit(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(compiled: Compiled, url: str | Engine, *, max_body: int = store.MAX_BODY, pages: bool = True,
               https: bool = False, rules: Any = None, limits: Any = None) -> Starlette:
    """The collection server for ``compiled`` on the database ``url`` (or an engine).
    Raises ``store.IncompatibleSpec`` (an ``InputError``) when the database holds
    data this spec cannot read, ``InputError`` when the database cannot be opened."""
    if isinstance(url, str):
        eng, _ = store.open_database(url, compiled)
    else:
        eng = url
        db.migrate(eng)
        store.bind_spec(eng, compiled)
    fw = compiled.spec.fieldwork
    if rules is None and fw is not None and fw.dispositions:
        from kvpspec.fieldwork import cases

        rules = cases.rules_for(compiled.spec)
    server = Server(compiled, eng, max_body=max_body, rules=rules)
    routes: list[BaseRoute] = [
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/api/interviews", server.submit, methods=["POST"]),
    ]
    if pages:
        from kvpspec.fieldwork import pages as site

        routes += site.routes(compiled, eng, server.secret, https=https, rules=rules, limits=limits)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.start()
        try:
            yield
        finally:
            server.stop()

    app = App(routes=routes, lifespan=lifespan)
    app.server = server
    app.state.server = server
    app.state.engine = eng
    server.start()  # also without a lifespan (a test client that does not send one)
    return app
