"""Data intake under hostile files: a stray quote, and every row invalid.

Prints (figures, not a timed test):

* the whole-process seconds of ``kvpspec validate`` on N clean KVP rows and on
  the same rows with a stray ``"`` inside an unquoted cell of every 1000th
  row (the issue: quadratic before; the target: within 2x of clean);
* the peak memory of ``kvpspec validate --report`` on N rows that are all
  invalid (two errors each; the target: under 1 GB for 1M rows).

    python benchmarks/bench_intake.py [--rows N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_validate import COLUMNS, make_rows, write_csv
from bench_validate import run_validate as run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clean, stray, invalid = (Path(tmp) / f"{n}.csv" for n in ("clean", "stray", "invalid"))
        report = Path(tmp) / "report.json"
        cols = make_rows(args.rows)
        write_csv(cols, clean)
        q4 = cols["q4_other"].astype(object)
        q4[::1000] = 'he said "hi'  # a stray quote in an unquoted text cell
        cols["q4_other"] = q4
        write_csv(cols, stray)
        cols = make_rows(args.rows)
        cols["q1"][:] = "8"  # not a code
        cols["q2"][:] = "x"  # not a number
        write_csv(cols, invalid)
        del cols
        t_clean, _, code_clean = run(clean, report)
        t_stray, _, code_stray = run(stray, report)
        print(f"clean: {t_clean:.2f} s (exit {code_clean}); stray quote every 1000th row: {t_stray:.2f} s "
              f"(exit {code_stray}), {t_stray / t_clean:.2f}x")
        wall, rss, code = run(invalid, report)
        size = report.stat().st_size / 2**20
        print(f"all invalid: {args.rows:,} rows, {wall:.2f} s, peak {rss:.0f} MiB, exit {code}, "
              f"report {size:.0f} MiB")
        assert COLUMNS


if __name__ == "__main__":
    main()
