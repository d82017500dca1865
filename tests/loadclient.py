"""A lean HTTP/1.1 load client for the collection server, shared by the load
tests (tests/test_fieldwork_load.py) and the benchmark (benchmarks/bench_server.py).

httpx spends about 5 ms of CPU per request, more than the server; on a
two-core machine it starved the server and measured the client. This one
writes pre-serialised requests on plain asyncio streams: ``clients``
keep-alive connections are ``clients`` concurrent clients, each sending its
share of the items one after the other and recording, per request, the status
and the latency (from writing the request to reading the whole answer).

A connection that fails (refused, reset, closed before the answer) is opened
again and the same item sent again, up to ``tries`` times in all: safe,
because the server answers a repeat of a stored submission 200. An item that
got no answer in ``tries`` tries has status 0.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

#: an item: (interview id, request body)
Item = tuple[str, bytes]


@dataclass
class Outcome:
    """What happened to one item."""

    status: int = 0
    #: how many times it was sent (more than 1: a connection failed)
    sends: int = 0
    #: seconds of the request that was answered
    latency: float = 0.0


@dataclass
class Result:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def statuses(self) -> dict[str, int]:
        return {sid: o.status for sid, o in self.outcomes.items()}

    def latencies(self) -> list[float]:
        return sorted(o.latency for o in self.outcomes.values() if o.status)


def request(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, keep = 0, False, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            keep = False
    if not chunked:
        return status, await reader.readexactly(length), keep
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        parts.append(await reader.readexactly(size + 2))
        if size == 0:
            return status, b"".join(p[:-2] for p in parts), keep


async def post_all(port: int, token: str, items: list[Item], *, clients: int = 50, tries: int = 3,
                   host: str = "127.0.0.1", path: str = "/api/interviews", timeout: float = 60.0,
                   retry_pause: float = 0.05) -> Result:
    """Post every item with ``clients`` concurrent connections (item ``i`` by client
    ``i % clients``); see the module's text."""
    result = Result()
    shares = [items[k::clients] for k in range(clients)]
    prepared = [[(sid, request(host, port, path, token, body)) for sid, body in share] for share in shares]

    def error(e: BaseException) -> None:
        key = f"{type(e).__name__}: {str(e)[:80]}"
        result.errors[key] = result.errors.get(key, 0) + 1

    async def client(share: list[tuple[str, bytes]]) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            for sid, data in share:
                out = result.outcomes[sid] = Outcome()
                while out.sends < tries:
                    out.sends += 1
                    try:
                        if writer is None:
                            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                        assert reader is not None
                        started = time.perf_counter()
                        writer.write(data)
                        status, _, keep = await asyncio.wait_for(read_response(reader), timeout)
                        out.status, out.latency = status, time.perf_counter() - started
                        if not keep:
                            writer.close()
                            reader = writer = None
                        break
                    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                            ValueError, IndexError) as e:
                        error(e)
                        if writer is not None:
                            writer.close()
                        reader = writer = None
                        if out.sends < tries:
                            await asyncio.sleep(retry_pause)
        finally:
            if writer is not None:
                writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(share) for share in prepared))
    result.seconds = time.perf_counter() - started
    return result


def run(main: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(main())`` in a thread of its own: the calling thread may have an
    event loop running already (Playwright's sync API keeps one in a test session)."""
    box: dict[str, T] = {}
    failure: list[BaseException] = []

    def target() -> None:
        async def wrapped() -> T:
            return await main()

        try:
            box["value"] = asyncio.run(wrapped())
        except BaseException as e:  # noqa: BLE001 (raised again in the caller)
            failure.append(e)

    thread = threading.Thread(target=target, name="loadclient")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return box["value"]
