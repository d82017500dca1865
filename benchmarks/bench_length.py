"""Time the interview-length estimate (``kvpspec.semantics.length``), which ``check`` runs.

    python benchmarks/bench_length.py [--runs 10]

Prints the median time of one estimate for the KVP spec, the household spec
(rosters, nested) and a 2,000-question synthetic spec that promises 10 minutes,
with the estimate itself (shortest, typical, longest minutes, exact or not).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import make_spec  # noqa: E402

from kvpspec import compile_file, compile_text  # noqa: E402
from kvpspec.semantics.length import BUDGET, MAX_STATES, _estimate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    big = make_spec.render(2_000).replace("\nstudy {", "\nstudy {\n  minutes 10", 1)
    specs = {
        "kvp2009": compile_file(ROOT / "specs" / "kvp2009.survey"),
        "household": compile_file(ROOT / "specs" / "household.survey"),
        "2,000 questions": compile_text(big),
    }
    print(f"{'spec':<16} {'median ms':>10}  estimate (minutes)")
    for name, compiled in specs.items():
        low = compiled.lowered
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            length = _estimate(low, MAX_STATES, BUDGET)  # uncached, as the first check does
            times.append(time.perf_counter() - start)
        bound = "" if length.exact else "at least "
        print(
            f"{name:<16} {statistics.median(times) * 1000:>10.1f}  "
            f"{length.shortest / 60:.1f} / {length.typical / 60:.1f} / {bound}{length.longest / 60:.1f}"
        )


if __name__ == "__main__":
    main()
