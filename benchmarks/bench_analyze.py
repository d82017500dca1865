"""Run `kvpspec analyze` on 100,000 KVP-shaped interviews and print the time.

    python benchmarks/bench_analyze.py [--rows N]

The data and sample file come from `kvpspec simulate` (routing-consistent,
with missing codes); when it is not available, from `bench_validate.make_rows`.
Prints the whole-process seconds of `kvpspec analyze` (validation included)
and, separately, of the generated analysis.py alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "kvp2009.survey"
KVPSPEC = Path(sys.executable).with_name("kvpspec")


def make_data(folder: Path, rows: int) -> tuple[Path, Path | None]:
    data, sample = folder / "data.csv", folder / "sample.csv"
    done = subprocess.run(
        [str(KVPSPEC), "simulate", str(SPEC), "-n", str(rows), "--seed", "2009", "-o", str(data),
         "--sample", str(sample)],
        capture_output=True, text=True,
    )
    if done.returncode == 0:
        return data, sample
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_validate import make_rows, write_csv

    write_csv(make_rows(rows), data)
    return data, None


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, sample = make_data(folder, args.rows)
        extra = ["--sample", str(sample)] if sample else []
        out = folder / "out"
        total = timed([str(KVPSPEC), "analyze", str(SPEC), str(data), *extra, "-o", str(out)])
        alone = timed([sys.executable, str(out / "analysis.py"), str(data), *extra, "--out", str(folder / "again")])
        figures = len(list((out / "figures").glob("*.svg")))
        print(f"rows: {args.rows:,} (sample file: {'yes' if sample else 'no'})")
        print(f"kvpspec analyze (validate + generate + run): {total:.2f} s")
        print(f"analysis.py alone: {alone:.2f} s ({figures} figures as SVG and PNG)")


if __name__ == "__main__":
    main()
