"""The styled workbooks, read back with openpyxl: layout, text safety, the problem list and the blank template."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from assess.contract import Contract
from assess.ingest.headers import read_header
from assess.outputs.problem_workbook import LIST_HEADERS, SUMMARY_HEADERS, write_problem_workbook
from assess.outputs.template import TEMPLATE_ROWS, write_template
from assess.outputs.xlsx import display_width, safe_text, write_table

HYPERLINK_NAME = '=HYPERLINK("http://x","y")'
PROBLEM_SCHEMA = {
    "file": pl.String,
    "sheet": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "code": pl.String,
    "level": pl.String,
    "value": pl.String,
    "message": pl.String,
    "hint": pl.String,
}


def problem(code: str, level: str, value: str | None, row: int | None = 2) -> dict[str, object]:
    return {
        "file": "企业填报.xlsx",
        "sheet": "Sheet1",
        "row": row,
        "column": "企业名称",
        "code": code,
        "level": level,
        "value": value,
        "message": f"文件「企业填报.xlsx」工作表「Sheet1」第{row}行：{code}",
        "hint": "请核对。",
    }


@pytest.fixture
def problems() -> pl.DataFrame:
    rows = [
        problem("E-NUMBER", "error", HYPERLINK_NAME),
        problem("E-NUMBER", "error", "约500", row=3),
        problem("W-JUMP", "warning", "+86 531"),
        problem("E-NEGATIVE", "error", "-12", row=4),
        problem("E-NUMBER", "error", "@home", row=5),
        problem("E-NUMBER", "error", "#N/A", row=6),
        problem("I-SHEET-SKIPPED", "info", None, row=None),
    ]
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA)


@pytest.fixture
def problem_book(problems: pl.DataFrame, tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(write_problem_workbook(problems, tmp_path / "out" / "问题清单.xlsx"))


@pytest.fixture
def template_book(tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(write_template(tmp_path / "填报模板.xlsx"))


def header(sheet: Worksheet, row: int = 1) -> list[object]:
    return [cell.value for cell in sheet[row]]


def test_problem_workbook_layout(problem_book: openpyxl.Workbook, problems: pl.DataFrame) -> None:
    assert problem_book.sheetnames == ["问题清单", "按代码汇总"]
    listing = problem_book["问题清单"]
    assert header(listing) == list(LIST_HEADERS)
    assert listing.freeze_panes == "A2"
    assert listing.auto_filter.ref == f"A1:J{problems.height + 1}"
    assert listing.print_title_rows == "$1:$1"
    assert listing.page_setup.orientation == "landscape"
    assert listing["A1"].font.b
    assert listing.column_dimensions["I"].width > listing.column_dimensions["A"].width
    assert [str(rule.sqref) for rule in listing.conditional_formatting] == [f"G2:G{problems.height + 1}"]


def test_problem_rows_in_chinese(problem_book: openpyxl.Workbook) -> None:
    rows = list(problem_book["问题清单"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:8] == (1, "企业填报.xlsx", "Sheet1", 2, "企业名称", "E-NUMBER", "错误", HYPERLINK_NAME)
    assert rows[0][8:] == ("文件「企业填报.xlsx」工作表「Sheet1」第2行：E-NUMBER", "请核对。")
    assert [row[6] for row in rows] == ["错误", "错误", "警告", "错误", "错误", "错误", "提示"]
    assert rows[-1][3] is None and rows[-1][7] is None


@pytest.mark.parametrize("row", [2, 4, 5, 6, 7])
def test_original_values_stay_text(problem_book: openpyxl.Workbook, row: int) -> None:
    cell = problem_book["问题清单"].cell(row=row, column=LIST_HEADERS.index("原始值") + 1)
    assert isinstance(cell.value, str)
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_hyperlink_name_is_not_a_formula(problem_book: openpyxl.Workbook) -> None:
    cell = problem_book["问题清单"]["H2"]
    assert cell.value == HYPERLINK_NAME
    assert cell.data_type != "f"


def test_summary_by_code(problem_book: openpyxl.Workbook, contract: Contract) -> None:
    summary = problem_book["按代码汇总"]
    assert header(summary) == list(SUMMARY_HEADERS)
    assert summary.freeze_panes == "A2"
    assert summary.auto_filter.ref == "A1:D5"
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("E-NUMBER", "错误", contract.problem("E-NUMBER").title, 4)
    assert [row[3] for row in rows] == [4, 1, 1, 1]
    assert {row[0] for row in rows} == {"E-NUMBER", "W-JUMP", "E-NEGATIVE", "I-SHEET-SKIPPED"}


def test_no_problems_gives_headers_only(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_problem_workbook(pl.DataFrame(schema=PROBLEM_SCHEMA), tmp_path / "空.xlsx"))
    assert book["问题清单"].max_row == 1
    assert book["问题清单"].auto_filter.ref == "A1:J1"
    assert book["按代码汇总"].max_row == 1


def test_characters_xml_cannot_hold_are_replaced(tmp_path: Path) -> None:
    frame = pl.DataFrame([problem("E-NUMBER", "error", "a\x0bb\x00")], schema=PROBLEM_SCHEMA)
    book = openpyxl.load_workbook(write_problem_workbook(frame, tmp_path / "x.xlsx"))
    assert book["问题清单"]["H2"].value == "a\ufffdb\ufffd"


def test_safe_text_in_a_normal_worksheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one default sheet
    sheet.append([safe_text(sheet, text) for text in (HYPERLINK_NAME, "=1+1", "普通文本")])
    book.save(tmp_path / "t.xlsx")
    saved = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert saved is not None
    row = saved[1]
    assert [cell.value for cell in row] == [HYPERLINK_NAME, "=1+1", "普通文本"]
    assert all(cell.data_type == "s" for cell in row)


def test_write_table_number_formats_and_preamble(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    written = write_table(
        sheet, ["代码", "金额"], [["0610", 1.5], [None, 2]], number_formats={0: "@"}, preamble=["说明"]
    )
    book.save(tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert sheet is not None
    assert written == 2
    assert header(sheet, 3) == ["代码", "金额"]
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:B5"
    assert [sheet.cell(row, 1).number_format for row in (4, 5)] == ["@", "@"]
    assert sheet["A4"].value == "0610"


def test_display_width_counts_cjk_double() -> None:
    assert display_width("ab") == 2
    assert display_width("营业收入（万元）") == 16


def test_template_layout(template_book: openpyxl.Workbook, contract: Contract) -> None:
    assert template_book.sheetnames == ["填报表", "填报说明"]
    form = template_book["填报表"]
    assert header(form) == [spec.header_with_unit for spec in contract.fields]
    assert form.freeze_panes == "A2"
    assert form.auto_filter.ref.startswith("A1:")


def test_template_headers_are_read_back_as_their_fields(template_book: openpyxl.Workbook, contract: Contract) -> None:
    read = []
    for text in header(template_book["填报表"]):
        assert isinstance(text, str)  # read_header takes text; a header that is not would not match a field anyway
        read.append(read_header(text, contract).field)
    assert read == [spec.name for spec in contract.fields]


def test_template_required_headers_are_marked(template_book: openpyxl.Workbook, contract: Contract) -> None:
    form = template_book["填报表"]
    for column, spec in enumerate(contract.fields, start=1):
        cell = form.cell(row=1, column=column)
        assert (cell.font.color is not None and cell.font.color.rgb == "00C00000") == spec.required
        assert (cell.comment is not None and "必填" in cell.comment.text) == spec.required


@pytest.mark.parametrize("field", ["credit_code", "industry_code", "name", "city"])
def test_template_code_columns_are_text(template_book: openpyxl.Workbook, contract: Contract, field: str) -> None:
    form = template_book["填报表"]
    column = [spec.name for spec in contract.fields].index(field) + 1
    assert {form.cell(row=row, column=column).number_format for row in range(2, TEMPLATE_ROWS + 2)} == {"@"}
    assert form.column_dimensions[get_column_letter(column)].number_format == "@"


def test_template_drop_downs(template_book: openpyxl.Workbook, contract: Contract) -> None:
    form = template_book["填报表"]
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in form.data_validations.dataValidation}
    letters = {spec.name: get_column_letter(i) for i, spec in enumerate(contract.fields, start=1)}
    assert lists[f"{letters['rd_institution']}2"] == '"无,企业自建,市级,省级,国家级"'
    assert lists[f"{letters['award_level']}2"] == '"无,省部级,国家级"'
    assert lists[f"{letters['is_hte']}2"] == '"是,否"'
    assert lists[f"{letters['expert_label']}2"] == '"是,否"'
    # The 16 cities of Shandong in their official order, 济南 first and 菏泽 last (a region code is still accepted).
    cities = lists[f"{letters['city']}2"].strip('"').split(",")
    assert len(cities) == 16 and cities[0] == "济南" and cities[-1] == "菏泽" and "莱芜" not in cities
    expected = {letters[s.name] + "2" for s in contract.fields if s.kind in ("choice", "boolean", "city")}
    assert set(lists) == expected


def test_guide_lists_every_field_and_alias(template_book: openpyxl.Workbook, contract: Contract) -> None:
    guide = template_book["填报说明"]
    rows = [row for row in guide.iter_rows(values_only=True)]
    start = rows.index(("字段", "表头", "也接受的表头", "类型", "单位", "是否必填", "说明"))
    table = {row[0]: row for row in rows[start + 1 :]}
    assert list(table) == [spec.name for spec in contract.fields]
    for spec in contract.fields:
        row = table[spec.name]
        assert row[1] == spec.header_with_unit
        aliases = row[2] or ""
        assert isinstance(aliases, str)
        assert all(alias in aliases for alias in spec.aliases)
        assert row[5] == ("是" if spec.required else "否")
    assert guide.freeze_panes == f"A{start + 2}"
    assert guide.auto_filter.ref == f"A{start + 1}:G{start + 1 + len(contract.fields)}"
