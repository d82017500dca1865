"""Time a full `kvpspec build` of the KVP spec (every target, PDFs included).

Prints the median wall time of N whole-process runs (after one untimed
warm-up), each `python -m kvpspec build specs/kvp2009.survey -o TMP`. The goal
is under 3 s.

    python benchmarks/bench_build.py [--runs 5] [--spec specs/kvp2009.survey]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 3.0


def once(spec: str, out: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kvpspec", "build", spec, "-o", out], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"kvpspec build failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spec", default=str(ROOT / "specs" / "kvp2009.survey"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        once(args.spec, f"{tmp}/warm")
        times = [once(args.spec, f"{tmp}/run{i}") for i in range(args.runs)]
    median = statistics.median(times)
    print(f"kvpspec build {Path(args.spec).name}: median {median:.2f} s over {args.runs} runs "
          f"(min {min(times):.2f} s, max {max(times):.2f} s; goal < {GOAL:.0f} s: {'met' if median < GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
