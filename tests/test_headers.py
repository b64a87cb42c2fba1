"""Header detection as the contract describes it: title rows, aliases, units, two-row headers, wide years."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl

from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, codes_at, firm_row, make_code, write_xlsx


def test_title_rows_above_the_header_are_skipped(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    rows: Rows = [["山东省企业创新能力填报表"], ["填报单位：某市科技局"], [], HEADER, firm_row(1)]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert (result.rows_read, result.accepted) == (1, 1)
    assert store.filings()["credit_code"].to_list() == [make_code(1)]


def test_aliases_full_width_text_and_spaces_are_matched(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    header = [
        "信用代码",
        "单位名称",
        "统计年度",
        "地 市",
        "国民经济行业代码",
        "营业总收入",
        "研究开发费用",
        "职工总数",
        "研发机构",
        "Ｒ＆Ｄ经费支出",  # the statistical R&D expenditure, a field of its own beside the accounts' 研发费用
    ]
    row = [*firm_row(1, 营业收入="１２３４．５", 研发机构级别="是"), 80]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": [header, row]}))
    assert result.accepted == 1, result.problems["message"].to_list()
    filing = store.filings().row(0, named=True)
    assert filing["revenue"] == Decimal("1234.5") and filing["rd_institution"] == "企业自建"
    assert filing["rd_expense"] == Decimal(100) and filing["rd_internal_expenditure"] == Decimal(80)


def test_a_unit_in_the_header_converts_money_exactly_to_wan_yuan(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    header = [h.replace("营业收入", "营业收入（元）").replace("研发费用", "研发费用(亿元)") for h in HEADER]
    rows: Rows = [header, firm_row(1, 营业收入=50_000_000, 研发费用=0.0123), firm_row(2, 营业收入="49,999,999.99")]
    assert ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows})).accepted == 2
    frame = store.filings().sort("credit_code")
    assert frame["revenue"].to_list() == [Decimal("5000"), Decimal("4999.999999")]
    assert frame["rd_expense"].to_list()[0] == Decimal("123")


def test_the_uploads_stated_unit_applies_where_the_header_has_none(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 营业收入=5000, 研发费用=100)]})
    ingest(path, unit="千元")
    assert store.filings()["revenue"].to_list() == [Decimal("500")]


def test_a_two_row_header_with_year_groups_makes_wide_year_values(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one default sheet
    sheet.title = "两行表头"
    base = [h for h in HEADER if h not in ("营业收入", "研发费用")]
    sheet.append(["企业年度数据（合成）"])
    sheet.append([*base, "2023年", None, "2024年", None])
    sheet.append([None] * len(base) + ["营业收入", "研发费用", "营业收入", "研发费用"])
    for col in range(1, len(base) + 1):
        sheet.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    sheet.merge_cells(start_row=2, start_column=len(base) + 1, end_row=2, end_column=len(base) + 2)
    sheet.merge_cells(start_row=2, start_column=len(base) + 3, end_row=2, end_column=len(base) + 4)
    values = dict(zip(HEADER, firm_row(1), strict=True))
    sheet.append([values[h] for h in base] + [4000, 80, 5000, 100])
    book.save(tmp_path / "f.xlsx")
    result = ingest(tmp_path / "f.xlsx")
    assert (result.rows_read, result.accepted) == (1, 1), result.problems["message"].to_list()
    filing = store.filings().row(0, named=True)
    assert (filing["year"], filing["revenue"], filing["rd_expense"]) == (2024, Decimal("5000"), Decimal("100"))
    history = store.con.sql("SELECT year, field, value FROM supplements ORDER BY field").fetchall()
    assert history == [(2023, "rd_expense", Decimal("80")), (2023, "revenue", Decimal("4000"))]


def test_a_group_row_with_a_unit_sets_the_unit_of_its_sub_cells(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    base = [h for h in HEADER if h not in ("营业收入", "研发费用")]
    rows: Rows = [
        [None] * len(base) + ["财务指标（元）", None],
        [*base, "营业收入", "研发费用"],
        [*(dict(zip(HEADER, firm_row(1), strict=True))[h] for h in base), 50_000_000, 1_000_000],
    ]
    assert ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows})).accepted == 1
    filing = store.filings().row(0, named=True)
    assert (filing["revenue"], filing["rd_expense"]) == (Decimal("5000"), Decimal("100"))


def test_a_history_only_sheet_stores_supplements_without_other_required_fields(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    rows: Rows = [
        ["统一社会信用代码", "企业名称", "2021年营业收入", "2022年营业收入（元）", "2023年营业收入"],
        [make_code(1), "合成企业1", 3000, 35_000_000, 4000],
        [make_code(2), None, "约3000", None, None],
    ]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"历年收入": rows}))
    assert (result.accepted, result.rejected) == (1, 1)
    assert codes_at(result, 3) == {"E-NUMBER"}
    assert store.filings().height == 0
    history = store.con.sql("SELECT year, value FROM supplements ORDER BY year").fetchall()
    assert history == [(2021, Decimal("3000")), (2022, Decimal("3500")), (2023, Decimal("4000"))]


def test_a_wide_value_that_disagrees_with_a_full_filing_of_its_year_is_a_warning(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    full: Rows = [HEADER, firm_row(1, 年度=2023, 营业收入=4000)]
    wide: Rows = [["统一社会信用代码", "企业名称", "2023年营业收入"], [make_code(1), "合成企业1", 4500]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"填报": full, "历史": wide}))
    conflict = result.problems.filter(result.problems["code"] == "W-WIDE-CONFLICT")
    assert conflict.select("sheet", "row").rows() == [("历史", 2)]
    assert store.filings()["revenue"].to_list() == [Decimal("4000")]  # the full filing's value wins
