"""Every problem code of the contract, each from a real workbook, and what happens to the row that has it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assess import uscc
from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, codes_at, firm_row, make_code, write_xlsx

# One row per case, written below the header at Excel row 2; (overrides of the clean row, expected code).
ROW_CASES: dict[str, tuple[dict[str, object], str]] = {
    "E-USCC-FORMAT": ({"统一社会信用代码": "91370100MA3C5X2"}, "E-USCC-FORMAT"),
    "E-USCC-FORMAT-letters": ({"统一社会信用代码": "91370100MA3C5XOOI1"}, "E-USCC-FORMAT"),
    "E-USCC-CHECK": (
        {"统一社会信用代码": make_code(7)[:17] + ("0" if make_code(7)[17] != "0" else "1")},
        "E-USCC-CHECK",
    ),
    "E-USCC-NUMERIC": ({"统一社会信用代码": 913701001234567000}, "E-USCC-NUMERIC"),
    "E-REQUIRED": ({"企业名称": None}, "E-REQUIRED"),
    "E-NUMBER": ({"营业收入": "约500"}, "E-NUMBER"),
    "E-NUMBER-count": ({"从业人员": "12.5"}, "E-NUMBER"),
    # A number too large for the stored type is refused, never kept as an empty cell (营业收入 is required).
    "E-NUMBER-1e308": ({"营业收入": "1e308"}, "E-NUMBER"),
    "E-NUMBER-1E+40": ({"营业收入": "1E+40"}, "E-NUMBER"),
    "E-NUMBER-40-digits": ({"营业收入": "1" * 40}, "E-NUMBER"),
    "E-NUMBER-minus-1e30": ({"研发费用": "-1e30"}, "E-NUMBER"),
    "E-NUMBER-25-digit-count": ({"从业人员": "1" * 25}, "E-NUMBER"),
    "E-NEGATIVE": ({"研发费用": -3}, "E-NEGATIVE"),
    "E-NEGATIVE-parentheses": ({"营业收入": "(123)"}, "E-NEGATIVE"),
    "E-CITY": ({"所属地市": "杭州"}, "E-CITY"),
    "E-INDUSTRY": ({"行业代码": "9999"}, "E-INDUSTRY"),
    "E-INDUSTRY-lost-zero": ({"行业代码": 610}, "E-INDUSTRY"),
    "E-YEAR": ({"年度": 1999}, "E-YEAR"),
    "E-VALUE": ({"研发机构级别": "部分有"}, "E-VALUE"),
}


@pytest.mark.parametrize("case", ROW_CASES)
def test_a_row_with_an_error_is_rejected_with_its_code(tmp_path: Path, ingest: Ingester, case: str) -> None:
    overrides, code = ROW_CASES[case]
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, **overrides), firm_row(2)]})
    result = ingest(path)
    assert code in codes_at(result, 2)
    assert (result.rows_read, result.accepted, result.rejected) == (2, 1, 1)
    message = result.problems.filter(result.problems["code"] == code)["message"][0]
    assert "f.xlsx" in message and "表1" in message and "第2行" in message


def test_a_number_too_large_to_store_is_quoted_as_the_file_wrote_it(tmp_path: Path, ingest: Ingester) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 营业收入="1e308"), firm_row(2)]})
    result = ingest(path)
    [problem] = result.problems.filter(code="E-NUMBER").to_dicts()
    assert problem["value"] == "1e308" and "「1e308」" in problem["message"] and problem["column"] == "营业收入"
    assert (result.accepted, result.rejected) == (1, 1)


def test_an_implausibly_large_amount_is_kept_with_a_warning(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    bound = store.contract.field("revenue").plausible_max
    assert bound is not None
    rows: Rows = [HEADER, firm_row(1, 营业收入=int(bound) * 2), firm_row(2, 营业收入=int(bound))]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert result.accepted == 2 and "W-IMPLAUSIBLE" in codes_at(result, 2) and not codes_at(result, 3)


def test_an_amount_too_large_in_wan_yuan_is_that_rows_problem(tmp_path: Path, ingest: Ingester) -> None:
    """1e23 亿元 reads as a number but does not fit once converted to 万元: E-NUMBER quoting it, and the file's other
    rows are read (not a program error that stops the whole file)."""
    header = [("营业收入（亿元）" if name == "营业收入" else name) for name in HEADER]
    rows: Rows = [header, firm_row(1, 营业收入="1e23"), firm_row(2, 营业收入=0.5)]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert result.error is None and (result.accepted, result.rejected) == (1, 1)
    [problem] = result.problems.filter(code="E-NUMBER").to_dicts()
    assert problem["row"] == 2 and "「1e23」" in problem["message"]


def test_a_long_count_is_stored_digit_for_digit(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    """A count a BIGINT holds is kept as written (with W-IMPLAUSIBLE), not rounded through a floating-point number."""
    count = 2**53 + 1
    rows: Rows = [HEADER, firm_row(1, 从业人员=str(count))]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert result.accepted == 1 and "W-IMPLAUSIBLE" in codes_at(result, 2)
    assert store.con.sql("SELECT employees FROM filings").fetchall() == [(count,)]


def test_implausibly_negative_net_assets_are_kept_with_a_warning(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    bound = store.contract.field("net_assets").plausible_max
    assert bound is not None
    rows: Rows = [[*HEADER, "净资产"], [*firm_row(1), -int(bound) * 2], [*firm_row(2), -int(bound)]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert result.accepted == 2 and not codes_at(result, 3)
    [problem] = result.problems.filter(code="W-IMPLAUSIBLE").to_dicts()
    assert problem["row"] == 2 and "绝对值大于" in problem["message"]


def test_a_numeric_industry_code_that_lost_its_leading_zero_says_so(tmp_path: Path, ingest: Ingester) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 行业代码=610)]})
    message = ingest(path).problems["message"][0]
    assert "0610" in message


def test_staff_above_employees_is_rejected(tmp_path: Path, ingest: Ingester) -> None:
    header = [*HEADER, "研发人员", "科技人员"]
    rows: Rows = [
        header,
        [*firm_row(1, 从业人员=50), 60, 10],
        [*firm_row(2, 从业人员=50), 10, 51],
        [*firm_row(3), 200, 200],
    ]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"E-STAFF"} and codes_at(result, 3) == {"E-STAFF"} and codes_at(result, 4) == set()
    assert result.accepted == 1


def test_a_percentage_outside_0_to_100_is_rejected(tmp_path: Path, ingest: Ingester) -> None:
    rows: Rows = [[*HEADER, "市场占有率"], [*firm_row(1), 150], [*firm_row(2), "12.5%"], [*firm_row(3), 30]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"E-PERCENT"}
    assert result.accepted == 2


def test_a_percent_column_of_fractions_is_scaled_once_with_a_warning(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    rows: Rows = [[*HEADER, "主导产品市场占有率"], [*firm_row(1), 0.12], [*firm_row(2), 0.5]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result) == {"W-PERCENT-FRACTION"}
    assert sorted(float(v) for v in store.filings()["market_share"]) == [12.0, 50.0]


def test_the_same_firm_and_year_twice_rejects_every_such_row_and_names_them_all(
    tmp_path: Path, ingest: Ingester
) -> None:
    rows: Rows = [HEADER, firm_row(1), firm_row(2), firm_row(1, 营业收入=6000)]
    other: Rows = [HEADER, firm_row(1, 营业收入=7000)]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows, "表2": other}))
    duplicates = result.problems.filter(result.problems["code"] == "E-DUPLICATE")
    assert sorted(zip(duplicates["sheet"], duplicates["row"], strict=True)) == [("表1", 2), ("表1", 4), ("表2", 2)]
    assert all("第2行" in m and "第4行" in m and "表2" in m for m in duplicates["message"])
    assert (result.accepted, result.rejected) == (1, 3)


def test_a_wrong_check_character_passes_only_when_acknowledged(tmp_path: Path, ingest: Ingester) -> None:
    good = make_code(9)
    bad = good[:17] + ("A" if good[17] != "A" else "B")
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 统一社会信用代码=bad)]})
    assert codes_at(ingest(path), 2) == {"E-USCC-CHECK"}
    acknowledged = ingest(path, accept_bad_check=frozenset({bad}))
    assert codes_at(acknowledged, 2) == {"W-USCC-ACCEPTED"} and acknowledged.accepted == 1


def test_warnings_keep_the_row(tmp_path: Path, ingest: Ingester) -> None:
    outside = "914403001922038216"  # valid, registered in Shenzhen
    org8 = "00000000"
    wrong = "2" if uscc.org_check_char(org8) == "1" else "1"
    wrong_org = f"91370100{org8}{wrong}"
    wrong_org += uscc.check_char(wrong_org)  # the 18th character checks; the 17th does not
    rows: Rows = [
        [*HEADER, "备注"],
        [*firm_row(1, 研发费用=6000), "x"],
        [*firm_row(2, 统一社会信用代码=outside), None],
        [*firm_row(3, 统一社会信用代码=wrong_org), None],
    ]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"W-RD-OVER-REVENUE"}
    assert codes_at(result, 3) == {"W-USCC-REGION"}
    assert codes_at(result, 4) == {"W-ORG-CHECK"}
    assert codes_at(result) == {"W-UNUSED-COLUMN"}
    assert result.accepted == 3 and result.warnings == 4


def test_revenue_jumping_tenfold_against_the_previous_year_is_a_warning(tmp_path: Path, ingest: Ingester) -> None:
    first = write_xlsx(tmp_path / "2023.xlsx", {"表1": [HEADER, firm_row(1, 年度=2023, 营业收入=1000)]})
    ingest(first)
    rows: Rows = [HEADER, firm_row(1, 营业收入=10001), firm_row(2, 年度=2023, 营业收入=5000), firm_row(2, 营业收入=499)]
    result = ingest(write_xlsx(tmp_path / "2024.xlsx", {"表1": rows}))
    assert codes_at(result, 2) == {"W-JUMP"}  # against the store
    assert codes_at(result, 4) == {"W-JUMP"}  # against the same upload
    against_store, against_file = (result.problems.filter(result.problems["row"] == r)["message"][0] for r in (2, 4))
    assert "数据库中" in against_store and "1000万元" not in against_store  # another upload's figure is not shown
    assert "本文件中上年（2023年）的5000万元" in against_file


def test_blank_and_total_rows_are_skipped_and_a_sheet_without_header_is_noted(tmp_path: Path, ingest: Ingester) -> None:
    rows: Rows = [
        ["2024年企业填报表"],
        HEADER,
        firm_row(1),
        [None] * 9,
        ["  ", "\u3000"],  # only spaces: blank
        firm_row(2),
        ["合 计", None, None, None, None, 10000],
        [" ", "\u3000小\u3000计", None, None, None, 10000],  # the marker in the first cell that is not blank
    ]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"说明": [["填表说明：……"]], "表1": rows}))
    assert (result.rows_read, result.accepted, result.skipped) == (6, 2, 4)
    # Two blank rows in a row are one notice, on the first of them; each total row has its own.
    assert all(codes_at(result, row) == {"I-ROW-SKIPPED"} for row in (4, 7, 8)) and codes_at(result, 5) == set()
    [run] = result.problems.filter(result.problems["row"] == 4)["message"]
    assert run.endswith("第4行：2个连续空行（第4行至第5行），已跳过")
    notices = result.problems.filter(result.problems["code"] == "I-SHEET-SKIPPED")
    assert notices["sheet"].to_list() == ["说明"]


def test_blank_rows_after_the_last_filing_are_not_rows(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    """Spreadsheet exports often end in empty or space-only lines: they are neither read nor counted."""
    csv = tmp_path / "f.csv"
    filings = [",".join(map(str, row)) for row in (HEADER, firm_row(1), firm_row(2))]
    lines = [*filings, ",,,,,,,,", " ,,\u3000"]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (ingest(csv).rows_read, store.filings().height) == (2, 2)
    xlsx = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(3), ["  ", "\u3000"]]})
    assert (ingest(xlsx).rows_read, store.filings().height) == (1, 3)


def test_a_column_written_wholly_in_full_width_digits_reads_as_numbers(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    rows: Rows = [HEADER, *(firm_row(i, 营业收入=str(5000 + i).translate(full_width)) for i in (1, 2))]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert (result.accepted, result.rejected) == (2, 0)
    assert sorted(store.filings()["revenue"].to_list()) == [5001, 5002]


def test_a_missing_required_column_rejects_the_sheet_with_one_notice(tmp_path: Path, ingest: Ingester) -> None:
    header = HEADER[:-1]
    rows: Rows = [header, firm_row(1)[:-1], firm_row(2)[:-1]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert codes_at(result) == {"E-REQUIRED"} and result.rejected == 2
    assert "研发机构级别" in result.problems["message"][0]


def test_a_row_without_year_takes_the_uploads_year(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    header = [h for h in HEADER if h != "年度"]
    row = [v for h, v in zip(HEADER, firm_row(1), strict=True) if h != "年度"]
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [header, row]})
    assert codes_at(ingest(path)) == {"E-REQUIRED"}
    assert ingest(path, year=2022).accepted == 1
    assert store.filings()["year"].to_list() == [2022]


def test_upload_level_problems_name_the_column_as_the_sheet_wrote_it(tmp_path: Path, ingest: Ingester) -> None:
    header = ["信用代码", *HEADER[1:5], "营业收入（元）", *HEADER[6:]]
    rows: Rows = [
        header,
        firm_row(1, 年度=2023, 营业收入=1_000_000),
        firm_row(1, 营业收入=100_000_000),
        firm_row(2, 营业收入=50_000_000),
        firm_row(2, 营业收入=50_000_000),
    ]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    located = set(result.problems.select("code", "row", "column").iter_rows())
    assert located == {("W-JUMP", 3, "营业收入（元）"), ("E-DUPLICATE", 4, "信用代码"), ("E-DUPLICATE", 5, "信用代码")}


def test_the_same_firm_on_two_history_sheets_is_not_a_duplicate(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    revenue: Rows = [
        ["统一社会信用代码", "企业名称", "2022年营业收入", "2023年营业收入"],
        [make_code(1), "合成企业1", 3000, 4000],
    ]
    rd: Rows = [
        ["统一社会信用代码", "企业名称", "2022年研发费用", "2023年研发费用"],
        [make_code(1), "合成企业1", 90, 120],
    ]
    again: Rows = [["统一社会信用代码", "企业名称", "2023年营业收入"], [make_code(1), "合成企业1", 4100]]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"历年收入": revenue, "历年研发": rd}))
    assert (result.accepted, result.rejected) == (2, 0)
    assert store.con.execute("SELECT count(*) FROM supplements").fetchall()[0][0] == 4
    clash = ingest(write_xlsx(tmp_path / "g.xlsx", {"历年收入": revenue, "重复": again}))
    assert clash.rejected == 2 and codes_at(clash, 2) == {"E-DUPLICATE"}


def test_invisible_characters_are_removed_from_names_with_a_warning(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    """A right-to-left override can make a name display as another; zero-width and control characters make two
    names that read alike differ. They are taken out and the row is named; a cell of nothing else is empty. (A CSV
    carries a control character; an .xlsx cannot hold one.)"""
    rows: Rows = [
        HEADER,
        firm_row(1, 企业名称="济南\u202e司公限有\u202c科技\u200b有限公司\x07"),
        firm_row(2, 企业名称="\u200b\u2066\u2069"),
        firm_row(3),
    ]
    path = tmp_path / "f.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = ingest(path)
    assert "W-TEXT-CLEANED" in codes_at(result, 2) and "E-REQUIRED" in codes_at(result, 3) and not codes_at(result, 4)
    [name] = store.filings().filter(credit_code=make_code(1))["name"].to_list()
    assert name == "济南司公限有科技有限公司"


def test_a_name_longer_than_its_limit_is_refused(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    limit = store.contract.field("name").max_length
    assert limit is not None
    rows: Rows = [HEADER, firm_row(1, 企业名称="长" * (limit + 1)), firm_row(2, 企业名称="名" * limit)]
    result = ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))
    assert "E-TOO-LONG" in codes_at(result, 2) and (result.accepted, result.rejected) == (1, 1)


def test_control_characters_leave_an_all_ascii_column_too(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    path = tmp_path / "f.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, firm_row(1, 企业名称="ACME\x07 Co"), firm_row(2, 企业名称="Beta Co")])
    result = ingest(path)
    assert "W-TEXT-CLEANED" in codes_at(result, 2) and not codes_at(result, 3)
    assert sorted(store.filings()["name"].to_list()) == ["ACME Co", "Beta Co"]


def test_an_upload_lets_duckdb_write_in_any_order_only_while_it_writes(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    """Rows of an upload carry their order (seq), so it is written on every core; the store's other queries keep
    DuckDB's insertion order afterwards, whether the upload landed or was refused (a file without a header)."""

    def ordered() -> bool:
        return bool(store.con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0])

    assert ingest(write_xlsx(tmp_path / "good.xlsx", {"表1": [HEADER, firm_row(1)]})).accepted == 1
    assert ordered()
    refused = ingest(write_xlsx(tmp_path / "bad.xlsx", {"表1": [["甲", "乙"], ["1", "2"]]}))
    assert refused.error is not None and ordered()
