"""Time `kvpspec simulate` on the KVP spec: interviews per second, whole process.

Each figure is the median wall time of several whole-process runs (after one
untimed warm-up run) of

    kvpspec simulate specs/kvp2009.survey -n N --seed 0 -o OUT.csv

from process start to exit (start-up, compiling the spec, drawing, writing
the CSV; rows that trip a soft check are redrawn, as by default). Goal: at
least 20,000 interviews per second at N = 100,000. The last two rows time the
same N with ``--sample`` and with ``--allow-warnings`` (independent draws).
The last figure is the peak resident memory (the child's ``ru_maxrss``) of one
run with ``-n 2000000 --sample``: goal at most 500 MB, as simulate writes in
batches (``--memory-n 0`` skips it).

    python benchmarks/bench_simulate.py [--runs 3] [--sizes 1000,10000,100000] [--memory-n 2000000]
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
GOAL_RATE = 20_000
GOAL_N = 100_000
GOAL_PEAK_MB = 500


def command() -> list[str]:
    script = Path(sys.executable).parent / "kvpspec"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kvpspec"]


def measure(cmd: list[str], runs: int) -> float:
    times = []
    for i in range(runs + 1):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_mb(cmd: list[str]) -> float:
    """The peak resident memory of one run of ``cmd`` (a fresh child, so the figure is its own)."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code, *cmd], check=True, cwd=ROOT, capture_output=True, text=True)
    return int(done.stdout) / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--memory-n", type=int, default=2_000_000)
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    spec = ROOT / "specs" / "kvp2009.survey"
    print(f"{'rows':>9} {'median s':>9} {'interviews/s':>13}  goal")
    print("-" * 48)
    with tempfile.TemporaryDirectory(prefix="kvpsim-") as tmp:
        out = Path(tmp) / "data.csv"
        for n in sizes:
            wall = measure(command() + ["simulate", str(spec), "-n", str(n), "--seed", "0", "-o", str(out)], args.runs)
            rate = n / wall
            goal = f">= {GOAL_RATE:,}/s: {'ok' if rate >= GOAL_RATE else 'MISSED'}" if n == GOAL_N else ""
            print(f"{n:>9,} {wall:>9.3f} {rate:>13,.0f}  {goal}")
        sample = Path(tmp) / "sample.csv"
        n = sizes[-1]
        wall = measure(command() + ["simulate", str(spec), "-n", str(n), "-o", str(out), "--sample", str(sample)], args.runs)
        print(f"{n:>9,} {wall:>9.3f} {n / wall:>13,.0f}  (with --sample)")
        wall = measure(command() + ["simulate", str(spec), "-n", str(n), "-o", str(out), "--allow-warnings"], args.runs)
        print(f"{n:>9,} {wall:>9.3f} {n / wall:>13,.0f}  (--allow-warnings: no soft-check redraws)")
        if args.memory_n:
            n = args.memory_n
            t = time.perf_counter()
            mb = peak_mb(command() + ["simulate", str(spec), "-n", str(n), "-o", str(out), "--sample", str(sample)])
            wall = time.perf_counter() - t
            verdict = "ok" if mb <= GOAL_PEAK_MB else "MISSED"
            print(f"{n:>9,} {wall:>9.3f} {n / wall:>13,.0f}  peak {mb:,.0f} MB "
                  f"(--sample; goal <= {GOAL_PEAK_MB} MB: {verdict})")
    print("-" * 48)
    print(f"command: {' '.join(command())} simulate specs/kvp2009.survey -n N -o FILE  ({args.runs} runs, median)")


if __name__ == "__main__":
    main()
