"""CSV files, read in blocks of whole records: each block becomes a chunk of text cells, so that a file of any size
is read in bounded memory.

A block ends at the end of a record (a newline outside quotes); the first block holds at least the lines where the
header is looked for. Every block is read as the whole file was: blank lines compacted (`_Lines`), UTF-8 checked as
polars parses it, the width taken from the widest record. What only the whole file can tell is settled so: a file that
turns out not to be UTF-8 in a later block is read again from its start as GB18030 (`ReadAgain`); the columns a later
block fills are the validation's business (`assess.ingest.facts`).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from assess.contract import Limits
from assess.ingest.files import UnreadableFile, count
from assess.ingest.raw import RawSheet, ReadAgain, SheetSource

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CONTENT = re.compile(rb"[^ \t\r,\n]")  # a byte that is a value, not a blank or a separator


class CsvSource:
    """A CSV file read in blocks of about `block_bytes`; `head_rows`: the lines the first block holds at least."""

    def __init__(self, path: Path, limits: Limits, head_rows: int, block_bytes: int) -> None:
        self.path, self.limits, self.head_rows, self.block_bytes = path, limits, head_rows, block_bytes
        self.gb18030 = False  # settled by the first block polars cannot read as UTF-8

    def sheet(self) -> SheetSource:
        return SheetSource(name=None, chunks=self.chunks)

    def chunks(self) -> Iterator[RawSheet]:
        handed = False
        for block, before, last in self._blocks():
            chunk = self._chunk(block, before, last, handed)
            if chunk is not None:
                yield chunk
                handed = True

    def _chunk(self, block: bytes, before: int, last: bool, handed: bool) -> RawSheet | None:
        name = self.path.name
        if b"\x00" in block:
            raise UnreadableFile(
                f"文件「{name}」含有空字节，不是文本格式的 CSV 文件（可能已损坏，或是改了扩展名的其他文件），"
                "未导入任何内容。"
            )
        text = _Lines.of(_without_blank_end(block) if last else block)
        if last and not text.data.strip():
            if handed:  # the blank lines at the file's end, which are no rows
                return None
            raise UnreadableFile(f"文件「{name}」是空文件，未导入任何内容。")
        if self.gb18030:
            text = _Lines(_from_gb18030(text.data, name), text.runs, text.spans)
            frame = _csv_cells(text, name, self.limits, before)
        else:
            try:  # polars checks the UTF-8 as it parses ...
                frame = _csv_cells(text, name, self.limits, before)
            except pl.exceptions.ComputeError:  # ... and a file that is not UTF-8 is read as GB18030 (beyond GBK)
                if self._utf8():
                    raise UnreadableFile(f"文件「{name}」不是规范的 CSV 文件，无法按行列读取。") from None
                self.gb18030 = True
                if handed:
                    raise ReadAgain from None
                text = _Lines(_from_gb18030(text.data, name), text.runs, text.spans)
                frame = _csv_cells(text, name, self.limits, before)
        used = [column for column in frame.columns if frame[column].null_count() < frame.height]
        frame = frame.select(frame.columns[: frame.columns.index(used[-1]) + 1] if used else frame.columns[:1])
        lines = _csv_record_lines(text.data, frame.height)
        return RawSheet(name=None, cells=frame, row_numbers=text.original(lines) + before, spans=text.spans_of(lines))

    def _utf8(self) -> bool:
        """Whether the whole file is UTF-8 (after its byte-order mark)."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block, _, last in self._blocks():
                decoder.decode(block, final=last)
        except UnicodeDecodeError:
            return False
        return True

    def _blocks(self) -> Iterator[tuple[bytes, int, bool]]:
        """Each block, the lines of the file before it, and whether it is the last."""
        before, held = 0, None
        for block in self._cut():
            if held is not None:
                yield held, before, False
                before += held.count(b"\n")
            held = block
        yield held or b"", before, True

    def _cut(self) -> Iterator[bytes]:
        with self._open() as stream:
            pieces: list[bytes] = []
            first = True
            while read := stream.read(self.block_bytes):
                pieces.append(read)
                buffer = b"".join(pieces) if len(pieces) > 1 else read
                ends = _record_ends(np.frombuffer(buffer, dtype=np.uint8))
                end = int(ends[-1]) + 1 if ends.size else 0
                if not end or (first and (ends.size <= self.head_rows or not _CONTENT.search(buffer, 0, end))):
                    pieces = [buffer]  # no whole record yet, or not enough for the header: read on
                    continue
                yield buffer[:end]
                pieces, first = [buffer[end:]], False
            yield b"".join(pieces)

    @contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        """The file's bytes after a UTF-8 byte-order mark; a file with a UTF-16 one (Excel's "Unicode text") as
        UTF-8, converted whole."""
        with self.path.open("rb") as handle:
            head = handle.read(len(_UTF8_BOM))
            if head.startswith(_UTF16_BOMS):
                yield io.BytesIO(_from_utf16(head + handle.read(), self.path.name))
                return
            if head != _UTF8_BOM:
                handle.seek(0)
            yield handle


def _from_utf16(data: bytes, name: str) -> bytes:
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"文件「{name}」的文字编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件。") from exc


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


def _from_gb18030(data: bytes, name: str) -> bytes:
    try:
        return data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"文件「{name}」的文字编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV 文件。") from exc


def _csv_cells(text: _Lines, name: str, limits: Limits, before: int) -> pl.DataFrame:
    """The records as text cells, as many columns as the widest record fills. Empty fields at the end of a record
    are no columns: a line of a million separators after its values costs what its values cost. `before`: the lines
    of the file before `text` (a block of it), which the refusal of a too wide record counts in."""
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
        line = before + int(text.original(_csv_record_lines(data, widest + 1))[widest])
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
