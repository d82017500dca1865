"""The registration form (Vedlegg 4) as an XLSX workbook for the caseworker.

One sheet per registration document (a document with a ``table`` block): its
title and instruction text, one column per sample field of the table, a frozen
header, dropdowns (data-validation lists) for coded fields, and the tally line
at the foot. The options of the dropdowns live on a hidden sheet ``Lister``.

No cell ever holds user text as a formula: every text cell is written with the
string data type and, when it starts with ``= + - @`` (or a tab or carriage
return), with Excel's quote prefix, so that it is shown and kept as text.
"""

from __future__ import annotations

import io
import re
from typing import Any

from generators.base import Generator, normalise_zip
from generators.common import document_text, text_of
from kvpspec import model as m
from kvpspec.data.spreadsheet import is_formula_like

#: Rows offered for filling in, each with the dropdowns.
FORM_ROWS = 200
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def set_text(cell: Any, text: str) -> None:
    """Put user text in a cell as text, never as a formula."""
    cell.value = text
    cell.data_type = "s"
    if is_formula_like(text):
        cell.quotePrefix = True


def sheet_title(text: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", text).strip().strip("'")[:31] or "Skjema"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


class RegistrationGenerator(Generator):
    name = "registration"
    description = "the registration form (Vedlegg 4) as an XLSX workbook with dropdowns"

    def generate(self) -> dict[str, bytes]:
        docs = [d for d in self.ctx.spec.documents if any(b.kind == "table" for b in d.blocks)]
        out: dict[str, bytes] = {}
        for doc in docs:
            out[f"documents/{doc.name}.xlsx"] = self.workbook(doc)
        return out

    def text(self, doc: m.Document, t: m.Text) -> str:
        try:
            return document_text(self.ctx.spec.study, doc, t, self.ctx.main_language)
        except KeyError as exc:
            raise self.error(exc.args[0]) from None

    def workbook(self, doc: m.Document) -> bytes:
        import zipfile

        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation
        from openpyxl.writer.excel import ExcelWriter

        lang = self.ctx.main_language
        wb = Workbook()
        ws = wb.active
        taken: set[str] = {"lister"}
        ws.title = sheet_title(self.text(doc, doc.title), taken)
        lists = wb.create_sheet("Lister")
        lists.sheet_state = "hidden"
        list_col = 0

        variables = self.ctx.lowered.variables
        bold = Font(bold=True)
        thin = Side(style="thin")
        box = Border(left=thin, right=thin, top=thin, bottom=thin)
        wrap = Alignment(wrap_text=True, vertical="top")
        row = 1
        header_row = None
        columns: list[str] = []
        for block in doc.blocks:
            kind = block.kind
            if kind in ("title", "heading"):
                cell = ws.cell(row=row, column=1)
                set_text(cell, " ".join(self.text(doc, t) for t in block.texts))
                cell.font = Font(bold=True, size=14 if kind == "title" else 11)
                row += 1
            elif kind in ("paragraph", "list", "numbered"):
                for i, t in enumerate(block.texts, 1):
                    text = self.text(doc, t)
                    if kind == "list":
                        text = "– " + text
                    elif kind == "numbered":
                        text = f"{i}. {text}"
                    cell = ws.cell(row=row, column=1)
                    set_text(cell, text)
                    cell.alignment = wrap
                    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=max(5, len(columns) or 5))
                    ws.row_dimensions[row].height = 15 * max(1, len(text) // 90 + 1 + text.count("\n"))
                    row += 1
            elif kind == "table":
                if header_row is not None:
                    self.unsupported(f"document `{doc.name}` has more than one table; the XLSX holds the first")
                    continue
                row += 1
                header_row = row
                for col, name in enumerate(block.names, 1):
                    var = variables.get(name)
                    if var is None:
                        raise self.error(f"document `{doc.name}`: `{name}` is not a sample field")
                    label = text_of(var.label, lang)
                    columns.append(name)
                    cell = ws.cell(row=header_row, column=col)
                    set_text(cell, label)
                    cell.font = bold
                    cell.alignment = Alignment(wrap_text=True, vertical="bottom")
                    cell.border = box
                    cell.fill = PatternFill("solid", fgColor="DDDDDD")
                    letter = get_column_letter(col)
                    ws.column_dimensions[letter].width = min(45, max(14, len(label) // 2 + 4))
                    first, last = header_row + 1, header_row + FORM_ROWS
                    for r in range(first, last + 1):
                        ws.cell(row=r, column=col).border = box
                    if var.values:
                        if var.type == "multiple":
                            self.unsupported(
                                f"`{name}` takes several answers; an XLSX dropdown offers one, so the column takes free text too"
                            )
                        list_col += 1
                        lcol = get_column_letter(list_col)
                        for i, (_, value_label) in enumerate(var.values, 1):
                            set_text(lists.cell(row=i, column=list_col), text_of(value_label, lang))
                        dv = DataValidation(
                            type="list",
                            formula1=f"Lister!${lcol}$1:${lcol}${len(var.values)}",
                            allow_blank=True,
                        )
                        # free text stays possible (an "other" answer, an X): warn, do not refuse
                        dv.errorStyle = "warning"
                        dv.showErrorMessage = True
                        dv.showInputMessage = True
                        dv.promptTitle = None
                        dv.add(f"{letter}{first}:{letter}{last}")
                        ws.add_data_validation(dv)
                ws.row_dimensions[header_row].height = 60
                ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
                row = header_row + FORM_ROWS + 2
            elif kind == "tally":
                cell = ws.cell(row=row, column=1)
                set_text(cell, " ".join(self.text(doc, t) for t in block.texts))
                cell.font = bold
                count = ws.cell(row=row, column=2)
                count.border = box
                dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
                dv.add(count.coordinate)
                ws.add_data_validation(dv)
                row += 2
            elif kind in ("blanks", "signature"):
                for t in block.texts:
                    text = self.text(doc, t)
                    set_text(ws.cell(row=row, column=1), (text + ": " if text else "") + "_" * 30)
                    row += 1
            elif kind == "pagebreak":
                from openpyxl.worksheet.pagebreak import Break

                ws.row_breaks.append(Break(id=row - 1))
            else:
                raise self.error(f"no XLSX rendering for a `{kind}` block in document `{doc.name}`")

        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        if header_row is not None:
            ws.print_title_rows = f"{header_row}:{header_row}"

        fixed = self.ctx.fixed_date()
        wb.properties.created = fixed
        wb.properties.modified = fixed
        wb.properties.creator = "kvpspec"
        wb.properties.title = self.text(doc, doc.title)
        buf = io.BytesIO()
        archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
        ExcelWriter(wb, archive).save()
        return normalise_zip(buf.getvalue())
