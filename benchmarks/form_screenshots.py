"""Take the screenshots of the KVP form that docs/fielding.md shows.

    python benchmarks/form_screenshots.py [-o docs/images]

Builds the form of ``specs/kvp2009.survey`` as ``kvpspec build --only form``
does, opens it from ``file://`` in headless Chromium and writes:

- ``form-cati.png``: an interviewer's screen (CATI mode, 1280 x 800) at
  question 5, which has an interviewer instruction, an "Annet" option with a
  specify text and a not-read "Ikke sikker" code;
- ``form-web-phone.png``: a respondent's screen (web mode, a 390 x 844 phone
  viewport) at question 7, with an answer chosen.

The interview is driven to those questions through ``window.kvpspec`` with
fixed answers, so the pictures change only when the form does. Needs
Playwright and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import build_form, form_url, launch, open_form  # noqa: E402

ANSWERS = {
    "rett_person": 1, "husker": 1, "samtykke": 1, "q1": 4, "q2": 5, "q3": 12, "q4": 1,
    "q5": 1, "q6a": 2, "q6b": 1,
}

DRIVE = """
([answers, until]) => {
  const K = window.kvpspec;
  for (let i = 0; i < 100; i++) {
    const name = K.current();
    if (name === until) return name;
    if (!(name in answers)) throw new Error("no answer for " + name);
    const a = K.answer(name, answers[name]);
    if (!a.ok) throw new Error(JSON.stringify(a));
    let r = K.next();
    if (!r.ok && r.soft && r.soft.length) r = K.next();
    if (!r.ok) throw new Error(JSON.stringify(r));
  }
  throw new Error("did not reach " + until);
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        index = build_form(ROOT / "specs" / "kvp2009.survey", Path(tmp))
        chromium = launch(pw)

        context = chromium.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="nb-NO")
        page = context.new_page()
        open_form(page, form_url(index, mode="cati"))
        page.evaluate(DRIVE, [ANSWERS, "q5"])
        page.screenshot(path=str(out / "form-cati.png"), full_page=False, animations="disabled", caret="hide")
        context.close()

        context = chromium.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
            locale="nb-NO",
        )
        page = context.new_page()
        open_form(page, form_url(index, mode="web"))
        page.evaluate(DRIVE, [ANSWERS, "q7"])
        page.evaluate("() => window.kvpspec.answer('q7', 2)")
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=str(out / "form-web-phone.png"), full_page=False, animations="disabled", caret="hide")
        context.close()
        chromium.close()
    for name in ("form-cati.png", "form-web-phone.png"):
        print(out / name, (out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
