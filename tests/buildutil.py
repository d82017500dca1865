"""Helpers for the build tests: run the targets in-process, and read PDFs and
XLSX files as text (how their goldens are compared)."""

from __future__ import annotations

import io
import json
import re
from functools import cache
from pathlib import Path

from kvpspec import compile_file
from kvpspec.build import manifest, run_targets


@cache
def build_files(spec: str, only: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file a build of ``spec`` writes (manifest included), by path."""
    compiled = compile_file(spec)
    assert compiled.ok, [str(d) for d in compiled.errors]
    built = run_targets(compiled, only)
    out = dict(built.files)
    out["manifest.json"] = manifest(compiled, built).encode("utf-8")
    return out


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = []
    for i, page in enumerate(reader.pages, 1):
        text = page.extract_text() or ""
        text = "\n".join(line.rstrip() for line in text.splitlines())
        pages.append(f"--- page {i} ---\n{text.strip()}\n")
    return "".join(pages)


def flat(text: str) -> str:
    """Text with all runs of white space as one space (PDF lines wrap anywhere)."""
    return re.sub(r"\s+", " ", text).strip()


def xlsx_dump(data: bytes) -> str:
    """A workbook as text: every non-empty cell with its data type, merged
    ranges, frozen panes and data validations."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    lines = []
    for ws in wb.worksheets:
        lines.append(f"## sheet {ws.title!r} ({ws.sheet_state})")
        lines.append(f"freeze: {ws.freeze_panes}")
        for rng in sorted(str(r) for r in ws.merged_cells.ranges):
            lines.append(f"merged: {rng}")
        for dv in ws.data_validations.dataValidation:
            lines.append(
                f"validation: {dv.type} {dv.formula1} on {dv.sqref} (error style {dv.errorStyle})"
            )
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    quote = " quotePrefix" if cell.quotePrefix else ""
                    lines.append(f"{cell.coordinate} [{cell.data_type}{quote}] {cell.value!r}")
    return "\n".join(lines) + "\n"


def golden_text(path: str, data: bytes) -> tuple[str, str]:
    """(golden file name, comparable text) for one output file."""
    if path.endswith(".pdf"):
        return path + ".txt", pdf_text(data)
    if path.endswith(".xlsx"):
        return path + ".txt", xlsx_dump(data)
    if path == "manifest.json":
        doc = json.loads(data)
        for f in doc["files"]:
            if f["path"].endswith((".pdf", ".xlsx")):
                f["sha256"] = "(binary: compared by its text)"
                f["bytes"] = "(binary)"
        return path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return path, data.decode("utf-8")


def golden_dir(root: Path, case: str) -> Path:
    return root / "build" / case
