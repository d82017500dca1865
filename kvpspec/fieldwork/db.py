"""The collection server's database: tables (SQLAlchemy Core), the engine for
SQLite (WAL, durable commits) and PostgreSQL (psycopg 3), the Alembic
migrations run from code, and the spec the database was made for.

Times are stored as text, ISO 8601 in UTC with a fixed width
(``2026-11-30T21:00:00.000000Z``, see :func:`now`), so they sort and compare
as strings the same way on both databases. JSON columns hold plain JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kvpspec.diagnostics import InputError

metadata = sa.MetaData()

TIME = sa.String(32)
ROLES = ("interviewer", "supervisor")
CASE_STATUSES = ("open", "held", "done", "final")

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("token_hash", sa.String(128), nullable=True, unique=True),
    sa.Column("created", TIME, nullable=False),
)

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False, server_default="open"),
    sa.Column("holder", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True),
    sa.Column("held_since", TIME, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("appointment", TIME, nullable=True),
    sa.Column("disposition", sa.Integer, nullable=True),
    sa.Column("sample", sa.JSON, nullable=False),       # the NON-personal sample fields
    sa.Column("web_token_hash", sa.String(128), nullable=True, unique=True),
    sa.Column("created", TIME, nullable=False),
    sa.Index("ix_cases_status", "status"),
    sa.Index("ix_cases_holder", "holder"),
)

persons = sa.Table(
    "persons", metadata,
    sa.Column("case_id", sa.String(100), sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),         # the personal sample fields ONLY
)

attempts = sa.Table(
    "attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(100), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True),
    sa.Column("at", TIME, nullable=False),
    sa.Column("outcome", sa.String(40), nullable=False),  # a disposition code ("7") or e.g. "no-answer"
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_attempts_case", "case_id"),
)

interviews = sa.Table(
    "interviews", metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the client's UUID, lower case
    sa.Column("case_id", sa.String(100), nullable=True),
    sa.Column("account_id", sa.Integer, nullable=True),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("paradata", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("received", TIME, nullable=False),
    sa.Index("ix_interviews_case", "case_id"),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.String(100), nullable=True),
    sa.Column("account_id", sa.Integer, nullable=True),
    sa.Column("body", sa.Text, nullable=False),   # raw, at most QUARANTINE_BODY_LIMIT characters
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("received", TIME, nullable=False),
)

partials = sa.Table(
    "partials", metadata,
    sa.Column("case_id", sa.String(100), primary_key=True),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("updated", TIME, nullable=False),
)

TABLES = (meta, accounts, cases, persons, attempts, interviews, quarantine, partials)
DEFAULT_URL = "sqlite:///fieldwork.db"


def now() -> str:
    """The current time as stored: UTC, fixed width, sortable as text."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def normalise_url(url: str) -> str:
    """``postgresql://`` (and ``postgres://``) → psycopg 3; a bare path → a SQLite file."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return "sqlite:///" + url
    return url


def engine(url: str = DEFAULT_URL, **kw: Any) -> Engine:
    """An engine for ``url``. SQLite: WAL journal, ``synchronous=FULL`` (a commit
    is on disk when it returns), a busy timeout, foreign keys on, and ``BEGIN
    IMMEDIATE`` for every transaction so concurrent writers queue instead of
    failing (a connection from :func:`reading` begins deferred). PostgreSQL: psycopg 3 with a connection pool."""
    full = normalise_url(url)
    try:
        parsed = sa.engine.make_url(full)
    except sa.exc.ArgumentError as e:
        raise InputError(f"--db: not a database URL: {url!r} ({e})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or database.startswith("file::memory:") or "mode=memory" in full:
            raise InputError(f"--db {url}: give a database file (sqlite:///FILE); an in-memory database "
                             f"keeps nothing")
        parent = Path(database).parent
        if not parent.is_dir():
            raise InputError(f"--db {url}: the folder {parent} does not exist")
        eng = sa.create_engine(full, connect_args={"timeout": 30, "check_same_thread": False},
                               json_serializer=_dumps, **kw)

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None   # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(eng, "begin")
        def _begin(conn: Any) -> None:
            read = conn.get_execution_options().get("kvpspec_read", False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return eng
    if backend == "postgresql":
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 50)
        kw.setdefault("pool_pre_ping", True)
        return sa.create_engine(full, json_serializer=_dumps, **kw)
    raise InputError(f"--db {url}: only sqlite:///FILE and postgresql:// URLs are supported")


def reading(eng: Engine) -> sa.Connection:
    """A connection for reading only: on SQLite its transactions are deferred
    (``BEGIN``), so they do not queue behind writers (WAL readers never wait)."""
    return eng.connect().execution_options(kvpspec_read=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def alembic_config(conn: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(eng: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic, run from code)."""
    from alembic import command

    with eng.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(eng: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with eng.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def get_meta(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()


def set_meta(conn: sa.Connection, key: str, value: str) -> None:
    if conn.execute(sa.update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(sa.insert(meta).values(key=key, value=value))
