"""Validate 1,000,000 KVP-shaped rows with 1,000 planted faults.

Prints: whole-process seconds and peak memory of `kvpspec validate`, whether
every planted fault was found and nothing else, and the speed-up over
validating the same rows one record at a time with the exported JSON Schema
(fastjsonschema), measured in the same run.

    python benchmarks/bench_validate.py [--rows N] [--faults K] [--json-rows M]

The per-record baseline is timed on the first M rows (default 100,000) and
scaled to N: the rate is steady, and the whole file would take minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "kvp2009.survey"
SCALES = ["q6a", "q6b", "q7"] + [f"q8{c}" for c in "abcdefghi"] + [f"q10{c}" for c in "abcdef"]
COLUMNS = (
    ["lopenr", "q1", "q2", "q3", "q4", "q4_other", "q5", "q5_other", "q6a", "q6b", "q7"]
    + [f"q8{c}" for c in "abcdefghi"]
    + ["q9", "q9_other"]
    + [f"q10{c}" for c in "abcdef"]
    + ["q11", "q12"]
)


def make_rows(n: int, seed: int = 2009) -> dict[str, np.ndarray]:
    """Valid, routing-consistent KVP rows as columns of strings."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"lopenr": np.arange(1, n + 1).astype(str)}
    cols["q1"] = rng.integers(1, 8, n).astype(str)
    cols["q2"] = rng.integers(1, 13, n).astype(str)
    q3 = rng.integers(0, 35, n)
    q3[rng.random(n) < 0.05] = 99
    cols["q3"] = q3.astype(str)
    for q, k, other, code in (("q4", 3, "q4_other", 2), ("q5", 9, "q5_other", 8), ("q9", 8, "q9_other", 7)):
        values = rng.integers(1, k + 1, n)
        cols[q] = values.astype(str)
        cols[other] = np.where(values == code, "Tekst", "")
    for q in SCALES:
        cols[q] = rng.integers(1, 6, n).astype(str)
    q11 = rng.integers(18, 68, n)
    cols["q11"] = q11.astype(str)
    # keep the soft check quiet: experience below age - 15
    cols["q3"] = np.where((q3 != 99) & (q3 > q11 - 15), np.maximum(q11 - 15, 0), q3).astype(str)
    cols["q12"] = rng.integers(1, 3, n).astype(str)
    return cols


def plant(cols: dict[str, np.ndarray], k: int, seed: int = 7) -> set[tuple[int, str, str]]:
    """One fault in each of k distinct rows; returns the (row, column, rule) expected."""
    rng = np.random.default_rng(seed)
    n = len(cols["lopenr"])
    rows = rng.choice(np.arange(1, n), size=k, replace=False)  # never row 0: duplicate ids point back
    kinds = ["code", "range", "type", "asked-empty", "skipped-answered", "duplicate-id"]
    expected = set()
    for i, r in enumerate(rows.tolist()):
        kind = kinds[i % len(kinds)]
        sheet_row = r + 2
        if kind == "code":
            cols["q1"][r] = "8"
            expected.add((sheet_row, "q1", "code"))
        elif kind == "range":
            cols["q11"][r] = "120"
            cols["q3"][r] = "0"  # no soft-check warning from the odd age
            expected.add((sheet_row, "q11", "range"))
        elif kind == "type":
            cols["q2"][r] = "ti"
            expected.add((sheet_row, "q2", "type"))
        elif kind == "asked-empty":
            cols["q7"][r] = ""
            expected.add((sheet_row, "q7", "asked-empty"))
        elif kind == "skipped-answered":
            cols["q4"][r] = "1"
            cols["q4_other"][r] = "Sverige"
            expected.add((sheet_row, "q4_other", "skipped-answered"))
        else:
            cols["lopenr"][r] = "1"
            expected.add((sheet_row, "lopenr", "duplicate-id"))
    return expected


def write_csv(cols: dict[str, np.ndarray], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        block = 100_000
        n = len(cols["lopenr"])
        for start in range(0, n, block):
            parts = [cols[c][start : start + block] for c in COLUMNS]
            f.write("\n".join(",".join(row) for row in zip(*parts)) + "\n")


def run_validate(data: Path, report: Path) -> tuple[float, float, int]:
    """Whole-process wall seconds, peak RSS in MiB, exit code (in a fresh wrapper)."""
    kvpspec = Path(sys.executable).with_name("kvpspec")
    command = [str(kvpspec), "validate", str(SPEC), str(data), "--report", str(report), "-q"]
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        f"r = subprocess.run({command!r}, stdout=subprocess.DEVNULL)\n"
        "w = time.perf_counter() - t\n"
        "print(json.dumps([w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.returncode]))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    wall, rss, code = json.loads(out.stdout)
    return wall, rss, code


def in_process(data: Path) -> float:
    """Seconds of ``validate()`` itself (reading the file included, start-up not)."""
    from kvpspec.compile import compile_file
    from kvpspec.data.reader import open_data
    from kvpspec.data.validate import validate

    compiled = compile_file(SPEC)
    start = time.perf_counter()
    validate(compiled, open_data(data))
    return time.perf_counter() - start


def per_record_rate(data: Path, rows: int) -> float:
    """Seconds per row to validate records one at a time with the exported JSON Schema."""
    import fastjsonschema

    from kvpspec.compile import compile_file
    from kvpspec.data.schemas import data_variables, json_schema

    compiled = compile_file(SPEC)
    check = fastjsonschema.compile(json_schema(compiled).schema)
    kinds = {v.name: v.type for v in data_variables(compiled)}

    def convert(name: str, text: str):
        if text == "":
            return None
        kind = kinds[name]
        if kind == "text":
            return text
        try:
            return int(text) if kind in ("single", "integer") else float(text)
        except ValueError:
            return text

    start = time.perf_counter()
    invalid = 0
    with data.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        for i, row in enumerate(reader):
            if i >= rows:
                break
            record = {name: convert(name, cell) for name, cell in zip(header, row)}
            record = {k: v for k, v in record.items() if v is not None}
            try:
                check(record)
            except fastjsonschema.JsonSchemaException:
                invalid += 1
    return (time.perf_counter() - start) / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--faults", type=int, default=1_000)
    parser.add_argument("--json-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "kvp.csv"
        report = Path(tmp) / "report.json"
        t = time.perf_counter()
        cols = make_rows(args.rows)
        expected = plant(cols, args.faults)
        write_csv(cols, data)
        del cols
        size = data.stat().st_size / 2**20
        print(f"data: {args.rows:,} rows, {args.faults:,} planted faults, {size:.1f} MiB "
              f"(made in {time.perf_counter() - t:.1f} s)")
        wall, rss, code = run_validate(data, report)
        found = json.loads(report.read_text(encoding="utf-8"))
        got = {(e["row"], e["column"], e["rule"]) for e in found["errors"]}
        missed = expected - got
        false = got - expected
        print(f"kvpspec validate: {wall:.2f} s whole process, peak {rss:.0f} MiB "
              f"({rss / size:.1f}x the file), exit {code}")
        print(f"faults found: {len(expected & got)}/{len(expected)}, missed {len(missed)}, "
              f"false positives {len(false)}, warnings {found['summary']['warnings']}")
        inside = in_process(data)
        rate = per_record_rate(data, min(args.json_rows, args.rows))
        baseline = rate * args.rows
        print(f"validate() in process: {inside:.2f} s (reading included, interpreter start not)")
        print(f"one record at a time (fastjsonschema, reading and converting included): "
              f"{rate * 1e6:.1f} us/row, {baseline:.1f} s for {args.rows:,} rows "
              f"(timed on {min(args.json_rows, args.rows):,})")
        print(f"speed-up: {baseline / inside:.1f}x in process, {baseline / wall:.1f}x against the whole "
              f"kvpspec process   goals: <= 10 s, >= 20x, memory < 4x file")
        if missed or false:
            for item in sorted(missed)[:5]:
                print("  missed", item)
            for item in sorted(false)[:5]:
                print("  false positive", item)
            sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
