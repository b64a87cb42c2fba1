"""Shared helpers for every workbook the project writes.

`write_table` writes a table the same way everywhere: a bold, filled header row frozen above the data, an autofilter
over the table, column widths fitted to the text (CJK characters count double) and a print set-up that fits the
width of a landscape A4 page and repeats the header. It works on normal and write-only worksheets alike; on a
write-only worksheet it must be the first thing written, as the column widths and the frozen pane precede the rows.

`safe_text` makes text that Excel would take for a formula (= + - @) or an error value (#N/A) an explicit string
cell, so that a value such as =HYPERLINK(...) copied from an uploaded file is shown, never run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, islice
from typing import Any, TypeAlias, cast

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

Sheet: TypeAlias = Worksheet | WriteOnlyWorksheet

TEXT_FORMAT = "@"
SHEET_NAME_LENGTH = 31  # the most characters Excel takes in a sheet's name
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_BORDER = Border(bottom=Side(style="thin", color="808080"))

_FORMULA_STARTS = ("=", "+", "-", "@")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WIDTH_SAMPLE_ROWS = 1000
_MIN_WIDTH = 6
_MAX_WIDTH = 60
_HEADER_PADDING = 4  # bold text and the filter button
_CELL_PADDING = 2


# The width of each character met so far: a workbook of a million firms measures tens of millions of characters, of
# a few thousand kinds.
_CHAR_WIDTHS: dict[str, int] = {}


def display_width(text: str) -> int:
    """Width of text in Excel column units: wide (CJK, full-width) characters count double."""
    if text.isascii():
        return len(text)
    try:
        return sum(map(_CHAR_WIDTHS.__getitem__, text))
    except KeyError:
        for char in text:
            _CHAR_WIDTHS.setdefault(char, 2 if unicodedata.east_asian_width(char) in "WF" else 1)
        return sum(map(_CHAR_WIDTHS.__getitem__, text))


def safe_text(sheet: Sheet, text: str) -> str | Cell:
    """Text for a cell of `sheet`, shown as text whatever it holds.

    Characters XML cannot carry become U+FFFD. Text starting with = + - or @, or spelling an Excel error value, becomes
    a string cell with the quote-prefix style: stored as text, and still text after the user edits it in Excel.
    """
    text = _NOT_XML.sub("\ufffd", text)
    if not text.startswith(_FORMULA_STARTS) and text not in ERROR_CODES:
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def column_widths(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[float]:
    """Widths that fit each header and the values of `rows`, within sensible bounds."""
    widths = [display_width(header) + _HEADER_PADDING for header in headers]
    for values in rows:
        for index, value in enumerate(values):
            if value is not None:
                widths[index] = max(widths[index], display_width(str(value)) + _CELL_PADDING)
    return [float(min(max(width, _MIN_WIDTH), _MAX_WIDTH)) for width in widths]


def write_table(
    sheet: Sheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    number_formats: Mapping[int, str] | None = None,
    preamble: Sequence[str] = (),
) -> int:
    """Write `preamble` lines, a styled header row and `rows` below it; return the number of rows written.

    `number_formats` maps a column index (0-based) to the number format of every cell of that column, empty ones
    included. Text cells go through `safe_text`. Widths are fitted to the header and the first rows.
    """
    formats = dict(number_formats or {})
    remaining = iter(rows)
    sample = list(islice(remaining, _WIDTH_SAMPLE_ROWS))
    header_row = len(preamble) + 2 if preamble else 1
    set_widths(sheet, column_widths(headers, sample))
    fit_page(sheet)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.freeze_panes = f"A{header_row + 1}"
    for line in preamble:
        sheet.append([safe_text(sheet, line)])
    if preamble:
        sheet.append([])
    sheet.append([header_cell(sheet, header) for header in headers])
    count = 0
    for values in chain(sample, remaining):
        sheet.append(_row(sheet, values, formats))
        count += 1
    layout(sheet).auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{header_row + count}"
    return count


def layout(sheet: Sheet) -> Worksheet:
    """The sheet's layout attributes (column widths, print set-up, filter, conditional formats). A write-only
    worksheet has them too, from `Worksheet._setup`, though openpyxl's type stubs do not declare them."""
    return cast(Worksheet, sheet)


def set_widths(sheet: Sheet, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        layout(sheet).column_dimensions[get_column_letter(index)].width = width


def fit_page(sheet: Sheet) -> None:
    """Landscape A4, fitted to the page width."""
    page = layout(sheet).page_setup
    page.orientation = "landscape"
    page.paperSize = Worksheet.PAPERSIZE_A4
    page.fitToWidth = 1
    page.fitToHeight = 0
    layout(sheet).sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def as_cell(sheet: Sheet, value: object) -> Cell:
    """A cell object for `value`, so that it can be styled; text goes through `safe_text`."""
    value = safe_text(sheet, value) if isinstance(value, str) else value
    # openpyxl takes any cell value (Decimal, date and bool included), more than its type stubs say.
    return value if isinstance(value, Cell) else WriteOnlyCell(sheet, cast(Any, value))


def header_cell(sheet: Sheet, header: str) -> Cell:
    cell = as_cell(sheet, header)
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = HEADER_ALIGNMENT
    cell.border = HEADER_BORDER
    return cell


def _row(sheet: Sheet, values: Sequence[object], formats: Mapping[int, str]) -> list[object]:
    cells = [safe_text(sheet, value) if isinstance(value, str) else value for value in values]
    for index, number_format in formats.items():
        cell = as_cell(sheet, cells[index])
        cell.number_format = number_format
        cells[index] = cell
    return cells
