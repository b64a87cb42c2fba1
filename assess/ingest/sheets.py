"""Readers: every supported file becomes a list of sheets, each read as chunks of text cells.

Each reader keeps what the later stages need to name a cell the way the user sees it: the sheet name, the row number
Excel (or a text editor) shows, and, where the format has cell types, which cells held numbers rather than text.
CSV and Parquet files are read a chunk at a time (`Chunking`); a workbook's sheet is one chunk, since the reader
loads a sheet whole, or, where it is large, one chunk for each of the pieces it is read in at once (`excel`).
Nothing here knows about fields or validation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from assess.contract import Limits, Memory
from assess.ingest.csvfile import CsvSource
from assess.ingest.excel import read_excel
from assess.ingest.files import UnreadableFile, check_file, count
from assess.ingest.raw import RawSheet, ReadAgain, SheetSource, string_columns
from assess.ingest.xlsx import Cutting

__all__ = ["Chunking", "RawSheet", "SheetSource", "UnreadableFile", "check_file", "read_file"]


@dataclass(frozen=True)
class Chunking:
    """How much of a file is read (and then validated and stored) at a time."""

    csv_bytes: int
    parquet_rows: int
    xlsx_cut_bytes: int = 1 << 62  # an .xlsx worksheet larger than this (its XML) is read in pieces
    xlsx_pieces: int = 1  # into how many, read at once

    @classmethod
    def of(cls, memory: Memory) -> Chunking:
        """The contract's pieces (`memory` in filing.yaml); a large worksheet is cut into one piece per core."""
        return cls(
            csv_bytes=memory.csv_block_mb << 20,
            parquet_rows=memory.parquet_rows,
            xlsx_cut_bytes=memory.xlsx_cut_mb << 20,
            xlsx_pieces=_cores(),
        )


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
            cutting = Cutting(chunking.xlsx_cut_bytes, chunking.xlsx_pieces, head_rows)
            sheets = read_excel(path, limits, cutting)
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
                cells = string_columns(frame)
                has_header = first_row == 1
                cells = pl.concat([header, cells], how="vertical") if has_header else cells
                yield chunk(cells, first_row, has_header)
                first_row += cells.height
        if first_row == 1:  # no records: the header alone
            yield chunk(header, 1, True)

    return SheetSource(name=None, chunks=chunks)
