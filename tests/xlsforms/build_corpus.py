"""Write the corpus workbooks (tests/xlsforms/*.xlsx) from their sources (tests/xlsforms/src/*.md).

Each source is a public XLSForm as its project publishes it: pyxform's test
forms are markdown tables (``| survey |`` names a sheet, ``| | type | name |``
rows are its rows). This script writes each as the .xlsx workbook a form
author would hand over, one sheet per table, cells as written. Origins and
licences: SOURCES.md.

    .venv/bin/python tests/xlsforms/build_corpus.py
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ROW = re.compile(r"^\s*\|(.*)\|\s*$")
FIXED = datetime.datetime(2026, 1, 1)


def sheets(text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in text.splitlines():
        mt = ROW.match(line)
        if mt is None:
            continue
        cells = [c.strip() for c in mt.group(1).split("|")]
        if cells[0]:
            current = out.setdefault(cells[0], [])
            cells = cells[1:]
            if not any(cells):
                continue
            current.append(cells)
            continue
        if current is not None:
            current.append(cells[1:])
    return out


def workbook(text: str) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets(text).items():
        ws = wb.create_sheet(name)
        for row in rows:
            while row and not row[-1]:
                row = row[:-1]
            ws.append([c or None for c in row])
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    return wb


def main() -> None:
    sources = sorted((HERE / "src").glob("*.md"))
    for src in sources:
        workbook(src.read_text(encoding="utf-8")).save(HERE / f"{src.stem}.xlsx")
    print(f"{len(sources)} workbooks written to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
