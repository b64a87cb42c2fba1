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

from assess.contract import Limits
from assess.ingest import xlsx
from assess.ingest.files import UnreadableFile, check_file, check_sheets, count, excel_kind

__all__ = ["RawSheet", "UnreadableFile", "check_file", "read_file"]


@dataclass(frozen=True)
class RawSheet:
    """One sheet (or the single table of a CSV or Parquet file) as text.

    `cells` has one String column per sheet column (`c0`, `c1`, ...) and one row per row of the sheet from its first
    row, except that a run of blank rows may be read as one blank row: `spans` then gives how many rows of the sheet
    each row stands for. `row_numbers` gives the row number the user sees for each row (for a run, its first), and
    `column_numbers` the column number, where a reader left out empty columns. `numeric_cells(i)` tells, for column
    i, which cells the file held as numbers; it costs a second read, so callers ask only when the text suggests it.
    """

    name: str | None
    cells: pl.DataFrame
    row_numbers: pl.Series
    numeric_cells: Callable[[int], pl.Series] | None = None
    spans: pl.Series | None = None  # None: each row is one row of the sheet
    column_numbers: tuple[int, ...] | None = None  # None: column i is the sheet's column i + 1

    def first_rows(self, n: int) -> pl.DataFrame:
        """The rows of `cells` among the sheet's first n rows (where the header is looked for)."""
        if self.spans is None:
            return self.cells.head(n)
        return self.cells.filter((self.spans.cum_sum() - self.spans) < n)


def read_file(path: Path, limits: Limits) -> list[RawSheet]:
    """The sheets of a file that `check_file` let through; a file beyond a limit is refused (UnreadableFile), and
    so is one no reader can read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return [_read_csv(path, limits)]
        if suffix == ".parquet":
            return [_read_parquet(path, limits)]
        return _read_excel(path, limits)
    except UnreadableFile:
        raise
    except Exception as exc:  # any reader failure means the same thing to the user
        raise UnreadableFile(f"文件「{path.name}」无法读取，可能已损坏或不是声明的格式。") from exc


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


def _read_csv(path: Path, limits: Limits) -> RawSheet:
    data = _without_bom(path.read_bytes(), path)
    if b"\x00" in data:
        raise UnreadableFile(
            f"文件「{path.name}」含有空字节，不是文本格式的 CSV 文件（可能已损坏，或是改了扩展名的其他文件），"
            "未导入任何内容。"
        )
    text = _Lines.of(_without_blank_end(data))
    if not text.data.strip():
        raise UnreadableFile(f"文件「{path.name}」是空文件，未导入任何内容。")
    try:  # polars checks the UTF-8 as it parses ...
        frame = _csv_cells(text, path.name, limits)
    except pl.exceptions.ComputeError:  # ... and what is not UTF-8 is read as GB18030 (a superset of GBK)
        text = _Lines(_utf8_from_gb18030(text.data, path), text.runs, text.spans)
        frame = _csv_cells(text, path.name, limits)
    used = [name for name in frame.columns if frame[name].null_count() < frame.height]
    frame = frame.select(frame.columns[: frame.columns.index(used[-1]) + 1] if used else frame.columns[:1])
    lines = _csv_record_lines(text.data, frame.height)
    return RawSheet(name=None, cells=frame, row_numbers=text.original(lines), spans=text.spans_of(lines))


def _without_bom(data: bytes, path: Path) -> bytes:
    """The bytes without a UTF-8 byte-order mark; a file with a UTF-16 one (Excel's "Unicode text") as UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"文件「{path.name}」的文字编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件。"
            ) from exc
    return data.removeprefix(b"\xef\xbb\xbf")


_BLANK = b" \t\r,"  # what a line holds that has no value: spaces, tabs and separators


def _without_blank_end(data: bytes) -> bytes:
    """The bytes without the blank lines (and empty fields) at their end, which are not rows; copied only when there
    is more to cut than the last line's end."""
    end, blank = len(data), _BLANK + b"\n"
    while end and data[end - 1] in blank:
        end -= 1
    return data[:end] if end < len(data) - 2 else data


# A newline and the blank lines after it (possessive: a long blank line is not searched back through).
_BLANK_LINES = re.compile(rb"\n((?:[ \t\r,]*+\n)+)")
_LEADING_BLANK_LINES = re.compile(rb"(?:[ \t\r,]*+\n)+")


@dataclass(frozen=True)
class _Lines:
    """A CSV file's bytes with each run of blank lines (outside quotes) made one empty line: so many blank lines, or
    one blank line of a million separators, cost one empty row. `runs` are the lines (in `data`, from 1) of the empty
    lines that stand for two or more, `spans` how many each stands for."""

    data: bytes
    runs: np.ndarray
    spans: np.ndarray

    @classmethod
    def of(cls, data: bytes) -> _Lines:
        pieces, runs, spans = [], [], []
        taken = lines = 0  # the bytes of `data` taken into `pieces`, and the newlines in the pieces
        counted = quotes = 0  # the bytes of `data` whose quotes are counted, and that count
        leading = _LEADING_BLANK_LINES.match(data)
        found = [(0, leading.end())] if leading else []
        found += ((m.start(1), m.end(1)) for m in _BLANK_LINES.finditer(data, leading.end() if leading else 0))
        quoted = b'"' in data
        for start, end in found:
            if quoted:
                quotes, counted = quotes + data.count(b'"', counted, start), end  # blank lines hold no quotes
            if end - start == 1 or quotes % 2:  # one empty line already, or lines inside a quoted cell
                continue
            lines += data.count(b"\n", taken, start)
            pieces += [data[taken:start], b"\n"]
            span = data.count(b"\n", start, end)
            if span > 1:
                runs.append(lines + 1)
                spans.append(span)
            lines += 1
            taken = end
        if not pieces:
            return cls(data, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        pieces.append(data[taken:])
        return cls(b"".join(pieces), np.array(runs, dtype=np.int64), np.array(spans, dtype=np.int64))

    def original(self, lines: pl.Series) -> pl.Series:
        """The line numbers of the file for line numbers of `data`."""
        if not self.runs.size:
            return lines
        removed = np.concatenate(([0], np.cumsum(self.spans - 1)))
        at = lines.to_numpy()
        return pl.Series(lines.name, at + removed[np.searchsorted(self.runs, at, side="left")])

    def spans_of(self, lines: pl.Series) -> pl.Series | None:
        """How many lines of the file each record starting on `lines` (of `data`) stands for."""
        if not self.runs.size:
            return None
        starts = lines.to_numpy()
        spans = np.ones(starts.size, dtype=np.int64)
        spans[np.searchsorted(starts, self.runs)] = self.spans
        return pl.Series("span", spans)


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


def _csv_cells(text: _Lines, name: str, limits: Limits) -> pl.DataFrame:
    """The records as text cells, as many columns as the widest record fills. Empty fields at the end of a record
    are no columns: a line of a million separators after its values costs what its values cost."""
    data = text.data
    head = _record_fields(data[: 1 << 16]).max()
    if head <= limits.columns:
        try:  # the first lines are usually the widest (title lines above the header are narrower) ...
            return _csv_table(data, int(head), truncate=False)
        except pl.exceptions.ComputeError:  # ... and if a later record is wider, count every record
            pass
    fields = _record_fields(data)
    if fields.max() > limits.columns:
        data = _without_trailing_blanks(data)
        fields = _record_fields(data)
    widest = int(fields.argmax())
    if fields[widest] > limits.columns:
        line = int(text.original(_csv_record_lines(data, widest + 1))[widest])
        raise UnreadableFile(
            f"文件「{name}」第{line}行有 {count(int(fields[widest]))} 列，超过上限 {count(limits.columns)} 列，"
            "未导入任何内容：请删去多余的列后再上传。"
        )
    return _csv_table(data, int(fields[widest]), truncate=True)


def _csv_table(data: bytes, width: int, truncate: bool) -> pl.DataFrame:
    return pl.read_csv(
        data,
        has_header=False,
        schema={f"c{i}": pl.String for i in range(width)},
        truncate_ragged_lines=truncate,
        missing_columns="insert",
    )


def _record_ends(raw: np.ndarray) -> np.ndarray:
    """The position of the newline that ends each record, but the last: a newline inside quotes is part of a cell."""
    newlines = np.flatnonzero(raw == ord("\n"))
    quotes = np.flatnonzero(raw == ord('"'))  # positions only: a running count over every byte would cost 8x the file
    if not quotes.size:
        return newlines
    return newlines[np.searchsorted(quotes, newlines) % 2 == 0]


def _record_fields(data: bytes) -> np.ndarray:
    """How many fields each record of `data` has; quoted commas may overcount, and the extra columns come out empty
    and are dropped."""
    raw = np.frombuffer(data, dtype=np.uint8)
    commas = np.flatnonzero(raw == ord(","))
    ends = np.concatenate((_record_ends(raw), [raw.size]))
    return np.diff(np.concatenate(([0], np.searchsorted(commas, ends)))) + 1


def _without_trailing_blanks(data: bytes) -> bytes:
    """Each record without the empty fields at its end (which lie outside quotes: the record ends there)."""
    ends = _record_ends(np.frombuffer(data, dtype=np.uint8)).tolist()
    starts = [0, *(end + 1 for end in ends)]
    return b"\n".join(data[start:end].rstrip(_BLANK) for start, end in zip(starts, [*ends, len(data)], strict=True))


def _csv_record_lines(data: bytes, records: int) -> pl.Series:
    """The physical line on which each record starts (1-based), so that a quoted multi-line cell does not shift the
    numbers of the rows below it."""
    if b'"' not in data:
        return pl.Series("row", range(1, records + 1), dtype=pl.Int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == ord("\n"))
    quotes = np.flatnonzero(raw == ord('"'))
    terminators = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)  # indexes into `newlines` of record ends
    starts = np.concatenate(([0], terminators + 1))[:records]
    return pl.Series("row", starts + 1, dtype=pl.Int64)


def _read_parquet(path: Path, limits: Limits) -> RawSheet:
    columns = len(pq.read_schema(path).names)
    if columns > limits.columns:
        raise UnreadableFile(
            f"文件「{path.name}」有 {count(columns)} 列，超过上限 {count(limits.columns)} 列，未导入任何内容："
            "请删去多余的列后再上传。"
        )
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
