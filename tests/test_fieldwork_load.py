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
from loadclient import Outcome, Result, post_all, run
from pg import postgres_server, postgres_url  # noqa: F401

from kvpspec import compile_file
from kvpspec.compile import Compiled
from kvpspec.data.reader import cell_value
from kvpspec.fieldwork import db
from kvpspec.synth.simulate import cells, simulate

CLIENTS = 50


@cache
def kvp() -> Compiled:
    return compile_file(KVP)


@cache
def kvp_records(n: int) -> list[dict[str, Any]]:
    """``n`` valid KVP interviews as the form posts them (numbers, lists of codes, texts)."""
    sim = simulate(kvp(), n, seed=13)
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


def submit_all(port: int, token: str, items: list[tuple[str, bytes]], *, clients: int = CLIENTS,
               tries: int = 1) -> Result:
    """Post every item with ``clients`` concurrent connections (tests/loadclient.py)."""
    result = run(lambda: post_all(port, token, items, clients=clients, tries=tries))
    if result.errors:
        print(f"\nclient errors (tries={tries}):", result.errors)
    return result


def stored_by(o: Outcome) -> bool:
    """The server kept the item by this client's sending: 201, or 200 for a send again
    after a connection failed (the first send was stored, its answer lost)."""
    return o.status == 201 or (o.status == 200 and o.sends > 1)


def count(eng: sa.Engine) -> int:
    with db.reading(eng) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.interviews)).scalar_one())


def stored(url: str) -> list[tuple[str, str]]:
    eng = db.engine(url)
    try:
        with db.reading(eng) as conn:
            return [(r.id, r.digest) for r in conn.execute(sa.select(db.interviews.c.id, db.interviews.c.digest))]
    finally:
        eng.dispose()


def make_token(url: str) -> str:
    """An interviewer's API token, made in this process (``fieldwork token`` does the same;
    its CLI is tested elsewhere, and a second interpreter's start costs seconds here)."""
    from kvpspec.fieldwork import auth
    from kvpspec.fieldwork.store import open_database

    eng, _ = open_database(url, kvp())
    try:
        with eng.begin() as conn:
            return auth.create_token(conn, "load", "interviewer")
    finally:
        eng.dispose()


def load_10000(url: str, tmp_path: Path) -> None:
    token = make_token(url)
    server = ServerProcess(url, free_port(), tmp_path / "server.log")
    items = bodies(10_000)
    server.start()
    try:
        result = submit_all(server.port, token, items, tries=3)
    finally:
        server.stop()
    outcomes = result.outcomes
    assert len(outcomes) == 10_000
    lost = [sid for sid, o in outcomes.items() if not stored_by(o)]
    assert not lost, (Counter(outcomes[sid].status for sid in lost), (tmp_path / "server.log").read_text()[-2000:])
    rows = stored(url)
    assert len(rows) == 10_000
    assert {r[0] for r in rows} == {sid for sid, _ in items}
    lat = result.latencies()
    print(f"\n10,000 interviews by {CLIENTS} clients in {result.seconds:.1f} s ({10_000 / result.seconds:.0f}/s), "
          f"p95 {lat[int(len(lat) * 0.95)] * 1000:.0f} ms")


def test_load_sqlite(tmp_path: Path) -> None:
    load_10000(f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)


def test_load_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    load_10000(postgres_url, tmp_path)


def crash(url: str, tmp_path: Path) -> None:
    """SIGKILL in the middle of the 10,000 interviews' load (once 5,000 are stored),
    restart, and send again what was in flight at the kill (stored or not: its answer was
    lost), a tenth of what was answered 201, and the next 1,000 never sent."""
    token = make_token(url)
    server = ServerProcess(url, free_port(), tmp_path / "server.log")
    items = bodies(10_000)
    server.start()

    async def load_and_kill() -> Result:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(post_all(server.port, token, items, clients=CLIENTS, tries=1))
        eng = db.engine(url, poolclass=sa.pool.NullPool) if url.startswith("sqlite") else db.engine(url, pool_size=1)
        try:
            while not task.done() and await loop.run_in_executor(None, count, eng) < 5_000:
                await asyncio.sleep(0.05)
        finally:
            eng.dispose()
        server.kill()
        return await task

    try:
        first = run(load_and_kill).outcomes
        counts = Counter(o.status for o in first.values())
        assert counts[201] >= 4_000 and counts[0] > 0, counts  # killed in the middle (some answers not yet sent)
        assert set(counts) <= {0, 201}, counts
        ids = [r[0] for r in stored(url)]
        assert len(ids) == len(set(ids)), "an interview is stored twice"
        kept = set(ids)
        committed = {sid for sid, o in first.items() if o.status == 201}
        assert committed <= kept, f"{len(committed - kept)} interviews answered 201 are lost"
        # each client sends its share in order (item i by client i % CLIENTS): its first item
        # without a 201 was in flight at the kill, the ones after it were never sent
        again_items: list[tuple[str, bytes]] = []
        for k in range(CLIENTS):
            share = items[k::CLIENTS]
            cut = next((j for j, (sid, _) in enumerate(share) if sid not in committed), len(share))
            again_items += share[:cut:10] + share[cut:cut + 1_000 // CLIENTS + 1]
        in_flight_kept = len(kept - committed)
        server.start()
        again = submit_all(server.port, token, again_items, tries=3).outcomes
        wrong = {sid: o.status for sid, o in again.items()
                 if o.status != (200 if sid in kept else 201) and not (o.status == 200 and o.sends > 1)}
        assert not wrong, Counter(wrong.values())
    finally:
        server.stop()
    rows = stored(url)
    assert len(rows) == len({r[0] for r in rows}), "an interview is stored twice"
    assert {r[0] for r in rows} == kept | {sid for sid, _ in again_items}
    print(f"\nkilled with {len(committed)} answered 201 and {len(kept)} stored ({in_flight_kept} without "
          f"their answer); after the restart {len(again_items)} sent again: 200 for the kept, 201 for the rest")


def test_crash_sqlite(tmp_path: Path) -> None:
    crash(f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)


def test_crash_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    crash(postgres_url, tmp_path)


def test_kvp_records_are_valid() -> None:
    """The load's records are what the form posts, and valid: the validator's own check."""
    from kvpspec.fieldwork.store import RecordChecker

    reports = RecordChecker(kvp()).check(kvp_records(300)[:300], [str(i) for i in range(300)])
    assert all(not r["errors"] for r in reports), [r for r in reports if r["errors"]][:1]


def test_loadclient_sends_again_after_a_lost_answer() -> None:
    """The load client: a connection dropped after the server kept the interview (its answer
    lost) is opened again and the interview sent again: 200, counted as stored; each other
    item is answered 201 on its client's keep-alive connection; every latency is taken."""
    kept: set[str] = set()
    connections = 0

    async def main() -> Result:
        nonlocal connections

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length")))
                    sid = json.loads(await reader.readexactly(length))["id"]
                    fresh = sid not in kept
                    kept.add(sid)
                    if sid.endswith("7") and fresh:
                        writer.close()  # kept, then the answer is lost
                        return
                    body = b"{}"
                    writer.write(b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n\r\n%s" % (201 if fresh else 200,
                                                                                    len(body), body))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await post_all(port, "t", bodies(40), clients=4, tries=2, retry_pause=0)

    result = run(main)
    outcomes = result.outcomes
    dropped = {sid for sid in outcomes if sid.endswith("7")}
    assert len(dropped) == 3 and len(outcomes) == 40  # ids 7, 0x17 and 0x27
    assert all(outcomes[sid].status == 200 and outcomes[sid].sends == 2 for sid in dropped)
    assert all(o.status == 201 and o.sends == 1 for sid, o in outcomes.items() if sid not in dropped)
    assert all(stored_by(o) and o.latency > 0 for o in outcomes.values())
    assert connections == 4 + 3  # one per client, and one more after each drop
    assert kept == set(outcomes)
