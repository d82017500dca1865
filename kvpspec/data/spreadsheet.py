"""Text that a spreadsheet must show as text, never run as a formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is taken for a formula by Excel, LibreOffice and Google Sheets when a
CSV file is opened (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``). This is the
one definition of that rule: XLSX writers set the cell's quote prefix
(``generators.registration.set_text``), CSV writers prefix the text with an
apostrophe (``csv_text``), as OWASP recommends. Numbers are never changed:
``-2`` in a numeric column is a number.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula."""
    return text.startswith(FORMULA_START)


def csv_text(text: str) -> str:
    """A text cell for a CSV file: with an apostrophe in front when it looks like a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text
