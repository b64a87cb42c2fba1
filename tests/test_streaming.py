"""A file is validated and stored a few rows at a time, and says exactly what the whole file said: every problem
(code, place, value, message, in order), the counts and the rows stored are those of the whole-file checks
(tests/ingest_reference.py) for every file of the hostile corpus, the messy workbook, each of its sheets as a CSV
file, files whose later rows change what the first ones say about the whole sheet, and worksheets cut into pieces
that are read at once."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from polars.testing import assert_frame_equal

from assess.contract import Contract, load_contract
from assess.ingest import Options, xlsx
from assess.ingest.files import UnreadableFile, check_file
from assess.ingest.sheets import Chunking
from assess.ingest.upload import Ingest
from assess.ingest.validate import SheetValidator
from assess.reference import load_reference
from assess.store import Store
from assess.store.ahead import ahead
from assess.synthetic.messy import write_messy_workbook
from tests.conftest import HEADER, Rows, firm_row
from tests.corpus.make import SEED_FILE, load_cases, make, seed
from tests.ingest_reference import check_whole_file

# A CSV block of a line or two, Parquet batches of two rows, and every worksheet with rows below the header's cut
# into three pieces: every chunk boundary a file can have is crossed.
FEW_ROWS = Chunking(csv_bytes=64, parquet_rows=2, xlsx_cut_bytes=0, xlsx_pieces=3)
CASES = [case for case in load_cases() if case["make"] != "copy_of_seed"]  # a repeat is not validated at all


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, contract: Contract) -> Iterator[Store]:
    """A store holding the corpus's seed upload (firms 1-5), so that checks against the store have something to find."""
    folder = tmp_path_factory.mktemp("streaming")
    seed(folder / SEED_FILE)
    store = Store(folder / "assess.duckdb", contract)
    _ingest(store, contract, folder / SEED_FILE, Options())
    yield store
    store.close()


def _ingest(store: Store, contract: Contract, path: Path, options: Options, chunking: Chunking = FEW_ROWS):
    return Ingest(store, contract, load_reference(contract), options, chunking=chunking).file(path)


def assert_same_as_whole_file(store: Store, contract: Contract, path: Path, options: Options | None = None) -> None:
    options = options or Options()
    expected = check_whole_file(store, SheetValidator(contract, load_reference(contract), options), path)
    # A large generated file (a million blank lines) in 64-byte blocks took minutes: at most ~200 blocks per file.
    blocks = replace(FEW_ROWS, csv_bytes=max(FEW_ROWS.csv_bytes, path.stat().st_size // 200))
    got = _ingest(store, contract, path, options, blocks)
    if isinstance(expected, str):
        assert (got.error, got.upload_id) == (expected, None)
        return
    assert got.error is None, got.error
    assert_frame_equal(got.problems, expected.problems)
    counts = ("rows_read", "accepted", "rejected", "skipped")
    assert [getattr(got, k) for k in counts] == [getattr(expected, k) for k in counts]
    stored = pl.DataFrame(
        store.con.sql("SELECT * FROM filing_versions WHERE upload_id = $id ORDER BY seq", params={"id": got.upload_id})
    )
    assert stored["seq"].to_list() == list(range(expected.filings.height))
    assert_frame_equal(stored.select(expected.filings.columns), expected.filings, check_dtypes=False)
    values = pl.DataFrame(
        store.con.sql(
            "SELECT * FROM supplement_versions WHERE upload_id = $id ORDER BY seq", params={"id": got.upload_id}
        )
    )
    expected_values = expected.supplements.drop("position")
    assert_frame_equal(values.select(expected_values.columns), expected_values, check_dtypes=False)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_each_hostile_file_read_a_few_rows_at_a_time_says_what_the_whole_file_said(
    case: dict, seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    path = make(case, tmp_path)
    try:
        check_file(path, contract.limits)
    except UnreadableFile:
        return  # refused before anything reads it, in either case
    assert_same_as_whole_file(seeded, contract, path)


def test_the_messy_workbook_and_each_of_its_sheets_as_csv_say_what_the_whole_file_said(
    seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    book_path = tmp_path / "杂乱填报.xlsx"
    write_messy_workbook(book_path)
    assert_same_as_whole_file(seeded, contract, book_path, Options(year=2024))
    book = openpyxl.load_workbook(book_path)
    for sheet in book.worksheets:
        path = tmp_path / f"{sheet.title}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(
                [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
            )
        assert_same_as_whole_file(seeded, contract, path, Options(year=2024))


def _lines(rows: Sequence[Sequence[object]]) -> str:
    return "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"


def _rows_that_change_their_mind() -> list[list[str]]:
    """Percent shares that read as fractions until the last row, a column without a header filled only in the last
    row, the same firm-year in the first and the last chunk, and a blank run across chunks."""
    header = [*HEADER, "主导产品市场占有率", ""]
    rows = [header, *([*map(str, firm_row(serial)), "0.25", ""] for serial in range(21, 31))]
    rows += [[""] * len(header)] * 3
    rows.append([*map(str, firm_row(21, 营业收入=500000)), "35", "备注"])
    return rows


def test_later_rows_that_change_what_the_first_ones_said_are_read_again_with_what_the_whole_sheet_says(
    seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    rows = _rows_that_change_their_mind()
    as_csv = tmp_path / "后改.csv"
    as_csv.write_text(_lines(rows), encoding="utf-8")
    assert_same_as_whole_file(seeded, contract, as_csv)
    as_parquet = tmp_path / "后改.parquet"
    columns = [name or "列12" for name in rows[0]]
    pl.DataFrame(rows[1:], schema=columns, orient="row").with_columns(
        pl.col(pl.String).replace("", None)
    ).write_parquet(as_parquet)
    assert_same_as_whole_file(seeded, contract, as_parquet)


def test_a_csv_file_found_not_to_be_utf8_only_in_a_later_chunk_is_read_again_as_the_whole_file_was(
    seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    """A UTF-8 file with a row pasted in from a GBK one: the whole file is read as GB18030, as it always was."""
    rows: list[Sequence[object]] = [HEADER, *(firm_row(serial) for serial in range(41, 71))]
    path = tmp_path / "混合编码.csv"
    path.write_bytes(_lines(rows).encode() + _lines([firm_row(71, 企业名称="山东某某公司")]).encode("gb18030"))
    assert_same_as_whole_file(seeded, contract, path)


def test_a_failure_after_some_chunks_were_written_leaves_the_database_as_it_was(
    seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    tables = ("uploads", "filing_versions", "supplement_versions", "problems")
    before = {t: seeded.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    path = tmp_path / "后面坏了.csv"
    path.write_bytes(_lines([HEADER, *(firm_row(serial) for serial in range(51, 61))]).encode() + b"\x00\n")
    result = _ingest(seeded, contract, path, Options())
    assert result.error is not None and "空字节" in result.error and result.upload_id is None
    assert {t: seeded.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables} == before
    assert not list(seeded.files_dir.glob(".staging*"))


def test_chunks_validated_ahead_of_the_write_come_in_order_and_a_failure_after_those_made_before_it() -> None:
    def chunks() -> Iterator[int]:
        yield from range(5)
        raise UnreadableFile("第6块读不出")

    received: list[int] = []
    with pytest.raises(UnreadableFile, match="第6块读不出"):
        received.extend(ahead(chunks()))
    assert received == [0, 1, 2, 3, 4]


def test_a_write_that_stops_early_stops_the_validation_ahead_of_it() -> None:
    made: list[int] = []

    def chunks() -> Iterator[int]:
        for chunk in range(100):
            made.append(chunk)
            yield chunk

    taken = ahead(chunks(), depth=1)
    assert next(taken) == 0
    taken.close()
    assert len(made) <= 3  # the one taken, the one waiting and the one being made when the write stopped


# --- a large worksheet read in pieces ----------------------------------------------------------------------------


def _filings_book(path: Path, serials: range, shape: Callable[[Worksheet], None]) -> Path:
    """A workbook of clean filings (one per row under HEADER), then reshaped as a user's sheet might be."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "填报"
    rows: Rows = [HEADER, *(firm_row(serial) for serial in serials)]
    for row in rows:
        sheet.append(list(row))
    shape(sheet)
    book.save(path)
    return path


def _blank_runs_errors_and_numbers(sheet: Worksheet) -> None:
    """Runs of blank rows (one, five, forty), error values and credit codes typed as numbers, all through the sheet."""
    for at, rows in ((60, 1), (150, 5), (230, 40)):
        sheet.insert_rows(at, rows)
    for row in range(20, sheet.max_row, 37):
        sheet.cell(row, 6).value = "#N/A"  # openpyxl writes Excel's error literals as error cells
    for row in range(25, sheet.max_row, 53):
        sheet.cell(row, 1).value = 9.1370100123456e17


def _from_column_b(sheet: Worksheet) -> None:
    """Column A left empty, and a column without a header filled here and there."""
    sheet.insert_cols(1)
    for row in range(40, sheet.max_row, 29):
        sheet.cell(row, len(HEADER) + 2).value = "备注"


def _a_note_far_right_at_the_end(sheet: Worksheet) -> None:
    """A note right of every header, in the sheet's last row: only the last piece holds that column."""
    sheet.cell(sheet.max_row, len(HEADER) + 6).value = "核对人：张三"


def _formatted_empty_rows_after(sheet: Worksheet) -> None:
    """Two thousand rows formatted below the table and never filled: the last pieces hold no value at all."""
    for row in range(sheet.max_row + 1, sheet.max_row + 2001):
        for column in range(1, len(HEADER) + 1):
            sheet.cell(row, column).number_format = "0.00"


def _formatted_empty_rows_between(sheet: Worksheet) -> None:
    """A thousand formatted, never filled rows in the middle of the table: the pieces are cut among them."""
    sheet.insert_rows(150, 1000)
    for row in range(150, 1150):
        for column in range(1, len(HEADER) + 1):
            sheet.cell(row, column).number_format = "0.00"


def _first_column_left_empty_later(sheet: Worksheet) -> None:
    """The credit codes of the later rows left out: the last piece holds nothing in column A."""
    for row in range(150, sheet.max_row + 1):
        sheet.cell(row, 1).value = None


def _column_a_only_at_the_top(sheet: Worksheet) -> None:
    """The table from column B, notes in column A of its first rows only, and credit codes typed as numbers
    further down: the later pieces begin a column to the right of the first."""
    sheet.insert_cols(1)
    for row in range(2, 6):
        sheet.cell(row, 1).value = "说明"
    for row in range(120, sheet.max_row, 41):
        sheet.cell(row, 2).value = 9.1370100123456e17


SHAPES = {
    "整齐": lambda sheet: None,
    "A列只在开头有内容": _column_a_only_at_the_top,
    "中间有格式的空行": _formatted_empty_rows_between,
    "后段缺第一列": _first_column_left_empty_later,
    "空行、错误值与数字代码": _blank_runs_errors_and_numbers,
    "从B列开始": _from_column_b,
    "末行右侧有备注": _a_note_far_right_at_the_end,
    "表下有格式的空行": _formatted_empty_rows_after,
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_large_worksheet_read_in_pieces_at_once_says_what_the_whole_sheet_said(
    shape: str, seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    path = _filings_book(tmp_path / f"{shape}.xlsx", range(101, 401), SHAPES[shape])
    cutting = xlsx.Cutting(FEW_ROWS.xlsx_cut_bytes, FEW_ROWS.xlsx_pieces, contract.header_search_rows)
    cut = xlsx.prepare(path, contract.limits, cutting).pieces[0]
    assert len(cut.workbooks) == 3 and cut.first_rows[0] == 1 < cut.first_rows[1] < cut.first_rows[2]
    assert_same_as_whole_file(seeded, contract, path)


def _row_30_written_last(xml: bytes) -> bytes:
    moved = re.search(rb'<row r="30".*?</row>', xml)
    assert moved is not None
    return xml.replace(moved.group(0), b"").replace(b"</sheetData>", moved.group(0) + b"</sheetData>")


def _a_cell_named_with_leading_zeros(xml: bytes) -> bytes:
    """A cell of row 100 named B003, which the reader places in row 3: as long as row 100 and shorter than the
    first row of its piece (69)."""
    assert b'<c r="B100"' in xml
    return xml.replace(b'<c r="B100"', b'<c r="B003"')


MISPLACED = {"第30行写在最后": _row_30_written_last, "单元格编号有前导零": _a_cell_named_with_leading_zeros}


@pytest.mark.parametrize("edit", MISPLACED, ids=list(MISPLACED))
def test_a_worksheet_with_a_cell_outside_its_piece_is_not_cut_and_reads_as_it_did(
    edit: str, seeded: Store, contract: Contract, tmp_path: Path
) -> None:
    """A cell placed where no piece could hold it among its own rows."""
    written = _filings_book(tmp_path / "顺序.xlsx", range(101, 301), lambda sheet: None)  # cut at rows 69 and 135
    with zipfile.ZipFile(written) as archive:
        parts = {member.filename: archive.read(member) for member in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = MISPLACED[edit](parts["xl/worksheets/sheet1.xml"])
    path = tmp_path / f"{edit}.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    cutting = xlsx.Cutting(FEW_ROWS.xlsx_cut_bytes, FEW_ROWS.xlsx_pieces, contract.header_search_rows)
    assert xlsx.prepare(path, contract.limits, cutting).pieces == {}
    assert_same_as_whole_file(seeded, contract, path)


def test_a_worksheet_is_cut_into_no_more_pieces_than_its_size_pays_for(contract: Contract, tmp_path: Path) -> None:
    """Sixteen cores, but a sheet three times the size that is worth cutting: three pieces, each reading the shared
    strings once."""
    path = _filings_book(tmp_path / "三块.xlsx", range(101, 401), lambda sheet: None)
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    cutting = xlsx.Cutting(size // 3, 16, contract.header_search_rows)
    assert len(xlsx.prepare(path, contract.limits, cutting).pieces[0].workbooks) == 3
