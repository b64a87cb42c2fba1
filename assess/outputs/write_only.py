"""A sheet laid out in memory, then streamed into a write-only workbook.

A write-only workbook (openpyxl) writes each row as it is appended and forgets it, so that a sheet of a million rows
costs the memory of one; but a row cannot be styled, measured or merged after it is written. The few short sheets that
are laid out by going back over their cells (a title made bold once it is in, merged notes, row heights measured at the
end, charts over a table) are built as normal worksheets of the same workbook, kept out of its list of sheets, and
then copied in, cell by cell with their styles (the workbook's own, shared by both), with their layout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import suppress
from copy import copy
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell import Cell, MergedCell, WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

# What a worksheet keeps of its layout besides its cells: widths and heights, merges, the filter, the frozen pane, the
# print set-up, titles, breaks and area, and the charts (written after the rows, each with its anchor).
_LAYOUT = (
    "column_dimensions", "row_dimensions", "merged_cells", "auto_filter", "views", "sheet_properties", "sheet_format",
    "page_setup", "print_options", "page_margins", "HeaderFooter", "row_breaks", "col_breaks", "_print_rows",
    "_print_cols", "_print_area", "_charts", "_images", "conditional_formatting", "data_validations", "protection",
)  # fmt: skip


def add_laid_out(workbook: Workbook, title: str, lay_out: Callable[[Worksheet], None]) -> WriteOnlyWorksheet:
    """A sheet of the write-only `workbook` named `title`, laid out by `lay_out` on a normal worksheet of the same
    name (charts refer to their data by the sheet's name) and copied in."""
    source = Worksheet(workbook, title)  # the workbook's styles and named styles, not in its list of sheets
    lay_out(source)
    target = workbook.create_sheet(title)
    assert isinstance(target, WriteOnlyWorksheet)  # a write-only workbook creates write-only sheets
    for name in _LAYOUT:
        setattr(target, name, getattr(source, name))
    by_row: dict[int, dict[int, Cell | MergedCell]] = defaultdict(dict)
    for (row, column), cell in source._cells.items():
        by_row[row][column] = cell
    last = max([*by_row, *source.row_dimensions], default=0)
    for row in range(1, last + 1):
        cells = by_row.get(row, {})
        target.append([_copied(target, cells[c]) if c in cells else None for c in range(1, max(cells, default=0) + 1)])
    return target


def close_rows(workbook: Workbook) -> None:
    """Close the row streams of the write-only sheets a failure left open: each would otherwise be closed when Python
    exits, after openpyxl has removed the files they write to, and print a traceback."""
    for sheet in workbook.worksheets:
        if isinstance(sheet, WriteOnlyWorksheet) and not sheet.closed:
            with suppress(Exception):  # the failure that left it open is the one to report
                sheet.close()


def _copied(target: WriteOnlyWorksheet, cell: Cell | MergedCell) -> Cell:
    """`cell` as a cell of `target`: its value and type as they are (a formula-like text stays text), its style."""
    found = WriteOnlyCell(target)
    found.data_type = cell.data_type
    restyle(found, cell)
    cast(Any, found)._value = cast(Any, cell)._value
    return found


def restyle(cell: Cell, like: Cell | MergedCell) -> None:
    """Give `cell` the style of `like`, a cell of the same workbook: a copy of its style's indices, as openpyxl's own
    copy of a named style is, without looking the style up again (a million cells set by name take seconds)."""
    cast(Any, cell)._style = copy(cast(Any, like)._style)
