"""The managers' workbook of cultivation lists: one stored assessment run, laid out for the science department.

Sheets, in order: 说明 (what the run read, every threshold with its basis, notes, and at the end the versions and
SHA-256 of everything it read), 汇总 (counts per city and per chain with a 合计 row, and charts), 研发活动清零 and
研发机构提升 (the firms to act on), the three candidate lists (入选 in rank order, then 接近) and 数据问题. The caller
builds the content (`ListsWorkbook`) from the stored run; this module only lays it out, for the screen and for A4
paper (`printing`: 9 pt or more, rows as tall as their text, the key columns repeated on every page across). The
workbook is write-only: a table sheet's rows are gone through twice, a batch at a time (measured for the widths of
its columns, then written, each row as tall as its text), so that a province of a million firms never holds a sheet
in memory; 说明 and 汇总, short and laid out by going back over their cells (merges, charts), are built in memory
and copied in (`write_only`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby
from pathlib import Path
from typing import Any, cast

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import Reference
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from assess.outputs.charts import count_chart, coverage_chart
from assess.outputs.printing import (
    BOX,
    FONT_POINTS,
    TOP,
    WRAP,
    Measure,
    Widths,
    break_before,
    cell_text,
    fit_rows,
    measure,
    measured,
    plan,
    set_print,
    shown,
    text_points,
)
from assess.outputs.problem_workbook import LEVEL_NAMES, SHEET_ROWS
from assess.outputs.rows import Rows
from assess.outputs.saving import save_workbook
from assess.outputs.write_only import add_laid_out, close_rows, restyle
from assess.outputs.xlsx import SHEET_NAME_LENGTH, TEXT_FORMAT, as_cell, fit_page, header_cell, layout, safe_text
from assess.tiers.packs import RESERVED_SHEETS

# The fixed sheets, named once where the tier packs are refused a list sheet of the same name.
GUIDE_SHEET, SUMMARY_SHEET, NO_RD_SHEET, NO_INSTITUTION_SHEET, PROBLEMS_SHEET = RESERVED_SHEETS

MONEY = "#,##0.00"
PERCENT = "0.00%"
SUMMARY_PERCENT = "0.0%"
INTEGER = "0"
SCORE = "0.000"
INDEX = "0.0"
DATETIME = "yyyy-mm-dd hh:mm"

BASIS_LABELS = {"policy": "[政策]", "official": "[官方]", "default": "[默认]"}
LISTED, NEAR = "入选", "接近"
INDEX_LABEL = "创新能力指数"
FALLBACK_VALUE_LABEL = "排序值"  # the value column's header on an empty list, which carries no value_label
TOTAL = "合计"
LEGEND = (
    "依据：[政策] 出自政策文件；[官方] 出自官方标准或统计口径；[默认] 本系统的默认取值，可在规则文件中调整。",
    f"状态：“{LISTED}”为进入清单的企业，排名为清单内名次；“{NEAR}”为未入选但最接近入选的企业，"
    "排名为其在符合门槛企业中的位次，“差距”说明其与入选的差距。",
    "“规则文件中的名称”是参数在规则文件中的写法；试算改动时写作“规则包.名称”，"
    "如 assess simulate --set yiqingling.revenue_min=3000。",
)

UPLOAD_HEADERS = ("文件", "上传时间", "上传批次")
THRESHOLD_HEADERS = ("参数", "取值", "依据", "规则文件中的名称")
VERSION_HEADERS = ("项目", "SHA-256")
# 说明's columns: 参数 (and the notes across all four) | 取值 | 依据 | 名称; a SHA-256 spans the last three.
GUIDE_WIDTHS = (66.0, 34.0, 10.0, 28.0)
_ACROSS = (1, len(GUIDE_WIDTHS))
_HASH_SPANS = ((1, 1), (2, len(GUIDE_WIDTHS)))
# After one count column per list (its sheet's name), the targets' columns of 汇总.
# 待补数据: firms whose inputs are missing, counted apart; the coverage rate is over the others.
TARGET_COUNTS = ("no_rd", "no_rd_unknown", "inst_firms", "inst_covered", "inst_unknown", "inst_needed")
TARGET_HEADERS = (
    "无研发活动（家，目标清零）",
    "一清零待补数据（家）",
    "营收{floor}以上企业（家）",  # the 一提升 pack's revenue floor, as the run used it
    "有研发机构（家）",
    "一提升待补数据（家）",
    "还需建立研发机构（家）",
    "研发机构覆盖率",
    "覆盖率目标",
)

_TITLE_FONT = Font(name=DEFAULT_FONT.name, bold=True, size=14)  # named: LibreOffice takes a font without a name for
_BOLD = Font(name=DEFAULT_FONT.name, bold=True)  # its default serif one
_LEFT = Alignment(horizontal="left")
_GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
_CHART_ROWS = 16  # rows of the default 15 pt a row of charts takes (7.5 cm is 14.2 rows), with a margin
_CHART_GAP = 0.3  # cm between two charts side by side
PROVINCE = "全省"


@dataclass(frozen=True)
class Threshold:
    source: str  # the rule file / pack title it comes from, e.g. "科技小巨人候选（rules/tiers/little_giant.yaml）"
    name: str  # parameter id, e.g. "revenue_min"
    title: str  # Chinese description
    value: str  # display text already formatted, e.g. "5000万元", "3%", "600"
    basis: str  # "policy" | "official" | "default", shown as [政策] / [官方] / [默认]


@dataclass(frozen=True)
class ListSheet:
    id: str  # the tier pack's id: the count columns of 汇总 are named by it
    sheet: str  # the sheet's name, as the tier pack declares it
    # status, rank, credit_code, name, ..., value, ..., lacks (with `criteria`, the sub-judgements and criteria_met),
    # in the list's order: 入选 in rank order, then the others by their position among the eligible firms
    rows: Rows
    value_label: str  # the header of the ranking value
    criteria: bool = False  # whether the list shows the 三高一核心 sub-judgements
    title: str = ""  # the list's title
    # the firms left after each step, for the workbook's area (step, kind, label, firms); empty for an older run
    funnel: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)
    # in words: the funnel in one line, the gate that removes the most, 本市无入选企业 where a city has none
    said: tuple[str, ...] = ()
    # the same for the list's own sheet, short enough for a table cell: 本市无入选企业, the harshest gate
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListsWorkbook:
    year: int
    scope: str  # PROVINCE or a city such as "济南市"
    run_id: int
    data_as_of: dt.datetime  # newest upload time among the uploads the run read
    written_at: dt.datetime
    uploads: pl.DataFrame  # upload_id, file_name, sha256, uploaded_at
    versions: pl.DataFrame  # item, version, sha256 (either may be empty)
    thresholds: tuple[Threshold, ...]
    notes: tuple[str, ...]  # extra lines for 说明
    institution_floor: str  # the revenue floor of the 一提升 coverage, as read: "1亿元"
    # key, one count per list (by its id), then TARGET_COUNTS, inst_rate (0-1|null), inst_target (0-1)
    by_city: pl.DataFrame
    by_chain: pl.DataFrame  # the same columns, key being the chain
    no_rd: Rows  # credit_code, name, city, chain, direction, revenue, rd_expense, message
    no_institution: Rows  # credit_code, name, city, chain, direction, revenue, rd_institution, message
    lists: tuple[ListSheet, ...]  # in the tier packs' order
    # city, credit_code (of the row's filing; null for a row not accepted), upload_id, file, sheet, row, column,
    # code, level, value, message, hint; in the cities' order, then by credit code
    problems: Rows
    # The plan's headline targets (province workbooks) and the R&D of 规上工业 firms by city and chain, as a run
    # kept them (run.headline); rows already in words and numbers. Empty for a run made before they were kept.
    targets: tuple[TargetRow, ...] = ()
    rd_by_city: tuple[RdRow, ...] = ()
    rd_by_chain: tuple[RdRow, ...] = ()


@dataclass(frozen=True)
class TargetRow:
    title: str
    value: str  # as read: "485家", "69.9%"
    target: str
    gap: int | None  # in firms
    basis: str  # policy | official | default
    said: str
    quote: str


@dataclass(frozen=True)
class RdRow:
    key: str
    firms: int
    rd: float | None  # 万元
    revenue: float | None
    intensity: float | None
    rd_previous: float | None
    growth: float | None


@dataclass(frozen=True)
class Column:
    """One column of a table sheet: its header, the content frame's column it shows, its number format. Text wraps
    (general text always; text kept as text, such as a credit code, only with `wrap`); numbers never do."""

    header: str
    source: str
    number_format: str | None = None
    wrap: bool = False

    @property
    def wraps(self) -> bool:
        return self.wrap or self.number_format is None


SERIAL = Column("序号", "", INTEGER)
CREDIT_CODE = Column("统一社会信用代码", "credit_code", TEXT_FORMAT)
FIRM_NAME = Column("企业名称", "name")  # the last of the key columns repeated on every page across
CITY = Column("地市", "city")
FIRM = (CREDIT_CODE, FIRM_NAME, CITY, Column("产业链", "chain"), Column("方向", "direction"))
REVENUE = Column("营业收入（万元）", "revenue", MONEY)
NO_RD_COLUMNS = (*FIRM, REVENUE, Column("研发费用（万元）", "rd_expense", MONEY), Column("原因", "message"))
NO_INSTITUTION_COLUMNS = (*FIRM, REVENUE, Column("研发机构", "rd_institution"), Column("原因", "message"))
PROBLEM_COLUMNS = (
    CITY,
    CREDIT_CODE,  # the last key column of 数据问题
    Column("上传批次", "upload_id", INTEGER),
    Column("文件", "file"),
    Column("工作表", "sheet"),
    Column("行", "row", INTEGER),
    Column("列", "column"),
    Column("问题代码", "code"),
    Column("级别", "level"),
    Column("原值", "value", TEXT_FORMAT, wrap=True),
    Column("说明", "message"),
    Column("修改建议", "hint"),
)


# A list whose gate counts the 三高一核心 sub-judgements shows each (符合/不符合/待补数据) and the number met.
CRITERIA_COLUMNS = (
    Column("研发投入占比高", "rd_share"),
    Column("复合增长率高", "growth"),
    Column("市场占有率高", "market_share"),
    Column("拥有核心硬科技", "core_tech"),
    Column("满足项数", "criteria_met", INTEGER),
)


def _list_columns(value_label: str, criteria: bool) -> tuple[Column, ...]:
    """The columns of a candidate list whose ranking value is headed `value_label` (a list ranked by the index
    shows it once), with the sub-judgements where the list reads them."""
    by_index = value_label == INDEX_LABEL
    return (
        Column("状态", "status"),
        Column("排名", "rank", INTEGER),
        *FIRM,
        Column(value_label, "value", INDEX if by_index else SCORE),
        *(() if by_index else (Column(INDEX_LABEL, "index", INDEX),)),
        Column("研发投入强度", "rd_intensity", PERCENT),
        REVENUE,
        *(CRITERIA_COLUMNS if criteria else ()),
        Column("门槛", "gates"),
        Column("主要原因", "reasons"),
        Column("差距", "lacks"),
    )


def write_lists_workbook(content: ListsWorkbook, path: Path) -> Path:
    """Write the cultivation lists of `content` to the workbook at `path`: 说明 and 汇总 laid out in memory, the
    table sheets streamed a batch of rows at a time."""
    workbook = Workbook(write_only=True)
    try:
        _write_sheets(workbook, content)
        return save_workbook(workbook, path)
    except BaseException:
        close_rows(workbook)
        raise


def _write_sheets(workbook: Workbook, content: ListsWorkbook) -> None:
    add_laid_out(workbook, GUIDE_SHEET, lambda sheet: _write_guide(sheet, content))
    add_laid_out(workbook, SUMMARY_SHEET, lambda sheet: _write_summary(sheet, content))
    _write_table(_Sheets(workbook, NO_RD_SHEET), content.no_rd, NO_RD_COLUMNS, FIRM_NAME)
    no_institution = _Sheets(workbook, NO_INSTITUTION_SHEET)
    _write_table(no_institution, content.no_institution, NO_INSTITUTION_COLUMNS, FIRM_NAME)
    for listed in content.lists:
        _write_list(_Sheets(workbook, listed.sheet), listed)
    level = pl.col("level").replace_strict(LEVEL_NAMES, default=pl.col("level"), return_dtype=pl.String)
    problems = Rows(lambda: (batch.with_columns(level) for batch in content.problems))
    _write_table(_Sheets(workbook, PROBLEMS_SHEET), problems, PROBLEM_COLUMNS, CREDIT_CODE)


def _new_sheet(workbook: Workbook, title: str) -> WriteOnlyWorksheet:
    sheet = workbook.create_sheet(title)
    assert isinstance(sheet, WriteOnlyWorksheet)  # a write-only workbook creates write-only sheets
    return sheet


# --- 说明 ---------------------------------------------------------------------------------------------------------


def _write_guide(sheet: Worksheet, content: ListsWorkbook) -> None:
    """The run's facts and files, its thresholds by source, the notes, and the versions and SHA-256 at the end."""
    sheet.append([safe_text(sheet, f"{content.year}年度标志性产业链企业培育清单（{content.scope}）")])
    sheet["A1"].font = _TITLE_FONT
    sheet.append([])
    facts = (
        ("范围", content.scope),
        ("数据截至", content.data_as_of),
        ("评估编号", content.run_id),
        ("写出时间", content.written_at),
    )
    for key, value in facts:
        sheet.append([key, _value_cell(sheet, value)])
        sheet.cell(sheet.max_row, 1).font = _BOLD
    uploads = content.uploads.select("file_name", "uploaded_at", "upload_id").rows()
    _append_section(sheet, "上传文件")
    _append_table(sheet, UPLOAD_HEADERS, uploads, {1: DATETIME, 2: INTEGER})
    _append_section(sheet, "门槛与参数")
    _append_thresholds(sheet, content.thresholds)
    _append_section(sheet, "附注")
    for note in (*LEGEND, *content.notes):
        _append_across(sheet, note)
    _append_section(sheet, "版本信息")
    _append_table(sheet, VERSION_HEADERS, _version_rows(content), {}, _HASH_SPANS)
    set_print(sheet, plan([Measure(width, width) for width in GUIDE_WIDTHS], 0))
    fit_rows(sheet)


def _value_cell(sheet: Worksheet, value: object) -> Cell:
    """A key/value sheet's value, left-aligned like the text around it; times to the minute."""
    cell = as_cell(sheet, value)
    cell.alignment = _LEFT
    if isinstance(value, dt.datetime):
        cell.number_format = DATETIME
    return cell


def _append_section(sheet: Worksheet, title: str) -> None:
    sheet.append([])
    _append_heading(sheet, title)


def _append_heading(sheet: Worksheet, title: str) -> None:
    sheet.append([title])
    sheet.cell(sheet.max_row, 1).font = _BOLD


def _append_thresholds(sheet: Worksheet, thresholds: Sequence[Threshold]) -> None:
    """Under one header, each source's parameters below a line naming the source (its rule file)."""
    _append_header(sheet, THRESHOLD_HEADERS)
    for source, group in groupby(thresholds, key=lambda threshold: threshold.source):
        _append_across(sheet, source, fill=_GROUP_FILL)
        rows = [(t.title, t.value, BASIS_LABELS[t.basis], t.name) for t in group]
        _append_rows(sheet, rows, {})


def _append_across(sheet: Worksheet, text: str, fill: PatternFill | None = None) -> None:
    """A line across 说明's columns, wrapped: a note, or (filled, bold and boxed) the source of the rows below."""
    sheet.append([safe_text(sheet, text)])
    row = sheet.max_row
    cell = sheet.cell(row, 1)
    cell.alignment = WRAP
    if fill is not None:
        cell.fill, cell.font, cell.border = fill, _BOLD, BOX
    sheet.merge_cells(start_row=row, start_column=_ACROSS[0], end_row=row, end_column=_ACROSS[1])


def _version_rows(content: ListsWorkbook) -> list[tuple[str, str]]:
    """Each upload, rule file, model and package the run read, with its version, and its SHA-256 where it has one."""
    uploads = content.uploads.select("upload_id", "file_name", "sha256").rows()
    versions = content.versions.select("item", "version", "sha256").rows()
    return [
        *((f"上传文件 第{upload}批：{name}", sha) for upload, name, sha in uploads),
        *((f"{item}，版本 {version}" if version else item, sha) for item, version, sha in versions),
    ]


# --- 汇总 ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SummaryLayout:
    """The columns of 汇总: 地市 or 产业链, one count per list, then the targets' columns."""

    lists: tuple[ListSheet, ...]

    @property
    def counts(self) -> tuple[str, ...]:
        return (*(listed.id for listed in self.lists), *TARGET_COUNTS)

    def headers(self, floor: str) -> tuple[str, ...]:
        return (*(f"{listed.sheet}（家）" for listed in self.lists), *(h.format(floor=floor) for h in TARGET_HEADERS))

    @property
    def formats(self) -> dict[int, str]:
        counted = len(self.counts)
        return {
            **{i: INTEGER for i in range(1, counted + 1)},
            counted + 1: SUMMARY_PERCENT,
            counted + 2: SUMMARY_PERCENT,
        }

    @property
    def coverage(self) -> tuple[int, int]:
        """Coverage and its target, the last two columns."""
        last = 1 + len(self.counts) + 2
        return last - 1, last

    @property
    def charts(self) -> int:
        return len(self.lists) + 1


@dataclass(frozen=True)
class _Table:
    """A table of 汇总: its header row and its rows before 合计, as written."""

    header: int
    rows: Sequence[Sequence[object]]

    @property
    def last(self) -> int:
        return self.header + len(self.rows)

    def column(self, sheet: Worksheet, column: int) -> Reference:
        """The column's header (a series' name) and its rows."""
        return Reference(sheet, min_col=column, min_row=self.header, max_row=self.last)

    def keys(self, sheet: Worksheet) -> Reference:
        return Reference(sheet, min_col=1, min_row=self.header + 1, max_row=self.last)

    def largest(self, column: int) -> int:
        """The largest count in the column."""
        return max((int(cast(int, row[column - 1] or 0)) for row in self.rows), default=0)


def _write_summary(sheet: Worksheet, content: ListsWorkbook) -> None:
    """The table by city (frozen; 合计 kept out of the filter), its charts below it on a page of their own, then the
    table by chain and the headline figures."""
    layout = _SummaryLayout(content.lists)
    city_rows = _summary_rows(content.by_city, layout)
    chain_rows = _summary_rows(content.by_chain, layout)
    summary_headers = layout.headers(content.institution_floor)
    fit = plan(_measures(("产业链", *summary_headers), [*city_rows, *chain_rows], layout.formats, {0}), 1)
    _append_table(sheet, ("地市", *summary_headers), city_rows, layout.formats)
    cities = _Table(1, city_rows[:-1])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(1 + len(summary_headers))}{cities.last}"
    _bold_row(sheet, cities.last + 1)
    sheet.append([])
    charts_at = cities.last + 3
    if content.by_city.height:
        for _ in range(math.ceil(layout.charts / 2) * _CHART_ROWS):
            sheet.append([])
    last = _append_table(sheet, ("产业链", *summary_headers), chain_rows, layout.formats)
    chains = _Table(last - len(chain_rows), chain_rows[:-1])
    _bold_row(sheet, last)
    if content.by_city.height:
        by_chain = content.scope != PROVINCE  # a city's workbook charts its chains, a province's its cities
        _add_charts(sheet, chains if by_chain else cities, layout, _chart_scope(content.scope), fit.widths, charts_at)
        # the charts' page starts with the blank row above them: LibreOffice also draws on the page before a chart
        # anchored on a page's first row
        break_before(sheet, charts_at - 1)
        break_before(sheet, chains.header)
    _append_headline(sheet, content, fit.widths)
    _append_funnels(sheet, content)
    set_print(sheet, fit, 1)
    fit_rows(sheet)


def _append_funnels(sheet: Worksheet, content: ListsWorkbook) -> None:
    """Why each list is as long as it is: the firms left after each step, and the gate that removes the most."""
    for listed in content.lists:
        if not listed.funnel.height:  # a run made before funnels were kept
            continue
        sheet.append([])
        _append_heading(sheet, f"{listed.title}：筛选过程")
        for line in listed.said:
            sheet.append([line])
        rows = listed.funnel.select("label", "firms").rows()
        _append_table(sheet, ("筛选步骤", "剩余企业数（家）"), rows, {1: INTEGER})


GOAL_HEADERS = ("规划目标", "当前", "目标值", "差距（家）", "依据", "说明", "方案原文")
RD_HEADERS = (
    "规上工业企业数",
    "研发经费（万元）",
    "营业收入（万元）",
    "研发投入强度",
    "上年研发经费（万元）",
    "比上年增长",
)


def _append_headline(sheet: Worksheet, content: ListsWorkbook, widths: Sequence[float]) -> None:
    """Below the tables: the plan's headline targets with their gaps and sentences, then the R&D of 规上工业 firms;
    each field over as many of 汇总's columns as it needs."""
    if content.targets:
        sheet.append([])
        _append_heading(sheet, "规划目标进展")
        goals = [(t.title, t.value, t.target, t.gap, BASIS_LABELS[t.basis], t.said, t.quote) for t in content.targets]
        formats = {3: INTEGER}
        spans = _spans(_measures(GOAL_HEADERS, goals, formats, {0, 5, 6}), widths)
        _append_table(sheet, GOAL_HEADERS, goals, formats, spans)
    formats = {1: INTEGER, 2: MONEY, 3: MONEY, 4: SUMMARY_PERCENT, 5: MONEY, 6: SUMMARY_PERCENT}
    for title, found in (("地市", content.rd_by_city), ("产业链", content.rd_by_chain)):
        if not found:
            continue
        sheet.append([])
        _append_heading(sheet, f"规上工业企业研发经费，按{title}（R&D经费内部支出，未填的用研发费用）")
        values = [(r.key, r.firms, r.rd, r.revenue, r.intensity, r.rd_previous, r.growth) for r in found]
        headers = (title, *RD_HEADERS)
        _append_table(sheet, headers, values, formats, _spans(_measures(headers, values, formats, {0}), widths))


def _measures(
    headers: Sequence[str], rows: Sequence[Sequence[object]], formats: Mapping[int, str], wrapped: set[int]
) -> list[Measure]:
    """The widths of each column of `rows` as shown; the `wrapped` columns may wrap."""
    return [
        measure((shown(row[index], formats.get(index, "General")) for row in rows), header, index in wrapped)
        for index, header in enumerate(headers)
    ]


def _spans(fields: Sequence[Measure], widths: Sequence[float]) -> list[tuple[int, int]]:
    """Consecutive ranges of the columns of `widths` (1-based, inclusive) for fields of the given widths: each field
    as near its share (by natural width) of the columns left as they allow, never narrower than its narrowest where it
    can be, leaving a column for each field after it; the last takes what remains."""
    before = [0.0, *accumulate(widths)]  # before[k]: the width of the first k columns
    spans: list[tuple[int, int]] = []
    first = 1
    for index, field in enumerate(fields):
        left = sum(later.natural for later in fields[index:])
        goal = before[first - 1] + (before[-1] - before[first - 1]) * field.natural / left
        latest = len(widths) - (len(fields) - 1 - index)
        ends = [end for end in range(first, latest + 1) if before[end] - before[first - 1] >= field.narrowest]
        last = latest if index == len(fields) - 1 or not ends else min(ends, key=lambda end: abs(before[end] - goal))
        spans.append((first, last))
        first = last + 1
    return spans


def _summary_rows(frame: pl.DataFrame, layout: _SummaryLayout) -> list[tuple[object, ...]]:
    """One row per key, then 合计: the counts summed, the coverage rate computed from the sums."""
    counts = layout.counts
    rows = frame.select("key", *counts, _finite(frame, "inst_rate"), _finite(frame, "inst_target")).rows()
    sums = [int(frame.get_column(name).sum()) for name in counts]
    judged = sums[counts.index("inst_firms")] - sums[counts.index("inst_unknown")]
    covered, target = sums[counts.index("inst_covered")], _total_target(frame)
    if target is not None:  # the total's gap from the total's figures, not the sum of the keys' rounded gaps
        sums[counts.index("inst_needed")] = max(0, math.ceil(round(target * judged, 9)) - covered)
    return [*rows, (TOTAL, *sums, covered / judged if judged else None, target)]


def _total_target(frame: pl.DataFrame) -> float | None:
    """The one target when all keys share it, else the coverage the per-key targets add up to (weighted by firms)."""
    targets = frame.get_column("inst_target").drop_nulls().unique()
    if targets.len() == 1:
        return float(targets[0])
    firms = pl.col("inst_firms").sum()
    if not frame.select(firms).item():
        return None
    return float(frame.select((pl.col("inst_target") * pl.col("inst_firms")).sum() / firms).item())


def _chart_scope(scope: str) -> str:
    """How a chart's title names what it counts: 各市 in the province's workbook, a city's chains in its own."""
    return "各市" if scope == PROVINCE else f"{scope}各产业链"


def _add_charts(
    sheet: Worksheet, table: _Table, layout: _SummaryLayout, scope: str, widths: Sequence[float], row: int
) -> None:
    """Two charts a row from `row`: one per list, each on its own axis, then the coverage against its target."""
    middle = _middle(widths)
    sides = ((1, middle, _CHART_GAP), (middle, len(widths) + 1, 0.0))
    places = []
    for index in range(layout.charts):
        first, end, gap = sides[index % 2]
        places.append(
            (f"{get_column_letter(first)}{row + index // 2 * _CHART_ROWS}", _span_cm(widths, first, end) - gap)
        )
    keys = table.keys(sheet)
    for (anchor, width), (column, listed) in zip(places, enumerate(layout.lists, start=2), strict=False):
        counts = table.column(sheet, column)
        chart = count_chart(f"{scope}{listed.sheet}（家）", counts, keys, table.largest(column), width)
        sheet.add_chart(chart, anchor)
    rates, targets = (table.column(sheet, column) for column in layout.coverage)
    anchor, width = places[-1]
    sheet.add_chart(coverage_chart(f"{scope}研发机构覆盖率与目标", rates, targets, keys, width), anchor)


def _middle(widths: Sequence[float]) -> int:
    """The column at which the right-hand chart starts: the first past half the table's width."""
    half, reached = sum(widths) / 2, 0.0
    for column, width in enumerate(widths, start=1):
        if reached >= half:
            return column
        reached += width
    return len(widths)


def _span_cm(widths: Sequence[float], first: int, end: int) -> float:
    """Width in cm of columns first..end-1 in Excel (a column of width w is about 7w+5 pixels at 96 dpi)."""
    return sum((width * 7 + 5) / 96 * 2.54 for width in widths[first - 1 : end - 1])


def _bold_row(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = _BOLD


# --- table sheets -------------------------------------------------------------------------------------------------


def _write_list(sheets: _Sheets, listed: ListSheet) -> None:
    """A candidate list: its rows as they come (入选 in rank order, then 接近 by their position among the eligible
    firms); right below it, how the list came to its length: the funnel as a small table in the credit-code and name
    columns (key columns, printed on every page across), 本市无入选企业 where a city has none, and the gate that
    removes the most."""
    columns = _list_columns(listed.value_label, listed.criteria)
    empty = _list_columns(FALLBACK_VALUE_LABEL, listed.criteria)  # an empty list does not say what it ranks by
    widths, lines = _write_table(sheets, listed.rows, columns, FIRM_NAME, empty)
    sheet = lines.sheet
    rows = listed.funnel.select("label", "firms").rows() if listed.funnel.height else []
    if not rows and not listed.lines:
        return
    key = _list_columns(listed.value_label, False).index(CREDIT_CODE) + 1  # the code's column, after 序号 (0-based)
    below = [("筛选过程", "剩余企业数（家）"), *((line, None) for line in listed.lines), *rows]
    if lines.written + len(below) > SHEET_ROWS + 1:  # no room left below the table: on a continuation sheet
        lines = sheets.next()
        sheet = lines.sheet
    for index, values in enumerate(below):
        cells = [WriteOnlyCell(sheet, value) for value in values]
        for cell in cells:
            cell.border, cell.alignment = BOX, WRAP
            if not index:  # the header
                cell.font = _BOLD
        lines.append([*([None] * key), *cells], _points(cells, widths[key:]))


def _write_table(
    sheets: _Sheets, rows: Rows, columns: Sequence[Column], key: Column, empty: Sequence[Column] | None = None
) -> tuple[list[float], _Lines]:
    """`rows` as a table: 序号, then `columns` (`empty` instead, if given, when there is no row); codes as text,
    floats that are not finite left empty; boxed, its text wrapped where its column wraps, its columns as wide as
    `printing.plan` makes them and its rows as tall as their text. The columns up to `key` are the table's key
    columns, repeated on every page across and frozen beside the header on screen. The rows are gone through twice, a
    batch at a time: measured, then written (a write-only sheet takes its widths before its first row). Rows beyond
    what a sheet holds go on to its continuation sheets, each laid out and headed alike. Returns the columns' widths
    and the last sheet's lines."""
    lines = sheets.next()
    sheet = lines.sheet
    formats = [column.number_format or "General" for column in (SERIAL, *columns)]
    found = [Widths() for _ in formats]
    for values in _values(sheet, rows, columns):
        for widths, value, number_format in zip(found, values, formats, strict=True):
            widths.add(_text(value, number_format))
    if empty is not None and not found[0].count:
        columns, found = empty, [Widths() for _ in (SERIAL, *empty)]
    numbered = (SERIAL, *columns)
    titles = numbered.index(key) + 1
    measures = [measured(widths, column.header, column.wraps) for widths, column in zip(found, numbered, strict=True)]
    fit = plan(measures, titles)

    def laid_out(sheet: WriteOnlyWorksheet) -> None:
        fit_page(sheet)
        set_print(layout(sheet), fit, titles)
        sheet.print_title_rows = "1:1"
        sheet.freeze_panes = f"{get_column_letter(titles + 1)}2"

    sheets.lay_out = laid_out  # the table's continuations, and a sheet its funnel goes on to, are laid out alike
    laid_out(sheet)

    def headed(lines: _Lines) -> list[Cell]:
        """The sheet's header written; the styles its cells copy."""
        sheet = lines.sheet
        header = [header_cell(sheet, column.header) for column in numbered]
        for cell in header:
            cell.border = BOX
        lines.append(header, _points(header, fit.widths))
        return [_styled(sheet, column) for column in numbered]

    def filtered(lines: _Lines) -> None:
        layout(lines.sheet).auto_filter.ref = f"A1:{get_column_letter(len(numbered))}{lines.written}"

    styles = headed(lines)
    wrapped = [(index, column.number_format or "General") for index, column in enumerate(numbered) if column.wraps]
    for values in _values(sheet, rows, columns):
        if lines.written > SHEET_ROWS:  # the header and as many rows as a sheet holds
            filtered(lines)
            lines = sheets.next()
            styles = headed(lines)
        cells = [_cell(lines.sheet, value, style) for value, style in zip(values, styles, strict=True)]
        lines.append(cells, _table_points(values, wrapped, fit.widths))
    filtered(lines)
    return fit.widths, lines


@dataclass
class _Sheets:
    """A table's sheet and, once it is full, its continuations (（续1）, （续2）…), made as they are needed."""

    workbook: Workbook
    title: str
    made: int = 0
    lay_out: Callable[[WriteOnlyWorksheet], None] | None = None  # a continuation's layout: the first sheet's

    def next(self) -> _Lines:
        """The next sheet: the first under the table's own title, a continuation's shortened to leave room for its
        （续N） within Excel's 31 characters, and laid out as the first."""
        suffix = f"（续{self.made}）" if self.made else ""
        self.made += 1
        sheet = _new_sheet(self.workbook, self.title[: SHEET_NAME_LENGTH - len(suffix)] + suffix)
        if self.made > 1 and self.lay_out is not None:
            self.lay_out(sheet)
        return _Lines(sheet)


@dataclass
class _Lines:
    """A write-only sheet and the number of rows written to it: each row's height is set as it is appended, and
    forgotten once it is written."""

    sheet: WriteOnlyWorksheet
    written: int = 0

    def append(self, cells: Sequence[Cell | None], height: float | None) -> None:
        self.written += 1
        if height is not None:
            layout(self.sheet).row_dimensions[self.written].height = height
        self.sheet.append(list(cells))
        layout(self.sheet).row_dimensions.pop(self.written, None)


def _values(sheet: WriteOnlyWorksheet, rows: Rows, columns: Sequence[Column]) -> Iterator[tuple[object, ...]]:
    """The values of each row as its cells take them: its serial number, then each column's; text made safe for a
    cell (`safe_text`: a formula-like text is a text cell)."""
    serial = 1
    for batch in rows:
        table = batch.select(
            pl.int_range(serial, serial + pl.len(), dtype=pl.Int64).alias("c0"),
            *(_source(batch, column).alias(f"c{index}") for index, column in enumerate(columns, start=1)),
        )
        serial += table.height
        for values in table.iter_rows():
            yield tuple(safe_text(sheet, value) if isinstance(value, str) else value for value in values)


def _text(value: object, number_format: str) -> str:
    """What a cell holding `value` in `number_format` shows."""
    return shown(value.value if isinstance(value, Cell) else value, number_format)


def _styled(sheet: WriteOnlyWorksheet, column: Column) -> Cell:
    """A cell in the named style of the cells of `column`, whose style the column's cells copy."""
    cell = WriteOnlyCell(sheet)
    cell.style = _cell_style(sheet, column)
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: object, style: Cell) -> Cell:
    """`value` as a cell in the style of `style`; a text kept as text keeps its quote prefix."""
    cell = value if isinstance(value, Cell) else WriteOnlyCell(sheet, cast(Any, value))
    quoted = cell.quotePrefix  # a named style's own is off
    restyle(cell, style)
    cell.quotePrefix = quoted
    return cell


def _points(cells: Sequence[Cell], widths: Sequence[float]) -> float | None:
    """The height of a row of `cells` in columns of `widths`: as tall as the most lines one of them needs; None for a
    row without a value."""
    found = [
        text_points(cell_text(cell), width, bool(cell.alignment.wrap_text), cell.font.sz or FONT_POINTS)
        for cell, width in zip(cells, widths, strict=False)
        if cell.value is not None
    ]
    return max(found, default=None)


def _table_points(values: Sequence[object], wrapped: Sequence[tuple[int, str]], widths: Sequence[float]) -> float:
    """The height of a table row of `values` as `_points` finds it, from the values alone: one line (the serial
    number's), more where a value of a wrapped column (at `wrapped`: index, number format) needs them. Every cell is
    in the default font."""
    wraps = [
        text_points(_text(values[index], number_format), widths[index], True)
        for index, number_format in wrapped
        if values[index] is not None
    ]
    return max([text_points("", widths[0], False), *wraps])


def _cell_style(sheet: WriteOnlyWorksheet, column: Column) -> str:
    """The named style of the cells of `column`: boxed, wrapped if it wraps, in its number format. One style set on
    a cell costs a third of setting its border and alignment, which openpyxl looks up by hashing them each time."""
    name = f"清单{'换行' if column.wraps else ''} {column.number_format or 'General'}"
    workbook = sheet.parent
    assert workbook is not None  # a sheet of a workbook
    if name not in workbook.named_styles:
        alignment = WRAP if column.wraps else TOP
        number_format = column.number_format or "General"
        workbook.add_named_style(
            NamedStyle(name, font=DEFAULT_FONT, alignment=alignment, border=BOX, number_format=number_format)
        )
    return name


def _source(frame: pl.DataFrame, column: Column) -> pl.Expr:
    if column.number_format == TEXT_FORMAT:
        return pl.col(column.source).cast(pl.String)
    return _finite(frame, column.source)


def _finite(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column, NaN and infinities as null: Excel cannot hold them (a ratio over zero revenue, say)."""
    column = pl.col(name)
    if frame.schema[name].is_float():
        return pl.when(column.is_finite()).then(column).alias(name)
    return column


# --- tables added to a sheet --------------------------------------------------------------------------------------


def _append_table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    formats: Mapping[int, str],
    spans: Sequence[tuple[int, int]] | None = None,
) -> int:
    """A styled header and `rows` below the sheet's content, boxed, text wrapped; each field over the columns of its
    span (one column each without). Returns the last row written."""
    _append_header(sheet, headers, spans)
    return _append_rows(sheet, rows, formats, spans)


def _append_header(sheet: Worksheet, headers: Sequence[str], spans: Sequence[tuple[int, int]] | None = None) -> None:
    cells = [header_cell(sheet, header) for header in headers]
    for cell in cells:
        cell.border = BOX
    _append_spanned(sheet, cells, spans)


def _append_rows(
    sheet: Worksheet,
    rows: Iterable[Sequence[object]],
    formats: Mapping[int, str],
    spans: Sequence[tuple[int, int]] | None = None,
) -> int:
    for values in rows:
        cells = [as_cell(sheet, value) for value in values]
        for index, cell in enumerate(cells):
            cell.number_format = formats.get(index, cell.number_format)
            cell.alignment = WRAP if isinstance(values[index], str) else TOP
            cell.border = BOX
        _append_spanned(sheet, cells, spans)
    return sheet.max_row


def _append_spanned(sheet: Worksheet, cells: Sequence[Cell], spans: Sequence[tuple[int, int]] | None) -> None:
    """One row: each cell at the first column of its span, merged over the rest of it."""
    if spans is None:
        sheet.append(list(cells))
        return
    placed: list[Cell | None] = [None] * spans[-1][1]
    for cell, (first, _) in zip(cells, spans, strict=True):
        placed[first - 1] = cell
    sheet.append(placed)
    for first, last in spans:
        if last > first:
            sheet.merge_cells(start_row=sheet.max_row, start_column=first, end_row=sheet.max_row, end_column=last)
