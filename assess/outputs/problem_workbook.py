"""The problem workbook: every problem of an upload, one per row, as the person who fixes the file reads it.

Sheet 问题清单 lists the problems in the order given (beyond one sheet's rows, on 问题清单（续1） and on); sheet
按代码汇总 counts them per problem code, most frequent first. Written in write-only mode, so 100,000 problems take
seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from assess.contract import Contract, load_contract
from assess.outputs.saving import check_target, save_workbook
from assess.outputs.xlsx import layout, write_table

LIST_SHEET = "问题清单"
SHEET_ROWS = 1_048_575  # Excel's rows below the header: a longer list continues on 问题清单（续1）, （续2）…
SUMMARY_SHEET = "按代码汇总"
LIST_HEADERS = ("序号", "文件", "工作表", "行号", "列", "问题代码", "级别", "原始值", "问题说明", "修改建议")
SUMMARY_HEADERS = ("问题代码", "级别", "说明", "次数")
LEVEL_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}
_LEVEL_COLUMN = get_column_letter(LIST_HEADERS.index("级别") + 1)
_LEVEL_STYLES = {
    "错误": (Font(color="9C0006"), PatternFill("solid", bgColor="FFC7CE")),
    "警告": (Font(color="9C5700"), PatternFill("solid", bgColor="FFEB9C")),
}


def write_problem_workbook(problems: pl.DataFrame, path: Path) -> Path:
    """Write `problems` (file, sheet, row, column, code, level, value, message, hint) to the workbook at `path`."""
    check_target(path)  # before the write-only sheets exist: they must be saved once begun
    workbook = Workbook(write_only=True)
    rows = _list_rows(problems)
    for part, offset in enumerate(range(0, max(rows.height, 1), SHEET_ROWS), start=1):
        listing = workbook.create_sheet(LIST_SHEET if part == 1 else f"{LIST_SHEET}（续{part - 1}）")
        _colour_levels(listing, write_table(listing, LIST_HEADERS, rows.slice(offset, SHEET_ROWS).iter_rows()))
    summary = _summary_rows(problems, load_contract())
    write_table(workbook.create_sheet(SUMMARY_SHEET), SUMMARY_HEADERS, summary.iter_rows())
    return save_workbook(workbook, path)


def _level_name(level: pl.Expr) -> pl.Expr:
    return level.replace_strict(LEVEL_NAMES, default=level, return_dtype=pl.String)


def _list_rows(problems: pl.DataFrame) -> pl.DataFrame:
    return problems.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("序号"),
        "file",
        "sheet",
        "row",
        "column",
        "code",
        _level_name(pl.col("level")),
        "value",
        "message",
        "hint",
    )


def _summary_rows(problems: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    catalogue = pl.DataFrame(
        {"code": list(contract.problems), "title": [spec.title for spec in contract.problems.values()]},
        schema={"code": pl.String, "title": pl.String},
    )
    return (
        problems.group_by("code")
        .agg(pl.col("level").first(), pl.len().alias("count"))
        .join(catalogue, on="code", how="left")
        .sort(["count", "code"], descending=[True, False])
        .select("code", _level_name(pl.col("level")), pl.col("title").fill_null(""), "count")
    )


def _colour_levels(sheet: WriteOnlyWorksheet, rows: int) -> None:
    """Errors red and warnings amber in the 级别 column, by conditional formatting (no per-cell styles)."""
    if rows == 0:
        return
    cells = f"{_LEVEL_COLUMN}2:{_LEVEL_COLUMN}{rows + 1}"
    for name, (font, fill) in _LEVEL_STYLES.items():
        layout(sheet).conditional_formatting.add(
            cells, CellIsRule(operator="equal", formula=[f'"{name}"'], font=font, fill=fill)
        )
