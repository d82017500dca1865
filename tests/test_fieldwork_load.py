"""The collection server under load, as a real process: 50 concurrent clients
submit 10,000 KVP interviews over HTTP to ``kvpspec serve`` (uvicorn) on
SQLite and on a real PostgreSQL; every one is stored exactly once. And the
crash: the server is killed with SIGKILL in the middle of a load and
restarted; every submission that was answered 201 is there, none twice, and
sending everything again completes the set with 200s for those already kept.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from conftest import KVP
from pg import postgres_server, postgres_url  # noqa: F401

from kvpspec import compile_file
from kvpspec.data.reader import cell_value
from kvpspec.fieldwork import db
from kvpspec.synth.simulate import cells, simulate

CLIENTS = 50


@cache
def kvp_records(n: int) -> list[dict[str, Any]]:
    """``n`` valid KVP interviews as the form posts them (numbers, lists of codes, texts)."""
    compiled = compile_file(KVP)
    sim = simulate(compiled, n, seed=13)
    columns = {v.name: cells(v, sim.data[v.name]) for v in sim.columns}
    kinds = {v.name: v.type for v in sim.columns}
    return [{k: cell_value(columns[k][i], kinds[k]) for k in columns} for i in range(n)]


def bodies(n: int) -> list[tuple[str, bytes]]:
    out = []
    for i, record in enumerate(kvp_records(n)):
        sid = str(uuid.UUID(int=i + 1))
        out.append((sid, json.dumps({"id": sid, "record": record, "paradata": {"n": i}}).encode()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kvpspec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kvpspec", *args], capture_output=True, text=True, timeout=120)


class ServerProcess:
    def __init__(self, url: str, port: int, log: Path):
        self.url, self.port, self.log = url, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kvpspec", "serve", str(KVP), "--db", self.url, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def submit_all(port: int, token: str, items: list[tuple[str, bytes]], *, clients: int = CLIENTS,
                     tries: int = 1) -> dict[str, int]:
    """Post every item with ``clients`` concurrent connections; the status per id
    (0: no answer, the connection failed). ``tries``: how often a client sends an
    item whose connection failed (safe: a repeat is answered 200), as a real client does."""
    status: dict[str, int] = {}
    errors: Counter[str] = Counter()
    work: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in items:
        work.put_nowait(item)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not work.empty():
                sid, body = work.get_nowait()
                for _ in range(tries):
                    try:
                        r = await client.post("/api/interviews", content=body, headers=headers)
                        status[sid] = r.status_code if status.get(sid) != 201 or r.status_code != 200 else 201
                        break
                    except httpx.HTTPError as e:
                        status.setdefault(sid, 0)
                        errors[type(e).__name__ + ": " + str(e)[:100]] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    if errors:
        print(f"\nclient errors (tries={tries}):", dict(errors))
    return status


def stored(url: str) -> list[tuple[str, str]]:
    eng = db.engine(url)
    try:
        with db.reading(eng) as conn:
            return [(r.id, r.digest) for r in conn.execute(sa.select(db.interviews.c.id, db.interviews.c.digest))]
    finally:
        eng.dispose()


def make_token(url: str) -> str:
    done = kvpspec("fieldwork", "token", "--db", url, "--name", "load", "--role", "interviewer")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def load_10000(url: str, tmp_path: Path) -> None:
    token = make_token(url)
    server = ServerProcess(url, free_port(), tmp_path / "server.log")
    items = bodies(10_000)
    server.start()
    try:
        started = time.perf_counter()
        status = asyncio.run(submit_all(server.port, token, items, tries=3))
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    counts = Counter(status.values())
    assert counts == {201: 10_000}, (counts, (tmp_path / "server.log").read_text()[-2000:])
    rows = stored(url)
    assert len(rows) == 10_000
    assert {r[0] for r in rows} == {sid for sid, _ in items}
    print(f"\n10,000 interviews by {CLIENTS} clients in {seconds:.1f} s ({10_000 / seconds:.0f}/s)")


def test_load_sqlite(tmp_path: Path) -> None:
    load_10000(f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)


def test_load_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    load_10000(postgres_url, tmp_path)


def crash(url: str, tmp_path: Path) -> None:
    token = make_token(url)
    server = ServerProcess(url, free_port(), tmp_path / "server.log")
    items = bodies(1500)
    server.start()

    async def load_and_kill() -> dict[str, int]:
        task = asyncio.ensure_future(submit_all(server.port, token, items))
        while True:  # kill when about a third is stored
            await asyncio.sleep(0.05)
            if len(stored(url)) >= 500 or task.done():
                break
        server.kill()
        return await task

    try:
        status = asyncio.run(load_and_kill())
        counts = Counter(status.values())
        assert counts[201] >= 500 and counts[0] > 0, counts  # killed in the middle
        rows = stored(url)
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids))
        committed = {sid for sid, s in status.items() if s == 201}
        assert committed <= set(ids), f"{len(committed - set(ids))} interviews answered 201 are lost"
        # restart; everything again: the ones kept are answered 200 (identical), the rest 201
        server.start()
        again = asyncio.run(submit_all(server.port, token, items, tries=3))
        assert set(again.values()) <= {200, 201}, Counter(again.values())
        assert all(again[sid] == 200 for sid in committed)
        assert Counter(again.values())[200] >= len(ids)
    finally:
        server.stop()
    rows = stored(url)
    assert sorted(r[0] for r in rows) == sorted(sid for sid, _ in items)


def test_crash_sqlite(tmp_path: Path) -> None:
    crash(f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)


def test_crash_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    crash(postgres_url, tmp_path)


def test_kvp_records_are_valid() -> None:
    """The load's records are what the form posts, and valid: the validator's own check."""
    from kvpspec.fieldwork.store import RecordChecker

    reports = RecordChecker(compile_file(KVP)).check(kvp_records(300)[:300], [str(i) for i in range(300)])
    assert all(not r["errors"] for r in reports), [r for r in reports if r["errors"]][:1]
