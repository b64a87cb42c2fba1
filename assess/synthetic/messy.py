"""One deliberately messy workbook that exercises every reading rule and every problem code of the contract.

The sheets are declared as data below, each row with the problem codes the ingest must report for it, so that the
workbook, `expected_problems()` (what tests compare against) and sample_data/README.md describe the same file.
Firm identities (names, cities, industries, most credit codes) come from the synthetic panel and vary with the seed;
the credit codes that carry a problem, the row layout and the expected codes do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from assess import uscc
from assess.outputs.xlsx import TEXT_FORMAT
from assess.synthetic.panel import generate_panel

TEXT_COLUMNS = ("统一社会信用代码", "行业代码")
FILLER_FIRMS = 26


def _code(region: str, org8: str, *, org_check: str | None = None) -> str:
    """A credit code with a correct 18th character; `org_check` forces position 17."""
    first17 = f"91{region}{org8}{org_check or uscc.org_check_char(org8)}"
    return first17 + uscc.check_char(first17)


def _bad_check(code: str) -> str:
    """The same code with a wrong 18th character."""
    return code[:17] + uscc.ALPHABET[(uscc.ALPHABET.index(code[17]) + 1) % len(uscc.ALPHABET)]


def _wrong_org_check(org8: str) -> str:
    """A position-17 character that is not the organisation code's check character."""
    right = uscc.org_check_char(org8)
    return "0123456789X"[("0123456789X".index(right) + 1) % 11]


# Credit codes that carry a problem: fixed, so that README and tests can name them.
BAD_FORMAT_CODE = _code("370102", "MA3C5X8Q")[:16]  # 16 characters
BAD_CHECK_CODE = _bad_check(_code("370102", "16372859"))
NUMERIC_CODE = 913701001234568000.0  # what Excel keeps of 913701001234567890 typed into a number cell
OUTSIDE_CODE = _code("440300", "MA5F3K7R")  # registered in 深圳
ACCEPTED_CODE = _bad_check(_code("370211", "MA3C8K2Q"))  # acknowledged with --accept-bad-check
ORG_CHECK_CODE = _code("370702", "31852746", org_check=_wrong_org_check("31852746"))


# The columns every sheet of the workbook starts with.
_IDENTITY = ("统一社会信用代码", "企业名称", "年度", "所属地市", "行业代码")


@dataclass(frozen=True)
class Row:
    cells: dict[str, object] = field(default_factory=dict)  # column key -> value; absent keys are empty cells
    expect: tuple[str, ...] = ()  # problem codes the ingest reports for this row


@dataclass(frozen=True)
class Sheet:
    name: str
    titles: tuple[str, ...]  # rows above the header, in column A
    header: tuple[tuple[str | None, ...], ...]  # one or two header rows
    columns: tuple[str, ...]  # the key of each column, for Row.cells
    rows: tuple[Row, ...]
    merges: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()  # sheet- and column-level codes (no row)

    def row_number(self, index: int) -> int:
        """The Excel row number of data row `index` (0-based)."""
        return len(self.titles) + len(self.header) + index + 1


def write_messy_workbook(path: Path, seed: int = 7) -> None:
    """Write the messy workbook to `path`; `seed` picks the invented firms it is about."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook opens on
    for sheet in sheets(seed):
        _write_sheet(book.create_sheet(sheet.name), sheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def expected_problems(seed: int = 7) -> dict[tuple[str, int | None], set[str]]:
    """(sheet, Excel row) -> the codes the ingest reports without --accept-bad-check; row None: sheet notices.
    With `--accept-bad-check ACCEPTED_CODE`, that row reports W-USCC-ACCEPTED instead of E-USCC-CHECK."""
    expected: dict[tuple[str, int | None], set[str]] = {}
    for sheet in sheets(seed):
        if sheet.notices:
            expected[(sheet.name, None)] = set(sheet.notices)
        for index, row in enumerate(sheet.rows):
            if row.expect:
                expected[(sheet.name, sheet.row_number(index))] = set(row.expect)
    return expected


def sheets(seed: int = 7) -> tuple[Sheet, ...]:
    firms = _firms(seed)
    return (_guide(), _filings_2024(firms), _filings_2023(firms), _history(firms), _late_2024(firms))


def _firms(seed: int) -> list[dict[str, str]]:
    """Invented firms: credit code, name, city, region (positions 3-8 of the code) and industry code."""
    panel = generate_panel(FILLER_FIRMS, 2024, 2024, seed)
    return [
        {
            "统一社会信用代码": row["credit_code"],
            "企业名称": row["name"],
            "所属地市": row["city"],
            "所属区县": row["county"],
            "region": row["credit_code"][2:8],
            "行业代码": row["industry_code"],
        }
        for row in panel.iter_rows(named=True)
    ]


def _firm(firms: list[dict[str, str]], index: int, **cells: object) -> dict[str, object]:
    firm = firms[index]
    base = {key: firm[key] for key in ("统一社会信用代码", "企业名称", "所属地市", "所属区县", "行业代码")}
    return {**base, **cells}


def _guide() -> Sheet:
    return Sheet(
        name="说明",
        titles=(
            "说明",
            "本工作簿全部为合成数据（非真实企业），专门用来演示和测试导入校验：各工作表中故意放入了各类错误。",
            "每个工作表、每一行预期报告的问题代码见 sample_data/README.md。",
            f"导入时加 --accept-bad-check {ACCEPTED_CODE} 可确认该代码校验位有误但属实。",
        ),
        header=(),
        columns=(),
        rows=(),
        notices=("I-SHEET-SKIPPED",),
    )


FULL_2024 = (
    "统一社会信用代码",
    "企业名称",
    "年度",
    "所属地市",
    "所属区县",
    "行业代码",
    "营业收入",
    "研发费用",
    "净资产",
    "从业人员",
    "研发人员",
    "科技人员",
    "研发机构级别",
    "有效发明专利",
    "市场占有率",
    "高新技术企业",
    "备注",
)
HEADERS_2024 = {
    "营业收入": "营业收入（万元）",
    "研发费用": "研发费用（万元）",
    "净资产": "净资产（万元）",
    "市场占有率": "主导产品市场占有率（%）",
}


def _filings_2024(firms: list[dict[str, str]]) -> Sheet:
    def firm(index: int, note: str, **cells: object) -> dict[str, object]:
        ordinary = {
            "年度": 2024,
            "营业收入": 3650,
            "研发费用": 128.4,
            "净资产": 1210.5,
            "从业人员": 86,
            "研发人员": 11,
            "科技人员": 18,
            "研发机构级别": "企业自建",
            "有效发明专利": 2,
            "高新技术企业": "否",
            "备注": note,
        }
        return _firm(firms, index, **{**ordinary, **cells})

    rows = (
        Row(firm(0, "全角数字，正常接收", 营业收入="１２３４．５", 研发费用=61.2)),
        Row(firm(1, "千分位、括号负数，正常接收", 营业收入="12,480.00", 净资产="(123.40)", 市场占有率=18.5)),
        Row(firm(2, "地市带“市”，代码带门类字母", 所属地市="青岛市", 行业代码="C3562", 营业收入=8650, 市场占有率=12.5)),
        Row(firm(3, "营业收入由2023年的300万元跳到5600万元", 营业收入=5600, 研发费用=190), ("W-JUMP",)),
        Row(firm(4, "信用代码只有16位", 统一社会信用代码=BAD_FORMAT_CODE), ("E-USCC-FORMAT",)),
        Row(firm(5, "信用代码第18位校验码错误", 统一社会信用代码=BAD_CHECK_CODE), ("E-USCC-CHECK",)),
        Row(firm(6, "信用代码存成了数字", 统一社会信用代码=NUMERIC_CODE), ("E-USCC-NUMERIC",)),
        Row(firm(7, "营业收入未填", 营业收入=None), ("E-REQUIRED",)),
        Row(firm(8, "营业收入不是数字", 营业收入="约500"), ("E-NUMBER",)),
        Row(firm(9, "研发费用为负数", 研发费用=-50), ("E-NEGATIVE",)),
        Row(firm(10, "不是山东的地市", 所属地市="杭州", 所属区县=None), ("E-CITY",)),
        Row(firm(11, "行业代码不存在", 行业代码="9999"), ("E-INDUSTRY",)),
        Row(firm(12, "行业代码存成数字，丢了首位的0（应为0610）", 行业代码=610), ("E-INDUSTRY",)),
        Row(firm(13, "年度超出范围", 年度=1999), ("E-YEAR",)),
        Row(expect=("I-ROW-SKIPPED",)),  # a blank row inside the table
        Row(firm(14, "与下一行重复（同一企业同一年度）"), ("E-DUPLICATE",)),
        Row(firm(14, "与上一行重复（同一企业同一年度）", 营业收入=3720), ("E-DUPLICATE",)),
        Row(firm(15, "研发人员多于从业人员", 从业人员=120, 研发人员=300, 科技人员=96), ("E-STAFF",)),
        Row(firm(16, "市场占有率超过100", 市场占有率=150), ("E-PERCENT",)),
        Row(firm(17, "研发机构级别不是可选值", 研发机构级别="部分有"), ("E-VALUE",)),
        Row(firm(18, "研发费用高于营业收入", 营业收入=800, 研发费用=900), ("W-RD-OVER-REVENUE",)),
        Row(firm(19, "信用代码在深圳登记", 统一社会信用代码=OUTSIDE_CODE), ("W-USCC-REGION",)),
        Row(
            firm(20, "校验位错误但属实：用 --accept-bad-check 确认", 统一社会信用代码=ACCEPTED_CODE), ("E-USCC-CHECK",)
        ),
        Row(firm(21, "组织机构代码（第9-17位）校验位错误", 统一社会信用代码=ORG_CHECK_CODE), ("W-ORG-CHECK",)),
        Row(firm(22, "2022、2023年营业收入见“历年营业收入”表", 营业收入=1010, 研发费用=35.5)),
        Row({"统一社会信用代码": "合计", "营业收入": 31210.5, "研发费用": 1542.3}, ("I-ROW-SKIPPED",)),
    )
    return Sheet(
        name="2024年填报",
        titles=("山东省企业创新能力填报表（2024年度）", "合成数据（非真实企业），含故意设置的错误。金额单位：万元"),
        header=(tuple(HEADERS_2024.get(column, column) for column in FULL_2024),),
        columns=FULL_2024,
        rows=rows,
        merges=("A1:Q1", "A2:Q2"),
        notices=("W-UNUSED-COLUMN",),
    )


def _filings_2023(firms: list[dict[str, str]]) -> Sheet:
    """A two-row header: a merged 财务指标（元） group over three amounts in 元, the other headers merged down."""

    def firm(index: int, **cells: object) -> dict[str, object]:
        ordinary = {"年度": 2023, "从业人员": 80, "研发人员": 9, "研发机构级别": "是", "高新技术企业": "否"}
        return _firm(firms, index, **{**ordinary, **cells})

    rows = (
        Row(firm(3, 营业收入="3,000,000", 研发费用="90,000", 净资产="1,500,000", 市场占有率=0.05)),
        Row(firm(0, 营业收入="１１，８００，０００", 研发费用="５９０，０００", 净资产="5,200,000")),
        Row(firm(1, 营业收入="118,500,000", 研发费用="4,120,000", 净资产="(1,234,000)", 市场占有率=0.12)),
        Row(firm(23, 年度="2023年", 所属地市=firms[23]["region"], 营业收入="45,600,000", 研发费用="1,368,000")),
        Row(firm(24, 营业收入="25,000,000", 研发费用="750,000", 市场占有率=0.08, 高新技术企业="是")),
        Row(firm(2, 营业收入="81,200,000", 研发费用="3,900,000", 市场占有率=0.1, 研发机构级别="市级")),
        # Firms whose 2024 rows are refused for their codes, so no year-on-year comparison meets these rows.
        Row(firm(4, 营业收入="200,000,000,000,000", 研发费用="90,000"), ("W-IMPLAUSIBLE",)),  # 2亿亿元: 元 as 万元?
        Row(
            firm(5, 企业名称=firms[5]["企业名称"] + "\u200b", 营业收入="36,000,000", 研发费用="900,000"),
            ("W-TEXT-CLEANED",),
        ),
        Row(firm(6, 企业名称=firms[6]["企业名称"] * 40, 营业收入="36,000,000", 研发费用="900,000"), ("E-TOO-LONG",)),
    )
    top = (
        *_IDENTITY,
        "财务指标（元）",
        None,
        None,
        "从业人员",
        "研发人员",
        "研发机构级别",
        "市场占有率",
        "高新技术企业",
    )
    sub = (None, None, None, None, None, "营业收入", "研发费用", "净资产", None, None, None, None, None)
    columns = (
        *_IDENTITY,
        "营业收入",
        "研发费用",
        "净资产",
        "从业人员",
        "研发人员",
        "研发机构级别",
        "市场占有率",
        "高新技术企业",
    )
    merges = ("A1:M1", "F2:H2", *(f"{letter}2:{letter}3" for letter in "ABCDEIJKLM"))
    return Sheet(
        name="2023年填报（元）",
        titles=("2023年度企业创新指标（合成数据，非真实企业）",),
        header=(top, sub),
        columns=columns,
        rows=rows,
        merges=merges,
        notices=("W-PERCENT-FRACTION",),
    )


def _history(firms: list[dict[str, str]]) -> Sheet:
    """Revenue by year and nothing else: supplementary values, checked against the full filings."""

    def firm(index: int, y2022: float, y2023: float) -> dict[str, object]:
        return {
            "统一社会信用代码": firms[index]["统一社会信用代码"],
            "企业名称": firms[index]["企业名称"],
            "2022": y2022,
            "2023": y2023,
        }

    rows = (
        Row(firm(0, 1050, 1180)),
        Row(firm(1, 10800, 11850)),
        Row(firm(24, 2300, 2600), ("W-WIDE-CONFLICT",)),  # its 2023 filing says 2,500万
        Row(firm(22, 880, 930)),
        Row(firm(25, 450, 520)),
    )
    return Sheet(
        name="历年营业收入",
        titles=("历年营业收入（合成数据，非真实企业）",),
        header=(("统一社会信用代码", "企业名称", "2022年营业收入（万元）", "2023年营业收入（万元）"),),
        columns=("统一社会信用代码", "企业名称", "2022", "2023"),
        rows=rows,
    )


def _late_2024(firms: list[dict[str, str]]) -> Sheet:
    """Amounts in 元, said by the headers' units."""

    def firm(index: int, revenue: str, rd: str) -> dict[str, object]:
        return _firm(
            firms,
            index,
            年度=2024,
            营业收入=revenue,
            研发费用=rd,
            从业人员=64,
            研发机构级别="省级",
            高新技术企业="是",
            科技型中小企业="是",
        )

    rows = (
        Row(firm(23, "48,900,000.00", "1,520,000.00")),
        Row(firm(24, "26,800,000.00", "812,000.00")),
        Row(firm(25, "5,730,000.00", "245,600.00")),
    )
    columns = (*_IDENTITY, "营业收入", "研发费用", "从业人员", "研发机构级别", "高新技术企业", "科技型中小企业")
    header = (
        *_IDENTITY,
        "营业收入（元）",
        "研发费用（元）",
        "从业人员",
        "研发机构级别",
        "高新技术企业",
        "科技型中小企业",
    )
    return Sheet(
        name="2024年补报（元）",
        titles=("2024年度补报（合成数据，非真实企业；金额单位：元）",),
        header=(header,),
        columns=columns,
        rows=rows,
    )


def _write_sheet(sheet: Worksheet, spec: Sheet) -> None:
    for title in spec.titles:
        sheet.append([title])
    for header in spec.header:
        sheet.append(list(header))
    for row in spec.rows:
        sheet.append([row.cells.get(column) for column in spec.columns])
    for merged in spec.merges:
        sheet.merge_cells(merged)
    _format_text_columns(sheet, spec)


def _format_text_columns(sheet: Worksheet, spec: Sheet) -> None:
    """Code columns formatted as text, as the template has them; numbers typed into them stay numbers."""
    first = len(spec.titles) + len(spec.header) + 1
    for index, column in enumerate(spec.columns):
        if column not in TEXT_COLUMNS:
            continue
        for (cell,) in sheet.iter_rows(min_row=first, min_col=index + 1, max_col=index + 1):
            if isinstance(cell.value, str):
                cell.number_format = TEXT_FORMAT
