"""Write an XLSForm of the same shape as make_spec.py's spec of N questions.

Same items, texts and conditions: select_one on one shared 5-choice list,
integer with the constraint ``. >= 0 and . <= 120``, text, note rows, and a
``relevant`` such as ``${q3} = 2`` on every 10th item. Needs openpyxl.

    python benchmarks/make_xlsform.py 2000 -o /tmp/q2000.xlsx
    xls2xform --skip_validate /tmp/q2000.xlsx /tmp/q2000.xml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_spec import SCALE, SEED, items  # noqa: E402

XLS_TYPE = {"single": "select_one agree", "integer": "integer", "text": "text", "note": "note"}


def build(n: int, seed: int = SEED) -> Workbook:
    """The workbook with its survey, choices and settings sheets."""
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "constraint", "relevant"])
    for it in items(n, seed):
        constraint = ". >= 0 and . <= 120" if it.kind == "integer" else None
        relevant = None
        if it.cond_on:
            op = "= 2" if it.cond_kind == "single" else "> 30"
            relevant = f"${{q{it.cond_on}}} {op}"
        survey.append([XLS_TYPE[it.kind], it.name, it.text, constraint, relevant])

    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for code, label in SCALE:
        choices.append(["agree", code, label])

    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version"])
    settings.append([f"Syntetisk undersøkelse med {n} spørsmål", f"synth{n}", "1"])
    return wb


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of items (questions and notes)")
    ap.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    build(args.n, args.seed).save(args.output)


if __name__ == "__main__":
    main()
