"""Accounts and who may do what on the collection server.

- Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``), a
  memory-hard function; a login by an unknown name still spends one hash, so
  the answer time does not tell which names exist.
- API tokens are random (256 bits) and shown once; only their SHA-256 is
  stored (``accounts.token_hash``). A token that random needs no slow hash.
- Sessions are a signed cookie (itsdangerous, HMAC with the server's secret,
  kept in the ``meta`` table) holding the account id, a CSRF token and the
  time; ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the server is
  reached over https, valid for 12 hours.
- Every form carries the session's CSRF token; every POST outside the API
  checks it (``csrf_ok``).
- Logins are rate limited per account name and per client address
  (``RateLimit``): after 5 failures for a name, or 20 from one address, within
  15 minutes, the next attempts are refused before any password is checked.
- The CATI page gives its form a short-lived *form token* (signed: account id
  and case id), and a web link's token authenticates that case's respondent;
  ``authenticate`` reads all three kinds of bearer token.

No function here logs a name, a password or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from kvpspec.diagnostics import InputError
from kvpspec.fieldwork import db

ROLES = db.ROLES
SESSION_COOKIE = "kvpspec_session"
SESSION_SECONDS = 12 * 3600
FORM_TOKEN_SECONDS = 12 * 3600
TOKEN_PREFIX = "kvp_"
FORM_TOKEN_PREFIX = "kvf."
WEB_TOKEN_PREFIX = "kvw_"

#: argon2id, 64 MiB, t=3, p=4: the library's RFC 9106 "low memory" profile (tests use a cheaper one)
HASHER = PasswordHasher()
_dummy: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash to verify against for an unknown name, made with the current hasher's cost."""
    key = id(HASHER)
    if key not in _dummy:
        _dummy[key] = HASHER.hash("no such account: spend the same time")
    return _dummy[key]


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Principal:
    """Who sent an API request: an account (interviewer or supervisor) or the
    respondent of one web link (role ``web``); ``case_id`` when the request is
    about one case (a CATI form token, a web link)."""

    account_id: int | None
    role: str
    case_id: str | None = None


# ---------------------------------------------------------------- secrets and hashes


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str = TOKEN_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def server_secret(engine: sa.Engine) -> bytes:
    """The server's signing secret: made once, kept in ``meta`` so sessions survive a restart."""
    with engine.begin() as conn:
        value = db.get_meta(conn, "secret")
        if value is None:
            value = secrets.token_hex(32)
            db.set_meta(conn, "secret", value)
    return bytes.fromhex(value)


# ---------------------------------------------------------------- accounts


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"--role {role}: a role is one of {', '.join(ROLES)}")


def _check_name(name: str) -> None:
    if not name or len(name) > 200 or name != name.strip() or any(ord(c) < 32 for c in name):
        raise InputError("--name: an account name is 1 to 200 characters, no control characters, "
                         "no spaces at either end")


def find_account(conn: sa.Connection, name: str) -> Account | None:
    a = db.accounts
    row = conn.execute(sa.select(a.c.id, a.c.name, a.c.role).where(a.c.name == name)).first()
    return Account(row.id, row.name, row.role) if row else None


def get_account(conn: sa.Connection, account_id: int) -> Account | None:
    a = db.accounts
    row = conn.execute(sa.select(a.c.id, a.c.name, a.c.role).where(a.c.id == account_id)).first()
    return Account(row.id, row.name, row.role) if row else None


def _ensure_account(conn: sa.Connection, name: str, role: str | None) -> Account:
    _check_name(name)
    if role is not None:
        _check_role(role)
    account = find_account(conn, name)
    if account is None:
        if role is None:
            raise InputError(f"there is no account {name!r}; give --role to create it")
        conn.execute(sa.insert(db.accounts).values(name=name, role=role, created=db.now()))
        account = find_account(conn, name)
        assert account is not None
    elif role is not None and role != account.role:
        raise InputError(f"the account {name!r} exists with the role {account.role}; "
                         f"a role is not changed by giving another one")
    return account


def create_token(conn: sa.Connection, name: str, role: str) -> str:
    """A new API token for the account ``name`` (created with ``role`` if new).
    The token is returned once; only its hash is stored, and it replaces the
    account's previous token."""
    account = _ensure_account(conn, name, role)
    token = new_token()
    conn.execute(sa.update(db.accounts).where(db.accounts.c.id == account.id)
                 .values(token_hash=token_hash(token)))
    return token


def set_password(conn: sa.Connection, name: str, password: str, role: str | None = None) -> Account:
    """Set the password of ``name`` (created with ``role`` when new)."""
    if len(password) < 10:
        raise InputError("a password has at least 10 characters")
    if len(password) > 1000:
        raise InputError("a password has at most 1000 characters")
    account = _ensure_account(conn, name, role)
    conn.execute(sa.update(db.accounts).where(db.accounts.c.id == account.id)
                 .values(password_hash=hash_password(password)))
    return account


def check_login(conn: sa.Connection, name: str, password: str) -> Account | None:
    """The account when ``password`` is its password; None otherwise (in about the same time)."""
    a = db.accounts
    row = conn.execute(sa.select(a.c.id, a.c.name, a.c.role, a.c.password_hash)
                       .where(a.c.name == name)).first()
    if row is None:
        verify_password(None, password)
        return None
    if not verify_password(row.password_hash, password):
        return None
    return Account(row.id, row.name, row.role)


# ---------------------------------------------------------------- bearer tokens


def form_token(secret: bytes, account_id: int, case_id: str) -> str:
    """The token the CATI page gives its form: it lets the form post this case's interview."""
    return FORM_TOKEN_PREFIX + URLSafeTimedSerializer(secret, salt="form").dumps([account_id, case_id])


def authenticate(conn: sa.Connection, authorization: str | None, secret: bytes) -> Principal | None:
    """The sender of an API request from its ``Authorization: Bearer ...`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 500:
        return None
    if token.startswith(FORM_TOKEN_PREFIX):
        try:
            account_id, case_id = URLSafeTimedSerializer(secret, salt="form").loads(
                token[len(FORM_TOKEN_PREFIX):], max_age=FORM_TOKEN_SECONDS)
        except (BadSignature, ValueError, TypeError):
            return None
        account = get_account(conn, int(account_id))
        if account is None:
            return None
        c = db.cases
        holder = conn.execute(sa.select(c.c.holder).where(c.c.id == str(case_id))).scalar_one_or_none()
        if account.role != "supervisor" and holder != account.id:
            return None  # the case was released or handed to someone else meanwhile
        return Principal(account.id, account.role, str(case_id))
    if token.startswith(WEB_TOKEN_PREFIX):
        case_id = web_case(conn, token)
        return Principal(None, "web", case_id) if case_id is not None else None
    a = db.accounts
    row = conn.execute(sa.select(a.c.id, a.c.role).where(a.c.token_hash == token_hash(token))).first()
    return Principal(row.id, row.role) if row else None


def web_case(conn: sa.Connection, token: str) -> str | None:
    """The case of a web link's token, or None."""
    if not token.startswith(WEB_TOKEN_PREFIX) or len(token) > 200:
        return None
    c = db.cases
    return conn.execute(sa.select(c.c.id).where(c.c.web_token_hash == token_hash(token))).scalar_one_or_none()


# ---------------------------------------------------------------- sessions and CSRF


class Sessions:
    """Signed session cookies: ``{"a": account id or None, "c": CSRF token}``."""

    def __init__(self, secret: bytes, *, https: bool = False, max_age: int = SESSION_SECONDS) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="session")
        self.https = https
        self.max_age = max_age

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie or len(cookie) > 4000:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return data

    def new(self, account_id: int | None = None) -> dict[str, Any]:
        """A fresh session (a new CSRF token too: logging in never keeps the old one)."""
        return {"a": account_id, "c": secrets.token_urlsafe(24)}

    def cookie(self, data: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for Starlette's ``Response.set_cookie``."""
        return {
            "key": SESSION_COOKIE,
            "value": self.serializer.dumps(data),
            "max_age": self.max_age,
            "path": "/",
            "httponly": True,
            "samesite": "strict",
            "secure": self.https,
        }


def csrf_ok(session: dict[str, Any] | None, submitted: Any) -> bool:
    if session is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(session["c"].encode(), submitted.encode())


# ---------------------------------------------------------------- login rate limit


class RateLimit:
    """Failed logins per key (an account name, a client address) in a sliding window.

    Kept in the server process's memory: a restart forgets them, and several
    server processes count apart (serve runs one)."""

    def __init__(self, limit: int, window: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            q = self._recent(key)
            if len(q) < self.limit:
                if not q:
                    self._failures.pop(key, None)
                return 0.0
            return max(1.0, q[0] + self.window - self.clock())

    def fail(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._failures) > 100_000:  # a flood of made-up names must not fill memory
                stale = [k for k, q in self._failures.items() if not q or q[-1] <= self.clock() - self.window]
                for k in stale:
                    del self._failures[k]

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginLimits:
    """The two limits of the login form: per account name and per client address."""

    def __init__(self, per_name: int = 5, per_address: int = 20, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.names = RateLimit(per_name, window, clock)
        self.addresses = RateLimit(per_address, window, clock)

    def blocked(self, name: str, address: str) -> float:
        return max(self.names.blocked(name.casefold()), self.addresses.blocked(address))

    def fail(self, name: str, address: str) -> None:
        self.names.fail(name.casefold())
        self.addresses.fail(address)

    def succeed(self, name: str) -> None:
        self.names.clear(name.casefold())
