"""How the managers' workbook prints: A4 landscape, text at 9 pt or more, no cell's text cut off.

openpyxl neither measures text nor sizes rows, so both are estimated from the text: a width unit is a digit of the
default font (Calibri 11) and a CJK character takes two (`display_width`); a row is as tall as the most lines one of
its wrapped cells needs. A table prints on one page width at the largest scale (up to 100%) its columns allow, down
to `MIN_SCALE` (above 9 pt for the 11 pt font), its wrapped columns narrowed to fit first; a table too wide even so
prints at `MIN_SCALE` on several pages across, its key columns (the print titles) repeated on each, its other columns
shared out so that the pages are evenly full and each page's wrapped columns widened to fill it, most where there is
most text. Pages run left to right, then down.

The estimates are Excel's, and LibreOffice's with Carlito, the font with Calibri's metrics that scripts/ensure-debs
installs: tests/test_printing.py converts real workbooks with LibreOffice and measures the PDF.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from openpyxl.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Border, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from assess.outputs.xlsx import display_width, set_widths

FONT_POINTS = 11  # openpyxl's default font, Calibri 11
MIN_FONT_POINTS = 9
# Percent: 82% would print 9.02 pt, which LibreOffice rounds to 8.99 pt for some characters; 84% prints 9.24 pt.
MIN_SCALE = math.ceil(100 * (MIN_FONT_POINTS + 0.2) / FONT_POINTS)
_PAGE_POINTS = 297 / 25.4 * 72  # A4 landscape, width
_SIDE_MARGIN = 0.25  # inches
_MARGINS = PageMargins(left=_SIDE_MARGIN, right=_SIDE_MARGIN, top=0.5, bottom=0.6, header=0.2, footer=0.25)
# A column w units wide takes (w + 0.7) * 5.55 pt at 100%: at least Excel's 5.25w + 3.75 pt and LibreOffice's 5.54w.
_UNIT_POINTS = 5.55
_COLUMN_UNITS = 0.7
LINE_POINTS = 16.0  # one line of 11 pt text with CJK (LibreOffice draws 16 pt, Excel 14.25 pt to 15 pt)
_ROW_PADDING = 3.0  # points above and below the lines of a row
_MAX_ROW_POINTS = 409.0  # Excel's tallest row
_MOST_LINES = int((_MAX_ROW_POINTS - _ROW_PADDING) // LINE_POINTS)  # the lines of 11 pt text it holds: 25
_CELL_PADDING = 1.5  # units a cell keeps clear of text on its two sides together
_WRAP_SLACK = 0.95  # share of a cell's width a wrapped line fills: breaks fall before the edge
_PAD = 3  # units beside the widest text of a column (bold text is wider)
_NARROW = 12  # units a wrapped column may be narrowed to (five CJK characters a line)
_WIDEST = 60  # units of the widest wrapped column
_HEADER_LINES = 3  # a header may take three lines
_TARGET_LINES = 4  # lines of its average text a wrapped column asks to be wide enough for, on a page shared
_EPSILON = 1e-6

_THIN = Side(style="thin", color="808080")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
TOP = Alignment(vertical="top")
WRAP = Alignment(wrap_text=True, vertical="top")
FOOTER = "&A　第 &P 页，共 &N 页"  # the sheet's name and the page

# Number formats of the workbook, as Python formats a value (Decimal, rounding half up as a spreadsheet does).
_DECIMALS = {"0": 0, "0.0": 1, "0.00": 2, "0.000": 3, "#,##0": 0, "#,##0.00": 2}
_PERCENTS = {"0%": 0, "0.0%": 1, "0.00%": 2}
_DATETIME = "yyyy-mm-dd hh:mm"

# What wrapping keeps on one line: a run of Latin letters, digits and their punctuation, or one other character, with
# the opening marks before it and the closing marks after it; or a space.
_OPENING = "（「『“《〈【([{‘"
_CLOSING = "）」』”》〉】)]}’，。、；：！？,.;:!?%"
_UNBROKEN = re.compile(rf"[{re.escape(_OPENING)}]*(?:[A-Za-z0-9_.,:;%+\-/@#&=*'\"]+|[^\s])[{re.escape(_CLOSING)}]*|\s")


def shown(value: object, number_format: str) -> str:
    """`value` as a cell with `number_format` shows it (the formats the project's workbooks use)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and number_format == _DATETIME:
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if number_format in _PERCENTS:
        return _rounded(value * 100, _PERCENTS[number_format], False) + "%"
    if number_format in _DECIMALS:
        grouped = number_format.startswith("#,##")
        if isinstance(value, int) and not _DECIMALS[number_format]:  # a whole number as a whole number
            return f"{value:,}" if grouped else str(value)
        return _rounded(value, _DECIMALS[number_format], grouped)
    return f"{value:.10g}"


def _rounded(value: float, decimals: int, grouped: bool) -> str:
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{exact:,}" if grouped else f"{exact}"


def cell_text(cell: Cell | MergedCell) -> str:
    return shown(cell.value, cell.number_format)


@lru_cache(maxsize=4096)  # the same text in the same column: a city, a chain, a status, a sub-judgement
def lines(text: str, width: float) -> int:
    """Lines `text` takes wrapped in a column `width` units wide, laid out as a spreadsheet wraps it: between CJK
    characters and at spaces, never inside a run of Latin letters and digits unless it is longer than a line, and
    never before a closing mark (，」) or after an opening one (「（)."""
    usable = max(1.0, (width - _CELL_PADDING) * _WRAP_SLACK)
    count = 0
    for paragraph in text.split("\n"):
        count, used = count + 1, 0.0
        for token in _UNBROKEN.findall(paragraph):
            size = display_width(token)
            if used and used + size > usable:
                count, used = count + 1, 0.0
            whole, used = divmod(used + size, usable)  # a run longer than a line is broken where it must be
            count += int(whole)
    return count


def page_units(scale: int) -> float:
    """Width units one page holds at `scale` percent, less `_COLUMN_UNITS` for each column on it."""
    return (_PAGE_POINTS - 2 * 72 * _SIDE_MARGIN) / (_UNIT_POINTS * scale / 100)


def _units(widths: Iterable[float]) -> float:
    """The units columns of `widths` take on the page."""
    return sum(width + _COLUMN_UNITS for width in widths)


@dataclass(frozen=True)
class Fit:
    """How a table prints: its scale, its columns' widths and the columns after which a new page starts."""

    scale: int
    widths: list[float]
    breaks: list[int]  # 1-based


@dataclass(frozen=True)
class Measure:
    """A column's widths: `natural` fits its text on one line (a wrapped column's up to `_WIDEST`), `narrowest` is
    as far as wrapping may take it (a column that does not wrap keeps its natural width); `text` is its text per row
    on average (units), which decides the width it asks for on a page shared with others and its share of the
    page's spare width."""

    natural: float
    narrowest: float
    text: float = 1.0

    @property
    def desired(self) -> float:
        """Wide enough for its average text in `_TARGET_LINES` lines, within its narrowest and natural widths."""
        lines_of_text = self.text / _TARGET_LINES / _WRAP_SLACK + _CELL_PADDING
        return min(self.natural, max(self.narrowest, lines_of_text))


@dataclass
class Widths:
    """The display widths of a column's texts, gathered as they are met: a sheet's rows need not all be at hand."""

    widest: int = 0
    total: int = 0
    count: int = 0

    def add(self, text: str) -> None:
        width = display_width(text)
        self.widest = max(self.widest, width)
        self.total += width
        self.count += 1


def measure(texts: Iterable[str], header: str, wraps: bool) -> Measure:
    """The widths of a column holding `texts` under `header` (which may wrap onto `_HEADER_LINES`)."""
    widths = Widths()
    for text in texts:
        widths.add(text)
    return measured(widths, header, wraps)


def measured(widths: Widths, header: str, wraps: bool) -> Measure:
    """The widths of a column whose texts have `widths`, under `header` (see `measure`)."""
    heading = max(math.ceil(display_width(header) / _HEADER_LINES), min(display_width(header), 4)) + _PAD
    widest, text = widths.widest + _PAD, max(1.0, widths.total / max(1, widths.count))
    if not wraps:
        return Measure(max(widest, heading), max(widest, heading), text)
    # wide enough for its longest text in the tallest row a sheet can have
    longest = (widest - _PAD) / _MOST_LINES / _WRAP_SLACK + _CELL_PADDING
    natural = max(min(widest, _WIDEST), heading, longest)
    return Measure(natural, max(min(natural, _NARROW), heading, longest), text)


def plan(columns: Sequence[Measure], titles: int) -> Fit:
    """The scale, widths and page breaks of a table whose first `titles` columns repeat on every page across."""
    natural = [column.natural for column in columns]
    scale = math.floor(100 * page_units(100) / _units(natural))
    if scale >= MIN_SCALE:
        return Fit(min(scale, 100), natural, [])
    room = page_units(MIN_SCALE)
    if _units(column.narrowest for column in columns) <= room:
        return Fit(MIN_SCALE, _widened(columns, room), [])
    keys = [column.desired for column in columns[:titles]]
    widths, breaks = list(keys), []
    for page in _pages(columns[titles:], room - _units(keys)):
        if widths != keys:
            breaks.append(len(widths))
        widths += _widened(page, room - _units(keys))
    return Fit(MIN_SCALE, widths, breaks)


def _pages(columns: Sequence[Measure], room: float) -> list[list[Measure]]:
    """The columns in order on as few pages of `room` units as their narrowest widths allow, split where the widths
    they ask for are shared most evenly (the fullest page as little full as can be)."""
    pages = _fewest_pages(columns, room)
    # best[(p, j)]: the fullest of p pages holding the first j columns, and where its last page starts
    best: dict[tuple[int, int], tuple[float, int]] = {(0, 0): (0.0, 0)}
    for page in range(1, pages + 1):
        for end in range(page, len(columns) + 1):
            best[(page, end)] = min(
                (max(best[(page - 1, start)][0], _load(columns[start:end], room)), start)
                for start in range(page - 1, end)
                if (page - 1, start) in best
            )
    spans, end = [], len(columns)
    for page in range(pages, 0, -1):
        start = best[(page, end)][1]
        spans.append(list(columns[start:end]))
        end = start
    return spans[::-1]


def _fewest_pages(columns: Sequence[Measure], room: float) -> int:
    """How many pages of `room` units the columns in order take at their narrowest."""
    count, used = 1, 0.0
    for column in columns:
        if used and used + column.narrowest + _COLUMN_UNITS > room:
            count, used = count + 1, 0.0
        used += column.narrowest + _COLUMN_UNITS
    return count


def _load(columns: Sequence[Measure], room: float) -> float:
    """How full a page of these columns is at the widths they ask for; past full when even their narrowest do not
    fit (a single column always goes on a page)."""
    if len(columns) > 1 and _units(column.narrowest for column in columns) > room:
        return math.inf
    return _units(column.desired for column in columns) / room


def _widened(columns: Sequence[Measure], room: float) -> list[float]:
    """The columns at their narrowest, the room left shared out by how much text each holds, none past its
    natural width (what one cannot take goes to the others)."""
    widths = [column.narrowest for column in columns]
    spare = room - _units(widths)
    growing = [index for index, column in enumerate(columns) if column.natural > column.narrowest]
    while growing and spare > _EPSILON:
        text = sum(columns[index].text for index in growing)
        offered, spare = spare, 0.0
        for index in growing:
            share = offered * columns[index].text / text
            taken = min(share, columns[index].natural - widths[index])
            widths[index] += taken
            spare += share - taken
        growing = [index for index in growing if widths[index] < columns[index].natural - _EPSILON]
    return widths


def set_print(sheet: Worksheet, fit: Fit, title_columns: int = 0) -> None:
    """Page set-up for `fit`: A4 landscape at its scale, its page breaks, the key columns repeated when it splits."""
    set_widths(sheet, fit.widths)
    page = sheet.page_setup
    page.orientation = "landscape"
    page.paperSize = Worksheet.PAPERSIZE_A4
    page.scale = fit.scale
    page.pageOrder = "overThenDown"
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=False)
    sheet.page_margins = _MARGINS
    footer = sheet.oddFooter
    assert footer is not None  # a worksheet always has its footer
    footer.center.text = FOOTER
    for column in fit.breaks:
        sheet.col_breaks.append(Break(id=column))
    if fit.breaks and title_columns:
        sheet.print_title_cols = f"A:{get_column_letter(title_columns)}"


def break_before(sheet: Worksheet, row: int) -> None:
    """Start a new page at `row` when printed."""
    sheet.row_breaks.append(Break(id=row - 1))


def fit_rows(sheet: Worksheet) -> None:
    """Every row with text as tall as the most lines one of its cells needs: a wrapped cell over the width of its
    column (a merged cell over its columns), in its font's size; rows without text keep the default height."""
    widths = {
        column: sheet.column_dimensions[get_column_letter(column)].width for column in range(1, sheet.max_column + 1)
    }
    spans = {
        (merged.min_row, merged.min_col): sum(widths[c] for c in range(merged.min_col, merged.max_col + 1))
        for merged in sheet.merged_cells.ranges
    }
    for number, row in enumerate(sheet.iter_rows(), start=1):
        filled = [cell for cell in row if cell.value is not None]
        if filled:
            sheet.row_dimensions[number].height = max(
                _cell_points(cell, spans.get((number, cell.column), widths[cell.column])) for cell in filled
            )


def _cell_points(cell: Cell | MergedCell, width: float) -> float:
    """The height in points the text of `cell` needs in a column `width` units wide."""
    return text_points(cell_text(cell), width, bool(cell.alignment.wrap_text), cell.font.sz or FONT_POINTS)


def text_points(text: str, width: float, wraps: bool, font_points: float = FONT_POINTS) -> float:
    """The height in points `text` needs in a column `width` units wide, wrapped or on one line, at a font size."""
    size = font_points / FONT_POINTS
    count = lines(text, width / size) if wraps else 1
    return min(_MAX_ROW_POINTS, (count * LINE_POINTS + _ROW_PADDING) * size)
