"""The managers' workbook of cultivation lists: one stored assessment run, laid out for the science department.

Sheets, in order: 说明 (what the run read, the versions, every threshold with its basis, notes), 汇总 (counts per city
and per chain with a 合计 row, and charts), 研发活动清零 and 研发机构提升 (the firms to act on), the three candidate
lists (入选 in rank order, then 接近) and 数据问题. The caller builds the content (`ListsWorkbook`) from the stored run;
this module only lays it out. The workbook is a normal one (not write-only) because 汇总 carries charts: 5,000 rows
on each of the five firm sheets take about 5 s and 170 MB, mostly openpyxl's cells and its save.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from assess.outputs.problem_workbook import LEVEL_NAMES
from assess.outputs.saving import save_workbook
from assess.outputs.xlsx import (
    TEXT_FORMAT,
    as_cell,
    column_widths,
    display_width,
    fit_page,
    header_cell,
    safe_text,
    set_widths,
    write_table,
)
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
)

UPLOAD_HEADERS = ("编号", "文件", "SHA-256", "上传时间")
VERSION_HEADERS = ("项目", "版本", "SHA-256")
THRESHOLD_HEADERS = ("来源", "参数", "说明", "取值", "依据")
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

_TITLE_FONT = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_LEFT = Alignment(horizontal="left")
_HASH_COLUMN = UPLOAD_HEADERS.index("SHA-256")  # the same column in VERSION_HEADERS
_HASH_WIDTH = 66.0  # a SHA-256 in hex on one line
_GUIDE_COLUMNS = len(THRESHOLD_HEADERS)
_LINE_HEIGHT = 15.0  # points, one line of the default font
_CHART_HEIGHT = 7.5  # cm
_CHART_ROWS = 16  # rows of the default 15 pt the charts take (7.5 cm is 14.2 rows), with a margin


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
    frame: pl.DataFrame  # status, rank, credit_code, name, ..., value, value_label, ..., lacks


@dataclass(frozen=True)
class ListsWorkbook:
    year: int
    scope: str  # "全省" or a city such as "济南市"
    run_id: int
    data_as_of: dt.datetime  # newest upload time among the uploads the run read
    written_at: dt.datetime
    uploads: pl.DataFrame  # upload_id, file_name, sha256, uploaded_at
    versions: pl.DataFrame  # item, version, sha256
    thresholds: tuple[Threshold, ...]
    notes: tuple[str, ...]  # extra lines for 说明
    institution_floor: str  # the revenue floor of the 一提升 coverage, as read: "1亿元"
    # key, one count per list (by its id), then TARGET_COUNTS, inst_rate (0-1|null), inst_target (0-1)
    by_city: pl.DataFrame
    by_chain: pl.DataFrame  # the same columns, key being the chain
    no_rd: pl.DataFrame  # credit_code, name, city, chain, direction, revenue, rd_expense, message
    no_institution: pl.DataFrame  # credit_code, name, city, chain, direction, revenue, rd_institution, message
    lists: tuple[ListSheet, ...]  # in the tier packs' order
    problems: pl.DataFrame  # upload_id, file, sheet, row, column, code, level, value, message
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
    """One column of a table sheet: its header, the content frame's column it shows, its number format."""

    header: str
    source: str
    number_format: str | None = None
    wrap: bool = False


SERIAL = Column("序号", "", INTEGER)
CREDIT_CODE = Column("统一社会信用代码", "credit_code", TEXT_FORMAT)
FIRM = (
    CREDIT_CODE,
    Column("企业名称", "name"),
    Column("地市", "city"),
    Column("产业链", "chain"),
    Column("方向", "direction"),
)
REVENUE = Column("营业收入（万元）", "revenue", MONEY)
NO_RD_COLUMNS = (*FIRM, REVENUE, Column("研发费用（万元）", "rd_expense", MONEY), Column("原因", "message", wrap=True))
NO_INSTITUTION_COLUMNS = (*FIRM, REVENUE, Column("研发机构", "rd_institution"), Column("原因", "message", wrap=True))
PROBLEM_COLUMNS = (
    Column("上传批次", "upload_id", INTEGER),
    Column("文件", "file"),
    Column("工作表", "sheet"),
    Column("行", "row", INTEGER),
    Column("列", "column"),
    Column("问题代码", "code"),
    Column("级别", "level"),
    Column("原值", "value", TEXT_FORMAT),
    Column("说明", "message", wrap=True),
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
        Column("门槛", "gates", wrap=True),
        Column("主要原因", "reasons", wrap=True),
        Column("差距", "lacks", wrap=True),
    )


def write_lists_workbook(content: ListsWorkbook, path: Path) -> Path:
    """Write the cultivation lists of `content` to the workbook at `path`."""
    workbook = Workbook()
    guide = workbook.active
    assert isinstance(guide, Worksheet)  # a new workbook opens on its one worksheet
    guide.title = GUIDE_SHEET
    _write_guide(guide, content)
    _write_summary(workbook.create_sheet(SUMMARY_SHEET), content)
    _write_frame(workbook.create_sheet(NO_RD_SHEET), content.no_rd, NO_RD_COLUMNS)
    _write_frame(workbook.create_sheet(NO_INSTITUTION_SHEET), content.no_institution, NO_INSTITUTION_COLUMNS)
    for listed in content.lists:
        _write_list(workbook.create_sheet(listed.sheet), listed.frame)
    problems = content.problems.with_columns(
        pl.col("level").replace_strict(LEVEL_NAMES, default=pl.col("level"), return_dtype=pl.String)
    )
    _write_frame(workbook.create_sheet(PROBLEMS_SHEET), problems, PROBLEM_COLUMNS)
    return save_workbook(workbook, path)


# --- 说明 ---------------------------------------------------------------------------------------------------------


def _write_guide(sheet: Worksheet, content: ListsWorkbook) -> None:
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
    uploads = content.uploads.select("upload_id", "file_name", "sha256", "uploaded_at").rows()
    versions = content.versions.select("item", "version", "sha256").rows()
    thresholds = [(t.source, t.name, t.title, t.value, BASIS_LABELS[t.basis]) for t in content.thresholds]
    for title, headers, rows, formats in (
        ("上传文件", UPLOAD_HEADERS, uploads, {0: INTEGER, 3: DATETIME}),
        ("版本", VERSION_HEADERS, versions, {}),
        ("门槛与参数", THRESHOLD_HEADERS, thresholds, {}),
    ):
        sheet.append([])
        _append_heading(sheet, title)
        _append_table(sheet, headers, rows, formats, _WRAP)
    widths = _widest(
        column_widths(("", ""), [(key, value) for key, value in facts]),
        column_widths(UPLOAD_HEADERS, uploads),
        column_widths(VERSION_HEADERS, versions),
        column_widths(THRESHOLD_HEADERS, thresholds),
    )
    widths[_HASH_COLUMN] = max(widths[_HASH_COLUMN], _HASH_WIDTH)
    set_widths(sheet, widths)
    sheet.append([])
    _append_heading(sheet, "附注")
    for note in (*LEGEND, *content.notes):
        _append_note(sheet, note, sum(widths))
    fit_page(sheet)


def _value_cell(sheet: Worksheet, value: object) -> Cell:
    """A key/value sheet's value, left-aligned like the text around it; times to the minute."""
    cell = as_cell(sheet, value)
    cell.alignment = _LEFT
    if isinstance(value, dt.datetime):
        cell.number_format = DATETIME
    return cell


def _append_heading(sheet: Worksheet, title: str) -> None:
    sheet.append([title])
    sheet.cell(sheet.max_row, 1).font = _BOLD


def _append_note(sheet: Worksheet, note: str, width: float) -> None:
    """A note across the sheet's columns, wrapped, its row as tall as its lines (merged cells do not auto-fit)."""
    sheet.append([safe_text(sheet, note)])
    row = sheet.max_row
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=_GUIDE_COLUMNS)
    sheet.cell(row, 1).alignment = _WRAP
    sheet.row_dimensions[row].height = _LINE_HEIGHT * max(1, math.ceil(display_width(note) / width))


def _widest(*widths: Sequence[float]) -> list[float]:
    """Per column, the widest of several tables sharing the sheet's columns."""
    merged = [0.0] * max(len(each) for each in widths)
    for each in widths:
        for index, width in enumerate(each):
            merged[index] = max(merged[index], width)
    return merged


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
    def candidates(self) -> tuple[int, int]:
        """The lists' count columns (B onwards), for the chart of candidates."""
        return 2, 1 + max(1, len(self.lists))

    @property
    def coverage(self) -> tuple[int, int]:
        """Coverage and its target, the last two columns."""
        last = 1 + len(self.counts) + 2
        return last - 1, last

    @property
    def split(self) -> int:
        """The right-hand chart starts under 营收…以上企业 (the firms the coverage counts)."""
        return 1 + len(self.lists) + TARGET_COUNTS.index("inst_firms") + 1


def _write_summary(sheet: Worksheet, content: ListsWorkbook) -> None:
    """The table by city (frozen; 合计 kept out of the filter), its charts below it, then the table by chain."""
    layout = _SummaryLayout(content.lists)
    city_rows = _summary_rows(content.by_city, layout)
    chain_rows = _summary_rows(content.by_chain, layout)
    summary_headers = layout.headers(content.institution_floor)
    headers = ("地市", *summary_headers)
    written = write_table(sheet, headers, city_rows, number_formats=layout.formats)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{written}"
    _bold_row(sheet, written + 1)
    set_widths(sheet, column_widths(headers, [*city_rows, *chain_rows]))
    sheet.append([])
    if content.by_city.height:
        _add_charts(sheet, content.by_city.height, written + 3, layout)
        for _ in range(_CHART_ROWS):
            sheet.append([])
    _append_table(sheet, ("产业链", *summary_headers), chain_rows, layout.formats)
    _bold_row(sheet, sheet.max_row)
    _append_headline(sheet, content)


GOAL_HEADERS = ("规划目标", "当前", "目标值", "差距（家）", "依据", "说明", "方案原文")
RD_HEADERS = (
    "规上工业企业数",
    "研发经费（万元）",
    "营业收入（万元）",
    "研发投入强度",
    "上年研发经费（万元）",
    "比上年增长",
)


def _append_headline(sheet: Worksheet, content: ListsWorkbook) -> None:
    """Below the tables: the plan's headline targets with their gaps and sentences, then the R&D of 规上工业 firms."""
    if content.targets:
        sheet.append([])
        _append_heading(sheet, "规划目标进展")
        goals = [(t.title, t.value, t.target, t.gap, BASIS_LABELS[t.basis], t.said, t.quote) for t in content.targets]
        _append_table(sheet, GOAL_HEADERS, goals, {3: INTEGER}, alignment=_WRAP)
    formats = {1: INTEGER, 2: MONEY, 3: MONEY, 4: SUMMARY_PERCENT, 5: MONEY, 6: SUMMARY_PERCENT}
    for title, found in (("地市", content.rd_by_city), ("产业链", content.rd_by_chain)):
        if not found:
            continue
        sheet.append([])
        _append_heading(sheet, f"规上工业企业研发经费，按{title}（R&D经费内部支出，未填的用研发费用）")
        values = [(r.key, r.firms, r.rd, r.revenue, r.intensity, r.rd_previous, r.growth) for r in found]
        _append_table(sheet, (title, *RD_HEADERS), values, formats)


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


def _add_charts(sheet: Worksheet, keys: int, row: int, layout: _SummaryLayout) -> None:
    """Candidates per city (left) and institution coverage against its target (right), side by side at `row`."""
    categories = Reference(sheet, min_col=1, min_row=2, max_row=keys + 1)
    candidates = _bar_chart("各市培育候选企业（家）", INTEGER, _span_cm(sheet, 1, layout.split))
    candidates.add_data(_series(sheet, layout.candidates, keys), titles_from_data=True)
    candidates.set_categories(categories)
    coverage = _bar_chart("各市研发机构覆盖率与目标", "0%", _span_cm(sheet, layout.split, layout.coverage[1] + 1))
    coverage.add_data(_series(sheet, layout.coverage, keys), titles_from_data=True)
    coverage.set_categories(categories)
    coverage.y_axis.scaling.min = 0
    coverage.y_axis.scaling.max = 1
    sheet.add_chart(candidates, f"A{row}")
    sheet.add_chart(coverage, f"{get_column_letter(layout.split)}{row}")


def _series(sheet: Worksheet, columns: tuple[int, int], keys: int) -> Reference:
    """Columns first..last of the table by city, header (the series' names) and one row per city."""
    return Reference(sheet, min_col=columns[0], max_col=columns[1], min_row=1, max_row=keys + 1)


def _bar_chart(title: str, number_format: str, width: float) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = title
    chart.width = width  # type: ignore[assignment]  # centimetres, any number; the stubs say int
    chart.height = _CHART_HEIGHT
    chart.y_axis.number_format = number_format
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False  # without these, recent Excel hides both axes
    chart.y_axis.delete = False
    chart.legend.position = "b"
    return chart


def _span_cm(sheet: Worksheet, first: int, end: int) -> float:
    """Width in cm of columns first..end-1 (a column of width w is about 7w+5 pixels at 96 dpi)."""
    widths = (sheet.column_dimensions[get_column_letter(column)].width for column in range(first, end))
    return sum((width * 7 + 5) / 96 * 2.54 for width in widths)


def _bold_row(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = _BOLD


# --- table sheets -------------------------------------------------------------------------------------------------


def _write_list(sheet: Worksheet, frame: pl.DataFrame) -> None:
    """A candidate list: 入选 first in rank order, then 接近 by their position among the eligible firms."""
    ordered = frame.sort(pl.col("status") != LISTED, pl.col("rank"), nulls_last=True, maintain_order=True)
    _write_frame(sheet, ordered, _list_columns(_value_label(frame), "criteria_met" in frame.columns))


def _value_label(frame: pl.DataFrame) -> str:
    labels = frame.get_column("value_label").drop_nulls().unique().to_list()
    if len(labels) > 1:
        raise ValueError(f"a list is ranked by one value, got value_label {labels}")
    return labels[0] if labels else FALLBACK_VALUE_LABEL


def _write_frame(sheet: Worksheet, frame: pl.DataFrame, columns: Sequence[Column]) -> None:
    """`frame` as a table: 序号, then `columns`; codes as text, floats that are not finite left empty."""
    table = frame.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("c0"),
        *(_source(frame, column).alias(f"c{index}") for index, column in enumerate(columns, start=1)),
    )
    numbered = (SERIAL, *columns)
    formats = {index: column.number_format for index, column in enumerate(numbered) if column.number_format}
    written = write_table(sheet, [column.header for column in numbered], table.iter_rows(), number_formats=formats)
    for index, column in enumerate(numbered, start=1):
        if column.wrap:
            for (cell,) in sheet.iter_rows(min_row=2, max_row=written + 1, min_col=index, max_col=index):
                cell.alignment = _WRAP


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


def _append_table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    formats: Mapping[int, str],
    alignment: Alignment | None = None,
) -> None:
    """A styled header and `rows` below the sheet's content (`write_table` starts a sheet; this adds to one)."""
    sheet.append([header_cell(sheet, header) for header in headers])
    for values in rows:
        cells = [as_cell(sheet, value) for value in values]
        for index, cell in enumerate(cells):
            cell.number_format = formats.get(index, cell.number_format)
            if alignment is not None:
                cell.alignment = alignment
        sheet.append(cells)
