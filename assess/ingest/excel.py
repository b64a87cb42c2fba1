"""Workbooks (.xlsx, .xlsm, .xls): each sheet as text cells, read by calamine (through fastexcel), which loads a sheet
whole, on one core.

A sheet is one chunk, except a large .xlsx worksheet that the workbook's check cut between rows (`xlsx.Pieces`): its
pieces are read at once, one per core, and handed over as one chunk each, lined up as the whole sheet reads (the
columns of the first piece, the rows numbered as in the sheet, the empty rows between one piece's last value and the
next piece's first row as one run). Should a piece not line up (a value left or right of the first piece's columns,
or a piece the reader refuses), the sheet is read whole instead (`ReadAgain`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl

from assess.contract import Limits
from assess.ingest import xlsx
from assess.ingest.files import check_sheets, excel_kind
from assess.ingest.raw import RawSheet, ReadAgain, SheetSource, string_columns


def read_excel(path: Path, limits: Limits, cutting: xlsx.Cutting) -> list[SheetSource]:
    """Every sheet of a workbook, in the workbook's order; those not cut are read now."""
    with path.open("rb") as handle:
        kind = excel_kind(handle.read(8))  # what the file is, whatever its name says (check_file let it through)
    book = xlsx.prepare(path, limits, cutting) if kind == ".xlsx" else xlsx.Workbook(path, {})
    named = ".xlsx" if path.suffix.lower() == ".xlsm" else path.suffix.lower()
    # The reader tells the format of a file by its name, and of bytes by their content.
    source = book.source.read_bytes() if isinstance(book.source, Path) and kind != named else book.source
    reader = fastexcel.read_excel(source)
    names = reader.sheet_names
    check_sheets(path.name, len(names), limits)
    sheets = []
    for index, sheet_name in enumerate(names):
        # Sheets are read by position: a malformed workbook may repeat a name, and such a sheet is told apart.
        name = sheet_name if names.count(sheet_name) == 1 else f"{sheet_name}（第{index + 1}个工作表）"
        pieces = book.pieces.get(index)
        if pieces is None:
            sheet = _whole(reader, index, name, book.compactions.get(index))
            sheets.append(SheetSource(name, _one(sheet)))
        else:
            sheets.append(SheetSource(name, _in_pieces(reader, index, name, pieces)))
    return sheets


def _one(sheet: RawSheet) -> Callable[[], Iterator[RawSheet]]:
    """A sheet read whole, as its one chunk."""
    return lambda: iter([sheet])


def _whole(reader: fastexcel.ExcelReader, index: int, name: str, compaction: xlsx.Compaction | None) -> RawSheet:
    loaded = _Loaded.of(reader, index, first_row=1)
    if compaction is not None:
        return _compacted_sheet(name, loaded.cells, compaction, loaded.probe)
    rows = pl.Series("row", range(1, loaded.cells.height + 1), dtype=pl.Int64)
    return RawSheet(
        name=name,
        cells=loaded.cells,
        row_numbers=rows,
        numeric_cells=loaded.probe,
        column_numbers=loaded.column_numbers(loaded.cells.width),
    )


@dataclass(frozen=True)
class _Loaded:
    """A sheet, or a piece of it, as the reader reads it: from its `first_row`, from the first column holding a value
    (`first_column`, counted from 0) to the last."""

    reader: fastexcel.ExcelReader
    index: int
    first_row: int
    cells: pl.DataFrame
    first_column: int

    @classmethod
    def of(cls, reader: fastexcel.ExcelReader, index: int, first_row: int) -> _Loaded:
        """skip_rows=0 keeps leading blank rows, so frame row i is Excel row i + 1; skipping n rows, row n + i + 1."""
        try:
            sheet = reader.load_sheet(index, header_row=None, skip_rows=first_row - 1, dtypes="string")
        except fastexcel.InvalidParametersError:
            if first_row == 1:
                raise
            return cls(reader, index, first_row, pl.DataFrame(), 0)  # a piece without a value: nothing to skip to
        table, errors = sheet.to_arrow_with_errors()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        cells = _with_error_cells(string_columns(frame), errors.errors if errors else [])
        columns = sheet.available_columns()
        return cls(reader, index, first_row, cells, columns[0].absolute_index if columns else 0)

    def column_numbers(self, width: int) -> tuple[int, ...] | None:
        """The sheet's column number of each of `width` columns from the first (`RawSheet.column_numbers`)."""
        return tuple(range(self.first_column + 1, self.first_column + 1 + width)) if self.first_column else None

    def probe(self, column: int) -> pl.Series:
        """Which cells of column `column` (of `cells`) the file holds as numbers: read as boolean, a number cell
        yields a value and a text cell yields null, the cell's own type exactly. The reader takes a column by its
        place in the sheet, counted from column A."""
        loaded = self.reader.load_sheet(
            self.index,
            header_row=None,
            skip_rows=self.first_row - 1,
            dtypes="boolean",
            use_columns=[self.first_column + column],
        )
        return loaded.to_polars().to_series().is_not_null()


def _in_pieces(
    reader: fastexcel.ExcelReader, index: int, name: str, pieces: xlsx.Pieces
) -> Callable[[], Iterator[RawSheet]]:
    """The sheet's chunks, one per piece. The pieces begin to be read now, while the upload is made ready to be
    written; a sheet read again is read again from its pieces, or whole once one of them did not line up."""
    whole = False
    started: list[Future[_Loaded]] | None = _started(index, pieces)

    def chunks() -> Iterator[RawSheet]:
        nonlocal whole, started
        if whole:
            yield _whole(reader, index, name, None)
            return
        loads, started = started or _started(index, pieces), None
        try:
            first = _read(loads[0])
            for load, end in zip(loads, [*pieces.first_rows[1:], None], strict=True):
                piece = _lined_up(name, _read(load), first, end)
                if piece is None:
                    raise ReadAgain
                yield piece
        except ReadAgain:
            whole = True
            raise
        finally:
            for load in loads:
                load.cancel()

    return chunks


def _read(load: Future[_Loaded]) -> _Loaded:
    """A piece read; one the reader could not read, or could not hold beside the others, makes the sheet be read
    whole, which reads or refuses it as it always did."""
    try:
        return load.result()
    except Exception as exc:
        raise ReadAgain from exc


def _started(index: int, pieces: xlsx.Pieces) -> list[Future[_Loaded]]:
    """Every piece being read, each in a thread of its own."""

    def read(book: bytes, first_row: int) -> _Loaded:
        return _Loaded.of(fastexcel.read_excel(book), index, first_row)

    pool = ThreadPoolExecutor(len(pieces.workbooks), thread_name_prefix="assess-piece")
    try:
        return [pool.submit(read, book, row) for book, row in zip(pieces.workbooks, pieces.first_rows, strict=True)]
    finally:
        pool.shutdown(wait=False)  # the threads end with their piece


def _lined_up(name: str, piece: _Loaded, first: _Loaded, end: int | None) -> RawSheet | None:
    """A piece as a chunk of the sheet, with the columns of the sheet's first piece and the rows up to `end` (the next
    piece's first; None: the last piece); None when its values do not lie within those."""
    if first.cells.width == 0:
        return None
    shift = piece.first_column - first.first_column
    height, width = piece.cells.height, first.cells.width
    if piece.cells.width and (shift < 0 or shift + piece.cells.width > width):
        return None
    gap = 0 if end is None else end - piece.first_row - height  # empty rows after its last value
    if gap < 0:
        return None
    cells = pl.DataFrame(
        [
            piece.cells[f"c{i - shift}"].alias(f"c{i}")
            if 0 <= i - shift < piece.cells.width
            else pl.Series(f"c{i}", [None] * height, dtype=pl.String)
            for i in range(width)
        ]
    )
    rows = pl.Series("row", range(piece.first_row, piece.first_row + height + (gap > 0)), dtype=pl.Int64)
    spans = pl.Series("span", [*([1] * height), gap], dtype=pl.Int64) if gap > 1 else None

    def numeric_cells(column: int) -> pl.Series:
        own = column - shift
        found = piece.probe(own) if 0 <= own < piece.cells.width else pl.Series([False] * height, dtype=pl.Boolean)
        return pl.concat([found, pl.Series([False] * int(gap > 0), dtype=pl.Boolean)])

    if gap > 0:
        cells = pl.concat([cells, pl.DataFrame(schema=cells.schema).clear(1)])
    return RawSheet(
        name=name,
        cells=cells,
        row_numbers=rows,
        numeric_cells=numeric_cells,
        spans=spans,
        column_numbers=first.column_numbers(width),
    )


def _compacted_sheet(
    name: str, cells: pl.DataFrame, compaction: xlsx.Compaction, probe: Callable[[int], pl.Series]
) -> RawSheet:
    """A sheet read without its empty rows and columns, with each run of empty rows between the rows read put back
    as one blank row that stands for the run, so that the rows are counted and reported as the user sees them."""
    rows = compaction.rows[: cells.height]
    gaps = np.diff(rows, prepend=0) - 1  # the empty rows before each row read
    after_gap = gaps > 0
    placed = np.arange(rows.size) + np.cumsum(after_gap)  # where each row read lands among the rows and the runs
    height = rows.size + int(after_gap.sum())
    taken = np.full(height, -1)
    taken[placed] = np.arange(rows.size)
    row_numbers, spans = np.ones(height, dtype=np.int64), np.ones(height, dtype=np.int64)
    row_numbers[placed] = rows
    runs = placed[after_gap] - 1
    row_numbers[runs], spans[runs] = rows[after_gap] - gaps[after_gap], gaps[after_gap]
    index = pl.Series("index", taken).scatter(np.flatnonzero(taken < 0), None)  # a null index reads a blank row

    def numeric_cells(column: int) -> pl.Series:
        return pl.Series(np.zeros(height, dtype=bool)).scatter(placed, probe(column))

    return RawSheet(
        name=name,
        cells=cells.select(pl.all().gather(index)) if height > rows.size else cells,
        row_numbers=pl.Series("row", row_numbers),
        numeric_cells=numeric_cells,
        spans=pl.Series("span", spans) if height > rows.size else None,
        column_numbers=tuple(int(c) for c in compaction.columns[: cells.width]),
    )


# Excel's error values, which the reader reports apart from the cells' text.
_ERROR_LITERALS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?", "Num": "#NUM!",
    "Null": "#NULL!", "GettingData": "#GETTING_DATA",
}  # fmt: skip


def _with_error_cells(cells: pl.DataFrame, errors: list[fastexcel.CellError]) -> pl.DataFrame:
    """Error cells (#DIV/0!, #N/A, ...) come back empty; write their error literal in, so that they are reported as
    what they are rather than as blanks."""
    by_column: dict[str, tuple[list[int], list[str]]] = {}
    for error in errors:
        found = re.search(r"Error\((\w+)\)", error.detail)
        if found:
            row, column = error.offset_position
            rows, literals = by_column.setdefault(f"c{column}", ([], []))
            rows.append(row)
            literals.append(_ERROR_LITERALS.get(found.group(1), f"#{found.group(1)}"))
    for name, (rows, literals) in by_column.items():
        series = cells[name].clone()
        series.scatter(rows, literals)
        cells = cells.with_columns(series)
    return cells
