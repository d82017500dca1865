"""How fast ``kvpspec lsp`` answers after an edit of the KVP spec (goal: under 100 ms).

Starts the server over stdio, opens the KVP spec, then edits a question's text
again and again. Each round measures, from sending ``didChange``, the time
until the new diagnostics arrive and until a hover on the edited question is
answered (the hover needs the recompiled spec). Prints the median and the
95th percentile::

    python benchmarks/bench_lsp.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from kvpspec.authoring.client import LspClient

KVP = Path(__file__).resolve().parent.parent / "specs" / "kvp2009.survey"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    text = KVP.read_text(encoding="utf-8")
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines) if s.lstrip().startswith("question q7 "))
    col = lines[line].index('"') + 1
    client = LspClient()
    try:
        client.initialize(KVP.parent)
        uri = client.open(KVP, text)
        client.wait_for("textDocument/publishDiagnostics", lambda p: p.get("version") == 1)
        diagnostics, hovers = [], []
        for round_ in range(args.rounds):
            version = round_ + 2
            start = time.perf_counter()
            client.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{
                    "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}},
                    "text": "x",
                }],
            })
            client.wait_for("textDocument/publishDiagnostics", lambda p, v=version: p.get("version") == v)
            diagnostics.append(time.perf_counter() - start)
            hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                          "position": {"line": line, "character": lines[line].index("q7")}})
            hovers.append(time.perf_counter() - start)
            assert hover is not None and "x" * (round_ + 1) + "Hvor" in hover["contents"]["value"]
    finally:
        client.close()

    def show(name: str, xs: list[float]) -> None:
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
        print(f"{name:<32} median {statistics.median(xs) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms")

    print(f"kvpspec lsp on {KVP.name}, {args.rounds} edits")
    show("edit -> diagnostics", diagnostics)
    show("edit -> hover answered", hovers)


if __name__ == "__main__":
    main()
