"""The managers' workbook of cultivation lists, written from a small realistic run and read back with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.cell import Cell, MergedCell
from openpyxl.chart._chart import ChartBase
from openpyxl.worksheet.worksheet import Worksheet

from assess.outputs.lists_workbook import ListSheet, ListsWorkbook, Threshold, write_lists_workbook
from assess.outputs.printing import LINE_POINTS, MIN_SCALE, lines
from assess.outputs.rows import Rows
from tests.conftest import make_code
from tests.test_pdf_conversion import MIN_PDF_BYTES, convert_to_pdf

BATCH = 20_000  # rows a table of the test content gives at a time (the batched test sets 1)
HYPERLINK_NAME = '=HYPERLINK("http://x","y")'
SHA_A, SHA_B, SHA_RULES, SHA_MODEL = "a" * 64, "b" * 64, "c" * 64, "d" * 64
SHEETS = ["说明", "汇总", "研发活动清零", "研发机构提升", "三高一核心", "科技小巨人候选", "科技领军候选", "数据问题"]
SUMMARY_HEADERS = [
    "三高一核心（家）",
    "科技小巨人候选（家）",
    "科技领军候选（家）",
    "无研发活动（家，目标清零）",
    "一清零待补数据（家）",
    "营收1亿元以上企业（家）",
    "有研发机构（家）",
    "一提升待补数据（家）",
    "还需建立研发机构（家）",
    "研发机构覆盖率",
    "覆盖率目标",
]
FIRM_HEADERS = ["统一社会信用代码", "企业名称", "地市", "产业链", "方向"]
PROBLEM_PLACE = ["上传批次", "文件", "工作表", "行", "列"]
PROBLEM_WHAT = ["问题代码", "级别", "原值", "说明", "修改建议"]
LIST_TAIL = ["创新能力指数", "研发投入强度", "营业收入（万元）", "门槛", "主要原因", "差距"]
HEADERS = {
    "研发活动清零": ["序号", *FIRM_HEADERS, "营业收入（万元）", "研发费用（万元）", "原因"],
    "研发机构提升": ["序号", *FIRM_HEADERS, "营业收入（万元）", "研发机构", "原因"],
    "三高一核心": ["序号", "状态", "排名", *FIRM_HEADERS, "三高一核心评分", *LIST_TAIL],
    "科技小巨人候选": ["序号", "状态", "排名", *FIRM_HEADERS, "排序值", *LIST_TAIL],
    "科技领军候选": ["序号", "状态", "排名", *FIRM_HEADERS, *LIST_TAIL],  # ranked by the index: shown once
    "数据问题": ["序号", "地市", "统一社会信用代码", *PROBLEM_PLACE, *PROBLEM_WHAT],
}
TABLE_SHEETS = list(HEADERS)
LIST_SCHEMA = {
    "status": pl.String,
    "rank": pl.Int64,
    "credit_code": pl.String,
    "name": pl.String,
    "city": pl.String,
    "chain": pl.String,
    "direction": pl.String,
    "value": pl.Float64,
    "value_label": pl.String,
    "score": pl.Float64,
    "index": pl.Float64,
    "rd_intensity": pl.Float64,
    "revenue": pl.Float64,
    "gates": pl.String,
    "reasons": pl.String,
    "lacks": pl.String,
}
SUMMARY_SCHEMA = {
    "key": pl.String,
    "three_highs": pl.Int64,
    "little_giant": pl.Int64,
    "leader": pl.Int64,
    "no_rd": pl.Int64,
    "no_rd_unknown": pl.Int64,
    "inst_firms": pl.Int64,
    "inst_covered": pl.Int64,
    "inst_unknown": pl.Int64,
    "inst_needed": pl.Int64,
    "inst_rate": pl.Float64,
    "inst_target": pl.Float64,
}
THRESHOLDS = (
    Threshold("科技小巨人候选（rules/tiers/little_giant.yaml）", "quota", "年度培育名额", "600家", "policy"),
    Threshold("科技小巨人候选（rules/tiers/little_giant.yaml）", "revenue_min", "营业收入下限", "5000万元", "default"),
    Threshold("高新技术企业（rules/packs/hte.yaml）", "rd_intensity_min", "研发投入强度下限", "3%", "official"),
)
BASIS = {"policy": "[政策]", "official": "[官方]", "default": "[默认]"}
PROBLEM_AT = ("济南市2024年度填报.xlsx", "Sheet1", 5)  # file, sheet, row
PROBLEM_FIELDS = ["city", "credit_code", "file", "sheet", "row", "column", "code", "level", "value", "message", "hint"]


def list_row(
    status: str, rank: int | None, serial: int, name: str, value: float, label: str, lacks: str | None = None
) -> dict[str, object]:
    return {
        "status": status,
        "rank": rank,
        "credit_code": make_code(serial, "370200" if serial % 2 else "370100"),
        "name": name,
        "city": "青岛市" if serial % 2 else "济南市",
        "chain": "高端装备",
        "direction": "工业母机",
        "value": value,
        "value_label": label,
        "score": 0.8,
        "index": 76.25,
        "rd_intensity": 0.0512,
        "revenue": 123456.789,
        "gates": "营业收入12,345.68万元≥5,000万元；研发投入强度5.12%≥3%",
        "reasons": "研发投入强度高；发明专利多",
        "lacks": lacks,
    }


def rows_of(frame: pl.DataFrame) -> Rows:
    """A table's rows from a frame at hand, BATCH at a time (read when the workbook goes through them)."""
    return Rows(lambda: frame.iter_slices(BATCH))


def summary(keys: list[str], targets: list[float]) -> pl.DataFrame:
    """Per key: 40 + 10i firms above the 一提升 floor, 2 of them 待补数据, 30 + i with an institution."""
    rows = []
    for i, (key, target) in enumerate(zip(keys, targets, strict=True)):
        judged, covered = 40 + 10 * i - 2, 30 + i
        needed = max(0, math.ceil(round(target * judged, 9)) - covered)
        rows.append((key, 3 + i, 2, 1, 4 - i, i, 40 + 10 * i, covered, 2, needed, covered / judged, target))
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA, orient="row")


def _lists(three_highs: pl.DataFrame, little_giant: pl.DataFrame, leader: pl.DataFrame) -> tuple[ListSheet, ...]:
    """The three lists, each ranked by its value: an empty list's sheet does not say which."""
    return (
        ListSheet("three_highs", "三高一核心", rows_of(three_highs), "三高一核心评分"),
        ListSheet("little_giant", "科技小巨人候选", rows_of(little_giant), "三高一核心评分"),
        ListSheet("leader", "科技领军候选", rows_of(leader), "创新能力指数"),
    )


def leader_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            list_row("入选", 1, 21, "领军企业", 91.5, "创新能力指数"),
            {**list_row("接近", 3, 22, "领军接近企业", 88.0, "创新能力指数", "名额已满"), "rd_intensity": None},
        ],
        schema=LIST_SCHEMA,
    )


def _with_leader(content: ListsWorkbook, leader: pl.DataFrame) -> ListsWorkbook:
    listed = dataclasses.replace(content.lists[2], rows=rows_of(leader))
    return dataclasses.replace(content, lists=(*content.lists[:2], listed))


def make_content() -> ListsWorkbook:
    """A provincial run: two uploads, three thresholds, three cities, two chains, and a firm named like a formula."""
    firm = {"city": "济南市", "chain": "高端装备", "direction": "工业母机", "revenue": 12000.5}
    return ListsWorkbook(
        institution_floor="1亿元",
        year=2024,
        scope="全省",
        run_id=7,
        data_as_of=dt.datetime(2025, 3, 1, 9, 30),
        written_at=dt.datetime(2025, 3, 2, 14, 5),
        uploads=pl.DataFrame(
            {
                "upload_id": [1, 2],
                "file_name": ["济南市2024年度填报.xlsx", "-青岛补报.xlsx"],
                "sha256": [SHA_A, SHA_B],
                "uploaded_at": [dt.datetime(2025, 2, 27, 10), dt.datetime(2025, 3, 1, 9, 30)],
            }
        ),
        versions=pl.DataFrame(
            {"item": ["规则包 yiqingling", "评分模型"], "version": ["1", "2025-02"], "sha256": [SHA_RULES, SHA_MODEL]}
        ),
        thresholds=THRESHOLDS,
        notes=("评分来源：模型 three_highs（2025-02）。", "本数据为合成数据，仅用于演示。"),
        by_city=summary(["济南市", "青岛市", "烟台市"], [0.8, 0.8, 0.8]),
        by_chain=summary(["高端装备", "新一代信息技术"], [0.8, 0.9]),
        no_rd=rows_of(
            pl.DataFrame(
                [
                    {**firm, "credit_code": make_code(11), "name": HYPERLINK_NAME, "rd_expense": 0.0},
                    {**firm, "credit_code": make_code(12), "name": "济南合成机械有限公司", "rd_expense": None},
                ]
            ).with_columns(message=pl.lit("营业收入5000万元以上，研发费用为0"))
        ),
        no_institution=rows_of(
            pl.DataFrame(
                [{**firm, "credit_code": make_code(13), "name": "济南示例电子有限公司", "rd_institution": "无"}]
            ).with_columns(message=pl.lit("营业收入1亿元以上，尚无研发机构"))
        ),
        lists=_lists(
            pl.DataFrame(
                [  # in list order: 入选 by rank, then 接近
                    list_row("入选", 1, 1, HYPERLINK_NAME, 0.9, "三高一核心评分"),
                    list_row("入选", 2, 2, "第二名企业", 0.70, "三高一核心评分"),
                    list_row("入选", 3, 3, "第三名企业", 0.65, "三高一核心评分"),
                    list_row("接近", 4, 5, "接近企业", 0.61, "三高一核心评分", "评分低于入选线0.02"),
                ],
                schema=LIST_SCHEMA,
            ),
            pl.DataFrame(schema=LIST_SCHEMA),
            leader_frame(),
        ),
        problems=rows_of(
            pl.DataFrame(
                [
                    ("济南", make_code(11), *PROBLEM_AT, "营业收入", "E-NUMBER", "error", "约500", "不是数字", "请改"),
                    (None, None, *PROBLEM_AT[:2], None, None, "I-SHEET-SKIPPED", "info", None, "已跳过", "无需处理。"),
                ],
                schema=PROBLEM_FIELDS,
                orient="row",
            ).with_columns(upload_id=pl.lit(1, dtype=pl.Int64))
        ),
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lists_workbook(make_content(), tmp_path_factory.mktemp("lists") / "out" / "培育清单.xlsx")


@pytest.fixture(scope="module")
def book(written: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(written)


def header(sheet: Worksheet, row: int = 1) -> list[object]:
    return [cell.value for cell in sheet[row]]


def column(sheet: Worksheet, title: str, row: int = 1) -> list[Cell | MergedCell]:
    """The cells under the header `title` (the first such header), header excluded."""
    index = header(sheet, row).index(title) + 1
    return [sheet.cell(r, index) for r in range(row + 1, sheet.max_row + 1)]


def test_sheet_names_in_order(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == SHEETS


# The columns repeated on every page across and frozen on screen: up to the firm's name, or its credit code.
LIST_SHEETS = ["三高一核心", "科技小巨人候选", "科技领军候选"]
KEY_COLUMNS = dict.fromkeys(["研发活动清零", "研发机构提升", "数据问题"], 3) | dict.fromkeys(LIST_SHEETS, 5)


@pytest.mark.parametrize("name", TABLE_SHEETS)
def test_table_sheet_layout(book: openpyxl.Workbook, name: str) -> None:
    sheet = book[name]
    assert header(sheet) == HEADERS[name]
    assert all(cell.font.b for cell in sheet[1])
    keys = KEY_COLUMNS[name]
    assert sheet.freeze_panes == f"{openpyxl.utils.get_column_letter(keys + 1)}2"
    last = openpyxl.utils.get_column_letter(len(HEADERS[name]))
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"
    assert sheet.print_title_rows == "$1:$1"
    assert (sheet.page_setup.orientation, str(sheet.page_setup.paperSize)) == ("landscape", Worksheet.PAPERSIZE_A4)
    assert MIN_SCALE <= (sheet.page_setup.scale or 0) <= 100
    assert sheet.sheet_properties.pageSetUpPr is not None and not sheet.sheet_properties.pageSetUpPr.fitToPage
    if sheet.col_breaks.count:  # printed on pages across: the key columns on each
        assert sheet.print_title_cols == f"$A:${openpyxl.utils.get_column_letter(keys)}"
    assert [cell.value for cell in column(sheet, "序号")] == list(range(1, sheet.max_row))
    assert all(cell.border.left.style == "thin" for row in sheet.iter_rows() for cell in row)


def test_rows_are_as_tall_as_their_wrapped_text(book: openpyxl.Workbook) -> None:
    sheet = book["三高一核心"]
    gates = column(sheet, "门槛")[0]
    assert isinstance(gates, Cell)
    width = sheet.column_dimensions[gates.column_letter].width
    assert gates.alignment.wrap_text
    assert (sheet.row_dimensions[gates.row].height or 0) >= lines(str(gates.value), width) * LINE_POINTS


@pytest.mark.parametrize("name", ["研发活动清零", "研发机构提升", "三高一核心", "科技领军候选"])
def test_credit_codes_are_text(book: openpyxl.Workbook, name: str) -> None:
    cells = column(book[name], "统一社会信用代码")
    assert cells
    for cell in cells:
        assert isinstance(cell.value, str) and len(cell.value) == 18
        assert cell.data_type == "s"
        assert cell.number_format == "@"


@pytest.mark.parametrize(("name", "title"), [("三高一核心", "企业名称"), ("研发活动清零", "企业名称")])
def test_formula_like_names_are_text(book: openpyxl.Workbook, name: str, title: str) -> None:
    cell = column(book[name], title)[0]
    assert cell.value == HYPERLINK_NAME
    assert cell.data_type == "s"


@pytest.mark.parametrize(
    ("name", "title", "number_format"),
    [
        ("研发活动清零", "营业收入（万元）", "#,##0.00"),
        ("研发活动清零", "研发费用（万元）", "#,##0.00"),
        ("研发机构提升", "营业收入（万元）", "#,##0.00"),
        ("三高一核心", "三高一核心评分", "0.000"),
        ("三高一核心", "创新能力指数", "0.0"),
        ("三高一核心", "研发投入强度", "0.00%"),
        ("三高一核心", "营业收入（万元）", "#,##0.00"),
        ("三高一核心", "排名", "0"),
        ("科技领军候选", "创新能力指数", "0.0"),
        ("科技领军候选", "研发投入强度", "0.00%"),
        ("数据问题", "行", "0"),
        ("数据问题", "原值", "@"),
    ],
)
def test_number_formats(book: openpyxl.Workbook, name: str, title: str, number_format: str) -> None:
    cells = column(book[name], title)
    assert cells
    assert {cell.number_format for cell in cells} == {number_format}


def test_lists_selected_in_rank_order_then_near(book: openpyxl.Workbook) -> None:
    rows = list(book["三高一核心"].iter_rows(min_row=2, values_only=True))
    assert [(row[1], row[2], row[4]) for row in rows] == [
        ("入选", 1, HYPERLINK_NAME),
        ("入选", 2, "第二名企业"),
        ("入选", 3, "第三名企业"),
        ("接近", 4, "接近企业"),
    ]
    assert rows[0][8:13] == (0.9, 76.25, 0.0512, 123456.789, "营业收入12,345.68万元≥5,000万元；研发投入强度5.12%≥3%")
    assert rows[0][13:] == ("研发投入强度高；发明专利多", None)
    assert rows[3][14] == "评分低于入选线0.02"


def test_empty_list_has_its_header_only(book: openpyxl.Workbook) -> None:
    sheet = book["科技小巨人候选"]
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == "A1:O1"


def test_missing_values_stay_empty(book: openpyxl.Workbook) -> None:
    assert column(book["科技领军候选"], "研发投入强度")[1].value is None
    assert column(book["研发活动清零"], "研发费用（万元）")[1].value is None


def test_not_finite_numbers_are_left_empty(tmp_path: Path) -> None:
    leader = leader_frame().with_columns(rd_intensity=pl.Series([float("nan"), float("inf")]))
    path = write_lists_workbook(_with_leader(make_content(), leader), tmp_path / "x.xlsx")
    assert [cell.value for cell in column(openpyxl.load_workbook(path)["科技领军候选"], "研发投入强度")] == [None, None]


def test_rows_written_in_batches_are_the_rows_written_at_once(
    book: openpyxl.Workbook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table sheet is measured and written a batch of rows at a time: the serial numbers, widths and heights run on
    across batches as if the rows came at once."""
    monkeypatch.setattr(f"{__name__}.BATCH", 1)
    batched = openpyxl.load_workbook(write_lists_workbook(make_content(), tmp_path / "batched.xlsx"))
    for name in TABLE_SHEETS:
        assert list(batched[name].values) == list(book[name].values), name
        assert _layout(batched[name]) == _layout(book[name]), name


def test_a_table_longer_than_a_sheet_goes_on_on_continuation_sheets(
    book: openpyxl.Workbook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel holds 1,048,576 rows a sheet: a longer table goes on on 三高一核心（续1）, （续2）… (here two rows a
    sheet), each headed and laid out as the first, the serial numbers running on; nothing is cut."""
    monkeypatch.setattr("assess.outputs.lists_workbook.SHEET_ROWS", 2)
    split = openpyxl.load_workbook(write_lists_workbook(make_content(), tmp_path / "split.xlsx"))
    for name in TABLE_SHEETS:
        parts = [split[name], *(split[t] for t in split.sheetnames if t.startswith(f"{name}（续"))]
        assert len(parts) == max(1, -(-(book[name].max_row - 1) // 2)), name
        rows = [row for part in parts for row in part.iter_rows(min_row=2, values_only=True)]
        assert rows == list(book[name].iter_rows(min_row=2, values_only=True)), name
        for part in parts:
            assert header(part) == HEADERS[name] and part.max_row <= 3, part.title
            assert part.freeze_panes == book[name].freeze_panes and part.print_title_rows == "$1:$1", part.title
            assert part.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(HEADERS[name]))}{part.max_row}"
    assert split.sheetnames.index("三高一核心（续1）") == split.sheetnames.index("三高一核心") + 1
    # A funnel with no room left below the table's last rows goes on a continuation sheet of its own; a list sheet
    # named with Excel's 31 characters has its continuations' names shortened to fit.
    content = make_content()
    long_name = "三高一核心" * 6 + "单"  # 31 characters
    funnel = pl.DataFrame({"label": ["全部企业", "通过全部门槛"], "firms": [9, 4]})
    with_funnel = dataclasses.replace(content.lists[0], sheet=long_name, funnel=funnel)
    path = write_lists_workbook(
        dataclasses.replace(content, lists=(with_funnel, *content.lists[1:])), tmp_path / "f.xlsx"
    )
    names = openpyxl.load_workbook(path).sheetnames
    assert [n for n in names if n.startswith("三高一核心")] == [
        long_name,
        f"{long_name[:27]}（续1）",
        f"{long_name[:27]}（续2）",
    ]
    last = openpyxl.load_workbook(path)[f"{long_name[:27]}（续2）"]
    assert [row[3:5] for row in last.iter_rows(values_only=True)] == [("筛选过程", "剩余企业数（家）"), *funnel.rows()]
    first = openpyxl.load_workbook(path)[long_name]
    assert _layout(last)[0] == _layout(first)[0] and last.page_setup.orientation == "landscape"  # widths, print


def _layout(sheet: Worksheet) -> tuple[object, ...]:
    widths = {key: dimension.width for key, dimension in sheet.column_dimensions.items()}
    heights = {key: dimension.height for key, dimension in sheet.row_dimensions.items()}
    return widths, heights, sheet.auto_filter.ref, sheet.freeze_panes, sheet.page_setup.scale


def test_problems_say_where_and_what_to_do(book: openpyxl.Workbook) -> None:
    rows = list(book["数据问题"].iter_rows(min_row=2, values_only=True))
    assert rows[0] == (
        1,
        "济南",
        make_code(11),
        1,
        *PROBLEM_AT,
        "营业收入",
        "E-NUMBER",
        "错误",
        "约500",
        "不是数字",
        "请改",
    )
    assert rows[1][1:3] == (None, None) and rows[1][8:10] == ("I-SHEET-SKIPPED", "提示")


def guide_rows(book: openpyxl.Workbook) -> list[tuple[object, ...]]:
    return [row[:4] for row in book["说明"].iter_rows(values_only=True)]


def test_guide_states_the_run(book: openpyxl.Workbook) -> None:
    sheet = book["说明"]
    assert sheet["A1"].value == "2024年度标志性产业链企业培育清单（全省）"
    assert sheet["A1"].font.b
    facts = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, max_row=6, values_only=True)}
    assert facts == {
        "范围": "全省",
        "数据截至": dt.datetime(2025, 3, 1, 9, 30),
        "评估编号": 7,
        "写出时间": dt.datetime(2025, 3, 2, 14, 5),
    }
    assert sheet["B4"].number_format == "yyyy-mm-dd hh:mm"
    rows = guide_rows(book)
    uploads = rows.index(("文件", "上传时间", "上传批次", None))
    assert rows[uploads + 1 : uploads + 3] == [
        ("济南市2024年度填报.xlsx", dt.datetime(2025, 2, 27, 10), 1, None),
        ("-青岛补报.xlsx", dt.datetime(2025, 3, 1, 9, 30), 2, None),
    ]
    assert sheet.page_setup.orientation == "landscape" and (sheet.page_setup.scale or 0) >= MIN_SCALE


def test_guide_ends_with_the_versions_and_their_sha256(book: openpyxl.Workbook) -> None:
    sheet = book["说明"]
    rows = guide_rows(book)
    start = rows.index(("版本信息", None, None, None))
    assert start > rows.index(("附注", None, None, None))  # after everything a person reads
    assert rows[start + 1 :] == [
        ("项目", "SHA-256", None, None),
        ("上传文件 第1批：济南市2024年度填报.xlsx", SHA_A, None, None),
        ("上传文件 第2批：-青岛补报.xlsx", SHA_B, None, None),
        ("规则包 yiqingling，版本 1", SHA_RULES, None, None),
        ("评分模型，版本 2025-02", SHA_MODEL, None, None),
    ]
    hash_width = sum(sheet.column_dimensions[letter].width for letter in "BCD")
    assert hash_width >= 66 and f"B{start + 3}:D{start + 3}" in sheet.merged_cells  # a SHA-256 on one line
    assert not any(SHA_A in str(row) for row in rows[:start])


def test_guide_lists_every_threshold_by_source(book: openpyxl.Workbook) -> None:
    rows = guide_rows(book)
    start = rows.index(("参数", "取值", "依据", "规则文件中的名称"))
    listed = rows[start + 1 : start + 1 + len(THRESHOLDS) + 2]
    assert listed == [
        ("科技小巨人候选（rules/tiers/little_giant.yaml）", None, None, None),
        *((t.title, t.value, BASIS[t.basis], t.name) for t in THRESHOLDS[:2]),
        ("高新技术企业（rules/packs/hte.yaml）", None, None, None),
        *((t.title, t.value, BASIS[t.basis], t.name) for t in THRESHOLDS[2:]),
    ]


def test_guide_notes_follow_the_legend(book: openpyxl.Workbook) -> None:
    sheet = book["说明"]
    texts = [row[0] for row in sheet.iter_rows(values_only=True)]
    notes = texts[texts.index("附注") + 1 : texts.index("版本信息") - 1]
    assert isinstance(notes[0], str) and notes[0].startswith("依据：[政策]")
    assert notes[-2:] == ["评分来源：模型 three_highs（2025-02）。", "本数据为合成数据，仅用于演示。"]
    assert sheet.merged_cells.ranges


def summary_tables(sheet: Worksheet) -> dict[str, list[tuple[object, ...]]]:
    """汇总's two tables, keyed by their first header, each up to its 合计 row."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    current: list[tuple[object, ...]] | None = None
    for row in sheet.iter_rows(values_only=True):
        if row[0] in ("地市", "产业链"):
            assert list(row[1:]) == SUMMARY_HEADERS
            current = tables.setdefault(str(row[0]), [])
        elif current is not None and row[0] is not None:
            current.append(row)
    return tables


def count(value: object) -> float:
    """A number in 汇总's tables, which openpyxl types as any cell value."""
    assert isinstance(value, int | float)
    return value


def test_summary_tables_and_totals(book: openpyxl.Workbook) -> None:
    tables = summary_tables(book["汇总"])
    assert list(tables) == ["地市", "产业链"]
    cities = tables["地市"]
    assert [row[0] for row in cities] == ["济南市", "青岛市", "烟台市", "合计"]
    *rows, total = cities
    sums = tuple(sum(count(row[i]) for row in rows) for i in range(1, 10))
    assert total[1:9] == sums[:8] == (12, 6, 3, 9, 3, 150, 93, 6)
    # The coverage is over the 144 firms that can be judged; the gap is the total's own, not the sum of the cities'.
    assert total[10] == pytest.approx(93 / 144)
    assert total[11] == pytest.approx(0.8)
    assert sums[8] == 1 + 8 + 15 and total[9] == math.ceil(0.8 * 144) - 93 == 23
    *chains, chain_total = tables["产业链"]
    assert chain_total[0] == "合计"
    assert chain_total[1:9] == tuple(sum(count(row[i]) for row in chains) for i in range(1, 9))
    assert chain_total[11] == pytest.approx((0.8 * 40 + 0.9 * 50) / 90)  # targets differ: weighted by firms


def test_summary_layout(book: openpyxl.Workbook) -> None:
    sheet = book["汇总"]
    assert header(sheet)[0] == "地市"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L4"  # three cities; 合计 on row 5 stays put when sorting
    assert all(cell.font.b for cell in sheet[5])
    assert sheet["B2"].number_format == "0"
    assert {sheet.cell(row, column).number_format for row in (2, 5) for column in (11, 12)} == {"0.0%"}
    chain_header = next(row for row in range(6, sheet.max_row + 1) if sheet.cell(row, 1).value == "产业链")
    assert sheet.cell(chain_header, 1).font.b
    assert sheet.cell(chain_header + 1, 11).number_format == "0.0%"


def charts(sheet: Worksheet) -> list[ChartBase]:
    """The charts on a sheet: openpyxl keeps them in `_charts`, an attribute its type stubs leave out."""
    found: list[ChartBase] = vars(sheet)["_charts"]
    return found


def chart_title(chart: ChartBase) -> str:
    title = chart.title
    assert title is not None and title.tx is not None and title.tx.rich is not None
    return "".join(run.t for paragraph in title.tx.rich.p for run in paragraph.r)


def test_summary_charts_each_list_on_its_own_axis_and_the_target_as_a_line(written: Path) -> None:
    found = charts(openpyxl.load_workbook(written)["汇总"])
    assert [chart_title(chart) for chart in found] == [
        "各市三高一核心（家）",
        "各市科技小巨人候选（家）",
        "各市科技领军候选（家）",
        "各市研发机构覆盖率与目标",
    ]
    assert all(chart.tagname == "barChart" and len(chart.series) == 1 for chart in found)
    [line] = vars(found[-1])["_charts"][1:]  # the target drawn over the coverage's bars
    assert line.tagname == "lineChart" and len(line.series) == 1


def test_a_city_workbook_charts_its_chains_under_its_name(tmp_path: Path) -> None:
    content = dataclasses.replace(make_content(), scope="济南市", by_city=summary(["济南市"], [0.8]))
    sheet = openpyxl.load_workbook(write_lists_workbook(content, tmp_path / "x.xlsx"))["汇总"]
    found = charts(sheet)
    assert chart_title(found[0]) == "济南市各产业链三高一核心（家）"
    categories = found[0].series[0].cat.numRef or found[0].series[0].cat.strRef
    first, last = (int(cell[1:]) for cell in categories.f.split("!")[1].replace("$", "").split(":"))
    assert [sheet.cell(row, 1).value for row in range(first, last + 1)] == ["高端装备", "新一代信息技术"]


def test_summary_without_cities_has_no_chart(tmp_path: Path) -> None:
    content = make_content()
    empty = pl.DataFrame(schema=SUMMARY_SCHEMA)
    path = write_lists_workbook(ListsWorkbook(**{**vars(content), "by_city": empty}), tmp_path / "x.xlsx")
    sheet = openpyxl.load_workbook(path)["汇总"]
    assert not charts(sheet)
    assert [cell.value for cell in sheet[2]][:12] == ["合计", *[0] * 9, None, None]


def test_libreoffice_converts_the_workbook_to_pdf(written: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "pdf"

    result = convert_to_pdf(written, outdir, tmp_path / "lo-profile")

    output = f"stdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.returncode == 0, output
    pdf = outdir / f"{written.stem}.pdf"
    assert pdf.is_file(), output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF"), output
    assert len(data) > MIN_PDF_BYTES, f"PDF 只有 {len(data)} 字节\n{output}"
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages >= len(SHEETS), f"PDF 只有 {pages} 页\n{output}"
