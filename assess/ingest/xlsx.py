"""An .xlsx made safe and cheap for the reader before the reader opens it.

The reader (calamine, through fastexcel) holds a worksheet as one dense rectangle from its first to its last cell with
a value: a workbook of a few KB with one stray value in row 1,048,576 becomes a rectangle of a million rows, and one
in cell XFD1048576 a rectangle of 17 thousand million cells, which no memory holds (the process is killed). It also
unpacks the archive's parts without asking how large they are. So, before it opens a workbook:

- the parts are unpacked here, each at most to the size the archive declares for it (a part that unpacks larger is
  a damaged or forged archive), and all of them together at most to the limit `unpacked_mb`;
- each worksheet's cell references are checked against the rectangle its last rows suggest, in one scan, and a
  worksheet that does not fit is read cell by cell: its columns up to the last value (the limit `columns`), and the
  rectangle its values need once rows and columns without a value are left out (the limit `sheet_cells`);
- a worksheet whose values need a far smaller rectangle than the one they span is rewritten without its empty rows
  and columns, with a note of the row and column each kept one had (`Compaction`), so that problems still name the
  rows and columns the user sees;
- a large worksheet read as it is may be cut between rows into pieces, each made a workbook of its own (`Pieces`),
  which the reader reads at once, one per core: it reads a worksheet on one core only. The same scan checks that
  each piece holds only the rows between its first row and the next piece's, so that the pieces hold what the
  whole sheet holds.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import polars as pl
import pyarrow as pa

from assess.contract import Limits
from assess.ingest.files import MB, UnreadableFile, check_sheets, count

WORKBOOK = "xl/workbook.xml"
_RELATIONSHIPS = "xl/_rels/workbook.xml.rels"
# A worksheet whose rectangle holds at most this many cells for each cell its XML writes is read as it is (a filled
# sheet writes nearly every cell of its rectangle); a sparser one is checked cell by cell.
_CELLS_PER_WRITTEN_CELL = 4
# A rectangle this small is read as it is, however empty.
_SMALL_RECTANGLE = 1 << 16
# The ends of a worksheet's XML read to guess its rectangle.
_EDGE = 1 << 16

# A start tag of a row or a cell (with an optional namespace prefix): prefix, name, attributes, "/" when empty.
_TAG = re.compile(rb"<(\w+:)?(row|c)(?=[\s/>])([^>]*?)(/?)>")
_R = re.compile(rb"""\br\s*=\s*(["'])(.*?)\1""")
_CELL_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")
_EDGE_REF = re.compile(rb'<(?:\w+:)?c\s+r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_NUMBER = re.compile(rb'<(?:\w+:)?row\s+r="([0-9]{1,7})"')
_PLAIN_REF = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"')
_EMPTY_CELL = re.compile(rb'<c r="[^>]*(?:/>|></c>)')  # a cell without a value, which the reader skips
_ROW_START = b'<row r="'
_CUT_ROW = re.compile(rb'<row r="([0-9]{1,7})"')
# What stands for the other worksheets in a piece's workbook: the reader never reads them.
_EMPTY_SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'


@dataclass(frozen=True)
class Compaction:
    """Where the rows and columns of a rewritten worksheet come from: the i-th row (column) the reader sees is the
    sheet's row `rows[i]` (column `columns[i]`), numbered from 1 as Excel numbers them."""

    rows: np.ndarray
    columns: np.ndarray


@dataclass(frozen=True)
class Cutting:
    """Which worksheets are cut into pieces: those whose XML is larger than `larger_than` bytes, into `pieces`
    pieces of about equal size (fewer where pieces would be smaller than `larger_than`, but two at least), the first
    holding at least the sheet's first `head_rows` rows."""

    larger_than: int
    pieces: int
    head_rows: int


@dataclass(frozen=True)
class Pieces:
    """A worksheet cut between rows: piece k is the workbook `workbooks[k]`, whose worksheet at the same position
    holds the sheet's rows from `first_rows[k]` up to the row before the next piece's first (the last piece: to the
    end), numbered as in the sheet; its other worksheets are left empty."""

    workbooks: tuple[bytes, ...]
    first_rows: tuple[int, ...]


@dataclass(frozen=True)
class Workbook:
    """What the reader opens: the file itself, or the workbook with its sparse worksheets rewritten; and the large
    worksheets cut into pieces, which it reads from those instead."""

    source: Path | bytes
    compactions: dict[int, Compaction]  # by the worksheet's position in the workbook
    pieces: dict[int, Pieces] = field(default_factory=dict)  # by the worksheet's position in the workbook


_NO_CUTTING = Cutting(larger_than=0, pieces=1, head_rows=0)


def prepare(path: Path, limits: Limits, cutting: Cutting = _NO_CUTTING) -> Workbook:
    """Check an .xlsx against the limits and rewrite its sparse worksheets, or cut its large ones (`cutting`);
    refuse it (UnreadableFile) when a limit is passed. A damaged archive raises what zipfile raises."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        unpacked = sum(member.file_size for member in members)
        packed = max(1, sum(member.compress_size for member in members))
        if unpacked > limits.unpacked_mb * MB:
            raise UnreadableFile(
                f"文件「{path.name}」解压后有 {count(-(-unpacked // MB))} MB，超过上限 {count(limits.unpacked_mb)} MB，"
                "未导入任何内容：请拆分成几个较小的工作簿后再上传。"
            )
        if unpacked > limits.unpacked_ratio * packed:
            raise UnreadableFile(
                f"文件「{path.name}」解压后是原大小的 {count(unpacked // packed)} 倍，超过上限 "
                f"{count(limits.unpacked_ratio)} 倍，未导入任何内容：文件可能已损坏或是特意构造的压缩包"
                "（“压缩炸弹”），请在 Excel 中打开后另存为 .xlsx 再上传。"
            )
        if WORKBOOK not in archive.namelist():
            raise UnreadableFile(
                f"文件「{path.name}」是一个压缩包（zip），里面没有 Excel 工作簿，未导入任何内容："
                "请上传 Excel 文件本身。"
            )
        sheets = _worksheets(archive)
        check_sheets(path.name, len(sheets), limits)
        positions = {part: i for i, (_, part) in enumerate(sheets) if part}
        rewritten: dict[str, bytes] = {}
        compactions: dict[int, Compaction] = {}
        cuts: dict[int, tuple[str, bytearray, _Cut]] = {}
        for member in members:
            position = positions.get(member.filename)
            if position is None:
                _unpack(archive, member)
                continue
            xml = _unpacked(archive, member)
            planned = _plan(xml, f"文件「{path.name}」工作表「{sheets[position][0]}」", limits, cutting)
            if isinstance(planned, _Cut):
                cuts[position] = (member.filename, xml, planned)
            elif planned is not None:
                rewritten[member.filename], compactions[position] = planned
        if rewritten:  # the sheets are read from the rewritten workbook, none of them in pieces
            return Workbook(_rezipped(archive, rewritten), compactions)
        parts = set(positions)
        return Workbook(path, {}, {i: _pieces(archive, part, xml, cut, parts) for i, (part, xml, cut) in cuts.items()})


def _worksheets(archive: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """(name, part) of each sheet, in the workbook's order (the reader's): the part is None where the workbook
    names none that the archive holds."""
    workbook = ElementTree.fromstring(archive.read(WORKBOOK))
    names = set(archive.namelist())
    targets: dict[str | None, str] = {}
    if _RELATIONSHIPS in names:
        for link in ElementTree.fromstring(archive.read(_RELATIONSHIPS)).iter():
            written = link.get("Target")
            if link.tag.endswith("Relationship") and written:
                part = written.lstrip("/") if written.startswith("/") else posixpath.join("xl", written)
                targets[link.get("Id")] = posixpath.normpath(part)
    sheets = []
    for sheet in workbook.iter():
        if sheet.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        relation = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), None)
        target = targets.get(relation)
        sheets.append((sheet.get("name", ""), target if target in names else None))
    return sheets


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Unpack a part the reader will read, to no purpose but to find one that unpacks beyond its declared size (zipfile
    stops there, and the checksum then fails)."""
    if member.filename.endswith((".xml", ".rels")):
        with archive.open(member) as part:
            while part.read(MB):
                pass


def _unpacked(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytearray:
    """A worksheet's XML, unpacked once into one buffer of its declared size."""
    xml, filled = bytearray(member.file_size), 0
    with archive.open(member) as part:
        while chunk := part.read(MB):
            xml[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
    del xml[filled:]  # a part shorter than declared (zipfile stops at the declared size, never beyond)
    return xml


def _as_text(xml: bytearray) -> tuple[pl.Series, list[int]] | None:
    """The XML as a polars string column of pieces of about a 64th of it (at least a KB, at most a MB), each cut
    before a row's tag where one is near, else before a tag (where no character of UTF-8 is cut), over the buffer
    itself (no copy), and where each piece begins. None when it is not UTF-8 (XML may be UTF-16)."""
    step = min(MB, max(1 << 10, len(xml) // 64))
    cuts = [0]
    while cuts[-1] + step < len(xml):
        cut = xml.rfind(_ROW_START, cuts[-1] + 1, cuts[-1] + step)
        if cut < 0:
            cut = xml.rfind(b"<", cuts[-1] + 1, cuts[-1] + step)
        if cut < 0:  # text longer than a piece: cut at the next tag
            cut = xml.find(b"<", cuts[-1] + step)
        if cut < 0:
            break
        cuts.append(cut)
    cuts.append(len(xml))
    offsets = pa.py_buffer(np.array(cuts, dtype=np.int64))
    pieces = pa.Array.from_buffers(pa.large_binary(), len(cuts) - 1, [None, offsets, pa.py_buffer(xml)])
    binary = pl.from_arrow(pieces)
    assert isinstance(binary, pl.Series)
    try:
        return binary.cast(pl.String), cuts[:-1]
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):  # as polars words it, by version
        return None


@dataclass(frozen=True)
class _Cut:
    """Where a worksheet's XML is cut: its rows run from `offsets[0]` (after <sheetData>) to `offsets[-1]` (before
    </sheetData>), piece k's from `offsets[k]`, and piece k's first row is `first_rows[k]`."""

    offsets: tuple[int, ...]
    first_rows: tuple[int, ...]


def _plan(unpacked: bytearray, sheet: str, limits: Limits, cutting: Cutting) -> tuple[bytes, Compaction] | _Cut | None:
    """None when the worksheet (its XML) can be read as it is, or where it is cut into pieces that can; else the
    worksheet rewritten and where its rows and columns came from. Refuses a worksheet beyond the limits; `sheet`
    names it in the sentence."""
    bound = _bounds(unpacked, cutting)
    if bound is not None:
        cells = bound.rows * bound.columns
        within = bound.columns <= limits.columns and cells <= limits.sheet_cells
        if within and cells <= max(_SMALL_RECTANGLE, _CELLS_PER_WRITTEN_CELL * bound.written):
            return bound.cut
    xml = bytes(unpacked)
    found = _value_cells(xml)
    if found is None:
        return None
    rows_at, columns_at = found.rows, found.columns
    widest = int(columns_at.argmax())
    if columns_at[widest] > limits.columns:
        where = f"{_letters(int(columns_at[widest]))}{rows_at[widest]}"
        raise UnreadableFile(
            f"{sheet}有 {count(int(columns_at[widest]))} 列（最右边的内容在 {where} 单元格），超过上限 "
            f"{count(limits.columns)} 列，未导入任何内容：请删去表格右边多余的内容后再上传。"
        )
    kept_rows, kept_columns = np.unique(rows_at), np.unique(columns_at)
    extent = int(kept_columns[-1] - kept_columns[0] + 1)
    spanned = int(kept_rows[-1]) * extent  # the reader keeps the empty rows above the first value, not the columns
    needed = kept_rows.size * kept_columns.size
    compact = spanned > max(_SMALL_RECTANGLE, 2 * needed)  # leaving the empty rows and columns out pays
    height, width = (kept_rows.size, kept_columns.size) if compact else (spanned // extent, extent)
    if height * width > limits.sheet_cells:
        raise UnreadableFile(
            f"{sheet}要读取的部分有 {count(height)} 行、{count(width)} 列，共 {count(height * width)} 个单元格，"
            f"超过上限 {count(limits.sheet_cells)} 个，未导入任何内容："
            "请删去表格以外的内容，或把数据分到几个文件中再上传。"
        )
    if not compact:
        return None
    return _rewritten(xml, found, kept_rows, kept_columns), Compaction(kept_rows, kept_columns)


@dataclass(frozen=True)
class _Bounds:
    """The last row and column that hold every cell of a worksheet, how many cells it writes, and where it is cut
    into pieces (None: it is not)."""

    rows: int
    columns: int
    written: int
    cut: _Cut | None


def _bounds(xml: bytearray, cutting: Cutting) -> _Bounds | None:
    """The rectangle that holds every cell of the worksheet, found without reading each cell: it is guessed from the
    cells at both ends of the sheet, then confirmed by one scan for a cell beyond it, or one without a plain
    reference (which the guess cannot place); where the sheet is cut (`cutting`), the same scan confirms that each
    piece holds only its own rows. None when the guess does not hold."""
    head, tail = bytes(xml[:_EDGE]), bytes(xml[-_EDGE:])
    edges = _EDGE_REF.findall(head) + _EDGE_REF.findall(tail)
    read = _as_text(xml)
    if not edges or read is None:
        return None
    text, starts = read
    last_row = max([int(row) for _, row in edges] + [int(row) for row in _ROW_NUMBER.findall(tail)])
    widest = max((letters for letters, _ in edges), key=lambda letters: (len(letters), letters)).decode()
    cut = _cut(xml, starts, cutting, last_row) if cutting.pieces > 1 and len(xml) > cutting.larger_than else None
    lows = cut.first_rows if cut else (1,)
    highs = [row - 1 for row in lows[1:]] + [last_row]
    at = [0, *(starts.index(offset) for offset in (cut.offsets[1:-1] if cut else ())), len(starts)]
    xml_text = pl.col("xml")
    found = (
        text.to_frame("xml")
        .select(  # at once, on every core
            *(
                xml_text.slice(at[k], at[k + 1] - at[k])
                .str.contains(_outside(widest, lows[k], highs[k]))
                .any()
                .alias(str(k))
                for k in range(len(lows))
            ),
            written=xml_text.str.count_matches("<c ", literal=True).sum(),  # a prefixed tag, <x:c, is not counted
        )
        .row(0)
    )
    if any(found[:-1]):
        # Cut, a piece holds a row not its own, which may still lie within the whole sheet's rectangle.
        return _bounds(xml, _NO_CUTTING) if cut else None
    return _Bounds(last_row, _column(widest.encode()), int(found[-1]), cut)


def _outside(widest: str, low: int, high: int) -> str:
    """A pattern for a cell beyond column `widest` or outside rows `low` to `high`, or one whose first attribute is
    not a plain reference such as r="B7" (the reader also takes r="b7", and places a cell without a reference after
    the cell before it)."""
    space, name = r"[ \t\r\n]", r"[A-Za-z0-9_]"
    unplaced = (
        rf"{space}+(?:[^r \t\r\n]|r[^=]|r=[^\x22A-Z]"  # no r first, or r not followed by a quoted capital
        rf"|r=\x22[A-Z]{{1,3}}[^A-Z0-9]"  # letters followed by neither a letter nor a digit
        rf"|r=\x22[A-Z]{{1,3}}[0-9]{{1,7}}[^0-9\x22])|/?>"  # digits followed by neither a digit nor the quote
    )
    # The reader reads r="B007" as row 7: a number written with leading zeros is outside unless the rows start at 1.
    rows = _greater(str(high), _DIGITS) + (f"|{_lesser(str(low), _DIGITS)}|0[0-9]*" if low > 1 else "")
    beyond = rf"{space}+r=\x22(?:{_greater(widest, _LETTERS)}[0-9]|[A-Z]{{1,3}}(?:{rows})\x22)"
    return rf"<(?:{name}+:)?c(?:{unplaced}|{beyond})"


def _cut(xml: bytearray, starts: list[int], cutting: Cutting, last_row: int) -> _Cut | None:
    """Where to cut the worksheet into `cutting.pieces` pieces of about equal size: before a row's tag that begins a
    text piece of the scan (`starts`), inside <sheetData>, at rows that rise, after the rows the header is looked
    for and not beyond the last row. None when no such place is found."""
    body = xml.find(b"<sheetData>")
    end = xml.rfind(b"</sheetData>")
    if body < 0 or end < body or xml.find(b"<sheetData") != body or xml.rfind(b"<sheetData") != body:
        return None
    body += len(b"<sheetData>")
    if _TAG.search(xml, 0, body) or _TAG.search(xml, end):
        return None  # a row or cell outside <sheetData>: every piece would repeat it
    rows = {}
    for start in starts:
        found = _CUT_ROW.match(xml, start) if body < start < end else None
        if found:
            rows[start] = int(found.group(1))
    # Each piece's reader reads the workbook's shared strings again: no more pieces than `larger_than` pays for.
    pieces = min(cutting.pieces, max(2, len(xml) // max(cutting.larger_than, 1)))
    offsets, first_rows = [body], [1]
    for k in range(1, pieces):
        target = body + (end - body) * k // pieces
        after = max(first_rows[-1], cutting.head_rows)
        fit = [offset for offset, row in rows.items() if offset > offsets[-1] and after < row <= last_row]
        if fit:
            chosen = min(fit, key=lambda o: abs(o - target))
            offsets.append(chosen)
            first_rows.append(rows[chosen])
    if len(offsets) == 1:
        return None
    return _Cut((*offsets, end), tuple(first_rows))


def _pieces(archive: zipfile.ZipFile, part: str, xml: bytearray, cut: _Cut, sheets: set[str]) -> Pieces:
    """The workbooks of a worksheet's pieces: each holds its rows between the worksheet's own beginning and end,
    the other worksheets empty, parts that are not XML (pictures, macros) empty, and every other part as it is,
    stored (the reader unpacks nothing it need not)."""
    others = {
        member.filename: _EMPTY_SHEET
        if member.filename in sheets
        else archive.read(member)
        if member.filename.endswith((".xml", ".rels"))
        else b""
        for member in archive.infolist()
        if member.filename != part
    }
    view, (begin, *_, end) = memoryview(xml), cut.offsets
    workbooks = []
    for low, high in pairwise(cut.offsets):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as out:
            for name, data in others.items():
                out.writestr(name, data)
            size = begin + (high - low) + len(xml) - end
            with out.open(part, "w", force_zip64=size > zipfile.ZIP64_LIMIT) as written:
                for piece in (view[:begin], view[low:high], view[end:]):
                    written.write(piece)
        workbooks.append(buffer.getvalue())
    view.release()
    return Pieces(tuple(workbooks), cut.first_rows)


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


def _greater(value: str, alphabet: str) -> str:
    """A pattern for the strings over `alphabet` that name a larger number than `value` does (row numbers, and
    column letters, which Excel orders the same way): the longer ones, and those of its length larger at their
    first difference."""
    any_char = f"[{alphabet[0]}-{alphabet[-1]}]"
    options = [f"{any_char}{{{len(value) + 1},}}"]
    for i, char in enumerate(value):
        if char != alphabet[-1]:
            higher = alphabet[alphabet.index(char) + 1]
            options.append(f"{value[:i]}[{higher}-{alphabet[-1]}]{any_char}{{{len(value) - i - 1}}}")
    return f"(?:{'|'.join(options)})"


def _lesser(value: str, alphabet: str) -> str:
    """A pattern for the strings over `alphabet` that name a smaller number than `value` does: the shorter ones, and
    those of its length smaller at their first difference (`value` is not the smallest of its length)."""
    any_char = f"[{alphabet[0]}-{alphabet[-1]}]"
    options = [f"{any_char}{{1,{len(value) - 1}}}"] if len(value) > 1 else []
    for i, char in enumerate(value):
        if char != alphabet[0]:
            lower = alphabet[alphabet.index(char) - 1]
            options.append(f"{value[:i]}[{alphabet[0]}-{lower}]{any_char}{{{len(value) - i - 1}}}")
    return f"(?:{'|'.join(options)})"


@dataclass(frozen=True)
class _Cells:
    """The row and column of every cell with a value, and, where every cell of the sheet has a plain reference
    (r="B7", as every common writer writes them), those references."""

    rows: np.ndarray
    columns: np.ndarray
    references: np.ndarray | None


def _value_cells(xml: bytes) -> _Cells | None:
    """The cells with a value; None when there is none."""
    cleaned = _EMPTY_CELL.sub(b"", xml)
    references = _PLAIN_REF.findall(cleaned) if _plain(xml) else []
    if references and len(references) == cleaned.count(b'<c r="'):
        chosen = np.array(references, dtype="S10")
        rows, columns = np.zeros(chosen.size, dtype=np.int64), np.zeros(chosen.size, dtype=np.int64)
        for code in chosen.view(np.uint8).reshape(-1, 10).T:  # the letters, then the digits, left to right
            value = code.astype(np.int64)
            columns = np.where((code >= 65) & (code <= 90), columns * 26 + value - 64, columns)
            rows = np.where((code >= 48) & (code <= 57), rows * 10 + value - 48, rows)
        return _Cells(rows, columns, chosen)
    rows_at, columns_at = array("q"), array("q")
    for _, row, column, empty in _walk(xml):
        if not empty:
            rows_at.append(row)
            columns_at.append(column)
    if not rows_at:
        return None
    return _Cells(np.frombuffer(rows_at, dtype=np.int64), np.frombuffer(columns_at, dtype=np.int64), None)


def _plain(xml: bytes) -> bool:
    """Whether every cell of the sheet begins <c r="...": no prefixed tags (<x:c), no cell placed after the one
    before it."""
    if xml.count(b"<c ") != xml.count(b'<c r="'):
        return False
    return not any(tag in xml for tag in (b"<c>", b"<c/>", b":c ", b":c>", b":c/"))


def _walk(xml: bytes) -> Iterator[tuple[re.Match[bytes], int, int, bool]]:
    """Each cell's start tag with its row and column, as the reader places it (by its reference, or after the cell
    before it), and whether it holds a value."""
    row = column = 0
    for tag in _TAG.finditer(xml):
        reference = _R.search(tag.group(3))
        if tag.group(2) == b"row":
            row, column = (int(reference.group(2)) if reference else row + 1), 0
            continue
        if reference:
            parts = _CELL_REF.fullmatch(reference.group(2))
            if parts is None:
                raise ValueError(f"a cell reference the reader cannot place: {reference.group(2)!r}")
            column, at = _column(parts.group(1).upper()), int(parts.group(2))
        else:
            column, at = column + 1, row
        empty = tag.group(4) == b"/" or xml.startswith(b"</", tag.end())
        yield tag, at, column, empty


def _rewritten(xml: bytes, cells: _Cells, rows: np.ndarray, columns: np.ndarray) -> bytes:
    """The worksheet with its cells moved onto the consecutive rows and columns that `rows` and `columns` are
    numbered by. The reader skips a cell without a value wherever it stands, so such a cell may stay."""
    if cells.references is None:
        return _rewritten_cell_by_cell(xml, rows, columns)
    same_rows, same_columns = _unmoved(rows), _unmoved(columns)
    moved = (cells.rows > same_rows) | (cells.columns > same_columns)
    new_rows = np.searchsorted(rows, cells.rows[moved]) + 1
    new_columns = np.searchsorted(columns, cells.columns[moved]) + 1
    new = {
        old: f"{_letters(int(column))}{row}".encode()
        for old, row, column in zip(cells.references[moved].tolist(), new_rows, new_columns, strict=True)
    }
    beyond = re.compile(
        rb'<c r="((?:'
        + _greater(_letters(same_columns), _LETTERS).encode()
        + rb"[0-9]{1,7}|[A-Z]{1,3}"
        + _greater(str(same_rows), _DIGITS).encode()
        + rb'))"'
    )
    return beyond.sub(lambda cell: b'<c r="' + new.get(cell.group(1), cell.group(1)) + b'"', xml)


def _unmoved(kept: np.ndarray) -> int:
    """How many of the kept rows (or columns) keep their number: those before the first one left out."""
    if kept[-1] == kept.size:
        return int(kept.size)
    return int(np.argmin(kept == np.arange(1, kept.size + 1)))


def _rewritten_cell_by_cell(xml: bytes, rows: np.ndarray, columns: np.ndarray) -> bytes:
    """The same, for a sheet with cells placed after the cell before them: every cell gets a reference of its own,
    and the empty ones are left out."""
    new_row = {int(row): str(i + 1).encode() for i, row in enumerate(rows)}
    new_column = {int(column): _letters(i + 1).encode() for i, column in enumerate(columns)}
    pieces, taken = [], 0
    for tag, row, column, empty in _walk(xml):
        pieces.append(xml[taken : tag.start()])
        taken = tag.end()
        if not empty:
            attributes = _R.sub(b"", tag.group(3), count=1)
            reference = new_column[column] + new_row[row]
            pieces.append(b"<" + (tag.group(1) or b"") + b'c r="' + reference + b'"' + attributes + b">")
    pieces.append(xml[taken:])
    return b"".join(pieces)


def _rezipped(archive: zipfile.ZipFile, rewritten: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:  # stored: the reader unpacks nothing it need not
        for member in archive.infolist():
            data = rewritten[member.filename] if member.filename in rewritten else archive.read(member)
            out.writestr(member.filename, data)
    return buffer.getvalue()


def _column(letters: bytes) -> int:
    """A column's number from its letters: A is 1, Z 26, AA 27, XFD 16,384."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _letters(number: int) -> str:
    """A column's letters from its number."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
