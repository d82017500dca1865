"""A real PostgreSQL for the tests: ``initdb`` into a temporary folder and
``pg_ctl start`` on a free port (and a unix socket in that folder), once per
test session (per xdist worker), stopped at the end.

The binaries come from PATH or /usr/lib/postgresql/*/bin. ``initdb`` refuses
to run as root: as root the server runs as the ``postgres`` system user
(``runuser``), in a folder it owns. Without PostgreSQL a test that needs it
fails in CI (``CI=true``) and is skipped for a developer.

Use: ``from pg import postgres_url  # noqa: F401`` in a test module, then a
test (or fixture) that takes ``postgres_url`` gets a fresh database's URL
(``postgresql://...``) each time it asks (``new_database``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import in_ci


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(message: str) -> None:
    if in_ci():
        pytest.fail(f"{message}; CI needs a PostgreSQL server (.ci/run installs it)", pytrace=False)
    pytest.skip(message)


class Postgres:
    def __init__(self, bindir: Path, root: Path, user: str | None):
        self.bindir, self.root, self.user = bindir, root, user
        self.data = root / "data"
        self.port = _free_port()
        self.url_base = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                f"-c fsync=on -c max_connections=200 -c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", opts, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url_base + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url_base}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    bindir = _bindir()
    if bindir is None:
        _missing("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin)")
    assert bindir is not None
    user = None
    root = Path(tempfile.mkdtemp(prefix="kvpspec-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            shutil.chown(root, user=user)
        except (LookupError, PermissionError):
            shutil.rmtree(root, ignore_errors=True)
            _missing("running as root, and there is no `postgres` user to run PostgreSQL as")
    server = Postgres(bindir, root, user)
    try:
        server.start()
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        _missing(f"PostgreSQL did not start: {(e.stderr or e.stdout or '').strip()[:500]}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """The URL of a new, empty database on the session's PostgreSQL."""
    return postgres_server.new_database()


NewDatabase = Callable[[], str]
