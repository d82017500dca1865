"""Real Chromium for the interviewing form's tests, benchmarks and screenshots.

Debian's ``chromium`` is driven through Playwright's sync API (Playwright's
own browser downloads are not used). In CI (``CI=true``) a missing Chromium or
Playwright fails the test; a developer without them gets a skip with the reason.

- ``build_form(spec, folder)``: the form as ``kvpspec build SPEC --only form``
  writes it (``folder/form/index.html``); ``form_url`` its ``file://`` URL
  with query parameters (``mode``, ``lang``);
- ``launch(playwright)``: Chromium with the project's flags;
- fixtures ``browser`` (one per session, so one per xdist worker), ``forms``
  (each spec built once per session) and ``page`` (a fresh browser context,
  so fresh local storage, per test);
- ``open_form(page, url)``: navigate and wait for ``window.kvpspec``;
- ``answer_domains(compiled)`` and ``RANDOM_INTERVIEWS_JS``: seeded random
  interviews through the driving API, run inside the page (the 1,000-interview
  test and the benchmarks share them).

Imported by ``tests/test_form_browser.py`` and by ``benchmarks/bench_form.py``
and ``benchmarks/form_screenshots.py``, which put ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from kvpspec.compile import Compiled, compile_file
from kvpspec.semantics.expr import Evaluator
from kvpspec.semantics.routing import Walk, steps

#: Chromium's flags: headless, no sandbox (containers), nothing that reaches the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_executable() -> str | None:
    """Debian's chromium: on PATH, else /usr/bin/chromium, else None."""
    path = shutil.which("chromium")
    if path:
        return path
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return None


def missing(reason: str) -> None:
    """A component the browser tests need is missing: fail in CI, else skip."""
    if _in_ci():
        pytest.fail(f"{reason}; CI needs it (.ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def launch(playwright: Any) -> Any:
    """Chromium through Playwright, with the project's flags."""
    exe = chromium_executable()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)


def build_form(spec: Path | str, folder: Path) -> Path:
    """Build the ``form`` target of ``spec`` into ``folder`` as ``kvpspec build
    SPEC -o folder --only form`` does; return the path of ``form/index.html``."""
    from kvpspec.build import run_targets

    compiled = compile_file(spec)
    assert compiled.ok, [str(d) for d in compiled.errors]
    built = run_targets(compiled, ("form",))
    for name, data in built.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    index = folder / "form" / "index.html"
    assert index.is_file(), f"the form target wrote no form/index.html (files: {sorted(built.files)})"
    return index


def form_url(index: Path, **query: str) -> str:
    """The ``file://`` URL of a built form with query parameters (``mode="web"``, ``lang="en"``)."""
    url = index.resolve().as_uri()
    return url + ("?" + urlencode(query) if query else "")


def open_form(page: Any, url: str, timeout: float = 10_000) -> Any:
    """Navigate to the form and wait until its driving API is there."""
    page.goto(url)
    page.wait_for_function("() => window.kvpspec && typeof window.kvpspec.current === 'function'", timeout=timeout)
    return page


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium per session (per xdist worker)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install -e '.[test]')")
    if chromium_executable() is None:
        missing("Debian's chromium is not installed")
    with sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


class Forms:
    """Each spec's form built once per session, in a session temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, Path] = {}

    def index(self, spec: Path | str) -> Path:
        key = str(Path(spec).resolve())
        if key not in self.built:
            out = self.folder / f"f{len(self.built)}"
            self.built[key] = build_form(spec, out)
        return self.built[key]

    def url(self, spec: Path | str, **query: str) -> str:
        return form_url(self.index(spec), **query)


@pytest.fixture(scope="session")
def forms(tmp_path_factory: pytest.TempPathFactory) -> Forms:
    return Forms(tmp_path_factory.mktemp("forms"))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (its own local storage), closed after the test.
    Errors thrown in the page are collected in ``page.errors``."""
    context = browser.new_context()
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()


# ---------------------------------------------------------------- random interviews


def answer_domains(compiled: Compiled) -> dict[str, dict[str, Any]]:
    """What each asked variable may hold, for the random interviews in the page:
    type, substantive codes, missing codes, exclusive codes and range. Screener
    questions (the intro) are included; derived variables and recodes are not."""
    out: dict[str, dict[str, Any]] = {}
    for v in compiled.lowered.variables.values():
        if v.role not in ("question", "item", "specify", "screener"):
            continue
        missing_codes = sorted(v.missing_codes)
        out[v.name] = {
            "type": v.type,
            "codes": [c for c in v.codes if c not in v.missing_codes],
            "missing": missing_codes,
            "exclusive": sorted(v.exclusive),
            "min": v.min,
            "max": v.max,
            "specify": [],
        }
    for v in compiled.lowered.variables.values():  # specify texts are answered on their question's screen
        if v.parent is not None and v.parent in out:
            out[v.parent]["specify"].append({"name": v.name, "code": v.parent_code})
    return out


#: Runs ``args.n`` interviews through ``window.kvpspec`` with answers drawn from
#: ``args.domains`` by a seeded generator (mulberry32). Intro questions listed in
#: ``args.intro`` get the answer given there, so that interviews reach the data.
#: A chosen option with a specify text gets a text on the same screen. A soft check
#: is confirmed by a second next(); on a hard check, or an answer the form refuses,
#: another answer is drawn (at most 200 times). Between interviews ``args.reset``
#: starts a fresh one: ``"reset"``, the API's ``reset()`` (a new interview, with a
#: new id, in the same page: the driver uses the public API only); or ``"back"``,
#: back() to the first question.
RANDOM_INTERVIEWS_JS = r"""
(args) => {
  const K = window.kvpspec;
  let s = args.seed >>> 0;
  function rnd() {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  function pick(a) { return a[Math.floor(rnd() * a.length)]; }
  function draw(name) {
    const d = args.domains[name];
    if (!d) throw new Error("no domain for the question on screen: " + name);
    const miss = d.missing.length > 0 && rnd() < 0.08;
    if (d.type === "single") return miss || d.codes.length === 0 ? pick(d.missing.concat(d.codes)) : pick(d.codes);
    if (d.type === "multiple") {
      if (miss) return [pick(d.missing)];
      const plain = d.codes.filter(function (c) { return d.exclusive.indexOf(c) < 0; });
      if (plain.length === 0 || rnd() < 0.05) return [pick(d.codes)];
      const chosen = plain.filter(function () { return rnd() < 0.4; });
      return chosen.length ? chosen : [pick(plain)];
    }
    if (d.type === "integer" || d.type === "decimal") {
      if (miss) return pick(d.missing);
      const lo = d.min === null ? 0 : d.min, hi = d.max === null ? lo + 100 : d.max;
      // small values more often: ranges like 0..110 then reach the checks on either side
      const u = rnd() < 0.5 ? rnd() * rnd() : rnd();
      let v = lo + u * (hi - lo);
      v = d.type === "integer" ? Math.round(v) : Math.round(v * 10) / 10;
      return Math.min(hi, Math.max(lo, v));
    }
    if (d.type === "text") return "svar " + Math.floor(rnd() * 1000);
    throw new Error("unexpected type " + d.type + " of " + name);
  }
  const out = [];
  for (let i = 0; i < args.n; i++) {
    if (i > 0) {
      if (args.reset === "reset") {
        if (!K.reset().ok) throw new Error("reset() did not start a new interview");
      } else if (args.reset === "back") {  // back to the first question; the new route replaces the old
        let g = 0;
        while (K.back().ok) if (++g > 100000) throw new Error("back() does not reach the first question");
      } else {
        throw new Error("unknown reset " + args.reset);
      }
    }
    let soft = 0, hard = 0, steps = 0;
    for (;;) {
      const name = K.current();
      if (name === null) break;
      if (++steps > 5000) throw new Error("interview " + i + " does not end (at " + name + ")");
      let tries = 0;
      for (;;) {
        if (++tries > 200) throw new Error("no answer passes at " + name + " in interview " + i);
        const v = Object.prototype.hasOwnProperty.call(args.intro, name) ? args.intro[name] : draw(name);
        const a = K.answer(name, v);
        if (!a.ok) continue;
        for (const sp of args.domains[name] ? args.domains[name].specify : []) {
          const chosen = Array.isArray(v) ? v.indexOf(sp.code) >= 0 : v === sp.code;
          if (chosen && !K.answer(sp.name, "annet " + Math.floor(rnd() * 1000)).ok) {
            throw new Error("the specify text " + sp.name + " was refused");
          }
        }
        let r = K.next();
        if (!r.ok && r.soft && r.soft.length && !(r.hard && r.hard.length)) { soft++; r = K.next(); }
        if (r.ok) break;
        if (r.hard && r.hard.length) { hard++; continue; }
        throw new Error("next() refused at " + name + " in interview " + i + ": " + JSON.stringify(r));
      }
    }
    out.push({record: K.record(), state: K.state(), soft: soft, hard: hard});
  }
  return out;
}
"""


def evaluator(c: Compiled) -> Evaluator:
    return Evaluator(c.lowered.variables, c.lowered.recodes, c.spec.derives)


def expected_interview(c: Compiled, answers: dict[str, Any]) -> tuple[list[str], int | None, dict[str, Any]]:
    """What the core's walker asks given ``answers`` (every step's answer), with
    which disposition it ends, and the answers of the questions it asks."""
    scope: dict[str, Any] = {}
    walk = Walk(steps(c.lowered), scope, evaluator(c))
    for step, asked in walk:
        if asked:
            value = answers[step.name]
            scope[step.name] = frozenset(value) if isinstance(value, list) else value
    return walk.path, walk.end, {n: answers[n] for n in walk.path}
