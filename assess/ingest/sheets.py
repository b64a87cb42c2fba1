"""Readers: every supported file becomes a list of sheets, each read as chunks of text cells.

Each reader keeps what the later stages need to name a cell the way the user sees it: the sheet name, the row number
Excel (or a text editor) shows, and, where the format has cell types, which cells held numbers rather than text.
CSV and Parquet files are read a chunk at a time (`Chunking`); a workbook's sheet is one chunk, since the reader
loads a sheet whole. Nothing here knows about fields or validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl
import pyarrow.parquet as pq

from assess.contract import Limits, Memory
from assess.ingest import xlsx
from assess.ingest.csvfile import CsvSource
from assess.ingest.files import UnreadableFile, check_file, check_sheets, count, excel_kind
from assess.ingest.raw import RawSheet, ReadAgain, SheetSource

__all__ = ["Chunking", "RawSheet", "SheetSource", "UnreadableFile", "check_file", "read_file"]


@dataclass(frozen=True)
class Chunking:
    """How much of a file is read (and then validated and stored) at a time."""

    csv_bytes: int
    parquet_rows: int

    @classmethod
    def of(cls, memory: Memory) -> Chunking:
        """The contract's pieces (`memory` in filing.yaml)."""
        return cls(csv_bytes=memory.csv_block_mb << 20, parquet_rows=memory.parquet_rows)


def read_file(path: Path, limits: Limits, head_rows: int, chunking: Chunking) -> list[SheetSource]:
    """The sheets of a file that `check_file` let through, the first chunk of each holding at least its first
    `head_rows` rows; a file beyond a limit is refused (UnreadableFile), and so is one no reader can read, whether
    this is found before the first chunk or at any later one."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            sheets = [CsvSource(path, limits, head_rows, chunking.csv_bytes).sheet()]
        elif suffix == ".parquet":
            sheets = [_parquet_sheet(path, limits, chunking.parquet_rows)]
        else:
            sheets = [SheetSource(s.name, _one(s)) for s in _read_excel(path, limits)]
    except UnreadableFile:
        raise
    except Exception as exc:
        raise _unreadable(path) from exc
    return [SheetSource(sheet.name, _guarded(path, sheet.chunks)) for sheet in sheets]


def _unreadable(path: Path) -> UnreadableFile:
    """Any reader failure means the same thing to the user."""
    return UnreadableFile(f"文件「{path.name}」无法读取，可能已损坏或不是声明的格式。")


def _guarded(path: Path, chunks: Callable[[], Iterator[RawSheet]]) -> Callable[[], Iterator[RawSheet]]:
    def guarded() -> Iterator[RawSheet]:
        try:
            yield from chunks()
        except (UnreadableFile, ReadAgain):
            raise
        except Exception as exc:
            raise _unreadable(path) from exc

    return guarded


def _one(sheet: RawSheet) -> Callable[[], Iterator[RawSheet]]:
    return lambda: iter([sheet])


def _string_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(pl.String).alias(f"c{i}") for i, name in enumerate(frame.columns))


def _read_excel(path: Path, limits: Limits) -> list[RawSheet]:
    with path.open("rb") as handle:
        kind = excel_kind(handle.read(8))  # what the file is, whatever its name says (check_file let it through)
    book = xlsx.prepare(path, limits) if kind == ".xlsx" else xlsx.Workbook(path, {})
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
        # skip_rows=0 keeps leading blank rows, so frame row i is Excel row i + 1.
        sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
        table, errors = sheet.to_arrow_with_errors()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        cells = _with_error_cells(_string_columns(frame), errors.errors if errors else [])
        probe = _excel_numeric_probe(reader, index)
        compaction = book.compactions.get(index)
        if compaction is None:
            rows = pl.Series("row", range(1, cells.height + 1), dtype=pl.Int64)
            sheets.append(RawSheet(name=name, cells=cells, row_numbers=rows, numeric_cells=probe))
        else:
            sheets.append(_compacted_sheet(name, cells, compaction, probe))
    return sheets


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


def _excel_numeric_probe(reader: fastexcel.ExcelReader, sheet: int) -> Callable[[int], pl.Series]:
    def probe(column: int) -> pl.Series:
        # Read as boolean, a number cell yields a value and a text cell yields null: the cell's own type, exactly.
        loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="boolean", use_columns=[column])
        return loaded.to_polars().to_series().is_not_null()

    return probe


_PARQUET_BUFFER = 1 << 20  # bytes read from a Parquet file at a time


def _parquet_sheet(path: Path, limits: Limits, rows: int) -> SheetSource:
    """The header is the column names (row 1); record i is row i + 2."""
    schema = pq.read_schema(path)
    columns = len(schema.names)
    if columns > limits.columns:
        raise UnreadableFile(
            f"文件「{path.name}」有 {count(columns)} 列，超过上限 {count(limits.columns)} 列，未导入任何内容："
            "请删去多余的列后再上传。"
        )
    empty = pl.from_arrow(schema.empty_table())
    assert isinstance(empty, pl.DataFrame)
    nested = [name for name, dtype in empty.schema.items() if dtype.is_nested()]
    if nested:
        raise UnreadableFile(
            f"文件「{path.name}」的列「{'」「'.join(nested)}」是嵌套结构（列表或结构体），无法按表格逐行读取："
            "请把这些列展开为普通的文字或数字列后再上传。"
        )
    header = pl.DataFrame([pl.Series(f"c{i}", [name], dtype=pl.String) for i, name in enumerate(empty.columns)])
    # Parquet types whole columns: a float column has lost the digits of an 18-digit code.
    floats = [dtype.is_float() for dtype in empty.dtypes]

    def chunk(cells: pl.DataFrame, first_row: int, has_header: bool) -> RawSheet:
        def probe(column: int) -> pl.Series:
            records = cells.height - has_header
            return pl.Series([False] * has_header + [floats[column]] * records, dtype=pl.Boolean)

        numbers = pl.Series("row", range(first_row, first_row + cells.height), dtype=pl.Int64)
        return RawSheet(name=None, cells=cells, row_numbers=numbers, numeric_cells=probe)

    def chunks() -> Iterator[RawSheet]:
        first_row = 1
        # A buffered stream reads a row group's pages as the batches need them, not the whole row group at once.
        with pq.ParquetFile(path, buffer_size=_PARQUET_BUFFER, pre_buffer=False) as file:
            for batch in file.iter_batches(batch_size=rows):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                cells = _string_columns(frame)
                has_header = first_row == 1
                cells = pl.concat([header, cells], how="vertical") if has_header else cells
                yield chunk(cells, first_row, has_header)
                first_row += cells.height
        if first_row == 1:  # no records: the header alone
            yield chunk(header, 1, True)

    return SheetSource(name=None, chunks=chunks)
