"""The collection server's speed: submissions per second and latency at 50
concurrent clients, on SQLite and PostgreSQL.

    python benchmarks/bench_server.py [-n 5000] [--clients 50] [--postgres] [--db URL ...]

Starts ``kvpspec serve specs/kvp2009.survey`` as its own process on a free
port (a fresh SQLite file; with ``--postgres`` also a temporary PostgreSQL
cluster, started with initdb/pg_ctl as the tests do), makes an API token,
and posts ``n`` valid KVP interviews (simulated, as the form posts them) with
``clients`` concurrent keep-alive connections (tests/loadclient.py). Prints, per database: submissions/s,
p50/p95/p99 latency, and the CPU seconds the server and the client spent per
submission (on a machine with two cores the client's share is not small).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
KVP = ROOT / "specs" / "kvp2009.survey"
sys.path.insert(0, str(ROOT / "tests"))
from loadclient import post_all  # noqa: E402 (the lean client the load tests use)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(n: int) -> list[tuple[str, bytes]]:
    from kvpspec import compile_file
    from kvpspec.data.reader import cell_value
    from kvpspec.synth.simulate import cells, simulate

    compiled = compile_file(KVP)
    sim = simulate(compiled, n, seed=7)
    columns = {v.name: cells(v, sim.data[v.name]) for v in sim.columns}
    kinds = {v.name: v.type for v in sim.columns}
    out = []
    for i in range(n):
        record = {k: cell_value(columns[k][i], kinds[k]) for k in columns}
        sid = str(uuid.uuid4())
        out.append((sid, json.dumps({"id": sid, "record": record, "paradata": {}}).encode()))
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, bodies: list[tuple[str, bytes]], clients: int) -> dict[str, Any]:
    kvpspec = [sys.executable, "-m", "kvpspec"]
    token = subprocess.run([*kvpspec, "fieldwork", "token", "--db", url, "--name", "bench", "--role", "interviewer"],
                           capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([*kvpspec, "serve", str(KVP), "--db", url, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(post_all(port, token, bodies[:200], clients=clients))  # warm up
        server_cpu = cpu_seconds(server.pid)
        client_cpu = time.process_time()
        started = time.perf_counter()
        result = asyncio.run(post_all(port, token, bodies[200:], clients=clients, tries=1))
        seconds = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    latencies = result.latencies()
    statuses: dict[int, int] = {}
    for status in result.statuses().values():
        statuses[status] = statuses.get(status, 0) + 1
    n = len(result.outcomes)
    return {
        "n": n, "statuses": statuses, "per_second": n / seconds,
        "p50_ms": latencies[n // 2] * 1000, "p95_ms": latencies[int(n * 0.95)] * 1000,
        "p99_ms": latencies[int(n * 0.99)] * 1000,
        "server_cpu_ms": server_cpu / n * 1000, "client_cpu_ms": client_cpu / n * 1000,
    }


def start_postgres(root: Path) -> tuple[str, Any]:
    bindir = next((Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)
    if shutil.which("pg_ctl"):
        bindir = Path(shutil.which("pg_ctl") or "").parent
    if bindir is None:
        raise SystemExit("no PostgreSQL (initdb, pg_ctl) found")
    prefix: list[str] = []
    if os.geteuid() == 0:
        os.chmod(root.parent, 0o755)
        shutil.chown(root, user="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "--no-sync", "-E", "UTF8", "--no-locale"], check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c max_connections=200"
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", opts, "-w",
                    "start"], check=True, capture_output=True)
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")

    def stop() -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)

    return f"postgresql://postgres@127.0.0.1:{port}/bench", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="submissions per database (default 5000)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="also on a temporary PostgreSQL")
    parser.add_argument("--db", action="append", default=[], help="another database URL to measure")
    args = parser.parse_args()
    bodies = records(args.n + 200)
    root = Path(tempfile.mkdtemp(prefix="kvpspec-bench-"))
    targets = [("SQLite", f"sqlite:///{root / 'bench.db'}")] + [(u, u) for u in args.db]
    stops = []
    if args.postgres:
        pg_root = root / "pg"
        pg_root.mkdir()
        url, stop = start_postgres(pg_root)
        stops.append(stop)
        targets.append(("PostgreSQL", url))
    try:
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().split()[0]}; {os.cpu_count()} cores; "
                  f"{args.n} submissions, {args.clients} clients")
        print(f"{'database':<12} {'subm/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'server CPU ms':>14} {'client CPU ms':>14}  statuses")
        for name, url in targets:
            r = run(url, bodies, args.clients)
            print(f"{name[:12]:<12} {r['per_second']:>8.0f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['server_cpu_ms']:>14.2f} {r['client_cpu_ms']:>14.2f}  {r['statuses']}")
    finally:
        for stop in stops:
            stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
