"""Time `kvpspec check` on synthetic specs of 200, 2,000 and 20,000 questions.

Each figure is the median wall time of 5 whole-process runs (after one
untimed warm-up run) and the peak memory (max RSS) of the child, measured by a
fresh wrapper process per run with ``resource.getrusage(RUSAGE_CHILDREN)``.
Also times ``xls2xform --skip_validate`` on an XLSForm of the same shape at
2,000 questions, and `kvpspec check specs/kvp2009.survey`.

    python benchmarks/bench_check.py [--runs 5] [--parse-only]

``--parse-only`` (or a missing CLI) times ``parse_file`` in a fresh process
instead of ``kvpspec check``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import make_spec  # noqa: E402

SIZES = [200, 2_000, 20_000]
STARTUP_N = 10  # a tiny spec: its time is the fixed start-up cost
PYXFORM_N = 2_000
GOAL_KVP2009 = 0.3
GOAL_RATIO = 0.5

# Runs one command and reports its wall time and the child's max RSS (KiB).
WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rss": rss, "rc": p.returncode,
                  "err": p.stderr.decode(errors="replace")[-400:]}))
"""

PARSE_ONLY = (
    "import sys; from kvpspec.syntax.parser import parse_file; "
    "r = parse_file(sys.argv[1]); sys.exit(1 if r.diagnostics else 0)"
)

# pyxform builds a lark lexer at import; when interegular is installed (kvpspec
# needs it for lark's strict mode) lark checks that lexer's large Unicode
# regexes for collisions, which takes minutes and gigabytes. pyxform itself
# does not depend on interegular, so hide it to time pyxform as users run it.
PYXFORM = (
    "import sys; sys.modules['interegular'] = None; "
    "from pyxform.xls2xform import main_cli; sys.exit(main_cli())"
)


def child_env() -> dict[str, str]:
    """The environment for children: the repo importable even if not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def works(cmd: list[str]) -> bool:
    r = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=child_env())
    return r.returncode == 0


def check_command(parse_only: bool) -> tuple[list[str], str]:
    """The command prefix that checks one spec, and how to describe it."""
    if not parse_only:
        script = Path(sys.executable).parent / "kvpspec"
        candidates = [([str(script)], "kvpspec")] if script.exists() else []
        candidates.append(([sys.executable, "-m", "kvpspec"], "python -m kvpspec"))
        for cmd, name in candidates:
            if works(cmd + ["check", "--help"]):
                return cmd + ["check"], f"{name} check"
        print("note: `kvpspec check` is not available; timing parse_file only\n")
    return [sys.executable, "-c", PARSE_ONLY], "parse_file (parse only)"


def measure(cmd: list[str], runs: int) -> dict:
    """Median wall time and max peak RSS over `runs` runs, after a warm-up run."""
    results = []
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", WRAPPER, *cmd],
            capture_output=True, text=True, cwd=ROOT, env=child_env(), check=True,
        )
        results.append(json.loads(out.stdout))
    timed = results[1:]
    bad = [r for r in timed if r["rc"] != 0]
    if bad:
        print(f"warning: exit {bad[0]['rc']} from {' '.join(cmd[-3:])}\n{bad[0]['err']}")
    return {
        "wall": statistics.median(r["wall"] for r in timed),
        "rss_mib": max(r["rss"] for r in timed) / 1024,
        "rc": max(r["rc"] for r in timed),
    }


def row(label: str, res: dict, n: int | None = None, goal: str = "") -> str:
    per_q = f"{res['wall'] / n * 1e3:8.3f}" if n else f"{'':>8}"
    flag = "" if res["rc"] == 0 else f" (exit {res['rc']})"
    return f"{label:<34} {res['wall']:9.3f} {per_q} {res['rss_mib']:9.1f}  {goal}{flag}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per input (default 5)")
    ap.add_argument("--parse-only", action="store_true", help="time parse_file, not the CLI")
    args = ap.parse_args(argv)

    check, what = check_command(args.parse_only)
    has_pyxform = all(importlib.util.find_spec(m) for m in ("pyxform", "openpyxl"))
    if has_pyxform:
        import make_xlsform

    lines = [
        f"{'input':<34} {'median s':>9} {'ms/q':>8} {'peak MiB':>9}  goal",
        "-" * 72,
    ]
    with tempfile.TemporaryDirectory(prefix="kvpbench-") as tmp:
        tmpdir = Path(tmp)
        times: dict[int, float] = {}
        for n in [STARTUP_N, *SIZES]:
            spec = tmpdir / f"synth{n}.survey"
            spec.write_text(make_spec.render(n), encoding="utf-8")
            res = measure(check + [str(spec)], args.runs)
            times[n] = res["wall"]
            label = f"synthetic N={n:,}" + (" (start-up)" if n == STARTUP_N else "")
            lines.append(row(label, res, None if n == STARTUP_N else n))

        kvp = measure(check + [str(ROOT / "specs" / "kvp2009.survey")], args.runs)
        ok = "ok" if kvp["wall"] < GOAL_KVP2009 else "MISSED"
        lines.append(row("specs/kvp2009.survey", kvp, goal=f"< {GOAL_KVP2009} s: {ok}"))

        ratio = None
        if has_pyxform:
            xlsx = tmpdir / f"synth{PYXFORM_N}.xlsx"
            make_xlsform.build(PYXFORM_N).save(xlsx)
            out = tmpdir / "out.xml"
            cmd = [sys.executable, "-c", PYXFORM, "--skip_validate", str(xlsx), str(out)]
            pyx = measure(cmd, args.runs)
            lines.append(row(f"xls2xform N={PYXFORM_N:,}", pyx, PYXFORM_N))
            ratio = times[PYXFORM_N] / pyx["wall"]

    t0 = times[STARTUP_N]
    lin = times[20_000] / times[2_000]
    net = (times[20_000] - t0) / max(times[2_000] - t0, 1e-9)
    lines += [
        "-" * 72,
        f"command: {what} FILE   ({args.runs} runs each, median wall, max RSS)",
        f"linearity t(20,000)/t(2,000): {lin:.2f} raw, {net:.2f} net of start-up (ideal 10)",
    ]
    if ratio is not None:
        ok = "ok" if ratio <= GOAL_RATIO else "MISSED"
        goal = f"goal <= {GOAL_RATIO}: {ok}"
        lines.append(f"kvpspec/pyxform at N={PYXFORM_N:,}: {ratio:.2f} ({goal})")
    else:
        lines.append("pyxform/openpyxl not installed: pip install -e '.[bench]'")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
