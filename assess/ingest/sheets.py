"""Readers: every supported file becomes a list of raw sheets of text cells.

Each reader keeps what the later stages need to name a cell the way the user sees it: the sheet name, the row number
Excel (or a text editor) shows, and, where the format has cell types, which cells held numbers rather than text.
Nothing here knows about fields or validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl
import pyarrow.parquet as pq

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb")
SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".parquet")


class UnreadableFile(Exception):
    """The file cannot be read at all; the message is Chinese and names the file."""


@dataclass(frozen=True)
class RawSheet:
    """One sheet (or the single table of a CSV or Parquet file) as text.

    `cells` has one String column per sheet column (`c0`, `c1`, ...) and one row per row of the sheet from its first
    row; `row_numbers` gives the row number the user sees for each of them. `numeric_cells(i)` tells, for column i,
    which cells the file held as numbers; it costs a second read, so callers ask only when the text suggests it.
    """

    name: str | None
    cells: pl.DataFrame
    row_numbers: pl.Series
    numeric_cells: Callable[[int], pl.Series] | None = None


def read_file(path: Path) -> list[RawSheet]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(f"文件「{path.name}」的格式不受支持：只接受 .xlsx、.xls、.csv 和 .parquet 文件。")
    if suffix in EXCEL_SUFFIXES:
        _refuse_markup(path, suffix)
    try:
        if suffix in EXCEL_SUFFIXES:
            return _read_excel(path)
        if suffix == ".csv":
            return [_read_csv(path)]
        return [_read_parquet(path)]
    except UnreadableFile:
        raise
    except Exception as exc:  # any reader failure means the same thing to the user
        raise UnreadableFile(f"文件「{path.name}」无法读取，可能已损坏或不是声明的格式。") from exc


def check_readable(path: Path) -> None:
    """Refuse, each in words of its own, a folder given as a file and a file this process may not read (before
    anything is copied, so that the sentence is about the file, not about the database's folder)."""
    if path.is_dir():
        raise UnreadableFile(f"「{path.name}」是一个文件夹，不是文件：请给出要导入的文件。")
    if not path.is_file():  # missing, or a pipe or device (which opening would wait on): the copy says why
        return
    try:
        with path.open("rb"):
            pass
    except PermissionError as exc:
        raise UnreadableFile(
            f"没有读取文件「{path.name}」的权限，未导入任何内容：请让文件的所有者或管理员开放读取权限，"
            "或把文件另存一份到自己的文件夹后再上传。"
        ) from exc


def _refuse_markup(path: Path, suffix: str) -> None:
    """Text markup under an Excel name, where an Excel file starts with its binary signature (PK for .xlsx, D0 CF 11
    E0 for .xls): an HTML table, as many government systems export their lists, or an Excel 2003 XML workbook."""
    with path.open("rb") as handle:
        head = handle.read(4096).replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").lower()
    if not head.startswith(b"<"):
        return
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head and b"<workbook" in head:
        raise UnreadableFile(
            f"文件「{path.name}」是 Excel 2003 XML 表格，只是扩展名写成了 {suffix}，不是本系统能读的 Excel 文件："
            "请在 Excel 中打开它，另存为 .xlsx 后再上传。"
        )
    if b"<table" in head or b"<html" in head:
        raise UnreadableFile(
            f"文件「{path.name}」是网页表格（HTML），只是扩展名写成了 {suffix}，不是 Excel 文件："
            "请在 Excel 中打开它，另存为 .xlsx 后再上传。"
        )


def _string_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(pl.String).alias(f"c{i}") for i, name in enumerate(frame.columns))


def _read_excel(path: Path) -> list[RawSheet]:
    reader = fastexcel.read_excel(path)
    sheets = []
    names = reader.sheet_names
    for index, sheet_name in enumerate(names):
        # Sheets are read by position: a malformed workbook may repeat a name, and such a sheet is told apart.
        name = sheet_name if names.count(sheet_name) == 1 else f"{sheet_name}（第{index + 1}个工作表）"
        # skip_rows=0 keeps leading blank rows, so frame row i is Excel row i + 1.
        sheet = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
        table, errors = sheet.to_arrow_with_errors()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        cells = _with_error_cells(_string_columns(frame), errors.errors if errors else [])
        sheets.append(
            RawSheet(
                name=name,
                cells=cells,
                row_numbers=pl.Series("row", range(1, cells.height + 1), dtype=pl.Int64),
                numeric_cells=_excel_numeric_probe(reader, index),
            )
        )
    return sheets


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


def _read_csv(path: Path) -> RawSheet:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    if not data or data.isspace():
        raise UnreadableFile(f"文件「{path.name}」是空文件。")
    try:  # polars checks the UTF-8 as it parses ...
        frame = _csv_cells(data)
    except pl.exceptions.ComputeError:  # ... and what is not UTF-8 is read as GB18030 (a superset of GBK)
        data = _utf8_from_gb18030(data, path)
        frame = _csv_cells(data)
    used = [name for name in frame.columns if frame[name].null_count() < frame.height]
    frame = frame.select(frame.columns[: frame.columns.index(used[-1]) + 1] if used else frame.columns[:1])
    return RawSheet(name=None, cells=frame, row_numbers=_csv_record_lines(data, frame.height))


def _utf8_from_gb18030(data: bytes, path: Path) -> bytes:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"文件「{path.name}」的文字编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件。"
            ) from exc
    raise UnreadableFile(f"文件「{path.name}」不是规范的 CSV 文件，无法按行列读取。")


def _csv_cells(data: bytes) -> pl.DataFrame:
    try:  # the first lines are usually the widest (title lines above the header are narrower) ...
        return _csv_table(data, _max_fields(data[: 1 << 16]), truncate=False)
    except pl.exceptions.ComputeError:  # ... and if a later line is wider, count every line
        return _csv_table(data, _max_fields(data), truncate=True)


def _csv_table(data: bytes, width: int, truncate: bool) -> pl.DataFrame:
    return pl.read_csv(
        data,
        has_header=False,
        schema={f"c{i}": pl.String for i in range(width)},
        truncate_ragged_lines=truncate,
        missing_columns="insert",
    )


def _max_fields(data: bytes) -> int:
    """The most fields a line of `data` has; quoted commas may overcount, and the extra columns come out empty and
    are dropped."""
    raw = np.frombuffer(data, dtype=np.uint8)
    commas = np.flatnonzero(raw == ord(","))
    ends = np.concatenate((np.flatnonzero(raw == ord("\n")), [raw.size]))
    per_line = np.diff(np.concatenate(([0], np.searchsorted(commas, ends))))
    return int(per_line.max()) + 1


def _csv_record_lines(data: bytes, records: int) -> pl.Series:
    """The physical line on which each record starts (1-based), so that a quoted multi-line cell does not shift the
    numbers of the rows below it."""
    if b'"' not in data:
        return pl.Series("row", range(1, records + 1), dtype=pl.Int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == ord("\n"))
    quotes = np.flatnonzero(raw == ord('"'))  # positions only: a running count over every byte would cost 8x the file
    in_quotes = np.searchsorted(quotes, newlines) % 2 == 1
    terminators = np.flatnonzero(~in_quotes)  # indexes into `newlines` of the record ends
    starts = np.concatenate(([0], terminators + 1))[:records]
    return pl.Series("row", starts + 1, dtype=pl.Int64)


def _read_parquet(path: Path) -> RawSheet:
    table = pq.read_table(path)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if nested:
        raise UnreadableFile(
            f"文件「{path.name}」的列「{'」「'.join(nested)}」是嵌套结构（列表或结构体），无法按表格逐行读取："
            "请把这些列展开为普通的文字或数字列后再上传。"
        )
    header = pl.DataFrame([pl.Series(f"c{i}", [name], dtype=pl.String) for i, name in enumerate(frame.columns)])
    cells = pl.concat([header, _string_columns(frame)], how="vertical")
    floats = [dtype.is_float() for dtype in frame.dtypes]

    def probe(column: int) -> pl.Series:
        # Parquet types whole columns: a float column has lost the digits of an 18-digit code.
        return pl.Series([False] + [floats[column]] * frame.height, dtype=pl.Boolean)

    # The header is the column names (row 1); record i is row i + 2.
    return RawSheet(
        name=None,
        cells=cells,
        row_numbers=pl.Series("row", range(1, cells.height + 1), dtype=pl.Int64),
        numeric_cells=probe,
    )
