"""Time the interviewing form in headless Chromium (issue 12's speed goals).

    python benchmarks/bench_form.py [--runs 10] [--questions 2000]

Prints, for the KVP form (``specs/kvp2009.survey``):

- the page size in bytes (and gzipped), goal under 200 kB;
- over ``--runs`` navigations, each in a fresh browser context, the median and
  largest time from navigation start to: DOMContentLoaded, the first paint, the
  driving API's arrival (``window.kvpspec`` set) and the first question
  interactive (the later of the API and a paint with the question on screen),
  goal under 300 ms;

and for a generated spec of ``--questions`` questions (``make_spec.py``), one
interview through ``window.kvpspec`` with a valid answer on every question:
the time of each ``next()`` call (median, 95th percentile, largest, how many
over 5 ms), goal under 5 ms; then the same interview again with the new
screen laid out at once after each ``next()`` (the form focuses the answer in
the next animation frame, where the browser lays the screen out anyway: this
line is the move's whole work), and once more with the form hidden
(``display: none``: the page renders each screen but the browser does not lay
it out), which tells the form's logic from the browser's layout. Times are ``performance.now()`` in the page (Chromium rounds them to
0.1 ms); the page is the one ``kvpspec build SPEC --only form`` writes,
opened from ``file://``. Needs Playwright and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
import make_spec  # noqa: E402
from browser import answer_domains, build_form, form_url, launch, open_form  # noqa: E402

from kvpspec import compile_file  # noqa: E402

#: Installed before the page's own scripts: notes when ``window.kvpspec`` is set.
#: The property stays configurable and writable in effect, so the page sees no difference.
READY_PROBE = """
(() => {
  let api;
  Object.defineProperty(window, "kvpspec", {
    configurable: true,
    enumerable: true,
    get() { return api; },
    set(v) { api = v; if (window.__kvpspecReady === undefined) window.__kvpspecReady = performance.now(); },
  });
})();
"""

TIMINGS = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paints = {};
  for (const p of performance.getEntriesByType("paint")) paints[p.name] = p.startTime;
  return {
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    fp: paints["first-paint"] ?? null,
    fcp: paints["first-contentful-paint"] ?? null,
    ready: window.__kvpspecReady ?? null,
    question: document.querySelector("#question[data-name]") ? document.querySelector("#question").dataset.name : null,
  };
}
"""

NEXT_TIMES = """
([domains, layout]) => {
  const K = window.kvpspec;
  const times = [];
  let n = 0;
  for (;;) {
    const name = K.current();
    if (name === null) break;
    const d = domains[name];
    let v;
    if (d.type === "single") v = d.codes[n % d.codes.length];
    else if (d.type === "multiple") v = [d.codes[n % d.codes.length]];
    else if (d.type === "integer" || d.type === "decimal") v = (d.min ?? 0) + (n % 40);
    else v = "svar " + n;
    const a = K.answer(name, v);
    if (!a.ok) throw new Error("answer refused at " + name + ": " + JSON.stringify(a));
    for (const sp of d.specify) {
      if (Array.isArray(v) ? v.indexOf(sp.code) >= 0 : v === sp.code) K.answer(sp.name, "annet");
    }
    const t0 = performance.now();
    const r = K.next();
    if (layout) void document.getElementById("question").getBoundingClientRect();  // lay the new screen out now
    times.push(performance.now() - t0);
    if (!r.ok) throw new Error("next() refused at " + name + ": " + JSON.stringify(r));
    n++;
  }
  return times;
}
"""


def spec_with_questions(n: int) -> str:
    """The generated spec with at least ``n`` questions (make_spec counts notes as items)."""
    items = n
    while sum(1 for it in make_spec.items(items) if it.kind != "note") < n:
        items += 1
    return make_spec.render(items)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="navigations of the KVP form")
    parser.add_argument("--questions", type=int, default=2000, help="questions of the generated spec")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        kvp = build_form(ROOT / "specs" / "kvp2009.survey", folder / "kvp")
        data = kvp.read_bytes()
        print("KVP form (specs/kvp2009.survey)")
        print(f"  page size             {len(data):>9,} bytes   gzipped {len(gzip.compress(data, 9)):,} bytes   (goal < 200,000)")

        chromium = launch(pw)
        rows: dict[str, list[float]] = {"DOMContentLoaded": [], "first paint": [], "first contentful paint": [],
                                        "window.kvpspec set": [], "first question interactive": []}
        url = form_url(kvp, mode="cati")
        for i in range(args.runs + 1):  # the first navigation warms the browser's caches and is not counted
            context = chromium.new_context()
            page = context.new_page()
            page.add_init_script(READY_PROBE)
            open_form(page, url)
            page.wait_for_function("() => performance.getEntriesByType('paint').length > 0")
            t = page.evaluate(TIMINGS)
            context.close()
            if i == 0:
                continue
            assert t["question"], "no question on screen after load"
            ready = t["ready"] if t["ready"] is not None else t["dcl"]
            rows["DOMContentLoaded"].append(t["dcl"])
            rows["first paint"].append(t["fp"] or float("nan"))
            rows["first contentful paint"].append(t["fcp"] or float("nan"))
            rows["window.kvpspec set"].append(ready)
            rows["first question interactive"].append(max(ready, t["fcp"] or t["fp"] or 0.0))
        print(f"  {'from navigation start, ms':<28} {'median':>8} {'max':>8}   ({args.runs} navigations, fresh context each)")
        for label, values in rows.items():
            goal = "   (goal < 300)" if label == "first question interactive" else ""
            print(f"  {label:<28} {statistics.median(values):>8.1f} {max(values):>8.1f}{goal}")

        text = spec_with_questions(args.questions)
        spec = folder / "synth.survey"
        spec.write_text(text, encoding="utf-8")
        compiled = compile_file(spec)
        big = build_form(spec, folder / "synth")
        page = chromium.new_page()
        open_form(page, form_url(big))
        domains = answer_domains(compiled)
        times = page.evaluate(NEXT_TIMES, [domains, False])
        page.close()
        page = chromium.new_page()
        open_form(page, form_url(big))
        laid_out = page.evaluate(NEXT_TIMES, [domains, True])
        page.close()
        page = chromium.new_page()
        open_form(page, form_url(big))
        page.evaluate("() => { document.getElementById('kvpspec-form').style.display = 'none'; }")
        hidden = page.evaluate(NEXT_TIMES, [domains, False])
        size = big.stat().st_size
        print(f"\nGenerated spec: {args.questions:,} questions (make_spec.py), form {size:,} bytes")
        print(f"  next() calls          {len(times):>9,}")
        notes = {
            "next() ms": "   (goal < 5)",
            "  + its layout": "   (next() then the new screen laid out at once)",
            "  form hidden": "   (no layout: the logic and DOM building)",
        }
        for label, values in (("next() ms", times), ("  + its layout", laid_out), ("  form hidden", hidden)):
            print(f"  {label:<21} median {statistics.median(values):.3f}   p95 {pct(values, 0.95):.3f}   "
                  f"max {max(values):.3f}   >5 ms {sum(v > 5 for v in values)}" + notes[label])
        chromium.close()


if __name__ == "__main__":
    main()
