"""Time `kvpspec test` on the KVP spec with its default settings, whole process.

    python benchmarks/bench_test.py [--runs 3] [--examples 1000,5000]

Goal: under 20 s with the defaults. Also times larger `--examples`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 20.0


def command() -> list[str]:
    script = Path(sys.executable).parent / "kvpspec"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kvpspec"]


def measure(cmd: list[str], runs: int) -> tuple[float, int]:
    times, rc = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        rc = max(rc, subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)
        times.append(time.perf_counter() - t)
    return statistics.median(times), rc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--examples", default="5000", help="extra --examples values to time, comma-separated")
    args = ap.parse_args(argv)
    spec = str(ROOT / "specs" / "kvp2009.survey")
    print(f"{'settings':<22} {'median s':>9}  goal")
    print("-" * 50)
    wall, rc = measure(command() + ["test", spec], args.runs)
    ok = "ok" if wall < GOAL and rc == 0 else "MISSED"
    print(f"{'defaults':<22} {wall:>9.2f}  < {GOAL:.0f} s: {ok}" + (f" (exit {rc})" if rc else ""))
    for n in [int(x) for x in args.examples.split(",") if x]:
        wall, rc = measure(command() + ["test", spec, "--examples", str(n)], args.runs)
        print(f"{'--examples ' + str(n):<22} {wall:>9.2f}" + (f"  (exit {rc})" if rc else ""))
    print("-" * 50)
    print(f"command: {' '.join(command())} test specs/kvp2009.survey  ({args.runs} runs, median wall)")


if __name__ == "__main__":
    main()
