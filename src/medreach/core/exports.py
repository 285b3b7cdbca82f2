"""Spreadsheet exports (CSV and XLSX) that a spreadsheet cannot run as formulas.

Excel, LibreOffice and Google Sheets read a cell that begins with `=`, `+`, `-` or `@` (and, after a tab or a
carriage return, whatever follows) as a formula: a product name `=HYPERLINK("http://evil","点击")` typed into the
console would become a live link, or worse, in the spreadsheet of whoever opens the export (CSV injection, OWASP).
Every export writes its cells through this module:

- CSV: such text gets a leading apostrophe (`'=HYPERLINK(…)`), which spreadsheets show as text;
- XLSX: such text is written as a string cell with the quote prefix set, so the value stays exactly the text;
- numbers stay numbers (a negative number is a number, not a formula), other values become their text.

Imports read exported files back with `unescape_cell`, so an export imported again changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: text that a spreadsheet would run is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return value
    text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return ESCAPE + text if is_formula_like(text) else text


def unescape_cell(value: Any) -> Any:
    """A cell read back from an export: the apostrophe csv_cell added is removed."""
    if isinstance(value, str) and value.startswith(ESCAPE) and is_formula_like(value[1:]):
        return value[1:]
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens it as UTF-8."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return text.getvalue().encode("utf-8-sig")


def write_xlsx(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], title: str = "export") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    for r, values in enumerate([{c: c for c in columns}, *rows], start=1):
        for col, name in enumerate(columns, start=1):
            _set_xlsx_cell(ws.cell(row=r, column=col), values.get(name))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set_xlsx_cell(cell: Any, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, (bool, int, float)):
        cell.value = value
    elif isinstance(value, Decimal):
        cell.value = float(value)
    else:
        text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
        cell.value = text
        if is_formula_like(text):
            cell.data_type = "s"  # openpyxl makes any text starting with = a formula; this keeps it text
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
