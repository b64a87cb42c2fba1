"""Each reader, from real files: the same filings whatever the format, with the row numbers the user sees."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlwt

from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, codes_at, firm_row, make_code, write_xlsx

ROWS: Rows = [HEADER, firm_row(1), firm_row(2, 所属地市="青岛市", 营业收入="1,234.5"), firm_row(3, 所属地市="370203")]


def _csv_text(rows: Rows) -> str:
    return "\n".join(",".join("" if v is None else f'"{v}"' if "," in str(v) else str(v) for v in row) for row in rows)


def _expect_three_filings(store: Store) -> None:
    frame = store.filings().sort("credit_code")
    assert frame["credit_code"].to_list() == sorted(make_code(i) for i in (1, 2, 3))
    assert sorted(frame["city"].to_list()) == ["济南", "青岛", "青岛"]
    assert sorted(float(v) for v in frame["revenue"]) == [1234.5, 5000.0, 5000.0]


def test_xlsx(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": ROWS}))
    assert (result.rows_read, result.accepted) == (3, 3)
    _expect_three_filings(store)


def test_xls(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("表1")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(tmp_path / "f.xls"))
    result = ingest(tmp_path / "f.xls")
    assert (result.rows_read, result.accepted) == (3, 3)
    _expect_three_filings(store)


@pytest.mark.parametrize(("encoding", "name"), [("gb18030", "gbk.csv"), ("utf-8-sig", "bom.csv"), ("utf-8", "u.csv")])
def test_csv_in_each_encoding(tmp_path: Path, ingest: Ingester, store: Store, encoding: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_csv_text(ROWS).encode(encoding))
    result = ingest(path)
    assert (result.rows_read, result.accepted) == (3, 3)
    _expect_three_filings(store)
    assert store.filings()["name"].to_list()[0].startswith("合成企业")


def test_parquet(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    frame = pl.DataFrame([pl.Series(h, [str(r[i]) for r in ROWS[1:]]) for i, h in enumerate(HEADER)])
    frame.write_parquet(tmp_path / "f.parquet")
    result = ingest(tmp_path / "f.parquet")
    assert (result.rows_read, result.accepted) == (3, 3)
    _expect_three_filings(store)


def test_parquet_rows_are_numbered_from_2(tmp_path: Path, ingest: Ingester) -> None:
    rows = [firm_row(1), firm_row(2, 所属地市="杭州")]
    frame = pl.DataFrame({h: [str(r[i]) for r in rows] for i, h in enumerate(HEADER)})
    frame.write_parquet(tmp_path / "f.parquet")
    assert codes_at(ingest(tmp_path / "f.parquet"), 3) == {"E-CITY"}


def test_csv_rows_are_physical_lines_even_after_a_multi_line_cell(tmp_path: Path, ingest: Ingester) -> None:
    rows: Rows = [
        ["企业填报（合成数据）"],
        HEADER,
        firm_row(1, 企业名称='"第一行\n第二行"'),
        firm_row(2, 所属地市="杭州"),
    ]
    path = tmp_path / "f.csv"
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in row) for row in rows), encoding="utf-8")
    result = ingest(path)
    assert codes_at(result, 5) == {"E-CITY"}  # title 1, header 2, record on lines 3-4, then line 5


def test_blank_lines_in_a_quoted_cell_stay_in_it_and_a_run_of_blank_lines_is_one_row(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    rows: Rows = [HEADER, firm_row(1, 企业名称='"合成\n\n\n企业"'), [], [" , ,"], [], firm_row(2, 所属地市="杭州")]
    path = tmp_path / "f.csv"
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows), encoding="utf-8")
    result = ingest(path)
    # header 1, the record on lines 2-5, blank lines 6-8, then line 9
    assert (result.rows_read, result.skipped) == (5, 3) and codes_at(result, 9) == {"E-CITY"}
    [run] = result.problems.filter(result.problems["code"] == "I-ROW-SKIPPED")["message"]
    assert run.endswith("第6行：3个连续空行（第6行至第8行），已跳过")
    assert store.filings()["name"].to_list() == ["合成\n\n\n企业"]


def test_a_sheet_read_without_its_empty_rows_and_columns_says_what_the_whole_sheet_says(
    tmp_path: Path, ingest: Ingester
) -> None:
    """A stray value in row 200,000, column 300 makes the sheet's rectangle 60 million cells; it is read without its
    empty rows and columns, and every row and column is still named and counted as the user sees it."""
    above: Rows = [["2024年企业填报"], ["填报单位：（盖章）"], *([[]] * 12)]  # the header in row 15
    table: Rows = [[None, *HEADER], [None, *firm_row(1)], [], [], [None, *firm_row(2, 所属地市="杭州")]]
    results = []
    for folder, with_stray in (("whole", False), ("stray", True)):
        (tmp_path / folder).mkdir()
        path = write_xlsx(tmp_path / folder / "f.xlsx", {"表1": [*above, *table]})
        book = openpyxl.load_workbook(path)
        if with_stray:
            book["表1"].cell(row=200_000, column=300, value="备注")
        book.save(path)
        results.append(ingest(path))
    whole, stray = results
    assert (whole.rows_read, whole.accepted, whole.skipped) == (4, 1, 2) and codes_at(whole, 19) == {"E-CITY"}
    in_the_table = pl.col("row") < 20
    assert stray.problems.filter(in_the_table).equals(whole.problems.filter(in_the_table))
    assert (stray.rows_read, stray.accepted, stray.skipped) == (199_985, 1, 199_982)
    assert set(stray.problems.filter(pl.col("code") == "W-UNUSED-COLUMN")["column"]) == {"第300列（无表头）"}


def test_a_sheet_that_leaves_column_a_empty_names_its_columns_as_excel_does(tmp_path: Path, ingest: Ingester) -> None:
    """The table starts in column B; a column without a header two to the right of the last header is column 12."""
    rows: Rows = [[None, *HEADER], [None, *firm_row(1), None, "备注"], [None, *firm_row(2)]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert result.accepted == 2
    assert set(result.problems.filter(pl.col("code") == "W-UNUSED-COLUMN")["column"]) == {"第12列（无表头）"}


def test_a_credit_code_typed_as_a_number_is_found_in_a_table_that_starts_in_column_b(
    tmp_path: Path, ingest: Ingester
) -> None:
    rows: Rows = [[None, *HEADER], [None, *firm_row(1, 统一社会信用代码=913701001234567000)], [None, *firm_row(2)]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"E-USCC-NUMERIC"} and result.accepted == 1


def test_a_credit_code_in_scientific_notation_in_csv_is_numeric(tmp_path: Path, ingest: Ingester) -> None:
    path = tmp_path / "f.csv"
    path.write_text(_csv_text([HEADER, firm_row(1, 统一社会信用代码="9.13701E+17")]), encoding="utf-8")
    assert codes_at(ingest(path), 2) == {"E-USCC-NUMERIC"}


def test_numeric_credit_code_cells_are_told_apart_from_text_ones_in_xlsx(tmp_path: Path, ingest: Ingester) -> None:
    as_text = "913701001234560000"  # looks like what a number cell gives back, but typed as text: only its check fails
    rows: Rows = [HEADER, firm_row(1, 统一社会信用代码=913701001234567000), firm_row(2, 统一社会信用代码=as_text)]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"E-USCC-NUMERIC"}
    assert "E-USCC-CHECK" in codes_at(result, 3) and "E-USCC-NUMERIC" not in codes_at(result, 3)


def test_a_file_that_is_not_a_spreadsheet_is_an_error_and_stores_nothing(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    result = ingest(path)
    assert result.error is not None and "broken.xlsx" in result.error
    assert (result.rows_read, result.upload_id) == (0, None)
    assert store.uploads().height == 0


def test_a_file_without_a_recognisable_header_is_an_error(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [["甲", "乙", "丙"], [1, 2, 3]]})
    result = ingest(path)
    assert result.error is not None and "表头" in result.error
    assert store.uploads().height == 0


def _with_error_cell(path: Path, cell: str, literal: str) -> Path:
    """Excel writes a failed formula's result as an error cell; openpyxl cannot, so edit the sheet XML."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rf'<c r="{cell}"[^>]*>.*?</c>', f'<c r="{cell}" t="e"><v>{literal}</v></c>', sheet
    ).encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def test_an_excel_error_cell_is_reported_as_what_it_is_not_as_blank(tmp_path: Path, ingest: Ingester) -> None:
    rows: Rows = [[*HEADER, "研发人员"], [*firm_row(1), 10], [*firm_row(2), 10]]
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": rows})
    _with_error_cell(_with_error_cell(path, "F2", "#DIV/0!"), "J3", "#N/A")  # 营业收入 of row 2, 研发人员 of row 3
    result = ingest(path)
    located = set(result.problems.select("row", "code", "value").iter_rows())
    assert located == {(2, "E-NUMBER", "#DIV/0!"), (3, "E-NUMBER", "#N/A")}
    assert result.rejected == 2
